//! Discovery: walk each target's REST APIs, stages and usage plans, and stream federated APIs.
//!
//! Calls per target (all within the seed's minimum IAM policy):
//!
//! | request | calls |
//! |---|---|
//! | preview, usage-plan mode | `GetRestApis` + `GetUsagePlans` (paged, 500 a page): about 3 calls for 1,000 APIs |
//! | full, usage-plan mode | the above + `GetExport` per selected stage: the usage plans name the stages, so no `GetStages` |
//! | preview, `acceptApiWithoutUsagePlan` | the above + `GetStages` per REST API whose stage list is not in the target's [`StageCache`](crate::stage_cache::StageCache) (or older than `stageCacheMaxAgeSeconds`) |
//! | full, `acceptApiWithoutUsagePlan` | the preview's calls + `GetExport` per selected stage |
//! | operator `discover` (explain) | `GetStages` per REST API, always fetched, + `GetExport` per selected stage when full |
//!
//! With [`Selection::Only`] only the selected REST APIs' stages and the selected stages' exports
//! are fetched. APIs are emitted as soon as they are ready, in `GetRestApis` order; the walk stops
//! when the sink is closed.
//!
//! **A failed export leaves the API out.** When a stage's `GetExport` fails for good (still
//! throttled after the retries, a 5xx, denied), the API is not emitted without its page: APIM
//! would delete the page it ingested before (an API sent with `pages: []` loses its ingested
//! pages). It is reported with [`ApiSink::skip`] instead ([`SkipReason::ReadFailed`], the AWS
//! error as detail), so the connector names and counts it and APIM keeps the API as it was; the
//! operator `discover` lists it among the skipped stages. A stage named by a usage plan (or a
//! cached stage list) that no longer exists is not checked before its export: its `GetExport`
//! answers NotFound, and it is left out the same way as [`SkipReason::Gone`]. The stage cache
//! keeps what a walk learned even when the walk is cut (DISCOVER's deadline drops it), so the
//! next discovery continues where it stopped.
//!
//! The usage plan ids a discovery sees are remembered on their target
//! ([`PlanCache::remember`](crate::plans::PlanCache::remember)): a SUBSCRIBE that names no
//! region goes to the target holding its plan. Every list call pages with
//! [`Cursor`](crate::paging::Cursor).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use federation_core::{Api, ApiSink, Depth, ProviderError, Selection, SkipReason, SkippedApi};
use futures_util::StreamExt;
use serde::Serialize;

use crate::error::AwsError;
use crate::mapping::{Location, RestApi, StageApi, UsagePlan, api_id, split_api_id};
use crate::reads::{cached_stages, get_export, list_rest_apis, list_usage_plans};
use crate::stage_cache::StageInfo;
use crate::target::Target;

/// A stage discovery left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedStage {
    /// The account/region label.
    pub target: String,
    /// The API id: a REST API id, or `http/{apiId}` for an HTTP API (`http_api/`).
    pub rest_api_id: String,
    /// The REST API's name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_name: Option<String>,
    /// The stage, when the reason is about one stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Why, and what to change.
    pub reason: String,
}

/// What a discovery collects besides streaming (for the operator `discover` tool).
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) apis: Vec<Api>,
    pub(crate) skipped: Vec<SkippedStage>,
    /// Problems that did not leave anything out (none are reported today).
    pub(crate) warnings: Vec<String>,
}

/// Where a discovery's results go.
pub(crate) struct DiscoveryOutput<'a> {
    pub(crate) sink: Option<&'a ApiSink>,
    pub(crate) collected: Option<&'a Mutex<Collected>>,
}

