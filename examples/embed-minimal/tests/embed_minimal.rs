//! Runs the `embed-minimal` program against the controller simulator over loopback: it says
//! HELLO with the provider's own type, serves DISCOVER and SUBSCRIBE, and exits 0 when the
//! controller says GOOD_BYE without reconnect.

#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use federation_simulator::{Simulator, SimulatorConfig, SubscribeRequest};

const WAIT: Duration = Duration::from_secs(30);

/// Kills the program if the test fails before it exits.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Program {
    /// Waits for the exit without blocking the runtime; `None` if it did not exit within WAIT.
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
async fn serves_the_controller_and_stops_on_good_bye() {
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .token("embed-token")
            .integration("embedded", "memory"),
    )
    .await
    .unwrap();
    let mut program = Program(
        Command::new(env!("CARGO_BIN_EXE_embed-minimal"))
            .args([simulator.endpoint().as_str(), "embed-token"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // HELLO accepted: the simulator knows `embedded` as type `memory`, which the program
    // took from the provider itself (`Integration::of`).
    simulator.wait_connected("embedded", WAIT).await.unwrap();
    let preview = simulator.discover("embedded").await.unwrap();
    assert_eq!(preview.apis.len(), 3);
    let (_, result) = simulator
        .subscribe(
            "embedded",
            SubscribeRequest::api_key("api-0", Some("gold-0".to_owned())),
        )
        .await
        .unwrap();
    assert!(result.api_key.is_some());

    simulator.goodbye("embedded", false).await.unwrap();
    let status = program.exit().await.expect("the program did not exit");
    assert!(status.success(), "{status}");
}
