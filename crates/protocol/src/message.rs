//! [`Command`], [`Reply`] and [`Message`]: the JSON inside the envelope, typed.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::envelope::{Envelope, Kind, escape_semicolons};
use crate::error::DecodeError;
use crate::payload::*;

/// Every command type this agent knows, plus [`CommandType::Other`] for the rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommandType {
    /// `HELLO`: the first message on a channel.
    Hello,
    /// `HEALTH_CHECK`: the controller's periodic probe.
    HealthCheck,
    /// `PRIMARY`: primary channel election result.
    Primary,
    /// `GOOD_BYE`: the controller closes the channel.
    GoodBye,
    /// `UNKNOWN`: the reply to a command type the receiver does not know.
    Unknown,
    /// `NO_REPLY`: the reply to a known command the receiver has no handler for.
    NoReply,
    /// `DISCOVER`: list the APIs (preview).
    Discover,
    /// `START_INGEST`: start pushing full definitions.
    StartIngest,
    /// `INGEST`: one batch of full definitions (agent → controller).
    Ingest,
    /// `SUBSCRIBE`: issue a credential.
    Subscribe,
    /// `UNSUBSCRIBE`: revoke a credential.
    Unsubscribe,
    /// `LIST`: APIM 4.4's discover.
    List,
    /// `FETCH`: APIM 4.4's synchronous ingest.
    Fetch,
    /// Any other type, as written.
    Other(String),
}

impl CommandType {
    /// Parses a wire spelling.
    pub fn parse(text: &str) -> Self {
        match text {
            "HELLO" => Self::Hello,
            "HEALTH_CHECK" => Self::HealthCheck,
            "PRIMARY" => Self::Primary,
            "GOOD_BYE" => Self::GoodBye,
            "UNKNOWN" => Self::Unknown,
            "NO_REPLY" => Self::NoReply,
            "DISCOVER" => Self::Discover,
            "START_INGEST" => Self::StartIngest,
            "INGEST" => Self::Ingest,
            "SUBSCRIBE" => Self::Subscribe,
            "UNSUBSCRIBE" => Self::Unsubscribe,
            "LIST" => Self::List,
            "FETCH" => Self::Fetch,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Hello => "HELLO",
            Self::HealthCheck => "HEALTH_CHECK",
            Self::Primary => "PRIMARY",
            Self::GoodBye => "GOOD_BYE",
            Self::Unknown => "UNKNOWN",
            Self::NoReply => "NO_REPLY",
            Self::Discover => "DISCOVER",
            Self::StartIngest => "START_INGEST",
            Self::Ingest => "INGEST",
            Self::Subscribe => "SUBSCRIBE",
            Self::Unsubscribe => "UNSUBSCRIBE",
            Self::List => "LIST",
            Self::Fetch => "FETCH",
            Self::Other(text) => text,
        }
    }
}

