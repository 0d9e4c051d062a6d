//! [`MemoryProvider`]: a provider whose vendor is a map in memory.
//!
//! It keeps the whole provider contract (stable ids, preview vs full, idempotent subscribe and
//! revoke; its capabilities list API keys only, and the connector refuses other types before
//! calling it) and lets a test make it slow, failing or unhealthy, and count calls.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use federation_core::drift::{self, Catalogue};
use federation_core::{
    Api, ApiSink, Capabilities, Depth, DiscoverRequest, Health, Inventory, Page, PageType, Plan,
    PlanSecurityType, Provider, ProviderError, Subscription, SubscriptionResult,
};

/// The provider type of [`MemoryProvider`] (and the one `MemoryFactory` registers).
pub const MEMORY_TYPE: &str = "memory";

/// An issued credential (its `Debug` hides the key value).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedKey {
    /// The key's id (returned in the subscription metadata as `keyId`).
    pub key_id: String,
    /// The key value.
    pub value: String,
    /// The API it was issued for.
    pub api_id: String,
    /// The plan it was issued for.
    pub plan_id: Option<String>,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key_id", &self.key_id)
            .field("value", &federation_core::Secret::REDACTED)
            .field("api_id", &self.api_id)
            .field("plan_id", &self.plan_id)
            .finish()
    }
}

#[derive(Debug, Default)]
struct State {
    apis: Vec<Api>,
    /// graviteeSubscriptionId → key.
    keys: HashMap<String, IssuedKey>,
    health: Option<Health>,
    fail_subscribe: Option<String>,
}

/// An in-memory provider.
#[derive(Debug, Default)]
pub struct MemoryProvider {
    state: Mutex<State>,
    emit_delay: Mutex<Duration>,
    call_delay: Mutex<Duration>,
    discover_calls: AtomicUsize,
    subscribe_calls: AtomicUsize,
    revoke_calls: AtomicUsize,
}

