//! What the drift check costs in AWS calls (issue 20): the provider's `Inventory` against moto
//! behind the counting proxy, with lists cut into pages as AWS does.
//!
//! `cargo test -p federation-provider-aws-api-gateway --features testing --test drift_check`

use std::collections::BTreeMap;

use federation_core::drift::{DriftKind, IngestedApi, Ledger, compare, observe};
use federation_core::{DiscoverRequest, Selection, collect};
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::testing::{
    self, ProxyConfig, ThrottlingProxy, seed, shared_moto,
};

const REGION: &str = "us-east-1";
/// REST APIs in the fixture, one `prod` stage each.
const APIS: usize = 60;
/// REST APIs whose stage no usage plan names (ingested with `acceptApiWithoutUsagePlan` only).
const FREE: usize = 5;
/// Usage plans; each names a third of the stages.
const PLANS: usize = 3;
/// The proxy's page size: `GetRestApis` takes three pages, as 1,500 REST APIs would on AWS.
const PAGE: usize = 25;

fn provider(endpoint: &str, extra: &[(&str, &str)]) -> AwsApiGatewayProvider {
    AwsApiGatewayProvider::from_settings(&testing::provider_settings(endpoint, REGION, extra))
        .expect("valid test settings")
}

/// `APIS` REST APIs `api000..` with a `prod` stage, in `PLANS` usage plans, and `FREE` REST
/// APIs `free0..` with a `prod` stage in no plan; the plan ids.
async fn seed_account(client: &aws_sdk_apigateway::Client) -> Vec<String> {
    let ids: Vec<String> = (0..APIS).map(|i| format!("api{i:03}")).collect();
    for id in &ids {
        seed::rest_api(client, &format!("API {id}"), Some(id), &["prod"]).await;
    }
    for i in 0..FREE {
        let id = format!("free{i}");
        seed::rest_api(client, &format!("Free {i}"), Some(&id), &["prod"]).await;
    }
    let mut plans = Vec::new();
    for (p, chunk) in ids.chunks(APIS / PLANS).enumerate() {
        let mut spec = seed::PlanSpec::new(&format!("Plan {p}"));
        for id in chunk {
            spec = spec.stage(id, "prod");
        }
        plans.push(seed::usage_plan(client, &spec).await);
    }
    plans
}

/// Ingests everything and remembers it, as the connector does after an ingest.
async fn ingest(provider: &AwsApiGatewayProvider, expected: usize) -> Ledger {
    let apis = collect(provider, &DiscoverRequest::full(Selection::All))
        .await
        .expect("ingest");
    assert_eq!(apis.len(), expected);
    let mut ledger = Ledger::default();
    for api in &apis {
        ledger.record(IngestedApi::from_api(api, 0));
    }
    ledger
}

/// One drift check: the AWS calls it made, and the report's (kind, apiId) items.
async fn check(
    provider: &AwsApiGatewayProvider,
    proxy: &ThrottlingProxy,
    ledger: &Ledger,
) -> (BTreeMap<String, u64>, Vec<(DriftKind, String)>) {
    proxy.reset_counts();
    let (observed, _) = observe(provider, ledger, None).await;
    let report = compare(ledger, &observed);
    assert!(report.unchecked.is_empty(), "{:?}", report.unchecked);
    let mut items: Vec<(DriftKind, String)> = report
        .items
        .iter()
        .map(|i| (i.kind, i.api_id.clone().unwrap_or_default()))
        .collect();
    items.sort();
    (proxy.calls(), items)
}

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(op, n)| ((*op).to_owned(), *n)).collect()
}

/// Deletes two stages (AWS takes them out of their plans) and detaches two others from their
/// plan; the expected report, one item per change.
async fn change_four_stages(
    client: &aws_sdk_apigateway::Client,
    plans: &[String],
) -> Vec<(DriftKind, String)> {
    for gone in ["api001", "api025"] {
        seed::delete_stage(client, gone, "prod").await;
    }
    seed::detach_stage(client, &plans[0], "api002", "prod").await;
    seed::detach_stage(client, &plans[2], "api050", "prod").await;
    vec![
        (DriftKind::ApiGone, "api001:prod".to_owned()),
        (DriftKind::ApiGone, "api025:prod".to_owned()),
        (DriftKind::PlanRemoved, "api002:prod".to_owned()),
        (DriftKind::PlanRemoved, "api050:prod".to_owned()),
    ]
}

