//! Test harness (feature `testing`): a real AWS emulator and the tools moto lacks.
//!
//! ```no_run
//! # async fn example() {
//! use federation_provider_aws_api_gateway::testing::{self, seed};
//!
//! let moto = testing::shared_moto().await; // one server per test binary, reset, locked
//! let client = testing::client(&moto.endpoint(), "us-east-1").await;
//! let api = seed::rest_api(&client, "Pets", Some("pets1"), &["prod"]).await;
//! let plan = seed::usage_plan(&client, &seed::PlanSpec::new("Gold").stage(&api, "prod")).await;
//! let settings = testing::provider_settings(&moto.endpoint(), "us-east-1", &[]);
//! # let _ = (plan, settings);
//! # }
//! ```
//!
//! - [`MotoServer`] / [`shared_moto`]: `moto_server` on a free loopback port (install it with
//!   `scripts/install-moto.sh`; found via `$MOTO_SERVER`, `<workspace>/.venv-moto`, or `PATH`).
//! - [`client`], [`client_for_role`], [`provider_settings`]: explicit test credentials, so
//!   nothing on the machine (profiles, instance metadata) is consulted.
//! - [`seed`]: REST APIs with a method, a MOCK integration and deployed stages; usage plans;
//!   deleting a stage as AWS does (it leaves its usage plans; moto keeps it there).
//! - [`seed_http`] and [`client_v2`]: HTTP APIs (v2) with tags, JWT authorizers, routes, stages
//!   and custom domains; an authorizer's audience and an API's tags, to check from tests.
//! - [`ThrottlingProxy`]: 429 injection, AWS's quota, paging (v1 `position`, v2 `NextToken`),
//!   denial, AWS's usage plan key rules ([`UsagePlanRules`]), call counting (v2 operations as
//!   `v2:GetApis`, …) and [`CannedAnswer`]s for the calls moto lacks (v2 `ExportApi`).
//! - [`baseline`]: the provider's former behaviours, for the benchmarks' naive baselines.

mod aws_errors;
pub mod baseline;
mod http;
mod moto;
mod plan_rules;
mod proxy;
mod proxy_v1;
mod proxy_v2;
pub mod seed;
pub mod seed_http;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use federation_core::ProviderSettings;

pub use moto::{MotoLease, MotoServer, moto_server_binary, shared_moto};
pub use proxy::{ProxyConfig, ThrottlingProxy, UsagePlanRules, operation_name};
pub use proxy_v2::CannedAnswer;

/// The access key id tests use (moto accepts anything).
pub const TEST_ACCESS_KEY_ID: &str = "testing";
/// The secret tests use.
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";
/// moto's default account.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// An SDK configuration for `endpoint` in `region` with the test credentials.
pub async fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "testing",
        ))
        .load()
        .await
}

/// An API Gateway client for `endpoint` in `region`, in moto's default account.
pub async fn client(endpoint: &str, region: &str) -> aws_sdk_apigateway::Client {
    aws_sdk_apigateway::Client::new(&sdk_config(endpoint, region).await)
}

/// An API Gateway v2 client (HTTP APIs) for `endpoint` in `region`, in moto's default account.
pub async fn client_v2(endpoint: &str, region: &str) -> aws_sdk_apigatewayv2::Client {
    aws_sdk_apigatewayv2::Client::new(&sdk_config(endpoint, region).await)
}

/// An API Gateway client acting as `role_arn` (moto's STS puts its calls in the role's account).
pub async fn client_for_role(
    endpoint: &str,
    region: &str,
    role_arn: &str,
) -> aws_sdk_apigateway::Client {
    let base = sdk_config(endpoint, region).await;
    let role = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name("seed")
        .region(Region::new(region.to_owned()))
        .configure(&base)
        .build()
        .await;
    let config = base
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(role))
        .build();
    aws_sdk_apigateway::Client::new(&config)
}

/// Provider settings for `endpoint` and `regions` (comma list) with the test credentials and a
/// call budget high enough not to slow tests down; `extra` pairs are added or override.
pub fn provider_settings(
    endpoint: &str,
    regions: &str,
    extra: &[(&str, &str)],
) -> ProviderSettings {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("region", regions),
        ("endpoint", endpoint),
        ("accessKeyId", TEST_ACCESS_KEY_ID),
        ("secretAccessKey", TEST_SECRET_ACCESS_KEY),
        ("requestsPerSecond", "1000"),
        ("burst", "1000"),
        ("apiKeyRequestsPerSecond", "1000"),
        ("apiKeyBurst", "1000"),
        ("backgroundRequestsPerSecond", "1000"),
    ];
    for (key, value) in extra {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key, value));
    }
    ProviderSettings::from_pairs(pairs)
}
