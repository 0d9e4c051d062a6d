//! The [`Provider`] trait: what a vendor integration does for the controller.
//!
//! # The contract
//!
//! The connector calls a provider for four controller commands:
//!
//! | command | call | timing |
//! |---|---|---|
//! | `DISCOVER` | [`Provider::discover`] with [`Depth::Preview`] | the reply is due within 60 s; the connector stops listening at its deadline and replies with what arrived, marked partial |
//! | `START_INGEST` | [`Provider::discover`] with [`Depth::Full`] and the selected ids | streamed into INGEST batches in the background after the reply |
//! | `SUBSCRIBE` | [`Provider::subscribe`], only with a type [`Provider::capabilities`] lists | within 60 s |
//! | `UNSUBSCRIBE` | [`Provider::revoke`] | within 60 s |
//!
//! Rules every provider keeps (the test kit checks them):
//!
//! - **Say the type once.** [`Provider::provider_type`] is required: the configured
//!   `integration.providers[i].type`, HELLO's `provider`, and the factory's type are that one
//!   string. The registry refuses to start a provider whose type differs from its factory's;
//!   the connector refuses a blank one.
//! - **Declare what you support; the connector refuses the rest.** Before calling
//!   [`Provider::subscribe`] the connector checks the subscription's type against
//!   [`Provider::capabilities`] and, for a type not listed (or none), replies with
//!   [`ProviderError::UnsupportedSubscription`] naming the provider type. A provider does not
//!   repeat the check: `subscribe` is only called with a supported type.
//! - **Preview is cheap.** With [`Depth::Preview`] emit `uniqueId`, `id`, `name` and `version`
//!   without fetching documents; with [`Depth::Full`] emit pages, plans and metadata too.
//! - **Stream, don't collect.** Emit each API into the [`ApiSink`] as soon as it is ready. When
//!   [`ApiSink::emit`] returns [`ProviderError::Cancelled`], stop and return.
//! - **Ids are stable.** The same vendor object gives the same `uniqueId` and `id` on every run.
//! - **Leave out what you cannot read whole; say so.** An API is emitted complete or not at all.
//!   When part of its definition cannot be read (a document export failed after your retries)
//!   or it disappeared while you read it, do not emit it without that part: report it with
//!   [`ApiSink::skip`] and a [`SkippedApi`](crate::SkippedApi) (its id, a
//!   [`SkipReason`](crate::SkipReason), the vendor's error) and carry on with the others.
//!   See "Leaving an API out" below.
//! - **Subscribe is idempotent: one working credential per subscription.** The controller may
//!   deliver the same subscription twice (a retried command, a reconnect), possibly at the same
//!   time. Afterwards exactly one credential of that subscription works. Either the second call
//!   returns **the same credential** (look it up by a name derived from
//!   `graviteeSubscriptionId`), or it **rotates**: it returns a new one and the first stops
//!   working before the call returns (for vendors that cannot show a key twice). Revoking with
//!   either result's metadata leaves no working credential. The test kit's
//!   `subscribe-idempotent` rules check exactly this; a rotation is only accepted when the
//!   suite has a credential probe to see that the first key stopped working.
//! - **Revoke is idempotent.** Revoking a credential that is already gone succeeds: an error
//!   keeps the subscription open in the controller for ever.
//! - **Put what revoke needs in the subscription result's metadata.** `UNSUBSCRIBE` brings it
//!   back; nothing else about the subscription is guaranteed to come back.
//! - Retrying vendor throttling is the provider's job; it knows the vendor's quotas.
//! - Methods may be called concurrently from several tasks.
//!
//! ## Leaving an API out
//!
//! The controller treats every API of an INGEST batch as the whole truth about it: an API sent
//! with `pages: []` loses the documentation it had (APIM clears the ingested pages an update
//! does not name), while an API left out of an ingest stays as it was. So a transient vendor
//! error must never turn into an incomplete API. With [`ApiSink::skip`] the provider leaves it
//! out and says why; the connector then
//!
//! - logs an error naming the API (id, name) with the reason and the provider's detail,
//! - counts it in `federation_apis_skipped_total{integration, reason}` (the reason's
//!   [`SkipReason::as_str`](crate::SkipReason::as_str): `read_failed`, `gone`; the connector
//!   adds `too_large` for an API no message can carry),
//! - counts it in the ingest's summary line (`skipped`), and leaves it out of a FETCH reply
//!   (APIM 4.4) the same way.
//!
//! An ingest job is still completed (its last batch carries `done: true`): the other APIs are
//! ingested. A failure that stops the whole discovery is an `Err` from [`Provider::discover`]
//! instead; the connector then closes the job early with what was sent.

