//! The real agent binaries as a platform engineer runs them: configured by the seed's
//! environment variables, against the controller simulator on loopback. Start, HELLO, serve,
//! SIGTERM → close 1000 and exit 0; a rejected HELLO or a bad configuration → non-zero exit
//! with a one-line reason.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use federation_simulator::{Event, Simulator, SimulatorConfig};

const TOKEN: &str = "e2e-token-8c1f";
const WAIT: Duration = Duration::from_secs(30);

fn agent(binary: &str, env: &[(&str, String)]) -> Command {
    let mut command = common::agent_command(binary);
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn seed_env(endpoint: &str, integration_id: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "gravitee_integration_connector_ws_endpoints_0",
            endpoint.to_owned(),
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
            integration_id.to_owned(),
        ),
        // Several agents run at once in the tests: let each management service pick a port.
        ("gravitee_services_core_http_port", "0".to_owned()),
    ]
}

fn openapi_files_env(
    endpoint: &str,
    integration_id: &str,
    store: &Path,
) -> Vec<(&'static str, String)> {
    let specs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/providers/openapi-files/examples/specs"
    );
    let mut env = seed_env(endpoint, integration_id);
    env.push((
        "gravitee_integration_providers_0_type",
        "openapi-files".to_owned(),
    ));
    env.push((
        "gravitee_integration_providers_0_configuration_directory",
        specs.to_owned(),
    ));
    env.push((
        "gravitee_integration_providers_0_configuration_keyStorePath",
        store.join("keys.json").display().to_string(),
    ));
    env
}

async fn simulator(integrations: &[(&str, &str)]) -> Simulator {
    let mut config = SimulatorConfig::default().token(TOKEN);
    for (id, provider) in integrations {
        config = config.integration(*id, *provider);
    }
    Simulator::start(config).await.unwrap()
}

/// Waits for the child to exit; returns (exit code, stderr).
async fn wait_exit(mut child: Child) -> (Option<i32>, String) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            return (
                status.code(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            );
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the agent did not exit");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigterm_closes_with_1000_and_exits_0() {
    let sim = simulator(&[("int-files", "openapi-files")]).await;
    let store = tempfile::tempdir().unwrap();
    let child = agent(
        env!("CARGO_BIN_EXE_federation-agent"),
        &openapi_files_env(&sim.endpoint(), "int-files", store.path()),
    )
    .spawn()
    .unwrap();
    sim.wait_connected("int-files", WAIT).await.unwrap();
    assert_eq!(sim.discover("int-files").await.unwrap().apis.len(), 4);
    common::sigterm(&child);
    let (code, stderr) = wait_exit(child).await;
    assert_eq!(code, Some(0), "{stderr}");
    sim.wait_for_event(WAIT, |e| {
        matches!(
            e,
            Event::Closed {
                code: Some(1000),
                ..
            }
        )
    })
    .await
    .unwrap();
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(
        !stderr.contains(TOKEN),
        "the token never reaches a log line"
    );
    // Each line names the integration and the provider once (not once per span).
    let line = stderr
        .lines()
        .find(|l| l.contains("Discovery finished."))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(line.matches("integration=int-files").count(), 1, "{line}");
    assert_eq!(line.matches("provider=openapi-files").count(), 1, "{line}");
    assert!(line.contains("command_type=DISCOVER"), "{line}");
}

#[tokio::test]
async fn a_rejected_hello_exits_1_with_the_controllers_reason() {
    let sim = simulator(&[("int-files", "aws-api-gateway")]).await;
    let store = tempfile::tempdir().unwrap();
    let child = agent(
        env!("CARGO_BIN_EXE_federation-agent"),
        &openapi_files_env(&sim.endpoint(), "int-files", store.path()),
    )
    .spawn()
    .unwrap();
    let (code, stderr) = wait_exit(child).await;
    assert_eq!(code, Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "federation-agent: the controller rejected the HELLO of integration int-files: \
         Integration [id=int-files] does not match. Expected provider [provider=aws-api-gateway]"
    );
    assert_eq!(
        sim.count_events(|e| matches!(e, Event::Hello { .. })),
        1,
        "no retry loop"
    );
}

