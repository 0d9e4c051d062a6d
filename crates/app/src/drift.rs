//! The `drift` operator command: what changed at the vendor since the agent ingested it, with
//! the action to take in Gravitee for each line. No controller needed.
//!
//! It reads what the agent remembers from the drift state file
//! (`integration.connector.drift.stateFile`), asks each configured provider what the vendor
//! shows now (the same vendor-neutral comparison the running agent makes after each DISCOVER
//! and ingest), and prints a table or JSON. Without a state file the memory lives only in the
//! running agent: the command says so and points at the `drift` section of `/_node/health`.
//!
//! It needs only the providers' settings and `integration.connector.drift.stateFile`, not the
//! controller's. Exit code 0 when the report is printed (drift or not); 2, with one line, when
//! the state file is not configured or not there (a configuration problem), or the rest of the
//! configuration is invalid; 1 when the file cannot be read.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::SystemTime;

use federation_config::{ConfigError, LoadedConfig};
use federation_connector::{IntegrationDrift, StateFile};
use federation_core::drift::{compare, observe};
use federation_core::{OutputFormat, ProviderRegistry, SettingsError};
use serde_json::json;

use crate::cli::AgentArgs;
use crate::error::AppError;
use crate::startup::build_integrations;

/// The command's result: one report per integration.
#[derive(Debug, Clone)]
pub struct DriftCommandReport {
    /// The state file read.
    pub state_file: String,
    /// One report per integration checked, in configuration order.
    pub integrations: Vec<IntegrationDrift>,
}

impl DriftCommandReport {
    /// Whether any integration drifted.
    pub fn has_drift(&self) -> bool {
        self.integrations.iter().any(|i| i.report.has_drift())
    }

    /// The report in `format`.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => {
                let body = json!({
                    "stateFile": self.state_file,
                    "integrations": self.integrations.iter().map(IntegrationDrift::to_json).collect::<Vec<_>>(),
                });
                let mut text = serde_json::to_string_pretty(&body).unwrap_or_default();
                text.push('\n');
                text
            }
            OutputFormat::Table => self.to_table(),
        }
    }

    fn to_table(&self) -> String {
        let mut out = String::new();
        for drift in &self.integrations {
            let report = &drift.report;
            let _ = writeln!(
                out,
                "integration {}: {} ingested API(s), {} change(s)",
                drift.integration_id,
                report.ingested_apis,
                report.items.len()
            );
            if report.ingested_apis == 0 {
                let _ = writeln!(
                    out,
                    "nothing remembered for this integration yet: the agent records what it ingests \
                     once the state file is configured"
                );
            }
            if !report.items.is_empty() {
                let rows: Vec<Vec<String>> = report
                    .items
                    .iter()
                    .map(|i| {
                        vec![
                            i.kind.as_str().to_owned(),
                            i.api_id.clone().unwrap_or_else(|| "-".into()),
                            i.plan_id.clone().unwrap_or_else(|| "-".into()),
                            i.key.clone().unwrap_or_else(|| "-".into()),
                            i.action.clone(),
                        ]
                    })
                    .collect();
                let headers = ["KIND", "API", "PLAN", "KEY", "ACTION IN GRAVITEE"];
                out.push_str(&federation_core::table::render(&headers, &rows));
            }
            for part in &report.unchecked {
                let _ = writeln!(out, "not checked: {part}");
            }
            out.push('\n');
        }
        out
    }
}

const STATE_FILE_KEY: &str = "integration.connector.drift.stateFile";

/// Builds the report: the state file's memory against what each provider shows now.
/// `only` restricts it to `integration.providers[N]`. A state file not configured or not there
/// is a configuration error (exit code 2).
pub async fn report(
    loaded: &LoadedConfig,
    registry: &ProviderRegistry,
    only: Option<usize>,
) -> Result<DriftCommandReport, AppError> {
    let config = &loaded.config;
    let path = config
        .integration
        .connector
        .drift
        .state_file
        .clone()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            loaded.missing_key(
                STATE_FILE_KEY,
                "is not set: the agent keeps what it ingested in memory only, so this command \
                 has nothing to compare; set it (the agent then remembers across restarts), or \
                 read the `drift` section of /_node/health",
            )
        })?;
    let file = StateFile::new(&path);
    if !file.path().exists() {
        return Err(AppError::Config(ConfigError::Setting(SettingsError::new(
            STATE_FILE_KEY,
            format!(
                "names {path}, which does not exist: the agent writes it after its first ingest; \
                 run this command where the agent's state file is, with the same setting"
            ),
            loaded.origins.of(STATE_FILE_KEY).map(str::to_owned),
        ))));
    }
    let ledgers = file.load().map_err(|e| AppError::Other(e.to_string()))?;
    let mut integrations = Vec::new();
    for (index, integration) in build_integrations(config, registry)
        .await?
        .into_iter()
        .enumerate()
    {
        if only.is_some_and(|n| n != index) {
            continue;
        }
        let ledger = ledgers
            .get(&integration.integration_id)
            .cloned()
            .unwrap_or_default();
        let (observed, _) = if ledger.is_empty() {
            Default::default()
        } else {
            observe(integration.provider.as_ref(), &ledger, None).await
        };
        integrations.push(IntegrationDrift {
            integration_id: integration.integration_id,
            checked_at: SystemTime::now(),
            trigger: "command".to_owned(),
            report: compare(&ledger, &observed),
        });
    }
    if integrations.is_empty() {
        return Err(AppError::Other(format!(
            "no integration.providers[{}] entry",
            only.unwrap_or_default()
        )));
    }
    Ok(DriftCommandReport {
        state_file: path,
        integrations,
    })
}

/// The whole command: configuration (the providers' settings and the state file only),
/// providers, report, print. Exit code 0 when the report is printed (drift or not), else as for
/// the agent (2 for configuration errors, a state file not configured or not there included).
pub fn main(
    binary: &str,
    args: &AgentArgs,
    registry: &ProviderRegistry,
    format: OutputFormat,
    only: Option<usize>,
) -> ExitCode {
    crate::run::one_shot(binary, args, registry, |loaded| async move {
        let report = report(&loaded, registry, only).await?;
        print!("{}", report.render(format));
        Ok(())
    })
}
