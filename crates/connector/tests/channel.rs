//! The connector against the controller simulator over real loopback WebSockets: handshake,
//! the exchange built-ins, reconnects and shutdown.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use federation_connector::{ChannelState, ConnectorError};
use federation_core::Health;
use federation_protocol::payload::Empty;
use federation_protocol::{CommandPayload, CommandStatus, CommandType, ReplyPayload};
use federation_simulator::Event;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn hellos(sim: &federation_simulator::Simulator, id: &str) -> usize {
    sim.count_events(|e| matches!(e, Event::Hello { integration_id, accepted: true, .. } if integration_id == id))
}

#[tokio::test]
async fn handshake_sends_path_protocol_header_token_and_hello() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    let upgrade = sim
        .wait_for_event(WAIT, |e| matches!(e, Event::Upgrade { .. }))
        .await
        .unwrap();
    assert_eq!(
        upgrade,
        Event::Upgrade {
            path: "/integration-controller/exchange/controller".into(),
            protocol: Some("v1".into()),
            authorized: true,
            status: 101,
        }
    );
    let hello = sim
        .wait_for_event(WAIT, |e| matches!(e, Event::Hello { .. }))
        .await
        .unwrap();
    let Event::Hello {
        integration_id,
        provider,
        accepted,
        ..
    } = hello
    else {
        unreachable!()
    };
    assert_eq!(
        (integration_id.as_str(), provider.as_deref(), accepted),
        ("int-1", Some("memory"), true)
    );
    assert!(
        running
            .status
            .wait_for(WAIT, |s| s[0].state == ChannelState::Connected)
            .await
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_retried() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let mut config = connector_config(&sim.endpoint());
    config.ws.headers[0].value = federation_core::Secret::new("bearer s3cr3t-bad-token");
    let running = start(&config, vec![integration]);
    sim.wait_for_event(WAIT, |e| matches!(e, Event::Upgrade { status: 401, .. }))
        .await
        .unwrap();
    assert!(
        running
            .status
            .wait_for(WAIT, |s| s[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("401")))
            .await
    );
    let error = running.status.snapshot()[0].last_error.clone().unwrap();
    assert!(
        !error.contains("s3cr3t"),
        "the token must not appear in errors: {error}"
    );
    assert!(!sim.connected("int-1"));
    running.stop().await.unwrap();
}

#[tokio::test]
async fn health_check_primary_and_unknown_commands() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();

    // The simulator elects the first channel primary right after HELLO.
    assert!(running.status.wait_for(WAIT, |s| s[0].primary).await);
    sim.wait_for_event(WAIT, |e| matches!(e, Event::Received { command_type, kind, .. } if command_type == "PRIMARY" && kind == "REPLY")).await.unwrap();

    let reply = sim
        .send("int-1", CommandPayload::HealthCheck(Empty {}))
        .await
        .unwrap();
    assert_eq!(reply.status, CommandStatus::Succeeded);
    let Some(ReplyPayload::HealthCheck(health)) = reply.payload else {
        panic!("{reply:?}")
    };
    assert!(health.healthy);

    // An unhealthy provider still answers healthy on the wire, like the reference connector
    // (APIM unregisters a channel that answers false); its health shows in the status.
    provider.set_health(Health::unhealthy("credentials expired"));
    let reply = sim
        .send("int-1", CommandPayload::HealthCheck(Empty {}))
        .await
        .unwrap();
    assert_eq!(reply.status, CommandStatus::Succeeded);
    let Some(ReplyPayload::HealthCheck(health)) = reply.payload else {
        panic!()
    };
    assert!(health.healthy);
    assert_eq!(health.detail, None);
    let seen = running.status.snapshot()[0]
        .provider_health
        .clone()
        .unwrap();
    assert!(!seen.healthy);
    assert_eq!(seen.detail.as_deref(), Some("credentials expired"));

    let reply = sim
        .send(
            "int-1",
            CommandPayload::Other {
                command_type: "FOO".into(),
                payload: Some(serde_json::json!({})),
            },
        )
        .await
        .unwrap();
    assert_eq!(reply.reply_type, CommandType::Unknown);
    assert_eq!(reply.status, CommandStatus::Error);
    assert_eq!(reply.error_details.as_deref(), Some("Command unknown"));

    // A known type the agent does not serve gets NO_REPLY.
    let reply = sim
        .send(
            "int-1",
            CommandPayload::Hello(federation_protocol::payload::HelloPayload::new("x", "y")),
        )
        .await
        .unwrap();
    assert_eq!(reply.reply_type, CommandType::NoReply);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn goodbye_with_reconnect_closes_1013_and_says_hello_again() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.goodbye("int-1", true).await.unwrap();
    sim.wait_for_event(WAIT, |e| {
        matches!(
            e,
            Event::Closed {
                code: Some(1013),
                ..
            }
        )
    })
    .await
    .unwrap();
    eventually("a second HELLO", || hellos(&sim, "int-1") == 2).await;
    sim.wait_connected("int-1", WAIT).await.unwrap();
    assert!(
        running
            .status
            .wait_for(WAIT, |s| s[0].reconnects == 1 && s[0].connected())
            .await
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn goodbye_without_reconnect_closes_1000_and_stops() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.goodbye("int-1", false).await.unwrap();
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
    let status = running.status.clone();
    running.finished().await.unwrap();
    // `run` returned: no connection can follow. A reconnection would have been counted before
    // it was attempted.
    let channel = &status.snapshot()[0];
    assert_eq!(channel.state, ChannelState::Stopped);
    assert_eq!(channel.reconnects, 0, "no reconnection");
    assert_eq!(hellos(&sim, "int-1"), 1, "no reconnection");
}

