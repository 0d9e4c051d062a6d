//! Integration commands through the connector to an in-memory provider: DISCOVER, START_INGEST
//! with INGEST batches, SUBSCRIBE, UNSUBSCRIBE, APIM 4.4's LIST and FETCH, and the concurrency
//! and idempotency rules.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use federation_core::{Api, Page, PageType, SubscriptionType};
use federation_protocol::payload::{Empty, FetchPayload, SubscribePayload};
use federation_protocol::{Command, CommandPayload, CommandStatus, ReplyPayload};
use federation_simulator::{Event, SubscribeRequest};

#[tokio::test]
async fn discover_returns_summaries_of_every_api() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 5);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let preview = sim.discover("int-1").await.unwrap();
    assert!(!preview.is_partial_discovery);
    let ids: Vec<_> = preview.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["api-0", "api-1", "api-2", "api-3", "api-4"]);
    for api in &preview.apis {
        assert!(
            api.pages.is_none() && api.plans.is_none(),
            "preview carries summaries only"
        );
        assert!(api.version.is_some());
    }
    assert_eq!(provider.discover_calls(), 1);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn discover_replies_partial_at_its_deadline() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 50);
    provider.set_emit_delay(Duration::from_millis(100));
    let mut config = connector_config(&sim.endpoint());
    config.commands.discover_timeout_ms = 700;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let preview = sim.discover("int-1").await.unwrap();
    assert!(preview.is_partial_discovery);
    assert!(
        !preview.apis.is_empty() && preview.apis.len() < 50,
        "{}",
        preview.apis.len()
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn start_ingest_replies_total_then_pushes_batches_with_done_last() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 7);
    let mut config = connector_config(&sim.endpoint());
    config.ingest.batch_size = 3;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    let (job_id, total) = sim.start_ingest("int-1", None).await.unwrap();
    assert_eq!(total, 7);
    let job = sim.wait_ingest_done(&job_id, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 7);
    assert_eq!(job.batches, 3);
    let batches: Vec<(usize, bool, bool)> = sim
        .events()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Ingest {
                apis,
                done,
                known_job,
                ..
            } => Some((apis, done, known_job)),
            _ => None,
        })
        .collect();
    assert_eq!(
        batches,
        [(3, false, true), (3, false, true), (1, true, true)]
    );
    // Full definitions: pages, plans and metadata.
    let api = &job.apis[0];
    assert_eq!(api.pages.as_ref().unwrap()[0].page_type, PageType::Swagger);
    assert_eq!(api.plans.as_ref().unwrap().len(), 1);
    assert!(!api.metadata.as_ref().unwrap().is_empty());
    assert_eq!(sim.catalog("int-1").len(), 7);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn start_ingest_of_selected_ids_and_of_nothing() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 5);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    let job = sim
        .ingest(
            "int-1",
            Some(vec!["api-1".into(), "api-3".into(), "gone".into()]),
            WAIT,
        )
        .await
        .unwrap();
    let mut ids: Vec<_> = job.apis.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["api-1", "api-3"]);
    assert_eq!(job.total, 2, "total counts only APIs that exist");

    let (empty_job, total) = sim
        .start_ingest("int-1", Some(vec!["nope".into()]))
        .await
        .unwrap();
    assert_eq!(total, 0);
    // An INGEST for the empty job would have been sent before the one of a job started after
    // it: once that later job is done, none can still come.
    let later = sim
        .ingest("int-1", Some(vec!["api-0".into()]), WAIT)
        .await
        .unwrap();
    assert!(later.done);
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Ingest { job_id, .. } if *job_id == empty_job)),
        0,
        "no INGEST for a job of 0 APIs"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn subscribe_and_unsubscribe_round_trip() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 2);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.ingest("int-1", None, WAIT).await.unwrap();

    let (subscription_id, result) = sim
        .subscribe(
            "int-1",
            SubscribeRequest::api_key("api-1", Some("gold-1".into())),
        )
        .await
        .unwrap();
    assert_eq!(result.gravitee_subscription_id, subscription_id);
    let key = result.api_key.unwrap();
    let issued = provider.issued();
    assert_eq!(issued[&subscription_id].value, key.expose());
    assert_eq!(issued[&subscription_id].plan_id.as_deref(), Some("gold-1"));

    sim.unsubscribe("int-1", &subscription_id).await.unwrap();
    assert!(provider.issued().is_empty());
    running.stop().await.unwrap();
}

