//! `federation-agent-minimal`: an agent binary for the minimal provider, with no AWS SDK inside.
use clap::Parser;
use federation_example_provider_minimal::MinimalFactory;
use std::process::ExitCode;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    agent: federation_app::AgentArgs,
}

fn main() -> ExitCode {
    let registry = federation_core::ProviderRegistry::new().with(MinimalFactory);
    federation_app::main_with("federation-agent-minimal", &Cli::parse().agent, registry)
}
