//! Every bad input gives a one-line error naming the key (or file) and where the value came
//! from, and never a secret value.

#![allow(clippy::unwrap_used)] // Helpers outside #[test] fns unwrap too: a panic fails the test.

mod common;

use common::*;
use federation_config::{ConfigError, LoadedConfig};

async fn load_env(env: Vec<(String, String)>) -> Result<LoadedConfig, ConfigError> {
    Sandbox::new()
        .loader(env)
        .known_provider_types(["aws-api-gateway", "openapi-files"])
        .load()
        .await
}

fn without(env: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    env.into_iter().filter(|(k, _)| k != name).collect()
}

/// The seed's variables with their secret values, so each test can check none leaks.
fn env_with_secrets() -> Vec<(String, String)> {
    with(
        minimal_env(),
        &[
            (
                "gravitee_integration_connector_ws_headers_0_name",
                "Authorization",
            ),
            (
                "gravitee_integration_connector_ws_headers_0_value",
                "bearer tok-3f9a1c2e7b5d4e8f",
            ),
            (
                "gravitee_integration_providers_0_configuration_secretAccessKey",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            (
                "gravitee_services_core_http_authentication_users_admin",
                "adminadmin",
            ),
            ("gravitee_cloud_token", CLOUD_TOKEN),
        ],
    )
}

fn assert_no_secret(text: &str) {
    for secret in SECRET_VALUES {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

async fn error_of(env: Vec<(String, String)>) -> String {
    let err = load_env(env).await.unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert_no_secret(&text);
    assert_no_secret(&format!("{err:?}"));
    text
}

/// The error of `env` loaded in a sandbox without a `gravitee.yml`, and the file looked for.
async fn error_without_file(env: Vec<(String, String)>) -> (String, String) {
    let sandbox = Sandbox::new();
    let err = sandbox
        .loader(env)
        .known_provider_types(["aws-api-gateway", "openapi-files"])
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert_no_secret(&text);
    assert_eq!(err.origin(), None, "nobody set it: {text}");
    let file = sandbox.path().join("config").join("gravitee.yml");
    (text, file.display().to_string())
}

#[tokio::test]
async fn missing_provider_type() {
    let env = without(env_with_secrets(), "gravitee_integration_providers_0_type");
    let (text, file) = error_without_file(env).await;
    assert_eq!(
        text,
        format!(
            "integration.providers[0].type is missing; looked for in env \
             gravitee_integration_providers_0_type and in {file} (no such file)"
        )
    );
}

#[tokio::test]
async fn missing_integration_id() {
    let env = without(
        minimal_env(),
        "gravitee_integration_providers_0_integrationId",
    );
    let (text, file) = error_without_file(env).await;
    assert_eq!(
        text,
        format!(
            "integration.providers[0].integrationId is missing; looked for in env \
             gravitee_integration_providers_0_integrationId and in {file} (no such file)"
        )
    );
}

#[tokio::test]
async fn a_missing_key_names_the_file_read_and_the_variable_never_another_key() {
    // The endpoint is in neither the file nor the environment; the provider's settings come
    // from variables that have nothing to do with it.
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "config/gravitee.yml",
        "integration:\n  providers:\n    - type: aws-api-gateway\n      integrationId: int-1\n",
    );
    let err = sandbox
        .loader([
            (
                "gravitee_integration_providers_0_configuration_accessKeyId",
                "AKIAEXAMPLE",
            ),
            (
                "gravitee_integration_providers_0_configuration_region",
                "eu-west-1",
            ),
        ])
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        format!(
            "integration.connector.ws.endpoints is missing: set \
             integration.connector.ws.endpoints[0] to the controller's URL, for example \
             https://<apim-management-api>/integration-controller, or set cloud.token (Gravitee \
             Next-Gen Cloud); looked for in env gravitee_integration_connector_ws_endpoints_0 \
             and in {}",
            file.display()
        )
    );
    assert_eq!(err.key(), Some("integration.connector.ws.endpoints"));
    assert_eq!(err.origin(), None);
}

#[tokio::test]
async fn without_the_controller_only_the_providers_are_needed() {
    // What an operator tool (discover, check, drift) gets: the provider's settings alone.
    let env = [
        ("gravitee_integration_providers_0_type", "aws-api-gateway"),
        ("gravitee_integration_providers_0_integrationId", "int-1"),
        (
            "gravitee_integration_providers_0_configuration_accessKeyId",
            "AKIAEXAMPLE",
        ),
        (
            "gravitee_integration_providers_0_configuration_region",
            "eu-west-1",
        ),
        // Only says how to reach the controller: not read.
        ("gravitee_cloud_token", "not even a JWT"),
    ];
    let sandbox = Sandbox::new();
    let loaded = sandbox
        .loader(env)
        .known_provider_types(["aws-api-gateway"])
        .without_controller()
        .load()
        .await
        .unwrap();
    let provider = &loaded.config.integration.providers[0];
    assert_eq!(provider.integration_id, "int-1");
    assert!(loaded.cloud.is_none());
    let text = sandbox.loader(env).load().await.unwrap_err().to_string();
    assert!(
        text.starts_with("cloud.token"),
        "the agent needs them: {text}"
    );

    // The providers are still checked.
    let err = sandbox
        .loader(env[1..4].iter().copied())
        .known_provider_types(["aws-api-gateway"])
        .without_controller()
        .load()
        .await
        .unwrap_err();
    assert_eq!(err.key(), Some("integration.providers[0].type"));

    // A command that needs a key nobody set says where it was looked for.
    let missing = loaded.missing_key(
        "integration.connector.drift.stateFile",
        "is not set: this command reads it",
    );
    assert_eq!(
        missing.to_string(),
        format!(
            "integration.connector.drift.stateFile is not set: this command reads it; looked \
             for in env gravitee_integration_connector_drift_stateFile and in {} (no such file)",
            sandbox.path().join("config").join("gravitee.yml").display()
        )
    );
}

#[tokio::test]
async fn blank_integration_id() {
    let env = with(
        env_with_secrets(),
        &[("gravitee_integration_providers_0_integrationId", "  ")],
    );
    assert_eq!(
        error_of(env).await,
        "integration.providers[0].integrationId is blank (from env \
         gravitee_integration_providers_0_integrationId)"
    );
}

#[tokio::test]
async fn non_numeric_port_from_env_and_from_file() {
    let env = with(
        env_with_secrets(),
        &[("gravitee_services_core_http_port", "80a")],
    );
    let text = error_of(env).await;
    assert!(
        text.starts_with("services.core.http.port is invalid")
            && text.ends_with("(from env gravitee_services_core_http_port)"),
        "{text}"
    );

    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "services:\n  core:\n    http:\n      port: eighty\n",
    );
    let err = sandbox
        .loader(env_with_secrets())
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("services.core.http.port is invalid")
            && text.ends_with(&format!("(from file {})", file.display())),
        "{text}"
    );
    assert_eq!(err.key(), Some("services.core.http.port"));
    assert_no_secret(&text);
}

