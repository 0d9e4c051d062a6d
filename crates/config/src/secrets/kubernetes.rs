//! Reads Kubernetes secrets with the pod's service account: `GET
//! /api/v1/namespaces/{ns}/secrets/{name}` on the in-cluster API server, with the mounted
//! token as bearer and the mounted CA as the only trust anchor.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use federation_core::Secret;
use federation_core::error::chain;
use serde::Deserialize;

/// Where the Kubernetes API and the service account's files are. The default is the in-cluster
/// setup; tests point it at a loopback stand-in over plain `http`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesAccess {
    /// The API server's base URL (`https://10.0.0.1:443`). `None`: built from
    /// `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`.
    pub api_server: Option<String>,
    /// The service account token (default
    /// `/var/run/secrets/kubernetes.io/serviceaccount/token`).
    pub token_file: PathBuf,
    /// The cluster CA, PEM (default `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`);
    /// used for `https` API servers only.
    pub ca_file: PathBuf,
    /// The pod's namespace (default
    /// `/var/run/secrets/kubernetes.io/serviceaccount/namespace`), the namespace of references
    /// without `?namespace=` when `secrets.kubernetes.namespace` is not set.
    pub namespace_file: PathBuf,
}

const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

impl Default for KubernetesAccess {
    fn default() -> Self {
        Self::in_cluster()
    }
}

impl KubernetesAccess {
    /// The standard in-cluster locations.
    pub fn in_cluster() -> Self {
        Self::service_account_dir(SERVICE_ACCOUNT_DIR, None)
    }

    /// `token`, `ca.crt` and `namespace` in `dir`, and the given API server (or the in-cluster
    /// one when `None`).
    pub fn service_account_dir(dir: impl Into<PathBuf>, api_server: Option<String>) -> Self {
        let dir = dir.into();
        Self {
            api_server,
            token_file: dir.join("token"),
            ca_file: dir.join("ca.crt"),
            namespace_file: dir.join("namespace"),
        }
    }
}

/// A connected client with a cache of the secrets already read.
pub(crate) struct KubernetesClient {
    base: String,
    token: Secret,
    http: reqwest::Client,
    namespace_file: PathBuf,
    cache: HashMap<(String, String), BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct SecretObject {
    #[serde(default)]
    data: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Status {
    message: Option<String>,
}

impl KubernetesClient {
    /// Prepares a client: finds the API server, reads the token and, for `https`, the CA.
    pub(crate) fn connect(
        access: &KubernetesAccess,
        env: &HashMap<String, String>,
    ) -> Result<Self, String> {
        let base = match &access.api_server {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = env
                    .get("KUBERNETES_SERVICE_HOST")
                    .filter(|h| !h.trim().is_empty())
                    .ok_or_else(|| {
                        "the agent is not running in Kubernetes (KUBERNETES_SERVICE_HOST is not \
                         set)"
                            .to_owned()
                    })?;
                let port = env
                    .get("KUBERNETES_SERVICE_PORT")
                    .map(|p| p.trim())
                    .filter(|p| !p.is_empty())
                    .unwrap_or("443");
                if host.contains(':') && !host.starts_with('[') {
                    format!("https://[{host}]:{port}")
                } else {
                    format!("https://{host}:{port}")
                }
            }
        };
        let token = std::fs::read_to_string(&access.token_file).map_err(|e| {
            format!(
                "cannot read the service account token {}: {e}",
                access.token_file.display()
            )
        })?;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .http1_only();
        if base.starts_with("https://") {
            let pem = std::fs::read(&access.ca_file).map_err(|e| {
                format!(
                    "cannot read the cluster CA {}: {e}",
                    access.ca_file.display()
                )
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!(
                    "the cluster CA {} is not PEM: {e}",
                    access.ca_file.display()
                )
            })?;
            builder = builder.tls_certs_only(certificates);
        } else if !base.starts_with("http://") {
            return Err(format!(
                "the Kubernetes API server `{base}` is not an http(s) URL"
            ));
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot set up the Kubernetes API client: {}", chain(&e)))?;
        Ok(Self {
            base,
            token: Secret::new(token.trim()),
            http,
            namespace_file: access.namespace_file.clone(),
            cache: HashMap::new(),
        })
    }

    /// The pod's own namespace.
    pub(crate) fn pod_namespace(&self) -> Result<String, String> {
        std::fs::read_to_string(&self.namespace_file)
            .map(|ns| ns.trim().to_owned())
            .ok()
            .filter(|ns| !ns.is_empty())
            .ok_or_else(|| {
                format!(
                    "no namespace: add ?namespace=<ns> to the reference, or set \
                     secrets.kubernetes.namespace (the pod's namespace file {} cannot be read)",
                    self.namespace_file.display()
                )
            })
    }

    /// The value of `key` in secret `namespace/name`.
    pub(crate) async fn value(
        &mut self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Result<String, String> {
        for (what, part) in [("namespace", namespace), ("secret name", name)] {
            if !is_dns_name(part) {
                return Err(format!(
                    "`{part}` is not a valid Kubernetes {what} (lower-case letters, digits, `-` \
                     and `.`)"
                ));
            }
        }
        let cache_key = (namespace.to_owned(), name.to_owned());
        if !self.cache.contains_key(&cache_key) {
            let data = self.fetch(namespace, name).await?;
            self.cache.insert(cache_key.clone(), data);
        }
        let data = self
            .cache
            .get(&cache_key)
            .ok_or_else(|| "internal error: secret not cached".to_owned())?;
        let encoded = data.get(key).ok_or_else(|| {
            format!(
                "secret {namespace}/{name} has no key `{key}` (its keys: {})",
                if data.is_empty() {
                    "none".to_owned()
                } else {
                    data.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| format!("key `{key}` of secret {namespace}/{name} is not base64"))?;
        String::from_utf8(bytes)
            .map_err(|_| format!("key `{key}` of secret {namespace}/{name} is not UTF-8 text"))
    }

    async fn fetch(&self, namespace: &str, name: &str) -> Result<BTreeMap<String, String>, String> {
        let url = format!("{}/api/v1/namespaces/{namespace}/secrets/{name}", self.base);
        tracing::debug!(namespace, secret = name, "reading Kubernetes secret");
        let response = self
            .http
            .get(&url)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("the Kubernetes API at {} failed: {}", self.base, chain(&e)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            format!(
                "the Kubernetes API at {} failed while answering: {}",
                self.base,
                chain(&e)
            )
        })?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<Status>(&body)
                .ok()
                .and_then(|s| s.message)
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            let hint = match status.as_u16() {
                401 => " (the service account token was refused)",
                403 => " (the service account needs `get` on `secrets` in this namespace)",
                404 => " (no such secret)",
                _ => "",
            };
            return Err(format!(
                "the Kubernetes API answered {status} for secret {namespace}/{name}{hint}{detail}"
            ));
        }
        serde_json::from_slice::<SecretObject>(&body)
            .map(|s| s.data)
            .map_err(|_| {
                format!("the Kubernetes API's answer for secret {namespace}/{name} is not a Secret")
            })
    }
}

fn is_dns_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}