#[tokio::test]
async fn unsupported_subscription_types_and_provider_errors_are_error_replies() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    let mut request = SubscribeRequest::api_key("api-0", Some("gold-0".into()));
    request.subscription_type = SubscriptionType::Oauth;
    let error = sim
        .subscribe("int-1", request)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("memory supports API_KEY subscriptions only; this subscription is OAUTH"),
        "{error}"
    );
    assert_eq!(
        provider.subscribe_calls(),
        0,
        "refused before reaching the provider"
    );

    provider.fail_subscribe(Some("vendor quota exceeded"));
    let error = sim
        .subscribe("int-1", SubscribeRequest::api_key("api-0", None))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("vendor quota exceeded"), "{error}");
    // The agent keeps serving.
    assert_eq!(sim.discover("int-1").await.unwrap().apis.len(), 1);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_command_delivered_twice_runs_once() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 1);
    provider.set_call_delay(Duration::from_millis(300));
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let command = Command::new(
        "same-id",
        CommandPayload::Subscribe(SubscribePayload {
            api_id: "api-0".into(),
            subscription: federation_core::Subscription {
                gravitee_subscription_id: "sub-1".into(),
                subscription_type: Some(SubscriptionType::ApiKey),
                ..Default::default()
            },
        }),
    );
    // The second delivery arrives while the first is still running (inside the provider's
    // 300 ms call), the third after it ended.
    let (first, second) = tokio::join!(sim.send_command("int-1", &command), async {
        eventually("the first delivery in the provider", || {
            provider.subscribe_calls() == 1
        })
        .await;
        sim.send_command("int-1", &command).await
    });
    let third = sim.send_command("int-1", &command).await.unwrap();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second);
    assert_eq!(first, third);
    assert_eq!(first.status, CommandStatus::Succeeded);
    assert_eq!(provider.subscribe_calls(), 1);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn unsubscribe_is_served_while_an_ingest_reply_is_pending() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 3);
    let mut config = connector_config(&sim.endpoint());
    config.ingest.batch_size = 1;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let (subscription_id, _) = sim
        .subscribe("int-1", SubscribeRequest::api_key("api-2", None))
        .await
        .unwrap();

    sim.pause_ingest_replies(true);
    let (job_id, total) = sim.start_ingest("int-1", None).await.unwrap();
    assert_eq!(total, 3);
    sim.wait_for_event(WAIT, |e| matches!(e, Event::Received { command_type, kind, .. } if command_type == "INGEST" && kind == "COMMAND"))
        .await
        .unwrap();
    // The agent awaits the INGEST reply; the controller revokes meanwhile.
    within(sim.unsubscribe("int-1", &subscription_id))
        .await
        .unwrap();
    assert!(provider.issued().is_empty());
    assert!(sim.ingest_job(&job_id).is_some_and(|j| !j.done));

    sim.pause_ingest_replies(false);
    let job = sim.wait_ingest_done(&job_id, WAIT).await.unwrap();
    assert_eq!(job.batches, 3);
    running.stop().await.unwrap();
}

fn big_api(bytes: usize) -> Api {
    Api::new("memory:big", "big", "Big API")
        .with_version("1")
        .with_page(Page::new(
            PageType::Swagger,
            "x".repeat(bytes),
            "big-oas.json",
        ))
}

#[tokio::test]
async fn a_200_kib_ingest_is_fragmented_and_reassembled() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 0);
    provider.add_api(big_api(200 * 1024));
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    // The simulator, like Vert.x, refuses frames above 64 KiB: only a fragmented message passes.
    let job = sim.ingest("int-1", None, WAIT).await.unwrap();
    assert_eq!(
        job.apis[0].pages.as_ref().unwrap()[0].content.len(),
        200 * 1024
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn without_fragmentation_the_same_ingest_is_refused() {
    // The control case for the test above: frames of 1 MiB are refused by the controller.
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 0);
    provider.add_api(big_api(200 * 1024));
    let mut config = connector_config(&sim.endpoint());
    config.ws.max_web_socket_frame_size = 1 << 20;
    config.commands.reply_timeout_ms = 1_000;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let (job_id, _) = sim.start_ingest("int-1", None).await.unwrap();
    // The batch closes the connection; the agent reconnects and sends it again, which closes
    // the next one too: it never gets through.
    eventually("a second connection closed by the batch", || {
        sim.count_events(|e| matches!(e, Event::Closed { .. })) >= 2
    })
    .await;
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Ingest { .. })),
        0,
        "no INGEST was read"
    );
    assert!(!sim.ingest_job(&job_id).unwrap().done);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn an_ingest_batch_interrupted_by_a_reconnect_is_sent_again() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 2);
    let mut config = connector_config(&sim.endpoint());
    config.ingest.batch_size = 1;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.pause_ingest_replies(true);
    let (job_id, _) = sim.start_ingest("int-1", None).await.unwrap();
    sim.wait_for_event(WAIT, |e| matches!(e, Event::Received { command_type, kind, .. } if command_type == "INGEST" && kind == "COMMAND"))
        .await
        .unwrap();
    sim.drop_connection("int-1").await.unwrap();
    sim.pause_ingest_replies(false);
    let job = sim.wait_ingest_done(&job_id, WAIT).await.unwrap();
    assert!(job.done);
    assert_eq!(sim.catalog("int-1").len(), 2, "every API arrived");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn apim_4_4_list_and_fetch() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 3);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    let reply = sim
        .send("int-1", CommandPayload::List(Empty {}))
        .await
        .unwrap();
    let Some(ReplyPayload::List(list)) = reply.payload else {
        panic!("{reply:?}")
    };
    assert_eq!(list.apis.len(), 3);

    let reply = sim
        .send(
            "int-1",
            CommandPayload::Fetch(FetchPayload { apis: Some(vec![]) }),
        )
        .await
        .unwrap();
    let Some(ReplyPayload::Fetch(fetch)) = reply.payload else {
        panic!("{reply:?}")
    };
    assert_eq!(fetch.apis.len(), 3);
    assert!(
        fetch
            .apis
            .iter()
            .all(|a| a.pages.as_ref().is_some_and(|p| !p.is_empty()))
    );
    running.stop().await.unwrap();
}

