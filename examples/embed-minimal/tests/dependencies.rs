//! The connector's promise, kept by a whole embedder's build: the connector, tokio and a
//! provider (here the test kit's `MemoryProvider`, without the kit's `factory` feature) compile
//! no configuration loader (figment, a YAML parser, `federation-config`) and no Kubernetes
//! client (reqwest).

#![allow(clippy::unwrap_used)]

use federation_testkit::dependencies::{is_configuration_loader, normal_dependencies};

/// This package's normal dependencies (what the program links); `extra` adds feature flags.
fn linked(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--locked"];
    args.extend_from_slice(extra);
    normal_dependencies(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &args).unwrap()
}

#[test]
fn the_embedder_compiles_no_configuration_loader() {
    let crates = linked(&[]);
    for needed in ["federation-connector", "federation-testkit", "tokio"] {
        assert!(
            crates.iter().any(|c| c == needed),
            "{needed} not in {crates:?}"
        );
    }
    let loader: Vec<_> = crates
        .iter()
        .filter(|c| is_configuration_loader(c))
        .collect();
    assert!(
        loader.is_empty(),
        "a configuration loader in the build: {loader:?}"
    );
}

#[test]
fn the_check_sees_figment_once_the_test_kit_factory_is_on() {
    let crates = linked(&["--features", "federation-testkit/factory"]);
    assert!(crates.iter().any(|c| c == "figment"), "{crates:?}");
}
