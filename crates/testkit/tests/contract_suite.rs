//! The contract suite against providers that keep it and providers that break it on purpose.

use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use federation_core::{
    Api, ApiSink, Capabilities, Depth, DiscoverRequest, Page, PageType, Provider, ProviderError,
    Subscription, SubscriptionResult, SubscriptionType,
};
use federation_testkit::MemoryProvider;
use federation_testkit::contract::{
    CredentialProbe, Fixture, Outcome, Rule, assert_provider_contract, check_provider,
};
use federation_testkit::memory::sample_api;

#[tokio::test]
async fn memory_provider_keeps_the_contract_with_a_probe() {
    let provider = Arc::new(MemoryProvider::with_sample_apis(4));
    let fixture = Fixture::new("api-1", "gold-1").with_probe(provider.clone());
    let report = assert_provider_contract(provider.as_ref(), &fixture).await;
    // Every rule ran: none skipped with four APIs and a probe.
    for check in &report.checks {
        assert_eq!(check.outcome, Outcome::Passed, "{}", check.rule);
    }
    assert_eq!(report.checks.len(), Rule::ALL.len());
    // The suite cleaned up every credential it issued.
    assert!(provider.issued().is_empty(), "{:?}", provider.issued());
}

#[tokio::test]
async fn memory_provider_keeps_the_contract_without_a_probe() {
    let provider = MemoryProvider::with_sample_apis(2);
    let report = check_provider(&provider, &Fixture::new("api-0", "gold-0")).await;
    report.assert_passed();
    assert!(provider.subscribe_calls() >= 6);
}

#[tokio::test]
async fn a_wrong_fixture_is_reported_not_hidden() {
    let provider = MemoryProvider::with_sample_apis(2);
    let report = check_provider(&provider, &Fixture::new("api-0", "no-such-plan")).await;
    assert_eq!(
        report.failed_rules(),
        vec![
            Rule::FixtureApiDiscovered,
            Rule::SubscribeReturnsWhatRevokeNeeds,
            Rule::RevokeUnknownSucceeds,
            Rule::SubscribeIdempotent,
            Rule::ConcurrentSubscribeIdempotent
        ]
    );
    let Some(Outcome::Failed(why)) = report.outcome(Rule::FixtureApiDiscovered) else {
        panic!("{report}");
    };
    assert!(why.contains("no-such-plan"), "{why}");
}

