//! The provider against moto (a real AWS emulator in server mode), one server for this test
//! binary, serialised and reset between tests.
//!
//! `cargo test -p federation-provider-aws-api-gateway --features testing`
//! (install moto first: `bash scripts/install-moto.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use federation_core::{
    Api, ApiSink, DiscoverRequest, PageType, PlanSecurityType, Provider, ProviderError, Selection,
    SkipReason, SkippedApi, Subscription, SubscriptionType, collect,
};
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::operator::{
    self, CheckOptions, CheckOutcome, DiscoverOptions,
};
use federation_provider_aws_api_gateway::testing::{
    self, ProxyConfig, ThrottlingProxy, seed, shared_moto,
};

const REGION: &str = "us-east-1";

/// A provider with a key per subscription (`apiKeyScope: subscription`): this file tests
/// those keys; one key per application is tested in `shared_keys.rs`.
fn provider(endpoint: &str, regions: &str, extra: &[(&str, &str)]) -> AwsApiGatewayProvider {
    let mut pairs = vec![("apiKeyScope", "subscription")];
    pairs.extend_from_slice(extra);
    AwsApiGatewayProvider::from_settings(&testing::provider_settings(endpoint, regions, &pairs))
        .expect("valid test settings")
}

fn ids(apis: &[Api]) -> BTreeSet<String> {
    apis.iter().map(|a| a.id.clone()).collect()
}

fn by_id(apis: &[Api]) -> BTreeMap<String, Api> {
    apis.iter().map(|a| (a.id.clone(), a.clone())).collect()
}

fn metadata(api: &Api) -> BTreeMap<String, String> {
    api.metadata
        .iter()
        .flatten()
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect()
}

fn subscription(id: &str, plan: &str) -> Subscription {
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        gravitee_application_id: Some("app-1".to_owned()),
        gravitee_application_name: Some("My App".to_owned()),
        subscription_type: Some(SubscriptionType::ApiKey),
        metadata: Some(
            [("planId".to_owned(), plan.to_owned())]
                .into_iter()
                .collect(),
        ),
    }
}

/// What UNSUBSCRIBE carries: the id and the metadata SUBSCRIBE returned.
fn unsubscription(id: &str, result_metadata: &federation_core::model::StringMap) -> Subscription {
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        metadata: Some(result_metadata.clone()),
        ..Subscription::default()
    }
}

/// The standard fixture:
/// - `pets1`: stages `prod` (in Gold and Silver) and `dev` (in no plan);
/// - `orders1`: stage `prod` (in Gold);
/// - `lonely1`: stage `prod` (in no plan);
/// - `draft1`: no stage.
struct Fixture {
    gold: String,
    silver: String,
}

async fn seed_fixture(client: &aws_sdk_apigateway::Client) -> Fixture {
    seed::rest_api_with(
        client,
        &seed::ApiSpec {
            name: "Pets",
            id: Some("pets1"),
            description: Some("Pet store"),
            stages: &["prod", "dev"],
        },
    )
    .await;
    seed::rest_api(client, "Orders", Some("orders1"), &["prod"]).await;
    seed::rest_api(client, "Lonely", Some("lonely1"), &["prod"]).await;
    seed::rest_api(client, "Draft", Some("draft1"), &[]).await;
    let gold = seed::usage_plan(
        client,
        &seed::PlanSpec::new("Gold")
            .description("For partners")
            .stage("pets1", "prod")
            .stage("orders1", "prod")
            .throttle(100.0, 200)
            .quota(5000, "MONTH"),
    )
    .await;
    let silver = seed::usage_plan(
        client,
        &seed::PlanSpec::new("Silver").stage("pets1", "prod"),
    )
    .await;
    Fixture { gold, silver }
}

