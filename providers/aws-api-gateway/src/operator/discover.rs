//! `discover`: what discovery would ingest, and why each stage or API was left out.

use std::fmt::Write as _;
use std::sync::Mutex;

use federation_core::table::{self, OutputFormat};
use federation_core::{Api, DiscoverRequest, ProviderError, ProviderSettings, Selection};
use serde::Serialize;

use crate::discovery::Collected;
use crate::provider::AwsApiGatewayProvider;

use super::SkippedStage;

/// What `discover` does.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Fetch full definitions (exports included), as an ingest would; else a preview.
    pub full: bool,
    /// Only these provider ids (`{restApiId}:{stage}`, `http/{apiId}/{stage}`); empty means all.
    pub only: Vec<String>,
}

/// The result of [`discover`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryReport {
    /// The account/region labels walked.
    pub targets: Vec<String>,
    /// Whether definitions are full (pages fetched) or previews.
    pub full: bool,
    /// What would be ingested.
    pub apis: Vec<Api>,
    /// What was left out, and why (a failed export included: an ingest leaves it out too).
    pub skipped: Vec<SkippedStage>,
    /// Problems that did not leave anything out (none are reported today; a failed export is
    /// among the skipped).
    pub warnings: Vec<String>,
}

impl DiscoveryReport {
    /// The report in `format`.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Table => self.to_table(),
            OutputFormat::Json => serde_json::to_string_pretty(self).unwrap_or_default(),
        }
    }

    /// Text tables: the APIs, then the skipped stages with reasons, then warnings.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let rows: Vec<Vec<String>> = self
            .apis
            .iter()
            .map(|api| {
                let plans = api
                    .plans
                    .iter()
                    .flatten()
                    .map(|p| format!("{} ({})", p.name, p.id))
                    .collect::<Vec<_>>()
                    .join(", ");
                let pages = api.pages.as_ref().map_or(0, Vec::len);
                vec![
                    api.id.clone(),
                    api.name.clone(),
                    api.version.clone().unwrap_or_default(),
                    if plans.is_empty() {
                        "-".to_owned()
                    } else {
                        plans
                    },
                    if self.full {
                        pages.to_string()
                    } else {
                        "-".to_owned()
                    },
                    api.unique_id.clone(),
                ]
            })
            .collect();
        let _ = writeln!(
            out,
            "{} API(s) in {} ({})",
            self.apis.len(),
            self.targets.join(", "),
            if self.full { "full" } else { "preview" }
        );
        out.push_str(&table::render(
            &["ID", "NAME", "STAGE", "PLANS", "PAGES", "UNIQUE ID"],
            &rows,
        ));
        if !self.skipped.is_empty() {
            let _ = writeln!(out, "\n{} skipped:", self.skipped.len());
            let rows: Vec<Vec<String>> = self
                .skipped
                .iter()
                .map(|s| {
                    vec![
                        s.target.clone(),
                        s.rest_api_id.clone(),
                        s.stage.clone().unwrap_or_else(|| "-".to_owned()),
                        s.reason.clone(),
                    ]
                })
                .collect();
            out.push_str(&table::render(&["TARGET", "API", "STAGE", "WHY"], &rows));
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings:");
            for warning in &self.warnings {
                let _ = writeln!(out, "  {warning}");
            }
        }
        out
    }
}

/// Runs discovery with the provider configured by `settings` and explains what it left out.
pub async fn discover(
    settings: &ProviderSettings,
    options: &DiscoverOptions,
) -> Result<DiscoveryReport, ProviderError> {
    let provider = AwsApiGatewayProvider::from_settings(settings)?;
    discover_with(&provider, options).await
}

/// [`discover`] with a built provider. Every REST API's stages are fetched (one `GetStages` per
/// API) so that skipped stages can be explained, even in preview.
pub async fn discover_with(
    provider: &AwsApiGatewayProvider,
    options: &DiscoverOptions,
) -> Result<DiscoveryReport, ProviderError> {
    let selection = if options.only.is_empty() {
        Selection::All
    } else {
        Selection::Only(options.only.iter().cloned().collect())
    };
    let request = if options.full {
        DiscoverRequest::full(selection)
    } else {
        DiscoverRequest {
            depth: federation_core::Depth::Preview,
            selection,
        }
    };
    let collected = Mutex::new(Collected::default());
    provider
        .discover_targets(&request, true, None, Some(&collected))
        .await?;
    let collected = collected
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(DiscoveryReport {
        targets: provider.target_labels(),
        full: options.full,
        apis: collected.apis,
        skipped: collected.skipped,
        warnings: collected.warnings,
    })
}
