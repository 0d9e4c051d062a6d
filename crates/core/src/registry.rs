//! [`ProviderFactory`] and [`ProviderRegistry`]: from `integration.providers[i].type` to a
//! running [`Provider`].
//!
//! Each provider crate exports one factory. A binary registers the factories it was built with;
//! at start-up the registry builds one provider per configured entry. The registry is also where
//! the configuration loader learns each provider's keys, to map an all-uppercase environment
//! variable (`..._CONFIGURATION_ACCESSKEYID`) to its camelCase key (`accessKeyId`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::provider::Provider;
use crate::settings::ProviderSettings;

/// Builds providers of one type.
#[async_trait]
pub trait ProviderFactory: Send + Sync + 'static {
    /// The type string: the value of `integration.providers[i].type` and of HELLO's `provider`
    /// (for example `aws-api-gateway`).
    fn provider_type(&self) -> &'static str;

    /// One line for `--help` and error messages.
    fn description(&self) -> &'static str;

    /// The camelCase keys this provider reads from its `configuration` block: nested keys
    /// dotted, list elements with `[]` (`plans[].id`). Used to resolve all-uppercase environment
    /// variables (`..._CONFIGURATION_PLANS_0_ID` → `plans[0].id`).
    fn config_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Builds a provider from its context. Bad settings fail here, with an error naming the key.
    async fn build(&self, context: ProviderContext) -> Result<Arc<dyn Provider>, ProviderError>;
}

/// What a factory gets to build one provider.
#[derive(Debug, Clone)]
pub struct ProviderContext {
    /// The integration id the provider serves (`integration.providers[i].integrationId`).
    pub integration_id: String,
    /// Its `configuration` block.
    pub settings: ProviderSettings,
}

/// The provider types a binary was built with.
#[derive(Clone, Default)]
pub struct ProviderRegistry {
    factories: BTreeMap<&'static str, Arc<dyn ProviderFactory>>,
}

impl ProviderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a factory (replacing one of the same type).
    pub fn with(mut self, factory: impl ProviderFactory) -> Self {
        self.register(Arc::new(factory));
        self
    }

    /// Adds a factory (replacing one of the same type).
    pub fn register(&mut self, factory: Arc<dyn ProviderFactory>) {
        self.factories.insert(factory.provider_type(), factory);
    }

    /// The factory for `provider_type`.
    pub fn get(&self, provider_type: &str) -> Option<&Arc<dyn ProviderFactory>> {
        self.factories.get(provider_type)
    }

    /// The registered types, sorted.
    pub fn types(&self) -> Vec<&'static str> {
        self.factories.keys().copied().collect()
    }

    /// Every registered factory.
    pub fn factories(&self) -> impl Iterator<Item = &Arc<dyn ProviderFactory>> {
        self.factories.values()
    }

    /// The union of the providers' configuration keys.
    pub fn config_keys(&self) -> Vec<&'static str> {
        let mut keys: Vec<_> = self
            .factories
            .values()
            .flat_map(|f| f.config_keys().iter().copied())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}
