//! [`PlanCache`]: a target's usage plans as a SUBSCRIBE sees them, which `{restApiId, stage}`
//! pairs each plan covers, and which plan ids live in the target.
//!
//! A key attached to a usage plan opens every stage of that plan, so before a key is created the
//! subscription's plan must still cover the subscribed stage ([`PlanCache::plan`] with a
//! predicate). Plans are listed with `GetUsagePlans` (paged; in the seed's minimum policy) and
//! kept on each target for [`TTL`]. An answer the cache cannot give (plan unknown, stage not
//! covered) refreshes the cache once before it is believed, so a plan changed in AWS a moment
//! ago is seen; concurrent callers share one refresh.
//!
//! The cache also remembers the plan ids seen in its target (by discovery, or found by a
//! subscription's routing), so a subscription that names no region is sent to the target that
//! holds its plan without listing every target again ([`PlanCache::holds`]).
//!
//! The cache makes no call itself: the caller passes the listing (`reads::list_usage_plans`
//! for its target), so this module depends on no target.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AwsError;
use crate::mapping::UsagePlan;

/// How long a listing is trusted when it says "covered": bounds how long a stage detached from
/// a plan in AWS can still get keys through this agent.
pub(crate) const TTL: Duration = Duration::from_secs(30);

/// One usage plan: its name and the stages it covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanStages {
    /// The plan's name (for error messages).
    pub(crate) name: String,
    /// `(restApiId, stage)` pairs.
    pub(crate) stages: HashSet<(String, String)>,
}

impl PlanStages {
    /// Whether the plan covers this stage.
    pub(crate) fn covers(&self, rest_api_id: &str, stage: &str) -> bool {
        self.stages
            .contains(&(rest_api_id.to_owned(), stage.to_owned()))
    }
}

/// One `GetUsagePlans` listing.
#[derive(Debug)]
struct Snapshot {
    fetched: Instant,
    plans: HashMap<String, PlanStages>,
}

/// The usage plans of one target, listed on demand, and the plan ids known to live there.
#[derive(Debug, Default)]
pub(crate) struct PlanCache {
    /// The last listing; locked across a refresh, so concurrent callers share it.
    listing: tokio::sync::Mutex<Option<Snapshot>>,
    /// Plan ids seen in this target (discovery, routing). Never forgotten: plan ids are unique,
    /// and a plan deleted since is reported by the coverage check.
    known: Mutex<HashSet<String>>,
}

impl PlanCache {
    /// The plan `plan_id`, when it exists. A cached answer is used when it satisfies `accept`
    /// and is younger than [`TTL`]; otherwise `list` lists the plans again (once: a listing made
    /// while this call waited for another caller's counts as that refresh).
    pub(crate) async fn plan<F, Fut>(
        &self,
        plan_id: &str,
        accept: impl Fn(&PlanStages) -> bool,
        list: F,
    ) -> Result<Option<PlanStages>, AwsError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<UsagePlan>, AwsError>>,
    {
        let started = Instant::now();
        let mut cached = self.listing.lock().await;
        if let Some(snapshot) = cached.as_ref()
            && snapshot.fetched.elapsed() < TTL
        {
            let plan = snapshot.plans.get(plan_id);
            if plan.is_some_and(&accept) || snapshot.fetched >= started {
                return Ok(plan.cloned());
            }
        }
        let plans = by_id(list().await?);
        let plan = plans.get(plan_id).cloned();
        *cached = Some(Snapshot {
            fetched: Instant::now(),
            plans,
        });
        Ok(plan)
    }

    /// Remembers that these plans live in this target.
    pub(crate) fn remember<'a>(&self, plan_ids: impl IntoIterator<Item = &'a str>) {
        let mut known = self.lock_known();
        for id in plan_ids {
            if !known.contains(id) {
                known.insert(id.to_owned());
            }
        }
    }

    /// Whether plan `plan_id` was seen in this target (no call).
    pub(crate) fn holds(&self, plan_id: &str) -> bool {
        self.lock_known().contains(plan_id)
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of strings, valid after any panic: recover from poisoning.
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A listing by plan id.
fn by_id(plans: Vec<UsagePlan>) -> HashMap<String, PlanStages> {
    plans
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
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    fn gold(stages: &[(&str, &str)]) -> UsagePlan {
        UsagePlan {
            id: "up1".into(),
            name: "Gold".into(),
            description: None,
            rate_limit: None,
            burst_limit: None,
            quota: None,
            api_stages: stages
                .iter()
                .map(|(a, s)| ((*a).to_owned(), (*s).to_owned()))
                .collect(),
        }
    }

    #[tokio::test]
    async fn an_accepted_answer_is_reused_and_a_refused_one_is_checked_again() {
        let cache = PlanCache::default();
        let listings = AtomicUsize::new(0);
        let list = |stages: &'static [(&'static str, &'static str)]| {
            listings.fetch_add(1, Ordering::Relaxed);
            async move { Ok(vec![gold(stages)]) }
        };
        let covers = |p: &PlanStages| p.covers("abc", "prod");
        let first = cache.plan("up1", covers, || list(&[("abc", "prod")])).await;
        assert!(first.unwrap().is_some_and(|p| covers(&p)));
        let again = cache.plan("up1", covers, || list(&[])).await;
        assert!(again.unwrap().is_some_and(|p| covers(&p)), "from the cache");
        assert_eq!(listings.load(Ordering::Relaxed), 1);
        // Not covered in the cache: listed again before the answer is believed.
        let dev = cache
            .plan(
                "up1",
                |p| p.covers("abc", "dev"),
                || list(&[("abc", "dev")]),
            )
            .await;
        assert!(dev.unwrap().is_some_and(|p| p.covers("abc", "dev")));
        assert_eq!(listings.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn plan_ids_seen_are_remembered() {
        let cache = PlanCache::default();
        assert!(!cache.holds("up1"));
        cache.remember(["up1", "up2"]);
        assert!(cache.holds("up1") && cache.holds("up2") && !cache.holds("up3"));
    }
}
