//! # federation-connector-config
//!
//! The connector's configuration, `integration.connector.*` of `gravitee.yml`, as plain typed
//! structs with Gravitee's defaults: [`ConnectorConfig`] and its parts ([`WsConfig`],
//! [`HeaderConfig`], [`SslConfig`], [`StoreConfig`], [`ProxyConfig`], [`BackoffConfig`],
//! [`CommandsConfig`], [`IngestConfig`]).
//!
//! This crate is deliberately light (serde and `federation-core` without its `settings`
//! feature): `federation-connector` re-exports it, so a program embedding the connector builds
//! its configuration in code without a YAML parser, figment or a Kubernetes client.
//! `federation-config` loads the same structs from `gravitee.yml` and `gravitee_*` variables
//! and re-exports them under `federation_config::*`.
//!
//! ```
//! use federation_connector_config::{ConnectorConfig, HeaderConfig};
//!
//! let mut config = ConnectorConfig::for_controller("https://apim.example.com/integration-controller", "t0ken");
//! config.ws.headers.push(HeaderConfig::new("X-Tenant", "acme"));
//! config.ws.backoff.max_delay_ms = 30_000;
//! assert_eq!(config.ws.headers[0].name, "Authorization");
//! assert_eq!(config.ws.headers[0].value.expose(), "bearer t0ken");
//! ```
//!
//! Keys are camelCase exactly as in `gravitee.yml`; lists accept the index-keyed maps the
//! loader produces (see [`federation_core::settings::list`]). Secrets are [`Secret`]s, so
//! `Debug` never prints them.

use federation_core::Secret;
use federation_core::settings::list;
use serde::Deserialize;

/// `integration.connector.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectorConfig {
    /// `integration.connector.ws.*`: the exchange connector's keys.
    pub ws: WsConfig,
    /// `integration.connector.commands.*`: how commands are run (this agent's keys).
    pub commands: CommandsConfig,
    /// `integration.connector.ingest.*`: how INGEST batches are cut (this agent's keys).
    pub ingest: IngestConfig,
    /// `integration.connector.drift.*`: catalogue drift reporting (this agent's keys).
    pub drift: DriftConfig,
}

impl ConnectorConfig {
    /// Defaults plus one controller endpoint and its bearer token: what a program embedding the
    /// connector usually needs (`https://apim.example.com/integration-controller`).
    pub fn for_controller(endpoint: impl Into<String>, token: &str) -> Self {
        let mut config = Self::default();
        config.ws.endpoints = vec![endpoint.into()];
        config.ws.headers = vec![HeaderConfig::bearer(token)];
        config
    }
}

/// `integration.connector.ws.*`, as the reference connector reads them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WsConfig {
    /// Controller URLs (`https://apim/integration-controller`); tried round-robin. Blank
    /// entries are skipped.
    #[serde(deserialize_with = "list")]
    pub endpoints: Vec<String>,
    /// Headers sent on the upgrade (typically `Authorization: bearer <token>`).
    #[serde(deserialize_with = "list")]
    pub headers: Vec<HeaderConfig>,
    /// TLS.
    pub ssl: SslConfig,
    /// Largest frame sent; longer messages are fragmented. Default 65 536.
    pub max_web_socket_frame_size: usize,
    /// Largest message accepted. Default 13 107 200.
    pub max_web_socket_message_size: usize,
    /// Reconnect even after a close with code 1000. Default false.
    pub auto_reconnect: bool,
    /// TCP keep-alive. Default true.
    pub keep_alive: bool,
    /// HTTP CONNECT proxy.
    pub proxy: ProxyConfig,
    /// Reconnect delays (this agent's keys).
    pub backoff: BackoffConfig,
}

impl WsConfig {
    /// The controller URLs to use: each trimmed, blank entries skipped (as the reference
    /// connector does).
    pub fn endpoints_cleaned(&self) -> Vec<String> {
        self.endpoints
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            headers: Vec::new(),
            ssl: SslConfig::default(),
            max_web_socket_frame_size: 65_536,
            max_web_socket_message_size: 13_107_200,
            auto_reconnect: false,
            keep_alive: true,
            proxy: ProxyConfig::default(),
            backoff: BackoffConfig::default(),
        }
    }
}

/// `integration.connector.ws.headers[i]`.
#[derive(Debug, Clone, Deserialize)]
pub struct HeaderConfig {
    /// Header name.
    pub name: String,
    /// Header value (redacted in `Debug`: it usually holds the bearer token).
    pub value: Secret,
}

impl HeaderConfig {
    /// A header.
    pub fn new(name: impl Into<String>, value: impl Into<Secret>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }

    /// `Authorization: bearer <token>`, as APIM expects it.
    pub fn bearer(token: &str) -> Self {
        Self::new("Authorization", format!("bearer {token}"))
    }
}

/// `integration.connector.ws.ssl.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SslConfig {
    /// Accept any server certificate. Default false.
    pub trust_all: bool,
    /// Check the certificate's host name. Default true.
    pub verify_host: bool,
    /// Client certificate (PKCS12 or JKS).
    pub keystore: StoreConfig,
    /// Trusted certificates (PEM, PKCS12 or JKS); default: the platform's roots.
    pub truststore: StoreConfig,
}

impl Default for SslConfig {
    fn default() -> Self {
        Self {
            trust_all: false,
            verify_host: true,
            keystore: StoreConfig::default(),
            truststore: StoreConfig::default(),
        }
    }
}

/// A keystore or truststore.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StoreConfig {
    /// `PEM`, `PKCS12`, `JKS` or `NONE` (case-insensitive); unset means none.
    #[serde(rename = "type")]
    pub store_type: Option<String>,
    /// File path.
    pub path: Option<String>,
    /// The store itself, base64 (instead of `path`).
    pub content: Option<Secret>,
    /// Store password.
    pub password: Option<Secret>,
    /// Alias of the entry to use.
    pub alias: Option<String>,
}

/// `integration.connector.ws.proxy.*` (and `system.proxy.*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProxyConfig {
    /// Use the proxy. Default false.
    pub enabled: bool,
    /// `HTTP` (CONNECT); `SOCKS4`/`SOCKS5` are refused with a clear error.
    #[serde(rename = "type")]
    pub proxy_type: String,
    /// Proxy host.
    pub host: Option<String>,
    /// Proxy port. Default 3128.
    pub port: u16,
    /// Proxy user.
    pub username: Option<String>,
    /// Proxy password.
    pub password: Option<Secret>,
    /// Read `system.proxy.*` instead.
    pub use_system_proxy: bool,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            proxy_type: "HTTP".to_owned(),
            host: None,
            port: 3128,
            username: None,
            password: None,
            use_system_proxy: false,
        }
    }
}

/// `integration.connector.ws.backoff.*`: delay before connection attempt n is
/// `initialDelayMs × multiplier^(n-1)`, capped at `maxDelayMs`, plus up to `jitter` × delay.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackoffConfig {
    /// Default 1 000 ms.
    pub initial_delay_ms: u64,
    /// Default 300 000 ms.
    pub max_delay_ms: u64,
    /// Default 1.5.
    pub multiplier: f64,
    /// Fraction of the delay added at random. Default 0.2.
    pub jitter: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial_delay_ms: 1_000,
            max_delay_ms: 300_000,
            multiplier: 1.5,
            jitter: 0.2,
        }
    }
}

/// `integration.connector.commands.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CommandsConfig {
    /// Commands handled at once per connection. Default 16.
    pub max_concurrent: usize,
    /// How long the agent waits for the reply to a command it sent. Default 60 000 ms.
    pub reply_timeout_ms: u64,
    /// How long a DISCOVER may run before the agent replies with what it has
    /// (`isPartialDiscovery: true`). Default 50 000 ms, inside the controller's 60 s.
    pub discover_timeout_ms: u64,
    /// How long in-flight commands may finish at shutdown. Default 5 000 ms.
    pub shutdown_grace_ms: u64,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 16,
            reply_timeout_ms: 60_000,
            discover_timeout_ms: 50_000,
            shutdown_grace_ms: 5_000,
        }
    }
}

/// `integration.connector.ingest.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IngestConfig {
    /// APIs per INGEST batch. Default 20.
    pub batch_size: usize,
    /// Pause between the START_INGEST reply and the first INGEST, in ms. Default 3000.
    ///
    /// APIM creates the ingest job only after it has read the reply, and answers an INGEST for a
    /// job it does not know yet with SUCCEEDED while ingesting nothing. On an APIM cluster the
    /// command may come from another node than the one holding the socket, and the job row may
    /// take a moment to be written: a few seconds are safe and cost nothing next to an ingest.
    pub start_delay_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            batch_size: 20,
            start_delay_ms: 3_000,
        }
    }
}

/// `integration.connector.drift.*`: catalogue drift reporting (this agent's keys).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftConfig {
    /// `stateFile`: where the agent remembers what it ingested, so drift reports survive a
    /// restart. Absent by default: the memory then lasts as long as the process.
    pub state_file: Option<String>,
}