#[tokio::test]
async fn discovery_in_usage_plan_mode_follows_the_mapping() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), REGION, &[]);

    let preview = collect(&provider, &DiscoverRequest::preview())
        .await
        .unwrap();
    let expected: BTreeSet<String> = ["orders1:prod", "pets1:prod"].map(String::from).into();
    assert_eq!(ids(&preview), expected);

    let full = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(ids(&full), expected);
    let apis = by_id(&full);
    let pets = &apis["pets1:prod"];
    assert_eq!(pets.unique_id, "us-east-1:pets1:prod");
    assert_eq!(pets.name, "Pets");
    assert_eq!(pets.version.as_deref(), Some("prod"));
    assert_eq!(pets.description.as_deref(), Some("Pet store"));
    assert_eq!(
        pets.connection_details.as_ref().unwrap()["url"],
        "https://pets1.execute-api.us-east-1.amazonaws.com/prod"
    );
    let plans: BTreeMap<_, _> = pets
        .plans
        .iter()
        .flatten()
        .map(|p| (p.id.clone(), p.clone()))
        .collect();
    assert_eq!(
        plans.keys().cloned().collect::<BTreeSet<_>>(),
        [fixture.gold.clone(), fixture.silver.clone()].into()
    );
    let gold = &plans[&fixture.gold];
    assert_eq!(gold.name, "Gold");
    assert_eq!(gold.description.as_deref(), Some("For partners"));
    assert_eq!(gold.plan_security_type, PlanSecurityType::ApiKey);
    assert_eq!(
        gold.characteristics.as_deref().unwrap(),
        ["rate 100/s", "burst 200", "quota 5000/MONTH"]
    );
    let pages = pets.pages.as_ref().unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].page_type, PageType::Swagger);
    assert_eq!(pages[0].filename.as_deref(), Some("Pets-prod-oas.json"));
    // moto exports Swagger 2.0 whatever the type asked: check it is the API's JSON document only.
    let doc: serde_json::Value = serde_json::from_str(&pages[0].content).unwrap();
    assert!(doc.get("paths").is_some(), "{doc}");
    assert_eq!(
        metadata(pets),
        [
            ("aws-api-gateway-region", "us-east-1"),
            ("aws-api-gateway-rest-api-id", "pets1"),
            ("aws-api-gateway-stage", "prod"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    );
    let orders = &apis["orders1:prod"];
    assert_eq!(orders.plans.as_ref().unwrap().len(), 1);

    // The preview carries the summary fields the controller reads, and no page.
    let preview_pets = by_id(&preview)["pets1:prod"].clone();
    assert_eq!(preview_pets.unique_id, pets.unique_id);
    assert_eq!(preview_pets.version.as_deref(), Some("prod"));
    assert!(preview_pets.pages.iter().flatten().next().is_none());
}

#[tokio::test]
async fn accept_api_without_usage_plan_adds_the_unplanned_stages() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    let provider = provider(
        &moto.endpoint(),
        REGION,
        &[("acceptApiWithoutUsagePlan", "true")],
    );
    let expected: BTreeSet<String> = ["lonely1:prod", "orders1:prod", "pets1:dev", "pets1:prod"]
        .map(String::from)
        .into();
    let preview = collect(&provider, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(ids(&preview), expected);
    let full = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(ids(&full), expected);
    let apis = by_id(&full);
    assert_eq!(apis["lonely1:prod"].plans.as_deref(), Some(&[][..]));
    assert_eq!(apis["pets1:dev"].plans.as_deref(), Some(&[][..]));
    assert_eq!(apis["pets1:dev"].pages.as_ref().unwrap().len(), 1);
    assert_eq!(apis["pets1:prod"].plans.as_ref().unwrap().len(), 2);
}

#[tokio::test]
async fn preview_and_selected_ingest_make_only_the_expected_calls() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;

    let plan_mode = provider(&proxy.endpoint(), REGION, &[]);
    collect(&plan_mode, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(
        proxy.calls(),
        [
            ("GetRestApis".to_owned(), 1),
            ("GetUsagePlans".to_owned(), 1)
        ]
        .into()
    );

    proxy.reset_counts();
    let accept = provider(
        &proxy.endpoint(),
        REGION,
        &[("acceptApiWithoutUsagePlan", "true")],
    );
    collect(&accept, &DiscoverRequest::preview()).await.unwrap();
    assert_eq!(
        proxy.calls(),
        [
            ("GetRestApis".to_owned(), 1),
            ("GetStages".to_owned(), 4),
            ("GetUsagePlans".to_owned(), 1)
        ]
        .into()
    );

    proxy.reset_counts();
    let only = Selection::Only(["pets1:prod".to_owned()].into());
    let selected = collect(&plan_mode, &DiscoverRequest::full(only))
        .await
        .unwrap();
    assert_eq!(ids(&selected), ["pets1:prod".to_owned()].into());
    // The usage plans name the stage: one call for the API, its export.
    assert_eq!(
        proxy.calls(),
        [
            ("GetExport".to_owned(), 1),
            ("GetRestApis".to_owned(), 1),
            ("GetUsagePlans".to_owned(), 1)
        ]
        .into()
    );
    proxy.reset_counts();
    let all = collect(&plan_mode, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(proxy.count("GetExport"), 2);
    assert_eq!(proxy.count("GetStages"), 0);

    // Unknown ids are skipped, without a call for them.
    proxy.reset_counts();
    let unknown = Selection::Only(["nope:prod".to_owned()].into());
    assert!(
        collect(&plan_mode, &DiscoverRequest::full(unknown))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(proxy.count("GetStages"), 0);
}

#[tokio::test]
async fn paging_is_followed_through_every_page() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let mut plan = seed::PlanSpec::new("All");
    for i in 0..5 {
        let id = format!("paged{i}");
        seed::rest_api(&client, &format!("Paged {i}"), Some(&id), &["prod"]).await;
        plan = plan.stage(&id, "prod");
    }
    for i in 0..2 {
        seed::usage_plan(&client, &seed::PlanSpec::new(&format!("Empty {i}"))).await;
    }
    let plan_id = seed::usage_plan(&client, &plan).await;
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().page_size(2)).await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);

    let preview = collect(&provider, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(preview.len(), 5, "{:?}", ids(&preview));
    assert_eq!(proxy.count("GetRestApis"), 3, "5 APIs in pages of 2");
    assert_eq!(proxy.count("GetUsagePlans"), 2, "3 plans in pages of 2");
    for api in &preview {
        assert_eq!(api.plans.as_ref().unwrap()[0].id, plan_id);
    }

    // The name lookup of subscribe pages too: put the wanted key on the last page.
    for i in 0..3 {
        client
            .create_api_key()
            .name(format!("gravitee-sub-page-{i}"))
            .send()
            .await
            .unwrap();
    }
    let first = provider
        .subscribe("paged0:prod", &subscription("sub-page", &plan_id))
        .await
        .unwrap();
    let restarted = self::provider(&proxy.endpoint(), REGION, &[]);
    proxy.reset_counts();
    let again = restarted
        .subscribe("paged0:prod", &subscription("sub-page", &plan_id))
        .await
        .unwrap();
    assert_eq!(again.api_key, first.api_key);
    assert_eq!(proxy.count("CreateApiKey"), 0);
}

#[tokio::test]
async fn throttled_discovery_still_returns_every_api() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let mut plan = seed::PlanSpec::new("All");
    for i in 0..12 {
        let id = format!("busy{i}");
        seed::rest_api(&client, &format!("Busy {i}"), Some(&id), &["prod"]).await;
        plan = plan.stage(&id, "prod");
    }
    seed::usage_plan(&client, &plan).await;
    // One request in three gets a 429.
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().failing(3, 1).retry_after("0.05"),
    )
    .await;
    let provider = provider(&proxy.endpoint(), REGION, &[("maxRetries", "20")]);
    let full = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(full.len(), 12);
    assert!(
        full.iter().all(|a| a.pages.as_ref().unwrap().len() == 1),
        "no page lost"
    );
    // 14 calls succeeded (GetRestApis, GetUsagePlans, 12 GetExport): one request in three was
    // refused on the way.
    assert_eq!(proxy.total() - proxy.throttled(), 14, "{:?}", proxy.calls());
    assert!(proxy.throttled() >= 6, "{:?}", proxy.throttled_calls());
}

