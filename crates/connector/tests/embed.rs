//! The embedder's shortcuts: `Connector::for_controller`, `Connector::from_config`,
//! `Integration::of` (the HELLO type from the provider), and the configuration types re-exported
//! by the connector, against the simulator on loopback.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{TOKEN, WAIT, simulator, within};
use federation_connector::{
    ChannelState, Connector, ConnectorConfig, ConnectorError, HeaderConfig, Integration,
};
use federation_core::{
    ApiSink, DiscoverRequest, Provider, ProviderError, Subscription, SubscriptionResult,
};
use federation_simulator::Event;
use federation_testkit::MemoryProvider;

#[tokio::test]
async fn for_controller_and_integration_of_say_hello_with_the_providers_type() {
    let simulator = simulator(&[("embedded", "memory")]).await;
    let provider = Arc::new(MemoryProvider::with_sample_apis(2));
    let connector = Connector::for_controller(simulator.endpoint(), TOKEN)
        .unwrap()
        .with_integration(Integration::of("embedded", provider));
    let status = connector.status();
    assert_eq!(
        status.get("embedded").unwrap().provider_type,
        "memory",
        "the type comes from MemoryProvider::provider_type"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(connector.run(async {
        let _ = stopped.await;
    }));
    simulator.wait_connected("embedded", WAIT).await.unwrap();
    assert!(simulator.count_events(|e| matches!(
        e,
        Event::Hello { integration_id, provider: Some(p), .. } if integration_id == "embedded" && p == "memory"
    )) >= 1);
    assert_eq!(simulator.discover("embedded").await.unwrap().apis.len(), 2);
    let line = status.get("embedded").unwrap().to_string();
    assert!(line.starts_with("embedded (memory): connected"), "{line}");
    let _ = stop.send(());
    within(task).await.unwrap().unwrap();
    assert_eq!(status.get("embedded").unwrap().state, ChannelState::Stopped);
}

#[tokio::test]
async fn from_config_takes_headers_built_in_code() {
    let simulator = simulator(&[("embedded", "memory")]).await;
    // The bearer header from `for_controller` (the simulator requires it) and one of our own.
    let mut config = ConnectorConfig::for_controller(simulator.endpoint(), TOKEN);
    config
        .ws
        .headers
        .push(HeaderConfig::new("X-Embedded-In", "a test"));
    let provider = Arc::new(MemoryProvider::with_sample_apis(1));
    let connector = Connector::from_config(&config)
        .unwrap()
        .with_integration(Integration::of("embedded", provider));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(connector.run(async {
        let _ = stopped.await;
    }));
    simulator.wait_connected("embedded", WAIT).await.unwrap();
    let _ = stop.send(());
    within(task).await.unwrap().unwrap();
}

#[test]
fn for_controller_rejects_an_endpoint_that_is_not_a_url() {
    let error = Connector::for_controller("not a url", TOKEN).unwrap_err();
    assert!(
        matches!(error, ConnectorError::InvalidEndpoint { .. }),
        "{error}"
    );
}

/// A provider whose type is blank.
#[derive(Debug)]
struct Untyped;

#[async_trait]
impl Provider for Untyped {
    fn provider_type(&self) -> &str {
        " "
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

#[tokio::test]
async fn a_provider_with_a_blank_type_is_refused_before_connecting() {
    let simulator = simulator(&[("untyped", "memory")]).await;
    let connector = Connector::for_controller(simulator.endpoint(), TOKEN)
        .unwrap()
        .with_integration(Integration::of("untyped", Arc::new(Untyped)));
    let error = within(connector.run(std::future::pending()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectorError::InvalidSetting { .. }),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("integration untyped has no provider type")
            && text.contains("Provider::provider_type is blank"),
        "{text}"
    );
    assert_eq!(
        simulator.count_events(|e| matches!(e, Event::Hello { .. })),
        0
    );
}
