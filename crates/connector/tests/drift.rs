//! Catalogue drift through the connector, vendor-neutral: APIs remembered from a FETCH (APIM
//! 4.4) or an ingest, compared after each DISCOVER with what the provider shows now, through its
//! inventory when it has one and from the DISCOVER preview when it has none.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{WAIT, connector_config, eventually, simulator};
use federation_config::ProxyConfig;
use federation_connector::{Connector, DriftBoard, Integration};
use federation_core::{
    ApiSink, DiscoverRequest, DriftKind, Provider, ProviderError, Subscription, SubscriptionResult,
};
use federation_protocol::CommandPayload;
use federation_protocol::payload::FetchPayload;
use federation_testkit::MemoryProvider;
use federation_testkit::memory::sample_api;
use tokio::sync::oneshot;

fn run(connector: Connector) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        connector
            .run(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, task)
}

/// The integration's report once the last check was made by `trigger`.
async fn report_after(board: &DriftBoard, trigger: &str) -> federation_core::DriftReport {
    eventually(&format!("a drift report from {trigger}"), || {
        board.report("int-1").is_some_and(|r| r.trigger == trigger)
    })
    .await;
    board.report("int-1").unwrap().report
}

#[tokio::test]
async fn fetched_apis_are_remembered_and_changes_reported_after_discover() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let provider = Arc::new(MemoryProvider::with_sample_apis(3));
    let state = std::env::temp_dir().join(format!("drift-{}.json", uuid::Uuid::new_v4()));
    let mut config = connector_config(&sim.endpoint());
    config.drift.state_file = Some(state.display().to_string());
    let connector = Connector::new(&config, &ProxyConfig::default())
        .unwrap()
        .with_integration(Integration::of("int-1", provider.clone()));
    let board = connector.drift();
    let (stop, task) = run(connector);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    sim.send(
        "int-1",
        CommandPayload::Fetch(FetchPayload { apis: Some(vec![]) }),
    )
    .await
    .unwrap();
    let report = report_after(&board, "fetch").await;
    assert_eq!(report.ingested_apis, 3);
    assert!(!report.has_drift(), "{report:?}");
    assert_eq!(board.ledger("int-1").apis.len(), 3);
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains("\"api-2\""), "{saved}");

    // api-1 deleted; api-2 loses its plan gold-2.
    provider.remove_api("api-1");
    let mut bare = sample_api(2);
    bare.plans = Some(Vec::new());
    provider.add_api(bare);
    sim.discover("int-1").await.unwrap();
    let report = report_after(&board, "discover").await;
    let items: Vec<(DriftKind, Option<&str>, Option<&str>)> = report
        .items
        .iter()
        .map(|i| (i.kind, i.api_id.as_deref(), i.plan_id.as_deref()))
        .collect();
    assert_eq!(
        items,
        [
            (DriftKind::ApiGone, Some("api-1"), None),
            (DriftKind::PlanRemoved, Some("api-2"), Some("gold-2")),
        ]
    );
    assert!(report.unchecked.is_empty(), "{:?}", report.unchecked);

    stop.send(()).unwrap();
    task.await.unwrap();
    // A new board on the same file remembers the three APIs.
    let reloaded = DriftBoard::new(Some(state.clone()));
    assert_eq!(reloaded.ledger("int-1").apis.len(), 3);
    assert!(reloaded.state_problem().is_none());
    std::fs::remove_file(state).unwrap();
}

/// The memory provider without its inventory.
#[derive(Debug)]
struct Plain(Arc<MemoryProvider>);

#[async_trait]
impl Provider for Plain {
    fn provider_type(&self) -> &str {
        self.0.provider_type()
    }
    async fn discover(&self, r: &DiscoverRequest, s: &ApiSink) -> Result<(), ProviderError> {
        self.0.discover(r, s).await
    }
    async fn subscribe(
        &self,
        api_id: &str,
        s: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        self.0.subscribe(api_id, s).await
    }
    async fn revoke(&self, api_id: &str, s: &Subscription) -> Result<(), ProviderError> {
        self.0.revoke(api_id, s).await
    }
}

#[tokio::test]
async fn without_an_inventory_apis_gone_come_from_the_discover_preview() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let memory = Arc::new(MemoryProvider::with_sample_apis(2));
    let connector = Connector::new(&connector_config(&sim.endpoint()), &ProxyConfig::default())
        .unwrap()
        .with_integration(Integration::of("int-1", Arc::new(Plain(memory.clone()))));
    let board = connector.drift();
    assert!(board.state_file().is_none(), "no state file by default");
    let (stop, task) = run(connector);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    let job = sim.ingest("int-1", None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 2);
    let report = report_after(&board, "ingest").await;
    assert!(!report.has_drift());

    memory.remove_api("api-0");
    sim.discover("int-1").await.unwrap();
    let report = report_after(&board, "discover").await;
    assert_eq!(report.items.len(), 1, "{report:?}");
    assert_eq!(report.items[0].kind, DriftKind::ApiGone);
    assert_eq!(report.items[0].api_id.as_deref(), Some("api-0"));
    assert!(
        report.unchecked.iter().any(|u| u.contains("no inventory")),
        "{:?}",
        report.unchecked
    );
    stop.send(()).unwrap();
    task.await.unwrap();
}
