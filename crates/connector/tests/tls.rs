//! TLS and proxy settings against the simulator serving `wss://` on loopback, with certificates
//! made for the test: PEM and PKCS12 truststores, trustAll, verifyHost, a PKCS12 client
//! certificate, the platform roots refusing a private CA, and an HTTP CONNECT proxy; JKS
//! truststores and keystores made by a real keytool (`fixtures/jks/make.sh`).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use common::*;
use federation_config::{ConnectorConfig, ProxyConfig, StoreConfig};
use federation_core::Secret;
use federation_simulator::Simulator;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

struct Leaf {
    der: CertificateDer<'static>,
    key: KeyPair,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { ca }
    }

    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Leaf {
            der: cert.der().clone(),
            key,
        }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }
}

/// The crypto provider of the test's own TLS servers: aws-lc-rs, like the connector's.
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn key_der(leaf: &Leaf) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.serialize_der()))
}

fn server_config(
    server: &Leaf,
    client_ca: Option<CertificateDer<'static>>,
) -> Arc<rustls::ServerConfig> {
    let provider = crypto_provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    Arc::new(
        builder
            .with_single_cert(vec![server.der.clone()], key_der(server))
            .unwrap(),
    )
}

async fn tls_simulator(server: &Leaf, client_ca: Option<CertificateDer<'static>>) -> Simulator {
    let tls = server_config(server, client_ca);
    simulator_with(&[("int-1", "memory")], move |mut c| {
        c.tls = Some(tls);
        c
    })
    .await
}

/// Starts the connector and reports whether it reached HELLO, and its last connection error.
/// It waits until the channel is connected or has failed twice (refused, not slow), rather
/// than for a fixed time.
async fn connects(sim: &Simulator, config: &ConnectorConfig) -> (bool, Option<String>) {
    let (_provider, integration) = memory("int-1", 1);
    let running = start(config, vec![integration]);
    let settled = running
        .status
        .wait_for(WAIT, |s| s[0].connected() || s[0].failed_attempts >= 2)
        .await;
    assert!(settled, "neither connected nor refused within {WAIT:?}");
    let ok =
        running.status.snapshot()[0].connected() && sim.wait_connected("int-1", WAIT).await.is_ok();
    let error = running.status.snapshot()[0].last_error.clone();
    running.stop().await.unwrap();
    (ok, error)
}

fn pem_truststore(pki: &Pki, dir: &tempfile::TempDir) -> StoreConfig {
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pki.ca_pem()).unwrap();
    StoreConfig {
        store_type: Some("PEM".into()),
        path: Some(path.display().to_string()),
        ..StoreConfig::default()
    }
}

