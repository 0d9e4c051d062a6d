//! Helpers shared by the integration tests: fixtures, a sandboxed loader that never reads the
//! real process environment or the real service account, and a loopback stand-in for the
//! Kubernetes API.

#![allow(dead_code, clippy::unwrap_used)] // Test helpers: a failing unwrap is a failing test.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use federation_config::{ConfigLoader, KubernetesAccess};

/// The AWS provider's configuration keys (what `ProviderRegistry::config_keys()` returns).
pub(crate) const AWS_KEYS: [&str; 5] = [
    "accessKeyId",
    "acceptApiWithoutUsagePlan",
    "region",
    "roleArn",
    "secretAccessKey",
];

/// A Gravitee Cloud token for the tests (a JWT with the claims the agent needs, `cpg` `eu`,
/// expiring in 2100; the signature is not a real one, and the agent does not check it). Also in
/// `fixtures/helm-values-custom-cert.yaml`.
pub(crate) const CLOUD_TOKEN: &str = "eyJraWQiOiJzYWFzIiwiYWxnIjoiUlM1MTIifQ.eyJzdWIiOiJmZWQtYWdlbnQtdGVzdCIsIm9yZyI6Im9yZy01ZDFlOWEiLCJlbnZzIjpbImVudi01ZDFlOWEiXSwiY3BnIjoiZXUiLCJhdWQiOiJDbG91ZEdhdGUiLCJzY29wZXMiOlsiaW50ZWdyYXRpb24iXSwiaWF0IjoxNzY0MDAwMDAwLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlLTVkMWU5YQ";

