//! `federation-agent`: every provider compiled into this workspace, each configured entry
//! selected by `integration.providers[N].type` (`aws-api-gateway`, `openapi-files`).

use std::process::ExitCode;

use clap::Parser;
use federation_app::AgentArgs;
use federation_core::ProviderRegistry;
use federation_provider_aws_api_gateway::AwsApiGatewayFactory;
use federation_provider_openapi_files::OpenApiFilesFactory;

#[derive(Debug, Parser)]
#[command(
    name = "federation-agent",
    version,
    about = "Gravitee federation agent with every provider of this workspace (aws-api-gateway, openapi-files)"
)]
struct Cli {
    #[command(flatten)]
    agent: AgentArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let registry = ProviderRegistry::new()
        .with(AwsApiGatewayFactory)
        .with(OpenApiFilesFactory);
    federation_app::main_with("federation-agent", &cli.agent, registry)
}
