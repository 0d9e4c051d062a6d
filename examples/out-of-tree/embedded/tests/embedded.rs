//! The embedder: its build holds no configuration loader, and the program serves the
//! controller simulator until GOOD_BYE.

use std::process::{Command, Stdio};
use std::time::Duration;

use federation_simulator::{Simulator, SimulatorConfig, SubscribeRequest};
use federation_testkit::dependencies::{is_configuration_loader, normal_dependencies};

/// What `package` links (`cargo tree` of its normal dependencies); `extra` adds feature flags.
fn linked(package: &str, extra: &[&str]) -> Vec<String> {
    normal_dependencies(env!("CARGO_MANIFEST_DIR"), package, extra).unwrap()
}

#[test]
fn the_embedder_compiles_no_configuration_loader() {
    let crates = linked(env!("CARGO_PKG_NAME"), &[]);
    for needed in ["federation-connector", "federation-provider-acme-gateway"] {
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
fn the_provider_factory_brings_figment_and_the_check_sees_it() {
    let crates = linked("federation-provider-acme-gateway", &[]);
    assert!(crates.iter().any(|c| c == "figment"), "{crates:?}");
    let without = linked(
        "federation-provider-acme-gateway",
        &["--no-default-features"],
    );
    assert!(
        !without.iter().any(|c| is_configuration_loader(c)),
        "{without:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_simulator_until_good_bye() {
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .token("t0ken")
            .integration("embedded", "acme-gateway"),
    )
    .await
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_acme-gateway-embedded"))
        .args([&simulator.endpoint(), "t0ken", "embedded"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let wait = Duration::from_secs(30);
    simulator.wait_connected("embedded", wait).await.unwrap();
    let request = SubscribeRequest::api_key("orders", Some("standard".to_owned()));
    let (_, result) = simulator.subscribe("embedded", request).await.unwrap();
    assert!(result.api_key.is_some());
    simulator.goodbye("embedded", false).await.unwrap();
    let deadline = tokio::time::Instant::now() + wait;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the program did not stop after GOOD_BYE");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
}