impl MemoryProvider {
    /// A provider with no APIs.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider with `count` sample APIs ([`sample_api`]).
    pub fn with_sample_apis(count: usize) -> Self {
        let provider = Self::new();
        for i in 0..count {
            provider.add_api(sample_api(i));
        }
        provider
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds (or replaces, by `id`) an API.
    pub fn add_api(&self, api: Api) {
        let mut state = self.state();
        state.apis.retain(|a| a.id != api.id);
        state.apis.push(api);
    }

    /// Removes an API by id.
    pub fn remove_api(&self, id: &str) {
        self.state().apis.retain(|a| a.id != id);
    }

    /// Waits this long before emitting each API (to test deadlines and streaming).
    pub fn set_emit_delay(&self, delay: Duration) {
        *self
            .emit_delay
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// Waits this long in every subscribe and revoke (to test concurrency).
    pub fn set_call_delay(&self, delay: Duration) {
        *self
            .call_delay
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// What [`Provider::health`] reports (default healthy).
    pub fn set_health(&self, health: Health) {
        self.state().health = Some(health);
    }

    /// Makes every subscribe fail with this backend message (None: succeed again).
    pub fn fail_subscribe(&self, message: Option<&str>) {
        self.state().fail_subscribe = message.map(str::to_owned);
    }

    /// Credentials currently issued, by Gravitee subscription id.
    pub fn issued(&self) -> HashMap<String, IssuedKey> {
        self.state().keys.clone()
    }

    /// Whether `value` is the value of a key currently issued (not revoked).
    pub fn is_key_active(&self, value: &str) -> bool {
        self.state().keys.values().any(|key| key.value == value)
    }

    /// How many times `discover` ran.
    pub fn discover_calls(&self) -> usize {
        self.discover_calls.load(Ordering::SeqCst)
    }

    /// How many times `subscribe` ran.
    pub fn subscribe_calls(&self) -> usize {
        self.subscribe_calls.load(Ordering::SeqCst)
    }

    /// How many times `revoke` ran.
    pub fn revoke_calls(&self) -> usize {
        self.revoke_calls.load(Ordering::SeqCst)
    }

    async fn pause(&self, delay: &Mutex<Duration>) {
        let delay = *delay.lock().unwrap_or_else(PoisonError::into_inner);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    fn provider_type(&self) -> &str {
        MEMORY_TYPE
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        self.discover_calls.fetch_add(1, Ordering::SeqCst);
        let apis = self.state().apis.clone();
        for api in apis
            .into_iter()
            .filter(|a| request.selection.includes(&a.id))
        {
            self.pause(&self.emit_delay).await;
            let api = match request.depth {
                Depth::Preview => api.summary(),
                Depth::Full => api,
            };
            sink.emit(api).await?;
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        self.subscribe_calls.fetch_add(1, Ordering::SeqCst);
        self.pause(&self.call_delay).await;
        let mut state = self.state();
        if let Some(message) = &state.fail_subscribe {
            return Err(ProviderError::backend(message.clone()));
        }
        let api = state
            .apis
            .iter()
            .find(|a| a.id == api_id)
            .ok_or_else(|| ProviderError::NotFound(format!("API {api_id}")))?;
        let plan_id = subscription.plan_id().map(str::to_owned);
        if let Some(plan_id) = &plan_id {
            let known = api.plans.iter().flatten().any(|p| &p.id == plan_id);
            if !known {
                return Err(ProviderError::NotFound(format!(
                    "plan {plan_id} of API {api_id}"
                )));
            }
        }
        let key = state
            .keys
            .entry(subscription.gravitee_subscription_id.clone())
            .or_insert_with(|| IssuedKey {
                key_id: format!("key-{}", uuid::Uuid::new_v4().simple()),
                value: uuid::Uuid::new_v4().simple().to_string(),
                api_id: api_id.to_owned(),
                plan_id,
            })
            .clone();
        Ok(
            SubscriptionResult::new(&subscription.gravitee_subscription_id)
                .with_api_key(key.value)
                .with_metadata("keyId", key.key_id),
        )
    }

    async fn revoke(
        &self,
        _api_id: &str,
        subscription: &Subscription,
    ) -> Result<(), ProviderError> {
        self.revoke_calls.fetch_add(1, Ordering::SeqCst);
        self.pause(&self.call_delay).await;
        let key_id = subscription.metadata_value("keyId").ok_or_else(|| {
            ProviderError::InvalidRequest("subscription metadata has no keyId".to_owned())
        })?;
        self.state().keys.retain(|_, key| key.key_id != key_id);
        Ok(())
    }

    async fn health(&self) -> Health {
        self.state().health.clone().unwrap_or_else(Health::healthy)
    }

    fn inventory(&self) -> Option<&dyn Inventory> {
        Some(self)
    }
}

/// The drift inventory: the APIs in memory, each plan's APIs, and the issued keys (named
/// `memory-{subscriptionId}`).
#[async_trait]
impl Inventory for MemoryProvider {
    async fn catalogue(&self, api_ids: &BTreeSet<String>) -> Result<Catalogue, ProviderError> {
        let state = self.state();
        let mut catalogue = Catalogue::default();
        for api in &state.apis {
            if api_ids.contains(&api.id) {
                catalogue.apis.insert(api.id.clone());
            }
            for plan in api.plans.iter().flatten() {
                catalogue
                    .plan_apis(&plan.id, &plan.name)
                    .insert(api.id.clone());
            }
        }
        Ok(catalogue)
    }

    async fn issued_keys(&self) -> Result<Vec<drift::IssuedCredential>, ProviderError> {
        let state = self.state();
        let plans: BTreeSet<&str> = state
            .apis
            .iter()
            .flat_map(|a| a.plans.iter().flatten().map(|p| p.id.as_str()))
            .collect();
        Ok(state
            .keys
            .iter()
            .map(|(subscription, key)| drift::IssuedCredential {
                id: key.key_id.clone(),
                name: format!("memory-{subscription}"),
                subscription_id: Some(subscription.clone()),
                api_id: Some(key.api_id.clone()),
                plans: key
                    .plan_id
                    .iter()
                    .filter(|p| plans.contains(p.as_str()))
                    .cloned()
                    .collect(),
                unused: false,
            })
            .collect())
    }
}

/// A sample API: id `api-{i}`, one `API_KEY` plan `gold-{i}`, one OpenAPI page, metadata.
pub fn sample_api(i: usize) -> Api {
    let name = format!("Sample API {i}");
    let spec = format!(
        r#"{{"openapi":"3.0.1","info":{{"title":"{name}","version":"1.0.{i}"}},"paths":{{}}}}"#
    );
    let mut plan = Plan::new(format!("gold-{i}"), "Gold", PlanSecurityType::ApiKey);
    plan.description = Some("100 requests per second".to_owned());
    plan.characteristics = Some(vec!["rate 100/s".to_owned()]);
    Api::new(format!("memory:api-{i}"), format!("api-{i}"), name)
        .with_version(format!("1.0.{i}"))
        .with_description(format!("The sample API number {i}."))
        .with_connection_detail("url", format!("https://memory.example/api-{i}"))
        .with_page(Page::new(
            PageType::Swagger,
            spec,
            format!("api-{i}-oas.json"),
        ))
        .with_plan(plan)
        .with_metadata("memory-index", i.to_string())
}

/// Registers [`MemoryProvider`] under the type `memory`; its settings may set
/// `sampleApis` (how many sample APIs, default 3).
///
/// Behind the `factory` feature (on by default), which reads settings with federation-core's
/// `settings` feature (figment). A program that embeds the connector with a
/// [`MemoryProvider`] turns it off (`default-features = false`) and compiles no configuration
/// loader.
#[cfg(feature = "factory")]
#[derive(Debug, Default)]
pub struct MemoryFactory;

#[cfg(feature = "factory")]
#[async_trait]
impl federation_core::ProviderFactory for MemoryFactory {
    fn provider_type(&self) -> &'static str {
        MEMORY_TYPE
    }

    fn description(&self) -> &'static str {
        "In-memory provider for tests and demos"
    }

    fn config_keys(&self) -> &'static [&'static str] {
        &["sampleApis"]
    }

    async fn build(
        &self,
        context: federation_core::ProviderContext,
    ) -> Result<std::sync::Arc<dyn Provider>, ProviderError> {
        let count = match context.settings.get_str("sampleApis") {
            None => 3,
            Some(text) => text.trim().parse().map_err(|_| {
                context
                    .settings
                    .error("sampleApis", "is invalid: expected a number")
            })?,
        };
        Ok(std::sync::Arc::new(MemoryProvider::with_sample_apis(count)))
    }
}
