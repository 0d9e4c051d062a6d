//! [`SimulatorConfig`]: what the simulated controller accepts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// An integration the controller knows, as created in the APIM console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationDef {
    /// The integration id (HELLO `targetId`).
    pub id: String,
    /// The provider type it was created with (HELLO `provider` must equal it).
    pub provider: String,
}

impl IntegrationDef {
    /// An integration.
    pub fn new(id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            provider: provider.into(),
        }
    }
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Where the WebSocket server listens (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The path prefix an ingress would strip (APIM: `/integration-controller`); the server
    /// answers `<prefix>/exchange/controller` and also `/exchange/controller`.
    pub path_prefix: String,
    /// The bearer token agents must send (`Authorization: bearer <token>`); `None` accepts any.
    pub token: Option<String>,
    /// A Gravitee Cloud token also accepted as `Authorization: Bearer <cloud token>`, as Cloud
    /// Gate does in front of the controller (serve with `path_prefix` `/apim/integration`).
    pub cloud_token: Option<String>,
    /// The integrations HELLO is checked against.
    pub integrations: Vec<IntegrationDef>,
    /// HEALTH_CHECK period (APIM: 30 s).
    pub health_check_interval: Duration,
    /// WebSocket ping period after HELLO (5 s).
    pub ping_interval: Duration,
    /// How long a command the simulator sends waits for its reply (60 s).
    pub reply_timeout: Duration,
    /// Serve `wss://` with this TLS configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long after reading a START_INGEST reply the ingest job comes to exist (zero: at
    /// once). APIM creates the job only after the reply, and on a cluster or a slow database
    /// it can take a while; an INGEST for a job that does not exist yet is answered SUCCEEDED
    /// and ingests nothing, as APIM does.
    pub ingest_job_delay: Duration,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            path_prefix: "/integration-controller".to_owned(),
            token: None,
            cloud_token: None,
            integrations: Vec::new(),
            health_check_interval: Duration::from_secs(30),
            ping_interval: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(60),
            tls: None,
            ingest_job_delay: Duration::ZERO,
        }
    }
}

impl SimulatorConfig {
    /// Adds an integration.
    pub fn integration(mut self, id: impl Into<String>, provider: impl Into<String>) -> Self {
        self.integrations.push(IntegrationDef::new(id, provider));
        self
    }

    /// Creates each ingest job `delay` after the START_INGEST reply (see
    /// [`SimulatorConfig::ingest_job_delay`]).
    pub fn ingest_job_delay(mut self, delay: Duration) -> Self {
        self.ingest_job_delay = delay;
        self
    }

    /// Requires this bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Also accepts this Gravitee Cloud token (`Authorization: Bearer <cloud token>`).
    pub fn cloud_token(mut self, token: impl Into<String>) -> Self {
        self.cloud_token = Some(token.into());
        self
    }
}
