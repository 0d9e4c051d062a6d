//! Which source wins, key by key: defaults < files (in order) < environment; and which files
//! are read.

#![allow(clippy::unwrap_used)] // Helpers outside #[test] fns unwrap too: a panic fails the test.

mod common;

use common::*;

const TWO_ENDPOINTS: &str = "\
integration:
  connector:
    ws:
      endpoints:
        - https://first.example.com/integration-controller
        - https://second.example.com/integration-controller
  providers:
    - type: aws-api-gateway
      integrationId: from-file
      configuration:
        region: eu-west-1
        roleArn: arn:aws:iam::123456789012:role/agent
services:
  core:
    http:
      port: 19000
";

#[tokio::test]
async fn defaults_apply_when_nothing_sets_a_key() {
    let loaded = Sandbox::new().loader(minimal_env()).load().await.unwrap();
    let config = &loaded.config;
    assert_eq!(config.services.core.http.port, 18084);
    assert_eq!(config.services.core.http.host, "localhost");
    assert_eq!(config.services.core.http.authentication.auth_type, "basic");
    assert!(!config.services.metrics.enabled);
    assert!(config.services.metrics.prometheus.enabled);
    assert_eq!(
        config.integration.connector.ws.max_web_socket_frame_size,
        65_536
    );
    assert!(config.integration.connector.ws.ssl.verify_host);
    assert!(config.secrets.kubernetes.enabled);
    assert!(loaded.origins.of("services.core.http.port").is_none());
}

#[tokio::test]
async fn environment_overrides_the_file_key_by_key() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("gravitee.yml", TWO_ENDPOINTS);
    let env = [
        ("gravitee_services_core_http_port", "19001"),
        (
            "gravitee_integration_providers_0_configuration_region",
            "us-east-1",
        ),
    ];
    let loaded = sandbox
        .loader(env)
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap();
    let config = &loaded.config;
    assert_eq!(config.services.core.http.port, 19001);
    assert_eq!(
        loaded.origins.of("services.core.http.port"),
        Some("env gravitee_services_core_http_port")
    );
    let provider = &config.integration.providers[0];
    assert_eq!(provider.integration_id, "from-file");
    let settings = &provider.configuration;
    assert_eq!(settings.get_str("region"), Some("us-east-1"));
    // The sibling key of the overridden one is kept.
    assert_eq!(
        settings.get_str("roleArn"),
        Some("arn:aws:iam::123456789012:role/agent")
    );
    assert_eq!(
        loaded
            .origins
            .of("integration.providers[0].configuration.roleArn")
            .unwrap(),
        format!("file {}", file.display())
    );
}

#[tokio::test]
async fn one_variable_overrides_endpoint_0_and_keeps_endpoint_1() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("gravitee.yml", TWO_ENDPOINTS);
    let env = [(
        "gravitee_integration_connector_ws_endpoints_0",
        "wss://override.example.com/integration-controller",
    )];
    let loaded = sandbox
        .loader(env)
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap();
    assert_eq!(
        loaded.config.integration.connector.ws.endpoints,
        [
            "wss://override.example.com/integration-controller",
            "https://second.example.com/integration-controller"
        ]
    );
    assert_eq!(
        loaded.origins.of("integration.connector.ws.endpoints[0]"),
        Some("env gravitee_integration_connector_ws_endpoints_0")
    );
    assert_eq!(
        loaded
            .origins
            .of("integration.connector.ws.endpoints[1]")
            .unwrap(),
        format!("file {}", file.display())
    );
}

#[tokio::test]
async fn a_variable_adds_a_list_element_after_the_files_ones() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("gravitee.yml", TWO_ENDPOINTS);
    let env = [(
        "GRAVITEE_INTEGRATION_CONNECTOR_WS_ENDPOINTS_2",
        "https://third.example.com/integration-controller",
    )];
    let loaded = sandbox
        .loader(env)
        .config_file(Some(file))
        .load()
        .await
        .unwrap();
    assert_eq!(loaded.config.integration.connector.ws.endpoints.len(), 3);
}

#[tokio::test]
async fn a_list_stops_at_its_first_missing_index_with_a_warning() {
    let env = with(
        minimal_env(),
        &[(
            "gravitee_integration_connector_ws_endpoints_2",
            "https://skipped.example.com/integration-controller",
        )],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    assert_eq!(
        loaded.config.integration.connector.ws.endpoints,
        ["https://apim.example.com/integration-controller"]
    );
    assert!(
        loaded.warnings.iter().any(|w| w.contains(
            "integration.connector.ws.endpoints[2] (from env \
             gravitee_integration_connector_ws_endpoints_2) is ignored: \
             integration.connector.ws.endpoints[1] is not set"
        )),
        "{:?}",
        loaded.warnings
    );
}

#[tokio::test]
async fn blank_endpoints_are_skipped_but_keep_their_index() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "integration:\n  connector:\n    ws:\n      endpoints:\n        - \"\"\n        - \" https://b.example.com/ic \"\n",
    );
    let loaded = sandbox
        .loader(with(
            minimal_env(),
            &[("gravitee_integration_connector_ws_endpoints_0", "")],
        ))
        .config_file(Some(file))
        .load()
        .await
        .unwrap();
    let ws = &loaded.config.integration.connector.ws;
    assert_eq!(ws.endpoints.len(), 2);
    assert_eq!(ws.endpoints_cleaned(), ["https://b.example.com/ic"]);
}

