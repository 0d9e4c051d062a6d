//! The embedder: its build holds no configuration loader, and the program serves the
//! controller simulator until GOOD_BYE.

use std::process::{Command, Stdio};
use std::time::Duration;

use federation_simulator::{Simulator, SimulatorConfig, SubscribeRequest};

/// `cargo tree` of `package`'s normal dependencies (what it links), one crate name per line.
fn normal_dependencies(package: &str, extra: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// A configuration loader: figment, a YAML parser, the agent's loader and its Kubernetes client.
fn loader(name: &str) -> bool {
    name == "figment" || name.contains("yaml") || name == "federation-config" || name == "reqwest"
}

#[test]
fn the_embedder_compiles_no_configuration_loader() {
    let crates = normal_dependencies(env!("CARGO_PKG_NAME"), &[]);
    for needed in ["federation-connector", "federation-provider-acme-gateway"] {
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
fn the_provider_factory_brings_figment_and_the_check_sees_it() {
    let crates = normal_dependencies("federation-provider-acme-gateway", &[]);
    assert!(crates.iter().any(|c| c == "figment"), "{crates:?}");
    let without = normal_dependencies(
        "federation-provider-acme-gateway",
        &["--no-default-features"],
    );
    assert!(!without.iter().any(|c| loader(c)), "{without:?}");
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
