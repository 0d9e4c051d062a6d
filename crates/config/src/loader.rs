//! [`ConfigLoader`]: finds the files, merges the sources, resolves `secret://` references, reads
//! the typed [`AgentConfig`] and checks it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use federation_core::settings::{Origins, render_key};
use federation_core::{ProviderSettings, SettingsError};
use figment::Figment;
use figment::providers::Serialized;
use figment::value::Dict;

use crate::catalogue::KeyCatalogue;
use crate::cloud::CloudConnection;
use crate::env::GraviteeEnv;
use crate::error::ConfigError;
use crate::looked_for::LookedFor;
use crate::model::{AgentConfig, SecretsConfig};
use crate::properties::{for_each_leaf, get, normalise};
use crate::secrets::{KubernetesAccess, Resolver};
use crate::validate::validate;
use crate::yaml::GraviteeYaml;

/// Loads the agent's configuration. Every setter is optional:
///
/// ```no_run
/// # async fn run() -> Result<(), federation_config::ConfigError> {
/// use federation_config::ConfigLoader;
///
/// let loaded = ConfigLoader::new()
///     .config_file(None) // --config
///     .provider_keys(["accessKeyId", "secretAccessKey", "region"])
///     .known_provider_types(["aws-api-gateway"])
///     .load()
///     .await?;
/// println!("{} provider(s)", loaded.config.integration.providers.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigLoader {
    config_file: Option<PathBuf>,
    env: Option<Vec<(String, String)>>,
    provider_keys: Vec<String>,
    known_provider_types: Vec<String>,
    current_dir: Option<PathBuf>,
    kubernetes: KubernetesAccess,
    without_controller: bool,
}

/// The result of [`ConfigLoader::load`].
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The validated configuration; each provider's `configuration` carries its full key prefix
    /// and origins, so provider errors name `integration.providers[i].configuration.<key>`.
    pub config: AgentConfig,
    /// The files actually read, lowest precedence first.
    pub files: Vec<PathBuf>,
    /// Where each key's value came from (`file /path/gravitee.yml`, `env gravitee_…`).
    pub origins: Origins,
    /// Things worth a warning (ignored variables, list entries after a gap, `secret://` texts
    /// used as they are), naming keys and variables, never values. They are also logged with
    /// `tracing::warn!` while loading; a binary that sets up logging after loading should print
    /// these.
    pub warnings: Vec<String>,
    /// What was made of `cloud.token` (derived endpoint, credential), when it is used; already
    /// applied to `config` and logged.
    pub cloud: Option<CloudConnection>,
    looked_for: LookedFor,
}

impl LoadedConfig {
    /// The error for a key a command needs and nobody set, naming where it was looked for:
    /// `integration.connector.drift.stateFile is not set: …; looked for in env
    /// gravitee_integration_connector_drift_stateFile and in /opt/config/gravitee.yml`.
    pub fn missing_key(&self, key: &str, problem: &str) -> ConfigError {
        ConfigError::Setting(self.looked_for.missing(key, key, problem))
    }
}

impl ConfigLoader {
    /// A loader with the defaults: file from `GRAVITEE_CONF` / `$GRAVITEE_HOME` /
    /// `./config/gravitee.yml`, the process environment, no provider keys, any provider type,
    /// in-cluster Kubernetes access.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `--config` option: a file, or a comma-separated list of files (later ones override
    /// earlier ones). Each must exist. Takes precedence over `GRAVITEE_CONF` and
    /// `$GRAVITEE_HOME/config/gravitee.yml`.
    pub fn config_file(mut self, path: Option<PathBuf>) -> Self {
        self.config_file = path;
        self
    }

