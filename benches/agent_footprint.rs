//! Start-up, idle and ingest footprint of the real AWS agent binary against the controller
//! simulator and moto (one AWS integration). Not a test: it prints figures.
//!
//!     cargo bench --bench agent_footprint
//!
//! (`cargo bench` builds the binary with the release profile; moto must be installed, see
//! `scripts/install-moto.sh`.) It seeds moto with `FOOTPRINT_APIS` REST APIs (default 1000, one
//! stage each, all in usage plans), then prints:
//!
//! - time from process start to HELLO accepted (median of 15 starts);
//! - idle resident memory (VmRSS, with its anonymous / file-backed split and the thread count)
//!   10 s after one DISCOVER, connected;
//! - peak VmRSS (VmHWM) during the ingest of every API (START_INGEST, INGEST batches awaited),
//!   against 2 × the idle figure.
//!
//! `FOOTPRINT_BASELINE_BIN=/path/to/an/older/agent[:/another]` measures those binaries the same
//! way in the same run (idle and peak), for a before/after comparison.
//!
//! With `FOOTPRINT_SOAK_SECS=3600` it then runs the soak: one agent connected for that long, a
//! HEALTH_CHECK every second and a DISCOVER every 10 s, printing a CSV line (`elapsed_s`,
//! `vmrss_kib`, `fds`) every `FOOTPRINT_SOAK_SAMPLE_SECS` (default 60) and the growth of VmRSS
//! and of the file-descriptor count between minute 5 (or the first sample after 5 % of the run)
//! and the end.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use federation_provider_aws_api_gateway::testing::{self, MotoServer, seed};
use federation_simulator::{Event, Simulator, SimulatorConfig};

const RUNS: usize = 15;
const REGION: &str = "us-east-1";

/// The agent binary of this build.
const AGENT: &str = env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway");

fn spawn_agent(endpoint: &str, integration: &str, aws: &str) -> std::io::Result<Child> {
    spawn_agent_binary(AGENT, endpoint, integration, aws)
}

