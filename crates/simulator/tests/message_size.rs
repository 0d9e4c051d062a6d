//! The controller's message size limit, as APIM applies it
//! (`docs/reference/exchange-protocol.md` §4.6, `integration-commands.md` §9): a message from
//! the agent over `maxWebSocketMessageSize`, counted on the wire after the `;` → `\u003b`
//! escaping, is dropped without an answer and the connection stays open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use federation_protocol::Command;
use federation_simulator::{Event, IngestJobStatus};

const INTEGRATION: &str = "int-size";
const LIMIT: usize = 4_096;

/// An INGEST whose frame is exactly `wire_bytes` long, with `semicolons` `;` in an API
/// description (each written `\u003b`, 6 bytes).
fn ingest_of_size(job_id: &str, wire_bytes: usize, semicolons: usize, done: bool) -> Command {
    let with = |description: String| {
        let mut api = api("padded", &["padded-oas.json"]);
        api.description = Some(description);
        ingest_command(job_id, vec![api], done)
    };
    let base = with(String::new()).encode().len();
    let filler = wire_bytes
        .checked_sub(base + 6 * semicolons)
        .expect("room for the padding");
    // Every command id is a UUID of the same length: the size is exact.
    let command = with(format!("{}{}", ";".repeat(semicolons), "x".repeat(filler)));
    assert_eq!(command.encode().len(), wire_bytes);
    command
}

#[tokio::test]
async fn a_message_over_the_limit_after_escaping_gets_no_answer_and_one_at_the_limit_does() {
    let sim = simulator(INTEGRATION, |c| c.max_message_size(LIMIT)).await;
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(1, vec![])).await;
    let (job_id, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();

    // One byte over on the wire, though its JSON before escaping (100 `;` → 500 bytes fewer)
    // is well under the limit.
    let over = ingest_of_size(&job_id, LIMIT + 1, 100, true);
    let unescaped = over.encode().len() - 5 * 100;
    assert!(unescaped < LIMIT, "{unescaped}");
    let reply = agent.request(&over, Duration::from_millis(1_500)).await;
    assert!(reply.is_none(), "APIM never answers it: {reply:?}");
    let dropped = sim
        .wait_for_event(WAIT, |e| matches!(e, Event::OversizeMessage { .. }))
        .await
        .unwrap();
    assert_eq!(
        dropped,
        Event::OversizeMessage {
            connection: 1,
            bytes: LIMIT + 1,
            limit: LIMIT,
            kind: Some("COMMAND".into()),
            message_type: Some("INGEST".into()),
        }
    );
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Ingest { .. })),
        0,
        "nothing was ingested"
    );
    assert_eq!(sim.ingest_job(&job_id).unwrap().batches, 0);

    // Exactly at the limit, semicolons included: answered and ingested, on the same
    // connection.
    let at_limit = ingest_of_size(&job_id, LIMIT, 100, true);
    let reply = agent.request(&at_limit, WAIT).await.expect("an answer");
    assert!(reply.is_success(), "{reply:?}");
    let job = sim.ingest_job(&job_id).unwrap();
    assert_eq!(job.status, IngestJobStatus::Success);
    assert_eq!(job.batches, 1);
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Closed { .. })),
        0,
        "the connection stayed open"
    );
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::OversizeMessage { .. })),
        1
    );
}

#[tokio::test]
async fn the_default_limit_is_apims() {
    let sim = simulator(INTEGRATION, |c| c).await;
    assert_eq!(sim.config().max_message_size, 13_107_200);
    assert_eq!(sim.config().max_frame_size, 65_536);
    let agent = Agent::connect(&sim, INTEGRATION, ingest_script(1, vec![])).await;
    let (job_id, _) = sim.start_ingest(INTEGRATION, None).await.unwrap();
    // The 4 KiB message dropped above is nothing to the default limit.
    let reply = agent
        .request(&ingest_of_size(&job_id, LIMIT + 1, 100, true), WAIT)
        .await
        .expect("an answer");
    assert!(reply.is_success());
}
