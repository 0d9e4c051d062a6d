//! [`ContractReport`]: the rules and how each one fared.

use std::fmt;

/// One rule of the provider contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rule {
    /// [`Provider::provider_type`](federation_core::Provider::provider_type) is non-blank, has
    /// no surrounding spaces, and equals [`Fixture::provider_type`](super::Fixture::provider_type)
    /// when the fixture names one (the factory's type).
    ProviderTypeDeclared,
    /// [`Provider::capabilities`](federation_core::Provider::capabilities) lists at least one
    /// subscription type, none twice, including the fixture's: the connector refuses every
    /// other type before calling `subscribe`, so a provider never sees one.
    CapabilitiesDeclared,
    /// Preview and full discovery of everything succeed within the call timeout.
    DiscoverSucceeds,
    /// Within one discovery, no two APIs share an `id` or a `uniqueId`.
    IdsUnique,
    /// Two runs of the same discovery give the same `id` → `uniqueId` pairs.
    IdsStable,
    /// Full discovery returns every id preview returned, with the same `uniqueId`.
    FullCoversPreview,
    /// A preview (`Depth::Preview`) carries no pages: documents are fetched for a full
    /// discovery (an ingest) only, so that DISCOVER answers well within its deadline.
    PreviewIsCheap,
    /// `Selection::Only` returns exactly the selected ids it knows, and skips unknown ids.
    SelectionHonoured,
    /// Every API (preview and full) has a non-blank `uniqueId`, `id` and `name`.
    ApiRequiredFields,
    /// Every page has a non-blank filename, unique within its API, and content.
    PagesHaveFilenames,
    /// Every plan has a non-blank id (unique within its API) and name, and a `planSecurityType`.
    PlansWellFormed,
    /// Every metadata entry has a non-blank name (unique within its API) and a `format`.
    MetadataWellFormed,
    /// Once the sink's receiver is gone, discover returns `Ok` or `Cancelled`, promptly.
    StopsWhenCancelled,
    /// The fixture's API and plan appear in full discovery.
    FixtureApiDiscovered,
    /// Subscribe issues a working credential, and revoke with only the
    /// `graviteeSubscriptionId` and the metadata subscribe returned ends it.
    SubscribeReturnsWhatRevokeNeeds,
    /// Revoking a credential that is already gone, or was never issued, succeeds.
    RevokeUnknownSucceeds,
    /// The same subscription delivered twice leaves one working credential.
    SubscribeIdempotent,
    /// The same subscription delivered twice at the same time leaves one working credential.
    ConcurrentSubscribeIdempotent,
    /// `health()` answers within [`HEALTH_TIMEOUT`](super::HEALTH_TIMEOUT) and reports healthy.
    HealthAnswers,
    /// Drift inventory (when offered): `catalogue()` says every discovered API exists and an
    /// unknown id does not, and every plan an API was discovered with covers it.
    InventoryCatalogueConsistent,
    /// Drift inventory (when offered): `issued_keys()` answers, or fails with a permission error
    /// naming the grant; keys have ids and names and sit on plans the catalogue lists.
    InventoryKeysWellFormed,
}

impl Rule {
    /// Every rule, in the order the suite reports them.
    pub const ALL: &'static [Rule] = &[
        Rule::ProviderTypeDeclared,
        Rule::CapabilitiesDeclared,
        Rule::DiscoverSucceeds,
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
        Rule::FixtureApiDiscovered,
        Rule::SubscribeReturnsWhatRevokeNeeds,
        Rule::RevokeUnknownSucceeds,
        Rule::SubscribeIdempotent,
        Rule::ConcurrentSubscribeIdempotent,
        Rule::HealthAnswers,
        Rule::InventoryCatalogueConsistent,
        Rule::InventoryKeysWellFormed,
    ];

    /// The rule's short name, as reports print it (`ids-stable`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::ProviderTypeDeclared => "provider-type-declared",
            Rule::CapabilitiesDeclared => "capabilities-declared",
            Rule::DiscoverSucceeds => "discover-succeeds",
            Rule::IdsUnique => "ids-unique",
            Rule::IdsStable => "ids-stable",
            Rule::FullCoversPreview => "full-covers-preview",
            Rule::PreviewIsCheap => "preview-is-cheap",
            Rule::SelectionHonoured => "selection-honoured",
            Rule::ApiRequiredFields => "api-required-fields",
            Rule::PagesHaveFilenames => "pages-have-filenames",
            Rule::PlansWellFormed => "plans-well-formed",
            Rule::MetadataWellFormed => "metadata-well-formed",
            Rule::StopsWhenCancelled => "stops-when-cancelled",
            Rule::FixtureApiDiscovered => "fixture-api-discovered",
            Rule::SubscribeReturnsWhatRevokeNeeds => "subscribe-returns-what-revoke-needs",
            Rule::RevokeUnknownSucceeds => "revoke-unknown-succeeds",
            Rule::SubscribeIdempotent => "subscribe-idempotent",
            Rule::ConcurrentSubscribeIdempotent => "concurrent-subscribe-idempotent",
            Rule::HealthAnswers => "health-answers",
            Rule::InventoryCatalogueConsistent => "inventory-catalogue-consistent",
            Rule::InventoryKeysWellFormed => "inventory-keys-well-formed",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one rule fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider keeps the rule.
    Passed,
    /// The provider breaks the rule; the text says how.
    Failed(String),
    /// The rule could not be checked against this provider (the text says why); not a failure.
    Skipped(String),
}

/// One rule and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The rule.
    pub rule: Rule,
    /// How it fared.
    pub outcome: Outcome,
}

/// The outcome of every rule, in [`Rule::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractReport {
    /// The provider's `Debug` text (its first 80 characters), for messages.
    pub provider: String,
    /// One entry per rule.
    pub checks: Vec<Check>,
}

impl ContractReport {
    /// Whether no rule failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
    }

    /// The rules that failed.
    pub fn failed_rules(&self) -> Vec<Rule> {
        self.failures().map(|c| c.rule).collect()
    }

    /// The outcome of `rule`.
    pub fn outcome(&self, rule: Rule) -> Option<&Outcome> {
        self.checks
            .iter()
            .find(|c| c.rule == rule)
            .map(|c| &c.outcome)
    }

    /// Panics, listing every broken rule and why, unless every rule passed or was skipped.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            let names: Vec<_> = self.failures().map(|c| c.rule.name()).collect();
            panic!("provider broke the contract: {}\n{self}", names.join(", "));
        }
    }
}

impl fmt::Display for ContractReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |p: fn(&Outcome) -> bool| self.checks.iter().filter(|c| p(&c.outcome)).count();
        writeln!(
            f,
            "provider contract for {}: {} passed, {} failed, {} skipped",
            self.provider,
            count(|o| matches!(o, Outcome::Passed)),
            count(|o| matches!(o, Outcome::Failed(_))),
            count(|o| matches!(o, Outcome::Skipped(_))),
        )?;
        for check in &self.checks {
            match &check.outcome {
                Outcome::Passed => writeln!(f, "  PASS {}", check.rule)?,
                Outcome::Failed(why) => writeln!(f, "  FAIL {}: {why}", check.rule)?,
                Outcome::Skipped(why) => writeln!(f, "  SKIP {}: {why}", check.rule)?,
            }
        }
        Ok(())
    }
}
