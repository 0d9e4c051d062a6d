//! Flat properties (`a.b[0].c = "text"`, with the file or variable that set them) and their
//! tree form, the figment [`Dict`] every source hands to figment.
//!
//! Lists are kept as maps keyed by index (`"0"`, `"1"`, …) so that figment's per-key merge
//! overrides one element at a time; `federation_core::settings::list` reads them back as
//! `Vec`s.

use std::collections::BTreeMap;

use federation_core::settings::render_key;
use figment::value::{Dict, Value};

/// The most parts a key may have (`a.b[0].c` has four). The deepest key the agent reads has
/// six; the limit keeps an absurd key (thousands of parts, from a mangled variable name or a
/// long dotted YAML key) from exhausting the stack in the recursive tree code downstream
/// (figment's values, serde).
pub(crate) const MAX_KEY_PARTS: usize = 64;

/// The first parts of a key too long to print whole.
fn key_start(segments: &[String]) -> String {
    let shown = segments.len().min(8);
    let mut start = render_key(segments[..shown].iter().map(String::as_str));
    if shown < segments.len() {
        start.push('…');
    }
    start
}

/// Removes the properties whose key has more than [`MAX_KEY_PARTS`] parts, with a warning for
/// each.
pub(crate) fn drop_too_deep(properties: &mut Vec<Property>, warnings: &mut Vec<String>) {
    properties.retain(|p| {
        if p.segments.len() <= MAX_KEY_PARTS {
            return true;
        }
        warnings.push(format!(
            "{} (from {}) is ignored: its key has {} parts, more than {MAX_KEY_PARTS}",
            key_start(&p.segments),
            p.origin,
            p.segments.len()
        ));
        false
    });
}

/// One property: a key (segments, list indexes as decimal numbers), its value as text, and
/// where it came from (`env NAME`, `file PATH`).
#[derive(Clone)]
pub(crate) struct Property {
    pub segments: Vec<String>,
    pub value: String,
    pub origin: String,
}

impl Property {
    /// The Spring-style key (`a.b[0].c`).
    pub(crate) fn key(&self) -> String {
        render_key(self.segments.iter().map(String::as_str))
    }
}

/// The tree of `properties`, later ones winning on the same key. Where one property is a
/// scalar and another has keys below it, the keys below win and a warning names the scalar's
/// source.
pub(crate) fn nest(properties: &[Property], warnings: &mut Vec<String>) -> Dict {
    let origins: BTreeMap<String, &str> = properties
        .iter()
        .map(|p| (p.key(), p.origin.as_str()))
        .collect();
    let mut root = Dict::new();
    for property in properties {
        insert(&mut root, property, &origins, warnings);
    }
    root
}

fn insert(
    root: &mut Dict,
    property: &Property,
    origins: &BTreeMap<String, &str>,
    warnings: &mut Vec<String>,
) {
    let Some((last, parents)) = property.segments.split_last() else {
        return;
    };
    let mut dict = root;
    for (depth, segment) in parents.iter().enumerate() {
        let entry = dict
            .entry(segment.clone())
            .or_insert_with(|| Value::from(Dict::new()));
        if entry.as_dict().is_none() {
            let shadowed = render_key(property.segments[..=depth].iter().map(String::as_str));
            warnings.push(shadow_warning(&shadowed, origins, property));
            *entry = Value::from(Dict::new());
        }
        let Value::Dict(_, inner) = entry else {
            return;
        };
        dict = inner;
    }
    if dict.get(last).is_some_and(|v| v.as_dict().is_some()) {
        warnings.push(format!(
            "{} (from {}) is ignored: other settings define keys below it",
            property.key(),
            property.origin
        ));
        return;
    }
    dict.insert(last.clone(), Value::from(property.value.clone()));
}

fn shadow_warning(shadowed: &str, origins: &BTreeMap<String, &str>, winner: &Property) -> String {
    format!(
        "{shadowed}{} is ignored: {} (from {}) defines keys below it",
        origins
            .get(shadowed)
            .map(|o| format!(" (from {o})"))
            .unwrap_or_default(),
        winner.key(),
        winner.origin
    )
}

/// Calls `f` with the segments and value of every leaf (non-map value) of `dict`.
pub(crate) fn for_each_leaf(dict: &Dict, f: &mut impl FnMut(&[String], &Value)) {
    fn walk(dict: &Dict, path: &mut Vec<String>, f: &mut impl FnMut(&[String], &Value)) {
        for (key, value) in dict {
            path.push(key.clone());
            match value {
                Value::Dict(_, inner) => walk(inner, path, f),
                leaf => f(path, leaf),
            }
            path.pop();
        }
    }
    walk(dict, &mut Vec::new(), f);
}