#[tokio::test]
async fn a_port_out_of_range_is_invalid() {
    let env = with(
        minimal_env(),
        &[("GRAVITEE_SERVICES_CORE_HTTP_PORT", "70000")],
    );
    let text = error_of(env).await;
    assert!(
        text.starts_with("services.core.http.port is invalid")
            && text.contains("(from env GRAVITEE_SERVICES_CORE_HTTP_PORT)"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_provider_type_lists_the_known_ones() {
    let env = with(
        env_with_secrets(),
        &[(
            "gravitee_integration_providers_0_type",
            "azure-api-management",
        )],
    );
    assert_eq!(
        error_of(env).await,
        "integration.providers[0].type is `azure-api-management`, which is not a provider type \
         of this agent (known: aws-api-gateway, openapi-files) (from env \
         gravitee_integration_providers_0_type)"
    );
}

#[tokio::test]
async fn no_provider_at_all() {
    let env = without(
        without(minimal_env(), "gravitee_integration_providers_0_type"),
        "gravitee_integration_providers_0_integrationId",
    );
    let text = error_of(env).await;
    assert!(text.starts_with("integration.providers is empty"), "{text}");
}

#[tokio::test]
async fn no_endpoint_configured() {
    // (With a cloud token the endpoint is derived from it: see tests/cloud.rs.)
    let env = without(
        without(env_with_secrets(), "gravitee_cloud_token"),
        "gravitee_integration_connector_ws_endpoints_0",
    );
    let text = error_of(env).await;
    assert!(
        text.starts_with(
            "integration.connector.ws.endpoints is missing: set \
             integration.connector.ws.endpoints[0]"
        ),
        "{text}"
    );

    // Blank entries do not count.
    let env = with(
        minimal_env(),
        &[("gravitee_integration_connector_ws_endpoints_0", " ")],
    );
    let text = error_of(env).await;
    assert!(
        text.starts_with(
            "integration.connector.ws.endpoints[0] is blank: set \
             integration.connector.ws.endpoints[0] to the controller's URL"
        ) && text.ends_with("(from env gravitee_integration_connector_ws_endpoints_0)"),
        "{text}"
    );
}

#[tokio::test]
async fn endpoints_must_be_http_or_ws_urls() {
    for (value, problem) in [
        (
            "ftp://apim.example.com/integration-controller",
            "has the scheme `ftp`; expected http, https, ws or wss",
        ),
        ("apim.example.com/integration-controller", "is not a URL"),
        ("https://", "is not a URL"),
    ] {
        let env = with(
            minimal_env(),
            &[
                (
                    "gravitee_integration_connector_ws_endpoints_0",
                    "wss://ok.example.com/ic",
                ),
                ("gravitee_integration_connector_ws_endpoints_1", value),
            ],
        );
        let text = error_of(env).await;
        assert!(
            text.starts_with(&format!("integration.connector.ws.endpoints[1] {problem}"))
                && text.ends_with("(from env gravitee_integration_connector_ws_endpoints_1)"),
            "{value}: {text}"
        );
    }
    // All four schemes are accepted.
    for scheme in ["http", "https", "ws", "wss"] {
        let url = format!("{scheme}://apim.example.com:8072/integration-controller");
        let env = with(
            minimal_env(),
            &[(
                "gravitee_integration_connector_ws_endpoints_0",
                url.as_str(),
            )],
        );
        load_env(env).await.unwrap();
    }
}

#[tokio::test]
async fn unknown_store_types() {
    let env = with(
        env_with_secrets(),
        &[(
            "gravitee_integration_connector_ws_ssl_truststore_type",
            "P12",
        )],
    );
    assert_eq!(
        error_of(env).await,
        "integration.connector.ws.ssl.truststore.type is `P12`, which is not a store type \
         (expected PEM, PKCS12, JKS, NONE) (from env \
         gravitee_integration_connector_ws_ssl_truststore_type)"
    );
    // PEM is a truststore type only, as in the reference connector.
    let env = with(
        minimal_env(),
        &[("GRAVITEE_INTEGRATION_CONNECTOR_WS_SSL_KEYSTORE_TYPE", "PEM")],
    );
    let text = error_of(env).await;
    assert!(
        text.starts_with("integration.connector.ws.ssl.keystore.type is `PEM`")
            && text.contains("(expected PKCS12, JKS, NONE)"),
        "{text}"
    );
    // Case does not matter.
    let env = with(
        minimal_env(),
        &[(
            "gravitee_integration_connector_ws_ssl_truststore_type",
            "pkcs12",
        )],
    );
    load_env(env).await.unwrap();
}

#[tokio::test]
async fn yaml_syntax_error_names_the_file_and_line() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "integration:\n  providers:\n    - type: aws\n   integrationId: [x\n",
    );
    let err = sandbox
        .loader(minimal_env())
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "configuration file {} is not valid YAML",
            file.display()
        )) && text.contains("line 4"),
        "{text}"
    );
    assert!(
        matches!(err, ConfigError::Yaml { line: Some(4), .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreadable_files() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path().join("nope.yml");
    let err = sandbox
        .loader(minimal_env())
        .config_file(Some(missing.clone()))
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot read configuration file {}",
            missing.display()
        )),
        "{text}"
    );
    // A directory is not a file either, also when named by GRAVITEE_CONF.
    let dir = sandbox.path().to_str().unwrap().to_owned();
    let err = sandbox
        .loader(with(minimal_env(), &[("GRAVITEE_CONF", dir.as_str())]))
        .load()
        .await
        .unwrap_err();
    assert!(matches!(err, ConfigError::ReadFile { .. }), "{err:?}");
}

