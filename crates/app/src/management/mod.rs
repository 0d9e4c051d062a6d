//! The management HTTP service (`services.core.http.*`), on axum: gravitee-node's node API
//! paths under `/_node`.
//!
//! | Path | Answer |
//! |---|---|
//! | `GET /_node/health` | 200 when every probe passes, 503 otherwise; JSON, one entry per probe (see [`health`]) |
//! | `GET /_node/health?probes=http-server` | the liveness form: 200 while the process answers |
//! | `GET /_node/health?probes=integrations` | the readiness form: every integration connected |
//! | `GET /_node/health` (no `probes`) | also a `drift` section: each integration's catalogue drift report; it never changes the status code (see [`drift`]) |
//! | `GET /_node/metrics/prometheus` | Prometheus text format, only when `services.metrics.enabled` and `services.metrics.prometheus.enabled` (404 otherwise) |
//!
//! Every path (unknown ones included) requires basic authentication when users are configured
//! (401 with `WWW-Authenticate: Basic` otherwise).
//!
//! ```no_run
//! # async fn example(config: federation_config::AgentConfig, connector: federation_connector::Connector) -> Result<(), federation_app::AppError> {
//! use federation_app::management::Management;
//!
//! // Before `connector.run(..)`: binds services.core.http.host:port (None when disabled).
//! let management = Management::start(&config, connector.status()).await?;
//! # let _ = connector.run(async {}).await;
//! if let Some(management) = management {
//!     management.stop().await;
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod drift;
pub mod health;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use federation_config::{AgentConfig, HttpServiceConfig};
use federation_connector::DriftBoard;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::prometheus;
pub use auth::Authenticator;
pub use health::{ConfiguredIntegration, HealthChecker, StatusSource};

/// The health endpoint.
pub const HEALTH_PATH: &str = "/_node/health";
/// The Prometheus endpoint.
pub const PROMETHEUS_PATH: &str = "/_node/metrics/prometheus";
/// The Prometheus text exposition format's content type.
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// How often histogram samples are folded into buckets when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
/// How long a stopping service waits for open requests.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What the management routes serve.
#[derive(Debug, Clone)]
pub struct ManagementApi {
    health: HealthChecker,
    prometheus: Option<PrometheusHandle>,
    auth: Authenticator,
    drift: Option<DriftBoard>,
}

impl ManagementApi {
    /// Health for `configured` integrations whose channels `status` reports; open access, no
    /// metrics endpoint.
    pub fn new(configured: Vec<ConfiguredIntegration>, status: impl StatusSource) -> Self {
        Self {
            health: HealthChecker::new(configured, Arc::new(status)),
            prometheus: None,
            auth: Authenticator::open(),
            drift: None,
        }
    }

    /// Adds the `drift` section (catalogue drift reports) to the full health body.
    pub fn drift(mut self, board: DriftBoard) -> Self {
        self.drift = Some(board);
        self
    }

    /// Serves `GET /_node/metrics/prometheus` from this recorder.
    pub fn prometheus(mut self, handle: PrometheusHandle) -> Self {
        self.prometheus = Some(handle);
        self
    }

    /// Who may call.
    pub fn authenticator(mut self, auth: Authenticator) -> Self {
        self.auth = auth;
        self
    }

    /// The routes.
    pub fn router(self) -> Router {
        let auth = self.auth.clone();
        let mut router = Router::new().route(HEALTH_PATH, get(health_route));
        if self.prometheus.is_some() {
            router = router.route(PROMETHEUS_PATH, get(prometheus_route));
        }
        router
            .with_state(Arc::new(self))
            .layer(axum::middleware::from_fn_with_state(auth, auth::require))
    }
}

/// Answers `GET /_node/health[?probes=a,b]`.
async fn health_route(
    State(api): State<Arc<ManagementApi>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let requested: BTreeSet<String> = health::requested_probes(
        query
            .iter()
            .filter(|(name, _)| name == "probes")
            .map(|(_, value)| value.as_str()),
    );
    let report = api.health.evaluate(&requested);
    let status = if report.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    match &api.drift {
        Some(board) if requested.is_empty() => {
            let mut body = report.to_json();
            drift::add_to(&mut body, board);
            (status, axum::Json(body)).into_response()
        }
        _ => (status, axum::Json(report)).into_response(),
    }
}

