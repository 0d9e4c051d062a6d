//! What running an integration command produces: the reply, and work to start once it is written.

use std::future::Future;
use std::pin::Pin;

use federation_protocol::Reply;

/// Work to start once the reply is written (the INGEST push after START_INGEST, a drift check).
pub(crate) type FollowUp = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A handler's result.
pub(crate) struct Outcome {
    pub(crate) reply: Reply,
    pub(crate) then: Option<FollowUp>,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Self {
        Self { reply, then: None }
    }
}
