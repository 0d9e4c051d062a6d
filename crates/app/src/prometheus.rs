//! The Prometheus recorder behind `GET /_node/metrics/prometheus`.
//!
//! The connector (and any provider) records through the [`metrics`] facade; when
//! `services.metrics.enabled` and `services.metrics.prometheus.enabled` are both true the agent
//! installs `metrics-exporter-prometheus`'s recorder as the process's global recorder and the
//! management service renders it. The exporter's own HTTP listener is not used.
//!
//! Durations are real Prometheus histograms (`_bucket`, `_sum`, `_count`) with the buckets in
//! [`COMMAND_BUCKETS`] and [`LONG_BUCKETS`].

use std::sync::OnceLock;

use federation_config::MetricsConfig;
use federation_connector::metrics as names;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets (seconds) of `federation_command_duration_seconds` and any other `_seconds`
/// histogram: from 5 ms to the controller's 60 s reply timeout.
pub const COMMAND_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Buckets (seconds) of the discovery and ingest durations: from 100 ms to 10 min.
pub const LONG_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// `federation_agent_info{version}`: always 1; says which version is running.
pub const AGENT_INFO: &str = "federation_agent_info";

/// Whether `services.metrics.*` asks for the Prometheus endpoint: both
/// `services.metrics.enabled` (default false) and `services.metrics.prometheus.enabled`
/// (default true) must be true, as in gravitee-node.
pub fn enabled(config: &MetricsConfig) -> bool {
    config.enabled && config.prometheus.enabled
}

static INSTALLED: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the Prometheus recorder as the global `metrics` recorder (once per process; later
/// calls return the same handle). Fails when another global recorder was installed first (an
/// embedding program with its own).
pub fn install() -> Result<PrometheusHandle, String> {
    INSTALLED
        .get_or_init(|| {
            let handle = builder()
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
            describe();
            metrics::gauge!(AGENT_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Ok(handle)
        })
        .clone()
}

fn builder() -> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(names::DISCOVERY_DURATION.to_owned()),
            LONG_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(names::INGEST_DURATION.to_owned()),
            LONG_BUCKETS,
        )?
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), COMMAND_BUCKETS)
}

/// HELP texts for the connector's metrics.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(AGENT_INFO, "The running agent's version (always 1).");
    describe_counter!(
        names::COMMANDS_RECEIVED,
        "Commands received from the controller, by integration and type."
    );
    describe_counter!(
        names::REPLIES_SENT,
        "Replies written to the controller, by integration, type and status."
    );
    describe_histogram!(
        names::COMMAND_DURATION,
        metrics::Unit::Seconds,
        "Time from a command's arrival to its reply, by type."
    );
    describe_counter!(
        names::COMMANDS_SENT,
        "Commands the agent sent (HELLO, INGEST), by integration, type and outcome."
    );
    describe_counter!(
        names::CONNECTIONS,
        "Connection attempts to the controller, by integration and outcome (connected, failed, rejected)."
    );
    describe_counter!(
        names::RECONNECTS,
        "Reconnections after an established channel ended, by integration."
    );
    describe_gauge!(
        names::CHANNEL_UP,
        "1 while the integration's channel is active (HELLO accepted), else 0."
    );
    describe_gauge!(
        names::PROVIDER_HEALTHY,
        "1 when the provider's last health check passed, else 0, by integration."
    );
    describe_counter!(
        names::APIS_SKIPPED,
        "APIs left out of an INGEST batch or a FETCH reply, by integration and reason (too_large, read_failed, gone)."
    );
    describe_counter!(
        names::INGEST_JOBS_CLOSED_EARLY,
        "Ingest jobs closed early (done: true after a failure), by integration and reason (provider_error, batch_rejected, batch_unanswered, no_connection)."
    );
    describe_counter!(
        names::APIS_DISCOVERED,
        "APIs in DISCOVER replies, by integration."
    );
    describe_counter!(
        names::APIS_INGESTED,
        "APIs sent in INGEST batches or FETCH replies, by integration."
    );
    describe_histogram!(
        names::DISCOVERY_DURATION,
        metrics::Unit::Seconds,
        "DISCOVER duration, by integration."
    );
    describe_histogram!(
        names::INGEST_DURATION,
        metrics::Unit::Seconds,
        "Whole-ingest duration (START_INGEST to the last batch), by integration."
    );
    describe_counter!(
        names::SUBSCRIPTIONS_CREATED,
        "Subscriptions created (API keys issued), by integration and outcome."
    );
    describe_counter!(
        names::SUBSCRIPTIONS_REVOKED,
        "Subscriptions revoked (API keys deleted), by integration and outcome."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use federation_config::PrometheusConfig;

    #[test]
    fn both_flags_are_needed() {
        let gate = |metrics: bool, prometheus: bool| {
            enabled(&MetricsConfig {
                enabled: metrics,
                prometheus: PrometheusConfig {
                    enabled: prometheus,
                },
            })
        };
        assert!(gate(true, true));
        assert!(!gate(true, false));
        assert!(!gate(false, true));
        assert!(!gate(false, false));
        assert!(!enabled(&MetricsConfig::default()), "off by default");
    }

    #[test]
    fn bucket_configuration_is_valid() {
        assert!(builder().is_ok());
    }
}
