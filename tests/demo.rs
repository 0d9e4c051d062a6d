//! The quiet path a first-time user takes: the simulator binary with `--demo` and an agent
//! binary. The demo ends with GOOD_BYE without reconnect, so the agent stops on its own (exit 0)
//! instead of retrying a closed controller, and an agent whose management service listens on
//! loopback logs no warning of its own.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "demo-e2e-token";
const WAIT: Duration = Duration::from_secs(60);

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Waits for the child to exit; returns (exit code, stdout, stderr).
async fn wait_exit(mut child: Child) -> (Option<i32>, String, String) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            return (
                status.code(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            );
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "did not exit:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_demo_ends_and_the_agent_stops_quietly() {
    let (listen, api) = (free_port(), free_port());
    let simulator = Command::new(common::simulator::simulator_binary())
        .args(["--listen", &listen.to_string(), "--api", &api.to_string()])
        .args(["--integration", "demo=openapi-files", "--token", TOKEN])
        .args(["--demo", "--wait", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Start the agent once the simulator listens: no connection-refused retry to log.
    let deadline = tokio::time::Instant::now() + WAIT;
    while TcpStream::connect(listen).is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the simulator did not listen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let store = tempfile::tempdir().unwrap();
    let specs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/providers/openapi-files/examples/specs"
    );
    let agent = common::agent_command(env!("CARGO_BIN_EXE_federation-agent"))
        .env("RUST_LOG", "info")
        .current_dir(store.path())
        .envs([
            (
                "gravitee_integration_connector_ws_endpoints_0",
                format!("http://{listen}/integration-controller"),
            ),
            (
                "gravitee_integration_connector_ws_headers_0_name",
                "Authorization".to_owned(),
            ),
            (
                "gravitee_integration_connector_ws_headers_0_value",
                format!("bearer {TOKEN}"),
            ),
            (
                "gravitee_integration_providers_0_integrationId",
                "demo".to_owned(),
            ),
            (
                "gravitee_integration_providers_0_type",
                "openapi-files".to_owned(),
            ),
            (
                "gravitee_integration_providers_0_configuration_directory",
                specs.to_owned(),
            ),
            (
                "gravitee_integration_providers_0_configuration_keyStorePath",
                store.path().join("keys.json").display().to_string(),
            ),
            // The management service on loopback (the default host), on a free port.
            ("gravitee_services_core_http_port", "0".to_owned()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let (code, out, err) = wait_exit(simulator).await;
    assert_eq!(code, Some(0), "simulator:\n{out}\n{err}");
    assert!(out.contains("[demo] UNSUBSCRIBE"), "{out}");
    assert!(out.contains("[demo] done."), "{out}");

    let (code, _, log) = wait_exit(agent).await;
    assert_eq!(code, Some(0), "agent:\n{log}");
    // The agent's own warnings (the sample tree holds a broken file the provider warns about).
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN"))
        .filter(|l| l.contains("federation_connector") || l.contains("federation_app"))
        .collect();
    assert!(warnings.is_empty(), "the agent warned:\n{log}");
    assert!(log.contains("WARN"), "the check sees warnings:\n{log}");
}
