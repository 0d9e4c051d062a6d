//! One API key per Gravitee application (`apiKeyScope: application`, the default) against moto,
//! with the test proxy answering what moto does not enforce as AWS does (one usage plan per API
//! stage for a key, 10 plans per key, a detach of a key not in the plan).
//!
//! Closing an application's last subscription leaves no record and its key on no plan: the key
//! is kept, because APIM in shared API-key mode keeps showing it for the application's later
//! subscriptions (`docs/reference/integration-commands.md` §9).
//!
//! `cargo test -p federation-provider-aws-api-gateway --features testing --test shared_keys`

use std::collections::BTreeSet;

use federation_core::model::StringMap;
use federation_core::{
    DriftKind, Provider, ProviderError, Subscription, SubscriptionResult, SubscriptionType, drift,
};
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::operator::{self, CheckOptions, CheckOutcome};
use federation_provider_aws_api_gateway::testing::{
    self, ProxyConfig, ThrottlingProxy, UsagePlanRules, seed, shared_moto,
};

const REGION: &str = "us-east-1";

fn provider(endpoint: &str, extra: &[(&str, &str)]) -> AwsApiGatewayProvider {
    AwsApiGatewayProvider::from_settings(&testing::provider_settings(endpoint, REGION, extra))
        .expect("valid test settings")
}

fn subscription(id: &str, application: Option<&str>, plan: &str) -> Subscription {
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        gravitee_application_id: application.map(str::to_owned),
        gravitee_application_name: Some("Shop".to_owned()),
        subscription_type: Some(SubscriptionType::ApiKey),
        metadata: Some(
            [("planId".to_owned(), plan.to_owned())]
                .into_iter()
                .collect(),
        ),
    }
}

/// What UNSUBSCRIBE carries: the id and the metadata SUBSCRIBE returned.
fn unsubscription(id: &str, result: &SubscriptionResult) -> Subscription {
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        metadata: result.metadata.clone(),
        ..Subscription::default()
    }
}

/// SUBSCRIBE `id` (of `application`, through usage plan `plan`) to `api`, which must succeed.
async fn subscribed(
    provider: &AwsApiGatewayProvider,
    api: &str,
    id: &str,
    application: Option<&str>,
    plan: &str,
) -> SubscriptionResult {
    provider
        .subscribe(api, &subscription(id, application, plan))
        .await
        .unwrap_or_else(|e| panic!("SUBSCRIBE {id} to {api}: {e}"))
}

/// UNSUBSCRIBE `id` from `api`, with the metadata its SUBSCRIBE replied; it must succeed.
async fn revoked(
    provider: &AwsApiGatewayProvider,
    api: &str,
    id: &str,
    reply: &SubscriptionResult,
) {
    provider
        .revoke(api, &unsubscription(id, reply))
        .await
        .unwrap_or_else(|e| panic!("UNSUBSCRIBE {id} from {api}: {e}"));
}

fn meta(result: &SubscriptionResult) -> &StringMap {
    result.metadata.as_ref().expect("metadata")
}

fn value(result: &SubscriptionResult) -> String {
    result.api_key.as_ref().expect("a key").expose().to_owned()
}

/// Every key whose name starts with `gravitee-`: (name, id, enabled).
async fn gravitee_keys(client: &aws_sdk_apigateway::Client) -> Vec<(String, String, bool)> {
    let mut keys: Vec<(String, String, bool)> = client
        .get_api_keys()
        .name_query("gravitee-")
        .send()
        .await
        .expect("GetApiKeys")
        .items()
        .iter()
        .map(|k| {
            (
                k.name().unwrap_or_default().to_owned(),
                k.id().unwrap_or_default().to_owned(),
                k.enabled(),
            )
        })
        .collect();
    keys.sort();
    keys
}

async fn enabled_keys(client: &aws_sdk_apigateway::Client) -> Vec<String> {
    gravitee_keys(client)
        .await
        .into_iter()
        .filter(|(_, _, enabled)| *enabled)
        .map(|(name, _, _)| name)
        .collect()
}

