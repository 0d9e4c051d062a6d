//! # federation-simulator
//!
//! A small Gravitee integration controller that follows `docs/reference/exchange-protocol.md`
//! and `docs/reference/integration-commands.md` (the exchange protocol and APIM's integration
//! commands) on the server side. Use it to try an agent without APIM, and in tests that drive
//! the real agent over real WebSockets on loopback.
//!
//! It checks what APIM checks: the upgrade path (`<prefix>/exchange/controller`, 404
//! otherwise), `X-Gravitee-Exchange-Protocol: v1`, the bearer token (401), HELLO first (close
//! 1002 otherwise) and HELLO against its integrations with APIM's error texts. It then elects
//! the first channel of an integration primary, pings every 5 s, sends HEALTH_CHECK every 30 s
//! (GOOD_BYE to an unhealthy agent), and accepts INGEST for the jobs it started.
//!
//! It also behaves like APIM where the agent must cope with APIM's choices (each set in
//! [`SimulatorConfig`], documented in `docs/simulator.md`): ingest jobs PENDING until
//! `done: true` and (APIM 4.7+) TIMEOUT past a deadline, Discover refused while a job is
//! pending; messages over `maxWebSocketMessageSize` dropped unanswered; re-ingested APIs with
//! their pages replaced; the shared API-key mode that shows an application's first key.
//!
//! Drive it from Rust ([`Simulator`]: discover, ingest, subscribe, unsubscribe, good-bye,
//! forced upgrade failures, held INGEST replies, an event log) or over HTTP ([`api`], used by
//! this package's `federation-controller-simulator` binary, feature `cli`). Every route of the
//! HTTP control API, with its bodies and answers: `docs/simulator.md`.

pub mod api;
mod apim;
mod config;
mod control;
mod event;
mod health;
mod ingest;
mod server;
mod state;
mod subscription;

pub use apim::{ApiKeyMode, ApimVersion, ParseApiKeyModeError, ParseVersionError};
pub use config::{
    APIM_INGEST_JOB_DEADLINE, APIM_MAX_FRAME_SIZE, APIM_MAX_MESSAGE_SIZE, IntegrationDef,
    SimulatorConfig,
};
pub use control::{SimError, Simulator, SubscribeRequest};
pub use event::{Event, Recorded};
pub use state::{IngestJob, IngestJobStatus};
pub use subscription::AcceptedSubscription;
