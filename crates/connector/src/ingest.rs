//! The INGEST push that follows a START_INGEST reply: full definitions of the selected APIs,
//! streamed from the provider into batches, each sent as an INGEST command and awaited before
//! the next; the last batch carries `done: true`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use federation_core::{Api, ApiSink, DiscoverRequest, ProviderError, Selection};
use federation_protocol::payload::IngestPayload;
use federation_protocol::{Command, CommandPayload};

use tracing::Instrument as _;

use crate::context::ChannelContext;
use crate::drift::hooks;
use crate::metrics;

/// Pushes the job. Errors are logged: the controller marks the job timed out 5 minutes after
/// the last batch it received, which is how an administrator sees that it failed.
pub(crate) async fn push(
    ctx: Arc<ChannelContext>,
    job_id: String,
    ids: BTreeSet<String>,
    started: Instant,
) {
    tokio::time::sleep(ctx.limits.ingest_start_delay).await;
    let total = ids.len();
    let (sink, mut rx) = ApiSink::channel(ctx.limits.batch_size.max(1) * 2);
    let provider = ctx.provider.clone();
    let mut discovery = tokio::spawn(
        async move {
            let result = provider
                .discover(&DiscoverRequest::full(Selection::Only(ids)), &sink)
                .await;
            drop(sink);
            result
        }
        .in_current_span(),
    );
    let mut batcher = Batcher::new(
        ctx.limits.batch_size,
        ctx.limits.max_message_size / 4 * 3,
        max_api_bytes(ctx.limits.max_message_size),
    );
    let mut pushed = 0usize;
    while let Some(api) = rx.recv().await {
        let pushed_api = batcher.push(api.for_ingest());
        if let Pushed::TooLarge {
            api_id,
            name,
            bytes,
        } = &pushed_api
        {
            // Sending it without its pages would make APIM delete the pages it ingested
            // before (it clears every ingested page the update does not name).
            tracing::error!(
                ingest_job_id = %job_id,
                api_id = %api_id,
                api_name = %name,
                bytes,
                limit = batcher.max_api_bytes,
                "This API is too large for one message (integration.connector.ws.maxWebSocketMessageSize); left out of the ingest, its pages in APIM stay as they were."
            );
            metrics::skipped(&ctx.integration_id, "too_large", 1);
        }
        if let Pushed::Released(batch) = pushed_api {
            let count = batch.len();
            if !send(&ctx, &job_id, batch, false).await {
                discovery.abort();
                return;
            }
            pushed += count;
        }
    }
    match (&mut discovery).await {
        Ok(Ok(()) | Err(ProviderError::Cancelled)) => {}
        Ok(Err(error)) => {
            tracing::error!(
                ingest_job_id = %job_id,
                error = %error.details(),
                "The provider failed during ingest; the job will show as timed out in APIM."
            );
            return;
        }
        Err(join) => {
            tracing::error!(ingest_job_id = %job_id, error = %join, "The ingest task failed.");
            return;
        }
    }
    let skipped = batcher.skipped;
    let last = batcher.finish();
    let count = last.len();
    if send(&ctx, &job_id, last, true).await {
        pushed += count;
        if pushed + skipped < total {
            tracing::warn!(
                ingest_job_id = %job_id,
                pushed,
                skipped,
                total,
                "Fewer APIs were ingested than announced (some disappeared meanwhile)."
            );
        }
        if skipped > 0 {
            tracing::error!(
                ingest_job_id = %job_id,
                pushed,
                skipped,
                total,
                elapsed = ?started.elapsed(),
                "Ingest finished; some APIs were left out because they are too large (see the errors above)."
            );
        } else {
            tracing::info!(ingest_job_id = %job_id, pushed, skipped, elapsed = ?started.elapsed(), "Ingest finished.");
        }
        // Drift hook: compare what was just ingested (and earlier) with the vendor.
        hooks::after_ingest(&ctx, "ingest").await;
        metrics::seconds(
            metrics::INGEST_DURATION,
            &[("integration", ctx.integration_id.clone())],
            started.elapsed(),
        );
    }
}

async fn send(ctx: &ChannelContext, job_id: &str, apis: Vec<Api>, done: bool) -> bool {
    let count = apis.len();
    let remembered = hooks::remember(&apis); // drift hook
    let command = Command::new(
        uuid::Uuid::new_v4().to_string(),
        CommandPayload::Ingest(IngestPayload {
            ingest_job_id: job_id.to_owned(),
            apis,
            done,
        }),
    );
    let result = ctx
        .link
        .request(&command, ctx.limits.reply_timeout, ctx.limits.session_wait)
        .await;
    let outcome = match &result {
        Ok(reply) if reply.is_success() => "success",
        Ok(_) => "error",
        Err(_) => "timeout",
    };
    metrics::counter(
        metrics::COMMANDS_SENT,
        &ctx.integration_id,
        &[("type", "INGEST".into()), ("outcome", outcome.into())],
    );
    match result {
        Ok(reply) if reply.is_success() => {
            metrics::add(metrics::APIS_INGESTED, &ctx.integration_id, count as u64);
            ctx.drift.record(&ctx.integration_id, remembered); // drift hook
            tracing::debug!(ingest_job_id = %job_id, apis = count, done, "INGEST batch accepted.");
            true
        }
        Ok(reply) => {
            tracing::error!(
                ingest_job_id = %job_id,
                details = reply.error_details.as_deref().unwrap_or("no details"),
                "The controller rejected an INGEST batch; stopping this ingest."
            );
            false
        }
        Err(error) => {
            tracing::error!(ingest_job_id = %job_id, %error, "An INGEST batch got no reply; stopping this ingest.");
            false
        }
    }
}

