//! The drift hooks the command handlers call: remember what an INGEST batch or a FETCH reply
//! carried, and after a DISCOVER, a FETCH or an ingest run one check for the channel's
//! integration (observe the vendor, compare, announce, persist, publish on the [`DriftBoard`]).
//!
//! [`DriftBoard`]: crate::DriftBoard

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use federation_core::Api;
use federation_core::drift::{self, DriftKind, DriftReport, IngestedApi};
use federation_protocol::{Reply, ReplyPayload};

use crate::context::ChannelContext;
use crate::drift::IntegrationDrift;
use crate::metrics;
use crate::outcome::{FollowUp, Outcome};

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
    let (observed, catalogue) = drift::observe(ctx.provider.as_ref(), &ledger, preview).await;
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

/// The summary log line, the debug list and the gauges.
fn announce(integration: &str, trigger: &str, report: &DriftReport) {
    for kind in DriftKind::ALL {
        metrics::drift_items(integration, kind.as_str(), report.count(kind));
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
