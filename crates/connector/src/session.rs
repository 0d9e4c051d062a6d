//! One WebSocket session with the controller: HELLO, then the read loop that dispatches
//! commands, completes replies and sends pings, until the connection ends.
//!
//! The read loop never waits for a handler: every command runs in its own task (at most
//! `commands.maxConcurrent` at once per integration) and replies through the writer task, so a
//! controller can send UNSUBSCRIBE while the agent waits for an INGEST reply and both complete.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use federation_core::Health;
use federation_protocol::payload::{Empty, HealthCheckReplyPayload, HelloPayload};
use federation_protocol::{
    Command, CommandPayload, CommandType, DecodeError, Kind, Message, Reply, ReplyPayload, decode,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::context::ChannelContext;
use crate::dedup::{Begin, keeps_reply, wait_reply};
use crate::handler;
use crate::link::{Outgoing, Pending, SessionHandle};
use crate::metrics;
use crate::status::ChannelState;
use crate::transport::WsStream;

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

/// What one read from the socket means.
enum Incoming {
    Command(Command),
    Reply(Reply),
    /// A command whose payload could not be read: answer it with an ERROR.
    InvalidCommand(Reply),
    /// The connection is over.
    Closed {
        code: Option<u16>,
        reason: String,
    },
    /// A protocol violation: close with this code.
    Violation(CloseCode, &'static str),
    Ignore,
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

    for command in early {
        if let Some(end) = dispatch(command, handle, ctx, false).await {
            return end;
        }
    }
    let period = ctx.limits.ping_interval;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return drain(stream, handle, ctx).await,
            message = stream.next() => match read(message, ctx) {
                Incoming::Command(command) => {
                    if let Some(end) = dispatch(command, handle, ctx, false).await {
                        return end;
                    }
                }
                Incoming::Reply(reply) => {
                    let id = reply.command_id.clone();
                    if !handle.pending.complete(reply) {
                        tracing::debug!(command_id = %id, "Reply to a command nobody waits for any more.");
                    }
                }
                Incoming::InvalidCommand(reply) => send_reply(ctx, handle, reply).await,
                Incoming::Closed { code, reason } => {
                    let reconnect = code != Some(u16::from(CloseCode::Normal));
                    return SessionEnd::Ended { reason, reconnect, planned: false };
                }
                Incoming::Violation(code, reason) => {
                    close(handle, code, reason).await;
                    return SessionEnd::Ended { reason: reason.to_owned(), reconnect: true, planned: false };
                }
                Incoming::Ignore => {}
            },
            _ = ping.tick() => {
                let _ = handle.out.try_send(Outgoing::Ping);
            }
        }
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

fn read(message: Option<Result<WsMessage, tungstenite::Error>>, ctx: &ChannelContext) -> Incoming {
    match message {
        None => Incoming::Closed {
            code: None,
            reason: "the connection was lost".to_owned(),
        },
        Some(Err(tungstenite::Error::Capacity(error))) => {
            tracing::error!(
                %error,
                limit = ctx.limits.max_message_size,
                "Rejected an incoming message larger than integration.connector.ws.maxWebSocketMessageSize."
            );
            Incoming::Violation(CloseCode::Size, "Message too big")
        }
        Some(Err(error)) => Incoming::Closed {
            code: None,
            reason: error.to_string(),
        },
        Some(Ok(WsMessage::Binary(bytes))) => {
            if bytes.is_empty() {
                return Incoming::Ignore;
            }
            match decode(&bytes) {
                Ok(Message::Command(command)) => Incoming::Command(command),
                Ok(Message::Reply(reply)) => Incoming::Reply(reply),
                Err(DecodeError::InvalidPayload {
                    kind: Kind::Command,
                    id,
                    command_type,
                    source,
                }) => {
                    tracing::warn!(command_id = %id, %command_type, error = %source, "Received a command with an invalid payload.");
                    Incoming::InvalidCommand(Reply::error(
                        id,
                        command_type.clone(),
                        format!("invalid {command_type} payload: {source}"),
                    ))
                }
                Err(DecodeError::UnknownKind(kind)) => {
                    tracing::warn!(%kind, "Received an exchange message of unknown type.");
                    Incoming::Violation(CloseCode::Protocol, "Exchange message unknown")
                }
                Err(DecodeError::MissingBody(Kind::Command)) => {
                    Incoming::Violation(CloseCode::Protocol, "Unrecognized incoming exchange")
                }
                Err(error) => {
                    tracing::warn!(%error, "Ignored an unreadable message.");
                    Incoming::Ignore
                }
            }
        }
        Some(Ok(WsMessage::Text(_))) => {
            Incoming::Violation(CloseCode::Unsupported, "Unsupported text frame")
        }
        Some(Ok(WsMessage::Close(frame))) => Incoming::Closed {
            code: frame.as_ref().map(|f| u16::from(f.code)),
            reason: frame.map_or_else(
                || "the controller closed the connection".to_owned(),
                |f| {
                    format!(
                        "the controller closed the connection ({}: {})",
                        u16::from(f.code),
                        f.reason
                    )
                },
            ),
        },
        Some(Ok(_)) => Incoming::Ignore,
    }
}

/// Handles one command. Returns `Some` when the session must end (GOOD_BYE).
async fn dispatch(
    command: Command,
    handle: &SessionHandle,
    ctx: &Arc<ChannelContext>,
    draining: bool,
) -> Option<SessionEnd> {
    let command_type = command.command_type();
    metrics::counter(
        metrics::COMMANDS_RECEIVED,
        &ctx.integration_id,
        &[("type", command_type.as_str().to_owned())],
    );
    // A root span, not a child of the channel span: it names the integration and the provider
    // itself (the JSON format prints the current span only), so each line names them once.
    let span = tracing::info_span!(
        parent: None,
        "command",
        integration = %ctx.integration_id,
        provider = %ctx.provider_type,
        command_type = %command_type,
        command_id = %command.id,
    );
    let id = command.id.clone();
    match command.payload {
        CommandPayload::GoodBye(payload) => {
            let _entered = span.enter();
            tracing::info!(
                reconnect = payload.reconnect,
                "The controller said GOOD_BYE."
            );
            if payload.reconnect {
                close(
                    handle,
                    CloseCode::Again,
                    "GoodBye Command with reconnection requested.",
                )
                .await;
                Some(SessionEnd::Ended {
                    reason: "GOOD_BYE with reconnection requested".to_owned(),
                    reconnect: true,
                    planned: true,
                })
            } else {
                close(
                    handle,
                    CloseCode::Normal,
                    "GoodBye Command without reconnection.",
                )
                .await;
                Some(SessionEnd::Ended {
                    reason: "GOOD_BYE without reconnection".to_owned(),
                    reconnect: false,
                    planned: true,
                })
            }
        }
        CommandPayload::Primary(payload) => {
            ctx.status
                .update(ctx.status_index, |s| s.primary = payload.primary);
            span.in_scope(|| tracing::info!(primary = payload.primary, "Primary flag set."));
            let reply = Reply::succeeded(id, CommandType::Primary, ReplyPayload::Empty(Empty {}));
            send_reply(ctx, handle, reply).instrument(span).await;
            None
        }
        CommandPayload::HealthCheck(_) => {
            let (handle, ctx) = (handle.clone(), ctx.clone());
            tokio::spawn(
                async move {
                    let health = match tokio::time::timeout(
                        ctx.limits.health_timeout,
                        ctx.provider.health(),
                    )
                    .await
                    {
                        Ok(health) => health,
                        Err(_) => Health::unhealthy(format!(
                            "the provider's health check did not answer within {:?}",
                            ctx.limits.health_timeout
                        )),
                    };
                    record_provider_health(&ctx, health);
                    // Like the reference connector, always healthy on the wire: the controller
                    // unregisters a channel that answers false (GOOD_BYE, commands in flight
                    // fail), which a briefly unhealthy vendor does not deserve. The provider's
                    // health goes to /_node/health, the logs and a metric instead.
                    let reply = Reply::succeeded(
                        id,
                        CommandType::HealthCheck,
                        ReplyPayload::HealthCheck(HealthCheckReplyPayload {
                            healthy: true,
                            detail: None,
                        }),
                    );
                    send_reply(&ctx, &handle, reply).await;
                }
                .instrument(span),
            );
            None
        }
        CommandPayload::Discover(_)
        | CommandPayload::StartIngest(_)
        | CommandPayload::Subscribe(_)
        | CommandPayload::Unsubscribe(_)
        | CommandPayload::List(_)
        | CommandPayload::Fetch(_) => {
            if draining {
                let reply = Reply::error(
                    id,
                    command_type,
                    "The agent is shutting down; retry in a moment.",
                );
                send_reply(ctx, handle, reply).instrument(span).await;
            } else {
                run_integration_command(
                    command.id.clone(),
                    Command {
                        id,
                        payload: command.payload,
                    },
                    handle,
                    ctx,
                    span,
                );
            }
            None
        }
        CommandPayload::Hello(_) | CommandPayload::Ingest(_) => {
            let reply = Reply::no_reply(id, &command_type);
            send_reply(ctx, handle, reply).instrument(span).await;
            None
        }
        CommandPayload::Other { .. } => {
            span.in_scope(|| tracing::warn!("Unknown command type; answering UNKNOWN."));
            send_reply(ctx, handle, Reply::unknown(id))
                .instrument(span)
                .await;
            None
        }
    }
}

/// Keeps the provider's health where operators look for it: the status board (for
/// `/_node/health`), the logs (on every change) and the `federation_provider_healthy` gauge.
fn record_provider_health(ctx: &ChannelContext, health: Health) {
    let previous = ctx
        .status
        .get_index(ctx.status_index)
        .and_then(|s| s.provider_health);
    let changed = previous.as_ref().map(|h| h.healthy) != Some(health.healthy);
    let detail = health.detail.as_deref().unwrap_or("");
    if !health.healthy {
        // Every time: an operator tailing the logs sees it goes on.
        tracing::warn!(detail, "Provider unhealthy.");
    } else if changed && previous.is_some() {
        tracing::info!("Provider healthy again.");
    }
    metrics::provider_healthy(&ctx.integration_id, health.healthy);
    ctx.status
        .update(ctx.status_index, |s| s.provider_health = Some(health));
}

fn run_integration_command(
    id: String,
    command: Command,
    handle: &SessionHandle,
    ctx: &Arc<ChannelContext>,
    span: tracing::Span,
) {
    let handle = handle.clone();
    let ctx2 = ctx.clone();
    match ctx.dedup.begin(&id) {
        Begin::Repeat(first) => {
            ctx.tasks.spawn(
                async move {
                    tracing::info!(
                        "Repeated command id: answering with the first delivery's reply."
                    );
                    if let Some(reply) = wait_reply(first).await {
                        send_reply(&ctx2, &handle, reply).await;
                    }
                }
                .instrument(span),
            );
        }
        Begin::First(publish) => {
            ctx.tasks.spawn(
                async move {
                    let ctx = ctx2;
                    let _permit = ctx.permits.clone().acquire_owned().await;
                    let started = Instant::now();
                    let command_type = command.command_type();
                    let outcome = handler::handle(command, ctx.clone()).await;
                    let status = outcome.reply.status.as_str();
                    metrics::seconds(
                        metrics::COMMAND_DURATION,
                        &[("type", command_type.as_str().to_owned())],
                        started.elapsed(),
                    );
                    if started.elapsed() > ctx.limits.reply_timeout {
                        tracing::warn!(
                            elapsed = ?started.elapsed(),
                            "The reply took longer than the controller waits; it will be answered from cache if the command is sent again."
                        );
                    }
                    let _ = publish.send(Some(outcome.reply.clone()));
                    if !keeps_reply(&command_type) {
                        ctx.dedup.forget(&id);
                    }
                    metrics::counter(
                        metrics::REPLIES_SENT,
                        &ctx.integration_id,
                        &[("type", command_type.as_str().to_owned()), ("status", status.to_owned())],
                    );
                    let bytes = outcome.reply.encode();
                    match outcome.then {
                        Some(then) => {
                            if handle.send_flushed(bytes).await.is_ok() {
                                ctx.tasks.spawn(then.instrument(tracing::Span::current()));
                            } else {
                                tracing::warn!("The connection closed before the reply was written; nothing started.");
                            }
                        }
                        None => {
                            if handle.send(bytes).await.is_err() {
                                tracing::info!("The connection closed before the reply was written; a repeat of the command gets it.");
                            }
                        }
                    }
                }
                .instrument(span),
            );
        }
    }
}

async fn send_reply(ctx: &ChannelContext, handle: &SessionHandle, reply: Reply) {
    metrics::counter(
        metrics::REPLIES_SENT,
        &ctx.integration_id,
        &[
            ("type", reply.reply_type.as_str().to_owned()),
            ("status", reply.status.as_str().to_owned()),
        ],
    );
    if handle.send(reply.encode()).await.is_err() {
        tracing::debug!(command_id = %reply.command_id, "Connection closed; reply not sent.");
    }
}

fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }
}

