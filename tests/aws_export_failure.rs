//! A failed export never wipes the documentation: the real `federation-agent-aws-api-gateway`
//! binary against the controller simulator (APIM 4.12, which clears the ingested pages of an
//! API re-ingested without them) and moto behind the project's AWS test proxy. After an ingest
//! with pages, one stage's `GetExport` fails (503 from the proxy, every retry) and another
//! stage is deleted: both APIs are left out of the re-ingest, named in an error log with the
//! AWS error, counted in `federation_apis_skipped_total` by reason and shown in the ingest
//! summary; the `discover` command lists them among the skipped; the simulator's catalog still
//! has their pages.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::aws_agent::aws_simulator;
use federation_provider_aws_api_gateway::testing::{self, ProxyConfig, ThrottlingProxy, seed};
use federation_simulator::Simulator;

const TOKEN: &str = "apim-token-exports";
const WAIT: Duration = Duration::from_secs(60);
const INTEGRATION: &str = "aws-exports";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The provider's settings, as the seed's variables; `AWS_ENDPOINT_URL` is the proxy.
fn provider_env(aws: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", aws.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        (
            "gravitee_integration_providers_0_type",
            "aws-api-gateway".to_owned(),
        ),
        (
            "gravitee_integration_providers_0_integrationId",
            INTEGRATION.to_owned(),
        ),
        (
            "gravitee_integration_providers_0_configuration_accessKeyId",
            "AKIAEXPORTS".to_owned(),
        ),
        (
            "gravitee_integration_providers_0_configuration_secretAccessKey",
            "exports-secret".to_owned(),
        ),
        (
            "gravitee_integration_providers_0_configuration_region",
            "us-east-1".to_owned(),
        ),
        // One retry: the outage outlasts it quickly.
        (
            "gravitee_integration_providers_0_configuration_maxRetries",
            "1".to_owned(),
        ),
    ]
}

fn command(env: &[(&'static str, String)]) -> Command {
    let mut command = common::agent_command(env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"));
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn spawn_agent(aws: &str, endpoint: &str, port: u16, log: &std::path::Path) -> Child {
    let mut env = provider_env(aws);
    env.extend([
        ("RUST_LOG", "info".to_owned()),
        (
            "gravitee_integration_connector_ws_endpoints_0",
            endpoint.to_owned(),
        ),
        (
            "gravitee_integration_connector_ws_headers_0_name",
            "Authorization".to_owned(),
        ),
        (
            "gravitee_integration_connector_ws_headers_0_value",
            format!("bearer {TOKEN}"),
        ),
        ("gravitee_services_core_http_host", "127.0.0.1".to_owned()),
        ("gravitee_services_core_http_port", port.to_string()),
        ("gravitee_services_metrics_enabled", "true".to_owned()),
    ]);
    command(&env)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// `GET path` on the management service: the body.
fn get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// The content of the pages the simulator's catalog keeps for `api_id`.
fn catalog_pages(sim: &Simulator, api_id: &str) -> Vec<String> {
    sim.catalog_api(INTEGRATION, api_id)
        .unwrap_or_else(|| panic!("{api_id} is in the catalog"))
        .pages
        .unwrap()
        .into_iter()
        .map(|p| p.content)
        .collect()
}

#[tokio::test]
async fn a_failed_export_or_a_deleted_stage_leaves_the_api_out_and_its_pages_in_apim() {
    let moto = testing::shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    let mut plan = seed::PlanSpec::new("Gold");
    for id in ["pets19", "orders19", "gone19"] {
        seed::rest_api(&client, id, Some(id), &["prod"]).await;
        plan = plan.stage(id, "prod");
    }
    seed::usage_plan(&client, &plan).await;
    // moto exports a deleted stage; the proxy answers it with AWS's NotFoundException.
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().check_stages()).await;

    let sim = Simulator::start(aws_simulator(TOKEN, INTEGRATION))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("agent.log");
    let port = free_port();
    let agent = spawn_agent(&proxy.endpoint(), &sim.endpoint(), port, &log_path);
    sim.wait_connected(INTEGRATION, WAIT).await.unwrap();

    let first = sim.ingest(INTEGRATION, None, WAIT).await.unwrap();
    assert_eq!(first.apis.len(), 3);
    let pets = catalog_pages(&sim, "pets19:prod");
    let gone = catalog_pages(&sim, "gone19:prod");
    assert_eq!(pets.len(), 1);
    assert!(pets[0].contains("pets19"), "{}", pets[0]);
    assert_eq!(gone.len(), 1);

    // One stage's export fails (AWS 503, every retry); another stage is deleted.
    proxy.set_config(
        ProxyConfig::counting()
            .check_stages()
            .unavailable("/restapis/pets19/stages/prod/exports"),
    );
    client
        .delete_stage()
        .rest_api_id("gone19")
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    proxy.reset_counts();
    let second = sim.ingest(INTEGRATION, None, WAIT).await.unwrap();
    assert!(proxy.count("GetExport") >= 4, "{:?}", proxy.calls());
    assert!(second.done);
    assert_eq!(
        catalog_pages(&sim, "pets19:prod"),
        pets,
        "the pages APIM has are kept"
    );
    assert_eq!(catalog_pages(&sim, "gone19:prod"), gone);
    let ids: Vec<&str> = second.apis.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["orders19:prod"], "both are left out");

    let metrics = get(port, "/_node/metrics/prometheus");
    for reason in ["read_failed", "gone"] {
        let line = format!(
            "federation_apis_skipped_total{{integration=\"{INTEGRATION}\",reason=\"{reason}\"}} 1"
        );
        assert!(metrics.contains(&line), "missing `{line}` in\n{metrics}");
    }
    assert!(
        metrics.contains("# HELP federation_apis_skipped_total ")
            && metrics.contains("(too_large, read_failed, gone)"),
        "{metrics}"
    );

    common::stop_cleanly(agent);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let line = |api: &str| -> &str {
        log.lines()
            .find(|l| l.contains("ERROR") && l.contains(api) && l.contains("left out"))
            .unwrap_or_else(|| panic!("no error naming {api}:\n{log}"))
    };
    assert!(
        line("pets19:prod").contains("GetExport in us-east-1 failed"),
        "{}",
        line("pets19:prod")
    );
    assert!(
        line("gone19:prod").contains("not found"),
        "{}",
        line("gone19:prod")
    );
    let summary = log
        .lines()
        .rfind(|l| l.contains("Ingest finished"))
        .unwrap_or_else(|| panic!("no ingest summary:\n{log}"));
    assert!(
        summary.contains("sent=1") && summary.contains("skipped=2"),
        "{summary}"
    );

    // The operator tool lists both among the skipped, with the AWS error. (Run off the test's
    // thread: the proxy serves on it.)
    let mut discover = command(&provider_env(&proxy.endpoint()));
    discover.args(["discover", "--full", "--format", "json"]);
    let output = tokio::task::spawn_blocking(move || discover.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let apis: Vec<&str> = report["apis"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(apis, ["orders19:prod"], "{report:#}");
    let reason = |api: &str| -> String {
        report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["restApiId"] == api)
            .and_then(|s| s["reason"].as_str())
            .unwrap_or_else(|| panic!("{api} is not among the skipped: {report:#}"))
            .to_owned()
    };
    assert!(
        reason("pets19").contains("GetExport in us-east-1 failed"),
        "{}",
        reason("pets19")
    );
    // The tool lists stages afresh: the deleted stage shows as what it now is.
    assert!(
        reason("gone19").contains("has no deployed stage"),
        "{}",
        reason("gone19")
    );
}