#[tokio::test]
async fn retry_after_is_honoured_and_persistent_throttling_is_an_error() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    // Every other request is throttled with Retry-After: 1.
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().failing(2, 1)).await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    let start = Instant::now();
    let preview = collect(&provider, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(preview.len(), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}, less than Retry-After",
        start.elapsed()
    );

    proxy.set_config(ProxyConfig::counting().failing(1, 1).retry_after("0"));
    let stubborn = self::provider(&proxy.endpoint(), REGION, &[("maxRetries", "2")]);
    let err = collect(&stubborn, &DiscoverRequest::preview())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Throttled(_)), "{err:?}");
    assert!(
        err.to_string().contains("TooManyRequestsException"),
        "{err}"
    );
}

#[tokio::test]
async fn subscribe_creates_an_enabled_key_attached_to_the_plan_and_revoke_deletes_it() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), REGION, &[]);

    let result = provider
        .subscribe("pets1:prod", &subscription("sub-1", &fixture.gold))
        .await
        .unwrap();
    assert_eq!(result.gravitee_subscription_id, "sub-1");
    let metadata = result.metadata.clone().unwrap();
    assert_eq!(metadata["usagePlanId"], fixture.gold);
    assert_eq!(metadata["region"], REGION);
    let key_id = metadata["apiKeyId"].clone();
    let key = client
        .get_api_key()
        .api_key(&key_id)
        .include_value(true)
        .send()
        .await
        .unwrap();
    assert!(key.enabled());
    assert_eq!(key.name(), Some("gravitee-sub-1"));
    assert!(key.description().unwrap().contains("My App"));
    assert_eq!(key.value(), result.api_key.as_ref().map(|k| k.expose()));
    assert!(
        !format!("{result:?}").contains(key.value().unwrap()),
        "key value in Debug"
    );
    let attached = client
        .get_usage_plan_keys()
        .usage_plan_id(&fixture.gold)
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .items()
            .iter()
            .any(|k| k.id() == Some(key_id.as_str()))
    );
    let plans_of_key = client
        .get_usage_plans()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(plans_of_key.items().len(), 1);

    provider
        .revoke("pets1:prod", &unsubscription("sub-1", &metadata))
        .await
        .unwrap();
    let gone = client.get_api_key().api_key(&key_id).send().await;
    assert!(gone.is_err(), "key still exists");
    // Revoking again (a retried UNSUBSCRIBE) succeeds.
    provider
        .revoke("pets1:prod", &unsubscription("sub-1", &metadata))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_same_subscription_twice_leaves_one_key() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), REGION, &[]);
    let sub = subscription("sub-twice", &fixture.gold);

    let first = provider.subscribe("pets1:prod", &sub).await.unwrap();
    let second = provider.subscribe("pets1:prod", &sub).await.unwrap();
    assert_eq!(first, second);
    // Concurrent deliveries of another subscription.
    let racing = subscription("sub-race", &fixture.gold);
    let (a, b) = tokio::join!(
        provider.subscribe("pets1:prod", &racing),
        provider.subscribe("pets1:prod", &racing)
    );
    assert_eq!(a.unwrap(), b.unwrap());
    // A restarted agent finds the key by name.
    let restarted = self::provider(&moto.endpoint(), REGION, &[]);
    let third = restarted.subscribe("pets1:prod", &sub).await.unwrap();
    assert_eq!(third.api_key, first.api_key);
    assert_eq!(third.metadata, first.metadata);

    for name in ["gravitee-sub-twice", "gravitee-sub-race"] {
        let keys = client.get_api_keys().name_query(name).send().await.unwrap();
        let exact = keys
            .items()
            .iter()
            .filter(|k| k.name() == Some(name))
            .count();
        assert_eq!(exact, 1, "{name}");
    }
}

#[tokio::test]
async fn denied_key_lookup_falls_back_to_the_process_cache() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    // The seed's minimum policy: no GET /apikeys.
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().deny("GetApiKeys")).await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    let sub = subscription("sub-min-policy", &fixture.gold);
    let first = provider.subscribe("pets1:prod", &sub).await.unwrap();
    let second = provider.subscribe("pets1:prod", &sub).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(proxy.count("CreateApiKey"), 1);
    assert_eq!(
        proxy.count("GetApiKeys"),
        1,
        "asked once, then remembered as denied"
    );
}

#[tokio::test]
async fn failed_attach_deletes_the_new_key_and_names_the_cause() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().deny("CreateUsagePlanKey"),
    )
    .await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    let err = provider
        .subscribe("pets1:prod", &subscription("sub-attach", &fixture.gold))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err:?}");
    assert!(
        text.contains(&format!(
            "apigateway:POST on arn:aws:apigateway:us-east-1::/usageplans/{}/keys",
            fixture.gold
        )),
        "{text}"
    );
    assert!(text.contains("deleted"), "{text}");
    assert_eq!(proxy.count("DeleteApiKey"), 1);
    let left = client
        .get_api_keys()
        .name_query("gravitee-sub-attach")
        .send()
        .await
        .unwrap();
    assert!(left.items().is_empty(), "the key was left behind");
}

#[tokio::test]
async fn denied_create_names_the_iam_action() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().deny("CreateApiKey"),
    )
    .await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    let err = provider
        .subscribe("pets1:prod", &subscription("sub-denied", &fixture.gold))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("apigateway:POST on arn:aws:apigateway:us-east-1::/apikeys"),
        "{err}"
    );
}

/// Only `API_KEY` subscriptions reach `subscribe`: the connector checks the type against
/// `capabilities()` first.
#[tokio::test]
async fn a_subscription_without_a_plan_is_rejected() {
    let moto = shared_moto().await;
    let provider = provider(&moto.endpoint(), REGION, &[]);
    assert_eq!(
        provider.capabilities().subscription_types,
        [SubscriptionType::ApiKey]
    );

    let mut no_plan = subscription("sub-no-plan", "");
    no_plan.metadata = None;
    let err = provider
        .subscribe("pets1:prod", &no_plan)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("planId"), "{err}");
}