#[tokio::test]
async fn two_providers_in_one_process_each_say_hello() {
    let sim = simulator(&[("int-a", "openapi-files"), ("int-b", "aws-api-gateway")]).await;
    let store = tempfile::tempdir().unwrap();
    let mut env = openapi_files_env(&sim.endpoint(), "int-a", store.path());
    env.extend([
        (
            "gravitee_integration_providers_1_type",
            "aws-api-gateway".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_integrationId",
            "int-b".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_configuration_region",
            "eu-west-1".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_configuration_accessKeyId",
            "AKIAEXAMPLE".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_configuration_secretAccessKey",
            "not-a-real-secret".to_owned(),
        ),
    ]);
    let child = agent(env!("CARGO_BIN_EXE_federation-agent"), &env)
        .spawn()
        .unwrap();
    sim.wait_connected("int-a", WAIT).await.unwrap();
    sim.wait_connected("int-b", WAIT).await.unwrap();
    let hellos: Vec<(String, Option<String>)> = sim
        .events()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Hello {
                integration_id,
                provider,
                accepted: true,
                ..
            } => Some((integration_id, provider)),
            _ => None,
        })
        .collect();
    assert_eq!(hellos.len(), 2, "{hellos:?}");
    assert!(hellos.contains(&("int-a".into(), Some("openapi-files".into()))));
    assert!(hellos.contains(&("int-b".into(), Some("aws-api-gateway".into()))));
    common::sigterm(&child);
    let (code, stderr) = wait_exit(child).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("not-a-real-secret"));
}

/// A free loopback port (for the management service, whose port the test must know).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on the management service: (status, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn a_rejected_hello_stops_only_its_integration_and_shows_on_health() {
    // int-b exists in APIM for another provider type: its HELLO is rejected, int-a serves on.
    let sim = simulator(&[("int-a", "openapi-files"), ("int-b", "solace")]).await;
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut env = openapi_files_env(&sim.endpoint(), "int-a", store.path());
    env.retain(|(key, _)| *key != "gravitee_services_core_http_port");
    env.extend([
        ("gravitee_services_core_http_port", port.to_string()),
        (
            "gravitee_services_core_http_authentication_type",
            "none".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_type",
            "aws-api-gateway".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_integrationId",
            "int-b".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_configuration_region",
            "eu-west-1".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_configuration_accessKeyId",
            "AKIAEXAMPLE".to_owned(),
        ),
        (
            "gravitee_integration_providers_1_configuration_secretAccessKey",
            "not-a-real-secret".to_owned(),
        ),
    ]);
    let mut child = agent(env!("CARGO_BIN_EXE_federation-agent"), &env)
        .spawn()
        .unwrap();
    sim.wait_for_event(WAIT, |e| {
        matches!(e, Event::Hello { integration_id, accepted: false, .. } if integration_id == "int-b")
    })
    .await
    .unwrap();
    sim.wait_connected("int-a", WAIT).await.unwrap();
    assert_eq!(sim.discover("int-a").await.unwrap().apis.len(), 4);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the agent keeps running"
    );

    let expected = "int-b (failed: HELLO rejected: Integration [id=int-b] does not match. \
                    Expected provider [provider=solace])";
    let deadline = tokio::time::Instant::now() + WAIT;
    let (status, body) = loop {
        let (status, body) = tokio::task::spawn_blocking(move || http_get(port, "/_node/health"))
            .await
            .unwrap();
        if body.contains(expected) || tokio::time::Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(expected), "{body}");
    assert!(body.contains(r#""integrationId":"int-a""#), "{body}");

    common::sigterm(&child);
    let (code, stderr) = wait_exit(child).await;
    assert_eq!(
        code,
        Some(0),
        "not every integration was rejected: {stderr}"
    );
    assert!(
        stderr.contains("Integration [id=int-b] does not match"),
        "{stderr}"
    );
    assert_eq!(
        sim.count_events(
            |e| matches!(e, Event::Hello { integration_id, .. } if integration_id == "int-b")
        ),
        1,
        "no retry loop"
    );
}

/// Runs the binary with `env` and no controller; it must fail fast on configuration.
async fn config_error(binary: &str, env: &[(&str, String)]) -> (Option<i32>, String) {
    wait_exit(agent(binary, env).spawn().unwrap()).await
}

#[tokio::test]
async fn bad_configuration_exits_2_naming_the_key_and_its_source() {
    let endpoint = "http://127.0.0.1:9/integration-controller";
    let aws = env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway");

    // Missing type.
    let (code, stderr) = config_error(aws, &seed_env(endpoint, "int-1")).await;
    assert_eq!(code, Some(2), "{stderr}");
    // Where the key was looked for, never the variable of another key.
    assert!(
        stderr.contains(
            "integration.providers[0].type is missing; looked for in env \
             gravitee_integration_providers_0_type and in "
        ) && stderr.contains("gravitee.yml (no such file)"),
        "{stderr}"
    );
    assert!(!stderr.contains("(from env"), "{stderr}");

    // Unknown provider type.
    let mut env = seed_env(endpoint, "int-1");
    env.push((
        "gravitee_integration_providers_0_type",
        "aws-api-gatewayy".to_owned(),
    ));
    let (code, stderr) = config_error(aws, &env).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("integration.providers[0].type"), "{stderr}");
    assert!(
        stderr.contains("aws-api-gatewayy") && stderr.contains("aws-api-gateway"),
        "{stderr}"
    );

    // Non-numeric port.
    let mut env = seed_env(endpoint, "int-1");
    env.push((
        "gravitee_integration_providers_0_type",
        "aws-api-gateway".to_owned(),
    ));
    env.push((
        "gravitee_integration_providers_0_configuration_region",
        "eu-west-1".to_owned(),
    ));
    env.retain(|(key, _)| *key != "gravitee_services_core_http_port");
    env.push(("gravitee_services_core_http_port", "80a".to_owned()));
    let (code, stderr) = config_error(aws, &env).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("services.core.http.port"), "{stderr}");
    assert!(
        stderr.contains("gravitee_services_core_http_port"),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("federation-agent-aws-api-gateway: "))
            .count(),
        1,
        "one line with the reason: {stderr}"
    );
}

