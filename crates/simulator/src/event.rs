//! [`Event`]: everything that happened on the simulated controller, in order.

use std::time::Instant;

use serde::Serialize;

/// Something the simulator observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An HTTP upgrade request and the status the simulator answered.
    Upgrade {
        /// Request path.
        path: String,
        /// `X-Gravitee-Exchange-Protocol`, if sent.
        protocol: Option<String>,
        /// Whether the bearer token matched.
        authorized: bool,
        /// 101 on success.
        status: u16,
    },
    /// A HELLO and its outcome.
    Hello {
        /// Connection number.
        connection: u64,
        /// `targetId`.
        integration_id: String,
        /// `provider`.
        provider: Option<String>,
        /// Whether it was accepted.
        accepted: bool,
        /// The error text, when rejected.
        details: Option<String>,
    },
    /// A message from the agent (command or reply) by type.
    Received {
        /// Connection number.
        connection: u64,
        /// `COMMAND` or `REPLY`.
        kind: String,
        /// The type.
        command_type: String,
        /// `SUCCEEDED`/`ERROR` for replies.
        status: Option<String>,
    },
    /// One INGEST batch.
    Ingest {
        /// The job.
        job_id: String,
        /// APIs in the batch.
        apis: usize,
        /// `done` flag.
        done: bool,
        /// False when no job with this id existed (APIM then ignores the batch).
        known_job: bool,
    },
    /// An INGEST batch answered with ERROR and not ingested, as
    /// [`Simulator::fail_next_ingest_batches`](crate::Simulator::fail_next_ingest_batches)
    /// asked.
    IngestRejected {
        /// The job.
        job_id: String,
        /// APIs in the batch.
        apis: usize,
        /// `done` flag.
        done: bool,
        /// The reply's `errorDetails`.
        details: String,
    },
    /// A connection ended.
    Closed {
        /// Connection number.
        connection: u64,
        /// The integration, if HELLO was accepted.
        integration_id: Option<String>,
        /// The close code the agent sent, if any.
        code: Option<u16>,
    },
    /// A message from the agent larger than the controller's `maxWebSocketMessageSize`
    /// ([`SimulatorConfig::max_message_size`](crate::SimulatorConfig::max_message_size)),
    /// counted in bytes on the wire: dropped without decoding it or answering it, as APIM does
    /// (`docs/reference/integration-commands.md` §9). The connection stays open.
    OversizeMessage {
        /// Connection number.
        connection: u64,
        /// The message's size in bytes.
        bytes: usize,
        /// The limit it broke.
        limit: usize,
        /// `COMMAND` or `REPLY`, read from the envelope's `t:` for the record only.
        kind: Option<String>,
        /// The envelope's `et:`, for the record only.
        message_type: Option<String>,
    },
    /// A protocol rule the agent broke.
    Violation {
        /// Connection number.
        connection: u64,
        /// What happened.
        detail: String,
    },
}

/// An event with the time it was recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// When.
    pub at: Instant,
    /// What.
    pub event: Event,
}