impl fmt::Display for CommandType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CommandType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A command's typed payload; the variant decides the command's `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandPayload {
    /// `HELLO`.
    Hello(HelloPayload),
    /// `HEALTH_CHECK` (`{}`).
    HealthCheck(Empty),
    /// `PRIMARY`.
    Primary(PrimaryPayload),
    /// `GOOD_BYE`.
    GoodBye(GoodByePayload),
    /// `DISCOVER` (`{}`).
    Discover(Empty),
    /// `START_INGEST`.
    StartIngest(StartIngestPayload),
    /// `INGEST`.
    Ingest(IngestPayload),
    /// `SUBSCRIBE`.
    Subscribe(SubscribePayload),
    /// `UNSUBSCRIBE`.
    Unsubscribe(UnsubscribePayload),
    /// `LIST` (`{}`).
    List(Empty),
    /// `FETCH`.
    Fetch(FetchPayload),
    /// A type without a typed payload here (including `UNKNOWN` and `NO_REPLY`, which are
    /// reply-only): kept as raw JSON so it re-encodes unchanged.
    Other {
        /// The type as written.
        command_type: String,
        /// The payload as written.
        payload: Option<serde_json::Value>,
    },
}

impl CommandPayload {
    /// The command type this payload belongs to.
    pub fn command_type(&self) -> CommandType {
        match self {
            Self::Hello(_) => CommandType::Hello,
            Self::HealthCheck(_) => CommandType::HealthCheck,
            Self::Primary(_) => CommandType::Primary,
            Self::GoodBye(_) => CommandType::GoodBye,
            Self::Discover(_) => CommandType::Discover,
            Self::StartIngest(_) => CommandType::StartIngest,
            Self::Ingest(_) => CommandType::Ingest,
            Self::Subscribe(_) => CommandType::Subscribe,
            Self::Unsubscribe(_) => CommandType::Unsubscribe,
            Self::List(_) => CommandType::List,
            Self::Fetch(_) => CommandType::Fetch,
            Self::Other { command_type, .. } => CommandType::parse(command_type),
        }
    }

    fn parse(
        command_type: &CommandType,
        raw: Option<&RawValue>,
    ) -> Result<Self, serde_json::Error> {
        let json = raw.map_or("{}", RawValue::get);
        Ok(match command_type {
            CommandType::Hello => Self::Hello(serde_json::from_str(json)?),
            CommandType::HealthCheck => Self::HealthCheck(serde_json::from_str(json)?),
            CommandType::Primary => Self::Primary(serde_json::from_str(json)?),
            CommandType::GoodBye => Self::GoodBye(serde_json::from_str(json)?),
            CommandType::Discover => Self::Discover(serde_json::from_str(json)?),
            CommandType::StartIngest => Self::StartIngest(serde_json::from_str(json)?),
            CommandType::Ingest => Self::Ingest(serde_json::from_str(json)?),
            CommandType::Subscribe => Self::Subscribe(serde_json::from_str(json)?),
            CommandType::Unsubscribe => Self::Unsubscribe(serde_json::from_str(json)?),
            CommandType::List => Self::List(serde_json::from_str(json)?),
            CommandType::Fetch => Self::Fetch(serde_json::from_str(json)?),
            other => Self::Other {
                command_type: other.as_str().to_owned(),
                payload: raw.map(|r| serde_json::from_str(r.get())).transpose()?,
            },
        })
    }
}

impl Serialize for CommandPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Hello(p) => p.serialize(serializer),
            Self::HealthCheck(p) | Self::Discover(p) | Self::List(p) => p.serialize(serializer),
            Self::Primary(p) => p.serialize(serializer),
            Self::GoodBye(p) => p.serialize(serializer),
            Self::StartIngest(p) => p.serialize(serializer),
            Self::Ingest(p) => p.serialize(serializer),
            Self::Subscribe(p) => p.serialize(serializer),
            Self::Unsubscribe(p) => p.serialize(serializer),
            Self::Fetch(p) => p.serialize(serializer),
            Self::Other { payload, .. } => payload.serialize(serializer),
        }
    }
}

/// A command: `{"id", "type", "payload"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Unique per command; the reply's `commandId`.
    pub id: String,
    /// The payload, which decides the type.
    pub payload: CommandPayload,
}

impl Command {
    /// A command.
    pub fn new(id: impl Into<String>, payload: CommandPayload) -> Self {
        Self {
            id: id.into(),
            payload,
        }
    }

    /// The command's type.
    pub fn command_type(&self) -> CommandType {
        self.payload.command_type()
    }

    /// The JSON body, keys in canonical order, `;` escaped.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            command_type: CommandType,
            #[serde(skip_serializing_if = "Option::is_none")]
            payload: Option<&'a CommandPayload>,
        }
        let payload = match &self.payload {
            CommandPayload::Other { payload: None, .. } => None,
            payload => Some(payload),
        };
        let wire = Wire {
            id: &self.id,
            command_type: self.command_type(),
            payload,
        };
        escape_semicolons(serde_json::to_string(&wire).unwrap_or_default())
    }

    /// The whole V1 frame.
    pub fn encode(&self) -> Vec<u8> {
        Envelope::write(Kind::Command, self.command_type().as_str(), &self.to_json())
    }
}

/// `commandStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// `SUCCEEDED`.
    Succeeded,
    /// `ERROR` (also any status this agent does not know).
    Error,
}

impl CommandStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Error => "ERROR",
        }
    }
}

