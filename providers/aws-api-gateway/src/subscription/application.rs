//! One API key per Gravitee application (`apiKeyScope: application`): the key
//! `gravitee-app-{applicationId}` is attached to every usage plan the application subscribes
//! through, each live subscription keeps a record (`records.rs`), and a usage plan is detached
//! when no record uses it any more. **The key itself is never deleted by an UNSUBSCRIBE**: with
//! no record left it is attached to no plan (it opens nothing) and kept, so the application's
//! next subscription gets the same key and value.
//!
//! Why it is kept: in APIM's shared API-key mode the key an application was first given is its
//! key for good. A SUBSCRIBE accepted for such an application adds the subscription to one of
//! the application's existing keys, revoked ones included (`GenerateApiKeyDomainService`,
//! `findOrGenerate`), and the agent's key is used only when the application has none; closing a
//! subscription revokes no key of a shared-mode application (`CloseSubscriptionDomainService`,
//! `revokeApiKeys`). A key deleted with the application's last subscription would make its next
//! subscription show the old value while AWS knows only a new one: 403
//! (`docs/reference/integration-commands.md` §9). In exclusive mode the kept key is harmless:
//! APIM accepts the same federated key value on several subscriptions.
//!
//! The agent keeps no state: replicas agree through AWS, and every step is safe when another
//! replica (or a repeat delivery) runs the same or the opposite command at the same time:
//!
//! - **SUBSCRIBE**: list the application (`GetApiKeys`: key, records) → the key (found; or
//!   created and settled among replicas as `race.rs` does for any key name) → refuse at once
//!   when another of the key's plans grants a stage of the new plan (`conflict.rs`) → **create
//!   the record before attaching** → attach (`CreateUsagePlanKey`) → reply with the key. A key
//!   gone at the attach (`NotFound`: deleted by hand since the listing) starts over (at most
//!   [`PASSES`] passes). An attach AWS refuses deletes the record just made and says why.
//! - **UNSUBSCRIBE**: list → delete the subscription's record(s) → detach the key from every
//!   usage plan no other record uses (`DeleteUsagePlanKey`; with no record left, from every
//!   plan), then list again and attach it back to a plan a record appeared for meanwhile. When
//!   that listing shows a record counted before gone (two UNSUBSCRIBEs at once may each see the
//!   other's record), detach again with it.
//!
//! Why this converges: a SUBSCRIBE writes its record, then attaches; an UNSUBSCRIBE detaches,
//! then reads the records. Either that read sees the record, and the plan is attached again, or
//! the record was written after it, and so the attach comes after the detach. Of two
//! UNSUBSCRIBEs at once, each deletes its record before the read that follows its detach, so at
//! least one of those reads sees both records gone, and that one detaches what the other
//! kept: the key ends on no plan. This relies on `GetApiKeys` reading its own writes, as
//! `race.rs` does. Within one process a lock per application serialises these commands.

use std::sync::Arc;

use federation_core::{ProviderError, Subscription, SubscriptionResult};

use super::conflict::{explain_refusal, stage_taken, stage_taken_error};
use super::coverage::usage_plan;
use super::keys::{
    FoundKey, NewKey, attach_key, create_key, delete_key_if_present, detach_key, is_refusal,
    plans_of_key,
};
use super::metadata::application_result;
use super::names::{ApplicationNames, application_words};
use super::records::{ApplicationKeys, Record, create_record};
use crate::plans::PlanStages;
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// Passes of a SUBSCRIBE (the first, and starts over after the key vanished at the attach),
/// and of an UNSUBSCRIBE's detach (the first, and again after a record it counted went).
const PASSES: usize = 3;

/// One subscription of an application, as SUBSCRIBE gives it.
pub(super) struct Subscribing<'a> {
    pub(super) subscription: &'a Subscription,
    pub(super) subscription_id: &'a str,
    pub(super) api_id: &'a str,
    pub(super) plan_id: &'a str,
}

impl AwsApiGatewayProvider {
    /// SUBSCRIBE with the application's key (see the module docs).
    pub(super) async fn subscribe_application(
        &self,
        target: &Arc<Target>,
        names: &ApplicationNames,
        request: &Subscribing<'_>,
    ) -> Result<SubscriptionResult, ProviderError> {
        let held = self.issued.lock_for(&lock_name(target, names));
        let result = {
            let _guard = held.lock().await;
            self.subscribe_application_locked(target, names, request)
                .await
        };
        self.issued.release(&lock_name(target, names), held);
        result
    }

