//! The INGEST push that follows a START_INGEST reply: full definitions of the selected APIs,
//! streamed from the provider into batches, each sent as an INGEST command and awaited before
//! the next; the last batch carries `done: true`.
//!
//! **Every job the agent accepted is closed.** APIM inserts the job when it reads the
//! START_INGEST reply and ends it only on an INGEST with `done: true`; APIM 4.5 and 4.6 have no
//! deadline, so a job never closed stays PENDING for ever and the console refuses Discover
//! meanwhile (`docs/reference/integration-commands.md` §9, "The ingest job"). So whatever fails
//! (the provider mid-stream, a batch answered ERROR, a batch without a reply, no connection) the
//! push ends with a `done: true` batch, best effort: after a provider failure it carries the
//! APIs the provider gave before failing, after a batch failure it is empty. The log says what
//! failed and that the job was closed early, with the counts sent and left out;
//! `federation_ingest_jobs_closed_early_total{reason}` counts it. A batch whose connection
//! dropped is sent again after the reconnect ([`Link::request`](crate::link::Link::request)):
//! that is no failure.
//!
//! Batches are cut by count and by size on the wire ([`crate::wire`]); an API no message can
//! carry, and one the provider left out ([`federation_core::SkippedApi`]), is left out and named
//! ([`crate::left_out`]), never sent without its pages.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use federation_core::{Api, ApiSink, DiscoverRequest, ProviderError, Selection};
use federation_protocol::payload::IngestPayload;
use federation_protocol::{Command, CommandPayload};

use tracing::Instrument as _;

use crate::context::ChannelContext;
use crate::drift::hooks;
use crate::left_out::LeftOut;
use crate::link::RequestError;
use crate::metrics;
use crate::wire::{Room, wire_len};

/// What stopped an ingest before its end.
#[derive(Debug)]
enum Failure {
    /// The provider's discovery failed.
    Provider(String),
    /// The controller answered a batch with ERROR.
    Rejected(String),
    /// A batch got no reply in time.
    Unanswered(String),
    /// No connection to the controller came back in time.
    NoConnection(String),
}

impl Failure {
    /// The `reason` label of `federation_ingest_jobs_closed_early_total`.
    fn reason(&self) -> &'static str {
        match self {
            Self::Provider(_) => "provider_error",
            Self::Rejected(_) => "batch_rejected",
            Self::Unanswered(_) => "batch_unanswered",
            Self::NoConnection(_) => "no_connection",
        }
    }

    /// What failed, in words.
    fn describe(&self) -> String {
        match self {
            Self::Provider(error) => format!("the provider failed: {error}"),
            Self::Rejected(details) => format!("the controller rejected a batch: {details}"),
            Self::Unanswered(error) => format!("a batch got no reply ({error})"),
            Self::NoConnection(error) => format!("a batch could not be sent ({error})"),
        }
    }
}

/// What was sent so far.
struct Progress<'a> {
    job_id: &'a str,
    total: usize,
    sent: usize,
    left_out: LeftOut<'a>,
}

