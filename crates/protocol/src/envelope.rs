//! The V1 envelope: `t:<COMMAND|REPLY>;;et:<type>;;e:<json>`.
//!
//! Fields are joined by `;;` with no spaces; values are trimmed when read; `e:` comes last and
//! everything after it is the body, `;;` included (exchange 2.0.2+ behaviour). `et:` is written
//! for compatibility but not used to decode: the JSON `type` decides.

use crate::error::DecodeError;

/// Command or reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `t:COMMAND`.
    Command,
    /// `t:REPLY`.
    Reply,
}

impl Kind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Command => "COMMAND",
            Self::Reply => "REPLY",
        }
    }
}

/// A split envelope, borrowing from the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `t:`.
    pub kind: Kind,
    /// `et:`, if present.
    pub exchange_type: Option<&'a str>,
    /// `e:`, the JSON text, if present.
    pub body: Option<&'a str>,
}

const SEPARATOR: &str = ";;";

impl<'a> Envelope<'a> {
    /// Splits a frame into its fields.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)?;
        let mut kind = None;
        let mut exchange_type = None;
        let mut body = None;
        let mut rest = text;
        loop {
            if let Some(value) = rest.strip_prefix("e:") {
                // The body is last and keeps any `;;` it contains.
                body = Some(value.trim());
                break;
            }
            let (field, tail) = match rest.find(SEPARATOR) {
                Some(at) => (&rest[..at], Some(&rest[at + SEPARATOR.len()..])),
                None => (rest, None),
            };
            if let Some(value) = field.strip_prefix("t:") {
                kind = Some(value.trim());
            } else if let Some(value) = field.strip_prefix("et:") {
                exchange_type = Some(value.trim());
            }
            match tail {
                Some(tail) => rest = tail,
                None => break,
            }
        }
        let kind = match kind {
            Some("COMMAND") => Kind::Command,
            Some("REPLY") => Kind::Reply,
            other => {
                return Err(DecodeError::UnknownKind(
                    other.unwrap_or_default().to_owned(),
                ));
            }
        };
        Ok(Self {
            kind,
            exchange_type: exchange_type.filter(|t| !t.is_empty()),
            body: body.filter(|b| !b.is_empty()),
        })
    }

    /// Writes a frame. `json` should have `;` escaped inside strings (see
    /// [`escape_semicolons`]). A `;` in `exchange_type` is written as `_`: `et:` is informative
    /// only, and a raw `;;` there would split the envelope.
    pub fn write(kind: Kind, exchange_type: &str, json: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(json.len() + exchange_type.len() + 20);
        out.extend_from_slice(b"t:");
        out.extend_from_slice(kind.as_str().as_bytes());
        out.extend_from_slice(b";;et:");
        out.extend(
            exchange_type
                .bytes()
                .map(|b| if b == b';' { b'_' } else { b }),
        );
        out.extend_from_slice(b";;e:");
        out.extend_from_slice(json.as_bytes());
        out
    }
}

/// Replaces every `;` in JSON text by `\u003b`. In JSON a `;` can only occur inside a string,
/// where the escape means the same character, so the document is unchanged for any JSON reader
/// while no `;;` can reach an old controller's envelope splitter.
pub fn escape_semicolons(json: String) -> String {
    if json.contains(';') {
        json.replace(';', ESCAPED_SEMICOLON)
    } else {
        json
    }
}

/// What [`escape_semicolons`] writes for each `;`.
const ESCAPED_SEMICOLON: &str = "\\u003b";

/// The length of `value`'s JSON once [`escape_semicolons`] has escaped it: what it adds to an
/// encoded message. Counted while serialising, without keeping the JSON.
pub fn escaped_json_len<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<usize, serde_json::Error> {
    /// Counts the bytes written, each `;` as its escape.
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let semicolons = buf.iter().filter(|b| **b == b';').count();
            self.0 += buf.len() + semicolons * (ESCAPED_SEMICOLON.len() - 1);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value)?;
    Ok(counter.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escaped_length_is_the_length_of_the_escaped_json() {
        for value in [
            serde_json::json!({"a": "application/json;charset=UTF-8", "b": [";;", 1]}),
            serde_json::json!("no semicolon"),
            serde_json::json!(null),
        ] {
            let escaped = escape_semicolons(serde_json::to_string(&value).unwrap());
            assert_eq!(escaped_json_len(&value).unwrap(), escaped.len(), "{value}");
        }
    }

    #[test]
    fn parses_the_three_fields() {
        let env = Envelope::parse(b"t:COMMAND;;et:HELLO;;e:{\"a\":1}").unwrap();
        assert_eq!(env.kind, Kind::Command);
        assert_eq!(env.exchange_type, Some("HELLO"));
        assert_eq!(env.body, Some("{\"a\":1}"));
    }

    #[test]
    fn body_keeps_double_semicolons() {
        let env = Envelope::parse(b"t:REPLY;;et:X;;e:{\"a\":\"x;;y\"};;tail").unwrap();
        assert_eq!(env.body, Some("{\"a\":\"x;;y\"};;tail"));
    }

    #[test]
    fn values_are_trimmed_and_missing_fields_are_none() {
        let env = Envelope::parse(b"t: REPLY ").unwrap();
        assert_eq!(env.kind, Kind::Reply);
        assert_eq!(env.exchange_type, None);
        assert_eq!(env.body, None);
    }

    #[test]
    fn unknown_kind_is_an_error() {
        assert!(matches!(
            Envelope::parse(b"t:EVENT;;e:{}"),
            Err(DecodeError::UnknownKind(k)) if k == "EVENT"
        ));
        assert!(matches!(
            Envelope::parse(b"e:{}"),
            Err(DecodeError::UnknownKind(_))
        ));
        assert!(matches!(Envelope::parse(b""), Err(DecodeError::Empty)));
        assert!(matches!(
            Envelope::parse(&[0xff, 0xfe]),
            Err(DecodeError::NotUtf8)
        ));
    }

    #[test]
    fn escaping_keeps_the_json_value() {
        let json = serde_json::json!({"a": "x;;y;"}).to_string();
        let escaped = escape_semicolons(json.clone());
        assert!(!escaped.contains(';'));
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, serde_json::json!({"a": "x;;y;"}));
    }
}
