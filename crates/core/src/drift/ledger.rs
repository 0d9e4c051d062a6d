//! [`Ledger`]: what the agent ingested for one integration, as it remembers it.
//!
//! The connector fills a ledger from the INGEST batches the controller accepted (and the FETCH
//! replies of APIM 4.4) and may persist it: it is `serde`, and its JSON is the drift state
//! file's.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::drift::Catalogue;
use crate::model::Api;

/// One ingested API, as remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestedApi {
    /// The provider id ([`Api::id`]).
    pub id: String,
    /// [`Api::unique_id`].
    pub unique_id: String,
    /// [`Api::name`].
    pub name: String,
    /// The plans it was ingested with: plan id → plan name.
    #[serde(default)]
    pub plans: BTreeMap<String, String>,
    /// When it was last ingested, in seconds since the Unix epoch.
    pub ingested_at: u64,
}

impl IngestedApi {
    /// What to remember of `api`, ingested at `at` (seconds since the Unix epoch).
    pub fn from_api(api: &Api, at: u64) -> Self {
        Self {
            id: api.id.clone(),
            unique_id: api.unique_id.clone(),
            name: api.name.clone(),
            plans: api
                .plans
                .iter()
                .flatten()
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect(),
            ingested_at: at,
        }
    }
}

/// What the agent ingested for one integration, and the plan coverage it acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ledger {
    /// Ingested APIs by provider id.
    #[serde(default)]
    pub apis: BTreeMap<String, IngestedApi>,
    /// For each plan carried by an ingested API: the API ids it covered when last acknowledged
    /// (the vendor's view right after an ingest that carried the plan).
    #[serde(default)]
    pub coverage: BTreeMap<String, BTreeSet<String>>,
}

impl Ledger {
    /// Remembers an ingested API (replacing an earlier ingest of the same id).
    pub fn record(&mut self, api: IngestedApi) {
        self.apis.insert(api.id.clone(), api);
    }

    /// Whether nothing was ingested.
    pub fn is_empty(&self) -> bool {
        self.apis.is_empty()
    }

    /// Every plan id carried by an ingested API.
    pub fn plan_ids(&self) -> BTreeSet<String> {
        self.apis
            .values()
            .flat_map(|a| a.plans.keys().cloned())
            .collect()
    }

    /// Acknowledges the vendor's current coverage of `plans` (after an ingest that carried
    /// them): later coverage changes are measured from here. A plan the vendor no longer has
    /// keeps its previous baseline.
    pub fn acknowledge(&mut self, plans: &BTreeSet<String>, now: &Catalogue) {
        for plan in plans {
            if let Some(coverage) = now.plans.get(plan) {
                self.coverage.insert(plan.clone(), coverage.apis.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::PlanCoverage;
    use crate::model::{Plan, PlanSecurityType};

    fn ledger() -> Ledger {
        let mut ledger = Ledger::default();
        for (id, plan) in [("a", "p1"), ("b", "p2")] {
            let api = Api::new(format!("u-{id}"), id, format!("name-{id}")).with_plan(Plan::new(
                plan,
                format!("plan-{plan}"),
                PlanSecurityType::ApiKey,
            ));
            ledger.record(IngestedApi::from_api(&api, 1));
        }
        let mut now = Catalogue::default();
        now.plans.insert(
            "p1".to_owned(),
            PlanCoverage {
                name: "plan-p1".to_owned(),
                apis: ["a".to_owned(), "z".to_owned()].into(),
            },
        );
        ledger.acknowledge(&ledger.plan_ids(), &now);
        ledger
    }

    #[test]
    fn acknowledging_keeps_the_coverage_of_plans_the_vendor_still_has() {
        let ledger = ledger();
        assert_eq!(ledger.plan_ids().len(), 2);
        assert_eq!(
            ledger.coverage.len(),
            1,
            "p2 is not at the vendor: no baseline"
        );
        assert_eq!(ledger.coverage["p1"].len(), 2);
    }

    #[test]
    fn the_ledger_round_trips_through_json() {
        let ledger = ledger();
        let json = serde_json::to_string(&ledger).unwrap();
        let back: Ledger = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ledger);
    }
}
