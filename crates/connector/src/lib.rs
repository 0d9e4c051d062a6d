//! # federation-connector
//!
//! The agent's side of the Gravitee exchange protocol: the only code that touches the
//! controller's socket. Embed it in any tokio program to serve [`Provider`]s to a Gravitee
//! integration controller (or to the controller simulator).
//!
//! ## Embedding it
//!
//! A provider, the controller's endpoint and a token: serve one integration, watch its status,
//! stop on a signal.
//!
//! ```
//! use std::sync::Arc;
//!
//! use federation_connector::{Connector, Integration};
//! use federation_testkit::MemoryProvider; // put your own `Arc<dyn Provider>` in its place
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let simulator = federation_simulator::Simulator::start(
//! #     federation_simulator::SimulatorConfig::default()
//! #         .token("t0ken")
//! #         .integration("my-integration", "memory"),
//! # )
//! # .await?;
//! # let endpoint = simulator.endpoint();
//! // Logs go through `tracing`: any subscriber works, for example this plain one.
//! tracing_subscriber::fmt::init();
//!
//! let provider = Arc::new(MemoryProvider::with_sample_apis(3)); // its type: "memory"
//! // The endpoint: "https://apim.example.com/integration-controller".
//! let connector = Connector::for_controller(endpoint, "t0ken")?
//!     .with_integration(Integration::of("my-integration", provider));
//! let status = connector.status(); // live, for a health endpoint
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(connector.run(async {
//!     let _ = stopped.await;
//! }));
//! # let wait = std::time::Duration::from_secs(20);
//! # assert!(status.wait_for(wait, |all| all.iter().all(|s| s.connected())).await);
//! for integration in status.snapshot() {
//!     println!("{integration}"); // my-integration (memory): connected, via http://…
//! }
//! let _ = stop.send(()); // on Ctrl-C, say: commands in flight finish, the socket closes with 1000
//! running.await??;
//! # Ok(())
//! # }
//! ```
//!
//! This crate (plus tokio) is all an embedding program depends on: the configuration types are
//! re-exported here ([`ConnectorConfig`] and its parts, from the light crate
//! `federation-connector-config`), and the build pulls no YAML parser, figment or Kubernetes
//! client. [`Connector::for_controller`] takes an endpoint and a bearer token;
//! [`Connector::from_config`] takes a [`ConnectorConfig`] built in code (TLS stores, a proxy,
//! more headers, limits); [`Integration::of`] takes the provider type from the provider.
//!
//! `examples/embed-minimal` is the same as a program (under 20 lines), and
//! `examples/embed-connector` a tour with a work loop of its own.
//!
//! ## What it does, per integration
//!
//! One WebSocket and one HELLO per integration:
//!
//! - **Connects** to `<endpoint path>/exchange/controller` with `X-Gravitee-Exchange-Protocol:
//!   v1` and the configured headers, over rustls (platform roots, or a PEM/PKCS12 truststore,
//!   `trustAll`, `verifyHost`, a PKCS12 client certificate) and optionally through an HTTP
//!   CONNECT proxy. Endpoints are tried round-robin.
//! - **Says HELLO** (`targetId` = integration id, `provider` = provider type). An ERROR reply
//!   stops that integration for good (its status shows `failed` with the reason; the others
//!   keep serving; [`ConnectorError::HelloRejected`] only when every integration was
//!   rejected); a missing reply is retried.
//! - **Serves** HEALTH_CHECK (always `healthy: true`, like the reference connector; the
//!   provider's health goes to the [`StatusBoard`], the logs and a metric), PRIMARY, GOOD_BYE
//!   (close 1013 and reconnect, or 1000 and stop), DISCOVER (a preview cut at its deadline with
//!   `isPartialDiscovery`), START_INGEST (reply with `total`, wait `ingest.startDelayMs` for
//!   APIM to create the job, then stream INGEST batches, each awaited, `done: true` last; an API
//!   too large for one message is left out and logged, never sent without its pages),
//!   SUBSCRIBE, UNSUBSCRIBE, and APIM 4.4's LIST and FETCH (filled up to the message size);
//!   UNKNOWN for unknown types, NO_REPLY for known ones it does not serve.
//! - **Never blocks the read loop**: commands run concurrently (bounded), replies to its own
//!   commands are matched by `commandId`, a repeated command id is answered from the first
//!   result, and an INGEST interrupted by a reconnect is sent again on the next connection.
//! - **Reconnects** on any close except 1000 (always with `autoReconnect`) and on connection
//!   failures, after `1 s × 1.5ⁿ` (capped at 300 s) plus jitter; the delay resets after HELLO.
//! - **Fragments** outgoing messages into frames of `maxWebSocketFrameSize` and rejects
//!   incoming messages above `maxWebSocketMessageSize` with a logged error.
//! - **Shuts down gracefully**: no new commands, in-flight ones get a grace period, close 1000.
//!
//! ## Status, metrics, logs and drift
//!
//! - **Status** for health endpoints: [`Connector::status`] gives a [`StatusBoard`], live, one
//!   [`IntegrationStatus`] per integration (its [`ChannelState`], the provider's last health).
//! - **Metrics** go through the `metrics` facade, recorded only when the program installs a
//!   recorder; their names are the constants of [`metrics`].
//! - **Logs** go through `tracing`, with the integration and provider on the channel's span, and
//!   on each command's span (a root span, so a line names them once) with the command type and
//!   id. Header values never reach a log.
//! - **Catalogue drift** (what changed at the vendor since ingest) is checked after each
//!   DISCOVER and each ingest and published on a [`DriftBoard`] ([`Connector::drift`]), one
//!   [`IntegrationDrift`] per integration; the memory it compares with can be kept in a
//!   [`StateFile`] (`integration.connector.drift.stateFile`). Its logs use the `federation_connector::drift` target
//!   prefix.
//!
//! ## Module map
//!
//! For contributors; every module but `metrics` is private, and the types above are exported
//! here, at the root.
//!
//! | Module | What it holds |
//! |---|---|
//! | `connector`, `embed` | [`Connector`] and [`Integration`]; the embedder's shortcuts |
//! | `channel`, `backoff` | one integration's connect → HELLO → serve → reconnect loop |
//! | `transport`, `tls`, `endpoint` | TCP, CONNECT proxy, rustls (JKS/PKCS12/PEM stores), the upgrade request; endpoint URLs, round-robin |
//! | `session` | one WebSocket session: lifecycle and drain (`mod.rs`), the read loop (`dispatch.rs`), the writer and its frames (`writer.rs`) |
//! | `handler`, `ingest`, `outcome` | integration commands and the INGEST push (every accepted job closed); what a command produces (reply, follow-up) |
//! | `wire`, `left_out` | message sizes as sent (`;` escaped); the APIs left out of an ingest or a FETCH reply, logged and counted |
//! | `dedup`, `link`, `context` | a command id runs once; replies to the agent's own commands; one integration's shared state |
//! | `drift` | [`DriftBoard`] (`board.rs`), [`StateFile`] (`state_file.rs`), the hooks after DISCOVER/FETCH/ingest (`hooks.rs`) |
//! | `status`, `display`, `metrics`, `error` | [`StatusBoard`] and its `Display`; metric names; [`ConnectorError`] |
//!
//! [`Provider`]: federation_core::Provider

mod backoff;
mod channel;
mod connector;
mod context;
mod dedup;
mod display;
mod drift;
mod embed;
mod endpoint;
mod error;
mod handler;
mod ingest;
mod left_out;
mod link;
pub mod metrics;
mod outcome;
mod session;
mod status;
mod tls;
mod transport;
mod wire;

pub use connector::{Connector, Integration};
pub use drift::{DriftBoard, IntegrationDrift, StateError, StateFile};
pub use error::ConnectorError;
pub use federation_connector_config::{
    BackoffConfig, CommandsConfig, ConnectorConfig, DriftConfig, HeaderConfig, IngestConfig,
    ProxyConfig, SslConfig, StoreConfig, WsConfig,
};
pub use status::{ChannelState, IntegrationStatus, StatusBoard};
