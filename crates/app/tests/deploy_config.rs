//! The files in `deploy/` are loaded as the agent would load them: the compose file's
//! `environment` (interpolated from `.env.example`, as Docker Compose does) and each Helm values
//! file's `config.graviteeYml` block (written to a `gravitee.yml`, as the chart's ConfigMap
//! does) go through `ConfigLoader`, the AWS provider type's validation, the provider factory and
//! the connector's own checks. They also keep the seed's contract: the same variable names and
//! the same Helm layout.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use federation_app::{AgentArgs, build_integrations};
use federation_config::{AgentConfig, ConfigLoader, KubernetesAccess, LoadedConfig};
use federation_connector::Connector;
use federation_core::ProviderRegistry;
use federation_provider_aws_api_gateway::AwsApiGatewayFactory;
use serde_yaml_ng::Value;

/// The `environment` list of the seed's docker-compose service, verbatim.
const SEED_ENVIRONMENT: [&str; 9] = [
    "gravitee_integration_connector_ws_endpoints_0=${WS_ENDPOINTS}",
    "gravitee_integration_connector_ws_headers_0_name=Authorization",
    "gravitee_integration_connector_ws_headers_0_value=bearer ${WS_AUTH_TOKEN}",
    "gravitee_integration_providers_0_type=aws-api-gateway",
    "gravitee_integration_providers_0_integrationId=${INTEGRATION_ID}",
    "gravitee_integration_providers_0_configuration_accessKeyId=${AWS_ACCESS_KEY_ID}",
    "gravitee_integration_providers_0_configuration_secretAccessKey=${AWS_SECRET_ACCESS_KEY}",
    "gravitee_integration_providers_0_configuration_region=${AWS_REGION}",
    "gravitee_integration_providers_0_configuration_acceptApiWithoutUsagePlan=${ACCEPT_API_WITHOUT_USAGE_PLAN:-false}",
];

/// The variables the seed's `.env` sets.
const SEED_DOTENV: [&str; 7] = [
    "WS_ENDPOINTS",
    "WS_AUTH_TOKEN",
    "INTEGRATION_ID",
    "WS_ORG_ID",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
];

/// The variables the seed's `.env` shows commented out.
const SEED_DOTENV_OPTIONAL: [&str; 3] = [
    "GRAVITEE_CLOUD_TOKEN",
    "AGENT_VERSION",
    "ACCEPT_API_WITHOUT_USAGE_PLAN",
];

/// Where the Java agent's image (and ours) lives; the seed mounts truststores below it.
const GRAVITEE_HOME: &str = "/opt/graviteeio-federation-agent";

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(deploy(name)).unwrap_or_else(|e| panic!("deploy/{name}: {e}"))
}

fn registry() -> ProviderRegistry {
    ProviderRegistry::new().with(AwsApiGatewayFactory)
}

/// A loader confined to `dir` (no real service account, no ./config/gravitee.yml) that checks
/// provider types and keys as the aws-api-gateway binary does.
fn loader(dir: &Path, registry: &ProviderRegistry) -> ConfigLoader {
    ConfigLoader::new()
        .current_dir(dir)
        .provider_keys(registry.config_keys())
        .known_provider_types(registry.types())
        .kubernetes(KubernetesAccess::service_account_dir(
            dir.join("serviceaccount"),
            Some("http://127.0.0.1:9".to_owned()),
        ))
}

/// What the agent does with a loaded configuration before connecting: build each provider
/// (the AWS factory validates its settings and makes no AWS call) and the connector (endpoints,
/// headers, TLS stores, proxy).
async fn agent_accepts(config: &AgentConfig, registry: &ProviderRegistry) {
    let integrations = build_integrations(config, registry).await.unwrap();
    assert_eq!(integrations.len(), config.integration.providers.len());
    Connector::new(&config.integration.connector, &config.system.proxy).unwrap();
    federation_app::management::listen_address(&config.services.core.http)
        .await
        .unwrap();
}

