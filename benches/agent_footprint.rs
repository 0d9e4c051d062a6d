//! Start-up and idle footprint of the real AWS agent binary against the controller simulator:
//! time from process start to HELLO accepted (median of 15 starts) and the idle resident memory
//! once connected. Not a test: it prints figures.
//!
//!     cargo bench --bench agent_footprint
//!
//! (`cargo bench` builds the binary with the release profile.)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use federation_simulator::{Event, Simulator, SimulatorConfig};

const RUNS: usize = 15;

fn spawn_agent(endpoint: &str, integration: &str) -> std::io::Result<Child> {
    Command::new(env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"))
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .env("gravitee_integration_connector_ws_endpoints_0", endpoint)
        .env(
            "gravitee_integration_connector_ws_headers_0_name",
            "Authorization",
        )
        .env(
            "gravitee_integration_connector_ws_headers_0_value",
            "bearer bench",
        )
        .env("gravitee_integration_providers_0_type", "aws-api-gateway")
        .env(
            "gravitee_integration_providers_0_integrationId",
            integration,
        )
        .env(
            "gravitee_integration_providers_0_configuration_region",
            "eu-west-1",
        )
        .env(
            "gravitee_integration_providers_0_configuration_accessKeyId",
            "AKIABENCH",
        )
        .env(
            "gravitee_integration_providers_0_configuration_secretAccessKey",
            "bench-secret",
        )
        .env("gravitee_services_core_http_port", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut config = SimulatorConfig::default().token("bench");
        for i in 0..RUNS {
            config = config.integration(format!("bench-{i}"), "aws-api-gateway");
        }
        let sim = Simulator::start(config).await.expect("simulator");
        let mut hello_ms = Vec::new();
        let mut rss = Vec::new();
        for i in 0..RUNS {
            let id = format!("bench-{i}");
            let started = Instant::now();
            let mut child = spawn_agent(&sim.endpoint(), &id).expect("spawn the agent");
            let hello = sim
                .wait_for_event(Duration::from_secs(20), |e| {
                    matches!(e, Event::Hello { integration_id, accepted: true, .. } if *integration_id == id)
                })
                .await;
            let elapsed = started.elapsed();
            if hello.is_ok() {
                hello_ms.push(elapsed.as_secs_f64() * 1000.0);
            }
            if i == 0 {
                // Idle: connected, a few pings and a health check window.
                tokio::time::sleep(Duration::from_secs(10)).await;
                if let Some(kib) = rss_kib(child.id()) {
                    rss.push(kib);
                }
            }
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
        let size = std::fs::metadata(env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("agent binary: {:.1} MiB", size as f64 / (1024.0 * 1024.0));
        println!(
            "start -> HELLO accepted: median {:.1} ms over {} starts (min {:.1}, max {:.1})",
            median(&mut hello_ms.clone()),
            hello_ms.len(),
            hello_ms.iter().copied().fold(f64::INFINITY, f64::min),
            hello_ms.iter().copied().fold(0.0, f64::max),
        );
        if let Some(kib) = rss.first() {
            println!("idle RSS after 10 s connected: {:.1} MiB", *kib as f64 / 1024.0);
        }
    });
}
