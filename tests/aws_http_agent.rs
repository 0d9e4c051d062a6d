//! An AWS HTTP API end to end: the real `federation-agent-aws-api-gateway` binary with
//! `apiTypes: REST,HTTP` (seed env var names plus ours), against the controller simulator and
//! moto: DISCOVER (a REST API and an HTTP API side by side), START_INGEST with the HTTP API's
//! OAUTH2 plan and generated OpenAPI page, an OAUTH SUBSCRIBE adding the application's client id
//! to the JWT authorizer's audience (checked in moto), the refusal of an OAUTH subscription to
//! the REST API, UNSUBSCRIBE removing the client id, then SIGTERM.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Child;
use std::time::Duration;

use common::aws_agent::{SeedAgent, aws_simulator, spawn_logging_to};
use federation_core::SubscriptionType;
use federation_provider_aws_api_gateway::testing::seed_http::{self, HttpApiSpec};
use federation_provider_aws_api_gateway::testing::{self, seed};
use federation_simulator::{Event, Simulator, SubscribeRequest};

const TOKEN: &str = "apim-token-http-5c1e";
const WAIT: Duration = Duration::from_secs(60);
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE";

fn spawn_agent(moto: &str, endpoint: &str, log: &std::path::Path) -> Child {
    let agent = SeedAgent {
        aws: moto,
        controller: endpoint,
        token: TOKEN,
        integration_id: "aws-int",
        access_key_id: "AKIAE2ETEST",
        secret_access_key: "e2e-secret",
    };
    let mut command = agent.command();
    command.env(
        "gravitee_integration_providers_0_configuration_apiTypes",
        "REST,HTTP",
    );
    spawn_logging_to(&mut command, log)
}

#[tokio::test]
async fn the_agent_serves_an_http_api_with_oauth_subscriptions() {
    let moto = testing::shared_moto().await;
    let rest = testing::client(&moto.endpoint(), "us-east-1").await;
    let v2 = testing::client_v2(&moto.endpoint(), "us-east-1").await;
    seed::rest_api(&rest, "Pets", Some("pets"), &["prod"]).await;
    let gold = seed::usage_plan(&rest, &seed::PlanSpec::new("Gold").stage("pets", "prod")).await;
    let orders = seed_http::http_api(
        &v2,
        &HttpApiSpec::new("Orders")
            .description("Order book")
            .jwt_authorizer("orders-jwt", ISSUER, &["existing-client"])
            .route("GET /orders", "orders-jwt", &["orders:read"])
            .route("POST /orders", "orders-jwt", &["orders:write"])
            .stage("prod"),
    )
    .await;
    let authorizer = orders.authorizer("orders-jwt").to_owned();
    let http_id = orders.stage_id("prod");
    let plan_id = orders.plan_id("orders-jwt");

    let sim = Simulator::start(aws_simulator(TOKEN, "aws-int"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("agent.log");
    let agent = spawn_agent(&moto.endpoint(), &sim.endpoint(), &log_path);
    sim.wait_connected("aws-int", WAIT).await.unwrap();

    // DISCOVER: the REST API and the HTTP API side by side.
    let preview = sim.discover("aws-int").await.unwrap();
    let mut ids: Vec<String> = preview.apis.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, [http_id.clone(), "pets:prod".to_owned()]);

    // Ingest: the OAUTH2 plan and the OpenAPI page built from the routes.
    let job = sim.ingest("aws-int", None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 2);
    let api = job.apis.iter().find(|a| a.id == http_id).unwrap();
    let plans = api.plans.as_ref().unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].id, plan_id);
    assert_eq!(
        serde_json::to_value(&plans[0]).unwrap()["planSecurityType"],
        "OAUTH2"
    );
    let page = &api.pages.as_ref().unwrap()[0];
    let doc: serde_json::Value = serde_json::from_str(&page.content).unwrap();
    assert_eq!(doc["openapi"], "3.0.1");
    assert!(doc["paths"]["/orders"]["post"].is_object(), "{doc}");
    let source = api
        .metadata
        .iter()
        .flatten()
        .find(|m| m.name == "aws-api-gateway-openapi-source")
        .unwrap();
    assert_eq!(source.value, "routes");
    let kept = sim.catalog_api("aws-int", &http_id).unwrap();
    assert_eq!(kept.pages.as_ref().unwrap().len(), 1, "APIM keeps the page");

    // OAUTH SUBSCRIBE: the application's client id joins the authorizer's audience.
    let mut request = SubscribeRequest::api_key(http_id.clone(), Some(plan_id.clone()));
    request.subscription_type = SubscriptionType::Oauth;
    request.client_id = Some("client-shop".to_owned());
    let (subscription_id, result) = sim.subscribe("aws-int", request).await.unwrap();
    assert!(result.api_key.is_none());
    let metadata = result.metadata.clone().unwrap();
    assert_eq!(metadata["authorizerId"], authorizer);
    assert_eq!(metadata["clientId"], "client-shop");
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["client-shop", "existing-client"]
    );

    // OAUTH on the REST API: refused, with the reason.
    let mut wrong = SubscribeRequest::api_key("pets:prod", Some(gold));
    wrong.subscription_type = SubscriptionType::Oauth;
    wrong.client_id = Some("client-shop".to_owned());
    let refused = sim
        .subscribe("aws-int", wrong)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("REST API pets:prod") && refused.contains("supports API_KEY"),
        "{refused}"
    );

    // UNSUBSCRIBE (with the metadata APIM kept): the client id leaves the audience.
    sim.unsubscribe("aws-int", &subscription_id).await.unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["existing-client"]
    );
    let tags = seed_http::api_tags(&v2, &orders.id).await;
    assert!(tags.keys().all(|k| !k.starts_with("gravitee:")), "{tags:?}");

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
        log.contains("OAuth client id in the JWT authorizer's audience."),
        "{log}"
    );
    assert!(log.contains("OAuth subscription revoked."), "{log}");
}
