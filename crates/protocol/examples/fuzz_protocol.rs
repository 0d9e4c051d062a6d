//! Fuzzes the frame and command decoder: `decode` on generated frames must return a value or a
//! `DecodeError`, never panic; a decoded frame must encode to a frame that decodes to the same
//! command or reply; the error replies the connector builds from a bad frame must encode and
//! decode. Not part of CI; see `docs/fuzzing.md`.
//!
//! ```text
//! nice -n 10 cargo run --release -p federation-protocol --example fuzz_protocol -- --inputs 10000000
//! ```
//!
//! Inputs: mutations of the seed frames in `crates/protocol/fuzz/corpus/`, random bytes, and
//! frames built from the seeds' JSON with the JSON mutated as a tree (values of the wrong type,
//! missing and unknown keys, odd numbers and strings, nesting past serde_json's limit) inside
//! envelopes with reordered, missing, repeated or badly separated fields.

#![allow(clippy::unwrap_used)] // a fuzz target asserts by panicking

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

use federation_protocol::{
    CommandPayload, DecodeError, Envelope, Kind, Message, Reply, ReplyPayload, decode,
};
use harness::{Options, Rng};
use serde_json::{Map, Value};

/// Tokens the byte mutator inserts.
const DICTIONARY: &[&str] = &[
    "t:",
    "et:",
    "e:",
    ";;",
    ";",
    "COMMAND",
    "REPLY",
    "HELLO",
    "HEALTH_CHECK",
    "PRIMARY",
    "GOOD_BYE",
    "UNKNOWN",
    "NO_REPLY",
    "DISCOVER",
    "START_INGEST",
    "INGEST",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "FETCH",
    "\"id\"",
    "\"type\"",
    "\"payload\"",
    "\"commandId\"",
    "\"commandStatus\"",
    "\"errorDetails\"",
    "\"SUCCEEDED\"",
    "\"ERROR\"",
    "\"apis\"",
    "\"subscription\"",
    "null",
    "true",
    "false",
    "{}",
    "[]",
    "{\"a\":",
    "[[[[",
    "\\u003b",
    "\\ud800",
    "\\udc00",
    "\\u0000",
    "\\\"",
    "é",
    "\u{10FFFF}",
    "\u{FEFF}",
];

const TYPES: &[&str] = &[
    "HELLO",
    "HEALTH_CHECK",
    "PRIMARY",
    "GOOD_BYE",
    "UNKNOWN",
    "NO_REPLY",
    "DISCOVER",
    "START_INGEST",
    "INGEST",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "FETCH",
    "FOO",
    "",
    "hello",
    " HELLO",
    "SUBSCRIBE;;",
];

/// JSON keys the payloads and the API model read.
const KEYS: &[&str] = &[
    "id",
    "type",
    "payload",
    "commandId",
    "commandStatus",
    "errorDetails",
    "targetId",
    "provider",
    "healthy",
    "detail",
    "primary",
    "reconnect",
    "apis",
    "isPartialDiscovery",
    "partialDiscovery",
    "ingestJobId",
    "apiIds",
    "total",
    "done",
    "apiId",
    "subscription",
    "graviteeSubscriptionId",
    "graviteeApplicationId",
    "graviteeApplicationName",
    "metadata",
    "apiKey",
    "uniqueId",
    "name",
    "version",
    "description",
    "connectionDetails",
    "url",
    "pages",
    "pageType",
    "content",
    "filename",
    "plans",
    "planSecurityType",
    "characteristics",
    "format",
    "value",
    "",
    "ID",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "x",
    "a;;b",
    ";",
    ";;",
    "t:REPLY;;e:{}",
    "\0",
    "\u{7f}",
    "\u{FEFF}",
    "\u{10FFFF}",
    "é€😀",
    "\\",
    "\"",
    "\n\t\r",
    "SUCCEEDED",
    "ERROR",
    "API_KEY",
    "OAUTH2",
    "JWT",
    "PROXY",
    "MESSAGE",
    "SWAGGER",
    "ASYNCAPI",
    "STRING",
    "NUMERIC",
    "abcd1234:prod",
    "usageplan-1",
    "secret://kubernetes/x:y",
];

/// A placeholder replaced by an odd number after the JSON is written, and how serde_json
/// writes it.
const NUMBER_HOLE: &str = "\u{1}n";
const NUMBER_HOLE_JSON: &str = r#""\u0001n""#;

/// Valid JSON numbers at the edges of u64, i64 and f64.
const JSON_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "0.0",
    "1E+2",
    "1e308",
    "1.7976931348623157e308",
    "4.9e-324",
    "1e-400",
    "1e400",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890",
];