/// Secret values used by the fixtures: none may appear in errors or `Debug` output.
pub(crate) const SECRET_VALUES: [&str; 5] = [
    "tok-3f9a1c2e7b5d4e8f",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "adminadmin",
    CLOUD_TOKEN,
    "p12-pass-7781",
];

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// A `.env` file: `NAME=value` lines, `#` comments.
pub(crate) fn dotenv(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Docker Compose's interpolation of `${VAR}` and `${VAR:-default}`.
pub(crate) fn interpolate(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let expr = &rest[start + 2..end];
        let value = match expr.split_once(":-") {
            Some((name, default)) => vars
                .get(name)
                .filter(|v| !v.is_empty())
                .cloned()
                .unwrap_or_else(|| default.to_owned()),
            None => vars.get(expr).cloned().unwrap_or_default(),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `environment:` of the compose file's one service, interpolated with the `.env` file.
pub(crate) fn compose_environment(compose: &Path, env_file: &Path) -> Vec<(String, String)> {
    let vars = dotenv(env_file);
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(compose).unwrap()).unwrap();
    let services = doc["services"].as_mapping().unwrap();
    let service = services.values().next().unwrap();
    service["environment"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|item| {
            let line = interpolate(item.as_str().unwrap(), &vars);
            let (k, v) = line.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Writes the `config.graviteeYml` block of a Helm values file to `dir/gravitee.yml`, as the
/// chart's ConfigMap does.
pub(crate) fn gravitee_yml_from_helm(values: &Path, dir: &Path) -> PathBuf {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(values).unwrap()).unwrap();
    let block = &doc["config"]["graviteeYml"];
    assert!(
        block.is_mapping(),
        "no config.graviteeYml in {}",
        values.display()
    );
    let path = dir.join("gravitee.yml");
    std::fs::write(&path, serde_yaml_ng::to_string(block).unwrap()).unwrap();
    path
}

/// A temporary directory and loaders confined to it.
pub(crate) struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` in the sandbox.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A loader that reads only `env`, looks for `./config/gravitee.yml` in the sandbox, and
    /// whose Kubernetes service account lives in `<sandbox>/serviceaccount`.
    pub(crate) fn loader<K: Into<String>, V: Into<String>>(
        &self,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> ConfigLoader {
        ConfigLoader::new()
            .env_vars(env)
            .current_dir(self.path())
            .provider_keys(AWS_KEYS)
            .kubernetes(KubernetesAccess::service_account_dir(
                self.path().join("serviceaccount"),
                Some("http://127.0.0.1:9".to_owned()),
            ))
    }
}

/// The minimum environment for a loadable configuration.
pub(crate) fn minimal_env() -> Vec<(String, String)> {
    [
        (
            "gravitee_integration_connector_ws_endpoints_0",
            "https://apim.example.com/integration-controller",
        ),
        ("gravitee_integration_providers_0_type", "aws-api-gateway"),
        ("gravitee_integration_providers_0_integrationId", "int-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Adds or replaces variables.
pub(crate) fn with(
    mut env: Vec<(String, String)>,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

/// A secret of the stand-in: ((namespace, name), [(key, plain value)]).
pub(crate) type StandInSecret<'a> = ((&'a str, &'a str), &'a [(&'a str, &'a str)]);

/// A loopback stand-in for the Kubernetes API's `GET /api/v1/namespaces/{ns}/secrets/{name}`:
/// checks the bearer token, answers 401/404 `Status` objects like the real server, and records
/// every request path.
pub(crate) struct KubeStandIn {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct KubeState {
    token: String,
    secrets: Arc<BTreeMap<(String, String), BTreeMap<String, String>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl KubeStandIn {
    /// Serves `secrets` ((namespace, name) → key → plain value, base64-encoded on the wire) to
    /// callers presenting `token`.
    pub(crate) async fn start(token: &str, secrets: &[StandInSecret<'_>]) -> Self {
        use axum::Router;
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{HeaderMap, StatusCode};
        use axum::routing::get;
        use base64::Engine as _;

        let secrets: BTreeMap<(String, String), BTreeMap<String, String>> = secrets
            .iter()
            .map(|((ns, name), data)| {
                (
                    ((*ns).to_owned(), (*name).to_owned()),
                    data.iter()
                        .map(|(k, v)| {
                            (
                                (*k).to_owned(),
                                base64::engine::general_purpose::STANDARD.encode(v),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = KubeState {
            token: token.to_owned(),
            secrets: Arc::new(secrets),
            requests: requests.clone(),
        };

        async fn secret(
            State(state): State<KubeState>,
            UrlPath((ns, name)): UrlPath<(String, String)>,
            headers: HeaderMap,
        ) -> (StatusCode, axum::Json<serde_json::Value>) {
            state
                .requests
                .lock()
                .unwrap()
                .push(format!("/api/v1/namespaces/{ns}/secrets/{name}"));
            let authorised = headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some(format!("Bearer {}", state.token).as_str());
            if !authorised {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(serde_json::json!({
                        "kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401
                    })),
                );
            }
            match state.secrets.get(&(ns.clone(), name.clone())) {
                Some(data) => (
                    StatusCode::OK,
                    axum::Json(serde_json::json!({
                        "kind": "Secret", "apiVersion": "v1",
                        "metadata": {"name": name, "namespace": ns},
                        "type": "Opaque",
                        "data": data,
                    })),
                ),
                None => (
                    StatusCode::NOT_FOUND,
                    axum::Json(serde_json::json!({
                        "kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "message": format!("secrets \"{name}\" not found"),
                        "reason": "NotFound", "code": 404
                    })),
                ),
            }
        }

        let app = Router::new()
            .route("/api/v1/namespaces/{ns}/secrets/{name}", get(secret))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, requests }
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Kubernetes access to `stand_in` with a service account directory holding `token` and
/// `namespace`, created in `dir`.
pub(crate) fn kube_access(
    dir: &Path,
    stand_in: &KubeStandIn,
    token: &str,
    namespace: &str,
) -> KubernetesAccess {
    let sa = dir.join("serviceaccount");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::write(sa.join("token"), format!("{token}\n")).unwrap();
    std::fs::write(sa.join("namespace"), namespace).unwrap();
    KubernetesAccess::service_account_dir(sa, Some(stand_in.url.clone()))
}
