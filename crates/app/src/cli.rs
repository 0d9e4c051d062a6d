//! The options every agent binary takes.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line.
    Json,
}

/// Options shared by every agent binary and subcommand.
///
/// Flatten it into the binary's own `clap::Parser`, which says the binary's `name`, `version`
/// and `about` (this struct's doc comment is not a binary's about line):
///
/// ```
/// use clap::Parser;
///
/// #[derive(Parser)]
/// #[command(name = "federation-agent-acme", version, about = "Gravitee federation agent for Acme")]
/// struct Cli {
///     #[command(flatten)]
///     agent: federation_app::AgentArgs,
/// }
///
/// let cli = Cli::parse_from(["federation-agent-acme", "--config", "gravitee.yml"]);
/// assert_eq!(cli.agent.config.as_deref(), Some(std::path::Path::new("gravitee.yml")));
/// ```
#[derive(Debug, Clone, Default, Args)]
#[command(about = None, long_about = None)]
pub struct AgentArgs {
    /// gravitee.yml to read (default: $GRAVITEE_HOME/config/gravitee.yml, else
    /// ./config/gravitee.yml if present). Environment variables (gravitee_*) override it.
    #[arg(short, long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,

    /// Log format (default: the `log.format` key, else text).
    #[arg(long, value_enum, value_name = "FORMAT", global = true)]
    pub log_format: Option<LogFormat>,

    /// Instead of running: call the running agent's health endpoint (/_node/health on
    /// services.core.http.host and port, as the first configured user) and exit 0 if it answers
    /// 200, 1 otherwise. --healthcheck=http-server asks for the liveness probe only. For
    /// container HEALTHCHECKs in images without curl.
    #[arg(
        long,
        value_name = "PROBES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        global = true
    )]
    pub healthcheck: Option<String>,
}
