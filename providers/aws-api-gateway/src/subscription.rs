//! Subscriptions: one API key per Gravitee subscription, attached to the usage plan.
//!
//! `subscribe` = `CreateApiKey` (enabled, name `gravitee-{graviteeSubscriptionId}`, generated
//! value) + `CreateUsagePlanKey`. The reply's metadata (`apiKeyId`, `usagePlanId`, `region`, and
//! `account`/`roleArn` in multi-account mode) is everything `revoke` needs: `UNSUBSCRIBE` brings
//! it back. A subscription delivered twice gets the same key, from an in-process cache or, across
//! restarts, from `GetApiKeys` by name (which needs `apigateway:GET` on `/apikeys`, absent from
//! the seed's minimum policy: without it the cache is the only guard, and one warning says so).
//! `revoke` = `DeleteApiKey`; a key already gone is success.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use federation_core::{ProviderError, Secret, Subscription, SubscriptionResult};

use crate::discovery::list_usage_plans;
use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::mapping::{META_ACCOUNT, META_REGION, region_of_invoke_url, split_api_id};
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// Subscription metadata key: the API key id.
pub const META_API_KEY_ID: &str = "apiKeyId";
/// Subscription metadata key: the usage plan id.
pub const META_USAGE_PLAN_ID: &str = "usagePlanId";
/// Subscription metadata key: the region.
pub const META_SUB_REGION: &str = "region";
/// Subscription metadata key: the account (multi-account mode).
pub const META_SUB_ACCOUNT: &str = "account";
/// Subscription metadata key: the assumed role (multi-account mode).
pub const META_SUB_ROLE: &str = "roleArn";

/// The AWS key name for a Gravitee subscription.
pub fn key_name(gravitee_subscription_id: &str) -> String {
    format!("gravitee-{gravitee_subscription_id}")
}

#[derive(Clone)]
struct IssuedKey {
    target: usize,
    key_id: String,
    value: Secret,
    plan_id: String,
}

/// Keys issued by this process, and per-subscription locks so that two deliveries of the same
/// subscription racing each other create one key.
#[derive(Default)]
pub(crate) struct IssuedKeys {
    keys: Mutex<HashMap<String, IssuedKey>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    warned_lookup_denied: AtomicBool,
}

impl IssuedKeys {
    fn get(&self, subscription_id: &str) -> Option<IssuedKey> {
        lock(&self.keys).get(subscription_id).cloned()
    }

    fn insert(&self, subscription_id: &str, key: IssuedKey) {
        lock(&self.keys).insert(subscription_id.to_owned(), key);
    }

    fn remove(&self, subscription_id: &str) {
        lock(&self.keys).remove(subscription_id);
    }

