//! Bad frames from the controller keep the connection: the agent ignores a frame it cannot read,
//! answers a command whose payload it cannot read with an ERROR reply, and goes on serving on the
//! same connection (no close, no second HELLO). What the reference treats as a protocol
//! violation (an unknown envelope type, a command without body, a text frame, a message over the
//! size limit) does close it; `channel.rs` covers those.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use federation_protocol::payload::Empty;
use federation_protocol::{Command, CommandPayload, CommandStatus, CommandType};
use federation_simulator::Event;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn unreadable_frames_are_ignored_and_the_connection_stays_up() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    let too_deep = format!(
        r#"t:COMMAND;;et:FOO;;e:{{"id":"deep","type":"FOO","payload":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let bad: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\xff\xfe not UTF-8".to_vec(),
        b"t:COMMAND;;et:HELLO;;e:{not json".to_vec(),
        br#"t:COMMAND;;et:HEALTH_CHECK;;e:{"type":"HEALTH_CHECK"}"#.to_vec(),
        br#"t:COMMAND;;e:{"id":"no-type"}"#.to_vec(),
        br#"t:REPLY;;et:HELLO;;e:{"commandId":"nobody-asked","type":"HELLO","commandStatus":"SUCCEEDED"}"#.to_vec(),
        b"t:REPLY;;et:HELLO;;e:[1,2]".to_vec(),
        b"t:REPLY;;et:HELLO".to_vec(),
        too_deep.into_bytes(),
    ];
    for frame in bad {
        sim.send_raw("int-1", WsMessage::Binary(frame.into()))
            .await
            .unwrap();
    }

    // A command whose payload does not have its type's shape gets an ERROR reply of that type.
    let bad_subscribe = Command::new(
        "bad-subscribe",
        CommandPayload::Other {
            command_type: "SUBSCRIBE".into(),
            payload: Some(serde_json::json!({"apiId": 5})),
        },
    );
    let reply = sim.send_command("int-1", &bad_subscribe).await.unwrap();
    assert_eq!(reply.status, CommandStatus::Error);
    assert_eq!(reply.reply_type, CommandType::Subscribe);
    let details = reply.error_details.unwrap_or_default();
    assert!(details.contains("invalid SUBSCRIBE payload"), "{details}");

    // The same connection still serves commands.
    let reply = sim
        .send("int-1", CommandPayload::HealthCheck(Empty {}))
        .await
        .unwrap();
    assert_eq!(reply.status, CommandStatus::Succeeded);
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Closed { .. })),
        0,
        "no connection was closed"
    );
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Hello { .. })),
        1,
        "the agent did not reconnect"
    );
    running.stop().await.unwrap();
}
