//! The provider says its type once and the connector reads it there: HELLO's `provider` and the
//! status come from `Provider::provider_type`, and the connector is the one place a
//! subscription's type is checked against `Provider::capabilities`, naming that type, before
//! `Provider::subscribe` is called.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use federation_connector::Integration;
use federation_core::{
    ApiSink, Capabilities, DiscoverRequest, Provider, ProviderError, Subscription,
    SubscriptionResult, SubscriptionType,
};
use federation_simulator::{Event, SubscribeRequest};
use federation_testkit::MemoryProvider;

/// The memory provider under another type, issuing JWT credentials only (as far as its
/// capabilities say: the memory provider itself no longer looks at the type).
#[derive(Debug)]
struct JwtOnly(Arc<MemoryProvider>);

#[async_trait]
impl Provider for JwtOnly {
    fn provider_type(&self) -> &str {
        "acme-gateway"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            subscription_types: vec![SubscriptionType::Jwt],
        }
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

#[tokio::test]
async fn hello_and_refusals_name_the_providers_own_type() {
    let sim = simulator(&[("int-acme", "acme-gateway")]).await;
    let memory = Arc::new(MemoryProvider::with_sample_apis(1));
    let integration = Integration::of("int-acme", Arc::new(JwtOnly(memory.clone())));
    assert_eq!(integration.provider_type(), "acme-gateway");
    let running = start(&connector_config(&sim.endpoint()), vec![integration]);
    assert_eq!(
        running.status.get("int-acme").unwrap().provider_type,
        "acme-gateway"
    );
    sim.wait_connected("int-acme", WAIT).await.unwrap();
    assert!(
        sim.count_events(|e| matches!(
            e,
            Event::Hello { integration_id, provider: Some(p), .. }
                if integration_id == "int-acme" && p == "acme-gateway"
        )) >= 1
    );

    // API_KEY is not in the capabilities: the connector refuses, naming the provider's type,
    // and the provider's subscribe is never called.
    let error = sim
        .subscribe(
            "int-acme",
            SubscribeRequest::api_key("api-0", Some("gold-0".into())),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error
            .contains("acme-gateway supports JWT subscriptions only; this subscription is API_KEY"),
        "{error}"
    );
    assert_eq!(memory.subscribe_calls(), 0);

    // JWT is: the call reaches the provider, which does not check the type again.
    let mut jwt = SubscribeRequest::api_key("api-0", Some("gold-0".into()));
    jwt.subscription_type = SubscriptionType::Jwt;
    let (subscription_id, _) = sim.subscribe("int-acme", jwt).await.unwrap();
    assert_eq!(memory.subscribe_calls(), 1);
    assert!(memory.issued().contains_key(&subscription_id));
    running.stop().await.unwrap();
}
