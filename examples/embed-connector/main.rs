//! # embed-connector: the connector inside a program that has its own work to do
//!
//! The host here is a small tool with its own work loop: a ticker that prints a status line
//! for each integration every tick, read from the connector's [`StatusBoard`]. Into it we embed
//! the connector, serving a provider to an integration controller:
//!
//! - the configuration is built in code ([`ConnectorConfig`]; no `gravitee.yml`, no
//!   environment variables), with two upgrade headers: the bearer token and a header of our
//!   own;
//! - the connector runs as a task beside the host's loop, and stops when a shutdown future
//!   completes (here: a oneshot fired by the host, or Ctrl-C), closing with 1000;
//! - status comes from [`Connector::status`], a cheap handle that stays live while it runs.
//!
//! `cargo run -p federation-example-embed-connector` also starts an in-process controller
//! simulator, which plays APIM for a scripted few seconds (discover, subscribe, then a GOOD_BYE
//! that makes the connector reconnect) before the host stops everything and exits.
//!
//! `cargo run -p federation-example-embed-connector -- --endpoint URL --token T
//! --integration-id ID` serves an external controller until Ctrl-C instead. HELLO announces the provider's own type
//! (`memory`): the integration in the controller must be of that type.
//!
//! The provider is the test kit's `MemoryProvider` (three sample APIs, API keys in memory):
//! put your own `Arc<dyn Provider>` in its place.
//!
//! The shortest form of all this is `examples/embed-minimal` (under 20 lines).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use federation_connector::{
    ChannelState, Connector, ConnectorConfig, HeaderConfig, Integration, IntegrationStatus,
    StatusBoard,
};
use federation_simulator::{Event, Simulator, SimulatorConfig, SubscribeRequest};
use federation_testkit::MemoryProvider;
use federation_testkit::memory::MEMORY_TYPE;
use tokio::sync::oneshot;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The integration id of the scripted run.
const INTEGRATION: &str = "embedded";
/// The controller token of the scripted run.
const TOKEN: &str = "embed-token";

