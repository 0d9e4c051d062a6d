//! Which target (account × region) a subscription's key (or, for an HTTP API, its authorizer:
//! `http_api/routing.rs`) lives in.
//!
//! The subscription's metadata may name the region (`region`, or the API's
//! `aws-api-gateway-region`, or the region of its invoke `url`), the account and the role
//! ([`Routing`]); the configured targets matching all of them are the candidates. With one
//! candidate that is the target. With several (metadata naming no region in a multi-region
//! configuration) a SUBSCRIBE goes to the candidate holding its usage plan: the plan ids each
//! target's discovery saw ([`PlanCache::holds`](crate::plans::PlanCache::holds)), else each
//! candidate's usage plans, listed in turn.

use std::sync::Arc;

use federation_core::{ProviderError, Subscription};

use super::coverage::{refused, usage_plan};
use super::metadata::{META_SUB_ACCOUNT, META_SUB_REGION, META_SUB_ROLE};
use crate::mapping::{META_ACCOUNT, META_REGION, region_of_invoke_url};
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// Where a subscription's metadata says the key lives.
#[derive(Debug, Default)]
pub(crate) struct Routing<'a> {
    region: Option<&'a str>,
    account: Option<&'a str>,
    role: Option<&'a str>,
}

impl<'a> Routing<'a> {
    /// What `subscription`'s metadata names (blank values name nothing).
    pub(crate) fn of(subscription: &'a Subscription) -> Self {
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
    /// The targets matching what the metadata names, in configuration order.
    pub(crate) fn candidates(&self, routing: &Routing<'_>) -> Vec<&Arc<Target>> {
        self.targets
            .iter()
            .filter(|t| routing.region.is_none_or(|r| t.region == r))
            .filter(|t| {
                routing
                    .account
                    .is_none_or(|a| t.account.as_deref().is_none_or(|ta| ta == a))
            })
            .filter(|t| {
                routing
                    .role
                    .is_none_or(|r| t.role_arn.as_deref().is_none_or(|tr| tr == r))
            })
            .collect()
    }

    /// What the metadata names, and what is configured: for errors.
    pub(crate) fn describe(&self, routing: &Routing<'_>) -> String {
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
    pub(super) async fn target_holding_plan(
        &self,
        subscription: &Subscription,
        plan_id: &str,
    ) -> Result<&Arc<Target>, ProviderError> {
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
            [only] => return Ok(only),
            _ => {}
        }
        if let Some(known) = candidates.iter().find(|t| t.plans.holds(plan_id)) {
            return Ok(known);
        }
        for target in candidates {
            if usage_plan(target, plan_id, |_| true).await?.is_some() {
                target.plans.remember([plan_id]);
                return Ok(target);
            }
        }
        refused("plan_not_found");
        Err(ProviderError::NotFound(format!(
            "usage plan {plan_id} was not found in {}: remove the Gravitee plan, or add the \
             region/role holding it to the configuration; no API key was created",
            self.describe(&routing)
        )))
    }
}

#[cfg(test)]
mod tests {
    use federation_core::model::StringMap;

    use super::*;

    fn with_metadata(pairs: &[(&str, &str)]) -> Subscription {
        let metadata: StringMap = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Subscription {
            gravitee_subscription_id: "s1".to_owned(),
            metadata: Some(metadata),
            ..Subscription::default()
        }
    }

    #[test]
    fn the_reply_metadata_wins_over_the_api_metadata_and_the_url() {
        let sub = with_metadata(&[
            ("region", "eu-west-1"),
            (META_REGION, "us-east-1"),
            ("account", " "),
            (META_ACCOUNT, "111122223333"),
        ]);
        let routing = Routing::of(&sub);
        assert_eq!(routing.region, Some("eu-west-1"));
        assert_eq!(routing.account, Some("111122223333"), "blank names nothing");
        assert_eq!(routing.role, None);
        let by_url = with_metadata(&[(
            "url",
            "https://a1.execute-api.eu-central-1.amazonaws.com/prod",
        )]);
        assert_eq!(Routing::of(&by_url).region, Some("eu-central-1"));
    }

    #[test]
    fn candidates_match_region_account_and_role() {
        let provider =
            AwsApiGatewayProvider::from_settings(&federation_core::ProviderSettings::from_pairs([
                ("region", "eu-west-1,us-east-1"),
                (
                    "roleArn",
                    "arn:aws:iam::111122223333:role/a,arn:aws:iam::444455556666:role/b",
                ),
            ]))
            .expect("valid settings");
        let labels = |routing: &Routing<'_>| -> Vec<String> {
            provider
                .candidates(routing)
                .iter()
                .map(|t| t.label())
                .collect()
        };
        assert_eq!(labels(&Routing::default()).len(), 4);
        let sub = with_metadata(&[("region", "us-east-1"), ("account", "444455556666")]);
        assert_eq!(labels(&Routing::of(&sub)), ["444455556666/us-east-1"]);
        let elsewhere = with_metadata(&[("region", "ap-south-1")]);
        assert!(labels(&Routing::of(&elsewhere)).is_empty());
        assert!(
            provider
                .describe(&Routing::of(&elsewhere))
                .starts_with("region ap-south-1 (configured: 111122223333/eu-west-1"),
            "{}",
            provider.describe(&Routing::of(&elsewhere))
        );
    }
}