#[tokio::test]
async fn pem_truststore_by_path_and_by_content() {
    let pki = Pki::new();
    let server = pki.leaf(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let sim = tls_simulator(&server, None).await;
    assert!(sim.endpoint().starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();

    let mut config = connector_config(&sim.endpoint());
    config.ws.ssl.truststore = pem_truststore(&pki, &dir);
    assert!(connects(&sim, &config).await.0, "PEM truststore by path");

    config.ws.ssl.truststore = StoreConfig {
        store_type: Some("pem".into()),
        content: Some(Secret::new(
            base64::engine::general_purpose::STANDARD.encode(pki.ca_pem()),
        )),
        ..StoreConfig::default()
    };
    assert!(
        connects(&sim, &config).await.0,
        "PEM truststore by base64 content"
    );
}

#[tokio::test]
async fn the_platform_roots_refuse_a_private_ca_unless_trust_all() {
    let pki = Pki::new();
    let server = pki.leaf(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let sim = tls_simulator(&server, None).await;

    let mut config = connector_config(&sim.endpoint());
    let (ok, error) = connects(&sim, &config).await;
    assert!(!ok);
    assert!(error.unwrap_or_default().contains("handshake failed"));

    config.ws.ssl.trust_all = true;
    assert!(connects(&sim, &config).await.0, "trustAll");
}

#[tokio::test]
async fn verify_host_false_accepts_a_certificate_for_another_name() {
    let pki = Pki::new();
    let server = pki.leaf(&["controller.example"], ExtendedKeyUsagePurpose::ServerAuth);
    let sim = tls_simulator(&server, None).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = connector_config(&sim.endpoint());
    config.ws.ssl.truststore = pem_truststore(&pki, &dir);
    assert!(
        !connects(&sim, &config).await.0,
        "the name is checked by default"
    );
    config.ws.ssl.verify_host = false;
    assert!(connects(&sim, &config).await.0, "verifyHost: false");
}

#[tokio::test]
async fn pkcs12_truststore_and_client_certificate() {
    let pki = Pki::new();
    let server = pki.leaf(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let client = pki.leaf(&["agent"], ExtendedKeyUsagePurpose::ClientAuth);
    let sim = tls_simulator(&server, Some(pki.ca_der())).await;
    let dir = tempfile::tempdir().unwrap();

    let mut truststore = p12_keystore::KeyStore::new();
    truststore.add_entry(
        "ca",
        p12_keystore::KeyStoreEntry::Certificate(
            p12_keystore::Certificate::from_der(pki.ca_der().as_ref()).unwrap(),
        ),
    );
    let truststore_path = dir.path().join("truststore.p12");
    std::fs::write(
        &truststore_path,
        truststore.writer("changeit").write().unwrap(),
    )
    .unwrap();

    let mut keystore = p12_keystore::KeyStore::new();
    let chain = p12_keystore::PrivateKeyChain::new(
        "agent",
        p12_keystore::PrivateKey::from_der(&client.key.serialize_der()).unwrap(),
        [
            p12_keystore::Certificate::from_der(client.der.as_ref()).unwrap(),
            p12_keystore::Certificate::from_der(pki.ca_der().as_ref()).unwrap(),
        ],
    );
    keystore.add_entry("agent", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    let keystore_path = dir.path().join("keystore.p12");
    std::fs::write(&keystore_path, keystore.writer("s3cret").write().unwrap()).unwrap();

    let mut config = connector_config(&sim.endpoint());
    config.ws.ssl.truststore = StoreConfig {
        store_type: Some("PKCS12".into()),
        path: Some(truststore_path.display().to_string()),
        password: Some(Secret::new("changeit")),
        ..StoreConfig::default()
    };
    assert!(
        !connects(&sim, &config).await.0,
        "the controller requires a client certificate"
    );

    config.ws.ssl.keystore = StoreConfig {
        store_type: Some("PKCS12".into()),
        path: Some(keystore_path.display().to_string()),
        password: Some(Secret::new("s3cret")),
        ..StoreConfig::default()
    };
    assert!(
        connects(&sim, &config).await.0,
        "PKCS12 truststore and client certificate"
    );

    config.ws.ssl.keystore.password = Some(Secret::new("n0t-the-pa55word"));
    let error = federation_connector::Connector::new(&config, &ProxyConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("integration.connector.ws.ssl.keystore"),
        "{error}"
    );
    assert!(!error.contains("n0t-the-pa55word"), "{error}");
}

/// A minimal HTTP CONNECT proxy for the test: counts tunnels, records the Proxy-Authorization.
async fn connect_proxy(
    tunnels: Arc<AtomicUsize>,
    auth: Arc<std::sync::Mutex<Option<String>>>,
) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let tunnels = tunnels.clone();
            let auth = auth.clone();
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
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                *auth.lock().unwrap() = head
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("proxy-authorization: ")
                            .or_else(|| l.strip_prefix("Proxy-Authorization: "))
                    })
                    .map(str::to_owned);
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                tunnels.fetch_add(1, Ordering::SeqCst);
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

#[tokio::test]
async fn an_http_connect_proxy_with_credentials() {
    let sim = simulator(&[("int-1", "memory")]).await;
    let tunnels = Arc::new(AtomicUsize::new(0));
    let auth = Arc::new(std::sync::Mutex::new(None));
    let port = connect_proxy(tunnels.clone(), auth.clone()).await;
    let mut config = connector_config(&sim.endpoint());
    config.ws.proxy = ProxyConfig {
        enabled: true,
        host: Some("127.0.0.1".into()),
        port,
        username: Some("agent".into()),
        password: Some(Secret::new("pr0xy")),
        ..ProxyConfig::default()
    };
    assert!(connects(&sim, &config).await.0);
    assert_eq!(tunnels.load(Ordering::SeqCst), 1);
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("agent:pr0xy")
    );
    assert_eq!(auth.lock().unwrap().as_deref(), Some(expected.as_str()));

    config.ws.proxy.proxy_type = "SOCKS5".into();
    let error = federation_connector::Connector::new(&config, &ProxyConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("integration.connector.ws.proxy.type"),
        "{error}"
    );
}

/// The JKS fixtures made by a real keytool (`tests/fixtures/jks/make.sh`).
fn jks_fixture(name: &str) -> String {
    format!("{}/tests/fixtures/jks/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn jks_store(kind: &str, name: &str, password: Option<&str>) -> StoreConfig {
    StoreConfig {
        store_type: Some(kind.into()),
        path: Some(jks_fixture(name)),
        password: password.map(Secret::new),
        ..StoreConfig::default()
    }
}

/// The simulator serving the keytool-made server identity (`server.p12`, read with
/// p12-keystore, not with the agent's reader), requiring client certificates from the
/// fixtures' CA.
async fn keytool_simulator() -> Simulator {
    let data = std::fs::read(jks_fixture("server.p12")).unwrap();
    let store = p12_keystore::KeyStore::from_pkcs12(
        &data,
        "server-pass",
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    let certs: Vec<CertificateDer<'static>> = chain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
    let ca = CertificateDer::pem_file_iter(jks_fixture("ca.pem"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let provider = crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let tls = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .unwrap(),
    );
    simulator_with(&[("int-1", "memory")], move |mut c| {
        c.tls = Some(tls);
        c
    })
    .await
}

fn connector_error(config: &ConnectorConfig) -> String {
    federation_connector::Connector::new(config, &ProxyConfig::default())
        .unwrap_err()
        .to_string()
}

#[tokio::test]
async fn jks_truststore_and_client_keystore_made_by_keytool() {
    let sim = keytool_simulator().await;
    let mut config = connector_config(&sim.endpoint());
    config.ws.ssl.truststore = jks_store("JKS", "truststore.jks", Some("changeit"));
    let (ok, error) = connects(&sim, &config).await;
    assert!(!ok, "the controller requires a client certificate");
    assert!(error.is_some());

    config.ws.ssl.keystore = jks_store("JKS", "client.jks", Some("client-pass"));
    assert!(
        connects(&sim, &config).await.0,
        "JKS truststore and JKS client keystore (EC key)"
    );

    // The alias, as keytool stores it or in another case (Java ignores the case).
    config.ws.ssl.keystore.alias = Some("CLIENT".into());
    assert!(connects(&sim, &config).await.0, "alias CLIENT");
    config.ws.ssl.keystore.alias = Some("other".into());
    assert_eq!(
        connector_error(&config),
        "integration.connector.ws.ssl.keystore.alias: no private key entry named `other`"
    );
    config.ws.ssl.keystore.alias = None;

    // Without a password a truststore's digest is not checked (Java's `load(stream, null)`).
    config.ws.ssl.truststore.password = None;
    assert!(
        connects(&sim, &config).await.0,
        "truststore without password"
    );

    // By base64 content instead of a path.
    config.ws.ssl.truststore = StoreConfig {
        store_type: Some("jks".into()),
        content: Some(Secret::new(
            base64::engine::general_purpose::STANDARD
                .encode(std::fs::read(jks_fixture("truststore.jks")).unwrap()),
        )),
        password: Some(Secret::new("changeit")),
        ..StoreConfig::default()
    };
    assert!(connects(&sim, &config).await.0, "truststore content");
}

#[tokio::test]
async fn wrong_jks_passwords_name_the_password_key() {
    let mut config = connector_config("https://127.0.0.1:9/integration-controller");
    config.ws.ssl.truststore = jks_store("JKS", "truststore.jks", Some("n0t-changeit"));
    let error = connector_error(&config);
    assert_eq!(
        error,
        "integration.connector.ws.ssl.truststore.password: does not open the JKS store: it \
         failed its integrity check: the password is wrong or the file was changed"
    );

    config.ws.ssl.truststore = jks_store("JKS", "truststore.jks", Some("changeit"));
    config.ws.ssl.keystore = jks_store("JKS", "client.jks", Some("n0t-client-pass"));
    let error = connector_error(&config);
    assert!(
        error.starts_with("integration.connector.ws.ssl.keystore.password: does not open"),
        "{error}"
    );
    assert!(!error.contains("n0t-client-pass"), "{error}");

    // A keystore needs its password to decrypt the key, even without a digest check.
    config.ws.ssl.keystore.password = None;
    let error = connector_error(&config);
    assert_eq!(
        error,
        "integration.connector.ws.ssl.keystore.password: does not open the JKS store: it \
         cannot decrypt the private key `client`: the password is wrong"
    );

    // A file that is neither JKS nor PKCS12.
    config.ws.ssl.keystore = jks_store("JKS", "ca.pem", Some("x"));
    let error = connector_error(&config);
    assert!(
        error.starts_with("integration.connector.ws.ssl.keystore: cannot open the PKCS12 store"),
        "{error}"
    );
}

#[tokio::test]
async fn jks_and_pkcs12_types_each_open_both_formats_as_java_does() {
    let sim = keytool_simulator().await;
    let mut config = connector_config(&sim.endpoint());
    // type: PKCS12 with a JKS file, type: JKS with a PKCS12 file (the server's chain holds the
    // CA).
    config.ws.ssl.truststore = jks_store("PKCS12", "truststore.jks", Some("changeit"));
    config.ws.ssl.keystore = jks_store("PKCS12", "client.jks", Some("client-pass"));
    assert!(connects(&sim, &config).await.0, "PKCS12 type, JKS files");
    config.ws.ssl.truststore = jks_store("JKS", "server.p12", Some("server-pass"));
    assert!(
        connects(&sim, &config).await.0,
        "JKS type, PKCS12 truststore"
    );

    // The RSA key of server.jks decrypts and matches its certificate (rustls checks both).
    config.ws.ssl.keystore = jks_store("JKS", "server.jks", Some("server-pass"));
    federation_connector::Connector::new(&config, &ProxyConfig::default()).unwrap();
}
