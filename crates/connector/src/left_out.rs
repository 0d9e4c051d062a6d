//! APIs left out of an ingest or a FETCH reply, and why: by the provider, which could not read
//! one whole ([`SkippedApi`], reasons `read_failed`, `gone`), or by the connector, for an API no
//! message can carry (`too_large`). Never sent incomplete: an API sent with `pages: []` loses
//! the pages APIM ingested before, while an API left out stays as it was
//! (`docs/reference/integration-commands.md` §9, "Pages").
//!
//! Each is named in an error log and counted in `federation_apis_skipped_total{integration,
//! reason}`; [`LeftOut`] keeps the tally an ingest's summary shows.

use std::collections::BTreeMap;

use federation_core::SkippedApi;

use crate::metrics;

/// The connector's own reason: the API's JSON is larger than one message may carry.
pub(crate) const TOO_LARGE: &str = "too_large";

/// APIs left out of one ingest or FETCH reply.
#[derive(Debug)]
pub(crate) struct LeftOut<'a> {
    integration: &'a str,
    /// The ingest job, for the log lines (none for FETCH).
    job_id: Option<&'a str>,
    by_reason: BTreeMap<&'static str, usize>,
}

impl<'a> LeftOut<'a> {
    /// For an ingest job.
    pub(crate) fn ingest(integration: &'a str, job_id: &'a str) -> Self {
        Self {
            integration,
            job_id: Some(job_id),
            by_reason: BTreeMap::new(),
        }
    }

    /// For a FETCH reply.
    pub(crate) fn fetch(integration: &'a str) -> Self {
        Self {
            integration,
            job_id: None,
            by_reason: BTreeMap::new(),
        }
    }

    /// The provider left `skipped` out.
    pub(crate) fn provider(&mut self, skipped: &SkippedApi) {
        let reason = skipped.reason.as_str();
        let name = skipped.name.as_deref().unwrap_or("");
        let job = self.job_id.unwrap_or("-");
        tracing::error!(
            ingest_job_id = %job,
            api_id = %skipped.id,
            api_name = %name,
            reason = %reason,
            error = %skipped.detail,
            "API {} left out by the provider ({reason}): {}. It is not sent, so APIM keeps what it has of it (its pages stay as they were).",
            skipped.id,
            skipped.detail
        );
        self.count(reason);
    }

    /// The connector left out an API of `bytes` (as sent) larger than `room`, what one message
    /// of `limit` bytes has for it.
    pub(crate) fn too_large(
        &mut self,
        api_id: &str,
        name: &str,
        bytes: usize,
        room: usize,
        limit: usize,
    ) {
        let job = self.job_id.unwrap_or("-");
        tracing::error!(
            ingest_job_id = %job,
            api_id = %api_id,
            api_name = %name,
            reason = %TOO_LARGE,
            bytes,
            room,
            limit,
            "API {api_id} left out: too large for one message ({bytes} bytes as sent, `;` escaped; integration.connector.ws.maxWebSocketMessageSize is {limit}). It is not sent, so APIM keeps what it has of it (its pages stay as they were)."
        );
        self.count(TOO_LARGE);
    }

    /// The connector left an API of `bytes` (as sent) out of a FETCH reply already holding all
    /// but `room_left` bytes: it would fit a reply alone, and a later FETCH picks it up (APIM 4.4
    /// fetches only what it does not have yet). Counted as `too_large`.
    pub(crate) fn reply_full(&mut self, api_id: &str, name: &str, bytes: usize, room_left: usize) {
        tracing::error!(
            api_id = %api_id,
            api_name = %name,
            reason = %TOO_LARGE,
            bytes,
            room_left,
            "API {api_id} left out of this FETCH reply: {bytes} bytes as sent, {room_left} left in the message (integration.connector.ws.maxWebSocketMessageSize). A later FETCH picks it up."
        );
        self.count(TOO_LARGE);
    }

    fn count(&mut self, reason: &'static str) {
        metrics::skipped(self.integration, reason, 1);
        *self.by_reason.entry(reason).or_default() += 1;
    }

    /// How many were left out.
    pub(crate) fn total(&self) -> usize {
        self.by_reason.values().sum()
    }

    /// `read_failed=1 too_large=2`, or `none`.
    pub(crate) fn by_reason(&self) -> String {
        if self.by_reason.is_empty() {
            return "none".to_owned();
        }
        self.by_reason
            .iter()
            .map(|(reason, count)| format!("{reason}={count}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use federation_core::SkipReason;

    use super::*;

    #[test]
    fn counts_by_reason() {
        let mut left_out = LeftOut::ingest("int", "job");
        assert_eq!(left_out.by_reason(), "none");
        left_out.provider(&SkippedApi::new("a", SkipReason::ReadFailed, "HTTP 503"));
        left_out.provider(&SkippedApi::new("b", SkipReason::Gone, "deleted"));
        left_out.too_large("c", "C", 10, 5, 8);
        left_out.provider(&SkippedApi::new("d", SkipReason::ReadFailed, "throttled"));
        assert_eq!(left_out.total(), 4);
        assert_eq!(left_out.by_reason(), "gone=1 read_failed=2 too_large=1");
    }
}
