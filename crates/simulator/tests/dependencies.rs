//! Trying an agent against the simulator builds no AWS SDK: this package (library and
//! `federation-controller-simulator` binary) depends on no `aws-*` SDK crate. `aws-lc-rs` and
//! `aws-lc-sys` are not among them: they are rustls's crypto provider, the one TLS stack.

#![allow(clippy::unwrap_used)]

use std::process::Command;

/// `cargo tree` of this package's normal dependencies (what the binary links), one crate name
/// per line.
fn normal_dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
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

fn is_aws_sdk(name: &str) -> bool {
    name.starts_with("aws-") && !name.starts_with("aws-lc-")
}

#[test]
fn the_simulator_builds_no_aws_sdk_crate() {
    let crates = normal_dependencies(env!("CARGO_PKG_NAME"));
    // The check sees the binary's own dependencies (clap), so it would see an AWS crate too.
    assert!(crates.iter().any(|c| c == "clap"), "{crates:?}");
    let aws: Vec<_> = crates.iter().filter(|c| is_aws_sdk(c)).collect();
    assert!(
        aws.is_empty(),
        "AWS SDK crates in the simulator's build: {aws:?}"
    );
}
