//! Catalogue drift end to end: the real `federation-agent-aws-api-gateway` binary against the
//! controller simulator and moto. Ingest, then change AWS behind Gravitee's back (delete a
//! stage, detach a stage from a usage plan, delete a usage plan, add a stage to a usage plan);
//! the next DISCOVER's drift check names each change exactly once with its action, in the log,
//! the Prometheus gauges, the `drift` section of `/_node/health` and the `drift` command's
//! JSON. An unchanged account shows no drift; the state file survives a restart; a corrupt
//! state file is reported and ignored. Connected and idle after an ingest and its drift check,
//! the agent makes no AWS call however many HEALTH_CHECKs come (issue 20).
//!
//! Stages are deleted with `seed::delete_stage`, as AWS deletes them: the stage also leaves its
//! usage plans, which moto alone does not do (`docs/reference/aws-api-gateway.md`, "Stages and
//! usage plans"); the drift check relies on it.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_apigateway::types::{Op, PatchOperation};
use common::aws_agent::aws_simulator;
use federation_provider_aws_api_gateway::testing::{self, ProxyConfig, ThrottlingProxy, seed};
use federation_simulator::{Event, Simulator, SubscribeRequest};
use serde_json::Value;

const TOKEN: &str = "apim-token-drift";
const WAIT: Duration = Duration::from_secs(60);
const INTEGRATION: &str = "aws-drift";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn env(moto: &str, endpoint: &str, state: &Path, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        (
            "RUST_LOG",
            "info,federation_connector::drift=debug".to_owned(),
        ),
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
        (
            "gravitee_integration_connector_drift_stateFile",
            state.display().to_string(),
        ),
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
            "AKIADRIFT".to_owned(),
        ),
        (
            "gravitee_integration_providers_0_configuration_secretAccessKey",
            "drift-secret".to_owned(),
        ),
        (
            "gravitee_integration_providers_0_configuration_region",
            "us-east-1".to_owned(),
        ),
        ("gravitee_services_core_http_host", "127.0.0.1".to_owned()),
        ("gravitee_services_core_http_port", port.to_string()),
        ("gravitee_services_metrics_enabled", "true".to_owned()),
    ]
}

