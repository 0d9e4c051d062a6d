//! The health report of `GET /_node/health`, in gravitee-node's shape: a JSON object with one
//! entry per probe, each `{"healthy": bool, "message"?: string}`; the agent's `integrations`
//! probe adds one object per configured integration.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use federation_connector::{IntegrationStatus, StatusBoard};
use serde::Serialize;
use serde_json::Value;

/// The liveness probe: healthy whenever the management service answers, that is while the
/// process and its runtime are sound. Gravitee's charts use the same id for their liveness
/// probes (`/_node/health?probes=http-server`).
pub const HTTP_SERVER_PROBE: &str = "http-server";

/// The readiness probe: healthy when every configured integration has an active channel (HELLO
/// accepted by the controller).
pub const INTEGRATIONS_PROBE: &str = "integrations";

/// Every probe, in the order they are reported.
pub const PROBES: [&str; 2] = [HTTP_SERVER_PROBE, INTEGRATIONS_PROBE];

/// Where the health report reads the channels' status from: the connector's [`StatusBoard`],
/// or anything else that can list [`IntegrationStatus`]es (tests, embedders).
pub trait StatusSource: Send + Sync + 'static {
    /// The current status of every integration the source knows.
    fn statuses(&self) -> Vec<IntegrationStatus>;
}

impl StatusSource for StatusBoard {
    fn statuses(&self) -> Vec<IntegrationStatus> {
        self.snapshot()
    }
}

impl<F> StatusSource for F
where
    F: Fn() -> Vec<IntegrationStatus> + Send + Sync + 'static,
{
    fn statuses(&self) -> Vec<IntegrationStatus> {
        self()
    }
}

/// An integration the configuration declares (`integration.providers[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredIntegration {
    /// `integrationId`.
    pub integration_id: String,
    /// `type`.
    pub provider_type: String,
}

/// One integration in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationHealth {
    /// The integration id.
    pub integration_id: String,
    /// The provider type.
    pub provider: String,
    /// The controller endpoint of the current or last connection attempt.
    pub endpoint: Option<String>,
    /// `connecting`, `connected`, `stopped` or `failed`.
    pub state: &'static str,
    /// Whether the channel is active (HELLO accepted).
    pub connected: bool,
    /// Whether the controller elected this channel primary.
    pub primary: bool,
    /// When the last HELLO was accepted (RFC 3339, UTC).
    pub last_hello_at: Option<String>,
    /// Failed connection attempts since the last accepted HELLO.
    pub reconnect_attempts: u32,
    /// Connections re-established after the first one.
    pub reconnects: u64,
    /// The last connection error.
    pub last_error: Option<String>,
    /// The provider's answer to the controller's last HEALTH_CHECK (`null` before the first).
    pub provider_health: Option<ProviderHealth>,
}

/// The provider's last health answer.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderHealth {
    /// Whether the provider said it can work.
    pub healthy: bool,
    /// Why not.
    pub detail: Option<String>,
}

/// A probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    /// Whether the probe passed.
    pub healthy: bool,
    /// Why not (absent when healthy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `integrations` probe's detail, one entry per configured integration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrations: Option<Vec<IntegrationHealth>>,
}

impl ProbeResult {
    fn healthy() -> Self {
        Self {
            healthy: true,
            message: None,
            integrations: None,
        }
    }

    fn unhealthy(message: impl Into<String>) -> Self {
        Self {
            healthy: false,
            message: Some(message.into()),
            integrations: None,
        }
    }
}

/// A health report: probe id → result, in the requested (or default) order.
#[derive(Debug, Clone)]
pub struct HealthReport {
    /// The probes evaluated.
    pub probes: Vec<(String, ProbeResult)>,
}

impl HealthReport {
    /// Whether every probe passed.
    pub fn healthy(&self) -> bool {
        self.probes.iter().all(|(_, result)| result.healthy)
    }

    /// The JSON body as a value: `{"<probe>": {"healthy": …}, …}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Serialises as the response body: probes in order, fields in declaration order.
impl Serialize for HealthReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.probes.len()))?;
        for (id, result) in &self.probes {
            map.serialize_entry(id, result)?;
        }
        map.end()
    }
}

