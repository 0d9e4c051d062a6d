//! An embedder's build: the connector's normal dependencies hold no configuration loader (no
//! figment, no YAML parser) and no Kubernetes client (no reqwest).

#![allow(clippy::unwrap_used)]

use federation_testkit::dependencies::{is_configuration_loader, normal_dependencies};

fn normal_dependencies_of(package: &str) -> Vec<String> {
    normal_dependencies(env!("CARGO_MANIFEST_DIR"), package, &["--locked"]).unwrap()
}

#[test]
fn the_connector_pulls_no_configuration_loader_nor_kubernetes_client() {
    let crates = normal_dependencies_of("federation-connector");
    assert!(
        crates.iter().any(|c| c == "federation-connector-config"),
        "{crates:?}"
    );
    let heavy: Vec<_> = crates
        .iter()
        .filter(|c| is_configuration_loader(c))
        .collect();
    assert!(heavy.is_empty(), "{heavy:?}");
}

#[test]
fn the_check_sees_them_in_the_configuration_loader() {
    let crates = normal_dependencies_of("federation-config");
    for name in ["reqwest", "figment"] {
        assert!(crates.iter().any(|c| c == name), "{name} not in {crates:?}");
    }
}
