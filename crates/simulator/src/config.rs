//! [`SimulatorConfig`]: what the simulated controller accepts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::apim::{ApiKeyMode, ApimVersion};

/// APIM's default ingest job deadline, and how far each `done: false` batch pushes it (APIM
/// 4.7+, `docs/reference/integration-commands.md` §1.4).
pub const APIM_INGEST_JOB_DEADLINE: Duration = Duration::from_secs(5 * 60);
/// The controller's default `maxWebSocketMessageSize`, in bytes
/// (`docs/reference/exchange-protocol.md` §4.6).
pub const APIM_MAX_MESSAGE_SIZE: usize = 13_107_200;
/// The controller's default `maxWebSocketFrameSize`, in bytes
/// (`docs/reference/exchange-protocol.md` §4.6).
pub const APIM_MAX_FRAME_SIZE: usize = 65_536;

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
    /// The APIM release the simulator behaves like (default [`ApimVersion::LATEST`]): from 4.7
    /// an ingest job has a deadline, from 4.6 re-ingesting an API clears the pages it no longer
    /// has, from 4.9 SUBSCRIBE carries provider metadata.
    pub apim_version: ApimVersion,
    /// APIM 4.7+: an ingest job's deadline after its creation, and how far each `done: false`
    /// batch pushes it out (APIM: 5 minutes). A PENDING job past it reads TIMEOUT.
    pub ingest_job_deadline: Duration,
    /// The largest message the controller answers, in bytes on the wire (after the agent's
    /// `;` → `\u003b` escaping). A bigger one is dropped unanswered and recorded as
    /// [`Event::OversizeMessage`](crate::Event::OversizeMessage); the connection stays open.
    /// APIM: 13,107,200.
    pub max_message_size: usize,
    /// The largest WebSocket frame the controller accepts, in bytes; a bigger frame closes the
    /// connection. APIM: 65,536.
    pub max_frame_size: usize,
    /// How API keys are kept for applications without an entry in
    /// [`SimulatorConfig::application_api_key_modes`] (default: exclusive).
    pub api_key_mode: ApiKeyMode,
    /// The API-key mode of given applications (`graviteeApplicationId` → mode): in APIM the
    /// mode belongs to the application.
    pub application_api_key_modes: HashMap<String, ApiKeyMode>,
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
            apim_version: ApimVersion::LATEST,
            ingest_job_deadline: APIM_INGEST_JOB_DEADLINE,
            max_message_size: APIM_MAX_MESSAGE_SIZE,
            max_frame_size: APIM_MAX_FRAME_SIZE,
            api_key_mode: ApiKeyMode::Exclusive,
            application_api_key_modes: HashMap::new(),
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

    /// Behaves like this APIM release (see [`SimulatorConfig::apim_version`]).
    pub fn apim_version(mut self, version: ApimVersion) -> Self {
        self.apim_version = version;
        self
    }

    /// Sets the ingest job deadline and the delay each batch adds (APIM 4.7+: 5 minutes); a
    /// test uses a short one.
    pub fn ingest_job_deadline(mut self, deadline: Duration) -> Self {
        self.ingest_job_deadline = deadline;
        self
    }

    /// Sets the largest message answered, in bytes (APIM: 13,107,200).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets the largest frame accepted, in bytes (APIM: 65,536).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets the API-key mode of every application without one of its own.
    pub fn api_key_mode(mut self, mode: ApiKeyMode) -> Self {
        self.api_key_mode = mode;
        self
    }

    /// Sets one application's API-key mode (`graviteeApplicationId`).
    pub fn application_api_key_mode(
        mut self,
        application_id: impl Into<String>,
        mode: ApiKeyMode,
    ) -> Self {
        self.application_api_key_modes
            .insert(application_id.into(), mode);
        self
    }

    /// The API-key mode of an application.
    pub fn api_key_mode_of(&self, application_id: &str) -> ApiKeyMode {
        self.application_api_key_modes
            .get(application_id)
            .copied()
            .unwrap_or(self.api_key_mode)
    }
}
