//! The APIM behaviours the simulator can be set to: which APIM version it stands in for
//! ([`ApimVersion`]: ingest job deadline, pages cleared on re-ingest, provider metadata in
//! SUBSCRIBE) and how an application's API keys are kept ([`ApiKeyMode`]).
//!
//! The facts are in `docs/reference/integration-commands.md` §7 (what changed in which APIM
//! release) and §9 (what APIM does with what the agent sends); `docs/simulator.md` says which
//! section each behaviour follows.

use std::fmt;
use std::str::FromStr;

/// The APIM release the simulator behaves like (4.5 and later: the protocol with
/// DISCOVER / START_INGEST / INGEST; APIM 4.4's LIST and FETCH can still be sent raw with
/// [`Simulator::send`](crate::Simulator::send)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApimVersion {
    major: u16,
    minor: u16,
}

impl ApimVersion {
    /// APIM 4.5: ingest updates existing APIs, but keeps ingested pages that are no longer sent;
    /// an ingest job has no deadline.
    pub const V4_5: Self = Self::new(4, 5);
    /// APIM 4.6: ingested pages no longer sent are cleared; an ingest job still has no deadline
    /// (a job never closed stays PENDING).
    pub const V4_6: Self = Self::new(4, 6);
    /// APIM 4.7: an ingest job has a deadline (creation + 5 min, pushed out by each batch) and
    /// reads TIMEOUT once past it.
    pub const V4_7: Self = Self::new(4, 7);
    /// APIM 4.9: SUBSCRIBE metadata carries the API's provider metadata.
    pub const V4_9: Self = Self::new(4, 9);
    /// The newest release `docs/reference/integration-commands.md` was read against (4.12),
    /// the default.
    pub const LATEST: Self = Self::new(4, 12);

    /// A version.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Whether an ingest job has a deadline (APIM 4.7+, `integration-commands.md` §1.4, §9).
    pub fn has_ingest_deadline(self) -> bool {
        self >= Self::V4_7
    }

    /// Whether re-ingesting an API clears its ingested pages that were not sent again (APIM
    /// 4.6+, `integration-commands.md` §7, §9).
    pub fn clears_ingested_pages(self) -> bool {
        self >= Self::V4_6
    }

    /// Whether SUBSCRIBE metadata holds the API metadata whose key contains the provider type
    /// (APIM 4.9+, `integration-commands.md` §1.5).
    pub fn sends_provider_metadata(self) -> bool {
        self >= Self::V4_9
    }
}

impl Default for ApimVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

impl fmt::Display for ApimVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A version string the simulator does not model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported APIM version {0:?}: expected MAJOR.MINOR from 4.5 on (e.g. 4.6, 4.7, 4.12); APIM 4.4 speaks LIST/FETCH, send those raw"
)]
pub struct ParseVersionError(String);

impl FromStr for ApimVersion {
    type Err = ParseVersionError;

    /// `4.6`, `4.7.3` (the patch is ignored), `4.7+`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseVersionError(text.to_owned());
        let trimmed = text.trim().trim_end_matches('+');
        let mut parts = trimmed.split('.');
        let major: u16 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(error)?;
        let minor: u16 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(error)?;
        if parts
            .next()
            .is_some_and(|patch| patch.parse::<u32>().is_err())
        {
            return Err(error());
        }
        let version = Self::new(major, minor);
        if version < Self::V4_5 {
            return Err(error());
        }
        Ok(version)
    }
}

/// How APIM keeps an application's API keys (`integration-commands.md` §9, "Shared API-key
/// mode").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ApiKeyMode {
    /// Each API_KEY subscription gets the key the agent returned (APIM's default).
    #[default]
    Exclusive,
    /// One key per application: the application's existing key is attached to each new
    /// subscription, and the agent's key is used only when the application has none yet
    /// (`GenerateApiKeyDomainService.findOrGenerate`).
    Shared,
}

impl ApiKeyMode {
    /// `exclusive` or `shared`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exclusive => "exclusive",
            Self::Shared => "shared",
        }
    }
}

impl fmt::Display for ApiKeyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API-key mode other than `shared` or `exclusive`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown API-key mode {0:?}: expected shared or exclusive")]
pub struct ParseApiKeyModeError(String);

impl FromStr for ApiKeyMode {
    type Err = ParseApiKeyModeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "exclusive" => Ok(Self::Exclusive),
            "shared" => Ok(Self::Shared),
            _ => Err(ParseApiKeyModeError(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!("4.6".parse(), Ok(ApimVersion::V4_6));
        assert_eq!("4.7.3".parse(), Ok(ApimVersion::V4_7));
        assert_eq!(" 4.7+ ".parse(), Ok(ApimVersion::V4_7));
        assert_eq!("4.12".parse(), Ok(ApimVersion::LATEST));
        assert!("4.4".parse::<ApimVersion>().is_err());
        assert!("4".parse::<ApimVersion>().is_err());
        assert!("four.six".parse::<ApimVersion>().is_err());
        assert!("4.6.x".parse::<ApimVersion>().is_err());
        assert!(ApimVersion::V4_6 < ApimVersion::V4_7 && ApimVersion::V4_7 < ApimVersion::LATEST);
        assert_eq!(ApimVersion::LATEST.to_string(), "4.12");
    }

    #[test]
    fn each_behaviour_starts_at_its_release() {
        assert!(!ApimVersion::V4_6.has_ingest_deadline());
        assert!(ApimVersion::V4_7.has_ingest_deadline());
        assert!(!ApimVersion::V4_5.clears_ingested_pages());
        assert!(ApimVersion::V4_6.clears_ingested_pages());
        assert!(!ApimVersion::new(4, 8).sends_provider_metadata());
        assert!(ApimVersion::V4_9.sends_provider_metadata());
    }

    #[test]
    fn key_modes_parse() {
        assert_eq!("shared".parse(), Ok(ApiKeyMode::Shared));
        assert_eq!("EXCLUSIVE".parse(), Ok(ApiKeyMode::Exclusive));
        assert!("both".parse::<ApiKeyMode>().is_err());
        assert_eq!(ApiKeyMode::default(), ApiKeyMode::Exclusive);
    }
}
