//! Quota manners (issue 20): the agent's AWS call budget per operation, and what its background
//! work costs a SUBSCRIBE, for 1,000 REST APIs (one `prod` stage each) in 10 usage plans.
//!
//! `cargo bench -p federation-provider-aws-api-gateway --features testing --bench drift`
//!
//! moto behind the crate's proxy enforcing AWS's control-plane quota (10 rps, burst 40, a 429
//! like AWS's beyond it) and cutting lists into pages of 500 as AWS does; one provider with its
//! default budget (`requestsPerSecond` 10, `burst` 40, `backgroundRequestsPerSecond` 2). Prints:
//!
//! - the calls and seconds of an ingest and of a DISCOVER, and of the drift check the connector
//!   runs after each (`federation_core::drift::observe`), with nothing changed and then with 10
//!   stages changed (5 deleted as AWS deletes them, 5 detached from their usage plan);
//! - the calls of a SUBSCRIBE, an UNSUBSCRIBE, and of an hour of idle HEALTH_CHECKs;
//! - the median SUBSCRIBE latency idle, while drift checks run back to back, while the heaviest
//!   check the provider can still make runs (1,000 `GetStages`: 1,000 ingested stages that no
//!   usage plan names, stage cache cold), and, as the naive baseline of the same run, while the
//!   drift check as it was before issue 20 runs (`testing::baseline`: a `GetStages` per REST
//!   API, one at a time, as foreground calls of the same budget); for reference, also while an
//!   ingest runs (foreground work).
//!
//! `AWS_BENCH_APIS` changes the number of REST APIs (default 1000), `AWS_BENCH_SUBSCRIBES` the
//! SUBSCRIBEs per latency figure (default 21).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{REGION, calls_text, env_usize, quota_provider, secs};
use federation_core::drift::{IngestedApi, Ledger, compare, observe};
use federation_core::{
    DiscoverRequest, Provider, Selection, Subscription, SubscriptionType, collect,
};
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::testing::{
    self, MotoServer, ProxyConfig, ThrottlingProxy, baseline, seed,
};

const PLANS: usize = 10;
/// An hour of APIM's HEALTH_CHECKs, one every 30 s.
const HEALTH_CHECKS_PER_HOUR: usize = 120;
/// One SUBSCRIBE (or UNSUBSCRIBE) every half second: busier than any APIM console, and below
/// AWS's 5 rps for `CreateApiKey`/`DeleteApiKey`, so the key quota does not set the latency.
const ARRIVAL: Duration = Duration::from_millis(500);