/// APIM creates the ingest job only after it read the START_INGEST reply, later still on a
/// cluster; until then it answers INGEST with SUCCEEDED and ingests nothing.
async fn ingest_against_a_late_job(
    start_delay_ms: u64,
) -> (federation_simulator::Simulator, String) {
    let sim = simulator_with(&[("int-1", "memory")], |c| {
        c.ingest_job_delay(Duration::from_millis(1_500))
    })
    .await;
    let (_provider, integration) = memory("int-1", 3);
    let mut config = connector_config(&sim.endpoint());
    config.ingest.start_delay_ms = start_delay_ms;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let (job_id, total) = sim.start_ingest("int-1", None).await.unwrap();
    assert_eq!(total, 3);
    sim.wait_for_event(WAIT, |e| matches!(e, Event::Ingest { done: true, .. }))
        .await
        .unwrap();
    running.stop().await.unwrap();
    (sim, job_id)
}

#[tokio::test]
async fn with_the_default_start_delay_an_ingest_job_created_late_loses_nothing() {
    let delay = default_ingest_start_delay_ms();
    assert!(
        delay > 1_500,
        "the default outwaits the late job: {delay} ms"
    );
    let (sim, job_id) = ingest_against_a_late_job(delay).await;
    assert_eq!(
        sim.count_events(|e| matches!(
            e,
            Event::Ingest {
                known_job: false,
                ..
            }
        )),
        0,
        "no INGEST reached APIM before its job existed"
    );
    let job = sim.ingest_job(&job_id).unwrap();
    assert!(job.done);
    assert_eq!(job.apis.len(), 3);
    assert_eq!(sim.catalog("int-1").len(), 3);
}

#[tokio::test]
async fn with_a_tiny_start_delay_an_ingest_job_created_late_loses_the_batch() {
    // The control case for the test above: the same late job, an INGEST sent too early.
    let (sim, job_id) = ingest_against_a_late_job(10).await;
    eventually("the late job", || sim.ingest_job(&job_id).is_some()).await;
    assert_eq!(
        sim.count_events(|e| matches!(
            e,
            Event::Ingest {
                known_job: false,
                ..
            }
        )),
        1
    );
    let job = sim.ingest_job(&job_id).unwrap();
    assert!(!job.done, "the silently dropped batch was the last one");
    assert!(job.apis.is_empty());
    assert!(sim.catalog("int-1").is_empty());
}

#[tokio::test]
async fn an_api_too_large_for_a_message_is_left_out_and_keeps_its_ingested_pages() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 2);
    provider.add_api(big_api(20 * 1024));
    let mut config = connector_config(&sim.endpoint());
    config.ws.max_web_socket_message_size = 64 * 1024;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let job = sim.ingest("int-1", None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 3);

    // The document grows past what one message carries.
    provider.add_api(big_api(100 * 1024));
    let job = sim.ingest("int-1", None, WAIT).await.unwrap();
    assert!(job.done);
    let ids: Vec<_> = job.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["api-0", "api-1"], "the big API is left out");
    // Not replaced by an update with `pages: []` (APIM would delete its page).
    let big = sim
        .catalog("int-1")
        .into_iter()
        .find(|a| a.id == "big")
        .unwrap();
    assert_eq!(big.pages.unwrap()[0].content.len(), 20 * 1024);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_fetch_reply_is_filled_up_to_the_message_limit_and_leaves_out_the_rest() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 0);
    for i in 0..4 {
        provider.add_api(
            Api::new(
                format!("memory:big-{i}"),
                format!("big-{i}"),
                format!("Big {i}"),
            )
            .with_page(Page::new(
                PageType::Swagger,
                "x".repeat(25 * 1024),
                format!("big-{i}-oas.json"),
            )),
        );
    }
    let mut config = connector_config(&sim.endpoint());
    config.ws.max_web_socket_message_size = 64 * 1024;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let reply = sim
        .send(
            "int-1",
            CommandPayload::Fetch(FetchPayload { apis: Some(vec![]) }),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, CommandStatus::Succeeded);
    let encoded = reply.encode().len();
    assert!(encoded <= 64 * 1024, "{encoded} bytes");
    let Some(ReplyPayload::Fetch(fetch)) = reply.payload else {
        panic!("{reply:?}")
    };
    let ids: Vec<_> = fetch.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["big-0", "big-1"], "filled in order up to the limit");
    assert!(
        fetch
            .apis
            .iter()
            .all(|a| a.pages.as_ref().is_some_and(|p| p.len() == 1))
    );
    running.stop().await.unwrap();
}
