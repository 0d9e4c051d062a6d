//! `secret://` references: Kubernetes (against a loopback stand-in of the API server), env and
//! file; failures name the key, the reference and the source, never a secret value.

#![allow(clippy::unwrap_used)] // Helpers outside #[test] fns unwrap too: a panic fails the test.

mod common;

use common::*;
use federation_config::{ConfigError, KubernetesAccess};

const TOKEN: &str = "sa-token-42";

async fn kube() -> KubeStandIn {
    KubeStandIn::start(
        TOKEN,
        &[
            (
                ("gravitee-apim", "aws-truststore"),
                &[("password", "p12-pass-7781")],
            ),
            (
                ("agents", "aws-creds"),
                &[
                    (
                        "secretAccessKey",
                        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    ),
                    ("accessKeyId", "AKIAIOSFODNN7EXAMPLE"),
                ],
            ),
            (("pod-ns", "apim"), &[("token", "tok-3f9a1c2e7b5d4e8f")]),
        ],
    )
    .await
}

fn assert_no_secret(text: &str) {
    for secret in SECRET_VALUES {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test]
async fn kubernetes_references_are_read_with_the_service_account() {
    let sandbox = Sandbox::new();
    let kube = kube().await;
    let env = with(
        minimal_env(),
        &[
            (
                "gravitee_integration_providers_0_configuration_secretAccessKey",
                "secret://kubernetes/aws-creds:secretAccessKey?namespace=agents",
            ),
            (
                "gravitee_integration_providers_0_configuration_accessKeyId",
                "secret://kubernetes/aws-creds:accessKeyId?namespace=agents",
            ),
            // No ?namespace=: the pod's namespace file says `pod-ns`.
            (
                "gravitee_integration_connector_ws_headers_0_value",
                "secret://kubernetes/apim:token",
            ),
            (
                "gravitee_integration_connector_ws_headers_0_name",
                "Authorization",
            ),
        ],
    );
    let loaded = sandbox
        .loader(env)
        .kubernetes(kube_access(sandbox.path(), &kube, TOKEN, "pod-ns\n"))
        .load()
        .await
        .unwrap();
    let settings = &loaded.config.integration.providers[0].configuration;
    assert_eq!(
        settings.get_str("secretAccessKey"),
        Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    );
    assert_eq!(
        settings.get_str("accessKeyId"),
        Some("AKIAIOSFODNN7EXAMPLE")
    );
    assert_eq!(
        loaded.config.integration.connector.ws.headers[0]
            .value
            .expose(),
        "tok-3f9a1c2e7b5d4e8f"
    );
    // Each secret is fetched once, at the path the API defines.
    let mut requests = kube.requests();
    requests.sort();
    assert_eq!(
        requests,
        [
            "/api/v1/namespaces/agents/secrets/aws-creds",
            "/api/v1/namespaces/pod-ns/secrets/apim",
        ]
    );
    let debug = format!("{loaded:?}");
    assert_no_secret(&debug);
    assert!(!debug.contains("AKIAIOSFODNN7EXAMPLE"));
}

#[tokio::test]
async fn the_default_namespace_comes_from_secrets_kubernetes_namespace() {
    let sandbox = Sandbox::new();
    let kube = kube().await;
    let env = with(
        minimal_env(),
        &[
            ("gravitee_secrets_kubernetes_namespace", "gravitee-apim"),
            (
                "gravitee_integration_connector_ws_ssl_truststore_password",
                "secret://kubernetes/aws-truststore:password",
            ),
        ],
    );
    let loaded = sandbox
        .loader(env)
        .kubernetes(kube_access(sandbox.path(), &kube, TOKEN, "pod-ns"))
        .load()
        .await
        .unwrap();
    assert_eq!(truststore_password(&loaded), Some("p12-pass-7781"));
}

fn truststore_password(loaded: &federation_config::LoadedConfig) -> Option<&str> {
    let store = &loaded.config.integration.connector.ws.ssl.truststore;
    store.password.as_ref().map(|p| p.expose())
}

async fn secret_error(env: Vec<(String, String)>, access: KubernetesAccess) -> String {
    let sandbox = Sandbox::new();
    let err = sandbox
        .loader(env)
        .kubernetes(access)
        .load()
        .await
        .unwrap_err();
    assert!(matches!(err, ConfigError::Secret(_)), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert_no_secret(&text);
    assert_no_secret(&format!("{err:?}"));
    text
}

fn truststore_ref(reference: &str) -> Vec<(String, String)> {
    with(
        minimal_env(),
        &[(
            "gravitee_integration_connector_ws_ssl_truststore_password",
            reference,
        )],
    )
}

#[tokio::test]
async fn kubernetes_failures_name_the_key_the_reference_and_the_source() {
    let kube = kube().await;
    let dir = tempfile::tempdir().unwrap();

    // Wrong token: 401.
    let access = kube_access(dir.path(), &kube, "not-the-token", "pod-ns");
    let text = secret_error(
        truststore_ref("secret://kubernetes/aws-truststore:password?namespace=gravitee-apim"),
        access.clone(),
    )
    .await;
    assert_eq!(
        text,
        "integration.connector.ws.ssl.truststore.password cannot be resolved from \
         secret://kubernetes/aws-truststore:password?namespace=gravitee-apim: the Kubernetes \
         API answered 401 Unauthorized for secret gravitee-apim/aws-truststore (the service \
         account token was refused): Unauthorized (from env \
         gravitee_integration_connector_ws_ssl_truststore_password)"
    );

    // No such secret: 404.
    let access = kube_access(dir.path(), &kube, TOKEN, "pod-ns");
    let text = secret_error(
        truststore_ref("secret://kubernetes/missing:password?namespace=gravitee-apim"),
        access.clone(),
    )
    .await;
    assert!(
        text.contains("answered 404 Not Found for secret gravitee-apim/missing (no such secret)"),
        "{text}"
    );

    // No such key: the message lists the keys, not the values.
    let text = secret_error(
        truststore_ref("secret://kubernetes/aws-creds:password?namespace=agents"),
        access.clone(),
    )
    .await;
    assert!(
        text.contains(
            "secret agents/aws-creds has no key `password` (its keys: accessKeyId, \
             secretAccessKey)"
        ),
        "{text}"
    );

    // Not a valid secret name.
    let text = secret_error(
        truststore_ref("secret://kubernetes/../nodes:x"),
        access.clone(),
    )
    .await;
    assert!(
        text.contains("expected secret://kubernetes/<secret>:<key>"),
        "{text}"
    );

    // Nothing listening.
    let mut down = access.clone();
    down.api_server = Some("http://127.0.0.1:9".to_owned());
    let text = secret_error(
        truststore_ref("secret://kubernetes/aws-truststore:password"),
        down,
    )
    .await;
    assert!(
        text.starts_with("integration.connector.ws.ssl.truststore.password cannot be resolved")
            && text.contains("the Kubernetes API at http://127.0.0.1:9 failed"),
        "{text}"
    );
}

#[tokio::test]
async fn kubernetes_needs_a_cluster_a_token_and_a_ca() {
    let dir = tempfile::tempdir().unwrap();
    let sa = dir.path().join("sa");
    std::fs::create_dir_all(&sa).unwrap();
    let in_cluster = KubernetesAccess::service_account_dir(&sa, None);
    let reference = "secret://kubernetes/aws-truststore:password?namespace=gravitee-apim";

    let text = secret_error(truststore_ref(reference), in_cluster.clone()).await;
    assert!(
        text.contains("not running in Kubernetes (KUBERNETES_SERVICE_HOST is not set)"),
        "{text}"
    );

    let in_pod = with(
        truststore_ref(reference),
        &[
            ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
            ("KUBERNETES_SERVICE_PORT", "9"),
        ],
    );
    let text = secret_error(in_pod.clone(), in_cluster.clone()).await;
    assert!(
        text.contains(&format!(
            "cannot read the service account token {}",
            sa.join("token").display()
        )),
        "{text}"
    );

    std::fs::write(sa.join("token"), "t").unwrap();
    let text = secret_error(in_pod, in_cluster).await;
    assert!(
        text.contains(&format!(
            "cannot read the cluster CA {}",
            sa.join("ca.crt").display()
        )),
        "{text}"
    );
}

#[tokio::test]
async fn env_and_file_references() {
    let sandbox = Sandbox::new();
    let secret_file = sandbox.write(
        "run/secrets/aws_secret",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    let file_ref = format!("secret://file{}", secret_file.display());
    let env = with(
        minimal_env(),
        &[
            ("WS_AUTH_TOKEN", "bearer tok-3f9a1c2e7b5d4e8f"),
            (
                "gravitee_integration_connector_ws_headers_0_name",
                "Authorization",
            ),
            (
                "gravitee_integration_connector_ws_headers_0_value",
                "secret://env/WS_AUTH_TOKEN",
            ),
            (
                "gravitee_integration_providers_0_configuration_secretAccessKey",
                file_ref.as_str(),
            ),
        ],
    );
    let loaded = sandbox.loader(env).load().await.unwrap();
    assert_eq!(
        loaded.config.integration.connector.ws.headers[0]
            .value
            .expose(),
        "bearer tok-3f9a1c2e7b5d4e8f"
    );
    assert_eq!(
        loaded.config.integration.providers[0]
            .configuration
            .get_str("secretAccessKey"),
        Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    );
    assert_no_secret(&format!("{loaded:?}"));

    // Failures.
    let text = secret_error(
        truststore_ref("secret://env/NOT_SET_ANYWHERE"),
        KubernetesAccess::default(),
    )
    .await;
    assert_eq!(
        text,
        "integration.connector.ws.ssl.truststore.password cannot be resolved from \
         secret://env/NOT_SET_ANYWHERE: the environment variable NOT_SET_ANYWHERE is not set \
         (from env gravitee_integration_connector_ws_ssl_truststore_password)"
    );
    let missing = sandbox.path().join("nope");
    let text = secret_error(
        truststore_ref(&format!("secret://file{}", missing.display())),
        KubernetesAccess::default(),
    )
    .await;
    assert!(
        text.contains(&format!("cannot read {}", missing.display())),
        "{text}"
    );
}

#[tokio::test]
async fn a_file_reference_to_something_that_is_not_a_secret_is_refused_without_reading_it_all() {
    let sandbox = Sandbox::new();
    let big = sandbox.write("var/log/big.log", &"x".repeat(1024 * 1024 + 1));
    let text = secret_error(
        truststore_ref(&format!("secret://file{}", big.display())),
        KubernetesAccess::default(),
    )
    .await;
    assert!(
        text.contains(&format!(
            "{} is larger than 1024 KiB: a secret file holds one value",
            big.display()
        )),
        "{text}"
    );
    // A device that never ends is refused the same way, not read forever.
    let text = secret_error(
        truststore_ref("secret://file/dev/zero"),
        KubernetesAccess::default(),
    )
    .await;
    assert!(text.contains("/dev/zero is larger than 1024 KiB"), "{text}");
    // Exactly at the limit is still a value.
    let pem = sandbox.write("run/secrets/bundle.pem", &"y".repeat(1024 * 1024));
    let result = sandbox
        .loader(truststore_ref(&format!("secret://file{}", pem.display())))
        .load()
        .await;
    let loaded = result.unwrap();
    assert_eq!(
        truststore_password(&loaded).map(str::len),
        Some(1024 * 1024)
    );
}

#[tokio::test]
async fn references_in_the_file_name_the_file_as_source() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "gravitee.yml",
        "cloud:\n  token: secret://env/CLOUD_TOKEN\n",
    );
    let err = sandbox
        .loader(minimal_env())
        .config_file(Some(file.clone()))
        .load()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cloud.token cannot be resolved from secret://env/CLOUD_TOKEN: the environment \
             variable CLOUD_TOKEN is not set (from file {})",
            file.display()
        )
    );
}

