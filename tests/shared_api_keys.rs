//! APIM's shared API-key mode end to end: the real `federation-agent-aws-api-gateway` binary
//! (default `apiKeyScope: application`), the controller simulator in shared mode (the portal
//! shows an application's first key for all its subscriptions, as APIM's `findOrGenerate`
//! does) and moto behind the test proxy, which answers what moto does not enforce as AWS does.
//!
//! One application subscribes to API A through usage plan Gold, then to API B through Free: the
//! key the portal shows for both must be on both plans at AWS, with no other enabled key;
//! closing one subscription keeps the other's plan; closing both leaves no record and the
//! application's key attached to no plan, kept because APIM keeps showing it in shared mode
//! (`CloseSubscriptionDomainService` revokes no key of a shared-mode application): when the
//! application subscribes again, the key the portal shows is the same key, back on its plan.
//! The same with two replicas of the agent, every command delivered to both at once.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::process::Child;
use std::time::Duration;

use common::aws_agent::{SeedAgent, aws_simulator, spawn_logging_to};
use federation_core::{Secret, Subscription, SubscriptionResult, SubscriptionType};
use federation_protocol::payload::{SubscribePayload, UnsubscribePayload};
use federation_protocol::{Command as WireCommand, CommandPayload, Reply, ReplyPayload};
use federation_provider_aws_api_gateway::testing::{self, ProxyConfig, ThrottlingProxy, seed};
use federation_simulator::{ApiKeyMode, Simulator, SubscribeRequest};

const TOKEN: &str = "apim-token-shared-keys-7d2a";
const INTEGRATION: &str = "aws-shared";
const APPLICATION: &str = "app-shop";
const WAIT: Duration = Duration::from_secs(60);

fn spawn_agent(aws: &str, endpoint: &str, log: &std::path::Path) -> Child {
    let agent = SeedAgent {
        aws,
        controller: endpoint,
        token: TOKEN,
        integration_id: INTEGRATION,
        access_key_id: "AKIASHAREDKEYS",
        secret_access_key: "shared-keys-secret-not-used-by-moto",
    };
    spawn_logging_to(&mut agent.command(), log)
}

/// API A (`shopa:prod`) in Gold, API B (`shopb:prod`) in Free; moto behind the proxy.
struct Aws {
    client: aws_sdk_apigateway::Client,
    proxy: ThrottlingProxy,
    gold: String,
    free: String,
}

async fn aws(moto: &str) -> Aws {
    let client = testing::client(moto, "us-east-1").await;
    seed::rest_api(&client, "Shop A", Some("shopa"), &["prod"]).await;
    seed::rest_api(&client, "Shop B", Some("shopb"), &["prod"]).await;
    let gold = seed::usage_plan(&client, &seed::PlanSpec::new("Gold").stage("shopa", "prod")).await;
    let free = seed::usage_plan(&client, &seed::PlanSpec::new("Free").stage("shopb", "prod")).await;
    let proxy = ThrottlingProxy::start(moto, ProxyConfig::counting().usage_plan_rules()).await;
    Aws {
        client,
        proxy,
        gold,
        free,
    }
}

