//! Usage plans as a SUBSCRIBE sees them: which `{restApiId, stage}` pairs each plan covers.
//!
//! A key attached to a usage plan opens every stage of that plan, so before a key is created the
//! subscription's plan must still cover the subscribed stage (`PlanCache::plan` with a
//! predicate). Plans are listed with `GetUsagePlans` (paged; in the seed's minimum policy) and
//! cached per target for [`TTL`]. An answer the cache cannot give (plan unknown, stage not
//! covered) refreshes the cache once before it is believed, so a plan changed in AWS a moment
//! ago is seen; concurrent callers share one refresh.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::discovery::PAGE_LIMIT;
use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::target::Target;

/// How long a listing is trusted when it says "covered": bounds how long a stage detached from
/// a plan in AWS can still get keys through this agent.
pub const TTL: Duration = Duration::from_secs(30);

/// One usage plan: its name and the stages it covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanStages {
    /// The plan's name (for error messages).
    pub name: String,
    /// `(restApiId, stage)` pairs.
    pub stages: HashSet<(String, String)>,
}

impl PlanStages {
    /// Whether the plan covers this stage.
    pub fn covers(&self, rest_api_id: &str, stage: &str) -> bool {
        self.stages
            .contains(&(rest_api_id.to_owned(), stage.to_owned()))
    }
}

struct Snapshot {
    fetched: Instant,
    plans: HashMap<String, PlanStages>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Snapshot>>>;

/// The usage plans of each target (by target index), listed on demand.
#[derive(Default)]
pub(crate) struct PlanCache {
    slots: Mutex<HashMap<usize, Slot>>,
}

impl PlanCache {
    fn slot(&self, index: usize) -> Slot {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(index)
            .or_default()
            .clone()
    }

    /// The plan `plan_id` of target `index`, when it exists. A cached answer is used when it
    /// satisfies `accept` and is younger than [`TTL`]; otherwise the plans are listed again
    /// (once: a listing made while this call waited for another caller's counts as that
    /// refresh).
    pub(crate) async fn plan(
        &self,
        index: usize,
        target: &Target,
        plan_id: &str,
        accept: impl Fn(&PlanStages) -> bool,
    ) -> Result<Option<PlanStages>, AwsError> {
        let started = Instant::now();
        let slot = self.slot(index);
        let mut cached = slot.lock().await;
        if let Some(snapshot) = cached.as_ref()
            && snapshot.fetched.elapsed() < TTL
        {
            let plan = snapshot.plans.get(plan_id);
            if plan.is_some_and(&accept) || snapshot.fetched >= started {
                return Ok(plan.cloned());
            }
        }
        let plans = list(target).await?;
        let plan = plans.get(plan_id).cloned();
        *cached = Some(Snapshot {
            fetched: Instant::now(),
            plans,
        });
        Ok(plan)
    }
}

/// Every usage plan of the target (paged, through discovery's listing), by id.
async fn list(target: &Target) -> Result<HashMap<String, PlanStages>, AwsError> {
    let plans = crate::discovery::list_usage_plans(target).await?;
    Ok(plans
        .into_iter()
        .map(|plan| {
            let stages = plan.api_stages.into_iter().collect();
            (
                plan.id,
                PlanStages {
                    name: plan.name,
                    stages,
                },
            )
        })
        .collect())
}

/// Whether key `key_id` is attached to usage plan `plan_id` (`GetUsagePlans` filtered by
/// `keyId`, within the seed's minimum policy). A key that no longer exists is not attached.
pub(crate) async fn key_attached(
    target: &Target,
    key_id: &str,
    plan_id: &str,
) -> Result<bool, AwsError> {
    let op = target.operation("GetUsagePlans", "GET", "/usageplans");
    let result = target
        .call(&op, OperationClass::General, |c| {
            c.get_usage_plans().key_id(key_id).limit(PAGE_LIMIT).send()
        })
        .await;
    match result {
        Ok(page) => Ok(page.items().iter().any(|p| p.id() == Some(plan_id))),
        Err(err) if err.is_not_found() => Ok(false),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_by_exact_api_and_stage() {
        let plan = PlanStages {
            name: "Gold".into(),
            stages: [("abc".to_owned(), "prod".to_owned())]
                .into_iter()
                .collect(),
        };
        assert!(plan.covers("abc", "prod"));
        assert!(!plan.covers("abc", "dev"));
        assert!(!plan.covers("abd", "prod"));
    }
}
