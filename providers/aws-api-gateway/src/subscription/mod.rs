//! Subscriptions: an API key on the subscription's usage plan, one per Gravitee application or
//! one per subscription (`apiKeyScope`).
//!
//! `subscribe`:
//! 1. the target is chosen from the subscription's metadata ([`routing`]);
//! 2. the usage plan (`metadata.planId`) must still cover the subscribed stage
//!    (`{restApiId}:{stage}`), and the stage must exist ([`coverage`]: `GetUsagePlans`, cached on
//!    the target; `GetStage`). Otherwise nothing is created: a key on a plan that no longer
//!    covers the API would open the plan's other APIs;
//! 3. with `apiKeyScope: application` (the default) and a `graviteeApplicationId` (APIM
//!    4.4.2+), when the target grants `GetApiKeys` and `DeleteUsagePlanKey` ([`grants`], probed
//!    once), the application's key `gravitee-app-{applicationId}` is found or created, the
//!    subscription recorded, and the key attached to the plan ([`application`], [`records`];
//!    what AWS refuses: [`conflict`]). APIM's shared API-key mode shows an application's first
//!    key for all its subscriptions: that key opens each of them;
//! 4. otherwise the subscription gets a key of its own, `gravitee-{graviteeSubscriptionId}`:
//!    looked up (`GetApiKeys` by name), else created (`CreateApiKey`, enabled, generated value)
//!    and looked up again ([`keys`]); when several keys carry the name (two replicas raced),
//!    every replica keeps the same one ([`race`]); then it is attached to the usage plan
//!    (`CreateUsagePlanKey`).
//!
//! The reply's metadata ([`metadata`]: `apiKeyId`, `usagePlanId`, `region`, `account`/`roleArn`
//! in multi-account mode, and `apiKeyScope`/`applicationId` for an application's key) is
//! everything `revoke` needs: `UNSUBSCRIBE` brings it back. A subscription with its own key
//! delivered twice to one process gets the same key from the process's cache ([`issued`]).
//!
//! `revoke`: for an application's key, the subscription's record goes and the key leaves the
//! usage plans no other subscription of the application uses (after the last one it is on no
//! plan and kept: APIM's shared mode shows it again for the application's next subscription,
//! [`application`]); for a subscription's own key (and every key issued by earlier versions,
//! whose metadata has no `apiKeyScope`), `DeleteApiKey` of the metadata's `apiKeyId` and of
//! every key named for the subscription. A key already gone is success. It checks nothing about
//! the API, so a key on a plan or stage that changed can always be closed.
//!
//! Finding keys by name needs `apigateway:GET` on `/apikeys`, absent from the seed's minimum
//! policy. Without it the process cache is the only guard against duplicates (one warning says
//! so): a restarted agent or a second replica creates a second key; and no application key is
//! issued ([`grants`]). Every name the provider uses: [`names`].

mod application;
mod conflict;
mod coverage;
mod grants;
mod issued;
mod keys;
mod metadata;
mod names;
mod race;
mod records;
mod routing;

use federation_core::{ProviderError, Subscription, SubscriptionResult};

use crate::mapping::split_api_id;
use crate::provider::AwsApiGatewayProvider;
use crate::settings::ApiKeyScope;
use crate::target::Target;
use application::Subscribing;
use coverage::{check_plan_covers, refused};
pub(crate) use grants::{DETACH_ENABLES, LOOKUP_ENABLES};
use issued::CachedKey;
pub(crate) use issued::IssuedKeys;
pub(crate) use keys::{ListedKey, list_gravitee_keys};
use keys::{NewKey, attach_key, create_key, delete_key, subscription_key_description};
pub(crate) use metadata::with_target;
use metadata::{META_API_KEY_ID, application_of, subscription_result};
use names::{ApplicationNames, key_name, usable_application_id};
pub(crate) use names::{KeyRole, PROBE_KEY_NAME, parse_record, role_of};
pub(crate) use routing::Routing;