#[tokio::test]
async fn several_regions_are_discovered_and_subscriptions_routed_by_region() {
    let moto = shared_moto().await;
    let eu = testing::client(&moto.endpoint(), "eu-west-1").await;
    let us = testing::client(&moto.endpoint(), REGION).await;
    seed::rest_api(&eu, "Euro", Some("euro1"), &["prod"]).await;
    seed::rest_api(&us, "Yankee", Some("yank1"), &["prod"]).await;
    let eu_plan = seed::usage_plan(&eu, &seed::PlanSpec::new("EU").stage("euro1", "prod")).await;
    seed::usage_plan(&us, &seed::PlanSpec::new("US").stage("yank1", "prod")).await;
    let provider = provider(&moto.endpoint(), "eu-west-1,us-east-1", &[]);

    let apis = by_id(
        &collect(&provider, &DiscoverRequest::full(Selection::All))
            .await
            .unwrap(),
    );
    assert_eq!(apis.len(), 2);
    assert_eq!(apis["euro1:prod"].unique_id, "eu-west-1:euro1:prod");
    assert_eq!(
        metadata(&apis["euro1:prod"])["aws-api-gateway-region"],
        "eu-west-1"
    );
    assert_eq!(apis["yank1:prod"].unique_id, "us-east-1:yank1:prod");

    // As the controller sends it: connection details and the plan (APIM < 4.9 has no provider
    // metadata), so the region comes from the invoke URL.
    let mut sub = subscription("sub-eu", &eu_plan);
    sub.metadata.as_mut().unwrap().insert(
        "url".to_owned(),
        apis["euro1:prod"].connection_details.as_ref().unwrap()["url"].clone(),
    );
    let result = provider.subscribe("euro1:prod", &sub).await.unwrap();
    let metadata = result.metadata.unwrap();
    assert_eq!(metadata["region"], "eu-west-1");
    eu.get_api_key()
        .api_key(&metadata["apiKeyId"])
        .send()
        .await
        .unwrap();
    assert!(
        us.get_api_key()
            .api_key(&metadata["apiKeyId"])
            .send()
            .await
            .is_err()
    );
    provider
        .revoke("euro1:prod", &unsubscription("sub-eu", &metadata))
        .await
        .unwrap();
    assert!(
        eu.get_api_key()
            .api_key(&metadata["apiKeyId"])
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn assumed_roles_discover_other_accounts() {
    let moto = shared_moto().await;
    let role_a = "arn:aws:iam::111122223333:role/agent";
    let role_b = "arn:aws:iam::444455556666:role/agent";
    let home = testing::client(&moto.endpoint(), REGION).await;
    let a = testing::client_for_role(&moto.endpoint(), REGION, role_a).await;
    let b = testing::client_for_role(&moto.endpoint(), REGION, role_b).await;
    seed::rest_api(&home, "Home", Some("home1"), &["prod"]).await;
    seed::usage_plan(&home, &seed::PlanSpec::new("Home").stage("home1", "prod")).await;
    seed::rest_api(&a, "Alpha", Some("alpha1"), &["prod"]).await;
    let plan_a = seed::usage_plan(&a, &seed::PlanSpec::new("A").stage("alpha1", "prod")).await;
    seed::rest_api(&b, "Beta", Some("beta1"), &["prod"]).await;
    seed::usage_plan(&b, &seed::PlanSpec::new("B").stage("beta1", "prod")).await;

    let roles = format!("{role_a},{role_b}");
    let provider = provider(&moto.endpoint(), REGION, &[("roleArn", &roles)]);
    let apis = by_id(
        &collect(&provider, &DiscoverRequest::full(Selection::All))
            .await
            .unwrap(),
    );
    assert_eq!(
        apis.keys().cloned().collect::<BTreeSet<_>>(),
        ["alpha1:prod", "beta1:prod"].map(String::from).into(),
        "the agent's own account is not walked when roles are set"
    );
    assert_eq!(
        apis["alpha1:prod"].unique_id,
        "111122223333:us-east-1:alpha1:prod"
    );
    assert_eq!(
        metadata(&apis["beta1:prod"])["aws-api-gateway-account"],
        "444455556666"
    );

    // APIM 4.9+ copies provider metadata (keys containing the provider type) into SUBSCRIBE.
    let mut sub = subscription("sub-alpha", &plan_a);
    let md = sub.metadata.as_mut().unwrap();
    for (k, v) in metadata(&apis["alpha1:prod"]) {
        md.insert(k, v);
    }
    let result = provider.subscribe("alpha1:prod", &sub).await.unwrap();
    let metadata = result.metadata.unwrap();
    assert_eq!(metadata["account"], "111122223333");
    assert_eq!(metadata["roleArn"], role_a);
    a.get_api_key()
        .api_key(&metadata["apiKeyId"])
        .send()
        .await
        .unwrap();
    assert!(
        home.get_api_key()
            .api_key(&metadata["apiKeyId"])
            .send()
            .await
            .is_err()
    );

    // Without account metadata (APIM < 4.9), the plan id finds the account.
    let fresh = self::provider(&moto.endpoint(), REGION, &[("roleArn", &roles)]);
    let routed = fresh
        .subscribe("alpha1:prod", &subscription("sub-alpha-2", &plan_a))
        .await
        .unwrap();
    assert_eq!(routed.metadata.as_ref().unwrap()["account"], "111122223333");

    provider
        .revoke("alpha1:prod", &unsubscription("sub-alpha", &metadata))
        .await
        .unwrap();
    assert!(
        a.get_api_key()
            .api_key(&metadata["apiKeyId"])
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn discovery_stops_when_the_receiver_goes_away() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let mut plan = seed::PlanSpec::new("All");
    for i in 0..10 {
        let id = format!("stop{i}");
        seed::rest_api(&client, &format!("Stop {i}"), Some(&id), &["prod"]).await;
        plan = plan.stage(&id, "prod");
    }
    seed::usage_plan(&client, &plan).await;
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let provider = provider(&proxy.endpoint(), REGION, &[("maxConcurrency", "1")]);
    let (sink, mut rx) = ApiSink::channel(1);
    let walk = tokio::spawn(async move {
        provider
            .discover(&DiscoverRequest::full(Selection::All), &sink)
            .await
    });
    let first = rx.recv().await.unwrap();
    assert!(first.id.starts_with("stop"));
    drop(rx);
    let result = tokio::time::timeout(Duration::from_secs(10), walk)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(result, Err(ProviderError::Cancelled) | Ok(())),
        "{result:?}"
    );
    assert!(proxy.count("GetExport") < 10, "{:?}", proxy.calls());
}

#[tokio::test]
async fn stage_lists_are_reused_by_the_next_discovery() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let accept = provider(
        &proxy.endpoint(),
        REGION,
        &[("acceptApiWithoutUsagePlan", "true")],
    );
    let first = collect(&accept, &DiscoverRequest::preview()).await.unwrap();
    assert_eq!(proxy.count("GetStages"), 4);

    proxy.reset_counts();
    let second = collect(&accept, &DiscoverRequest::preview()).await.unwrap();
    assert_eq!(ids(&second), ids(&first));
    assert_eq!(proxy.count("GetStages"), 0, "{:?}", proxy.calls());

    // Ingest reuses the lists too: one call per stage.
    proxy.reset_counts();
    let full = collect(&accept, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(ids(&full), ids(&first));
    assert_eq!(proxy.count("GetStages"), 0);
    assert_eq!(proxy.count("GetExport"), 4);
    assert!(full.iter().all(|a| a.pages.as_ref().unwrap().len() == 1));

    // A new REST API is listed on the next discovery; the others come from the cache.
    seed::rest_api(&client, "Late", Some("late1"), &["prod"]).await;
    proxy.reset_counts();
    let third = collect(&accept, &DiscoverRequest::preview()).await.unwrap();
    assert!(ids(&third).contains("late1:prod"));
    assert_eq!(proxy.count("GetStages"), 1);

    // `stageCacheMaxAgeSeconds: 0` keeps nothing.
    let uncached = provider(
        &proxy.endpoint(),
        REGION,
        &[
            ("acceptApiWithoutUsagePlan", "true"),
            ("stageCacheMaxAgeSeconds", "0"),
        ],
    );
    for _ in 0..2 {
        proxy.reset_counts();
        collect(&uncached, &DiscoverRequest::preview())
            .await
            .unwrap();
        assert_eq!(proxy.count("GetStages"), 5);
    }
}

/// Runs a discovery to its end: the APIs emitted and the ones the provider left out
/// (`ApiSink::skip`), as the connector receives them.
async fn discover_with_skips(
    provider: &AwsApiGatewayProvider,
    request: &DiscoverRequest,
) -> (Vec<Api>, Vec<SkippedApi>) {
    let (sink, mut apis, mut skipped) = ApiSink::channel_with_skips(64);
    let work = async move {
        let result = provider.discover(request, &sink).await;
        drop(sink);
        result
    };
    let drain = async move {
        let mut out = Vec::new();
        while let Some(api) = apis.recv().await {
            out.push(api);
        }
        out
    };
    let (result, apis) = tokio::join!(work, drain);
    result.expect("the discovery itself succeeds");
    let mut skips = Vec::new();
    while let Ok(skip) = skipped.try_recv() {
        skips.push(skip);
    }
    (apis, skips)
}

#[tokio::test]
async fn a_stage_gone_since_it_was_listed_is_left_out_and_named() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    // moto exports deleted stages; the proxy answers them with AWS's NotFoundException.
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().check_stages()).await;
    let accept = provider(
        &proxy.endpoint(),
        REGION,
        &[("acceptApiWithoutUsagePlan", "true")],
    );
    let preview = collect(&accept, &DiscoverRequest::preview()).await.unwrap();
    assert!(ids(&preview).contains("pets1:dev"));
    client
        .delete_stage()
        .rest_api_id("pets1")
        .stage_name("dev")
        .send()
        .await
        .unwrap();

    // The cached list still names `dev`: its export answers NotFound; it is left out (never
    // sent with `pages: []`, which would wipe its pages in APIM) and named as gone.
    proxy.reset_counts();
    let only = Selection::Only(["pets1:dev".to_owned(), "pets1:prod".to_owned()].into());
    let (full, skipped) = discover_with_skips(&accept, &DiscoverRequest::full(only)).await;
    assert_eq!(proxy.count("GetStages"), 0);
    assert_eq!(ids(&full), ["pets1:prod".to_owned()].into());
    assert_eq!(full[0].pages.as_ref().unwrap().len(), 1);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].id, "pets1:dev");
    assert_eq!(skipped[0].name.as_deref(), Some("Pets"));
    assert_eq!(skipped[0].reason, SkipReason::Gone);
    assert!(
        skipped[0].detail.contains("not found"),
        "{}",
        skipped[0].detail
    );

    // Usage-plan mode: a stage a plan names is not listed first; when it is gone, same outcome.
    client
        .delete_stage()
        .rest_api_id("orders1")
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    let plan_mode = provider(&proxy.endpoint(), REGION, &[]);
    proxy.reset_counts();
    let (full, skipped) =
        discover_with_skips(&plan_mode, &DiscoverRequest::full(Selection::All)).await;
    assert_eq!(proxy.count("GetStages"), 0);
    assert!(!ids(&full).contains("orders1:prod"));
    assert_eq!(by_id(&full)["pets1:prod"].pages.as_ref().unwrap().len(), 1);
    let skipped: Vec<_> = skipped.iter().map(|s| (s.id.as_str(), s.reason)).collect();
    assert_eq!(skipped, [("orders1:prod", SkipReason::Gone)]);

    // The operator tool lists the stages afresh and explains.
    let report = operator::discover_with(&accept, &DiscoverOptions::default())
        .await
        .unwrap();
    assert!(
        !ids(&report.apis).contains("pets1:dev"),
        "{:?}",
        ids(&report.apis)
    );
}

