//! From configuration to providers.

use std::path::PathBuf;

use federation_config::{AgentConfig, ConfigLoader, LoadedConfig};
use federation_connector::Integration;
use federation_core::{ProviderContext, ProviderRegistry};

use crate::error::AppError;

/// Loads `gravitee.yml` (if any) and the `gravitee_*` environment, resolves `secret://`
/// references, and validates the result against the registry's provider types.
pub async fn load_config(
    config_file: Option<PathBuf>,
    registry: &ProviderRegistry,
) -> Result<LoadedConfig, AppError> {
    Ok(loader(config_file, registry).load().await?)
}

/// [`load_config`] for a command that never contacts the controller (the operator tools and
/// `drift`): only the providers' settings are needed; the connector's
/// `integration.connector.ws.*` settings and `cloud.token` are neither required nor checked
/// ([`ConfigLoader::without_controller`]).
pub async fn load_tool_config(
    config_file: Option<PathBuf>,
    registry: &ProviderRegistry,
) -> Result<LoadedConfig, AppError> {
    Ok(loader(config_file, registry)
        .without_controller()
        .load()
        .await?)
}

fn loader(config_file: Option<PathBuf>, registry: &ProviderRegistry) -> ConfigLoader {
    ConfigLoader::new()
        .config_file(config_file)
        .provider_keys(registry.config_keys())
        .known_provider_types(registry.types())
}

/// Builds one provider per `integration.providers[i]` entry, through the registry: the factory
/// registered for the entry's `type` builds it, and a provider declaring another type than its
/// factory's (hence than the configured one) is a configuration error naming both.
pub async fn build_integrations(
    config: &AgentConfig,
    registry: &ProviderRegistry,
) -> Result<Vec<Integration>, AppError> {
    let mut integrations = Vec::with_capacity(config.integration.providers.len());
    for (index, entry) in config.integration.providers.iter().enumerate() {
        let context = ProviderContext {
            integration_id: entry.integration_id.clone(),
            settings: entry.configuration.clone(),
        };
        let provider = registry
            .build(&entry.provider_type, context)
            .await
            .map_err(|e| AppError::Provider {
                index,
                provider_type: entry.provider_type.clone(),
                message: e.to_string(),
            })?;
        tracing::info!(
            index,
            integration = %entry.integration_id,
            provider = %entry.provider_type,
            "Provider ready."
        );
        integrations.push(Integration::of(entry.integration_id.clone(), provider));
    }
    Ok(integrations)
}
