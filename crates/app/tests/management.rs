//! The management HTTP service over real loopback HTTP: health from a driven status source and
//! from a real connector's `StatusBoard`, basic authentication, the two-flag metrics gate, a
//! taken port, and `--healthcheck` against a running agent.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use federation_app::healthcheck::{self, Outcome};
use federation_app::management::{self, ConfiguredIntegration, Management, ManagementApi};
use federation_app::{AppError, run_agent_until};
use federation_config::HttpServiceConfig;
use federation_connector::{ChannelState, Connector, Integration, IntegrationStatus};
use federation_core::{Health, ProviderRegistry};
use federation_protocol::CommandPayload;
use federation_protocol::payload::Empty;
use federation_testkit::{MemoryFactory, MemoryProvider};

fn status(id: &str, state: ChannelState) -> IntegrationStatus {
    IntegrationStatus {
        integration_id: id.to_owned(),
        provider_type: "memory".to_owned(),
        endpoint: Some("ws://127.0.0.1:1/integration-controller/exchange/controller".to_owned()),
        state,
        primary: false,
        last_hello_at: None,
        failed_attempts: 3,
        reconnects: 0,
        last_error: Some("connection refused".to_owned()),
        provider_health: None,
    }
}

async fn serve(api: ManagementApi) -> Management {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Management::serve(listener, api).unwrap()
}

#[tokio::test]
async fn health_follows_the_status_of_every_configured_integration() {
    let board = Arc::new(Mutex::new(vec![
        status("a", ChannelState::Connecting),
        status("b", ChannelState::Connected),
    ]));
    let source = board.clone();
    let configured = ["a", "b"]
        .iter()
        .map(|id| ConfiguredIntegration {
            integration_id: (*id).to_owned(),
            provider_type: "memory".to_owned(),
        })
        .collect();
    let api = ManagementApi::new(configured, move || source.lock().unwrap().clone());
    let service = serve(api).await;
    let addr = service.local_addr();

    let down = get(addr, "/_node/health", None).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.headers["content-type"], "application/json");
    let body = down.json();
    assert_eq!(body["http-server"]["healthy"], true);
    assert_eq!(body["integrations"]["healthy"], false);
    let a = &body["integrations"]["integrations"][0];
    assert_eq!(a["integrationId"], "a");
    assert_eq!(a["state"], "connecting");
    assert_eq!(a["connected"], false);
    assert_eq!(a["reconnectAttempts"], 3);
    assert_eq!(a["lastError"], "connection refused");
    assert_eq!(
        a["endpoint"],
        "ws://127.0.0.1:1/integration-controller/exchange/controller"
    );
    assert_eq!(body["integrations"]["integrations"][1]["connected"], true);

    // Liveness stays 200 while an integration is down.
    let live = get(addr, "/_node/health?probes=http-server", None).await;
    assert_eq!(live.status, 200, "{}", live.body);
    assert_eq!(
        live.json(),
        serde_json::json!({"http-server": {"healthy": true}})
    );

    // Readiness alone is 503, then 200 once every channel is up.
    assert_eq!(
        get(addr, "/_node/health?probes=integrations", None)
            .await
            .status,
        503
    );
    {
        let mut statuses = board.lock().unwrap();
        statuses[0].state = ChannelState::Connected;
        statuses[0].failed_attempts = 0;
        statuses[0].last_error = None;
    }
    let up = get(addr, "/_node/health", None).await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.json()["integrations"]["healthy"], true);
    assert!(up.json()["integrations"].get("message").is_none());

    // Repeated and comma-separated probes; an unknown probe is unhealthy, as in gravitee-node.
    let both = get(
        addr,
        "/_node/health?probes=http-server&probes=integrations",
        None,
    )
    .await;
    assert_eq!(both.status, 200);
    assert_eq!(both.json().as_object().unwrap().len(), 2);
    let unknown = get(addr, "/_node/health?probes=http-server,jetty", None).await;
    assert_eq!(unknown.status, 503);
    assert_eq!(unknown.json()["jetty"]["message"], "probe not found");

    // A stopped channel is down again.
    board.lock().unwrap()[1].state = ChannelState::Stopped;
    let stopped = get(addr, "/_node/health", None).await;
    assert_eq!(stopped.status, 503);
    assert_eq!(
        stopped.json()["integrations"]["message"],
        "1 of 2 integration(s) without an active channel: b (stopped)"
    );
    service.stop().await;
}

