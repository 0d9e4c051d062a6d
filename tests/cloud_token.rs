//! A Gravitee Next-Gen Cloud token with the real agent binary, against the controller simulator
//! standing in for Cloud Gate on loopback (`cloud.gateUrl` points the derived endpoint there):
//! the token alone (endpoint and credential from the token), the token with an explicit
//! endpoint and header (those win), and an expired or malformed token (exit 2 naming
//! `cloud.token` and its source, the token never printed).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use federation_simulator::{Event, Simulator, SimulatorConfig};

const APIM_TOKEN: &str = "apim-token-4b7e";
const WAIT: Duration = Duration::from_secs(30);

/// A JWT with Gravitee Cloud's claims; `exp` in seconds since 1970. The signature is not a
/// real one: like Gravitee's public clients, the agent does not verify it.
fn cloud_token(exp: u64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = serde_json::json!({
        "sub": "e2e", "org": "org-e2e", "envs": ["env-e2e"], "cpg": "eu",
        "aud": "CloudGate", "scopes": ["integration"], "iat": 1_764_000_000u64, "exp": exp,
    });
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64.encode(br#"{"kid":"saas","alg":"RS512"}"#),
        b64.encode(claims.to_string())
    )
}

/// 2100-01-01.
const FUTURE: u64 = 4_102_444_800;

/// The `federation-agent` binary with the openapi-files provider and `env`.
fn agent(store: &Path, env: &[(&str, String)]) -> Command {
    let specs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/providers/openapi-files/examples/specs"
    );
    let mut command = common::agent_command(env!("CARGO_BIN_EXE_federation-agent"));
    command
        .env("RUST_LOG", "info")
        .env("gravitee_integration_providers_0_type", "openapi-files")
        .env(
            "gravitee_integration_providers_0_integrationId",
            "int-cloud",
        )
        .env(
            "gravitee_integration_providers_0_configuration_directory",
            specs,
        )
        .env(
            "gravitee_integration_providers_0_configuration_keyStorePath",
            store.join("keys.json"),
        )
        .env("gravitee_services_core_http_port", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Waits for the child to exit; returns (exit code, stdout + stderr).
async fn wait_exit(mut child: Child) -> (Option<i32>, String) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return (status.code(), text);
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the agent did not exit");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stop(child: Child) -> String {
    common::sigterm(&child);
    let (code, output) = wait_exit(child).await;
    assert_eq!(code, Some(0), "{output}");
    output
}

fn upgrade_paths(sim: &Simulator) -> Vec<(String, bool)> {
    sim.events()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Upgrade {
                path, authorized, ..
            } => Some((path, authorized)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_token_alone_connects_to_the_derived_cloud_gate_endpoint() {
    let token = cloud_token(FUTURE);
    // Cloud Gate's path; the APIM token is required too, so only the cloud token gets in.
    let sim = Simulator::start(SimulatorConfig {
        path_prefix: "/apim/integration".to_owned(),
        ..SimulatorConfig::default()
            .token(APIM_TOKEN)
            .cloud_token(token.clone())
            .integration("int-cloud", "openapi-files")
    })
    .await
    .unwrap();
    let gate = format!("http://{}", sim.local_addr());
    let store = tempfile::tempdir().unwrap();
    let child = agent(
        store.path(),
        &[
            ("gravitee_cloud_token", token.clone()),
            ("gravitee_cloud_gateUrl", gate.clone()),
        ],
    )
    .spawn()
    .unwrap();
    sim.wait_connected("int-cloud", WAIT).await.unwrap();
    assert_eq!(sim.discover("int-cloud").await.unwrap().apis.len(), 4);
    let output = stop(child).await;

    assert_eq!(
        upgrade_paths(&sim)[0],
        ("/apim/integration/exchange/controller".to_owned(), true)
    );
    assert!(
        output.contains("Gravitee Cloud token in use")
            && output.contains(&format!("{gate}/apim/integration"))
            && output.contains("derived from cloud.token's cpg claim")
            && output.contains("cloud token (Authorization: Bearer)"),
        "{output}"
    );
    assert!(!output.contains(&token), "the token was printed: {output}");
    assert!(!output.contains("not used"), "{output}");
}

#[tokio::test]
async fn an_explicit_endpoint_and_header_win_over_the_token() {
    let token = cloud_token(FUTURE);
    // This controller knows only the APIM token: the cloud token would be refused.
    let sim = Simulator::start(
        SimulatorConfig::default()
            .token(APIM_TOKEN)
            .integration("int-cloud", "openapi-files"),
    )
    .await
    .unwrap();
    let store = tempfile::tempdir().unwrap();
    let child = agent(
        store.path(),
        &[
            ("gravitee_cloud_token", token.clone()),
            (
                "gravitee_integration_connector_ws_endpoints_0",
                sim.endpoint(),
            ),
            (
                "gravitee_integration_connector_ws_headers_0_name",
                "Authorization".to_owned(),
            ),
            (
                "gravitee_integration_connector_ws_headers_0_value",
                format!("bearer {APIM_TOKEN}"),
            ),
        ],
    )
    .spawn()
    .unwrap();
    sim.wait_connected("int-cloud", WAIT).await.unwrap();
    let output = stop(child).await;
    assert!(
        upgrade_paths(&sim)
            .iter()
            .all(|(_, authorized)| *authorized)
    );
    assert!(
        output.contains("integration.connector.ws.endpoints is configured and wins")
            && output.contains("configured Authorization header"),
        "{output}"
    );
    assert!(!output.contains(&token), "the token was printed: {output}");
    assert!(!output.contains(APIM_TOKEN), "the APIM token was printed");
}

async fn refused(token: &str) -> String {
    let store = tempfile::tempdir().unwrap();
    let child = agent(store.path(), &[("gravitee_cloud_token", token.to_owned())])
        .spawn()
        .unwrap();
    let (code, output) = wait_exit(child).await;
    assert_eq!(code, Some(2), "{output}");
    assert!(!output.contains(token), "the token was printed: {output}");
    output
}

#[tokio::test]
async fn an_expired_token_stops_the_agent_with_exit_2() {
    // 2020-09-13T12:26:40Z.
    let output = refused(&cloud_token(1_600_000_000)).await;
    assert!(
        output.contains(
            "configuration error: cloud.token expired at 2020-09-13T12:26:40Z (claim `exp`): ask \
             Gravitee Cloud for a new token (from env gravitee_cloud_token)"
        ),
        "{output}"
    );
}

#[tokio::test]
async fn a_malformed_token_stops_the_agent_with_exit_2() {
    let output = refused("cloud-token-copied-without-its-dots").await;
    assert!(
        output.contains(
            "configuration error: cloud.token is not a JWT: expected three base64url parts \
             separated by `.` (with a self-hosted APIM, remove the cloud section or set \
             cloud.enabled=false) (from env gravitee_cloud_token)"
        ),
        "{output}"
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let no_cpg = format!(
        "{}.{}.c2ln",
        b64.encode("{}"),
        b64.encode(r#"{"org":"o","envs":["e"]}"#)
    );
    let output = refused(&no_cpg).await;
    assert!(
        output.contains("cloud.token has no usable `cpg` claim: missing or blank"),
        "{output}"
    );
}
