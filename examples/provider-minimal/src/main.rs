//! `federation-agent-minimal`: an agent binary for the minimal provider, with no AWS SDK inside.
use clap::Parser;
use federation_example_provider_minimal::MinimalFactory;
use std::process::ExitCode;

const BINARY: &str = "federation-agent-minimal";

#[derive(Parser)]
#[command(name = BINARY, version, about = "Gravitee federation agent for the minimal provider")]
struct Cli {
    #[command(flatten)]
    agent: federation_app::AgentArgs, // --config, --log-format, --healthcheck
}

fn main() -> ExitCode {
    let registry = federation_core::ProviderRegistry::new().with(MinimalFactory);
    federation_app::main_with(BINARY, &Cli::parse().agent, registry)
}
