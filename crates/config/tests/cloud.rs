//! `cloud.token` (Gravitee Next-Gen Cloud): the endpoint and the credential it gives when they
//! are not configured, configured values winning, `cloud.enabled: false`, `cloud.gateUrl`,
//! `secret://` tokens, and refusals that name the key and its source without the token.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::*;
use federation_config::cloud::{CredentialChoice, EndpointChoice};
use federation_config::{ConfigError, LoadedConfig};

const DERIVED: &str = "https://eu.cloudgate.gravitee.io/apim/integration";

/// A JWT with these claims (an unverified signature, as the agent does not check it).
fn jwt(claims: serde_json::Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2ln",
        b64.encode(br#"{"alg":"RS512","kid":"saas"}"#),
        b64.encode(claims.to_string())
    )
}

/// A provider and the token; no endpoint, no header.
fn token_only(token: &str) -> Vec<(String, String)> {
    with(
        minimal_env(),
        &[
            ("gravitee_integration_connector_ws_endpoints_0", ""),
            ("gravitee_cloud_token", token),
        ],
    )
}

async fn load(env: Vec<(String, String)>) -> Result<LoadedConfig, ConfigError> {
    Sandbox::new().loader(env).load().await
}

fn authorization(loaded: &LoadedConfig) -> Vec<String> {
    loaded
        .config
        .integration
        .connector
        .ws
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("authorization"))
        .map(|h| h.value.expose().to_owned())
        .collect()
}

#[tokio::test]
async fn the_token_alone_gives_the_cloud_gate_endpoint_and_the_bearer_header() {
    let loaded = load(token_only(CLOUD_TOKEN)).await.unwrap();
    let ws = &loaded.config.integration.connector.ws;
    assert_eq!(ws.endpoints_cleaned(), [DERIVED]);
    assert_eq!(authorization(&loaded), [format!("Bearer {CLOUD_TOKEN}")]);
    let cloud = loaded.cloud.as_ref().unwrap();
    assert_eq!(cloud.endpoint, EndpointChoice::Derived(DERIVED.to_owned()));
    assert_eq!(cloud.credential, CredentialChoice::CloudToken);
    assert_eq!(cloud.token.organization, "org-5d1e9a");
    assert_eq!(cloud.token.environments, ["env-5d1e9a"]);
    // What is kept (and may be logged or printed with Debug) holds no token.
    assert!(!format!("{cloud:?}").contains(CLOUD_TOKEN));
    assert!(
        !format!("{loaded:?}").contains(CLOUD_TOKEN),
        "Debug shows the token"
    );
}

#[tokio::test]
async fn configured_endpoint_and_header_win() {
    let env = with(
        minimal_env(),
        &[
            ("gravitee_cloud_token", CLOUD_TOKEN),
            (
                "gravitee_integration_connector_ws_headers_0_name",
                "authorization",
            ),
            (
                "gravitee_integration_connector_ws_headers_0_value",
                "bearer apim-token",
            ),
        ],
    );
    let loaded = load(env).await.unwrap();
    assert_eq!(
        loaded.config.integration.connector.ws.endpoints_cleaned(),
        ["https://apim.example.com/integration-controller"]
    );
    assert_eq!(authorization(&loaded), ["bearer apim-token"]);
    let cloud = loaded.cloud.unwrap();
    assert_eq!(cloud.endpoint, EndpointChoice::Configured);
    assert_eq!(cloud.credential, CredentialChoice::ConfiguredHeader);
}

#[tokio::test]
async fn a_configured_endpoint_without_a_header_gets_the_cloud_token() {
    let env = with(minimal_env(), &[("gravitee_cloud_token", CLOUD_TOKEN)]);
    let loaded = load(env).await.unwrap();
    assert_eq!(
        loaded.config.integration.connector.ws.endpoints_cleaned(),
        ["https://apim.example.com/integration-controller"]
    );
    assert_eq!(authorization(&loaded), [format!("Bearer {CLOUD_TOKEN}")]);
}

