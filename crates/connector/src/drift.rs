//! Catalogue drift, live: the connector remembers what it ingested per integration (from the
//! INGEST batches the controller accepted and the APIM 4.4 FETCH replies it sent), and after
//! each DISCOVER and each ingest compares it with what the vendor shows now
//! ([`federation_core::drift::compare`]).
//!
//! The outcome goes to a [`DriftBoard`] (read by the management service's health detail and by
//! tests), to one summary log line per check (warn when something drifted, each item at debug),
//! and to the `federation_drift_items{integration,kind}` gauge.
//!
//! The memory is optionally persisted to a [`StateFile`] (`integration.connector.drift.stateFile`,
//! absent by default so a container stays stateless), written atomically after each change. A
//! state file that cannot be read or parsed is reported (log and health detail) and ignored:
//! the agent starts fresh and overwrites it on the next ingest.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use federation_core::drift::{self, DriftReport, IngestedApi, Ledger, Observed};
use federation_core::{Api, DiscoverRequest, DriftKind, Provider, ProviderError, collect};
use federation_protocol::{Reply, ReplyPayload};
use serde_json::{Value, json};

use crate::context::ChannelContext;
use crate::handler::{FollowUp, Outcome};

/// Items in the last drift report, by `integration` and `kind` (a gauge).
pub const DRIFT_ITEMS: &str = "federation_drift_items";

