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
use crate::mapping::{META_ACCOUNT, META_REGION, region_of_invoke_url};
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// The target holding HTTP API `http_api_id`, among the metadata's candidates.
pub(crate) async fn target_of<'p>(
    provider: &'p AwsApiGatewayProvider,
    subscription: &Subscription,
    http_api_id: &str,
) -> Result<&'p Arc<Target>, ProviderError> {
    let value = |key: &str| {
        subscription
            .metadata_value(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let region = value("region")
        .or_else(|| value(META_REGION))
        .or_else(|| value("url").and_then(region_of_invoke_url));
    let account = value("account").or_else(|| value(META_ACCOUNT));
    let role = value("roleArn");
    let candidates: Vec<&Arc<Target>> = provider
        .targets
        .iter()
        .filter(|t| region.is_none_or(|r| t.region == r))
        .filter(|t| account.is_none_or(|a| t.account.as_deref().is_none_or(|ta| ta == a)))
        .filter(|t| role.is_none_or(|r| t.role_arn.as_deref().is_none_or(|tr| tr == r)))
        .collect();
    let describe = || {
        let named: Vec<String> = [("region", region), ("account", account), ("role", role)]
            .into_iter()
            .filter_map(|(what, v)| v.map(|v| format!("{what} {v}")))
            .collect();
        format!(
            "{} (configured: {})",
            if named.is_empty() {
                "any target".to_owned()
            } else {
                named.join(", ")
            },
            provider.target_labels().join(", ")
        )
    };
    match candidates.as_slice() {
        [] => Err(ProviderError::InvalidRequest(format!(
            "the subscription names {}, which this agent is not configured for: add the \
             region/role to the configuration",
            describe()
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
                describe()
            )))
        }
    }
}
