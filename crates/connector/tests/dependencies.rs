//! An embedder's build: the connector's normal dependencies hold no configuration loader (no
//! figment, no YAML parser) and no Kubernetes client (no reqwest).

#![allow(clippy::unwrap_used)]

use std::process::Command;

/// `cargo tree` of `package`'s normal dependencies, one crate name per line.
fn normal_dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}", "-p", package])
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

fn heavy(name: &str) -> bool {
    name == "reqwest" || name == "figment" || name.contains("yaml") || name == "federation-config"
}

#[test]
fn the_connector_pulls_no_configuration_loader_nor_kubernetes_client() {
    let crates = normal_dependencies("federation-connector");
    assert!(
        crates.iter().any(|c| c == "federation-connector-config"),
        "{crates:?}"
    );
    let heavy: Vec<_> = crates.iter().filter(|c| heavy(c)).collect();
    assert!(heavy.is_empty(), "{heavy:?}");
}

#[test]
fn the_check_sees_them_in_the_configuration_loader() {
    let crates = normal_dependencies("federation-config");
    for name in ["reqwest", "figment"] {
        assert!(crates.iter().any(|c| c == name), "{name} not in {crates:?}");
    }
}
