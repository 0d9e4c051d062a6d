//! [`ApiSink`]: the channel a provider streams discovered APIs into.
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
}

impl ApiSink {
    /// A sink and its receiver, holding at most `capacity` APIs in flight.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<Api>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Self { tx }, rx)
    }

    /// Sends one API, waiting while the receiver is behind. Fails with
    /// [`ProviderError::Cancelled`] once the receiver is gone: the caller should stop.
    pub async fn emit(&self, api: Api) -> Result<(), ProviderError> {
        self.tx
            .send(api)
            .await
            .map_err(|_| ProviderError::Cancelled)
    }

    /// Whether the receiver is gone (a deadline passed): long walks can check it between
    /// vendor calls.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
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
}