/// The usage plans key `key_id` is in, as AWS lists them per plan (`GetUsagePlanKeys`).
async fn plans_holding(
    client: &aws_sdk_apigateway::Client,
    key_id: &str,
    plans: &[&str],
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for plan in plans {
        let keys = client
            .get_usage_plan_keys()
            .usage_plan_id(*plan)
            .send()
            .await
            .expect("GetUsagePlanKeys");
        if keys.items().iter().any(|k| k.id() == Some(key_id)) {
            out.insert((*plan).to_owned());
        }
    }
    out
}

/// Checks that application `app` has nothing left at AWS but its key, enabled and attached to
/// none of `plans`. Returns the key's id.
async fn only_the_idle_key(
    client: &aws_sdk_apigateway::Client,
    app: &str,
    plans: &[&str],
) -> String {
    let name = format!("gravitee-app-{app}");
    let left: Vec<(String, String, bool)> = gravitee_keys(client)
        .await
        .into_iter()
        .filter(|(n, _, _)| *n == name || n.starts_with(&format!("{name}.")))
        .collect();
    assert_eq!(left.len(), 1, "{app}: no record, one key: {left:?}");
    let (found, id, enabled) = &left[0];
    assert_eq!(found, &name);
    assert!(enabled, "{app}: the kept key stays enabled");
    assert_eq!(
        plans_holding(client, id, plans).await,
        BTreeSet::new(),
        "{app}: the kept key is on no plan"
    );
    id.clone()
}

/// `pets1:prod` in Gold, `orders1:prod` in Free, both in Duo.
struct Fixture {
    gold: String,
    free: String,
    duo: String,
}

async fn seed_fixture(client: &aws_sdk_apigateway::Client) -> Fixture {
    seed::rest_api(client, "Pets", Some("pets1"), &["prod"]).await;
    seed::rest_api(client, "Orders", Some("orders1"), &["prod"]).await;
    let gold = seed::usage_plan(client, &seed::PlanSpec::new("Gold").stage("pets1", "prod")).await;
    let free = seed::usage_plan(
        client,
        &seed::PlanSpec::new("Free").stage("orders1", "prod"),
    )
    .await;
    let duo = seed::usage_plan(
        client,
        &seed::PlanSpec::new("Duo")
            .stage("pets1", "prod")
            .stage("orders1", "prod"),
    )
    .await;
    Fixture { gold, free, duo }
}

