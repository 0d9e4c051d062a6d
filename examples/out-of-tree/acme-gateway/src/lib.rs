//! `federation-provider-acme-gateway`: the federation agent's provider for *Acme Gateway*, an
//! imaginary vendor whose SDK client is stood in by [`client`] (in memory).
//!
//! This is the complete provider of `docs/writing-a-provider.md`: every provider snippet of the
//! guide is an excerpt of this crate, and a test of the repository checks that they still are.
//!
//! - [`AcmeSettings`]: the provider's `configuration` block, typed.
//! - [`AcmeProvider`]: the `Provider` (discover, subscribe, revoke, health) and its drift
//!   [`Inventory`].
//! - `AcmeFactory` (feature `factory`, on by default): what an agent binary registers. It reads
//!   settings with figment; a program embedding the connector builds [`AcmeProvider`] with
//!   [`AcmeProvider::connect`] instead and depends on this crate with
//!   `default-features = false`.

pub mod client;

use std::collections::BTreeSet;

use async_trait::async_trait;
use federation_core::drift::{Catalogue, IssuedCredential};
use federation_core::{
    Api, ApiSink, Capabilities, Depth, DiscoverRequest, Health, Inventory, Page, PageType, Plan,
    PlanSecurityType, Provider, ProviderError, Secret, SkipReason, SkippedApi, Subscription,
    SubscriptionResult,
};
use serde::Deserialize;

use crate::client::{AcmeClient, AcmeError};

/// The provider type: `integration.providers[i].type`, HELLO's `provider`, the factory's type.
pub const ACME_TYPE: &str = "acme-gateway";

/// The `configuration` block of an `acme-gateway` entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmeSettings {
    /// Required.
    pub region: String,
    /// Never shown in `Debug` or logs.
    pub api_token: Secret,
    /// `"250"` converts to 250.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// A list, or `"a,b,c"`.
    #[serde(default, deserialize_with = "federation_core::settings::comma_list")]
    pub tags: Vec<String>,
}

fn default_page_size() -> u32 {
    100
}

impl AcmeSettings {
    /// Settings for `region` with `api_token`, the other keys at their defaults: how a program
    /// that embeds the connector configures the provider in code.
    pub fn new(region: impl Into<String>, api_token: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            api_token: Secret::new(api_token.into()),
            page_size: default_page_size(),
            tags: Vec::new(),
        }
    }
}

/// The provider: Acme's APIs, API keys on Acme's plans.
#[derive(Debug)]
pub struct AcmeProvider {
    region: String,
    client: AcmeClient,
    /// Serialises find-or-create, so that overlapping deliveries make one key.
    subscribe_lock: tokio::sync::Mutex<()>,
}