    /// The environment variables to read instead of the process environment (for tests and
    /// embedding). Also the source of `GRAVITEE_CONF`, `GRAVITEE_HOME`,
    /// `KUBERNETES_SERVICE_HOST`/`_PORT` and `secret://env/…`.
    pub fn env_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// The providers' configuration keys (`ProviderRegistry::config_keys()`), so that
    /// `GRAVITEE_…_CONFIGURATION_ACCESSKEYID` becomes `accessKeyId`.
    pub fn provider_keys<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.provider_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// The provider types this agent was built with (`ProviderRegistry::types()`); a provider
    /// of another type is an error listing these. Empty (the default): any type is accepted.
    pub fn known_provider_types<S: Into<String>>(
        mut self,
        types: impl IntoIterator<Item = S>,
    ) -> Self {
        self.known_provider_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// The directory `./config/gravitee.yml` is looked up in (default: the process's current
    /// directory).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Where the Kubernetes API and the service account files are, for `secret://kubernetes/…`
    /// (default: [`KubernetesAccess::in_cluster`]).
    pub fn kubernetes(mut self, access: KubernetesAccess) -> Self {
        self.kubernetes = access;
        self
    }

    /// For a command that never contacts the controller (the operator tools: `discover`,
    /// `check`, `drift`): the connector's `integration.connector.ws.*` settings are neither
    /// required nor checked, and `cloud.token` (which only says how to reach the controller) is
    /// not read. The providers are loaded and checked as for the agent.
    pub fn without_controller(mut self) -> Self {
        self.without_controller = true;
        self
    }

    /// Loads: reads the files, merges them with the environment, resolves `secret://`
    /// references, reads the typed configuration and validates it.
    pub async fn load(self) -> Result<LoadedConfig, ConfigError> {
        let env_vars: Vec<(String, String)> = match self.env.clone() {
            Some(vars) => vars,
            None => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        };
        let env_map: HashMap<String, String> = env_vars.iter().cloned().collect();
        let mut warnings = Vec::new();

        let mut yamls = Vec::new();
        let mut looked_at = Vec::new();
        for (path, required) in self.candidate_files(&env_map) {
            if !required && !path.is_file() {
                tracing::debug!(path = %path.display(), "no configuration file here");
                looked_at.push((path, false));
                continue;
            }
            looked_at.push((path.clone(), true));
            let yaml = GraviteeYaml::file(&path)?;
            tracing::info!(path = %path.display(), "configuration file read");
            warnings.extend(yaml.warnings().iter().cloned());
            yamls.push(yaml);
        }

        let catalogue = KeyCatalogue::model().with_provider_keys(&self.provider_keys);
        for yaml in &yamls {
            for property in yaml.flat_properties() {
                if let Some(reason) = catalogue.case_mismatch(&property.segments) {
                    let message = format!(
                        "{} (from {}) is ignored: {reason}",
                        property.key(),
                        property.origin
                    );
                    tracing::warn!("{message}");
                    warnings.push(message);
                }
            }
        }
        let looked_for = LookedFor::new(looked_at);
        let env = GraviteeEnv::new(env_vars, &catalogue);
        warnings.extend(env.warnings().iter().cloned());

        // Rising precedence: serde defaults, the files in order, the environment. figment
        // merges maps key by key, so one variable overrides one list element.
        let mut figment = Figment::new();
        let mut all_origins: BTreeMap<String, String> = BTreeMap::new();
        for yaml in &yamls {
            figment = figment.merge(yaml.clone());
            all_origins.extend(yaml.origins());
        }
        figment = figment.merge(env.clone());
        all_origins.extend(env.origins());
        let mut tree: Dict = figment
            .extract()
            .map_err(|e| SettingsError::from_figment(e, "", &Origins::default()))?;

        let mut origins_map = BTreeMap::new();
        for_each_leaf(&tree, &mut |path, _| {
            let key = render_key(path.iter().map(String::as_str));
            if let Some(origin) = all_origins.get(&key) {
                origins_map.insert(key, origin.clone());
            }
        });
        let origins = Origins::new(origins_map).with_looked_for({
            let looked_for = looked_for.clone();
            move |key| looked_for.describe(key)
        });

        let report = normalise(&mut tree);
        for (key, missing) in &report.after_gap {
            let list = key.rsplit_once('[').map_or(key.as_str(), |(l, _)| l);
            let message = format!(
                "{key}{} is ignored: {list}[{missing}] is not set, and a list stops at its first \
                 missing index",
                origins
                    .of(key)
                    .map(|o| format!(" (from {o})"))
                    .unwrap_or_default()
            );
            tracing::warn!(key = %key, "{message}");
            warnings.push(message);
        }
        let blanks: BTreeSet<String> = report.blank.into_iter().collect();
        if let Some(error) = crate::placeholder::find(&tree, &origins) {
            return Err(ConfigError::Setting(error));
        }

        let secrets: SecretsConfig = match tree.get("secrets") {
            Some(value) => Figment::from(Serialized::defaults(value))
                .extract_lossy()
                .map_err(|e| settings_error(e, "secrets", &origins, &blanks, &looked_for))?,
            None => SecretsConfig::default(),
        };
        let mut resolver = Resolver::new(&env_map, &self.kubernetes, &secrets);
        warnings.extend(resolver.resolve_tree(&mut tree, &origins).await?);

        let mut config: AgentConfig = Figment::from(Serialized::defaults(&tree))
            .extract_lossy()
            .map_err(|e| settings_error(e, "", &origins, &blanks, &looked_for))?;
        for (index, entry) in config.integration.providers.iter_mut().enumerate() {
            let path = [
                "integration".to_owned(),
                "providers".to_owned(),
                index.to_string(),
                "configuration".to_owned(),
            ];
            let values = get(&tree, &path)
                .and_then(|v| v.as_dict())
                .cloned()
                .unwrap_or_default();
            entry.configuration = ProviderSettings::new(
                format!("integration.providers[{index}].configuration"),
                values,
                origins.clone(),
            );
        }
        let cloud = if self.without_controller {
            None
        } else {
            crate::cloud::apply(&mut config, &origins, std::time::SystemTime::now())?
        };
        validate(
            &config,
            &origins,
            &self.known_provider_types,
            &looked_for,
            !self.without_controller,
        )?;
        if let Some(cloud) = &cloud {
            cloud.log(&config.integration.connector.ws.endpoints_cleaned());
        }

        Ok(LoadedConfig {
            config,
            files: yamls.iter().map(|y| y.path().to_path_buf()).collect(),
            origins,
            warnings,
            cloud,
            looked_for,
        })
    }

    /// The files to read, with whether each must exist.
    fn candidate_files(&self, env: &HashMap<String, String>) -> Vec<(PathBuf, bool)> {
        if let Some(path) = &self.config_file {
            return split_list(path).into_iter().map(|p| (p, true)).collect();
        }
        if let Some(conf) = env.get("GRAVITEE_CONF").filter(|c| !c.trim().is_empty()) {
            return split_list(Path::new(conf))
                .into_iter()
                .map(|p| (p, true))
                .collect();
        }
        let local = self
            .current_dir
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .map(|dir| dir.join("config").join("gravitee.yml"));
        let home = env
            .get("GRAVITEE_HOME")
            .filter(|h| !h.trim().is_empty())
            .map(|home| Path::new(home).join("config").join("gravitee.yml"));
        match (home, local) {
            (Some(home), _) if home.is_file() => vec![(home, true)],
            (_, Some(local)) => vec![(local, false)],
            (Some(home), None) => vec![(home, false)],
            (None, None) => Vec::new(),
        }
    }
}

/// A comma-separated list of paths (Gravitee's `gravitee.conf`).
fn split_list(path: &Path) -> Vec<PathBuf> {
    match path.to_str() {
        Some(text) if text.contains(',') => text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect(),
        _ => vec![path.to_path_buf()],
    }
}

/// A figment error as a [`ConfigError`], saying "is blank" for keys set to blank text, where a
/// missing key was looked for, and without the offending text unless the key expects a number
/// or a boolean (a value put where a map or a list belongs may be a token).
fn settings_error(
    mut error: figment::Error,
    prefix: &str,
    origins: &Origins,
    blanks: &BTreeSet<String>,
    looked_for: &LookedFor,
) -> ConfigError {
    use figment::error::{Actual, Kind};
    match &mut error.kind {
        Kind::InvalidType(actual @ Actual::Str(_), expected)
        | Kind::InvalidValue(actual @ Actual::Str(_), expected)
            if !expects_scalar(expected) =>
        {
            *actual = Actual::Other("text".to_owned());
        }
        Kind::Message(message) => *message = redact_quoted(message),
        _ => {}
    }
    let mut error = SettingsError::from_figment(error, prefix, origins);
    if error.problem == "is missing" {
        if blanks.contains(&error.key) {
            "is blank".clone_into(&mut error.problem);
        } else {
            // Nobody set it: name where it was looked for, not a neighbour's origin.
            error = looked_for.missing(&error.key, &error.key, "is missing");
        }
    }
    ConfigError::Setting(error)
}

/// Whether serde's "expected" text names a number or a boolean.
fn expects_scalar(expected: &str) -> bool {
    let number = |t: &str| {
        t.len() > 1
            && matches!(t.as_bytes()[0], b'u' | b'i' | b'f')
            && (t[1..].bytes().all(|b| b.is_ascii_digit()) || &t[1..] == "size")
    };
    expected == "a boolean" || number(expected)
}

/// Replaces every `"…"` in a message by `"***"` (custom deserialisation messages quote the
/// value they refused).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let rest: Vec<&str> = parts.collect();
    for (index, part) in rest.iter().enumerate() {
        out.push('"');
        // Odd pieces are inside quotes, unless it is an unmatched last quote.
        if index % 2 == 0 && index + 1 < rest.len() {
            out.push_str("***");
        } else {
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_variable_naming_thousands_of_parts_is_ignored() {
        // Found by examples/fuzz_config/: such a key overflowed the stack in figment.
        let long = format!("gravitee_integration{}", "_a".repeat(5000));
        let dir = tempfile::tempdir().unwrap();
        let loaded = ConfigLoader::new()
            .env_vars([
                (long.as_str(), "1"),
                (
                    "gravitee_integration_connector_ws_endpoints_0",
                    "https://apim.example.com/integration-controller",
                ),
                ("gravitee_integration_providers_0_type", "aws-api-gateway"),
                ("gravitee_integration_providers_0_integrationId", "int-1"),
            ])
            .current_dir(dir.path())
            .load()
            .await
            .unwrap();
        assert_eq!(loaded.config.integration.providers.len(), 1);
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.contains("is ignored: it has 5001 parts")),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn the_load_future_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        let future = ConfigLoader::new().env_vars([("a", "b")]).load();
        assert_send(&future);
    }

    #[test]
    fn quoted_text_is_redacted() {
        assert_eq!(
            redact_quoted(r#"expected a map of settings, found string "s3cr3t" here"#),
            r#"expected a map of settings, found string "***" here"#
        );
        assert_eq!(redact_quoted("no quotes"), "no quotes");
        assert_eq!(redact_quoted(r#"odd " quote"#), r#"odd " quote"#);
    }

    #[test]
    fn numbers_and_booleans_are_scalars() {
        for t in ["u16", "usize", "i64", "f64", "a boolean"] {
            assert!(expects_scalar(t), "{t}");
        }
        for t in ["struct HeaderConfig", "a map", "a list", "a string", "unit"] {
            assert!(!expects_scalar(t), "{t}");
        }
    }
}
