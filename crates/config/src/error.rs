//! [`ConfigError`]: why the configuration could not be loaded, in one line that names the key
//! (or the file) and where the bad value came from. Never contains a secret value.

use std::io;
use std::path::PathBuf;

use federation_core::SettingsError;
use federation_core::settings::Origins;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A configuration file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A configuration file is not valid YAML.
    #[error("configuration file {} is not valid YAML: {message}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The line of the error (1-based), when the parser knows it.
        line: Option<usize>,
        /// The column of the error (1-based), when the parser knows it.
        column: Option<usize>,
        /// The parser's message (with its position).
        message: String,
    },
    /// A key is missing or its value is invalid, for example
    /// `services.core.http.port is invalid: … (from env gravitee_services_core_http_port)`, or
    /// `integration.providers[0].integrationId is missing; looked for in env
    /// gravitee_integration_providers_0_integrationId and in /opt/config/gravitee.yml`.
    #[error(transparent)]
    Setting(SettingsError),
    /// A `secret://` reference could not be resolved, for example
    /// `integration.connector.ws.ssl.truststore.password cannot be resolved from secret://kubernetes/aws-truststore:password?namespace=gravitee-apim: ... (from file /opt/gravitee.yml)`.
    #[error(transparent)]
    Secret(SettingsError),
}

impl ConfigError {
    /// A bad or missing `key`, naming where its value came from (`origins`).
    pub(crate) fn setting(origins: &Origins, key: &str, problem: impl Into<String>) -> Self {
        Self::Setting(SettingsError::new(
            key,
            problem,
            origins.of(key).map(str::to_owned),
        ))
    }

    /// The key the error is about (Spring style, `a.b[0].c`), if it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Setting(e) | Self::Secret(e) => Some(&e.key),
            Self::ReadFile { .. } | Self::Yaml { .. } => None,
        }
    }

    /// Where the offending value came from (`env NAME` or `file PATH`), when known.
    pub fn origin(&self) -> Option<&str> {
        match self {
            Self::Setting(e) | Self::Secret(e) => e.origin.as_deref(),
            Self::ReadFile { .. } | Self::Yaml { .. } => None,
        }
    }
}

impl From<SettingsError> for ConfigError {
    fn from(error: SettingsError) -> Self {
        Self::Setting(error)
    }
}
