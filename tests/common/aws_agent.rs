//! The AWS agent binary as the seed's install guide runs it: configured only through the
//! docker-compose environment variable names (`gravitee_integration_…`), one `aws-api-gateway`
//! provider with static keys, AWS reached at a loopback endpoint (moto, or the test proxy in
//! front of it).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use federation_simulator::SimulatorConfig;

use super::agent_command;

/// The controller simulator's configuration for one AWS integration: `integration`, of type
/// `aws-api-gateway`, accepting `token`. Tests add APIM behaviours (`api_key_mode`, …).
pub(crate) fn aws_simulator(token: &str, integration: &str) -> SimulatorConfig {
    SimulatorConfig::default()
        .token(token)
        .integration(integration, "aws-api-gateway")
}

/// What differs between the tests' AWS agents; [`SeedAgent::command`] sets the rest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedAgent<'a> {
    /// `AWS_ENDPOINT_URL`: moto, or the test proxy.
    pub(crate) aws: &'a str,
    /// The controller's WebSocket endpoint.
    pub(crate) controller: &'a str,
    /// The Cloud/APIM token, sent as `Authorization: bearer <token>`.
    pub(crate) token: &'a str,
    /// `providers[0].integrationId`.
    pub(crate) integration_id: &'a str,
    /// `providers[0].configuration.accessKeyId`.
    pub(crate) access_key_id: &'a str,
    /// `providers[0].configuration.secretAccessKey`.
    pub(crate) secret_access_key: &'a str,
}

impl SeedAgent<'_> {
    /// The agent's command: the settings above, region `us-east-1`, no instance metadata, an
    /// ephemeral management port, `RUST_LOG=info`. Add provider settings (or another
    /// `RUST_LOG`) with `.env(..)`, then [`spawn_logging_to`].
    pub(crate) fn command(&self) -> Command {
        const PROVIDER: &str = "gravitee_integration_providers_0";
        let mut command = agent_command(env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"));
        command
            .env("AWS_ENDPOINT_URL", self.aws)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .env(
                "gravitee_integration_connector_ws_endpoints_0",
                self.controller,
            )
            .env(
                "gravitee_integration_connector_ws_headers_0_name",
                "Authorization",
            )
            .env(
                "gravitee_integration_connector_ws_headers_0_value",
                format!("bearer {}", self.token),
            )
            .env(format!("{PROVIDER}_type"), "aws-api-gateway")
            .env(format!("{PROVIDER}_integrationId"), self.integration_id)
            .env(
                format!("{PROVIDER}_configuration_accessKeyId"),
                self.access_key_id,
            )
            .env(
                format!("{PROVIDER}_configuration_secretAccessKey"),
                self.secret_access_key,
            )
            .env(format!("{PROVIDER}_configuration_region"), "us-east-1")
            // Each agent its own management port (0: any free one).
            .env("gravitee_services_core_http_port", "0");
        command
    }
}

/// Starts `command` with its standard error (the log) written to `log`, its output dropped.
pub(crate) fn spawn_logging_to(command: &mut Command, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    command.stdout(Stdio::null()).stderr(log).spawn().unwrap()
}
