//! [`ProviderFactory`] and [`ProviderRegistry`]: from `integration.providers[i].type` to a
//! running [`Provider`].
//!
//! Each provider crate exports one factory. A binary registers the factories it was built with;
//! at start-up the registry builds one provider per configured entry. The registry is also where
//! the configuration loader learns each provider's keys, to map an all-uppercase environment
//! variable (`..._CONFIGURATION_ACCESSKEYID`) to its camelCase key (`accessKeyId`).
//!
//! A provider type is said twice in a provider crate, on purpose: the factory's
//! [`ProviderFactory::provider_type`] picks the factory before any provider exists, and the
//! provider's [`Provider::provider_type`] is what the connector sends in HELLO. Both return the
//! same constant; [`ProviderRegistry::build`] refuses a provider whose type differs from its
//! factory's, so a slip fails at start-up rather than as a HELLO the controller rejects.

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
    /// (for example `aws-api-gateway`). Every provider this factory builds returns the same
    /// from [`Provider::provider_type`]; [`ProviderRegistry::build`] checks it.
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
    /// Binaries call it through [`ProviderRegistry::build`], which also checks the built
    /// provider's type.
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

    /// Builds the provider of one `integration.providers[i]` entry: the factory registered for
    /// `provider_type` builds it from `context`, and the provider must declare that same type
    /// ([`Provider::provider_type`]), or it is refused ([`BuildError::TypeMismatch`]).
    pub async fn build(
        &self,
        provider_type: &str,
        context: ProviderContext,
    ) -> Result<Arc<dyn Provider>, BuildError> {
        let factory = self
            .get(provider_type)
            .ok_or_else(|| BuildError::UnknownType {
                provider_type: provider_type.to_owned(),
                known: self.types(),
            })?;
        let provider = factory.build(context).await.map_err(BuildError::Build)?;
        let declared = provider.provider_type();
        if declared != factory.provider_type() {
            return Err(BuildError::TypeMismatch {
                factory: factory.provider_type(),
                declared: declared.to_owned(),
            });
        }
        Ok(provider)
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

/// Why [`ProviderRegistry::build`] gave no provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No factory is registered for the type.
    #[error("unknown provider type; this binary knows: {}", known.join(", "))]
    UnknownType {
        /// The type asked for.
        provider_type: String,
        /// The registered types, sorted.
        known: Vec<&'static str>,
    },
    /// The factory failed (bad settings, most often).
    #[error("{}", .0.details())]
    Build(#[source] ProviderError),
    /// The factory built a provider that declares another type.
    #[error(
        "factory `{factory}` built a provider that declares type `{declared}`; they must be equal"
    )]
    TypeMismatch {
        /// The factory's [`ProviderFactory::provider_type`].
        factory: &'static str,
        /// The provider's [`Provider::provider_type`].
        declared: String,
    },
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Subscription, SubscriptionResult};
    use crate::provider::DiscoverRequest;
    use crate::settings::ProviderSettings;
    use crate::sink::ApiSink;

    /// Declares whatever type it was built with.
    #[derive(Debug)]
    struct Declares(&'static str);

    #[async_trait]
    impl Provider for Declares {
        fn provider_type(&self) -> &str {
            self.0
        }
        async fn discover(&self, _: &DiscoverRequest, _: &ApiSink) -> Result<(), ProviderError> {
            Ok(())
        }
        async fn subscribe(
            &self,
            _: &str,
            s: &Subscription,
        ) -> Result<SubscriptionResult, ProviderError> {
            Ok(SubscriptionResult::new(&s.gravitee_subscription_id))
        }
        async fn revoke(&self, _: &str, _: &Subscription) -> Result<(), ProviderError> {
            Ok(())
        }
    }

    /// Registered as `acme`; builds a provider declaring `declares`, or fails.
    struct Acme {
        declares: &'static str,
        fails: bool,
    }

    #[async_trait]
    impl ProviderFactory for Acme {
        fn provider_type(&self) -> &'static str {
            "acme"
        }
        fn description(&self) -> &'static str {
            "test"
        }
        async fn build(&self, ctx: ProviderContext) -> Result<Arc<dyn Provider>, ProviderError> {
            if self.fails {
                return Err(ctx.settings.error("region", "is required").into());
            }
            Ok(Arc::new(Declares(self.declares)))
        }
    }

    fn context() -> ProviderContext {
        ProviderContext {
            integration_id: "int-1".to_owned(),
            settings: ProviderSettings::default(),
        }
    }

    fn registry(declares: &'static str, fails: bool) -> ProviderRegistry {
        ProviderRegistry::new().with(Acme { declares, fails })
    }

    #[tokio::test]
    async fn a_provider_declaring_its_factorys_type_is_built() {
        let provider = registry("acme", false)
            .build("acme", context())
            .await
            .unwrap();
        assert_eq!(provider.provider_type(), "acme");
    }

    #[tokio::test]
    async fn a_provider_declaring_another_type_is_refused_naming_both() {
        for declared in ["acme-gateway", "", "acme "] {
            let error = registry(declared, false)
                .build("acme", context())
                .await
                .unwrap_err();
            assert!(matches!(error, BuildError::TypeMismatch { .. }), "{error}");
            assert_eq!(
                error.to_string(),
                format!(
                    "factory `acme` built a provider that declares type `{declared}`; \
                     they must be equal"
                )
            );
        }
    }

    #[tokio::test]
    async fn unknown_types_and_factory_errors_say_why() {
        let error = registry("acme", false)
            .build("nope", context())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown provider type; this binary knows: acme"
        );
        let error = registry("acme", true)
            .build("acme", context())
            .await
            .unwrap_err();
        assert!(matches!(error, BuildError::Build(_)), "{error}");
        assert!(error.to_string().contains("region"), "{error}");
    }
}