#[tokio::test]
async fn a_failed_export_leaves_the_stage_out_and_the_operator_tool_says_why() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    // Every attempt at pets1/prod's export gets AWS's 503.
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().unavailable("/restapis/pets1/stages/prod/exports"),
    )
    .await;
    let aws = provider(&proxy.endpoint(), REGION, &[("maxRetries", "1")]);
    let (full, skipped) = discover_with_skips(&aws, &DiscoverRequest::full(Selection::All)).await;
    assert_eq!(ids(&full), ["orders1:prod".to_owned()].into());
    assert_eq!(
        proxy.count("GetExport"),
        3,
        "one for orders1, two tries for pets1"
    );
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(
        (skipped[0].id.as_str(), skipped[0].reason),
        ("pets1:prod", SkipReason::ReadFailed)
    );
    assert!(
        skipped[0].detail.contains("GetExport in us-east-1 failed"),
        "{}",
        skipped[0].detail
    );

    let report = operator::discover_with(
        &aws,
        &DiscoverOptions {
            full: true,
            only: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(ids(&report.apis), ["orders1:prod".to_owned()].into());
    let why = report
        .skipped
        .iter()
        .find(|s| s.rest_api_id == "pets1" && s.stage.as_deref() == Some("prod"))
        .unwrap_or_else(|| panic!("pets1 prod is not among the skipped: {:?}", report.skipped))
        .reason
        .clone();
    assert!(
        why.contains("OpenAPI export of stage prod of API Pets failed"),
        "{why}"
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(report.to_table().contains("GetExport in us-east-1 failed"));
}

#[tokio::test]
async fn a_discovery_cut_short_is_continued_by_the_next() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    for i in 0..12 {
        let id = format!("cut{i:02}");
        seed::rest_api(&client, &format!("Cut {i}"), Some(&id), &["prod"]).await;
    }
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let accept = provider(
        &proxy.endpoint(),
        REGION,
        &[
            ("acceptApiWithoutUsagePlan", "true"),
            ("maxConcurrency", "1"),
        ],
    );
    // The connector's deadline: it stops receiving, then drops the walk.
    let (sink, mut rx) = ApiSink::channel(1);
    let request = DiscoverRequest::preview();
    let walk = accept.discover(&request, &sink);
    let received = {
        let receive = async {
            let mut got = Vec::new();
            while got.len() < 3 {
                got.push(rx.recv().await.unwrap().id);
            }
            got
        };
        tokio::select! {
            got = receive => got,
            result = walk => panic!("the walk ended before the cut: {result:?}"),
        }
    };
    drop(rx);
    assert!(proxy.count("GetStages") < 12, "the cut left work");

    let second = collect(&accept, &DiscoverRequest::preview()).await.unwrap();
    assert_eq!(second.len(), 12, "complete: {:?}", ids(&second));
    // Over both walks, each REST API was listed once, plus at most the one call in flight
    // (`maxConcurrency: 1`) when the first walk was dropped. Without the cache the APIs received
    // before the cut would be listed again (15 or more).
    let total = proxy.count("GetStages") as usize;
    assert!(
        total <= 12 + 1,
        "the {} APIs received before the cut were listed again ({total} GetStages)",
        received.len()
    );
}

#[tokio::test]
async fn operator_discover_explains_skipped_stages() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    seed::usage_plan(
        &client,
        &seed::PlanSpec::new("Ghost").stage("ghost1", "prod"),
    )
    .await;
    let settings = testing::provider_settings(&moto.endpoint(), REGION, &[]);
    let report = operator::discover(&settings, &DiscoverOptions::default())
        .await
        .unwrap();
    assert_eq!(
        ids(&report.apis),
        ["orders1:prod", "pets1:prod"].map(String::from).into()
    );
    let reason = |api: &str, stage: Option<&str>| {
        report
            .skipped
            .iter()
            .find(|s| s.rest_api_id == api && s.stage.as_deref() == stage)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("no reason for {api} {stage:?}: {:?}", report.skipped))
    };
    assert!(reason("pets1", Some("dev")).contains("acceptApiWithoutUsagePlan=true"));
    assert!(reason("lonely1", Some("prod")).contains("has no usage plan"));
    assert!(reason("draft1", None).contains("no deployed stage"));
    assert!(reason("ghost1", Some("prod")).contains("does not exist"));
    let table = report.to_table();
    assert!(
        table.contains("stage dev of API Pets has no usage plan"),
        "{table}"
    );
    assert!(table.contains("pets1:prod"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&report.render(operator::OutputFormat::Json)).unwrap();
    assert_eq!(json["apis"].as_array().unwrap().len(), 2);

    let full = operator::discover(
        &settings,
        &DiscoverOptions {
            full: true,
            only: vec![],
        },
    )
    .await
    .unwrap();
    assert!(
        full.apis
            .iter()
            .all(|a| a.pages.as_ref().unwrap().len() == 1)
    );
}