fn command(env: &[(&'static str, String)]) -> Command {
    let mut command = common::agent_command(env!("CARGO_BIN_EXE_federation-agent-aws-api-gateway"));
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn spawn_agent(env: &[(&'static str, String)], log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    command(env)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `GET path` on the management service: the body.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// Polls the health body until this integration's drift report was made by `trigger` after
/// `after` (milliseconds since the Unix epoch).
async fn drift_report(port: u16, trigger: &str, after: u64) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(body) = get(port, "/_node/health") {
            let health: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let found = health["drift"]["integrations"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| {
                    r["integrationId"] == INTEGRATION
                        && r["trigger"] == trigger
                        && r["checkedAt"].as_u64().is_some_and(|t| t >= after)
                })
                .cloned();
            if let Some(found) = found {
                return found;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no drift report from {trigger} in the health detail"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits for the `n`th accepted HELLO (a restarted agent's new connection).
async fn wait_hello(sim: &Simulator, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let hellos = sim
            .events()
            .iter()
            .filter(|r| matches!(r.event, Event::Hello { accepted: true, .. }))
            .count();
        if hellos >= n {
            return;
        }
        assert!(Instant::now() < deadline, "no HELLO number {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// (kind, apiId, planId) of each item, sorted.
fn items(report: &Value) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let mut items: Vec<_> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (text(&i["kind"]), text(&i["apiId"]), text(&i["planId"])))
        .collect();
    items.sort();
    items
}

fn patch(op: Op, value: &str) -> PatchOperation {
    PatchOperation::builder()
        .op(op)
        .path("/apiStages")
        .value(value)
        .build()
}

#[tokio::test]
async fn drift_is_reported_once_per_change_everywhere_and_survives_a_restart() {
    let moto = testing::shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    seed::rest_api(&client, "Pets", Some("pets"), &["a", "b", "c"]).await;
    seed::rest_api(&client, "Shop", Some("shop"), &["x", "y"]).await;
    let gold = seed::usage_plan(
        &client,
        &seed::PlanSpec::new("Gold")
            .stage("pets", "a")
            .stage("pets", "b"),
    )
    .await;
    let silver = seed::usage_plan(&client, &seed::PlanSpec::new("Silver").stage("pets", "c")).await;
    let bronze = seed::usage_plan(&client, &seed::PlanSpec::new("Bronze").stage("shop", "x")).await;

    let sim = Simulator::start(aws_simulator(TOKEN, INTEGRATION))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("drift-state.json");
    let port = free_port();
    let env = env(&moto.endpoint(), &sim.endpoint(), &state, port);
    let log_path = dir.path().join("agent.log");
    let agent = spawn_agent(&env, &log_path);
    sim.wait_connected(INTEGRATION, WAIT).await.unwrap();

    // Ingest everything: the check right after finds no drift on the unchanged account.
    let start = now();
    let job = sim.ingest(INTEGRATION, None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), 4, "pets:a, pets:b, pets:c, shop:x");
    let report = drift_report(port, "ingest", start).await;
    assert_eq!(report["ingestedApis"], 4);
    assert_eq!(items(&report), vec![], "no drift on an unchanged account");
    assert!(state.exists(), "the state file is written after an ingest");
    // A DISCOVER on the unchanged account: still nothing.
    let start = now();
    sim.discover(INTEGRATION).await.unwrap();
    assert_eq!(items(&drift_report(port, "discover", start).await), vec![]);

    // Subscriptions on pets:b through Gold and on pets:c through Silver, then four changes in
    // AWS.
    let (subscription, _) = sim
        .subscribe(
            INTEGRATION,
            SubscribeRequest::api_key("pets:b", Some(gold.clone())),
        )
        .await
        .unwrap();
    let (silver_subscription, _) = sim
        .subscribe(
            INTEGRATION,
            SubscribeRequest::api_key("pets:c", Some(silver.clone())),
        )
        .await
        .unwrap();
    assert_eq!(
        seed::delete_stage(&client, "pets", "a").await,
        vec![gold.clone()]
    );
    client
        .update_usage_plan()
        .usage_plan_id(&gold)
        .patch_operations(patch(Op::Remove, "pets:b"))
        .send()
        .await
        .unwrap();
    client
        .delete_usage_plan()
        .usage_plan_id(&silver)
        .send()
        .await
        .unwrap();
    client
        .update_usage_plan()
        .usage_plan_id(&bronze)
        .patch_operations(patch(Op::Add, "shop:y"))
        .send()
        .await
        .unwrap();

    let start = now();
    sim.discover(INTEGRATION).await.unwrap();
    let report = drift_report(port, "discover", start).await;
    let expected = vec![
        ("api_gone".to_owned(), "pets:a".to_owned(), "-".to_owned()),
        (
            "key_orphaned".to_owned(),
            "pets:c".to_owned(),
            "-".to_owned(),
        ),
        (
            "key_uncovered".to_owned(),
            "pets:b".to_owned(),
            gold.clone(),
        ),
        (
            "plan_coverage_changed".to_owned(),
            "-".to_owned(),
            bronze.clone(),
        ),
        ("plan_removed".to_owned(), "pets:b".to_owned(), gold.clone()),
        (
            "plan_removed".to_owned(),
            "pets:c".to_owned(),
            silver.clone(),
        ),
    ];
    assert_eq!(items(&report), expected, "{report:#}");
    let action = |kind: &str, api: &str| -> String {
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == kind && (api == "-" || i["apiId"] == api))
            .map(|i| i["action"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(action("api_gone", "pets:a").starts_with("delete API \"Pets"));
    assert!(action("plan_removed", "pets:b").starts_with("remove plan \"Gold\""));
    assert!(action("plan_removed", "pets:c").starts_with("remove plan \"Silver\""));
    assert!(action("plan_coverage_changed", "-").contains("shop:y"));
    assert!(
        action("key_uncovered", "pets:b").contains(&format!("close subscription {subscription}"))
    );
    assert!(
        action("key_orphaned", "pets:c")
            .contains(&format!("close subscription {silver_subscription}"))
    );

    // Prometheus: one gauge per kind.
    let metrics = get(port, "/_node/metrics/prometheus").unwrap();
    for (kind, count) in [
        ("api_gone", 1),
        ("plan_removed", 2),
        ("plan_coverage_changed", 1),
        ("plan_added", 0),
        ("key_orphaned", 1),
        ("key_uncovered", 1),
    ] {
        let line = format!(
            "federation_drift_items{{integration=\"{INTEGRATION}\",kind=\"{kind}\"}} {count}"
        );
        assert!(metrics.contains(&line), "missing `{line}` in\n{metrics}");
    }

    common::stop_cleanly(agent);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let summary: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Catalogue drift"))
        .collect();
    assert_eq!(summary.len(), 1, "one summary line per check with drift");
    assert!(summary[0].contains("WARN"), "{}", summary[0]);
    assert!(
        summary[0].contains(
            "api_gone=1 plan_removed=2 plan_coverage_changed=1 key_orphaned=1 key_uncovered=1"
        ),
        "{}",
        summary[0]
    );
    let listed: Vec<&str> = log.lines().filter(|l| l.contains("Drift: ")).collect();
    assert_eq!(listed.len(), 6, "each change listed once at debug");
    assert!(listed.iter().all(|l| l.contains("DEBUG")));
    assert_eq!(listed.iter().filter(|l| l.contains("pets:a")).count(), 1);

    // The operator command reads the state file and prints the same report as JSON.
    let output = command(&env)
        .args(["drift", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let from_command = &printed["integrations"][0];
    assert_eq!(from_command["trigger"], "command");
    assert_eq!(items(from_command), expected);
    let table = command(&env).arg("drift").output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("remove plan \"Silver\""), "{table}");

    // Restart with the same state file: the memory survived.
    let log_path = dir.path().join("agent-2.log");
    let agent = spawn_agent(&env, &log_path);
    wait_hello(&sim, 2).await;
    let start = now();
    sim.discover(INTEGRATION).await.unwrap();
    assert_eq!(
        items(&drift_report(port, "discover", start).await),
        expected
    );
    common::stop_cleanly(agent);

    // A corrupt state file is reported and ignored: the agent runs, starts fresh, rewrites it.
    std::fs::write(&state, b"{\"version\": 1, \"integrations\": [oops").unwrap();
    let log_path = dir.path().join("agent-3.log");
    let agent = spawn_agent(&env, &log_path);
    wait_hello(&sim, 3).await;
    let health: Value = serde_json::from_str(&get(port, "/_node/health").unwrap()).unwrap();
    let problem = health["drift"]["stateProblem"].as_str().unwrap();
    assert!(problem.contains("drift-state.json"), "{problem}");
    assert_eq!(health["integrations"]["healthy"], true);
    let start = now();
    sim.ingest(INTEGRATION, None, WAIT).await.unwrap();
    let report = drift_report(port, "ingest", start).await;
    // Ingest in usage-plan mode reads the stages from the usage plans alone (one GetExport per
    // stage, no GetStages). The orphaned key needs no memory. Nothing else drifted since this
    // ingest.
    assert_eq!(
        items(&report),
        vec![(
            "key_orphaned".to_owned(),
            "pets:c".to_owned(),
            "-".to_owned()
        )],
        "fresh memory: only the orphaned key"
    );
    let rewritten: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    // Only the stages still named by a usage plan were ingested this time: pets:a was deleted
    // (and left Gold), pets:b left Gold, pets:c's plan was deleted, shop:y joined Bronze.
    let apis = &rewritten["integrations"][INTEGRATION]["apis"];
    assert!(apis["shop:x"].is_object());
    assert!(apis["shop:y"].is_object());
    assert!(apis["pets:a"].is_null());
    assert!(apis["pets:b"].is_null());
    common::stop_cleanly(agent);
}

/// The `drift` command with the provider's settings only (it never contacts the controller):
/// a state file not configured, or not there, is a configuration problem: exit 2, one line.
#[test]
fn the_drift_command_without_its_state_file_exits_2_with_one_line() {
    let provider_only: Vec<(&'static str, String)> =
        env("http://127.0.0.1:9", "", Path::new(""), 0)
            .into_iter()
            .filter(|(key, _)| {
                key.starts_with("gravitee_integration_providers_") || key.starts_with("AWS_")
            })
            .collect();
    let run = |env: &[(&'static str, String)]| {
        let output = command(env).args(["drift"]).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        let reasons: Vec<String> = stderr
            .lines()
            .filter(|l| l.starts_with("federation-agent-aws-api-gateway: "))
            .map(str::to_owned)
            .collect();
        assert_eq!(reasons.len(), 1, "one line with the reason: {stderr}");
        (output.status.code(), reasons[0].clone())
    };

    let dir = tempfile::tempdir().unwrap();
    let (code, reason) = run(&provider_only);
    assert_eq!(code, Some(2), "{reason}");
    assert!(
        reason.starts_with(
            "federation-agent-aws-api-gateway: configuration error: \
             integration.connector.drift.stateFile is not set: "
        ) && reason.contains("looked for in env gravitee_integration_connector_drift_stateFile"),
        "{reason}"
    );

    let absent = dir.path().join("drift-state.json");
    let mut env = provider_only.clone();
    env.push((
        "gravitee_integration_connector_drift_stateFile",
        absent.display().to_string(),
    ));
    let (code, reason) = run(&env);
    assert_eq!(code, Some(2), "{reason}");
    assert!(
        reason.contains(&format!(
            "integration.connector.drift.stateFile names {}, which does not exist",
            absent.display()
        )) && reason.ends_with("(from env gravitee_integration_connector_drift_stateFile)"),
        "{reason}"
    );
}

#[tokio::test]
async fn without_get_apikeys_the_report_names_the_grant_and_still_checks_the_catalogue() {
    use federation_core::drift::{IngestedApi, Ledger, compare};
    use federation_core::{DiscoverRequest, Selection, collect};
    use federation_provider_aws_api_gateway::AwsApiGatewayProvider;

    let moto = testing::shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    seed::rest_api(&client, "Pets", Some("pets"), &["a", "b"]).await;
    seed::usage_plan(
        &client,
        &seed::PlanSpec::new("Gold")
            .stage("pets", "a")
            .stage("pets", "b"),
    )
    .await;
    // The seed's minimum policy: no GET /apikeys.
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().deny("GetApiKeys")).await;
    let provider = AwsApiGatewayProvider::from_settings(&testing::provider_settings(
        &proxy.endpoint(),
        "us-east-1",
        &[],
    ))
    .unwrap();
    let ingested = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    let mut ledger = Ledger::default();
    for api in &ingested {
        ledger.record(IngestedApi::from_api(api, 0));
    }
    seed::delete_stage(&client, "pets", "a").await;

    proxy.reset_counts();
    let (observed, _) = federation_core::drift::observe(&provider, &ledger, None).await;
    // The catalogue part uses only actions of the seed's minimum policy; the key part stopped
    // at the denied GetApiKeys.
    let calls = proxy.calls();
    eprintln!("AWS calls of one drift check: {calls:?}");
    assert_eq!(
        calls.keys().map(String::as_str).collect::<Vec<_>>(),
        ["GetApiKeys", "GetRestApis", "GetStages", "GetUsagePlans"]
    );
    assert_eq!(
        calls["GetStages"], 1,
        "one GetStages, for the REST API whose ingested stage no usage plan names any more"
    );
    let report = compare(&ledger, &observed);
    assert_eq!(items(&serde_json::to_value(&report).unwrap()).len(), 1);
    assert_eq!(report.items[0].api_id.as_deref(), Some("pets:a"));
    assert_eq!(report.unchecked.len(), 1, "{:?}", report.unchecked);
    let keys = &report.unchecked[0];
    assert!(keys.starts_with("keys: not listed"), "{keys}");
    assert!(
        keys.contains("apigateway:GET on arn:aws:apigateway:*::/apikeys"),
        "{keys}"
    );
}

/// Idle means idle (issue 20): once an ingest, a DISCOVER and the drift check after each are
/// done, the connected agent answers HEALTH_CHECKs (every 100 ms here; APIM sends one every
/// 30 s) and serves its health and metrics endpoints without a single AWS call. moto sits behind
/// the counting proxy, which saw the ingest's and the checks' calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_and_idle_the_agent_makes_no_aws_call() {
    const APIS: usize = 30;
    const HEALTH_CHECKS: usize = 30;
    let moto = testing::shared_moto().await;
    let client = testing::client(&moto.endpoint(), "us-east-1").await;
    let mut plan = seed::PlanSpec::new("Gold");
    for i in 0..APIS {
        let id = format!("idle{i:02}");
        seed::rest_api(&client, &format!("Idle {i}"), Some(&id), &["prod"]).await;
        plan = plan.stage(&id, "prod");
    }
    seed::usage_plan(&client, &plan).await;
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;

    let mut config = aws_simulator(TOKEN, INTEGRATION);
    config.health_check_interval = Duration::from_millis(100);
    let sim = Simulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = env(
        &proxy.endpoint(),
        &sim.endpoint(),
        &dir.path().join("drift-state.json"),
        port,
    );
    let agent = spawn_agent(&env, &dir.path().join("agent.log"));
    sim.wait_connected(INTEGRATION, WAIT).await.unwrap();

    let start = now();
    let job = sim.ingest(INTEGRATION, None, WAIT).await.unwrap();
    assert_eq!(job.apis.len(), APIS);
    assert_eq!(items(&drift_report(port, "ingest", start).await), vec![]);
    let start = now();
    sim.discover(INTEGRATION).await.unwrap();
    assert_eq!(items(&drift_report(port, "discover", start).await), vec![]);
    let busy = proxy.calls();
    assert_eq!(busy.get("GetExport"), Some(&(APIS as u64)), "{busy:?}");
    assert!(busy.contains_key("GetRestApis"), "{busy:?}");

    // Idle from here on.
    proxy.reset_counts();
    let health_checks = || {
        sim.events()
            .iter()
            .filter(|r| {
                matches!(
                    &r.event,
                    Event::Received { kind, command_type, status: Some(status), .. }
                        if kind == "REPLY" && command_type == "HEALTH_CHECK" && status == "SUCCEEDED"
                )
            })
            .count()
    };
    let before = health_checks();
    let deadline = Instant::now() + WAIT;
    while health_checks() < before + HEALTH_CHECKS {
        assert!(
            Instant::now() < deadline,
            "no {HEALTH_CHECKS} HEALTH_CHECKs"
        );
        assert!(get(port, "/_node/health").is_some());
        assert!(get(port, "/_node/metrics/prometheus").is_some());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        proxy.calls(),
        std::collections::BTreeMap::new(),
        "AWS calls while idle ({HEALTH_CHECKS} HEALTH_CHECKs)"
    );
    common::stop_cleanly(agent);
}