use std::collections::BTreeSet;
use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::model::{Subscription, SubscriptionResult, SubscriptionType};
use crate::sink::ApiSink;

/// A vendor integration.
///
/// The trait is object safe: binaries hold providers as `Arc<dyn Provider>`, chosen at run time
/// from `integration.providers[i].type`.
#[async_trait]
pub trait Provider: Send + Sync + Debug + 'static {
    /// The provider type: the value of `integration.providers[i].type` and of HELLO's
    /// `provider` (for example `aws-api-gateway`), equal to the provider type of the
    /// integration in APIM and to the `ProviderFactory::provider_type` of the factory that
    /// builds this provider. Say it here once: the connector's `Integration::of` sends it in
    /// HELLO and names it in refusals, the registry checks it against the factory's at start-up,
    /// and the test kit reads it. A blank type is refused when the connector starts.
    ///
    /// There is no default: a provider that does not say its type does not compile.
    ///
    /// ```compile_fail,E0046
    /// # use async_trait::async_trait;
    /// # use federation_core::*;
    /// #[derive(Debug)]
    /// struct Untyped;
    ///
    /// #[async_trait]
    /// impl Provider for Untyped {
    ///     async fn discover(&self, _: &DiscoverRequest, _: &ApiSink) -> Result<(), ProviderError> {
    ///         Ok(())
    ///     }
    ///     async fn subscribe(&self, _: &str, s: &Subscription) -> Result<SubscriptionResult, ProviderError> {
    ///         Ok(SubscriptionResult::new(&s.gravitee_subscription_id))
    ///     }
    ///     async fn revoke(&self, _: &str, _: &Subscription) -> Result<(), ProviderError> {
    ///         Ok(())
    ///     }
    /// }
    /// ```
    fn provider_type(&self) -> &str;

    /// What this provider can do. The connector checks a `SUBSCRIBE`'s type against it
    /// ([`Capabilities::check`], naming [`Provider::provider_type`]) and replies with the
    /// refusal itself: [`Provider::subscribe`] is only called with a supported type.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Emits the APIs the request selects into `sink`, at the requested depth.
    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError>;

    /// Issues a credential for `subscription` on the API whose provider id is `api_id`. The
    /// connector calls it only when [`Provider::capabilities`] lists the subscription's type.
    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError>;

    /// Revokes the credential `subscription` names (its metadata is what `subscribe` returned).
    /// Succeeds when the credential is already gone.
    async fn revoke(&self, api_id: &str, subscription: &Subscription) -> Result<(), ProviderError>;

    /// Whether the provider can currently do its job (answers `HEALTH_CHECK`). The default is
    /// healthy; override it to report, say, expired credentials. Keep it fast: no vendor call
    /// on every health check.
    async fn health(&self) -> Health {
        Health::healthy()
    }

    /// The optional drift extension: what the vendor shows now (API existence, plan coverage,
    /// issued credentials), so the agent can report catalogue drift
    /// ([`crate::drift`]). `None`, the default, limits the report to APIs gone from discovery.
    fn inventory(&self) -> Option<&dyn crate::drift::Inventory> {
        None
    }
}

/// What a provider supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Subscription types the provider can issue credentials for.
    pub subscription_types: Vec<SubscriptionType>,
}

impl Default for Capabilities {
    /// API key subscriptions only.
    fn default() -> Self {
        Self {
            subscription_types: vec![SubscriptionType::ApiKey],
        }
    }
}