    fn lock_for(&self, subscription_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.locks)
            .entry(subscription_id.to_owned())
            .or_default()
            .clone()
    }

    fn release(&self, subscription_id: &str, held: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = lock(&self.locks);
        // The map's copy and `held`: nobody else waits on it.
        if Arc::strong_count(&held) <= 2 {
            locks.remove(subscription_id);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where a subscription's metadata says the key lives.
#[derive(Debug, Default)]
struct Routing<'a> {
    region: Option<&'a str>,
    account: Option<&'a str>,
    role: Option<&'a str>,
}

impl<'a> Routing<'a> {
    fn of(subscription: &'a Subscription) -> Self {
        let value = |key: &str| {
            subscription
                .metadata_value(key)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        Self {
            region: value(META_SUB_REGION)
                .or_else(|| value(META_REGION))
                .or_else(|| value("url").and_then(region_of_invoke_url)),
            account: value(META_SUB_ACCOUNT).or_else(|| value(META_ACCOUNT)),
            role: value(META_SUB_ROLE),
        }
    }
}

impl AwsApiGatewayProvider {
    /// The indexes of the targets matching what the metadata names.
    fn candidates(&self, routing: &Routing<'_>) -> Vec<usize> {
        self.targets
            .iter()
            .enumerate()
            .filter(|(_, t)| routing.region.is_none_or(|r| t.region == r))
            .filter(|(_, t)| {
                routing
                    .account
                    .is_none_or(|a| t.account.as_deref().is_none_or(|ta| ta == a))
            })
            .filter(|(_, t)| {
                routing
                    .role
                    .is_none_or(|r| t.role_arn.as_deref().is_none_or(|tr| tr == r))
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn describe(&self, routing: &Routing<'_>) -> String {
        let mut parts = Vec::new();
        if let Some(region) = routing.region {
            parts.push(format!("region {region}"));
        }
        if let Some(account) = routing.account {
            parts.push(format!("account {account}"));
        }
        if let Some(role) = routing.role {
            parts.push(format!("role {role}"));
        }
        format!(
            "{} (configured: {})",
            if parts.is_empty() {
                "any target".to_owned()
            } else {
                parts.join(", ")
            },
            self.target_labels().join(", ")
        )
    }

    /// The target holding usage plan `plan_id`, among the metadata's candidates.
    async fn subscribe_target(
        &self,
        subscription: &Subscription,
        plan_id: &str,
    ) -> Result<usize, ProviderError> {
        let routing = Routing::of(subscription);
        let candidates = self.candidates(&routing);
        match candidates.as_slice() {
            [] => {
                return Err(ProviderError::InvalidRequest(format!(
                    "the subscription names {}, which this agent is not configured for: add the \
                     region/role to the configuration",
                    self.describe(&routing)
                )));
            }
            [only] => return Ok(*only),
            _ => {}
        }
        let known = lock(&self.plan_routes).get(plan_id).copied();
        if let Some(index) = known.filter(|i| candidates.contains(i)) {
            return Ok(index);
        }
        for &index in &candidates {
            let plans = list_usage_plans(&self.targets[index]).await?;
            if plans.iter().any(|p| p.id == plan_id) {
                lock(&self.plan_routes).insert(plan_id.to_owned(), index);
                return Ok(index);
            }
        }
        Err(ProviderError::NotFound(format!(
            "usage plan {plan_id} was not found in {}",
            self.describe(&routing)
        )))
    }

    /// `SUBSCRIBE`: issue (or find) the subscription's key and attach it to the usage plan.
    pub(crate) async fn subscribe_api_key(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<SubscriptionResult, ProviderError> {
        let subscription_id = subscription.gravitee_subscription_id.trim();
        if subscription_id.is_empty() {
            return Err(ProviderError::InvalidRequest(
                "the subscription has no graviteeSubscriptionId".to_owned(),
            ));
        }
        if split_api_id(api_id).is_none() {
            return Err(ProviderError::InvalidRequest(format!(
                "apiId `{api_id}` is not an AWS API Gateway stage id ({{restApiId}}:{{stage}})"
            )));
        }
        let plan_id = subscription
            .plan_id()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                ProviderError::InvalidRequest(format!(
                    "the subscription to {api_id} has no metadata.planId (the AWS usage plan id)"
                ))
            })?
            .to_owned();

        let held = self.issued.lock_for(subscription_id);
        let result = {
            let _guard = held.lock().await;
            self.subscribe_locked(api_id, subscription, subscription_id, &plan_id)
                .await
        };
        self.issued.release(subscription_id, held);
        result
    }

    async fn subscribe_locked(
        &self,
        api_id: &str,
        subscription: &Subscription,
        subscription_id: &str,
        plan_id: &str,
    ) -> Result<SubscriptionResult, ProviderError> {
        if let Some(issued) = self.issued.get(subscription_id)
            && issued.plan_id == plan_id
        {
            tracing::info!(
                subscription = subscription_id,
                api_key_id = %issued.key_id,
                "Subscription delivered again: returning the key already issued."
            );
            return Ok(self.result(subscription_id, &issued));
        }
        let index = self.subscribe_target(subscription, plan_id).await?;
        let target = &self.targets[index];
        let name = key_name(subscription_id);

        let (key_id, value, created) = match self.find_key_by_name(target, &name).await? {
            Some((id, value)) => {
                tracing::info!(
                    subscription = subscription_id,
                    api_key_id = %id,
                    target_label = %target.label(),
                    "Found the subscription's key from an earlier delivery: reusing it."
                );
                (id, value, false)
            }
            None => {
                let (id, value) = create_key(target, &name, api_id, subscription).await?;
                (id, value, true)
            }
        };

        if let Err(err) = attach_key(target, plan_id, &key_id).await {
            let cleanup = if created {
                match delete_key(target, &key_id).await {
                    Ok(()) => "the key just created was deleted".to_owned(),
                    Err(delete_err) => format!(
                        "deleting the key just created ({key_id}) failed too, delete it by hand: \
                         {delete_err}"
                    ),
                }
            } else {
                "the existing key was left as it was".to_owned()
            };
            let error: ProviderError = err.into();
            return Err(match error {
                ProviderError::PermissionDenied(msg) => {
                    ProviderError::PermissionDenied(format!("{msg}; {cleanup}"))
                }
                ProviderError::NotFound(msg) => ProviderError::NotFound(format!(
                    "attaching the API key to usage plan {plan_id}: {msg}; {cleanup}"
                )),
                other => ProviderError::backend(format!(
                    "attaching the API key to usage plan {plan_id} failed: {}; {cleanup}",
                    other.details()
                )),
            });
        }

        let issued = IssuedKey {
            target: index,
            key_id,
            value,
            plan_id: plan_id.to_owned(),
        };
        tracing::info!(
            subscription = subscription_id,
            api_id,
            usage_plan = plan_id,
            api_key_id = %issued.key_id,
            target_label = %target.label(),
            "API key issued."
        );
        self.issued.insert(subscription_id, issued.clone());
        Ok(self.result(subscription_id, &issued))
    }

    fn result(&self, subscription_id: &str, issued: &IssuedKey) -> SubscriptionResult {
        let target = &self.targets[issued.target];
        let mut result = SubscriptionResult::new(subscription_id)
            .with_api_key(issued.value.clone())
            .with_metadata(META_API_KEY_ID, &issued.key_id)
            .with_metadata(META_USAGE_PLAN_ID, &issued.plan_id)
            .with_metadata(META_SUB_REGION, &target.region);
        if let Some(account) = &target.account {
            result = result.with_metadata(META_SUB_ACCOUNT, account);
        }
        if let Some(role) = &target.role_arn {
            result = result.with_metadata(META_SUB_ROLE, role);
        }
        result
    }

    /// The key named `name` (id and value), via `GetApiKeys`; `None` when absent or when the
    /// lookup is not allowed (warned once).
    async fn find_key_by_name(
        &self,
        target: &Target,
        name: &str,
    ) -> Result<Option<(String, Secret)>, ProviderError> {
        if target.lookup_denied() {
            return Ok(None);
        }
        match lookup_key(target, name).await {
            Ok(found) => Ok(found),
            Err(err) if err.is_access_denied() => {
                target.api_keys_lookup_denied.store(true, Ordering::Relaxed);
                if !self
                    .issued
                    .warned_lookup_denied
                    .swap(true, Ordering::Relaxed)
                {
                    let grant = target.operation("GetApiKeys", "GET", "/apikeys").grant();
                    tracing::warn!(
                        target_label = %target.label(),
                        "GetApiKeys is denied, so a subscription delivered again after an agent \
                         restart cannot find the key it already has and a second key would be \
                         created; only this process's memory prevents duplicates. Add {grant} \
                         (apigateway:GET on arn:aws:apigateway:*::/apikeys) to the agent's IAM \
                         policy and restart the agent."
                    );
                }
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// `UNSUBSCRIBE`: delete the key the subscription's metadata names. A key already gone is
    /// success.
    pub(crate) async fn revoke_api_key(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<(), ProviderError> {
        let subscription_id = subscription.gravitee_subscription_id.trim();
        let routing = Routing::of(subscription);
        let candidates = self.candidates(&routing);
        if candidates.is_empty() {
            return Err(ProviderError::InvalidRequest(format!(
                "the subscription's key lives in {}, which this agent is not configured for: \
                 add the region/role back to the configuration to revoke it",
                self.describe(&routing)
            )));
        }
        let key_id = match subscription
            .metadata_value(META_API_KEY_ID)
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            Some(id) => Some(id.to_owned()),
            None => self.issued.get(subscription_id).map(|k| k.key_id),
        };
        let key_ids: Vec<(usize, String)> = match key_id {
            Some(id) => candidates.iter().map(|&i| (i, id.clone())).collect(),
            None => {
                // No id in the metadata (a subscription made by another agent?): find the key by
                // its name, which needs GetApiKeys.
                let name = key_name(subscription_id);
                let mut found = Vec::new();
                for &index in &candidates {
                    match lookup_key(&self.targets[index], &name).await {
                        Ok(Some((id, _))) => found.push((index, id)),
                        Ok(None) => {}
                        Err(err) if err.is_access_denied() => {
                            return Err(ProviderError::PermissionDenied(format!(
                                "the UNSUBSCRIBE for {api_id} carries no metadata.apiKeyId, and \
                                 finding key {name} by name was denied: {err}; or delete key \
                                 {name} by hand"
                            )));
                        }
                        Err(err) => return Err(err.into()),
                    }
                }
                if found.is_empty() {
                    tracing::info!(
                        subscription = subscription_id,
                        "No key named {name} exists: nothing to revoke."
                    );
                    self.issued.remove(subscription_id);
                    return Ok(());
                }
                found
            }
        };
        for (index, key_id) in key_ids {
            let target = &self.targets[index];
            match delete_key(target, &key_id).await {
                Ok(()) => {
                    tracing::info!(
                        subscription = subscription_id,
                        api_key_id = %key_id,
                        target_label = %target.label(),
                        "API key deleted."
                    );
                }
                Err(err) if err.is_not_found() => {
                    tracing::info!(
                        subscription = subscription_id,
                        api_key_id = %key_id,
                        target_label = %target.label(),
                        "API key already gone: revoke succeeds."
                    );
                }
                Err(err) => return Err(err.into()),
            }
        }
        self.issued.remove(subscription_id);
        Ok(())
    }
}

/// `GetApiKeys` by exact name (paged), with values.
async fn lookup_key(target: &Target, name: &str) -> Result<Option<(String, Secret)>, AwsError> {
    let op = target.operation("GetApiKeys", "GET", "/apikeys");
    let mut cursor = crate::discovery::Cursor::default();
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_api_keys()
                    .name_query(name)
                    .include_values(true)
                    .limit(crate::discovery::PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        let found = page.items().iter().find(|k| k.name() == Some(name));
        if let Some(key) = found
            && let (Some(id), Some(value)) = (key.id(), key.value())
        {
            return Ok(Some((id.to_owned(), Secret::from(value))));
        }
        if !cursor.advance(page.position()) {
            return Ok(None);
        }
    }
}

async fn create_key(
    target: &Target,
    name: &str,
    api_id: &str,
    subscription: &Subscription,
) -> Result<(String, Secret), ProviderError> {
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
        (Some(id), Some(value)) => Ok((id.to_owned(), Secret::from(value))),
        _ => Err(ProviderError::backend(format!(
            "CreateApiKey in {} returned no key id or value",
            target.label()
        ))),
    }
}

async fn attach_key(target: &Target, plan_id: &str, key_id: &str) -> Result<(), AwsError> {
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

async fn delete_key(target: &Target, key_id: &str) -> Result<(), AwsError> {
    let op = target.operation("DeleteApiKey", "DELETE", &format!("/apikeys/{key_id}"));
    target
        .call(&op, OperationClass::ApiKeyWrite, |c| {
            c.delete_api_key().api_key(key_id).send()
        })
        .await
        .map(|_| ())
}