/// Pushes the job, and closes it whatever happens (see the module documentation).
pub(crate) async fn push(
    ctx: Arc<ChannelContext>,
    job_id: String,
    ids: BTreeSet<String>,
    started: Instant,
) {
    tokio::time::sleep(ctx.limits.ingest_start_delay).await;
    let mut progress = Progress {
        job_id: &job_id,
        total: ids.len(),
        sent: 0,
        left_out: LeftOut::ingest(&ctx.integration_id, &job_id),
    };
    let (sink, mut rx, mut skipped) = ApiSink::channel_with_skips(ctx.limits.batch_size.max(1) * 2);
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
    let room = Room::ingest(&job_id, ctx.limits.max_message_size);
    let mut batcher = Batcher::new(
        ctx.limits.batch_size,
        ctx.limits.max_message_size / 4 * 3,
        room.for_apis(),
    );
    let mut failure = loop {
        tokio::select! {
            api = rx.recv() => {
                let Some(api) = api else { break None };
                match batcher.push(api.for_ingest()) {
                    Pushed::Kept => {}
                    Pushed::TooLarge { api_id, name, bytes } => {
                        progress.left_out.too_large(&api_id, &name, bytes, room.for_apis(), room.limit());
                    }
                    Pushed::Released(batch) => match send(&ctx, &job_id, batch, false).await {
                        Ok(count) => progress.sent += count,
                        Err(failure) => {
                            discovery.abort();
                            break Some(failure);
                        }
                    },
                }
            }
            Some(skip) = skipped.recv() => progress.left_out.provider(&skip),
        }
    };
    if failure.is_none() {
        failure = match (&mut discovery).await {
            Ok(Ok(()) | Err(ProviderError::Cancelled)) => None,
            Ok(Err(error)) => Some(Failure::Provider(error.details())),
            Err(join) => Some(Failure::Provider(format!(
                "the provider's discovery task failed: {join}"
            ))),
        };
    }
    // The provider is done: what it left out is all in the channel.
    while let Ok(skip) = skipped.try_recv() {
        progress.left_out.provider(&skip);
    }

    let last = batcher.finish();
    match failure {
        None => match send(&ctx, &job_id, last, true).await {
            Ok(count) => {
                progress.sent += count;
                finished(&ctx, &progress, started).await;
            }
            Err(failure) => close_early(&ctx, &mut progress, failure, Vec::new()).await,
        },
        // What the provider gave before failing is complete: it closes the job.
        Some(failure @ Failure::Provider(_)) => {
            close_early(&ctx, &mut progress, failure, last).await;
        }
        // After a batch failed, nothing more but the closing batch.
        Some(failure) => close_early(&ctx, &mut progress, failure, Vec::new()).await,
    }
}

/// The summary of an ingest that went to its end.
async fn finished(ctx: &ChannelContext, progress: &Progress<'_>, started: Instant) {
    let (sent, total) = (progress.sent, progress.total);
    let skipped = progress.left_out.total();
    if sent + skipped < total {
        tracing::warn!(
            ingest_job_id = %progress.job_id,
            sent,
            skipped,
            total,
            "Fewer APIs were ingested than announced (some disappeared meanwhile)."
        );
    }
    if skipped > 0 {
        tracing::error!(
            ingest_job_id = %progress.job_id,
            sent,
            skipped,
            skipped_by_reason = %progress.left_out.by_reason(),
            total,
            elapsed = ?started.elapsed(),
            "Ingest finished; {skipped} API(s) were left out (named in the errors above), APIM keeps what it had of them."
        );
    } else {
        tracing::info!(
            ingest_job_id = %progress.job_id,
            sent,
            skipped,
            total,
            elapsed = ?started.elapsed(),
            "Ingest finished."
        );
    }
    // Drift hook: compare what was just ingested (and earlier) with the vendor.
    hooks::after_ingest(ctx, "ingest").await;
    metrics::seconds(
        metrics::INGEST_DURATION,
        &[("integration", ctx.integration_id.clone())],
        started.elapsed(),
    );
}

/// Closes the job after `failure`: `closing` (what the provider gave before failing, or
/// nothing) goes with `done: true`; if that batch fails, an empty one is tried.
async fn close_early(
    ctx: &ChannelContext,
    progress: &mut Progress<'_>,
    failure: Failure,
    closing: Vec<Api>,
) {
    metrics::counter(
        metrics::INGEST_JOBS_CLOSED_EARLY,
        &ctx.integration_id,
        &[("reason", failure.reason().to_owned())],
    );
    if let Failure::Provider(error) = &failure {
        tracing::error!(
            ingest_job_id = %progress.job_id,
            error = %error,
            "The provider failed during ingest."
        );
    }
    let held = closing.len();
    let closed = match send(ctx, progress.job_id, closing, true).await {
        Ok(count) => {
            progress.sent += count;
            true
        }
        Err(_) if held > 0 => send(ctx, progress.job_id, Vec::new(), true).await.is_ok(),
        Err(_) => false,
    };
    let (sent, total) = (progress.sent, progress.total);
    let skipped = progress.left_out.total();
    let left_out = total.saturating_sub(sent);
    let what = failure.describe();
    if closed {
        tracing::error!(
            ingest_job_id = %progress.job_id,
            reason = %failure.reason(),
            failure = %what,
            sent,
            left_out,
            skipped,
            total,
            "Ingest job closed early (done: true) after a failure: {sent} of {total} API(s) sent, {left_out} left out. Ingest again once the cause is fixed."
        );
    } else {
        tracing::error!(
            ingest_job_id = %progress.job_id,
            reason = %failure.reason(),
            failure = %what,
            sent,
            left_out,
            skipped,
            total,
            "Ingest failed and its job could not be closed early either: {sent} of {total} API(s) sent. APIM 4.7+ times the job out after 5 minutes; APIM 4.5 and 4.6 keep it PENDING, and the console refuses Discover until it ends."
        );
    }
}

