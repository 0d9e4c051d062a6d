//! The openapi-files provider against the sample tree in `examples/specs`.

// Test helpers outside `#[test]` functions: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use federation_core::{
    Api, ApiType, DiscoverRequest, PageType, PlanSecurityType, Provider, ProviderContext,
    ProviderError, ProviderFactory, ProviderSettings, Selection, Subscription, SubscriptionResult,
    SubscriptionType, collect,
};
use federation_provider_openapi_files::{
    OpenApiFilesFactory, OpenApiFilesProvider, verify_key_file,
};
use federation_testkit::contract::{CredentialProbe, Fixture, assert_provider_contract};

mod common;

use common::{SAMPLE_IDS, ids, provider_on, specs};

fn subscription(id: &str, plan: &str) -> Subscription {
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        gravitee_application_id: Some("app-1".to_owned()),
        gravitee_application_name: Some("My app".to_owned()),
        subscription_type: Some(SubscriptionType::ApiKey),
        metadata: Some(
            [("planId".to_owned(), plan.to_owned())]
                .into_iter()
                .collect(),
        ),
    }
}

fn unsubscription(result: &SubscriptionResult) -> Subscription {
    Subscription {
        gravitee_subscription_id: result.gravitee_subscription_id.clone(),
        metadata: result.metadata.clone(),
        ..Subscription::default()
    }
}

/// Copies the sample tree to a fresh directory.
fn copy_tree(to: &Path) {
    for entry in walkdir::WalkDir::new(specs()) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(specs()).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn full_definitions_carry_pages_plans_servers_and_metadata() {
    let store = tempfile::tempdir().unwrap();
    let provider = provider_on(&specs(), &store.path().join("keys.json"));
    let apis = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    let by_id = |id: &str| apis.iter().find(|a| a.id == id).unwrap();

    let swagger = by_id("petstore/swagger.yaml");
    assert_eq!(swagger.unique_id, "petstore/swagger.yaml");
    assert_eq!(swagger.name, "Swagger Petstore");
    assert_eq!(swagger.version.as_deref(), Some("1.0.7"));
    assert_eq!(
        swagger.description.as_deref(),
        Some("A sample pet store API, in Swagger 2.0.")
    );
    assert_eq!(swagger.api_type, Some(ApiType::Proxy));
    let url = &swagger.connection_details.as_ref().unwrap()["url"];
    assert_eq!(url, "https://petstore.example.com/v2");
    let page = &swagger.pages.as_ref().unwrap()[0];
    assert_eq!(page.page_type, PageType::Swagger);
    assert_eq!(page.filename.as_deref(), Some("swagger.yaml"));
    let on_disk = std::fs::read_to_string(specs().join("petstore/swagger.yaml")).unwrap();
    assert_eq!(page.content, on_disk);
    let plans = swagger.plans.as_ref().unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].id, "api-key");
    assert_eq!(plans[0].plan_security_type, PlanSecurityType::ApiKey);
    let metadata: Vec<_> = swagger
        .metadata
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.value.as_str()))
        .collect();
    assert_eq!(
        metadata,
        [
            ("openapi-files-path", "petstore/swagger.yaml"),
            ("openapi-files-spec", "Swagger 2.0")
        ]
    );

    let oas30 = by_id("payments/openapi.json");
    assert_eq!(
        (oas30.name.as_str(), oas30.version.as_deref()),
        ("Payments API", Some("2.3.0"))
    );
    let url = &oas30.connection_details.as_ref().unwrap()["url"];
    assert_eq!(url, "https://eu.payments.example.com/v2");

    let oas31 = by_id("payments/refunds-openapi-3.1.yaml");
    assert_eq!(
        (oas31.name.as_str(), oas31.version.as_deref()),
        ("Refunds API", Some("1.0"))
    );
    let spec = &oas31.metadata.as_ref().unwrap()[1];
    assert_eq!(spec.value, "OpenAPI 3.1.0");

    let events = by_id("events/orders-asyncapi.yaml");
    assert_eq!(events.api_type, Some(ApiType::Message));
    assert_eq!(
        events.pages.as_ref().unwrap()[0].page_type,
        PageType::Asyncapi
    );
    let details = events.connection_details.as_ref().unwrap();
    assert_eq!(details["url"], "kafka://kafka.example.com:9092");
    assert_eq!(details["protocol"], "kafka");
}

