//! The connector's metrics, through the [`metrics`] facade: recorded only if the embedding
//! program installs a recorder (the agent binaries install a Prometheus one).

use std::time::Duration;

/// Commands received from the controller, by `integration` and `type`.
pub const COMMANDS_RECEIVED: &str = "federation_commands_received_total";
/// Replies written, by `integration`, `type` and `status`.
pub const REPLIES_SENT: &str = "federation_replies_sent_total";
/// Time from a command's arrival to its reply, by `type`.
pub const COMMAND_DURATION: &str = "federation_command_duration_seconds";
/// Commands the agent sent (HELLO, INGEST), by `integration`, `type` and `outcome`.
pub const COMMANDS_SENT: &str = "federation_commands_sent_total";
/// Connection attempts, by `integration` and `outcome` (`connected`, `failed`, `rejected`).
pub const CONNECTIONS: &str = "federation_connection_attempts_total";
/// Reconnections after an established channel ended, by `integration`.
pub const RECONNECTS: &str = "federation_reconnects_total";
/// 1 while the integration's channel is active, by `integration`.
pub const CHANNEL_UP: &str = "federation_channel_up";
/// 1 while the provider's last health check passed, 0 after a failed one, by `integration`
/// (HEALTH_CHECK replies are always healthy on the wire, like the reference connector).
pub const PROVIDER_HEALTHY: &str = "federation_provider_healthy";
/// APIs left out of an INGEST batch or a FETCH reply, by `integration` and `reason`:
/// `too_large` (the connector: its JSON, as sent, exceeds what one message may carry),
/// `read_failed` and `gone` (the provider: part of its definition could not be read, or it
/// disappeared meanwhile; `federation_core::SkipReason`).
pub const APIS_SKIPPED: &str = "federation_apis_skipped_total";
/// Ingest jobs closed early (an INGEST with `done: true` after a failure), by `integration` and
/// `reason`: `provider_error`, `batch_rejected`, `batch_unanswered`, `no_connection`.
pub const INGEST_JOBS_CLOSED_EARLY: &str = "federation_ingest_jobs_closed_early_total";
/// APIs in DISCOVER replies, by `integration`.
pub const APIS_DISCOVERED: &str = "federation_apis_discovered_total";
/// APIs pushed in INGEST batches, by `integration`.
pub const APIS_INGESTED: &str = "federation_apis_ingested_total";
/// DISCOVER duration, by `integration`.
pub const DISCOVERY_DURATION: &str = "federation_discovery_duration_seconds";
/// Whole-ingest duration (START_INGEST to the last batch), by `integration`.
pub const INGEST_DURATION: &str = "federation_ingest_duration_seconds";
/// Subscriptions created, by `integration` and `outcome`.
pub const SUBSCRIPTIONS_CREATED: &str = "federation_subscriptions_created_total";
/// Subscriptions revoked, by `integration` and `outcome`.
pub const SUBSCRIPTIONS_REVOKED: &str = "federation_subscriptions_revoked_total";
/// Items in the last drift report, by `integration` and `kind` (a gauge).
pub const DRIFT_ITEMS: &str = "federation_drift_items";

pub(crate) fn counter(name: &'static str, integration: &str, labels: &[(&'static str, String)]) {
    let mut all = vec![("integration", integration.to_owned())];
    all.extend(labels.iter().cloned());
    metrics::counter!(name, &all).increment(1);
}

pub(crate) fn add(name: &'static str, integration: &str, value: u64) {
    metrics::counter!(name, "integration" => integration.to_owned()).increment(value);
}

pub(crate) fn seconds(name: &'static str, labels: &[(&'static str, String)], elapsed: Duration) {
    metrics::histogram!(name, labels).record(elapsed.as_secs_f64());
}

pub(crate) fn channel_up(integration: &str, up: bool) {
    metrics::gauge!(CHANNEL_UP, "integration" => integration.to_owned()).set(if up {
        1.0
    } else {
        0.0
    });
}

pub(crate) fn provider_healthy(integration: &str, healthy: bool) {
    metrics::gauge!(PROVIDER_HEALTHY, "integration" => integration.to_owned()).set(if healthy {
        1.0
    } else {
        0.0
    });
}

pub(crate) fn skipped(integration: &str, reason: &'static str, count: u64) {
    metrics::counter!(APIS_SKIPPED, "integration" => integration.to_owned(), "reason" => reason)
        .increment(count);
}

pub(crate) fn drift_items(integration: &str, kind: &'static str, items: usize) {
    metrics::gauge!(DRIFT_ITEMS, "integration" => integration.to_owned(), "kind" => kind)
        .set(items as f64);
}
