//! The README's first command, `scripts/demo`, run as a user runs it (with the binaries this
//! test build made, through `DEMO_BIN_DIR`, so nothing is rebuilt): moto with sample APIs (REST
//! and one HTTP API), the controller simulator's scripted run and the real AWS agent, which must
//! stop on its own with exit 0 after the simulator's GOOD_BYE; then an OAuth subscription to the
//! HTTP API through the simulator's control API, seen in the JWT authorizer's audience.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn the_demo_script_runs_discover_ingest_subscribe_and_unsubscribe_and_stops_cleanly() {
    let agent = Path::new(env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"));
    let simulator = common::simulator::simulator_binary();
    let bin_dir = agent.parent().unwrap();
    assert_eq!(simulator.parent().unwrap(), bin_dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // Bounded even if something hangs: the script's own waits add up to about a minute.
    let output = Command::new("timeout")
        .args(["--kill-after=10", "240", "bash", "scripts/demo"])
        .current_dir(root)
        .env("DEMO_BIN_DIR", bin_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scripts/demo failed ({:?}):\n{stdout}\n{stderr}",
        output.status
    );
    for expected in [
        "1 skipped:",
        "[demo] agent connected (HELLO accepted).",
        "[demo] DISCOVER: 4 APIs",
        "[demo] START_INGEST + INGEST: 4 APIs",
        "[demo] UNSUBSCRIBE: subscription closed, its access revoked.",
        "== agent stopped cleanly",
        // The HTTP API next to the REST ones, and an OAuth subscription to it.
        "Orders v2",
        "[oauth] audience of JWT authorizer orders-jwt before: ['demo-portal']",
        "[oauth] audience after SUBSCRIBE: ['demo-portal', 'demo-shop-client']",
        "[oauth] audience after UNSUBSCRIBE: ['demo-portal']",
        "== OAuth agent stopped cleanly",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}\n{stderr}"
        );
    }
    // The issued key is shown shortened only.
    let subscribe = stdout
        .lines()
        .find(|l| l.contains("[demo] SUBSCRIBE"))
        .unwrap();
    assert!(subscribe.contains("(40 characters)"), "{subscribe}");
}