#[tokio::test]
async fn preview_is_a_summary_and_full_covers_it() {
    let store = tempfile::tempdir().unwrap();
    let provider = provider_on(&specs(), &store.path().join("keys.json"));
    let preview = collect(&provider, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(ids(&preview), SAMPLE_IDS);
    for api in &preview {
        assert_eq!(
            api,
            &api.summary(),
            "a preview carries uniqueId, id, name and version only"
        );
        assert!(!api.name.trim().is_empty());
    }
    let full = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    let summaries: Vec<Api> = full.iter().map(Api::summary).collect();
    assert_eq!(preview, summaries);

    let only: BTreeSet<String> =
        ["payments/openapi.json".to_owned(), "nope.yaml".to_owned()].into();
    let selected = collect(&provider, &DiscoverRequest::full(Selection::Only(only)))
        .await
        .unwrap();
    assert_eq!(ids(&selected), ["payments/openapi.json"]);
}

#[tokio::test]
async fn ids_are_the_same_on_another_machine() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    copy_tree(a.path());
    copy_tree(&b.path().join("somewhere/else"));
    let store = tempfile::tempdir().unwrap();
    let first = provider_on(a.path(), &store.path().join("a.json"));
    let second = provider_on(
        &b.path().join("somewhere/else"),
        &store.path().join("b.json"),
    );
    let one = collect(&first, &DiscoverRequest::preview()).await.unwrap();
    let two = collect(&second, &DiscoverRequest::preview()).await.unwrap();
    assert_eq!(one, two);
    assert_eq!(ids(&one), SAMPLE_IDS);
}

#[tokio::test]
async fn include_exclude_size_limit_and_the_key_store_itself() {
    let tree = tempfile::tempdir().unwrap();
    copy_tree(tree.path());
    // A key store inside the tree is never discovered, even though it is JSON.
    let store_path = tree.path().join("keys.json");
    std::fs::write(
        tree.path().join(".hidden.yaml"),
        "openapi: 3.0.0\ninfo: {title: H}\n",
    )
    .unwrap();
    let settings = ProviderSettings::from_pairs([
        ("directory", tree.path().to_str().unwrap()),
        ("keyStorePath", store_path.to_str().unwrap()),
        ("exclude", "petstore/**"),
        ("maxFileSize", "1500"),
    ]);
    let provider = OpenApiFilesProvider::from_settings(&settings).unwrap();
    provider
        .subscribe("payments/openapi.json", &subscription("s-1", "api-key"))
        .await
        .unwrap();
    assert!(store_path.is_file());
    let apis = collect(&provider, &DiscoverRequest::preview())
        .await
        .unwrap();
    // openapi.json (about 2.4 kB) is over the limit; petstore is excluded.
    assert_eq!(
        ids(&apis),
        [
            "events/orders-asyncapi.yaml",
            "payments/refunds-openapi-3.1.yaml"
        ]
    );
}

