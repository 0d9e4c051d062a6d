//! The agent's record of who needs an audience entry: one **marker tag** per live OAUTH
//! subscription on the HTTP API, `gravitee:oauth:{subscriptionId}` =
//! `{authorizerId}/{stage}/{owned|kept}/{clientId}` (see `audience.rs` for why and how).
//!
//! API Gateway's tags take letters, digits and a few signs (its API reference gives the set
//! `[a-zA-Z+-=._:/]`; `docs/reference/aws-api-gateway.md`, "Our mapping"); each part is escaped
//! ([`encode`]): letters, digits and `.:=+-` stay, every other byte becomes `_XX`, so `/`
//! separates the parts and any client id fits.

use std::collections::BTreeMap;

/// The key prefix of the agent's marker tags.
pub(crate) const MARKER_PREFIX: &str = "gravitee:oauth:";

/// Whether a tag key is one of the agent's markers.
pub(crate) fn is_marker(key: &str) -> bool {
    key.starts_with(MARKER_PREFIX)
}

/// Escapes `raw` into AWS's tag character set: letters, digits and `.:=+-` stay, every other
/// byte (`/` and `_` included) becomes `_XX` (upper-case hex), so `/` can separate parts.
pub(crate) fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b':' | b'=' | b'+' | b'-') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("_{byte:02X}"));
        }
    }
    out
}

/// The inverse of [`encode`]; `None` for malformed text.
pub(crate) fn decode(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut iter = encoded.bytes();
    while let Some(byte) = iter.next() {
        if byte == b'_' {
            let hex = [iter.next()?, iter.next()?];
            let text = std::str::from_utf8(&hex).ok()?;
            bytes.push(u8::from_str_radix(text, 16).ok()?);
        } else {
            bytes.push(byte);
        }
    }
    String::from_utf8(bytes).ok()
}

/// One live subscription's claim on an audience entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    /// The Gravitee subscription.
    pub(crate) subscription_id: String,
    /// The JWT authorizer.
    pub(crate) authorizer_id: String,
    /// The stage subscribed to.
    pub(crate) stage: String,
    /// The entry was in the audience before the agent: never removed.
    pub(crate) kept: bool,
    /// The application's OAuth client id.
    pub(crate) client_id: String,
}

impl Marker {
    /// `gravitee:oauth:{subscriptionId}`.
    pub(crate) fn key(&self) -> String {
        marker_key(&self.subscription_id)
    }

    /// `{authorizerId}/{stage}/{owned|kept}/{clientId}`, escaped.
    pub(crate) fn value(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            encode(&self.authorizer_id),
            encode(&self.stage),
            if self.kept { "kept" } else { "owned" },
            encode(&self.client_id)
        )
    }

    /// The marker of tag `key` = `value`, if it is one.
    pub(crate) fn parse(key: &str, value: &str) -> Option<Self> {
        let subscription_id = decode(key.strip_prefix(MARKER_PREFIX)?)?;
        let mut parts = value.splitn(4, '/');
        let authorizer_id = decode(parts.next()?)?;
        let stage = decode(parts.next()?)?;
        let kept = match parts.next()? {
            "kept" => true,
            "owned" => false,
            _ => return None,
        };
        let client_id = decode(parts.next()?)?;
        Some(Self {
            subscription_id,
            authorizer_id,
            stage,
            kept,
            client_id,
        })
    }
}

/// `gravitee:oauth:{subscriptionId}` (escaped).
pub(crate) fn marker_key(subscription_id: &str) -> String {
    format!("{MARKER_PREFIX}{}", encode(subscription_id))
}

/// Every marker among an API's marker tags.
pub(crate) fn markers_of(tags: &BTreeMap<String, String>) -> Vec<Marker> {
    tags.iter()
        .filter_map(|(k, v)| Marker::parse(k, v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_tag_characters_and_round_trips() {
        assert_eq!(encode("abc-123.x"), "abc-123.x");
        assert_eq!(encode("$default"), "_24default");
        assert_eq!(encode("a/b_c@d é"), "a_2Fb_5Fc_40d_20_C3_A9");
        for raw in ["$default", "a/b_c@d é", "", "client_id+=:."] {
            assert_eq!(decode(&encode(raw)).as_deref(), Some(raw));
        }
        assert_eq!(decode("_2"), None);
        assert_eq!(decode("_ZZ"), None);
    }

    #[test]
    fn markers_round_trip_through_their_tag() {
        let marker = Marker {
            subscription_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            authorizer_id: "au1".into(),
            stage: "$default".into(),
            kept: false,
            client_id: "app/client_1".into(),
        };
        assert_eq!(
            marker.key(),
            "gravitee:oauth:7c9e6679-7425-40de-944b-e07fc1f90ae7"
        );
        assert_eq!(marker.value(), "au1/_24default/owned/app_2Fclient_5F1");
        assert_eq!(
            Marker::parse(&marker.key(), &marker.value()),
            Some(marker.clone())
        );
        let kept = Marker {
            kept: true,
            ..marker
        };
        assert_eq!(Marker::parse(&kept.key(), &kept.value()), Some(kept));
        assert_eq!(Marker::parse("team", "x"), None);
        assert_eq!(Marker::parse("gravitee:oauth:s1", "au1/prod/maybe/c"), None);
        assert!(is_marker("gravitee:oauth:s1") && !is_marker("gravitee"));
    }
}
