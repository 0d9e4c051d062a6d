//! The install guide's placeholders left in a value.
//!
//! The seed's `.env` file and Helm values are written with placeholders: `[your-token]`,
//! `[your-aws-region]`, `https://[your-APIM-management-API-host]/integration-controller`. Left
//! in, they would reach the controller or AWS as they are and fail there with a message that
//! names neither the key nor the file (or, in YAML, where `[your-cloud-token]` reads as a list,
//! as a type error). [`find`] names the first such key, where it came from, and the placeholder,
//! which is the guide's text and never a secret.

use federation_core::settings::{Origins, SettingsError, render_key};
use figment::value::{Dict, Value};

use crate::properties::for_each_leaf;

/// The first key whose value still holds one of the install guide's placeholders.
pub(crate) fn find(tree: &Dict, origins: &Origins) -> Option<SettingsError> {
    let mut found = None;
    for_each_leaf(tree, &mut |path, value| {
        if found.is_some() {
            return;
        }
        let Some((key_path, placeholder)) = placeholder_in(path, value) else {
            return;
        };
        let key = render_key(key_path.iter().map(String::as_str));
        let origin = origins.of(&render_key(path.iter().map(String::as_str)));
        found = Some(SettingsError::new(
            key,
            format!(
                "is still the install guide's placeholder {placeholder}: replace it with your \
                 value"
            ),
            origin.map(str::to_owned),
        ));
    });
    found
}

/// The key the placeholder belongs to and the placeholder, as the guide writes it.
fn placeholder_in<'a>(path: &'a [String], value: &Value) -> Option<(&'a [String], String)> {
    match value {
        Value::String(_, text) => {
            if let Some(placeholder) = bracketed(text) {
                return Some((path, placeholder));
            }
            // YAML read `key: [your-x]` as a list whose element is `your-x`.
            let (last, parent) = path.split_last()?;
            (last == "0" && is_guide_word(text)).then(|| (parent, format!("[{text}]")))
        }
        Value::Array(_, items) => match items.as_slice() {
            [Value::String(_, text)] if is_guide_word(text) => Some((path, format!("[{text}]"))),
            _ => None,
        },
        _ => None,
    }
}

/// `[your-…]` inside a text.
fn bracketed(text: &str) -> Option<String> {
    let start = text.find("[your-")?;
    let end = start + text[start..].find(']')?;
    let word = &text[start + 1..end];
    is_guide_word(word).then(|| text[start..=end].to_owned())
}

/// `your-` then letters, digits and dashes: how every placeholder of the guide is spelled.
fn is_guide_word(text: &str) -> bool {
    text.strip_prefix("your-").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_spellings_are_placeholders() {
        assert_eq!(bracketed("[your-token]").as_deref(), Some("[your-token]"));
        assert_eq!(
            bracketed("https://[your-APIM-management-API-host]/integration-controller").as_deref(),
            Some("[your-APIM-management-API-host]")
        );
        assert_eq!(
            bracketed("bearer [your-token]").as_deref(),
            Some("[your-token]")
        );
        assert!(is_guide_word("your-cloud-token-for-federation-agent"));
    }

    #[test]
    fn real_values_are_not() {
        for text in [
            "us-west-2",
            "bearer eyJhbGciOi",
            "[your token]",
            "[your-]",
            "your-",
            "[yours-truly]",
            "a[your-x",
        ] {
            assert_eq!(bracketed(text), None, "{text}");
        }
        assert!(!is_guide_word("your-key; rm -rf"));
        assert!(!is_guide_word("my-key"));
    }
}
