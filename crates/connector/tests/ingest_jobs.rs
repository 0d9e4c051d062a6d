//! Every ingest job the agent accepted ends with an INGEST `done: true`, whatever failed: the
//! provider mid-stream, a batch answered ERROR, a batch never answered. Against the simulator
//! in APIM 4.6 mode, where a job never closed stays PENDING for ever and the console refuses
//! Discover while it is (`docs/reference/integration-commands.md` §9, "The ingest job"). And an
//! API the provider leaves out ([`ApiSink::skip`]) is named, counted and keeps its pages.

#![allow(clippy::unwrap_used)]

mod common;
mod counters;
mod logs;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use federation_connector::Integration;
use federation_core::{
    ApiSink, Depth, DiscoverRequest, Provider, ProviderError, SkipReason, SkippedApi, Subscription,
    SubscriptionResult, collect,
};
use federation_simulator::{ApimVersion, Event, IngestJobStatus, Simulator};
use federation_testkit::MemoryProvider;

/// A memory provider whose full discovery emits `fails_after` APIs, then fails as a vendor
/// outage would; previews (DISCOVER, START_INGEST's count) work.
#[derive(Debug)]
struct FailsMidIngest {
    inner: MemoryProvider,
    fails_after: usize,
}

#[async_trait]
impl Provider for FailsMidIngest {
    fn provider_type(&self) -> &str {
        "memory"
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        if request.depth == Depth::Preview {
            return self.inner.discover(request, sink).await;
        }
        let apis = collect(&self.inner, request).await?;
        for api in apis.into_iter().take(self.fails_after) {
            sink.emit(api).await?;
        }
        Err(ProviderError::backend(
            "GetExport in eu-west-1 failed: the vendor is down (HTTP 503)",
        ))
    }

    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        self.inner.subscribe(api_id, subscription).await
    }

    async fn revoke(&self, api_id: &str, subscription: &Subscription) -> Result<(), ProviderError> {
        self.inner.revoke(api_id, subscription).await
    }
}

/// A simulator behaving like APIM 4.6 (no job deadline) for `integration`.
async fn apim_4_6(integration: &str, max_message_size: Option<usize>) -> Simulator {
    logs::capture();
    simulator_with(&[(integration, "memory")], |c| {
        let c = c.apim_version(ApimVersion::V4_6);
        match max_message_size {
            Some(bytes) => c.max_message_size(bytes),
            None => c,
        }
    })
    .await
}

/// `federation_ingest_jobs_closed_early_total` counted one early close of `integration`'s job,
/// for `reason`.
fn assert_closed_early_once(counters: &counters::Counters, integration: &str, reason: &str) {
    assert_eq!(
        counters.get(
            "federation_ingest_jobs_closed_early_total",
            &[("integration", integration), ("reason", reason)]
        ),
        1,
        "{}",
        counters.dump()
    );
}

/// The job leaves PENDING, and Discover (refused while a job is pending) works again.
async fn assert_closed_and_discover_works(sim: &Simulator, integration: &str, job_id: &str) {
    let job = sim
        .wait_ingest_settled(job_id, WAIT)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the job is still {:?} after {WAIT:?}: {e}",
                sim.ingest_job(job_id).map(|j| j.status)
            )
        });
    assert_eq!(job.status, IngestJobStatus::Success);
    assert!(job.done);
    sim.discover(integration)
        .await
        .expect("Discover works once the job is closed");
}

