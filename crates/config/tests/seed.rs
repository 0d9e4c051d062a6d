//! The seed's install guide is a contract: its docker-compose environment and its Helm
//! `config.graviteeYml` blocks must load, and into the same configuration.

#![allow(clippy::unwrap_used)] // Helpers outside #[test] fns unwrap too: a panic fails the test.

mod common;

use common::*;
use federation_config::{AgentConfig, LoadedConfig};
use serde::Deserialize;

/// What the AWS provider reads from its block (a stand-in for its own struct).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwsSettings {
    region: String,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    #[serde(default)]
    accept_api_without_usage_plan: bool,
}

/// Everything the connector and the provider use, with secrets exposed for comparison.
#[derive(Debug, PartialEq)]
struct Essentials {
    endpoints: Vec<String>,
    headers: Vec<(String, String)>,
    providers: Vec<(String, String, String)>,
    aws: AwsSettings,
    raw_configuration: figment::value::Dict,
    cloud_token: Option<String>,
}

fn essentials(config: &AgentConfig) -> Essentials {
    let ws = &config.integration.connector.ws;
    let provider = &config.integration.providers[0];
    Essentials {
        endpoints: ws.endpoints_cleaned(),
        headers: ws
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.value.expose().to_owned()))
            .collect(),
        providers: config
            .integration
            .providers
            .iter()
            .map(|p| {
                (
                    p.provider_type.clone(),
                    p.integration_id.clone(),
                    p.configuration.prefix().to_owned(),
                )
            })
            .collect(),
        aws: provider.configuration.extract().unwrap(),
        raw_configuration: provider.configuration.values().clone(),
        cloud_token: config.cloud.token.as_ref().map(|t| t.expose().to_owned()),
    }
}

async fn load_compose() -> LoadedConfig {
    let env = compose_environment(&fixture("docker-compose.yml"), &fixture("seed.env"));
    Sandbox::new()
        .loader(env)
        .known_provider_types(["aws-api-gateway"])
        .load()
        .await
        .unwrap()
}

#[tokio::test]
async fn docker_compose_environment_loads() {
    let loaded = load_compose().await;
    assert!(loaded.files.is_empty());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let e = essentials(&loaded.config);
    assert_eq!(
        e.endpoints,
        ["https://apim.example.com/integration-controller"]
    );
    assert_eq!(
        e.headers,
        [(
            "Authorization".to_owned(),
            "bearer tok-3f9a1c2e7b5d4e8f".to_owned()
        )]
    );
    assert_eq!(
        e.providers,
        [(
            "aws-api-gateway".to_owned(),
            "0123456789ab-integration".to_owned(),
            "integration.providers[0].configuration".to_owned()
        )]
    );
    assert_eq!(
        e.aws,
        AwsSettings {
            region: "us-west-2".to_owned(),
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE".to_owned()),
            secret_access_key: Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned()),
            accept_api_without_usage_plan: false,
        }
    );
    assert_eq!(
        loaded
            .origins
            .of("integration.providers[0].configuration.region"),
        Some("env gravitee_integration_providers_0_configuration_region")
    );
}

#[tokio::test]
async fn helm_gravitee_yml_loads_into_the_same_configuration() {
    let sandbox = Sandbox::new();
    let file = gravitee_yml_from_helm(&fixture("helm-values.yaml"), sandbox.path());
    let helm = sandbox
        .loader(Vec::<(String, String)>::new())
        .config_file(Some(file.clone()))
        .known_provider_types(["aws-api-gateway"])
        .load()
        .await
        .unwrap();
    assert_eq!(helm.files, std::slice::from_ref(&file));
    assert!(helm.warnings.is_empty(), "{:?}", helm.warnings);
    let compose = load_compose().await;
    assert_eq!(essentials(&helm.config), essentials(&compose.config));

    // The services block only the Helm values set.
    let http = &helm.config.services.core.http;
    assert!(http.enabled);
    assert_eq!(http.port, 18084);
    assert_eq!(http.host, "0.0.0.0");
    assert_eq!(http.authentication.auth_type, "basic");
    assert_eq!(http.authentication.users["admin"].expose(), "adminadmin");
    assert!(!helm.config.services.metrics.enabled);
    assert!(!helm.config.services.metrics.prometheus.enabled);
    assert_eq!(
        helm.origins.of("services.core.http.port").unwrap(),
        format!("file {}", file.display())
    );
}

#[tokio::test]
async fn the_compose_files_optional_cloud_token_line_works() {
    let env = with(
        compose_environment(&fixture("docker-compose.yml"), &fixture("seed.env")),
        &[("gravitee_cloud_token", CLOUD_TOKEN)],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    assert_eq!(
        loaded.config.cloud.token.as_ref().map(|t| t.expose()),
        Some(CLOUD_TOKEN)
    );
}

#[tokio::test]
async fn helm_custom_certificate_values_resolve_the_truststore_password_from_kubernetes() {
    let sandbox = Sandbox::new();
    let kube = KubeStandIn::start(
        "sa-token-1",
        &[(
            ("gravitee-apim", "aws-truststore"),
            &[("password", "p12-pass-7781")],
        )],
    )
    .await;
    let file = gravitee_yml_from_helm(&fixture("helm-values-custom-cert.yaml"), sandbox.path());
    let loaded = sandbox
        .loader(Vec::<(String, String)>::new())
        .config_file(Some(file))
        .kubernetes(kube_access(sandbox.path(), &kube, "sa-token-1", "default"))
        .load()
        .await
        .unwrap();
    let truststore = &loaded.config.integration.connector.ws.ssl.truststore;
    assert_eq!(truststore.store_type.as_deref(), Some("PKCS12"));
    assert_eq!(
        truststore.path.as_deref(),
        Some("/opt/graviteeio-federation-agent/truststore/my_truststore.p12")
    );
    assert_eq!(
        truststore.password.as_ref().map(|p| p.expose()),
        Some("p12-pass-7781")
    );
    assert_eq!(
        loaded.config.cloud.token.as_ref().map(|t| t.expose()),
        Some(CLOUD_TOKEN)
    );
    assert_eq!(
        kube.requests(),
        ["/api/v1/namespaces/gravitee-apim/secrets/aws-truststore"]
    );

    // Nothing secret in Debug output.
    let debug = format!("{loaded:?}");
    for secret in SECRET_VALUES.iter().chain(["AKIAIOSFODNN7EXAMPLE"].iter()) {
        assert!(!debug.contains(secret), "Debug shows {secret}: {debug}");
    }
    assert!(debug.contains("secretAccessKey"), "keys are shown: {debug}");
}
