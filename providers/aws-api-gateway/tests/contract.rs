//! The provider contract suite (`federation_testkit::contract`) against the AWS provider on moto.

use std::sync::Arc;

use async_trait::async_trait;
use federation_core::SubscriptionResult;
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::testing::{self, seed, shared_moto};
use federation_testkit::contract::{CredentialProbe, Fixture, assert_provider_contract};

/// A key works for an API when it exists, is enabled (`GetApiKey` on the id the result names)
/// and is in a usage plan that covers the API's stage (`GetUsagePlans` by `keyId`): an
/// application's key outlives its subscriptions, attached to no plan, and then opens nothing.
struct KeyProbe {
    client: aws_sdk_apigateway::Client,
}

#[async_trait]
impl CredentialProbe for KeyProbe {
    async fn is_active(&self, api_id: &str, result: &SubscriptionResult) -> Result<bool, String> {
        let key_id = result
            .metadata
            .as_ref()
            .and_then(|m| m.get("apiKeyId"))
            .ok_or("the result has no apiKeyId")?;
        match self.client.get_api_key().api_key(key_id).send().await {
            Ok(key) if key.enabled() => {}
            Ok(_) => return Ok(false),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                return Ok(false);
            }
            Err(err) => return Err(format!("GetApiKey: {err:?}")),
        }
        let (rest_api, stage) = api_id
            .split_once(':')
            .ok_or_else(|| format!("{api_id} is not restApiId:stage"))?;
        let plans = self
            .client
            .get_usage_plans()
            .key_id(key_id)
            .send()
            .await
            .map_err(|err| format!("GetUsagePlans: {err:?}"))?;
        Ok(plans.items().iter().any(|plan| {
            plan.api_stages()
                .iter()
                .any(|s| s.api_id() == Some(rest_api) && s.stage() == Some(stage))
        }))
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