    async fn subscribe_application_locked(
        &self,
        target: &Arc<Target>,
        names: &ApplicationNames,
        request: &Subscribing<'_>,
    ) -> Result<SubscriptionResult, ProviderError> {
        let plan_id = request.plan_id;
        let plan = usage_plan(target, plan_id, |_| true)
            .await?
            .unwrap_or_default();
        // The record this delivery made, deleted again if the SUBSCRIBE fails (another
        // replica's record stays with its reply).
        let mut made: Option<Record> = None;
        let result = self
            .subscribe_passes(target, names, request, &plan, &mut made)
            .await;
        if result.is_err() {
            forget(target, made.take()).await;
        }
        result
    }

    async fn subscribe_passes(
        &self,
        target: &Arc<Target>,
        names: &ApplicationNames,
        request: &Subscribing<'_>,
        plan: &PlanStages,
        made: &mut Option<Record>,
    ) -> Result<SubscriptionResult, ProviderError> {
        let plan_id = request.plan_id;
        for pass in 1..=PASSES {
            let known = self.application_keys(target, names).await?;
            let key = self.application_key(target, names, &known, request).await?;
            let key_plans = plans_of_key(target, &key.id).await?;
            if !key_plans.iter().any(|(id, _)| id == plan_id)
                && let Some(taken) = stage_taken(plan_id, plan, &key_plans)
            {
                return Err(stage_taken_error(
                    names,
                    request.api_id,
                    (plan_id, plan),
                    taken,
                    &known,
                ));
            }
            if known.records_of(request.subscription_id).next().is_none() && made.is_none() {
                *made = Some(
                    create_record(target, names, request.subscription, request.api_id, plan_id)
                        .await?,
                );
            }
            match attach_key(target, plan_id, &key.id).await {
                Ok(()) => {
                    tracing::info!(
                        subscription = request.subscription_id,
                        application = %names.application_id,
                        api_id = request.api_id,
                        usage_plan = plan_id,
                        api_key_id = %key.id,
                        target_label = %target.label(),
                        "API key issued: the application's key is on the usage plan."
                    );
                    return Ok(application_result(
                        request.subscription_id,
                        target,
                        &key.id,
                        &key.value,
                        plan_id,
                        &names.application_id,
                    ));
                }
                Err(err) if err.is_not_found() && pass < PASSES => {
                    tracing::info!(
                        application = %names.application_id,
                        api_key_id = %key.id,
                        pass,
                        "The application's key vanished before the attach (deleted by hand?): \
                         starting over."
                    );
                }
                Err(err) => {
                    // The key stays: another replica may be replying with it. Attached to no
                    // plan of this subscription, it opens nothing more.
                    if !is_refusal(&err) {
                        return Err(err.into());
                    }
                    let key_plans = plans_of_key(target, &key.id).await?;
                    return Err(explain_refusal(
                        names,
                        request.api_id,
                        (plan_id, plan),
                        &key_plans,
                        &known,
                        &err,
                    ));
                }
            }
        }
        Err(ProviderError::backend(format!(
            "the key of application {} in {} vanished {PASSES} times while this subscription \
             was being made (deleted at AWS by hand or by another tool?); deliver the \
             subscription again",
            names.application_id,
            target.label()
        )))
    }

    /// The application's key: found (several after a race: the one every replica keeps), or
    /// created and settled among replicas.
    async fn application_key(
        &self,
        target: &Target,
        names: &ApplicationNames,
        known: &ApplicationKeys,
        request: &Subscribing<'_>,
    ) -> Result<FoundKey, ProviderError> {
        if !known.keys.is_empty() {
            return self
                .converge(target, &names.key, None, None, known.keys.clone())
                .await;
        }
        let description = format!(
            "Gravitee {}: one key for all its API-key subscriptions, on each usage plan they \
             use; each subscription is recorded by a disabled key {}.sub-{{subscriptionId}}",
            application_words(
                request.subscription.gravitee_application_name.as_deref(),
                Some(&names.application_id)
            ),
            names.key
        );
        let own = create_key(
            target,
            NewKey {
                name: &names.key,
                description: &description,
                enabled: true,
                customer: Some(&names.key),
            },
        )
        .await?;
        self.settle_created(target, &names.key, None, &own).await
    }

    /// UNSUBSCRIBE of `subscription_id` of the application (see the module docs).
    pub(super) async fn revoke_application(
        &self,
        target: &Target,
        names: &ApplicationNames,
        subscription_id: &str,
    ) -> Result<(), ProviderError> {
        let lock = lock_name(target, names);
        let held = self.issued.lock_for(&lock);
        let result = {
            let _guard = held.lock().await;
            self.revoke_application_locked(target, names, subscription_id)
                .await
        };
        self.issued.release(&lock, held);
        result
    }