impl DiscoveryOutput<'_> {
    pub(crate) async fn emit(&self, api: Api) -> Result<(), ProviderError> {
        if let Some(collected) = self.collected {
            lock(collected).apis.push(api.clone());
        }
        if let Some(sink) = self.sink {
            sink.emit(api).await?;
        }
        Ok(())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.sink.is_some_and(ApiSink::is_closed)
    }

    pub(crate) fn skip(&self, skipped: SkippedStage) {
        tracing::debug!(
            target_label = %skipped.target,
            rest_api_id = %skipped.rest_api_id,
            stage = skipped.stage.as_deref().unwrap_or(""),
            reason = %skipped.reason,
            "Stage skipped."
        );
        if let Some(collected) = self.collected {
            lock(collected).skipped.push(skipped);
        }
    }

    pub(crate) fn warn(&self, target: &Target, message: String) {
        tracing::warn!(target_label = %target.label(), "{message}");
        if let Some(collected) = self.collected {
            lock(collected)
                .warnings
                .push(format!("{}: {message}", target.label()));
        }
    }

    /// A selected stage whose export failed: left out, never emitted without its page. The
    /// connector hears of it through the sink (and names it in an error log); the operator
    /// tool lists it among the skipped stages.
    fn export_failed(&self, target: &Target, rest: &RestApi, stage: &str, err: &AwsError) {
        let (reason, why) = if err.is_not_found() {
            (
                SkipReason::Gone,
                format!(
                    "stage {stage} of API {} was deleted during discovery ({err})",
                    rest.name
                ),
            )
        } else {
            (
                SkipReason::ReadFailed,
                format!(
                    "the OpenAPI export of stage {stage} of API {} failed: {err}; left out so \
                     that APIM keeps the documentation it has (ingest again later)",
                    rest.name
                ),
            )
        };
        if let Some(sink) = self.sink {
            sink.skip(
                SkippedApi::new(api_id(&rest.id, stage), reason, why.clone())
                    .with_name(rest.name.clone()),
            );
        }
        self.skip(SkippedStage {
            target: target.label(),
            rest_api_id: rest.id.clone(),
            api_name: Some(rest.name.clone()),
            stage: Some(stage.to_owned()),
            reason: why,
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What to discover, and how.
#[derive(Debug, Clone)]
pub(crate) struct DiscoveryOptions {
    pub(crate) depth: Depth,
    pub(crate) selection: Selection,
    pub(crate) accept_without_plan: bool,
    /// Also fetch every API's stages to explain skipped ones (operator tool).
    pub(crate) explain: bool,
    pub(crate) concurrency: usize,
    /// `includeTags` / `excludeTags`, for REST and HTTP APIs (`tag_filter.rs`).
    pub(crate) tags: crate::tag_filter::TagFilter,
}

/// How far a walk that needs stage lists got; logs it when the walk ends early (the sink
/// closed at DISCOVER's deadline, the task was dropped, or an AWS error).
struct Progress<'a> {
    target: &'a Target,
    total: usize,
    listed: AtomicUsize,
    fetched: AtomicUsize,
    finished: AtomicBool,
}

impl<'a> Progress<'a> {
    fn new(target: &'a Target, total: usize) -> Self {
        Self {
            target,
            total,
            listed: AtomicUsize::new(0),
            fetched: AtomicUsize::new(0),
            finished: AtomicBool::new(false),
        }
    }

    fn listed(&self, fetched: bool) {
        self.listed.fetch_add(1, Ordering::Relaxed);
        if fetched {
            self.fetched.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        let listed = self.listed.load(Ordering::Relaxed);
        let fetched = self.fetched.load(Ordering::Relaxed);
        let cached = self.target.stages.len();
        if self.finished.load(Ordering::Relaxed) {
            tracing::debug!(
                target_label = %self.target.label(),
                rest_apis = self.total,
                fetched,
                from_cache = listed - fetched,
                "Stage lists read."
            );
            return;
        }
        let max_age = self.target.stages.max_age().as_secs();
        if max_age == 0 {
            tracing::warn!(
                target_label = %self.target.label(),
                listed,
                rest_apis = self.total,
                "Discovery stopped after listing the stages of {listed} of {} REST APIs; \
                 stageCacheMaxAgeSeconds is 0, so the next discovery starts over.",
                self.total
            );
        } else {
            tracing::warn!(
                target_label = %self.target.label(),
                listed,
                fetched,
                rest_apis = self.total,
                cached,
                "Discovery stopped after listing the stages of {listed} of {} REST APIs \
                 ({fetched} read from AWS this time); {cached} stage lists are kept for up to \
                 {max_age} s, so the next discovery continues from there.",
                self.total
            );
        }
    }
}

/// Discovers one target. The usage plan ids found are remembered on the target, for the
/// routing of subscriptions that name no region.
pub(crate) async fn discover_target(
    target: &Target,
    options: &DiscoveryOptions,
    out: &DiscoveryOutput<'_>,
) -> Result<(), ProviderError> {
    let (all_rest_apis, plans) =
        tokio::try_join!(list_rest_apis(target), list_usage_plans(target))?;
    target.plans.remember(plans.iter().map(|p| p.id.as_str()));
    // The tag filter (no extra call: `GetRestApis` items carry their tags). APIs it leaves out
    // still exist: usage plans naming them are not "dangling".
    let mut rest_apis = Vec::with_capacity(all_rest_apis.len());
    let mut filtered_out: HashSet<String> = HashSet::new();
    for rest in all_rest_apis {
        match options.tags.rejects(&rest.tags) {
            None => rest_apis.push(rest),
            Some(reason) => {
                out.skip(SkippedStage {
                    target: target.label(),
                    rest_api_id: rest.id.clone(),
                    api_name: Some(rest.name.clone()),
                    stage: None,
                    reason: format!("REST API {} ({}) is {reason}", rest.name, rest.id),
                });
                filtered_out.insert(rest.id);
            }
        }
    }
    let location = Location {
        region: &target.region,
        account: target.account.as_deref(),
    };

    // (REST API id, stage) → the plans referencing it, in plan order.
    let mut by_stage: HashMap<(&str, &str), Vec<&UsagePlan>> = HashMap::new();
    let mut stages_of: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for plan in &plans {
        for (api, stage) in &plan.api_stages {
            let entry = by_stage.entry((api.as_str(), stage.as_str())).or_default();
            if !entry.iter().any(|p| p.id == plan.id) {
                entry.push(plan);
            }
            stages_of.entry(api).or_default().insert(stage);
        }
    }
    let known: HashSet<&str> = rest_apis
        .iter()
        .map(|r| r.id.as_str())
        .chain(filtered_out.iter().map(String::as_str))
        .collect();
    if options.explain {
        let mut dangling: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for ((api, stage), plans) in &by_stage {
            if !known.contains(api) {
                dangling
                    .entry((api, stage))
                    .or_default()
                    .extend(plans.iter().map(|p| p.name.as_str()));
            }
        }
        for ((api, stage), plan_names) in dangling {
            out.skip(SkippedStage {
                target: target.label(),
                rest_api_id: api.to_owned(),
                api_name: None,
                stage: Some(stage.to_owned()),
                reason: format!(
                    "usage plan(s) {} reference REST API {api}, which does not exist in {}",
                    plan_names.join(", "),
                    target.label()
                ),
            });
        }
    }

    let selected_rest_ids: Option<HashSet<&str>> = match &options.selection {
        Selection::All => None,
        Selection::Only(ids) => Some(
            ids.iter()
                .filter_map(|id| split_api_id(id).map(|(api, _)| api))
                .collect(),
        ),
    };
    let rest_selected = |id: &str| {
        selected_rest_ids
            .as_ref()
            .is_none_or(|set| set.contains(id))
    };

    // Stage lists are needed only to find stages no usage plan names, or to explain.
    let list_stages = options.accept_without_plan || options.explain;
    if !list_stages && options.depth == Depth::Preview {
        // Preview in usage-plan mode: the usage plans name the stages; no per-API call.
        for rest in &rest_apis {
            for stage in stages_of.get(rest.id.as_str()).into_iter().flatten() {
                let id = api_id(&rest.id, stage);
                if !options.selection.includes(&id) {
                    continue;
                }
                let stage_api = StageApi {
                    location,
                    rest_api: rest,
                    stage,
                    stage_description: None,
                    plans: by_stage
                        .get(&(rest.id.as_str(), *stage))
                        .cloned()
                        .unwrap_or_default(),
                };
                out.emit(stage_api.to_api()).await?;
            }
        }
        return Ok(());
    }
    if list_stages {
        target.stages.retain(&known);
    }

    let candidates: Vec<&RestApi> = rest_apis
        .iter()
        .filter(|r| rest_selected(&r.id))
        .filter(|r| list_stages || stages_of.contains_key(r.id.as_str()))
        .collect();
    let progress = list_stages.then(|| Progress::new(target, candidates.len()));
    let context = RestApiContext {
        target,
        location,
        options,
        by_stage: &by_stage,
        stages_of: &stages_of,
        out,
        progress: progress.as_ref(),
    };
    let context = &context;
    // Futures are built up front (they do nothing until polled): a closure inside the stream
    // would defeat the `Send` proof of the provider's boxed future.
    let pending: Vec<_> = candidates
        .into_iter()
        .map(|rest| discover_rest_api(context, rest))
        .collect();
    let mut results = futures_util::stream::iter(pending).buffered(options.concurrency.max(1));
    while let Some(apis) = results.next().await {
        for api in apis? {
            out.emit(api).await?;
        }
    }
    if let Some(progress) = &progress {
        progress.finished.store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// What every REST API of a discovery shares.
struct RestApiContext<'a> {
    target: &'a Target,
    location: Location<'a>,
    options: &'a DiscoveryOptions,
    by_stage: &'a HashMap<(&'a str, &'a str), Vec<&'a UsagePlan>>,
    stages_of: &'a HashMap<&'a str, BTreeSet<&'a str>>,
    out: &'a DiscoveryOutput<'a>,
    /// Set when stage lists are read (`GetStages` or the cache); `None` when the usage plans
    /// name the stages.
    progress: Option<&'a Progress<'a>>,
}

/// The stage list of `rest_api_id`: from the cache when fresh (never when explaining), else
/// `GetStages`, then cached. The flag is true when AWS was asked.
async fn stage_list(
    ctx: &RestApiContext<'_>,
    rest_api_id: &str,
) -> Result<(Arc<[StageInfo]>, bool), AwsError> {
    cached_stages(ctx.target, rest_api_id, !ctx.options.explain).await
}

/// One REST API: its stages (listed, or named by the usage plans), the skip decisions, and (at
/// full depth) the exports.
async fn discover_rest_api(
    ctx: &RestApiContext<'_>,
    rest: &RestApi,
) -> Result<Vec<Api>, ProviderError> {
    let (target, options, out) = (ctx.target, ctx.options, ctx.out);
    if out.is_closed() {
        return Err(ProviderError::Cancelled);
    }
    let skip = |stage: Option<&str>, reason: String| {
        out.skip(SkippedStage {
            target: target.label(),
            rest_api_id: rest.id.clone(),
            api_name: Some(rest.name.clone()),
            stage: stage.map(str::to_owned),
            reason,
        });
    };
    let planned = ctx.stages_of.get(rest.id.as_str());
    let stages: Arc<[StageInfo]> = match ctx.progress {
        None => planned
            .into_iter()
            .flatten()
            .map(|stage| ((*stage).to_owned(), None))
            .collect(),
        Some(progress) => {
            let stages = match stage_list(ctx, &rest.id).await {
                Ok((stages, fetched)) => {
                    progress.listed(fetched);
                    stages
                }
                Err(err) if err.is_not_found() => {
                    progress.listed(true);
                    skip(None, "the REST API was deleted during discovery".to_owned());
                    return Ok(Vec::new());
                }
                Err(err) => return Err(err.into()),
            };
            if stages.is_empty() {
                skip(
                    None,
                    format!(
                        "API {} ({}) has no deployed stage: deploy it to a stage to federate it",
                        rest.name, rest.id
                    ),
                );
                return Ok(Vec::new());
            }
            let existing: HashSet<&str> = stages.iter().map(|(name, _)| name.as_str()).collect();
            for referenced in planned.into_iter().flatten() {
                if !existing.contains(referenced) {
                    let names: Vec<&str> = ctx
                        .by_stage
                        .get(&(rest.id.as_str(), *referenced))
                        .into_iter()
                        .flatten()
                        .map(|p| p.name.as_str())
                        .collect();
                    skip(
                        Some(referenced),
                        format!(
                            "usage plan(s) {} reference stage {referenced} of API {}, which does \
                             not exist",
                            names.join(", "),
                            rest.name
                        ),
                    );
                }
            }
            stages
        }
    };

    let mut selected = Vec::new();
    for (stage, description) in stages.iter() {
        let plans = ctx
            .by_stage
            .get(&(rest.id.as_str(), stage.as_str()))
            .cloned()
            .unwrap_or_default();
        if plans.is_empty() && !options.accept_without_plan {
            skip(
                Some(stage),
                format!(
                    "stage {stage} of API {} has no usage plan: attach it to a usage plan, or set \
                     acceptApiWithoutUsagePlan=true",
                    rest.name
                ),
            );
            continue;
        }
        if !options.selection.includes(&api_id(&rest.id, stage)) {
            continue;
        }
        selected.push(StageApi {
            location: ctx.location,
            rest_api: rest,
            stage,
            stage_description: description.as_deref(),
            plans,
        });
    }

    if options.depth == Depth::Preview {
        return Ok(selected.iter().map(StageApi::to_api).collect());
    }
    let exports = futures_util::future::join_all(
        selected
            .iter()
            .map(|s| get_export(target, &rest.id, s.stage)),
    )
    .await;
    let mut apis = Vec::with_capacity(selected.len());
    for (stage_api, export) in selected.iter().zip(exports) {
        match export {
            Ok(body) => {
                let mut api = stage_api.to_api();
                api.pages = Some(vec![stage_api.page(body)]);
                apis.push(api);
            }
            // Never `pages: []`: APIM would delete the page it has.
            Err(err) => out.export_failed(target, rest, stage_api.stage, &err),
        }
    }
    Ok(apis)
}
