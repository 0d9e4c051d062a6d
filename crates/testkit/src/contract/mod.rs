//! The provider contract suite: the rules every [`Provider`] keeps, checked against a running
//! provider.
//!
//! [`check_provider`] runs every [`Rule`] against any `&dyn Provider` and returns a
//! [`ContractReport`] saying, rule by rule, whether it passed and, if not, what broke.
//! [`assert_provider_contract`] does the same and panics listing the broken rules, which is what a
//! provider crate's test calls:
//!
//! ```
//! use std::sync::Arc;
//! use federation_testkit::contract::{Fixture, assert_provider_contract};
//! use federation_testkit::MemoryProvider;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let provider = Arc::new(MemoryProvider::with_sample_apis(3));
//! // Subscribe to API `api-0` on plan `gold-0`; let the suite see which keys are live.
//! let fixture = Fixture::new("api-0", "gold-0").with_probe(provider.clone());
//! let report = assert_provider_contract(provider.as_ref(), &fixture).await;
//! assert!(report.passed());
//! # }
//! ```
//!
//! # What a provider declares, and what the connector does with it
//!
//! [`Rule::ProviderTypeDeclared`] checks that [`Provider::provider_type`] is not blank and, when
//! the fixture names a type ([`Fixture::with_provider_type`], give it the factory's), that the
//! two are equal: the agent refuses to start otherwise. [`Rule::CapabilitiesDeclared`] checks
//! that [`Provider::capabilities`] lists the fixture's subscription type. Refusing a type the
//! capabilities do not list is the connector's job, done before it calls
//! [`Provider::subscribe`]; the suite therefore never calls `subscribe` with such a type.
//!
//! # What "the same subscription delivered twice yields one credential" means here
//!
//! This is the one definition; the `Provider` trait's documentation and the "Writing a
//! provider" guide say the same. The controller may deliver one `SUBSCRIBE` twice (one after
//! the other, or at the same time). Afterwards exactly one credential of that subscription
//! works. Two behaviours keep that rule, and the suite accepts either:
//!
//! - **same credential**: the second result carries the same `apiKey` as the first (for a
//!   result without a key: the same metadata);
//! - **rotation**: the second result carries a new key and the first key no longer works. This
//!   is only observable through a [`CredentialProbe`]; without one, a different key fails the
//!   rule.
//!
//! With a probe, the suite also checks that after revoking (with either result's metadata)
//! neither key works any more: a duplicate delivery must not leak a credential.
//!
//! # Side effects
//!
//! The suite subscribes and revokes on the fixture's API with fresh `graviteeSubscriptionId`s
//! (`contract-<rule>-<uuid>`), and revokes everything it created before returning.

mod declared;
mod discovery;
mod drift;
mod report;
mod subscription;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use federation_core::{
    Api, DiscoverRequest, Health, Provider, ProviderError, Selection, SubscriptionResult,
    SubscriptionType, collect,
};

pub use report::{Check, ContractReport, Outcome, Rule};

use discovery::{
    controller_metadata, fixture_api_discovered, full_covers_preview, ids_stable, ids_unique,
    metadata_problems, page_problems, plan_problems, preview_problems, required_fields,
    selection_honoured, stops_when_cancelled,
};
use subscription::SubscribeContext;

/// How long [`Rule::HealthAnswers`] waits for [`Provider::health`].
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// The controller's reply budget, the default [`Fixture::call_timeout`].
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Tells the suite whether a credential a provider issued currently works, so that rules about
/// revocation and duplicate deliveries can be checked observably.
///
/// [`MemoryProvider`](crate::MemoryProvider) implements it; a vendor provider's test implements
/// it with vendor calls (for AWS, `GetApiKey` on the key id the result's metadata names, and the
/// usage plans that key is in: a key on no plan covering the API opens nothing).
#[async_trait]
pub trait CredentialProbe: Send + Sync + 'static {
    /// Whether the credential described by `result` (issued for the API `api_id`) works now.
    /// `Err` when the probe itself failed (the rule then fails with that message).
    async fn is_active(&self, api_id: &str, result: &SubscriptionResult) -> Result<bool, String>;
}

/// What the suite needs to know about the provider under test.
#[derive(Clone)]
pub struct Fixture {
    /// The provider id ([`Api::id`]) of an API the suite subscribes to.
    pub api_id: String,
    /// A plan of that API (sent as `metadata.planId`).
    pub plan_id: String,
    /// The subscription type the provider supports and the suite subscribes with.
    pub subscription_type: SubscriptionType,
    /// The provider type the provider must declare: its factory's
    /// (`ProviderFactory::provider_type`), the value of `integration.providers[i].type`, for
    /// example `aws-api-gateway`. [`Rule::ProviderTypeDeclared`] checks that
    /// [`Provider::provider_type`] equals it. API metadata whose name contains it is copied into
    /// the SUBSCRIBE metadata, as the controller does (APIM 4.9+). Unset, the suite checks only
    /// that the declared type is not blank, and uses it.
    pub provider_type: Option<String>,
    /// Sees whether a credential works; without one, the revocation rules check only that the
    /// calls succeed.
    pub probe: Option<Arc<dyn CredentialProbe>>,
    /// How long one provider call (a whole discovery, one subscribe, one revoke) may take.
    pub call_timeout: Duration,
}

