//! A small scripted agent for the simulator's tests: a real WebSocket on loopback, the
//! `federation-protocol` codec, HELLO first, then each controller command answered by the
//! test's script, and the agent's own commands (INGEST) sent when the test says so.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use federation_core::{Api, Page, PageType};
use federation_protocol::payload::{Empty, HealthCheckReplyPayload, HelloPayload, IngestPayload};
use federation_protocol::{Command, CommandPayload, CommandType, Message, Reply, ReplyPayload};
use federation_simulator::{Simulator, SimulatorConfig};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub(crate) const TOKEN: &str = "test-token";
pub(crate) const WAIT: Duration = Duration::from_secs(20);
pub(crate) const PROVIDER: &str = "scripted";

/// A simulator that knows `integration` (provider [`PROVIDER`]) and requires [`TOKEN`].
pub(crate) async fn simulator(
    integration: &str,
    tweak: impl FnOnce(SimulatorConfig) -> SimulatorConfig,
) -> Simulator {
    let config = SimulatorConfig::default()
        .token(TOKEN)
        .integration(integration, PROVIDER);
    Simulator::start(tweak(config)).await.unwrap()
}

/// What the script answers to a controller command; `None` sends nothing.
pub(crate) type Script = Arc<dyn Fn(&Command) -> Option<Reply> + Send + Sync>;

/// A connected agent.
pub(crate) struct Agent {
    out: mpsc::UnboundedSender<WsMessage>,
    replies: tokio::sync::Mutex<mpsc::UnboundedReceiver<Reply>>,
    /// Every command the controller sent, in order.
    pub received: Arc<Mutex<Vec<Command>>>,
}

