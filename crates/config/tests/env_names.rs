//! Which environment variable names are read, and as which keys (Gravitee's
//! `EnvironmentPropertySourceBeanProcessor` + `RelaxedPropertySource` rules).

#![allow(clippy::unwrap_used)] // Helpers outside #[test] fns unwrap too: a panic fails the test.

mod common;

use common::*;
use federation_config::{GraviteeEnv, KeyCatalogue};

fn upper(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()))
        .collect()
}

#[tokio::test]
async fn the_fully_upper_case_form_of_the_seed_variables_loads_the_same() {
    let camel = compose_environment(&fixture("docker-compose.yml"), &fixture("seed.env"));
    let shouting = upper(&camel);
    assert!(
        shouting
            .iter()
            .any(|(k, _)| k == "GRAVITEE_INTEGRATION_PROVIDERS_0_INTEGRATIONID")
    );
    let a = Sandbox::new().loader(camel).load().await.unwrap();
    let b = Sandbox::new().loader(shouting).load().await.unwrap();
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    let (pa, pb) = (
        &a.config.integration.providers[0],
        &b.config.integration.providers[0],
    );
    assert_eq!(pb.integration_id, "0123456789ab-integration");
    assert_eq!(pa.integration_id, pb.integration_id);
    assert_eq!(pa.provider_type, pb.provider_type);
    // Provider keys come back in camelCase thanks to the providers' key list.
    assert_eq!(pa.configuration.values(), pb.configuration.values());
    assert_eq!(
        pb.configuration.get_str("secretAccessKey"),
        Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    );
    assert_eq!(
        b.config.integration.connector.ws.headers[0].value.expose(),
        "bearer tok-3f9a1c2e7b5d4e8f"
    );
    assert_eq!(
        b.origins.of("integration.providers[0].integrationId"),
        Some("env GRAVITEE_INTEGRATION_PROVIDERS_0_INTEGRATIONID")
    );
}

#[tokio::test]
async fn mixed_case_names_are_ignored_with_a_warning_naming_the_variable() {
    let env = with(
        minimal_env(),
        &[
            (
                "gravitee_integration_providers_0_integrationid",
                "lower-value-1",
            ),
            (
                "gravitee_Integration_Providers_0_IntegrationId",
                "mixed-value-2",
            ),
            (
                "GRAVITEE_integration_providers_0_INTEGRATIONID",
                "mixed-value-3",
            ),
        ],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    assert_eq!(
        loaded.config.integration.providers[0].integration_id,
        "int-1"
    );
    for name in [
        "gravitee_integration_providers_0_integrationid",
        "gravitee_Integration_Providers_0_IntegrationId",
        "GRAVITEE_integration_providers_0_INTEGRATIONID",
    ] {
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.starts_with(&format!("environment variable {name} is ignored"))),
            "no warning for {name}: {:?}",
            loaded.warnings
        );
    }
    for value in ["lower-value-1", "mixed-value-2", "mixed-value-3"] {
        assert!(loaded.warnings.iter().all(|w| !w.contains(value)));
    }
}

