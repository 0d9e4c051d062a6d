//! The smallest provider that keeps the provider contract: two fixed APIs with one plan each,
//! API keys kept in memory. `src/main.rs` is its agent binary. For settings, a vendor client
//! and a scripted demo, see `examples/custom-provider`.
//!
//! The factory, [`MinimalFactory`], is behind the `factory` feature (on by default): it reads
//! settings with federation-core's `settings` feature, which brings figment. A program that
//! embeds the connector and builds [`MinimalProvider`] itself depends on this crate with
//! `default-features = false` and compiles no configuration loader.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use federation_core::{
    Api, ApiSink, Depth, DiscoverRequest, Plan, PlanSecurityType, Provider, ProviderError,
    Subscription, SubscriptionResult,
};

/// The provider type, said once: `integration.providers[i].type` and HELLO's `provider`.
pub const PROVIDER_TYPE: &str = "minimal";

/// Two fixed APIs; one API key per subscription.
#[derive(Debug, Default)]
pub struct MinimalProvider {
    /// `graviteeSubscriptionId` → key.
    keys: Mutex<HashMap<String, String>>,
    issued: AtomicU64,
}

impl MinimalProvider {
    fn keys(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key` is issued and not revoked (what the vendor would check).
    pub fn is_key_active(&self, key: &str) -> bool {
        self.keys().values().any(|k| k == key)
    }
}

#[async_trait]
impl Provider for MinimalProvider {
    fn provider_type(&self) -> &str {
        PROVIDER_TYPE
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        for id in ["orders", "billing"]
            .into_iter()
            .filter(|id| request.selection.includes(id))
        {
            let mut api =
                Api::new(format!("minimal:{id}"), id, format!("The {id} API")).with_version("v1");
            if request.depth == Depth::Full {
                api = api.with_plan(Plan::new("standard", "Standard", PlanSecurityType::ApiKey));
            }
            sink.emit(api).await?; // Err(Cancelled): stop
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        _api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        // API_KEY only (the default capabilities): the connector refuses other types itself.
        let id = &subscription.gravitee_subscription_id;
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        // Delivered twice: the same key comes back, so one credential works.
        let key = self
            .keys()
            .entry(id.clone())
            .or_insert_with(|| format!("minimal-key-{n}"))
            .clone();
        Ok(SubscriptionResult::new(id).with_api_key(key))
    }

    async fn revoke(
        &self,
        _api_id: &str,
        subscription: &Subscription,
    ) -> Result<(), ProviderError> {
        self.keys().remove(&subscription.gravitee_subscription_id); // already gone: success too
        Ok(())
    }
}

#[cfg(feature = "factory")]
pub use factory::MinimalFactory;

#[cfg(feature = "factory")]
mod factory {
    use std::sync::Arc;

    use async_trait::async_trait;
    use federation_core::{Provider, ProviderContext, ProviderError, ProviderFactory};

    use super::{MinimalProvider, PROVIDER_TYPE};

    /// Builds [`MinimalProvider`]s for `type: minimal` (it reads no settings).
    #[derive(Debug)]
    pub struct MinimalFactory;

    #[async_trait]
    impl ProviderFactory for MinimalFactory {
        fn provider_type(&self) -> &'static str {
            PROVIDER_TYPE
        }

        fn description(&self) -> &'static str {
            "Two fixed APIs, API keys in memory"
        }

        async fn build(
            &self,
            _context: ProviderContext,
        ) -> Result<Arc<dyn Provider>, ProviderError> {
            Ok(Arc::new(MinimalProvider::default()))
        }
    }
}