#[tokio::test]
async fn a_single_api_provider_skips_the_cancellation_rule() {
    let provider = MemoryProvider::with_sample_apis(1);
    let report = check_provider(&provider, &Fixture::new("api-0", "gold-0")).await;
    report.assert_passed();
    assert!(matches!(
        report.outcome(Rule::StopsWhenCancelled),
        Some(Outcome::Skipped(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// A toy provider that can break each rule on purpose.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Breakage {
    /// `uniqueId` changes on every discovery.
    UnstableIds,
    /// Two APIs share a `uniqueId`.
    DuplicateUniqueId,
    /// Full discovery drops the last API of the preview.
    FullDropsAnApi,
    /// Preview emits the full API, pages included.
    PagesInPreview,
    /// `Selection::Only` is ignored.
    IgnoresSelection,
    /// One API has a blank name.
    BlankName,
    /// Two pages of one API share a filename.
    DuplicatePageFilename,
    /// A plan with a blank name.
    BlankPlanName,
    /// Two metadata entries share a name.
    DuplicateMetadata,
    /// When the sink is closed, discover fails with a backend error.
    FailsWhenCancelled,
    /// Every subscribe issues a new key and keeps the old one working.
    NonIdempotentSubscribe,
    /// Revoke needs state that subscribe did not return (the application id).
    RevokeNeedsMoreThanMetadata,
    /// Revoke of a key it does not hold fails with NotFound.
    RevokeUnknownFails,
    /// Declares a blank provider type.
    BlankType,
    /// Lists no subscription type in its capabilities.
    NoCapabilities,
    /// Lists JWT only, while the fixture subscribes with API_KEY.
    JwtOnly,
    /// Lists API_KEY twice.
    RepeatedCapability,
    /// Reports unhealthy.
    Unhealthy,
}

#[derive(Debug, Default)]
struct Toy {
    breakages: BTreeSet<Breakage>,
    runs: AtomicUsize,
    /// key value → (subscription id, key id).
    keys: Mutex<HashMap<String, (String, String)>>,
}

impl Toy {
    fn new(breakages: impl IntoIterator<Item = Breakage>) -> Self {
        Self {
            breakages: breakages.into_iter().collect(),
            ..Self::default()
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, String)>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn broken(&self, breakage: Breakage) -> bool {
        self.breakages.contains(&breakage)
    }

    fn apis(&self, run: usize) -> Vec<Api> {
        let mut apis: Vec<Api> = (0..3).map(sample_api).collect();
        if self.broken(Breakage::UnstableIds) {
            for api in &mut apis {
                // Alternates between runs: the two previews differ, and so do the two full runs.
                api.unique_id = format!("{}-run{}", api.unique_id, run % 2);
            }
        }
        if self.broken(Breakage::DuplicateUniqueId) {
            apis[1].unique_id = apis[0].unique_id.clone();
        }
        if self.broken(Breakage::BlankName) {
            apis[2].name = "  ".to_owned();
        }
        if self.broken(Breakage::DuplicatePageFilename) {
            let page = Page::new(PageType::Markdown, "# again", "api-0-oas.json");
            apis[0] = apis[0].clone().with_page(page);
        }
        if self.broken(Breakage::BlankPlanName)
            && let Some(plans) = &mut apis[2].plans
        {
            plans[0].name = String::new();
        }
        if self.broken(Breakage::DuplicateMetadata) {
            apis[2] = apis[2].clone().with_metadata("memory-index", "again");
        }
        apis
    }
}

#[async_trait]
impl Provider for Toy {
    fn provider_type(&self) -> &str {
        if self.broken(Breakage::BlankType) {
            ""
        } else {
            "toy"
        }
    }

    fn capabilities(&self) -> Capabilities {
        let subscription_types = if self.broken(Breakage::NoCapabilities) {
            vec![]
        } else if self.broken(Breakage::JwtOnly) {
            vec![SubscriptionType::Jwt]
        } else if self.broken(Breakage::RepeatedCapability) {
            vec![SubscriptionType::ApiKey, SubscriptionType::ApiKey]
        } else {
            vec![SubscriptionType::ApiKey]
        };
        Capabilities { subscription_types }
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst);
        let mut apis = self.apis(run);
        if request.depth == Depth::Full && self.broken(Breakage::FullDropsAnApi) {
            apis.pop();
        }
        for api in apis {
            if !request.selection.includes(&api.id) && !self.broken(Breakage::IgnoresSelection) {
                continue;
            }
            let api = match request.depth {
                Depth::Preview if !self.broken(Breakage::PagesInPreview) => api.summary(),
                _ => api,
            };
            match sink.emit(api).await {
                Err(ProviderError::Cancelled) if self.broken(Breakage::FailsWhenCancelled) => {
                    return Err(ProviderError::backend("lost the receiver"));
                }
                other => other?,
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        _api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        let mut keys = self.keys();
        let id = &subscription.gravitee_subscription_id;
        if !self.broken(Breakage::NonIdempotentSubscribe)
            && let Some((value, (_, key_id))) = keys.iter().find(|(_, (s, _))| s == id)
        {
            return Ok(SubscriptionResult::new(id)
                .with_api_key(value.clone())
                .with_metadata("keyId", key_id.clone()));
        }
        let value = uuid::Uuid::new_v4().simple().to_string();
        let key_id = format!("key-{}", keys.len());
        keys.insert(value.clone(), (id.clone(), key_id.clone()));
        let mut result = SubscriptionResult::new(id).with_api_key(value);
        if !self.broken(Breakage::RevokeNeedsMoreThanMetadata) {
            result = result.with_metadata("keyId", key_id);
        }
        Ok(result)
    }

    async fn revoke(
        &self,
        _api_id: &str,
        subscription: &Subscription,
    ) -> Result<(), ProviderError> {
        let key_id = subscription
            .metadata_value("keyId")
            .ok_or_else(|| ProviderError::InvalidRequest("no keyId".into()))?;
        let mut keys = self.keys();
        let before = keys.len();
        keys.retain(|_, (_, k)| k != key_id);
        if keys.len() == before && self.broken(Breakage::RevokeUnknownFails) {
            return Err(ProviderError::NotFound(format!("key {key_id}")));
        }
        Ok(())
    }

    async fn health(&self) -> federation_core::Health {
        if self.broken(Breakage::Unhealthy) {
            federation_core::Health::unhealthy("toy is broken on purpose")
        } else {
            federation_core::Health::healthy()
        }
    }
}

#[async_trait]
impl CredentialProbe for Toy {
    async fn is_active(&self, _api_id: &str, result: &SubscriptionResult) -> Result<bool, String> {
        let key = result.api_key.as_ref().ok_or("no apiKey")?;
        Ok(self.keys().contains_key(key.expose()))
    }
}

fn fixture(toy: &Arc<Toy>) -> Fixture {
    Fixture::new("api-0", "gold-0").with_probe(toy.clone())
}

#[tokio::test]
async fn the_unbroken_toy_passes() {
    let toy = Arc::new(Toy::new([]));
    assert_provider_contract(toy.as_ref(), &fixture(&toy)).await;
}

/// Each breakage fails the rule it breaks, with a message that says what went wrong, and no
/// rule unrelated to it.
#[tokio::test]
async fn each_breakage_fails_its_rule() {
    use Breakage::*;
    let cases: &[(Breakage, &[Rule], &str)] = &[
        (UnstableIds, &[Rule::IdsStable], "differ"),
        (DuplicateUniqueId, &[Rule::IdsUnique], "repeats uniqueId"),
        (
            FullDropsAnApi,
            &[Rule::FullCoversPreview],
            "lacks preview ids [\"api-2\"]",
        ),
        (
            PagesInPreview,
            &[Rule::PreviewIsCheap],
            "carries pages on 3 API(s), for example [\"api-0\", \"api-1\", \"api-2\"]",
        ),
        (
            IgnoresSelection,
            &[Rule::SelectionHonoured],
            "also returned",
        ),
        (BlankName, &[Rule::ApiRequiredFields], "blank name"),
        (
            DuplicatePageFilename,
            &[Rule::PagesHaveFilenames],
            "repeats page filename",
        ),
        (BlankPlanName, &[Rule::PlansWellFormed], "blank id or name"),
        (
            DuplicateMetadata,
            &[Rule::MetadataWellFormed],
            "repeats metadata name",
        ),
        (
            FailsWhenCancelled,
            &[Rule::StopsWhenCancelled],
            "lost the receiver",
        ),
        (
            NonIdempotentSubscribe,
            &[
                Rule::SubscribeIdempotent,
                Rule::ConcurrentSubscribeIdempotent,
            ],
            "2 of them work",
        ),
        (
            RevokeNeedsMoreThanMetadata,
            &[
                Rule::SubscribeReturnsWhatRevokeNeeds,
                Rule::RevokeUnknownSucceeds,
            ],
            "no keyId",
        ),
        (
            RevokeUnknownFails,
            &[Rule::RevokeUnknownSucceeds],
            "already revoked",
        ),
        (BlankType, &[Rule::ProviderTypeDeclared], "is blank"),
        (
            NoCapabilities,
            &[Rule::CapabilitiesDeclared],
            "lists no subscription type",
        ),
        (
            JwtOnly,
            &[Rule::CapabilitiesDeclared],
            "the fixture subscribes with API_KEY, which capabilities() does not list (JWT)",
        ),
        (
            RepeatedCapability,
            &[Rule::CapabilitiesDeclared],
            "lists API_KEY twice",
        ),
        (Unhealthy, &[Rule::HealthAnswers], "broken on purpose"),
    ];
    for (breakage, rules, words) in cases {
        let toy = Arc::new(Toy::new([*breakage]));
        let report = check_provider(toy.as_ref(), &fixture(&toy)).await;
        assert_eq!(
            report.failed_rules(),
            rules.to_vec(),
            "{breakage:?}:\n{report}"
        );
        let Some(Outcome::Failed(why)) = report.outcome(rules[0]) else {
            unreachable!()
        };
        assert!(why.contains(words), "{breakage:?}: {why}");
    }
}

/// The brief's broken provider: unstable ids, non-idempotent subscribe, revoke of an unknown
/// credential fails. The assertion helper panics naming each broken rule.
#[tokio::test]
async fn assert_helper_names_every_broken_rule() {
    let toy = Arc::new(Toy::new([
        Breakage::UnstableIds,
        Breakage::NonIdempotentSubscribe,
        Breakage::RevokeUnknownFails,
    ]));
    let report = check_provider(toy.as_ref(), &fixture(&toy)).await;
    assert!(!report.passed());
    assert_eq!(
        report.failed_rules(),
        vec![
            Rule::IdsStable,
            Rule::RevokeUnknownSucceeds,
            Rule::SubscribeIdempotent,
            Rule::ConcurrentSubscribeIdempotent
        ]
    );
    let panic = std::panic::catch_unwind(AssertUnwindSafe(|| report.assert_passed()))
        .expect_err("assert_passed must panic");
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        message.starts_with(
            "provider broke the contract: ids-stable, revoke-unknown-succeeds, \
             subscribe-idempotent, concurrent-subscribe-idempotent"
        ),
        "{message}"
    );
    assert!(
        message.contains("FAIL ids-stable: two preview discoveries differ"),
        "{message}"
    );
    assert!(message.contains("PASS pages-have-filenames"), "{message}");
}

#[tokio::test]
async fn without_a_probe_a_different_key_fails_idempotency() {
    let toy = Toy::new([Breakage::NonIdempotentSubscribe]);
    let report = check_provider(&toy, &Fixture::new("api-0", "gold-0")).await;
    let Some(Outcome::Failed(why)) = report.outcome(Rule::SubscribeIdempotent) else {
        panic!("{report}");
    };
    assert!(why.contains("no credential probe"), "{why}");
}

#[tokio::test]
async fn a_provider_that_hangs_fails_instead_of_hanging_the_suite() {
    #[derive(Debug)]
    struct Hangs;
    #[async_trait]
    impl Provider for Hangs {
        fn provider_type(&self) -> &str {
            "hangs"
        }
        async fn discover(&self, _: &DiscoverRequest, _: &ApiSink) -> Result<(), ProviderError> {
            std::future::pending().await
        }
        async fn subscribe(
            &self,
            _: &str,
            _: &Subscription,
        ) -> Result<SubscriptionResult, ProviderError> {
            std::future::pending().await
        }
        async fn revoke(&self, _: &str, _: &Subscription) -> Result<(), ProviderError> {
            Ok(())
        }
    }
    let fixture = Fixture::new("a", "p")
        .with_call_timeout(std::time::Duration::from_millis(50))
        .with_subscription_type(SubscriptionType::ApiKey);
    let report = check_provider(&Hangs, &fixture).await;
    let Some(Outcome::Failed(why)) = report.outcome(Rule::DiscoverSucceeds) else {
        panic!("{report}");
    };
    assert!(why.contains("did not finish within 50ms"), "{why}");
    assert!(
        report
            .failed_rules()
            .contains(&Rule::SubscribeReturnsWhatRevokeNeeds)
    );
}