#[tokio::test]
async fn a_provider_entry_that_is_not_a_map() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "integration:\n  providers:\n    - aws-api-gateway\n",
    );
    let env = without(
        without(minimal_env(), "gravitee_integration_providers_0_type"),
        "gravitee_integration_providers_0_integrationId",
    );
    let err = sandbox
        .loader(env)
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("integration.providers[0] is invalid")
            && text.ends_with(&format!("(from file {})", file.display())),
        "{text}"
    );
}

#[tokio::test]
async fn provider_settings_errors_name_the_full_key_and_where_it_was_looked_for() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Aws {
        region: String,
    }
    let sandbox = Sandbox::new();
    let loaded = sandbox
        .loader(env_with_secrets())
        .known_provider_types(["aws-api-gateway", "openapi-files"])
        .load()
        .await
        .unwrap();
    let err = loaded.config.integration.providers[0]
        .configuration
        .extract::<Aws>()
        .unwrap_err();
    // Never the variable of a neighbouring key (this used to say `…_secretAccessKey`).
    assert_eq!(
        err.to_string(),
        format!(
            "integration.providers[0].configuration.region is missing; looked for in env \
             gravitee_integration_providers_0_configuration_region and in {} (no such file)",
            sandbox.path().join("config").join("gravitee.yml").display()
        )
    );
}

