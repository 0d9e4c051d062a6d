//! # custom-provider: a provider for an imaginary vendor, served to a controller
//!
//! - [`acme`]: the provider for *Acme API Hub*: typed settings, the `Provider` impl and its
//!   `ProviderFactory`.
//! - [`vendor`]: a stand-in for Acme itself and its SDK client (a catalog of APIs with plans,
//!   and a key store), in memory.
//! - this file: serves the provider to an integration controller.
//!
//! `cargo run -p federation-example-custom-provider` starts an in-process controller simulator,
//! runs the connector with the provider, then drives what APIM would (DISCOVER, START_INGEST,
//! SUBSCRIBE, UNSUBSCRIBE), printing each step, and exits.
//!
//! `cargo run -p federation-example-custom-provider -- --endpoint URL --token T
//! --integration-id ID` connects to an external controller instead (the
//! `federation-controller-simulator` binary, or APIM) and serves until Ctrl-C.
//!
//! `cargo test -p federation-example-custom-provider` runs the provider contract suite against
//! it. A package of its own: its build has no AWS SDK crate.
//!
//! Set `RUST_LOG=info` to see the connector's logs too.

mod acme;
mod vendor;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use acme::{ACME_TYPE, AcmeFactory};
use clap::Parser;
use federation_connector::{Connector, ConnectorConfig, Integration, IntegrationStatus};
use federation_core::{Provider, ProviderContext, ProviderRegistry, ProviderSettings, Secret};
use federation_simulator::{Simulator, SimulatorConfig, SubscribeRequest};
use vendor::AcmeClient;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The token the provider authenticates to Acme with (its `apiToken` setting).
const ACME_TOKEN: &str = "acme-example-token";