#[tokio::test]
async fn a_rejected_hello_stops_the_connector_with_the_controllers_text() {
    let sim = simulator(&[("int-1", "aws-api-gateway")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    let error = running.finished().await.unwrap_err();
    match error {
        ConnectorError::HelloRejected {
            integration_id,
            details,
        } => {
            assert_eq!(integration_id, "int-1");
            assert_eq!(
                details,
                "Integration [id=int-1] does not match. Expected provider [provider=aws-api-gateway]"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Hello { .. })),
        1,
        "no retry loop"
    );

    let sim = simulator(&[]).await;
    let (_provider, integration) = memory("missing", 1);
    let error = start(&connector_config(&sim.endpoint()), vec![integration])
        .finished()
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Integration [id=missing] not found"),
        "{error}"
    );
}

#[tokio::test]
async fn refused_upgrades_are_retried_with_growing_delays() {
    let sim = simulator(&[("int-1", "memory")]).await;
    sim.fail_next_upgrades([401, 503]);
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let upgrades: Vec<_> = sim
        .events()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Upgrade { status, .. } => Some((r.at, status)),
            _ => None,
        })
        .collect();
    let statuses: Vec<u16> = upgrades.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [401, 503, 101]);
    // Backoff 100 ms × 2ⁿ without jitter: ≥ 100 ms, then ≥ 200 ms.
    let first = upgrades[1].0 - upgrades[0].0;
    let second = upgrades[2].0 - upgrades[1].0;
    assert!(first >= Duration::from_millis(100), "{first:?}");
    assert!(second >= Duration::from_millis(200), "{second:?}");
    assert!(
        running
            .status
            .wait_for(WAIT, |s| s[0].failed_attempts == 0)
            .await,
        "reset after HELLO"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_is_reconnected() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.drop_connection("int-1").await.unwrap();
    eventually("a second HELLO", || hellos(&sim, "int-1") == 2).await;
    sim.wait_connected("int-1", WAIT).await.unwrap();
    running.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_with_1000() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let status = running.status.clone();
    running.stop().await.unwrap();
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
    assert_eq!(status.snapshot()[0].state, ChannelState::Stopped);
}