impl Serialize for CommandStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A reply's typed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyPayload {
    /// `HELLO`.
    Hello(HelloReplyPayload),
    /// `HEALTH_CHECK`.
    HealthCheck(HealthCheckReplyPayload),
    /// `GOOD_BYE`.
    GoodBye(GoodByeReplyPayload),
    /// `DISCOVER`.
    Discover(DiscoverReplyPayload),
    /// `START_INGEST`.
    StartIngest(StartIngestReplyPayload),
    /// `SUBSCRIBE`.
    Subscribe(SubscribeReplyPayload),
    /// `LIST`.
    List(ListReplyPayload),
    /// `FETCH`.
    Fetch(FetchReplyPayload),
    /// `{}`: PRIMARY, INGEST, UNSUBSCRIBE, UNKNOWN and NO_REPLY replies.
    Empty(Empty),
    /// Any other JSON (a type this agent does not model).
    Other(serde_json::Value),
}

impl ReplyPayload {
    fn parse(reply_type: &CommandType, raw: &RawValue) -> Result<Self, serde_json::Error> {
        let json = raw.get();
        Ok(match reply_type {
            CommandType::Hello => Self::Hello(serde_json::from_str(json)?),
            CommandType::HealthCheck => Self::HealthCheck(serde_json::from_str(json)?),
            CommandType::GoodBye => Self::GoodBye(serde_json::from_str(json)?),
            CommandType::Discover => Self::Discover(serde_json::from_str(json)?),
            CommandType::StartIngest => Self::StartIngest(serde_json::from_str(json)?),
            CommandType::Subscribe => Self::Subscribe(serde_json::from_str(json)?),
            CommandType::List => Self::List(serde_json::from_str(json)?),
            CommandType::Fetch => Self::Fetch(serde_json::from_str(json)?),
            CommandType::Primary
            | CommandType::Ingest
            | CommandType::Unsubscribe
            | CommandType::Unknown
            | CommandType::NoReply => Self::Empty(serde_json::from_str(json)?),
            CommandType::Other(_) => Self::Other(serde_json::from_str(json)?),
        })
    }
}

impl Serialize for ReplyPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Hello(p) => p.serialize(serializer),
            Self::HealthCheck(p) => p.serialize(serializer),
            Self::GoodBye(p) => p.serialize(serializer),
            Self::Discover(p) => p.serialize(serializer),
            Self::StartIngest(p) => p.serialize(serializer),
            Self::Subscribe(p) => p.serialize(serializer),
            Self::List(p) => p.serialize(serializer),
            Self::Fetch(p) => p.serialize(serializer),
            Self::Empty(p) => p.serialize(serializer),
            Self::Other(p) => p.serialize(serializer),
        }
    }
}

/// A reply: `{"commandId", "type", "commandStatus", "errorDetails", "payload"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The id of the command answered.
    pub command_id: String,
    /// The type: the command's type, or `UNKNOWN` / `NO_REPLY`.
    pub reply_type: CommandType,
    /// Success or error.
    pub status: CommandStatus,
    /// Why it failed.
    pub error_details: Option<String>,
    /// The payload, if any.
    pub payload: Option<ReplyPayload>,
}

impl Reply {
    /// A `SUCCEEDED` reply of `reply_type`.
    pub fn succeeded(
        command_id: impl Into<String>,
        reply_type: CommandType,
        payload: ReplyPayload,
    ) -> Self {
        Self {
            command_id: command_id.into(),
            reply_type,
            status: CommandStatus::Succeeded,
            error_details: None,
            payload: Some(payload),
        }
    }

    /// An `ERROR` reply with details and no payload.
    pub fn error(
        command_id: impl Into<String>,
        reply_type: CommandType,
        details: impl Into<String>,
    ) -> Self {
        Self {
            command_id: command_id.into(),
            reply_type,
            status: CommandStatus::Error,
            error_details: Some(details.into()),
            payload: None,
        }
    }

    /// The answer to a command type the receiver does not know: `UNKNOWN`, `ERROR`,
    /// `"Command unknown"`, payload `{}`.
    pub fn unknown(command_id: impl Into<String>) -> Self {
        Self {
            payload: Some(ReplyPayload::Empty(Empty {})),
            ..Self::error(command_id, CommandType::Unknown, "Command unknown")
        }
    }