impl Capabilities {
    /// Whether `subscription_type` is supported (an absent type never is).
    pub fn supports(&self, subscription_type: Option<SubscriptionType>) -> bool {
        subscription_type.is_some_and(|t| self.subscription_types.contains(&t))
    }

    /// `Ok` when `subscription` has a supported type, else the error to reply with.
    pub fn check(&self, provider: &str, subscription: &Subscription) -> Result<(), ProviderError> {
        if self.supports(subscription.subscription_type) {
            Ok(())
        } else {
            Err(ProviderError::unsupported_subscription(
                provider,
                &self.subscription_types,
                subscription.subscription_type,
            ))
        }
    }
}

/// What [`Provider::discover`] is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverRequest {
    /// Summaries or full definitions.
    pub depth: Depth,
    /// Which APIs.
    pub selection: Selection,
}

impl DiscoverRequest {
    /// A preview of everything (`DISCOVER`).
    pub fn preview() -> Self {
        Self {
            depth: Depth::Preview,
            selection: Selection::All,
        }
    }

    /// Full definitions of the selection (`START_INGEST`).
    pub fn full(selection: Selection) -> Self {
        Self {
            depth: Depth::Full,
            selection,
        }
    }
}

/// How much of each API to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// `uniqueId`, `id`, `name`, `version` (more is allowed, not needed): no documents fetched.
    Preview,
    /// Everything: pages, plans, metadata, connection details.
    Full,
}

/// Which APIs a request covers, by provider id ([`Api::id`](crate::Api)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every API the provider can see.
    All,
    /// Only these ids; ids the provider does not know are skipped.
    Only(BTreeSet<String>),
}

impl Selection {
    /// `START_INGEST`'s rule: absent or empty `apiIds` means every API.
    pub fn from_api_ids(api_ids: Option<&[String]>) -> Self {
        match api_ids {
            Some(ids) if !ids.is_empty() => Self::Only(ids.iter().cloned().collect()),
            _ => Self::All,
        }
    }

    /// Whether `id` is selected.
    pub fn includes(&self, id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(id),
        }
    }
}

/// A provider's answer to a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Whether the provider can work.
    pub healthy: bool,
    /// Why not, when unhealthy.
    pub detail: Option<String>,
}

impl Health {
    /// Healthy.
    pub fn healthy() -> Self {
        Self {
            healthy: true,
            detail: None,
        }
    }

    /// Unhealthy, with the reason.
    pub fn unhealthy(detail: impl Into<String>) -> Self {
        Self {
            healthy: false,
            detail: Some(detail.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_absent_api_ids_select_everything() {
        assert_eq!(Selection::from_api_ids(None), Selection::All);
        assert_eq!(Selection::from_api_ids(Some(&[])), Selection::All);
        let only = Selection::from_api_ids(Some(&["a".to_owned()]));
        assert!(only.includes("a"));
        assert!(!only.includes("b"));
    }

    #[test]
    fn the_refusal_names_the_provider_type_and_the_supported_types() {
        let jwt = Subscription {
            gravitee_subscription_id: "s".into(),
            subscription_type: Some(SubscriptionType::Jwt),
            ..Subscription::default()
        };
        let error = Capabilities::default()
            .check("acme-gateway", &jwt)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "acme-gateway supports API_KEY subscriptions only; this subscription is JWT"
        );
        let both = Capabilities {
            subscription_types: vec![SubscriptionType::ApiKey, SubscriptionType::Jwt],
        };
        assert!(both.check("acme-gateway", &jwt).is_ok());
    }

    #[test]
    fn capabilities_reject_absent_and_unsupported_types() {
        let caps = Capabilities::default();
        let mut sub = Subscription {
            gravitee_subscription_id: "s".into(),
            subscription_type: Some(SubscriptionType::ApiKey),
            ..Subscription::default()
        };
        assert!(caps.check("p", &sub).is_ok());
        sub.subscription_type = Some(SubscriptionType::Jwt);
        assert!(
            caps.check("p", &sub)
                .unwrap_err()
                .to_string()
                .contains("JWT")
        );
        sub.subscription_type = None;
        assert!(
            caps.check("p", &sub)
                .unwrap_err()
                .to_string()
                .contains("none")
        );
    }
}