#[tokio::test]
async fn health_reflects_a_real_connectors_status_board() {
    let sim = simulator(&[("board-int", "memory")]).await;
    // A long reconnect delay keeps the channel down after the drop below.
    let config = load(agent_env(
        &sim.endpoint(),
        "board-int",
        0,
        &[(
            "gravitee_integration_connector_ws_backoff_initialDelayMs",
            "600000",
        )],
    ))
    .await;
    let provider = Arc::new(MemoryProvider::with_sample_apis(1));
    let connector = Connector::new(&config.integration.connector, &config.system.proxy)
        .unwrap()
        .with_integration(Integration::of("board-int", provider.clone()));
    let service = Management::start(&config, connector.status())
        .await
        .unwrap()
        .unwrap();
    let addr = service.local_addr();

    // Before the connector runs, the configured integration is reported as not connected.
    let before = get(addr, "/_node/health", None).await;
    assert_eq!(before.status, 503);
    assert_eq!(
        before.json()["integrations"]["integrations"][0]["integrationId"],
        "board-int"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(connector.run(async move {
        let _ = stopped.await;
    }));
    sim.wait_connected("board-int", WAIT).await.unwrap();
    let up = until_status(addr, "/_node/health", None, 200).await;
    let entry = &up.json()["integrations"]["integrations"][0];
    assert_eq!(entry["state"], "connected");
    assert_eq!(entry["provider"], "memory");
    assert!(
        entry["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/exchange/controller"),
        "{entry}"
    );
    assert!(
        entry["lastHelloAt"].as_str().unwrap().ends_with('Z'),
        "{entry}"
    );
    assert_eq!(entry["providerHealth"], serde_json::Value::Null);

    // Provider health comes from the last HEALTH_CHECK.
    provider.set_health(Health::unhealthy("credentials expired"));
    sim.send("board-int", CommandPayload::HealthCheck(Empty {}))
        .await
        .unwrap();
    let report = until_status(addr, "/_node/health", None, 200).await.json();
    let health = &report["integrations"]["integrations"][0]["providerHealth"];
    assert_eq!(health["healthy"], false, "{report}");
    assert_eq!(health["detail"], "credentials expired");

    // The connection drops: 503 while the agent waits to reconnect; liveness stays 200.
    sim.drop_connection("board-int").await.unwrap();
    let down = until_status(addr, "/_node/health", None, 503).await.json();
    let entry = &down["integrations"]["integrations"][0];
    assert_eq!(entry["state"], "connecting", "{down}");
    assert_eq!(entry["reconnects"], 1);
    assert!(entry["lastError"].is_string(), "{down}");
    assert_eq!(
        get(addr, "/_node/health?probes=http-server", None)
            .await
            .status,
        200
    );

    let _ = stop.send(());
    tokio::time::timeout(WAIT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    service.stop().await;
}

#[tokio::test]
async fn basic_authentication_is_enforced_when_users_are_configured() {
    let config = load(agent_env(
        "ws://127.0.0.1:9/integration-controller",
        "auth-int",
        0,
        &[
            (
                "gravitee_services_core_http_authentication_users_admin",
                "adminadmin",
            ),
            (
                "GRAVITEE_SERVICES_CORE_HTTP_AUTHENTICATION_USERS_OPS",
                "0ps-pass",
            ),
        ],
    ))
    .await;
    let service = Management::start(&config, Vec::new).await.unwrap().unwrap();
    let addr = service.local_addr();
    let live = "/_node/health?probes=http-server";

    let anonymous = get(addr, live, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.headers["www-authenticate"],
        "Basic realm=\"federation-agent\""
    );
    assert_eq!(get(addr, live, Some(("admin", "wrong"))).await.status, 401);
    assert_eq!(
        get(addr, live, Some(("admin", "0ps-pass"))).await.status,
        401
    );
    assert_eq!(
        get(addr, live, Some(("nobody", "adminadmin"))).await.status,
        401
    );
    assert_eq!(
        get(addr, live, Some(("admin", "adminadmin"))).await.status,
        200
    );
    // The upper-case variable name gives a lower-case user name, as Gravitee's lookup does.
    assert_eq!(get(addr, live, Some(("ops", "0ps-pass"))).await.status, 200);
    // Every path is protected; with credentials, unknown ones and the disabled metrics are 404.
    assert_eq!(get(addr, "/_node/nothing", None).await.status, 401);
    assert_eq!(
        get(addr, "/_node/nothing", Some(("admin", "adminadmin")))
            .await
            .status,
        404
    );
    assert_eq!(
        get(
            addr,
            "/_node/metrics/prometheus",
            Some(("admin", "adminadmin"))
        )
        .await
        .status,
        404
    );
    service.stop().await;

    // `type: none` opens the endpoints even with users configured.
    let mut open = config.clone();
    open.services.core.http.authentication.auth_type = "none".to_owned();
    let service = Management::start(&open, Vec::new).await.unwrap().unwrap();
    assert_eq!(get(service.local_addr(), live, None).await.status, 200);
    service.stop().await;

    // An unknown type is a configuration error naming the key.
    let mut unknown = config.clone();
    unknown.services.core.http.authentication.auth_type = "oauth2".to_owned();
    let error = Management::start(&unknown, Vec::new).await.unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(
        error
            .to_string()
            .contains("services.core.http.authentication.type"),
        "{error}"
    );
}

#[tokio::test]
async fn prometheus_needs_both_metrics_flags() {
    let base = agent_env(
        "ws://127.0.0.1:9/integration-controller",
        "gate-int",
        0,
        &[],
    );
    let cases: [(&[(&str, &str)], u16); 4] = [
        (&[], 404),
        (
            &[("gravitee_services_metrics_prometheus_enabled", "true")],
            404,
        ),
        (
            &[
                ("gravitee_services_metrics_enabled", "true"),
                ("gravitee_services_metrics_prometheus_enabled", "false"),
            ],
            404,
        ),
        (&[("gravitee_services_metrics_enabled", "true")], 200),
    ];
    for (extra, expected) in cases {
        let mut env = base.clone();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let config = load(env).await;
        let service = Management::start(&config, Vec::new).await.unwrap().unwrap();
        let answer = get(service.local_addr(), "/_node/metrics/prometheus", None).await;
        assert_eq!(answer.status, expected, "{extra:?}: {}", answer.body);
        if expected == 200 {
            assert!(
                answer.headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/plain; version=0.0.4"),
                "{:?}",
                answer.headers
            );
            assert!(
                answer.body.contains("federation_agent_info{version=\""),
                "{}",
                answer.body
            );
        }
        service.stop().await;
    }
}

/// The lines of a scrape for `name` whose labels contain every `labels` entry.
fn samples<'a>(scrape: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    scrape
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .collect()
}

fn value(line: &str) -> f64 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_connectors_metrics_are_scraped() {
    let sim = simulator(&[("metrics-int", "memory")]).await;
    let port = free_port();
    let config = load(agent_env(
        &sim.endpoint(),
        "metrics-int",
        port,
        &[("gravitee_services_metrics_enabled", "true")],
    ))
    .await;
    let registry = ProviderRegistry::new().with(MemoryFactory);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(async move {
        run_agent_until(config, &registry, async move {
            let _ = stopped.await;
        })
        .await
    });
    sim.wait_connected("metrics-int", WAIT).await.unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    until_status(addr, "/_node/health", None, 200).await;
    let preview = sim.discover("metrics-int").await.unwrap();
    assert_eq!(preview.apis.len(), 2);

    let scrape = get(addr, "/_node/metrics/prometheus", None).await.body;
    let one = |name: &str, labels: &[&str]| {
        let found = samples(&scrape, name, labels);
        assert_eq!(found.len(), 1, "{name} {labels:?} in:\n{scrape}");
        value(found[0])
    };
    let integration = "integration=\"metrics-int\"";
    assert_eq!(one("federation_channel_up", &[integration]), 1.0);
    assert_eq!(
        one(
            "federation_connection_attempts_total",
            &[integration, "outcome=\"connected\""]
        ),
        1.0
    );
    assert_eq!(
        one(
            "federation_commands_received_total",
            &[integration, "type=\"DISCOVER\""]
        ),
        1.0
    );
    assert!(
        one(
            "federation_replies_sent_total",
            &[integration, "type=\"DISCOVER\"", "status=\"SUCCEEDED\""]
        ) >= 1.0
    );
    assert_eq!(one("federation_apis_discovered_total", &[integration]), 2.0);
    assert_eq!(
        one(
            "federation_discovery_duration_seconds_count",
            &[integration]
        ),
        1.0
    );
    assert_eq!(
        one(
            "federation_discovery_duration_seconds_bucket",
            &[integration, "le=\"+Inf\""]
        ),
        1.0
    );
    assert!(
        !samples(
            &scrape,
            "federation_command_duration_seconds_bucket",
            &["type=\"DISCOVER\"", "le=\"0.005\""]
        )
        .is_empty(),
        "{scrape}"
    );
    assert!(
        scrape.contains("# TYPE federation_command_duration_seconds histogram"),
        "{scrape}"
    );
    assert!(scrape.contains("# HELP federation_channel_up "), "{scrape}");

    let _ = stop.send(());
    tokio::time::timeout(WAIT, agent)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_taken_port_stops_the_agent_with_exit_code_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = load(agent_env(
        "ws://127.0.0.1:9/integration-controller",
        "port-int",
        port,
        &[],
    ))
    .await;
    let registry = ProviderRegistry::new().with(MemoryFactory);
    let result = tokio::time::timeout(
        WAIT,
        run_agent_until(config, &registry, std::future::pending()),
    )
    .await
    .expect("the agent must stop at once");
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            AppError::Management {
                key: "services.core.http.port",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_code(), 2);
    let line = error.to_string();
    assert!(
        line.starts_with("configuration error: services.core.http.port is "),
        "{line}"
    );
    assert!(line.contains(&port.to_string()), "{line}");
    assert!(!line.contains('\n'), "one line: {line}");
    drop(taken);
}

#[tokio::test]
async fn a_running_agent_answers_healthcheck() {
    let sim = simulator(&[("hc-int", "memory")]).await;
    let port = free_port();
    let config = load(agent_env(
        &sim.endpoint(),
        "hc-int",
        port,
        &[(
            "gravitee_services_core_http_authentication_users_admin",
            "s3cret-admin",
        )],
    ))
    .await;
    let registry = ProviderRegistry::new().with(MemoryFactory);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent_config = config.clone();
    let agent = tokio::spawn(async move {
        run_agent_until(agent_config, &registry, async move {
            let _ = stopped.await;
        })
        .await
    });
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    until_status(addr, "/_node/health", Some(("admin", "s3cret-admin")), 200).await;

    // The healthcheck client authenticates as the first configured user.
    let outcome = healthcheck::check(&config, "").await.unwrap();
    assert!(outcome.healthy(), "{outcome:?}");
    let Outcome::Answered { status, body } = outcome else {
        panic!()
    };
    assert_eq!(status, 200);
    assert!(body.contains("\"hc-int\""), "{body}");
    let live = healthcheck::check(&config, "http-server").await.unwrap();
    assert_eq!(
        live,
        Outcome::Answered {
            status: 200,
            body: r#"{"http-server":{"healthy":true}}"#.to_owned()
        }
    );

    // Without the right password the check fails.
    let mut wrong = config.clone();
    wrong
        .services
        .core
        .http
        .authentication
        .users
        .insert("admin".to_owned(), federation_core::Secret::new("not-it"));
    let denied = healthcheck::check(&wrong, "").await.unwrap();
    assert!(!denied.healthy());

    let _ = stop.send(());
    tokio::time::timeout(WAIT, agent)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // Stopped: nothing listens any more, so the check fails; disabled means nothing to check.
    assert!(healthcheck::check(&config, "").await.is_err());
    let mut disabled = config.clone();
    disabled.services.core.http.enabled = false;
    assert_eq!(
        healthcheck::check(&disabled, "").await.unwrap(),
        Outcome::Disabled
    );
    assert!(
        Management::start(&disabled, Vec::new)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn listen_addresses() {
    let at = |host: &str| HttpServiceConfig {
        host: host.to_owned(),
        port: 18084,
        ..HttpServiceConfig::default()
    };
    let addr = |host: &str| {
        let config = at(host);
        async move { management::listen_address(&config).await }
    };
    assert_eq!(
        addr("localhost").await.unwrap().to_string(),
        "127.0.0.1:18084"
    );
    assert_eq!(addr("0.0.0.0").await.unwrap().to_string(), "0.0.0.0:18084");
    assert_eq!(addr("[::1]").await.unwrap().to_string(), "[::1]:18084");
    assert_eq!(addr("::").await.unwrap().to_string(), "[::]:18084");
    let error = addr("no-such-host.invalid").await.unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(
        error.to_string().contains("services.core.http.host"),
        "{error}"
    );
    assert_eq!(
        healthcheck::connect_address("0.0.0.0:18084".parse().unwrap()).to_string(),
        "127.0.0.1:18084"
    );
    assert_eq!(
        healthcheck::connect_address("[::]:18084".parse().unwrap()).to_string(),
        "[::1]:18084"
    );
}
