//! Subscriptions: one API key per Gravitee subscription, attached to the usage plan.
//!
//! `subscribe`:
//! 1. the usage plan (`metadata.planId`) must still cover the subscribed stage
//!    (`{restApiId}:{stage}`), and the stage must exist (`GetUsagePlans`, cached per target, see
//!    [`crate::plans`]; `GetStage`). Otherwise nothing is created: a key on a plan that no longer
//!    covers the API would open the plan's other APIs. Refusals are counted in
//!    [`SUBSCRIPTIONS_REFUSED`];
//! 2. the key named `gravitee-{graviteeSubscriptionId}` is looked up (`GetApiKeys` by name); if
//!    none exists it is created (`CreateApiKey`, enabled, generated value) and looked up again;
//! 3. when several keys carry the name (two replicas raced on one subscription), every replica
//!    keeps the same one, see [`winner`]; a replica whose key lost deletes it;
//! 4. the winner is attached to the usage plan (`CreateUsagePlanKey`).
//!
//! The reply's metadata (`apiKeyId`, `usagePlanId`, `region`, and `account`/`roleArn` in
//! multi-account mode) is everything `revoke` needs: `UNSUBSCRIBE` brings it back. A subscription
//! delivered twice to one process gets the same key from an in-process cache.
//!
//! `revoke` = `DeleteApiKey` of the metadata's `apiKeyId` and of every key named for the
//! subscription; a key already gone is success. It checks nothing about the API, so a key on a
//! plan or stage that changed can always be closed.
//!
//! Finding keys by name needs `apigateway:GET` on `/apikeys`, absent from the seed's minimum
//! policy. Without it the process cache is the only guard against duplicates (one warning says
//! so): a restarted agent or a second replica creates a second key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use federation_core::{ProviderError, Secret, Subscription, SubscriptionResult};

use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::mapping::{META_ACCOUNT, META_REGION, region_of_invoke_url, split_api_id};
use crate::plans::{PlanCache, key_attached};
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

/// SUBSCRIBEs refused before any key was created, by `reason`: `stage_not_in_plan` (the usage
/// plan no longer covers the stage), `plan_not_found`, `api_not_found` (the REST API or stage
/// is gone), `invalid_api_id` (not `{restApiId}:{stage}`).
pub const SUBSCRIPTIONS_REFUSED: &str = "federation_aws_subscriptions_refused_total";
/// Subscriptions for which this process saw several keys with the subscription's name (replicas
/// racing), by `outcome`: `won` (its key kept, or the key it found), `lost` (its key deleted for
/// another replica's).
pub const KEY_RACES: &str = "federation_aws_key_races_total";