/// A tool with its own work loop, serving a provider to an integration controller.
#[derive(Debug, Parser)]
#[command(name = "embed-connector")]
struct Cli {
    /// Controller URL, e.g. http://127.0.0.1:8072/integration-controller. Without it, an
    /// in-process simulator is started and a short scripted run follows.
    #[arg(long, requires = "integration_id")]
    endpoint: Option<String>,
    /// Bearer token sent to the controller.
    #[arg(long)]
    token: Option<String>,
    /// The integration id the controller knows.
    #[arg(long)]
    integration_id: Option<String>,
    /// Seconds between status lines.
    #[arg(long, default_value_t = 5)]
    every: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The host's logging: the connector logs through `tracing`, so any subscriber works; this
    // plain one shows warnings only, unless RUST_LOG says otherwise.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let result = match (&cli.endpoint, &cli.integration_id) {
        (Some(endpoint), Some(id)) => external(&cli, endpoint, id).await,
        _ => scripted().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("embed-connector: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `integration.connector.*`, built in code: what `gravitee.yml` would say under
/// `integration.connector`, with every other key at its default.
fn connector_config(endpoint: &str, token: Option<&str>) -> ConnectorConfig {
    // The endpoint and `Authorization: bearer <token>`; header values are `Secret`s: never
    // printed, never logged.
    let mut config = ConnectorConfig::for_controller(endpoint, token.unwrap_or_default());
    if token.is_none() {
        config.ws.headers.clear(); // no token, no Authorization header
    }
    config.ws.headers.push(HeaderConfig::new(
        "X-Embedded-In",
        "embed-connector example",
    ));
    // Reconnect fast (the defaults start at 1 s and grow to 5 minutes).
    config.ws.backoff.initial_delay_ms = 200;
    config.ws.backoff.max_delay_ms = 10_000;
    // At shutdown, commands still running get 2 s to finish.
    config.commands.shutdown_grace_ms = 2_000;
    config
}

/// One line per integration: what a health page or a status bar of the host would show.
fn print_status(started: Instant, status: &StatusBoard) {
    let at = started.elapsed().as_secs_f32();
    for integration in status.snapshot() {
        // `IntegrationStatus` displays as one line: state, primary, endpoint, reconnects,
        // the provider's health, the last error.
        println!("[host {at:5.1}s] {integration}");
    }
}

/// The host's own work loop: a status line every `every` until `until` completes.
async fn host_loop(status: &StatusBoard, every: Duration, until: impl Future<Output = ()>) {
    let started = Instant::now();
    println!("[host] work loop started: a status line every {every:?}");
    let mut ticker = tokio::time::interval(every);
    tokio::pin!(until);
    loop {
        tokio::select! {
            _ = ticker.tick() => print_status(started, status),
            () = &mut until => break,
        }
    }
    println!("[host] work loop done");
}

/// With an in-process simulator playing APIM for a few seconds.
async fn scripted() -> Result<(), Error> {
    let simulator = Simulator::start(
        SimulatorConfig {
            // APIM checks health every 30 s; here every second, to see it in the status.
            health_check_interval: Duration::from_secs(1),
            ..SimulatorConfig::default()
        }
        .integration(INTEGRATION, MEMORY_TYPE)
        .token(TOKEN),
    )
    .await?;
    println!("controller simulator on {}", simulator.endpoint());

    // Embed: build, keep a status handle, run it as a task until `stop` fires.
    let provider = Arc::new(MemoryProvider::with_sample_apis(3));
    let config = connector_config(&simulator.endpoint(), Some(TOKEN));
    // `Integration::of`: HELLO's provider type is the provider's own (`memory`).
    let connector = Connector::from_config(&config)?
        .with_integration(Integration::of(INTEGRATION, provider.clone()));
    let status = connector.status();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        tokio::select! {
            _ = stopped => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let connector_task = tokio::spawn(connector.run(shutdown));

    // The controller's side, concurrently with the host's loop.
    let script = tokio::spawn(controller_script(simulator.clone(), status.clone()));
    let script_result = host_loop_until(&status, script).await;

    // Stop the connector: complete the shutdown future, then wait for `run` to return.
    let _ = stop.send(());
    connector_task.await??;
    simulator
        .wait_for_event(Duration::from_secs(5), closed_with_1000)
        .await?;
    let state = status.get(INTEGRATION).map(|s| s.state);
    let shown = state.map_or("unknown".to_owned(), |s| s.to_string());
    println!("[host] connector stopped: state {shown}, socket closed with 1000");
    let upgrades = simulator.count_events(|e| matches!(e, Event::Upgrade { status: 101, .. }));
    println!(
        "[host] {upgrades} WebSocket upgrades accepted (with our token header); the provider \
         served {} subscribe and {} revoke",
        provider.subscribe_calls(),
        provider.revoke_calls()
    );
    simulator.shutdown();
    script_result?;
    if state != Some(ChannelState::Stopped) {
        return Err("the connector did not stop cleanly".into());
    }
    Ok(())
}

/// The controller saw the agent close a connection with 1000 (a clean shutdown).
fn closed_with_1000(event: &Event) -> bool {
    matches!(
        event,
        Event::Closed {
            code: Some(1000),
            ..
        }
    )
}

/// Runs the host loop (a status line every half second) until the controller script ends.
async fn host_loop_until(
    status: &StatusBoard,
    script: tokio::task::JoinHandle<Result<(), Error>>,
) -> Result<(), Error> {
    let mut outcome = None;
    host_loop(status, Duration::from_millis(500), async {
        outcome = Some(script.await);
    })
    .await;
    match outcome {
        Some(Ok(result)) => result,
        Some(Err(join)) => Err(join.into()),
        None => Err("the host loop ended before the script".into()),
    }
}

/// What the simulated APIM does meanwhile.
async fn controller_script(simulator: Simulator, status: StatusBoard) -> Result<(), Error> {
    let pause = || tokio::time::sleep(Duration::from_millis(1_200));
    simulator
        .wait_connected(INTEGRATION, Duration::from_secs(10))
        .await?;
    println!("  [controller] agent connected");
    pause().await;
    let preview = simulator.discover(INTEGRATION).await?;
    println!("  [controller] DISCOVER: {} APIs", preview.apis.len());
    let job = simulator
        .ingest(INTEGRATION, None, Duration::from_secs(30))
        .await?;
    println!("  [controller] INGEST: {} APIs", job.apis.len());
    let (subscription, _) = simulator
        .subscribe(
            INTEGRATION,
            SubscribeRequest::api_key("api-0", Some("gold-0".to_owned())),
        )
        .await?;
    println!("  [controller] SUBSCRIBE api-0/gold-0: key issued");
    simulator.unsubscribe(INTEGRATION, &subscription).await?;
    println!("  [controller] UNSUBSCRIBE: key revoked");
    pause().await;
    simulator.goodbye(INTEGRATION, true).await?;
    println!("  [controller] GOOD_BYE (reconnect): the connector closes and comes back");
    let back = status
        .wait_for(Duration::from_secs(10), |all| {
            all.iter().all(|s| s.connected() && s.reconnects >= 1)
        })
        .await;
    if !back {
        return Err("the connector did not reconnect after GOOD_BYE".into());
    }
    println!("  [controller] agent reconnected");
    pause().await;
    Ok(())
}

/// Against an external controller, until Ctrl-C.
async fn external(cli: &Cli, endpoint: &str, integration_id: &str) -> Result<(), Error> {
    let provider = Arc::new(MemoryProvider::with_sample_apis(3));
    let config = connector_config(endpoint, cli.token.as_deref());
    // HELLO's provider type is the provider's own (`memory`).
    let connector = Connector::from_config(&config)?
        .with_integration(Integration::of(integration_id, provider));
    let status = connector.status();
    let (stop, stopped) = oneshot::channel::<()>();
    let connector_task = tokio::spawn(connector.run(async {
        let _ = stopped.await;
    }));
    println!("serving {integration_id} ({MEMORY_TYPE}) to {endpoint}; Ctrl-C stops");
    let every = Duration::from_secs(cli.every.max(1));
    let until = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // The host also stops when the connector stops on its own (a rejected HELLO, GOOD_BYE).
    let ended = status.wait_for(Duration::MAX, |all: &[IntegrationStatus]| {
        let over =
            |s: &IntegrationStatus| matches!(s.state, ChannelState::Stopped | ChannelState::Failed);
        !all.is_empty() && all.iter().all(over)
    });
    host_loop(&status, every, async {
        tokio::select! {
            () = until => {}
            _ = ended => {}
        }
    })
    .await;
    let _ = stop.send(());
    connector_task.await??;
    Ok(())
}
