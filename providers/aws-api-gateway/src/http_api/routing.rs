//! Which target (account × region) holds an HTTP API a subscription names.
//!
//! The subscription's metadata may name the region (`region` from the SUBSCRIBE reply, the
//! API's `aws-api-gateway-region` metadata from APIM 4.9 on, or the region of an invoke `url`),
//! the account (`account`, `aws-api-gateway-account`) and the role (`roleArn`). The configured
//! targets matching all of them are the candidates; with several (a custom domain URL names no
//! region, and APIM before 4.9 sends no API metadata), the first candidate where `GetApi` finds
//! the HTTP API is the one.

use std::sync::Arc;

use federation_core::{ProviderError, Subscription};

use super::reads::get_api;
use crate::provider::AwsApiGatewayProvider;
use crate::subscription::Routing;
use crate::target::Target;

/// The target holding HTTP API `http_api_id`, among the metadata's candidates
/// ([`Routing`], as for API keys).
pub(crate) async fn target_of<'p>(
    provider: &'p AwsApiGatewayProvider,
    subscription: &Subscription,
    http_api_id: &str,
) -> Result<&'p Arc<Target>, ProviderError> {
    let routing = Routing::of(subscription);
    let candidates = provider.candidates(&routing);
    match candidates.as_slice() {
        [] => Err(ProviderError::InvalidRequest(format!(
            "the subscription names {}, which this agent is not configured for: add the \
             region/role to the configuration",
            provider.describe(&routing)
        ))),
        [only] => Ok(only),
        _ => {
            for target in candidates {
                match get_api(target, http_api_id).await {
                    Ok(_) => return Ok(target),
                    Err(err) if err.is_not_found() => {}
                    Err(err) => return Err(err.into()),
                }
            }
            Err(ProviderError::NotFound(format!(
                "HTTP API {http_api_id} was not found in {}",
                provider.describe(&routing)
            )))
        }
    }
}