#[tokio::test]
async fn subscribe_verify_revoke() {
    let store = tempfile::tempdir().unwrap();
    let store_path = store.path().join("keys.json");
    let provider = provider_on(&specs(), &store_path);
    let api = "payments/openapi.json";
    let result = provider
        .subscribe(api, &subscription("sub-1", "api-key"))
        .await
        .unwrap();
    assert_eq!(result.gravitee_subscription_id, "sub-1");
    let key = result.api_key.clone().unwrap();
    let key_id = result.metadata.as_ref().unwrap()["keyId"].clone();
    assert!(key.expose().starts_with(&key_id));
    assert!(
        !format!("{result:?}").contains(key.expose()),
        "the key shows in Debug"
    );

    let verified = provider.verify_key(key.expose()).unwrap();
    assert_eq!(verified.grant.api_id, api);
    assert_eq!(verified.grant.plan_id.as_deref(), Some("api-key"));
    assert_eq!(verified.grant.application_id.as_deref(), Some("app-1"));
    // Another process reads the same answer from the file.
    assert_eq!(
        verify_key_file(&store_path, key.expose()).unwrap(),
        Some(verified)
    );
    assert!(
        !std::fs::read_to_string(&store_path)
            .unwrap()
            .contains(key.expose())
    );

    provider
        .revoke(api, &unsubscription(&result))
        .await
        .unwrap();
    assert_eq!(provider.verify_key(key.expose()), None);
    assert_eq!(verify_key_file(&store_path, key.expose()).unwrap(), None);
    // Revoking again, or revoking a subscription never seen, succeeds.
    provider
        .revoke(api, &unsubscription(&result))
        .await
        .unwrap();
    let mut stranger = unsubscription(&result);
    stranger.gravitee_subscription_id = "never-seen".to_owned();
    provider.revoke(api, &stranger).await.unwrap();
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_clear_errors() {
    let store = tempfile::tempdir().unwrap();
    let provider = provider_on(&specs(), &store.path().join("keys.json"));
    let api = "payments/openapi.json";
    let err = provider
        .subscribe(api, &subscription("s", "gold"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound(_)));
    assert!(
        err.to_string()
            .contains("\"gold\" (configured plans: api-key)"),
        "{err}"
    );
    for bad_api in ["../Cargo.toml", "missing.yaml", "/etc/passwd", "petstore"] {
        let err = provider
            .subscribe(bad_api, &subscription("s", "api-key"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::NotFound(_)),
            "{bad_api}: {err}"
        );
    }
    // OAUTH is not in the capabilities: the connector refuses it before calling subscribe,
    // with this text.
    let mut oauth = subscription("s", "api-key");
    oauth.subscription_type = Some(SubscriptionType::Oauth);
    let err = provider
        .capabilities()
        .check(provider.provider_type(), &oauth)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "openapi-files supports API_KEY subscriptions only; this subscription is OAUTH"
    );
    assert!(provider.key_store().is_empty());
}

#[tokio::test]
async fn keys_survive_a_restart_and_a_redelivery_after_it_rotates() {
    let store = tempfile::tempdir().unwrap();
    let store_path = store.path().join("state/keys.json");
    let api = "events/orders-asyncapi.yaml";
    let first = {
        let provider = provider_on(&specs(), &store_path);
        let first = provider
            .subscribe(api, &subscription("sub-r", "api-key"))
            .await
            .unwrap();
        provider
            .subscribe(api, &subscription("other", "api-key"))
            .await
            .unwrap();
        first
    };

    // "Restart": a new provider on the same store.
    let provider = provider_on(&specs(), &store_path);
    let first_key = first.api_key.clone().unwrap();
    assert_eq!(provider.key_store().len(), 2);
    assert_eq!(
        provider
            .verify_key(first_key.expose())
            .unwrap()
            .grant
            .subscription_id,
        "sub-r"
    );

    // The same subscription delivered again: a new key, the first one stops working.
    let again = provider
        .subscribe(api, &subscription("sub-r", "api-key"))
        .await
        .unwrap();
    let again_key = again.api_key.clone().unwrap();
    assert_ne!(again_key.expose(), first_key.expose());
    assert_eq!(provider.verify_key(first_key.expose()), None);
    assert!(provider.verify_key(again_key.expose()).is_some());
    assert_eq!(provider.key_store().len(), 2);
    drop(provider);

    // After another restart, the rotation held; revoking with the stale (first) metadata still
    // revokes the subscription's live key.
    let provider = provider_on(&specs(), &store_path);
    assert_eq!(provider.verify_key(first_key.expose()), None);
    assert!(provider.verify_key(again_key.expose()).is_some());
    provider.revoke(api, &unsubscription(&first)).await.unwrap();
    assert_eq!(provider.verify_key(again_key.expose()), None);
    assert_eq!(provider.key_store().len(), 1);
}