#[tokio::test]
async fn a_token_put_where_a_map_belongs_is_not_shown() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "integration:\n  connector:\n    ws:\n      headers:\n        - bearer tok-3f9a1c2e7b5d4e8f\n",
    );
    let err = sandbox
        .loader(minimal_env())
        .config_file(Some(file))
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "integration.connector.ws.headers[0] is invalid: invalid type: found text"
        ),
        "{text}"
    );
    assert_no_secret(&text);

    let env = with(
        minimal_env(),
        &[(
            "gravitee_integration_providers_0_configuration",
            "adminadmin",
        )],
    );
    let text = error_of(env).await;
    assert!(
        text.starts_with("integration.providers[0].configuration is invalid"),
        "{text}"
    );
}

#[tokio::test]
async fn the_install_guides_placeholders_left_in_are_named_with_their_key_and_source() {
    // The seed's .env file, copied without filling in the integration id.
    let text = error_of(with(
        env_with_secrets(),
        &[(
            "gravitee_integration_providers_0_integrationId",
            "[your-integration-id]",
        )],
    ))
    .await;
    assert_eq!(
        text,
        "integration.providers[0].integrationId is still the install guide's placeholder \
         [your-integration-id]: replace it with your value (from env \
         gravitee_integration_providers_0_integrationId)"
    );
    // Inside a longer value: the endpoint and the bearer header of the guide.
    let text = error_of(with(
        env_with_secrets(),
        &[(
            "gravitee_integration_connector_ws_endpoints_0",
            "https://[your-APIM-management-API-host]/integration-controller",
        )],
    ))
    .await;
    assert!(
        text.starts_with(
            "integration.connector.ws.endpoints[0] is still the install guide's placeholder \
             [your-APIM-management-API-host]"
        ),
        "{text}"
    );

    // The seed's Helm values: YAML reads `token: [your-cloud-token]` as a list.
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "cloud:\n  token: [your-cloud-token]\nintegration:\n  providers:\n    - type: \
         aws-api-gateway\n      integrationId: abc\n      configuration:\n        region: \
         [your-aws-region]\n",
    );
    let err = sandbox
        .loader(without(env_with_secrets(), "gravitee_cloud_token"))
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap_err();
    let text = err.to_string();
    // Keys are checked in order: cloud.* comes first.
    assert_eq!(
        text,
        format!(
            "cloud.token is still the install guide's placeholder [your-cloud-token]: replace \
             it with your value (from file {})",
            file.display()
        )
    );
    assert_no_secret(&text);
    let file = sandbox.write(
        "gravitee.yml",
        "integration:\n  providers:\n    - type: aws-api-gateway\n      integrationId: abc\n      \
         configuration:\n        region: [your-aws-region]\n",
    );
    let text = sandbox
        .loader(without(env_with_secrets(), "gravitee_cloud_token"))
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        text,
        format!(
            "integration.providers[0].configuration.region is still the install guide's \
             placeholder [your-aws-region]: replace it with your value (from file {})",
            file.display()
        )
    );
}