#[tokio::test]
async fn the_seed_compose_with_empty_apim_variables_uses_the_token() {
    // The seed's compose file with WS_ENDPOINTS and WS_AUTH_TOKEN left empty, as a Next-Gen
    // Cloud user would: `bearer ` without a credential does not count as a header.
    let env: Vec<(String, String)> =
        compose_environment(&fixture("docker-compose.yml"), &fixture("seed.env"))
            .into_iter()
            .map(|(k, v)| match k.as_str() {
                "gravitee_integration_connector_ws_endpoints_0" => (k, String::new()),
                "gravitee_integration_connector_ws_headers_0_value" => (k, "bearer ".to_owned()),
                _ => (k, v),
            })
            .collect();
    let env = with(env, &[("gravitee_cloud_token", CLOUD_TOKEN)]);
    let loaded = load(env).await.unwrap();
    assert_eq!(
        loaded.config.integration.connector.ws.endpoints_cleaned(),
        [DERIVED]
    );
    assert_eq!(authorization(&loaded), [format!("Bearer {CLOUD_TOKEN}")]);
}

#[tokio::test]
async fn the_gate_url_setting_replaces_the_cloud_gate_host() {
    let us = jwt(serde_json::json!({"org": "o", "envs": ["e"], "cpg": "us"}));
    let env = with(
        token_only(&us),
        // The upper-case form, as Gravitee accepts it.
        &[("GRAVITEE_CLOUD_GATEURL", "http://{cpg}.gate.test:8080/")],
    );
    let loaded = load(env).await.unwrap();
    assert_eq!(
        loaded.config.integration.connector.ws.endpoints_cleaned(),
        ["http://us.gate.test:8080/apim/integration"]
    );

    let env = with(token_only(&us), &[("gravitee_cloud_gateUrl", "ftp://x")]);
    let text = load(env).await.unwrap_err().to_string();
    assert!(
        text.starts_with("cloud.gateUrl must be an http(s) URL")
            && text.ends_with("(from env gravitee_cloud_gateUrl)"),
        "{text}"
    );
}

#[tokio::test]
async fn cloud_enabled_false_ignores_the_token() {
    let env = with(
        token_only("not even a JWT"),
        &[("gravitee_cloud_enabled", "false")],
    );
    let text = load(env).await.unwrap_err().to_string();
    assert!(
        text.starts_with("integration.connector.ws.endpoints[0] is blank"),
        "{text}"
    );
    let env = with(
        minimal_env(),
        &[
            ("gravitee_cloud_token", CLOUD_TOKEN),
            ("gravitee_cloud_enabled", "false"),
        ],
    );
    let loaded = load(env).await.unwrap();
    assert!(loaded.cloud.is_none());
    assert!(authorization(&loaded).is_empty());
}

#[tokio::test]
async fn the_token_may_be_a_secret_reference() {
    let mut env = token_only("secret://env/AGENT_CLOUD_TOKEN");
    env.push(("AGENT_CLOUD_TOKEN".into(), CLOUD_TOKEN.into()));
    let loaded = load(env).await.unwrap();
    assert_eq!(authorization(&loaded), [format!("Bearer {CLOUD_TOKEN}")]);
    assert_eq!(
        loaded.config.integration.connector.ws.endpoints_cleaned(),
        [DERIVED]
    );
}

#[tokio::test]
async fn bad_tokens_are_refused_naming_the_key_and_its_source() {
    let expired = jwt(serde_json::json!({
        "org": "o", "envs": ["e"], "cpg": "eu", "exp": 1_600_000_000u64
    }));
    let no_envs = jwt(serde_json::json!({"org": "o", "envs": [], "cpg": "eu"}));
    let no_org = jwt(serde_json::json!({"envs": ["e"], "cpg": "eu"}));
    let no_cpg = jwt(serde_json::json!({"org": "o", "envs": ["e"]}));
    let cases = [
        (expired.as_str(), "expired at 2020-09-13T12:26:40Z"),
        (no_envs.as_str(), "has no usable `envs` claim"),
        (no_org.as_str(), "has no usable `org` claim"),
        (no_cpg.as_str(), "has no usable `cpg` claim"),
        ("cloud-tok-5d1e9a", "is not a JWT"),
    ];
    for (token, problem) in cases {
        let text = load(token_only(token)).await.unwrap_err().to_string();
        assert!(
            text.starts_with(&format!("cloud.token {problem}"))
                && text.ends_with("(from env gravitee_cloud_token)"),
            "{text}"
        );
        assert!(!text.contains(token), "the token leaked: {text}");
    }

    // From a file, the file is the source.
    let sandbox = Sandbox::new();
    let file = sandbox.write("gravitee.yml", &format!("cloud:\n  token: {expired}\n"));
    let text = sandbox
        .loader(with(
            minimal_env(),
            &[("gravitee_integration_connector_ws_endpoints_0", "")],
        ))
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("cloud.token expired at")
            && text.ends_with(&format!("(from file {})", file.display())),
        "{text}"
    );
}

