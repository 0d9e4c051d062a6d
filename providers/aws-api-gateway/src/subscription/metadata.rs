//! The metadata a SUBSCRIBE reply carries, and the [`SubscriptionResult`] built from a key.
//!
//! The reply's metadata is everything `revoke` needs, since UNSUBSCRIBE brings it back:
//! `apiKeyId`, `usagePlanId`, `region`, and `account`/`roleArn` in multi-account mode
//! (`docs/reference/aws-api-gateway.md`, "Our mapping"). An application's key adds
//! `apiKeyScope: application` and `applicationId` (UNSUBSCRIBE carries no
//! `graviteeApplicationId`); a reply without `apiKeyScope` (a subscription's own key, and every
//! key issued by earlier versions) is revoked as a subscription's key.

use federation_core::{Secret, Subscription, SubscriptionResult};

use super::issued::CachedKey;
use crate::target::Target;

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
/// Subscription metadata key: `application` when the key is the application's.
pub(super) const META_API_KEY_SCOPE: &str = "apiKeyScope";
/// Subscription metadata key: the Gravitee application whose key it is.
pub(super) const META_APPLICATION_ID: &str = "applicationId";
/// [`META_API_KEY_SCOPE`]'s value for an application's key.
pub(super) const SCOPE_APPLICATION: &str = "application";

/// The SUBSCRIBE reply for a subscription's own `key`: its value and where it lives.
pub(super) fn subscription_result(subscription_id: &str, key: &CachedKey) -> SubscriptionResult {
    result(
        subscription_id,
        &key.target,
        &key.key_id,
        &key.value,
        &key.plan_id,
    )
}

/// The SUBSCRIBE reply for the key of application `application_id`.
pub(super) fn application_result(
    subscription_id: &str,
    target: &Target,
    key_id: &str,
    value: &Secret,
    plan_id: &str,
    application_id: &str,
) -> SubscriptionResult {
    result(subscription_id, target, key_id, value, plan_id)
        .with_metadata(META_API_KEY_SCOPE, SCOPE_APPLICATION)
        .with_metadata(META_APPLICATION_ID, application_id)
}

fn result(
    subscription_id: &str,
    target: &Target,
    key_id: &str,
    value: &Secret,
    plan_id: &str,
) -> SubscriptionResult {
    let result = SubscriptionResult::new(subscription_id)
        .with_api_key(value.clone())
        .with_metadata(META_API_KEY_ID, key_id)
        .with_metadata(META_USAGE_PLAN_ID, plan_id);
    with_target(result, target)
}

/// `result` with the metadata naming where it lives: `region`, and `account` / `roleArn` in
/// multi-account mode (what [`Routing::of`](super::Routing::of) reads back at UNSUBSCRIBE). Every
/// SUBSCRIBE reply carries them, OAUTH ones on HTTP APIs included.
pub(crate) fn with_target(mut result: SubscriptionResult, target: &Target) -> SubscriptionResult {
    result = result.with_metadata(META_SUB_REGION, &target.region);
    if let Some(account) = &target.account {
        result = result.with_metadata(META_SUB_ACCOUNT, account);
    }
    if let Some(role) = &target.role_arn {
        result = result.with_metadata(META_SUB_ROLE, role);
    }
    result
}

/// The application an UNSUBSCRIBE's metadata says the key belongs to: `Some(Ok(id))` for an
/// application's key, `Some(Err(()))` when the metadata says so but names no application,
/// `None` for a subscription's own key.
pub(super) fn application_of(subscription: &Subscription) -> Option<Result<&str, ()>> {
    let scope = subscription.metadata_value(META_API_KEY_SCOPE)?.trim();
    if !scope.eq_ignore_ascii_case(SCOPE_APPLICATION) {
        return None;
    }
    Some(
        subscription
            .metadata_value(META_APPLICATION_ID)
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or(()),
    )
}

#[cfg(test)]
mod tests {
    use federation_core::model::StringMap;

    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Subscription {
        let metadata: StringMap = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Subscription {
            gravitee_subscription_id: "s1".into(),
            metadata: Some(metadata),
            ..Subscription::default()
        }
    }

    #[test]
    fn the_scope_marker_says_whose_key_it_is() {
        assert_eq!(application_of(&with(&[("apiKeyId", "k1")])), None);
        assert_eq!(
            application_of(&with(&[
                ("apiKeyScope", "application"),
                ("applicationId", "a1")
            ])),
            Some(Ok("a1"))
        );
        assert_eq!(
            application_of(&with(&[("apiKeyScope", "application")])),
            Some(Err(()))
        );
        assert_eq!(
            application_of(&with(&[("apiKeyScope", "subscription")])),
            None
        );
    }
}
