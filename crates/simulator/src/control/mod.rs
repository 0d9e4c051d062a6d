//! [`Simulator`]: start the controller, then drive it like APIM would (discover, ingest,
//! subscribe, unsubscribe, good-bye) and inspect what the agent answered.
//!
//! This file holds the simulator's handle: start, connections, sending commands, events.
//! The integration commands APIM sends (DISCOVER, START_INGEST, SUBSCRIBE, UNSUBSCRIBE) and
//! what the simulator remembers of them are in [`integration`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use federation_protocol::{Command, CommandPayload, Reply, ReplyPayload};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;

mod integration;

pub use integration::SubscribeRequest;

use crate::config::SimulatorConfig;
use crate::event::{Event, Recorded};
use crate::state::{Inner, OnReply, Out, goodbye_message};

/// Why a simulator operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No agent is connected for this integration.
    #[error("no agent connected for integration {0}")]
    NotConnected(String),
    /// The agent did not reply in time.
    #[error("no reply to {command_type} within {timeout:?}")]
    Timeout {
        /// The command type.
        command_type: String,
        /// How long the simulator waited.
        timeout: Duration,
    },
    /// The connection closed while waiting.
    #[error("the agent's connection closed before it replied")]
    Closed,
    /// The agent replied with ERROR.
    #[error("the agent replied ERROR to {command_type}: {details}")]
    Agent {
        /// The command type.
        command_type: String,
        /// `errorDetails`.
        details: String,
    },
    /// The reply did not have the expected payload.
    #[error("unexpected reply to {0}")]
    UnexpectedReply(String),
    /// Waiting for something timed out.
    #[error("timed out waiting for {0}")]
    WaitTimeout(String),
    /// An unknown subscription id.
    #[error("unknown subscription {0}")]
    UnknownSubscription(String),
    /// DISCOVER or an ingest was asked while an ingest job of the integration is PENDING:
    /// APIM's console disables Discover (and so the ingest that follows it) until the job ends
    /// (`docs/reference/integration-commands.md` §9).
    #[error("an ingest job is pending: job {job_id} of integration {integration_id} {detail}")]
    IngestPending {
        /// The integration.
        integration_id: String,
        /// The PENDING job.
        job_id: String,
        /// How far it got and when (if ever) it times out.
        detail: String,
    },
    /// The server could not start.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// A running simulated controller. Dropping it does not stop it; call [`Simulator::shutdown`].
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Simulator {
    /// Binds the WebSocket server and starts serving.
    pub async fn start(config: SimulatorConfig) -> Result<Self, SimError> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::new(config));
        tokio::spawn(crate::server::accept_loop(inner.clone(), listener));
        Ok(Self { inner, addr })
    }

    /// The address the WebSocket server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to configure as the agent's endpoint
    /// (`http://127.0.0.1:<port>/integration-controller`).
    pub fn endpoint(&self) -> String {
        let scheme = if self.inner.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}{}", self.addr, self.inner.config.path_prefix)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimulatorConfig {
        &self.inner.config
    }

    /// Answers the next upgrade requests with these HTTP statuses (e.g. 401, 503).
    pub fn fail_next_upgrades(&self, statuses: impl IntoIterator<Item = u16>) {
        self.inner.update(|s| s.forced_statuses.extend(statuses));
    }

    /// Answers the next `count` INGEST batches with ERROR and `details`, without ingesting them,
    /// as APIM does when its ingest use case fails (a database error, an API it cannot save):
    /// the exchange turns the exception into an ERROR reply. Each is recorded as
    /// [`Event::IngestRejected`].
    pub fn fail_next_ingest_batches(&self, count: usize, details: &str) {
        self.inner.update(|s| {
            s.forced_ingest_errors
                .extend(std::iter::repeat_n(details.to_owned(), count));
        });
    }

    /// Holds (true) or releases (false) the replies to INGEST commands.
    pub fn pause_ingest_replies(&self, paused: bool) {
        self.inner.ingest_paused.send_replace(paused);
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Recorded> {
        self.inner.state().events.clone()
    }

    /// Waits until an event matching `predicate` has been recorded (including earlier ones).
    pub async fn wait_for_event(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Event) -> bool,
    ) -> Result<Event, SimError> {
        self.wait_until(timeout, "an event", || {
            self.inner
                .state()
                .events
                .iter()
                .find(|r| predicate(&r.event))
                .map(|r| r.event.clone())
        })
        .await
    }

    /// How many events match `predicate`.
    pub fn count_events(&self, predicate: impl Fn(&Event) -> bool) -> usize {
        self.inner
            .state()
            .events
            .iter()
            .filter(|r| predicate(&r.event))
            .count()
    }

    async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        probe: impl Fn() -> Option<T>,
    ) -> Result<T, SimError> {
        let mut changes = self.inner.changes.subscribe();
        let wait = async {
            loop {
                if let Some(found) = probe() {
                    return found;
                }
                // Some states change with time alone (a job past its deadline reads TIMEOUT):
                // look again now and then as well as on every change.
                tokio::select! {
                    changed = changes.changed() => {
                        if changed.is_err() {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| SimError::WaitTimeout(what.to_owned()))
    }

    /// Whether an agent is connected (HELLO accepted) for the integration.
    pub fn connected(&self, integration_id: &str) -> bool {
        self.inner
            .state()
            .channels
            .iter()
            .any(|c| c.integration_id == integration_id)
    }

    /// How many accepted connections the integration has right now.
    pub fn channel_count(&self, integration_id: &str) -> usize {
        self.inner
            .state()
            .channels
            .iter()
            .filter(|c| c.integration_id == integration_id)
            .count()
    }

    /// Waits until an agent is connected for the integration.
    pub async fn wait_connected(
        &self,
        integration_id: &str,
        timeout: Duration,
    ) -> Result<(), SimError> {
        self.wait_until(
            timeout,
            &format!("integration {integration_id} to connect"),
            || self.connected(integration_id).then_some(()),
        )
        .await
    }

    /// Sends a command to the integration's agent and waits for the reply.
    pub async fn send(
        &self,
        integration_id: &str,
        payload: CommandPayload,
    ) -> Result<Reply, SimError> {
        let command = Command::new(uuid::Uuid::new_v4().to_string(), payload);
        self.send_command(integration_id, &command).await
    }

    /// Sends a command (with its id) and waits for the reply.
    pub async fn send_command(
        &self,
        integration_id: &str,
        command: &Command,
    ) -> Result<Reply, SimError> {
        self.send_command_to(integration_id, 0, command).await
    }

    /// Sends a command to one of the integration's connections, the `nth` accepted (0-based,
    /// oldest first), and waits for its reply: for replicas of an agent on one integration,
    /// where APIM may send a command to any of them.
    pub async fn send_command_to(
        &self,
        integration_id: &str,
        nth: usize,
        command: &Command,
    ) -> Result<Reply, SimError> {
        self.send_command_with(integration_id, nth, command, None)
            .await
    }

    /// [`Simulator::send_command_to`], running `on_reply` in the connection's read loop when
    /// the reply is read (before anything the agent sends after it).
    async fn send_command_with(
        &self,
        integration_id: &str,
        nth: usize,
        command: &Command,
        on_reply: Option<OnReply>,
    ) -> Result<Reply, SimError> {
        let (out, pending, closed) = {
            let state = self.inner.state();
            let channel = state
                .channels
                .iter()
                .filter(|c| c.integration_id == integration_id)
                .nth(nth)
                .ok_or_else(|| {
                    SimError::NotConnected(match nth {
                        0 => integration_id.to_owned(),
                        _ => format!("{integration_id} (connection #{nth})"),
                    })
                })?;
            (
                channel.out.clone(),
                channel.pending.clone(),
                channel.closed.clone(),
            )
        };
        let rx = pending.add_with(&command.id, on_reply);
        out.send(Out::Ws(WsMessage::Binary(command.encode().into())))
            .await
            .map_err(|_| SimError::Closed)?;
        let timeout = self.inner.config.reply_timeout;
        tokio::select! {
            reply = rx => reply.map_err(|_| SimError::Closed),
            () = closed.cancelled() => Err(SimError::Closed),
            () = tokio::time::sleep(timeout) => Err(SimError::Timeout {
                command_type: command.command_type().to_string(),
                timeout,
            }),
        }
    }

    /// Sends a raw WebSocket message on the integration's connection (for protocol tests).
    pub async fn send_raw(&self, integration_id: &str, message: WsMessage) -> Result<(), SimError> {
        let out = self.channel_out(integration_id)?;
        out.send(Out::Ws(message))
            .await
            .map_err(|_| SimError::Closed)
    }

    fn channel_out(
        &self,
        integration_id: &str,
    ) -> Result<tokio::sync::mpsc::Sender<Out>, SimError> {
        self.inner
            .state()
            .channels
            .iter()
            .find(|c| c.integration_id == integration_id)
            .map(|c| c.out.clone())
            .ok_or_else(|| SimError::NotConnected(integration_id.to_owned()))
    }

    fn success(reply: Reply) -> Result<Option<ReplyPayload>, SimError> {
        if reply.is_success() {
            Ok(reply.payload)
        } else {
            Err(SimError::Agent {
                command_type: reply.reply_type.to_string(),
                details: reply.error_details.unwrap_or_default(),
            })
        }
    }

    /// GOOD_BYE (no reply expected): the agent closes with 1013 and reconnects, or 1000 and stops.
    pub async fn goodbye(&self, integration_id: &str, reconnect: bool) -> Result<(), SimError> {
        self.send_raw(integration_id, goodbye_message(integration_id, reconnect))
            .await
    }

    /// Drops the integration's TCP connection without a close frame.
    pub async fn drop_connection(&self, integration_id: &str) -> Result<(), SimError> {
        let out = self.channel_out(integration_id)?;
        out.send(Out::Drop).await.map_err(|_| SimError::Closed)
    }

    /// Stops the server: connected agents get GOOD_BYE (reconnect) and are closed.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }
}
