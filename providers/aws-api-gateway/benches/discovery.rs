//! Discovery at scale against moto: 1,000 REST APIs (one `prod` stage each) in 10 usage plans.
//!
//! `cargo bench -p federation-provider-aws-api-gateway --features testing --bench discovery`
//!
//! Prints, for the provider's preview and full ingest: AWS calls and wall time; the same full
//! walk done one call at a time with the same SDK (the speed-up of the concurrent walk); and,
//! under a proxy enforcing AWS's control-plane quota (10 rps, burst 40) with the provider's
//! default budget:
//!
//! - the full ingest in usage-plan mode (one `GetExport` per stage) against the bound
//!   `calls ÷ 10 rps`, next to the naive baseline measured in the same run: the same ingest with
//!   a `GetStages` per REST API first (what the provider did before, and still does with
//!   `acceptApiWithoutUsagePlan` and no cached stage lists);
//! - two DISCOVERs in `acceptApiWithoutUsagePlan` mode, each cut at the connector's default
//!   deadline (`discoverTimeoutMs`, 50 s), with the stage cache and without it (the baseline).
//!
//! `AWS_BENCH_APIS` changes the number of APIs (default 1000); `AWS_BENCH_QUICK=1` skips the
//! quota sections (they take about 8 minutes for 1,000 APIs).

mod common;

use std::time::{Duration, Instant};

use common::{REGION, calls_text, env_usize, quota_provider, secs};
use federation_core::{ApiSink, DiscoverRequest, Provider, Selection, collect};
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::testing::{
    self, MotoServer, ProxyConfig, ThrottlingProxy, seed,
};

/// The connector's default DISCOVER deadline (`discoverTimeoutMs`).
const DISCOVER_DEADLINE: Duration = Duration::from_secs(50);

fn main() {
    common::run(run());
}

/// The provider's calls, one at a time: GetRestApis (paged), GetUsagePlans, then GetExport per
/// stage the usage plans name. Returns the exports made and the time taken.
async fn sequential_walk(client: &aws_sdk_apigateway::Client) -> (usize, Duration) {
    let start = Instant::now();
    let mut apis = std::collections::BTreeSet::new();
    let mut position: Option<String> = None;
    loop {
        let page = client
            .get_rest_apis()
            .limit(500)
            .set_position(position.clone())
            .send()
            .await
            .expect("GetRestApis");
        apis.extend(
            page.items()
                .iter()
                .filter_map(|a| a.id().map(str::to_owned)),
        );
        match page.position() {
            Some(p) => position = Some(p.to_owned()),
            None => break,
        }
    }
    let plans = client
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .expect("GetUsagePlans");
    let stages: std::collections::BTreeSet<(String, String)> = plans
        .items()
        .iter()
        .flat_map(|p| p.api_stages())
        .filter_map(|s| Some((s.api_id()?.to_owned(), s.stage()?.to_owned())))
        .filter(|(api, _)| apis.contains(api))
        .collect();
    let mut exported = 0;
    for (api, stage) in &stages {
        client
            .get_export()
            .rest_api_id(api)
            .stage_name(stage)
            .export_type("oas30")
            .accepts("application/json")
            .send()
            .await
            .expect("GetExport");
        exported += 1;
    }
    (exported, start.elapsed())
}

