//! `federation-controller-simulator`: a stand-in for Gravitee APIM's integration controller.
//!
//! Start it, point an agent at it, and drive it over its HTTP control API (or let `--demo` run
//! discover → ingest → subscribe → unsubscribe once the agent is connected and print each
//! step).
//!
//! A binary of the `federation-simulator` package (not of the root package, which ships the AWS
//! agent), so `cargo run -p federation-simulator -- --demo` and
//! `cargo install --path crates/simulator` build no AWS SDK crate. Its HTTP control API:
//! `docs/simulator.md`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use federation_simulator::{
    APIM_MAX_FRAME_SIZE, APIM_MAX_MESSAGE_SIZE, ApiKeyMode, ApimVersion, Simulator,
    SimulatorConfig, SubscribeRequest, api,
};

#[derive(Debug, Parser)]
#[command(
    name = "federation-controller-simulator",
    version,
    about = "A Gravitee integration controller simulator: try a federation agent without APIM"
)]
struct Cli {
    /// Where agents connect (WebSocket).
    #[arg(long, default_value = "127.0.0.1:8072")]
    listen: SocketAddr,
    /// Where the HTTP control API listens.
    #[arg(long, default_value = "127.0.0.1:8073")]
    api: SocketAddr,
    /// The bearer token agents must send.
    #[arg(long, default_value = "demo-token")]
    token: String,
    /// A Gravitee Cloud token agents may send instead (`Authorization: Bearer <cloud token>`),
    /// as Cloud Gate accepts it; use with `--path-prefix /apim/integration`.
    #[arg(long)]
    cloud_token: Option<String>,
    /// An integration agents may say HELLO for, as ID=PROVIDER (repeatable).
    #[arg(
        long = "integration",
        value_name = "ID=PROVIDER",
        default_value = "demo=aws-api-gateway"
    )]
    integrations: Vec<String>,
    /// Seconds between HEALTH_CHECKs.
    #[arg(long, default_value_t = 30)]
    health_check_interval: u64,
    /// Path prefix an ingress would strip.
    #[arg(long, default_value = "/integration-controller")]
    path_prefix: String,
    /// The APIM release to behave like (4.5 and later): from 4.7 an ingest job times out past
    /// its deadline, before it stays PENDING until its `done: true` batch; from 4.6 re-ingesting
    /// an API clears the pages it no longer has; from 4.9 SUBSCRIBE carries provider metadata.
    #[arg(long, value_name = "VERSION", default_value_t = ApimVersion::LATEST)]
    apim_version: ApimVersion,
    /// APIM 4.7+: seconds from an ingest job's creation (and from each `done: false` batch)
    /// until it times out.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    ingest_job_deadline: u64,
    /// The largest message answered, in bytes on the wire; a bigger one is dropped unanswered.
    #[arg(long, value_name = "BYTES", default_value_t = APIM_MAX_MESSAGE_SIZE)]
    max_message_size: usize,
    /// The largest WebSocket frame accepted, in bytes; a bigger one closes the connection.
    #[arg(long, value_name = "BYTES", default_value_t = APIM_MAX_FRAME_SIZE)]
    max_frame_size: usize,
    /// How applications keep API keys: `exclusive` (each subscription shows the key the agent
    /// returned) or `shared` (an application's first key is shown for all its subscriptions).
    #[arg(long, value_name = "MODE", default_value_t = ApiKeyMode::Exclusive)]
    api_key_mode: ApiKeyMode,
    /// Once an agent connects for the first integration: discover, ingest everything,
    /// subscribe to the first plan, unsubscribe, print each step, say GOOD_BYE without
    /// reconnect (the agent stops) and exit.
    #[arg(long)]
    demo: bool,
    /// With --demo: keep serving after the demo instead of exiting.
    #[arg(long)]
    keep_running: bool,
    /// With --demo: how long to wait for the agent, in seconds.
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("federation-controller-simulator: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("federation-controller-simulator: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut config = SimulatorConfig {
        listen: cli.listen,
        path_prefix: cli.path_prefix.clone(),
        health_check_interval: Duration::from_secs(cli.health_check_interval.max(1)),
        ..SimulatorConfig::default()
    }
    .token(cli.token.clone())
    .apim_version(cli.apim_version)
    .ingest_job_deadline(Duration::from_secs(cli.ingest_job_deadline))
    .max_message_size(cli.max_message_size.max(1))
    .max_frame_size(cli.max_frame_size.max(1))
    .api_key_mode(cli.api_key_mode);
    if let Some(cloud_token) = &cli.cloud_token {
        config = config.cloud_token(cloud_token.clone());
    }
    for spec in &cli.integrations {
        let (id, provider) = spec
            .split_once('=')
            .ok_or_else(|| format!("--integration {spec}: expected ID=PROVIDER"))?;
        config = config.integration(id.trim(), provider.trim());
    }
    let first = config
        .integrations
        .first()
        .map(|i| i.id.clone())
        .ok_or("at least one --integration is needed")?;
    let simulator = Simulator::start(config).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(cli.api)
        .await
        .map_err(|e| format!("cannot listen on {} for the control API: {e}", cli.api))?;
    let api_addr = listener.local_addr().map_err(|e| e.to_string())?;
    let api_simulator = simulator.clone();
    tokio::spawn(async move {
        if let Err(error) = api::serve(api_simulator, listener).await {
            eprintln!("control API stopped: {error}");
        }
    });

    println!(
        "Controller simulator listening for agents on {}",
        simulator.local_addr()
    );
    println!("Point an agent at it with:");
    println!(
        "  gravitee_integration_connector_ws_endpoints_0={}",
        simulator.endpoint()
    );
    println!("  gravitee_integration_connector_ws_headers_0_name=Authorization");
    println!(
        "  gravitee_integration_connector_ws_headers_0_value=bearer {}",
        cli.token
    );
    for integration in &simulator.config().integrations {
        println!(
            "  gravitee_integration_providers_N_integrationId={}  (type {})",
            integration.id, integration.provider
        );
    }
    let config = simulator.config();
    println!(
        "Behaving like APIM {}: ingest jobs {}; messages over {} bytes unanswered; {} API keys",
        config.apim_version,
        if config.apim_version.has_ingest_deadline() {
            format!(
                "time out {} s after their last batch",
                config.ingest_job_deadline.as_secs()
            )
        } else {
            "stay PENDING until done".to_owned()
        },
        config.max_message_size,
        config.api_key_mode
    );
    println!("Control API on http://{api_addr}/ , for example:");
    println!("  curl -s -X POST http://{api_addr}/integrations/{first}/discover");

    if cli.demo {
        demo(&simulator, &first, Duration::from_secs(cli.wait)).await?;
        if !cli.keep_running {
            // GOOD_BYE without reconnect: the agent closes with 1000 and stops cleanly.
            let _ = simulator.goodbye(&first, false).await;
            for _ in 0..50 {
                if !simulator.connected(&first) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            simulator.shutdown();
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Ok(());
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    simulator.shutdown();
    Ok(())
}

async fn demo(simulator: &Simulator, integration: &str, wait: Duration) -> Result<(), String> {
    println!("\n[demo] waiting for an agent to connect for integration {integration} ...");
    simulator
        .wait_connected(integration, wait)
        .await
        .map_err(|e| e.to_string())?;
    println!("[demo] agent connected (HELLO accepted).");

    let preview = simulator
        .discover(integration)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "[demo] DISCOVER: {} APIs{}",
        preview.apis.len(),
        if preview.is_partial_discovery {
            " (partial)"
        } else {
            ""
        }
    );
    for api in &preview.apis {
        println!(
            "         {:<40} {:<28} version {}",
            api.id,
            api.name,
            api.version.as_deref().unwrap_or("-")
        );
    }

    let job = simulator
        .ingest(integration, None, Duration::from_secs(600))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "[demo] START_INGEST + INGEST: {} APIs in {} batches",
        job.apis.len(),
        job.batches
    );
    for api in &job.apis {
        let plans: Vec<String> = api
            .plans
            .iter()
            .flatten()
            .map(|p| format!("{} ({})", p.name, p.id))
            .collect();
        let pages = api.pages.as_ref().map_or(0, Vec::len);
        println!(
            "         {:<28} {} page(s), plans: {}",
            api.name,
            pages,
            if plans.is_empty() {
                "none".to_owned()
            } else {
                plans.join(", ")
            }
        );
    }

    let Some((api, plan)) = job
        .apis
        .iter()
        .find_map(|a| a.plans.as_ref()?.first().map(|p| (a.clone(), p.clone())))
    else {
        println!("[demo] no API has a plan: nothing to subscribe to.");
        return Ok(());
    };
    let (subscription_id, result) = simulator
        .subscribe(
            integration,
            SubscribeRequest::api_key(api.id.clone(), Some(plan.id.clone())),
        )
        .await
        .map_err(|e| e.to_string())?;
    let key = result.api_key.as_ref().map(|k| k.expose()).unwrap_or("");
    let shown: String = key.chars().take(4).collect();
    println!(
        "[demo] SUBSCRIBE {} on plan {}: API key {}… ({} characters), metadata {:?}",
        api.name,
        plan.name,
        shown,
        key.len(),
        result.metadata.clone().unwrap_or_default()
    );
    simulator
        .unsubscribe(integration, &subscription_id)
        .await
        .map_err(|e| e.to_string())?;
    println!("[demo] UNSUBSCRIBE: subscription closed, its access revoked.");
    println!("[demo] done.");
    Ok(())
}