/// Every `gravitee-*` key: (name, id, enabled, value).
async fn gravitee_keys(
    client: &aws_sdk_apigateway::Client,
) -> Vec<(String, String, bool, Option<String>)> {
    let mut keys: Vec<_> = client
        .get_api_keys()
        .name_query("gravitee-")
        .include_values(true)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .map(|k| {
            (
                k.name().unwrap_or_default().to_owned(),
                k.id().unwrap_or_default().to_owned(),
                k.enabled(),
                k.value().map(str::to_owned),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// The enabled `gravitee-*` keys: (name, id, value).
async fn enabled(client: &aws_sdk_apigateway::Client) -> Vec<(String, String, String)> {
    gravitee_keys(client)
        .await
        .into_iter()
        .filter(|k| k.2)
        .map(|(name, id, _, value)| (name, id, value.unwrap_or_default()))
        .collect()
}

/// The usage plans among `plans` whose keys (`GetUsagePlanKeys`) include `key_id`.
async fn plans_of(
    client: &aws_sdk_apigateway::Client,
    key_id: &str,
    plans: &[&String],
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for plan in plans {
        let keys = client
            .get_usage_plan_keys()
            .usage_plan_id(plan.as_str())
            .send()
            .await
            .unwrap();
        if keys.items().iter().any(|k| k.id() == Some(key_id)) {
            out.insert((*plan).clone());
        }
    }
    out
}

fn shown(sim: &Simulator, subscription: &str) -> String {
    sim.shown_api_key(subscription)
        .map(|k| k.expose().to_owned())
        .expect("the portal shows a key")
}

fn request(api: &str, plan: &str, subscription: &str) -> SubscribeRequest {
    let mut request =
        SubscribeRequest::api_key(api, Some(plan.to_owned())).for_application(APPLICATION);
    request.subscription_id = Some(subscription.to_owned());
    request.application_name = "Shop".to_owned();
    request
}

/// Checks what AWS holds after both subscriptions: the key the portal shows (`key`) is the only
/// enabled one, on both plans. Returns its id.
async fn one_key_on_both_plans(aws: &Aws, key: &str) -> String {
    let keys = enabled(&aws.client).await;
    assert_eq!(keys.len(), 1, "one enabled key: {keys:?}");
    let (name, id, value) = &keys[0];
    assert_eq!(name, &format!("gravitee-app-{APPLICATION}"));
    assert_eq!(value, key, "the key the portal shows is the key at AWS");
    assert_eq!(
        plans_of(&aws.client, id, &[&aws.gold, &aws.free]).await,
        BTreeSet::from([aws.gold.clone(), aws.free.clone()]),
        "the shown key opens API A (Gold) and API B (Free)"
    );
    id.clone()
}

/// Checks what AWS holds once the application has no subscription left: no record, and the
/// application's key `key_id` (value `key`) still there, enabled, attached to no plan.
async fn idle_key(aws: &Aws, key_id: &str, key: &str) {
    assert_eq!(
        gravitee_keys(&aws.client).await,
        [(
            format!("gravitee-app-{APPLICATION}"),
            key_id.to_owned(),
            true,
            Some(key.to_owned())
        )],
        "no record left, the application's key kept"
    );
    assert_eq!(
        plans_of(&aws.client, key_id, &[&aws.gold, &aws.free]).await,
        BTreeSet::new(),
        "the kept key opens nothing"
    );
}

#[tokio::test]
async fn in_shared_mode_the_key_shown_opens_both_apis_and_closing_removes_plan_by_plan() {
    let moto = testing::shared_moto().await;
    let aws = aws(&moto.endpoint()).await;
    let sim = Simulator::start(aws_simulator(TOKEN, INTEGRATION).api_key_mode(ApiKeyMode::Shared))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("agent.log");
    let agent = spawn_agent(&aws.proxy.endpoint(), &sim.endpoint(), &log_path);
    sim.wait_connected(INTEGRATION, WAIT).await.unwrap();
    let job = sim.ingest(INTEGRATION, None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 2);

    let (_, a) = sim
        .subscribe(INTEGRATION, request("shopa:prod", &aws.gold, "sub-a"))
        .await
        .unwrap();
    let (_, b) = sim
        .subscribe(INTEGRATION, request("shopb:prod", &aws.free, "sub-b"))
        .await
        .unwrap();
    let key = shown(&sim, "sub-a");
    assert_eq!(
        shown(&sim, "sub-b"),
        key,
        "shared mode: the first key for both"
    );
    assert_eq!(
        b.api_key.as_ref().map(Secret::expose),
        Some(key.as_str()),
        "the agent returned the same key for the second subscription"
    );
    assert_eq!(a.metadata.as_ref().unwrap()["apiKeyScope"], "application");
    let key_id = one_key_on_both_plans(&aws, &key).await;

    // Closing the subscription to API A keeps API B's plan.
    sim.unsubscribe(INTEGRATION, "sub-a").await.unwrap();
    assert_eq!(
        plans_of(&aws.client, &key_id, &[&aws.gold, &aws.free]).await,
        BTreeSet::from([aws.free.clone()]),
        "API B still opens with the shown key, API A no longer"
    );
    assert_eq!(enabled(&aws.client).await.len(), 1);

    // Closing both leaves no record and the application's key attached to no plan.
    sim.unsubscribe(INTEGRATION, "sub-b").await.unwrap();
    idle_key(&aws, &key_id, &key).await;

    // After closing both, the application subscribes to API A again: APIM shows the key it
    // kept, and that key is attached to Gold at AWS (the same key as before).
    let (_, again) = sim
        .subscribe(INTEGRATION, request("shopa:prod", &aws.gold, "sub-a2"))
        .await
        .unwrap();
    assert_eq!(shown(&sim, "sub-a2"), key, "the portal shows the old key");
    assert_eq!(
        again.api_key.as_ref().map(Secret::expose),
        Some(key.as_str()),
        "the agent returned the same key"
    );
    assert_eq!(again.metadata.as_ref().unwrap()["apiKeyId"], key_id);
    let keys = enabled(&aws.client).await;
    assert_eq!(keys.len(), 1, "one enabled key: {keys:?}");
    assert_eq!(keys[0].1, key_id);
    assert_eq!(
        plans_of(&aws.client, &key_id, &[&aws.gold, &aws.free]).await,
        BTreeSet::from([aws.gold.clone()]),
        "the key the portal shows opens API A again"
    );

    common::stop_cleanly(agent);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("HELLO accepted"));
    assert!(!log.contains(&key), "the key value in the agent's log");
}

fn subscribe_command(id: &str, api: &str, plan: &str, replica: usize) -> WireCommand {
    WireCommand::new(
        format!("subscribe-{id}-{replica}"),
        CommandPayload::Subscribe(SubscribePayload {
            api_id: api.to_owned(),
            subscription: Subscription {
                gravitee_subscription_id: id.to_owned(),
                gravitee_application_id: Some(APPLICATION.to_owned()),
                gravitee_application_name: Some("Shop".to_owned()),
                subscription_type: Some(SubscriptionType::ApiKey),
                metadata: Some(
                    [("planId".to_owned(), plan.to_owned())]
                        .into_iter()
                        .collect(),
                ),
            },
        }),
    )
}

fn unsubscribe_command(id: &str, api: &str, result: &SubscriptionResult) -> WireCommand {
    WireCommand::new(
        format!("unsubscribe-{id}-1"),
        CommandPayload::Unsubscribe(UnsubscribePayload {
            api_id: api.to_owned(),
            subscription: Subscription {
                gravitee_subscription_id: id.to_owned(),
                metadata: result.metadata.clone(),
                ..Subscription::default()
            },
        }),
    )
}

fn subscribed(reply: Reply) -> SubscriptionResult {
    assert!(
        reply.is_success(),
        "SUBSCRIBE failed: {:?}",
        reply.error_details
    );
    match reply.payload {
        Some(ReplyPayload::Subscribe(payload)) => payload.subscription,
        other => panic!("not a SUBSCRIBE reply: {other:?}"),
    }
}

#[tokio::test]
async fn two_replicas_given_every_command_at_once_keep_one_key_for_the_application() {
    let moto = testing::shared_moto().await;
    let aws = aws(&moto.endpoint()).await;
    let sim = Simulator::start(aws_simulator(TOKEN, INTEGRATION).api_key_mode(ApiKeyMode::Shared))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let agents: Vec<Child> = logs
        .iter()
        .map(|log| spawn_agent(&aws.proxy.endpoint(), &sim.endpoint(), log))
        .collect();
    tokio::time::timeout(WAIT, async {
        while sim.channel_count(INTEGRATION) < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("both replicas connect");

    // Each SUBSCRIBE to both replicas at once: the simulator's (to the first replica, kept as
    // APIM keeps it) and the same subscription to the second.
    let mut results = Vec::new();
    for (id, api, plan) in [
        ("sub-a", "shopa:prod", &aws.gold),
        ("sub-b", "shopb:prod", &aws.free),
    ] {
        let command = subscribe_command(id, api, plan, 1);
        let (first, second) = tokio::join!(
            sim.subscribe(INTEGRATION, request(api, plan, id)),
            sim.send_command_to(INTEGRATION, 1, &command),
        );
        let (_, first) = first.unwrap();
        let second = subscribed(second.unwrap());
        assert_eq!(
            first.api_key.as_ref().map(Secret::expose),
            second.api_key.as_ref().map(Secret::expose),
            "{id}: both replicas replied the same key"
        );
        results.push((id, api, first));
    }
    let key = shown(&sim, "sub-a");
    assert_eq!(shown(&sim, "sub-b"), key);
    assert_eq!(
        results[1].2.api_key.as_ref().map(Secret::expose),
        Some(key.as_str())
    );
    let key_id = one_key_on_both_plans(&aws, &key).await;

    // Each UNSUBSCRIBE to both replicas at once.
    let (id, api, result) = &results[0];
    let command = unsubscribe_command(id, api, result);
    let (first, second) = tokio::join!(
        sim.unsubscribe(INTEGRATION, id),
        sim.send_command_to(INTEGRATION, 1, &command),
    );
    first.unwrap();
    assert!(second.unwrap().is_success());
    assert_eq!(
        plans_of(&aws.client, &key_id, &[&aws.gold, &aws.free]).await,
        BTreeSet::from([aws.free.clone()]),
        "closing sub-a keeps sub-b's plan"
    );
    let (id, api, result) = &results[1];
    let command = unsubscribe_command(id, api, result);
    let (first, second) = tokio::join!(
        sim.unsubscribe(INTEGRATION, id),
        sim.send_command_to(INTEGRATION, 1, &command),
    );
    first.unwrap();
    assert!(second.unwrap().is_success());
    idle_key(&aws, &key_id, &key).await;

    for agent in agents {
        common::stop_cleanly(agent);
    }
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("HELLO accepted"), "{}", log.display());
        assert!(!text.contains(&key), "a key value in {}", log.display());
    }
}
