//! [`StageCache`]: each REST API's stage list, kept on its [`Target`](crate::target::Target)
//! between discoveries for `stageCacheMaxAgeSeconds`.
//!
//! Discovery fills it from `GetStages` when it needs stage lists (`acceptApiWithoutUsagePlan`),
//! so a discovery cut by DISCOVER's deadline is continued by the next one instead of starting
//! over. It holds what AWS said and nothing else; it knows nothing of targets or calls.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A stage as `GetStages` lists it: its name and description.
pub(crate) type StageInfo = (String, Option<String>);

/// Stage lists per REST API, kept between walks for at most `max_age` (`0`: nothing is kept).
///
/// Only what `GetStages` said is kept; entries of REST APIs that are gone from `GetRestApis`,
/// and expired entries, are dropped at the start of each walk, so the cache never holds more
/// than one list per existing REST API.
#[derive(Debug)]
pub(crate) struct StageCache {
    max_age: Duration,
    entries: Mutex<HashMap<String, CachedStages>>,
}

#[derive(Debug)]
struct CachedStages {
    read_at: Instant,
    stages: Arc<[StageInfo]>,
}

impl StageCache {
    /// An empty cache whose entries live `max_age`.
    pub(crate) fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long entries live.
    pub(crate) fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The stage list of `rest_api_id`, when read less than `max_age` ago.
    pub(crate) fn fresh(&self, rest_api_id: &str) -> Option<Arc<[StageInfo]>> {
        self.lock()
            .get(rest_api_id)
            .filter(|e| e.read_at.elapsed() < self.max_age)
            .map(|e| e.stages.clone())
    }

    /// Keeps `stages` as the stage list of `rest_api_id`, read now (nothing when `max_age` is 0).
    pub(crate) fn store(&self, rest_api_id: &str, stages: Arc<[StageInfo]>) {
        if self.max_age.is_zero() {
            return;
        }
        self.lock().insert(
            rest_api_id.to_owned(),
            CachedStages {
                read_at: Instant::now(),
                stages,
            },
        );
    }

    /// Drops the stage list of `rest_api_id` (the REST API is gone).
    pub(crate) fn forget(&self, rest_api_id: &str) {
        self.lock().remove(rest_api_id);
    }

    /// Keeps only fresh entries of REST APIs in `existing`.
    pub(crate) fn retain(&self, existing: &HashSet<&str>) {
        let max_age = self.max_age;
        self.lock()
            .retain(|id, e| existing.contains(id.as_str()) && e.read_at.elapsed() < max_age);
    }

    /// The number of stage lists held.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedStages>> {
        // A map of plain values, valid after any panic: recover from poisoning.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(names: &[&str]) -> Arc<[StageInfo]> {
        names.iter().map(|n| ((*n).to_owned(), None)).collect()
    }

    #[test]
    fn entries_are_kept_forgotten_and_pruned() {
        let cache = StageCache::new(Duration::from_secs(60));
        cache.store("a1", stages(&["prod"]));
        cache.store("b2", stages(&["dev", "prod"]));
        assert_eq!(cache.fresh("a1").as_deref(), Some(&stages(&["prod"])[..]));
        assert_eq!(cache.len(), 2);
        cache.forget("a1");
        assert!(cache.fresh("a1").is_none());
        cache.store("c3", stages(&[]));
        cache.retain(&["c3"].into_iter().collect());
        assert_eq!(cache.len(), 1);
        assert!(cache.fresh("b2").is_none() && cache.fresh("c3").is_some());
    }

    #[test]
    fn a_zero_max_age_keeps_nothing() {
        let cache = StageCache::new(Duration::ZERO);
        cache.store("a1", stages(&["prod"]));
        assert_eq!(cache.len(), 0);
        assert!(cache.fresh("a1").is_none());
    }
}