#[tokio::test]
async fn a_blank_value_counts_as_not_set() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("gravitee.yml", TWO_ENDPOINTS);
    let env = [("gravitee_services_core_http_port", "  ")];
    let loaded = sandbox
        .loader(env)
        .config_file(Some(file))
        .load()
        .await
        .unwrap();
    // Spring converts an empty string to "no value": the default applies.
    assert_eq!(loaded.config.services.core.http.port, 18084);
}

#[tokio::test]
async fn later_files_of_a_comma_list_override_earlier_ones() {
    let sandbox = Sandbox::new();
    let base = sandbox.write("base.yml", TWO_ENDPOINTS);
    let overlay = sandbox.write(
        "overlay.yml",
        "services:\n  core:\n    http:\n      port: 19002\n      host: 0.0.0.0\n",
    );
    let list = format!("{}, {}", base.display(), overlay.display());
    let loaded = sandbox
        .loader(Vec::<(String, String)>::new())
        .config_file(Some(list.into()))
        .load()
        .await
        .unwrap();
    assert_eq!(loaded.files, [base.clone(), overlay.clone()]);
    let http = &loaded.config.services.core.http;
    assert_eq!((http.port, http.host.as_str()), (19002, "0.0.0.0"));
    assert_eq!(
        loaded.config.integration.providers[0].integration_id,
        "from-file"
    );
    assert_eq!(
        loaded.origins.of("services.core.http.port").unwrap(),
        format!("file {}", overlay.display())
    );
}

#[tokio::test]
async fn gravitee_conf_names_the_files_when_there_is_no_config_option() {
    let sandbox = Sandbox::new();
    let a = sandbox.write("a.yml", TWO_ENDPOINTS);
    let b = sandbox.write(
        "b.yml",
        "services:\n  core:\n    http:\n      port: 19003\n",
    );
    let conf = format!("{},{}", a.display(), b.display());
    let loaded = sandbox
        .loader([("GRAVITEE_CONF", conf.as_str())])
        .load()
        .await
        .unwrap();
    assert_eq!(loaded.files, [a.clone(), b]);
    assert_eq!(loaded.config.services.core.http.port, 19003);

    // --config wins over GRAVITEE_CONF.
    let loaded = sandbox
        .loader([("GRAVITEE_CONF", conf.as_str())])
        .config_file(Some(a.clone()))
        .load()
        .await
        .unwrap();
    assert_eq!(loaded.files, [a]);
    assert_eq!(loaded.config.services.core.http.port, 19000);
}

#[tokio::test]
async fn gravitee_home_then_the_current_directory() {
    let sandbox = Sandbox::new();
    let home = sandbox.path().join("home");
    let in_home = sandbox.write("home/config/gravitee.yml", TWO_ENDPOINTS);
    let home_env = [("GRAVITEE_HOME", home.to_str().unwrap())];
    let loaded = sandbox.loader(home_env).load().await.unwrap();
    assert_eq!(loaded.files, [in_home]);

    // No file in $GRAVITEE_HOME: ./config/gravitee.yml is used if present...
    let empty_home = [("GRAVITEE_HOME", "/nonexistent-gravitee-home")];
    let local = sandbox.write("config/gravitee.yml", TWO_ENDPOINTS);
    let loaded = sandbox.loader(empty_home).load().await.unwrap();
    assert_eq!(loaded.files, std::slice::from_ref(&local));

    // ...and otherwise no file at all (the environment alone must then suffice).
    std::fs::remove_file(&local).unwrap();
    let loaded = sandbox.loader(minimal_env()).load().await.unwrap();
    assert!(loaded.files.is_empty());
}

#[tokio::test]
async fn file_keys_in_the_wrong_case_are_reported() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "services:\n  core:\n    http:\n      Port: 19000\n",
    );
    let loaded = sandbox
        .loader(minimal_env())
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap();
    assert_eq!(loaded.config.services.core.http.port, 18084);
    assert_eq!(
        loaded.warnings,
        [format!(
            "services.core.http.Port (from file {}) is ignored: `Port` is not the key `port` \
             (names are case-sensitive)",
            file.display()
        )]
    );
}
