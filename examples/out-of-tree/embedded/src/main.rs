//! The Acme Gateway provider served by the connector inside a program of its own, configured
//! in code: `acme-gateway-embedded ENDPOINT TOKEN INTEGRATION_ID`, until Ctrl-C or the
//! controller's GOOD_BYE without reconnect. No agent binary, no `gravitee.yml`, and no
//! configuration loader in the build (the provider without its `factory` feature).
use std::sync::Arc;

use federation_connector::{Connector, Integration};
use federation_provider_acme_gateway::{AcmeProvider, AcmeSettings};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let [endpoint, token, integration_id] = std::env::args()
        .skip(1)
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| "usage: acme-gateway-embedded ENDPOINT TOKEN INTEGRATION_ID")?;
    let settings = AcmeSettings::new("eu-1", "acme-api-token");
    let provider = Arc::new(AcmeProvider::connect(settings).await?);
    Connector::for_controller(endpoint, &token)?
        .with_integration(Integration::of(integration_id, provider))
        .run(async { tokio::signal::ctrl_c().await.unwrap_or_default() })
        .await?;
    Ok(())
}
