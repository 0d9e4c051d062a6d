//! The connector in a program of its own: `embed-minimal [ENDPOINT [TOKEN]]`, until Ctrl-C.
use std::sync::Arc;

use federation_connector::{Connector, ConnectorError, Integration};
use federation_testkit::MemoryProvider;

#[tokio::main]
async fn main() -> Result<(), ConnectorError> {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .unwrap_or("http://127.0.0.1:8072/integration-controller".into());
    let token = args.next().unwrap_or("demo-token".into());
    let provider = Arc::new(MemoryProvider::with_sample_apis(3)); // your provider here
    Connector::for_controller(endpoint, &token)?
        .with_integration(Integration::of("embedded", provider))
        .run(async { tokio::signal::ctrl_c().await.unwrap_or_default() })
        .await
}
