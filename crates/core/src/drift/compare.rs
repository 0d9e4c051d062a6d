//! The vendor-neutral comparison: a [`Ledger`] (what was ingested) against [`Observed`] (what the
//! vendor shows now), giving a [`DriftReport`] whose every [`DriftItem`] says what changed and
//! the action to take in Gravitee.
//!
//! Each change is named once: the plans of an API that is gone are not reported again, and a
//! plan that stopped covering an ingested API is a [`DriftKind::PlanRemoved`], not also a
//! coverage change.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::drift::{IssuedCredential, Ledger, PlanCoverage};

/// The kind of a drift item (also the `kind` label of the drift gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// An ingested API no longer exists at the vendor.
    ApiGone,
    /// A plan ingested on an API no longer covers it (detached, or the plan deleted).
    PlanRemoved,
    /// A plan ingested on some API now covers a different set of APIs.
    PlanCoverageChanged,
    /// A plan the agent never ingested now covers an ingested API.
    PlanAdded,
    /// A credential the agent issued for a subscription is attached to no plan any more; or a
    /// shared credential no subscription uses any more is still attached to plans.
    KeyOrphaned,
    /// A credential's plans no longer cover the (remembered) API it was issued for.
    KeyUncovered,
}

impl DriftKind {
    /// Every kind, in report order.
    pub const ALL: [DriftKind; 6] = [
        Self::ApiGone,
        Self::PlanRemoved,
        Self::PlanCoverageChanged,
        Self::PlanAdded,
        Self::KeyOrphaned,
        Self::KeyUncovered,
    ];

    /// The snake_case name used in JSON and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiGone => "api_gone",
            Self::PlanRemoved => "plan_removed",
            Self::PlanCoverageChanged => "plan_coverage_changed",
            Self::PlanAdded => "plan_added",
            Self::KeyOrphaned => "key_orphaned",
            Self::KeyUncovered => "key_uncovered",
        }
    }
}

/// One change, with the action to take in Gravitee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftItem {
    /// What changed.
    pub kind: DriftKind,
    /// The API concerned (provider id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// Its name as ingested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_name: Option<String>,
    /// The plan concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_name: Option<String>,
    /// The credential concerned (its vendor name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What changed, in words.
    pub detail: String,
    /// What to do in Gravitee.
    pub action: String,
}

/// The outcome of one comparison for one integration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    /// APIs remembered as ingested.
    pub ingested_apis: usize,
    /// The changes, in [`DriftKind`] order then by API, plan and key.
    pub items: Vec<DriftItem>,
    /// Parts of the check that could not run, and why (for example the grant that would
    /// allow listing credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
}

impl DriftReport {
    /// Whether anything drifted.
    pub fn has_drift(&self) -> bool {
        !self.items.is_empty()
    }

    /// How many items are of `kind`.
    pub fn count(&self, kind: DriftKind) -> usize {
        self.items.iter().filter(|i| i.kind == kind).count()
    }
}

/// What the vendor shows now, for [`compare`].
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Which ingested API ids exist now. `None` when unknown (nothing is reported gone).
    pub apis: Option<BTreeSet<String>>,
    /// Every plan's coverage. `None` when unknown (plan checks are skipped).
    pub plans: Option<BTreeMap<String, PlanCoverage>>,
    /// The credentials the agent issued, or why they could not be listed. `None` when the
    /// provider has no inventory.
    pub keys: Option<Result<Vec<IssuedCredential>, String>>,
    /// Parts not checked, and why (copied to [`DriftReport::unchecked`]).
    pub unchecked: Vec<String>,
}

