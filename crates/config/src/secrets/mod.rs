//! `secret://` references in configuration values, resolved once at start-up.
//!
//! After the sources are merged and before the typed configuration is read, every string value
//! of the form `secret://<provider>/<path>[:<key>][?…]` ([`SecretUrl`]) is replaced by the
//! secret it names:
//!
//! | provider | reference | value |
//! |---|---|---|
//! | `kubernetes` | `secret://kubernetes/<secret>:<key>[?namespace=<ns>]` | `data[key]` of the Secret, base64-decoded, read with the pod's service account ([`KubernetesAccess`]) |
//! | `env` | `secret://env/<VAR>` | the environment variable `VAR` |
//! | `file` | `secret://file/<path>` | the content of the file `/<path>` (UTF-8, at most 1 MiB), trailing newlines removed (Docker secrets: `secret://file/run/secrets/<name>`) |
//!
//! As in Gravitee, a reference is resolved only when its provider is enabled
//! (`secrets.<provider>.enabled`, default `true` here) and, for `kubernetes`, only when it has
//! a `:key`; otherwise the text is used as it is and a warning says so. The namespace of a
//! Kubernetes reference is its `?namespace=`, else `secrets.kubernetes.namespace`, else the
//! pod's own. `watch=true` is accepted but the value is read once (no hot reload yet).
//! Resolved values are never logged; errors name the key, the reference and the source.

mod kubernetes;
mod url;

use std::collections::HashMap;

use federation_core::SettingsError;
use federation_core::settings::{Origins, render_key};
use figment::value::{Dict, Value};

pub use self::kubernetes::KubernetesAccess;
use self::kubernetes::KubernetesClient;
pub use self::url::{SecretUrl, SecretUrlError};
use crate::error::ConfigError;
use crate::model::SecretsConfig;
use crate::properties::{for_each_leaf, get_mut};

/// Resolves the references of one configuration tree.
pub(crate) struct Resolver<'a> {
    env: &'a HashMap<String, String>,
    access: &'a KubernetesAccess,
    settings: &'a SecretsConfig,
    kubernetes: Option<KubernetesClient>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(
        env: &'a HashMap<String, String>,
        access: &'a KubernetesAccess,
        settings: &'a SecretsConfig,
    ) -> Self {
        Self {
            env,
            access,
            settings,
            kubernetes: None,
        }
    }

    /// Replaces every resolvable reference in `tree`; returns warnings (keys only).
    pub(crate) async fn resolve_tree(
        &mut self,
        tree: &mut Dict,
        origins: &Origins,
    ) -> Result<Vec<String>, ConfigError> {
        let mut references: Vec<(Vec<String>, String)> = Vec::new();
        for_each_leaf(tree, &mut |path, value| {
            if let Some(text) = value.as_str()
                && SecretUrl::is_reference(text.trim())
            {
                references.push((path.to_vec(), text.trim().to_owned()));
            }
        });
        let mut warnings = Vec::new();
        for (path, text) in references {
            let key = render_key(path.iter().map(String::as_str));
            let origin = origins.of(&key).map(str::to_owned);
            let fail = |reason: String| {
                ConfigError::Secret(SettingsError::new(
                    key.clone(),
                    format!("cannot be resolved from {text}: {reason}"),
                    origin.clone(),
                ))
            };
            let url = SecretUrl::parse(&text).map_err(|e| fail(e.to_string()))?;
            let resolved = match url.provider.as_str() {
                "kubernetes" if !self.settings.kubernetes.enabled => Err(
                    "the kubernetes secret provider is disabled (secrets.kubernetes.enabled=false)",
                ),
                "kubernetes" if url.key.is_none() => {
                    Err("it has no `:key`, so (as in Gravitee) it is not a secret reference")
                }
                "kubernetes" => Ok(self.kubernetes_value(&url).await.map_err(fail)?),
                "env" if !self.settings.env.enabled => {
                    Err("the env secret provider is disabled (secrets.env.enabled=false)")
                }
                "env" => Ok(self.env_value(&url).map_err(fail)?),
                "file" if !self.settings.file.enabled => {
                    Err("the file secret provider is disabled (secrets.file.enabled=false)")
                }
                "file" => Ok(file_value(&url).map_err(fail)?),
                _ => Err("this agent has no such secret provider (kubernetes, env, file)"),
            };
            match resolved {
                Ok(value) => {
                    if url.watch() {
                        tracing::info!(key = %key, "watch=true is not supported yet: the secret is read once");
                    }
                    tracing::debug!(key = %key, provider = %url.provider, "secret reference resolved");
                    if let Some(slot) = get_mut(tree, &path) {
                        *slot = Value::from(value);
                    }
                }
                Err(why) => {
                    let message = format!(
                        "{key}{} holds {text}, used as plain text: {why}",
                        origin
                            .as_deref()
                            .map(|o| format!(" (from {o})"))
                            .unwrap_or_default()
                    );
                    tracing::warn!(key = %key, "{message}");
                    warnings.push(message);
                }
            }
        }
        Ok(warnings)
    }

    async fn kubernetes_value(&mut self, url: &SecretUrl) -> Result<String, String> {
        if url.path.contains('/') {
            return Err(
                "expected secret://kubernetes/<secret>:<key>[?namespace=<namespace>]".to_owned(),
            );
        }
        let client = match &mut self.kubernetes {
            Some(client) => client,
            None => self
                .kubernetes
                .insert(KubernetesClient::connect(self.access, self.env)?),
        };
        let namespace = match url
            .param("namespace")
            .map(str::trim)
            .filter(|ns| !ns.is_empty())
            .or(self
                .settings
                .kubernetes
                .namespace
                .as_deref()
                .map(str::trim)
                .filter(|ns| !ns.is_empty()))
        {
            Some(namespace) => namespace.to_owned(),
            None => client.pod_namespace()?,
        };
        let key = url.key.as_deref().unwrap_or_default();
        client.value(&namespace, &url.path, key).await
    }

    fn env_value(&self, url: &SecretUrl) -> Result<String, String> {
        let name = full_path(url);
        self.env
            .get(&name)
            .cloned()
            .ok_or_else(|| format!("the environment variable {name} is not set"))
    }
}

/// The path with the `:key` put back: `env` and `file` references name one value.
fn full_path(url: &SecretUrl) -> String {
    match &url.key {
        Some(key) => format!("{}:{key}", url.path),
        None => url.path.clone(),
    }
}

/// The most a `secret://file/…` reference reads. A secret file holds one value (a key, a token,
/// a password, a PEM bundle); anything larger is a wrong path (`/dev/zero`, a log, a disk image)
/// that would otherwise be read whole into memory, or never end.
pub const MAX_SECRET_FILE_BYTES: u64 = 1024 * 1024;

fn file_value(url: &SecretUrl) -> Result<String, String> {
    use std::io::Read;
    let path = format!("/{}", full_path(url));
    let file = std::fs::File::open(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "{path} is larger than {} KiB: a secret file holds one value; check the path",
            MAX_SECRET_FILE_BYTES / 1024
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8 text"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}
