//! The typed configuration: every key the agent reads, with Gravitee's defaults.
//!
//! Keys are camelCase exactly as in `gravitee.yml`; lists accept the index-keyed maps the
//! loader produces (see [`federation_core::settings::list`]). Secrets are [`Secret`]s, so
//! `Debug` never prints them.

use std::collections::BTreeMap;

use federation_core::settings::list;
use federation_core::{ProviderSettings, Secret};
use serde::Deserialize;

/// The connector's keys (`integration.connector.*`, and `system.proxy.*`'s [`ProxyConfig`])
/// live in the light crate `federation-connector-config`, shared with `federation-connector`;
/// they are re-exported here under their old paths.
pub use federation_connector_config::{
    BackoffConfig, CommandsConfig, ConnectorConfig, HeaderConfig, IngestConfig, ProxyConfig,
    SslConfig, StoreConfig, WsConfig,
};

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentConfig {
    /// `integration.*`: the connector and the providers.
    pub integration: IntegrationConfig,
    /// `services.*`: the management HTTP service and metrics.
    pub services: ServicesConfig,
    /// `cloud.*`: Gravitee Cloud.
    pub cloud: CloudConfig,
    /// `system.*`: the system proxy (`connector.ws.proxy.useSystemProxy`).
    pub system: SystemConfig,
    /// `secrets.*`: which `secret://` providers are enabled.
    pub secrets: SecretsConfig,
    /// `log.*`: logging (this agent's keys; Gravitee's Java agent uses logback files).
    pub log: LogConfig,
}

/// `integration.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IntegrationConfig {
    /// `integration.connector.*`.
    pub connector: ConnectorConfig,
    /// `integration.providers[i]`: one connection (and one HELLO) each.
    #[serde(deserialize_with = "list")]
    pub providers: Vec<ProviderEntry>,
}

/// `integration.providers[i]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderEntry {
    /// The provider type, sent as HELLO's `provider` (for example `aws-api-gateway`).
    #[serde(rename = "type")]
    pub provider_type: String,
    /// The integration id created in the APIM console, sent as HELLO's `targetId`.
    pub integration_id: String,
    /// Provider-specific settings, deserialised by the provider.
    #[serde(default)]
    pub configuration: ProviderSettings,
}

/// `services.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicesConfig {
    /// `services.core.*`.
    pub core: CoreServicesConfig,
    /// `services.metrics.*`.
    pub metrics: MetricsConfig,
}

/// `services.core.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CoreServicesConfig {
    /// `services.core.http.*`: the management HTTP service.
    pub http: HttpServiceConfig,
}

/// `services.core.http.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HttpServiceConfig {
    /// Default true.
    pub enabled: bool,
    /// Default 18084.
    pub port: u16,
    /// Default `localhost`.
    pub host: String,
    /// Basic authentication.
    pub authentication: AuthenticationConfig,
}

impl Default for HttpServiceConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 18_084,
            host: "localhost".to_owned(),
            authentication: AuthenticationConfig::default(),
        }
    }
}

/// `services.core.http.authentication.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AuthenticationConfig {
    /// `basic` (default) or `none`.
    #[serde(rename = "type")]
    pub auth_type: String,
    /// User name → password.
    pub users: BTreeMap<String, Secret>,
}

impl Default for AuthenticationConfig {
    fn default() -> Self {
        Self {
            auth_type: "basic".to_owned(),
            users: BTreeMap::new(),
        }
    }
}

/// `services.metrics.*`: Prometheus is served only when both flags are true.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MetricsConfig {
    /// Default false.
    pub enabled: bool,
    /// `services.metrics.prometheus.*`.
    pub prometheus: PrometheusConfig,
}

/// `services.metrics.prometheus.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PrometheusConfig {
    /// Default true.
    pub enabled: bool,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `cloud.*`: Gravitee Next-Gen Cloud (see [`crate::cloud`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudConfig {
    /// Whether `cloud.token` is used. Default true.
    pub enabled: bool,
    /// The Gravitee Cloud token for federation agents (a JWT).
    pub token: Option<Secret>,
    /// The Cloud Gate base URL, `{cpg}` standing for the token's `cpg` claim. Default
    /// `https://{cpg}.cloudgate.gravitee.io` (this agent's key, for tests and private gates).
    pub gate_url: Option<String>,
    /// `cloud.client.*`: how to reach Cloud Gate (proxy, TLS).
    pub client: CloudClientConfig,
}

impl Default for CloudConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
            gate_url: None,
            client: CloudClientConfig::default(),
        }
    }
}

/// `cloud.client.*`: Gravitee's settings for every connection to Cloud Gate. This agent reads
/// `proxy` and `ssl`; they apply to the Cloud Gate connection derived from `cloud.token`, each
/// key unless its `integration.connector.ws.proxy.*` / `.ssl.*` counterpart is set
/// ([`crate::cloud`]). `cloud.client.http.*` (HTTP/2, pool sizes) is not read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudClientConfig {
    /// `cloud.client.proxy.*`: the same keys as `integration.connector.ws.proxy.*`.
    pub proxy: ProxyConfig,
    /// `cloud.client.ssl.*`.
    pub ssl: CloudSslConfig,
}

/// `cloud.client.ssl.*`: Gravitee's documented keys (`trustAll`, `hostnameVerifier`,
/// `truststore.*`), and `verifyHost` and `keystore.*` as `integration.connector.ws.ssl.*` has
/// them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudSslConfig {
    /// Accept any server certificate. Default false.
    pub trust_all: bool,
    /// Check the certificate's host name (Gravitee's name for it). Default true.
    pub hostname_verifier: Option<bool>,
    /// The same as `hostnameVerifier` (the connector's name for it); `hostnameVerifier` wins.
    pub verify_host: Option<bool>,
    /// Client certificate (PKCS12 or JKS).
    pub keystore: StoreConfig,
    /// Trusted certificates (PEM, PKCS12 or JKS); default: the platform's roots.
    pub truststore: StoreConfig,
}

/// `system.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SystemConfig {
    /// `system.proxy.*`.
    pub proxy: ProxyConfig,
}

/// `secrets.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecretsConfig {
    /// `secrets.kubernetes.*`: `secret://kubernetes/<secret>:<key>[?namespace=<ns>]`.
    pub kubernetes: SecretProviderConfig,
    /// `secrets.env.*`: `secret://env/<VARIABLE>` (this agent's provider, for Docker users).
    pub env: SecretSourceConfig,
    /// `secrets.file.*`: `secret://file/<path>` (this agent's provider, for Docker secrets).
    pub file: SecretSourceConfig,
}

/// `secrets.<provider>.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecretProviderConfig {
    /// Whether `secret://<provider>/…` values are resolved. Default true.
    pub enabled: bool,
    /// Default namespace (Kubernetes only): used by references without `?namespace=`;
    /// unset means the pod's own namespace.
    pub namespace: Option<String>,
}

impl Default for SecretProviderConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            namespace: None,
        }
    }
}

/// `secrets.env.*` and `secrets.file.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecretSourceConfig {
    /// Whether `secret://<provider>/…` values are resolved. Default true.
    pub enabled: bool,
}

impl Default for SecretSourceConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `log.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogConfig {
    /// A `RUST_LOG`-style filter (`info`, `federation_connector=debug`); `RUST_LOG` wins.
    pub level: Option<String>,
    /// `text` (default) or `json`.
    pub format: Option<String>,
}
