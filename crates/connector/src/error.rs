//! [`ConnectorError`]: why the connector could not start or had to stop.

/// A connector failure. Transient network failures are not errors: the connector retries them
/// with backoff. These are the ones retrying cannot fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// No controller endpoint is configured.
    #[error(
        "integration.connector.ws.endpoints is empty: set at least one controller URL \
         (gravitee_integration_connector_ws_endpoints_0=https://<apim-host>/integration-controller)"
    )]
    NoEndpoint,
    /// A configured endpoint is not usable.
    #[error("integration.connector.ws.endpoints: `{endpoint}` is invalid: {reason}")]
    InvalidEndpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// The TLS or proxy configuration is not usable.
    #[error("{key}: {reason}")]
    InvalidSetting {
        /// The configuration key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// No integration was added to the connector.
    #[error("no integration to serve: configure integration.providers[0]")]
    NoIntegration,
    /// The controller rejected the HELLO (wrong integration id, provider or permissions) of
    /// the connector's only integration. Retrying cannot help, so the connector stops.
    #[error("the controller rejected the HELLO of integration {integration_id}: {details}")]
    HelloRejected {
        /// The integration whose HELLO was rejected.
        integration_id: String,
        /// The controller's text.
        details: String,
    },
    /// The controller rejected the HELLO of every integration of the connector.
    #[error("the controller rejected the HELLO of every integration: {}", list_rejections(.rejected))]
    AllHellosRejected {
        /// `(integration id, the controller's text)`, in the order the rejections arrived.
        rejected: Vec<(String, String)>,
    },
}

fn list_rejections(rejected: &[(String, String)]) -> String {
    rejected
        .iter()
        .map(|(id, details)| format!("{id}: {details}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConnectorError {
    pub(crate) fn setting(key: &str, reason: impl Into<String>) -> Self {
        Self::InvalidSetting {
            key: key.to_owned(),
            reason: reason.into(),
        }
    }
}
