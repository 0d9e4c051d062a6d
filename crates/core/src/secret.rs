//! [`Secret`]: a string value that must never be printed.
//!
//! Tokens, passwords, AWS secret keys and issued API keys are held in a [`Secret`]. Its `Debug`
//! and `Display` print `***`; the only way to the value is [`Secret::expose`], which makes every
//! place that reads it easy to find. It serialises to the plain value because the wire protocol
//! must carry an issued API key to the controller; configuration types never derive `Serialize`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A sensitive string: redacted in `Debug` and `Display`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// The text printed in place of a secret value.
    pub const REDACTED: &'static str = "***";

    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value. Call it only where the value leaves the process on purpose (an HTTP header,
    /// the AWS SDK, the wire reply); never to format a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", Self::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("AKIAhunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(***))");
        assert_eq!(secret.expose(), "AKIAhunter2");
    }

    #[test]
    fn serialises_to_the_plain_value_for_the_wire() {
        let json = serde_json::to_string(&Secret::new("k3y")).unwrap();
        assert_eq!(json, "\"k3y\"");
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "k3y");
    }
}
