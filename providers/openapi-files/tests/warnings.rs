//! The warnings the provider logs while discovering. A test binary of its own: the log capture
//! uses a thread-local subscriber, and tracing's per-callsite interest cache can drop the event
//! when other tests of the same process hit the callsite at the same moment without one.

// Test helpers outside `#[test]` functions: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use common::{SAMPLE_IDS, ids, provider_on, specs};
use federation_core::{DiscoverRequest, Selection, collect};

/// Collects log lines (WARN and above) for the current thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn discovers_the_sample_tree_and_warns_about_the_broken_file() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let store = tempfile::tempdir().unwrap();
    let provider = provider_on(&specs(), &store.path().join("keys.json"));
    let apis = collect(&provider, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(ids(&apis), SAMPLE_IDS);

    let logs = logs.text();
    assert!(logs.contains("not-apis/broken.yaml"), "{logs}");
    assert!(logs.contains("skipping an unusable file"), "{logs}");
    assert!(
        !logs.contains("deployment.yaml"),
        "a non-API file is not worth a warning: {logs}"
    );
    assert_eq!(logs.lines().count(), 1, "{logs}");
}
