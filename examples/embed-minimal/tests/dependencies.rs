//! The connector's promise, kept by a whole embedder's build: the connector, tokio and a
//! provider (here the test kit's `MemoryProvider`, without the kit's `factory` feature) compile
//! no configuration loader (figment, a YAML parser, `federation-config`) and no Kubernetes
//! client (reqwest).

#![allow(clippy::unwrap_used)]

use std::process::Command;

/// `cargo tree` of this package's normal dependencies (what the program links), one crate name
/// per line.
fn normal_dependencies(extra: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "--locked", "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .args(["-p", env!("CARGO_PKG_NAME")])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn loader(name: &str) -> bool {
    name == "figment" || name.contains("yaml") || name == "reqwest" || name == "federation-config"
}

#[test]
fn the_embedder_compiles_no_configuration_loader() {
    let crates = normal_dependencies(&[]);
    for needed in ["federation-connector", "federation-testkit", "tokio"] {
        assert!(
            crates.iter().any(|c| c == needed),
            "{needed} not in {crates:?}"
        );
    }
    let loader: Vec<_> = crates.iter().filter(|c| loader(c)).collect();
    assert!(
        loader.is_empty(),
        "a configuration loader in the build: {loader:?}"
    );
}

#[test]
fn the_check_sees_figment_once_the_test_kit_factory_is_on() {
    let crates = normal_dependencies(&["--features", "federation-testkit/factory"]);
    assert!(crates.iter().any(|c| c == "figment"), "{crates:?}");
}
