//! Naive baselines for the benchmarks: what the provider did before a change, run in the same
//! process against the same budget, so a figure can sit next to the behaviour it replaced.

use crate::provider::AwsApiGatewayProvider;
use crate::reads::{get_stages, list_rest_apis};

/// The drift check's catalogue before issue 20: `GetRestApis`, then one `GetStages` per REST
/// API, one at a time, as foreground calls of `provider`'s budget (the check ran at the full
/// `requestsPerSecond`, queued with everyone else). Returns the `GetStages` calls made; stops
/// at the first error.
pub async fn stage_walk_before_issue_20(provider: &AwsApiGatewayProvider) -> usize {
    let mut made = 0;
    for target in &provider.targets {
        let Ok(rest_apis) = list_rest_apis(target).await else {
            return made;
        };
        for rest in &rest_apis {
            made += 1;
            if get_stages(target, &rest.id).await.is_err() {
                return made;
            }
        }
    }
    made
}