/// A `.env` file: `NAME=value` lines; `#` lines are comments.
fn dotenv(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The `${NAME}` / `${NAME:-default}` references of a text, as (name, default).
fn references(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').unwrap() + start;
        let expr = &rest[start + 2..end];
        out.push(match expr.split_once(":-") {
            Some((name, default)) => (name.to_owned(), Some(default.to_owned())),
            None => (expr.to_owned(), None),
        });
        rest = &rest[end + 1..];
    }
    out
}

/// Docker Compose's interpolation: `${NAME}` is the variable or empty, `${NAME:-default}` the
/// variable unless unset or empty.
fn interpolate(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (name, default) in references(text) {
        let value = match &default {
            Some(default) => vars
                .get(&name)
                .filter(|v| !v.is_empty())
                .cloned()
                .unwrap_or_else(|| default.clone()),
            None => vars.get(&name).cloned().unwrap_or_default(),
        };
        let pattern = match &default {
            Some(default) => format!("${{{name}:-{default}}}"),
            None => format!("${{{name}}}"),
        };
        out = out.replacen(&pattern, &value, 1);
    }
    out
}

/// The compose file's only service.
fn compose_service() -> Value {
    let doc: Value = serde_yaml_ng::from_str(&read("docker-compose.yml")).unwrap();
    let services = doc["services"].as_mapping().unwrap();
    assert_eq!(services.len(), 1, "one service, as in the seed");
    services.values().next().unwrap().clone()
}

