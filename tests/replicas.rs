//! Two replicas of the AWS agent on one integration (the way Kubernetes scales it): two real
//! `federation-agent-aws-api-gateway` processes, each with its own management port, connected
//! to the controller simulator, against moto. APIM may send a command to any replica and
//! re-deliver it to another while the first is still working: here every SUBSCRIBE reaches both
//! replicas at once. Each subscription must end with one key, the same in both replies, attached
//! to the usage plan; after UNSUBSCRIBE no key is left. The agents keep one key per subscription
//! (`apiKeyScope: subscription`); one key per application with replicas is in
//! `shared_api_keys.rs`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::time::Duration;

use common::aws_agent::{SeedAgent, aws_simulator, spawn_logging_to};
use federation_core::{Subscription, SubscriptionResult, SubscriptionType};
use federation_protocol::payload::{SubscribePayload, UnsubscribePayload};
use federation_protocol::{Command as WireCommand, CommandPayload, Reply, ReplyPayload};
use federation_provider_aws_api_gateway::testing::{self, seed};
use federation_simulator::Simulator;

const TOKEN: &str = "apim-token-replicas-5c1e";
const INTEGRATION: &str = "aws-int";
const API_ID: &str = "rep1:prod";
const SUBSCRIPTIONS: usize = 20;
const WAIT: Duration = Duration::from_secs(60);

fn spawn_agent(moto: &str, endpoint: &str, log: &std::path::Path) -> Child {
    let agent = SeedAgent {
        aws: moto,
        controller: endpoint,
        token: TOKEN,
        integration_id: INTEGRATION,
        access_key_id: "AKIAREPLICAS",
        secret_access_key: "replicas-secret-not-used-by-moto",
    };
    let mut command = agent.command();
    // A key per subscription: what this test is about.
    command.env(
        "gravitee_integration_providers_0_configuration_apiKeyScope",
        "subscription",
    );
    spawn_logging_to(&mut command, log)
}

fn subscription(id: &str, plan_id: &str) -> Subscription {
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        gravitee_application_id: Some("app-replicas".to_owned()),
        gravitee_application_name: Some("Replicas".to_owned()),
        subscription_type: Some(SubscriptionType::ApiKey),
        metadata: Some(
            [("planId".to_owned(), plan_id.to_owned())]
                .into_iter()
                .collect(),
        ),
    }
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

/// Every key whose name starts with `gravitee-`: name → ids.
async fn gravitee_keys(client: &aws_sdk_apigateway::Client) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let keys = client
        .get_api_keys()
        .name_query("gravitee-")
        .send()
        .await
        .unwrap();
    for key in keys.items() {
        out.entry(key.name().unwrap_or_default().to_owned())
            .or_default()
            .push(key.id().unwrap_or_default().to_owned());
    }
    out
}

#[tokio::test]
async fn two_replicas_given_the_same_subscriptions_at_once_keep_one_key_each() {
    let moto = testing::shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    seed::rest_api(&client, "Replicated", Some("rep1"), &["prod"]).await;
    let plan_id =
        seed::usage_plan(&client, &seed::PlanSpec::new("Gold").stage("rep1", "prod")).await;

    let sim = Simulator::start(aws_simulator(TOKEN, INTEGRATION))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let agents: Vec<Child> = logs
        .iter()
        .map(|log| spawn_agent(&moto.endpoint(), &sim.endpoint(), log))
        .collect();
    tokio::time::timeout(WAIT, async {
        while sim.channel_count(INTEGRATION) < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("both replicas connect");

    // Every subscription delivered to both replicas at once; all 20 in flight together.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..SUBSCRIPTIONS {
        let sim = sim.clone();
        let sub = subscription(&format!("sub-{i:02}"), &plan_id);
        tasks.spawn(async move {
            let command = |replica: usize| {
                WireCommand::new(
                    format!("subscribe-{i:02}-{replica}"),
                    CommandPayload::Subscribe(SubscribePayload {
                        api_id: API_ID.to_owned(),
                        subscription: sub.clone(),
                    }),
                )
            };
            let (a, b) = (command(0), command(1));
            let (ra, rb) = tokio::join!(
                sim.send_command_to(INTEGRATION, 0, &a),
                sim.send_command_to(INTEGRATION, 1, &b)
            );
            (i, subscribed(ra.unwrap()), subscribed(rb.unwrap()))
        });
    }
    let mut results = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, a, b) = joined.unwrap();
        let key_a = a.metadata.as_ref().unwrap()["apiKeyId"].clone();
        let key_b = b.metadata.as_ref().unwrap()["apiKeyId"].clone();
        assert_eq!(
            key_a, key_b,
            "sub-{i:02}: the replicas replied different keys"
        );
        assert_eq!(
            a.api_key.as_ref().map(|k| k.expose().to_owned()),
            b.api_key.as_ref().map(|k| k.expose().to_owned()),
            "sub-{i:02}: the replicas replied different key values"
        );
        results.insert(i, a);
    }

    let keys = gravitee_keys(&client).await;
    assert_eq!(
        keys.values().map(Vec::len).sum::<usize>(),
        SUBSCRIPTIONS,
        "exactly one key per subscription: {keys:?}"
    );
    for (i, result) in &results {
        let key_id = result.metadata.as_ref().unwrap()["apiKeyId"].clone();
        assert_eq!(
            keys.get(&format!("gravitee-sub-{i:02}")),
            Some(&vec![key_id.clone()]),
            "sub-{i:02}"
        );
        let plans = client
            .get_usage_plans()
            .key_id(&key_id)
            .send()
            .await
            .unwrap();
        let attached: BTreeSet<&str> = plans.items().iter().filter_map(|p| p.id()).collect();
        assert_eq!(
            attached,
            BTreeSet::from([plan_id.as_str()]),
            "sub-{i:02}: the kept key is attached"
        );
    }

    // UNSUBSCRIBE, each to one replica (alternating), with the metadata the reply returned.
    for (i, result) in &results {
        let command = WireCommand::new(
            format!("unsubscribe-{i:02}"),
            CommandPayload::Unsubscribe(UnsubscribePayload {
                api_id: API_ID.to_owned(),
                subscription: Subscription {
                    gravitee_subscription_id: format!("sub-{i:02}"),
                    metadata: result.metadata.clone(),
                    ..Subscription::default()
                },
            }),
        );
        let reply = sim
            .send_command_to(INTEGRATION, i % 2, &command)
            .await
            .unwrap();
        assert!(
            reply.is_success(),
            "UNSUBSCRIBE sub-{i:02}: {:?}",
            reply.error_details
        );
    }
    assert!(
        gravitee_keys(&client).await.is_empty(),
        "keys left after UNSUBSCRIBE"
    );

    for agent in agents {
        common::stop_cleanly(agent);
    }
    let mut lost = 0;
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        lost += text
            .matches("Another replica created this subscription's key first")
            .count();
        assert!(text.contains("HELLO accepted"), "{}", log.display());
        for result in results.values() {
            let value = result.api_key.as_ref().unwrap();
            assert!(
                !text.contains(value.expose()),
                "a key value in {}",
                log.display()
            );
        }
    }
    // Timing decides how many races there were; printed, not asserted.
    println!(
        "{SUBSCRIPTIONS} subscriptions to both replicas: {lost} keys deleted by the replica that lost"
    );
}
