//! The AWS agent end to end: the real `federation-agent-aws-api-gateway` binary, configured only
//! with the seed's environment variable names (plus `AWS_ENDPOINT_URL`), against the controller
//! simulator and moto: HELLO, DISCOVER, START_INGEST with INGEST batches, SUBSCRIBE (a real key
//! in moto), UNSUBSCRIBE (deleted), SIGTERM; and a full debug log that never shows the token,
//! the AWS secret or the issued key.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Child;
use std::time::Duration;

use common::aws_agent::{SeedAgent, aws_simulator, spawn_logging_to};
use federation_provider_aws_api_gateway::testing::{self, seed};
use federation_simulator::{Event, Simulator, SubscribeRequest};

const TOKEN: &str = "apim-token-4b7e2d19";
const AWS_SECRET: &str = "wJalrXUtnFEMI-e2e-secret-K7MDENG";
const WAIT: Duration = Duration::from_secs(60);

fn spawn_agent(moto: &str, endpoint: &str, log: &std::path::Path) -> Child {
    let agent = SeedAgent {
        aws: moto,
        controller: endpoint,
        token: TOKEN,
        integration_id: "aws-int",
        access_key_id: "AKIAE2ETEST",
        secret_access_key: AWS_SECRET,
    };
    let mut command = agent.command();
    command.env("RUST_LOG", "debug").env(
        "gravitee_integration_providers_0_configuration_acceptApiWithoutUsagePlan",
        "false",
    );
    spawn_logging_to(&mut command, log)
}

#[tokio::test]
async fn the_aws_agent_serves_discover_ingest_subscribe_and_unsubscribe() {
    let moto = testing::shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    // 25 stages in usage plans (more than one INGEST batch of 20), and one API in no plan.
    let mut plan = seed::PlanSpec::new("Gold")
        .description("Partners")
        .throttle(100.0, 200);
    let mut expected = Vec::new();
    for i in 0..25 {
        let id = format!("api{i:02}");
        seed::rest_api(&client, &format!("API {i}"), Some(&id), &["prod"]).await;
        plan = plan.stage(&id, "prod");
        expected.push(format!("{id}:prod"));
    }
    seed::rest_api(&client, "Hidden", Some("hidden"), &["prod"]).await;
    let plan_id = seed::usage_plan(&client, &plan).await;
    expected.sort();

    let sim = Simulator::start(aws_simulator(TOKEN, "aws-int"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("agent.log");
    let agent = spawn_agent(&moto.endpoint(), &sim.endpoint(), &log_path);
    sim.wait_connected("aws-int", WAIT).await.unwrap();

    let preview = sim.discover("aws-int").await.unwrap();
    let mut ids: Vec<String> = preview.apis.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, expected, "every stage in a usage plan, and only those");
    assert!(!preview.is_partial_discovery);

    let job = sim.ingest("aws-int", None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 25);
    assert_eq!(job.batches, 2);
    let api = job.apis.iter().find(|a| a.id == "api07:prod").unwrap();
    assert_eq!(api.unique_id, "us-east-1:api07:prod");
    assert_eq!(api.plans.as_ref().unwrap()[0].id, plan_id);
    assert_eq!(api.pages.as_ref().unwrap().len(), 1);

    let (subscription_id, result) = sim
        .subscribe(
            "aws-int",
            SubscribeRequest::api_key("api07:prod", Some(plan_id.clone())),
        )
        .await
        .unwrap();
    let key_value = result.api_key.clone().unwrap();
    let key_id = result.metadata.as_ref().unwrap()["apiKeyId"].clone();
    let key = client
        .get_api_key()
        .api_key(&key_id)
        .include_value(true)
        .send()
        .await
        .unwrap();
    assert_eq!(key.value(), Some(key_value.expose()));
    assert!(key.enabled());
    let attached = client
        .get_usage_plan_keys()
        .usage_plan_id(&plan_id)
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .items()
            .iter()
            .any(|k| k.id() == Some(key_id.as_str()))
    );

    sim.unsubscribe("aws-int", &subscription_id).await.unwrap();
    // One key per application (the default `apiKeyScope`): the application's key leaves the
    // usage plan, so it opens nothing, and stays for the application's next subscription (APIM's
    // shared API-key mode keeps showing it: docs/configuration.md, `apiKeyScope`).
    let attached = client
        .get_usage_plan_keys()
        .usage_plan_id(&plan_id)
        .send()
        .await
        .unwrap();
    assert!(
        !attached
            .items()
            .iter()
            .any(|k| k.id() == Some(key_id.as_str())),
        "the key is detached from the usage plan"
    );

    common::stop_cleanly(agent);
    sim.wait_for_event(WAIT, |e| {
        matches!(
            e,
            Event::Closed {
                code: Some(1000),
                ..
            }
        )
    })
    .await
    .unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("HELLO accepted"),
        "the log is the agent's debug log"
    );
    assert!(log.lines().count() > 20);
    for secret in [TOKEN, AWS_SECRET, key_value.expose()] {
        assert!(!log.contains(secret), "a secret appears in the agent's log");
    }
}

/// The operator tool as a new user tries it: the provider's settings only (no controller
/// endpoint, no token), against moto.
#[tokio::test]
async fn discover_needs_only_the_providers_settings() {
    let moto = testing::shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    seed::rest_api(&client, "Pets", Some("pets"), &["prod", "dev"]).await;
    seed::usage_plan(&client, &seed::PlanSpec::new("Gold").stage("pets", "prod")).await;

    let output = common::agent_command(env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"))
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("gravitee_integration_providers_0_type", "aws-api-gateway")
        .env("gravitee_integration_providers_0_integrationId", "aws-int")
        .env(
            "gravitee_integration_providers_0_configuration_accessKeyId",
            "AKIAE2ETEST",
        )
        .env(
            "gravitee_integration_providers_0_configuration_secretAccessKey",
            AWS_SECRET,
        )
        .env(
            "gravitee_integration_providers_0_configuration_region",
            "us-east-1",
        )
        .args(["discover", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids: Vec<&str> = report["apis"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, ["pets:prod"], "{report:#}");
    let skipped = report["skipped"].to_string();
    assert!(skipped.contains("has no usage plan"), "{skipped}");
    assert!(!stderr.contains(AWS_SECRET));
}