#[tokio::test]
async fn cloud_client_proxy_and_ssl_apply_to_the_derived_gate_key_by_key() {
    let yaml = "cloud:\n  client:\n    proxy:\n      enabled: true\n      host: corporate-proxy.example\n      port: 8080\n      username: agent\n      password: pr0xy\n    ssl:\n      hostnameVerifier: false\n      truststore:\n        type: PEM\n        path: /etc/ca/corporate.pem\n";
    let sandbox = Sandbox::new();
    let file = sandbox.write("gravitee.yml", yaml);
    let mut env = token_only(CLOUD_TOKEN);
    // The connector's own key wins over its cloud.client counterpart, key by key (Gravitee's
    // example: only the proxy host).
    env.push((
        "gravitee_integration_connector_ws_proxy_host".into(),
        "special-proxy.example".into(),
    ));
    env.push(("GRAVITEE_CONF".into(), file.display().to_string()));
    let loaded = sandbox.loader(env).load().await.unwrap();
    let ws = &loaded.config.integration.connector.ws;
    assert!(ws.proxy.enabled);
    assert_eq!(ws.proxy.host.as_deref(), Some("special-proxy.example"));
    assert_eq!(ws.proxy.port, 8080);
    assert_eq!(ws.proxy.username.as_deref(), Some("agent"));
    assert_eq!(ws.proxy.password.as_ref().unwrap().expose(), "pr0xy");
    assert!(!ws.ssl.verify_host, "hostnameVerifier is verifyHost");
    assert_eq!(ws.ssl.truststore.store_type.as_deref(), Some("PEM"));
    assert_eq!(
        ws.ssl.truststore.path.as_deref(),
        Some("/etc/ca/corporate.pem")
    );
    let cloud = loaded.cloud.as_ref().unwrap();
    assert_eq!(
        cloud.client_keys,
        [
            "cloud.client.proxy.enabled",
            "cloud.client.proxy.port",
            "cloud.client.proxy.username",
            "cloud.client.proxy.password",
            "cloud.client.ssl.hostnameVerifier",
            "cloud.client.ssl.truststore.*",
        ]
    );
    assert!(
        !format!("{loaded:?}").contains("pr0xy"),
        "Debug shows the password"
    );
}

#[tokio::test]
async fn cloud_client_is_not_applied_to_a_configured_endpoint() {
    let env = with(
        minimal_env(),
        &[
            ("gravitee_cloud_token", CLOUD_TOKEN),
            ("gravitee_cloud_client_proxy_enabled", "true"),
            (
                "gravitee_cloud_client_proxy_host",
                "corporate-proxy.example",
            ),
        ],
    );
    let loaded = load(env).await.unwrap();
    assert!(!loaded.config.integration.connector.ws.proxy.enabled);
    assert!(loaded.cloud.unwrap().client_keys.is_empty());
}

#[tokio::test]
async fn a_cloud_client_setting_the_connector_refuses_is_named_by_its_key() {
    let cases = [
        (
            vec![
                ("gravitee_cloud_client_proxy_enabled", "true"),
                ("gravitee_cloud_client_proxy_host", "proxy.example"),
                ("gravitee_cloud_client_proxy_type", "SOCKS5"),
            ],
            "cloud.client.proxy.type is `SOCKS5`, which this agent does not support: only HTTP \
             (CONNECT) proxies are (from env gravitee_cloud_client_proxy_type)",
        ),
        (
            vec![("gravitee_cloud_client_proxy_enabled", "true")],
            "cloud.client.proxy.host is missing: cloud.client.proxy.enabled is true",
        ),
        (
            vec![("GRAVITEE_CLOUD_CLIENT_SSL_TRUSTSTORE_TYPE", "JCEKS")],
            "cloud.client.ssl.truststore.type is `JCEKS`, which is not a store type (expected \
             PEM, PKCS12, JKS, NONE) (from env GRAVITEE_CLOUD_CLIENT_SSL_TRUSTSTORE_TYPE)",
        ),
    ];
    for (vars, expected) in cases {
        let env = with(token_only(CLOUD_TOKEN), &vars);
        let text = load(env).await.unwrap_err().to_string();
        assert!(text.starts_with(expected), "{text}");
    }
}
