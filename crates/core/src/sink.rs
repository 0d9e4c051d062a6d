//! [`ApiSink`]: the channel a provider streams discovered APIs into, and where it says which
//! selected APIs it left out ([`SkippedApi`]).
//!
//! The connector owns the receiving end. For a preview it stops receiving at the reply deadline
//! (the provider's next [`ApiSink::emit`] then fails with [`ProviderError::Cancelled`]); for an
//! ingest it cuts the stream into `INGEST` batches, and the bounded channel keeps a slow
//! controller from making the provider buffer the whole catalog.

use tokio::sync::mpsc;

use crate::error::ProviderError;
use crate::model::Api;
use crate::provider::{DiscoverRequest, Provider};

/// The sending half handed to [`Provider::discover`].
#[derive(Debug, Clone)]
pub struct ApiSink {
    tx: mpsc::Sender<Api>,
    skipped: Option<mpsc::UnboundedSender<SkippedApi>>,
}

impl ApiSink {
    /// A sink and its receiver, holding at most `capacity` APIs in flight. What
    /// [`ApiSink::skip`] reports is dropped: use [`ApiSink::channel_with_skips`] to read it.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<Api>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Self { tx, skipped: None }, rx)
    }

    /// Like [`ApiSink::channel`], with a second receiver for the APIs the provider left out
    /// ([`ApiSink::skip`]). The connector uses this one.
    pub fn channel_with_skips(
        capacity: usize,
    ) -> (
        Self,
        mpsc::Receiver<Api>,
        mpsc::UnboundedReceiver<SkippedApi>,
    ) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (skipped, skipped_rx) = mpsc::unbounded_channel();
        (
            Self {
                tx,
                skipped: Some(skipped),
            },
            rx,
            skipped_rx,
        )
    }

    /// Sends one API, waiting while the receiver is behind. Fails with
    /// [`ProviderError::Cancelled`] once the receiver is gone: the caller should stop.
    pub async fn emit(&self, api: Api) -> Result<(), ProviderError> {
        self.tx
            .send(api)
            .await
            .map_err(|_| ProviderError::Cancelled)
    }

    /// Says that a selected API is left out of this discovery, and why (instead of emitting it
    /// incomplete). Never waits. The connector names it in an error log, counts it in
    /// `federation_apis_skipped_total` by [`SkipReason`], and counts it in the ingest's summary;
    /// the controller keeps what it has of the API. See "Leaving an API out" in
    /// [`crate::provider`].
    pub fn skip(&self, skipped: SkippedApi) {
        if let Some(tx) = &self.skipped {
            // The receiver may be gone (a preview past its deadline): nothing to tell then.
            let _ = tx.send(skipped);
        }
    }

    /// Whether the receiver is gone (a deadline passed): long walks can check it between
    /// vendor calls.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Why a provider left a selected API out ([`ApiSink::skip`]). Each reason is a value of the
/// `reason` label of `federation_apis_skipped_total` ([`SkipReason::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// Part of the API's definition could not be read from the vendor (a document export that
    /// failed after the retries: throttled, a 5xx, denied). Sent without it, the API would lose
    /// in the controller what it has (APIM deletes the ingested pages an update does not
    /// carry). Label `read_failed`.
    ReadFailed,
    /// The API disappeared while it was being read (deleted meanwhile). Label `gone`.
    Gone,
}

impl SkipReason {
    /// The metric label: `read_failed`, `gone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadFailed => "read_failed",
            Self::Gone => "gone",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A selected API the provider left out of a discovery, and why ([`ApiSink::skip`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedApi {
    /// The API's provider id ([`Api::id`]).
    pub id: String,
    /// Its name, when known.
    pub name: Option<String>,
    /// Why, as a category.
    pub reason: SkipReason,
    /// What happened, for the operator: the vendor's error included, no secret.
    pub detail: String,
}

impl SkippedApi {
    /// The API `id` was left out for `reason`; `detail` says what happened.
    pub fn new(id: impl Into<String>, reason: SkipReason, detail: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            reason,
            detail: detail.into(),
        }
    }

    /// With the API's name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// Runs `provider.discover(request)` to completion and returns every API it emitted, in order.
/// For tools and tests; the connector streams instead.
pub async fn collect(
    provider: &dyn Provider,
    request: &DiscoverRequest,
) -> Result<Vec<Api>, ProviderError> {
    let (sink, mut rx) = ApiSink::channel(64);
    let drain = async move {
        let mut apis = Vec::new();
        while let Some(api) = rx.recv().await {
            apis.push(api);
        }
        apis
    };
    let work = async move {
        let result = provider.discover(request, &sink).await;
        drop(sink);
        result
    };
    let (result, apis) = tokio::join!(work, drain);
    result.map(|()| apis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn emit_fails_with_cancelled_once_the_receiver_is_gone() {
        let (sink, rx) = ApiSink::channel(1);
        assert!(!sink.is_closed());
        drop(rx);
        assert!(sink.is_closed());
        let err = sink.emit(Api::new("u", "i", "n")).await.unwrap_err();
        assert!(matches!(err, ProviderError::Cancelled));
    }

    #[tokio::test]
    async fn skips_reach_the_second_receiver_and_are_dropped_without_one() {
        let (sink, mut apis, mut skipped) = ApiSink::channel_with_skips(1);
        sink.skip(
            SkippedApi::new("a", SkipReason::ReadFailed, "export failed: HTTP 503").with_name("A"),
        );
        sink.emit(Api::new("u", "b", "B")).await.unwrap();
        drop(sink);
        assert_eq!(apis.recv().await.unwrap().id, "b");
        let first = skipped.recv().await.unwrap();
        assert_eq!(
            (first.id.as_str(), first.name.as_deref(), first.reason),
            ("a", Some("A"), SkipReason::ReadFailed)
        );
        assert_eq!(first.reason.to_string(), "read_failed");
        assert!(skipped.recv().await.is_none(), "closed with the sink");

        let (plain, _rx) = ApiSink::channel(1);
        plain.skip(SkippedApi::new("a", SkipReason::Gone, "deleted"));
    }
}
