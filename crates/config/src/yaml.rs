//! [`GraviteeYaml`]: `gravitee.yml` as Spring reads it — a flat map of string properties.
//!
//! figment's own YAML provider keeps YAML types (so `integrationId: 123` no longer fits a
//! `String`) and hands lists over whole (so an environment variable cannot override one
//! element). This provider flattens the file to `a.b[0].c` keys, turns every scalar into a
//! string (`true` → `"true"`, `18084` → `"18084"`, `~` → `""`, as Spring does), and emits lists
//! as maps keyed by index.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map};
use figment::{Error, Metadata, Profile, Provider};
use serde_yaml_ng::Value as Yaml;

use crate::error::ConfigError;
use crate::properties::{self, Property};

/// One `gravitee.yml` file, read and flattened.
#[derive(Clone)]
pub struct GraviteeYaml {
    path: PathBuf,
    properties: Vec<Property>,
    dict: Dict,
    warnings: Vec<String>,
}

impl GraviteeYaml {
    /// Reads and parses `path`. Fails if the file cannot be read or is not YAML (the error has
    /// the file and line).
    pub fn file(path: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let path = path.into();
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadFile {
            path: path.clone(),
            source,
        })?;
        Self::from_yaml_str(&text, path)
    }

    /// Parses `text` as if it had been read from `path` (the path only labels origins and
    /// errors).
    pub fn from_yaml_str(text: &str, path: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let path = path.into();
        let yaml_error = |error: serde_yaml_ng::Error| {
            let location = error.location();
            let mut message = error.to_string();
            if let Some(location) = &location
                && !message.contains("line")
            {
                message = format!(
                    "{message} at line {} column {}",
                    location.line(),
                    location.column()
                );
            }
            ConfigError::Yaml {
                path: path.clone(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message,
            }
        };
        measure(text).map_err(yaml_error)?;
        let mut document: Yaml = serde_yaml_ng::from_str(text).map_err(yaml_error)?;
        document.apply_merge().map_err(yaml_error)?;
        let origin = format!("file {}", path.display());
        let mut flat = Vec::new();
        let mut warnings = Vec::new();
        match document {
            Yaml::Null => {}
            Yaml::Mapping(_) | Yaml::Tagged(_) => {
                flatten(
                    &document,
                    &mut Vec::new(),
                    &origin,
                    &mut flat,
                    &mut warnings,
                );
            }
            _ => {
                return Err(ConfigError::Yaml {
                    path,
                    line: Some(1),
                    column: Some(1),
                    message: "the document must be a mapping of keys (`integration:`, \
                              `services:`, …)"
                        .to_owned(),
                });
            }
        }
        properties::drop_too_deep(&mut flat, &mut warnings);
        let dict = properties::nest(&flat, &mut warnings);
        for message in &warnings {
            tracing::warn!(path = %path.display(), "{message}");
        }
        Ok(Self {
            path,
            properties: flat,
            dict,
            warnings,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Spring-style key → `file PATH` for every property of the file.
    pub fn origins(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .map(|p| (p.key(), p.origin.clone()))
            .collect()
    }

    /// Flattened properties, Spring style (`integration.providers[0].type` → `aws-api-gateway`).
    /// Values may be secrets: do not log them.
    pub fn properties(&self) -> impl Iterator<Item = (String, &str)> {
        self.properties.iter().map(|p| (p.key(), p.value.as_str()))
    }

    pub(crate) fn flat_properties(&self) -> &[Property] {
        &self.properties
    }

    /// Things worth a warning (keys that could not be used), naming no value.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl std::fmt::Debug for GraviteeYaml {
    /// The path and keys only: values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraviteeYaml")
            .field("path", &self.path)
            .field(
                "keys",
                &self
                    .properties
                    .iter()
                    .map(Property::key)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Provider for GraviteeYaml {
    fn metadata(&self) -> Metadata {
        Metadata::from("gravitee.yml", figment::Source::File(self.path.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// The most values a document may expand to through aliases (`*name`), and the most text its
/// scalars may add up to. A real `gravitee.yml` has a few hundred values; without a limit, a
/// 36 KB file that repeats an anchor thousands of times expands to gigabytes.
const MAX_VALUES: usize = 10_000;
const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// Walks the document as serde_yaml_ng expands it, keeping nothing, and fails once it passes
/// [`MAX_VALUES`] or [`MAX_TEXT_BYTES`]. Other errors are left to the real parse.
fn measure(text: &str) -> Result<(), serde_yaml_ng::Error> {
    use serde::de::{DeserializeSeed, Error as _};
    let budget = Budget::default();
    match Measure(&budget).deserialize(serde_yaml_ng::Deserializer::from_str(text)) {
        Err(error) if budget.exceeded.get() => Err(serde_yaml_ng::Error::custom(format!(
            "the document expands to more than {MAX_VALUES} values or {} MiB of text \
             through aliases ({error})",
            MAX_TEXT_BYTES / (1024 * 1024)
        ))),
        _ => Ok(()),
    }
}

#[derive(Default)]
struct Budget {
    values: std::cell::Cell<usize>,
    bytes: std::cell::Cell<usize>,
    exceeded: std::cell::Cell<bool>,
}

impl Budget {
    fn take<E: serde::de::Error>(&self, bytes: usize) -> Result<(), E> {
        self.values.set(self.values.get() + 1);
        self.bytes.set(self.bytes.get().saturating_add(bytes));
        if self.values.get() > MAX_VALUES || self.bytes.get() > MAX_TEXT_BYTES {
            self.exceeded.set(true);
            return Err(E::custom("too large"));
        }
        Ok(())
    }
}

/// A serde seed and visitor that counts what it is shown and keeps nothing.
struct Measure<'a>(&'a Budget);

impl<'de> serde::de::DeserializeSeed<'de> for Measure<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Measure<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.0.take(0)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.0.take(0)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.0.take(0)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.0.take(0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.0.take(v.len())
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<(), E> {
        self.0.take(v.len())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.take(0)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.take(0)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.take(0)?;
        while seq.next_element_seed(Measure(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.take(0)?;
        while map.next_key_seed(Measure(self.0))?.is_some() {
            map.next_value_seed(Measure(self.0))?;
        }
        Ok(())
    }

    /// A tagged value (`!custom x`): the tag, then the value.
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use serde::de::VariantAccess;
        self.0.take(0)?;
        let ((), variant) = data.variant_seed(Measure(self.0))?;
        variant.newtype_variant_seed(Measure(self.0))
    }
}

fn flatten(
    value: &Yaml,
    path: &mut Vec<String>,
    origin: &str,
    out: &mut Vec<Property>,
    warnings: &mut Vec<String>,
) {
    let scalar = match value {
        Yaml::Mapping(mapping) => {
            for (key, child) in mapping {
                let Some(key) = scalar_text(key) else {
                    warnings.push(format!(
                        "a key below `{}` in {origin} is not text and is ignored",
                        federation_core::settings::render_key(path.iter().map(String::as_str))
                    ));
                    continue;
                };
                // Spring reads a dotted key (`a.b: x`) like nested keys.
                let parts: Vec<String> = key
                    .split('.')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect();
                let depth = path.len();
                path.extend(parts);
                flatten(child, path, origin, out, warnings);
                path.truncate(depth);
            }
            return;
        }
        Yaml::Sequence(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(index.to_string());
                flatten(child, path, origin, out, warnings);
                path.pop();
            }
            return;
        }
        Yaml::Tagged(tagged) => {
            flatten(&tagged.value, path, origin, out, warnings);
            return;
        }
        other => scalar_text(other).unwrap_or_default(),
    };
    if path.is_empty() {
        return;
    }
    out.push(Property {
        segments: path.clone(),
        value: scalar,
        origin: origin.to_owned(),
    });
}

/// A scalar as Spring renders it: `~` is empty, numbers and booleans are their text.
fn scalar_text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::Null => Some(String::new()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::String(s) => Some(s.clone()),
        Yaml::Tagged(tagged) => scalar_text(&tagged.value),
        Yaml::Sequence(_) | Yaml::Mapping(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_become_strings_and_lists_index_maps() {
        let yaml = GraviteeYaml::from_yaml_str(
            "a:\n  port: 18084\n  on: true\n  id: 0123\n  account: 123456789012\n  none: ~\n\
             list:\n  - x\n  - k: v\ndotted.key: d\n",
            "/etc/gravitee.yml",
        )
        .unwrap();
        let props: BTreeMap<String, String> =
            yaml.properties().map(|(k, v)| (k, v.to_owned())).collect();
        assert_eq!(props["a.port"], "18084");
        assert_eq!(props["a.on"], "true");
        assert_eq!(props["a.id"], "0123");
        assert_eq!(props["a.account"], "123456789012");
        assert_eq!(props["a.none"], "");
        assert_eq!(props["list[0]"], "x");
        assert_eq!(props["list[1].k"], "v");
        assert_eq!(props["dotted.key"], "d");
        assert_eq!(yaml.origins()["list[1].k"], "file /etc/gravitee.yml");
        let list = yaml.dict.get("list").unwrap().as_dict().unwrap();
        assert_eq!(list.keys().collect::<Vec<_>>(), ["0", "1"]);
    }

    #[test]
    fn merge_keys_are_applied() {
        let yaml = GraviteeYaml::from_yaml_str(
            "base: &base\n  region: eu-west-1\nprovider:\n  <<: *base\n  type: t\n",
            "g.yml",
        )
        .unwrap();
        let props: BTreeMap<String, String> =
            yaml.properties().map(|(k, v)| (k, v.to_owned())).collect();
        assert_eq!(props["provider.region"], "eu-west-1");
    }

    #[test]
    fn aliases_that_expand_too_far_are_an_error() {
        // 36 KB that serde_yaml_ng alone expands to 8 million values (11 GB and 150 s once
        // flattened); found by `examples/fuzz_config/`.
        let text = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["xxxxxxxx"; 2000].join(", "),
            vec!["*a"; 4000].join(", ")
        );
        let err = GraviteeYaml::from_yaml_str(&text, "g.yml").unwrap_err();
        assert!(
            err.to_string()
                .contains("expands to more than 10000 values"),
            "{err}"
        );
        // Aliases within the limit still work, tags included.
        let yaml =
            GraviteeYaml::from_yaml_str("a: &a [x, !custom y]\nb: [*a, *a]\nc: !!str 1\n", "g.yml")
                .unwrap();
        assert_eq!(yaml.properties().count(), 7);
    }

    #[test]
    fn a_key_with_too_many_parts_is_ignored_with_a_warning() {
        // 70 levels: under serde_yaml_ng's nesting limit, over the key limit (64 parts).
        let text = format!("x: {}1{}\ny: 2\n", "{a: ".repeat(70), "}".repeat(70));
        let yaml = GraviteeYaml::from_yaml_str(&text, "g.yml").unwrap();
        let keys: Vec<String> = yaml.properties().map(|(k, _)| k).collect();
        assert_eq!(keys, ["y"]);
        assert!(
            yaml.warnings()[0].starts_with("x.a.a.a.a.a.a.a… (from file g.yml) is ignored"),
            "{:?}",
            yaml.warnings()
        );
    }

    #[test]
    fn a_document_that_is_not_a_mapping_is_an_error() {
        let err = GraviteeYaml::from_yaml_str("- a\n- b\n", "g.yml").unwrap_err();
        assert!(err.to_string().contains("must be a mapping"), "{err}");
    }
}
