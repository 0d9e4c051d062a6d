//! # federation-connector
//!
//! The agent's side of the Gravitee exchange protocol: the only code that touches the
//! controller's socket. Embed it in any tokio program to serve [`Provider`]s to a Gravitee
//! integration controller (or to the controller simulator).
//!
//! What it does, per configured integration (one WebSocket and one HELLO each):
//!
//! - **Connects** to `<endpoint path>/exchange/controller` with `X-Gravitee-Exchange-Protocol:
//!   v1` and the configured headers, over rustls (platform roots, or a PEM/PKCS12 truststore,
//!   `trustAll`, `verifyHost`, a PKCS12 client certificate) and optionally through an HTTP
//!   CONNECT proxy. Endpoints are tried round-robin.
//! - **Says HELLO** (`targetId` = integration id, `provider` = provider type). An ERROR reply
//!   is fatal ([`ConnectorError::HelloRejected`]); a missing reply is retried.
//! - **Serves** HEALTH_CHECK (the provider's health), PRIMARY, GOOD_BYE (close 1013 and
//!   reconnect, or 1000 and stop), DISCOVER (a preview cut at its deadline with
//!   `isPartialDiscovery`), START_INGEST (reply with `total`, then stream INGEST batches, each
//!   awaited, `done: true` last), SUBSCRIBE, UNSUBSCRIBE, and APIM 4.4's LIST and FETCH; UNKNOWN
//!   for unknown types, NO_REPLY for known ones it does not serve.
//! - **Never blocks the read loop**: commands run concurrently (bounded), replies to its own
//!   commands are matched by `commandId`, a repeated command id is answered from the first
//!   result, and an INGEST interrupted by a reconnect is sent again on the next connection.
//! - **Reconnects** on any close except 1000 (always with `autoReconnect`) and on connection
//!   failures, after `1 s × 1.5ⁿ` (capped at 300 s) plus jitter; the delay resets after HELLO.
//! - **Fragments** outgoing messages into frames of `maxWebSocketFrameSize` and rejects
//!   incoming messages above `maxWebSocketMessageSize` with a logged error.
//! - **Shuts down gracefully**: no new commands, in-flight ones get a grace period, close 1000.
//!
//! Catalogue drift (what changed at the vendor since ingest) is checked after each DISCOVER and
//! each ingest and published on a [`DriftBoard`] ([`drift`]).
//!
//! Status for health endpoints comes from [`StatusBoard`]; metrics go through the `metrics`
//! facade (names in [`metrics`]); logs through `tracing`, with the integration, provider,
//! command type and command id on each command's span. Header values never reach a log.
//!
//! [`Provider`]: federation_core::Provider

mod backoff;
mod channel;
mod connector;
mod context;
mod dedup;
pub mod drift;
pub mod endpoint;
mod error;
mod handler;
mod ingest;
mod link;
pub mod metrics;
mod session;
pub mod status;
mod tls;
mod transport;

pub use connector::{Connector, Integration};
pub use drift::{DriftBoard, IntegrationDrift};
pub use endpoint::{EXCHANGE_CONTROLLER_PATH, Endpoint};
pub use error::ConnectorError;
pub use status::{ChannelState, IntegrationStatus, StatusBoard};
pub use tls::crypto_provider;
pub use transport::{PROTOCOL_HEADER, PROTOCOL_VERSION};
