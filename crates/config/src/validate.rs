//! Checks on the typed configuration that serde cannot express: every provider has a type and an
//! integration id (and a type this agent knows), there is a controller URL and each one is an
//! http(s)/ws(s) URL, store types are ones the connector accepts. The controller checks are
//! left out for the commands that never contact it (`ConfigLoader::without_controller`).

use federation_core::settings::Origins;

use crate::error::ConfigError;
use crate::looked_for::LookedFor;
use crate::model::{AgentConfig, StoreConfig};

const ENDPOINT_SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];
pub(crate) const KEYSTORE_TYPES: [&str; 3] = ["PKCS12", "JKS", "NONE"];
pub(crate) const TRUSTSTORE_TYPES: [&str; 4] = ["PEM", "PKCS12", "JKS", "NONE"];

/// The first problem found, as an error naming the key and its source (for a key nobody set:
/// where it was looked for). `controller`: whether the controller's settings are checked too.
pub(crate) fn validate(
    config: &AgentConfig,
    origins: &Origins,
    known_provider_types: &[String],
    looked_for: &LookedFor,
    controller: bool,
) -> Result<(), ConfigError> {
    let error = |key: String, problem: String| ConfigError::setting(origins, &key, problem);

    let providers = &config.integration.providers;
    if providers.is_empty() {
        return Err(ConfigError::Setting(looked_for.missing(
            "integration.providers",
            "integration.providers[0].type",
            "is empty: configure at least one provider with integration.providers[0].type and \
             integration.providers[0].integrationId",
        )));
    }
    for (index, provider) in providers.iter().enumerate() {
        let prefix = format!("integration.providers[{index}]");
        if provider.provider_type.trim().is_empty() {
            return Err(error(format!("{prefix}.type"), "is blank".to_owned()));
        }
        if provider.integration_id.trim().is_empty() {
            return Err(error(
                format!("{prefix}.integrationId"),
                "is blank".to_owned(),
            ));
        }
        let provider_type = provider.provider_type.trim();
        if !known_provider_types.is_empty()
            && !known_provider_types.iter().any(|t| t == provider_type)
        {
            return Err(error(
                format!("{prefix}.type"),
                format!(
                    "is `{provider_type}`, which is not a provider type of this agent (known: {})",
                    known_provider_types.join(", ")
                ),
            ));
        }
    }

    if !controller {
        return Ok(());
    }
    let ws = &config.integration.connector.ws;
    if ws.endpoints_cleaned().is_empty() {
        const WHAT: &str = "set integration.connector.ws.endpoints[0] to the controller's URL, \
                            for example https://<apim-management-api>/integration-controller, or \
                            set cloud.token (Gravitee Next-Gen Cloud)";
        if !ws.endpoints.is_empty() {
            // Set, but only to blank text (an empty variable).
            return Err(error(
                "integration.connector.ws.endpoints[0]".to_owned(),
                format!("is blank: {WHAT}"),
            ));
        }
        return Err(ConfigError::Setting(looked_for.missing(
            "integration.connector.ws.endpoints",
            "integration.connector.ws.endpoints[0]",
            &format!("is missing: {WHAT}"),
        )));
    }
    for (index, endpoint) in ws.endpoints.iter().enumerate() {
        let endpoint = endpoint.trim();
        if endpoint.is_empty() {
            continue;
        }
        let key = format!("integration.connector.ws.endpoints[{index}]");
        let url = url::Url::parse(endpoint)
            .map_err(|e| error(key.clone(), format!("is not a URL ({e})")))?;
        if !ENDPOINT_SCHEMES.contains(&url.scheme()) {
            return Err(error(
                key,
                format!(
                    "has the scheme `{}`; expected http, https, ws or wss",
                    url.scheme()
                ),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(error(key, "has no host".to_owned()));
        }
    }

    check_store(
        &ws.ssl.keystore,
        "integration.connector.ws.ssl.keystore.type",
        &KEYSTORE_TYPES,
        &error,
    )?;
    check_store(
        &ws.ssl.truststore,
        "integration.connector.ws.ssl.truststore.type",
        &TRUSTSTORE_TYPES,
        &error,
    )?;
    Ok(())
}

pub(crate) fn check_store(
    store: &StoreConfig,
    key: &str,
    allowed: &[&str],
    error: &impl Fn(String, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let Some(store_type) = store.store_type.as_deref().map(str::trim) else {
        return Ok(());
    };
    if allowed.iter().any(|t| t.eq_ignore_ascii_case(store_type)) {
        return Ok(());
    }
    Err(error(
        key.to_owned(),
        format!(
            "is `{store_type}`, which is not a store type (expected {})",
            allowed.join(", ")
        ),
    ))
}
