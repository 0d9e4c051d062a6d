//! # federation-config
//!
//! Loads the agent's configuration the way Gravitee does, so that the `gravitee.yml`, the
//! `gravitee_*` environment variables and the Helm values written for Gravitee's Java agent work
//! unchanged.
//!
//! ```no_run
//! # async fn run() -> Result<(), federation_config::ConfigError> {
//! let loaded = federation_config::ConfigLoader::new()
//!     .config_file(None) // the --config option
//!     .provider_keys(["accessKeyId", "secretAccessKey", "region"]) // ProviderRegistry::config_keys()
//!     .known_provider_types(["aws-api-gateway"]) // ProviderRegistry::types()
//!     .load()
//!     .await?;
//! for endpoint in loaded.config.integration.connector.ws.endpoints_cleaned() {
//!     println!("controller: {endpoint}");
//! }
//! # Ok(()) }
//! ```
//!
//! ## Sources and precedence (lowest first)
//!
//! 1. **Built-in defaults**: the serde defaults of [`model`] (Gravitee's defaults).
//! 2. **`gravitee.yml`** ([`GraviteeYaml`]): `--config PATH` (a comma-separated list is read
//!    in order, later files overriding earlier ones), else `GRAVITEE_CONF` (same form), else
//!    `$GRAVITEE_HOME/config/gravitee.yml` if it exists, else `./config/gravitee.yml` if it
//!    exists, else no file. Explicitly named files must exist.
//! 3. **Environment variables** ([`GraviteeEnv`]): names starting with exactly `gravitee_`,
//!    `GRAVITEE_`, `gravitee.` or `GRAVITEE.`; the rest is split on `_`, `.` and `[n]`.
//!    The exact camelCase form (`gravitee_integration_providers_0_integrationId`) and the fully
//!    upper-case form (`GRAVITEE_INTEGRATION_PROVIDERS_0_INTEGRATIONID`, resolved through the
//!    [`KeyCatalogue`] and the providers' keys) are accepted; other mixed-case names are
//!    ignored with a warning.
//!
//! Precedence is **per key**: every source is flattened to string properties
//! (`a.b[0].c = "…"`) and lists become maps keyed by index, so
//! `gravitee_integration_connector_ws_endpoints_0` replaces `endpoints[0]` of the file and
//! keeps `endpoints[1]`. Values stay text until the typed model is read (`0123` and AWS account
//! ids stay as written; `"true"`/`"8"` convert where the field is a `bool`/number, as Spring
//! converts). A list is read from index 0 up to its first missing index (later entries are
//! ignored with a warning); a blank value outside a list counts as not set.
//!
//! After merging, `secret://` references are resolved ([`secrets`]: Kubernetes with the pod's
//! service account, `secret://env/…`, `secret://file/…`), then the typed [`AgentConfig`] is
//! read, `cloud.token` is applied ([`cloud`]: a Gravitee Next-Gen Cloud token gives the
//! endpoint and the credential when they are not configured) and the result is validated. Each
//! provider's `configuration` block is handed over untyped as a
//! [`federation_core::ProviderSettings`] that knows its key prefix and origins.
//! [`ConfigLoader::without_controller`] loads for the commands that never contact the
//! controller (the operator tools): the `integration.connector.ws.*` settings are then neither
//! required nor checked, and `cloud.token` is not read.
//!
//! ## Errors
//!
//! [`ConfigError`] is one line naming the key and where its value came from, for example
//! `integration.providers[0].integrationId is blank (from env
//! gravitee_integration_providers_0_integrationId)`, or, for a key nobody set, where it was
//! looked for: `integration.providers[0].integrationId is missing; looked for in env
//! gravitee_integration_providers_0_integrationId and in /opt/config/gravitee.yml`. Secret values (header values, passwords, AWS
//! secrets, tokens) never appear in errors, logs or `Debug` output.

pub mod catalogue;
pub mod cloud;
mod cloud_client;
pub mod drift;
pub mod env;
pub mod error;
pub mod loader;
mod looked_for;
pub mod model;
mod placeholder;
mod properties;
pub mod secrets;
mod validate;
pub mod yaml;

pub use catalogue::{KeyCatalogue, MODEL_KEYS};
pub use cloud::{CloudConnection, CloudToken};
pub use drift::DriftConfig;
pub use env::GraviteeEnv;
pub use error::ConfigError;
pub use loader::{ConfigLoader, LoadedConfig};
pub use model::*;
pub use secrets::{KubernetesAccess, SecretUrl};
pub use yaml::GraviteeYaml;
