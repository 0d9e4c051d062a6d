//! Golden vectors: every example frame of `docs/reference/exchange-protocol.md` §3.6 and every
//! JSON example of `docs/reference/integration-commands.md` §1 decodes, and re-encodes to the
//! same bytes (the reference writes keys in the canonical order) and the same JSON value.

#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, as it should

use federation_core::{PlanSecurityType, SubscriptionType};
use federation_protocol::payload::*;
use federation_protocol::{
    CommandPayload, CommandStatus, CommandType, Message, ReplyPayload, decode,
};

const FRAMES: &str = include_str!("fixtures/exchange-frames.txt");
const EXAMPLES: &str = include_str!("fixtures/integration-examples.txt");
const API_EXAMPLE: &str = include_str!("fixtures/api-example.json");

/// Removes whitespace outside JSON strings, keeping key order (the examples are pretty-printed).
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

fn examples() -> Vec<String> {
    let api = minify(API_EXAMPLE);
    EXAMPLES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .split("\n---\n")
        .map(|doc| minify(doc).replace("{…Api…}", &api))
        .collect()
}

fn frame_for(json: &str) -> Vec<u8> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let kind = if value.get("commandId").is_some() {
        "REPLY"
    } else {
        "COMMAND"
    };
    let command_type = value["type"].as_str().unwrap();
    format!("t:{kind};;et:{command_type};;e:{json}").into_bytes()
}

fn json_of(message: &Message) -> String {
    match message {
        Message::Command(c) => c.to_json(),
        Message::Reply(r) => r.to_json(),
    }
}

#[test]
fn exchange_frames_round_trip_byte_for_byte() {
    let frames: Vec<&str> = FRAMES.lines().filter(|l| l.starts_with("t:")).collect();
    assert_eq!(frames.len(), 11, "all §3.6 frames are in the fixture");
    for frame in frames {
        let message = decode(frame.as_bytes()).unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert_eq!(String::from_utf8(message.encode()).unwrap(), frame);
    }
}

#[test]
fn integration_examples_round_trip_byte_for_byte_and_as_values() {
    let docs = examples();
    assert_eq!(docs.len(), 15, "all §1 examples are in the fixture");
    for json in docs {
        let message = decode(&frame_for(&json)).unwrap_or_else(|e| panic!("{json}: {e}"));
        let written = json_of(&message);
        assert_eq!(written, json, "byte-for-byte");
        let a: serde_json::Value = serde_json::from_str(&written).unwrap();
        let b: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(a, b, "as JSON values");
        // The frame re-encodes with `et:` equal to the JSON type.
        let frame = String::from_utf8(message.encode()).unwrap();
        assert_eq!(frame.into_bytes(), frame_for(&json));
    }
}

