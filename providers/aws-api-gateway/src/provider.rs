//! [`AwsApiGatewayProvider`]: the [`Provider`] for AWS API Gateway (REST APIs).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use federation_core::{
    ApiSink, DiscoverRequest, Provider, ProviderError, ProviderSettings, Subscription,
    SubscriptionResult,
};

use crate::discovery::{Collected, DiscoveryOptions, DiscoveryOutput, discover_target};
use crate::limiter::{CallBudget, ForegroundGuard};
use crate::settings::AwsSettings;
use crate::subscription::IssuedKeys;
use crate::target::Target;

/// The provider type string (`integration.providers[i].type`, HELLO's `provider`).
pub const PROVIDER_TYPE: &str = "aws-api-gateway";

/// The AWS API Gateway provider: discovers REST API stages, issues and revokes API keys.
///
/// Building it makes no AWS call; SDK clients are created on first use.
pub struct AwsApiGatewayProvider {
    pub(crate) settings: Arc<AwsSettings>,
    /// Every account × region, each with its own caches (stage lists, usage plans).
    pub(crate) targets: Vec<Arc<Target>>,
    /// The keys this process issued, and the per-subscription locks.
    pub(crate) issued: IssuedKeys,
}

impl fmt::Debug for AwsApiGatewayProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsApiGatewayProvider")
            .field(
                "targets",
                &self.targets.iter().map(|t| t.label()).collect::<Vec<_>>(),
            )
            .field(
                "accept_api_without_usage_plan",
                &self.settings.accept_api_without_usage_plan,
            )
            .finish_non_exhaustive()
    }
}

impl AwsApiGatewayProvider {
    /// A provider for validated settings: one target per role × region (one per region without
    /// roles). No AWS call is made.
    pub fn new(settings: AwsSettings) -> Self {
        let settings = Arc::new(settings);
        let roles: Vec<Option<String>> = if settings.role_arn.is_empty() {
            vec![None]
        } else {
            settings.role_arn.iter().cloned().map(Some).collect()
        };
        let mut budgets: HashMap<(Option<String>, String), CallBudget> = HashMap::new();
        let mut targets = Vec::new();
        for role in &roles {
            for region in &settings.region {
                let account = role
                    .as_deref()
                    .and_then(crate::settings::account_of_role)
                    .map(str::to_owned);
                // One budget per account and region: AWS's quotas are per account.
                let budget = budgets
                    .entry((account.or_else(|| role.clone()), region.clone()))
                    .or_insert_with(|| {
                        CallBudget::new(
                            settings.requests_per_second,
                            settings.burst,
                            settings.api_key_requests_per_second,
                            settings.api_key_burst,
                            settings.max_concurrency,
                        )
                        .with_background(settings.background_requests_per_second)
                    })
                    .clone();
                targets.push(Arc::new(Target::new(
                    settings.clone(),
                    region.clone(),
                    role.clone(),
                    budget,
                )));
            }
        }
        Self {
            settings,
            targets,
            issued: IssuedKeys::default(),
        }
    }

    /// Extracts, validates and builds: errors name the bad key.
    pub fn from_settings(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        Ok(Self::new(AwsSettings::from_settings(settings)?))
    }

    /// The settings in force.
    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The account/region labels this provider works in (`111122223333/eu-west-1`).
    pub fn target_labels(&self) -> Vec<String> {
        self.targets.iter().map(|t| t.label()).collect()
    }

    /// Foreground work under way (a DISCOVER, an ingest walk, a SUBSCRIBE, an UNSUBSCRIBE):
    /// background calls (the drift check) of every target wait until the guards are dropped.
    fn foreground(&self) -> Vec<ForegroundGuard> {
        self.targets.iter().map(|t| t.foreground()).collect()
    }

    /// Discovers every target concurrently, into `sink` and/or `collected`; `explain` also
    /// lists every REST API's stages to say why stages were left out (operator tool).
    pub(crate) async fn discover_targets(
        &self,
        request: &DiscoverRequest,
        explain: bool,
        sink: Option<&ApiSink>,
        collected: Option<&Mutex<Collected>>,
    ) -> Result<(), ProviderError> {
        let _foreground = self.foreground();
        let options = DiscoveryOptions {
            depth: request.depth,
            selection: request.selection.clone(),
            accept_without_plan: self.settings.accept_api_without_usage_plan,
            explain,
            concurrency: self.settings.max_concurrency.max(1) * 2,
        };
        let output = DiscoveryOutput { sink, collected };
        let discoveries = self.targets.iter().map(|target| {
            let options = &options;
            let output = &output;
            async move {
                let result = discover_target(target, options, output).await;
                if let Err(err) = &result
                    && !matches!(err, ProviderError::Cancelled)
                {
                    tracing::warn!(target_label = %target.label(), error = %err.details(), "Discovery failed.");
                }
                result
            }
        });
        futures_util::future::try_join_all(discoveries).await?;
        Ok(())
    }
}

#[async_trait]
impl Provider for AwsApiGatewayProvider {
    fn provider_type(&self) -> &str {
        PROVIDER_TYPE
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        self.discover_targets(request, false, Some(sink), None)
            .await
    }

    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        let _foreground = self.foreground();
        self.subscribe_api_key(api_id, subscription).await
    }

    async fn revoke(&self, api_id: &str, subscription: &Subscription) -> Result<(), ProviderError> {
        let _foreground = self.foreground();
        self.revoke_api_key(api_id, subscription).await
    }

    /// Drift hook: stages, usage plans and `gravitee-*` keys (see `inventory.rs`), read as
    /// background work (`limiter.rs`).
    fn inventory(&self) -> Option<&dyn federation_core::Inventory> {
        Some(self)
    }
}
