//! [`GraviteeEnv`]: `gravitee_*` environment variables as Gravitee reads them.
//!
//! figment's own `Env` provider lower-cases names (breaking `integrationId`), accepts any case
//! of the prefix, parses values (`0123` becomes `123`) and turns `_0_` into a map that replaces
//! a YAML list whole. This provider follows Gravitee instead:
//!
//! - only names starting with exactly `gravitee_`, `GRAVITEE_`, `gravitee.` or `GRAVITEE.` are
//!   read, and the prefix is stripped;
//! - the rest is split on `_`, `.` and `[n]`; numeric segments are list indexes;
//! - a name with no lower-case letter is matched case-insensitively against the
//!   [`KeyCatalogue`] (`..._INTEGRATIONID` → `integrationId`); any other name must match a known
//!   key exactly (ignoring `-`) and is ignored with a warning when it only matches in another
//!   case (`..._integrationid`, `Key1_Key2`);
//! - values stay strings, exactly as given.

use std::collections::BTreeMap;

use figment::value::{Dict, Map};
use figment::{Error, Metadata, Profile, Provider};

use crate::catalogue::KeyCatalogue;
use crate::properties::{self, Property};

/// The prefixes Gravitee accepts, compared case-sensitively.
pub const PREFIXES: [&str; 4] = ["gravitee_", "GRAVITEE_", "gravitee.", "GRAVITEE."];

/// The name with its Gravitee prefix stripped, or `None` if it has none of [`PREFIXES`].
pub fn strip_prefix(name: &str) -> Option<&str> {
    PREFIXES.iter().find_map(|p| name.strip_prefix(p))
}

/// Names with a Gravitee prefix that are not configuration keys (the launcher's own).
const NOT_KEYS: [&str; 2] = ["home", "conf"];

/// The `gravitee_*` environment variables, resolved to keys.
#[derive(Clone)]
pub struct GraviteeEnv {
    properties: Vec<Property>,
    dict: Dict,
    warnings: Vec<String>,
}

impl GraviteeEnv {
    /// Reads `vars` (name, value), resolving names with `catalogue`.
    pub fn new<K, V>(vars: impl IntoIterator<Item = (K, V)>, catalogue: &KeyCatalogue) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut warnings = Vec::new();
        // Key → (exact form?, property). An exact (camelCase) name beats an upper-case one,
        // as Gravitee tries the exact name first.
        let mut by_key: BTreeMap<String, (bool, Property)> = BTreeMap::new();
        for (name, value) in vars {
            let Some(stripped) = strip_prefix(&name) else {
                continue;
            };
            if NOT_KEYS.iter().any(|k| stripped.eq_ignore_ascii_case(k)) {
                continue;
            }
            let parts = stripped
                .split(['_', '.', '[', ']'])
                .filter(|s| !s.is_empty())
                .count();
            if parts > properties::MAX_KEY_PARTS {
                let shown: String = name.chars().take(80).collect();
                let message = format!(
                    "environment variable {shown}… ({} characters) is ignored: it has {parts} \
                     parts, more than a key can have ({})",
                    name.chars().count(),
                    properties::MAX_KEY_PARTS
                );
                tracing::warn!(variable = %shown, "{message}");
                warnings.push(message);
                continue;
            }
            let resolved = match catalogue.resolve_env_name(stripped) {
                Ok(resolved) => resolved,
                Err(ignored) => {
                    let message = format!(
                        "environment variable {name} is ignored: {}; use the exact camelCase \
                         name or the fully upper-case one",
                        ignored.reason
                    );
                    tracing::warn!(variable = %name, "{message}");
                    warnings.push(message);
                    continue;
                }
            };
            if let Some(warning) = &resolved.warning {
                let message = format!("environment variable {name} {warning}");
                tracing::warn!(variable = %name, "{message}");
                warnings.push(message);
            }
            let exact = stripped.bytes().any(|b| b.is_ascii_lowercase());
            let property = Property {
                segments: resolved.segments,
                value,
                origin: format!("env {name}"),
            };
            let key = property.key();
            match by_key.get(&key) {
                Some((earlier_exact, earlier)) if *earlier_exact && !exact => {
                    let message = format!(
                        "environment variables {} and {name} both set {key}; using {}",
                        env_name(&earlier.origin),
                        env_name(&earlier.origin)
                    );
                    tracing::warn!(key = %key, "{message}");
                    warnings.push(message);
                }
                Some((_, earlier)) => {
                    let message = format!(
                        "environment variables {} and {name} both set {key}; using {name}",
                        env_name(&earlier.origin)
                    );
                    tracing::warn!(key = %key, "{message}");
                    warnings.push(message);
                    by_key.insert(key, (exact, property));
                }
                None => {
                    by_key.insert(key, (exact, property));
                }
            }
        }
        let properties: Vec<Property> = by_key.into_values().map(|(_, p)| p).collect();
        let before = warnings.len();
        let dict = properties::nest(&properties, &mut warnings);
        for message in &warnings[before..] {
            tracing::warn!("{message}");
        }
        Self {
            properties,
            dict,
            warnings,
        }
    }

    /// Spring-style key → `env NAME` for every variable read.
    pub fn origins(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .map(|p| (p.key(), p.origin.clone()))
            .collect()
    }

    /// The keys set (Spring style), with the variable that set each. Values may be secrets and
    /// are not exposed here.
    pub fn keys(&self) -> impl Iterator<Item = (String, &str)> {
        self.properties
            .iter()
            .map(|p| (p.key(), env_name(&p.origin)))
    }

    /// The value set for `key` (Spring style), if any. Values may be secrets: do not log them.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.key() == key)
            .map(|p| p.value.as_str())
    }

    /// Variables that were ignored or adjusted, and why (names only, never values).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether no variable was read.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }
}

fn env_name(origin: &str) -> &str {
    origin.strip_prefix("env ").unwrap_or(origin)
}

impl std::fmt::Debug for GraviteeEnv {
    /// Keys and variable names only: values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.keys()).finish()
    }
}

impl Provider for GraviteeEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("gravitee_* environment variables")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}
