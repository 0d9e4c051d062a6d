//! The HTTP control API shows the APIM behaviours: the settings, a pending job (Discover
//! refused with 409), the job list with statuses, the catalog's pages and the key the portal
//! shows for each subscription (`docs/simulator.md`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use federation_core::SubscriptionResult;
use federation_protocol::payload::SubscribeReplyPayload;
use federation_protocol::{Command, CommandPayload, CommandType, Reply, ReplyPayload};
use federation_simulator::{ApiKeyMode, ApimVersion, api};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

const INTEGRATION: &str = "int-http";

/// Calls the control API at `addr`; returns the status and the JSON answer.
async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Full::new(Bytes::from(json.to_string()))
        }
        None => Full::new(Bytes::new()),
    };
    let response = sender
        .send_request(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn script() -> Script {
    let ingest = ingest_script(2, vec![api("a", &[]), api("b", &[])]);
    Arc::new(move |command: &Command| match &command.payload {
        CommandPayload::Subscribe(subscribe) => {
            let id = &subscribe.subscription.gravitee_subscription_id;
            Some(Reply::succeeded(
                &command.id,
                CommandType::Subscribe,
                ReplyPayload::Subscribe(SubscribeReplyPayload {
                    subscription: SubscriptionResult::new(id.clone())
                        .with_api_key(format!("key-{id}"))
                        .with_metadata("keyId", format!("id-{id}")),
                }),
            ))
        }
        _ => ingest(command),
    })
}

#[tokio::test]
async fn the_control_api_shows_jobs_pages_and_shown_keys() {
    let sim = simulator(INTEGRATION, |c| {
        c.apim_version(ApimVersion::V4_6)
            .api_key_mode(ApiKeyMode::Shared)
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(api::serve(sim.clone(), listener));
    let agent = Agent::connect(&sim, INTEGRATION, script()).await;

    let (status, settings) = call(addr, "GET", "/settings", None).await;
    assert_eq!(status, 200);
    assert_eq!(settings["apimVersion"], "4.6");
    assert_eq!(settings["ingestJobDeadlineMs"], Value::Null, "4.6: none");
    assert_eq!(settings["maxMessageSize"], 13_107_200);
    assert_eq!(settings["apiKeyMode"], "shared");

    // Start an ingest without waiting: the job is PENDING and Discover is refused.
    let (status, started) = call(
        addr,
        "POST",
        &format!("/integrations/{INTEGRATION}/ingest?wait=false"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["status"], "PENDING");
    let job_id = started["jobId"].as_str().unwrap().to_owned();
    let (status, refused) = call(
        addr,
        "POST",
        &format!("/integrations/{INTEGRATION}/discover"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("an ingest job is pending: "),
        "{refused}"
    );
    let (_, integrations) = call(addr, "GET", "/integrations", None).await;
    assert_eq!(integrations[0]["pendingJobId"], job_id.as_str());

    agent
        .ingest(
            &job_id,
            vec![api("a", &["a-oas.json"]), api("b", &[])],
            true,
        )
        .await;
    let (status, jobs) = call(
        addr,
        "GET",
        &format!("/integrations/{INTEGRATION}/jobs"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(jobs[0]["jobId"], job_id.as_str());
    assert_eq!(jobs[0]["status"], "SUCCESS");
    assert_eq!(jobs[0]["batches"], 1);
    let (status, one) = call(
        addr,
        "GET",
        &format!("/integrations/{INTEGRATION}/jobs/{job_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["apis"].as_array().unwrap().len(), 2);
    let (status, _) = call(
        addr,
        "GET",
        &format!("/integrations/{INTEGRATION}/jobs/nope"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, catalog) = call(
        addr,
        "GET",
        &format!("/integrations/{INTEGRATION}/catalog"),
        None,
    )
    .await;
    assert_eq!(catalog[0]["pages"][0]["filename"], "a-oas.json");
    assert_eq!(catalog[1]["pages"], json!([]));

    // Two subscriptions of one application in shared mode.
    for _ in 0..2 {
        let (status, answer) = call(
            addr,
            "POST",
            &format!("/integrations/{INTEGRATION}/subscriptions"),
            Some(json!({"apiId": "a", "planId": "p", "applicationId": "app-1"})),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["applicationId"], "app-1");
    }
    let (_, list) = call(
        addr,
        "GET",
        &format!("/integrations/{INTEGRATION}/subscriptions"),
        None,
    )
    .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let first_id = list[0]["subscriptionId"].as_str().unwrap();
    let second_id = list[1]["subscriptionId"].as_str().unwrap();
    assert_eq!(list[1]["apiKey"], format!("key-{second_id}"));
    assert_eq!(list[1]["shownApiKey"], format!("key-{first_id}"));
    assert_eq!(list[1]["metadata"]["keyId"], format!("id-{second_id}"));
    let (status, one) = call(
        addr,
        "GET",
        &format!("/integrations/{INTEGRATION}/subscriptions/{second_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["shownApiKey"], format!("key-{first_id}"));
    let (status, _) = call(
        addr,
        "GET",
        &format!("/integrations/{INTEGRATION}/subscriptions/nope"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}
