//! [`ProviderError`]: what a provider returns when it cannot do what the controller asked.
//!
//! Its `Display` text becomes the `errorDetails` of the reply the controller shows to an
//! administrator, so it must say what failed in words a platform engineer can act on, and it
//! must never contain a secret.

use std::error::Error as StdError;

use crate::model::SubscriptionType;
use crate::settings::SettingsError;

/// A boxed error from a vendor SDK or library.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a provider operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider does not issue this kind of credential.
    #[error("{provider} supports {supported} subscriptions only; this subscription is {requested}")]
    UnsupportedSubscription {
        /// The provider type.
        provider: String,
        /// The types it supports, comma separated.
        supported: String,
        /// The type the controller asked for (or `none`).
        requested: String,
    },
    /// The request is missing something or names something malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The API, plan or credential named by the request does not exist at the vendor.
    #[error("not found: {0}")]
    NotFound(String),
    /// The vendor refused for lack of permission; the text names what to grant.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The vendor kept throttling after every retry.
    #[error("throttled by the vendor after retries: {0}")]
    Throttled(String),
    /// The provider's configuration is invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The vendor or the network failed.
    #[error("{message}")]
    Backend {
        /// What failed, in words.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The consumer of an [`ApiSink`](crate::ApiSink) stopped listening (a deadline passed or
    /// the connection closed): stop working and return.
    #[error("cancelled: nobody is receiving the results any more")]
    Cancelled,
}

impl ProviderError {
    /// A backend failure with a message and no source.
    pub fn backend(message: impl Into<String>) -> Self {
        Self::Backend {
            message: message.into(),
            source: None,
        }
    }

    /// A backend failure with a message and its source.
    pub fn backend_with(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The error for a subscription type the provider does not support.
    pub fn unsupported_subscription(
        provider: &str,
        supported: &[SubscriptionType],
        requested: Option<SubscriptionType>,
    ) -> Self {
        Self::UnsupportedSubscription {
            provider: provider.to_owned(),
            supported: supported
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            requested: requested
                .map_or("none", SubscriptionType::as_str)
                .to_owned(),
        }
    }

    /// The message with its chain of causes, for the reply's `errorDetails` and for logs.
    pub fn details(&self) -> String {
        chain(self)
    }
}

/// An error's message followed by each cause's, `: `-separated, skipping a cause whose text
/// the message already contains (many errors repeat their source's text).
pub fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(err) = cause {
        let part = err.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = err.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_subscription_names_both_types() {
        let err = ProviderError::unsupported_subscription(
            "aws-api-gateway",
            &[SubscriptionType::ApiKey],
            Some(SubscriptionType::Oauth),
        );
        assert_eq!(
            err.to_string(),
            "aws-api-gateway supports API_KEY subscriptions only; this subscription is OAUTH"
        );
    }

    #[test]
    fn details_include_the_cause_once() {
        let io = std::io::Error::other("connection reset");
        let err = ProviderError::backend_with("GetRestApis failed", io);
        assert_eq!(err.details(), "GetRestApis failed: connection reset");
    }
}
