//! Shared set-up for the connector's tests: a simulator, a connector configured for it, and an
//! in-memory provider, all on loopback.

#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use federation_config::{ConnectorConfig, HeaderConfig, ProxyConfig};
use federation_connector::{Connector, ConnectorError, Integration, StatusBoard};
use federation_core::Secret;
use federation_simulator::{Simulator, SimulatorConfig};
use federation_testkit::MemoryProvider;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const TOKEN: &str = "test-token";
pub(crate) const WAIT: Duration = Duration::from_secs(20);
/// The pause before the first INGEST in every test (`integration.connector.ingest.startDelayMs`).
/// The default, 3 s, leaves APIM time to create the ingest job after reading the START_INGEST
/// reply; the simulator creates it as soon as it reads the reply, before anything the agent
/// sends after it, so a short pause loses nothing here. The tests about the pause set their own.
pub(crate) const INGEST_START_DELAY_MS: u64 = 50;

/// A simulator that knows `integrations` (id, provider) and requires [`TOKEN`].
pub(crate) async fn simulator(integrations: &[(&str, &str)]) -> Simulator {
    simulator_with(integrations, |c| c).await
}

pub(crate) async fn simulator_with(
    integrations: &[(&str, &str)],
    tweak: impl FnOnce(SimulatorConfig) -> SimulatorConfig,
) -> Simulator {
    let mut config = SimulatorConfig::default().token(TOKEN);
    for (id, provider) in integrations {
        config = config.integration(*id, *provider);
    }
    Simulator::start(tweak(config)).await.unwrap()
}

/// Connector settings for `endpoint`: bearer token, fast backoff without jitter, a short pause
/// before the first INGEST ([`INGEST_START_DELAY_MS`]).
pub(crate) fn connector_config(endpoint: &str) -> ConnectorConfig {
    let mut config = ConnectorConfig::default();
    config.ws.endpoints = vec![endpoint.to_owned()];
    config.ws.headers = vec![HeaderConfig {
        name: "Authorization".into(),
        value: Secret::new(format!("bearer {TOKEN}")),
    }];
    config.ws.backoff.initial_delay_ms = 100;
    config.ws.backoff.multiplier = 2.0;
    config.ws.backoff.jitter = 0.0;
    config.commands.shutdown_grace_ms = 2_000;
    config.ingest.start_delay_ms = INGEST_START_DELAY_MS;
    config
}

/// The agent's own default for `integration.connector.ingest.startDelayMs`.
pub(crate) fn default_ingest_start_delay_ms() -> u64 {
    ConnectorConfig::default().ingest.start_delay_ms
}

/// A running connector.
pub(crate) struct Running {
    pub status: StatusBoard,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), ConnectorError>>,
}

impl Running {
    /// Requests shutdown and returns what `run` returned.
    pub(crate) async fn stop(mut self) -> Result<(), ConnectorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.task)
            .await
            .unwrap()
            .unwrap()
    }

    /// Waits for `run` to return on its own.
    pub(crate) async fn finished(self) -> Result<(), ConnectorError> {
        tokio::time::timeout(WAIT, self.task)
            .await
            .unwrap()
            .unwrap()
    }
}

/// Starts a connector serving `integrations`.
pub(crate) fn start(config: &ConnectorConfig, integrations: Vec<Integration>) -> Running {
    let mut connector = Connector::new(config, &ProxyConfig::default()).unwrap();
    for integration in integrations {
        connector = connector.with_integration(integration);
    }
    let status = connector.status();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(connector.run(async move {
        let _ = stopped.await;
    }));
    Running {
        status,
        stop: Some(stop),
        task,
    }
}

/// A memory provider with `apis` sample APIs, as an integration.
pub(crate) fn memory(id: &str, apis: usize) -> (Arc<MemoryProvider>, Integration) {
    let provider = Arc::new(MemoryProvider::with_sample_apis(apis));
    let integration = Integration::of(id, provider.clone());
    (provider, integration)
}

/// Polls `probe` until it holds.
pub(crate) async fn eventually(what: &str, probe: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !probe() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `f` with a deadline.
pub(crate) async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f).await.expect("timed out")
}
