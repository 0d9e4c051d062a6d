//! Shortcuts for programs embedding the connector: a [`Connector`] from an endpoint and a token,
//! or from a [`ConnectorConfig`] built in code.

use federation_connector_config::{ConnectorConfig, ProxyConfig};

use crate::connector::Connector;
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
