//! Shortcuts for programs embedding the connector: a [`Connector`] from an endpoint and a token,
//! or from a [`ConnectorConfig`] built in code, and an [`Integration`] whose provider type is the
//! provider's own.

use std::sync::Arc;

use federation_connector_config::{ConnectorConfig, ProxyConfig};
use federation_core::Provider;

use crate::connector::{Connector, Integration};
use crate::error::ConnectorError;

impl Connector {
    /// A connector for one controller endpoint
    /// (`https://apim.example.com/integration-controller`) and its bearer token, every other
    /// setting at its default (platform roots for TLS, no proxy). Fails on an endpoint that is
    /// not a URL.
    pub fn for_controller(
        endpoint: impl Into<String>,
        token: &str,
    ) -> Result<Self, ConnectorError> {
        Self::from_config(&ConnectorConfig::for_controller(endpoint, token))
    }

    /// A connector from a configuration built in code, for TLS stores (`config.ws.ssl`), a
    /// proxy (`config.ws.proxy`), more headers or other limits. Start from
    /// [`ConnectorConfig::for_controller`]. `ws.proxy.useSystemProxy` reads nothing here: set
    /// the proxy itself, or use [`Connector::new`] with the `system.proxy.*` settings.
    pub fn from_config(config: &ConnectorConfig) -> Result<Self, ConnectorError> {
        Self::new(config, &ProxyConfig::default())
    }
}

impl Integration {
    /// An integration whose HELLO `provider` is the provider's own
    /// [`Provider::provider_type`]. A provider that does not declare one (the default, `""`)
    /// makes [`Connector::run`] fail at once; use [`Integration::new`] to give the type.
    pub fn of(integration_id: impl Into<String>, provider: Arc<dyn Provider>) -> Self {
        let provider_type = provider.provider_type().to_owned();
        Self::new(integration_id, provider_type, provider)
    }
}

/// The error for an integration without a provider type.
pub(crate) fn no_provider_type(integration_id: &str) -> ConnectorError {
    ConnectorError::InvalidSetting {
        key: "integration.providers[].type".to_owned(),
        reason: format!(
            "integration {integration_id} has no provider type: implement \
             Provider::provider_type, or give the type with Integration::new"
        ),
    }
}
