//! The drift inventory rules of the contract suite: checked when a provider offers an
//! inventory, and failing when the inventory disagrees with discovery.

use std::collections::BTreeSet;

use async_trait::async_trait;
use federation_core::drift::{Catalogue, IssuedCredential};
use federation_core::{
    ApiSink, DiscoverRequest, Inventory, Provider, ProviderError, Subscription, SubscriptionResult,
};
use federation_testkit::MemoryProvider;
use federation_testkit::contract::{Fixture, Outcome, Rule, check_provider};

/// The memory provider, with an inventory that forgets one plan's coverage and refuses keys
/// with an error that names no grant.
#[derive(Debug)]
struct Forgetful(MemoryProvider);

#[async_trait]
impl Provider for Forgetful {
    fn provider_type(&self) -> &str {
        self.0.provider_type()
    }
    async fn discover(&self, r: &DiscoverRequest, sink: &ApiSink) -> Result<(), ProviderError> {
        self.0.discover(r, sink).await
    }
    async fn subscribe(
        &self,
        api_id: &str,
        s: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        self.0.subscribe(api_id, s).await
    }
    async fn revoke(&self, api_id: &str, s: &Subscription) -> Result<(), ProviderError> {
        self.0.revoke(api_id, s).await
    }
    fn inventory(&self) -> Option<&dyn Inventory> {
        Some(self)
    }
}

#[async_trait]
impl Inventory for Forgetful {
    async fn catalogue(&self, ids: &BTreeSet<String>) -> Result<Catalogue, ProviderError> {
        let mut catalogue = self.0.catalogue(ids).await?;
        catalogue.plans.remove("gold-0");
        Ok(catalogue)
    }
    async fn issued_keys(&self) -> Result<Vec<IssuedCredential>, ProviderError> {
        Err(ProviderError::backend("boom"))
    }
}

fn outcome(report: &federation_testkit::contract::ContractReport, rule: Rule) -> Outcome {
    report
        .checks
        .iter()
        .find(|c| c.rule == rule)
        .map(|c| c.outcome.clone())
        .expect("every rule is reported")
}

#[tokio::test]
async fn an_inventory_that_disagrees_with_discovery_fails_the_drift_rules() {
    let provider = Forgetful(MemoryProvider::with_sample_apis(2));
    let report = check_provider(&provider, &Fixture::new("api-1", "gold-1")).await;
    match outcome(&report, Rule::InventoryCatalogueConsistent) {
        Outcome::Failed(text) => assert!(text.contains("gold-0"), "{text}"),
        other => panic!("{other:?}"),
    }
    match outcome(&report, Rule::InventoryKeysWellFormed) {
        Outcome::Failed(text) => assert!(text.contains("boom"), "{text}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_provider_without_inventory_skips_the_drift_rules() {
    #[derive(Debug)]
    struct Plain(MemoryProvider);
    #[async_trait]
    impl Provider for Plain {
        fn provider_type(&self) -> &str {
            self.0.provider_type()
        }
        async fn discover(&self, r: &DiscoverRequest, s: &ApiSink) -> Result<(), ProviderError> {
            self.0.discover(r, s).await
        }
        async fn subscribe(
            &self,
            api_id: &str,
            s: &Subscription,
        ) -> Result<SubscriptionResult, ProviderError> {
            self.0.subscribe(api_id, s).await
        }
        async fn revoke(&self, api_id: &str, s: &Subscription) -> Result<(), ProviderError> {
            self.0.revoke(api_id, s).await
        }
    }
    let provider = Plain(MemoryProvider::with_sample_apis(2));
    let report = check_provider(&provider, &Fixture::new("api-1", "gold-1")).await;
    assert!(report.passed());
    for rule in [
        Rule::InventoryCatalogueConsistent,
        Rule::InventoryKeysWellFormed,
    ] {
        assert!(matches!(outcome(&report, rule), Outcome::Skipped(_)));
    }
}