impl Fixture {
    /// A fixture subscribing with `API_KEY` to `api_id` on `plan_id`, without a probe.
    pub fn new(api_id: impl Into<String>, plan_id: impl Into<String>) -> Self {
        Self {
            api_id: api_id.into(),
            plan_id: plan_id.into(),
            subscription_type: SubscriptionType::ApiKey,
            provider_type: None,
            probe: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// Sets the probe.
    pub fn with_probe(mut self, probe: Arc<dyn CredentialProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Sets the subscription type to subscribe with.
    pub fn with_subscription_type(mut self, subscription_type: SubscriptionType) -> Self {
        self.subscription_type = subscription_type;
        self
    }

    /// Sets the provider type the provider must declare (see [`Fixture::provider_type`]), for
    /// example `with_provider_type(MyFactory.provider_type())`.
    pub fn with_provider_type(mut self, provider_type: impl Into<String>) -> Self {
        self.provider_type = Some(provider_type.into());
        self
    }

    /// Sets the per-call timeout.
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("api_id", &self.api_id)
            .field("plan_id", &self.plan_id)
            .field("subscription_type", &self.subscription_type)
            .field("provider_type", &self.provider_type)
            .field("probe", &self.probe.is_some())
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

/// Runs every rule against `provider` and reports each one. Never panics on the provider's
/// behaviour; every provider call is bounded by [`Fixture::call_timeout`].
pub async fn check_provider(provider: &dyn Provider, fixture: &Fixture) -> ContractReport {
    let mut results: BTreeMap<Rule, Outcome> = BTreeMap::new();
    let mut record = |rule: Rule, outcome: Outcome| {
        results.insert(rule, outcome);
    };

    // What the provider declares: its type (checked against the fixture's before the fixture
    // takes the declared one) and its capabilities.
    record(
        Rule::ProviderTypeDeclared,
        declared::provider_type(provider, fixture),
    );
    record(
        Rule::CapabilitiesDeclared,
        declared::capabilities(provider, fixture),
    );
    let declared = provider.provider_type();
    let with_type;
    let fixture = if fixture.provider_type.is_none() && !blank(declared) {
        with_type = fixture.clone().with_provider_type(declared);
        &with_type
    } else {
        fixture
    };

    // Discovery: two previews and two full runs of everything.
    let preview_1 = discover(provider, fixture, DiscoverRequest::preview()).await;
    let preview_2 = discover(provider, fixture, DiscoverRequest::preview()).await;
    let full_1 = discover(provider, fixture, DiscoverRequest::full(Selection::All)).await;
    let full_2 = discover(provider, fixture, DiscoverRequest::full(Selection::All)).await;
    let runs = [
        ("preview", &preview_1),
        ("preview (second run)", &preview_2),
        ("full", &full_1),
        ("full (second run)", &full_2),
    ];
    let errors: Vec<String> = runs
        .iter()
        .filter_map(|(what, run)| run.as_ref().err().map(|e| format!("{what} discovery {e}")))
        .collect();
    record(Rule::DiscoverSucceeds, verdict(errors));

    match (&preview_1, &preview_2, &full_1, &full_2) {
        (Ok(p1), Ok(p2), Ok(f1), Ok(f2)) => {
            record(
                Rule::IdsUnique,
                verdict([ids_unique("preview", p1), ids_unique("full", f1)].concat()),
            );
            let mut stable = ids_stable("preview", p1, p2);
            stable.extend(ids_stable("full", f1, f2));
            record(Rule::IdsStable, verdict(stable));
            record(
                Rule::FullCoversPreview,
                verdict(full_covers_preview(p1, f1)),
            );
            record(
                Rule::PreviewIsCheap,
                verdict(
                    [
                        preview_problems("preview", p1),
                        preview_problems("second preview", p2),
                    ]
                    .concat(),
                ),
            );
            record(
                Rule::SelectionHonoured,
                selection_honoured(provider, fixture, f1).await,
            );
            record(
                Rule::ApiRequiredFields,
                verdict([required_fields("preview", p1), required_fields("full", f1)].concat()),
            );
            record(
                Rule::PagesHaveFilenames,
                verdict(f1.iter().flat_map(page_problems).collect()),
            );
            record(
                Rule::PlansWellFormed,
                verdict(f1.iter().flat_map(plan_problems).collect()),
            );
            record(
                Rule::MetadataWellFormed,
                verdict(f1.iter().flat_map(metadata_problems).collect()),
            );
            record(
                Rule::StopsWhenCancelled,
                stops_when_cancelled(provider, fixture, f1.len()).await,
            );
            // Drift inventory (optional extension): skipped when the provider has none.
            record(
                Rule::InventoryCatalogueConsistent,
                drift::catalogue_consistent(provider, fixture, f1).await,
            );
        }
        _ => {
            for rule in [
                Rule::IdsUnique,
                Rule::IdsStable,
                Rule::FullCoversPreview,
                Rule::PreviewIsCheap,
                Rule::SelectionHonoured,
                Rule::ApiRequiredFields,
                Rule::PagesHaveFilenames,
                Rule::PlansWellFormed,
                Rule::MetadataWellFormed,
                Rule::StopsWhenCancelled,
                Rule::InventoryCatalogueConsistent,
            ] {
                record(
                    rule,
                    Outcome::Failed(format!(
                        "could not be checked: {} failed",
                        Rule::DiscoverSucceeds
                    )),
                );
            }
        }
    }

    // The fixture's API, as the controller knows it, decides the SUBSCRIBE metadata.
    let fixture_api = full_1
        .as_ref()
        .ok()
        .and_then(|apis| apis.iter().find(|a| a.id == fixture.api_id));
    record(
        Rule::FixtureApiDiscovered,
        fixture_api_discovered(fixture, fixture_api),
    );
    let subscribe_metadata = controller_metadata(fixture, fixture_api);
    let ctx = SubscribeContext {
        provider,
        fixture,
        metadata: subscribe_metadata,
    };

    record(
        Rule::SubscribeReturnsWhatRevokeNeeds,
        ctx.subscribe_then_revoke().await,
    );
    record(Rule::RevokeUnknownSucceeds, ctx.revoke_unknown().await);
    record(Rule::SubscribeIdempotent, ctx.idempotent(false).await);
    record(
        Rule::ConcurrentSubscribeIdempotent,
        ctx.idempotent(true).await,
    );
    record(Rule::HealthAnswers, health_answers(provider).await);
    record(
        Rule::InventoryKeysWellFormed,
        drift::keys_well_formed(provider, fixture).await,
    );

    ContractReport {
        provider: provider_name(provider),
        checks: Rule::ALL
            .iter()
            .map(|rule| Check {
                rule: *rule,
                outcome: results
                    .remove(rule)
                    .unwrap_or_else(|| Outcome::Skipped("not run".to_owned())),
            })
            .collect(),
    }
}

/// Runs [`check_provider`] and panics, naming every broken rule and why, if any rule failed.
/// Returns the report for further assertions.
#[track_caller]
pub fn assert_provider_contract<'a>(
    provider: &'a dyn Provider,
    fixture: &'a Fixture,
) -> impl Future<Output = ContractReport> + 'a {
    let caller = std::panic::Location::caller();
    async move {
        let report = check_provider(provider, fixture).await;
        if !report.passed() {
            let names: Vec<_> = report.failures().map(|c| c.rule.name()).collect();
            panic!(
                "provider broke the contract: {} (asserted at {caller})\n{report}",
                names.join(", ")
            );
        }
        report
    }
}

#[async_trait]
impl CredentialProbe for crate::MemoryProvider {
    /// Whether the result's `apiKey` is among the keys currently issued.
    async fn is_active(&self, _api_id: &str, result: &SubscriptionResult) -> Result<bool, String> {
        let key = result
            .api_key
            .as_ref()
            .ok_or_else(|| "the result has no apiKey".to_owned())?;
        Ok(self.is_key_active(key.expose()))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The provider's `Debug` text, cut short: it names the provider in messages, not its state.
fn provider_name(provider: &dyn Provider) -> String {
    const MAX: usize = 80;
    let text = format!("{provider:?}");
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn verdict(problems: Vec<String>) -> Outcome {
    if problems.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(problems.join("; "))
    }
}

/// Awaits `future` within the fixture's call timeout; errors become text.
async fn timed<T>(
    fixture: &Fixture,
    future: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, String> {
    match tokio::time::timeout(fixture.call_timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(format!("failed: {}", err.details())),
        Err(_) => Err(format!("did not finish within {:?}", fixture.call_timeout)),
    }
}

async fn discover(
    provider: &dyn Provider,
    fixture: &Fixture,
    request: DiscoverRequest,
) -> Result<Vec<Api>, String> {
    timed(fixture, collect(provider, &request)).await
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

async fn health_answers(provider: &dyn Provider) -> Outcome {
    match tokio::time::timeout(HEALTH_TIMEOUT, provider.health()).await {
        Err(_) => Outcome::Failed(format!("health() did not answer within {HEALTH_TIMEOUT:?}")),
        Ok(Health { healthy: true, .. }) => Outcome::Passed,
        Ok(Health { detail, .. }) => match detail.filter(|d| !blank(d)) {
            Some(detail) => Outcome::Failed(format!("provider reports unhealthy: {detail}")),
            None => Outcome::Failed("provider reports unhealthy without saying why".to_owned()),
        },
    }
}
