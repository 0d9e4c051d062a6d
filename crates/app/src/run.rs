//! Running an agent: management service, connector until a signal, and the exit code.

use std::future::Future;
use std::process::ExitCode;

use federation_config::{AgentConfig, LoadedConfig};
use federation_connector::Connector;
use federation_core::ProviderRegistry;

use crate::cli::AgentArgs;
use crate::error::AppError;
use crate::healthcheck;
use crate::logging;
use crate::management::Management;
use crate::memory;
use crate::startup::{build_integrations, load_config, load_tool_config};

/// Serves every configured integration until SIGTERM or SIGINT.
pub async fn run_agent(config: AgentConfig, registry: &ProviderRegistry) -> Result<(), AppError> {
    run_agent_until(config, registry, shutdown_signal()).await
}

/// Serves every configured integration until `shutdown` completes: builds the connector and
/// the providers, starts the management HTTP service (health, metrics) before the connector,
/// runs the connector, then stops the management service.
pub async fn run_agent_until(
    config: AgentConfig,
    registry: &ProviderRegistry,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AppError> {
    let connector = Connector::new(&config.integration.connector, &config.system.proxy)?;
    let integrations = build_integrations(&config, registry).await?;
    let connector = integrations
        .into_iter()
        .fold(connector, Connector::with_integration);
    let management =
        Management::start_with_drift(&config, connector.status(), Some(connector.drift())).await?;
    // The heap a DISCOVER or an INGEST freed goes back to the system within seconds.
    let trimmer = tokio::spawn(memory::trim_every(memory::TRIM_PERIOD));
    let result = connector.run(shutdown).await;
    trimmer.abort();
    if let Some(management) = management {
        management.stop().await;
    }
    result?;
    tracing::info!("Stopped.");
    Ok(())
}

/// Completes on SIGTERM or SIGINT. The handlers are installed when this is called, not at the
/// future's first poll: a SIGTERM that arrives while the channels connect must stop the agent
/// gracefully, not kill it with the default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => tracing::info!("SIGTERM received."),
                        _ = interrupt.recv() => tracing::info!("SIGINT received."),
                    }
                }
                (Ok(mut terminate), Err(error)) => {
                    tracing::warn!(%error, "Cannot listen for SIGINT; only SIGTERM stops the agent.");
                    terminate.recv().await;
                    tracing::info!("SIGTERM received.");
                }
                (Err(error), _) => {
                    tracing::warn!(%error, "Cannot listen for SIGTERM; only SIGINT stops the agent.");
                    let _ = tokio::signal::ctrl_c().await;
                    tracing::info!("SIGINT received.");
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A one-shot command of an agent binary (`drift`, the operator tools): logging, a
/// single-threaded runtime, the configuration loaded against `registry` without the
/// controller's settings (none of these commands contacts it: [`load_tool_config`]), then
/// `command`, whose result becomes the exit code.
pub fn one_shot<F, Fut>(
    binary: &str,
    args: &AgentArgs,
    registry: &ProviderRegistry,
    command: F,
) -> ExitCode
where
    F: FnOnce(LoadedConfig) -> Fut,
    Fut: Future<Output = Result<(), AppError>>,
{
    let _logging = logging::init(args.log_format);
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::Other(e.to_string()))
        .and_then(|runtime| {
            runtime.block_on(async {
                let loaded = load_tool_config(args.config.clone(), registry).await?;
                command(loaded).await
            })
        });
    exit_code(binary, result)
}

/// Prints the error as one line on stderr and maps it to an exit code.
pub fn exit_code(binary: &str, result: Result<(), AppError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "The agent stopped.");
            eprintln!("{binary}: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// The whole `run` path of an agent binary: logging, configuration, providers, management
/// service, connector. With `--healthcheck`, calls the running agent's health endpoint instead.
pub fn main_with(binary: &str, args: &AgentArgs, registry: ProviderRegistry) -> ExitCode {
    // Before any thread exists: they all share one allocator arena (memory.rs).
    memory::one_arena();
    if let Some(probes) = &args.healthcheck {
        return healthcheck::main(binary, args, &registry, probes);
    }
    // Logging starts before the configuration is read, so its warnings are printed.
    let logging = logging::init(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return exit_code(
                binary,
                Err(AppError::Other(format!(
                    "cannot start the runtime: {error}"
                ))),
            );
        }
    };
    let result = runtime.block_on(async {
        let loaded = load_config(args.config.clone(), &registry).await?;
        logging.configure(&loaded.config.log);
        for file in &loaded.files {
            tracing::info!(file = %file.display(), "Configuration file read.");
        }
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            integrations = loaded.config.integration.providers.len(),
            "Starting {binary}."
        );
        run_agent(loaded.config, &registry).await
    });
    exit_code(binary, result)
}
