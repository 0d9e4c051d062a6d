//! Property tests: every command and reply survives encode → decode unchanged, and decoding
//! arbitrary bytes returns a value or an error, never a panic.

#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, as it should

use federation_core::*;
use federation_protocol::payload::*;
use federation_protocol::{
    Command, CommandPayload, CommandStatus, CommandType, Message, Reply, ReplyPayload, decode,
};
use indexmap::IndexMap;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Text with the characters that matter to the codec: `;`, quotes, escapes, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _:./-]{0,12}",
        "[;\"\\\\{}\\[\\]:a-z …é\n\t]{0,16}",
        any::<String>(),
    ]
}

fn string_map() -> impl Strategy<Value = IndexMap<String, String>> {
    vec((text(), text()), 0..4).prop_map(|pairs| pairs.into_iter().collect())
}

fn page() -> impl Strategy<Value = Page> {
    (
        prop_oneof![
            Just(PageType::Asciidoc),
            Just(PageType::Asyncapi),
            Just(PageType::Markdown),
            Just(PageType::MarkdownTemplate),
            Just(PageType::Swagger),
        ],
        text(),
        option::of(text()),
    )
        .prop_map(|(page_type, content, filename)| Page {
            page_type,
            content,
            filename,
        })
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        text(),
        text(),
        option::of(text()),
        prop_oneof![
            Just(PlanSecurityType::ApiKey),
            Just(PlanSecurityType::Oauth2),
            Just(PlanSecurityType::Jwt)
        ],
        // Always sent (`[]` when `None`), so what a decoded frame holds is always `Some`.
        vec(text(), 0..3).prop_map(Some),
    )
        .prop_map(
            |(id, name, description, plan_security_type, characteristics)| Plan {
                id,
                name,
                description,
                plan_security_type,
                characteristics,
            },
        )
}

fn metadata() -> impl Strategy<Value = Metadata> {
    (
        text(),
        text(),
        prop_oneof![
            Just(MetadataFormat::String),
            Just(MetadataFormat::Numeric),
            Just(MetadataFormat::Boolean),
            Just(MetadataFormat::Date),
            Just(MetadataFormat::Mail),
            Just(MetadataFormat::Url),
        ],
    )
        .prop_map(|(name, value, format)| Metadata {
            name,
            value,
            format,
        })
}

fn api() -> impl Strategy<Value = Api> {
    (
        (
            text(),
            text(),
            text(),
            option::of(text()),
            option::of(text()),
        ),
        (
            option::of(string_map()),
            option::of(prop_oneof![Just(ApiType::Proxy), Just(ApiType::Message)]),
            option::of(vec(page(), 0..2)),
            option::of(vec(plan(), 0..2)),
            option::of(vec(metadata(), 0..3)),
        ),
    )
        .prop_map(
            |(
                (unique_id, id, name, version, description),
                (connection_details, api_type, pages, plans, metadata),
            )| Api {
                unique_id,
                id,
                name,
                version,
                description,
                connection_details,
                api_type,
                pages,
                plans,
                metadata,
            },
        )
}

fn subscription() -> impl Strategy<Value = Subscription> {
    (
        text(),
        option::of(text()),
        option::of(text()),
        option::of(prop_oneof![
            Just(SubscriptionType::ApiKey),
            Just(SubscriptionType::Oauth),
            Just(SubscriptionType::Jwt)
        ]),
        option::of(string_map()),
    )
        .prop_map(
            |(id, app_id, app_name, subscription_type, metadata)| Subscription {
                gravitee_subscription_id: id,
                gravitee_application_id: app_id,
                gravitee_application_name: app_name,
                subscription_type,
                metadata,
            },
        )
}

/// JSON values without `null` at the top (a null payload reads as absent).
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        text().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            vec((text(), inner), 0..4)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A command type this codec does not model (may contain `;`, which `et:` must survive).
fn other_type() -> impl Strategy<Value = String> {
    "[A-Z_;]{1,12}".prop_filter("not a modelled type", |t| {
        matches!(CommandType::parse(t), CommandType::Other(_))
    })
}

fn command_payload() -> impl Strategy<Value = CommandPayload> {
    prop_oneof![
        (text(), option::of(text())).prop_map(|(target_id, provider)| CommandPayload::Hello(
            HelloPayload {
                target_id,
                provider
            }
        )),
        Just(CommandPayload::HealthCheck(Empty {})),
        any::<bool>().prop_map(|primary| CommandPayload::Primary(PrimaryPayload { primary })),
        (option::of(text()), any::<bool>()).prop_map(|(target_id, reconnect)| {
            CommandPayload::GoodBye(GoodByePayload {
                target_id,
                reconnect,
            })
        }),
        Just(CommandPayload::Discover(Empty {})),
        (text(), option::of(vec(text(), 0..4))).prop_map(|(ingest_job_id, api_ids)| {
            CommandPayload::StartIngest(StartIngestPayload {
                ingest_job_id,
                api_ids,
            })
        }),
        (text(), vec(api(), 0..3), any::<bool>()).prop_map(|(ingest_job_id, apis, done)| {
            CommandPayload::Ingest(IngestPayload {
                ingest_job_id,
                apis,
                done,
            })
        }),
        (text(), subscription()).prop_map(|(api_id, subscription)| CommandPayload::Subscribe(
            SubscribePayload {
                api_id,
                subscription
            }
        )),
        (text(), subscription()).prop_map(|(api_id, subscription)| {
            CommandPayload::Unsubscribe(UnsubscribePayload {
                api_id,
                subscription,
            })
        }),
        Just(CommandPayload::List(Empty {})),
        option::of(vec(json_value(), 0..3))
            .prop_map(|apis| CommandPayload::Fetch(FetchPayload { apis })),
        (other_type(), option::of(json_value())).prop_map(|(command_type, payload)| {
            CommandPayload::Other {
                command_type,
                payload,
            }
        }),
    ]
}

