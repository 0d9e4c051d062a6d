//! The agent binary as an operator runs it: `--version` and `--help` are its own, it serves the
//! controller simulator until GOOD_BYE, and a bad (or blank) setting stops it with exit 2 and
//! one line naming the key.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use federation_simulator::{Simulator, SimulatorConfig, SubscribeRequest};

const BINARY: &str = env!("CARGO_BIN_EXE_federation-agent-acme-gateway");
const WAIT: Duration = Duration::from_secs(30);

/// The agent with an empty environment, the controller and provider settings from `env`, and
/// no management service.
fn agent(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .current_dir(std::env::temp_dir()) // no ./config/gravitee.yml there
        .env("gravitee_services_core_http_enabled", "false")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

#[test]
fn version_and_help_are_the_binary_own() {
    let version = agent(&[]).arg("--version").output().unwrap();
    assert!(version.status.success(), "{version:?}");
    let version = String::from_utf8_lossy(&version.stdout);
    assert_eq!(version.trim(), "federation-agent-acme-gateway 0.1.0");
    let help = agent(&[]).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.starts_with("Gravitee federation agent for Acme Gateway\n"),
        "{help}"
    );
    assert!(help.contains("--config <PATH>"), "{help}");
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_blank_setting_counts_as_unset() {
    let output = agent(&[
        (
            "gravitee_integration_connector_ws_endpoints_0",
            "http://127.0.0.1:9/x",
        ),
        ("gravitee_integration_providers_0_type", "acme-gateway"),
        ("gravitee_integration_providers_0_integrationId", "acme"),
        ("gravitee_integration_providers_0_configuration_region", ""),
        (
            "gravitee_integration_providers_0_configuration_apiToken",
            "t0ken",
        ),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let expected = "federation-agent-acme-gateway: configuration error: integration.providers[0] \
                    (acme-gateway): integration.providers[0].configuration.region is missing";
    assert!(stderr(&output).contains(expected), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_simulator_until_good_bye() {
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .token("t0ken")
            .integration("acme", "acme-gateway"),
    )
    .await
    .unwrap();
    let endpoint = simulator.endpoint();
    let mut child = agent(&[
        ("gravitee_integration_connector_ws_endpoints_0", &endpoint),
        (
            "gravitee_integration_connector_ws_headers_0_name",
            "Authorization",
        ),
        (
            "gravitee_integration_connector_ws_headers_0_value",
            "bearer t0ken",
        ),
        ("gravitee_integration_providers_0_type", "acme-gateway"),
        ("gravitee_integration_providers_0_integrationId", "acme"),
        (
            "gravitee_integration_providers_0_configuration_region",
            "eu-1",
        ),
        (
            "gravitee_integration_providers_0_configuration_apiToken",
            "t0ken",
        ),
    ])
    .spawn()
    .unwrap();

    simulator.wait_connected("acme", WAIT).await.unwrap();
    let preview = simulator.discover("acme").await.unwrap();
    assert_eq!(preview.apis.len(), 3);
    let job = simulator.ingest("acme", None, WAIT).await.unwrap();
    let petstore = job.apis.iter().find(|api| api.id == "petstore").unwrap();
    assert_eq!(petstore.plans.as_ref().map(Vec::len), Some(2));
    let request = SubscribeRequest::api_key("petstore", Some("premium".to_owned()));
    let (subscription, result) = simulator.subscribe("acme", request).await.unwrap();
    assert!(result.api_key.is_some());
    simulator.unsubscribe("acme", &subscription).await.unwrap();

    simulator.goodbye("acme", false).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the agent did not stop after GOOD_BYE");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
}
