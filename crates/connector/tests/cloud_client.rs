//! Gravitee Cloud users behind a corporate proxy: `cloud.client.proxy.*` and
//! `cloud.client.ssl.*` apply to the Cloud Gate connection derived from `cloud.token` unless
//! `integration.connector.ws.proxy.*` / `.ssl.*` say otherwise
//! (`docs/reference/cloud-token.md`). The configuration is loaded from `gravitee_*` variables
//! by the real loader; the real connector connects to the simulator standing in for Cloud Gate
//! over TLS with a private CA, through an HTTP CONNECT proxy that alone knows the gate's name
//! (`eu.cloudgate.test`): a direct connection cannot even resolve it.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use federation_config::{ConfigLoader, LoadedConfig};
use federation_simulator::{Simulator, SimulatorConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GATE_HOST: &str = "eu.cloudgate.test";
const APIM_TOKEN: &str = "apim-token-cloud";

/// A JWT with Gravitee Cloud's claims (`cpg: eu`), valid until 2100.
fn cloud_token() -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = serde_json::json!({
        "org": "org-proxy", "envs": ["env-proxy"], "cpg": "eu", "exp": 4_102_444_800u64,
    });
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64.encode(br#"{"kid":"saas","alg":"RS512"}"#),
        b64.encode(claims.to_string())
    )
}

/// A private CA (PEM) and a server configuration for [`GATE_HOST`] signed by it.
fn private_pki() -> (String, Arc<rustls::ServerConfig>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![GATE_HOST.to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    (ca.pem(), Arc::new(server))
}

/// The simulator standing in for Cloud Gate: TLS, the federation agents' path, the cloud token.
async fn cloud_gate(tls: Arc<rustls::ServerConfig>, token: &str) -> Simulator {
    Simulator::start(SimulatorConfig {
        path_prefix: "/apim/integration".to_owned(),
        tls: Some(tls),
        ..SimulatorConfig::default()
            .token(APIM_TOKEN)
            .cloud_token(token)
            .integration("int-cloud", "memory")
    })
    .await
    .unwrap()
}

/// A corporate HTTP CONNECT proxy: the only one that knows `*.cloudgate.test` (it is
/// 127.0.0.1); counts tunnels and records the `Proxy-Authorization` it was sent.
#[derive(Clone, Default)]
struct Proxy {
    tunnels: Arc<AtomicUsize>,
    auth: Arc<Mutex<Option<String>>>,
}

impl Proxy {
    async fn start(&self) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = self.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let proxy = proxy.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read_exact(&mut byte).await.is_err() {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let target = head.split_whitespace().nth(1).unwrap_or_default();
                    let Some((host, port)) = target.rsplit_once(':') else {
                        return;
                    };
                    if !host.ends_with(".cloudgate.test") {
                        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
                        return;
                    }
                    *proxy.auth.lock().unwrap() = head.lines().find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("proxy-authorization")
                            .then(|| value.trim().to_owned())
                    });
                    let Ok(mut upstream) =
                        tokio::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap())).await
                    else {
                        return;
                    };
                    proxy.tunnels.fetch_add(1, Ordering::SeqCst);
                    client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        port
    }
}

