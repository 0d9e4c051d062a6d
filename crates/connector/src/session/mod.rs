//! One WebSocket session with the controller, from HELLO to its end.
//!
//! - `mod.rs` (here): the lifecycle. HELLO first (the controller sends nothing before answering
//!   it), then the read loop, then what its end means ([`SessionEnd`]: retry, reconnect or stop),
//!   and the graceful drain on shutdown (no new integration commands, the ones in flight get
//!   `commands.shutdownGraceMs`, close 1000).
//! - `dispatch.rs`: the read loop. Commands, replies to the agent's own commands, pings,
//!   GOOD_BYE. It never waits for a handler: every integration command runs in its own task (at
//!   most `commands.maxConcurrent` at once per integration) and replies through the writer, so
//!   a controller can send UNSUBSCRIBE while the agent waits for an INGEST reply and both
//!   complete.
//! - `writer.rs`: the writer task. Messages in order, fragmented into frames, close frames.

mod dispatch;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use federation_protocol::payload::HelloPayload;
use federation_protocol::{Command, CommandPayload, CommandType};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use crate::context::ChannelContext;
use crate::link::{Outgoing, Pending, SessionHandle};
use crate::metrics;
use crate::status::ChannelState;
use crate::transport::WsStream;

use dispatch::{Incoming, Stop, dispatch, read, send_reply};
use writer::{close, close_frame, write_loop};

/// How a session ended.
pub(crate) enum SessionEnd {
    /// The controller answered HELLO with ERROR: retrying cannot help.
    HelloRejected(String),
    /// HELLO got no usable answer (timeout, closed socket, UNKNOWN/NO_REPLY): retry.
    HelloFailed(String),
    /// An active session ended.
    Ended {
        /// Why.
        reason: String,
        /// Whether to connect again: false after a close with 1000 (the controller's, or ours
        /// after GOOD_BYE without reconnection); `autoReconnect` overrides it.
        reconnect: bool,
        /// Whether the controller asked for it (GOOD_BYE) rather than the connection failing.
        planned: bool,
    },
    /// Shutdown was requested and in-flight work is done (or its grace period is over).
    Shutdown,
}

/// Runs a session on an open WebSocket.
pub(crate) async fn run(
    ws: WsStream,
    ctx: Arc<ChannelContext>,
    shutdown: CancellationToken,
) -> SessionEnd {
    let (sink, mut stream) = ws.split();
    let (out, out_rx) = mpsc::channel(256);
    let writer = tokio::spawn(write_loop(sink, out_rx, ctx.limits.max_frame_size));
    let handle = SessionHandle {
        out,
        pending: Arc::new(Pending::default()),
        closed: CancellationToken::new(),
    };
    let end = drive(&mut stream, &handle, &ctx, &shutdown).await;

    ctx.link.detach();
    handle.closed.cancel();
    handle.pending.clear();
    metrics::channel_up(&ctx.integration_id, false);
    // Stop the writer: a close frame if none was sent yet, then give it a moment to flush.
    let _ = handle
        .out
        .try_send(Outgoing::Close(close_frame(CloseCode::Away, "")));
    drop(handle);
    let abort = writer.abort_handle();
    if tokio::time::timeout(Duration::from_secs(2), writer)
        .await
        .is_err()
    {
        abort.abort();
    }
    end
}

