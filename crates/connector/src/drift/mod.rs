//! Catalogue drift, live: the connector remembers what it ingested per integration (from the
//! INGEST batches the controller accepted and the APIM 4.4 FETCH replies it sent), and after
//! each DISCOVER and each ingest compares it with what the vendor shows now
//! ([`federation_core::drift::observe`], then [`federation_core::drift::compare`]).
//!
//! - `board.rs`: [`DriftBoard`], every integration's memory and last report
//!   ([`IntegrationDrift`]), read by the management service's health detail and by tests.
//! - `state_file.rs`: [`StateFile`], the memory optionally persisted
//!   (`integration.connector.drift.stateFile`, absent by default so a container stays
//!   stateless), written atomically after each change.
//! - `hooks.rs`: what the command handlers call (remember an INGEST batch or a FETCH reply, run
//!   a check after a DISCOVER, a FETCH or an ingest). A check ends in one summary log line
//!   (warn when something drifted, each item at debug, under the `federation_connector::drift`
//!   target prefix) and the `federation_drift_items{integration,kind}` gauge
//!   ([`metrics::DRIFT_ITEMS`](crate::metrics::DRIFT_ITEMS)).

mod board;
pub(crate) mod hooks;
mod state_file;

pub use board::{DriftBoard, IntegrationDrift};
pub use state_file::{StateError, StateFile};
