//! The subscription rules: subscribe and revoke, idempotency.

use federation_core::model::StringMap;
use federation_core::{Provider, Subscription, SubscriptionResult, SubscriptionType};

use super::{Fixture, Outcome, Rule, blank, timed, verdict};

pub(super) struct SubscribeContext<'a> {
    pub(super) provider: &'a dyn Provider,
    pub(super) fixture: &'a Fixture,
    pub(super) metadata: StringMap,
}

impl SubscribeContext<'_> {
    fn subscription(
        &self,
        rule: Rule,
        subscription_type: Option<SubscriptionType>,
    ) -> Subscription {
        Subscription {
            gravitee_subscription_id: format!("contract-{rule}-{}", uuid::Uuid::new_v4().simple()),
            gravitee_application_id: Some("contract-application".to_owned()),
            gravitee_application_name: Some("Contract suite".to_owned()),
            subscription_type,
            metadata: Some(self.metadata.clone()),
        }
    }

    /// What UNSUBSCRIBE carries: the id and the metadata SUBSCRIBE returned, nothing else.
    fn unsubscription(gravitee_subscription_id: &str, result: &SubscriptionResult) -> Subscription {
        Subscription {
            gravitee_subscription_id: gravitee_subscription_id.to_owned(),
            metadata: Some(result.metadata.clone().unwrap_or_default()),
            ..Subscription::default()
        }
    }

    async fn subscribe(&self, subscription: &Subscription) -> Result<SubscriptionResult, String> {
        timed(
            self.fixture,
            self.provider.subscribe(&self.fixture.api_id, subscription),
        )
        .await
        .map_err(|e| format!("subscribe {e}"))
    }

    async fn revoke(&self, subscription: &Subscription) -> Result<(), String> {
        timed(
            self.fixture,
            self.provider.revoke(&self.fixture.api_id, subscription),
        )
        .await
        .map_err(|e| format!("revoke {e}"))
    }

    async fn probe(&self, result: &SubscriptionResult) -> Option<Result<bool, String>> {
        let probe = self.fixture.probe.as_ref()?;
        Some(
            probe
                .is_active(&self.fixture.api_id, result)
                .await
                .map_err(|e| format!("the credential probe failed: {e}")),
        )
    }

    /// Best-effort clean-up of what a rule created.
    async fn cleanup(&self, gravitee_subscription_id: &str, results: &[&SubscriptionResult]) {
        for result in results {
            let _ = self
                .revoke(&Self::unsubscription(gravitee_subscription_id, result))
                .await;
        }
    }

    pub(super) async fn subscribe_then_revoke(&self) -> Outcome {
        let rule = Rule::SubscribeReturnsWhatRevokeNeeds;
        let subscription = self.subscription(rule, Some(self.fixture.subscription_type));
        let id = subscription.gravitee_subscription_id.clone();
        let result = match self.subscribe(&subscription).await {
            Ok(result) => result,
            Err(e) => return Outcome::Failed(e),
        };
        let mut problems = Vec::new();
        if result.gravitee_subscription_id != id {
            problems.push(format!(
                "the result's graviteeSubscriptionId is {:?}, not the subscription's {id:?}",
                result.gravitee_subscription_id
            ));
        }
        if self.fixture.subscription_type == SubscriptionType::ApiKey
            && result.api_key.as_ref().is_none_or(|k| blank(k.expose()))
        {
            problems.push("an API_KEY subscription returned no apiKey".to_owned());
        }
        match self.probe(&result).await {
            Some(Ok(false)) => {
                problems.push("the credential subscribe returned does not work".to_owned())
            }
            Some(Err(e)) => problems.push(e),
            _ => {}
        }
        match self.revoke(&Self::unsubscription(&id, &result)).await {
            Err(e) => problems.push(format!(
                "with only graviteeSubscriptionId and the metadata subscribe returned, {e}"
            )),
            Ok(()) => match self.probe(&result).await {
                Some(Ok(true)) => problems.push(
                    "the credential still works after revoke (with the metadata subscribe returned)"
                        .to_owned(),
                ),
                Some(Err(e)) => problems.push(e),
                _ => {}
            },
        }
        self.cleanup(&id, &[&result]).await;
        verdict(problems)
    }

    pub(super) async fn revoke_unknown(&self) -> Outcome {
        let rule = Rule::RevokeUnknownSucceeds;
        let subscription = self.subscription(rule, Some(self.fixture.subscription_type));
        let id = subscription.gravitee_subscription_id.clone();
        let result = match self.subscribe(&subscription).await {
            Ok(result) => result,
            Err(e) => return Outcome::Failed(format!("could not set up: {e}")),
        };
        if let Err(e) = self.revoke(&Self::unsubscription(&id, &result)).await {
            return Outcome::Failed(format!("could not set up: the first {e}"));
        }
        let mut problems = Vec::new();
        if let Err(e) = self.revoke(&Self::unsubscription(&id, &result)).await {
            problems.push(format!("for a credential already revoked, {e}"));
        }
        let never = self.subscription(rule, None);
        let stranger = Self::unsubscription(&never.gravitee_subscription_id, &result);
        if let Err(e) = self.revoke(&stranger).await {
            problems.push(format!(
                "for a subscription id never subscribed (metadata of a revoked credential), {e}"
            ));
        }
        verdict(problems)
    }

    /// Delivers one subscription twice, one after the other or at the same time, and decides
    /// the rule every provider keeps (the trait docs and the guide repeat it): afterwards
    /// exactly one credential of the subscription works. Either both results carry the **same
    /// credential** (same `apiKey`; without keys, the same metadata), or the second **rotated**
    /// it: a new key, the first no longer working, which only a [`CredentialProbe`] can show,
    /// so a rotation without a probe fails. Revoking with either result's metadata must then
    /// leave no working credential.
    ///
    /// [`CredentialProbe`]: super::CredentialProbe
    pub(super) async fn idempotent(&self, concurrent: bool) -> Outcome {
        let rule = if concurrent {
            Rule::ConcurrentSubscribeIdempotent
        } else {
            Rule::SubscribeIdempotent
        };
        let subscription = self.subscription(rule, Some(self.fixture.subscription_type));
        let id = subscription.gravitee_subscription_id.clone();
        let (first, second) = if concurrent {
            tokio::join!(self.subscribe(&subscription), self.subscribe(&subscription))
        } else {
            let first = self.subscribe(&subscription).await;
            (first, self.subscribe(&subscription).await)
        };
        let (first, second) = match (first, second) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                let kept: Vec<_> = [&a, &b].into_iter().flatten().collect();
                self.cleanup(&id, &kept).await;
                let errors: Vec<_> = [a.err(), b.err()].into_iter().flatten().collect();
                return Outcome::Failed(format!(
                    "delivering one subscription twice: {}",
                    errors.join("; ")
                ));
            }
        };
        let mut problems = Vec::new();
        let same = match (&first.api_key, &second.api_key) {
            (Some(a), Some(b)) => a.expose() == b.expose(),
            (None, None) => first.metadata == second.metadata,
            _ => false,
        };
        let delivery = if concurrent {
            "at the same time"
        } else {
            "twice"
        };
        if same {
            if let Some(active) = self.probe(&second).await {
                match active {
                    Ok(true) => {}
                    Ok(false) => problems.push(format!(
                        "delivered {delivery}, the credential returned both times does not work"
                    )),
                    Err(e) => problems.push(e),
                }
            }
        } else {
            match (self.probe(&first).await, self.probe(&second).await) {
                (None, _) | (_, None) => problems.push(format!(
                    "delivered {delivery}, the subscription got two different credentials and the \
                     fixture has no credential probe to show that only one works"
                )),
                (Some(Err(e)), _) | (_, Some(Err(e))) => problems.push(e),
                (Some(Ok(a)), Some(Ok(b))) => {
                    let working = usize::from(a) + usize::from(b);
                    if working != 1 {
                        problems.push(format!(
                            "delivered {delivery}, the subscription got two different credentials \
                             and {working} of them work (exactly one must)"
                        ));
                    }
                }
            }
        }
        // Revoking must leave no working credential behind. With two different results the
        // controller may hold either one's metadata, so both revokes must succeed.
        if let Err(e) = self.revoke(&Self::unsubscription(&id, &second)).await {
            problems.push(e);
        }
        if !same && let Err(e) = self.revoke(&Self::unsubscription(&id, &first)).await {
            problems.push(format!("with the first result's metadata, {e}"));
        }
        for (which, result) in [("first", &first), ("second", &second)] {
            if let Some(Ok(true)) = self.probe(result).await {
                problems.push(format!(
                    "after revoking, the {which} delivery's credential still works (a leaked \
                     credential)"
                ));
            }
        }
        verdict(problems)
    }
}
