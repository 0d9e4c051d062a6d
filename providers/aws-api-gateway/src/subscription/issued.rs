//! [`IssuedKeys`]: what this process remembers of the subscriptions it served.
//!
//! - the keys it issued ([`CachedKey`]), so a subscription delivered again to this process gets
//!   the same key without a call, and an UNSUBSCRIBE without `apiKeyId` still finds it;
//! - one lock per subscription, so two deliveries of one subscription racing each other in this
//!   process create one key (replicas converge through AWS instead, see `race.rs`);
//! - whether this process has said that `GetApiKeys` is denied: the cache is then the only guard
//!   against duplicates, and the warning says so once;
//! - per target, whether application keys can be issued there (the grant probe of
//!   `grants.rs`, run once per process and target), and whether the fallback to a key per
//!   subscription was told (once per process).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use federation_core::Secret;

use crate::target::Target;

/// A key this process issued for a subscription, and where.
#[derive(Debug, Clone)]
pub(super) struct CachedKey {
    /// The account and region the key lives in.
    pub(super) target: Arc<Target>,
    /// The API key id.
    pub(super) key_id: String,
    /// The key's value (the reply's `apiKey`).
    pub(super) value: Secret,
    /// The usage plan it is attached to.
    pub(super) plan_id: String,
}

/// Keys issued by this process, and per-subscription locks so that two deliveries of the same
/// subscription racing each other create one key.
#[derive(Debug, Default)]
pub(crate) struct IssuedKeys {
    keys: Mutex<HashMap<String, CachedKey>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    lookup_denial_warned: AtomicBool,
    application_scope: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<bool>>>>,
    application_fallback_told: AtomicBool,
    without_application_told: AtomicBool,
}

impl IssuedKeys {
    /// The key issued for `subscription_id`, if this process issued one.
    pub(super) fn get(&self, subscription_id: &str) -> Option<CachedKey> {
        lock(&self.keys).get(subscription_id).cloned()
    }

    pub(super) fn insert(&self, subscription_id: &str, key: CachedKey) {
        lock(&self.keys).insert(subscription_id.to_owned(), key);
    }

    pub(super) fn remove(&self, subscription_id: &str) {
        lock(&self.keys).remove(subscription_id);
    }

    /// The lock of `subscription_id`; hand it back with [`IssuedKeys::release`].
    pub(super) fn lock_for(&self, subscription_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.locks)
            .entry(subscription_id.to_owned())
            .or_default()
            .clone()
    }

    /// Drops the lock of `subscription_id` when nobody else waits on it.
    pub(super) fn release(&self, subscription_id: &str, held: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = lock(&self.locks);
        // The map's copy and `held`: nobody else waits on it.
        if Arc::strong_count(&held) <= 2 {
            locks.remove(subscription_id);
        }
    }

    /// True the first time it is called: the `GetApiKeys` denial is logged once per process.
    pub(super) fn first_lookup_denial(&self) -> bool {
        !self.lookup_denial_warned.swap(true, Ordering::Relaxed)
    }

    /// Whether application keys can be issued in the target labelled `target`: set once by the
    /// grant probe (concurrent callers wait for one probe).
    pub(super) fn application_scope(&self, target: &str) -> Arc<tokio::sync::OnceCell<bool>> {
        lock(&self.application_scope)
            .entry(target.to_owned())
            .or_default()
            .clone()
    }

    /// True the first time it is called: the fallback to a key per subscription is told once.
    pub(super) fn first_application_fallback(&self) -> bool {
        !self.application_fallback_told.swap(true, Ordering::Relaxed)
    }

    /// True the first time it is called: a SUBSCRIBE without `graviteeApplicationId` is told
    /// once.
    pub(super) fn first_without_application(&self) -> bool {
        !self.without_application_told.swap(true, Ordering::Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Maps of plain values, valid after any panic: recover from poisoning.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_dropped_once_nobody_holds_it() {
        let issued = IssuedKeys::default();
        let first = issued.lock_for("s1");
        let second = issued.lock_for("s1");
        assert!(Arc::ptr_eq(&first, &second), "one lock per subscription");
        issued.release("s1", second);
        assert!(lock(&issued.locks).contains_key("s1"), "still held");
        issued.release("s1", first);
        assert!(!lock(&issued.locks).contains_key("s1"), "nobody holds it");
    }

    #[test]
    fn the_lookup_denial_is_told_once() {
        let issued = IssuedKeys::default();
        assert!(issued.first_lookup_denial());
        assert!(!issued.first_lookup_denial());
    }
}