#[tokio::test]
async fn one_key_per_application_is_on_each_plan_and_leaves_plan_by_plan() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().usage_plan_rules()).await;
    let provider = provider(&proxy.endpoint(), &[]);

    let a = subscribed(&provider, "pets1:prod", "sub-a", Some("shop"), &f.gold).await;
    let b = subscribed(&provider, "orders1:prod", "sub-b", Some("shop"), &f.free).await;
    assert_eq!(value(&a), value(&b), "one key for the application");
    let key_id = meta(&a)["apiKeyId"].clone();
    assert_eq!(meta(&b)["apiKeyId"], key_id);
    for result in [&a, &b] {
        assert_eq!(meta(result)["apiKeyScope"], "application");
        assert_eq!(meta(result)["applicationId"], "shop");
        assert_eq!(meta(result)["region"], REGION);
    }
    assert_eq!(meta(&b)["usagePlanId"], f.free);
    let all = [f.gold.as_str(), f.free.as_str(), f.duo.as_str()];
    assert_eq!(
        plans_holding(&client, &key_id, &all).await,
        BTreeSet::from([f.gold.clone(), f.free.clone()])
    );
    // One enabled key; the records are disabled and on no plan.
    assert_eq!(enabled_keys(&client).await, ["gravitee-app-shop"]);
    let records: Vec<(String, String, bool)> = gravitee_keys(&client)
        .await
        .into_iter()
        .filter(|(_, _, enabled)| !enabled)
        .collect();
    let names: Vec<&str> = records.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["gravitee-app-shop.sub-sub-a", "gravitee-app-shop.sub-sub-b"]
    );
    for (_, id, _) in &records {
        assert!(plans_holding(&client, id, &all).await.is_empty());
        let record = client.get_api_key().api_key(id).send().await.unwrap();
        assert!(
            record
                .description()
                .unwrap_or_default()
                .contains("through usage plan"),
            "{record:?}"
        );
        assert_eq!(record.customer_id(), Some("gravitee-app-shop"));
    }
    let key = client.get_api_key().api_key(&key_id).send().await.unwrap();
    assert_eq!(key.customer_id(), Some("gravitee-app-shop"));
    assert!(
        gravitee_keys(&client)
            .await
            .iter()
            .all(|(n, _, _)| n != "gravitee-agent-check"),
        "the grant probe key is gone"
    );

    // Delivered again: the same key, nothing new.
    let again = subscribed(&provider, "pets1:prod", "sub-a", Some("shop"), &f.gold).await;
    assert_eq!(again, a);
    assert_eq!(gravitee_keys(&client).await.len(), 3);

    // Closing sub-a detaches Gold only.
    revoked(&provider, "pets1:prod", "sub-a", &a).await;
    assert_eq!(
        plans_holding(&client, &key_id, &all).await,
        BTreeSet::from([f.free.clone()])
    );
    assert_eq!(enabled_keys(&client).await, ["gravitee-app-shop"]);
    // A repeated UNSUBSCRIBE changes nothing.
    revoked(&provider, "pets1:prod", "sub-a", &a).await;
    assert_eq!(
        plans_holding(&client, &key_id, &all).await,
        BTreeSet::from([f.free.clone()])
    );

    // Closing sub-b leaves no record and the key on no plan; repeated, it changes nothing.
    revoked(&provider, "orders1:prod", "sub-b", &b).await;
    assert_eq!(only_the_idle_key(&client, "shop", &all).await, key_id);
    revoked(&provider, "orders1:prod", "sub-b", &b).await;
    assert_eq!(only_the_idle_key(&client, "shop", &all).await, key_id);

    // The application subscribes again: the same key and value, on the plan again.
    let c = subscribed(&provider, "pets1:prod", "sub-c", Some("shop"), &f.gold).await;
    assert_eq!(meta(&c)["apiKeyId"], key_id);
    assert_eq!(value(&c), value(&a), "the value APIM keeps showing");
    assert_eq!(
        plans_holding(&client, &key_id, &all).await,
        BTreeSet::from([f.gold.clone()])
    );
    assert_eq!(enabled_keys(&client).await, ["gravitee-app-shop"]);
}

#[tokio::test]
async fn two_subscriptions_through_one_plan_keep_it_until_the_last_closes() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), &[]);
    let a = subscribed(&provider, "pets1:prod", "sub-a", Some("shop"), &f.duo).await;
    let b = subscribed(&provider, "orders1:prod", "sub-b", Some("shop"), &f.duo).await;
    let key_id = meta(&a)["apiKeyId"].clone();
    assert_eq!(meta(&b)["apiKeyId"], key_id);
    revoked(&provider, "pets1:prod", "sub-a", &a).await;
    assert_eq!(
        plans_holding(&client, &key_id, &[&f.duo]).await,
        BTreeSet::from([f.duo.clone()]),
        "sub-b still uses Duo"
    );
    assert_eq!(enabled_keys(&client).await, ["gravitee-app-shop"]);
    revoked(&provider, "orders1:prod", "sub-b", &b).await;
    assert_eq!(only_the_idle_key(&client, "shop", &[&f.duo]).await, key_id);
}

