//! `federation-agent-aws-api-gateway`: the AWS API Gateway federation agent.
//!
//! `run` (the default) serves every `integration.providers[i]` of type `aws-api-gateway` to the
//! Gravitee integration controller. `discover` and `check` are operator tools that need no
//! controller: what discovery would ingest (and why a stage is left out), and whether the
//! configured AWS identity has the seed's minimum IAM permissions. `drift` prints what changed
//! in AWS since the agent ingested it, with the action to take in Gravitee.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use federation_app::{AgentArgs, AppError};
use federation_core::ProviderRegistry;
use federation_provider_aws_api_gateway::operator::{
    self, CheckOptions, DiscoverOptions, OutputFormat,
};
use federation_provider_aws_api_gateway::{AwsApiGatewayFactory, PROVIDER_TYPE};

const BINARY: &str = "federation-agent-aws-api-gateway";

#[derive(Debug, Parser)]
#[command(name = BINARY, version, about = "Gravitee federation agent for AWS API Gateway")]
struct Cli {
    #[command(flatten)]
    agent: AgentArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the configured integrations to the controller (the default).
    Run,
    /// Run discovery with the configured provider and print what would be ingested, and why
    /// stages were left out ("why is my API missing?"). No controller needed.
    Discover {
        /// Fetch full definitions (OpenAPI exports), as an ingest would.
        #[arg(long)]
        full: bool,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = parse_format)]
        format: OutputFormat,
        /// Which `integration.providers[N]` entry to use (default: the first aws-api-gateway one).
        #[arg(long, value_name = "N")]
        provider: Option<usize>,
        /// Only these API ids (`restApiId:stage`).
        #[arg(long, value_name = "ID")]
        only: Vec<String>,
    },
    /// Resolve the AWS credentials and try each action of the minimum IAM policy that can be
    /// tried harmlessly; print allowed / denied / untested with the IAM action to add.
    Check {
        /// Output format.
        #[arg(long, default_value = "table", value_parser = parse_format)]
        format: OutputFormat,
        /// Which `integration.providers[N]` entry to use (default: the first aws-api-gateway one).
        #[arg(long, value_name = "N")]
        provider: Option<usize>,
        /// Also probe CreateApiKey (with a value AWS rejects after authorising the call).
        #[arg(long)]
        write_probes: bool,
    },
    /// Compare what the agent ingested (integration.connector.drift.stateFile) with what AWS
    /// shows now and print each change with the action to take in Gravitee.
    Drift {
        /// Output format.
        #[arg(long, default_value = "table", value_parser = parse_format)]
        format: OutputFormat,
        /// Only the `integration.providers[N]` entry (default: every integration).
        #[arg(long, value_name = "N")]
        provider: Option<usize>,
    },
}

fn parse_format(text: &str) -> Result<OutputFormat, String> {
    text.parse()
}

fn registry() -> ProviderRegistry {
    ProviderRegistry::new().with(AwsApiGatewayFactory)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Run) => federation_app::main_with(BINARY, &cli.agent, registry()),
        Some(Command::Drift { format, provider }) => {
            federation_app::drift::main(BINARY, &cli.agent, &registry(), format, provider)
        }
        Some(Command::Discover {
            full,
            format,
            provider,
            only,
        }) => tool(&cli.agent, provider, |settings| async move {
            let report = operator::discover(&settings, &DiscoverOptions { full, only })
                .await
                .map_err(|e| AppError::Other(e.details()))?;
            print!("{}", report.render(format));
            Ok(())
        }),
        Some(Command::Check {
            format,
            provider,
            write_probes,
        }) => tool(&cli.agent, provider, |settings| async move {
            let report = operator::check(&settings, CheckOptions { write_probes })
                .await
                .map_err(|e| AppError::Other(e.details()))?;
            print!("{}", report.render(format));
            if report.ok() {
                Ok(())
            } else {
                Err(AppError::Other(
                    "some required AWS permissions are denied (see above)".into(),
                ))
            }
        }),
    }
}

/// Loads the configuration and runs an operator tool on one provider entry's settings.
fn tool<F, Fut>(args: &AgentArgs, index: Option<usize>, run: F) -> ExitCode
where
    F: FnOnce(federation_core::ProviderSettings) -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    federation_app::run::one_shot(BINARY, args, &registry(), |loaded| async move {
        let providers = &loaded.config.integration.providers;
        let entry = match index {
            Some(i) => providers
                .get(i)
                .filter(|p| p.provider_type == PROVIDER_TYPE),
            None => providers.iter().find(|p| p.provider_type == PROVIDER_TYPE),
        }
        .ok_or_else(|| {
            AppError::Other(format!(
                "no {PROVIDER_TYPE} provider at that index in integration.providers"
            ))
        })?;
        run(entry.configuration.clone()).await
    })
}
