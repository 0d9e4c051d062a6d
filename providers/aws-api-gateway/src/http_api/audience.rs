//! OAUTH subscriptions to HTTP APIs: a Gravitee application's OAuth `client_id` (SUBSCRIBE's
//! `metadata.consumerKey`) in the audience of the JWT authorizer its plan names.
//!
//! A JWT authorizer lets a token in when its `aud` (or, without `aud`, its `client_id`) is one
//! of the authorizer's `JwtConfiguration.Audience` entries (AWS, "Control access to HTTP APIs
//! with JWT authorizers"; `docs/reference/aws-api-gateway.md`, "Our mapping"). One audience
//! entry is per **client id**, not per subscription: one application subscribed to two stages
//! whose routes share the authorizer (or to the same stage through two Gravitee APIs) needs the
//! entry as long as any of those subscriptions lives.
//!
//! **How the agent knows who still needs an entry** — it keeps no state and may run as two
//! replicas, so the record lives at AWS, on the HTTP API itself: one **marker tag** per live
//! subscription, `gravitee:oauth:{subscriptionId}` = `{authorizerId}/{stage}/{owned|kept}/{clientId}`
//! (each part escaped to the tag character set; `markers.rs`). Tags are per key, so writing one
//! subscription's marker never touches another's (`TagResource` / `UntagResource` change only
//! the keys they name; `GetApi` reads them all, as `GetApis` does for discovery).
//!
//! - **SUBSCRIBE**: check the plan still holds (stage exists, the authorizer is a JWT authorizer
//!   some route uses); read the audience, then the markers; write the subscription's marker
//!   (`kept` when the client id was in the audience already and no `owned` marker explains it:
//!   an entry someone added by hand is never removed by the agent); then make the audience hold
//!   the client id (`converge.rs`). A subscription delivered again finds its marker and the
//!   entry: nothing changes, the same reply.
//! - **UNSUBSCRIBE**: read the subscription's marker (or, when it is gone, the reply metadata
//!   SUBSCRIBE returned); unless `kept`, make the audience lose the client id **unless another
//!   marker for the same authorizer and client id remains**; then remove the marker. The marker
//!   goes last, so an UNSUBSCRIBE cut half way is finished by the next delivery. An API already
//!   deleted (its authorizers with it) or an authorizer gone is success.
//!
//! **Converging on one audience list.** `UpdateAuthorizer` replaces the whole list, so two
//! writers (two subscriptions in two replicas) can lose each other's change. The
//! reconciliation (`converge.rs`) therefore never trusts one write: each round reads the audience and the markers, computes
//! what the client id's entry should be (present while any marker needs it), writes the list
//! read plus or minus that one entry, waits a settle delay (twice the round's own read-to-write
//! time, at least 250 ms, with jitter), and reads again; it returns only when a read
//! made after the settle delay shows the entry as it should be, and gives up after
//! 10 rounds. Every writer re-checks only its own entry, from fresh reads, so an entry one
//! writer lost is put back by its owner, and an entry another writer put back from a stale read
//! is removed again: nothing lost, nothing left — provided each writer's read-to-write time
//! stays under the others' settle delay. Within one process a lock per authorizer serialises the
//! writers.
//!
//! Limits (AWS, "Quotas for configuring and running an HTTP API"): 50 audience entries per
//! authorizer, 50 tags per resource (the API's own tags and the markers together): a SUBSCRIBE
//! beyond either gets an ERROR saying so, and nothing is left behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use federation_core::{ProviderError, Subscription, SubscriptionResult};

use super::converge::{Intent, Settled, reconcile};
use super::mapping::{http_id, split_http_id, split_plan_id};
use super::markers::{Marker, marker_key, markers_of};
use super::reads::{get_api, get_authorizer, get_routes, get_stages, tag_api, untag_api};
use super::routing::target_of;
use crate::error::AwsError;
use crate::provider::AwsApiGatewayProvider;
use crate::subscription::with_target;
use crate::target::Target;