#[tokio::test]
async fn only_the_four_exact_prefixes_are_read() {
    let env = with(
        minimal_env(),
        &[
            ("Gravitee_services_core_http_port", "1"),
            ("GRAVITEEIO_SERVICES_CORE_HTTP_PORT", "2"),
            ("xgravitee_services_core_http_port", "3"),
        ],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    assert_eq!(loaded.config.services.core.http.port, 18084);

    for name in [
        "gravitee.services.core.http.port",
        "GRAVITEE.SERVICES.CORE.HTTP.PORT",
        "gravitee_services.core_http[0]",
    ] {
        let catalogue =
            KeyCatalogue::from_paths(["services.core.http.port", "services.core.http[]"]);
        let env = GraviteeEnv::new([(name, "7")], &catalogue);
        assert!(!env.is_empty(), "{name} not read");
    }
}

#[tokio::test]
async fn values_stay_strings_exactly_as_given() {
    let env = with(
        minimal_env(),
        &[
            ("gravitee_integration_providers_0_integrationId", "0123"),
            (
                "gravitee_integration_providers_0_configuration_accountId",
                "123456789012",
            ),
            (
                "GRAVITEE_INTEGRATION_PROVIDERS_0_CONFIGURATION_ROLEARN",
                "[x]",
            ),
            ("gravitee_services_core_http_host", "{not-a-map}"),
            ("gravitee_log_level", "\"quoted\""),
        ],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    let provider = &loaded.config.integration.providers[0];
    assert_eq!(provider.integration_id, "0123");
    assert_eq!(
        provider.configuration.get_str("accountId"),
        Some("123456789012")
    );
    assert_eq!(provider.configuration.get_str("roleArn"), Some("[x]"));
    assert_eq!(loaded.config.services.core.http.host, "{not-a-map}");
    assert_eq!(loaded.config.log.level.as_deref(), Some("\"quoted\""));

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ids {
        account_id: String,
    }
    let ids: Ids = provider.configuration.extract().unwrap();
    assert_eq!(ids.account_id, "123456789012");
}

#[tokio::test]
async fn strings_convert_like_spring_where_the_field_is_typed() {
    let env = with(
        minimal_env(),
        &[
            ("gravitee_services_core_http_port", "0123"),
            ("gravitee_services_metrics_enabled", "on"),
            ("GRAVITEE_SERVICES_CORE_HTTP_ENABLED", "FALSE"),
            (
                "gravitee_integration_connector_ws_backoff_multiplier",
                "2.5",
            ),
        ],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    let config = &loaded.config;
    assert_eq!(config.services.core.http.port, 123);
    assert!(config.services.metrics.enabled);
    assert!(!config.services.core.http.enabled);
    assert!((config.integration.connector.ws.backoff.multiplier - 2.5).abs() < f64::EPSILON);
}

#[tokio::test]
async fn open_maps_take_any_name_and_lower_case_upper_case_names() {
    let env = with(
        minimal_env(),
        &[
            (
                "gravitee_services_core_http_authentication_users_admin",
                "pw-a",
            ),
            (
                "GRAVITEE_SERVICES_CORE_HTTP_AUTHENTICATION_USERS_OPS",
                "pw-b",
            ),
            (
                "gravitee_services_core_http_authentication_users_Jane",
                "pw-c",
            ),
        ],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    let users = &loaded.config.services.core.http.authentication.users;
    assert_eq!(
        users.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Jane", "admin", "ops"]
    );
    assert_eq!(users["ops"].expose(), "pw-b");
}

#[tokio::test]
async fn unknown_upper_case_provider_keys_are_lower_cased_with_a_warning() {
    let env = with(
        minimal_env(),
        &[(
            "GRAVITEE_INTEGRATION_PROVIDERS_0_CONFIGURATION_STAGENAME",
            "prod",
        )],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    let settings = &loaded.config.integration.providers[0].configuration;
    assert_eq!(settings.get_str("stagename"), Some("prod"));
    assert!(
        loaded.warnings.iter().any(|w| w.contains(
            "GRAVITEE_INTEGRATION_PROVIDERS_0_CONFIGURATION_STAGENAME sets \
             integration.providers[0].configuration.stagename"
        )),
        "{:?}",
        loaded.warnings
    );
}

#[tokio::test]
async fn unknown_keys_are_reported_and_launcher_variables_are_not() {
    let env = with(
        minimal_env(),
        &[
            (
                "gravitee_integration_connector_ws_endpoint_0",
                "https://typo",
            ),
            ("GRAVITEE_HOME", "/opt/graviteeio-federation-agent"),
        ],
    );
    let sandbox = Sandbox::new();
    let loaded = sandbox.loader(env).load().await.unwrap();
    assert_eq!(
        loaded.warnings,
        [
            "environment variable gravitee_integration_connector_ws_endpoint_0 sets \
          integration.connector.ws.endpoint[0], which is not a key this agent reads"
        ]
    );
}

#[tokio::test]
async fn dots_and_brackets_work_like_underscores() {
    let env = [
        (
            "gravitee.integration.connector.ws.endpoints[0]",
            "https://apim.example.com/integration-controller",
        ),
        ("gravitee.integration.providers[0].type", "aws-api-gateway"),
        ("GRAVITEE.INTEGRATION.PROVIDERS[0].INTEGRATIONID", "int-9"),
    ];
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    assert_eq!(
        loaded.config.integration.providers[0].integration_id,
        "int-9"
    );
}

#[tokio::test]
async fn the_exact_name_wins_over_the_upper_case_one_for_the_same_key() {
    let env = with(
        minimal_env(),
        &[
            (
                "GRAVITEE_INTEGRATION_PROVIDERS_0_INTEGRATIONID",
                "from-upper",
            ),
            (
                "gravitee_integration_providers_0_integrationId",
                "from-exact",
            ),
        ],
    );
    let loaded = Sandbox::new().loader(env).load().await.unwrap();
    assert_eq!(
        loaded.config.integration.providers[0].integration_id,
        "from-exact"
    );
    assert!(loaded.warnings.iter().any(|w| w.contains("both set")));
}

/// The cases of gravitee-common's `RelaxedPropertySourceTest`: the key the code asks for, the
/// variable name (without prefix), and whether it must match. Each case is tried with all four
/// prefixes.
#[test]
fn relaxed_property_source_cases() {
    const CASES: &[(&str, &str, bool)] = &[
        // shouldManageUppercase
        ("key1.key2", "key1.key2", true),
        ("key1.key2", "key1_key2", true),
        ("key1.key2", "KEY1.KEY2", true),
        ("key1.key2", "KEY1_KEY2", true),
        // shouldManageHyphen
        ("key-1.key-2", "key-1.key-2", true),
        ("key-1.key-2", "key-1_key-2", true),
        ("key-1.key-2", "KEY-1.KEY-2", true),
        ("key-1.key-2", "KEY-1_KEY-2", true),
        ("key-1.key-2", "key1.key2", true),
        ("key-1.key-2", "key1_key2", true),
        ("key-1.key-2", "KEY1.KEY2", true),
        ("key-1.key-2", "KEY1_KEY2", true),
        // shouldManageTable
        ("tab[0]", "tab[0]", true),
        ("tab[0]", "tab_0", true),
        ("tab[0]", "TAB[0]", true),
        ("tab[0]", "TAB_0", true),
        ("tab[0].subtab[1].value", "tab[0].subtab[1].value", true),
        ("tab[0].subtab[1].value", "tab_0_subtab_1_value", true),
        ("tab[0].subtab[1].value", "TAB[0].SUBTAB[1].VALUE", true),
        ("tab[0].subtab[1].value", "TAB_0_SUBTAB_1_VALUE", true),
        ("tab[0].sub-tab[1].value", "tab[0].sub-tab[1].value", true),
        ("tab[0].sub-tab[1].value", "tab_0_sub-tab_1_value", true),
        ("tab[0].sub-tab[1].value", "tab[0].subtab[1].value", true),
        ("tab[0].sub-tab[1].value", "tab_0_subtab_1_value", true),
        ("tab[0].sub-tab[1].value", "TAB[0].SUBTAB[1].VALUE", true),
        ("tab[0].sub-tab[1].value", "TAB_0_SUBTAB_1_VALUE", true),
        // shouldManageDefaultValues: an empty name matches nothing.
        ("email.subject", "", false),
        // shouldNotSupportSnakeCase
        ("key1.key2", "Key1.Key2", false),
        ("key1.key2", "Key1_Key2", false),
    ];
    for &(key, name, matches) in CASES {
        // The catalogue path of the key: indexes become list markers.
        let mut path = String::new();
        let mut chars = key.chars().peekable();
        while let Some(c) = chars.next() {
            path.push(c);
            if c == '[' {
                for d in chars.by_ref() {
                    if d == ']' {
                        path.push(']');
                        break;
                    }
                }
            }
        }
        let catalogue = KeyCatalogue::from_paths([path.as_str()]);
        for prefix in ["gravitee_", "GRAVITEE_", "gravitee.", "GRAVITEE."] {
            let variable = format!("{prefix}{name}");
            let env = GraviteeEnv::new([(variable.as_str(), "true")], &catalogue);
            let found = env.value(key) == Some("true");
            assert_eq!(
                found,
                matches,
                "{variable} should {}match {key}; read as {:?}, warnings {:?}",
                if matches { "" } else { "not " },
                env,
                env.warnings()
            );
            if !matches && !name.is_empty() {
                assert!(env.is_empty(), "{variable} must be ignored: {env:?}");
                assert!(
                    env.warnings()
                        .iter()
                        .any(|w| w.contains(&variable) && w.contains("ignored")),
                    "{variable}: {:?}",
                    env.warnings()
                );
            }
        }
    }
}
