//! Unit tests of `catalogue.rs`.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::*;
use crate::AgentConfig;

/// A deserializer that answers every request with a default value and records the path of
/// every field the model asks for: the model's key list, straight from serde.
struct Recorder<'a> {
    path: Vec<String>,
    out: &'a RefCell<BTreeSet<String>>,
    inside_any: bool,
}

impl<'a> Recorder<'a> {
    fn leaf(&self) {
        self.out.borrow_mut().insert(self.render());
    }
    fn render(&self) -> String {
        let mut key = String::new();
        for part in &self.path {
            if part == "[]" {
                key.push_str("[]");
            } else {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(part);
            }
        }
        key
    }
    fn child(&self, part: &str, inside_any: bool) -> Recorder<'a> {
        let mut path = self.path.clone();
        path.push(part.to_owned());
        Recorder {
            path,
            out: self.out,
            inside_any,
        }
    }
}

struct Entries<'a> {
    keys: Vec<&'static str>,
    parts: Vec<String>,
    parent: Recorder<'a>,
    inside_any: bool,
    next: usize,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = de::value::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.keys.get(self.next) {
            Some(key) => seed
                .deserialize(de::value::StrDeserializer::new(key))
                .map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let part = self.parts[self.next].clone();
        self.next += 1;
        seed.deserialize(self.parent.child(&part, self.inside_any))
    }
}

macro_rules! leaf {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.leaf();
            visitor.$visit($value)
        }
    )*};
}

impl<'de> Deserializer<'de> for Recorder<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.inside_any {
            self.leaf();
            return visitor.visit_str("");
        }
        // A list (index map) or an untyped block: one element.
        visitor.visit_map(Entries {
            keys: vec!["0"],
            parts: vec!["[]".to_owned()],
            parent: self,
            inside_any: true,
            next: 0,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Entries {
            keys: fields.to_vec(),
            parts: fields.iter().map(|f| (*f).to_owned()).collect(),
            parent: self,
            inside_any: false,
            next: 0,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Entries {
            keys: vec!["name"],
            parts: vec!["*".to_owned()],
            parent: self,
            inside_any: false,
            next: 0,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    leaf! {
        deserialize_bool => visit_bool(false),
        deserialize_u8 => visit_u8(0),
        deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0),
        deserialize_u64 => visit_u64(0),
        deserialize_i8 => visit_i8(0),
        deserialize_i16 => visit_i16(0),
        deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0),
        deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_str => visit_str(""),
        deserialize_string => visit_str(""),
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

#[test]
fn model_keys_are_the_models_serde_field_names() {
    let out = RefCell::new(BTreeSet::new());
    AgentConfig::deserialize(Recorder {
        path: Vec::new(),
        out: &out,
        inside_any: false,
    })
    .unwrap();
    let recorded: BTreeSet<String> = out
        .into_inner()
        .into_iter()
        // An untyped `ProviderSettings` block records as `configuration[]`.
        .map(|k| k.replace("configuration[]", "configuration.**"))
        .collect();
    let listed: BTreeSet<String> = MODEL_KEYS.iter().map(|k| (*k).to_owned()).collect();
    let missing: Vec<_> = recorded.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&recorded).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "MODEL_KEYS is out of date: missing {missing:?}, not in the model {extra:?}"
    );
}

fn resolve(catalogue: &KeyCatalogue, name: &str) -> Option<String> {
    catalogue
        .resolve_env_name(name)
        .ok()
        .map(|r| federation_core::settings::render_key(r.segments.iter().map(String::as_str)))
}

#[test]
fn keys_with_underscores_are_matched_by_joining_segments() {
    let catalogue = KeyCatalogue::from_paths(["controller.batch.retry_interval_ms"]);
    assert_eq!(
        resolve(&catalogue, "controller_batch_retry_interval_ms").as_deref(),
        Some("controller.batch.retry_interval_ms")
    );
    assert_eq!(
        resolve(&catalogue, "CONTROLLER_BATCH_RETRY_INTERVAL_MS").as_deref(),
        Some("controller.batch.retry_interval_ms")
    );
}

#[test]
fn provider_keys_are_grafted_under_the_configuration_block() {
    let catalogue = KeyCatalogue::model().with_provider_keys(["accessKeyId", "assume.roleArn"]);
    assert_eq!(
        resolve(
            &catalogue,
            "INTEGRATION_PROVIDERS_1_CONFIGURATION_ASSUME_ROLEARN"
        )
        .as_deref(),
        Some("integration.providers[1].configuration.assume.roleArn")
    );
    let unknown = catalogue
        .resolve_env_name("INTEGRATION_PROVIDERS_0_CONFIGURATION_STAGENAME")
        .unwrap();
    assert_eq!(
        unknown.segments.last().map(String::as_str),
        Some("stagename")
    );
    assert!(unknown.warning.unwrap().contains("`STAGENAME`"));
    // Exact names of keys no provider declared are taken as written, silently.
    let exact = catalogue
        .resolve_env_name("integration_providers_0_configuration_stageName")
        .unwrap();
    assert_eq!(exact.segments.last().map(String::as_str), Some("stageName"));
    assert_eq!(exact.warning, None);
}
