//! Integration commands: DISCOVER, START_INGEST, SUBSCRIBE, UNSUBSCRIBE and the APIM 4.4 pair
//! LIST and FETCH, each turned into provider calls and a reply.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use federation_core::{Api, ApiSink, DiscoverRequest, ProviderError, Selection, SkippedApi};
use federation_protocol::payload::{
    DiscoverReplyPayload, Empty, FetchReplyPayload, ListReplyPayload, StartIngestReplyPayload,
    SubscribeReplyPayload,
};
use federation_protocol::{Command, CommandPayload, CommandType, Reply, ReplyPayload};
use tokio::time::Instant as TokioInstant;

use tracing::Instrument as _;

use crate::context::ChannelContext;
use crate::drift::hooks;
use crate::ingest;
use crate::left_out::LeftOut;
use crate::metrics;
use crate::outcome::{FollowUp, Outcome};
use crate::wire::{Room, wire_len};

/// Runs one integration command.
pub(crate) async fn handle(command: Command, ctx: Arc<ChannelContext>) -> Outcome {
    let id = command.id.clone();
    let command_type = command.command_type();
    match command.payload {
        // Drift hook: a complete preview feeds the drift check that follows the reply.
        CommandPayload::Discover(_) => hooks::after_discover(&ctx, discover(&id, &ctx).await),
        CommandPayload::List(_) => list(&id, &ctx).await.into(),
        CommandPayload::StartIngest(payload) => {
            start_ingest(&id, payload.ingest_job_id, payload.api_ids, &ctx).await
        }
        // Drift hook: the fetched APIs are remembered as ingested.
        CommandPayload::Fetch(payload) => {
            hooks::after_fetch(&ctx, fetch(&id, payload.selected_ids(), &ctx).await)
        }
        CommandPayload::Subscribe(payload) => {
            subscribe(&id, &payload.api_id, &payload.subscription, &ctx)
                .await
                .into()
        }
        CommandPayload::Unsubscribe(payload) => {
            unsubscribe(&id, &payload.api_id, &payload.subscription, &ctx)
                .await
                .into()
        }
        _ => Reply::no_reply(id, &command_type).into(),
    }
}

fn error_reply(id: &str, command_type: CommandType, error: &ProviderError) -> Reply {
    Reply::error(id, command_type, error.details())
}

/// What a discovery under a deadline collected, for a reply.
struct Collected {
    /// The APIs emitted, in order, each id once.
    apis: Vec<Api>,
    /// Whether the deadline cut the discovery short.
    partial: bool,
    /// The APIs the provider left out ([`ApiSink::skip`]).
    skipped: Vec<SkippedApi>,
}

/// Like [`federation_core::collect`], under a deadline: runs `discover` and collects what it
/// emits until it ends or `deadline` passes; at the deadline the sink closes, so the provider's
/// next emit fails with `Cancelled` and it stops.
async fn collect_until(
    ctx: &ChannelContext,
    request: DiscoverRequest,
    deadline: TokioInstant,
) -> Result<Collected, ProviderError> {
    let (sink, mut rx, mut skips) = ApiSink::channel_with_skips(256);
    let provider = ctx.provider.clone();
    let mut work = tokio::spawn(
        async move {
            let result = provider.discover(&request, &sink).await;
            drop(sink);
            result
        }
        .in_current_span(),
    );
    let mut apis = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = BTreeSet::new();
    let mut partial = false;
    loop {
        tokio::select! {
            Some(skip) = skips.recv() => skipped.push(skip),
            next = rx.recv() => match next {
                Some(api) => {
                    if seen.insert(api.id.clone()) {
                        apis.push(api);
                    } else {
                        tracing::warn!(api_id = %api.id, "The provider emitted the same API id twice; keeping the first.");
                    }
                }
                None => break,
            },
            () = tokio::time::sleep_until(deadline) => {
                partial = true;
                break;
            }
        }
    }
    drop(rx);
    while let Ok(skip) = skips.try_recv() {
        skipped.push(skip);
    }
    if partial {
        // Let the provider notice the closed sink, but don't wait for it.
        work.abort();
        return Ok(Collected {
            apis,
            partial,
            skipped,
        });
    }
    match (&mut work).await {
        // The sink is gone (`rx` ended), so every skip it reported was drained above.
        Ok(Ok(())) | Ok(Err(ProviderError::Cancelled)) => Ok(Collected {
            apis,
            partial,
            skipped,
        }),
        Ok(Err(error)) => Err(error),
        Err(join) => Err(ProviderError::backend(format!(
            "the provider's discovery task failed: {join}"
        ))),
    }
}