    async fn revoke_application_locked(
        &self,
        target: &Target,
        names: &ApplicationNames,
        subscription_id: &str,
    ) -> Result<(), ProviderError> {
        let mut known = self.application_keys(target, names).await?;
        if known.is_empty() {
            tracing::info!(
                subscription = subscription_id,
                application = %names.application_id,
                target_label = %target.label(),
                "Nothing of the application is left at AWS: nothing to revoke."
            );
            return Ok(());
        }
        for record in known.records_of(subscription_id) {
            delete_key_if_present(target, &record.id).await?;
        }
        for _ in 0..PASSES {
            let now = self
                .detach_unused(target, names, &known, subscription_id)
                .await?;
            // A record counted in `known` may be gone now (an UNSUBSCRIBE of another
            // subscription of the application at the same time): the plans kept for it are
            // detached with this newer listing.
            let settled = match (
                known.plans_in_use(subscription_id),
                now.plans_in_use(subscription_id),
            ) {
                (Some(kept), Some(used)) => kept.is_subset(&used),
                _ => true,
            };
            known = now;
            if settled {
                break;
            }
        }
        if !known
            .records
            .iter()
            .any(|r| r.subscription_id != subscription_id)
        {
            for key in &known.keys {
                tracing::info!(
                    application = %names.application_id,
                    api_key_id = %key.id,
                    target_label = %target.label(),
                    "The application's last subscription ended: its API key is on no usage plan \
                     now, and kept for the application's next subscription."
                );
            }
        }
        Ok(())
    }

    /// Detaches the application's key from every usage plan no record (other than
    /// `subscription_id`'s) uses (every plan when no record is left), then lists again and
    /// attaches it back where a record appeared meanwhile. Returns that listing.
    async fn detach_unused(
        &self,
        target: &Target,
        names: &ApplicationNames,
        known: &ApplicationKeys,
        subscription_id: &str,
    ) -> Result<ApplicationKeys, ProviderError> {
        let Some(in_use) = known.plans_in_use(subscription_id) else {
            tracing::warn!(
                application = %names.application_id,
                "A record of the application names no usage plan (edited by hand?): no plan is \
                 detached from its key."
            );
            return self.application_keys(target, names).await;
        };
        let mut detached: Vec<(&FoundKey, String)> = Vec::new();
        for key in &known.keys {
            for (plan_id, plan) in plans_of_key(target, &key.id).await? {
                if in_use.contains(&plan_id) {
                    continue;
                }
                detach_key(target, &plan_id, &key.id)
                    .await
                    .map_err(|err| denied_detach(err.into(), names, &plan_id, &plan))?;
                tracing::info!(
                    application = %names.application_id,
                    api_key_id = %key.id,
                    usage_plan = %plan_id,
                    target_label = %target.label(),
                    "No subscription of the application uses the usage plan any more: the \
                     application's key was detached from it."
                );
                detached.push((key, plan_id));
            }
        }
        let now = self.application_keys(target, names).await?;
        for (key, plan_id) in detached {
            if now.plan_used(&plan_id, subscription_id) {
                attach_key(target, &plan_id, &key.id).await?;
                tracing::info!(
                    application = %names.application_id,
                    api_key_id = %key.id,
                    usage_plan = %plan_id,
                    "A subscription through the usage plan was made meanwhile: the key was \
                     attached again."
                );
            }
        }
        Ok(now)
    }
}

/// Deletes the record a failed SUBSCRIBE made.
async fn forget(target: &Target, record: Option<Record>) {
    let Some(record) = record else { return };
    if let Err(err) = delete_key_if_present(target, &record.id).await {
        tracing::warn!(
            record = %record.id,
            error = %err,
            "Could not delete the record of a failed SUBSCRIBE; it opens nothing, and the \
             application's next UNSUBSCRIBE may keep a usage plan for it."
        );
    }
}

/// The process lock of an application in a target.
fn lock_name(target: &Target, names: &ApplicationNames) -> String {
    format!("application {} {}", target.label(), names.application_id)
}

/// A refused detach, with what it costs.
fn denied_detach(
    err: ProviderError,
    names: &ApplicationNames,
    plan_id: &str,
    plan: &PlanStages,
) -> ProviderError {
    match err {
        ProviderError::PermissionDenied(message) => ProviderError::PermissionDenied(format!(
            "{message}; until it is granted, application {}'s key stays on usage plan {} \
             ({plan_id}), which none of its subscriptions uses any more",
            names.application_id,
            if plan.name.is_empty() {
                "(unnamed)"
            } else {
                &plan.name
            }
        )),
        other => other,
    }
}
