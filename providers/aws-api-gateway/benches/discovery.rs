//! Discovery at scale against moto: 1,000 REST APIs (one `prod` stage each) in 10 usage plans.
//!
//! `cargo bench -p federation-provider-aws-api-gateway --features testing --bench discovery`
//!
//! Prints, for the provider's preview and full ingest: AWS calls and wall time; the same full
//! walk done one call at a time with the same SDK (the speed-up of the concurrent walk); and the
//! full ingest under a proxy enforcing AWS's control-plane quota (10 rps, burst 40) with the
//! provider's default budget, against the bound `calls ÷ 10 rps`. `AWS_BENCH_APIS` changes the
//! number of APIs (default 1000).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use federation_core::{DiscoverRequest, Selection, collect};
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::testing::{
    self, MotoServer, ProxyConfig, ThrottlingProxy, seed,
};
use futures_util::StreamExt;

const REGION: &str = "us-east-1";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run());
}

/// GetRestApis (paged), GetUsagePlans, then GetStages and GetExport per API, one call at a
/// time. Returns the exports made and the time taken.
async fn sequential_walk(client: &aws_sdk_apigateway::Client) -> (usize, Duration) {
    let start = Instant::now();
    let mut apis = Vec::new();
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
    client
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .expect("GetUsagePlans");
    let mut exported = 0;
    for api in &apis {
        let stages = client
            .get_stages()
            .rest_api_id(api)
            .send()
            .await
            .expect("GetStages");
        for stage in stages.item() {
            client
                .get_export()
                .rest_api_id(api)
                .stage_name(stage.stage_name().unwrap_or_default())
                .export_type("oas30")
                .accepts("application/json")
                .send()
                .await
                .expect("GetExport");
            exported += 1;
        }
    }
    (exported, start.elapsed())
}

fn calls_text(calls: &BTreeMap<String, u64>) -> String {
    calls
        .iter()
        .map(|(op, n)| format!("{op}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

async fn run() {
    let count: usize = std::env::var("AWS_BENCH_APIS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let moto = MotoServer::start().await;
    let client = testing::client(&moto.endpoint(), REGION).await;

    let start = Instant::now();
    let ids: Vec<String> = futures_util::stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            async move {
                let id = format!("bench{i:05}");
                seed::rest_api(&client, &format!("Bench {i}"), Some(&id), &["prod"]).await
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let plans = 10.min(count.max(1));
    for (p, chunk) in ids.chunks(count.div_ceil(plans).max(1)).enumerate() {
        let mut spec = seed::PlanSpec::new(&format!("Plan {p}")).throttle(100.0, 200);
        for id in chunk {
            spec = spec.stage(id, "prod");
        }
        seed::usage_plan(&client, &spec).await;
    }
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

    // Under AWS's quota, with the provider's default budget (10 rps, burst 40).
    let quota =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().quota(10.0, 40)).await;
    let defaults = AwsApiGatewayProvider::from_settings(&testing::provider_settings(
        &quota.endpoint(),
        REGION,
        &[
            ("requestsPerSecond", "10"),
            ("burst", "40"),
            ("apiKeyRequestsPerSecond", "5"),
            ("apiKeyBurst", "5"),
        ],
    ))
    .expect("settings");
    let start = Instant::now();
    let quota_full = collect(&defaults, &DiscoverRequest::full(Selection::All))
        .await
        .expect("full ingest under quota");
    let quota_time = start.elapsed();
    let calls = quota.total();
    let bound = Duration::from_secs_f64(calls as f64 / 10.0);
    let burst_bound = Duration::from_secs_f64(calls.saturating_sub(40) as f64 / 10.0);
    println!(
        "under quota: {} APIs, {calls} calls ({} answered 429), {} vs bound {} (calls ÷ 10 rps; \
         {} counting the burst of 40): {:.0}% of the quota's pace",
        quota_full.len(),
        quota.throttled(),
        secs(quota_time),
        secs(bound),
        secs(burst_bound),
        100.0 * burst_bound.as_secs_f64() / quota_time.as_secs_f64()
    );
}
