//! [`DriftBoard`]: every integration's drift memory (what was ingested, a [`Ledger`] each) and
//! last report ([`IntegrationDrift`]), kept in memory and, when configured, in a [`StateFile`].
//!
//! A state file that cannot be read or parsed is reported (log and
//! [`DriftBoard::state_problem`]) and ignored: the agent starts fresh and overwrites it on the
//! next ingest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use federation_core::drift::{Catalogue, DriftReport, IngestedApi, Ledger};
use serde_json::{Value, json};

use crate::drift::state_file::StateFile;

/// One integration's last drift check.
#[derive(Debug, Clone)]
pub struct IntegrationDrift {
    /// The integration id.
    pub integration_id: String,
    /// When the check ran.
    pub checked_at: SystemTime,
    /// What triggered it (`discover`, `ingest`, `fetch`, `command`).
    pub trigger: String,
    /// The report.
    pub report: DriftReport,
}

impl IntegrationDrift {
    /// The JSON form (the health detail's and the `drift` command's): the report's fields plus
    /// `integrationId`, `checkedAt` (milliseconds since the Unix epoch) and `trigger`.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(&self.report).unwrap_or_else(|_| json!({}));
        if let Value::Object(map) = &mut value {
            map.insert("integrationId".into(), json!(self.integration_id));
            map.insert(
                "checkedAt".into(),
                json!(
                    self.checked_at
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64)
                ),
            );
            map.insert("trigger".into(), json!(self.trigger));
        }
        value
    }
}

#[derive(Debug, Default)]
struct State {
    ledgers: BTreeMap<String, Ledger>,
    /// Plans carried by the current ingest job, per integration, to acknowledge once it ends.
    pending_plans: BTreeMap<String, BTreeSet<String>>,
    reports: BTreeMap<String, IntegrationDrift>,
    load_problem: Option<String>,
    write_problem: Option<String>,
}

/// Every integration's drift memory and last report. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct DriftBoard {
    state: Arc<Mutex<State>>,
    file: Option<StateFile>,
    writes: Arc<tokio::sync::Mutex<()>>,
}

impl DriftBoard {
    /// A board, persisted to `state_file` when given. A state file that cannot be read is
    /// logged, reported in [`DriftBoard::state_problem`], and ignored.
    pub fn new(state_file: Option<PathBuf>) -> Self {
        let file = state_file.map(StateFile::new);
        let mut state = State::default();
        if let Some(file) = &file {
            match file.load() {
                Ok(ledgers) if file.path().exists() => {
                    tracing::info!(
                        path = %file.path().display(),
                        integrations = ledgers.len(),
                        "Drift state loaded."
                    );
                    state.ledgers = ledgers;
                }
                Ok(_) => tracing::info!(
                    path = %file.path().display(),
                    "No drift state file yet: it is written after the first ingest."
                ),
                Err(error) => {
                    tracing::warn!(%error, "Ignoring the drift state file; starting with no memory of earlier ingests.");
                    state.load_problem = Some(error.to_string());
                }
            }
        }
        Self {
            state: Arc::new(Mutex::new(state)),
            file,
            writes: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every integration's last report, by integration id.
    pub fn reports(&self) -> Vec<IntegrationDrift> {
        self.lock().reports.values().cloned().collect()
    }

    /// One integration's last report.
    pub fn report(&self, integration_id: &str) -> Option<IntegrationDrift> {
        self.lock().reports.get(integration_id).cloned()
    }

    /// Why the state file was ignored or could not be written, if it was.
    pub fn state_problem(&self) -> Option<String> {
        let state = self.lock();
        state
            .write_problem
            .clone()
            .or_else(|| state.load_problem.clone())
    }

    /// The state file's path, when one is configured.
    pub fn state_file(&self) -> Option<&Path> {
        self.file.as_ref().map(StateFile::path)
    }

    /// What is remembered for `integration_id`.
    pub fn ledger(&self, integration_id: &str) -> Ledger {
        self.lock()
            .ledgers
            .get(integration_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Remembers APIs the controller accepted for `integration_id`.
    pub fn record(&self, integration_id: &str, apis: Vec<IngestedApi>) {
        let mut state = self.lock();
        let plans: BTreeSet<String> = apis.iter().flat_map(|a| a.plans.keys().cloned()).collect();
        state
            .pending_plans
            .entry(integration_id.to_owned())
            .or_default()
            .extend(plans);
        let ledger = state.ledgers.entry(integration_id.to_owned()).or_default();
        for api in apis {
            ledger.record(api);
        }
    }

    pub(super) fn take_pending_plans(&self, integration_id: &str) -> BTreeSet<String> {
        self.lock()
            .pending_plans
            .remove(integration_id)
            .unwrap_or_default()
    }

    pub(super) fn restore_pending_plans(&self, integration_id: &str, plans: BTreeSet<String>) {
        self.lock()
            .pending_plans
            .entry(integration_id.to_owned())
            .or_default()
            .extend(plans);
    }

    pub(super) fn acknowledge(
        &self,
        integration_id: &str,
        plans: &BTreeSet<String>,
        now: &Catalogue,
    ) {
        if let Some(ledger) = self.lock().ledgers.get_mut(integration_id) {
            ledger.acknowledge(plans, now);
        }
    }

    pub(super) fn publish(&self, drift: IntegrationDrift) {
        self.lock()
            .reports
            .insert(drift.integration_id.clone(), drift);
    }

    /// Writes the state file (when configured). A failure is logged and shown as the state
    /// problem; the memory is kept.
    pub(super) async fn persist(&self) {
        let Some(file) = self.file.clone() else {
            return;
        };
        let _one_writer = self.writes.lock().await;
        let ledgers = self.lock().ledgers.clone();
        let result = tokio::task::spawn_blocking(move || file.save(&ledgers)).await;
        let problem = match result {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(join) => Some(format!("writing the drift state file failed: {join}")),
        };
        if let Some(problem) = &problem {
            tracing::warn!(error = %problem, "Could not write the drift state file; drift memory is kept in this process only.");
        }
        self.lock().write_problem = problem;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::state_file::StateError;

    #[test]
    fn a_corrupt_or_unreadable_state_file_is_reported_and_ignored() {
        let dir = std::env::temp_dir().join(format!("drift-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        std::fs::write(&path, b"{not json").unwrap();
        let board = DriftBoard::new(Some(path.clone()));
        let problem = board.state_problem().unwrap();
        assert!(problem.contains("state.json"), "{problem}");
        assert!(board.ledger("i").is_empty());
        std::fs::write(&path, br#"{"version": 9}"#).unwrap();
        assert!(matches!(
            StateFile::new(&path).load(),
            Err(StateError::Corrupt { .. })
        ));
        // Unreadable (a directory where the file should be): reported, ignored.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let board = DriftBoard::new(Some(path.clone()));
        assert!(board.state_problem().is_some());
        assert!(matches!(
            StateFile::new(&path).load(),
            Err(StateError::Io { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
