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
}
