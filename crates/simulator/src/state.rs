//! The simulator's shared state: live channels, ingest jobs, the ingested catalog, the
//! subscriptions it created and the applications' API keys.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use federation_core::{Api, Page, Secret};
use federation_protocol::Reply;
use indexmap::IndexMap;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use crate::config::SimulatorConfig;
use crate::event::{Event, Recorded};
use crate::subscription::AcceptedSubscription;

/// What a channel's writer sends.
pub(crate) enum Out {
    /// A WebSocket message as is.
    Ws(WsMessage),
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// A GOOD_BYE to `integration_id`, encoded as the agent receives it: it closes with 1013 and
/// reconnects (`reconnect`), or with 1000 and stops.
pub(crate) fn goodbye_message(integration_id: &str, reconnect: bool) -> WsMessage {
    let command = federation_protocol::Command::new(
        uuid::Uuid::new_v4().to_string(),
        federation_protocol::CommandPayload::GoodBye(
            federation_protocol::payload::GoodByePayload {
                target_id: Some(integration_id.to_owned()),
                reconnect,
            },
        ),
    );
    WsMessage::Binary(command.encode().into())
}

/// What runs when a reply arrives, in the connection's read loop: before the next message from
/// the agent is read, so its effect is in place for everything the agent sends after the reply.
pub(crate) type OnReply = Box<dyn FnOnce(&Reply) + Send>;

/// One command waiting for its reply.
struct Waiter {
    reply: oneshot::Sender<Reply>,
    on_reply: Option<OnReply>,
}

/// Who waits for the reply to which command id. A command sent twice with the same id has two
/// waiters; replies are handed out in order.
#[derive(Default)]
pub(crate) struct Waiters(Mutex<HashMap<String, VecDeque<Waiter>>>);

impl Waiters {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, VecDeque<Waiter>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(&self, command_id: &str) -> oneshot::Receiver<Reply> {
        self.add_with(command_id, None)
    }

    /// Like [`Waiters::add`], and runs `on_reply` with the reply as soon as it is read.
    pub(crate) fn add_with(
        &self,
        command_id: &str,
        on_reply: Option<OnReply>,
    ) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        self.lock()
            .entry(command_id.to_owned())
            .or_default()
            .push_back(Waiter {
                reply: tx,
                on_reply,
            });
        rx
    }

    pub(crate) fn deliver(&self, reply: Reply) {
        let waiter = {
            let mut waiters = self.lock();
            let Some(queue) = waiters.get_mut(&reply.command_id) else {
                return;
            };
            let waiter = queue.pop_front();
            if queue.is_empty() {
                waiters.remove(&reply.command_id);
            }
            waiter
        };
        if let Some(waiter) = waiter {
            if let Some(on_reply) = waiter.on_reply {
                on_reply(&reply);
            }
            let _ = waiter.reply.send(reply);
        }
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

/// A connection whose HELLO was accepted.
pub(crate) struct Channel {
    pub(crate) connection: u64,
    pub(crate) integration_id: String,
    pub(crate) out: mpsc::Sender<Out>,
    pub(crate) pending: std::sync::Arc<Waiters>,
    pub(crate) closed: CancellationToken,
}

/// An ingest job's status as APIM reads it (`docs/reference/integration-commands.md` §1.3,
/// §1.4, §9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IngestJobStatus {
    /// Created by a START_INGEST reply with `total > 0`; waiting for the `done: true` batch.
    #[default]
    Pending,
    /// The `done: true` batch arrived.
    Success,
    /// APIM 4.7+: read while PENDING after its deadline. Later batches are still ingested; a
    /// `done: true` batch still completes it (SUCCESS: inferred, see `docs/simulator.md`).
    Timeout,
}

impl IngestJobStatus {
    /// `PENDING`, `SUCCESS` or `TIMEOUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Success => "SUCCESS",
            Self::Timeout => "TIMEOUT",
        }
    }
}