/// Loads the agent's configuration from `gravitee_*` variables: the memory provider, the cloud
/// token, a gate URL on the simulator's port, and `extra`.
async fn load(
    gate_port: u16,
    token: &str,
    extra: &[(&str, String)],
) -> (LoadedConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("gravitee_integration_providers_0_type", "memory".to_owned()),
        (
            "gravitee_integration_providers_0_integrationId",
            "int-cloud".to_owned(),
        ),
        ("gravitee_cloud_token", token.to_owned()),
        (
            "gravitee_cloud_gateUrl",
            format!("https://{{cpg}}.cloudgate.test:{gate_port}"),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    let loaded = ConfigLoader::new()
        .env_vars(env)
        .current_dir(dir.path())
        .load()
        .await
        .unwrap();
    (loaded, dir)
}

/// Runs the connector with the loaded configuration; whether HELLO got through in `within`.
async fn connects(sim: &Simulator, loaded: &LoadedConfig, within: Duration) -> bool {
    let mut config = loaded.config.integration.connector.clone();
    config.ws.backoff.initial_delay_ms = 100;
    config.ws.backoff.jitter = 0.0;
    let connector = federation_connector::Connector::new(&config, &loaded.config.system.proxy)
        .unwrap()
        .with_integration(memory("int-cloud", 2).1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(connector.run(async move {
        let _ = stopped.await;
    }));
    let connected = sim.wait_connected("int-cloud", within).await.is_ok()
        && sim.discover("int-cloud").await.unwrap().apis.len() == 2;
    let _ = stop.send(());
    let _ = tokio::time::timeout(WAIT, task).await;
    connected
}

#[tokio::test]
async fn cloud_client_proxy_and_truststore_reach_the_cloud_gate() {
    let token = cloud_token();
    let (ca_pem, tls) = private_pki();
    let sim = cloud_gate(tls, &token).await;
    let proxy = Proxy::default();
    let proxy_port = proxy.start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("corporate-ca.pem");
    std::fs::write(&ca_path, ca_pem).unwrap();

    let (loaded, _dir) = load(
        sim.local_addr().port(),
        &token,
        &[
            ("gravitee_cloud_client_proxy_enabled", "true".to_owned()),
            ("gravitee_cloud_client_proxy_host", "127.0.0.1".to_owned()),
            ("gravitee_cloud_client_proxy_port", proxy_port.to_string()),
            ("gravitee_cloud_client_proxy_username", "agent".to_owned()),
            ("gravitee_cloud_client_proxy_password", "pr0xy".to_owned()),
            // Upper case, as Kubernetes users often write them.
            (
                "GRAVITEE_CLOUD_CLIENT_SSL_TRUSTSTORE_TYPE",
                "PEM".to_owned(),
            ),
            (
                "GRAVITEE_CLOUD_CLIENT_SSL_TRUSTSTORE_PATH",
                ca_path.display().to_string(),
            ),
        ],
    )
    .await;
    assert!(
        connects(&sim, &loaded, Duration::from_secs(10)).await,
        "no HELLO through the proxy: {} tunnel(s); ws.proxy = {:?}, ws.ssl.truststore = {:?}",
        proxy.tunnels.load(Ordering::SeqCst),
        loaded.config.integration.connector.ws.proxy,
        loaded.config.integration.connector.ws.ssl.truststore,
    );
    assert!(
        loaded.warnings.is_empty(),
        "every variable is a key: {:?}",
        loaded.warnings
    );
    assert!(proxy.tunnels.load(Ordering::SeqCst) >= 1);
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("agent:pr0xy")
    );
    assert_eq!(
        proxy.auth.lock().unwrap().as_deref(),
        Some(expected.as_str())
    );
}

#[tokio::test]
async fn integration_connector_ws_settings_win_over_cloud_client() {
    let token = cloud_token();
    let (ca_pem, tls) = private_pki();
    let sim = cloud_gate(tls, &token).await;
    let proxy = Proxy::default();
    let proxy_port = proxy.start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca_pem).unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    // cloud.client names a proxy port nobody listens on and trusts nothing useful; the
    // connector's own keys name the working proxy and the CA.
    let (loaded, _dir) = load(
        sim.local_addr().port(),
        &token,
        &[
            ("gravitee_cloud_client_proxy_enabled", "true".to_owned()),
            ("gravitee_cloud_client_proxy_host", "127.0.0.1".to_owned()),
            ("gravitee_cloud_client_proxy_port", dead.to_string()),
            (
                "gravitee_cloud_client_ssl_truststore_type",
                "PEM".to_owned(),
            ),
            (
                "gravitee_cloud_client_ssl_truststore_path",
                "/nonexistent/ca.pem".to_owned(),
            ),
            (
                "gravitee_integration_connector_ws_proxy_port",
                proxy_port.to_string(),
            ),
            (
                "gravitee_integration_connector_ws_ssl_truststore_type",
                "PEM".to_owned(),
            ),
            (
                "gravitee_integration_connector_ws_ssl_truststore_path",
                ca_path.display().to_string(),
            ),
        ],
    )
    .await;
    assert!(connects(&sim, &loaded, Duration::from_secs(10)).await);
    assert!(proxy.tunnels.load(Ordering::SeqCst) >= 1);
}
