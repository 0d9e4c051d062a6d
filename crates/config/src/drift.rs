//! `integration.connector.drift.*`: catalogue drift reporting (this agent's keys).

use serde::Deserialize;

/// `integration.connector.drift.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DriftConfig {
    /// `stateFile`: where the agent remembers what it ingested, so drift reports survive a
    /// restart. Absent by default: the memory then lasts as long as the process.
    pub state_file: Option<String>,
}
