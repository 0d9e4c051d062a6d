//! The minimal provider keeps the whole contract; its agent binary serves the controller
//! simulator and answers `--version` and `--help` as its own; that binary's build has no AWS SDK
//! crate in it; and without the `factory` feature (an embedder's build) the provider brings no
//! configuration loader.

#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use federation_core::{ProviderFactory, SubscriptionResult};
use federation_example_provider_minimal::{MinimalFactory, MinimalProvider};
use federation_simulator::{Simulator, SimulatorConfig, SubscribeRequest};
use federation_testkit::contract::{
    CredentialProbe, Fixture, Outcome, Rule, assert_provider_contract,
};
use federation_testkit::dependencies::{is_aws_sdk, is_configuration_loader, normal_dependencies};

const WAIT: Duration = Duration::from_secs(30);

struct Probe(Arc<MinimalProvider>);

#[async_trait]
impl CredentialProbe for Probe {
    async fn is_active(&self, _api_id: &str, result: &SubscriptionResult) -> Result<bool, String> {
        let key = result.api_key.as_ref().ok_or("the result has no apiKey")?;
        Ok(self.0.is_key_active(key.expose()))
    }
}

#[tokio::test]
async fn keeps_every_rule_of_the_provider_contract() {
    let provider = Arc::new(MinimalProvider::default());
    // The type the provider must declare: its factory's.
    let fixture = Fixture::new("orders", "standard")
        .with_provider_type(MinimalFactory.provider_type())
        .with_probe(Arc::new(Probe(provider.clone())));
    let report = assert_provider_contract(provider.as_ref(), &fixture).await;
    // Every rule passes, but the two optional drift inventory rules: this provider offers no
    // inventory, so they are skipped.
    let optional = [
        Rule::InventoryCatalogueConsistent,
        Rule::InventoryKeysWellFormed,
    ];
    for check in &report.checks {
        if optional.contains(&check.rule) {
            assert!(
                matches!(check.outcome, Outcome::Skipped(_)),
                "{}",
                check.rule
            );
        } else {
            assert_eq!(check.outcome, Outcome::Passed, "{}", check.rule);
        }
    }
}

/// Kills the agent if the test fails before it exits.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Agent {
    async fn exit(&mut self) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_binary_serves_the_simulator_and_stops_on_good_bye() {
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .token("minimal-token")
            .integration("minimal-1", "minimal"),
    )
    .await
    .unwrap();
    let home = std::env::temp_dir(); // no ./config/gravitee.yml there
    let mut agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_federation-agent-minimal"))
            .current_dir(&home)
            .env_remove("GRAVITEE_HOME")
            .env(
                "gravitee_integration_connector_ws_endpoints_0",
                simulator.endpoint(),
            )
            .env(
                "gravitee_integration_connector_ws_headers_0_name",
                "Authorization",
            )
            .env(
                "gravitee_integration_connector_ws_headers_0_value",
                "bearer minimal-token",
            )
            .env("gravitee_integration_providers_0_type", "minimal")
            .env(
                "gravitee_integration_providers_0_integrationId",
                "minimal-1",
            )
            .env("gravitee_services_core_http_enabled", "false")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );

    simulator.wait_connected("minimal-1", WAIT).await.unwrap();
    let preview = simulator.discover("minimal-1").await.unwrap();
    let mut ids: Vec<_> = preview.apis.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["billing", "orders"]);
    let (_, result) = simulator
        .subscribe(
            "minimal-1",
            SubscribeRequest::api_key("orders", Some("standard".to_owned())),
        )
        .await
        .unwrap();
    assert!(result.api_key.is_some());

    simulator.goodbye("minimal-1", false).await.unwrap();
    let status = agent.exit().await.expect("the agent did not exit");
    assert!(status.success(), "{status}");
}

/// What `package` links (`cargo tree` of its normal dependencies); `extra` adds feature flags.
fn linked(package: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--locked"];
    args.extend_from_slice(extra);
    normal_dependencies(env!("CARGO_MANIFEST_DIR"), package, &args).unwrap()
}

#[test]
fn the_agent_binary_builds_without_the_aws_sdk() {
    let crates = linked("federation-example-provider-minimal", &[]);
    // The check sees the agent's own crates, so it would see an AWS SDK crate too.
    assert!(crates.iter().any(|c| c == "federation-app"), "{crates:?}");
    assert!(
        crates.iter().any(|c| c == "federation-connector"),
        "{crates:?}"
    );
    let aws: Vec<_> = crates.iter().filter(|c| is_aws_sdk(c)).collect();
    assert!(aws.is_empty(), "AWS SDK crates in the build: {aws:?}");
}

#[test]
fn the_check_recognises_the_aws_sdk() {
    let crates = linked("federation-provider-aws-api-gateway", &[]);
    assert!(
        crates.iter().any(|c| c == "aws-sdk-apigateway"),
        "{crates:?}"
    );
    assert!(crates.iter().any(|c| is_aws_sdk(c)));
}

/// What a program embedding the connector compiles of this provider: the crate without its
/// default features (no factory, no agent binary) depends on federation-core without
/// `settings`, so no figment.
#[test]
fn without_the_factory_the_provider_brings_no_configuration_loader() {
    let package = "federation-example-provider-minimal";
    let embedded = linked(package, &["--no-default-features"]);
    assert!(
        embedded.iter().any(|c| c == "federation-core"),
        "{embedded:?}"
    );
    let loader: Vec<_> = embedded
        .iter()
        .filter(|c| is_configuration_loader(c))
        .collect();
    assert!(
        loader.is_empty(),
        "a loader without the factory: {loader:?}"
    );
    // The factory alone brings figment (federation-core's `settings`), and the check sees it.
    let factory = linked(package, &["--no-default-features", "--features", "factory"]);
    assert!(factory.iter().any(|c| c == "figment"), "{factory:?}");
    assert!(
        !factory.iter().any(|c| c == "federation-app"),
        "{factory:?}"
    );
}

#[test]
fn the_agent_binary_answers_version_and_help_as_its_own() {
    let binary = env!("CARGO_BIN_EXE_federation-agent-minimal");
    let version = Command::new(binary).arg("--version").output().unwrap();
    assert!(version.status.success(), "{version:?}");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("federation-agent-minimal {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(binary).arg("--help").output().unwrap();
    assert!(help.status.success(), "{help:?}");
    let help = String::from_utf8_lossy(&help.stdout);
    let about = help.lines().next().unwrap_or_default();
    assert_eq!(about, "Gravitee federation agent for the minimal provider");
    assert!(help.contains("--config"), "{help}");
}