#[tokio::test]
async fn operator_check_reports_allowed_and_denied_actions() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    seed_fixture(&client).await;
    // With AWS's answers to a detach of a key not in the plan (moto's is a 500).
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting()
            .deny("GetUsagePlans")
            .usage_plan_rules(),
    )
    .await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    let report = operator::check_with(&provider, CheckOptions::default()).await;
    let outcome = |op: &str| {
        report
            .rows
            .iter()
            .find(|r| r.operation == op)
            .map(|r| r.outcome.clone())
            .unwrap_or_else(|| panic!("no row for {op}: {report:?}"))
    };
    for op in [
        "GetRestApis",
        "GetStages",
        "GetExport",
        "CreateUsagePlanKey",
        "DeleteApiKey",
        "GetApiKeys",
        "DeleteUsagePlanKey",
    ] {
        assert_eq!(outcome(op), CheckOutcome::Allowed, "{op}");
    }
    assert!(matches!(
        outcome("GetUsagePlans"),
        CheckOutcome::Denied { .. }
    ));
    assert!(matches!(
        outcome("CreateApiKey"),
        CheckOutcome::Untested { .. }
    ));
    assert!(!report.ok());
    let table = report.to_table();
    assert!(
        table.contains("add apigateway:GET on arn:aws:apigateway:us-east-1::/usageplans"),
        "{table}"
    );
    assert_eq!(
        proxy.count("CreateApiKey"),
        0,
        "no write without write probes"
    );

    proxy.set_config(ProxyConfig::counting().usage_plan_rules());
    let with_writes = operator::check_with(&provider, CheckOptions { write_probes: true }).await;
    assert!(with_writes.ok(), "{}", with_writes.to_table());
    let leftover = client
        .get_api_keys()
        .name_query("gravitee-agent-check")
        .send()
        .await
        .unwrap();
    assert!(leftover.items().is_empty(), "the probe key was left behind");
}