#[tokio::test]
async fn a_second_plan_granting_the_same_stage_is_refused_with_the_plan_named() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().usage_plan_rules()).await;
    let provider = provider(&proxy.endpoint(), &[]);
    let a = subscribed(&provider, "pets1:prod", "sub-a", Some("shop"), &f.gold).await;
    let key_id = meta(&a)["apiKeyId"].clone();

    // AWS itself refuses the key on Duo, which covers pets1:prod too.
    let direct = testing::client(&proxy.endpoint(), REGION).await;
    let err = direct
        .create_usage_plan_key()
        .usage_plan_id(&f.duo)
        .key_id(&key_id)
        .key_type("API_KEY")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_conflict_exception()),
        "{err:?}"
    );

    proxy.reset_counts();
    let err = provider
        .subscribe("orders1:prod", &subscription("sub-b", Some("shop"), &f.duo))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::InvalidRequest(_)), "{err:?}");
    let text = err.to_string();
    let gold_named = format!("usage plan `Gold` ({})", f.gold);
    for part in [
        gold_named.as_str(),
        "(used by subscription sub-a)",
        "pets1:prod",
        "one usage plan per API stage",
        "No key was returned",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    assert_eq!(
        proxy.count("CreateUsagePlanKey"),
        0,
        "refused before the attach"
    );
    assert_eq!(proxy.count("CreateApiKey"), 0, "no record was made");
    let all = [f.gold.as_str(), f.free.as_str(), f.duo.as_str()];
    assert_eq!(
        plans_holding(&client, &key_id, &all).await,
        BTreeSet::from([f.gold.clone()])
    );
    assert_eq!(
        gravitee_keys(&client).await.len(),
        2,
        "the key and sub-a's record"
    );
}

#[tokio::test]
async fn replicas_subscribing_through_conflicting_plans_at_once_keep_one() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().usage_plan_rules()).await;
    let (r1, r2) = (
        provider(&proxy.endpoint(), &[]),
        provider(&proxy.endpoint(), &[]),
    );
    let all = [f.gold.as_str(), f.free.as_str(), f.duo.as_str()];
    for round in 0..4 {
        let app = format!("race{round}");
        let (sa, sb) = (
            subscription("sub-a", Some(&app), &f.gold),
            subscription("sub-b", Some(&app), &f.duo),
        );
        let (a, b) = tokio::join!(
            r1.subscribe("pets1:prod", &sa),
            r2.subscribe("orders1:prod", &sb),
        );
        let (won, lost, plan) = match (a, b) {
            (Ok(a), Err(e)) => (a, e, &f.gold),
            (Err(e), Ok(b)) => (b, e, &f.duo),
            other => panic!("round {round}: exactly one must win: {other:?}"),
        };
        let text = lost.to_string();
        assert!(text.contains("one usage plan per API stage"), "{text}");
        let key_id = meta(&won)["apiKeyId"].clone();
        assert_eq!(
            plans_holding(&client, &key_id, &all).await,
            BTreeSet::from([plan.clone()]),
            "round {round}"
        );
        let left: Vec<String> = gravitee_keys(&client)
            .await
            .into_iter()
            .map(|(n, _, _)| n)
            .filter(|n| n.starts_with(&format!("gravitee-app-{app}")))
            .collect();
        assert_eq!(
            left.len(),
            2,
            "round {round}: the key and one record: {left:?}"
        );
    }
}

#[tokio::test]
async fn the_plan_limit_is_said_plainly() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let mut plans = Vec::new();
    for i in 0..11 {
        let id = format!("api{i:02}");
        seed::rest_api(&client, &id, Some(&id), &["prod"]).await;
        plans.push(
            seed::usage_plan(
                &client,
                &seed::PlanSpec::new(&format!("Plan {i}")).stage(&id, "prod"),
            )
            .await,
        );
    }
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().usage_plan_rules()).await;
    let provider = provider(&proxy.endpoint(), &[]);
    let mut key_id = String::new();
    for (i, plan) in plans.iter().enumerate().take(10) {
        let result = provider
            .subscribe(
                &format!("api{i:02}:prod"),
                &subscription(&format!("sub-{i}"), Some("big"), plan),
            )
            .await
            .unwrap();
        key_id = meta(&result)["apiKeyId"].clone();
    }
    for limit_as_bad_request in [false, true] {
        proxy.set_config(
            ProxyConfig::counting().usage_plan_rules_with(UsagePlanRules {
                limit_as_bad_request,
                ..UsagePlanRules::default()
            }),
        );
        proxy.reset_counts();
        let err = provider
            .subscribe(
                "api10:prod",
                &subscription("sub-10", Some("big"), &plans[10]),
            )
            .await
            .unwrap_err();
        let text = err.to_string();
        for part in [
            "already in 10 usage plans",
            "at most 10 usage plans by default",
            "Service Quotas",
            "No key was returned",
            &format!("`Plan 10` ({})", plans[10]),
        ] {
            assert!(text.contains(part), "{part:?} missing from: {text}");
        }
        assert_eq!(
            proxy.count("CreateUsagePlanKey"),
            1,
            "a limit is not retried: {:?}",
            proxy.calls()
        );
        let names: Vec<String> = gravitee_keys(&client)
            .await
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        assert!(
            !names.contains(&"gravitee-app-big.sub-sub-10".to_owned()),
            "the refused subscription's record is gone: {names:?}"
        );
    }
    let refs: Vec<&str> = plans.iter().map(String::as_str).collect();
    assert_eq!(plans_holding(&client, &key_id, &refs).await.len(), 10);
}