#[tokio::test]
async fn a_provider_failure_mid_ingest_closes_the_job_and_discover_works_again() {
    let counters = counters::Counters::default();
    let _recording = metrics::set_default_local_recorder(&counters);
    let sim = apim_4_6("int-fails", None).await;
    let provider = Arc::new(FailsMidIngest {
        inner: MemoryProvider::with_sample_apis(5),
        fails_after: 3,
    });
    let mut config = connector_config(&sim.endpoint());
    config.ingest.batch_size = 2;
    let running = start(&config, vec![Integration::of("int-fails", provider)]);
    sim.wait_connected("int-fails", WAIT).await.unwrap();

    let (job_id, total) = sim.start_ingest("int-fails", None).await.unwrap();
    assert_eq!(total, 5);
    assert_closed_and_discover_works(&sim, "int-fails", &job_id).await;
    // The batches before the failure, then what the provider gave before it failed, closing.
    let job = sim.ingest_job(&job_id).unwrap();
    let ids: Vec<_> = job.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["api-0", "api-1", "api-2"]);
    assert_eq!(sim.catalog("int-fails").len(), 3);

    let log = logs::of("int-fails");
    assert!(
        log.contains("The provider failed during ingest")
            && log.contains("the vendor is down (HTTP 503)")
            && log.contains("closed early")
            && log.contains("sent=3")
            && log.contains("left_out=2"),
        "{log}"
    );
    assert_closed_early_once(&counters, "int-fails", "provider_error");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_batch_answered_error_closes_the_job() {
    let counters = counters::Counters::default();
    let _recording = metrics::set_default_local_recorder(&counters);
    let sim = apim_4_6("int-rejected", None).await;
    let (_provider, integration) = memory("int-rejected", 5);
    let mut config = connector_config(&sim.endpoint());
    config.ingest.batch_size = 2;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-rejected", WAIT).await.unwrap();

    sim.fail_next_ingest_batches(1, "cannot save API api-0");
    let (job_id, _) = sim.start_ingest("int-rejected", None).await.unwrap();
    assert_closed_and_discover_works(&sim, "int-rejected", &job_id).await;
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::IngestRejected { .. })),
        1
    );
    // Nothing more was pushed after the rejected batch: the closing batch is empty.
    let job = sim.ingest_job(&job_id).unwrap();
    assert!(job.apis.is_empty(), "{:?}", job.apis);

    let log = logs::of("int-rejected");
    assert!(
        log.contains("cannot save API api-0") && log.contains("closed early"),
        "{log}"
    );
    assert_closed_early_once(&counters, "int-rejected", "batch_rejected");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_batch_never_answered_closes_the_job() {
    let counters = counters::Counters::default();
    let _recording = metrics::set_default_local_recorder(&counters);
    // The controller's maxWebSocketMessageSize (64 KiB) is smaller than the agent's (the
    // default 13,107,200): the first batch is dropped unanswered.
    let sim = apim_4_6("int-unanswered", Some(64 * 1024)).await;
    let (provider, integration) = memory("int-unanswered", 2);
    provider.add_api(
        federation_core::Api::new("memory:big", "big", "Big API").with_page(
            federation_core::Page::new(
                federation_core::PageType::Swagger,
                "x".repeat(100 * 1024),
                "big-oas.json",
            ),
        ),
    );
    let mut config = connector_config(&sim.endpoint());
    config.ingest.batch_size = 2;
    config.commands.reply_timeout_ms = 1_000;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-unanswered", WAIT).await.unwrap();

    let (job_id, _) = sim.start_ingest("int-unanswered", None).await.unwrap();
    assert_closed_and_discover_works(&sim, "int-unanswered", &job_id).await;
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::OversizeMessage { .. })),
        1
    );
    let log = logs::of("int-unanswered");
    assert!(
        log.contains("got no reply") && log.contains("closed early"),
        "{log}"
    );
    assert_closed_early_once(&counters, "int-unanswered", "batch_unanswered");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_successful_ingest_ends_with_one_done_batch_and_closes_nothing_early() {
    // Control: a successful ingest ends with one `done: true`, after every batch.
    let sim = apim_4_6("int-ok", None).await;
    let (_provider, integration) = memory("int-ok", 5);
    let mut config = connector_config(&sim.endpoint());
    config.ingest.batch_size = 2;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-ok", WAIT).await.unwrap();
    let job = sim.ingest("int-ok", None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 5);
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Ingest { done: true, .. })),
        1
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!logs::of("int-ok").contains("closed early"));
    running.stop().await.unwrap();
}