/// Sends one batch and waits for its reply: the number of APIs accepted, or what failed.
async fn send(
    ctx: &ChannelContext,
    job_id: &str,
    apis: Vec<Api>,
    done: bool,
) -> Result<usize, Failure> {
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
            Ok(count)
        }
        Ok(reply) => {
            let details = reply
                .error_details
                .unwrap_or_else(|| "no details".to_owned());
            tracing::error!(
                ingest_job_id = %job_id,
                apis = count,
                done,
                details = %details,
                "The controller rejected an INGEST batch."
            );
            Err(Failure::Rejected(details))
        }
        Err(error) => {
            tracing::error!(ingest_job_id = %job_id, apis = count, done, %error, "An INGEST batch got no reply.");
            Err(match error {
                RequestError::Timeout(_) => Failure::Unanswered(error.to_string()),
                RequestError::NoSession(_) => Failure::NoConnection(error.to_string()),
            })
        }
    }
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

/// Cuts the stream into batches of at most `size` APIs and about `max_bytes` on the wire. A
/// batch is released when the next API arrives, so the last one carries `done` (it is empty
/// only when every API was left out). An API larger on the wire than `max_api_bytes` (what one
/// message has for APIs) is left out, never sent without its pages. Sizes are
/// [`wire_len`]s plus a comma each, so a batch's message is at most its room: exact, not an
/// estimate.
struct Batcher {
    size: usize,
    max_bytes: usize,
    max_api_bytes: usize,
    batch: Vec<Api>,
    bytes: usize,
}

impl Batcher {
    fn new(size: usize, max_bytes: usize, max_api_bytes: usize) -> Self {
        Self {
            size: size.max(1),
            max_bytes: max_bytes.max(1),
            max_api_bytes: max_api_bytes.max(1),
            batch: Vec::new(),
            bytes: 0,
        }
    }

    fn push(&mut self, api: Api) -> Pushed {
        let bytes = wire_len(&api);
        if bytes > self.max_api_bytes {
            return Pushed::TooLarge {
                api_id: api.id,
                name: api.name,
                bytes,
            };
        }
        // With the comma before it; a batch alone is at most `max_api_bytes`.
        let cost = bytes + 1;
        let full = self.batch.len() >= self.size
            || self.bytes + cost > self.max_bytes
            || self.bytes + cost > self.max_api_bytes;
        let ready = (!self.batch.is_empty() && full).then(|| {
            self.bytes = 0;
            std::mem::take(&mut self.batch)
        });
        self.batch.push(api);
        self.bytes += cost;
        ready.map_or(Pushed::Kept, Pushed::Released)
    }

    fn finish(self) -> Vec<Api> {
        self.batch
    }
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
        let last = batcher.finish();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].id, "i3");
        assert_eq!(last[0].pages.as_ref().unwrap()[0].content.len(), 2_000);
    }

    #[test]
    fn sizes_count_the_escaped_semicolons() {
        let semicolons = |i: usize, n: usize| {
            Api::new(format!("u{i}"), format!("i{i}"), "n").with_page(federation_core::Page::new(
                federation_core::PageType::Swagger,
                ";".repeat(n),
                "f",
            ))
        };
        // 900 `;` are 900 bytes of JSON but 5,400 on the wire.
        let mut batcher = Batcher::new(100, 4_000, 4_000);
        assert!(matches!(
            batcher.push(semicolons(0, 900)),
            Pushed::TooLarge { bytes, .. } if bytes > 5_400
        ));
        assert!(matches!(batcher.push(semicolons(1, 350)), Pushed::Kept));
        // 2,100 + 2,100 bytes of `;` on the wire (350 + 350 in the JSON): the second does not
        // fit beside the first.
        assert!(matches!(
            batcher.push(semicolons(2, 350)),
            Pushed::Released(batch) if batch.len() == 1
        ));
    }
}
