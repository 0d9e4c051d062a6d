//! The factory reads the `configuration` block: bad settings fail at build, naming the key; a
//! provider built through a registry declares the factory's type.

use federation_core::{ProviderContext, ProviderRegistry, ProviderSettings};
use federation_provider_acme_gateway::{ACME_TYPE, AcmeFactory};

fn context(pairs: &[(&str, &str)]) -> ProviderContext {
    ProviderContext {
        integration_id: "integration-1".to_owned(),
        settings: ProviderSettings::from_pairs(pairs.iter().copied()),
    }
}

#[tokio::test]
async fn bad_settings_fail_at_build_naming_the_key() {
    let registry = ProviderRegistry::new().with(AcmeFactory);
    let error = registry
        .build(ACME_TYPE, context(&[("apiToken", "t0ken")]))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "configuration.region is missing");
    let pairs = [("region", "eu-1"), ("apiToken", "t0ken"), ("pageSize", "0")];
    let error = registry
        .build(ACME_TYPE, context(&pairs))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "configuration.pageSize is invalid: must be 1 to 500"
    );
}

#[tokio::test]
async fn a_provider_built_by_the_registry_declares_the_factory_type() {
    let registry = ProviderRegistry::new().with(AcmeFactory);
    let pairs = [
        ("region", "eu-1"),
        ("apiToken", "t0ken"),
        ("tags", "a, b,,c"),
    ];
    let provider = registry.build(ACME_TYPE, context(&pairs)).await.unwrap();
    assert_eq!(provider.provider_type(), ACME_TYPE);
}