/// Compares what was ingested with what the vendor shows now.
pub fn compare(ledger: &Ledger, now: &Observed) -> DriftReport {
    let mut items = Vec::new();
    let gone: BTreeSet<&str> = match &now.apis {
        Some(existing) => ledger
            .apis
            .keys()
            .filter(|id| !existing.contains(*id))
            .map(String::as_str)
            .collect(),
        None => BTreeSet::new(),
    };
    for id in &gone {
        let api = &ledger.apis[*id];
        items.push(DriftItem {
            kind: DriftKind::ApiGone,
            api_id: Some(api.id.clone()),
            api_name: Some(api.name.clone()),
            plan_id: None,
            plan_name: None,
            key: None,
            detail: format!("API {} ({}) no longer exists at the vendor", api.name, api.id),
            action: format!(
                "delete API \"{}\" ({}) in Gravitee (or stop its federated plans and close its subscriptions)",
                api.name, api.id
            ),
        });
    }
    let mut unchecked = now.unchecked.clone();
    if let Some(plans) = &now.plans {
        plan_drift(ledger, plans, &gone, &mut items);
    } else if !ledger.is_empty() && !unchecked.iter().any(|u| u.starts_with("plans")) {
        unchecked.push("plans: the provider offers no inventory".to_owned());
    }
    match &now.keys {
        Some(Ok(keys)) => key_drift(ledger, now.plans.as_ref(), keys, &gone, &mut items),
        Some(Err(why)) => unchecked.push(format!("keys: {why}")),
        None => {}
    }
    items.sort_by(|a, b| {
        (a.kind, &a.api_id, &a.plan_id, &a.key).cmp(&(b.kind, &b.api_id, &b.plan_id, &b.key))
    });
    DriftReport {
        ingested_apis: ledger.apis.len(),
        items,
        unchecked,
    }
}

fn plan_drift(
    ledger: &Ledger,
    plans: &BTreeMap<String, PlanCoverage>,
    gone: &BTreeSet<&str>,
    items: &mut Vec<DriftItem>,
) {
    // (api, plan) pairs already named as removed: not named again as a coverage change.
    let mut named: BTreeSet<(&str, &str)> = BTreeSet::new();
    for api in ledger.apis.values() {
        if gone.contains(api.id.as_str()) {
            continue;
        }
        for (plan_id, plan_name) in &api.plans {
            let current = plans.get(plan_id);
            if current.is_some_and(|c| c.apis.contains(&api.id)) {
                continue;
            }
            named.insert((api.id.as_str(), plan_id.as_str()));
            let why = if current.is_some() {
                "no longer covers it (the API was detached from the plan)"
            } else {
                "was deleted at the vendor"
            };
            items.push(DriftItem {
                kind: DriftKind::PlanRemoved,
                api_id: Some(api.id.clone()),
                api_name: Some(api.name.clone()),
                plan_id: Some(plan_id.clone()),
                plan_name: Some(plan_name.clone()),
                key: None,
                detail: format!("plan {plan_name} ({plan_id}) {why}; API {} ({})", api.name, api.id),
                action: format!(
                    "remove plan \"{plan_name}\" from API \"{}\" ({}) in Gravitee (close its subscriptions first)",
                    api.name, api.id
                ),
            });
        }
        for (plan_id, plan) in plans {
            if plan.apis.contains(&api.id)
                && !api.plans.contains_key(plan_id)
                && !ledger.coverage.contains_key(plan_id)
            {
                items.push(DriftItem {
                    kind: DriftKind::PlanAdded,
                    api_id: Some(api.id.clone()),
                    api_name: Some(api.name.clone()),
                    plan_id: Some(plan_id.clone()),
                    plan_name: Some(plan.name.clone()),
                    key: None,
                    detail: format!(
                        "plan {} ({plan_id}) now covers API {} ({}), which was ingested without it",
                        plan.name, api.name, api.id
                    ),
                    action: format!(
                        "ingest API \"{}\" ({}) again to offer plan \"{}\" in Gravitee",
                        api.name, api.id, plan.name
                    ),
                });
            }
        }
    }
    for (plan_id, before) in &ledger.coverage {
        let Some(plan) = plans.get(plan_id) else {
            continue; // deleted: named per API above
        };
        let added: Vec<&str> = plan.apis.difference(before).map(String::as_str).collect();
        let removed: Vec<&str> = before
            .difference(&plan.apis)
            .map(String::as_str)
            .filter(|api| !gone.contains(api) && !named.contains(&(*api, plan_id.as_str())))
            .collect();
        if added.is_empty() && removed.is_empty() {
            continue;
        }
        let mut changes = Vec::new();
        if !added.is_empty() {
            changes.push(format!("now also covers {}", added.join(", ")));
        }
        if !removed.is_empty() {
            changes.push(format!("no longer covers {}", removed.join(", ")));
        }
        let action = if added.is_empty() {
            format!(
                "no change needed in Gravitee; keys on plan \"{}\" no longer open {}",
                plan.name,
                removed.join(", ")
            )
        } else {
            format!(
                "review the subscriptions to plan \"{}\" in Gravitee: their keys now also open {} (or remove the stage from the plan at the vendor)",
                plan.name,
                added.join(", ")
            )
        };
        items.push(DriftItem {
            kind: DriftKind::PlanCoverageChanged,
            api_id: None,
            api_name: None,
            plan_id: Some(plan_id.clone()),
            plan_name: Some(plan.name.clone()),
            key: None,
            detail: format!("plan {} ({plan_id}) {}", plan.name, changes.join("; ")),
            action,
        });
    }
}