fn random_string(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => {
            let len = rng.small(40);
            (0..len)
                .map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'))
                .collect()
        }
        1 => rng.pick(STRINGS).repeat(1 + rng.small(2000)),
        2 => rng.pick(TYPES).to_string(),
        _ => rng.pick(STRINGS).to_string(),
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => match rng.below(5) {
            0 => Value::from(rng.next_u64()),
            1 => Value::from(rng.next_u64() as i64),
            2 => Value::from(f64::from_bits(rng.next_u64())), // NaN and infinities become null
            3 => Value::from(rng.small(10)),
            _ => Value::String(NUMBER_HOLE.to_owned()),
        },
        3 | 4 => Value::String(random_string(rng)),
        5 | 6 => {
            let mut map = Map::new();
            for _ in 0..rng.small(6) {
                map.insert(
                    rng.pick(KEYS).to_string(),
                    random_value(rng, depth.saturating_sub(1)),
                );
            }
            Value::Object(map)
        }
        _ => Value::Array(
            (0..rng.small(6))
                .map(|_| random_value(rng, depth.saturating_sub(1)))
                .collect(),
        ),
    }
}

/// Mutates one node of `value`, chosen by a random walk from the root.
fn mutate_json(rng: &mut Rng, value: &mut Value) {
    let descend = !rng.one_in(5);
    match value {
        Value::Object(map) if descend && !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).cloned().unwrap();
            mutate_json(rng, map.get_mut(&key).unwrap());
            return;
        }
        Value::Array(items) if descend && !items.is_empty() => {
            let i = rng.below(items.len());
            mutate_json(rng, &mut items[i]);
            return;
        }
        _ => {}
    }
    match rng.below(7) {
        0 | 1 => *value = random_value(rng, 3),
        2 => match value {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).cloned().unwrap();
                map.remove(&key);
            }
            Value::Array(items) if !items.is_empty() => {
                items.remove(rng.below(items.len()));
            }
            _ => *value = Value::Null,
        },
        3 => match value {
            Value::Object(map) => {
                map.insert(rng.pick(KEYS).to_string(), random_value(rng, 2));
            }
            Value::Array(items) => {
                // Many copies of one element: big batches (up to about 64 KiB of JSON, so
                // that copies of copies do not make the generator, rather than the decoder,
                // the memory hog).
                if let Some(first) = items.first().cloned() {
                    let size = serde_json::to_string(&first).map_or(1, |t| t.len().max(1));
                    let copies = rng.small(200).min(64 * 1024 / size);
                    items.extend(std::iter::repeat_n(first, copies));
                }
            }
            _ => *value = Value::Array(vec![value.take()]),
        },
        4 => {
            // Wrap in up to 300 levels (serde_json stops at 128).
            for _ in 0..1 + rng.small(300) {
                *value = if rng.one_in(2) {
                    Value::Array(vec![value.take()])
                } else {
                    let mut map = Map::new();
                    map.insert(rng.pick(KEYS).to_string(), value.take());
                    Value::Object(map)
                };
            }
        }
        5 => *value = Value::String(random_string(rng)),
        _ => *value = Value::String(NUMBER_HOLE.to_owned()),
    }
}

/// A seed's envelope head (`t:…;;et:…;;`) and its JSON body, when the body is JSON.
struct Template {
    kind: &'static str,
    body: Value,
}

fn templates(corpus: &[Vec<u8>]) -> Vec<Template> {
    corpus
        .iter()
        .filter_map(|seed| {
            let text = std::str::from_utf8(seed).ok()?;
            let (head, body) = text.split_once("e:{")?;
            let kind = if head.contains("REPLY") {
                "REPLY"
            } else {
                "COMMAND"
            };
            let body: Value = serde_json::from_str(&format!("{{{}", body.trim_end())).ok()?;
            Some(Template { kind, body })
        })
        .collect()
}

