//! What only the vendor knows: the optional [`Inventory`] extension of the provider contract and
//! the answers it gives ([`Catalogue`] with each plan's [`PlanCoverage`], and the
//! [`IssuedCredential`]s the agent issued).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::ProviderError;

/// Which APIs a plan covers at the vendor now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCoverage {
    /// The plan's display name.
    pub name: String,
    /// The provider ids of the APIs it covers (a key on the plan opens each of them).
    pub apis: BTreeSet<String>,
}

/// The vendor's catalogue now, as [`Inventory::catalogue`] reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    /// Which of the asked API ids still exist at the vendor (whether or not discovery would
    /// offer them: an API left without a plan still exists).
    pub apis: BTreeSet<String>,
    /// Every plan the vendor has, by plan id.
    pub plans: BTreeMap<String, PlanCoverage>,
}

impl Catalogue {
    /// The APIs plan `id` covers, the plan entered with `name` the first time it is seen.
    pub fn plan_apis(&mut self, id: &str, name: &str) -> &mut BTreeSet<String> {
        &mut self
            .plans
            .entry(id.to_owned())
            .or_insert_with(|| PlanCoverage {
                name: name.to_owned(),
                apis: BTreeSet::new(),
            })
            .apis
    }
}

/// A credential the agent issued, as the vendor shows it now.
///
/// A credential shared by several subscriptions (an application's key) is reported once per
/// subscription it serves, each with that subscription and its API; once none is left, once
/// with [`IssuedCredential::unused`] set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCredential {
    /// The vendor's id of the credential (never its value).
    pub id: String,
    /// Its name at the vendor (for AWS, `gravitee-{subscriptionId}`).
    pub name: String,
    /// The Gravitee subscription it was issued for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// The API it was issued for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// The plans it is attached to now.
    pub plans: BTreeSet<String>,
    /// No subscription uses it any more (the vendor keeps a record per subscription and none is
    /// left), whatever plans it is still attached to. Attached to no plan, such a credential is
    /// idle, kept on purpose (an application's key waits for the application's next
    /// subscription, which gets it again), and not drift; still attached to a plan, it opens
    /// that plan's APIs and is [`DriftKind::KeyOrphaned`](crate::drift::DriftKind::KeyOrphaned).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unused: bool,
}

/// The optional drift extension of the provider contract: what only the vendor knows.
///
/// Rules (the test kit checks them when [`Provider::inventory`](crate::Provider::inventory)
/// returns one):
///
/// - [`Inventory::catalogue`] returns, among the asked ids, exactly those that exist at the
///   vendor now, and every plan with the provider ids of the APIs it covers, using the same ids
///   and plan ids that discovery emits. Asking for ids the vendor never had is not an error.
/// - [`Inventory::issued_keys`] returns only credentials this agent issued. When the vendor
///   refuses the listing, return [`ProviderError::PermissionDenied`] naming the grant that
///   would allow it: the report shows that text.
/// - Neither changes anything at the vendor.
#[async_trait]
pub trait Inventory: Send + Sync {
    /// Which of `api_ids` exist now, and every plan's coverage.
    async fn catalogue(&self, api_ids: &BTreeSet<String>) -> Result<Catalogue, ProviderError>;

    /// The credentials this agent issued, with the plans each is attached to now.
    async fn issued_keys(&self) -> Result<Vec<IssuedCredential>, ProviderError>;
}
