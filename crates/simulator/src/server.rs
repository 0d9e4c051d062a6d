//! The WebSocket server: upgrade checks, HELLO, and each agent connection's read loop, as
//! APIM's integration controller behaves (`docs/reference/exchange-protocol.md` §1–§4).

use std::sync::Arc;
use std::time::Duration;

use federation_protocol::payload::{Empty, HelloReplyPayload, PrimaryPayload};
use federation_protocol::{
    Command, CommandPayload, CommandType, Message, Reply, ReplyPayload, decode,
};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message as WsMessage, protocol::WebSocketConfig};
use tokio_util::sync::CancellationToken;

use crate::event::Event;
use crate::state::{Channel, Inner, Out, Waiters, goodbye_message};

const EXCHANGE_PATH: &str = "/exchange/controller";

pub(crate) async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    let acceptor = inner
        .config
        .tls
        .clone()
        .map(tokio_rustls::TlsAcceptor::from);
    loop {
        let accepted = tokio::select! {
            () = inner.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let inner = inner.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(tls) => serve(inner, tls).await,
                    Err(error) => tracing::debug!(%error, "TLS handshake with an agent failed."),
                },
                None => serve(inner, tcp).await,
            }
        });
    }
}

fn reject(status: StatusCode, text: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(text.to_owned()));
    *response.status_mut() = status;
    response
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(inner: Arc<Inner>, stream: S) {
    let check_inner = inner.clone();
    #[allow(clippy::result_large_err)] // the error type is tungstenite's
    let callback = move |request: &Request,
                         response: Response|
          -> Result<Response, ErrorResponse> {
        let path = request.uri().path().to_owned();
        let protocol = request
            .headers()
            .get("X-Gravitee-Exchange-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // APIM drops the first 6 characters ("bearer") and trims.
        let token = request
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.get(6..).unwrap_or("").trim().to_owned());
        let authorized = match &check_inner.config.token {
            None => true,
            Some(expected) => token.as_deref() == Some(expected.as_str()),
        } || (check_inner.config.cloud_token.is_some()
            && token.as_deref() == check_inner.config.cloud_token.as_deref());
        let prefix = check_inner.config.path_prefix.trim_end_matches('/');
        let path_ok = path == EXCHANGE_PATH || path == format!("{prefix}{EXCHANGE_PATH}");
        let forced = check_inner.state().forced_statuses.pop_front();
        let outcome = if let Some(status) = forced {
            Err(reject(
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                "forced failure",
            ))
        } else if check_inner.shutdown.is_cancelled() {
            Err(reject(StatusCode::GONE, "controller stopping"))
        } else if !path_ok {
            Err(reject(StatusCode::NOT_FOUND, "not found"))
        } else if !authorized {
            Err(reject(StatusCode::UNAUTHORIZED, "invalid token"))
        } else if protocol.as_deref() != Some("v1") {
            Err(reject(
                StatusCode::BAD_REQUEST,
                "expected X-Gravitee-Exchange-Protocol: v1 (a real controller would fall back to the legacy protocol)",
            ))
        } else {
            Ok(response)
        };
        let status = match &outcome {
            Ok(_) => 101,
            Err(e) => e.status().as_u16(),
        };
        check_inner.record(Event::Upgrade {
            path,
            protocol,
            authorized,
            status,
        });
        outcome
    };
    // A frame over `max_frame_size` closes the connection (believed of Vert.x, UNCONFIRMED in
    // `docs/reference/exchange-protocol.md` §4.6). A message over `max_message_size` is not
    // answered but the connection stays (`integration-commands.md` §9): tungstenite would close
    // it, so its own cap is set far above the limit and the read loop drops the message.
    let config = WebSocketConfig::default()
        .max_frame_size(Some(inner.config.max_frame_size))
        .max_message_size(Some(reassembly_cap(inner.config.max_message_size)));
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
    else {
        return;
    };
    let connection = inner
        .next_connection
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (mut sink, mut stream) = ws.split();
    let (out, mut out_rx) = mpsc::channel::<Out>(256);
    let closed = CancellationToken::new();
    let writer_closed = closed.clone();
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            match message {
                Out::Ws(message) => {
                    let close = matches!(message, WsMessage::Close(_));
                    if sink.send(message).await.is_err() || close {
                        break;
                    }
                }
                Out::Drop => {
                    // Ends the read loop too; dropping both halves drops the TCP connection
                    // without a close frame.
                    writer_closed.cancel();
                    break;
                }
            }
        }
    });

    let pending: Arc<Waiters> = Arc::default();
    let mut integration_id: Option<String> = None;
    let mut close_code = None;
    let mut tickers: Vec<tokio::task::JoinHandle<()>> = Vec::new();

    loop {
        let message = tokio::select! {
            () = inner.shutdown.cancelled() => {
                if let Some(id) = &integration_id {
                    let _ = out.send(Out::Ws(goodbye_message(id, true))).await;
                }
                break;
            }
            () = closed.cancelled() => break,
            message = stream.next() => message,
        };
        let bytes = match message {
            None | Some(Err(_)) => break,
            Some(Ok(WsMessage::Binary(bytes))) => bytes,
            Some(Ok(WsMessage::Text(_))) => {
                inner.record(Event::Violation {
                    connection,
                    detail: "text frame".into(),
                });
                let _ = out
                    .send(Out::Ws(close(
                        CloseCode::Unsupported,
                        "Unsupported text frame",
                    )))
                    .await;
                break;
            }
            Some(Ok(WsMessage::Close(frame))) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            Some(Ok(_)) => continue,
        };
        if bytes.is_empty() {
            continue;
        }
        if bytes.len() > inner.config.max_message_size {
            // Vert.x drops the message and reports it to the exception handler only: no
            // reply, no close.
            let envelope = federation_protocol::Envelope::parse(&bytes).ok();
            inner.record(Event::OversizeMessage {
                connection,
                bytes: bytes.len(),
                limit: inner.config.max_message_size,
                kind: envelope.as_ref().map(|e| e.kind.as_str().to_owned()),
                message_type: envelope
                    .as_ref()
                    .and_then(|e| e.exchange_type.map(str::to_owned)),
            });
            continue;
        }
        let decoded = match decode(&bytes) {
            Ok(decoded) => decoded,
            Err(error) => {
                inner.record(Event::Violation {
                    connection,
                    detail: format!("undecodable message: {error}"),
                });
                let _ = out
                    .send(Out::Ws(close(
                        CloseCode::Protocol,
                        "Exchange message unknown",
                    )))
                    .await;
                break;
            }
        };
        match decoded {
            Message::Reply(reply) => {
                inner.record(Event::Received {
                    connection,
                    kind: "REPLY".into(),
                    command_type: reply.reply_type.to_string(),
                    status: Some(reply.status.as_str().to_owned()),
                });
                pending.deliver(reply);
            }
            Message::Command(command) => {
                inner.record(Event::Received {
                    connection,
                    kind: "COMMAND".into(),
                    command_type: command.command_type().to_string(),
                    status: None,
                });
                if integration_id.is_none() {
                    let CommandPayload::Hello(hello) = &command.payload else {
                        inner.record(Event::Violation {
                            connection,
                            detail: "first command was not HELLO".into(),
                        });
                        let _ = out
                            .send(Out::Ws(close(CloseCode::Protocol, "Hello Command is first expected to initialize the exchange channel")))
                            .await;
                        break;
                    };
                    let verdict = check_hello(&inner, &hello.target_id, hello.provider.as_deref());
                    inner.record(Event::Hello {
                        connection,
                        integration_id: hello.target_id.clone(),
                        provider: hello.provider.clone(),
                        accepted: verdict.is_ok(),
                        details: verdict.clone().err(),
                    });
                    let reply = match &verdict {
                        Ok(()) => Reply::succeeded(
                            &command.id,
                            CommandType::Hello,
                            ReplyPayload::Hello(HelloReplyPayload {
                                target_id: Some(hello.target_id.clone()),
                            }),
                        ),
                        Err(details) => {
                            Reply::error(&command.id, CommandType::Hello, details.clone())
                        }
                    };
                    let _ = out
                        .send(Out::Ws(WsMessage::Binary(reply.encode().into())))
                        .await;
                    if verdict.is_ok() {
                        let id = hello.target_id.clone();
                        let first = inner.update(|s| {
                            let first = !s.channels.iter().any(|c| c.integration_id == id);
                            s.channels.push(Channel {
                                connection,
                                integration_id: id.clone(),
                                out: out.clone(),
                                pending: pending.clone(),
                                closed: closed.clone(),
                            });
                            first
                        });
                        if first {
                            let primary = Command::new(
                                uuid::Uuid::new_v4().to_string(),
                                CommandPayload::Primary(PrimaryPayload { primary: true }),
                            );
                            let _ = out
                                .send(Out::Ws(WsMessage::Binary(primary.encode().into())))
                                .await;
                        }
                        tickers.push(tokio::spawn(ping_loop(
                            out.clone(),
                            inner.config.ping_interval,
                        )));
                        tickers.push(tokio::spawn(crate::health::health_loop(
                            inner.clone(),
                            connection,
                            id.clone(),
                        )));
                        integration_id = Some(id);
                    }
                    continue;
                }
                let out = out.clone();
                let inner = inner.clone();
                tokio::spawn(async move {
                    let reply = handle_agent_command(&inner, command).await;
                    let _ = out
                        .send(Out::Ws(WsMessage::Binary(reply.encode().into())))
                        .await;
                });
            }
        }
    }
    for ticker in tickers {
        ticker.abort();
    }
    closed.cancel();
    pending.clear();
    inner.update(|s| s.channels.retain(|c| c.connection != connection));
    inner.record(Event::Closed {
        connection,
        integration_id,
        code: close_code,
    });
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

