//! What the end-to-end tests share: how they start an agent binary (`aws_agent.rs`: the AWS
//! agent as the seed configures it) and the simulator's (`simulator.rs`).

#![allow(dead_code)]

use std::process::{Child, Command};

pub(crate) mod aws_agent;
pub(crate) mod simulator;

/// `integration.connector.ingest.startDelayMs` of every agent the tests start. The default, 3 s,
/// leaves APIM time to create the ingest job after reading the START_INGEST reply; the
/// controller simulator creates it as soon as it reads the reply, before anything the agent
/// sends after it, so a short pause loses nothing here.
pub(crate) const INGEST_START_DELAY_MS: &str = "50";

/// `binary` with an empty environment but `PATH` and the tests' short ingest start delay
/// ([`INGEST_START_DELAY_MS`]); the caller adds the rest.
pub(crate) fn agent_command(binary: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "gravitee_integration_connector_ingest_startDelayMs",
            INGEST_START_DELAY_MS,
        );
    command
}

/// Sends SIGTERM to `child`, as Kubernetes and `docker stop` do.
pub(crate) fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -TERM {}: {status}", child.id());
}

/// Stops `agent` with SIGTERM and waits for it: it must exit 0 (a clean shutdown).
pub(crate) fn stop_cleanly(mut agent: Child) {
    sigterm(&agent);
    let status = agent.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the agent's exit after SIGTERM: {status}"
    );
}
