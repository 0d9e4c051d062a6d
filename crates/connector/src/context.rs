//! What every task of one integration's channel shares.

use std::sync::Arc;
use std::time::Duration;

use federation_core::Provider;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::dedup::Dedup;
use crate::drift::DriftBoard;
use crate::link::Link;
use crate::status::StatusBoard;

/// Timings and sizes, from `integration.connector.*`.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) reply_timeout: Duration,
    pub(crate) discover_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) health_timeout: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) max_frame_size: usize,
    pub(crate) max_message_size: usize,
    pub(crate) batch_size: usize,
    /// Pause between the START_INGEST reply and the first INGEST, so the controller has
    /// created the job (it does so only after reading the reply).
    pub(crate) ingest_start_delay: Duration,
    /// How long an INGEST waits for a connection to come back.
    pub(crate) session_wait: Duration,
}

/// One integration's shared state.
pub(crate) struct ChannelContext {
    pub(crate) integration_id: String,
    /// The provider's own [`Provider::provider_type`], read once when the channel starts
    /// (HELLO's `provider`, log fields).
    pub(crate) provider_type: String,
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) limits: Limits,
    pub(crate) status: StatusBoard,
    pub(crate) status_index: usize,
    pub(crate) dedup: Dedup,
    pub(crate) link: Link,
    pub(crate) permits: Arc<Semaphore>,
    /// Command handlers and ingest pushes in flight (awaited at shutdown).
    pub(crate) tasks: TaskTracker,
    /// What was ingested and the last drift report (shared by every integration).
    pub(crate) drift: DriftBoard,
}
