//! What the two benchmarks share (`mod common;` in each): the runtime, the figures' formats and
//! the provider with AWS's default budget.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::testing;

pub(crate) const REGION: &str = "us-east-1";

/// Runs `bench` on a multi-threaded runtime.
pub(crate) fn run(bench: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench);
}

/// The number in environment variable `name`, else `default`.
pub(crate) fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `GetRestApis=2 GetUsagePlans=1 …`.
pub(crate) fn calls_text(calls: &BTreeMap<String, u64>) -> String {
    calls
        .iter()
        .map(|(op, n)| format!("{op}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The provider at `endpoint` with AWS's default budget (10 rps, burst 40; `CreateApiKey` 5 rps,
/// burst 5), plus `extra` settings.
pub(crate) fn quota_provider(endpoint: &str, extra: &[(&str, &str)]) -> AwsApiGatewayProvider {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("requestsPerSecond", "10"),
        ("burst", "40"),
        ("apiKeyRequestsPerSecond", "5"),
        ("apiKeyBurst", "5"),
    ];
    pairs.extend_from_slice(extra);
    AwsApiGatewayProvider::from_settings(&testing::provider_settings(endpoint, REGION, &pairs))
        .expect("settings")
}