/// Version written in the state file.
const STATE_VERSION: u64 = 1;

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("drift state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The content is not a drift state.
    #[error("drift state file {path} is not a valid drift state: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The drift state file: every integration's [`Ledger`], as JSON.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every integration's ledger. A missing file is an empty state.
    pub fn load(&self) -> Result<BTreeMap<String, Ledger>, StateError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BTreeMap::new());
            }
            Err(source) => {
                return Err(StateError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let corrupt = |reason: String| StateError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        match value.get("version").and_then(Value::as_u64) {
            Some(STATE_VERSION) => {}
            other => {
                return Err(corrupt(format!(
                    "unsupported version {other:?} (expected {STATE_VERSION})"
                )));
            }
        }
        let integrations = value
            .get("integrations")
            .cloned()
            .unwrap_or_else(|| json!({}));
        serde_json::from_value(integrations).map_err(|e| corrupt(e.to_string()))
    }

    /// Writes every integration's ledger atomically: a temporary file in the same directory,
    /// flushed to disk, then renamed over the state file.
    pub fn save(&self, ledgers: &BTreeMap<String, Ledger>) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: self.path.clone(),
            source,
        };
        let body = json!({ "version": STATE_VERSION, "integrations": ledgers });
        let bytes = serde_json::to_vec_pretty(&body).map_err(|e| io(std::io::Error::other(e)))?;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        let name = self.path.file_name().map_or_else(
            || "drift-state".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            io(e)
        })
    }
}

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

    fn take_pending_plans(&self, integration_id: &str) -> BTreeSet<String> {
        self.lock()
            .pending_plans
            .remove(integration_id)
            .unwrap_or_default()
    }

    fn restore_pending_plans(&self, integration_id: &str, plans: BTreeSet<String>) {
        self.lock()
            .pending_plans
            .entry(integration_id.to_owned())
            .or_default()
            .extend(plans);
    }

    fn acknowledge(&self, integration_id: &str, plans: &BTreeSet<String>, now: &drift::Catalogue) {
        if let Some(ledger) = self.lock().ledgers.get_mut(integration_id) {
            ledger.acknowledge(plans, now);
        }
    }

    fn publish(&self, drift: IntegrationDrift) {
        self.lock()
            .reports
            .insert(drift.integration_id.clone(), drift);
    }

    /// Writes the state file (when configured). A failure is logged and shown as the state
    /// problem; the memory is kept.
    async fn persist(&self) {
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

/// What to remember of an INGEST batch before it is sent.
pub(crate) fn remember(apis: &[Api]) -> Vec<IngestedApi> {
    let now = unix_seconds(SystemTime::now());
    apis.iter().map(|a| IngestedApi::from_api(a, now)).collect()
}

/// Hook after a DISCOVER reply: a complete preview is the list of APIs that exist now.
pub(crate) fn after_discover(ctx: &Arc<ChannelContext>, reply: Reply) -> Outcome {
    let preview = match &reply.payload {
        Some(ReplyPayload::Discover(p)) if reply.is_success() && !p.is_partial_discovery => {
            Some(p.apis.iter().map(|a| a.id.clone()).collect::<BTreeSet<_>>())
        }
        _ => None,
    };
    let then = preview.map(|ids| {
        let ctx = ctx.clone();
        Box::pin(async move { check(&ctx, Some(ids), "discover").await }) as FollowUp
    });
    Outcome { reply, then }
}

/// Hook after a FETCH reply (APIM 4.4): the APIs sent are ingested.
pub(crate) fn after_fetch(ctx: &Arc<ChannelContext>, reply: Reply) -> Outcome {
    let then = match &reply.payload {
        Some(ReplyPayload::Fetch(p)) if reply.is_success() && !p.apis.is_empty() => {
            ctx.drift.record(&ctx.integration_id, remember(&p.apis));
            let ctx = ctx.clone();
            Some(Box::pin(async move { after_ingest(&ctx, "fetch").await }) as FollowUp)
        }
        _ => None,
    };
    Outcome { reply, then }
}

/// Hook after the last INGEST batch was accepted.
pub(crate) async fn after_ingest(ctx: &ChannelContext, trigger: &str) {
    check(ctx, None, trigger).await;
}

/// Runs one check for the channel's integration and publishes it.
async fn check(ctx: &ChannelContext, preview: Option<BTreeSet<String>>, trigger: &str) {
    let board = &ctx.drift;
    let integration = &ctx.integration_id;
    let acknowledging = board.take_pending_plans(integration);
    let mut ledger = board.ledger(integration);
    if ledger.is_empty() {
        tracing::debug!(trigger, "Drift check skipped: nothing ingested yet.");
        return;
    }
    let (observed, catalogue) = observe(ctx.provider.as_ref(), &ledger, preview).await;
    match &catalogue {
        Some(catalogue) if !acknowledging.is_empty() => {
            board.acknowledge(integration, &acknowledging, catalogue);
            ledger = board.ledger(integration);
        }
        // The vendor could not be read: acknowledge at the next check instead.
        None if !acknowledging.is_empty() => {
            board.restore_pending_plans(integration, acknowledging)
        }
        _ => {}
    }
    let report = drift::compare(&ledger, &observed);
    announce(integration, trigger, &report);
    // Persisted first: a published report means the memory behind it is on disk.
    board.persist().await;
    board.publish(IntegrationDrift {
        integration_id: integration.clone(),
        checked_at: SystemTime::now(),
        trigger: trigger.to_owned(),
        report,
    });
}

/// Asks the vendor what it shows now: through the provider's [`Inventory`] when it has one,
/// else from `preview` (a complete DISCOVER's ids) or a preview discovery run here. Also returns
/// the inventory's catalogue, to acknowledge plan coverage after an ingest.
///
/// [`Inventory`]: federation_core::Inventory
pub async fn observe(
    provider: &dyn Provider,
    ledger: &Ledger,
    preview: Option<BTreeSet<String>>,
) -> (Observed, Option<drift::Catalogue>) {
    let mut observed = Observed::default();
    let ids: BTreeSet<String> = ledger.apis.keys().cloned().collect();
    let Some(inventory) = provider.inventory() else {
        observed.apis = match preview {
            Some(ids) => Some(ids),
            None => match collect(provider, &DiscoverRequest::preview()).await {
                Ok(apis) => Some(apis.into_iter().map(|a| a.id).collect()),
                Err(error) => {
                    observed
                        .unchecked
                        .push(format!("apis: discovery failed: {}", error.details()));
                    None
                }
            },
        };
        observed
            .unchecked
            .push("plans and keys: the provider offers no inventory".to_owned());
        return (observed, None);
    };
    let (catalogue, keys) = tokio::join!(inventory.catalogue(&ids), inventory.issued_keys());
    let catalogue = match catalogue {
        Ok(catalogue) => {
            observed.apis = Some(catalogue.apis.clone());
            observed.plans = Some(catalogue.plans.clone());
            Some(catalogue)
        }
        Err(error) => {
            observed.unchecked.push(format!(
                "apis and plans: the vendor could not be read: {}",
                error.details()
            ));
            None
        }
    };
    observed.keys = Some(keys.map_err(|error| match error {
        ProviderError::PermissionDenied(text) => format!("not listed: {text}"),
        other => format!("not listed: {}", other.details()),
    }));
    (observed, catalogue)
}

/// The summary log line, the debug list and the gauges.
fn announce(integration: &str, trigger: &str, report: &DriftReport) {
    for kind in DriftKind::ALL {
        metrics::gauge!(
            DRIFT_ITEMS,
            "integration" => integration.to_owned(),
            "kind" => kind.as_str()
        )
        .set(report.count(kind) as f64);
    }
    let counts: Vec<String> = DriftKind::ALL
        .iter()
        .filter(|k| report.count(**k) > 0)
        .map(|k| format!("{}={}", k.as_str(), report.count(*k)))
        .collect();
    if report.has_drift() {
        tracing::warn!(
            trigger,
            ingested = report.ingested_apis,
            changes = report.items.len(),
            kinds = %counts.join(" "),
            unchecked = report.unchecked.len(),
            "Catalogue drift: the vendor changed since ingest; Gravitee cannot see it (see `drift` in /_node/health or the drift command)."
        );
        for item in &report.items {
            tracing::debug!(
                kind = item.kind.as_str(),
                api_id = item.api_id.as_deref().unwrap_or("-"),
                plan_id = item.plan_id.as_deref().unwrap_or("-"),
                key = item.key.as_deref().unwrap_or("-"),
                action = %item.action,
                "Drift: {}",
                item.detail
            );
        }
    } else {
        tracing::info!(
            trigger,
            ingested = report.ingested_apis,
            unchecked = report.unchecked.len(),
            "No catalogue drift."
        );
    }
    for part in &report.unchecked {
        tracing::debug!(part = %part, "Drift check incomplete.");
    }
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        let mut ledger = Ledger::default();
        ledger.record(IngestedApi {
            id: "a".into(),
            unique_id: "u-a".into(),
            name: "A".into(),
            plans: [("p".to_owned(), "P".to_owned())].into(),
            ingested_at: 7,
        });
        ledger
    }

    #[test]
    fn the_state_file_round_trips_and_a_missing_file_is_empty() {
        let dir = std::env::temp_dir().join(format!("drift-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = StateFile::new(dir.join("state.json"));
        assert!(file.load().unwrap().is_empty());
        let ledgers: BTreeMap<String, Ledger> = [("i".to_owned(), ledger())].into();
        file.save(&ledgers).unwrap();
        assert_eq!(file.load().unwrap(), ledgers);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

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
