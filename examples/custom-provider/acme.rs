//! The Acme API Hub provider: its settings, the `Provider` impl and its `ProviderFactory`. It
//! maps Acme's APIs, plans and keys (through [`AcmeClient`], the vendor's SDK) to Gravitee's.

use std::sync::Arc;

use async_trait::async_trait;
use federation_core::{
    Api, ApiSink, Depth, DiscoverRequest, Page, PageType, Plan, PlanSecurityType, Provider,
    ProviderContext, ProviderError, ProviderFactory, ProviderSettings, Secret, Subscription,
    SubscriptionResult,
};
use serde::Deserialize;

use crate::vendor::{AcmeClient, AcmeError};

/// `integration.providers[i].type`, and HELLO's `provider`: said once, read through
/// `Provider::provider_type` by the connector, the registry and the test kit.
pub(crate) const ACME_TYPE: &str = "acme-api-hub";

/// `integration.providers[i].configuration`, read with [`ProviderSettings::extract`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcmeSettings {
    /// The Acme tenant whose APIs are federated.
    tenant: String,
    /// Acme's API token: a `Secret`, never shown in `Debug` or logs.
    api_token: Secret,
    /// Where consumers call the APIs.
    #[serde(default = "default_base_url")]
    base_url: String,
}

fn default_base_url() -> String {
    "https://api.acme.example".to_owned()
}

/// Serves one Acme tenant.
#[derive(Debug)]
pub(crate) struct AcmeProvider {
    tenant: String,
    base_url: String,
    client: AcmeClient,
}

impl AcmeProvider {
    /// Builds the provider from its `configuration` block; bad settings name their key.
    pub(crate) fn from_settings(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let parsed: AcmeSettings = settings.extract()?;
        if !parsed.base_url.starts_with("https://") && !parsed.base_url.starts_with("http://") {
            let problem = "is invalid: expected an http(s) URL";
            return Err(settings.error("baseUrl", problem).into());
        }
        Ok(Self {
            client: AcmeClient::connect(&parsed.tenant, &parsed.api_token),
            base_url: parsed.base_url.trim_end_matches('/').to_owned(),
            tenant: parsed.tenant,
        })
    }
}

/// Acme's errors, in the words an administrator reads in APIM.
fn vendor_error(error: AcmeError) -> ProviderError {
    match error {
        AcmeError::NotFound(_) => ProviderError::NotFound(error.to_string()),
    }
}

#[async_trait]
impl Provider for AcmeProvider {
    fn provider_type(&self) -> &str {
        ACME_TYPE
    }

    async fn discover(&self, req: &DiscoverRequest, sink: &ApiSink) -> Result<(), ProviderError> {
        let (tenant, base_url) = (&self.tenant, &self.base_url);
        let apis = self.client.list_apis().await.map_err(vendor_error)?;
        // Filter first: an ingest of 3 APIs out of 3000 does the per-API work 3 times.
        for acme in apis.iter().filter(|a| req.selection.includes(a.id)) {
            let (id, name, version) = (acme.id, acme.name, acme.version);
            // Stable ids, from Acme's own: the same API gives the same ids on every run.
            let mut api = Api::new(format!("{ACME_TYPE}:{tenant}:{id}"), id, name);
            api = api.with_version(version);
            if req.depth == Depth::Full {
                let url = format!("{base_url}/{tenant}/{id}");
                let info = serde_json::json!({ "title": name, "version": version });
                let spec = serde_json::json!({ "openapi": "3.0.3", "info": info, "paths": {} });
                let page = Page::new(PageType::Swagger, spec.to_string(), format!("{id}.json"));
                api = api
                    .with_description(format!("{name} of the Acme tenant {tenant}."))
                    .with_connection_detail("url", url)
                    .with_page(page)
                    // The name holds the provider type: APIM 4.9+ sends it back in SUBSCRIBE.
                    .with_metadata("acme-api-hub-tenant", tenant.as_str());
                for &(plan_id, plan_name) in acme.plans {
                    api = api.with_plan(Plan::new(plan_id, plan_name, PlanSecurityType::ApiKey));
                }
            }
            sink.emit(api).await?; // Err(Cancelled) once nobody listens: stop there.
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        // API_KEY only (the default capabilities): the connector refuses other types first.
        let id = &subscription.gravitee_subscription_id;
        let no_plan = || ProviderError::InvalidRequest("the subscription has no planId".into());
        let plan_id = subscription.plan_id().ok_or_else(no_plan)?;
        // Acme's create-key is idempotent on its client token: the same subscription
        // delivered twice (even at the same time) gets the same key back.
        let client_token = format!("gravitee-{id}");
        let created = self.client.create_key(&client_token, api_id, plan_id).await;
        let key = created.map_err(vendor_error)?;
        Ok(SubscriptionResult::new(id)
            .with_api_key(key.value)
            .with_metadata("acmeKeyId", key.id)) // what revoke needs: UNSUBSCRIBE brings it back
    }

    async fn revoke(&self, _api: &str, subscription: &Subscription) -> Result<(), ProviderError> {
        let no_key = || ProviderError::InvalidRequest("no acmeKeyId in the metadata".into());
        let key_id = subscription
            .metadata_value("acmeKeyId")
            .ok_or_else(no_key)?;
        match self.client.delete_key(key_id).await {
            Ok(()) | Err(AcmeError::NotFound(_)) => Ok(()), // already gone: success
        }
    }
}

/// Builds [`AcmeProvider`]s for `integration.providers[i].type: acme-api-hub`.
#[derive(Debug)]
pub(crate) struct AcmeFactory;

#[async_trait]
impl ProviderFactory for AcmeFactory {
    fn provider_type(&self) -> &'static str {
        ACME_TYPE
    }

    fn description(&self) -> &'static str {
        "Acme API Hub (the imaginary vendor of examples/custom-provider)"
    }

    fn config_keys(&self) -> &'static [&'static str] {
        &["tenant", "apiToken", "baseUrl"]
    }

    async fn build(&self, context: ProviderContext) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(AcmeProvider::from_settings(&context.settings)?))
    }
}