impl AwsApiGatewayProvider {
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
        if let Some(cached) = self.issued.get(subscription_id)
            && cached.plan_id == plan_id
        {
            tracing::info!(
                subscription = subscription_id,
                api_key_id = %cached.key_id,
                "Subscription delivered again: returning the key already issued."
            );
            return Ok(subscription_result(subscription_id, &cached));
        }
        let (rest_api_id, stage) = split_api_id(api_id).ok_or_else(|| {
            ProviderError::InvalidRequest(format!(
                "apiId `{api_id}` is not {{restApiId}}:{{stage}}"
            ))
        })?;
        let target = self.target_holding_plan(subscription, plan_id).await?;
        check_plan_covers(target, api_id, rest_api_id, stage, plan_id).await?;
        if let Some(application_id) = self.application_of(subscription)
            && self.application_keys_allowed(target, plan_id).await?
        {
            let request = Subscribing {
                subscription,
                subscription_id,
                api_id,
                plan_id,
            };
            return self
                .subscribe_application(target, &ApplicationNames::new(application_id), &request)
                .await;
        }
        self.subscribe_own_key(target, api_id, subscription, subscription_id, plan_id)
            .await
    }

    /// The application whose key a SUBSCRIBE should get: `apiKeyScope: application` and a
    /// usable `graviteeApplicationId`; else `None` (a key of the subscription's own).
    fn application_of<'a>(&self, subscription: &'a Subscription) -> Option<&'a str> {
        if self.settings.api_key_scope != ApiKeyScope::Application {
            return None;
        }
        let application = subscription
            .gravitee_application_id
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        match application {
            Some(id) if usable_application_id(id) => Some(id),
            Some(id) => {
                tracing::warn!(
                    subscription = %subscription.gravitee_subscription_id,
                    application = id,
                    "The graviteeApplicationId cannot name an AWS key: one key for this \
                     subscription."
                );
                None
            }
            None => {
                if self.issued.first_without_application() {
                    tracing::info!(
                        subscription = %subscription.gravitee_subscription_id,
                        "A SUBSCRIBE without graviteeApplicationId (APIM 4.4.0/4.4.1): one key \
                         per subscription for such subscriptions."
                    );
                }
                None
            }
        }
    }

    /// A key of the subscription's own, `gravitee-{subscriptionId}`, on the usage plan.
    async fn subscribe_own_key(
        &self,
        target: &std::sync::Arc<Target>,
        api_id: &str,
        subscription: &Subscription,
        subscription_id: &str,
        plan_id: &str,
    ) -> Result<SubscriptionResult, ProviderError> {
        let name = key_name(subscription_id);

        let (winner, created) = match self.find_keys(target, &name).await? {
            Some(found) if !found.is_empty() => {
                let winner = self
                    .converge(target, &name, Some(plan_id), None, found)
                    .await?;
                tracing::info!(
                    subscription = subscription_id,
                    api_key_id = %winner.id,
                    target_label = %target.label(),
                    "Found the subscription's key from an earlier delivery: reusing it."
                );
                (winner, false)
            }
            _ => {
                let description = subscription_key_description(api_id, subscription);
                let own = create_key(
                    target,
                    NewKey {
                        name: &name,
                        description: &description,
                        enabled: true,
                        customer: None,
                    },
                )
                .await?;
                let winner = self
                    .settle_created(target, &name, Some(plan_id), &own)
                    .await?;
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

        let cached = CachedKey {
            target: target.clone(),
            key_id: winner.id,
            value: winner.value,
            plan_id: plan_id.to_owned(),
        };
        tracing::info!(
            subscription = subscription_id,
            api_id,
            usage_plan = plan_id,
            api_key_id = %cached.key_id,
            target_label = %target.label(),
            "API key issued."
        );
        let result = subscription_result(subscription_id, &cached);
        self.issued.insert(subscription_id, cached);
        Ok(result)
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
        if let Some(application) = application_of(subscription) {
            let application = application.map_err(|()| {
                ProviderError::InvalidRequest(format!(
                    "the UNSUBSCRIBE for {api_id} says the key is an application's \
                     (apiKeyScope: application) but names no applicationId"
                ))
            })?;
            if subscription_id.is_empty() {
                return Err(ProviderError::InvalidRequest(
                    "the UNSUBSCRIBE has no graviteeSubscriptionId".to_owned(),
                ));
            }
            let names = ApplicationNames::new(application);
            for &target in &candidates {
                self.revoke_application(target, &names, subscription_id)
                    .await?;
            }
            self.issued.remove(subscription_id);
            return Ok(());
        }
        let key_id = match subscription
            .metadata_value(META_API_KEY_ID)
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            Some(id) => Some(id.to_owned()),
            None => self.issued.get(subscription_id).map(|k| k.key_id),
        };
        let mut key_ids: Vec<(&Target, String)> = match &key_id {
            Some(id) => candidates.iter().map(|t| (&***t, id.clone())).collect(),
            None => Vec::new(),
        };
        let name = key_name(subscription_id);
        if !subscription_id.is_empty() {
            for &target in &candidates {
                match self.find_keys(target, &name).await? {
                    Some(found) => key_ids.extend(
                        found
                            .into_iter()
                            .filter(|k| Some(&k.id) != key_id.as_ref())
                            .map(|k| (&**target, k.id)),
                    ),
                    None if key_id.is_none() => {
                        let grant = target.operation("GetApiKeys", "GET", "/apikeys").grant();
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
        for (target, key_id) in key_ids {
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
