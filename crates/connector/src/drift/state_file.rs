//! [`StateFile`]: every integration's drift [`Ledger`] on disk, as JSON
//! (`integration.connector.drift.stateFile`), written atomically.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use federation_core::drift::Ledger;
use serde_json::{Value, json};

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

#[cfg(test)]
mod tests {
    use federation_core::drift::IngestedApi;

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
}