#[test]
fn examples_decode_to_the_expected_values() {
    let docs = examples();
    let by_prefix = |prefix: &str| -> Message {
        let json = docs.iter().find(|d| d.starts_with(prefix)).unwrap();
        decode(&frame_for(json)).unwrap()
    };

    let Message::Command(hello) = by_prefix(r#"{"id":"5f0c"#) else {
        panic!()
    };
    assert_eq!(
        hello.payload,
        CommandPayload::Hello(HelloPayload::new(
            "e3b0c442-…-integration-id",
            "aws-api-gateway"
        ))
    );

    let Message::Reply(rejected) =
        by_prefix(r#"{"commandId":"5f0c…","type":"HELLO","commandStatus":"ERROR""#)
    else {
        panic!()
    };
    assert_eq!(rejected.status, CommandStatus::Error);
    assert_eq!(rejected.payload, None);
    assert!(
        rejected
            .error_details
            .unwrap()
            .contains("Expected provider [provider=solace]")
    );

    let Message::Reply(preview) =
        by_prefix(r#"{"commandId":"a1…","type":"DISCOVER","commandStatus":"SUCCEEDED""#)
    else {
        panic!()
    };
    let Some(ReplyPayload::Discover(preview)) = preview.payload else {
        panic!()
    };
    assert!(!preview.is_partial_discovery);
    assert_eq!(preview.apis[0].unique_id, "123456789012:eu-west-1:abcd1234");

    let Message::Command(start) = by_prefix(r#"{"id":"b2"#) else {
        panic!()
    };
    let CommandPayload::StartIngest(start) = start.payload else {
        panic!()
    };
    assert_eq!(start.api_ids.unwrap(), ["abcd1234", "efgh5678"]);

    let Message::Command(ingest) = by_prefix(r#"{"id":"c4"#) else {
        panic!()
    };
    let CommandPayload::Ingest(ingest) = ingest.payload else {
        panic!()
    };
    assert!(ingest.done);
    let api = &ingest.apis[0];
    assert_eq!(
        api.plans.as_ref().unwrap()[0].plan_security_type,
        PlanSecurityType::ApiKey
    );
    assert_eq!(
        api.pages.as_ref().unwrap()[0].filename.as_deref(),
        Some("Petstore-oas.yml")
    );

    let Message::Command(subscribe) = by_prefix(r#"{"id":"d5"#) else {
        panic!()
    };
    assert_eq!(subscribe.command_type(), CommandType::Subscribe);
    let CommandPayload::Subscribe(subscribe) = subscribe.payload else {
        panic!()
    };
    assert_eq!(
        subscribe.subscription.subscription_type,
        Some(SubscriptionType::ApiKey)
    );
    assert_eq!(subscribe.subscription.plan_id(), Some("usageplan-1"));

    let Message::Reply(issued) = by_prefix(r#"{"commandId":"d5"#) else {
        panic!()
    };
    let Some(ReplyPayload::Subscribe(issued)) = issued.payload else {
        panic!()
    };
    assert_eq!(
        issued.subscription.api_key.unwrap().expose(),
        "p4ssw0rdKey…"
    );

    let Message::Command(unsubscribe) = by_prefix(r#"{"id":"e6"#) else {
        panic!()
    };
    let CommandPayload::Unsubscribe(unsubscribe) = unsubscribe.payload else {
        panic!()
    };
    assert_eq!(unsubscribe.subscription.subscription_type, None);
    assert_eq!(
        unsubscribe.subscription.metadata_value("apiKeyId"),
        Some("k1a2b3")
    );
}

#[test]
fn apim_4_4_list_and_fetch() {
    let list = decode(br#"t:COMMAND;;et:LIST;;e:{"id":"l1","type":"LIST","payload":{}}"#).unwrap();
    let Message::Command(list) = list else {
        panic!()
    };
    assert_eq!(list.payload, CommandPayload::List(Empty {}));

    let fetch = br#"t:COMMAND;;et:FETCH;;e:{"id":"f1","type":"FETCH","payload":{"apis":[]}}"#;
    let Message::Command(fetch_cmd) = decode(fetch).unwrap() else {
        panic!()
    };
    let CommandPayload::Fetch(payload) = &fetch_cmd.payload else {
        panic!()
    };
    assert!(payload.selected_ids().is_empty());
    assert_eq!(fetch_cmd.encode(), fetch.to_vec());

    let reply = br#"t:REPLY;;et:FETCH;;e:{"commandId":"f1","type":"FETCH","commandStatus":"SUCCEEDED","payload":{"apis":[{"uniqueId":"u","id":"i","name":"n"}]}}"#;
    let Message::Reply(r) = decode(reply).unwrap() else {
        panic!()
    };
    assert!(matches!(&r.payload, Some(ReplyPayload::Fetch(f)) if f.apis.len() == 1));
    assert_eq!(r.encode(), reply.to_vec());
}

#[test]
fn tolerant_reading() {
    // Unknown command type: a value the connector answers with UNKNOWN.
    let Message::Command(c) =
        decode(br#"t:COMMAND;;et:WRONG;;e:{"type":"WRONG","id":"w","payload":{"x":1}}"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(c.command_type(), CommandType::Other("WRONG".into()));
    // Unknown status reads as ERROR; unknown keys are ignored.
    let Message::Reply(r) = decode(
        br#"t:REPLY;;et:INGEST;;e:{"commandId":"i","type":"INGEST","commandStatus":"PENDING","future":true,"payload":{}}"#,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(r.status, CommandStatus::Error);
    // `;;` inside the JSON survives reading.
    let Message::Reply(r) = decode(
        br#"t:REPLY;;et:HELLO;;e:{"commandId":"h","type":"HELLO","commandStatus":"ERROR","errorDetails":"a;;b"}"#,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(r.error_details.as_deref(), Some("a;;b"));
    // ... and is never written raw.
    let written = r.encode();
    assert!(!written[written.iter().position(|&b| b == b'{').unwrap()..].contains(&b';'));
    assert_eq!(decode(&written).unwrap(), Message::Reply(r));
    // The type comes from the JSON, `et:` is only a fallback.
    let Message::Command(c) =
        decode(br#"t:COMMAND;;et:PRIMARY;;e:{"id":"p","payload":{"primary":true}}"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        c.payload,
        CommandPayload::Primary(PrimaryPayload { primary: true })
    );
}

#[test]
fn malformed_frames_are_errors_that_keep_the_command_id() {
    use federation_protocol::DecodeError;
    assert!(matches!(
        decode(b"t:COMMAND;;et:HELLO"),
        Err(DecodeError::MissingBody(_))
    ));
    assert!(matches!(
        decode(b"t:COMMAND;;e:{not json"),
        Err(DecodeError::InvalidJson { .. })
    ));
    assert!(matches!(
        decode(b"t:COMMAND;;e:{\"type\":\"HELLO\"}"),
        Err(DecodeError::MissingId(_))
    ));
    let err = decode(br#"t:COMMAND;;e:{"id":"s1","type":"SUBSCRIBE","payload":{"apiId":"a"}}"#)
        .unwrap_err();
    match err {
        DecodeError::InvalidPayload {
            id, command_type, ..
        } => {
            assert_eq!(id, "s1");
            assert_eq!(command_type, CommandType::Subscribe);
        }
        other => panic!("unexpected {other:?}"),
    }
}