impl AcmeProvider {
    /// Connects to Acme with `settings`.
    pub async fn connect(settings: AcmeSettings) -> Result<Self, ProviderError> {
        let client =
            AcmeClient::connect(&settings.region, &settings.api_token, settings.page_size).await?;
        Ok(Self {
            region: settings.region,
            client,
            subscribe_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The vendor client (for tests: a credential probe asks Acme whether a key works).
    pub fn client(&self) -> &AcmeClient {
        &self.client
    }
}

#[async_trait]
impl Provider for AcmeProvider {
    fn provider_type(&self) -> &str {
        ACME_TYPE
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default() // API_KEY only
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        for listed in self.client.list_apis().await? {
            if !request.selection.includes(&listed.id) {
                continue; // unknown selected ids are just skipped
            }
            let unique_id = format!("{}:{}", self.region, listed.id);
            let mut api = Api::new(unique_id, &listed.id, &listed.name).with_version(&listed.stage);
            if request.depth == Depth::Full {
                let document = match self.client.export_openapi(&listed.id).await {
                    Ok(document) => document,
                    Err(error) => {
                        // Never emit it without its page: APIM would delete the page it has.
                        let detail = format!("the OpenAPI export failed: {error}");
                        let skipped = SkippedApi::new(&listed.id, SkipReason::ReadFailed, detail);
                        sink.skip(skipped.with_name(&listed.name));
                        continue;
                    }
                };
                let filename = format!("{}-oas.json", listed.id);
                api = api
                    .with_connection_detail("url", &listed.url)
                    .with_page(Page::new(PageType::Swagger, document, filename))
                    .with_metadata("acme-gateway-region", &self.region);
                for plan in self.client.plans_of(&listed.id).await? {
                    api = api.with_plan(Plan::new(plan.id, plan.name, PlanSecurityType::ApiKey));
                }
            }
            sink.emit(api).await?; // Err(Cancelled): stop here
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        // No type check here: the connector has already refused any type `capabilities` does
        // not list ("acme-gateway supports API_KEY subscriptions only; this subscription is JWT").
        let plan = subscription.plan_id().ok_or_else(|| {
            ProviderError::InvalidRequest("the subscription has no planId".into())
        })?;
        let name = format!("gravitee-{}", subscription.gravitee_subscription_id);
        let _guard = self.subscribe_lock.lock().await; // two deliveries may overlap
        let key = match self.client.find_key_named(&name).await? {
            Some(key) => key, // delivered again: the same key back
            None => self.client.create_key(&name, api_id, plan).await?,
        };
        let result = SubscriptionResult::new(&subscription.gravitee_subscription_id)
            .with_api_key(key.value) // a Secret: redacted in Debug
            .with_metadata("acmeKeyId", key.id) // what revoke needs
            .with_metadata("acmeRegion", &self.region);
        Ok(result)
    }

    async fn revoke(
        &self,
        _api_id: &str,
        subscription: &Subscription,
    ) -> Result<(), ProviderError> {
        let Some(key_id) = subscription.metadata_value("acmeKeyId") else {
            let missing = "the subscription metadata has no acmeKeyId";
            return Err(ProviderError::InvalidRequest(missing.into()));
        };
        match self.client.delete_key(key_id).await {
            Ok(()) | Err(AcmeError::NotFound(_)) => Ok(()), // already gone: success
            Err(other) => Err(ProviderError::backend_with("Acme DeleteKey failed", other)),
        }
    }

    async fn health(&self) -> Health {
        Health::healthy() // what the last calls learnt; no vendor call here
    }

    fn inventory(&self) -> Option<&dyn Inventory> {
        Some(self)
    }
}

#[async_trait]
impl Inventory for AcmeProvider {
    async fn catalogue(&self, api_ids: &BTreeSet<String>) -> Result<Catalogue, ProviderError> {
        let mut catalogue = Catalogue::default();
        for listed in self.client.list_apis().await? {
            if api_ids.contains(&listed.id) {
                catalogue.apis.insert(listed.id.clone());
            }
        }
        for plan in self.client.list_plans().await? {
            catalogue
                .plan_apis(&plan.id, &plan.name)
                .extend(plan.api_ids);
        }
        Ok(catalogue)
    }

    async fn issued_keys(&self) -> Result<Vec<IssuedCredential>, ProviderError> {
        // Only the keys this agent created, named `gravitee-{subscriptionId}`. If the vendor
        // refuses the listing, return ProviderError::PermissionDenied naming the grant: the
        // drift report shows it under `unchecked`.
        let keys = self.client.keys_named_like("gravitee-").await?;
        Ok(keys
            .into_iter()
            .map(|key| IssuedCredential {
                subscription_id: key.name.strip_prefix("gravitee-").map(str::to_owned),
                id: key.id,
                name: key.name,
                api_id: Some(key.api_id),
                plans: BTreeSet::from([key.plan_id]),
                ..IssuedCredential::default()
            })
            .collect())
    }
}

#[cfg(feature = "factory")]
pub use factory::AcmeFactory;

/// The factory, behind the `factory` feature: it reads settings with figment.
#[cfg(feature = "factory")]
mod factory {
    use std::sync::Arc;

    use async_trait::async_trait;
    use federation_core::{Provider, ProviderContext, ProviderError, ProviderFactory};

    use super::{ACME_TYPE, AcmeProvider, AcmeSettings};

    /// Builds an [`AcmeProvider`] for each `integration.providers[i]` of type `acme-gateway`.
    #[derive(Debug)]
    pub struct AcmeFactory;

    #[async_trait]
    impl ProviderFactory for AcmeFactory {
        fn provider_type(&self) -> &'static str {
            ACME_TYPE
        }

        fn description(&self) -> &'static str {
            "Acme Gateway"
        }

        fn config_keys(&self) -> &'static [&'static str] {
            &["region", "apiToken", "pageSize", "tags[]"]
        }

        async fn build(
            &self,
            context: ProviderContext,
        ) -> Result<Arc<dyn Provider>, ProviderError> {
            let settings: AcmeSettings = context.settings.extract()?;
            if !(1..=500).contains(&settings.page_size) {
                let error = context
                    .settings
                    .error("pageSize", "is invalid: must be 1 to 500");
                return Err(error.into());
            }
            Ok(Arc::new(AcmeProvider::connect(settings).await?))
        }
    }
}
