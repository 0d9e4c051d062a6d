//! The AWS calls on API keys a subscription makes: list the keys whose name starts with a
//! prefix (`GetApiKeys`), create one (`CreateApiKey`), attach it to a usage plan
//! (`CreateUsagePlanKey`), detach it (`DeleteUsagePlanKey`), list the usage plans it is in
//! (`GetUsagePlans` by `keyId`) and delete it (`DeleteApiKey`).
//!
//! `GetApiKeys` needs `apigateway:GET` on `/apikeys`, and `DeleteUsagePlanKey`
//! `apigateway:DELETE` on `/usageplans/*/keys/*`; neither is in the seed's minimum policy.
//! [`lookup`](AwsApiGatewayProvider::lookup) remembers a denial on the target and says once per
//! process what it costs.

use federation_core::{ProviderError, Secret, Subscription};

use super::names::{KEY_PREFIX, application_words};
use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::paging::{Cursor, PAGE_LIMIT};
use crate::plans::PlanStages;
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// A key found (or just created) with its creation date.
#[derive(Debug, Clone)]
pub(super) struct FoundKey {
    pub(super) id: String,
    pub(super) value: Secret,
    /// `createdDate` as (seconds, nanoseconds); `None` sorts last.
    pub(super) created: Option<(i64, u32)>,
}

/// A key as `GetApiKeys` lists it.
#[derive(Debug, Clone)]
pub(crate) struct ListedKey {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The value (`includeValues`); `None` when AWS sent none.
    pub(crate) value: Option<Secret>,
    pub(crate) description: Option<String>,
    pub(crate) created: Option<(i64, u32)>,
}

