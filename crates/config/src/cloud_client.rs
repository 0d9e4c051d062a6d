//! `cloud.client.proxy.*` and `cloud.client.ssl.*`: Gravitee's settings for every connection
//! to Cloud Gate (a corporate proxy, a private CA), applied by [`crate::cloud::apply`] to the
//! Cloud Gate endpoint it derives from `cloud.token`. Gravitee documents them as applying to
//! the federation agents' `/apim/integration` connection unless `integration.connector.ws.*`
//! overrides them (`docs/reference/cloud-token.md`): here key by key, a store as a whole, and
//! Gravitee's `hostnameVerifier` is the connector's `verifyHost`.

use federation_core::settings::Origins;

use crate::error::ConfigError;
use crate::model::AgentConfig;
use crate::validate::{KEYSTORE_TYPES, TRUSTSTORE_TYPES, check_store};

/// Applies `cloud.client.proxy.*` and `cloud.client.ssl.*` to the connector's settings, each
/// key unless its `integration.connector.ws.*` counterpart is set; a store goes as a whole.
/// Returns the `cloud.client.*` keys applied. Their values are checked here, so an error names
/// the key the user set.
pub(crate) fn apply(
    config: &mut AgentConfig,
    origins: &Origins,
) -> Result<Vec<String>, ConfigError> {
    let is_set = |key: &str| origins.of(key).is_some();
    let any_under = |prefix: &str| origins.keys().any(|k| k.starts_with(prefix));
    let mut applied = Vec::new();
    // `cloud.client.<sub>` set and `integration.connector.ws.<sub>` not set.
    let mut takes = |sub: &str| {
        let cloud = format!("cloud.client.{sub}");
        let wins = is_set(&cloud) && !is_set(&format!("integration.connector.ws.{sub}"));
        if wins {
            applied.push(cloud);
        }
        wins
    };
    let client = config.cloud.client.clone();
    let ws = &mut config.integration.connector.ws;

    let (cloud, proxy) = (&client.proxy, &mut ws.proxy);
    if takes("proxy.enabled") {
        proxy.enabled = cloud.enabled;
    }
    if takes("proxy.type") {
        proxy.proxy_type.clone_from(&cloud.proxy_type);
    }
    if takes("proxy.host") {
        proxy.host.clone_from(&cloud.host);
    }
    if takes("proxy.port") {
        proxy.port = cloud.port;
    }
    if takes("proxy.username") {
        proxy.username.clone_from(&cloud.username);
    }
    if takes("proxy.password") {
        proxy.password.clone_from(&cloud.password);
    }
    if takes("proxy.useSystemProxy") {
        proxy.use_system_proxy = cloud.use_system_proxy;
    }

    let (cloud, ssl) = (&client.ssl, &mut ws.ssl);
    if takes("ssl.trustAll") {
        ssl.trust_all = cloud.trust_all;
    }
    // Gravitee's `hostnameVerifier` is the connector's `verifyHost`.
    if !is_set("integration.connector.ws.ssl.verifyHost") {
        for (key, value) in [
            ("cloud.client.ssl.hostnameVerifier", cloud.hostname_verifier),
            ("cloud.client.ssl.verifyHost", cloud.verify_host),
        ] {
            if let Some(value) = value.filter(|_| is_set(key)) {
                ssl.verify_host = value;
                applied.push(key.to_owned());
                break;
            }
        }
    }
    for (store, ws_store, cloud_store, allowed) in [
        (
            "keystore",
            &mut ssl.keystore,
            &cloud.keystore,
            &KEYSTORE_TYPES[..],
        ),
        (
            "truststore",
            &mut ssl.truststore,
            &cloud.truststore,
            &TRUSTSTORE_TYPES[..],
        ),
    ] {
        let cloud_prefix = format!("cloud.client.ssl.{store}.");
        if any_under(&cloud_prefix) && !any_under(&format!("integration.connector.ws.ssl.{store}."))
        {
            check_store(
                cloud_store,
                &format!("{cloud_prefix}type"),
                allowed,
                &|key, problem| ConfigError::setting(origins, &key, problem),
            )?;
            ws_store.clone_from(cloud_store);
            applied.push(format!("{cloud_prefix}*"));
        }
    }

    // What the connector would refuse, named by the key the user set.
    let proxy = &ws.proxy;
    if applied.iter().any(|k| k == "cloud.client.proxy.type")
        && !proxy.proxy_type.eq_ignore_ascii_case("HTTP")
    {
        return Err(ConfigError::setting(
            origins,
            "cloud.client.proxy.type",
            format!(
                "is `{}`, which this agent does not support: only HTTP (CONNECT) proxies are",
                proxy.proxy_type
            ),
        ));
    }
    if applied.iter().any(|k| k == "cloud.client.proxy.enabled")
        && proxy.enabled
        && !proxy.use_system_proxy
        && proxy.host.as_deref().is_none_or(|h| h.trim().is_empty())
    {
        return Err(ConfigError::setting(
            origins,
            "cloud.client.proxy.host",
            "is missing: cloud.client.proxy.enabled is true".to_owned(),
        ));
    }
    Ok(applied)
}