/// A frame built from a seed's JSON, mutated as a tree, in a varied envelope.
fn grammar_frame(rng: &mut Rng, templates: &[Template]) -> Vec<u8> {
    let template = rng.pick(templates);
    let mut body = template.body.clone();
    for _ in 0..1 + rng.small(4) {
        mutate_json(rng, &mut body);
    }
    let mut json = match rng.below(4) {
        0 => serde_json::to_string_pretty(&body).unwrap(),
        _ => serde_json::to_string(&body).unwrap(),
    };
    while let Some(at) = json.find(NUMBER_HOLE_JSON) {
        let number = if rng.one_in(4) {
            *rng.pick(harness::ODD_NUMBERS)
        } else {
            *rng.pick(JSON_NUMBERS)
        };
        json.replace_range(at..at + NUMBER_HOLE_JSON.len(), number);
    }
    if rng.one_in(3) {
        json = json.replace(';', "\\u003b");
    }
    let exchange_type = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_else(|| *rng.pick(TYPES))
        .to_owned();
    // Four frames in five have a well-formed envelope, so that most inputs reach the JSON.
    if !rng.one_in(5) {
        return format!("t:{};;et:{exchange_type};;e:{json}", template.kind).into_bytes();
    }
    let kind = match rng.below(4) {
        0 => *rng.pick(&["EVENT", "", "command", " REPLY ", "COMMAND;", "REPLY\0"]),
        1 if template.kind == "REPLY" => "COMMAND",
        1 => "REPLY",
        _ => template.kind,
    };
    let separator = match rng.below(4) {
        0 => *rng.pick(&[";", ";;;", " ;; ", ";;\n", ""]),
        _ => ";;",
    };
    let mut fields = vec![format!("t:{kind}"), format!("et:{exchange_type}")];
    match rng.below(4) {
        0 => fields.reverse(),
        1 => {
            fields.remove(rng.below(fields.len()));
        }
        2 => fields.push(format!("{}:{}", rng.pick(&["x", "t", "et", ""]), kind)),
        _ => {}
    }
    let mut frame = fields.join(separator);
    match rng.below(4) {
        0 => {}                                             // no body
        1 => frame = format!("e:{json}{separator}{frame}"), // body first: the rest is body
        _ => {
            frame.push_str(separator);
            frame.push_str("e:");
            frame.push_str(&json);
        }
    }
    if rng.one_in(2) {
        let tail = *rng.pick(TAILS);
        frame.push_str(tail);
    }
    frame.into_bytes()
}

/// Text after the JSON body.
const TAILS: &[&str] = &[";;", ";;t:REPLY", " ", "\n", "}", "\0"];

/// The properties checked on every input.
fn target(bytes: &[u8]) -> &'static str {
    let envelope = Envelope::parse(bytes);
    match decode(bytes) {
        Ok(message) => {
            assert!(envelope.is_ok(), "decoded a frame whose envelope fails");
            let frame = message.encode();
            let again = decode(&frame)
                .unwrap_or_else(|e| panic!("a re-encoded frame does not decode: {e}"));
            match (&message, &again) {
                (Message::Command(a), Message::Command(b)) => {
                    assert_eq!(a.id, b.id);
                    assert_eq!(a.command_type(), b.command_type());
                    if let CommandPayload::Fetch(fetch) = &a.payload {
                        let _ = fetch.selected_ids();
                    }
                    // The answers the connector may write to it.
                    for reply in [
                        Reply::unknown(&a.id),
                        Reply::no_reply(&a.id, &a.command_type()),
                        Reply::error(&a.id, a.command_type(), "failed; ;; \"x\""),
                    ] {
                        assert!(matches!(decode(&reply.encode()), Ok(Message::Reply(_))));
                    }
                }
                (Message::Reply(a), Message::Reply(b)) => {
                    assert_eq!(a.command_id, b.command_id);
                    assert_eq!(a.reply_type, b.reply_type);
                    assert_eq!(a.status, b.status);
                    assert_eq!(a.error_details, b.error_details);
                    assert_eq!(a.payload.is_some(), b.payload.is_some());
                    if let Some(ReplyPayload::Other(_)) = &a.payload {
                        assert!(matches!(b.payload, Some(ReplyPayload::Other(_))));
                    }
                }
                _ => panic!("a re-encoded frame changed kind"),
            }
            match message {
                Message::Command(_) => "command",
                Message::Reply(_) => "reply",
            }
        }
        Err(error) => {
            let _ = error.to_string();
            if let DecodeError::InvalidPayload {
                kind: Kind::Command,
                id,
                command_type,
                source,
            } = &error
            {
                let reply = Reply::error(
                    id,
                    command_type.clone(),
                    format!("invalid {command_type} payload: {source}"),
                );
                assert!(matches!(decode(&reply.encode()), Ok(Message::Reply(_))));
            }
            match error {
                DecodeError::Empty => "empty",
                DecodeError::NotUtf8 => "not UTF-8",
                DecodeError::UnknownKind(_) => "unknown kind",
                DecodeError::MissingBody(_) => "no body",
                DecodeError::InvalidJson { .. } => "invalid JSON",
                DecodeError::MissingId(_) => "no id",
                DecodeError::MissingType(_) => "no type",
                DecodeError::InvalidPayload { .. } => "invalid payload",
                _ => "other error",
            }
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let options = Options::from_args(
        root.join("fuzz/corpus"),
        root.join("../../target/fuzz-crashes"),
        64 * 1024,
    );
    let corpus = harness::load_corpus(&options.corpus);
    let templates = templates(&corpus);
    assert!(!templates.is_empty(), "no seed frame has a JSON body");
    let max_len = options.max_len;
    harness::run(
        "protocol",
        &options,
        |rng| {
            harness::mixed_input(rng, &corpus, DICTIONARY, max_len, |rng| {
                grammar_frame(rng, &templates)
            })
        },
        target,
    );
}
