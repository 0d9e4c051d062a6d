//! Configuration plumbing shared by the configuration loader and every provider.
//!
//! - [`ProviderSettings`]: a provider's `integration.providers[i].configuration` block, kept
//!   untyped by the core and turned into the provider's own struct by
//!   [`ProviderSettings::extract`]. Values arrive as strings (from `gravitee.yml` or `gravitee_*`
//!   environment variables) and are converted the way Spring converts them: `"false"` becomes a
//!   `bool` only where the target field is a `bool`, and `"0123"` stays `"0123"` in a `String`.
//! - [`SettingsError`]: an error that names the full key and where its value came from.
//! - [`Origins`]: which file or environment variable set each key.
//! - [`list`] and [`comma_list`]: serde helpers for Gravitee lists, which arrive as index-keyed
//!   maps (`endpoints_0`, `endpoints_1`) so that one environment variable can override one
//!   element of a YAML list.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

#[cfg(feature = "settings")]
use figment::Figment;
#[cfg(feature = "settings")]
use figment::providers::Serialized;
#[cfg(feature = "settings")]
use figment::value::{Dict, Value};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why a configuration value could not be used. Displays as
/// `integration.providers[0].configuration.limit is invalid: … (from env gravitee_integration_providers_0_configuration_limit)`,
/// or for a key nobody set, `… region is missing; looked for in env … and in …/gravitee.yml`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {problem}{}", origin.as_ref().map(|o| format!(" (from {o})")).unwrap_or_default())]
pub struct SettingsError {
    /// The full key, Spring style: `a.b[0].c`.
    pub key: String,
    /// What is wrong, for example `is missing` or `is invalid: expected a number`.
    pub problem: String,
    /// The file or environment variable that set the key (`None` when nothing set it).
    pub origin: Option<String>,
}

impl SettingsError {
    /// An error for `key`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>, origin: Option<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
            origin,
        }
    }

    /// Converts a figment extraction error, naming keys under `prefix` and looking their
    /// origin up in `origins`.
    #[cfg(feature = "settings")]
    pub fn from_figment(error: figment::Error, prefix: &str, origins: &Origins) -> Self {
        use figment::error::Kind;
        let mut segments: Vec<String> = error.path.clone();
        let mut missing = false;
        let mut problem = match &error.kind {
            Kind::MissingField(field) => {
                segments.push(field.to_string());
                missing = true;
                "is missing".to_owned()
            }
            Kind::UnknownField(field, _) => {
                segments.push(field.clone());
                "is not a known key".to_owned()
            }
            kind => format!("is invalid: {kind}"),
        };
        let relative = render_key(segments.iter().map(String::as_str));
        let key = join_key(prefix, &relative);
        let origin = origins.of(&key).map(str::to_owned);
        // Only for a key nobody set: a blank value has an origin, and its own error.
        if missing
            && origin.is_none()
            && let Some(places) = origins.looked_for(&key)
        {
            problem = format!("{problem}; {places}");
        }
        Self::new(key, problem, origin)
    }
}

/// Joins a prefix and a relative key (`a.b` + `c[0]` → `a.b.c[0]`).
pub fn join_key(prefix: &str, relative: &str) -> String {
    match (prefix.is_empty(), relative.is_empty()) {
        (true, _) => relative.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if relative.starts_with('[') => format!("{prefix}{relative}"),
        (false, false) => format!("{prefix}.{relative}"),
    }
}

/// Renders key segments Spring style: numeric segments become indexes (`a`, `0`, `b` → `a[0].b`).
pub fn render_key<'a>(segments: impl IntoIterator<Item = &'a str>) -> String {
    let mut key = String::new();
    for segment in segments {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            key.push('[');
            key.push_str(segment);
            key.push(']');
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(segment);
        }
    }
    key
}

/// Where each configuration key's value came from, by full Spring-style key, and where the
/// loader would have looked for a key nobody set.
#[derive(Clone, Default)]
pub struct Origins {
    map: Arc<BTreeMap<String, String>>,
    looked_for: Option<Arc<LookedForFn>>,
}

/// Describes where the loader looks for a key (see [`Origins::with_looked_for`]).
type LookedForFn = dyn Fn(&str) -> String + Send + Sync;

impl fmt::Debug for Origins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Origins")
            .field("map", &self.map)
            .field("looked_for", &self.looked_for.is_some())
            .finish()
    }
}

impl Origins {
    /// Wraps a key → origin map (origins read like `env gravitee_x_y` or `file /etc/gravitee.yml`).
    pub fn new(map: BTreeMap<String, String>) -> Self {
        Self {
            map: Arc::new(map),
            looked_for: None,
        }
    }