#[test]
fn help_and_version() {
    for binary in [
        env!("CARGO_BIN_EXE_federation-agent"),
        env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"),
    ] {
        // (The simulator's binary is tested in its own package: crates/simulator/tests/cli.rs.)
        let help = Command::new(binary).arg("--help").output().unwrap();
        assert!(help.status.success());
        let help = String::from_utf8_lossy(&help.stdout);
        assert!(help.contains("--config"), "{help}");
        // The binary's own about line, not the shared options' doc comment.
        assert!(help.starts_with("Gravitee federation agent"), "{help}");
        let version = Command::new(binary).arg("--version").output().unwrap();
        assert!(version.status.success());
        assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    }
}

/// build.rs links the binaries with packed relative relocations (DT_RELR) where the glibc
/// linked against is 2.36 or later (about 1 MiB less resident memory, docs/performance.md), and
/// the binary so linked still starts and answers.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn binaries_linked_against_a_recent_glibc_carry_packed_relocations() {
    let glibc = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let recent = glibc
        .strip_prefix("glibc ")
        .and_then(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .is_some_and(|v| v >= (2, 36));
    let binary = env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway");
    let Ok(dynamic) = Command::new("readelf").args(["-d", binary]).output() else {
        eprintln!("readelf not installed: skipped");
        return;
    };
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    let packed = dynamic.contains("(RELR)");
    let wanted = recent && std::env::var_os("FEDERATION_AGENT_NO_RELR").is_none();
    assert_eq!(
        packed, wanted,
        "{glibc}: DT_RELR expected {wanted}, found {packed}"
    );
    let version = Command::new(binary).arg("--version").output().unwrap();
    assert!(version.status.success());
}
