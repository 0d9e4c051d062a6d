//! Helpers for the app crate's tests: a plain HTTP/1 client over loopback (hyper), a simulator,
//! and configurations loaded through the real configuration loader.

#![allow(dead_code, clippy::unwrap_used)] // Test helpers: a failing unwrap is a failing test.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use federation_config::{AgentConfig, ConfigLoader};
use federation_simulator::{Simulator, SimulatorConfig};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

pub(crate) const TOKEN: &str = "app-test-token";
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// `GET path` on `addr`, with basic credentials if given.
pub(crate) async fn get(addr: SocketAddr, path: &str, credentials: Option<(&str, &str)>) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    get_on(stream, addr, path, credentials).await
}

async fn get_on(
    stream: tokio::net::TcpStream,
    addr: SocketAddr,
    path: &str,
    credentials: Option<(&str, &str)>,
) -> Answer {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::get(path).header(hyper::header::HOST, addr.to_string());
    if let Some((user, password)) = credentials {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header(hyper::header::AUTHORIZATION, format!("Basic {encoded}"));
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Polls `GET path` until it answers `status`.
pub(crate) async fn until_status(
    addr: SocketAddr,
    path: &str,
    credentials: Option<(&str, &str)>,
    status: u16,
) -> Answer {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // Not listening yet is fine: the agent may still be starting.
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            let answer = get_on(stream, addr, path, credentials).await;
            if answer.status == status {
                return answer;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} still answers {} instead of {status}: {}",
                answer.status,
                answer.body
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A simulator that knows `integrations` (id, provider) and requires [`TOKEN`].
pub(crate) async fn simulator(integrations: &[(&str, &str)]) -> Simulator {
    let mut config = SimulatorConfig::default().token(TOKEN);
    for (id, provider) in integrations {
        config = config.integration(*id, *provider);
    }
    Simulator::start(config).await.unwrap()
}

/// The environment of an agent serving `integration` (type `memory`) to the simulator at
/// `endpoint`, with the management service on 127.0.0.1:`port`, plus `extra`.
pub(crate) fn agent_env(
    endpoint: &str,
    integration: &str,
    port: u16,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
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
        ("gravitee_integration_providers_0_type", "memory".to_owned()),
        (
            "gravitee_integration_providers_0_integrationId",
            integration.to_owned(),
        ),
        (
            "gravitee_integration_providers_0_configuration_sampleApis",
            "2".to_owned(),
        ),
        ("gravitee_services_core_http_host", "127.0.0.1".to_owned()),
        ("gravitee_services_core_http_port", port.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

/// Loads `env` (and no file) through the real configuration loader.
pub(crate) async fn load(env: Vec<(String, String)>) -> AgentConfig {
    let dir = tempfile::tempdir().unwrap();
    ConfigLoader::new()
        .env_vars(env)
        .current_dir(dir.path())
        .provider_keys(["sampleApis"])
        .load()
        .await
        .unwrap()
        .config
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