fn spawn_agent_binary(
    binary: &str,
    endpoint: &str,
    integration: &str,
    aws: &str,
) -> std::io::Result<Child> {
    let provider = |key: &str| format!("gravitee_integration_providers_0_configuration_{key}");
    Command::new(binary)
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
        .env(provider("region"), REGION)
        .env(provider("endpoint"), aws)
        .env(provider("accessKeyId"), testing::TEST_ACCESS_KEY_ID)
        .env(provider("secretAccessKey"), testing::TEST_SECRET_ACCESS_KEY)
        // moto has no quota: the ingest is not slowed down, so its peak is the worst case.
        .env(provider("requestsPerSecond"), "1000")
        .env(provider("burst"), "1000")
        .env("gravitee_services_core_http_port", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`) or of `smaps_rollup`.
fn proc_kib(pid: u32, file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib(pid: u32) -> Option<u64> {
    proc_kib(pid, "status", "VmRSS")
}

fn fd_count(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

async fn hello(sim: &Simulator, id: &str) -> bool {
    let accepted = sim
        .wait_for_event(Duration::from_secs(20), |e| {
            matches!(e, Event::Hello { integration_id, accepted: true, .. } if integration_id == id)
        })
        .await
        .is_ok();
    // The channel is registered just after the HELLO event.
    accepted && sim.wait_connected(id, Duration::from_secs(5)).await.is_ok()
}

async fn seed_apis(moto: &MotoServer, count: usize) {
    let client = testing::client(&moto.endpoint(), REGION).await;
    let started = Instant::now();
    // Four seeding workers.
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let client = client.clone();
        workers.spawn(async move {
            let mut ids = Vec::new();
            for i in (worker..count).step_by(4) {
                let id = format!("foot{i:05}");
                ids.push(
                    seed::rest_api(&client, &format!("Footprint {i}"), Some(&id), &["prod"]).await,
                );
            }
            ids
        });
    }
    let mut ids = Vec::new();
    while let Some(batch) = workers.join_next().await {
        ids.extend(batch.expect("a seeding worker"));
    }
    for (p, chunk) in ids.chunks(count.div_ceil(10).max(1)).enumerate() {
        let mut spec = seed::PlanSpec::new(&format!("Plan {p}"));
        for id in chunk {
            spec = spec.stage(id, "prod");
        }
        seed::usage_plan(&client, &spec).await;
    }
    println!(
        "seeded moto with {count} REST APIs in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let count: usize = std::env::var("FOOTPRINT_APIS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let moto = MotoServer::start().await;
    seed_apis(&moto, count).await;

    let mut config = SimulatorConfig::default().token("bench");
    for i in 0..RUNS {
        config = config
            .integration(format!("bench-{i}"), "aws-api-gateway")
            .integration(format!("baseline-{i}"), "aws-api-gateway");
    }
    let sim = Simulator::start(config).await.expect("simulator");
    let mut hello_ms = Vec::new();
    for i in 0..RUNS {
        let id = format!("bench-{i}");
        let started = Instant::now();
        let child = spawn_agent(&sim.endpoint(), &id, &moto.endpoint()).expect("spawn the agent");
        if hello(&sim, &id).await {
            hello_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        if i == 0 {
            footprint(&sim, &id, child.id(), count).await;
        }
        stop(child);
    }
    // Other builds of the agent (an earlier commit, other link flags), measured the same way
    // against the same moto and simulator: `FOOTPRINT_BASELINE_BIN=/a/agent:/b/agent`.
    let baselines = std::env::var("FOOTPRINT_BASELINE_BIN").unwrap_or_default();
    let baselines = baselines.split(':').filter(|p| !p.is_empty());
    for (i, baseline) in baselines.take(RUNS).enumerate() {
        println!("baseline {baseline}:");
        let id = format!("baseline-{i}");
        match spawn_agent_binary(baseline, &sim.endpoint(), &id, &moto.endpoint()) {
            Ok(child) => {
                if hello(&sim, &id).await {
                    footprint(&sim, &id, child.id(), count).await;
                } else {
                    println!("the baseline binary did not connect");
                }
                stop(child);
            }
            Err(error) => println!("cannot start the baseline binary: {error}"),
        }
    }
    let size = std::fs::metadata(AGENT).map(|m| m.len()).unwrap_or(0);
    println!("agent binary: {:.1} MiB", size as f64 / (1024.0 * 1024.0));
    println!(
        "start -> HELLO accepted: median {:.1} ms over {} starts (min {:.1}, max {:.1})",
        median(&mut hello_ms.clone()),
        hello_ms.len(),
        hello_ms.iter().copied().fold(f64::INFINITY, f64::min),
        hello_ms.iter().copied().fold(0.0, f64::max),
    );
    drop(sim);

    if let Some(secs) = std::env::var("FOOTPRINT_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        soak(&moto, Duration::from_secs(secs)).await;
    }
}

/// Idle after one DISCOVER, then the peak during the ingest of every API.
async fn footprint(sim: &Simulator, id: &str, pid: u32, count: usize) {
    let before = rss_kib(pid).unwrap_or(0);
    let started = Instant::now();
    let preview = sim.discover(id).await.expect("DISCOVER");
    println!(
        "DISCOVER: {} APIs in {:.2} s (VmRSS before it: {})",
        preview.apis.len(),
        started.elapsed().as_secs_f64(),
        mib(before)
    );
    // Idle: connected, a few pings and a health check window.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle = rss_kib(pid).unwrap_or(0);
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0);
    println!(
        "idle VmRSS 10 s after one DISCOVER, connected: {} (anonymous {}, file-backed {}; {} \
         threads, {} fds)",
        mib(idle),
        mib(proc_kib(pid, "smaps_rollup", "Anonymous").unwrap_or(0)),
        mib(proc_kib(pid, "smaps_rollup", "Rss").unwrap_or(0)
            - proc_kib(pid, "smaps_rollup", "Anonymous").unwrap_or(0)),
        threads,
        fd_count(pid).unwrap_or(0),
    );
    if let Ok(path) = std::env::var("FOOTPRINT_SMAPS_OUT") {
        // Where the idle memory is, mapping by mapping (docs/performance.md's analysis).
        match std::fs::copy(format!("/proc/{pid}/smaps"), &path) {
            Ok(_) => println!("smaps of the idle agent (pid {pid}) written to {path}"),
            Err(e) => println!("could not copy /proc/{pid}/smaps to {path}: {e}"),
        }
    }
    if let Some(secs) = std::env::var("FOOTPRINT_HOLD_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        println!("holding the idle agent (pid {pid}) for {secs} s for inspection");
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    let high_before = proc_kib(pid, "status", "VmHWM").unwrap_or(0);
    let started = Instant::now();
    let job = sim
        .ingest(id, None, Duration::from_secs(600))
        .await
        .expect("ingest");
    let peak = proc_kib(pid, "status", "VmHWM").unwrap_or(0);
    let after = rss_kib(pid).unwrap_or(0);
    println!(
        "ingest of {count} APIs: {} pushed in {:.1} s; peak VmRSS (VmHWM) {} = {:.2}x idle \
         (bound 2x; VmHWM before the ingest {}); VmRSS after {}",
        job.apis.len(),
        started.elapsed().as_secs_f64(),
        mib(peak),
        peak as f64 / idle.max(1) as f64,
        mib(high_before),
        mib(after),
    );
}

/// The soak: HEALTH_CHECK every second, DISCOVER every 10 s; VmRSS and fds sampled.
async fn soak(moto: &MotoServer, length: Duration) {
    let sample_every = Duration::from_secs(
        std::env::var("FOOTPRINT_SOAK_SAMPLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    let mut config = SimulatorConfig::default().token("bench");
    config.health_check_interval = Duration::from_secs(1);
    let sim = Simulator::start(config.integration("soak", "aws-api-gateway"))
        .await
        .expect("simulator");
    let child = spawn_agent(&sim.endpoint(), "soak", &moto.endpoint()).expect("spawn the agent");
    let pid = child.id();
    assert!(hello(&sim, "soak").await, "the agent connected");
    println!(
        "soak: {} s, HEALTH_CHECK every 1 s, DISCOVER every 10 s",
        length.as_secs()
    );
    println!("elapsed_s,vmrss_kib,fds");
    let started = Instant::now();
    let mut next_sample = Duration::ZERO;
    let mut samples: Vec<(u64, u64, usize)> = Vec::new();
    let mut discovers = 0u64;
    let mut failures = 0u64;
    while started.elapsed() < length {
        if started.elapsed() >= next_sample {
            let sample = (
                started.elapsed().as_secs(),
                rss_kib(pid).unwrap_or(0),
                fd_count(pid).unwrap_or(0),
            );
            println!("{},{},{}", sample.0, sample.1, sample.2);
            samples.push(sample);
            next_sample += sample_every;
        }
        match sim.discover("soak").await {
            Ok(_) => discovers += 1,
            Err(_) => failures += 1,
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let last = (
        started.elapsed().as_secs(),
        rss_kib(pid).unwrap_or(0),
        fd_count(pid).unwrap_or(0),
    );
    println!("{},{},{}", last.0, last.1, last.2);
    let health_checks = sim.count_events(|e| {
        matches!(e, Event::Received { kind, command_type, status, .. }
            if kind == "REPLY" && command_type == "HEALTH_CHECK" && status.as_deref() == Some("SUCCEEDED"))
    });
    let from = length.as_secs().min(300).max(length.as_secs() / 20);
    let base = samples
        .iter()
        .find(|s| s.0 >= from)
        .copied()
        .unwrap_or(last);
    println!(
        "soak: {discovers} DISCOVERs ({failures} failed), {health_checks} healthy HEALTH_CHECK \
         replies; from \
         {} s to {} s: VmRSS {:+} KiB ({} -> {}), fds {:+}",
        base.0,
        last.0,
        last.1 as i64 - base.1 as i64,
        mib(base.1),
        mib(last.1),
        last.2 as i64 - base.2 as i64,
    );
    stop(child);
}
