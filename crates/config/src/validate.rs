//! Checks on the typed configuration that serde cannot express: every provider has a type and an
//! integration id (and a type this agent knows), there is a controller URL and each one is an
//! http(s)/ws(s) URL, store types are ones the connector accepts.

use federation_core::SettingsError;
use federation_core::settings::Origins;

use crate::error::ConfigError;
use crate::model::{AgentConfig, StoreConfig};

const ENDPOINT_SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];
const KEYSTORE_TYPES: [&str; 3] = ["PKCS12", "JKS", "NONE"];
const TRUSTSTORE_TYPES: [&str; 4] = ["PEM", "PKCS12", "JKS", "NONE"];

/// The first problem found, as an error naming the key and its source.
pub(crate) fn validate(
    config: &AgentConfig,
    origins: &Origins,
    known_provider_types: &[String],
) -> Result<(), ConfigError> {
    let error = |key: String, problem: String| {
        let origin = origins.of(&key).map(str::to_owned);
        ConfigError::Setting(SettingsError::new(key, problem, origin))
    };

    let providers = &config.integration.providers;
    if providers.is_empty() {
        return Err(error(
            "integration.providers".to_owned(),
            "is empty: configure at least one provider with integration.providers[0].type and \
             integration.providers[0].integrationId (env gravitee_integration_providers_0_type, \
             gravitee_integration_providers_0_integrationId)"
                .to_owned(),
        ));
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

    let ws = &config.integration.connector.ws;
    if ws.endpoints_cleaned().is_empty() {
        return Err(error(
            "integration.connector.ws.endpoints".to_owned(),
            "is missing: set integration.connector.ws.endpoints[0] (env \
             gravitee_integration_connector_ws_endpoints_0) to the controller's URL, for example \
             https://<apim-management-api>/integration-controller, or set cloud.token (Gravitee \
             Next-Gen Cloud)"
                .to_owned(),
        ));
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

fn check_store(
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