/// The value at `segments`, if any.
pub(crate) fn get<'a>(dict: &'a Dict, segments: &[String]) -> Option<&'a Value> {
    let (last, parents) = segments.split_last()?;
    let mut current = dict;
    for segment in parents {
        current = current.get(segment)?.as_dict()?;
    }
    current.get(last)
}

/// The value at `segments`, mutably, if any.
pub(crate) fn get_mut<'a>(dict: &'a mut Dict, segments: &[String]) -> Option<&'a mut Value> {
    let (last, parents) = segments.split_last()?;
    let mut current = dict;
    for segment in parents {
        match current.get_mut(segment)? {
            Value::Dict(_, inner) => current = inner,
            _ => return None,
        }
    }
    current.get_mut(last)
}

/// Whether a map holds a list: it has keys and every key is a decimal index.
pub(crate) fn is_index_map(dict: &Dict) -> bool {
    !dict.is_empty() && dict.keys().all(|k| k.bytes().all(|b| b.is_ascii_digit()))
}

/// Gravitee's reading of lists: indexes are probed from 0 and reading stops at the first
/// missing one. Removes the entries after a gap (returning their keys) and drops blank strings
/// from every map that is not a list (returning their keys); blank list elements stay, so
/// indexes keep meaning what the user wrote.
pub(crate) fn normalise(dict: &mut Dict) -> Normalised {
    let mut report = Normalised::default();
    normalise_at(dict, &mut Vec::new(), &mut report);
    report
}

/// What [`normalise`] removed.
#[derive(Default)]
pub(crate) struct Normalised {
    /// Keys after a gap in a list, with the index that is missing.
    pub after_gap: Vec<(String, usize)>,
    /// Keys whose value was blank (treated as not set).
    pub blank: Vec<String>,
}

fn normalise_at(dict: &mut Dict, path: &mut Vec<String>, report: &mut Normalised) {
    let list = is_index_map(dict);
    if list {
        let mut indexes: Vec<(usize, String)> = dict
            .keys()
            .map(|k| (k.parse::<usize>().unwrap_or(usize::MAX), k.clone()))
            .collect();
        indexes.sort();
        let mut expected = 0;
        let mut gap = None;
        for (index, key) in indexes {
            if gap.is_none() && index == expected {
                expected += 1;
                continue;
            }
            let missing = *gap.get_or_insert(expected);
            dict.remove(&key);
            path.push(key);
            report
                .after_gap
                .push((render_key(path.iter().map(String::as_str)), missing));
            path.pop();
        }
    } else {
        let blank: Vec<String> = dict
            .iter()
            .filter(|(_, v)| v.as_str().is_some_and(|s| s.trim().is_empty()))
            .map(|(k, _)| k.clone())
            .collect();
        for key in blank {
            dict.remove(&key);
            path.push(key);
            report
                .blank
                .push(render_key(path.iter().map(String::as_str)));
            path.pop();
        }
    }
    for (key, value) in dict.iter_mut() {
        if let Value::Dict(_, inner) = value {
            path.push(key.clone());
            normalise_at(inner, path, report);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(key: &str, value: &str, origin: &str) -> Property {
        Property {
            segments: key.split('.').map(str::to_owned).collect(),
            value: value.to_owned(),
            origin: origin.to_owned(),
        }
    }

    #[test]
    fn later_properties_win_and_keys_below_beat_a_scalar() {
        let mut warnings = Vec::new();
        let dict = nest(
            &[
                prop("a.b", "1", "env A"),
                prop("a.b", "2", "env B"),
                prop("c", "x", "env C"),
                prop("c.d", "y", "env D"),
            ],
            &mut warnings,
        );
        assert_eq!(
            get(&dict, &["a".into(), "b".into()]).unwrap().as_str(),
            Some("2")
        );
        assert_eq!(
            get(&dict, &["c".into(), "d".into()]).unwrap().as_str(),
            Some("y")
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("c (from env C) is ignored"),
            "{warnings:?}"
        );
    }

    #[test]
    fn lists_stop_at_the_first_gap_and_blanks_outside_lists_are_unset() {
        let mut warnings = Vec::new();
        let mut dict = nest(
            &[
                prop("l.0", "a", "o"),
                prop("l.1", " ", "o"),
                prop("l.3", "d", "o"),
                prop("m.x", "", "o"),
                prop("m.y", "v", "o"),
            ],
            &mut warnings,
        );
        let report = normalise(&mut dict);
        let list = dict.get("l").unwrap().as_dict().unwrap();
        assert_eq!(list.keys().collect::<Vec<_>>(), ["0", "1"]);
        assert_eq!(report.after_gap, [("l[3]".to_owned(), 2)]);
        assert_eq!(report.blank, ["m.x"]);
        assert!(dict.get("m").unwrap().as_dict().unwrap().get("y").is_some());
    }
}
