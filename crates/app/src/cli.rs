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
#[derive(Debug, Clone, Default, Args)]
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