fn key_drift(
    ledger: &Ledger,
    plans: Option<&BTreeMap<String, PlanCoverage>>,
    keys: &[IssuedCredential],
    gone: &BTreeSet<&str>,
    items: &mut Vec<DriftItem>,
) {
    for key in keys {
        let subscription = key.subscription_id.as_deref().map_or_else(
            || "its subscription".to_owned(),
            |s| format!("subscription {s}"),
        );
        let api_name = key
            .api_id
            .as_ref()
            .and_then(|id| ledger.apis.get(id))
            .map(|a| a.name.clone());
        if key.unused {
            // On no plan it is idle, kept on purpose (it opens nothing, and the next
            // subscription of its holder gets it again): not drift.
            if !key.plans.is_empty() {
                items.push(unused_on_plans(key, plans));
            }
            continue;
        }
        if key.plans.is_empty() {
            items.push(DriftItem {
                kind: DriftKind::KeyOrphaned,
                api_id: key.api_id.clone(),
                api_name,
                plan_id: None,
                plan_name: None,
                key: Some(key.name.clone()),
                detail: format!("key {} ({}) is attached to no plan: it opens nothing", key.name, key.id),
                action: format!(
                    "close {subscription} in Gravitee (its key opens nothing), or attach key {} to a plan again at the vendor",
                    key.name
                ),
            });
            continue;
        }
        let (Some(api_id), Some(plans)) = (&key.api_id, plans) else {
            continue;
        };
        if gone.contains(api_id.as_str()) || !ledger.apis.contains_key(api_id) {
            continue; // named as gone, or an API this agent does not remember ingesting
        }
        let covered = key
            .plans
            .iter()
            .any(|p| plans.get(p).is_some_and(|c| c.apis.contains(api_id)));
        if !covered {
            let on: Vec<&str> = key.plans.iter().map(String::as_str).collect();
            items.push(DriftItem {
                kind: DriftKind::KeyUncovered,
                api_id: Some(api_id.clone()),
                api_name,
                plan_id: key.plans.first().cloned(),
                plan_name: key
                    .plans
                    .first()
                    .and_then(|p| plans.get(p))
                    .map(|c| c.name.clone()),
                key: Some(key.name.clone()),
                detail: format!(
                    "key {} ({}) is on plan(s) {}, none of which covers {api_id} any more",
                    key.name,
                    key.id,
                    on.join(", ")
                ),
                action: format!(
                    "close {subscription} in Gravitee: its key no longer opens {api_id}"
                ),
            });
        }
    }
}

/// A shared credential no subscription uses, still attached to plans: it opens their APIs.
fn unused_on_plans(
    key: &IssuedCredential,
    plans: Option<&BTreeMap<String, PlanCoverage>>,
) -> DriftItem {
    let name_of = |id: &str| plans.and_then(|p| p.get(id)).map(|c| c.name.clone());
    let on: Vec<String> = key
        .plans
        .iter()
        .map(|id| match name_of(id) {
            Some(name) => format!("{name} ({id})"),
            None => id.clone(),
        })
        .collect();
    let on = on.join(", ");
    DriftItem {
        kind: DriftKind::KeyOrphaned,
        api_id: None,
        api_name: None,
        plan_id: key.plans.first().cloned(),
        plan_name: key.plans.first().and_then(|id| name_of(id)),
        key: Some(key.name.clone()),
        detail: format!(
            "key {} ({}) serves no subscription any more, yet is still attached to plan(s) {on}: it opens their APIs",
            key.name, key.id
        ),
        action: format!(
            "detach key {} from plan(s) {on} at the vendor (keep the key itself: the next subscription of its application gets it again)",
            key.name
        ),
    }
}

#[cfg(test)]
mod tests;
