//! `check`: the credentials of every target and each AWS action of the seed's minimum IAM
//! policy (plus the optional ones and the HTTP API actions), tried without changing anything.

use std::fmt::Write as _;

use aws_credential_types::provider::ProvideCredentials;
use federation_core::table::{self, OutputFormat};
use federation_core::{ProviderError, ProviderSettings};
use serde::Serialize;

use crate::error::{AwsError, Operation};
use crate::limiter::OperationClass;
use crate::provider::AwsApiGatewayProvider;
use crate::reads::{get_export, get_stages, list_rest_apis};
use crate::subscription::{DETACH_ENABLES, LOOKUP_ENABLES, PROBE_KEY_NAME};
use crate::target::Target;

/// What `check` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Also try `CreateApiKey`, with an invalid key value that AWS rejects after authorising
    /// the call (an emulator that accepts it gets the key deleted at once). Off by default:
    /// it is the one probe that could create something.
    pub write_probes: bool,
}

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum CheckOutcome {
    /// The call was authorised.
    Allowed,
    /// IAM denied it: grant the row's action on its resource.
    Denied {
        /// AWS's message.
        message: String,
    },
    /// Not tried.
    Untested {
        /// Why.
        reason: String,
    },
    /// The probe failed for another reason (network, credentials).
    Failed {
        /// What failed.
        message: String,
    },
}

/// One probe of one target.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRow {
    /// The account/region label.
    pub target: String,
    /// The IAM action (`apigateway:GET`, `sts:AssumeRole`, `credentials`).
    pub action: String,
    /// The IAM resource tried.
    pub resource: String,
    /// The AWS operation used to try it.
    pub operation: String,
    /// Whether the configuration needs the action: the seed's minimum policy, plus the HTTP API
    /// actions when `apiTypes` holds `HTTP` (`docs/deployment.md`); else optional.
    pub required: bool,
    /// What an optional action enables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enables: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: CheckOutcome,
}

/// The result of [`check`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Who the agent is, per target (`arn:aws:sts::…:assumed-role/…`), when known.
    pub identities: Vec<(String, String)>,
    /// One row per target and probe.
    pub rows: Vec<CheckRow>,
}

impl CheckReport {
    /// Whether every required action was allowed (untested ones aside).
    pub fn ok(&self) -> bool {
        self.rows.iter().all(|r| {
            !r.required
                || matches!(
                    r.outcome,
                    CheckOutcome::Allowed | CheckOutcome::Untested { .. }
                )
        })
    }

    /// The rows IAM denied.
    pub fn denied(&self) -> impl Iterator<Item = &CheckRow> {
        self.rows
            .iter()
            .filter(|r| matches!(r.outcome, CheckOutcome::Denied { .. }))
    }

    /// The report in `format`.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Table => self.to_table(),
            OutputFormat::Json => serde_json::to_string_pretty(self).unwrap_or_default(),
        }
    }

    /// A table: target, action, resource, result, and what to do.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for (target, identity) in &self.identities {
            let _ = writeln!(out, "{target}: {identity}");
        }
        if !self.identities.is_empty() {
            out.push('\n');
        }
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let (result, note) = match &r.outcome {
                    CheckOutcome::Allowed => ("allowed", String::new()),
                    CheckOutcome::Denied { .. } if r.action.starts_with("sts:") => {
                        ("DENIED", format!("allow {} on {}", r.action, r.resource))
                    }
                    CheckOutcome::Denied { .. } => (
                        "DENIED",
                        match &r.enables {
                            Some(enables) => format!(
                                "add {} on {} to the IAM policy; it enables {enables}",
                                r.action, r.resource
                            ),
                            None => {
                                format!("add {} on {} to the IAM policy", r.action, r.resource)
                            }
                        },
                    ),
                    CheckOutcome::Untested { reason } => ("untested", reason.clone()),
                    CheckOutcome::Failed { message } => ("failed", message.clone()),
                };
                let action = if r.required {
                    r.action.clone()
                } else {
                    format!("{} (optional)", r.action)
                };
                vec![
                    r.target.clone(),
                    action,
                    r.resource.clone(),
                    r.operation.clone(),
                    result.to_owned(),
                    note,
                ]
            })
            .collect();
        out.push_str(&table::render(
            &[
                "TARGET",
                "ACTION",
                "RESOURCE",
                "TRIED WITH",
                "RESULT",
                "TO DO",
            ],
            &rows,
        ));
        out
    }
}

/// Resolves credentials and tries the minimum policy's actions in every target.
pub async fn check(
    settings: &ProviderSettings,
    options: CheckOptions,
) -> Result<CheckReport, ProviderError> {
    let provider = AwsApiGatewayProvider::from_settings(settings)?;
    Ok(check_with(&provider, options).await)
}