/// Evaluates health against the configured integrations.
#[derive(Clone)]
pub struct HealthChecker {
    configured: Arc<[ConfiguredIntegration]>,
    source: Arc<dyn StatusSource>,
}

impl std::fmt::Debug for HealthChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthChecker")
            .field("configured", &self.configured)
            .finish_non_exhaustive()
    }
}

impl HealthChecker {
    /// A checker for `configured` integrations whose channels `source` reports.
    pub fn new(configured: Vec<ConfiguredIntegration>, source: Arc<dyn StatusSource>) -> Self {
        Self {
            configured: configured.into(),
            source,
        }
    }

    /// Evaluates the probes named in `requested` (every probe when it is empty). A name that is
    /// not a probe is reported unhealthy with "probe not found", as gravitee-node does.
    pub fn evaluate(&self, requested: &BTreeSet<String>) -> HealthReport {
        let wanted: Vec<String> = if requested.is_empty() {
            PROBES.iter().map(|p| (*p).to_owned()).collect()
        } else {
            requested.iter().cloned().collect()
        };
        let probes = wanted
            .into_iter()
            .map(|id| {
                let result = match id.as_str() {
                    HTTP_SERVER_PROBE => ProbeResult::healthy(),
                    INTEGRATIONS_PROBE => self.integrations(),
                    _ => ProbeResult::unhealthy("probe not found"),
                };
                (id, result)
            })
            .collect();
        HealthReport { probes }
    }

    /// The `integrations` probe: one entry per configured integration, matched to the status
    /// source by position (the connector registers channels in configuration order) and id.
    fn integrations(&self) -> ProbeResult {
        let statuses = self.source.statuses();
        let mut entries = Vec::with_capacity(self.configured.len());
        let mut down = Vec::new();
        for (index, configured) in self.configured.iter().enumerate() {
            let status = statuses
                .get(index)
                .filter(|s| s.integration_id == configured.integration_id)
                .or_else(|| {
                    statuses
                        .iter()
                        .find(|s| s.integration_id == configured.integration_id)
                });
            let entry = match status {
                Some(status) => entry_of(configured, status),
                None => IntegrationHealth {
                    integration_id: configured.integration_id.clone(),
                    provider: configured.provider_type.clone(),
                    endpoint: None,
                    state: "connecting",
                    connected: false,
                    primary: false,
                    last_hello_at: None,
                    reconnect_attempts: 0,
                    reconnects: 0,
                    last_error: None,
                    provider_health: None,
                },
            };
            if !entry.connected {
                // A stopped-for-good integration (HELLO rejected) says why.
                match (&entry.last_error, entry.state) {
                    (Some(reason), "failed") => {
                        down.push(format!("{} (failed: {reason})", entry.integration_id))
                    }
                    _ => down.push(format!("{} ({})", entry.integration_id, entry.state)),
                }
            }
            entries.push(entry);
        }
        let (healthy, message) = if self.configured.is_empty() {
            (false, Some("no integration is configured".to_owned()))
        } else if down.is_empty() {
            (true, None)
        } else {
            (
                false,
                Some(format!(
                    "{} of {} integration(s) without an active channel: {}",
                    down.len(),
                    self.configured.len(),
                    down.join(", ")
                )),
            )
        };
        ProbeResult {
            healthy,
            message,
            integrations: Some(entries),
        }
    }
}

fn entry_of(configured: &ConfiguredIntegration, status: &IntegrationStatus) -> IntegrationHealth {
    IntegrationHealth {
        integration_id: configured.integration_id.clone(),
        provider: status.provider_type.clone(),
        endpoint: status.endpoint.clone(),
        state: status.state.as_str(),
        connected: status.connected(),
        primary: status.primary,
        last_hello_at: status.last_hello_at.and_then(rfc3339),
        reconnect_attempts: status.failed_attempts,
        reconnects: status.reconnects,
        last_error: status.last_error.clone(),
        provider_health: status.provider_health.as_ref().map(|h| ProviderHealth {
            healthy: h.healthy,
            detail: h.detail.clone(),
        }),
    }
}