#[tokio::test]
async fn a_subscribe_without_application_id_gets_a_key_of_its_own() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), &[]);
    // APIM 4.4.0/4.4.1: no graviteeApplicationId.
    let result = subscribed(&provider, "pets1:prod", "sub-old-apim", None, &f.gold).await;
    assert!(!meta(&result).contains_key("apiKeyScope"), "{result:?}");
    assert_eq!(enabled_keys(&client).await, ["gravitee-sub-old-apim"]);
    revoked(&provider, "pets1:prod", "sub-old-apim", &result).await;
    assert_eq!(gravitee_keys(&client).await, []);
}

#[tokio::test]
async fn a_key_issued_per_subscription_by_an_earlier_version_is_still_revoked() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    // An earlier version: one key per subscription, metadata without apiKeyScope.
    let earlier = provider(&moto.endpoint(), &[("apiKeyScope", "subscription")]);
    let old = subscribed(&earlier, "pets1:prod", "sub-old", Some("shop"), &f.gold).await;
    assert!(!meta(&old).contains_key("apiKeyScope"));
    // The upgraded agent: the application's next subscription gets the application's key.
    let upgraded = provider(&moto.endpoint(), &[]);
    let new = subscribed(&upgraded, "orders1:prod", "sub-new", Some("shop"), &f.free).await;
    assert_eq!(
        enabled_keys(&client).await,
        ["gravitee-app-shop", "gravitee-sub-old"]
    );
    revoked(&upgraded, "pets1:prod", "sub-old", &old).await;
    assert_eq!(enabled_keys(&client).await, ["gravitee-app-shop"]);
    let key_id = meta(&new)["apiKeyId"].clone();
    assert_eq!(
        plans_holding(&client, &key_id, &[&f.gold, &f.free]).await,
        BTreeSet::from([f.free.clone()])
    );
    revoked(&upgraded, "orders1:prod", "sub-new", &new).await;
    assert_eq!(
        only_the_idle_key(&client, "shop", &[&f.gold, &f.free]).await,
        key_id
    );
    assert_eq!(enabled_keys(&client).await, ["gravitee-app-shop"]);
}

#[tokio::test]
async fn without_the_grants_keys_stay_per_subscription_and_check_names_them() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    for denied in ["DeleteUsagePlanKey", "GetApiKeys"] {
        let proxy = ThrottlingProxy::start(
            &moto.endpoint(),
            ProxyConfig::counting().usage_plan_rules().deny(denied),
        )
        .await;
        let provider = provider(&proxy.endpoint(), &[]);
        let a = subscribed(&provider, "pets1:prod", "sub-a", Some("shop"), &f.gold).await;
        let b = subscribed(&provider, "orders1:prod", "sub-b", Some("shop"), &f.free).await;
        assert!(!meta(&a).contains_key("apiKeyScope"), "{denied}: {a:?}");
        assert_ne!(value(&a), value(&b), "{denied}: a key per subscription");
        assert_eq!(
            enabled_keys(&client).await,
            ["gravitee-sub-a", "gravitee-sub-b"],
            "{denied}"
        );
        assert_eq!(
            proxy.count("DeleteUsagePlanKey"),
            1,
            "{denied}: the grants are probed once per process"
        );

        let report = operator::check_with(&provider, CheckOptions::default()).await;
        let row = report
            .rows
            .iter()
            .find(|r| r.operation == denied)
            .expect("a row");
        assert!(
            matches!(row.outcome, CheckOutcome::Denied { .. }),
            "{row:?}"
        );
        assert!(!row.required);
        assert!(
            row.enables
                .as_deref()
                .is_some_and(|e| e.contains("one key per application")),
            "{row:?}"
        );
        let table = report.to_table();
        assert!(
            table.contains("it enables") && table.contains("one key per application"),
            "{table}"
        );
        assert!(report.ok(), "optional grants do not fail the check");

        for (id, result) in [("sub-a", &a), ("sub-b", &b)] {
            revoked(&provider, "pets1:prod", id, result).await;
        }
        assert_eq!(gravitee_keys(&client).await, [], "{denied}");
    }
}