#[tokio::test]
async fn malformed_references_are_errors() {
    let text = secret_error(
        truststore_ref("secret://kubernetes/a//b:key"),
        KubernetesAccess::default(),
    )
    .await;
    assert!(
        text.contains("malformed secret reference: the path is empty or has an empty segment"),
        "{text}"
    );
}

#[tokio::test]
async fn references_gravitee_would_not_resolve_are_kept_as_text_with_a_warning() {
    let sandbox = Sandbox::new();
    let kube = kube().await;
    let env = with(
        minimal_env(),
        &[
            ("gravitee_secrets_kubernetes_enabled", "false"),
            (
                "gravitee_integration_connector_ws_ssl_truststore_password",
                "secret://kubernetes/aws-truststore:password?namespace=gravitee-apim",
            ),
            (
                "gravitee_integration_connector_ws_ssl_keystore_password",
                "secret://vault/a:b",
            ),
        ],
    );
    let loaded = sandbox
        .loader(env)
        .kubernetes(kube_access(sandbox.path(), &kube, TOKEN, "pod-ns"))
        .load()
        .await
        .unwrap();
    assert!(kube.requests().is_empty());
    let ssl = &loaded.config.integration.connector.ws.ssl;
    assert_eq!(
        ssl.truststore.password.as_ref().map(|p| p.expose()),
        Some("secret://kubernetes/aws-truststore:password?namespace=gravitee-apim")
    );
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("secrets.kubernetes.enabled=false"))
    );
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("no such secret provider"))
    );

    // A Kubernetes reference without `:key`; the env provider switched off.
    let env = with(
        minimal_env(),
        &[
            ("GRAVITEE_SECRETS_ENV_ENABLED", "false"),
            ("TOKEN", "x"),
            ("gravitee_cloud_token", "secret://env/TOKEN"),
            // The text kept is not a JWT: only accepted because the token is not used.
            ("gravitee_cloud_enabled", "false"),
            (
                "gravitee_integration_connector_ws_ssl_truststore_password",
                "secret://kubernetes/no-key",
            ),
        ],
    );
    let loaded = sandbox
        .loader(env)
        .kubernetes(kube_access(sandbox.path(), &kube, TOKEN, "pod-ns"))
        .load()
        .await
        .unwrap();
    assert!(kube.requests().is_empty());
    assert_eq!(
        loaded.config.cloud.token.as_ref().map(|t| t.expose()),
        Some("secret://env/TOKEN")
    );
    assert!(
        loaded.warnings.iter().any(|w| w.starts_with(
            "integration.connector.ws.ssl.truststore.password (from env \
             gravitee_integration_connector_ws_ssl_truststore_password) holds \
             secret://kubernetes/no-key, used as plain text: it has no `:key`"
        )),
        "{:?}",
        loaded.warnings
    );
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("secrets.env.enabled=false"))
    );
}
