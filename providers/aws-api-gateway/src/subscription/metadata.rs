//! The metadata a SUBSCRIBE reply carries, and the [`SubscriptionResult`] built from a key.
//!
//! The reply's metadata is everything `revoke` needs, since UNSUBSCRIBE brings it back:
//! `apiKeyId`, `usagePlanId`, `region`, and `account`/`roleArn` in multi-account mode
//! (`docs/reference/aws-api-gateway.md`, "Our mapping").

use federation_core::SubscriptionResult;

use super::issued::CachedKey;

/// Subscription metadata key: the API key id.
pub(super) const META_API_KEY_ID: &str = "apiKeyId";
/// Subscription metadata key: the usage plan id.
pub(super) const META_USAGE_PLAN_ID: &str = "usagePlanId";
/// Subscription metadata key: the region.
pub(super) const META_SUB_REGION: &str = "region";
/// Subscription metadata key: the account (multi-account mode).
pub(super) const META_SUB_ACCOUNT: &str = "account";
/// Subscription metadata key: the assumed role (multi-account mode).
pub(super) const META_SUB_ROLE: &str = "roleArn";

/// The SUBSCRIBE reply for `key`: its value and where it lives.
pub(super) fn subscription_result(subscription_id: &str, key: &CachedKey) -> SubscriptionResult {
    let target = &key.target;
    let mut result = SubscriptionResult::new(subscription_id)
        .with_api_key(key.value.clone())
        .with_metadata(META_API_KEY_ID, &key.key_id)
        .with_metadata(META_USAGE_PLAN_ID, &key.plan_id)
        .with_metadata(META_SUB_REGION, &target.region);
    if let Some(account) = &target.account {
        result = result.with_metadata(META_SUB_ACCOUNT, account);
    }
    if let Some(role) = &target.role_arn {
        result = result.with_metadata(META_SUB_ROLE, role);
    }
    result
}
