//! Subscriptions like APIM keeps them (`docs/reference/integration-commands.md` §1.5, §1.6,
//! §9 "Shared API-key mode"): the key the portal shows for an API_KEY subscription (exclusive
//! mode: the key the agent returned; shared mode: an application's first key for all its
//! subscriptions), the reply's metadata stored and sent back in UNSUBSCRIBE, and the metadata
//! APIM puts in SUBSCRIBE.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use federation_core::{SubscriptionResult, SubscriptionType};
use federation_protocol::payload::{Empty, SubscribeReplyPayload};
use federation_protocol::{Command, CommandPayload, CommandType, Reply, ReplyPayload};
use federation_simulator::{ApiKeyMode, ApimVersion, Simulator, SubscribeRequest};

const INTEGRATION: &str = "int-keys";

/// An agent that issues `key-<subscription>` with metadata `keyId: id-<subscription>`,
/// answers UNSUBSCRIBE, and START_INGEST with a total of 1.
fn key_script() -> Script {
    let ingest = ingest_script(1, vec![]);
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
        CommandPayload::Unsubscribe(_) => Some(Reply::succeeded(
            &command.id,
            CommandType::Unsubscribe,
            ReplyPayload::Empty(Empty {}),
        )),
        _ => ingest(command),
    })
}

async fn subscribe(sim: &Simulator, subscription: &str, application: &str) -> String {
    let mut request =
        SubscribeRequest::api_key("api-1", Some("plan-1".into())).for_application(application);
    request.subscription_id = Some(subscription.to_owned());
    let (id, result) = sim.subscribe(INTEGRATION, request).await.unwrap();
    assert_eq!(
        result.api_key.unwrap().expose(),
        format!("key-{subscription}"),
        "the agent's own key"
    );
    id
}

fn shown(sim: &Simulator, subscription: &str) -> Option<String> {
    sim.shown_api_key(subscription)
        .map(|k| k.expose().to_owned())
}

#[tokio::test]
async fn shared_mode_shows_the_applications_first_key_for_its_later_subscriptions() {
    let sim = simulator(INTEGRATION, |c| c.api_key_mode(ApiKeyMode::Shared)).await;
    let _agent = Agent::connect(&sim, INTEGRATION, key_script()).await;

    subscribe(&sim, "sub-1", "app-1").await;
    subscribe(&sim, "sub-2", "app-1").await;
    subscribe(&sim, "sub-3", "app-2").await;

    assert_eq!(shown(&sim, "sub-1").as_deref(), Some("key-sub-1"));
    assert_eq!(
        shown(&sim, "sub-2").as_deref(),
        Some("key-sub-1"),
        "the application's existing key, not the agent's key-sub-2"
    );
    assert_eq!(shown(&sim, "sub-3").as_deref(), Some("key-sub-3"));
    let second = sim.subscription("sub-2").unwrap();
    assert_eq!(second.agent_api_key.unwrap().expose(), "key-sub-2");
    assert_eq!(second.api_key_mode, ApiKeyMode::Shared);
}

#[tokio::test]
async fn exclusive_mode_shows_each_subscriptions_own_key() {
    let sim = simulator(INTEGRATION, |c| c).await;
    let _agent = Agent::connect(&sim, INTEGRATION, key_script()).await;
    subscribe(&sim, "sub-1", "app-1").await;
    subscribe(&sim, "sub-2", "app-1").await;
    assert_eq!(shown(&sim, "sub-1").as_deref(), Some("key-sub-1"));
    assert_eq!(shown(&sim, "sub-2").as_deref(), Some("key-sub-2"));
}

#[tokio::test]
async fn one_application_can_be_shared_while_the_others_stay_exclusive() {
    let sim = simulator(INTEGRATION, |c| {
        c.application_api_key_mode("app-shared", ApiKeyMode::Shared)
    })
    .await;
    let _agent = Agent::connect(&sim, INTEGRATION, key_script()).await;
    subscribe(&sim, "sub-1", "app-shared").await;
    subscribe(&sim, "sub-2", "app-shared").await;
    subscribe(&sim, "sub-3", "app-other").await;
    subscribe(&sim, "sub-4", "app-other").await;
    assert_eq!(shown(&sim, "sub-2").as_deref(), Some("key-sub-1"));
    assert_eq!(shown(&sim, "sub-4").as_deref(), Some("key-sub-4"));
}