/// Serve the Acme API Hub example provider to an integration controller.
#[derive(Debug, Parser)]
#[command(name = "custom-provider")]
struct Cli {
    /// Controller URL, e.g. http://127.0.0.1:8072/integration-controller. Without it, an
    /// in-process simulator is started and a scripted run drives the provider.
    #[arg(long, requires = "integration_id")]
    endpoint: Option<String>,
    /// Bearer token sent to the controller (`Authorization: bearer <token>`).
    #[arg(long)]
    token: Option<String>,
    /// The integration id the controller knows (created with provider type `acme-api-hub`).
    #[arg(long)]
    integration_id: Option<String>,
    /// The Acme tenant to federate (the provider's `tenant` setting).
    #[arg(long, default_value = "demo")]
    tenant: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logging on stderr: a plain `tracing` subscriber (RUST_LOG wins). The scripted run prints
    // its own steps: warnings only.
    let level = if cli.endpoint.is_some() {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match (&cli.endpoint, &cli.integration_id) {
        (Some(endpoint), Some(id)) => serve(endpoint, cli.token.as_deref(), id, &cli.tenant).await,
        _ => demo(&cli.tenant).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("custom-provider: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the provider the way an agent binary does: the factory registered for its type, given
/// the integration id and the `configuration` block (and the provider must declare that type).
async fn build_provider(integration_id: &str, tenant: &str) -> Result<Arc<dyn Provider>, Error> {
    let registry = ProviderRegistry::new().with(AcmeFactory);
    let context = ProviderContext {
        integration_id: integration_id.to_owned(),
        settings: ProviderSettings::from_pairs([("tenant", tenant), ("apiToken", ACME_TOKEN)]),
    };
    Ok(registry.build(ACME_TYPE, context).await?)
}

/// `integration.connector.*` built in code: one endpoint, the bearer token as a header.
fn connector_config(endpoint: &str, token: Option<&str>) -> ConnectorConfig {
    let mut config = ConnectorConfig::for_controller(endpoint, token.unwrap_or_default());
    if token.is_none() {
        config.ws.headers.clear(); // no token, no Authorization header
    }
    config
}

/// The scripted run: an in-process controller simulator drives the provider as APIM would.
async fn demo(tenant: &str) -> Result<(), Error> {
    const INTEGRATION: &str = "acme-demo";
    const TOKEN: &str = "demo-token";
    let config = SimulatorConfig::default()
        .integration(INTEGRATION, ACME_TYPE)
        .token(TOKEN);
    let simulator = Simulator::start(config).await?;
    println!(
        "[1] controller simulator listening on {}",
        simulator.endpoint()
    );

    let provider = build_provider(INTEGRATION, tenant).await?;
    let config = connector_config(&simulator.endpoint(), Some(TOKEN));
    // `Integration::of`: HELLO's provider type is the provider's own (`acme-api-hub`).
    let connector =
        Connector::from_config(&config)?.with_integration(Integration::of(INTEGRATION, provider));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(connector.run(async {
        let _ = stopped.await;
    }));
    simulator
        .wait_connected(INTEGRATION, Duration::from_secs(10))
        .await?;
    println!("[2] connector connected: HELLO accepted for {INTEGRATION} (provider {ACME_TYPE})");

    let preview = simulator.discover(INTEGRATION).await?;
    println!("[3] DISCOVER: {} APIs previewed", preview.apis.len());
    for api in &preview.apis {
        let version = api.version.as_deref().unwrap_or("-");
        println!(
            "      {:<10} {:<14} {version:<6} uniqueId {}",
            api.id, api.name, api.unique_id
        );
    }

    let job = simulator
        .ingest(INTEGRATION, None, Duration::from_secs(30))
        .await?;
    println!(
        "[4] START_INGEST + INGEST: {} APIs in {} batch(es)",
        job.apis.len(),
        job.batches
    );
    for api in &job.apis {
        let plans: Vec<_> = api.plans.iter().flatten().map(|p| p.id.as_str()).collect();
        let pages = api.pages.as_ref().map_or(0, Vec::len);
        let url = api.connection_details.as_ref().and_then(|c| c.get("url"));
        println!(
            "      {:<14} {pages} page, plans [{}], url {}",
            api.name,
            plans.join(", "),
            url.map_or("-", String::as_str)
        );
    }

    // Acme's gateway, seen from outside the agent: does a key work?
    let acme = AcmeClient::connect(tenant, &Secret::new(ACME_TOKEN));
    let (api_id, plan_id) = ("weather", "pro");
    let request = SubscribeRequest::api_key(api_id, Some(plan_id.to_owned()));
    let (subscription_id, result) = simulator.subscribe(INTEGRATION, request).await?;
    let key = result.api_key.ok_or("SUBSCRIBE returned no API key")?;
    let works = acme.key_works(api_id, key.expose()).await;
    let shown: String = key.expose().chars().take(9).collect();
    println!("[5] SUBSCRIBE {api_id} on plan {plan_id}: API key {shown}… issued");
    println!(
        "      metadata kept by the controller: {:?}",
        result.metadata.unwrap_or_default()
    );
    println!("      Acme accepts the key on {api_id}: {works}");

    simulator.unsubscribe(INTEGRATION, &subscription_id).await?;
    let still_works = acme.key_works(api_id, key.expose()).await;
    println!("[6] UNSUBSCRIBE: Acme accepts the key on {api_id}: {still_works}");
    if !works || still_works {
        return Err("the key should work after SUBSCRIBE and not after UNSUBSCRIBE".into());
    }

    let _ = stop.send(());
    running.await??;
    simulator.shutdown();
    println!("[7] connector stopped cleanly; done.");
    Ok(())
}

/// Serves the provider to an external controller until Ctrl-C.
async fn serve(
    endpoint: &str,
    token: Option<&str>,
    integration_id: &str,
    tenant: &str,
) -> Result<(), Error> {
    let provider = build_provider(integration_id, tenant).await?;
    let connector = Connector::from_config(&connector_config(endpoint, token))?
        .with_integration(Integration::of(integration_id, provider));
    let status = connector.status();
    let id = integration_id.to_owned();
    tokio::spawn(async move {
        let connected = |all: &[IntegrationStatus]| all.iter().any(IntegrationStatus::connected);
        if status.wait_for(Duration::from_secs(3600), connected).await {
            println!("HELLO accepted: integration {id} is served. Ctrl-C stops.");
        }
    });
    println!("Serving Acme tenant {tenant} ({ACME_TYPE}) to {endpoint} ...");
    connector
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    println!("Stopped.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use acme::AcmeProvider;
    use async_trait::async_trait;
    use federation_core::{ProviderFactory, SubscriptionResult};
    use federation_testkit::contract::{
        CredentialProbe, Fixture, Outcome, Rule, assert_provider_contract,
    };

    /// Lets the suite see whether a key works, by asking Acme (not the provider).
    struct AcmeProbe(AcmeClient);

    #[async_trait]
    impl CredentialProbe for AcmeProbe {
        async fn is_active(
            &self,
            api_id: &str,
            result: &SubscriptionResult,
        ) -> Result<bool, String> {
            let key = result.api_key.as_ref().ok_or("the result has no apiKey")?;
            Ok(self.0.key_works(api_id, key.expose()).await)
        }
    }

    fn settings(pairs: &[(&'static str, &'static str)]) -> ProviderSettings {
        ProviderSettings::from_pairs(pairs.iter().copied())
    }

    #[tokio::test]
    async fn acme_keeps_the_provider_contract() {
        let token = ("apiToken", ACME_TOKEN);
        let provider = AcmeProvider::from_settings(&settings(&[("tenant", "contract"), token]));
        let provider = provider.unwrap();
        let probe = AcmeProbe(AcmeClient::connect("contract", &Secret::new(ACME_TOKEN)));
        // The type the provider must declare: its factory's.
        let fixture = Fixture::new("weather", "pro")
            .with_provider_type(AcmeFactory.provider_type())
            .with_probe(Arc::new(probe));
        let report = assert_provider_contract(&provider, &fixture).await;
        // With a probe nothing is skipped but the optional drift inventory rules (Acme offers no
        // inventory): every other rule was checked, and passed.
        let optional = [
            Rule::InventoryCatalogueConsistent,
            Rule::InventoryKeysWellFormed,
        ];
        let passed = report
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Passed);
        assert_eq!(
            passed.count(),
            report.checks.len() - optional.len(),
            "{report}"
        );
    }

    #[tokio::test]
    async fn bad_settings_fail_at_build_naming_the_key() {
        let build = |pairs| {
            AcmeFactory.build(ProviderContext {
                integration_id: "settings-test".to_owned(),
                settings: settings(pairs),
            })
        };
        let missing = build(&[("apiToken", "t")]).await.unwrap_err();
        assert_eq!(missing.to_string(), "configuration.tenant is missing");
        let bad_url = [("tenant", "t"), ("apiToken", "t"), ("baseUrl", "ftp://x")];
        let bad_url = build(&bad_url).await.unwrap_err();
        assert_eq!(
            bad_url.to_string(),
            "configuration.baseUrl is invalid: expected an http(s) URL"
        );
        assert!(build(&[("tenant", "t"), ("apiToken", "t")]).await.is_ok());
    }

    #[tokio::test]
    async fn the_scripted_run_works_end_to_end() {
        demo("end-to-end-test").await.unwrap();
    }
}