fn compose_environment_lines() -> Vec<String> {
    compose_service()["environment"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_compose_environment_is_the_seeds_and_loads() {
    let lines = compose_environment_lines();
    assert_eq!(lines, SEED_ENVIRONMENT, "the seed's environment, unchanged");

    let vars = dotenv(&read(".env.example"));
    let env: Vec<(String, String)> = lines
        .iter()
        .map(|line| {
            let (name, value) = interpolate(line, &vars)
                .split_once('=')
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .unwrap();
            (name, value)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let registry = registry();
    let loaded: LoadedConfig = loader(dir.path(), &registry)
        .env_vars(env)
        .load()
        .await
        .unwrap();
    assert!(loaded.files.is_empty());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let config = &loaded.config;
    let ws = &config.integration.connector.ws;
    assert_eq!(ws.endpoints_cleaned(), [vars["WS_ENDPOINTS"].clone()]);
    assert_eq!(ws.headers.len(), 1);
    assert_eq!(ws.headers[0].name, "Authorization");
    assert_eq!(
        ws.headers[0].value.expose(),
        format!("bearer {}", vars["WS_AUTH_TOKEN"])
    );
    let provider = &config.integration.providers[0];
    assert_eq!(provider.provider_type, "aws-api-gateway");
    assert_eq!(provider.integration_id, vars["INTEGRATION_ID"]);
    let settings = &provider.configuration;
    assert_eq!(
        settings.get_str("region"),
        Some(vars["AWS_REGION"].as_str())
    );
    assert_eq!(
        settings.get_str("accessKeyId"),
        Some(vars["AWS_ACCESS_KEY_ID"].as_str())
    );
    assert_eq!(
        settings.get_str("secretAccessKey"),
        Some(vars["AWS_SECRET_ACCESS_KEY"].as_str())
    );
    assert_eq!(settings.get_str("acceptApiWithoutUsagePlan"), Some("false"));
    // No services block in the seed's compose file: the management service keeps its defaults.
    assert!(config.services.core.http.enabled);
    assert_eq!(config.services.core.http.port, 18084);
    assert_eq!(config.services.core.http.host, "localhost");
    agent_accepts(config, &registry).await;

    // The seed's IAM-role variant: empty AWS keys mean the SDK's credential chain.
    let mut role_vars = vars.clone();
    role_vars.insert("AWS_ACCESS_KEY_ID".into(), String::new());
    role_vars.insert("AWS_SECRET_ACCESS_KEY".into(), String::new());
    let env: Vec<(String, String)> = lines
        .iter()
        .map(|line| {
            let text = interpolate(line, &role_vars);
            let (n, v) = text.split_once('=').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let role = loader(dir.path(), &registry)
        .env_vars(env)
        .load()
        .await
        .unwrap();
    agent_accepts(&role.config, &registry).await;
}

#[test]
fn the_env_example_sets_the_seeds_variables_and_nothing_else_is_referenced() {
    let text = read(".env.example");
    let vars = dotenv(&text);
    for name in SEED_DOTENV {
        assert!(vars.contains_key(name), ".env.example lacks {name}");
    }
    for name in SEED_DOTENV_OPTIONAL {
        assert!(
            text.contains(&format!("# {name}=")),
            ".env.example lacks the commented {name}"
        );
    }
    let known: BTreeSet<&str> = SEED_DOTENV
        .iter()
        .chain(&SEED_DOTENV_OPTIONAL)
        .copied()
        .collect();
    let compose = read("docker-compose.yml");
    for (name, _) in references(&compose) {
        assert!(
            known.contains(name.as_str()),
            "docker-compose.yml uses ${{{name}}}, not a seed variable"
        );
    }
    let extra: Vec<&String> = vars
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        ".env.example sets variables the seed does not: {extra:?}"
    );
}

/// Writes the values file's `config.graviteeYml` to `dir/gravitee.yml`, as the chart's
/// ConfigMap does, and returns the whole values document.
fn gravitee_yml_from_helm(values: &str, dir: &Path) -> (Value, PathBuf) {
    let doc: Value = serde_yaml_ng::from_str(&read(values)).unwrap();
    let block = &doc["config"]["graviteeYml"];
    assert!(block.is_mapping(), "{values}: no config.graviteeYml");
    let path = dir.join("gravitee.yml");
    std::fs::write(&path, serde_yaml_ng::to_string(block).unwrap()).unwrap();
    (doc, path)
}

/// Mebibytes of a Kubernetes memory quantity in Mi or Gi.
fn mebibytes(quantity: &str) -> u64 {
    if let Some(mi) = quantity.strip_suffix("Mi") {
        mi.parse().unwrap()
    } else if let Some(gi) = quantity.strip_suffix("Gi") {
        gi.parse::<u64>().unwrap() * 1024
    } else {
        panic!("memory quantity {quantity} is not in Mi or Gi")
    }
}

/// The seed's Kubernetes layout: RBAC for secrets, image name parts, requests and limits.
fn check_kubernetes_layout(doc: &Value) {
    let k8s = &doc["kubernetes"];
    assert_eq!(k8s["serviceAccount"]["managed"], Value::Bool(true));
    let rule = &k8s["serviceAccount"]["roleRules"][0];
    let resources: Vec<&str> = rule["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        resources.contains(&"secrets"),
        "secret://kubernetes needs read access to secrets"
    );
    let image = &k8s["deployment"]["image"];
    for key in ["repository", "name", "tag"] {
        assert!(image[key].is_string(), "kubernetes.deployment.image.{key}");
    }
    assert_eq!(image["name"], "federation-agent-aws-api-gateway");
    let resources = &k8s["deployment"]["resources"];
    for kind in ["requests", "limits"] {
        for key in ["memory", "cpu"] {
            assert!(
                resources[kind][key].is_string(),
                "kubernetes.deployment.resources.{kind}.{key}"
            );
        }
    }
    let request = mebibytes(resources["requests"]["memory"].as_str().unwrap());
    let limit = mebibytes(resources["limits"]["memory"].as_str().unwrap());
    assert!(
        request <= limit,
        "memory request {request}Mi above the limit {limit}Mi"
    );
}

/// The seed's services block: the management service on 0.0.0.0:18084 with a basic user,
/// metrics off.
fn check_services(config: &AgentConfig) {
    let http = &config.services.core.http;
    assert!(http.enabled);
    assert_eq!(http.port, 18084);
    assert_eq!(http.host, "0.0.0.0");
    assert_eq!(http.authentication.auth_type, "basic");
    assert!(http.authentication.users.contains_key("admin"));
    assert!(!federation_app::prometheus::enabled(
        &config.services.metrics
    ));
}

#[tokio::test]
async fn the_helm_values_load() {
    let dir = tempfile::tempdir().unwrap();
    let (doc, gravitee_yml) = gravitee_yml_from_helm("helm/values.yaml", dir.path());
    check_kubernetes_layout(&doc);
    let registry = registry();
    let loaded = loader(dir.path(), &registry)
        .env_vars(Vec::<(String, String)>::new())
        .config_file(Some(gravitee_yml.clone()))
        .load()
        .await
        .unwrap();
    assert_eq!(loaded.files, [gravitee_yml]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let config = &loaded.config;
    check_services(config);
    assert_eq!(
        config.integration.connector.ws.endpoints_cleaned(),
        ["https://apim.example.com/integration-controller"]
    );
    assert!(
        config
            .integration
            .connector
            .ws
            .ssl
            .truststore
            .store_type
            .is_none()
    );
    let provider = &config.integration.providers[0];
    assert_eq!(provider.provider_type, "aws-api-gateway");
    assert_eq!(provider.configuration.get_str("region"), Some("us-west-2"));
    agent_accepts(config, &registry).await;
}

/// A loopback stand-in for the Kubernetes API's `GET /api/v1/namespaces/{ns}/secrets/{name}`
/// serving one secret to callers presenting `token`.
async fn kubernetes_stand_in(
    token: &'static str,
    namespace: &'static str,
    name: &'static str,
    data: BTreeMap<String, String>,
) -> String {
    use axum::extract::Path as UrlPath;
    use axum::http::{HeaderMap, StatusCode};
    use base64::Engine as _;

    let encoded: BTreeMap<String, String> = data
        .into_iter()
        .map(|(k, v)| (k, base64::engine::general_purpose::STANDARD.encode(v)))
        .collect();
    let encoded = Arc::new(encoded);
    let app = axum::Router::new().route(
        "/api/v1/namespaces/{ns}/secrets/{name}",
        axum::routing::get(move |UrlPath((ns, secret)): UrlPath<(String, String)>, headers: HeaderMap| {
            let encoded = encoded.clone();
            async move {
                let bearer = format!("Bearer {token}");
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
                    return (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({"kind": "Status", "code": 401, "message": "Unauthorized"})));
                }
                if ns != namespace || secret != name {
                    return (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"kind": "Status", "code": 404, "message": format!("secrets \"{secret}\" not found")})));
                }
                (StatusCode::OK, axum::Json(serde_json::json!({"kind": "Secret", "apiVersion": "v1", "data": *encoded})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A PKCS12 truststore holding one self-signed CA certificate, protected by `password`.
fn pkcs12_truststore(password: &str) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).unwrap();
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "ca",
        p12_keystore::KeyStoreEntry::Certificate(
            p12_keystore::Certificate::from_der(ca.der().as_ref()).unwrap(),
        ),
    );
    store.writer(password).write().unwrap()
}

#[tokio::test]
async fn the_custom_truststore_helm_values_load_and_open_the_store() {
    const SA_TOKEN: &str = "sa-token-deploy";
    const STORE_PASSWORD: &str = "p12-deploy-pass";
    let dir = tempfile::tempdir().unwrap();
    let (doc, gravitee_yml) =
        gravitee_yml_from_helm("helm/values-custom-truststore.yaml", dir.path());
    check_kubernetes_layout(&doc);

    // The store is mounted from the `aws-truststore` secret at the path the config names.
    let volumes: Value =
        serde_yaml_ng::from_str(doc["kubernetes"]["extraVolumes"].as_str().unwrap()).unwrap();
    assert_eq!(volumes[0]["secret"]["secretName"], "aws-truststore");
    let mounts: Value = serde_yaml_ng::from_str(
        doc["kubernetes"]["deployment"]["extraVolumeMounts"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(mounts[0]["name"], volumes[0]["name"]);
    let mount_path = mounts[0]["mountPath"].as_str().unwrap().to_owned();
    assert!(mount_path.starts_with(GRAVITEE_HOME), "{mount_path}");
    let configured_path =
        doc["config"]["graviteeYml"]["integration"]["connector"]["ws"]["ssl"]["truststore"]["path"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(
        Path::new(&configured_path).parent().unwrap(),
        Path::new(&mount_path)
    );

    // The password is a secret://kubernetes reference, read with the pod's service account.
    let api = kubernetes_stand_in(
        SA_TOKEN,
        "gravitee-apim",
        "aws-truststore",
        BTreeMap::from([("password".to_owned(), STORE_PASSWORD.to_owned())]),
    )
    .await;
    let sa = dir.path().join("serviceaccount");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::write(sa.join("token"), SA_TOKEN).unwrap();
    std::fs::write(sa.join("namespace"), "gravitee-apim").unwrap();
    let registry = registry();
    let load = |env: Vec<(String, String)>| {
        loader(dir.path(), &registry)
            .env_vars(env)
            .config_file(Some(gravitee_yml.clone()))
            .kubernetes(KubernetesAccess::service_account_dir(
                &sa,
                Some(api.clone()),
            ))
            .load()
    };
    let loaded = load(Vec::new()).await.unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let config = &loaded.config;
    check_services(config);
    let truststore = &config.integration.connector.ws.ssl.truststore;
    assert_eq!(truststore.store_type.as_deref(), Some("PKCS12"));
    assert_eq!(truststore.path.as_deref(), Some(configured_path.as_str()));
    assert_eq!(
        truststore.password.as_ref().unwrap().expose(),
        STORE_PASSWORD
    );
    build_integrations(config, &registry).await.unwrap();

    // With the store where the volume would be mounted (here: a temporary file), the connector
    // opens it with the resolved password.
    let store_file = dir.path().join("my_truststore.p12");
    std::fs::write(&store_file, pkcs12_truststore(STORE_PASSWORD)).unwrap();
    let mounted = vec![(
        "gravitee_integration_connector_ws_ssl_truststore_path".to_owned(),
        store_file.display().to_string(),
    )];
    let loaded = load(mounted.clone()).await.unwrap();
    agent_accepts(&loaded.config, &registry).await;

    // Another password does not open it: the resolved one above is what made it work.
    let mut wrong = mounted;
    wrong.push((
        "gravitee_integration_connector_ws_ssl_truststore_password".to_owned(),
        "not-the-password".to_owned(),
    ));
    let loaded = load(wrong).await.unwrap();
    let error = Connector::new(
        &loaded.config.integration.connector,
        &loaded.config.system.proxy,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("integration.connector.ws.ssl.truststore"),
        "{error}"
    );
    assert!(!error.contains("not-the-password"), "{error}");
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    agent: AgentArgs,
}

#[test]
fn the_dockerfile_matches_the_chart_and_the_binary() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let runtime_stage = instructions
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .unwrap();
    let runtime = &instructions[runtime_stage..];
    assert!(runtime[0].contains("distroless"), "{}", runtime[0]);
    assert!(runtime.contains(&format!("ENV GRAVITEE_HOME={GRAVITEE_HOME}").as_str()));
    let user = runtime
        .iter()
        .find(|l| l.starts_with("USER "))
        .expect("a USER instruction");
    assert!(
        !user.contains("root:") || user.contains("nonroot"),
        "{user}"
    );
    assert!(!user.ends_with(" root") && !user.contains(" 0"), "{user}");
    let healthcheck_at = runtime
        .iter()
        .position(|l| l.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK");
    let healthcheck = format!(
        "{} {}",
        runtime[healthcheck_at],
        runtime.get(healthcheck_at + 1).unwrap_or(&"")
    );
    assert!(healthcheck.contains("\"--healthcheck\""), "{healthcheck}");
    let entrypoint = runtime
        .iter()
        .find(|l| l.starts_with("ENTRYPOINT"))
        .unwrap();
    assert!(
        entrypoint.contains(&format!(
            "{GRAVITEE_HOME}/bin/federation-agent-aws-api-gateway"
        )),
        "{entrypoint}"
    );

    // The flag the HEALTHCHECK passes is one the binary takes.
    let cli = Cli::try_parse_from(["agent", "--healthcheck"]).unwrap();
    assert_eq!(cli.agent.healthcheck.as_deref(), Some(""));
    let cli = Cli::try_parse_from(["agent", "--healthcheck=http-server"]).unwrap();
    assert_eq!(cli.agent.healthcheck.as_deref(), Some("http-server"));
    assert!(
        Cli::try_parse_from(["agent"])
            .unwrap()
            .agent
            .healthcheck
            .is_none()
    );
}

/// A Gravitee Cloud token (a JWT with `org`, `envs`, `cpg: eu`, expiring in 2100; the agent
/// does not verify signatures, as Gravitee's public clients do not).
const CLOUD_TOKEN: &str = "eyJraWQiOiJzYWFzIiwiYWxnIjoiUlM1MTIifQ.eyJzdWIiOiJmZWQtYWdlbnQtZGVwbG95Iiwib3JnIjoib3JnLWRlcGxveSIsImVudnMiOlsiZW52LWRlcGxveSJdLCJjcGciOiJldSIsImF1ZCI6IkNsb3VkR2F0ZSIsInNjb3BlcyI6WyJpbnRlZ3JhdGlvbiJdLCJpYXQiOjE3NjQwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMH0.c2lnbmF0dXJl";

/// The compose environment with the seed's commented `gravitee_cloud_token` line enabled.
fn compose_env_with_cloud_token(vars: &HashMap<String, String>) -> Vec<(String, String)> {
    let service = read("docker-compose.yml");
    let commented = service
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("# - gravitee_cloud_token="))
        .expect("the seed's commented cloud token line");
    compose_environment_lines()
        .into_iter()
        .chain([commented.trim_start_matches("# - ").to_owned()])
        .map(|line| {
            let text = interpolate(&line, vars);
            let (n, v) = text.split_once('=').unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_compose_file_works_with_a_cloud_token() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry();
    let mut vars = dotenv(&read(".env.example"));
    vars.insert("GRAVITEE_CLOUD_TOKEN".into(), CLOUD_TOKEN.into());

    // With the APIM variables filled in, they win: the token is checked, not used.
    let loaded = loader(dir.path(), &registry)
        .env_vars(compose_env_with_cloud_token(&vars))
        .load()
        .await
        .unwrap();
    let ws = &loaded.config.integration.connector.ws;
    assert_eq!(ws.endpoints_cleaned(), [vars["WS_ENDPOINTS"].clone()]);
    assert_eq!(
        ws.headers[0].value.expose(),
        format!("bearer {}", vars["WS_AUTH_TOKEN"])
    );
    assert!(loaded.cloud.is_some());
    agent_accepts(&loaded.config, &registry).await;

    // Next-Gen Cloud with only the token: WS_ENDPOINTS and WS_AUTH_TOKEN left empty.
    vars.insert("WS_ENDPOINTS".into(), String::new());
    vars.insert("WS_AUTH_TOKEN".into(), String::new());
    let loaded = loader(dir.path(), &registry)
        .env_vars(compose_env_with_cloud_token(&vars))
        .load()
        .await
        .unwrap();
    let ws = &loaded.config.integration.connector.ws;
    assert_eq!(
        ws.endpoints_cleaned(),
        ["https://eu.cloudgate.gravitee.io/apim/integration"]
    );
    assert_eq!(ws.headers.len(), 1);
    assert_eq!(
        ws.headers[0].value.expose(),
        format!("Bearer {CLOUD_TOKEN}")
    );
    agent_accepts(&loaded.config, &registry).await;
}

/// Writes a values file's `config.graviteeYml`, changed by `edit`, to `dir/gravitee.yml`.
fn edited_gravitee_yml(
    values: &str,
    dir: &Path,
    edit: impl FnOnce(&mut Value),
) -> (Value, PathBuf) {
    let (mut doc, path) = gravitee_yml_from_helm(values, dir);
    edit(&mut doc["config"]["graviteeYml"]);
    std::fs::write(
        &path,
        serde_yaml_ng::to_string(&doc["config"]["graviteeYml"]).unwrap(),
    )
    .unwrap();
    (doc, path)
}

/// A service account and a Kubernetes stand-in serving `aws-truststore` with `password`.
async fn truststore_secret(dir: &Path, password: &str) -> KubernetesAccess {
    const SA_TOKEN: &str = "sa-token-cloud-jks";
    let api = kubernetes_stand_in(
        SA_TOKEN,
        "gravitee-apim",
        "aws-truststore",
        BTreeMap::from([("password".to_owned(), password.to_owned())]),
    )
    .await;
    let sa = dir.join("serviceaccount");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::write(sa.join("token"), SA_TOKEN).unwrap();
    std::fs::write(sa.join("namespace"), "gravitee-apim").unwrap();
    KubernetesAccess::service_account_dir(&sa, Some(api))
}

#[tokio::test]
async fn both_helm_values_files_work_with_a_cloud_token() {
    for values in ["helm/values.yaml", "helm/values-custom-truststore.yaml"] {
        let dir = tempfile::tempdir().unwrap();
        // The seed's `cloud:` section, filled in.
        let (_, gravitee_yml) = edited_gravitee_yml(values, dir.path(), |block| {
            block["cloud"] = serde_yaml_ng::from_str(&format!("token: {CLOUD_TOKEN}")).unwrap();
        });
        let store = dir.path().join("my_truststore.p12");
        std::fs::write(&store, pkcs12_truststore("p12-cloud-pass")).unwrap();
        let registry = registry();
        let loaded = loader(dir.path(), &registry)
            .env_vars([(
                "gravitee_integration_connector_ws_ssl_truststore_path",
                store.display().to_string(),
            )])
            .config_file(Some(gravitee_yml.clone()))
            .kubernetes(truststore_secret(dir.path(), "p12-cloud-pass").await)
            .load()
            .await
            .unwrap();
        assert!(
            loaded.warnings.is_empty(),
            "{values}: {:?}",
            loaded.warnings
        );
        let cloud = loaded.cloud.as_ref().unwrap();
        assert_eq!(cloud.token.organization, "org-deploy", "{values}");
        // The values' endpoint and header are configured: they win.
        assert_eq!(
            loaded.config.integration.connector.ws.endpoints_cleaned(),
            ["https://apim.example.com/integration-controller"],
            "{values}"
        );
        agent_accepts(&loaded.config, &registry).await;
        let debug = format!("{loaded:?}");
        assert!(
            !debug.contains(CLOUD_TOKEN),
            "{values}: Debug shows the token"
        );
    }
}

#[tokio::test]
async fn the_custom_truststore_helm_values_open_a_jks_store_made_by_keytool() {
    // The fixture made by keytool (crates/connector/tests/fixtures/jks/make.sh), password
    // `changeit`, mounted where the values say, with `type: JKS` as the seed allows.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../connector/tests/fixtures/jks/truststore.jks");
    let dir = tempfile::tempdir().unwrap();
    let mounted = dir.path().join("my_truststore.jks");
    std::fs::copy(&fixture, &mounted).unwrap();
    let (doc, gravitee_yml) =
        edited_gravitee_yml("helm/values-custom-truststore.yaml", dir.path(), |block| {
            let truststore = &mut block["integration"]["connector"]["ws"]["ssl"]["truststore"];
            truststore["type"] = Value::from("JKS");
            truststore["path"] = Value::from(mounted.display().to_string());
        });
    check_kubernetes_layout(&doc);
    let registry = registry();
    for (password, opens) in [("changeit", true), ("not-changeit", false)] {
        let loaded = loader(dir.path(), &registry)
            .env_vars(Vec::<(String, String)>::new())
            .config_file(Some(gravitee_yml.clone()))
            .kubernetes(truststore_secret(dir.path(), password).await)
            .load()
            .await
            .unwrap();
        let truststore = &loaded.config.integration.connector.ws.ssl.truststore;
        assert_eq!(truststore.store_type.as_deref(), Some("JKS"));
        assert_eq!(truststore.password.as_ref().unwrap().expose(), password);
        if opens {
            agent_accepts(&loaded.config, &registry).await;
        } else {
            let error = Connector::new(
                &loaded.config.integration.connector,
                &loaded.config.system.proxy,
            )
            .unwrap_err()
            .to_string();
            assert!(
                error.starts_with("integration.connector.ws.ssl.truststore.password:"),
                "{error}"
            );
            assert!(!error.contains(password), "{error}");
        }
    }
}