fn main() {
    common::run(run());
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Runs `work` with the proxy's counts reset first: what it returned, the calls and the time.
async fn measured<T>(
    proxy: &ThrottlingProxy,
    work: impl Future<Output = T>,
) -> (T, BTreeMap<String, u64>, Duration) {
    proxy.reset_counts();
    let start = Instant::now();
    let out = work.await;
    (out, proxy.calls(), start.elapsed())
}

fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

/// The drift check the connector runs after a DISCOVER or an ingest: observe, compare, and
/// acknowledge the plans' coverage (the connector does after an ingest). Prints its figures.
async fn drift_check(
    label: &str,
    provider: &AwsApiGatewayProvider,
    proxy: &ThrottlingProxy,
    ledger: &mut Ledger,
) {
    let ((observed, catalogue), calls, time) =
        measured(proxy, observe(provider, ledger, None)).await;
    let report = compare(ledger, &observed);
    if let Some(catalogue) = catalogue {
        ledger.acknowledge(&ledger.plan_ids(), &catalogue);
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &report.items {
        *kinds.entry(item.kind.as_str()).or_default() += 1;
    }
    let named: BTreeSet<&str> = report
        .items
        .iter()
        .filter_map(|i| i.api_id.as_deref())
        .collect();
    println!(
        "drift check {label}: {} calls ({}), {}; {} drift items ({}), {} APIs named, {} unchecked",
        total(&calls),
        calls_text(&calls),
        secs(time),
        report.items.len(),
        kinds
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(" "),
        named.len(),
        report.unchecked.len(),
    );
}

fn subscription(id: &str, plan: &str) -> Subscription {
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        gravitee_application_id: Some("bench-app".to_owned()),
        gravitee_application_name: Some("Bench".to_owned()),
        subscription_type: Some(SubscriptionType::ApiKey),
        metadata: Some(
            [("planId".to_owned(), plan.to_owned())]
                .into_iter()
                .collect(),
        ),
    }
}

/// `n` SUBSCRIBEs (new subscriptions on `apis`, round robin), one every [`ARRIVAL`] (or right
/// after the previous one when it took longer): each one's latency, and what the UNSUBSCRIBEs
/// need. The key bucket (5 rps, burst 5) is refilled first, so every series starts alike.
async fn subscribe_series(
    provider: &AwsApiGatewayProvider,
    label: &str,
    apis: &[(String, String)],
    n: usize,
) -> (Vec<Duration>, Vec<(String, Subscription)>) {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latencies = Vec::with_capacity(n);
    let mut issued = Vec::with_capacity(n);
    let first = tokio::time::Instant::now();
    for i in 0..n {
        tokio::time::sleep_until(first + ARRIVAL * i as u32).await;
        let (api, plan) = &apis[i % apis.len()];
        let request = subscription(&format!("{label}-{i}"), plan);
        let start = Instant::now();
        let result = provider
            .subscribe(api, &request)
            .await
            .unwrap_or_else(|e| panic!("SUBSCRIBE {api}: {e}"));
        latencies.push(start.elapsed());
        issued.push((
            api.clone(),
            Subscription {
                gravitee_subscription_id: request.gravitee_subscription_id,
                metadata: result.metadata,
                ..Subscription::default()
            },
        ));
    }
    (latencies, issued)
}

async fn run() {
    let count = env_usize("AWS_BENCH_APIS", 1000);
    let subscribes = env_usize("AWS_BENCH_SUBSCRIBES", 21).max(1);
    let moto = MotoServer::start().await;
    let client = testing::client(&moto.endpoint(), REGION).await;

    let start = Instant::now();
    let (ids, plan_of) = seed::bench_account(&client, count, PLANS).await;
    let per_plan = count.div_ceil(PLANS).max(1);
    println!(
        "seeded {count} REST APIs in {} usage plans in {}",
        count.div_ceil(per_plan),
        secs(start.elapsed())
    );

    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().quota(10.0, 40).page_size(500),
    )
    .await;
    let provider = quota_provider(&proxy.endpoint(), &[("backgroundRequestsPerSecond", "2")]);

    // Ingest, then the check after it.
    let (apis, calls, time) = measured(
        &proxy,
        collect(&provider, &DiscoverRequest::full(Selection::All)),
    )
    .await;
    let apis = apis.expect("ingest");
    println!(
        "ingest: {} APIs, {} calls ({}; {} answered 429), {}",
        apis.len(),
        total(&calls),
        calls_text(&calls),
        proxy.throttled(),
        secs(time)
    );
    let mut ledger = Ledger::default();
    for api in &apis {
        ledger.record(IngestedApi::from_api(api, 0));
    }
    drift_check(
        "after ingest, nothing changed",
        &provider,
        &proxy,
        &mut ledger,
    )
    .await;

    // DISCOVER, then the check after it.
    let (preview, calls, time) =
        measured(&proxy, collect(&provider, &DiscoverRequest::preview())).await;
    println!(
        "DISCOVER: {} APIs, {} calls ({}), {}",
        preview.expect("discover").len(),
        total(&calls),
        calls_text(&calls),
        secs(time)
    );
    drift_check(
        "after DISCOVER, nothing changed",
        &provider,
        &proxy,
        &mut ledger,
    )
    .await;

    // 10 stages change behind the agent's back (straight to moto: not counted).
    let step = (count / 10).max(1);
    for i in 0..5 {
        seed::delete_stage(&client, &ids[(i * step) % count], "prod").await;
    }
    for i in 5..10 {
        let id = &ids[(i * step) % count];
        seed::detach_stage(&client, &plan_of[id], id, "prod").await;
    }
    let (_, calls, time) = measured(&proxy, collect(&provider, &DiscoverRequest::preview())).await;
    println!(
        "DISCOVER after 10 changes (5 stages deleted, 5 detached from their plan): {} calls, {}",
        total(&calls),
        secs(time)
    );
    drift_check(
        "after DISCOVER, 10 stages changed",
        &provider,
        &proxy,
        &mut ledger,
    )
    .await;
    let (again, calls, time) = measured(
        &proxy,
        collect(&provider, &DiscoverRequest::full(Selection::All)),
    )
    .await;
    let again = again.expect("ingest again");
    println!(
        "ingest again: {} APIs, {} calls, {}",
        again.len(),
        total(&calls),
        secs(time)
    );
    for api in &again {
        ledger.record(IngestedApi::from_api(api, 0));
    }
    drift_check(
        "after ingest, 10 stages changed",
        &provider,
        &proxy,
        &mut ledger,
    )
    .await;

    // Idle: an hour of HEALTH_CHECKs asks the provider's health() 120 times.
    let (_, calls, time) = measured(&proxy, async {
        for _ in 0..HEALTH_CHECKS_PER_HOUR {
            assert!(provider.health().await.healthy);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    println!(
        "idle: {HEALTH_CHECKS_PER_HOUR} health() answers (an hour of HEALTH_CHECKs every 30 s) \
         and 5 s idle, {} calls, {}",
        total(&calls),
        secs(time)
    );

    // SUBSCRIBE and UNSUBSCRIBE, idle.
    // SUBSCRIBEs go to stages that are still in their plans (the second ingest's).
    let targets: Vec<(String, String)> = again
        .iter()
        .step_by(7)
        .take(50)
        .map(|api| {
            let rest = api.id.trim_end_matches(":prod");
            (api.id.clone(), plan_of[rest].clone())
        })
        .collect();
    let ((idle, issued), calls, _) = measured(
        &proxy,
        subscribe_series(&provider, "idle", &targets, subscribes),
    )
    .await;
    println!(
        "SUBSCRIBE idle: median {} over {subscribes}, {:.1} calls each ({})",
        ms(median(idle.clone())),
        total(&calls) as f64 / subscribes as f64,
        calls_text(&calls)
    );
    let (revoked, calls, _) = measured(&proxy, async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut latencies = Vec::new();
        let first = tokio::time::Instant::now();
        for (i, (api, request)) in issued.iter().enumerate() {
            tokio::time::sleep_until(first + ARRIVAL * i as u32).await;
            let start = Instant::now();
            provider
                .revoke(api, request)
                .await
                .unwrap_or_else(|e| panic!("UNSUBSCRIBE {api}: {e}"));
            latencies.push(start.elapsed());
        }
        latencies
    })
    .await;
    println!(
        "UNSUBSCRIBE idle: median {} over {subscribes}, {:.1} calls each ({})",
        ms(median(revoked)),
        total(&calls) as f64 / subscribes as f64,
        calls_text(&calls)
    );
    let idle_median = median(idle);

    let provider = Arc::new(provider);
    let ledger = Arc::new(ledger);

    // While drift checks run back to back (the real check: nothing changed since the last).
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicUsize::new(0));
    let background = {
        let (provider, ledger, stop, checks) = (
            provider.clone(),
            ledger.clone(),
            stop.clone(),
            checks.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let _ = observe(provider.as_ref(), &ledger, None).await;
                checks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let ((during_checks, _), calls, time) = measured(
        &proxy,
        subscribe_series(&provider, "checks", &targets, subscribes),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    background.await.expect("checks");
    let during_checks = median(during_checks);
    println!(
        "SUBSCRIBE while drift checks run back to back: median {} ({:.2}x idle) over \
         {subscribes}; {} checks ran beside them in {} ({} calls in all: {})",
        ms(during_checks),
        during_checks.as_secs_f64() / idle_median.as_secs_f64(),
        checks.load(Ordering::Relaxed),
        secs(time),
        total(&calls),
        calls_text(&calls)
    );

    // While the heaviest check the provider can still make runs: 1,000 ingested stages that no
    // usage plan names, nothing cached: a GetStages per REST API, at the background share.
    let mut heavy = Ledger::default();
    for api in &apis {
        let mut unplanned = api.clone();
        unplanned.id = unplanned.id.replace(":prod", ":unplanned");
        heavy.record(IngestedApi::from_api(&unplanned, 0));
    }
    let heavy_check = {
        let provider = provider.clone();
        tokio::spawn(async move {
            let _ = observe(provider.as_ref(), &heavy, None).await;
        })
    };
    // Let it get going.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ((during_heavy, _), calls, time) = measured(
        &proxy,
        subscribe_series(&provider, "heavy", &targets, subscribes),
    )
    .await;
    let (_, after, after_time) =
        measured(&proxy, tokio::time::sleep(Duration::from_secs(20))).await;
    heavy_check.abort();
    let during_heavy = median(during_heavy);
    println!(
        "SUBSCRIBE while a {count}-GetStages drift check runs: median {} ({:.2}x idle) over \
         {subscribes}; beside them in {} the check made {} GetStages ({} calls in all: {}); \
         alone in the 20 s after, {} calls ({:.2}/s; backgroundRequestsPerSecond 2: {})",
        ms(during_heavy),
        during_heavy.as_secs_f64() / idle_median.as_secs_f64(),
        secs(time),
        calls.get("GetStages").copied().unwrap_or(0),
        total(&calls),
        calls_text(&calls),
        total(&after),
        total(&after) as f64 / after_time.as_secs_f64(),
        calls_text(&after),
    );

    // The naive baseline, same run: SUBSCRIBE while the drift check as it was before issue 20
    // runs (a GetStages per REST API, one at a time, foreground, at the full 10 rps).
    let before = {
        let provider = provider.clone();
        tokio::spawn(async move { baseline::stage_walk_before_issue_20(provider.as_ref()).await })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ((during_before, _), calls, time) = measured(
        &proxy,
        subscribe_series(&provider, "before", &targets, subscribes),
    )
    .await;
    before.abort();
    let during_before = median(during_before);
    println!(
        "baseline: SUBSCRIBE while the drift check as before issue 20 runs (a GetStages per REST \
         API, foreground): median {} ({:.2}x idle) over {subscribes}; it made {} GetStages \
         beside them in {}",
        ms(during_before),
        during_before.as_secs_f64() / idle_median.as_secs_f64(),
        calls.get("GetStages").copied().unwrap_or(0),
        secs(time),
    );

    // For reference: SUBSCRIBE while foreground work runs (an ingest's 1,000 GetExports, up to
    // 16 at once): foreground calls share the budget first come, first served.
    let ingest = {
        let provider = provider.clone();
        tokio::spawn(async move {
            let _ = collect(provider.as_ref(), &DiscoverRequest::full(Selection::All)).await;
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ((during_ingest, _), _, _) = measured(
        &proxy,
        subscribe_series(&provider, "ingest", &targets, subscribes),
    )
    .await;
    ingest.abort();
    let during_ingest = median(during_ingest);
    println!(
        "reference: SUBSCRIBE while an ingest runs (foreground): median {} ({:.2}x idle) over \
         {subscribes}",
        ms(during_ingest),
        during_ingest.as_secs_f64() / idle_median.as_secs_f64(),
    );
}