/// The most tungstenite reassembles before closing the connection: four times the message
/// limit, at least 64 MiB, so that a message somewhat over the limit is read whole and dropped
/// as APIM does, while a runaway message cannot fill the memory.
fn reassembly_cap(max_message_size: usize) -> usize {
    max_message_size.saturating_mul(4).max(64 << 20)
}

fn close(code: CloseCode, reason: &str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }))
}

fn check_hello(inner: &Inner, target_id: &str, provider: Option<&str>) -> Result<(), String> {
    let Some(known) = inner.config.integrations.iter().find(|i| i.id == target_id) else {
        return Err(format!("Integration [id={target_id}] not found"));
    };
    if provider != Some(known.provider.as_str()) {
        return Err(format!(
            "Integration [id={target_id}] does not match. Expected provider [provider={}]",
            known.provider
        ));
    }
    Ok(())
}

async fn ping_loop(out: mpsc::Sender<Out>, period: Duration) {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        interval.tick().await;
        if out
            .send(Out::Ws(WsMessage::Ping(bytes::Bytes::new())))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The controller's handlers for what agents send: HELLO (handled above) and INGEST; other
/// known types get NO_REPLY, unknown ones UNKNOWN.
async fn handle_agent_command(inner: &Arc<Inner>, command: Command) -> Reply {
    let command_type = command.command_type();
    match command.payload {
        CommandPayload::Ingest(ingest) => {
            // A test can hold INGEST replies to check the agent keeps serving meanwhile.
            let mut paused = inner.ingest_paused.subscribe();
            let _ = paused.wait_for(|p| !*p).await;
            let count = ingest.apis.len();
            if let Some(details) = inner.update(|s| s.forced_ingest_errors.pop_front()) {
                inner.record(Event::IngestRejected {
                    job_id: ingest.ingest_job_id,
                    apis: count,
                    done: ingest.done,
                    details: details.clone(),
                });
                return Reply::error(command.id, CommandType::Ingest, details);
            }
            // APIM looks the job up and, when it does not exist (yet), ingests nothing and
            // still answers SUCCEEDED.
            let known_job = inner.update(|s| {
                crate::ingest::apply_batch(
                    &inner.config,
                    s,
                    &ingest.ingest_job_id,
                    &ingest.apis,
                    ingest.done,
                    std::time::Instant::now(),
                )
            });
            inner.record(Event::Ingest {
                job_id: ingest.ingest_job_id,
                apis: count,
                done: ingest.done,
                known_job,
            });
            Reply::succeeded(
                command.id,
                CommandType::Ingest,
                ReplyPayload::Empty(Empty {}),
            )
        }
        CommandPayload::Other { .. } => Reply::unknown(command.id),
        _ => Reply::no_reply(command.id, &command_type),
    }
}
