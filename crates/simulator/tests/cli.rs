//! The `federation-controller-simulator` binary of this package: `--help`, `--version`, and a
//! start that prints how to point an agent at it and answers its HTTP control API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_federation-controller-simulator");

#[test]
fn help_names_the_simulator_and_version_is_the_package_version() {
    let help = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.starts_with("A Gravitee integration controller simulator"),
        "{help}"
    );
    for flag in ["--integration", "--demo", "--api", "--apim-version"] {
        assert!(help.contains(flag), "{flag} missing in:\n{help}");
    }

    let version = Command::new(BINARY).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!(
            "federation-controller-simulator {}",
            env!("CARGO_PKG_VERSION")
        )
    );
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Kills the simulator when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn it_prints_the_agent_settings_and_serves_its_control_api() {
    let (listen, api) = (free_port(), free_port());
    let mut simulator = Running(
        Command::new(BINARY)
            .args(["--listen", &listen.to_string(), "--api", &api.to_string()])
            .args(["--integration", "acme=acme-gateway", "--token", "t0ken"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = simulator.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = String::new();
    // The last line it prints at start-up is the control API's example call.
    while !printed.contains("curl -s -X POST") {
        let line = lines
            .next()
            .expect("the simulator stopped printing")
            .unwrap();
        printed.push_str(&line);
        printed.push('\n');
    }
    for expected in [
        format!(
            "gravitee_integration_connector_ws_endpoints_0=http://{listen}/integration-controller"
        ),
        "gravitee_integration_connector_ws_headers_0_value=bearer t0ken".to_owned(),
        "gravitee_integration_providers_N_integrationId=acme  (type acme-gateway)".to_owned(),
        format!("Control API on http://{api}/"),
    ] {
        assert!(
            printed.contains(&expected),
            "`{expected}` missing in:\n{printed}"
        );
    }

    // GET /integrations answers with the integration, not connected (docs/simulator.md §4).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(api) {
            Ok(stream) => break stream,
            Err(error) => {
                assert!(Instant::now() < deadline, "control API: {error}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    write!(
        stream,
        "GET /integrations HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"acme\""), "{answer}");
    assert!(answer.contains("acme-gateway"), "{answer}");
}