/// A preview (DISCOVER, LIST, START_INGEST's count) leaves out what the provider skipped: a
/// warning names each (an ingest or a FETCH counts them in `federation_apis_skipped_total`).
fn warn_skipped(skipped: &[SkippedApi]) {
    for skip in skipped {
        tracing::warn!(
            api_id = %skip.id,
            api_name = %skip.name.as_deref().unwrap_or(""),
            reason = %skip.reason,
            error = %skip.detail,
            "API {} left out of the preview by the provider ({}): {}",
            skip.id,
            skip.reason,
            skip.detail
        );
    }
}

async fn discover(id: &str, ctx: &ChannelContext) -> Reply {
    let started = Instant::now();
    let deadline = TokioInstant::now() + ctx.limits.discover_timeout;
    let result = collect_until(ctx, DiscoverRequest::preview(), deadline).await;
    metrics::seconds(
        metrics::DISCOVERY_DURATION,
        &[("integration", ctx.integration_id.clone())],
        started.elapsed(),
    );
    match result {
        Ok(collected) => {
            warn_skipped(&collected.skipped);
            if collected.partial {
                tracing::warn!(
                    apis = collected.apis.len(),
                    timeout = ?ctx.limits.discover_timeout,
                    "Discovery did not finish in time; replying with a partial list."
                );
            } else {
                tracing::info!(apis = collected.apis.len(), "Discovery finished.");
            }
            metrics::add(
                metrics::APIS_DISCOVERED,
                &ctx.integration_id,
                collected.apis.len() as u64,
            );
            let apis = collected.apis.iter().map(Api::summary).collect();
            Reply::succeeded(
                id,
                CommandType::Discover,
                ReplyPayload::Discover(DiscoverReplyPayload {
                    apis,
                    is_partial_discovery: collected.partial,
                }),
            )
        }
        Err(error) => {
            tracing::error!(error = %error.details(), "Discovery failed.");
            error_reply(id, CommandType::Discover, &error)
        }
    }
}

async fn list(id: &str, ctx: &ChannelContext) -> Reply {
    let deadline = TokioInstant::now() + ctx.limits.discover_timeout;
    match collect_until(ctx, DiscoverRequest::preview(), deadline).await {
        Ok(collected) => {
            warn_skipped(&collected.skipped);
            if collected.partial {
                tracing::warn!(
                    apis = collected.apis.len(),
                    "LIST did not finish in time; replying with what was found."
                );
            }
            let apis = collected.apis.iter().map(Api::summary).collect();
            Reply::succeeded(
                id,
                CommandType::List,
                ReplyPayload::List(ListReplyPayload { apis }),
            )
        }
        Err(error) => error_reply(id, CommandType::List, &error),
    }
}

async fn fetch(id: &str, ids: Vec<String>, ctx: &ChannelContext) -> Reply {
    let selection = Selection::from_api_ids(Some(&ids));
    let deadline = TokioInstant::now() + ctx.limits.discover_timeout;
    match collect_until(ctx, DiscoverRequest::full(selection), deadline).await {
        Ok(collected) => {
            if collected.partial {
                tracing::warn!(
                    apis = collected.apis.len(),
                    "FETCH did not finish in time; replying with the APIs fetched so far (APIM 4.4 fetches the rest next time)."
                );
            }
            let apis = fill_fetch_reply(id, collected.apis, &collected.skipped, ctx);
            metrics::add(
                metrics::APIS_INGESTED,
                &ctx.integration_id,
                apis.len() as u64,
            );
            Reply::succeeded(
                id,
                CommandType::Fetch,
                ReplyPayload::Fetch(FetchReplyPayload { apis }),
            )
        }
        Err(error) => error_reply(id, CommandType::Fetch, &error),
    }
}

/// The APIs of a FETCH reply to command `id`, in order, up to what one message may carry on the
/// wire (`integration.connector.ws.maxWebSocketMessageSize`, APIM's 13,107,200 bytes by
/// default; sizes counted after `;` escaping, [`crate::wire`]): the rest is left out and named
/// in an error log (APIM 4.4 creates only the APIs it does not have yet, so a later FETCH picks
/// up what was left out, provided it fits).
fn fill_fetch_reply(
    id: &str,
    apis: Vec<Api>,
    skipped: &[SkippedApi],
    ctx: &ChannelContext,
) -> Vec<Api> {
    let room = Room::fetch_reply(id, ctx.limits.max_message_size);
    let mut used = 0usize;
    let mut kept = Vec::with_capacity(apis.len());
    let mut left_out = LeftOut::fetch(&ctx.integration_id);
    for skip in skipped {
        left_out.provider(skip);
    }
    for api in apis {
        let api = api.for_ingest();
        let bytes = wire_len(&api);
        // A comma before every API but the first.
        let cost = bytes + usize::from(!kept.is_empty());
        if used + cost <= room.for_apis() {
            used += cost;
            kept.push(api);
        } else if bytes > room.for_apis() {
            left_out.too_large(&api.id, &api.name, bytes, room.for_apis(), room.limit());
        } else {
            left_out.reply_full(&api.id, &api.name, bytes, room.for_apis() - used);
        }
    }
    if left_out.total() > 0 {
        tracing::error!(
            kept = kept.len(),
            left_out = left_out.total(),
            left_out_by_reason = %left_out.by_reason(),
            "The FETCH reply leaves out the APIs named above."
        );
    }
    kept
}

