//! [`AwsApiGatewayProvider`]: the [`Provider`] for AWS API Gateway (REST APIs).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use federation_core::{
    ApiSink, Capabilities, DiscoverRequest, Provider, ProviderError, ProviderSettings,
    Subscription, SubscriptionResult, SubscriptionType,
};

use crate::discovery::{Collected, DiscoveryOptions, DiscoveryOutput, discover_target};
use crate::http_api::{AudienceLocks, is_http_id};
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
    /// One lock per JWT authorizer whose audience this process writes (`http_api/audience.rs`).
    pub(crate) audiences: AudienceLocks,
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
            audiences: AudienceLocks::default(),
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
    /// lists every REST API's stages to say why stages were left out (operator tool). Per
    /// target: REST APIs, then HTTP APIs, as `apiTypes` says.
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
            tags: crate::tag_filter::TagFilter::new(
                &self.settings.include_tags,
                &self.settings.exclude_tags,
            ),
        };
        let (rest, http) = (
            self.settings.discovers_rest(),
            self.settings.discovers_http(),
        );
        let output = DiscoveryOutput { sink, collected };
        let discoveries = self.targets.iter().map(|target| {
            let options = &options;
            let output = &output;
            async move {
                let mut result = Ok(());
                if rest {
                    result = discover_target(target, options, output).await;
                }
                if http && result.is_ok() {
                    result =
                        crate::http_api::discovery::discover_http(target, options, output).await;
                }
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

    /// `API_KEY` with REST APIs (`apiTypes` holds `REST`), `OAUTH` with HTTP APIs (`HTTP`).
    fn capabilities(&self) -> Capabilities {
        let mut subscription_types = Vec::new();
        if self.settings.discovers_rest() {
            subscription_types.push(SubscriptionType::ApiKey);
        }
        if self.settings.discovers_http() {
            subscription_types.push(SubscriptionType::Oauth);
        }
        Capabilities { subscription_types }
    }

    /// By the API's kind: an HTTP API stage (`http/…`) takes `OAUTH` only, a REST API stage
    /// anything but `OAUTH` (the connector has checked the type against the capabilities).
    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        let _foreground = self.foreground();
        let requested = subscription.subscription_type;
        if is_http_id(api_id) {
            if requested != Some(SubscriptionType::Oauth) {
                return Err(ProviderError::unsupported_subscription(
                    &format!("{PROVIDER_TYPE} HTTP API {api_id} (a JWT authorizer grants access)"),
                    &[SubscriptionType::Oauth],
                    requested,
                ));
            }
            return self.subscribe_oauth(api_id, subscription).await;
        }
        if requested == Some(SubscriptionType::Oauth) {
            return Err(ProviderError::unsupported_subscription(
                &format!("{PROVIDER_TYPE} REST API {api_id} (a usage plan grants access)"),
                &[SubscriptionType::ApiKey],
                requested,
            ));
        }
        self.subscribe_api_key(api_id, subscription).await
    }

    async fn revoke(&self, api_id: &str, subscription: &Subscription) -> Result<(), ProviderError> {
        let _foreground = self.foreground();
        if is_http_id(api_id) {
            return self.revoke_oauth(api_id, subscription).await;
        }
        self.revoke_api_key(api_id, subscription).await
    }

    /// Drift hook: stages, usage plans and `gravitee-*` keys (see `inventory.rs`), read as
    /// background work (`limiter.rs`).
    fn inventory(&self) -> Option<&dyn federation_core::Inventory> {
        Some(self)
    }
}