impl std::fmt::Display for IngestJobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ingest job created by a START_INGEST reply with `total > 0`.
#[derive(Debug, Clone, Default)]
pub struct IngestJob {
    /// The job id (`ingestJobId`).
    pub job_id: String,
    /// The integration.
    pub integration_id: String,
    /// The announced total.
    pub total: u64,
    /// INGEST batches received.
    pub batches: usize,
    /// APIs received, in order.
    pub apis: Vec<Api>,
    /// Whether the `done: true` batch arrived.
    pub done: bool,
    /// The status, as read when this copy was taken.
    pub status: IngestJobStatus,
    /// When the job was created (`None` for the stand-in [`Simulator::ingest`](crate::Simulator::ingest)
    /// returns when the total was 0 and APIM created no job).
    pub created_at: Option<Instant>,
    /// APIM 4.7+: when the job times out if no batch comes (creation + the deadline, pushed
    /// out by each `done: false` batch); `None` before 4.7, where a job has no deadline.
    pub deadline: Option<Instant>,
}

impl IngestJob {
    /// Whether the job is PENDING.
    pub fn is_pending(&self) -> bool {
        self.status == IngestJobStatus::Pending
    }

    /// Reads the job as APIM does: a PENDING job past its deadline becomes TIMEOUT, for good
    /// (APIM writes the status back, `AsyncJobRepository.handleDeadLine`).
    pub(crate) fn read(&mut self, now: Instant) -> &mut Self {
        if self.status == IngestJobStatus::Pending && self.deadline.is_some_and(|d| now > d) {
            self.status = IngestJobStatus::Timeout;
        }
        self
    }
}

/// An ingested API: its latest definition and the pages APIM keeps for it, by page name
/// (`filename`).
#[derive(Debug, Clone)]
pub(crate) struct CatalogApi {
    pub(crate) api: Api,
    pub(crate) pages: IndexMap<String, Page>,
}

impl CatalogApi {
    /// The API as the portal has it: its definition with the pages kept.
    pub(crate) fn view(&self) -> Api {
        let mut api = self.api.clone();
        api.pages = Some(self.pages.values().cloned().collect());
        api
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) channels: Vec<Channel>,
    pub(crate) jobs: HashMap<String, IngestJob>,
    /// Per integration, the ingested APIs by `uniqueId`.
    pub(crate) catalog: HashMap<String, IndexMap<String, CatalogApi>>,
    pub(crate) subscriptions: IndexMap<String, AcceptedSubscription>,
    /// Per application, the first API key it was given: the key shared mode reuses.
    pub(crate) application_keys: HashMap<String, Secret>,
    pub(crate) forced_statuses: VecDeque<u16>,
    /// The `errorDetails` of the next INGEST batches to answer with ERROR, in order
    /// ([`Simulator::fail_next_ingest_batches`](crate::Simulator::fail_next_ingest_batches)).
    pub(crate) forced_ingest_errors: VecDeque<String>,
    pub(crate) events: Vec<Recorded>,
}

pub(crate) struct Inner {
    pub(crate) config: SimulatorConfig,
    pub(crate) state: Mutex<State>,
    pub(crate) changes: watch::Sender<u64>,
    pub(crate) ingest_paused: watch::Sender<bool>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) next_connection: std::sync::atomic::AtomicU64,
}

impl Inner {
    pub(crate) fn new(config: SimulatorConfig) -> Self {
        Self {
            config,
            state: Mutex::default(),
            changes: watch::channel(0).0,
            ingest_paused: watch::channel(false).0,
            shutdown: CancellationToken::new(),
            next_connection: std::sync::atomic::AtomicU64::new(1),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `change` on the state and wakes everybody waiting for a change.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let result = change(&mut self.state());
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        result
    }

    pub(crate) fn record(&self, event: Event) {
        tracing::debug!(?event, "Simulator event.");
        self.update(|s| {
            s.events.push(Recorded {
                at: Instant::now(),
                event,
            })
        });
    }
}