#[tokio::test]
async fn the_replys_metadata_is_stored_and_comes_back_in_unsubscribe() {
    let sim = simulator(INTEGRATION, |c| c.api_key_mode(ApiKeyMode::Shared)).await;
    let agent = Agent::connect(&sim, INTEGRATION, key_script()).await;
    subscribe(&sim, "sub-1", "app-1").await;
    subscribe(&sim, "sub-2", "app-1").await;
    let stored = sim.subscription("sub-2").unwrap().metadata;
    assert_eq!(stored.get("keyId").map(String::as_str), Some("id-sub-2"));

    sim.unsubscribe(INTEGRATION, "sub-2").await.unwrap();
    let unsubscribes = agent.received_of(&CommandType::Unsubscribe);
    let [
        Command {
            payload: CommandPayload::Unsubscribe(sent),
            ..
        },
    ] = &unsubscribes[..]
    else {
        panic!("{unsubscribes:?}")
    };
    assert_eq!(sent.api_id, "api-1");
    assert_eq!(sent.subscription.gravitee_subscription_id, "sub-2");
    assert_eq!(sent.subscription.metadata_value("keyId"), Some("id-sub-2"));
    assert!(sim.subscription("sub-2").is_none(), "closed");
    // The application keeps its key.
    subscribe(&sim, "sub-5", "app-1").await;
    assert_eq!(shown(&sim, "sub-5").as_deref(), Some("key-sub-1"));
}

#[tokio::test]
async fn oauth_subscriptions_carry_the_consumer_key_and_show_no_api_key() {
    let sim = simulator(INTEGRATION, |c| c.api_key_mode(ApiKeyMode::Shared)).await;
    let agent = Agent::connect(&sim, INTEGRATION, key_script()).await;
    let mut request =
        SubscribeRequest::api_key("api-1", Some("plan-1".into())).for_application("app-1");
    request.subscription_type = SubscriptionType::Oauth;
    request.client_id = Some("client-1".into());
    request.subscription_id = Some("sub-oauth".into());
    sim.subscribe(INTEGRATION, request).await.unwrap();
    assert_eq!(shown(&sim, "sub-oauth"), None, "OAUTH: apiKey is ignored");

    sim.unsubscribe(INTEGRATION, "sub-oauth").await.unwrap();
    let consumer_keys: Vec<Option<String>> = agent
        .received
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| match &c.payload {
            CommandPayload::Subscribe(p) => Some(&p.subscription),
            CommandPayload::Unsubscribe(p) => Some(&p.subscription),
            _ => None,
        })
        .map(|s| s.metadata_value("consumerKey").map(str::to_owned))
        .collect();
    assert_eq!(
        consumer_keys,
        [Some("client-1".to_owned()), Some("client-1".to_owned())]
    );
}

#[tokio::test]
async fn provider_metadata_goes_into_subscribe_from_apim_4_9() {
    for (version, expected) in [
        (ApimVersion::new(4, 8), None),
        (ApimVersion::V4_9, Some("123456789012")),
    ] {
        let sim = simulator(INTEGRATION, |c| c.apim_version(version)).await;
        let agent = Agent::connect(&sim, INTEGRATION, key_script()).await;
        let (job_id, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
        let ingested = api("api-1", &[])
            .with_connection_detail("url", "https://api-1.example")
            .with_metadata(format!("{PROVIDER}-account"), "123456789012")
            .with_metadata("unrelated", "x");
        agent.ingest(&job_id, vec![ingested], true).await;
        subscribe(&sim, "sub-1", "app-1").await;
        let subscribes = agent.received_of(&CommandType::Subscribe);
        let CommandPayload::Subscribe(sent) = &subscribes[0].payload else {
            panic!("{subscribes:?}")
        };
        let metadata = &sent.subscription;
        assert_eq!(
            metadata.metadata_value("url"),
            Some("https://api-1.example")
        );
        assert_eq!(metadata.metadata_value("planId"), Some("plan-1"));
        assert_eq!(
            metadata.metadata_value(&format!("{PROVIDER}-account")),
            expected,
            "APIM {version}"
        );
        assert_eq!(metadata.metadata_value("unrelated"), None);
    }
}