    /// Adds how to say where the loader looked for a key nobody set (for example `looked for in
    /// env gravitee_a_b and in /etc/gravitee.yml`): an "is missing" error then names those
    /// places, never another key's source.
    pub fn with_looked_for(
        mut self,
        describe: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Self {
        self.looked_for = Some(Arc::new(describe));
        self
    }

    /// The origin of `key` itself: `None` when nothing set it (a relative's source is never
    /// borrowed: it would name an unrelated variable).
    pub fn of(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// Where the loader looked for `key`, when it said how.
    pub fn looked_for(&self, key: &str) -> Option<String> {
        self.looked_for.as_ref().map(|describe| describe(key))
    }

    /// Every key that has an origin.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

/// A provider's untyped `configuration` block (feature `settings`, on by default).
#[cfg(feature = "settings")]
#[derive(Clone, Default)]
pub struct ProviderSettings {
    prefix: String,
    values: Dict,
    origins: Origins,
}

#[cfg(feature = "settings")]
impl ProviderSettings {
    /// Settings found under `prefix` (for example `integration.providers[0].configuration`).
    pub fn new(prefix: impl Into<String>, values: Dict, origins: Origins) -> Self {
        Self {
            prefix: prefix.into(),
            values,
            origins,
        }
    }

    /// Settings from `key = value` pairs, for tests and embedding (`[("region", "eu-west-1")]`).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut values = Dict::new();
        for (key, value) in pairs {
            insert_path(&mut values, key, Value::from(value.to_owned()));
        }
        Self::new("configuration", values, Origins::default())
    }

    /// The full key this block lives at.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The raw values.
    pub fn values(&self) -> &Dict {
        &self.values
    }

    /// The string at `key` (dotted, relative to the block), if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        let mut current = &self.values;
        let mut parts = key.split('.').peekable();
        while let Some(part) = parts.next() {
            let value = current.get(part)?;
            if parts.peek().is_none() {
                return value.as_str();
            }
            current = value.as_dict()?;
        }
        None
    }

    /// Deserialises the block into the provider's own configuration type. Strings convert to
    /// the field's type (`"true"` to `bool`, `"8"` to `u32`); errors name the full key and its
    /// origin.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T, SettingsError> {
        Figment::from(Serialized::defaults(&self.values))
            .extract_lossy::<T>()
            .map_err(|e| SettingsError::from_figment(e, &self.prefix, &self.origins))
    }

    /// An error about `relative_key` of this block, with its origin.
    pub fn error(&self, relative_key: &str, problem: impl Into<String>) -> SettingsError {
        let key = join_key(&self.prefix, relative_key);
        let origin = self.origins.of(&key).map(str::to_owned);
        SettingsError::new(key, problem, origin)
    }
}

#[cfg(feature = "settings")]
impl fmt::Debug for ProviderSettings {
    /// Keys only: configuration blocks hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("prefix", &self.prefix)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(feature = "settings")]
impl<'de> serde::Deserialize<'de> for ProviderSettings {
    /// Keeps the block as-is; the configuration loader sets the prefix and origins afterwards.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
        match value {
            Value::Dict(_, values) => Ok(Self {
                values,
                ..Self::default()
            }),
            Value::String(_, s) if s.trim().is_empty() => Ok(Self::default()),
            other => Err(de::Error::custom(format!(
                "expected a map of settings, found {}",
                other.to_actual()
            ))),
        }
    }
}

#[cfg(feature = "settings")]
fn insert_path(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if entry.as_dict().is_none() {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

/// Serde helper for a Gravitee list: accepts a sequence, or a map keyed by index (`"0"`, `"1"`,
/// …), the form environment variables and the YAML loader produce. Indexes must run from 0
/// without a gap. Use with `#[serde(deserialize_with = "federation_core::settings::list")]`.
pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    deserializer.deserialize_any(ListVisitor(PhantomData, false))
}

/// Like [`list`], and also accepts one comma-separated string (`region: eu-west-1,us-east-1`).
/// Blank items are dropped and each item is trimmed.
pub fn comma_list<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let items: Vec<String> = deserializer.deserialize_any(ListVisitor(PhantomData, true))?;
    Ok(items
        .iter()
        .flat_map(|item| item.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect())
}

struct ListVisitor<T>(PhantomData<T>, bool);

impl<'de, T: DeserializeOwned> Visitor<'de> for ListVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            f.write_str("a list or a comma-separated string")
        } else {
            f.write_str("a list")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if !self.1 {
            return Err(E::invalid_type(de::Unexpected::Str(v), &self));
        }
        let item = T::deserialize(de::value::StrDeserializer::<E>::new(v))?;
        Ok(vec![item])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(items)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut items = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let index: usize = key.parse().map_err(|_| {
                de::Error::custom(format!(
                    "`{key}` is not a list index (expected 0, 1, 2, ...)"
                ))
            })?;
            items.insert(index, map.next_value::<T>()?);
        }
        let count = items.len();
        let mut out = Vec::with_capacity(count);
        for (expected, (index, item)) in items.into_iter().enumerate() {
            if index != expected {
                return Err(de::Error::custom(format!(
                    "list index {index} is set but index {expected} is missing"
                )));
            }
            out.push(item);
        }
        Ok(out)
    }
}

