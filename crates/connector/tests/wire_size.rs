//! Message sizes are counted as they go on the wire: after the codec escapes every `;` as
//! `\u003b` (5 more bytes each). An API whose JSON is just under
//! `maxWebSocketMessageSize` before escaping and over it after is left out of INGEST batches
//! and FETCH replies; the controller drops a bigger message unanswered
//! (`docs/reference/integration-commands.md` §9, "Message size").

#![allow(clippy::unwrap_used)]

mod common;
mod counters;
mod logs;

use std::time::Duration;

use common::*;
use federation_core::{Api, Page, PageType};
use federation_protocol::payload::FetchPayload;
use federation_protocol::{CommandPayload, ReplyPayload};
use federation_simulator::{Event, Simulator};

const LIMIT: usize = 64 * 1024;

/// An OpenAPI document full of `application/json;charset=UTF-8`: about 62,000 bytes of JSON
/// with 2,000 `;`, so about 72,000 bytes once escaped.
fn semicolon_api() -> Api {
    let content = "application/json;charset=UTF-8".repeat(2_000);
    Api::new("memory:semicolons", "semicolons", "Semicolons API")
        .with_version("1")
        .with_page(Page::new(PageType::Swagger, content, "semicolons-oas.json"))
}

async fn setup(integration: &str) -> (Simulator, Running) {
    logs::capture();
    let sim = simulator_with(&[(integration, "memory")], |mut c| {
        c.reply_timeout = Duration::from_secs(3);
        c.max_message_size(LIMIT)
    })
    .await;
    let (provider, integration_def) = memory(integration, 2);
    let api = semicolon_api();
    let raw = serde_json::to_vec(&api).unwrap().len();
    assert!(
        raw < LIMIT - 2_048,
        "under the limit before escaping: {raw}"
    );
    assert!(raw + 5 * 2_000 > LIMIT, "over it after: {}", raw + 10_000);
    provider.add_api(api);
    let mut config = connector_config(&sim.endpoint());
    config.ws.max_web_socket_message_size = LIMIT;
    config.commands.reply_timeout_ms = 2_000;
    let running = start(&config, vec![integration_def]);
    sim.wait_connected(integration, WAIT).await.unwrap();
    (sim, running)
}

#[tokio::test]
async fn an_api_over_the_limit_once_escaped_is_left_out_of_the_ingest() {
    let counters = counters::Counters::default();
    let _recording = metrics::set_default_local_recorder(&counters);
    let (sim, running) = setup("int-ingest").await;
    let job = sim
        .ingest("int-ingest", None, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the ingest did not finish: {e}; oversize messages: {}",
                sim.count_events(|e| matches!(e, Event::OversizeMessage { .. }))
            )
        });
    let ids: Vec<_> = job.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["api-0", "api-1"], "the API is left out");
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::OversizeMessage { .. })),
        0,
        "every message fits"
    );
    let log = logs::of("int-ingest");
    assert!(
        log.contains("too large") && log.contains("api_id=semicolons"),
        "{log}"
    );
    assert_eq!(
        counters.get(
            "federation_apis_skipped_total",
            &[("integration", "int-ingest"), ("reason", "too_large")]
        ),
        1,
        "{}",
        counters.dump()
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn an_api_over_the_limit_once_escaped_is_left_out_of_a_fetch_reply() {
    let (sim, running) = setup("int-fetch").await;
    let reply = sim
        .send(
            "int-fetch",
            CommandPayload::Fetch(FetchPayload { apis: Some(vec![]) }),
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no FETCH reply: {e}; oversize messages: {}",
                sim.count_events(|e| matches!(e, Event::OversizeMessage { .. }))
            )
        });
    assert!(reply.encode().len() <= LIMIT);
    let Some(ReplyPayload::Fetch(fetch)) = reply.payload else {
        panic!("{reply:?}")
    };
    let ids: Vec<_> = fetch.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["api-0", "api-1"]);
    running.stop().await.unwrap();
}