/// Answers `GET /_node/metrics/prometheus`.
async fn prometheus_route(State(api): State<Arc<ManagementApi>>) -> Response {
    match &api.prometheus {
        Some(handle) => (
            [(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
            handle.render(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The running management service.
#[derive(Debug)]
pub struct Management {
    local_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Management {
    /// Starts the service `config` describes, reporting on the channels of `status`: `None`
    /// when `services.core.http.enabled` is false. Installs the Prometheus recorder first when
    /// the two metrics flags are on. Fails (a configuration error, exit code 2) when the
    /// address cannot be bound, naming `services.core.http.port` when the port is taken.
    pub async fn start(
        config: &AgentConfig,
        status: impl StatusSource,
    ) -> Result<Option<Self>, AppError> {
        Self::start_with_drift(config, status, None).await
    }

    /// [`Management::start`], with the connector's drift reports in the health body.
    pub async fn start_with_drift(
        config: &AgentConfig,
        status: impl StatusSource,
        drift: Option<DriftBoard>,
    ) -> Result<Option<Self>, AppError> {
        let http = &config.services.core.http;
        if !http.enabled {
            tracing::info!("Management HTTP service disabled (services.core.http.enabled=false).");
            return Ok(None);
        }
        let auth = Authenticator::from_config(&http.authentication)?;
        let configured = config
            .integration
            .providers
            .iter()
            .map(|p| ConfiguredIntegration {
                integration_id: p.integration_id.clone(),
                provider_type: p.provider_type.clone(),
            })
            .collect();
        let mut api = ManagementApi::new(configured, status).authenticator(auth);
        if let Some(board) = drift {
            api = api.drift(board);
        }
        if prometheus::enabled(&config.services.metrics) {
            match prometheus::install() {
                Ok(handle) => api = api.prometheus(handle),
                Err(error) => tracing::warn!(
                    %error,
                    "Prometheus metrics are enabled but cannot be served."
                ),
            }
        }
        let listener = bind(http).await?;
        // No users is only worth a warning when other hosts can call.
        if let Ok(address) = listener.local_addr()
            && let Some(warning) =
                Authenticator::listening_warning(&http.authentication, address.ip())
        {
            tracing::warn!("{warning}");
        }
        Self::serve(listener, api).map(Some)
    }

    /// Serves `api` on an already bound listener.
    pub fn serve(listener: TcpListener, api: ManagementApi) -> Result<Self, AppError> {
        let local_addr = listener.local_addr().map_err(|e| AppError::Management {
            key: "services.core.http.host",
            message: format!("is bound, but its address cannot be read ({e})"),
        })?;
        let stop = CancellationToken::new();
        let upkeep = api.prometheus.clone();
        let paths = if upkeep.is_some() {
            format!("{HEALTH_PATH}, {PROMETHEUS_PATH}")
        } else {
            HEALTH_PATH.to_owned()
        };
        let authentication = if api.auth.is_open() { "none" } else { "basic" };
        let router = api.router();
        let shutdown = stop.clone();
        let task = tokio::spawn(async move {
            if let Some(handle) = upkeep {
                let token = shutdown.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
                    loop {
                        tokio::select! {
                            _ = tick.tick() => handle.run_upkeep(),
                            () = token.cancelled() => return,
                        }
                    }
                });
            }
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "The management HTTP service stopped.");
            }
        });
        tracing::info!(
            address = %local_addr,
            authentication,
            "Management HTTP service listening ({paths})."
        );
        Ok(Self {
            local_addr,
            stop,
            task,
        })
    }

    /// The address the service listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening; open requests get a short grace period.
    pub async fn stop(self) {
        self.stop.cancel();
        let mut task = self.task;
        if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Binds `services.core.http.host:port`. `localhost` means 127.0.0.1; other names are resolved
/// and the first address is used.
pub async fn bind(http: &HttpServiceConfig) -> Result<TcpListener, AppError> {
    let address = listen_address(http).await?;
    TcpListener::bind(address).await.map_err(|error| {
        if error.kind() == std::io::ErrorKind::AddrInUse {
            AppError::Management {
                key: "services.core.http.port",
                message: format!(
                    "is {}, which is already in use on {} ({error}): free the port, set another \
                     one (env gravitee_services_core_http_port) or disable the service \
                     (services.core.http.enabled=false)",
                    http.port,
                    address.ip()
                ),
            }
        } else {
            AppError::Management {
                key: "services.core.http.host",
                message: format!(
                    "is `{}`: cannot listen on {address} ({error})",
                    http.host.trim()
                ),
            }
        }
    })
}

/// The socket address `services.core.http.host` and `port` name.
pub async fn listen_address(http: &HttpServiceConfig) -> Result<SocketAddr, AppError> {
    let host = http.host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), http.port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, http.port));
    }
    let unresolved = |detail: String| AppError::Management {
        key: "services.core.http.host",
        message: format!("is `{host}`, which does not resolve to an address ({detail})"),
    };
    tokio::net::lookup_host((host, http.port))
        .await
        .map_err(|e| unresolved(e.to_string()))?
        .next()
        .ok_or_else(|| unresolved("no address".to_owned()))
}