/// How long a replica whose key was created in the same second as another replica's waits for
/// that race to resolve (the other key attached, or deleted by its replica) before keeping the
/// smallest id: only reached when the other replica died mid-race or AWS throttles it hard.
pub const TIE_WAIT: Duration = Duration::from_secs(20);
const TIE_POLL: Duration = Duration::from_millis(200);
const PAGE_LIMIT: i32 = 500;
const MAX_PAGES: usize = 10_000;

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
    /// The usage plans of each target, for the coverage check.
    plans: PlanCache,
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
            let found = self
                .issued
                .plans
                .plan(index, &self.targets[index], plan_id, |_| true)
                .await?;
            if found.is_some() {
                lock(&self.plan_routes).insert(plan_id.to_owned(), index);
                return Ok(index);
            }
        }
        refused("plan_not_found");
        Err(ProviderError::NotFound(format!(
            "usage plan {plan_id} was not found in {}: remove the Gravitee plan, or add the \
             region/role holding it to the configuration; no API key was created",
            self.describe(&routing)
        )))
    }

    /// Refuses a SUBSCRIBE whose usage plan no longer covers the stage, or whose REST API or
    /// stage is gone: a key on that plan would open the plan's other APIs.
    async fn check_plan_covers(
        &self,
        index: usize,
        api_id: &str,
        rest_api_id: &str,
        stage: &str,
        plan_id: &str,
    ) -> Result<(), ProviderError> {
        let target = &self.targets[index];
        let plan = self
            .issued
            .plans
            .plan(index, target, plan_id, |p| p.covers(rest_api_id, stage))
            .await?;
        let Some(plan) = plan else {
            refused("plan_not_found");
            return Err(ProviderError::NotFound(format!(
                "usage plan {plan_id} does not exist in {}: remove the Gravitee plan; no API key \
                 was created",
                target.label()
            )));
        };
        if !plan.covers(rest_api_id, stage) {
            refused("stage_not_in_plan");
            tracing::warn!(
                api_id,
                usage_plan = plan_id,
                target_label = %target.label(),
                "SUBSCRIBE refused: the usage plan no longer covers the stage."
            );
            return Err(ProviderError::InvalidRequest(format!(
                "usage plan {} ({plan_id}) in {} does not cover stage {stage} of REST API \
                 {rest_api_id} ({api_id}): the stage is no longer in this usage plan: remove the \
                 Gravitee plan or re-attach the stage to the usage plan in AWS; no API key was \
                 created",
                plan_display(&plan.name),
                target.label()
            )));
        }
        let op = target.operation(
            "GetStage",
            "GET",
            &format!("/restapis/{rest_api_id}/stages/{stage}"),
        );
        match target
            .call(&op, OperationClass::General, |c| {
                c.get_stage()
                    .rest_api_id(rest_api_id)
                    .stage_name(stage)
                    .send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.is_not_found() => {
                refused("api_not_found");
                Err(ProviderError::NotFound(format!(
                    "REST API {rest_api_id} or its stage {stage} ({api_id}) no longer exists in \
                     {} ({err}): remove the Gravitee API or plan; no API key was created",
                    target.label()
                )))
            }
            Err(err) => Err(err.into()),
        }
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
            refused("invalid_api_id");
            return Err(ProviderError::InvalidRequest(format!(
                "apiId `{api_id}` is not an AWS API Gateway stage id ({{restApiId}}:{{stage}}); \
                 no API key was created"
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
        let (rest_api_id, stage) = split_api_id(api_id).ok_or_else(|| {
            ProviderError::InvalidRequest(format!(
                "apiId `{api_id}` is not {{restApiId}}:{{stage}}"
            ))
        })?;
        let index = self.subscribe_target(subscription, plan_id).await?;
        self.check_plan_covers(index, api_id, rest_api_id, stage, plan_id)
            .await?;
        let target = &self.targets[index];
        let name = key_name(subscription_id);

        let (winner, created) = match self.find_keys(target, &name).await? {
            Some(found) if !found.is_empty() => {
                let winner = self.converge(target, &name, plan_id, None, found).await?;
                tracing::info!(
                    subscription = subscription_id,
                    api_key_id = %winner.id,
                    target_label = %target.label(),
                    "Found the subscription's key from an earlier delivery: reusing it."
                );
                (winner, false)
            }
            _ => {
                let own = create_key(target, &name, api_id, subscription).await?;
                let winner = self.settle_created(target, &name, plan_id, &own).await?;
                let created = winner.id == own.id;
                (winner, created)
            }
        };

        if let Err(err) = attach_key(target, plan_id, &winner.id).await {
            let cleanup = if created {
                match delete_key(target, &winner.id).await {
                    Ok(()) => "the key just created was deleted".to_owned(),
                    Err(delete_err) => format!(
                        "deleting the key just created ({}) failed too, delete it by hand: \
                         {delete_err}",
                        winner.id
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
            key_id: winner.id,
            value: winner.value,
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

    /// After `CreateApiKey`: looks again by name and keeps the key every replica keeps; deletes
    /// `own` when it lost. Without `GetApiKeys`, `own` is kept (one process cannot see another).
    async fn settle_created(
        &self,
        target: &Target,
        name: &str,
        plan_id: &str,
        own: &FoundKey,
    ) -> Result<FoundKey, ProviderError> {
        // On an error the new key stays, attached to no plan (it opens nothing): the next
        // delivery finds it by name, and UNSUBSCRIBE deletes it by name.
        let found = self.find_keys(target, name).await?.unwrap_or_default();
        let winner = self
            .converge(target, name, plan_id, Some(own), found)
            .await?;
        if winner.id != own.id {
            race("lost");
            tracing::info!(
                api_key_id = %own.id,
                winner = %winner.id,
                target_label = %target.label(),
                "Another replica created this subscription's key first: deleting ours and \
                 replying with theirs."
            );
            match delete_key(target, &own.id).await {
                Ok(()) => {}
                Err(err) if err.is_not_found() => {}
                // Never attached, so it opens nothing; UNSUBSCRIBE removes it by name.
                Err(err) => tracing::warn!(
                    api_key_id = %own.id,
                    error = %err,
                    "Could not delete the key that lost the race; it is attached to no plan."
                ),
            }
        }
        Ok(winner)
    }

    /// The key every replica keeps among `keys` (the name's keys as listed, plus `own`): the
    /// oldest ([`winner`]). Only racing replicas go further than the first look.
    ///
    /// Keys created in the same instant (AWS dates have whole seconds) need more than the
    /// listing: a replica whose look saw only its own key has attached it and replied with it
    /// already, so it must win even if its id is not the smallest. So, among tied keys: a key
    /// attached to the plan wins; a replica whose key has not the smallest id deletes it at
    /// once; the key left alone wins. Every replica reaches the same key without a clock. After
    /// [`TIE_WAIT`] (a replica died mid-race) the smallest id wins.
    async fn converge(
        &self,
        target: &Target,
        name: &str,
        plan_id: &str,
        own: Option<&FoundKey>,
        mut keys: Vec<FoundKey>,
    ) -> Result<FoundKey, ProviderError> {
        if let Some(own) = own
            && !keys.iter().any(|k| k.id == own.id)
        {
            keys.push(own.clone());
        }
        let count_won = |winner: &FoundKey| {
            if own.is_none_or(|o| o.id == winner.id) {
                race("won");
            }
        };
        let mut own = own;
        let deadline = Instant::now() + TIE_WAIT;
        let mut pause = TIE_POLL;
        let mut first_look = true;
        loop {
            let tied = oldest(&mut keys);
            let Some(first) = keys.first().cloned() else {
                return Err(ProviderError::backend(format!(
                    "the keys named {name} in {} disappeared while the subscription was being \
                     made (an UNSUBSCRIBE at the same time?); deliver the subscription again",
                    target.label()
                )));
            };
            if tied == 1 {
                if keys.len() > 1 || !first_look {
                    count_won(&first);
                }
                return Ok(first);
            }
            first_look = false;
            let others = keys[..tied]
                .iter()
                .filter(|k| own.is_none_or(|o| o.id != k.id));
            for key in others {
                if key_attached(target, &key.id, plan_id).await? {
                    return Ok(key.clone());
                }
            }
            if let Some(mine) = own
                && keys[..tied].iter().any(|k| k.id == mine.id)
                && mine.id != first.id
            {
                // Ours cannot win: step aside now so the smallest id's owner sees it alone.
                match delete_key(target, &mine.id).await {
                    Ok(()) => {}
                    Err(err) if err.is_not_found() => {}
                    Err(err) => return Err(err.into()),
                }
                keys.retain(|k| k.id != mine.id);
                own = None;
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::info!(
                    api_key_id = %first.id,
                    keys = keys.len(),
                    target_label = %target.label(),
                    "Keys created in the same instant still unresolved: keeping the smallest id."
                );
                count_won(&first);
                return Ok(first);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = pause.saturating_mul(2).min(Duration::from_secs(1));
            keys = self.find_keys(target, name).await?.unwrap_or_default();
            if let Some(mine) = own
                && !keys.iter().any(|k| k.id == mine.id)
            {
                keys.push(mine.clone());
            }
        }
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

    /// The keys named `name`, via `GetApiKeys`; `None` when the lookup is not allowed (warned
    /// once).
    async fn find_keys(
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

    /// `UNSUBSCRIBE`: delete the key the subscription's metadata names and every key named for
    /// the subscription (replicas that raced may have left more than one). A key already gone is
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
        let mut key_ids: Vec<(usize, String)> = match &key_id {
            Some(id) => candidates.iter().map(|&i| (i, id.clone())).collect(),
            None => Vec::new(),
        };
        let name = key_name(subscription_id);
        if !subscription_id.is_empty() {
            for &index in &candidates {
                match self.find_keys(&self.targets[index], &name).await? {
                    Some(found) => key_ids.extend(
                        found
                            .into_iter()
                            .filter(|k| Some(&k.id) != key_id.as_ref())
                            .map(|k| (index, k.id)),
                    ),
                    None if key_id.is_none() => {
                        let grant = self.targets[index]
                            .operation("GetApiKeys", "GET", "/apikeys")
                            .grant();
                        return Err(ProviderError::PermissionDenied(format!(
                            "the UNSUBSCRIBE for {api_id} carries no metadata.apiKeyId, and \
                             finding key {name} by name needs {grant}; grant it, or delete key \
                             {name} by hand"
                        )));
                    }
                    None => {}
                }
            }
        }
        if key_ids.is_empty() {
            tracing::info!(
                subscription = subscription_id,
                "No key named {name} exists: nothing to revoke."
            );
            self.issued.remove(subscription_id);
            return Ok(());
        }
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

/// A key found (or just created) with its creation date.
#[derive(Clone)]
struct FoundKey {
    id: String,
    value: Secret,
    /// `createdDate` as (seconds, nanoseconds); `None` sorts last.
    created: Option<(i64, u32)>,
}

fn created_of(date: Option<&aws_smithy_types::DateTime>) -> Option<(i64, u32)> {
    date.map(|d| (d.secs(), d.subsec_nanos()))
}

/// The order every replica uses: oldest `createdDate` first, ties by id.
pub fn winner<'a>(
    keys: impl IntoIterator<Item = (&'a str, Option<(i64, u32)>)>,
) -> Option<&'a str> {
    keys.into_iter()
        .min_by(|a, b| rank(a.1).cmp(&rank(b.1)).then_with(|| a.0.cmp(b.0)))
        .map(|(id, _)| id)
}

fn rank(created: Option<(i64, u32)>) -> (i64, u32) {
    created.unwrap_or((i64::MAX, u32::MAX))
}

/// Sorts `keys` in [`winner`] order and returns how many share the oldest creation date.
fn oldest(keys: &mut [FoundKey]) -> usize {
    keys.sort_by(|a, b| {
        rank(a.created)
            .cmp(&rank(b.created))
            .then_with(|| a.id.cmp(&b.id))
    });
    match keys.first() {
        Some(first) => keys
            .iter()
            .take_while(|k| k.created == first.created)
            .count(),
        None => 0,
    }
}

fn refused(reason: &'static str) {
    describe_metrics();
    metrics::counter!(SUBSCRIPTIONS_REFUSED, "reason" => reason).increment(1);
}

fn race(outcome: &'static str) {
    describe_metrics();
    metrics::counter!(KEY_RACES, "outcome" => outcome).increment(1);
}

fn describe_metrics() {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            SUBSCRIPTIONS_REFUSED,
            "SUBSCRIBEs refused before any AWS key was created, by reason (stage_not_in_plan, \
             plan_not_found, api_not_found, invalid_api_id)."
        );
        metrics::describe_counter!(
            KEY_RACES,
            "Subscriptions for which replicas raced and several keys carried the name, by \
             outcome (won, lost)."
        );
    });
}

fn plan_display(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".to_owned()
    } else {
        format!("`{name}`")
    }
}

/// `GetApiKeys` by exact name (`nameQuery` is a prefix match; paged), with values.
async fn lookup_keys(target: &Target, name: &str) -> Result<Vec<FoundKey>, AwsError> {
    let op = target.operation("GetApiKeys", "GET", "/apikeys");
    let mut out = Vec::new();
    let mut position: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_api_keys()
                    .name_query(name)
                    .include_values(true)
                    .limit(PAGE_LIMIT)
                    .set_position(position.clone())
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
        match page.position() {
            Some(next) if !next.is_empty() && seen.insert(next.to_owned()) => {
                position = Some(next.to_owned());
            }
            _ => break,
        }
    }
    Ok(out)
}

async fn create_key(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_key_wins_and_ties_go_to_the_smallest_id() {
        let keys = [
            ("k3", Some((100, 0))),
            ("k2", Some((101, 0))),
            ("k1", Some((100, 0))),
        ];
        assert_eq!(winner(keys), Some("k1"));
        assert_eq!(
            winner([("b", Some((5, 1))), ("a", Some((5, 2)))]),
            Some("b")
        );
        assert_eq!(winner([("a", None), ("z", Some((9, 0)))]), Some("z"));
        assert_eq!(winner(std::iter::empty()), None);
    }

    #[test]
    fn oldest_counts_the_tie() {
        let key = |id: &str, secs| FoundKey {
            id: id.to_owned(),
            value: Secret::from("v"),
            created: Some((secs, 0)),
        };
        let mut keys = vec![key("b", 7), key("c", 8), key("a", 7)];
        assert_eq!(oldest(&mut keys), 2);
        assert_eq!(keys[0].id, "a");
        let mut alone = vec![key("x", 1), key("y", 2)];
        assert_eq!(oldest(&mut alone), 1);
    }
}