    /// The answer to a known command type the receiver has no handler for: `NO_REPLY`, `ERROR`,
    /// payload `{}`.
    pub fn no_reply(command_id: impl Into<String>, command_type: &CommandType) -> Self {
        Self {
            payload: Some(ReplyPayload::Empty(Empty {})),
            ..Self::error(
                command_id,
                CommandType::NoReply,
                format!("No handler found for command type '{command_type}'. Ignoring"),
            )
        }
    }

    /// Whether the status is `SUCCEEDED`.
    pub fn is_success(&self) -> bool {
        self.status == CommandStatus::Succeeded
    }

    /// The JSON body, keys in canonical order, `;` escaped.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            command_id: &'a str,
            #[serde(rename = "type")]
            reply_type: &'a CommandType,
            command_status: CommandStatus,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_details: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            payload: Option<&'a ReplyPayload>,
        }
        let wire = Wire {
            command_id: &self.command_id,
            reply_type: &self.reply_type,
            command_status: self.status,
            error_details: self.error_details.as_deref(),
            payload: self.payload.as_ref(),
        };
        escape_semicolons(serde_json::to_string(&wire).unwrap_or_default())
    }

    /// The whole V1 frame.
    pub fn encode(&self) -> Vec<u8> {
        Envelope::write(Kind::Reply, self.reply_type.as_str(), &self.to_json())
    }
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A command to handle.
    Command(Command),
    /// A reply to a command this side sent.
    Reply(Reply),
}

impl Message {
    /// The whole V1 frame.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Command(c) => c.encode(),
            Self::Reply(r) => r.encode(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCommand<'a> {
    #[serde(default, borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type", default, borrow)]
    command_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReply<'a> {
    #[serde(default, borrow)]
    command_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type", default, borrow)]
    reply_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    command_status: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    error_details: Option<String>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

/// Decodes one binary WebSocket message.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let envelope = Envelope::parse(bytes)?;
    let kind = envelope.kind;
    let body = envelope.body.ok_or(DecodeError::MissingBody(kind))?;
    let invalid_json = |source| DecodeError::InvalidJson { kind, source };
    match kind {
        Kind::Command => {
            let raw: RawCommand<'_> = serde_json::from_str(body).map_err(invalid_json)?;
            let id = raw.id.ok_or(DecodeError::MissingId(kind))?.into_owned();
            let type_text = raw
                .command_type
                .as_deref()
                .or(envelope.exchange_type)
                .ok_or(DecodeError::MissingType(kind))?;
            let command_type = CommandType::parse(type_text);
            // A JSON `null` payload counts as absent.
            let raw_payload = raw.payload.filter(|p| p.get() != "null");
            let payload = CommandPayload::parse(&command_type, raw_payload).map_err(|source| {
                DecodeError::InvalidPayload {
                    kind,
                    id: id.clone(),
                    command_type: command_type.clone(),
                    source,
                }
            })?;
            Ok(Message::Command(Command { id, payload }))
        }
        Kind::Reply => {
            let raw: RawReply<'_> = serde_json::from_str(body).map_err(invalid_json)?;
            let command_id = raw
                .command_id
                .ok_or(DecodeError::MissingId(kind))?
                .into_owned();
            let type_text = raw
                .reply_type
                .as_deref()
                .or(envelope.exchange_type)
                .ok_or(DecodeError::MissingType(kind))?;
            let reply_type = CommandType::parse(type_text);
            let status = match raw.command_status.as_deref() {
                Some("SUCCEEDED") => CommandStatus::Succeeded,
                _ => CommandStatus::Error,
            };
            let payload = raw
                .payload
                .filter(|p| p.get() != "null")
                .map(|p| ReplyPayload::parse(&reply_type, p))
                .transpose()
                .map_err(|source| DecodeError::InvalidPayload {
                    kind,
                    id: command_id.clone(),
                    command_type: reply_type.clone(),
                    source,
                })?;
            Ok(Message::Reply(Reply {
                command_id,
                reply_type,
                status,
                error_details: raw.error_details,
                payload,
            }))
        }
    }
}
