//! [`OpenApiFilesProvider`] and its factory, [`OpenApiFilesFactory`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use federation_core::{
    ApiSink, Capabilities, DiscoverRequest, Health, Provider, ProviderContext, ProviderError,
    ProviderFactory, ProviderSettings, Subscription, SubscriptionResult,
};

use crate::config::{CONFIG_KEYS, OpenApiFilesConfig, Resolved};
use crate::discovery::{Candidate, Skip, candidates, load};
use crate::keystore::{Grant, KeyStore, KeyStoreError, VerifiedKey};

/// The provider type: `integration.providers[i].type: openapi-files`.
pub const PROVIDER_TYPE: &str = "openapi-files";

/// The subscription metadata key holding the issued key's id.
pub const METADATA_KEY_ID: &str = "keyId";

/// Serves the OpenAPI and AsyncAPI documents of a directory tree as federated APIs, and issues
/// API keys for them from a local [`KeyStore`].
pub struct OpenApiFilesProvider {
    config: Arc<Resolved>,
    store: KeyStore,
}

impl fmt::Debug for OpenApiFilesProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenApiFilesProvider")
            .field("directory", &self.config.root)
            .field("key_store", &self.store.path())
            .finish_non_exhaustive()
    }
}

impl OpenApiFilesProvider {
    /// A provider from a typed configuration (errors name keys without a prefix).
    pub fn new(config: OpenApiFilesConfig) -> Result<Self, ProviderError> {
        Self::build(config, &ProviderSettings::default())
    }

    /// A provider from its `configuration` block; errors name the full key.
    pub fn from_settings(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        Self::build(settings.extract()?, settings)
    }