/// The counters of this test binary, through `metrics-util`'s debugging recorder, read as
/// `name{k=v,…}` (labels sorted).
mod counters {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

    struct Counters {
        snapshotter: Snapshotter,
        /// The totals so far: each snapshot hands out what was counted since the previous one.
        totals: Mutex<HashMap<String, u64>>,
    }

    fn counters() -> &'static Counters {
        static COUNTERS: OnceLock<Counters> = OnceLock::new();
        COUNTERS.get_or_init(|| {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            recorder
                .install()
                .expect("no other recorder in this test binary");
            Counters {
                snapshotter,
                totals: Mutex::default(),
            }
        })
    }

    /// Installs the recorder (idempotent).
    pub(crate) fn install() {
        counters();
    }

    /// The counter's value, `0` when never recorded.
    pub(crate) fn get(rendered: &str) -> u64 {
        let counters = counters();
        let mut totals = counters.totals.lock().expect("counters lock");
        for (key, _, _, value) in counters.snapshotter.snapshot().into_vec() {
            if let DebugValue::Counter(count) = value {
                let key = key.key();
                let mut labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                labels.sort();
                *totals
                    .entry(format!("{}{{{}}}", key.name(), labels.join(",")))
                    .or_default() += count;
            }
        }
        totals.get(rendered).copied().unwrap_or(0)
    }
}

/// The ids of the keys named exactly `name`.
async fn keys_named(client: &aws_sdk_apigateway::Client, name: &str) -> Vec<String> {
    client
        .get_api_keys()
        .name_query(name)
        .send()
        .await
        .expect("GetApiKeys")
        .items()
        .iter()
        .filter(|k| k.name() == Some(name))
        .filter_map(|k| k.id().map(str::to_owned))
        .collect()
}

async fn detach_stage(client: &aws_sdk_apigateway::Client, plan: &str, api_id: &str) {
    use aws_sdk_apigateway::types::{Op, PatchOperation};
    client
        .update_usage_plan()
        .usage_plan_id(plan)
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Remove)
                .path("/apiStages")
                .value(api_id)
                .build(),
        )
        .send()
        .await
        .expect("UpdateUsagePlan");
}

const REFUSED: &str = "federation_aws_subscriptions_refused_total";

#[tokio::test]
async fn a_stage_detached_from_the_plan_gets_no_key_and_an_actionable_error() {
    counters::install();
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    // orders1:prod was ingested with Gold, then detached from Gold in AWS.
    detach_stage(&client, &fixture.gold, "orders1:prod").await;
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    let before = counters::get(&format!("{REFUSED}{{reason=stage_not_in_plan}}"));

    let err = provider
        .subscribe("orders1:prod", &subscription("sub-detached", &fixture.gold))
        .await
        .unwrap_err();
    let text = err.to_string();
    for part in [
        "`Gold`",
        fixture.gold.as_str(),
        "stage prod of REST API orders1",
        "the stage is no longer in this usage plan: remove the Gravitee plan or re-attach the stage",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    // A stage never in the plan (pets1:dev) and a plan of another stage (Silver) likewise.
    let err = provider
        .subscribe("pets1:dev", &subscription("sub-dev", &fixture.gold))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("stage dev of REST API pets1"),
        "{err}"
    );
    let err = provider
        .subscribe("orders1:prod", &subscription("sub-silver", &fixture.silver))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`Silver`"), "{err}");

    assert_eq!(proxy.count("CreateApiKey"), 0, "a key was created");
    assert_eq!(proxy.count("CreateUsagePlanKey"), 0);
    for name in [
        "gravitee-sub-detached",
        "gravitee-sub-dev",
        "gravitee-sub-silver",
    ] {
        assert!(keys_named(&client, name).await.is_empty(), "{name} exists");
    }
    assert_eq!(
        counters::get(&format!("{REFUSED}{{reason=stage_not_in_plan}}")) - before,
        3
    );
    // The plans were listed once, then again once for each miss: never more than one refresh.
    assert!(proxy.count("GetUsagePlans") <= 4, "{:?}", proxy.calls());

    // A covered stage still subscribes, from the cached plans.
    let calls = proxy.count("GetUsagePlans");
    provider
        .subscribe("pets1:prod", &subscription("sub-ok", &fixture.gold))
        .await
        .unwrap();
    assert_eq!(proxy.count("GetUsagePlans"), calls, "the plans are cached");
}

#[tokio::test]
async fn a_stage_attached_again_is_seen_after_one_refresh() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), REGION, &[]);
    // Caches the plans: Gold without pets1:dev.
    provider
        .subscribe("pets1:prod", &subscription("sub-first", &fixture.gold))
        .await
        .unwrap();
    use aws_sdk_apigateway::types::{Op, PatchOperation};
    client
        .update_usage_plan()
        .usage_plan_id(&fixture.gold)
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Add)
                .path("/apiStages")
                .value("pets1:dev")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let result = provider
        .subscribe("pets1:dev", &subscription("sub-dev-now", &fixture.gold))
        .await
        .unwrap();
    assert!(result.api_key.is_some());
}

