//! One API key per Gravitee application (`apiKeyScope: application`): the key
//! `gravitee-app-{applicationId}` is attached to every usage plan the application subscribes
//! through, each live subscription keeps a record (`records.rs`), and a usage plan is detached
//! when no record uses it any more; the key goes with the last record.
//!
//! The agent keeps no state: replicas agree through AWS, and every step is safe when another
//! replica (or a repeat delivery) runs the same or the opposite command at the same time:
//!
//! - **SUBSCRIBE**: list the application (`GetApiKeys`: key, records, markers) → the key
//!   (found; or created and settled among replicas as `race.rs` does for any key name) → refuse
//!   at once when another of the key's plans grants a stage of the new plan (`conflict.rs`) →
//!   **create the record before attaching** → list again: wait while an UNSUBSCRIBE's marker
//!   says it is deleting the key, start over if the key is gone → attach (`CreateUsagePlanKey`)
//!   → reply with the key. A key gone at the attach (`NotFound`) starts over too (at most
//!   [`PASSES`] passes). An attach AWS refuses deletes the record just made and says why.
//! - **UNSUBSCRIBE**: list → delete the subscription's record(s) → when other records are left,
//!   detach the key from every usage plan no record uses (`DeleteUsagePlanKey`), then list
//!   again and attach it back to a plan a record appeared for meanwhile; when no record is
//!   left (in the first listing, or in the one after the detach: two UNSUBSCRIBEs at once may
//!   each see the other's record), create a **marker**, list again, and delete the key only if
//!   still no record exists (else fall back to detaching), then delete the marker.
//!
//! Why this converges: a SUBSCRIBE writes its record then reads; an UNSUBSCRIBE deleting the key
//! writes its marker then reads. Of two such write-then-read sequences at least one sees the
//! other's write, so either the UNSUBSCRIBE sees the record and keeps the key, or the SUBSCRIBE
//! sees the marker (or the key already gone) and waits, then starts over, before it attaches
//! or replies. A detach is followed by a read, and a record is written before its attach, so a
//! plan detached under a new subscription is attached again. This relies on `GetApiKeys`
//! reading its own writes, as `race.rs` does. Within one process a lock per application
//! serialises these commands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use federation_core::{ProviderError, Subscription, SubscriptionResult};

use super::conflict::{explain_refusal, stage_taken, stage_taken_error};
use super::coverage::usage_plan;
use super::keys::{
    FoundKey, NewKey, attach_key, create_key, delete_key_if_present, detach_key, is_refusal,
    plans_of_key,
};
use super::metadata::application_result;
use super::names::{ApplicationNames, application_words};
use super::records::{ApplicationKeys, Record, create_marker, create_record};
use crate::plans::PlanStages;
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// Passes of a SUBSCRIBE: the first, and starts over after the key vanished or an UNSUBSCRIBE
/// deleting it was seen.
const PASSES: usize = 3;
/// How long a SUBSCRIBE waits for an UNSUBSCRIBE's marker to go; a marker still there after
/// that was left by a replica that died, and is deleted.
pub(super) const MARKER_WAIT: Duration = Duration::from_secs(20);
const MARKER_POLL: Duration = Duration::from_millis(200);

/// One subscription of an application, as SUBSCRIBE gives it.
pub(super) struct Subscribing<'a> {
    pub(super) subscription: &'a Subscription,
    pub(super) subscription_id: &'a str,
    pub(super) api_id: &'a str,
    pub(super) plan_id: &'a str,
}

/// What the listing after the record says.
enum Settled {
    /// The key is there and nobody is deleting it: attach.
    Ready,
    /// Start over: the key is gone, or an UNSUBSCRIBE was deleting it.
    Again,
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
            if known.records_of(request.subscription_id).next().is_none() {
                *made = Some(
                    create_record(target, names, request.subscription, request.api_id, plan_id)
                        .await?,
                );
            }
            if let Settled::Again = self.settle(target, names, &key).await? {
                tracing::info!(
                    application = %names.application_id,
                    pass,
                    "The application's key was being deleted by an UNSUBSCRIBE: starting over."
                );
                continue;
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
                        "The application's key vanished before the attach: starting over."
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
            "the key of application {} in {} was deleted {PASSES} times while this subscription \
             was being made (UNSUBSCRIBEs of its other subscriptions at the same time); deliver \
             the subscription again",
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

    /// After the record: lists again. An UNSUBSCRIBE's marker means it may be deleting the key:
    /// wait until it is gone ([`MARKER_WAIT`] at most, then it is stale and deleted) and start
    /// over; a key gone means start over.
    async fn settle(
        &self,
        target: &Target,
        names: &ApplicationNames,
        key: &FoundKey,
    ) -> Result<Settled, ProviderError> {
        let mut known = self.application_keys(target, names).await?;
        if known.markers.is_empty() {
            return Ok(if known.keys.iter().any(|k| k.id == key.id) {
                Settled::Ready
            } else {
                Settled::Again
            });
        }
        let deadline = Instant::now() + MARKER_WAIT;
        let mut pause = MARKER_POLL;
        while !known.markers.is_empty() {
            if Instant::now() >= deadline {
                for marker in &known.markers {
                    tracing::warn!(
                        marker = %marker.id,
                        application = %names.application_id,
                        "Deleting a marker older than {MARKER_WAIT:?}: the UNSUBSCRIBE that made \
                         it has stopped."
                    );
                    delete_key_if_present(target, &marker.id).await?;
                }
                break;
            }
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(Duration::from_secs(1));
            known = self.application_keys(target, names).await?;
        }
        Ok(Settled::Again)
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
        let known = self.application_keys(target, names).await?;
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
        if known
            .records
            .iter()
            .any(|r| r.subscription_id != subscription_id)
        {
            // Two UNSUBSCRIBEs of the application's last two subscriptions may each see the
            // other's record; the read after the detach sees at least one of them gone.
            let now = self
                .detach_unused(target, names, &known, subscription_id)
                .await?;
            if !now.records.is_empty() {
                return Ok(());
            }
        }
        self.close_application(target, names).await
    }

    /// No record is left: delete the key, unless a SUBSCRIBE made a record meanwhile (then
    /// detach what no record uses).
    async fn close_application(
        &self,
        target: &Target,
        names: &ApplicationNames,
    ) -> Result<(), ProviderError> {
        let marker = create_marker(target, names).await?;
        let outcome = self.close_under_marker(target, names).await;
        if let Err(err) = delete_key_if_present(target, &marker.id).await {
            tracing::warn!(
                marker = %marker.id,
                error = %err,
                "Could not delete the UNSUBSCRIBE's marker; it opens nothing and SUBSCRIBEs of \
                 the application treat it as stale after {MARKER_WAIT:?}."
            );
        }
        outcome
    }

    async fn close_under_marker(
        &self,
        target: &Target,
        names: &ApplicationNames,
    ) -> Result<(), ProviderError> {
        let known = self.application_keys(target, names).await?;
        if !known.records.is_empty() {
            tracing::info!(
                application = %names.application_id,
                "A subscription of the application was made meanwhile: keeping its key."
            );
            self.detach_unused(target, names, &known, "").await?;
            return Ok(());
        }
        for key in &known.keys {
            delete_key_if_present(target, &key.id).await?;
            tracing::info!(
                application = %names.application_id,
                api_key_id = %key.id,
                target_label = %target.label(),
                "The application's last subscription ended: its API key was deleted."
            );
        }
        Ok(())
    }

    /// Detaches the application's key from every usage plan no record (other than
    /// `subscription_id`'s) uses, then lists again and attaches it back where a record appeared
    /// meanwhile. Returns that listing.
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