impl Agent {
    /// Connects to `sim` for `integration`, says HELLO and waits for its reply; then answers
    /// HEALTH_CHECK and PRIMARY itself and every other command with `script`.
    pub(crate) async fn connect(sim: &Simulator, integration: &str, script: Script) -> Self {
        let url = format!(
            "ws://{}{}/exchange/controller",
            sim.local_addr(),
            sim.config().path_prefix
        );
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("X-Gravitee-Exchange-Protocol", "v1".parse().unwrap());
        headers.insert("Authorization", format!("bearer {TOKEN}").parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<WsMessage>();
        tokio::spawn(async move {
            while let Some(message) = out_rx.recv().await {
                if sink.send(message).await.is_err() {
                    return;
                }
            }
        });
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let received = Arc::new(Mutex::new(Vec::new()));
        let agent = Self {
            out: out.clone(),
            replies: tokio::sync::Mutex::new(replies),
            received: received.clone(),
        };
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let WsMessage::Binary(bytes) = message else {
                    continue;
                };
                match federation_protocol::decode(&bytes) {
                    Ok(Message::Reply(reply)) => {
                        let _ = reply_tx.send(reply);
                    }
                    Ok(Message::Command(command)) => {
                        received.lock().unwrap().push(command.clone());
                        let reply = match &command.payload {
                            CommandPayload::HealthCheck(_) => Some(Reply::succeeded(
                                &command.id,
                                CommandType::HealthCheck,
                                ReplyPayload::HealthCheck(HealthCheckReplyPayload {
                                    healthy: true,
                                    detail: None,
                                }),
                            )),
                            CommandPayload::Primary(_) => Some(Reply::succeeded(
                                &command.id,
                                CommandType::Primary,
                                ReplyPayload::Empty(Empty {}),
                            )),
                            CommandPayload::GoodBye(_) => return,
                            _ => script(&command),
                        };
                        if let Some(reply) = reply {
                            let _ = out.send(WsMessage::Binary(reply.encode().into()));
                        }
                    }
                    Err(error) => panic!("the simulator sent an undecodable message: {error}"),
                }
            }
        });
        let hello = Command::new(
            "hello-1",
            CommandPayload::Hello(HelloPayload::new(integration, PROVIDER)),
        );
        let reply = agent.request(&hello, WAIT).await.expect("a HELLO reply");
        assert!(reply.is_success(), "{reply:?}");
        sim.wait_connected(integration, WAIT).await.unwrap();
        agent
    }

    /// Sends a command and waits for the reply with its id, at most `timeout`; `None` when
    /// none came.
    pub(crate) async fn request(&self, command: &Command, timeout: Duration) -> Option<Reply> {
        self.send_bytes(command.encode());
        self.reply_to(&command.id, timeout).await
    }

    /// Sends a message as is.
    pub(crate) fn send_bytes(&self, bytes: Vec<u8>) {
        self.out.send(WsMessage::Binary(bytes.into())).unwrap();
    }

    /// Waits for the reply to `command_id` (other replies are dropped).
    pub(crate) async fn reply_to(&self, command_id: &str, timeout: Duration) -> Option<Reply> {
        let mut replies = self.replies.lock().await;
        tokio::time::timeout(timeout, async {
            loop {
                let reply = replies.recv().await?;
                if reply.command_id == command_id {
                    return Some(reply);
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Sends one INGEST batch and waits for its reply (which must be SUCCEEDED).
    pub(crate) async fn ingest(&self, job_id: &str, apis: Vec<Api>, done: bool) {
        let command = ingest_command(job_id, apis, done);
        let reply = self.request(&command, WAIT).await.expect("an INGEST reply");
        assert!(reply.is_success(), "{reply:?}");
    }

    /// The commands of `command_type` the controller sent so far.
    pub(crate) fn received_of(&self, command_type: &CommandType) -> Vec<Command> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.command_type() == *command_type)
            .cloned()
            .collect()
    }
}

/// An INGEST command with a fresh id.
pub(crate) fn ingest_command(job_id: &str, apis: Vec<Api>, done: bool) -> Command {
    Command::new(
        uuid::Uuid::new_v4().to_string(),
        CommandPayload::Ingest(IngestPayload {
            ingest_job_id: job_id.to_owned(),
            apis,
            done,
        }),
    )
}

/// An API `id` (uniqueId `scripted:<id>`) with one SWAGGER page per name in `pages`.
pub(crate) fn api(id: &str, pages: &[&str]) -> Api {
    let mut api = Api::new(format!("scripted:{id}"), id, format!("API {id}")).with_version("1");
    api.pages = Some(
        pages
            .iter()
            .map(|name| Page::new(PageType::Swagger, format!("openapi: 3.0.1 # {name}"), *name))
            .collect(),
    );
    api
}

/// The page names of `api_id` in the simulator's catalog.
pub(crate) fn page_names(sim: &Simulator, integration: &str, api_id: &str) -> Vec<String> {
    sim.catalog_api(integration, api_id)
        .expect("the API is in the catalog")
        .pages
        .expect("the catalog always shows a page list")
        .into_iter()
        .map(|p| p.filename.unwrap_or_default())
        .collect()
}

/// A script that answers START_INGEST with `total` and DISCOVER with `apis` (summaries).
pub(crate) fn ingest_script(total: u64, apis: Vec<Api>) -> Script {
    use federation_protocol::payload::{DiscoverReplyPayload, StartIngestReplyPayload};
    Arc::new(move |command: &Command| match &command.payload {
        CommandPayload::StartIngest(start) => Some(Reply::succeeded(
            &command.id,
            CommandType::StartIngest,
            ReplyPayload::StartIngest(StartIngestReplyPayload {
                ingest_job_id: start.ingest_job_id.clone(),
                total,
            }),
        )),
        CommandPayload::Discover(_) => Some(Reply::succeeded(
            &command.id,
            CommandType::Discover,
            ReplyPayload::Discover(DiscoverReplyPayload {
                apis: apis.iter().map(Api::summary).collect(),
                is_partial_discovery: false,
            }),
        )),
        _ => Some(Reply::no_reply(&command.id, &command.command_type())),
    })
}