async fn close(handle: &SessionHandle, code: CloseCode, reason: &str) {
    let frame = Outgoing::Close(close_frame(code, reason));
    let _ = tokio::time::timeout(Duration::from_secs(1), handle.out.send(frame)).await;
}

async fn write_loop(
    mut sink: SplitSink<WsStream, WsMessage>,
    mut rx: mpsc::Receiver<Outgoing>,
    max_frame_size: usize,
) {
    while let Some(outgoing) = rx.recv().await {
        let result = match outgoing {
            Outgoing::Message { bytes, written } => {
                let result = write_message(&mut sink, bytes, max_frame_size).await;
                if let (Ok(()), Some(written)) = (&result, written) {
                    let _ = written.send(());
                }
                result
            }
            Outgoing::Ping => sink.send(WsMessage::Ping(Bytes::new())).await,
            Outgoing::Close(frame) => {
                let _ = sink.send(WsMessage::Close(Some(frame))).await;
                break;
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "Write failed; the connection is closing.");
            break;
        }
    }
}

/// Writes one binary message, fragmented into frames of at most `max_frame_size` bytes.
async fn write_message(
    sink: &mut SplitSink<WsStream, WsMessage>,
    bytes: Vec<u8>,
    max_frame_size: usize,
) -> Result<(), tungstenite::Error> {
    let max = max_frame_size.max(1);
    if bytes.len() <= max {
        return sink.send(WsMessage::Binary(bytes.into())).await;
    }
    let data = Bytes::from(bytes);
    let count = data.len().div_ceil(max);
    for index in 0..count {
        let start = index * max;
        let chunk = data.slice(start..(start + max).min(data.len()));
        let opcode = if index == 0 {
            OpCode::Data(Data::Binary)
        } else {
            OpCode::Data(Data::Continue)
        };
        sink.feed(WsMessage::Frame(Frame::message(
            chunk,
            opcode,
            index + 1 == count,
        )))
        .await?;
    }
    sink.flush().await
}