/// [`check`] with a built provider.
pub async fn check_with(provider: &AwsApiGatewayProvider, options: CheckOptions) -> CheckReport {
    let mut report = CheckReport {
        identities: Vec::new(),
        rows: Vec::new(),
    };
    for target in &provider.targets {
        check_target(target, options, &mut report).await;
        if provider.settings.discovers_http() {
            check_http(target, &mut report).await;
        }
    }
    report
}

/// A resource id that cannot exist: probes with it are authorised, then answered "not found".
const PROBE_ID: &str = PROBE_KEY_NAME;

async fn check_target(target: &Target, options: CheckOptions, report: &mut CheckReport) {
    let label = target.label();
    let row = |action: &str, resource: String, operation: &str, required: bool, outcome| CheckRow {
        target: label.clone(),
        action: action.to_owned(),
        resource,
        operation: operation.to_owned(),
        required,
        enables: None,
        outcome,
    };

    // Credentials (and the role, which resolving them assumes).
    let config = target.sdk_config().await;
    let credentials = match config.credentials_provider() {
        Some(provider) => provider
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|e| aws_smithy_types::error::display::DisplayErrorContext(e).to_string()),
        None => Err("no credentials provider is configured".to_owned()),
    };
    let (action, resource) = match &target.role_arn {
        Some(role) => ("sts:AssumeRole", role.clone()),
        None => (
            "credentials",
            "the standard AWS credential chain or accessKeyId".to_owned(),
        ),
    };
    let outcome = match credentials {
        Ok(()) => CheckOutcome::Allowed,
        Err(message) if message.contains("AccessDenied") => CheckOutcome::Denied { message },
        Err(message) => CheckOutcome::Failed { message },
    };
    let resolved = outcome == CheckOutcome::Allowed;
    report
        .rows
        .push(row(action, resource, "resolve credentials", true, outcome));
    if !resolved {
        report.rows.push(row(
            "apigateway:*",
            format!("arn:aws:apigateway:{}::/*", target.region),
            "-",
            true,
            CheckOutcome::Untested {
                reason: "no credentials".to_owned(),
            },
        ));
        return;
    }
    let sts = aws_sdk_sts::Client::new(config);
    if let Ok(identity) = sts.get_caller_identity().send().await
        && let Some(arn) = identity.arn()
    {
        report.identities.push((label.clone(), arn.to_owned()));
    }

    let mut push = |op: &Operation, required: bool, outcome: CheckOutcome| {
        report.rows.push(row(
            op.action,
            op.resource.clone(),
            op.name,
            required,
            outcome,
        ));
    };

    // GET /restapis, and a real API for the next probes when there is one.
    let list = target.operation("GetRestApis", "GET", "/restapis");
    let apis = list_rest_apis(target).await;
    let first_api = apis
        .as_ref()
        .ok()
        .and_then(|a| a.first().map(|r| r.id.clone()));
    push(&list, true, outcome_of(apis.map(|_| ())));

    // GET /restapis/* (GetStages).
    let api = first_api.clone().unwrap_or_else(|| PROBE_ID.to_owned());
    let stages_op = target.operation("GetStages", "GET", &format!("/restapis/{api}/stages"));
    let stages = get_stages(target, &api).await;
    let first_stage = stages
        .as_ref()
        .ok()
        .and_then(|s| s.first().map(|(name, _)| name.clone()));
    push(&stages_op, true, outcome_of(stages.map(|_| ())));

    // GET /restapis/*/stages/* (GetExport).
    let stage = first_stage.unwrap_or_else(|| PROBE_ID.to_owned());
    let export_op = target.operation(
        "GetExport",
        "GET",
        &format!("/restapis/{api}/stages/{stage}/exports/oas30"),
    );
    push(
        &export_op,
        true,
        outcome_of(get_export(target, &api, &stage).await.map(|_| ())),
    );

    // GET /usageplans.
    let plans_op = target.operation("GetUsagePlans", "GET", "/usageplans");
    let plans = target
        .call(&plans_op, OperationClass::General, |c| {
            c.get_usage_plans().limit(1).send()
        })
        .await;
    push(&plans_op, true, outcome_of(plans.map(|_| ())));

    // POST /usageplans/*/keys with a plan and key that do not exist.
    let attach_op = target.operation(
        "CreateUsagePlanKey",
        "POST",
        &format!("/usageplans/{PROBE_ID}/keys"),
    );
    let attach = target
        .call(&attach_op, OperationClass::General, |c| {
            c.create_usage_plan_key()
                .usage_plan_id(PROBE_ID)
                .key_id(PROBE_ID)
                .key_type("API_KEY")
                .send()
        })
        .await;
    push(&attach_op, true, outcome_of(attach.map(|_| ())));

    // DELETE /apikeys/* with a key that does not exist.
    let delete_op = target.operation("DeleteApiKey", "DELETE", &format!("/apikeys/{PROBE_ID}"));
    let delete = target
        .call(&delete_op, OperationClass::ApiKeyWrite, |c| {
            c.delete_api_key().api_key(PROBE_ID).send()
        })
        .await;
    push(&delete_op, true, outcome_of(delete.map(|_| ())));

    // POST /apikeys: only with write probes.
    let create_op = target.operation("CreateApiKey", "POST", "/apikeys");
    if options.write_probes {
        let created = target
            .call(&create_op, OperationClass::ApiKeyWrite, |c| {
                c.create_api_key()
                    .name(PROBE_ID)
                    .description("federation agent permission check; safe to delete")
                    .enabled(false)
                    // Too short for AWS (20 characters minimum): rejected after authorisation.
                    .value("short")
                    .send()
            })
            .await;
        let outcome = match created {
            Ok(key) => {
                // An emulator accepted it: clean up.
                if let Some(id) = key.id() {
                    let delete_op =
                        target.operation("DeleteApiKey", "DELETE", &format!("/apikeys/{id}"));
                    let _ = target
                        .call(&delete_op, OperationClass::ApiKeyWrite, |c| {
                            c.delete_api_key().api_key(id).send()
                        })
                        .await;
                }
                CheckOutcome::Allowed
            }
            Err(err) => outcome_of(Err(err)),
        };
        push(&create_op, true, outcome);
    } else {
        push(
            &create_op,
            true,
            CheckOutcome::Untested {
                reason: "the only way to try it creates a key: run with write probes".to_owned(),
            },
        );
    }

    // GET /apikeys (optional: finds a key again by name; one key per application).
    let lookup_op = target.operation("GetApiKeys", "GET", "/apikeys");
    let lookup = target
        .call(&lookup_op, OperationClass::General, |c| {
            c.get_api_keys().name_query(PROBE_ID).limit(1).send()
        })
        .await;
    push(&lookup_op, false, outcome_of(lookup.map(|_| ())));
    optional(report, LOOKUP_ENABLES);

    // DELETE /usageplans/*/keys/* (optional: one key per application) with a plan and key that
    // do not exist.
    let detach_op = target.operation(
        "DeleteUsagePlanKey",
        "DELETE",
        &format!("/usageplans/{PROBE_ID}/keys/{PROBE_ID}"),
    );
    let detach = target
        .call(&detach_op, OperationClass::General, |c| {
            c.delete_usage_plan_key()
                .usage_plan_id(PROBE_ID)
                .key_id(PROBE_ID)
                .send()
        })
        .await;
    report.rows.push(CheckRow {
        target: label.clone(),
        action: detach_op.action.to_owned(),
        resource: detach_op.resource.clone(),
        operation: detach_op.name.to_owned(),
        required: false,
        enables: None,
        outcome: outcome_of(detach.map(|_| ())),
    });
    optional(report, DETACH_ENABLES);
}