/// A memory provider that, when told to, leaves `api-1` out of full discoveries with
/// [`ApiSink::skip`], as a provider does when a document export fails.
#[derive(Debug)]
struct SkipsApi1 {
    inner: MemoryProvider,
    skip: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Provider for SkipsApi1 {
    fn provider_type(&self) -> &str {
        "memory"
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        let skip = self.skip.load(std::sync::atomic::Ordering::SeqCst);
        if request.depth == Depth::Preview || !skip {
            return self.inner.discover(request, sink).await;
        }
        for api in collect(&self.inner, request).await? {
            if api.id == "api-1" {
                sink.skip(
                    SkippedApi::new(
                        &api.id,
                        SkipReason::ReadFailed,
                        "the export failed: HTTP 503",
                    )
                    .with_name(&api.name),
                );
            } else {
                sink.emit(api).await?;
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        self.inner.subscribe(api_id, subscription).await
    }

    async fn revoke(&self, api_id: &str, subscription: &Subscription) -> Result<(), ProviderError> {
        self.inner.revoke(api_id, subscription).await
    }
}

#[tokio::test]
async fn an_api_the_provider_leaves_out_is_named_counted_and_keeps_its_pages() {
    logs::capture();
    let counters = counters::Counters::default();
    let _recording = metrics::set_default_local_recorder(&counters);
    let sim = simulator(&[("int-skips", "memory")]).await;
    let provider = Arc::new(SkipsApi1 {
        inner: MemoryProvider::with_sample_apis(3),
        skip: false.into(),
    });
    let running = start(
        &connector_config(&sim.endpoint()),
        vec![Integration::of("int-skips", provider.clone())],
    );
    sim.wait_connected("int-skips", WAIT).await.unwrap();
    sim.ingest("int-skips", None, WAIT).await.unwrap();
    let pages = sim
        .catalog_api("int-skips", "api-1")
        .unwrap()
        .pages
        .unwrap();
    assert_eq!(pages.len(), 1);

    provider
        .skip
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let job = sim.ingest("int-skips", None, WAIT).await.unwrap();
    let ids: Vec<_> = job.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["api-0", "api-2"]);
    assert_eq!(
        sim.catalog_api("int-skips", "api-1")
            .unwrap()
            .pages
            .unwrap(),
        pages,
        "APIM keeps the pages of an API left out"
    );
    // APIM 4.4's FETCH leaves it out the same way.
    let reply = sim
        .send(
            "int-skips",
            federation_protocol::CommandPayload::Fetch(
                federation_protocol::payload::FetchPayload { apis: Some(vec![]) },
            ),
        )
        .await
        .unwrap();
    let Some(federation_protocol::ReplyPayload::Fetch(fetch)) = reply.payload else {
        panic!("{reply:?}")
    };
    assert_eq!(fetch.apis.len(), 2);

    let log = logs::of("int-skips");
    let named: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("API api-1 left out by the provider"))
        .collect();
    assert_eq!(
        named.len(),
        2,
        "once in the ingest, once in the FETCH:\n{log}"
    );
    assert!(
        named[0].contains("the export failed: HTTP 503") && named[0].contains("reason=read_failed")
    );
    let summary = log
        .lines()
        .find(|l| l.contains("Ingest finished") && l.contains("skipped=1"))
        .unwrap_or_else(|| panic!("no summary with the skipped API:\n{log}"));
    assert!(
        summary.contains("sent=2") && summary.contains("read_failed=1"),
        "{summary}"
    );
    assert_eq!(
        counters.get(
            "federation_apis_skipped_total",
            &[("integration", "int-skips"), ("reason", "read_failed")]
        ),
        2,
        "once in the ingest, once in the FETCH: {}",
        counters.dump()
    );
    running.stop().await.unwrap();
}