#[tokio::test]
async fn replicas_converge_on_one_application_key_and_leave_it_on_no_plan() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().usage_plan_rules()).await;
    let (r1, r2) = (
        provider(&proxy.endpoint(), &[]),
        provider(&proxy.endpoint(), &[]),
    );
    let all = [f.gold.as_str(), f.free.as_str(), f.duo.as_str()];
    for round in 0..4 {
        let app = format!("rep{round}");
        let (sa, sb) = (
            subscription("sub-a", Some(&app), &f.gold),
            subscription("sub-b", Some(&app), &f.free),
        );
        // Each subscription delivered to both replicas at once.
        let (a1, a2, b1, b2) = tokio::join!(
            r1.subscribe("pets1:prod", &sa),
            r2.subscribe("pets1:prod", &sa),
            r1.subscribe("orders1:prod", &sb),
            r2.subscribe("orders1:prod", &sb),
        );
        let results = [a1.unwrap(), a2.unwrap(), b1.unwrap(), b2.unwrap()];
        let shown = value(&results[0]);
        assert!(
            results.iter().all(|r| value(r) == shown),
            "round {round}: one key for every reply"
        );
        let key_id = meta(&results[0])["apiKeyId"].clone();
        let name = format!("gravitee-app-{app}");
        let enabled: Vec<String> = enabled_keys(&client)
            .await
            .into_iter()
            .filter(|n| n.starts_with(&name))
            .collect();
        assert_eq!(
            enabled,
            [name],
            "round {round}: earlier rounds' keys are kept"
        );
        assert_eq!(
            plans_holding(&client, &key_id, &all).await,
            BTreeSet::from([f.gold.clone(), f.free.clone()]),
            "round {round}"
        );
        // Each UNSUBSCRIBE delivered to both replicas at once, both subscriptions together.
        let (ua, ub) = (
            unsubscription("sub-a", &results[0]),
            unsubscription("sub-b", &results[2]),
        );
        let (x1, x2, y1, y2) = tokio::join!(
            r1.revoke("pets1:prod", &ua),
            r2.revoke("pets1:prod", &ua),
            r1.revoke("orders1:prod", &ub),
            r2.revoke("orders1:prod", &ub),
        );
        for r in [x1, x2, y1, y2] {
            r.unwrap();
        }
        assert_eq!(
            only_the_idle_key(&client, &app, &all).await,
            key_id,
            "round {round}"
        );
    }
}

/// The application's last two subscriptions end at the same time, each on its own replica:
/// each replica may see the other's record before it goes, yet the key must not be left on a
/// plan. Every AWS call is slowed (25 ms) so that both replicas' first listings land before
/// either deletes its record: each then keeps the other's plan at first. Through two plans each
/// detaches its own; through one plan (Duo, covering both APIs) both keep it at first, and only
/// the listing after the detach shows it unused.
#[tokio::test]
async fn the_last_two_unsubscribes_at_once_leave_the_key_on_no_plan() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting()
            .usage_plan_rules()
            .latency(std::time::Duration::from_millis(25)),
    )
    .await;
    let (r1, r2) = (
        provider(&proxy.endpoint(), &[]),
        provider(&proxy.endpoint(), &[]),
    );
    for round in 0..4 {
        let app = format!("pair{round}");
        let (plan_a, plan_b) = if round % 2 == 0 {
            (&f.gold, &f.free)
        } else {
            (&f.duo, &f.duo)
        };
        let a = subscribed(&r1, "pets1:prod", "sub-a", Some(&app), plan_a).await;
        let b = subscribed(&r2, "orders1:prod", "sub-b", Some(&app), plan_b).await;
        let (ua, ub) = (unsubscription("sub-a", &a), unsubscription("sub-b", &b));
        let (x, y) = tokio::join!(r1.revoke("pets1:prod", &ua), r2.revoke("orders1:prod", &ub));
        x.unwrap();
        y.unwrap();
        assert_eq!(
            only_the_idle_key(&client, &app, &[&f.gold, &f.free, &f.duo]).await,
            meta(&a)["apiKeyId"],
            "round {round}"
        );
    }
}

