//! [`SecretUrl`]: a `secret://<provider>/<path>[:<key>][?opt=v&…]` reference, parsed with
//! Gravitee's `SecretURL` rules:
//!
//! - the key is the text after the last `:`, provided that `:` comes after the last `/`;
//! - trailing `/` are trimmed; an empty or blank path segment is an error;
//! - query parameters may repeat; a parameter without `=` means `"true"`;
//! - well-known parameters: `namespace`, `watch` (compared case-insensitively to `true`),
//!   `keymap`, `resolveBeforeWatch`.

use std::fmt;

/// A parsed `secret://` reference. Holds no secret, only where to find one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUrl {
    raw: String,
    /// The provider id (`kubernetes`, `env`, `file`).
    pub provider: String,
    /// The path, without leading or trailing `/` (`aws-truststore`, `run/secrets/token`).
    pub path: String,
    /// The key inside the secret (`password`), if the reference has one.
    pub key: Option<String>,
    /// Query parameters in order, repeats kept.
    pub query: Vec<(String, String)>,
}

/// Why a `secret://` reference is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed secret reference: {0}")]
pub struct SecretUrlError(pub String);

impl SecretUrl {
    /// The scheme every reference starts with.
    pub const SCHEME: &'static str = "secret://";

    /// Whether `value` is meant as a reference (starts with `secret://`).
    pub fn is_reference(value: &str) -> bool {
        value.starts_with(Self::SCHEME)
    }

    /// Parses a reference.
    pub fn parse(text: &str) -> Result<Self, SecretUrlError> {
        let rest = text
            .strip_prefix(Self::SCHEME)
            .ok_or_else(|| SecretUrlError(format!("it does not start with {}", Self::SCHEME)))?;
        let (main, query) = match rest.split_once('?') {
            Some((main, query)) => (main, Some(query)),
            None => (rest, None),
        };
        let main = main.trim_end_matches('/');
        let (provider, path) = main.split_once('/').ok_or_else(|| {
            SecretUrlError("expected secret://<provider>/<path>[:<key>]".to_owned())
        })?;
        if provider.trim().is_empty() {
            return Err(SecretUrlError("the provider is empty".to_owned()));
        }
        let (path, key) = match (path.rfind(':'), path.rfind('/')) {
            (Some(colon), slash) if slash.is_none_or(|s| colon > s) => {
                (&path[..colon], Some(path[colon + 1..].to_owned()))
            }
            _ => (path, None),
        };
        if path.split('/').any(|segment| segment.trim().is_empty()) {
            return Err(SecretUrlError(
                "the path is empty or has an empty segment".to_owned(),
            ));
        }
        let query = query
            .map(|q| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| match p.split_once('=') {
                        Some((k, v)) => (k.to_owned(), v.to_owned()),
                        None => (p.to_owned(), "true".to_owned()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            raw: text.to_owned(),
            provider: provider.to_owned(),
            path: path.to_owned(),
            key: key.filter(|k| !k.trim().is_empty()),
            query,
        })
    }

    /// The last value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `watch=true` (case-insensitive): the value should be re-read when it changes.
    pub fn watch(&self) -> bool {
        self.param("watch")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

impl fmt::Display for SecretUrl {
    /// The reference as written (it names a secret, it does not hold one).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_reference() {
        let url =
            SecretUrl::parse("secret://kubernetes/aws-truststore:password?namespace=gravitee-apim")
                .unwrap();
        assert_eq!(url.provider, "kubernetes");
        assert_eq!(url.path, "aws-truststore");
        assert_eq!(url.key.as_deref(), Some("password"));
        assert_eq!(url.param("namespace"), Some("gravitee-apim"));
        assert!(!url.watch());
    }

    #[test]
    fn key_only_after_the_last_slash_and_trailing_slashes_trimmed() {
        let url = SecretUrl::parse("secret://file/etc/a:b/c//").unwrap();
        assert_eq!(url.path, "etc/a:b/c");
        assert_eq!(url.key, None);
        let url = SecretUrl::parse("secret://vault/a/b:k?watch&watch=TRUE&keymap=x:y").unwrap();
        assert_eq!(url.path, "a/b");
        assert_eq!(url.key.as_deref(), Some("k"));
        assert_eq!(
            url.query,
            [
                ("watch".to_owned(), "true".to_owned()),
                ("watch".to_owned(), "TRUE".to_owned()),
                ("keymap".to_owned(), "x:y".to_owned()),
            ]
        );
        assert!(url.watch());
    }

    #[test]
    fn blank_segments_are_errors() {
        for bad in [
            "secret://kubernetes/a//b:k",
            "secret://kubernetes/ :k",
            "secret://kubernetes",
            "secret:///a:k",
        ] {
            assert!(SecretUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