/// Says what the last row's optional action enables.
fn optional(report: &mut CheckReport, enables: &str) {
    if let Some(row) = report.rows.last_mut() {
        row.enables = Some(enables.to_owned());
    }
}

/// The HTTP API actions (`apiTypes` holds `HTTP`; `http_api/check.rs`), when the target's
/// credentials resolved.
async fn check_http(target: &Target, report: &mut CheckReport) {
    let label = target.label();
    let resolved = report.rows.iter().any(|r| {
        r.target == label
            && r.operation == "resolve credentials"
            && r.outcome == CheckOutcome::Allowed
    });
    if !resolved {
        return;
    }
    for (op, required, outcome) in crate::http_api::check::probes(target).await {
        report.rows.push(CheckRow {
            target: label.clone(),
            action: op.action.to_owned(),
            resource: op.resource.clone(),
            operation: op.name.to_owned(),
            required,
            enables: (!required).then(|| crate::http_api::check::enables(op.name).to_owned()),
            outcome,
        });
    }
}

/// A probe's result: success or "not found" (authorised, the probe id does not exist) or a
/// validation error means allowed.
pub(crate) fn outcome_of(result: Result<(), AwsError>) -> CheckOutcome {
    match result {
        Ok(()) => CheckOutcome::Allowed,
        Err(err) if err.is_not_found() => CheckOutcome::Allowed,
        Err(AwsError::Other {
            code: Some(code), ..
        }) if code == "BadRequestException" => CheckOutcome::Allowed,
        Err(AwsError::AccessDenied { message, .. }) => CheckOutcome::Denied { message },
        Err(err) => CheckOutcome::Failed {
            message: err.to_string(),
        },
    }
}
