//! [`Connector`]: serves a set of integrations to the controller, one WebSocket (and one HELLO)
//! each, until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use federation_connector_config::{ConnectorConfig, ProxyConfig};
use federation_core::Provider;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backoff::Backoff;
use crate::channel::{self, Shared};
use crate::context::{ChannelContext, Limits};
use crate::dedup::Dedup;
use crate::drift::DriftBoard;
use crate::endpoint::Endpoints;
use crate::error::ConnectorError;
use crate::link::Link;
use crate::status::StatusBoard;
use crate::tls;
use crate::transport::{Proxy, Transport};

/// One integration to serve: an integration id and the provider that does the work. HELLO's
/// `provider` is the provider's own [`Provider::provider_type`].
#[derive(Debug, Clone)]
pub struct Integration {
    /// `integration.providers[i].integrationId`: HELLO's `targetId`.
    pub integration_id: String,
    /// The provider; its [`Provider::provider_type`] is HELLO's `provider`.
    pub provider: Arc<dyn Provider>,
}

impl Integration {
    /// An integration whose HELLO `provider` is the provider's own
    /// [`Provider::provider_type`]. A blank type makes [`Connector::run`] fail at once.
    pub fn of(integration_id: impl Into<String>, provider: Arc<dyn Provider>) -> Self {
        Self {
            integration_id: integration_id.into(),
            provider,
        }
    }

    /// The provider type HELLO sends: the provider's own.
    pub fn provider_type(&self) -> &str {
        self.provider.provider_type()
    }
}

/// The error for an integration whose provider declares a blank type.
fn blank_provider_type(integration_id: &str) -> ConnectorError {
    ConnectorError::InvalidSetting {
        key: "integration.providers[].type".to_owned(),
        reason: format!(
            "integration {integration_id} has no provider type: its provider's \
             Provider::provider_type is blank; return the integration's type in APIM \
             (for example `aws-api-gateway`)"
        ),
    }
}