    fn build(
        config: OpenApiFilesConfig,
        settings: &ProviderSettings,
    ) -> Result<Self, ProviderError> {
        let config = Resolved::new(config, settings)?;
        let bad_store =
            |e: &dyn fmt::Display| settings.error("keyStorePath", format!("is invalid: {e}"));
        if let Some(dir) = config
            .key_store_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                bad_store(&format_args!(
                    "cannot create directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let store = KeyStore::open(&config.key_store_path).map_err(|e| bad_store(&e))?;
        tracing::info!(
            directory = %config.root.display(),
            key_store = %store.path().display(),
            active_keys = store.len(),
            "openapi-files provider ready"
        );
        Ok(Self {
            config: Arc::new(config),
            store,
        })
    }

    /// The root directory (canonical).
    pub fn directory(&self) -> &Path {
        &self.config.root
    }

    /// The key store.
    pub fn key_store(&self) -> &KeyStore {
        &self.store
    }

    /// Checks a key a consumer presented: what it grants (API, plan, subscription) if it is
    /// active. A gateway must also check that `grant.api_id` is the API being called.
    pub fn verify_key(&self, presented: &str) -> Option<VerifiedKey> {
        self.store.verify(presented)
    }
}

fn store_error(err: KeyStoreError) -> ProviderError {
    ProviderError::backend_with("the API key store could not be updated", err)
}

fn join_error(err: tokio::task::JoinError) -> ProviderError {
    ProviderError::backend_with("a file-system task failed", err)
}

#[async_trait]
impl Provider for OpenApiFilesProvider {
    fn provider_type(&self) -> &str {
        PROVIDER_TYPE
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    async fn discover(
        &self,
        request: &DiscoverRequest,
        sink: &ApiSink,
    ) -> Result<(), ProviderError> {
        let config = self.config.clone();
        let files: Vec<Candidate> = tokio::task::spawn_blocking(move || candidates(&config))
            .await
            .map_err(join_error)?
            .map_err(|e| {
                ProviderError::backend_with(
                    format!("cannot read directory {}", self.config.root.display()),
                    e,
                )
            })?;
        for candidate in files {
            if !request.selection.includes(&candidate.relative) {
                continue;
            }
            if sink.is_closed() {
                return Err(ProviderError::Cancelled);
            }
            let config = self.config.clone();
            let depth = request.depth;
            let file = candidate.clone();
            let loaded = tokio::task::spawn_blocking(move || load(&config, &file, depth))
                .await
                .map_err(join_error)?;
            match loaded {
                Ok(api) => sink.emit(api).await?,
                Err(Skip::NotAnApi) => {
                    tracing::debug!(file = %candidate.relative, "skipping a file that is not an API document");
                }
                Err(Skip::Unusable(reason)) => {
                    tracing::warn!(file = %candidate.relative, %reason, "skipping an unusable file");
                }
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        let subscription_id = subscription.gravitee_subscription_id.trim();
        if subscription_id.is_empty() {
            return Err(ProviderError::InvalidRequest(
                "the subscription has no graviteeSubscriptionId".to_owned(),
            ));
        }
        let path = self.config.document_path(api_id).ok_or_else(|| {
            ProviderError::NotFound(format!(
                "API {api_id:?}: not a document this provider serves"
            ))
        })?;
        let is_file = tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file());
        if !is_file {
            return Err(ProviderError::NotFound(format!(
                "API {api_id:?}: {} does not exist",
                path.display()
            )));
        }
        let plan_id = subscription.plan_id().map(str::to_owned);
        if let Some(plan_id) = &plan_id
            && self.config.plan(plan_id).is_none()
        {
            return Err(ProviderError::NotFound(format!(
                "plan {plan_id:?} (configured plans: {})",
                self.config
                    .plans
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let grant = Grant {
            subscription_id: subscription_id.to_owned(),
            api_id: api_id.to_owned(),
            plan_id,
            application_id: subscription.gravitee_application_id.clone(),
        };
        let issued = self.store.issue(grant).await.map_err(store_error)?;
        if issued.rotated {
            tracing::info!(
                subscription = subscription_id,
                key_id = %issued.key_id,
                "subscription delivered again: its previous key was replaced"
            );
        } else {
            tracing::info!(subscription = subscription_id, key_id = %issued.key_id, api = api_id, "API key issued");
        }
        Ok(
            SubscriptionResult::new(&subscription.gravitee_subscription_id)
                .with_api_key(issued.key)
                .with_metadata(METADATA_KEY_ID, issued.key_id),
        )
    }

    async fn revoke(
        &self,
        _api_id: &str,
        subscription: &Subscription,
    ) -> Result<(), ProviderError> {
        let subscription_id = subscription.gravitee_subscription_id.trim();
        if subscription_id.is_empty() {
            return Err(ProviderError::InvalidRequest(
                "the subscription has no graviteeSubscriptionId".to_owned(),
            ));
        }
        let revoked = self
            .store
            .revoke_subscription(subscription_id)
            .await
            .map_err(store_error)?;
        tracing::info!(subscription = subscription_id, revoked, "API key revoked");
        Ok(())
    }

    async fn health(&self) -> Health {
        match tokio::fs::metadata(&self.config.root).await {
            Ok(m) if m.is_dir() => Health::healthy(),
            _ => Health::unhealthy(format!(
                "directory {} is not readable",
                self.config.root.display()
            )),
        }
    }
}

/// Registers [`OpenApiFilesProvider`] under the type `openapi-files`.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenApiFilesFactory;

#[async_trait]
impl ProviderFactory for OpenApiFilesFactory {
    fn provider_type(&self) -> &'static str {
        PROVIDER_TYPE
    }

    fn description(&self) -> &'static str {
        "OpenAPI and AsyncAPI documents in a directory tree, with locally issued API keys"
    }

    fn config_keys(&self) -> &'static [&'static str] {
        CONFIG_KEYS
    }

    async fn build(&self, context: ProviderContext) -> Result<Arc<dyn Provider>, ProviderError> {
        let settings = context.settings;
        let provider =
            tokio::task::spawn_blocking(move || OpenApiFilesProvider::from_settings(&settings))
                .await
                .map_err(join_error)??;
        Ok(Arc::new(provider))
    }
}
