//! The provider contract suite (`federation_testkit::contract`) against the AWS provider on moto.

use std::sync::Arc;

use async_trait::async_trait;
use federation_core::SubscriptionResult;
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::testing::{self, seed, shared_moto};
use federation_testkit::contract::{CredentialProbe, Fixture, assert_provider_contract};

/// A key works when it exists and is enabled (`GetApiKey` on the id the result names).
struct KeyProbe {
    client: aws_sdk_apigateway::Client,
}

#[async_trait]
impl CredentialProbe for KeyProbe {
    async fn is_active(&self, _api_id: &str, result: &SubscriptionResult) -> Result<bool, String> {
        let key_id = result
            .metadata
            .as_ref()
            .and_then(|m| m.get("apiKeyId"))
            .ok_or("the result has no apiKeyId")?;
        match self.client.get_api_key().api_key(key_id).send().await {
            Ok(key) => Ok(key.enabled()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(format!("GetApiKey: {err:?}")),
        }
    }
}

#[tokio::test]
async fn the_aws_provider_keeps_the_provider_contract() {
    let moto = shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    for (name, id) in [("Pets", "pets1"), ("Orders", "orders1")] {
        seed::rest_api(&client, name, Some(id), &["prod", "dev"]).await;
    }
    let plan = seed::usage_plan(
        &client,
        &seed::PlanSpec::new("Gold")
            .stage("pets1", "prod")
            .stage("orders1", "prod")
            .throttle(10.0, 20),
    )
    .await;
    let provider = AwsApiGatewayProvider::from_settings(&testing::provider_settings(
        &moto.endpoint(),
        "us-east-1",
        &[("acceptApiWithoutUsagePlan", "true")],
    ))
    .unwrap();
    let fixture = Fixture::new("pets1:prod", plan)
        .with_provider_type("aws-api-gateway")
        .with_probe(Arc::new(KeyProbe { client }));
    let report = assert_provider_contract(&provider, &fixture).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
}