/// HELLO, then the read loop; what its end means for the session.
async fn drive(
    stream: &mut SplitStream<WsStream>,
    handle: &SessionHandle,
    ctx: &Arc<ChannelContext>,
    shutdown: &CancellationToken,
) -> SessionEnd {
    // HELLO first; the controller sends nothing before answering it.
    let hello = Command::new(
        uuid::Uuid::new_v4().to_string(),
        CommandPayload::Hello(HelloPayload::new(&ctx.integration_id, &ctx.provider_type)),
    );
    if handle.send(hello.encode()).await.is_err() {
        return SessionEnd::HelloFailed("the connection closed before HELLO was sent".to_owned());
    }
    let timeout = tokio::time::sleep(ctx.limits.reply_timeout);
    tokio::pin!(timeout);
    let mut early = Vec::new();
    let reply = loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                close(handle, CloseCode::Normal, "Agent shutting down").await;
                return SessionEnd::Shutdown;
            }
            () = &mut timeout => {
                return SessionEnd::HelloFailed(format!("no HELLO reply within {:?}", ctx.limits.reply_timeout));
            }
            message = stream.next() => match read(message, ctx) {
                Incoming::Reply(reply) if reply.command_id == hello.id => break reply,
                Incoming::Command(command) => early.push(command),
                Incoming::Closed { reason, .. } => {
                    return SessionEnd::HelloFailed(format!("the connection closed before the HELLO reply: {reason}"));
                }
                Incoming::Violation(code, reason) => {
                    close(handle, code, reason).await;
                    return SessionEnd::HelloFailed(reason.to_owned());
                }
                Incoming::Reply(_) | Incoming::InvalidCommand(_) | Incoming::Ignore => {}
            }
        }
    };
    let details = reply
        .error_details
        .clone()
        .unwrap_or_else(|| "no details".to_owned());
    metrics::counter(
        metrics::COMMANDS_SENT,
        &ctx.integration_id,
        &[
            ("type", "HELLO".to_owned()),
            (
                "outcome",
                if reply.is_success() {
                    "success"
                } else {
                    "error"
                }
                .to_owned(),
            ),
        ],
    );
    if !reply.is_success() {
        close(handle, CloseCode::Normal, "HELLO rejected").await;
        metrics::counter(
            metrics::CONNECTIONS,
            &ctx.integration_id,
            &[("outcome", "rejected".into())],
        );
        return match reply.reply_type {
            CommandType::Unknown | CommandType::NoReply => {
                SessionEnd::HelloFailed(format!("the controller does not handle HELLO: {details}"))
            }
            _ => SessionEnd::HelloRejected(details),
        };
    }

    // Active.
    metrics::counter(
        metrics::CONNECTIONS,
        &ctx.integration_id,
        &[("outcome", "connected".into())],
    );
    metrics::channel_up(&ctx.integration_id, true);
    ctx.status.update(ctx.status_index, |s| {
        s.state = ChannelState::Connected;
        s.primary = false;
        s.last_hello_at = Some(std::time::SystemTime::now());
        s.failed_attempts = 0;
        s.last_error = None;
    });
    ctx.link.attach(handle.clone());
    tracing::info!("Connected to the controller: HELLO accepted.");

    match dispatch::serve(stream, handle, ctx, early, shutdown).await {
        Stop::Shutdown => drain(stream, handle, ctx).await,
        Stop::GoodBye { reconnect: true } => SessionEnd::Ended {
            reason: "GOOD_BYE with reconnection requested".to_owned(),
            reconnect: true,
            planned: true,
        },
        Stop::GoodBye { reconnect: false } => SessionEnd::Ended {
            reason: "GOOD_BYE without reconnection".to_owned(),
            reconnect: false,
            planned: true,
        },
        Stop::Closed { code, reason } => {
            let reconnect = code != Some(u16::from(CloseCode::Normal));
            SessionEnd::Ended {
                reason,
                reconnect,
                planned: false,
            }
        }
        Stop::Violation(reason) => SessionEnd::Ended {
            reason: reason.to_owned(),
            reconnect: true,
            planned: false,
        },
    }
}

/// Shutdown: no new integration commands; wait (bounded) for the ones in flight, keep reading
/// replies meanwhile, then close with 1000.
async fn drain(
    stream: &mut SplitStream<WsStream>,
    handle: &SessionHandle,
    ctx: &Arc<ChannelContext>,
) -> SessionEnd {
    tracing::info!(
        in_flight = ctx.tasks.len(),
        "Shutting down: finishing in-flight commands."
    );
    ctx.tasks.close();
    let grace = tokio::time::sleep(ctx.limits.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            () = ctx.tasks.wait() => break,
            () = &mut grace => {
                tracing::warn!(
                    abandoned = ctx.tasks.len(),
                    "Shutdown grace period over; abandoning commands still running."
                );
                break;
            }
            message = stream.next() => match read(message, ctx) {
                Incoming::Reply(reply) => {
                    handle.pending.complete(reply);
                }
                Incoming::Command(command) => {
                    if dispatch(command, handle, ctx, true).await.is_some() {
                        return SessionEnd::Shutdown;
                    }
                }
                Incoming::InvalidCommand(reply) => send_reply(ctx, handle, reply).await,
                Incoming::Closed { .. } => return SessionEnd::Shutdown,
                Incoming::Violation(..) | Incoming::Ignore => {}
            }
        }
    }
    close(handle, CloseCode::Normal, "Agent shutting down").await;
    // Wait briefly for the controller's close frame.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(message) = stream.next().await {
            if matches!(message, Ok(WsMessage::Close(_)) | Err(_)) {
                break;
            }
        }
    })
    .await;
    SessionEnd::Shutdown
}
