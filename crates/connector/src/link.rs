//! The live session as seen by tasks that outlive a message: replies to commands, and commands
//! the agent sends (INGEST) that must survive a reconnect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use federation_protocol::{Command, Reply};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_util::sync::CancellationToken;

/// What the writer task sends.
pub(crate) enum Outgoing {
    /// One message (fragmented by the writer if larger than the frame size). `written` fires
    /// once it is flushed to the socket.
    Message {
        bytes: Vec<u8>,
        written: Option<oneshot::Sender<()>>,
    },
    /// A WebSocket ping.
    Ping,
    /// A close frame; the writer stops after it.
    Close(CloseFrame),
}

/// Replies awaited for commands this side sent, by command id.
#[derive(Default)]
pub(crate) struct Pending(Mutex<HashMap<String, oneshot::Sender<Reply>>>);

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Reply>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn register(&self, command_id: &str) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(command_id.to_owned(), tx);
        rx
    }

    /// Delivers a reply; false if nobody waits for it.
    pub(crate) fn complete(&self, reply: Reply) -> bool {
        match self.lock().remove(&reply.command_id) {
            Some(tx) => tx.send(reply).is_ok(),
            None => false,
        }
    }

    pub(crate) fn forget(&self, command_id: &str) {
        self.lock().remove(command_id);
    }

    /// Drops every waiter (the session ended): they retry on the next session.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

/// One live session's outbox.
#[derive(Clone)]
pub(crate) struct SessionHandle {
    pub(crate) out: mpsc::Sender<Outgoing>,
    pub(crate) pending: Arc<Pending>,
    pub(crate) closed: CancellationToken,
}

/// The session was closed before the message could be written.
#[derive(Debug)]
pub(crate) struct SessionClosed;

impl SessionHandle {
    /// Queues a message.
    pub(crate) async fn send(&self, bytes: Vec<u8>) -> Result<(), SessionClosed> {
        self.out
            .send(Outgoing::Message {
                bytes,
                written: None,
            })
            .await
            .map_err(|_| SessionClosed)
    }

    /// Queues a message and waits until it is written to the socket.
    pub(crate) async fn send_flushed(&self, bytes: Vec<u8>) -> Result<(), SessionClosed> {
        let (tx, rx) = oneshot::channel();
        self.out
            .send(Outgoing::Message {
                bytes,
                written: Some(tx),
            })
            .await
            .map_err(|_| SessionClosed)?;
        rx.await.map_err(|_| SessionClosed)
    }
}

/// Why [`Link::request`] failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("no connection to the controller for {0:?}")]
    NoSession(Duration),
}

/// The integration's current session, if any; survives reconnects.
#[derive(Clone)]
pub(crate) struct Link(Arc<watch::Sender<Option<SessionHandle>>>);

impl Default for Link {
    fn default() -> Self {
        Self(Arc::new(watch::channel(None).0))
    }
}

impl Link {
    pub(crate) fn attach(&self, session: SessionHandle) {
        self.0.send_replace(Some(session));
    }

    pub(crate) fn detach(&self) {
        self.0.send_replace(None);
    }

    /// Sends `command` on the current session and waits `reply_timeout` for its reply. If the
    /// session ends first, the command is sent again (same id) on the next session, waiting at
    /// most `session_wait` for one to come up.
    pub(crate) async fn request(
        &self,
        command: &Command,
        reply_timeout: Duration,
        session_wait: Duration,
    ) -> Result<Reply, RequestError> {
        let bytes = command.encode();
        let mut sessions = self.0.subscribe();
        loop {
            let session = tokio::time::timeout(
                session_wait,
                sessions.wait_for(|s| s.as_ref().is_some_and(|s| !s.closed.is_cancelled())),
            )
            .await
            .map_err(|_| RequestError::NoSession(session_wait))?
            .map_err(|_| RequestError::NoSession(session_wait))?
            .clone();
            let Some(session) = session else { continue };
            let reply = session.pending.register(&command.id);
            if session.send(bytes.clone()).await.is_err() {
                session.pending.forget(&command.id);
                session.closed.cancelled().await;
                continue;
            }
            match tokio::time::timeout(reply_timeout, reply).await {
                Ok(Ok(reply)) => return Ok(reply),
                // The session ended: try again on the next one.
                Ok(Err(_)) => {
                    tracing::info!(command_id = %command.id, "Connection lost while awaiting a reply; sending again after reconnect.");
                    session.closed.cancelled().await;
                    continue;
                }
                Err(_) => {
                    session.pending.forget(&command.id);
                    return Err(RequestError::Timeout(reply_timeout));
                }
            }
        }
    }
}