#[tokio::test]
async fn a_malformed_api_id_an_unknown_plan_or_a_gone_rest_api_creates_nothing() {
    counters::install();
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    let gone_before = counters::get(&format!("{REFUSED}{{reason=api_not_found}}"));
    let malformed_before = counters::get(&format!("{REFUSED}{{reason=invalid_api_id}}"));

    for api_id in ["pets1", "pets1:", ":prod", ""] {
        let err = provider
            .subscribe(api_id, &subscription("sub-bad-id", &fixture.gold))
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::InvalidRequest(_)), "{err:?}");
        assert!(err.to_string().contains("{restApiId}:{stage}"), "{err}");
    }
    let err = provider
        .subscribe("pets1:prod", &subscription("sub-no-plan", "nosuchplan"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("nosuchplan"), "{err}");

    // The REST API is deleted; moto (unlike AWS) keeps it in the usage plan.
    client
        .delete_rest_api()
        .rest_api_id("orders1")
        .send()
        .await
        .unwrap();
    let err = provider
        .subscribe("orders1:prod", &subscription("sub-gone", &fixture.gold))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("REST API orders1 or its stage prod (orders1:prod) no longer exists"),
        "{err}"
    );

    assert_eq!(proxy.count("CreateApiKey"), 0, "a key was created");
    assert_eq!(
        counters::get(&format!("{REFUSED}{{reason=api_not_found}}")) - gone_before,
        1
    );
    assert_eq!(
        counters::get(&format!("{REFUSED}{{reason=invalid_api_id}}")) - malformed_before,
        4
    );
}

#[tokio::test]
async fn unsubscribe_closes_a_key_whose_stage_left_the_plan() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), REGION, &[]);
    let result = provider
        .subscribe("orders1:prod", &subscription("sub-stale", &fixture.gold))
        .await
        .unwrap();
    let metadata = result.metadata.clone().unwrap();
    detach_stage(&client, &fixture.gold, "orders1:prod").await;
    client
        .delete_rest_api()
        .rest_api_id("orders1")
        .send()
        .await
        .unwrap();
    // A fresh process (no memory of the key), an apiId that no longer resolves.
    let other = self::provider(&moto.endpoint(), REGION, &[]);
    other
        .revoke("orders1:prod", &unsubscription("sub-stale", &metadata))
        .await
        .unwrap();
    assert!(keys_named(&client, "gravitee-sub-stale").await.is_empty());
    other
        .revoke("garbage", &unsubscription("sub-stale", &metadata))
        .await
        .unwrap();
}

#[tokio::test]
async fn two_replicas_racing_on_one_subscription_keep_one_key() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    // Two processes: no shared memory, only AWS.
    let a = provider(&moto.endpoint(), REGION, &[]);
    let b = provider(&moto.endpoint(), REGION, &[]);
    for i in 0..8 {
        let sub = subscription(&format!("sub-race-{i}"), &fixture.gold);
        let (ra, rb) = tokio::join!(
            a.subscribe("pets1:prod", &sub),
            b.subscribe("pets1:prod", &sub)
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ra, rb, "both replicas reply with the same key ({i})");
        let key_id = ra.metadata.as_ref().unwrap()["apiKeyId"].clone();
        let name = format!("gravitee-sub-race-{i}");
        assert_eq!(
            keys_named(&client, &name).await,
            vec![key_id.clone()],
            "{name}"
        );
        let plans = client
            .get_usage_plans()
            .key_id(&key_id)
            .send()
            .await
            .unwrap();
        assert_eq!(plans.items().len(), 1, "the winner is attached");
    }
}

#[tokio::test]
async fn keys_left_by_an_earlier_race_converge_and_unsubscribe_removes_them_all() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    // Two keys with the subscription's name, as two replicas of an older agent left them.
    let mut made = Vec::new();
    for _ in 0..2 {
        let key = client
            .create_api_key()
            .name("gravitee-sub-left")
            .enabled(true)
            .send()
            .await
            .unwrap();
        made.push((
            key.id().unwrap().to_owned(),
            key.created_date().map(|d| (d.secs(), d.subsec_nanos())),
        ));
    }
    // The one attached (the one APIM was told about) is the one to keep when dates tie.
    let (attached, _) = made[1].clone();
    client
        .create_usage_plan_key()
        .usage_plan_id(&fixture.gold)
        .key_id(&attached)
        .key_type("API_KEY")
        .send()
        .await
        .unwrap();
    let expected = if made[0].1 == made[1].1 {
        attached.clone()
    } else {
        made[0].0.clone()
    };
    let a = provider(&moto.endpoint(), REGION, &[]);
    let b = provider(&moto.endpoint(), REGION, &[]);
    let sub = subscription("sub-left", &fixture.gold);
    let (ra, rb) = tokio::join!(
        a.subscribe("pets1:prod", &sub),
        b.subscribe("pets1:prod", &sub)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra, rb);
    assert_eq!(ra.metadata.as_ref().unwrap()["apiKeyId"], expected);

    // UNSUBSCRIBE with the metadata APIM has: every key with the name goes.
    b.revoke(
        "pets1:prod",
        &unsubscription("sub-left", ra.metadata.as_ref().unwrap()),
    )
    .await
    .unwrap();
    assert!(keys_named(&client, "gravitee-sub-left").await.is_empty());
}

#[tokio::test]
async fn the_single_process_path_makes_no_extra_wait_or_attachment_check() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let fixture = seed_fixture(&client).await;
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let provider = provider(&proxy.endpoint(), REGION, &[]);
    provider
        .subscribe("pets1:prod", &subscription("sub-alone", &fixture.gold))
        .await
        .unwrap();
    let calls = proxy.calls();
    // Plans once, the stage, the name before and after the create, the create, the attach.
    assert_eq!(calls.get("GetUsagePlans"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("GetStage"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("GetApiKeys"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("CreateApiKey"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("CreateUsagePlanKey"), Some(&1), "{calls:?}");
    assert_eq!(proxy.total(), 6, "{calls:?}");
}
