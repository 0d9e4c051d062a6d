//! [`DecodeError`]: why a frame could not be read.

use crate::envelope::Kind;
use crate::message::CommandType;

/// A frame that could not be decoded. Never a panic: the connector logs it and answers or closes
/// as the reference does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty message (the reference ignores these).
    #[error("empty message")]
    Empty,
    /// The bytes are not UTF-8.
    #[error("message is not valid UTF-8")]
    NotUtf8,
    /// `t:` is missing or is neither `COMMAND` nor `REPLY` (the reference closes with 1002
    /// "Exchange message unknown").
    #[error("exchange message unknown: envelope type {0:?}")]
    UnknownKind(String),
    /// No `e:` body (the reference closes with 1002 "Unrecognized incoming exchange").
    #[error("unrecognized incoming exchange: {0:?} envelope without body")]
    MissingBody(Kind),
    /// The body is not the JSON of a command or reply.
    #[error("invalid {kind:?} JSON: {source}")]
    InvalidJson {
        /// Command or reply.
        kind: Kind,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A command without `id` or a reply without `commandId`.
    #[error("{0:?} without id")]
    MissingId(Kind),
    /// A command or reply without `type`, in the JSON and in `et:`.
    #[error("{0:?} without type")]
    MissingType(Kind),
    /// A known command type whose payload does not have the expected shape. `id` lets the
    /// receiver answer the command with an ERROR reply.
    #[error("invalid {command_type} {kind:?} payload: {source}")]
    InvalidPayload {
        /// Command or reply.
        kind: Kind,
        /// The command's `id`, or the reply's `commandId`.
        id: String,
        /// The type whose payload failed.
        command_type: CommandType,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}