#[cfg(all(test, feature = "settings"))]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AwsLike {
        #[serde(deserialize_with = "comma_list")]
        region: Vec<String>,
        #[serde(default)]
        accept_api_without_usage_plan: bool,
        account: Option<String>,
        #[serde(default)]
        limit: Option<u32>,
    }

    #[test]
    fn strings_convert_to_the_field_type_and_ids_stay_strings() {
        let settings = ProviderSettings::from_pairs([
            ("region", "eu-west-1, us-east-1"),
            ("acceptApiWithoutUsagePlan", "true"),
            ("account", "0123456789012"),
            ("limit", "8"),
        ]);
        let aws: AwsLike = settings.extract().unwrap();
        assert_eq!(aws.region, ["eu-west-1", "us-east-1"]);
        assert!(aws.accept_api_without_usage_plan);
        assert_eq!(aws.account.as_deref(), Some("0123456789012"));
        assert_eq!(aws.limit, Some(8));
    }

    #[test]
    fn missing_key_names_where_it_was_looked_for_never_a_neighbours_variable() {
        let mut values = Dict::new();
        values.insert("accessKeyId".into(), Value::from("AKIA".to_owned()));
        let origins = Origins::new(BTreeMap::from([(
            "integration.providers[0].configuration.accessKeyId".to_owned(),
            "env gravitee_integration_providers_0_configuration_accessKeyId".to_owned(),
        )]));
        let settings = ProviderSettings::new(
            "integration.providers[0].configuration",
            values.clone(),
            origins.clone(),
        );
        let err = settings.extract::<AwsLike>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "integration.providers[0].configuration.region is missing"
        );
        let origins = origins.with_looked_for(|key| format!("looked for in <{key}>"));
        let settings =
            ProviderSettings::new("integration.providers[0].configuration", values, origins);
        let err = settings.extract::<AwsLike>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "integration.providers[0].configuration.region is missing; looked for in \
             <integration.providers[0].configuration.region>"
        );
        assert!(!err.to_string().contains("accessKeyId"), "{err}");
    }

    #[test]
    fn invalid_value_names_the_key() {
        let settings = ProviderSettings::from_pairs([("region", "x"), ("limit", "lots")]);
        let err = settings.extract::<AwsLike>().unwrap_err();
        assert_eq!(err.key, "configuration.limit");
        assert!(err.problem.starts_with("is invalid"), "{err}");
    }

    #[test]
    fn index_maps_become_lists_and_gaps_are_errors() {
        #[derive(Debug, Deserialize)]
        struct L {
            #[serde(deserialize_with = "list")]
            items: Vec<String>,
        }
        let settings = ProviderSettings::from_pairs([("items.1", "b"), ("items.0", "a")]);
        assert_eq!(settings.extract::<L>().unwrap().items, ["a", "b"]);
        let gap = ProviderSettings::from_pairs([("items.0", "a"), ("items.2", "c")]);
        let err = gap.extract::<L>().unwrap_err().to_string();
        assert!(
            err.contains("index 2 is set but index 1 is missing"),
            "{err}"
        );
    }

    #[test]
    fn debug_shows_keys_not_values() {
        let settings = ProviderSettings::from_pairs([("secretAccessKey", "wJalrXUtnFEMI")]);
        let debug = format!("{settings:?}");
        assert!(debug.contains("secretAccessKey"));
        assert!(!debug.contains("wJalrXUtnFEMI"));
        assert_eq!(settings.get_str("secretAccessKey"), Some("wJalrXUtnFEMI"));
    }

    #[test]
    fn render_key_uses_brackets_for_indexes() {
        assert_eq!(
            render_key(["integration", "providers", "0", "type"]),
            "integration.providers[0].type"
        );
        assert_eq!(join_key("a.b", "[1].c"), "a.b[1].c");
    }
}
