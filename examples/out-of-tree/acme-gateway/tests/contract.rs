//! The provider contract suite, run against the provider with a probe into Acme, so that every
//! required rule is checked (and both drift inventory rules: the provider offers one).

use std::sync::Arc;

use async_trait::async_trait;
use federation_core::{ProviderFactory, SubscriptionResult};
use federation_provider_acme_gateway::{AcmeFactory, AcmeProvider, AcmeSettings};
use federation_testkit::contract::{CredentialProbe, Fixture, Outcome, assert_provider_contract};

/// Asks Acme whether the key a subscription got still works.
struct AcmeProbe(Arc<AcmeProvider>);

#[async_trait]
impl CredentialProbe for AcmeProbe {
    async fn is_active(&self, _api_id: &str, result: &SubscriptionResult) -> Result<bool, String> {
        let metadata = result.metadata.as_ref();
        let key_id = metadata
            .and_then(|m| m.get("acmeKeyId"))
            .ok_or("no acmeKeyId")?;
        self.0
            .client()
            .key_exists(key_id)
            .await
            .map_err(|e| e.to_string())
    }
}

#[tokio::test]
async fn keeps_the_provider_contract() {
    let settings = AcmeSettings::new("eu-1", "t0ken"); // against a real local emulator, if any
    let provider = Arc::new(AcmeProvider::connect(settings).await.unwrap());
    // An API and a plan to subscribe to, as discovery returns them; the type the provider
    // must declare (the factory's); and a probe that sees which keys work.
    let fixture = Fixture::new("petstore", "standard")
        .with_provider_type(AcmeFactory.provider_type())
        .with_probe(Arc::new(AcmeProbe(provider.clone())));
    let report = assert_provider_contract(provider.as_ref(), &fixture).await;
    // With a probe and an inventory, no rule is skipped.
    for check in &report.checks {
        assert_eq!(check.outcome, Outcome::Passed, "{}", check.rule);
    }
}
