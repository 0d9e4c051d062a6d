//! Message sizes as they go on the wire.
//!
//! The controller counts the bytes it receives against `maxWebSocketMessageSize` and drops a
//! bigger message unanswered (`docs/reference/integration-commands.md` §9, "Message size").
//! What it receives is the encoded frame, in which the codec escaped every `;` of the JSON as
//! `\u003b` (`federation_protocol::envelope::escape_semicolons`: 5 more bytes each). OpenAPI
//! documents are full of `;` (`application/json;charset=UTF-8`), so the JSON's own length is
//! not the size.
//!
//! A message carrying APIs is, byte for byte, the same message with an empty list, plus each
//! API's JSON as escaped, plus one comma between two: [`Room`] counts that way, exactly, without
//! encoding anything twice.

use federation_core::Api;
use federation_protocol::envelope::escaped_json_len;
use federation_protocol::payload::{FetchReplyPayload, IngestPayload};
use federation_protocol::{Command, CommandPayload, CommandType, Reply, ReplyPayload};

/// The size of `api`'s JSON in a message: serialised as the codec does, each `;` escaped
/// (counted as it is serialised, not built).
pub(crate) fn wire_len(api: &Api) -> usize {
    escaped_json_len(api).unwrap_or(0)
}

/// How many bytes of APIs (each [`wire_len`], a comma between two) fit in one message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Room {
    /// The message with no API, encoded.
    base: usize,
    /// `maxWebSocketMessageSize`.
    limit: usize,
}

impl Room {
    /// An INGEST of job `job_id` (its command id a v4 UUID, as the agent makes them). Measured
    /// with `done: false`, one byte longer than `done: true`, so it holds for both.
    pub(crate) fn ingest(job_id: &str, limit: usize) -> Self {
        let empty = Command::new(
            uuid::Uuid::new_v4().to_string(),
            CommandPayload::Ingest(IngestPayload {
                ingest_job_id: job_id.to_owned(),
                apis: Vec::new(),
                done: false,
            }),
        );
        Self {
            base: empty.encode().len(),
            limit,
        }
    }

    /// The SUCCEEDED reply to the FETCH command `command_id`.
    pub(crate) fn fetch_reply(command_id: &str, limit: usize) -> Self {
        let empty = Reply::succeeded(
            command_id,
            CommandType::Fetch,
            ReplyPayload::Fetch(FetchReplyPayload { apis: Vec::new() }),
        );
        Self {
            base: empty.encode().len(),
            limit,
        }
    }

    /// The bytes left for the APIs and the commas between them.
    pub(crate) fn for_apis(self) -> usize {
        self.limit.saturating_sub(self.base)
    }

    /// The largest message, `maxWebSocketMessageSize`.
    pub(crate) fn limit(self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use federation_core::{Page, PageType};

    use super::*;

    fn api(i: usize, content: &str) -> Api {
        Api::new(format!("u;{i}"), format!("id-{i}"), format!("API; {i}")).with_page(Page::new(
            PageType::Swagger,
            content,
            format!("p{i};.json"),
        ))
    }

    #[test]
    fn an_ingest_is_its_empty_message_plus_each_api_as_escaped_plus_commas() {
        let job = "job;1";
        let room = Room::ingest(job, 1 << 20);
        for apis in [
            vec![],
            vec![api(0, "plain")],
            vec![
                api(1, &"application/json;charset=UTF-8".repeat(50)),
                api(2, ";;;"),
                api(3, "x"),
            ],
        ] {
            for done in [false, true] {
                let encoded = Command::new(
                    uuid::Uuid::new_v4().to_string(),
                    CommandPayload::Ingest(IngestPayload {
                        ingest_job_id: job.to_owned(),
                        apis: apis.clone(),
                        done,
                    }),
                )
                .encode()
                .len();
                let counted = room.base
                    + apis.iter().map(wire_len).sum::<usize>()
                    + apis.len().saturating_sub(1);
                // `done: true` is one byte shorter than the `false` the room is measured with.
                assert_eq!(counted - usize::from(done), encoded, "{} APIs", apis.len());
            }
        }
    }

    #[test]
    fn a_fetch_reply_is_its_empty_message_plus_each_api_as_escaped_plus_commas() {
        let apis = vec![api(1, "a;b"), api(2, &";".repeat(1_000))];
        let room = Room::fetch_reply("cmd;7", 1 << 20);
        let encoded = Reply::succeeded(
            "cmd;7",
            CommandType::Fetch,
            ReplyPayload::Fetch(FetchReplyPayload { apis: apis.clone() }),
        )
        .encode()
        .len();
        assert_eq!(
            room.base + wire_len(&apis[0]) + 1 + wire_len(&apis[1]),
            encoded
        );
        assert_eq!(room.for_apis(), (1 << 20) - room.base);
    }

    #[test]
    fn each_semicolon_costs_six_bytes() {
        let plain = wire_len(&api(0, "xxxx"));
        let semis = wire_len(&api(0, ";;;;"));
        // `;` is 1 byte in JSON, 6 as `\u003b` on the wire.
        assert_eq!(semis - plain, 4 * 5);
    }
}