#[tokio::test]
async fn the_factory_reads_plans_and_names_bad_keys() {
    let store = tempfile::tempdir().unwrap();
    let store_path = store.path().join("keys.json");
    let factory = OpenApiFilesFactory;
    assert_eq!(factory.provider_type(), "openapi-files");
    assert!(factory.config_keys().contains(&"keyStorePath"));
    let settings = ProviderSettings::from_pairs([
        ("directory", specs().to_str().unwrap()),
        ("keyStorePath", store_path.to_str().unwrap()),
        ("plans.0.id", "free"),
        ("plans.1.id", "gold"),
        ("plans.1.name", "Gold"),
        ("plans.1.characteristics.0", "rate 100/s"),
    ]);
    let context = ProviderContext {
        integration_id: "integration-1".to_owned(),
        settings,
    };
    let provider = factory.build(context).await.unwrap();
    assert_eq!(provider.provider_type(), factory.provider_type());
    let apis = collect(provider.as_ref(), &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    let plans = apis[0].plans.as_ref().unwrap();
    let names: Vec<_> = plans
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(names, [("free", "free"), ("gold", "Gold")]);
    assert!(
        provider
            .subscribe(&apis[0].id, &subscription("s", "gold"))
            .await
            .is_ok()
    );

    let context = ProviderContext {
        integration_id: "integration-1".to_owned(),
        settings: ProviderSettings::from_pairs([("directory", specs().to_str().unwrap())]),
    };
    let err = factory.build(context).await.unwrap_err();
    assert_eq!(err.to_string(), "configuration.keyStorePath is missing");

    std::fs::write(&store_path, "not a store").unwrap();
    let context = ProviderContext {
        integration_id: "integration-1".to_owned(),
        settings: ProviderSettings::from_pairs([
            ("directory", specs().to_str().unwrap()),
            ("keyStorePath", store_path.to_str().unwrap()),
        ]),
    };
    let err = factory.build(context).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("configuration.keyStorePath is invalid: key store"),
        "{text}"
    );
}

/// Sees keys through the provider's own verification.
struct Probe(Arc<OpenApiFilesProvider>);

#[async_trait]
impl CredentialProbe for Probe {
    async fn is_active(&self, api_id: &str, result: &SubscriptionResult) -> Result<bool, String> {
        let key = result.api_key.as_ref().ok_or("no apiKey")?;
        Ok(self
            .0
            .verify_key(key.expose())
            .is_some_and(|v| v.grant.api_id == api_id))
    }
}

#[tokio::test]
async fn keeps_the_provider_contract() {
    let store = tempfile::tempdir().unwrap();
    let provider = Arc::new(provider_on(&specs(), &store.path().join("keys.json")));
    let fixture = Fixture::new("payments/openapi.json", "api-key")
        .with_provider_type(OpenApiFilesFactory.provider_type())
        .with_probe(Arc::new(Probe(provider.clone())));
    let report = assert_provider_contract(provider.as_ref(), &fixture).await;
    // Every rule passed, except the optional drift inventory rules (skipped: no inventory).
    let optional = [
        federation_testkit::contract::Rule::InventoryCatalogueConsistent,
        federation_testkit::contract::Rule::InventoryKeysWellFormed,
    ];
    assert!(
        report.checks.iter().all(|c| {
            c.outcome == federation_testkit::Outcome::Passed
                || (optional.contains(&c.rule)
                    && matches!(c.outcome, federation_testkit::Outcome::Skipped(_)))
        }),
        "{report}"
    );
    // The suite revoked everything it issued.
    assert!(provider.key_store().is_empty());
}

/// A Kubernetes config map mounts each key as a link into a hidden, versioned directory.
#[cfg(unix)]
#[tokio::test]
async fn discovers_a_config_map_mount_and_survives_a_link_loop() {
    use std::os::unix::fs::symlink;
    let tree = tempfile::tempdir().unwrap();
    let version = tree.path().join("..2026_01_01_00_00_00.000000001");
    std::fs::create_dir(&version).unwrap();
    std::fs::copy(
        specs().join("payments/openapi.json"),
        version.join("payments.json"),
    )
    .unwrap();
    symlink(&version, tree.path().join("..data")).unwrap();
    symlink("..data/payments.json", tree.path().join("payments.json")).unwrap();
    symlink(".", tree.path().join("loop")).unwrap();

    let store = tempfile::tempdir().unwrap();
    let provider = provider_on(tree.path(), &store.path().join("keys.json"));
    let apis = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(ids(&apis), ["payments.json"]);
    assert_eq!(apis[0].name, "Payments API");
    let result = provider
        .subscribe("payments.json", &subscription("s-cm", "api-key"))
        .await
        .unwrap();
    assert!(
        provider
            .verify_key(result.api_key.unwrap().expose())
            .is_some()
    );
}