/// `2025-01-31T12:00:00.123456789Z`.
fn rfc3339(at: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The probe ids of a query string's `probes` parameters: comma-separated, repeatable, blanks
/// ignored (`?probes=http-server,integrations`).
pub fn requested_probes<'a>(values: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use federation_connector::ChannelState;
    use federation_core::Health;

    fn status(id: &str, state: ChannelState) -> IntegrationStatus {
        IntegrationStatus {
            endpoint: Some("ws://127.0.0.1:1/exchange/controller".to_owned()),
            state,
            ..IntegrationStatus::new(id, "memory")
        }
    }

    fn configured(ids: &[&str]) -> Vec<ConfiguredIntegration> {
        ids.iter()
            .map(|id| ConfiguredIntegration {
                integration_id: (*id).to_owned(),
                provider_type: "memory".to_owned(),
            })
            .collect()
    }

    #[test]
    fn healthy_only_when_every_configured_integration_is_connected() {
        let statuses = vec![
            status("a", ChannelState::Connected),
            status("b", ChannelState::Connecting),
        ];
        let checker =
            HealthChecker::new(configured(&["a", "b"]), Arc::new(move || statuses.clone()));
        let report = checker.evaluate(&BTreeSet::new());
        assert!(!report.healthy());
        let json = report.to_json();
        assert_eq!(json["http-server"]["healthy"], true);
        assert_eq!(json["integrations"]["healthy"], false);
        assert_eq!(
            json["integrations"]["message"],
            "1 of 2 integration(s) without an active channel: b (connecting)"
        );
        // The liveness probe alone stays healthy.
        let live = checker.evaluate(&requested_probes(["http-server"]));
        assert!(live.healthy());
        assert!(live.to_json().get("integrations").is_none());
    }

    #[test]
    fn a_rejected_integration_is_unhealthy_with_the_reason_and_the_others_are_listed() {
        let mut rejected = status("b", ChannelState::Failed);
        rejected.last_error = Some(
            "HELLO rejected: Integration [id=b] does not match. Expected provider [provider=solace]"
                .to_owned(),
        );
        let statuses = vec![status("a", ChannelState::Connected), rejected];
        let checker =
            HealthChecker::new(configured(&["a", "b"]), Arc::new(move || statuses.clone()));
        let report = checker.evaluate(&BTreeSet::new());
        assert!(!report.healthy());
        let json = report.to_json();
        assert_eq!(
            json["integrations"]["message"],
            "1 of 2 integration(s) without an active channel: b (failed: HELLO rejected: \
             Integration [id=b] does not match. Expected provider [provider=solace])"
        );
        assert_eq!(json["integrations"]["integrations"][0]["connected"], true);
        assert_eq!(json["integrations"]["integrations"][1]["state"], "failed");
    }

    #[test]
    fn a_configured_integration_without_a_channel_yet_is_not_connected() {
        let checker = HealthChecker::new(configured(&["a"]), Arc::new(Vec::new));
        let json = checker.evaluate(&BTreeSet::new()).to_json();
        assert_eq!(
            json["integrations"]["integrations"][0]["state"],
            "connecting"
        );
        assert_eq!(json["integrations"]["integrations"][0]["connected"], false);
    }

    #[test]
    fn fields_are_reported() {
        let mut s = status("a", ChannelState::Connected);
        s.primary = true;
        s.last_hello_at = Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86_400));
        s.reconnects = 2;
        s.provider_health = Some(Health::unhealthy("expired"));
        let checker = HealthChecker::new(configured(&["a"]), Arc::new(move || vec![s.clone()]));
        let report = checker.evaluate(&BTreeSet::new());
        assert!(report.healthy());
        let entry = &report.to_json()["integrations"]["integrations"][0];
        assert_eq!(entry["lastHelloAt"], "1970-01-02T00:00:00Z");
        assert_eq!(entry["primary"], true);
        assert_eq!(entry["reconnects"], 2);
        assert_eq!(entry["providerHealth"]["healthy"], false);
        assert_eq!(entry["providerHealth"]["detail"], "expired");
    }

    #[test]
    fn unknown_probes_are_unhealthy_and_no_integration_is_unhealthy() {
        let checker = HealthChecker::new(Vec::new(), Arc::new(Vec::new));
        let report = checker.evaluate(&requested_probes(["http-server, nope", ""]));
        let json = report.to_json();
        assert_eq!(json["nope"]["message"], "probe not found");
        assert!(!report.healthy());
        assert!(!checker.evaluate(&BTreeSet::new()).healthy());
    }
}
