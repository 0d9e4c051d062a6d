//! The session's read loop: what each message from the controller means ([`read`]), and what
//! the agent does with it: a command is dispatched (GOOD_BYE ends the session, PRIMARY and
//! HEALTH_CHECK are answered here, integration commands run in a task of their own through the
//! handler, at most `commands.maxConcurrent` at once), a reply completes the agent's own command
//! that waits for it, and pings go out every few seconds.

use std::sync::Arc;
use std::time::Instant;

use federation_core::Health;
use federation_protocol::payload::{Empty, HealthCheckReplyPayload};
use federation_protocol::{
    Command, CommandPayload, CommandType, DecodeError, Kind, Message, Reply, ReplyPayload, decode,
};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::context::ChannelContext;
use crate::dedup::{Begin, keeps_reply, wait_reply};
use crate::handler;
use crate::link::{Outgoing, SessionHandle};
use crate::metrics;
use crate::session::writer::close;
use crate::transport::WsStream;

/// What one read from the socket means.
pub(super) enum Incoming {
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

/// Why the read loop stopped. What it means for the session (drain, reconnect or not) is
/// decided in the lifecycle (`mod.rs`).
pub(super) enum Stop {
    /// Shutdown was requested: drain.
    Shutdown,
    /// The controller said GOOD_BYE; the close frame is sent.
    GoodBye { reconnect: bool },
    /// The connection closed, with the controller's close code when it sent one.
    Closed { code: Option<u16>, reason: String },
    /// A protocol violation; the close frame is sent.
    Violation(&'static str),
}

/// The active session's read loop: handles the commands that arrived before the HELLO reply
/// (`early`), then every command, reply and ping until the connection ends, GOOD_BYE, or
/// `shutdown`.
pub(super) async fn serve(
    stream: &mut SplitStream<WsStream>,
    handle: &SessionHandle,
    ctx: &Arc<ChannelContext>,
    early: Vec<Command>,
    shutdown: &CancellationToken,
) -> Stop {
    for command in early {
        if let Some(stop) = dispatch(command, handle, ctx, false).await {
            return stop;
        }
    }
    let period = ctx.limits.ping_interval;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Stop::Shutdown,
            message = stream.next() => match read(message, ctx) {
                Incoming::Command(command) => {
                    if let Some(stop) = dispatch(command, handle, ctx, false).await {
                        return stop;
                    }
                }
                Incoming::Reply(reply) => {
                    let id = reply.command_id.clone();
                    if !handle.pending.complete(reply) {
                        tracing::debug!(command_id = %id, "Reply to a command nobody waits for any more.");
                    }
                }
                Incoming::InvalidCommand(reply) => send_reply(ctx, handle, reply).await,
                Incoming::Closed { code, reason } => return Stop::Closed { code, reason },
                Incoming::Violation(code, reason) => {
                    close(handle, code, reason).await;
                    return Stop::Violation(reason);
                }
                Incoming::Ignore => {}
            },
            _ = ping.tick() => {
                let _ = handle.out.try_send(Outgoing::Ping);
            }
        }
    }
}

/// What one message from the socket (or its end) means.
pub(super) fn read(
    message: Option<Result<WsMessage, tungstenite::Error>>,
    ctx: &ChannelContext,
) -> Incoming {
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

/// Handles one command. Returns `Some` when the session must end (GOOD_BYE). While `draining`,
/// integration commands are refused with an ERROR (the agent is shutting down).
pub(super) async fn dispatch(
    command: Command,
    handle: &SessionHandle,
    ctx: &Arc<ChannelContext>,
    draining: bool,
) -> Option<Stop> {
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
            span.in_scope(|| {
                tracing::info!(
                    reconnect = payload.reconnect,
                    "The controller said GOOD_BYE."
                );
            });
            let (code, reason) = if payload.reconnect {
                (
                    CloseCode::Again,
                    "GoodBye Command with reconnection requested.",
                )
            } else {
                (CloseCode::Normal, "GoodBye Command without reconnection.")
            };
            close(handle, code, reason).instrument(span).await;
            Some(Stop::GoodBye {
                reconnect: payload.reconnect,
            })
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

/// Writes a reply (counted in the replies metric); a closed connection is logged at debug.
pub(super) async fn send_reply(ctx: &ChannelContext, handle: &SessionHandle, reply: Reply) {
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