/// The WebSocket connector.
///
/// ```no_run
/// # async fn example(config: federation_config::AgentConfig, provider: std::sync::Arc<dyn federation_core::Provider>) -> Result<(), federation_connector::ConnectorError> {
/// use federation_connector::{Connector, Integration};
///
/// let connector = Connector::new(&config.integration.connector, &config.system.proxy)?
///     .with_integration(Integration::of("my-integration-id", provider));
/// let status = connector.status(); // for a health endpoint
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>(); // e.g. fired on SIGTERM
/// # drop(stop);
/// connector.run(async { let _ = stopped.await; }).await?;
/// # Ok(()) }
/// ```
pub struct Connector {
    shared: Arc<Shared>,
    limits: Limits,
    max_concurrent: usize,
    integrations: Vec<(Integration, usize)>,
    status: StatusBoard,
    drift: DriftBoard,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("endpoints", &self.shared.endpoints.all())
            .field(
                "integrations",
                &self.integrations.iter().map(|(i, _)| i).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Connector {
    /// Validates `integration.connector.*` (endpoints, headers, TLS stores, proxy) and builds a
    /// connector without integrations. `system_proxy` is `system.proxy.*`, used when
    /// `proxy.useSystemProxy` is true.
    pub fn new(
        config: &ConnectorConfig,
        system_proxy: &ProxyConfig,
    ) -> Result<Self, ConnectorError> {
        let ws = &config.ws;
        let endpoints = Endpoints::parse(&ws.endpoints)?;
        let tls = tls::client_config(&ws.ssl)?;
        let proxy = Proxy::from_config(&ws.proxy, system_proxy)?;
        if ws.max_web_socket_frame_size == 0 || ws.max_web_socket_message_size == 0 {
            return Err(ConnectorError::setting(
                "integration.connector.ws.maxWebSocketFrameSize",
                "frame and message sizes must be positive",
            ));
        }
        let transport = Transport::new(
            tls,
            &ws.headers,
            ws.max_web_socket_message_size,
            ws.keep_alive,
            proxy,
        )?;
        let commands = &config.commands;
        let ms = Duration::from_millis;
        let limits = Limits {
            reply_timeout: ms(commands.reply_timeout_ms.max(1)),
            discover_timeout: ms(commands.discover_timeout_ms.max(1)),
            shutdown_grace: ms(commands.shutdown_grace_ms),
            health_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(5),
            max_frame_size: ws.max_web_socket_frame_size,
            max_message_size: ws.max_web_socket_message_size,
            batch_size: config.ingest.batch_size.max(1),
            ingest_start_delay: ms(config.ingest.start_delay_ms),
            session_wait: Duration::from_secs(240),
        };
        Ok(Self {
            shared: Arc::new(Shared {
                endpoints,
                transport,
                backoff: Backoff::new(&ws.backoff),
                auto_reconnect: ws.auto_reconnect,
            }),
            limits,
            max_concurrent: commands.max_concurrent.max(1),
            integrations: Vec::new(),
            status: StatusBoard::default(),
            drift: DriftBoard::new(config.drift.state_file.clone().map(Into::into)),
        })
    }

    /// Adds an integration (one connection and one HELLO). It shows in [`Connector::status`]
    /// at once, as connecting.
    pub fn with_integration(mut self, integration: Integration) -> Self {
        let index = self
            .status
            .register(&integration.integration_id, integration.provider_type());
        self.integrations.push((integration, index));
        self
    }

    /// A handle on every integration's status, live for as long as the connector runs.
    pub fn status(&self) -> StatusBoard {
        self.status.clone()
    }

    /// Every integration's catalogue drift: what was ingested and the last report.
    pub fn drift(&self) -> DriftBoard {
        self.drift.clone()
    }

    /// Serves every integration until `shutdown` completes (then in-flight commands get
    /// `commands.shutdownGraceMs` to finish and each socket closes with 1000), or until every
    /// channel has stopped on its own (GOOD_BYE without reconnection, or a rejected HELLO).
    ///
    /// A rejected HELLO stops only its own integration (its status shows
    /// [`ChannelState::Failed`](crate::ChannelState::Failed) with the controller's reason); the
    /// others keep serving. Only when every integration was rejected does `run` return an error:
    /// [`ConnectorError::HelloRejected`] for a single integration,
    /// [`ConnectorError::AllHellosRejected`] for several.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ConnectorError> {
        if self.integrations.is_empty() {
            return Err(ConnectorError::NoIntegration);
        }
        if let Some((blank, _)) = self
            .integrations
            .iter()
            .find(|(i, _)| i.provider_type().trim().is_empty())
        {
            return Err(blank_provider_type(&blank.integration_id));
        }
        let token = CancellationToken::new();
        let mut channels = JoinSet::new();
        for (integration, status_index) in self.integrations {
            let ctx = Arc::new(ChannelContext {
                provider_type: integration.provider_type().to_owned(),
                integration_id: integration.integration_id,
                provider: integration.provider,
                limits: self.limits.clone(),
                status: self.status.clone(),
                status_index,
                dedup: Dedup::default(),
                link: Link::default(),
                permits: Arc::new(Semaphore::new(self.max_concurrent)),
                tasks: TaskTracker::new(),
                drift: self.drift.clone(),
            });
            channels.spawn(channel::run(ctx, self.shared.clone(), token.clone()));
        }
        let count = channels.len();
        tokio::pin!(shutdown);
        let mut shutdown_seen = false;
        let mut rejected = Vec::new();
        loop {
            tokio::select! {
                () = &mut shutdown, if !shutdown_seen => {
                    shutdown_seen = true;
                    tracing::info!("Shutdown requested.");
                    token.cancel();
                }
                joined = channels.join_next() => match joined {
                    None => break,
                    Some(Ok(Ok(()))) => {}
                    Some(Ok(Err(ConnectorError::HelloRejected { integration_id, details }))) => {
                        // Only this integration stops; the others keep serving.
                        if !channels.is_empty() {
                            tracing::error!(
                                integration = %integration_id,
                                others = channels.len(),
                                "This integration stopped (HELLO rejected); the others keep serving."
                            );
                        }
                        rejected.push((integration_id, details));
                    }
                    Some(Ok(Err(error))) => {
                        tracing::error!(%error, "A channel stopped.");
                    }
                    Some(Err(join)) => {
                        tracing::error!(error = %join, "A channel task failed.");
                    }
                }
            }
        }
        if rejected.len() < count {
            return Ok(());
        }
        if rejected.len() == 1 {
            let (integration_id, details) = rejected.remove(0);
            return Err(ConnectorError::HelloRejected {
                integration_id,
                details,
            });
        }
        Err(ConnectorError::AllHellosRejected { rejected })
    }
}