fn reply_body() -> impl Strategy<Value = (CommandType, Option<ReplyPayload>)> {
    let empty = |t: CommandType| (t, Some(ReplyPayload::Empty(Empty {})));
    let typed = prop_oneof![
        option::of(text()).prop_map(|target_id| (
            CommandType::Hello,
            Some(ReplyPayload::Hello(HelloReplyPayload { target_id }))
        )),
        (any::<bool>(), option::of(text())).prop_map(|(healthy, detail)| (
            CommandType::HealthCheck,
            Some(ReplyPayload::HealthCheck(HealthCheckReplyPayload {
                healthy,
                detail
            }))
        )),
        option::of(text()).prop_map(|target_id| (
            CommandType::GoodBye,
            Some(ReplyPayload::GoodBye(GoodByeReplyPayload { target_id }))
        )),
        (vec(api(), 0..3), any::<bool>()).prop_map(|(apis, is_partial_discovery)| (
            CommandType::Discover,
            Some(ReplyPayload::Discover(DiscoverReplyPayload {
                apis,
                is_partial_discovery
            }))
        )),
        (text(), any::<u64>()).prop_map(|(ingest_job_id, total)| (
            CommandType::StartIngest,
            Some(ReplyPayload::StartIngest(StartIngestReplyPayload {
                ingest_job_id,
                total
            }))
        )),
        (
            text(),
            option::of(text().prop_map(Secret::new)),
            option::of(string_map())
        )
            .prop_map(|(id, api_key, metadata)| (
                CommandType::Subscribe,
                Some(ReplyPayload::Subscribe(SubscribeReplyPayload {
                    subscription: SubscriptionResult {
                        gravitee_subscription_id: id,
                        api_key,
                        metadata,
                    }
                }))
            )),
        vec(api(), 0..3).prop_map(|apis| (
            CommandType::List,
            Some(ReplyPayload::List(ListReplyPayload { apis }))
        )),
        vec(api(), 0..3).prop_map(|apis| (
            CommandType::Fetch,
            Some(ReplyPayload::Fetch(FetchReplyPayload { apis }))
        )),
        Just(empty(CommandType::Primary)),
        Just(empty(CommandType::Ingest)),
        Just(empty(CommandType::Unsubscribe)),
        Just(empty(CommandType::Unknown)),
        Just(empty(CommandType::NoReply)),
        (other_type(), json_value())
            .prop_map(|(t, v)| (CommandType::Other(t), Some(ReplyPayload::Other(v)))),
    ];
    prop_oneof![
        4 => typed,
        1 => prop_oneof![Just(CommandType::Hello), Just(CommandType::Discover), Just(CommandType::Subscribe)]
            .prop_map(|t| (t, None)),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    (
        text(),
        reply_body(),
        prop_oneof![Just(CommandStatus::Succeeded), Just(CommandStatus::Error)],
        option::of(text()),
    )
        .prop_map(
            |(command_id, (reply_type, payload), status, error_details)| Reply {
                command_id,
                reply_type,
                status,
                error_details,
                payload,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn commands_round_trip(id in text(), payload in command_payload()) {
        let command = Command::new(id, payload);
        let bytes = command.encode();
        let body = &bytes[bytes.windows(4).position(|w| w == b";;e:").unwrap() + 4..];
        prop_assert!(!body.contains(&b';'), "no raw `;` in the JSON");
        prop_assert_eq!(decode(&bytes).unwrap(), Message::Command(command));
    }

    #[test]
    fn replies_round_trip(reply in reply()) {
        let bytes = reply.encode();
        let body = &bytes[bytes.windows(4).position(|w| w == b";;e:").unwrap() + 4..];
        prop_assert!(!body.contains(&b';'), "no raw `;` in the JSON");
        prop_assert_eq!(decode(&bytes).unwrap(), Message::Reply(reply));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn arbitrary_bodies_never_panic(
        kind in prop_oneof![Just("COMMAND"), Just("REPLY"), Just("OTHER")],
        command_type in prop_oneof![Just("HELLO".to_owned()), Just("INGEST".to_owned()), Just("SUBSCRIBE".to_owned()), other_type()],
        body in prop_oneof![any::<String>(), json_value().prop_map(|v| v.to_string())],
    ) {
        let frame = format!("t:{kind};;et:{command_type};;e:{body}");
        let _ = decode(frame.as_bytes());
        let wrapped = format!(r#"t:{kind};;e:{{"id":"x","commandId":"x","type":"{command_type}","payload":{body}}}"#);
        let _ = decode(wrapped.as_bytes());
    }
}
