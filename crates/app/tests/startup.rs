//! Building providers at start-up: the factory chosen by `integration.providers[i].type` must
//! build a provider that declares that same type, or the agent refuses to start (exit code 2)
//! with an error naming both types.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{agent_env, load};
use federation_app::{AppError, build_integrations};
use federation_core::{
    ApiSink, DiscoverRequest, Provider, ProviderContext, ProviderError, ProviderFactory,
    ProviderRegistry, Subscription, SubscriptionResult,
};
use federation_testkit::MemoryFactory;

/// A provider declaring `acme-gateway`.
#[derive(Debug)]
struct AcmeGateway;

#[async_trait]
impl Provider for AcmeGateway {
    fn provider_type(&self) -> &str {
        "acme-gateway"
    }
    async fn discover(&self, _: &DiscoverRequest, _: &ApiSink) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn subscribe(
        &self,
        _: &str,
        s: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        Ok(SubscriptionResult::new(&s.gravitee_subscription_id))
    }
    async fn revoke(&self, _: &str, _: &Subscription) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// Registered as `acme`, but builds a provider declaring `acme-gateway`: the slip the registry
/// catches.
struct Acme;

#[async_trait]
impl ProviderFactory for Acme {
    fn provider_type(&self) -> &'static str {
        "acme"
    }
    fn description(&self) -> &'static str {
        "a factory whose provider declares another type"
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &["sampleApis"]
    }
    async fn build(&self, _: ProviderContext) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(AcmeGateway))
    }
}

#[tokio::test]
async fn a_provider_declaring_another_type_than_its_factory_is_a_start_up_error() {
    let registry = ProviderRegistry::new().with(MemoryFactory).with(Acme);
    let config = load(agent_env(
        "http://127.0.0.1:9",
        "int-acme",
        0,
        &[("gravitee_integration_providers_0_type", "acme")],
    ))
    .await;
    let error = build_integrations(&config, &registry).await.unwrap_err();
    assert!(
        matches!(&error, AppError::Provider { index: 0, provider_type, .. } if provider_type == "acme"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "configuration error: integration.providers[0] (acme): factory `acme` built a provider \
         that declares type `acme-gateway`; they must be equal"
    );
    assert_eq!(error.exit_code(), 2);
}

#[tokio::test]
async fn each_integration_says_hello_with_its_providers_type() {
    let registry = ProviderRegistry::new().with(MemoryFactory).with(Acme);
    let config = load(agent_env("http://127.0.0.1:9", "int-memory", 0, &[])).await;
    let integrations = build_integrations(&config, &registry).await.unwrap();
    assert_eq!(integrations.len(), 1);
    assert_eq!(integrations[0].integration_id, "int-memory");
    assert_eq!(integrations[0].provider_type(), "memory");
}
