//! The connector's counters, read back in a test: a `metrics` recorder set for the test's
//! thread. `#[tokio::test]` runs every task on that thread (a current-thread runtime), so
//! whatever the connector counts during the test lands here.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// Counter totals by `name{label="value",…}` (labels sorted).
#[derive(Clone, Default)]
pub(crate) struct Counters(Arc<Mutex<BTreeMap<String, u64>>>);

struct Handle {
    key: String,
    counters: Counters,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        *self.counters.lock().entry(self.key.clone()).or_default() += value;
    }

    fn absolute(&self, value: u64) {
        self.counters.lock().insert(self.key.clone(), value);
    }
}

impl Counters {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The total of `name` with exactly these labels (`[("integration", "int-1")]`).
    pub(crate) fn get(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        labels.sort();
        let key = format!("{name}{{{}}}", labels.join(","));
        self.lock().get(&key).copied().unwrap_or(0)
    }

    /// Everything counted, for a failure message.
    pub(crate) fn dump(&self) -> String {
        format!("{:#?}", *self.lock())
    }
}

impl Recorder for Counters {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
            .collect();
        labels.sort();
        Counter::from_arc(Arc::new(Handle {
            key: format!("{}{{{}}}", key.name(), labels.join(",")),
            counters: self.clone(),
        }))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}