/// The application's only subscription ends on one replica while another subscription begins
/// on the other. The replica closing it is slowed (every AWS call 25 ms) and the new
/// subscription starts a little later each round, so that over the rounds its record lands
/// before, between and after the closing replica's reads: in every case the key it replies
/// with must be the application's key, enabled and on its plan.
#[tokio::test]
async fn a_subscribe_racing_the_last_unsubscribe_gets_a_working_key() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let slow = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting()
            .usage_plan_rules()
            .latency(std::time::Duration::from_millis(25)),
    )
    .await;
    let fast =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().usage_plan_rules()).await;
    let (closing, opening) = (
        provider(&slow.endpoint(), &[]),
        provider(&fast.endpoint(), &[]),
    );
    for (replica, api, plan) in [
        (&closing, "pets1:prod", &f.gold),
        (&opening, "orders1:prod", &f.free),
    ] {
        // Each replica probes its grants once, before the race.
        let warm = subscribed(replica, api, "warm", Some("warm"), plan).await;
        revoked(replica, api, "warm", &warm).await;
    }
    for (round, offset) in [0u64, 20, 40, 60, 80, 100, 120, 150, 200]
        .into_iter()
        .enumerate()
    {
        let app = format!("turn{round}");
        let first = subscribed(&closing, "pets1:prod", "sub-a", Some(&app), &f.gold).await;
        let (ua, sb) = (
            unsubscription("sub-a", &first),
            subscription("sub-b", Some(&app), &f.free),
        );
        let (closed, next) = tokio::join!(closing.revoke("pets1:prod", &ua), async {
            tokio::time::sleep(std::time::Duration::from_millis(offset)).await;
            opening.subscribe("orders1:prod", &sb).await
        });
        closed.unwrap();
        let next = next.unwrap();
        let key_id = meta(&next)["apiKeyId"].clone();
        assert_eq!(
            key_id,
            meta(&first)["apiKeyId"],
            "round {round}: the same key"
        );
        assert_eq!(value(&next), value(&first), "round {round}");
        let key = client
            .get_api_key()
            .api_key(&key_id)
            .include_value(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the key replied is gone: {e:?}"));
        assert!(key.enabled());
        assert_eq!(key.value(), Some(value(&next).as_str()));
        assert_eq!(
            plans_holding(&client, &key_id, &[&f.gold, &f.free]).await,
            BTreeSet::from([f.free.clone()]),
            "round {round}"
        );
        revoked(&opening, "orders1:prod", "sub-b", &next).await;
        assert_eq!(
            only_the_idle_key(&client, &app, &[&f.gold, &f.free]).await,
            key_id,
            "round {round}"
        );
    }
}

