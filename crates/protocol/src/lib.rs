//! # federation-protocol
//!
//! The controller ↔ agent wire protocol, as a pure codec: bytes in, typed values out, and back.
//! No sockets, no clocks, no tasks; the connector and the controller simulator do the I/O.
//!
//! Two layers, after `docs/reference/exchange-protocol.md` and
//! `docs/reference/integration-commands.md`:
//!
//! - [`envelope`]: the V1 frame `t:COMMAND|REPLY;;et:<type>;;e:<json>` carried in one binary
//!   WebSocket message. `e:` is last and may itself contain `;;`.
//! - [`message`]: [`Command`] `{id, type, payload}` and [`Reply`]
//!   `{commandId, type, commandStatus, errorDetails, payload}`, written in that canonical key
//!   order, and the typed payloads of every command type ([`payload`]): the exchange built-ins
//!   (`HELLO`, `HEALTH_CHECK`, `PRIMARY`, `GOOD_BYE`, `UNKNOWN`, `NO_REPLY`), the APIM 4.5+
//!   integration set (`DISCOVER`, `START_INGEST`, `INGEST`, `SUBSCRIBE`, `UNSUBSCRIBE`) and the
//!   APIM 4.4 pair (`LIST`, `FETCH`).
//!
//! Reading is tolerant: an unknown command type decodes to [`CommandPayload::Other`] (answer it
//! with [`Reply::unknown`]), an unknown `commandStatus` reads as [`CommandStatus::Error`],
//! unknown JSON keys are ignored, and a malformed frame is a [`DecodeError`], never a panic.
//! Writing is conservative: every `;` inside the JSON is written as `\u003b`, so controllers
//! older than exchange 2.0.2, which cut the JSON at the first `;;`, read it intact.
//!
//! ```
//! use federation_protocol::{decode, Command, CommandPayload, Message, Reply, payload::HelloPayload};
//!
//! let hello = Command::new("c-1", CommandPayload::Hello(HelloPayload::new("my-integration", "aws-api-gateway")));
//! let bytes = hello.encode();
//! assert!(bytes.starts_with(b"t:COMMAND;;et:HELLO;;e:{\"id\":\"c-1\""));
//! assert_eq!(decode(&bytes).unwrap(), Message::Command(hello));
//!
//! let frame = br#"t:COMMAND;;et:WRONG;;e:{"id":"x","type":"WRONG","payload":{}}"#;
//! let Message::Command(cmd) = decode(frame).unwrap() else { unreachable!() };
//! let answer = Reply::unknown(&cmd.id);
//! assert_eq!(answer.error_details.as_deref(), Some("Command unknown"));
//! ```

pub mod envelope;
pub mod error;
pub mod message;
pub mod payload;

pub use envelope::{Envelope, Kind};
pub use error::DecodeError;
pub use message::{
    Command, CommandPayload, CommandStatus, CommandType, Message, Reply, ReplyPayload, decode,
};