#[tokio::test]
async fn two_providers_in_one_process_each_say_hello() {
    let sim = simulator(&[("int-a", "memory"), ("int-b", "memory")]).await;
    let (_a, first) = memory("int-a", 1);
    let (_b, second) = memory("int-b", 3);
    let running = start(&connector_config(&sim.endpoint()), vec![first, second]);
    sim.wait_connected("int-a", WAIT).await.unwrap();
    sim.wait_connected("int-b", WAIT).await.unwrap();
    assert_eq!(hellos(&sim, "int-a"), 1);
    assert_eq!(hellos(&sim, "int-b"), 1);
    assert_eq!(sim.discover("int-a").await.unwrap().apis.len(), 1);
    assert_eq!(sim.discover("int-b").await.unwrap().apis.len(), 3);
    assert!(
        running
            .status
            .wait_for(WAIT, |s| s.len() == 2 && s.iter().all(|i| i.connected()))
            .await
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_rejected_hello_stops_only_its_own_integration() {
    // int-b exists in APIM with another provider type: its HELLO is rejected.
    let sim = simulator(&[("int-a", "memory"), ("int-b", "solace")]).await;
    let (_a, first) = memory("int-a", 2);
    let (_b, second) = memory("int-b", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![first, second]);
    assert!(
        running
            .status
            .wait_for(WAIT, |s| s[1].state == ChannelState::Failed)
            .await
    );
    let rejected = running.status.get("int-b").unwrap();
    assert_eq!(
        rejected.last_error.as_deref(),
        Some(
            "HELLO rejected: Integration [id=int-b] does not match. Expected provider [provider=solace]"
        )
    );
    // The other one keeps serving.
    sim.wait_connected("int-a", WAIT).await.unwrap();
    assert_eq!(sim.discover("int-a").await.unwrap().apis.len(), 2);
    assert!(!running.task.is_finished());
    assert!(running.status.get("int-a").unwrap().connected());
    assert_eq!(
        sim.count_events(
            |e| matches!(e, Event::Hello { integration_id, .. } if integration_id == "int-b")
        ),
        1,
        "the rejected one does not retry"
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn when_every_hello_is_rejected_the_connector_stops_with_every_reason() {
    let sim = simulator(&[("int-a", "solace"), ("int-b", "solace")]).await;
    let (_a, first) = memory("int-a", 1);
    let (_b, second) = memory("int-b", 1);
    let error = start(&connector_config(&sim.endpoint()), vec![first, second])
        .finished()
        .await
        .unwrap_err();
    let ConnectorError::AllHellosRejected { rejected } = &error else {
        panic!("unexpected {error:?}")
    };
    let mut ids: Vec<_> = rejected.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["int-a", "int-b"]);
    let text = error.to_string();
    assert!(
        text.contains("int-a: Integration [id=int-a] does not match")
            && text.contains("int-b: Integration [id=int-b] does not match"),
        "{text}"
    );
}

#[tokio::test]
async fn an_oversized_incoming_message_is_rejected_and_the_agent_reconnects() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let mut config = connector_config(&sim.endpoint());
    config.ws.max_web_socket_message_size = 8 * 1024;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let huge = format!(
        r#"t:COMMAND;;et:FOO;;e:{{"id":"big","type":"FOO","payload":{{"x":"{}"}}}}"#,
        "a".repeat(20_000)
    );
    sim.send_raw("int-1", WsMessage::Binary(huge.into_bytes().into()))
        .await
        .unwrap();
    sim.wait_for_event(WAIT, |e| {
        matches!(
            e,
            Event::Closed {
                code: Some(1009),
                ..
            }
        )
    })
    .await
    .unwrap();
    eventually("a second HELLO", || hellos(&sim, "int-1") == 2).await;
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_text_frame_is_a_protocol_violation() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.send_raw("int-1", WsMessage::Text("hello".into()))
        .await
        .unwrap();
    sim.wait_for_event(WAIT, |e| {
        matches!(
            e,
            Event::Closed {
                code: Some(1003),
                ..
            }
        )
    })
    .await
    .unwrap();
    eventually("a second HELLO", || hellos(&sim, "int-1") == 2).await;
    running.stop().await.unwrap();
}

#[tokio::test]
async fn an_unhealthy_provider_does_not_make_the_channel_flap() {
    // APIM checks health every 30 s and unregisters a channel that answers `healthy: false`
    // (GOOD_BYE, reconnect); the agent answers true and keeps the provider's health for
    // operators.
    let sim = simulator_with(&[("int-1", "memory")], |mut c| {
        c.health_check_interval = Duration::from_millis(200);
        c
    })
    .await;
    let (provider, integration) = memory("int-1", 1);
    provider.set_health(Health::unhealthy("vendor unreachable"));
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    let health_replies = || {
        sim.count_events(|e| {
            matches!(e, Event::Received { command_type, kind, .. }
                if command_type == "HEALTH_CHECK" && kind == "REPLY")
        })
    };
    eventually("three health checks", || health_replies() >= 3).await;
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Closed { .. })),
        0,
        "no GOOD_BYE, no reconnect"
    );
    assert_eq!(hellos(&sim, "int-1"), 1);
    let status = &running.status.snapshot()[0];
    assert!(status.connected());
    assert_eq!(
        status.provider_health.as_ref().unwrap().detail.as_deref(),
        Some("vendor unreachable")
    );
    // And it recovers in the status once the provider does.
    provider.set_health(Health::healthy());
    assert!(
        running
            .status
            .wait_for(WAIT, |s| s[0]
                .provider_health
                .as_ref()
                .is_some_and(|h| h.healthy))
            .await
    );
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_close_with_1000_stops_the_channel_unless_auto_reconnect() {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let normal_close = || {
        WsMessage::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
    };

    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.send_raw("int-1", normal_close()).await.unwrap();
    running.finished().await.unwrap();
    assert_eq!(hellos(&sim, "int-1"), 1);

    let sim = simulator(&[("int-1", "memory")]).await;
    let (_provider, integration) = memory("int-1", 1);
    let mut config = connector_config(&sim.endpoint());
    config.ws.auto_reconnect = true;
    let running = start(&config, vec![integration]);
    sim.wait_connected("int-1", WAIT).await.unwrap();
    sim.send_raw("int-1", normal_close()).await.unwrap();
    eventually("a second HELLO", || hellos(&sim, "int-1") == 2).await;
    sim.goodbye("int-1", false).await.unwrap();
    eventually("a third HELLO after GOOD_BYE without reconnection", || {
        hellos(&sim, "int-1") == 3
    })
    .await;
    running.stop().await.unwrap();
}
