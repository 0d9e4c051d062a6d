//! `federation-agent-acme-gateway`: the federation agent for Acme Gateway.
use clap::Parser;
use federation_provider_acme_gateway::AcmeFactory;
use std::process::ExitCode;

const BINARY: &str = "federation-agent-acme-gateway";

#[derive(Parser)]
#[command(name = BINARY, version, about = "Gravitee federation agent for Acme Gateway")]
struct Cli {
    #[command(flatten)]
    agent: federation_app::AgentArgs, // --config, --log-format, --healthcheck
}

fn main() -> ExitCode {
    let registry = federation_core::ProviderRegistry::new().with(AcmeFactory);
    federation_app::main_with(BINARY, &Cli::parse().agent, registry)
}