async fn start_ingest(
    id: &str,
    job_id: String,
    api_ids: Option<Vec<String>>,
    ctx: &Arc<ChannelContext>,
) -> Outcome {
    let started = Instant::now();
    let selection = Selection::from_api_ids(api_ids.as_deref());
    // Count what will be pushed: the preview of the selection, so `total` is exact.
    let deadline = TokioInstant::now() + ctx.limits.discover_timeout;
    let collected = match collect_until(
        ctx,
        DiscoverRequest {
            depth: federation_core::Depth::Preview,
            selection,
        },
        deadline,
    )
    .await
    {
        Ok(collected) if collected.partial => {
            let error = ProviderError::backend(format!(
                "listing the selected APIs took longer than {:?}; retry with fewer APIs",
                ctx.limits.discover_timeout
            ));
            return error_reply(id, CommandType::StartIngest, &error).into();
        }
        Ok(collected) => {
            warn_skipped(&collected.skipped);
            collected
        }
        Err(error) => {
            tracing::error!(error = %error.details(), "Ingest could not start.");
            return error_reply(id, CommandType::StartIngest, &error).into();
        }
    };
    let ids: BTreeSet<String> = collected.apis.into_iter().map(|a| a.id).collect();
    let total = ids.len() as u64;
    tracing::info!(ingest_job_id = %job_id, total, "Ingest accepted.");
    let reply = Reply::succeeded(
        id,
        CommandType::StartIngest,
        ReplyPayload::StartIngest(StartIngestReplyPayload {
            ingest_job_id: job_id.clone(),
            total,
        }),
    );
    let then: Option<FollowUp> = (total > 0).then(|| {
        let ctx = ctx.clone();
        Box::pin(async move { ingest::push(ctx, job_id, ids, started).await }) as FollowUp
    });
    Outcome { reply, then }
}

async fn subscribe(
    id: &str,
    api_id: &str,
    subscription: &federation_core::Subscription,
    ctx: &ChannelContext,
) -> Reply {
    // The one place a subscription's type is checked: a provider's `subscribe` is only called
    // with a type its capabilities list, and the refusal names the provider's type.
    let outcome = async {
        let provider = &ctx.provider;
        provider
            .capabilities()
            .check(&ctx.provider_type, subscription)?;
        provider.subscribe(api_id, subscription).await
    }
    .await;
    match outcome {
        Ok(mut result) => {
            if result.gravitee_subscription_id.is_empty() {
                result.gravitee_subscription_id = subscription.gravitee_subscription_id.clone();
            }
            tracing::info!(
                subscription_id = %subscription.gravitee_subscription_id,
                api_id,
                "Subscription created."
            );
            metrics::counter(
                metrics::SUBSCRIPTIONS_CREATED,
                &ctx.integration_id,
                &[("outcome", "success".into())],
            );
            Reply::succeeded(
                id,
                CommandType::Subscribe,
                ReplyPayload::Subscribe(SubscribeReplyPayload {
                    subscription: result,
                }),
            )
        }
        Err(error) => {
            tracing::warn!(
                subscription_id = %subscription.gravitee_subscription_id,
                api_id,
                error = %error.details(),
                "Subscription refused."
            );
            metrics::counter(
                metrics::SUBSCRIPTIONS_CREATED,
                &ctx.integration_id,
                &[("outcome", "error".into())],
            );
            error_reply(id, CommandType::Subscribe, &error)
        }
    }
}

async fn unsubscribe(
    id: &str,
    api_id: &str,
    subscription: &federation_core::Subscription,
    ctx: &ChannelContext,
) -> Reply {
    match ctx.provider.revoke(api_id, subscription).await {
        Ok(()) => {
            tracing::info!(
                subscription_id = %subscription.gravitee_subscription_id,
                api_id,
                "Subscription revoked."
            );
            metrics::counter(
                metrics::SUBSCRIPTIONS_REVOKED,
                &ctx.integration_id,
                &[("outcome", "success".into())],
            );
            Reply::succeeded(id, CommandType::Unsubscribe, ReplyPayload::Empty(Empty {}))
        }
        Err(error) => {
            tracing::warn!(
                subscription_id = %subscription.gravitee_subscription_id,
                api_id,
                error = %error.details(),
                "Revocation failed."
            );
            metrics::counter(
                metrics::SUBSCRIPTIONS_REVOKED,
                &ctx.integration_id,
                &[("outcome", "error".into())],
            );
            error_reply(id, CommandType::Unsubscribe, &error)
        }
    }
}
