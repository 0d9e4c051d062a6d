//! One application's objects at AWS, as one `GetApiKeys` (`customerId` =
//! `gravitee-app-{applicationId}`, which they all carry) lists them: its key (several after a
//! race of replicas) and the records of its live subscriptions ([`ApplicationKeys`]); and the
//! call that creates a record.
//!
//! A record is a disabled API key, never attached to a usage plan (it opens nothing), created
//! and deleted in one call each, named for its subscription, with the usage plan and the API in
//! its description. Records are how replicas agree, through AWS, on which usage plans an
//! application's subscriptions still use (`application.rs`). The choice against tags or a list
//! in the key's description: `docs/reference/aws-api-gateway.md`, "One key per application".

use std::collections::BTreeSet;

use federation_core::{ProviderError, Subscription};

use super::keys::{FoundKey, KeyQuery, ListedKey, NewKey, create_key};
use super::names::{ApplicationNames, application_words, parse_record, record_description};
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// The record of one subscription.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) id: String,
    pub(super) subscription_id: String,
    /// The usage plan, `None` when the description cannot be read (edited by hand).
    pub(super) plan_id: Option<String>,
}

/// What AWS holds for one application (in one target).
#[derive(Debug, Clone, Default)]
pub(super) struct ApplicationKeys {
    /// The keys named `gravitee-app-{applicationId}`, with their values.
    pub(super) keys: Vec<FoundKey>,
    /// The records of its subscriptions.
    pub(super) records: Vec<Record>,
}

impl ApplicationKeys {
    /// Sorts one listing of `names.key*`; other names are ignored (a disabled
    /// `gravitee-app-{applicationId}.closing` marker left by a development build of this
    /// version opens nothing and is no longer read).
    pub(super) fn of(names: &ApplicationNames, listed: Vec<ListedKey>) -> Self {
        let mut out = Self::default();
        for key in listed {
            if key.name == names.key {
                out.keys.extend(key.found());
            } else if let Some(subscription) = names.subscription_of(&key.name) {
                out.records.push(Record {
                    subscription_id: subscription.to_owned(),
                    plan_id: key
                        .description
                        .as_deref()
                        .and_then(parse_record)
                        .map(|(_, plan)| plan),
                    id: key.id,
                });
            }
        }
        out
    }

    /// Nothing of the application exists.
    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.records.is_empty()
    }

    /// The records of `subscription_id` (two replicas may each have made one).
    pub(super) fn records_of<'a>(
        &'a self,
        subscription_id: &'a str,
    ) -> impl Iterator<Item = &'a Record> + 'a {
        self.records
            .iter()
            .filter(move |r| r.subscription_id == subscription_id)
    }

    /// The usage plans the records other than `subscription_id`'s use; `None` when a record's
    /// plan cannot be read (nothing may then be detached).
    pub(super) fn plans_in_use(&self, except: &str) -> Option<BTreeSet<String>> {
        self.records
            .iter()
            .filter(|r| r.subscription_id != except)
            .map(|r| r.plan_id.clone())
            .collect()
    }

    /// Whether a record other than `except`'s uses `plan_id` (an unreadable record counts).
    pub(super) fn plan_used(&self, plan_id: &str, except: &str) -> bool {
        self.records
            .iter()
            .filter(|r| r.subscription_id != except)
            .any(|r| r.plan_id.as_deref().is_none_or(|p| p == plan_id))
    }
}

impl AwsApiGatewayProvider {
    /// Lists the application's key and records in `target` (`GetApiKeys`). Needs
    /// `apigateway:GET` on `/apikeys`: without it, an error naming the grant.
    pub(super) async fn application_keys(
        &self,
        target: &Target,
        names: &ApplicationNames,
    ) -> Result<ApplicationKeys, ProviderError> {
        match self.lookup(target, KeyQuery::Customer(&names.key)).await? {
            Some(listed) => Ok(ApplicationKeys::of(names, listed)),
            None => {
                let grant = target.operation("GetApiKeys", "GET", "/apikeys").grant();
                Err(ProviderError::PermissionDenied(format!(
                    "finding the key of application {} and its subscriptions' records \
                     ({}*) needs {grant}: add it to the agent's IAM policy",
                    names.application_id, names.key
                )))
            }
        }
    }
}

/// `CreateApiKey`: the record of `subscription` (disabled), naming `api_id` and `plan_id`.
pub(super) async fn create_record(
    target: &Target,
    names: &ApplicationNames,
    subscription: &Subscription,
    api_id: &str,
    plan_id: &str,
) -> Result<Record, ProviderError> {
    let subscription_id = subscription.gravitee_subscription_id.trim();
    let description = record_description(
        subscription_id,
        &application_words(
            subscription.gravitee_application_name.as_deref(),
            Some(&names.application_id),
        ),
        api_id,
        plan_id,
    );
    let key = create_key(
        target,
        NewKey {
            name: &names.record(subscription_id),
            description: &description,
            enabled: false,
            customer: Some(&names.key),
        },
    )
    .await?;
    Ok(Record {
        id: key.id,
        subscription_id: subscription_id.to_owned(),
        plan_id: Some(plan_id.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use federation_core::Secret;

    use super::*;

    fn listed(id: &str, name: &str, description: Option<&str>) -> ListedKey {
        ListedKey {
            id: id.to_owned(),
            name: name.to_owned(),
            value: Some(Secret::from("v")),
            description: description.map(str::to_owned),
            created: Some((1, 0)),
        }
    }

    #[test]
    fn one_listing_holds_the_key_and_the_records() {
        let names = ApplicationNames::new("a1");
        let keys = ApplicationKeys::of(
            &names,
            vec![
                listed("k1", "gravitee-app-a1", None),
                listed(
                    "r1",
                    "gravitee-app-a1.sub-s1",
                    Some(
                        "Gravitee subscription s1 of application a1 to pets:prod through usage plan gold",
                    ),
                ),
                listed(
                    "r2",
                    "gravitee-app-a1.sub-s2",
                    Some("… to orders:prod through usage plan free"),
                ),
                listed("r3", "gravitee-app-a1.sub-s3", Some("edited by hand")),
                listed("m1", "gravitee-app-a1.closing", None),
                listed("x", "gravitee-app-a10", None),
            ],
        );
        assert_eq!(keys.keys.len(), 1, "a former marker is not a key");
        assert_eq!(keys.records.len(), 3, "nor a record");
        assert_eq!(keys.records_of("s1").count(), 1);
        assert!(keys.plan_used("gold", "s2"));
        assert!(
            keys.plan_used("other", "s2"),
            "s3's plan is unknown: it may be any"
        );
        assert_eq!(
            keys.plans_in_use("s3"),
            Some(["free".to_owned(), "gold".to_owned()].into())
        );
        assert_eq!(keys.plans_in_use("s1"), None, "s3's plan is unknown");
        assert!(!keys.is_empty());
        assert!(ApplicationKeys::default().is_empty());
    }
}
