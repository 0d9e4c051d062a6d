//! The drift [`Inventory`]: what AWS shows now, for the agent's catalogue drift report.
//!
//! - [`Inventory::catalogue`]: `GetRestApis` and `GetUsagePlans` per target, and `GetStages`
//!   for each REST API that has an asked stage. A stage exists when its REST API lists it,
//!   whether or not a usage plan references it. Plan coverage is each usage plan's `apiStages`
//!   as provider ids (`{restApiId}:{stage}`). These actions are in the seed's minimum policy.
//! - [`Inventory::issued_keys`]: the keys named `gravitee-*` (`GetApiKeys`, which needs
//!   `apigateway:GET` on `/apikeys`) and, per usage plan, the keys attached to it
//!   (`GetUsagePlanKeys`, `apigateway:GET` on `/usageplans/*/keys`). Neither is in the seed's
//!   minimum policy: when denied, the error names the grant that would enable this part. The
//!   API a key was issued for is read from the description `subscribe` wrote (`… to {apiId}`).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use federation_core::drift::{Catalogue, IssuedCredential};
use federation_core::{Inventory, ProviderError};

use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::mapping::{api_id, split_api_id};
use crate::paging::{Cursor, PAGE_LIMIT};
use crate::provider::AwsApiGatewayProvider;
use crate::reads::{get_stages, list_rest_apis, list_usage_plans};
use crate::subscription::KEY_PREFIX;
use crate::target::Target;

#[async_trait]
impl Inventory for AwsApiGatewayProvider {
    async fn catalogue(&self, api_ids: &BTreeSet<String>) -> Result<Catalogue, ProviderError> {
        let mut catalogue = Catalogue::default();
        for target in &self.targets {
            if self.settings.discovers_http() {
                crate::http_api::inventory::extend_catalogue(target, api_ids, &mut catalogue)
                    .await?;
            }
            if !self.settings.discovers_rest() {
                continue;
            }
            let (rest_apis, plans) =
                tokio::try_join!(list_rest_apis(target), list_usage_plans(target))?;
            for plan in plans {
                catalogue.plan_apis(&plan.id, &plan.name).extend(
                    plan.api_stages
                        .iter()
                        .map(|(rest, stage)| api_id(rest, stage)),
                );
            }
            let here: BTreeSet<&str> = rest_apis.iter().map(|r| r.id.as_str()).collect();
            let mut asked: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for id in api_ids {
                if let Some((rest, stage)) = split_api_id(id)
                    && here.contains(rest)
                {
                    asked.entry(rest).or_default().push(stage);
                }
            }
            for (rest, stages) in asked {
                let existing = match get_stages(target, rest).await {
                    Ok(existing) => existing,
                    // Deleted between the two calls.
                    Err(err) if err.is_not_found() => continue,
                    Err(err) => return Err(err.into()),
                };
                for stage in stages {
                    if existing.iter().any(|(name, _)| name == stage) {
                        catalogue.apis.insert(api_id(rest, stage));
                    }
                }
            }
        }
        Ok(catalogue)
    }

    async fn issued_keys(&self) -> Result<Vec<IssuedCredential>, ProviderError> {
        let mut keys = Vec::new();
        for target in &self.targets {
            if self.settings.discovers_rest() {
                keys.extend(target_keys(target).await.map_err(denied_with_grant)?);
            }
            if self.settings.discovers_http() {
                // OAUTH subscriptions: the audience entries the agent's markers record.
                keys.extend(crate::http_api::inventory::audience_entries(target).await?);
            }
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }
}

fn denied_with_grant(err: AwsError) -> ProviderError {
    if err.is_access_denied() {
        ProviderError::PermissionDenied(format!(
            "{err}; listing the agent's keys needs apigateway:GET on arn:aws:apigateway:*::/apikeys \
             and on arn:aws:apigateway:*::/usageplans/*/keys (not in the minimum policy)"
        ))
    } else {
        err.into()
    }
}

async fn target_keys(target: &Target) -> Result<Vec<IssuedCredential>, AwsError> {
    let op = target.operation("GetApiKeys", "GET", "/apikeys");
    let mut found: BTreeMap<String, IssuedCredential> = BTreeMap::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_api_keys()
                    .name_query(KEY_PREFIX)
                    .include_values(false)
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        for key in page.items() {
            let (Some(id), Some(name)) = (key.id(), key.name()) else {
                continue;
            };
            let Some(subscription) = name.strip_prefix(KEY_PREFIX) else {
                continue;
            };
            found.insert(
                id.to_owned(),
                IssuedCredential {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    subscription_id: Some(subscription.to_owned()),
                    api_id: key.description().and_then(issued_for),
                    plans: BTreeSet::new(),
                },
            );
        }
        if !cursor.advance(page.position()) {
            break;
        }
    }
    if found.is_empty() {
        return Ok(Vec::new());
    }
    for plan in list_usage_plans(target).await? {
        for key_id in plan_keys(target, &plan.id).await? {
            if let Some(key) = found.get_mut(&key_id) {
                key.plans.insert(plan.id.clone());
            }
        }
    }
    Ok(found.into_values().collect())
}

async fn plan_keys(target: &Target, plan_id: &str) -> Result<Vec<String>, AwsError> {
    let op = target.operation(
        "GetUsagePlanKeys",
        "GET",
        &format!("/usageplans/{plan_id}/keys"),
    );
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_usage_plan_keys()
                    .usage_plan_id(plan_id)
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        out.extend(
            page.items()
                .iter()
                .filter_map(|k| k.id().map(str::to_owned)),
        );
        if !cursor.advance(page.position()) {
            return Ok(out);
        }
    }
}

/// The API id at the end of the description `subscribe` writes:
/// `Gravitee subscription {id} of {application} to {restApiId}:{stage}`.
fn issued_for(description: &str) -> Option<String> {
    let (_, api) = description.rsplit_once(" to ")?;
    split_api_id(api.trim()).map(|_| api.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_a_key_was_issued_for_comes_from_its_description() {
        assert_eq!(
            issued_for("Gravitee subscription s1 of application Shop (a1) to abc123:prod")
                .as_deref(),
            Some("abc123:prod")
        );
        assert_eq!(issued_for("made by hand"), None);
        assert_eq!(issued_for("Gravitee subscription s1 to nothing"), None);
    }
}