/// The application's key is deleted by hand after a SUBSCRIBE found it and before it attached
/// it: the attach finds it gone, and the SUBSCRIBE starts over with a new key, which it replies
/// with, on the plan. Every AWS call through the proxy is slowed (300 ms, counted when it
/// arrives), so the key is deleted while the record's `CreateApiKey` is on its way.
#[tokio::test]
async fn a_key_deleted_by_hand_before_the_attach_is_made_again() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let slow = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting()
            .usage_plan_rules()
            .latency(std::time::Duration::from_millis(300)),
    )
    .await;
    let provider = provider(&slow.endpoint(), &[]);
    let first = subscribed(&provider, "pets1:prod", "sub-a", Some("shop"), &f.gold).await;
    let old = meta(&first)["apiKeyId"].clone();
    slow.reset_counts();
    let sb = subscription("sub-b", Some("shop"), &f.free);
    let (next, ()) = tokio::join!(provider.subscribe("orders1:prod", &sb), async {
        // The key is found: the first CreateApiKey is sub-b's record.
        while slow.count("CreateApiKey") == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        client.delete_api_key().api_key(&old).send().await.unwrap();
    });
    let next = next.unwrap();
    let key_id = meta(&next)["apiKeyId"].clone();
    assert_ne!(key_id, old, "a new key");
    let key = client
        .get_api_key()
        .api_key(&key_id)
        .include_value(true)
        .send()
        .await
        .unwrap();
    assert!(key.enabled());
    assert_eq!(key.value(), Some(value(&next).as_str()));
    assert_eq!(
        plans_holding(&client, &key_id, &[&f.gold, &f.free]).await,
        BTreeSet::from([f.free.clone()])
    );
    assert_eq!(
        slow.count("CreateUsagePlanKey"),
        2,
        "the attach of the deleted key, then of the new one"
    );
    assert_eq!(
        slow.count("CreateApiKey"),
        2,
        "sub-b's record once, then the new key"
    );
}

#[tokio::test]
async fn the_drift_inventory_reports_an_application_key_per_subscription() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), REGION).await;
    let f = seed_fixture(&client).await;
    let provider = provider(&moto.endpoint(), &[]);
    let a = subscribed(&provider, "pets1:prod", "sub-a", Some("shop"), &f.gold).await;
    let b = subscribed(&provider, "orders1:prod", "sub-b", Some("shop"), &f.free).await;
    // An application key no record refers to, still on Duo.
    let stray = client
        .create_api_key()
        .name("gravitee-app-gone")
        .enabled(true)
        .send()
        .await
        .unwrap();
    client
        .create_usage_plan_key()
        .usage_plan_id(&f.duo)
        .key_id(stray.id().unwrap())
        .key_type("API_KEY")
        .send()
        .await
        .unwrap();
    let keys = provider.inventory().unwrap().issued_keys().await.unwrap();
    let summary: Vec<(&str, Option<&str>, Option<&str>, bool)> = keys
        .iter()
        .map(|k| {
            (
                k.name.as_str(),
                k.subscription_id.as_deref(),
                k.api_id.as_deref(),
                k.unused,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("gravitee-app-gone", None, None, true),
            (
                "gravitee-app-shop",
                Some("sub-a"),
                Some("pets1:prod"),
                false
            ),
            (
                "gravitee-app-shop",
                Some("sub-b"),
                Some("orders1:prod"),
                false
            ),
        ]
    );
    assert_eq!(keys[0].plans, BTreeSet::from([f.duo.clone()]));
    assert_eq!(
        keys[1].plans,
        BTreeSet::from([f.gold.clone(), f.free.clone()])
    );

    // Both subscriptions closed: the kept key is unused and on no plan. Drift names the key
    // still on Duo, not the idle one.
    revoked(&provider, "pets1:prod", "sub-a", &a).await;
    revoked(&provider, "orders1:prod", "sub-b", &b).await;
    let keys = provider.inventory().unwrap().issued_keys().await.unwrap();
    let summary: Vec<(&str, bool, usize)> = keys
        .iter()
        .map(|k| (k.name.as_str(), k.unused, k.plans.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("gravitee-app-gone", true, 1),
            ("gravitee-app-shop", true, 0)
        ]
    );
    let report = drift::compare(
        &drift::Ledger::default(),
        &drift::Observed {
            keys: Some(Ok(keys)),
            ..drift::Observed::default()
        },
    );
    let items: Vec<(DriftKind, Option<&str>, Option<&str>)> = report
        .items
        .iter()
        .map(|i| (i.kind, i.key.as_deref(), i.plan_id.as_deref()))
        .collect();
    assert_eq!(
        items,
        [(
            DriftKind::KeyOrphaned,
            Some("gravitee-app-gone"),
            Some(f.duo.as_str())
        )],
        "{report:?}"
    );
}