/// Room left for the envelope (`t:COMMAND;;et:INGEST;;e:`) and the command's own fields
/// (`id`, `ingestJobId`, `done`) around the APIs.
const ENVELOPE_ROOM: usize = 1_024;

/// The largest JSON one API may have to travel in a message of `max_message_size` bytes.
pub(crate) fn max_api_bytes(max_message_size: usize) -> usize {
    max_message_size.saturating_sub(ENVELOPE_ROOM).max(1)
}

/// What [`Batcher::push`] did with an API.
#[derive(Debug)]
enum Pushed {
    /// Kept for the current batch.
    Kept,
    /// Kept for a new batch; the previous one is ready.
    Released(Vec<Api>),
    /// Left out: too large for any message.
    TooLarge {
        api_id: String,
        name: String,
        bytes: usize,
    },
}

/// Cuts the stream into batches of at most `size` APIs and about `max_bytes` of JSON. A batch
/// is released when the next API arrives, so the last one carries `done` (it is empty only when
/// every API was left out). An API whose JSON exceeds `max_api_bytes` is left out, never sent
/// without its pages.
struct Batcher {
    size: usize,
    max_bytes: usize,
    max_api_bytes: usize,
    batch: Vec<Api>,
    bytes: usize,
    skipped: usize,
}

impl Batcher {
    fn new(size: usize, max_bytes: usize, max_api_bytes: usize) -> Self {
        Self {
            size: size.max(1),
            max_bytes: max_bytes.max(1),
            max_api_bytes: max_api_bytes.max(1),
            batch: Vec::new(),
            bytes: 0,
            skipped: 0,
        }
    }

    fn push(&mut self, api: Api) -> Pushed {
        let bytes = json_len(&api);
        if bytes > self.max_api_bytes {
            self.skipped += 1;
            return Pushed::TooLarge {
                api_id: api.id,
                name: api.name,
                bytes,
            };
        }
        let full = self.batch.len() >= self.size || self.bytes + bytes > self.max_bytes;
        let ready = (!self.batch.is_empty() && full).then(|| {
            self.bytes = 0;
            std::mem::take(&mut self.batch)
        });
        self.batch.push(api);
        self.bytes += bytes;
        ready.map_or(Pushed::Kept, Pushed::Released)
    }

    fn finish(self) -> Vec<Api> {
        self.batch
    }
}

pub(crate) fn json_len(api: &Api) -> usize {
    serde_json::to_vec(api).map_or(0, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(i: usize, doc_bytes: usize) -> Api {
        Api::new(format!("u{i}"), format!("i{i}"), "n").with_page(federation_core::Page::new(
            federation_core::PageType::Swagger,
            "x".repeat(doc_bytes),
            "f",
        ))
    }

    #[test]
    fn batches_by_count_and_keeps_the_last_one_for_done() {
        let mut batcher = Batcher::new(2, 1 << 20, 1 << 20);
        let released: Vec<usize> = (0..5)
            .filter_map(|i| match batcher.push(api(i, 10)) {
                Pushed::Released(batch) => Some(batch.len()),
                _ => None,
            })
            .collect();
        assert_eq!(released, [2, 2]);
        assert_eq!(batcher.finish().len(), 1);
    }

    #[test]
    fn batches_by_size_and_leaves_out_apis_too_large_for_a_message() {
        let mut batcher = Batcher::new(100, 1_000, 4_000);
        assert!(matches!(batcher.push(api(0, 600)), Pushed::Kept));
        let Pushed::Released(released) = batcher.push(api(1, 600)) else {
            panic!("the second API does not fit next to the first")
        };
        assert_eq!(released.len(), 1);
        // Too large for any message: left out whole, never sent with `pages: []`.
        match batcher.push(api(2, 5_000)) {
            Pushed::TooLarge { api_id, bytes, .. } => {
                assert_eq!(api_id, "i2");
                assert!(bytes > 5_000);
            }
            other => panic!("{other:?}"),
        }
        // Larger than a batch's target but fits a message alone: sent alone.
        let Pushed::Released(released) = batcher.push(api(3, 2_000)) else {
            panic!("a large API starts its own batch")
        };
        assert_eq!(released.len(), 1);
        assert_eq!(batcher.skipped, 1);
        let last = batcher.finish();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].id, "i3");
        assert_eq!(last[0].pages.as_ref().unwrap()[0].content.len(), 2_000);
    }
}
