//! # federation-app
//!
//! Everything an agent binary does besides choosing its providers, so that each binary in
//! `bins/` is a few lines: parse the command line ([`cli`]), load and validate the
//! configuration against the compiled-in [`ProviderRegistry`] ([`startup`]), set up logging
//! ([`logging`]), build one provider per `integration.providers[i]` entry, start the management
//! HTTP service ([`management`]: `/_node/health`, and `/_node/metrics/prometheus` through the
//! [`prometheus`] recorder), run the connector until SIGTERM or SIGINT ([`run`]), and turn the
//! outcome into an exit code: 0 after a clean shutdown, 2 with a one-line reason on bad
//! configuration (a taken management port included), 1 when the controller rejects a HELLO or
//! the agent cannot start. `--healthcheck` ([`healthcheck`]) calls a running agent's health
//! endpoint instead, for container health checks. [`drift`] is the operator command that
//! prints catalogue drift (what changed at the vendor since ingest) with the Gravitee action.
//! [`memory`] gives the heap a large command freed back to the system while the agent idles.
//!
//! [`ProviderRegistry`]: federation_core::ProviderRegistry

pub mod cli;
pub mod drift;
pub mod error;
pub mod healthcheck;
pub mod logging;
pub mod management;
pub mod memory;
pub mod prometheus;
pub mod run;
pub mod startup;

pub use cli::{AgentArgs, LogFormat};
pub use error::AppError;
pub use run::{exit_code, main_with, run_agent, run_agent_until};
pub use startup::{build_integrations, load_config};
