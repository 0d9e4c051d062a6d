//! The `drift` section of `GET /_node/health`: each integration's last catalogue drift report
//! (what changed at the vendor since ingest, with the action to take in Gravitee). It is
//! informative: it is always `"healthy": true` and never changes the status code.

use federation_connector::DriftBoard;
use serde_json::{Value, json};

/// The id of the section in the health body.
pub const DRIFT_SECTION: &str = "drift";

/// `{"healthy": true, "message"?: "...", "stateFile"?: "...", "stateProblem"?: "...",
/// "integrations": [<report>, …]}`; `message` summarises the changes when there are some.
pub fn section(board: &DriftBoard) -> Value {
    let reports = board.reports();
    let changes: usize = reports.iter().map(|r| r.report.items.len()).sum();
    let mut section = json!({
        "healthy": true,
        "integrations": reports.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
    });
    if let Value::Object(map) = &mut section {
        if changes > 0 {
            map.insert(
                "message".into(),
                json!(format!(
                    "{changes} change(s) at the vendor since ingest need an action in Gravitee"
                )),
            );
        }
        if let Some(path) = board.state_file() {
            map.insert("stateFile".into(), json!(path.display().to_string()));
        }
        if let Some(problem) = board.state_problem() {
            map.insert("stateProblem".into(), json!(problem));
        }
    }
    section
}

/// Adds the section to a health body (a JSON object).
pub(crate) fn add_to(body: &mut Value, board: &DriftBoard) {
    if let Value::Object(map) = body {
        map.insert(DRIFT_SECTION.to_owned(), section(board));
    }
}