/// Reply metadata: the HTTP API id.
pub(crate) const META_HTTP_API: &str = "httpApiId";
/// Reply metadata: the stage.
pub(crate) const META_STAGE: &str = "stage";
/// Reply metadata: the authorizer id.
pub(crate) const META_AUTHORIZER: &str = "authorizerId";
/// Reply metadata: the client id in the audience.
pub(crate) const META_CLIENT: &str = "clientId";
/// Reply metadata: `added` (the agent added the entry) or `kept` (it was there before).
pub(crate) const META_ENTRY: &str = "audienceEntry";

/// The process's locks, one per authorizer (`{target}/{api}/{authorizer}`).
#[derive(Debug, Default)]
pub(crate) struct AudienceLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AudienceLocks {
    fn of(
        &self,
        target: &Target,
        api_id: &str,
        authorizer_id: &str,
    ) -> Arc<tokio::sync::Mutex<()>> {
        let key = format!("{}/{api_id}/{authorizer_id}", target.label());
        self.locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone()
    }
}

fn nothing_changed(message: String) -> ProviderError {
    ProviderError::InvalidRequest(format!("{message}; nothing was changed"))
}

impl AwsApiGatewayProvider {
    /// `SUBSCRIBE` of type `OAUTH` to an HTTP API stage.
    pub(crate) async fn subscribe_oauth(
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
        let Some(client_id) = subscription
            .metadata_value("consumerKey")
            .map(str::trim)
            .filter(|c| !c.is_empty())
        else {
            return Err(nothing_changed(format!(
                "the OAUTH subscription {subscription_id} to {api_id} carries no consumerKey: the \
                 Gravitee application has no OAuth client id; give the application a client_id \
                 (its OAuth settings) and subscribe again"
            )));
        };
        let (http_api_id, stage) = split_http_id(api_id).ok_or_else(|| {
            nothing_changed(format!(
                "apiId `{api_id}` is not an AWS HTTP API stage id (http/{{apiId}}/{{stage}})"
            ))
        })?;
        let plan = subscription
            .plan_id()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                nothing_changed(format!(
                    "the subscription to {api_id} has no metadata.planId (jwt/{{apiId}}/{{authorizerId}})"
                ))
            })?;
        let authorizer_id = match split_plan_id(plan) {
            Some((plan_api, authorizer)) if plan_api == http_api_id => authorizer,
            _ => {
                return Err(nothing_changed(format!(
                    "plan {plan} is not a JWT authorizer plan of HTTP API {http_api_id} \
                     (jwt/{http_api_id}/{{authorizerId}})"
                )));
            }
        };
        let target = target_of(self, subscription, http_api_id).await?;
        let held = self.audiences.of(target, http_api_id, authorizer_id);
        let _guard = held.lock().await;

        // The plan must still hold: a client id in this audience opens every route using it.
        let (stages, routes) = tokio::try_join!(
            get_stages(target, http_api_id),
            get_routes(target, http_api_id)
        )
        .map_err(|err| not_found_as(err, format!("HTTP API {http_api_id} does not exist")))?;
        if !stages.iter().any(|s| s.name == stage) {
            return Err(ProviderError::NotFound(format!(
                "stage {stage} of HTTP API {http_api_id} does not exist; nothing was changed"
            )));
        }
        if !routes
            .iter()
            .any(|r| r.jwt_authorizer() == Some(authorizer_id))
        {
            return Err(ProviderError::NotFound(format!(
                "no route of HTTP API {http_api_id} uses JWT authorizer {authorizer_id} any more: \
                 the plan no longer grants access; close the subscription or ingest the API \
                 again; nothing was changed"
            )));
        }
        let authorizer = get_authorizer(target, http_api_id, authorizer_id)
            .await
            .map_err(|err| {
                not_found_as(
                    err,
                    format!("authorizer {authorizer_id} of HTTP API {http_api_id} does not exist"),
                )
            })?;
        if !authorizer.is_jwt() {
            return Err(nothing_changed(format!(
                "authorizer {authorizer_id} of HTTP API {http_api_id} is a {} authorizer, not a \
                 JWT authorizer",
                authorizer.kind
            )));
        }
        // Audience first, then the markers: a client id seen in the audience was added after
        // its owner's marker was written, so the marker is seen too.
        let present = authorizer.audience.iter().any(|a| a == client_id);
        let api = get_api(target, http_api_id).await?;
        let markers = markers_of(&api.markers);
        let previous = markers
            .iter()
            .find(|m| m.subscription_id == subscription_id)
            .cloned();
        let kept = match &previous {
            Some(m) if m.authorizer_id == authorizer_id && m.client_id == client_id => m.kept,
            _ => {
                let others: Vec<&Marker> = markers
                    .iter()
                    .filter(|m| {
                        m.subscription_id != subscription_id
                            && m.authorizer_id == authorizer_id
                            && m.client_id == client_id
                    })
                    .collect();
                present && (others.is_empty() || others.iter().any(|m| m.kept))
            }
        };
        let marker = Marker {
            subscription_id: subscription_id.to_owned(),
            authorizer_id: authorizer_id.to_owned(),
            stage: stage.to_owned(),
            kept,
            client_id: client_id.to_owned(),
        };
        let wrote_marker = previous.as_ref() != Some(&marker);
        if wrote_marker {
            let (key, value) = (marker.key(), marker.value());
            if key.len() > 128 || value.len() > 256 {
                return Err(nothing_changed(format!(
                    "the subscription id or client id is too long to record on the HTTP API \
                     (AWS tags: keys up to 128, values up to 256 characters; here {} and {})",
                    key.len(),
                    value.len()
                )));
            }
            tag_api(target, http_api_id, &key, &value)
                .await
                .map_err(|err| tag_error(err, http_api_id))?;
        }
        let settled = if kept {
            Ok(Settled::Done(false))
        } else {
            reconcile(
                target,
                http_api_id,
                authorizer_id,
                client_id,
                subscription_id,
                Intent::Present,
            )
            .await
        };
        let changed = match settled {
            Ok(Settled::Done(changed)) => changed,
            Ok(Settled::AuthorizerGone) | Err(_) => {
                if wrote_marker && previous.is_none() {
                    // Leave nothing behind: the subscription is refused.
                    let _ = untag_api(target, http_api_id, &marker.key()).await;
                }
                return Err(match settled {
                    Err(err) => err,
                    _ => ProviderError::NotFound(format!(
                        "authorizer {authorizer_id} of HTTP API {http_api_id} was deleted while \
                         subscribing; nothing was changed"
                    )),
                });
            }
        };
        if let Some(old) = previous
            .filter(|m| !m.kept && (m.authorizer_id != authorizer_id || m.client_id != client_id))
        {
            // The same subscription once named another entry (a changed plan or client id):
            // that entry loses this subscription's claim.
            // Best effort: an authorizer gone since has no entry left to release.
            let _ = reconcile(
                target,
                http_api_id,
                &old.authorizer_id,
                &old.client_id,
                subscription_id,
                Intent::ReleaseBy,
            )
            .await;
        }
        tracing::info!(
            subscription = subscription_id,
            api_id,
            authorizer_id,
            client_id,
            target_label = %target.label(),
            entry = if kept { "kept" } else { "added" },
            changed,
            "OAuth client id in the JWT authorizer's audience."
        );
        let result = SubscriptionResult::new(subscription_id)
            .with_metadata(META_HTTP_API, http_api_id)
            .with_metadata(META_STAGE, stage)
            .with_metadata(META_AUTHORIZER, authorizer_id)
            .with_metadata(META_CLIENT, client_id)
            .with_metadata(META_ENTRY, if kept { "kept" } else { "added" });
        // `region`, and `account` / `roleArn` in multi-account mode, as for API keys.
        Ok(with_target(result, target))
    }

    /// `UNSUBSCRIBE` of an OAUTH subscription to an HTTP API stage.
    pub(crate) async fn revoke_oauth(
        &self,
        api_id: &str,
        subscription: &Subscription,
    ) -> Result<(), ProviderError> {
        let subscription_id = subscription.gravitee_subscription_id.trim();
        let value = |key: &str| {
            subscription
                .metadata_value(key)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let http_api_id = match split_http_id(api_id) {
            Some((api, _)) => api,
            None => value(META_HTTP_API).ok_or_else(|| {
                ProviderError::InvalidRequest(format!(
                    "apiId `{api_id}` is not an AWS HTTP API stage id (http/{{apiId}}/{{stage}})"
                ))
            })?,
        };
        let target = match target_of(self, subscription, http_api_id).await {
            Ok(target) => target,
            Err(ProviderError::NotFound(why)) => {
                tracing::info!(
                    subscription = subscription_id,
                    api_id,
                    "{why}: nothing to revoke."
                );
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        let api = match get_api(target, http_api_id).await {
            Ok(api) => api,
            Err(err) if err.is_not_found() => {
                tracing::info!(
                    subscription = subscription_id,
                    api_id,
                    "HTTP API {http_api_id} is gone, its authorizers with it: nothing to revoke."
                );
                return Ok(());
            }
            Err(err) => return Err(err.into()),
        };
        let own = markers_of(&api.markers)
            .into_iter()
            .find(|m| m.subscription_id == subscription_id);
        let (authorizer_id, client_id, kept) = match &own {
            Some(m) => (m.authorizer_id.clone(), m.client_id.clone(), m.kept),
            None => match (
                value(META_AUTHORIZER),
                value(META_CLIENT).or_else(|| value("consumerKey")),
                value(META_ENTRY),
            ) {
                // No marker, but the reply metadata: finish the job (idempotent).
                (Some(authorizer), Some(client), Some(entry)) => {
                    (authorizer.to_owned(), client.to_owned(), entry == "kept")
                }
                _ => {
                    tracing::info!(
                        subscription = subscription_id,
                        api_id,
                        "No audience entry is recorded for this subscription: nothing to revoke."
                    );
                    return Ok(());
                }
            },
        };
        if !kept {
            let held = self.audiences.of(target, http_api_id, &authorizer_id);
            let _guard = held.lock().await;
            let settled = reconcile(
                target,
                http_api_id,
                &authorizer_id,
                &client_id,
                subscription_id,
                Intent::ReleaseBy,
            )
            .await?;
            if settled == Settled::AuthorizerGone {
                tracing::info!(
                    subscription = subscription_id,
                    "Authorizer {authorizer_id} of HTTP API {http_api_id} is gone: nothing to \
                     remove from its audience."
                );
            }
        }
        if own.is_some() {
            match untag_api(target, http_api_id, &marker_key(subscription_id)).await {
                Ok(()) => {}
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(tag_error(err, http_api_id)),
            }
        }
        tracing::info!(
            subscription = subscription_id,
            api_id = %http_id(http_api_id, own.as_ref().map_or("-", |m| m.stage.as_str())),
            authorizer_id,
            client_id,
            kept,
            target_label = %target.label(),
            "OAuth subscription revoked."
        );
        Ok(())
    }
}

fn not_found_as(err: AwsError, message: String) -> ProviderError {
    if err.is_not_found() {
        ProviderError::NotFound(format!("{message}; nothing was changed"))
    } else {
        err.into()
    }
}

fn tag_error(err: AwsError, http_api_id: &str) -> ProviderError {
    match &err {
        AwsError::Other {
            code: Some(code), ..
        } if code == "BadRequestException" => ProviderError::backend(format!(
            "recording the subscription on HTTP API {http_api_id} failed (AWS allows 50 tags \
                 per API, the agent's markers included): {err}; nothing was changed"
        )),
        _ => err.into(),
    }
}
