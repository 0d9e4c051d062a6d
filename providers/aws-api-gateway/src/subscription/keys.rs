//! The AWS calls on API keys a subscription makes: find the keys named for it (`GetApiKeys`),
//! create one (`CreateApiKey`), attach it to the usage plan (`CreateUsagePlanKey`), ask whether
//! it is attached (`GetUsagePlans` by `keyId`) and delete it (`DeleteApiKey`).
//!
//! `GetApiKeys` needs `apigateway:GET` on `/apikeys`, absent from the seed's minimum policy:
//! [`find_keys`](AwsApiGatewayProvider::find_keys) remembers a denial on the target and says once
//! per process what it costs.

use federation_core::{ProviderError, Secret, Subscription};

use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::paging::{Cursor, PAGE_LIMIT};
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// The prefix of every key the provider creates: `gravitee-{graviteeSubscriptionId}`.
pub(crate) const KEY_PREFIX: &str = "gravitee-";

/// The AWS key name for a Gravitee subscription.
pub(super) fn key_name(gravitee_subscription_id: &str) -> String {
    format!("{KEY_PREFIX}{gravitee_subscription_id}")
}

/// A key found (or just created) with its creation date.
#[derive(Debug, Clone)]
pub(super) struct FoundKey {
    pub(super) id: String,
    pub(super) value: Secret,
    /// `createdDate` as (seconds, nanoseconds); `None` sorts last.
    pub(super) created: Option<(i64, u32)>,
}

fn created_of(date: Option<&aws_smithy_types::DateTime>) -> Option<(i64, u32)> {
    date.map(|d| (d.secs(), d.subsec_nanos()))
}

impl AwsApiGatewayProvider {
    /// The keys named `name`, via `GetApiKeys`; `None` when the lookup is not allowed (warned
    /// once per process).
    pub(super) async fn find_keys(
        &self,
        target: &Target,
        name: &str,
    ) -> Result<Option<Vec<FoundKey>>, ProviderError> {
        if target.lookup_denied() {
            return Ok(None);
        }
        match lookup_keys(target, name).await {
            Ok(found) => Ok(Some(found)),
            Err(err) if err.is_access_denied() => {
                target.deny_lookup();
                if self.issued.first_lookup_denial() {
                    let grant = target.operation("GetApiKeys", "GET", "/apikeys").grant();
                    tracing::warn!(
                        target_label = %target.label(),
                        "GetApiKeys is denied, so a subscription delivered again after an agent \
                         restart, or to another replica of this agent, cannot find the key it \
                         already has and a second key would be created; only this process's \
                         memory prevents duplicates, and an UNSUBSCRIBE deletes only the key \
                         APIM knows. Running more than one replica needs {grant} (apigateway:GET \
                         on arn:aws:apigateway:*::/apikeys): add it to the agent's IAM policy and \
                         restart the agent."
                    );
                }
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// `GetApiKeys` by exact name (`nameQuery` is a prefix match; paged), with values.
async fn lookup_keys(target: &Target, name: &str) -> Result<Vec<FoundKey>, AwsError> {
    let op = target.operation("GetApiKeys", "GET", "/apikeys");
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_api_keys()
                    .name_query(name)
                    .include_values(true)
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        out.extend(
            page.items()
                .iter()
                .filter(|k| k.name() == Some(name))
                .filter_map(|k| {
                    Some(FoundKey {
                        id: k.id()?.to_owned(),
                        value: Secret::from(k.value()?),
                        created: created_of(k.created_date()),
                    })
                }),
        );
        if !cursor.advance(page.position()) {
            return Ok(out);
        }
    }
}

/// `CreateApiKey`: an enabled key named `name` with a generated value, described as the
/// subscription of its application to `api_id` (the drift inventory reads the API back).
pub(super) async fn create_key(
    target: &Target,
    name: &str,
    api_id: &str,
    subscription: &Subscription,
) -> Result<FoundKey, ProviderError> {
    let op = target.operation("CreateApiKey", "POST", "/apikeys");
    let application = match (
        subscription.gravitee_application_name.as_deref(),
        subscription.gravitee_application_id.as_deref(),
    ) {
        (Some(name), Some(id)) => format!("application {name} ({id})"),
        (Some(name), None) => format!("application {name}"),
        (None, Some(id)) => format!("application {id}"),
        (None, None) => "an application".to_owned(),
    };
    let description = format!(
        "Gravitee subscription {} of {application} to {api_id}",
        subscription.gravitee_subscription_id
    );
    let key = target
        .call(&op, OperationClass::ApiKeyWrite, |c| {
            c.create_api_key()
                .name(name)
                .description(description.clone())
                .enabled(true)
                .generate_distinct_id(true)
                .send()
        })
        .await?;
    match (key.id(), key.value()) {
        (Some(id), Some(value)) => Ok(FoundKey {
            id: id.to_owned(),
            value: Secret::from(value),
            created: created_of(key.created_date()),
        }),
        _ => Err(ProviderError::backend(format!(
            "CreateApiKey in {} returned no key id or value",
            target.label()
        ))),
    }
}

/// `CreateUsagePlanKey`; a key already attached is success.
pub(super) async fn attach_key(
    target: &Target,
    plan_id: &str,
    key_id: &str,
) -> Result<(), AwsError> {
    let op = target.operation(
        "CreateUsagePlanKey",
        "POST",
        &format!("/usageplans/{plan_id}/keys"),
    );
    match target
        .call(&op, OperationClass::General, |c| {
            c.create_usage_plan_key()
                .usage_plan_id(plan_id)
                .key_id(key_id)
                .key_type("API_KEY")
                .send()
        })
        .await
    {
        Ok(_) => Ok(()),
        // Already attached (a retried subscription): that is what we want.
        Err(err) if err.is_conflict() => Ok(()),
        Err(err) => Err(err),
    }
}

/// Whether key `key_id` is attached to usage plan `plan_id` (`GetUsagePlans` filtered by
/// `keyId`, within the seed's minimum policy). A key that no longer exists is not attached.
pub(super) async fn key_attached(
    target: &Target,
    key_id: &str,
    plan_id: &str,
) -> Result<bool, AwsError> {
    let op = target.operation("GetUsagePlans", "GET", "/usageplans");
    let result = target
        .call(&op, OperationClass::General, |c| {
            c.get_usage_plans().key_id(key_id).limit(PAGE_LIMIT).send()
        })
        .await;
    match result {
        Ok(page) => Ok(page.items().iter().any(|p| p.id() == Some(plan_id))),
        Err(err) if err.is_not_found() => Ok(false),
        Err(err) => Err(err),
    }
}

/// `DeleteApiKey`.
pub(super) async fn delete_key(target: &Target, key_id: &str) -> Result<(), AwsError> {
    let op = target.operation("DeleteApiKey", "DELETE", &format!("/apikeys/{key_id}"));
    target
        .call(&op, OperationClass::ApiKeyWrite, |c| {
            c.delete_api_key().api_key(key_id).send()
        })
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_named_for_its_subscription() {
        assert_eq!(key_name("sub-1"), "gravitee-sub-1");
        assert!(key_name("x").starts_with(KEY_PREFIX));
    }
}