/// A DISCOVER as the connector runs it: the preview is collected until it ends or the deadline
/// passes, then the walk is dropped. Returns (APIs, partial, time).
async fn discover_within(provider: &AwsApiGatewayProvider) -> (usize, bool, Duration) {
    let start = Instant::now();
    let (sink, mut rx) = ApiSink::channel(256);
    let drain = tokio::spawn(async move {
        let mut n = 0usize;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    let request = DiscoverRequest::preview();
    let partial = tokio::time::timeout(DISCOVER_DEADLINE, provider.discover(&request, &sink))
        .await
        .is_err();
    drop(sink);
    let apis = drain.await.expect("drain");
    (apis, partial, start.elapsed())
}

async fn run() {
    let count = env_usize("AWS_BENCH_APIS", 1000);
    let moto = MotoServer::start().await;
    let client = testing::client(&moto.endpoint(), REGION).await;

    let start = Instant::now();
    let plans = 10.min(count.max(1));
    seed::bench_account(&client, count, plans).await;
    println!(
        "seeded {count} REST APIs and {plans} usage plans in {}",
        secs(start.elapsed())
    );

    // Concurrent walk, budget out of the way (moto has no quota).
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let provider = AwsApiGatewayProvider::from_settings(&testing::provider_settings(
        &proxy.endpoint(),
        REGION,
        &[("requestsPerSecond", "100000"), ("burst", "100000")],
    ))
    .expect("settings");

    let start = Instant::now();
    let preview = collect(&provider, &DiscoverRequest::preview())
        .await
        .expect("preview");
    let preview_time = start.elapsed();
    println!(
        "preview:     {} APIs, {} calls ({}), {}",
        preview.len(),
        proxy.total(),
        calls_text(&proxy.calls()),
        secs(preview_time)
    );

    proxy.reset_counts();
    let start = Instant::now();
    let full = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .expect("full ingest");
    let full_time = start.elapsed();
    let full_calls = proxy.total();
    println!(
        "full ingest: {} APIs, {} calls ({}), {}",
        full.len(),
        full_calls,
        calls_text(&proxy.calls()),
        secs(full_time)
    );

    // The same walk, one call at a time, with the same SDK and proxy.
    proxy.reset_counts();
    let sequential = testing::client(&proxy.endpoint(), REGION).await;
    let (exported, sequential_time) = sequential_walk(&sequential).await;
    println!(
        "sequential:  {exported} exports, {} calls, {} (concurrent walk is {:.1}x faster; moto's \
         CPU is the limit on loopback)",
        proxy.total(),
        secs(sequential_time),
        sequential_time.as_secs_f64() / full_time.as_secs_f64()
    );

    // With a simulated 20 ms round trip to AWS, where concurrency pays.
    let rtt = Duration::from_millis(20);
    proxy.set_config(ProxyConfig::counting().latency(rtt));
    proxy.reset_counts();
    let start = Instant::now();
    let remote = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .expect("full ingest with latency");
    let remote_time = start.elapsed();
    println!(
        "20 ms RTT:   full ingest {} APIs, {} calls, {} (maxConcurrency 8)",
        remote.len(),
        proxy.total(),
        secs(remote_time)
    );
    proxy.reset_counts();
    let (exported, remote_sequential) = sequential_walk(&sequential).await;
    println!(
        "20 ms RTT:   sequential {exported} exports, {} calls, {} (concurrent walk is {:.1}x faster)",
        proxy.total(),
        secs(remote_sequential),
        remote_sequential.as_secs_f64() / remote_time.as_secs_f64()
    );
    drop(proxy);

    if std::env::var("AWS_BENCH_QUICK").is_ok_and(|v| v == "1") {
        return;
    }

    // Under AWS's quota, with the provider's default budget (10 rps, burst 40).
    let quota =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().quota(10.0, 40)).await;
    let defaults = quota_provider(&quota.endpoint(), &[]);
    let start = Instant::now();
    let quota_full = collect(&defaults, &DiscoverRequest::full(Selection::All))
        .await
        .expect("full ingest under quota");
    let quota_time = start.elapsed();
    let calls = quota.total();
    let bound = Duration::from_secs_f64(calls as f64 / 10.0);
    let stage_bound = Duration::from_secs_f64(count as f64 / 10.0);
    println!(
        "under quota: full ingest {} APIs, {calls} calls ({}; {} answered 429), {} vs bound {} \
         (calls ÷ 10 rps) = {:.2}x the bound, {:.2}x (stages ÷ 10 rps)",
        quota_full.len(),
        calls_text(&quota.calls()),
        quota.throttled(),
        secs(quota_time),
        secs(bound),
        quota_time.as_secs_f64() / bound.as_secs_f64(),
        quota_time.as_secs_f64() / stage_bound.as_secs_f64(),
    );

    // The naive baseline, same run: a GetStages per REST API before its exports (a provider in
    // acceptApiWithoutUsagePlan mode with nothing cached; every stage is in a plan, so it ingests
    // the same APIs).
    quota.set_config(ProxyConfig::counting().quota(10.0, 40));
    quota.reset_counts();
    let naive = quota_provider(&quota.endpoint(), &[("acceptApiWithoutUsagePlan", "true")]);
    let start = Instant::now();
    let naive_full = collect(&naive, &DiscoverRequest::full(Selection::All))
        .await
        .expect("naive ingest under quota");
    let naive_time = start.elapsed();
    let naive_calls = quota.total();
    println!(
        "under quota: naive ingest (GetStages per API) {} APIs, {naive_calls} calls ({}), {} vs \
         bound {}: one call per API is {:.2}x faster",
        naive_full.len(),
        calls_text(&quota.calls()),
        secs(naive_time),
        secs(Duration::from_secs_f64(naive_calls as f64 / 10.0)),
        naive_time.as_secs_f64() / quota_time.as_secs_f64()
    );

    // DISCOVER with acceptApiWithoutUsagePlan: a GetStages per REST API, cut at 50 s.
    for (label, extra) in [
        (
            "stage cache on ",
            &[("acceptApiWithoutUsagePlan", "true")][..],
        ),
        (
            "stage cache off",
            &[
                ("acceptApiWithoutUsagePlan", "true"),
                ("stageCacheMaxAgeSeconds", "0"),
            ][..],
        ),
    ] {
        quota.set_config(ProxyConfig::counting().quota(10.0, 40));
        let provider = quota_provider(&quota.endpoint(), extra);
        for run in 1..=2 {
            quota.reset_counts();
            let (apis, partial, time) = discover_within(&provider).await;
            println!(
                "under quota: DISCOVER {run} ({label}, acceptApiWithoutUsagePlan) {apis} of \
                 {count} APIs, isPartialDiscovery: {partial}, {} calls ({}), {}",
                quota.total(),
                calls_text(&quota.calls()),
                secs(time)
            );
        }
    }
}