/// The page walks of an unchanged account: 3 `GetRestApis` pages, 1 `GetUsagePlans` page and
/// `GetApiKeys` (no key was issued, so no `GetUsagePlanKeys`).
const WALKS: [(&str, u64); 3] = [("GetApiKeys", 1), ("GetRestApis", 3), ("GetUsagePlans", 1)];

#[tokio::test]
async fn an_unchanged_account_costs_the_page_walks_and_each_changed_stage_one_get_stages() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let plans = seed_account(&client).await;
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().page_size(PAGE)).await;
    let provider = provider(&proxy.endpoint(), &[]);
    let ledger = ingest(&provider, APIS).await;

    // Nothing changed: no per-API call (before issue 20: one GetStages per REST API, 60 here).
    let (made, items) = check(&provider, &proxy, &ledger).await;
    assert_eq!(made, calls(&WALKS), "an unchanged account");
    assert_eq!(items, vec![], "no drift on an unchanged account");

    // Four stages changed: one GetStages for each changed REST API, each change named once.
    let expected = change_four_stages(&client, &plans).await;
    let (made, items) = check(&provider, &proxy, &ledger).await;
    let mut with_stages = calls(&WALKS);
    with_stages.insert("GetStages".to_owned(), 4);
    assert_eq!(made, with_stages, "four changed stages");
    assert_eq!(items, expected);

    // The four stage lists are in the stage cache now (`stageCacheMaxAgeSeconds`): the next
    // check reads them there.
    let (made, items) = check(&provider, &proxy, &ledger).await;
    assert_eq!(made, calls(&WALKS), "the stage lists came from the cache");
    assert_eq!(items, expected);
}

#[tokio::test]
async fn stage_lists_a_discovery_read_are_reused_unless_the_stage_left_its_plans() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let plans = seed_account(&client).await;
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().page_size(PAGE)).await;
    let accept = [("acceptApiWithoutUsagePlan", "true")];
    let provider = provider(&proxy.endpoint(), &accept);
    // The ingest lists every REST API's stages (and keeps the lists); the check right after
    // reads the free stages' lists there.
    let ledger = ingest(&provider, APIS + FREE).await;
    let (made, items) = check(&provider, &proxy, &ledger).await;
    assert_eq!(
        made,
        calls(&WALKS),
        "the free stages' lists came from the cache"
    );
    assert_eq!(items, vec![]);

    // Four stages change. The next DISCOVER reuses the lists it has (they are younger than
    // stageCacheMaxAgeSeconds), but the check knows which stages left the plans since it last
    // looked, and reads those four REST APIs' lists from AWS.
    let expected = change_four_stages(&client, &plans).await;
    proxy.reset_counts();
    collect(&provider, &DiscoverRequest::preview())
        .await
        .expect("discover");
    assert_eq!(proxy.count("GetStages"), 0, "the DISCOVER used the cache");
    let (made, items) = check(&provider, &proxy, &ledger).await;
    let mut changed = calls(&WALKS);
    changed.insert("GetStages".to_owned(), 4);
    assert_eq!(made, changed);
    assert_eq!(items, expected);

    // A restarted agent (nothing cached, no memory): its first DISCOVER reads every list, and
    // the check right after reuses all of them.
    let restarted = self::provider(&proxy.endpoint(), &accept);
    proxy.reset_counts();
    collect(&restarted, &DiscoverRequest::preview())
        .await
        .expect("discover");
    assert_eq!(proxy.count("GetStages"), (APIS + FREE) as u64);
    let (made, items) = check(&restarted, &proxy, &ledger).await;
    assert_eq!(
        made,
        calls(&WALKS),
        "every stage list came from the DISCOVER"
    );
    assert_eq!(items, expected);

    // With the cache off, every REST API with an ingested stage no plan names is asked: the
    // four changed ones and the five free ones.
    let mut pairs = accept.to_vec();
    pairs.push(("stageCacheMaxAgeSeconds", "0"));
    let uncached = self::provider(&proxy.endpoint(), &pairs);
    let (made, items) = check(&uncached, &proxy, &ledger).await;
    let mut all = calls(&WALKS);
    all.insert("GetStages".to_owned(), (4 + FREE) as u64);
    assert_eq!(made, all);
    assert_eq!(items, expected);
}
