//! Trying an agent against the simulator builds no AWS SDK: this package (library and
//! `federation-controller-simulator` binary) depends on no `aws-*` SDK crate, nor on a
//! configuration loader (figment). `aws-lc-rs` and `aws-lc-sys` are not AWS SDK crates: they
//! are rustls's crypto provider, the one TLS stack.

use federation_testkit::dependencies::{is_aws_sdk, is_configuration_loader, normal_dependencies};

#[test]
fn the_simulator_builds_no_aws_sdk_crate() {
    let crates =
        normal_dependencies(env!("CARGO_MANIFEST_DIR"), env!("CARGO_PKG_NAME"), &[]).unwrap();
    // The check sees the binary's own dependencies (clap), so it would see an AWS crate too.
    assert!(crates.iter().any(|c| c == "clap"), "{crates:?}");
    let aws: Vec<_> = crates.iter().filter(|c| is_aws_sdk(c)).collect();
    assert!(
        aws.is_empty(),
        "AWS SDK crates in the simulator's build: {aws:?}"
    );
    let loader: Vec<_> = crates
        .iter()
        .filter(|c| is_configuration_loader(c))
        .collect();
    assert!(
        loader.is_empty(),
        "a configuration loader in the simulator's build: {loader:?}"
    );
}