/// What a `GetApiKeys` walk asks for.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyQuery<'a> {
    /// `nameQuery`: the keys whose name starts with it (moto; what AWS's `nameQuery` matches
    /// is not documented, so only exact names are looked up this way).
    Name(&'a str),
    /// `customerId`: the keys created with this customer id ("the identifier of a customer in
    /// AWS Marketplace or an external system, such as a developer portal").
    Customer(&'a str),
}

impl ListedKey {
    /// As a [`FoundKey`], when it has a value.
    pub(super) fn found(&self) -> Option<FoundKey> {
        Some(FoundKey {
            id: self.id.clone(),
            value: self.value.clone()?,
            created: self.created,
        })
    }
}

fn created_of(date: Option<&aws_smithy_types::DateTime>) -> Option<(i64, u32)> {
    date.map(|d| (d.secs(), d.subsec_nanos()))
}

impl AwsApiGatewayProvider {
    /// The keys named exactly `name`, via `GetApiKeys`; `None` when the lookup is not allowed
    /// (warned once per process).
    pub(super) async fn find_keys(
        &self,
        target: &Target,
        name: &str,
    ) -> Result<Option<Vec<FoundKey>>, ProviderError> {
        Ok(self
            .lookup(target, KeyQuery::Name(name))
            .await?
            .map(|listed| {
                listed
                    .iter()
                    .filter(|k| k.name == name)
                    .filter_map(ListedKey::found)
                    .collect()
            }))
    }

    /// The keys `query` selects, with values and descriptions (`GetApiKeys`, paged); `None`
    /// when the lookup is not allowed (warned once per process).
    pub(super) async fn lookup(
        &self,
        target: &Target,
        query: KeyQuery<'_>,
    ) -> Result<Option<Vec<ListedKey>>, ProviderError> {
        if target.lookup_denied() {
            return Ok(None);
        }
        match list_keys(target, query, true).await {
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

/// Every `gravitee-*` key, without values (the drift inventory's walk).
pub(crate) async fn list_gravitee_keys(target: &Target) -> Result<Vec<ListedKey>, AwsError> {
    list_keys(target, KeyQuery::Name(KEY_PREFIX), false).await
}

/// `GetApiKeys` for `query` (paged), with values when `values`. Whatever the filter AWS
/// applies, only keys matching it here are kept (moto ignores `customerId`).
async fn list_keys(
    target: &Target,
    query: KeyQuery<'_>,
    values: bool,
) -> Result<Vec<ListedKey>, AwsError> {
    let op = target.operation("GetApiKeys", "GET", "/apikeys");
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    let (name_query, customer) = match query {
        KeyQuery::Name(name) => (Some(name), None),
        KeyQuery::Customer(customer) => (None, Some(customer)),
    };
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_api_keys()
                    .set_name_query(name_query.map(str::to_owned))
                    .set_customer_id(customer.map(str::to_owned))
                    .include_values(values)
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        out.extend(page.items().iter().filter_map(|k| {
            let name = k.name()?;
            let selected = match query {
                KeyQuery::Name(prefix) => name.starts_with(prefix),
                KeyQuery::Customer(customer) => k.customer_id() == Some(customer),
            };
            selected.then(|| ListedKey {
                id: k.id().unwrap_or_default().to_owned(),
                name: name.to_owned(),
                value: k.value().map(Secret::from),
                description: k.description().map(str::to_owned),
                created: created_of(k.created_date()),
            })
        }));
        if !cursor.advance(page.position()) {
            out.retain(|k| !k.id.is_empty());
            return Ok(out);
        }
    }
}

/// The description of a subscription's own key: the subscription of its application to
/// `api_id` (the drift inventory reads the API back from the end).
pub(super) fn subscription_key_description(api_id: &str, subscription: &Subscription) -> String {
    format!(
        "Gravitee subscription {} of {} to {api_id}",
        subscription.gravitee_subscription_id,
        application_words(
            subscription.gravitee_application_name.as_deref(),
            subscription.gravitee_application_id.as_deref()
        )
    )
}

/// What [`create_key`] creates.
#[derive(Debug, Clone, Copy)]
pub(super) struct NewKey<'a> {
    pub(super) name: &'a str,
    pub(super) description: &'a str,
    /// False for records, markers and probes, which open nothing.
    pub(super) enabled: bool,
    /// `customerId`: an application's objects carry its key's name, so one `GetApiKeys`
    /// finds them all.
    pub(super) customer: Option<&'a str>,
}

/// `CreateApiKey` with a generated value.
pub(super) async fn create_key(
    target: &Target,
    new: NewKey<'_>,
) -> Result<FoundKey, ProviderError> {
    let op = target.operation("CreateApiKey", "POST", "/apikeys");
    let key = target
        .call(&op, OperationClass::ApiKeyWrite, |c| {
            c.create_api_key()
                .name(new.name)
                .description(new.description)
                .enabled(new.enabled)
                .set_customer_id(new.customer.map(str::to_owned))
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

/// Whether AWS refused `CreateUsagePlanKey` for a reason the key's usage plans explain: the key
/// is already in the plan, another of its plans grants one of the plan's stages, or the key is
/// in too many plans. AWS documents `BadRequestException`, `ConflictException` and
/// `LimitExceededException` for the operation without saying which rule gets which
/// (`docs/reference/aws-api-gateway.md`, "Keys shared by an application").
pub(super) fn is_refusal(err: &AwsError) -> bool {
    match err {
        AwsError::Other {
            code: Some(code), ..
        } => code == "BadRequestException" || code == "LimitExceededException",
        other => other.is_conflict(),
    }
}

/// `CreateUsagePlanKey`. A refusal ([`is_refusal`]) is success when the key turns out to be in
/// the plan already (a retried subscription); otherwise it is returned for the caller to
/// explain.
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
        Err(err) if is_refusal(&err) => {
            if key_attached(target, key_id, Some(plan_id)).await? {
                Ok(())
            } else {
                Err(err)
            }
        }
        Err(err) => Err(err),
    }
}

/// `DeleteUsagePlanKey`; a key already out of the plan (`NotFoundException`) is success.
pub(super) async fn detach_key(
    target: &Target,
    plan_id: &str,
    key_id: &str,
) -> Result<(), AwsError> {
    let op = target.operation(
        "DeleteUsagePlanKey",
        "DELETE",
        &format!("/usageplans/{plan_id}/keys/{key_id}"),
    );
    match target
        .call(&op, OperationClass::General, |c| {
            c.delete_usage_plan_key()
                .usage_plan_id(plan_id)
                .key_id(key_id)
                .send()
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if err.is_not_found() => Ok(()),
        Err(err) => Err(err),
    }
}

/// The usage plans key `key_id` is in, with their stages (`GetUsagePlans` filtered by `keyId`,
/// within the seed's minimum policy). A key that no longer exists is in none.
pub(super) async fn plans_of_key(
    target: &Target,
    key_id: &str,
) -> Result<Vec<(String, PlanStages)>, AwsError> {
    let op = target.operation("GetUsagePlans", "GET", "/usageplans");
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = match target
            .call(&op, OperationClass::General, |c| {
                c.get_usage_plans()
                    .key_id(key_id)
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await
        {
            Ok(page) => page,
            Err(err) if err.is_not_found() => return Ok(out),
            Err(err) => return Err(err),
        };
        out.extend(page.items().iter().filter_map(|p| {
            let stages = p
                .api_stages()
                .iter()
                .filter_map(|s| Some((s.api_id()?.to_owned(), s.stage()?.to_owned())))
                .collect();
            Some((
                p.id()?.to_owned(),
                PlanStages {
                    name: p.name().unwrap_or_default().to_owned(),
                    stages,
                },
            ))
        }));
        if !cursor.advance(page.position()) {
            return Ok(out);
        }
    }
}

/// Whether key `key_id` is in usage plan `plan_id`, or in any plan when `plan_id` is `None`.
pub(super) async fn key_attached(
    target: &Target,
    key_id: &str,
    plan_id: Option<&str>,
) -> Result<bool, AwsError> {
    let plans = plans_of_key(target, key_id).await?;
    Ok(match plan_id {
        Some(plan_id) => plans.iter().any(|(id, _)| id == plan_id),
        None => !plans.is_empty(),
    })
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

/// `DeleteApiKey`, a key already gone being success.
pub(super) async fn delete_key_if_present(target: &Target, key_id: &str) -> Result<(), AwsError> {
    match delete_key(target, key_id).await {
        Err(err) if err.is_not_found() => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_the_documented_errors_of_create_usage_plan_key() {
        let other = |code: &str| AwsError::Other {
            operation: "CreateUsagePlanKey",
            region: "eu-west-1".into(),
            code: Some(code.into()),
            message: String::new(),
        };
        assert!(is_refusal(&AwsError::Conflict {
            operation: "CreateUsagePlanKey",
            region: "eu-west-1".into(),
            message: String::new(),
        }));
        assert!(is_refusal(&other("BadRequestException")));
        assert!(is_refusal(&other("LimitExceededException")));
        assert!(!is_refusal(&other("InternalServerError")));
        assert!(!is_refusal(&AwsError::NotFound {
            operation: "CreateUsagePlanKey",
            region: "eu-west-1".into(),
            message: String::new(),
        }));
    }
}
