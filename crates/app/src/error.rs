//! [`AppError`]: why an agent binary stops with a non-zero exit code.

use federation_config::ConfigError;
use federation_connector::ConnectorError;

/// A reason to exit non-zero, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration is invalid (exit code 2).
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    /// A provider could not be built from its settings (exit code 2).
    #[error("configuration error: integration.providers[{index}] ({provider_type}): {message}")]
    Provider {
        /// The provider entry's index.
        index: usize,
        /// Its type.
        provider_type: String,
        /// What went wrong.
        message: String,
    },
    /// The management HTTP service cannot start as configured: its port is taken, its host
    /// does not resolve, its authentication type is unknown (exit code 2).
    #[error("configuration error: {key} {message}")]
    Management {
        /// The `services.core.http.*` key to change.
        key: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The connector could not start or was stopped by the controller (exit code 1).
    #[error("{0}")]
    Connector(#[from] ConnectorError),
    /// Anything else that stops the agent (exit code 1).
    #[error("{0}")]
    Other(String),
}

impl AppError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Provider { .. } | Self::Management { .. } => 2,
            Self::Connector(ConnectorError::HelloRejected { .. }) => 1,
            Self::Connector(
                ConnectorError::NoEndpoint
                | ConnectorError::InvalidEndpoint { .. }
                | ConnectorError::InvalidSetting { .. }
                | ConnectorError::NoIntegration,
            ) => 2,
            Self::Connector(_) | Self::Other(_) => 1,
        }
    }
}
