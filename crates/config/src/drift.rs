//! `integration.connector.drift.*`: catalogue drift reporting (this agent's keys). The struct
//! lives with the other connector settings in `federation-connector-config`.

pub use federation_connector_config::DriftConfig;
