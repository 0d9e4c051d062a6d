//! [`AwsApiGatewayFactory`]: registers the provider under `aws-api-gateway`.

use std::sync::Arc;

use async_trait::async_trait;
use federation_core::{Provider, ProviderContext, ProviderError, ProviderFactory};

use crate::provider::{AwsApiGatewayProvider, PROVIDER_TYPE};
use crate::settings::CONFIG_KEYS;

/// Builds [`AwsApiGatewayProvider`]s from `integration.providers[i]` entries of type
/// `aws-api-gateway`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsApiGatewayFactory;

#[async_trait]
impl ProviderFactory for AwsApiGatewayFactory {
    fn provider_type(&self) -> &'static str {
        PROVIDER_TYPE
    }

    fn description(&self) -> &'static str {
        "AWS API Gateway (REST APIs): one federated API per stage, API keys on usage plans"
    }

    fn config_keys(&self) -> &'static [&'static str] {
        CONFIG_KEYS
    }

    /// Validates the settings; makes no AWS call.
    async fn build(&self, context: ProviderContext) -> Result<Arc<dyn Provider>, ProviderError> {
        let provider = AwsApiGatewayProvider::from_settings(&context.settings)?;
        tracing::info!(
            integration_id = %context.integration_id,
            targets = ?provider.target_labels(),
            accept_api_without_usage_plan = provider.settings().accept_api_without_usage_plan,
            api_key_scope = provider.settings().api_key_scope.as_str(),
            "AWS API Gateway provider configured."
        );
        Ok(Arc::new(provider))
    }
}

#[cfg(test)]
mod tests {
    use federation_core::ProviderSettings;

    use super::*;

    #[tokio::test]
    async fn builds_without_aws_and_rejects_bad_settings() {
        let factory = AwsApiGatewayFactory;
        assert_eq!(factory.provider_type(), "aws-api-gateway");
        for key in [
            "region",
            "accessKeyId",
            "secretAccessKey",
            "roleArn",
            "acceptApiWithoutUsagePlan",
        ] {
            assert!(factory.config_keys().contains(&key), "{key}");
        }
        // An endpoint nobody listens on: building must not call it.
        let ok = ProviderContext {
            integration_id: "i".into(),
            settings: ProviderSettings::from_pairs([
                ("region", "eu-west-1,us-east-1"),
                ("roleArn", "arn:aws:iam::111122223333:role/a"),
                ("endpoint", "http://127.0.0.1:9"),
            ]),
        };
        let provider = factory.build(ok).await.unwrap();
        let debug = format!("{provider:?}");
        assert!(
            debug.contains("111122223333/eu-west-1") && debug.contains("111122223333/us-east-1"),
            "{debug}"
        );
        let bad = ProviderContext {
            integration_id: "i".into(),
            settings: ProviderSettings::from_pairs([("region", "eu-west-1"), ("burst", "0")]),
        };
        let err = factory.build(bad).await.unwrap_err().to_string();
        assert!(err.contains("configuration.burst"), "{err}");
    }
}
