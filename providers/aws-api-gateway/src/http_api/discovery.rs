//! Discovery of HTTP APIs (API Gateway v2), when `apiTypes` holds `HTTP`: each stage is one
//! federated API (`mapping.rs`).
//!
//! Calls per target:
//!
//! | request | calls |
//! |---|---|
//! | preview | `GetApis` (paged; its items carry the tags, so the tag filter costs nothing) + `GetStages` and `GetRoutes` per HTTP API kept |
//! | full | the above + `GetAuthorizer` per JWT authorizer the routes use (`GetAuthorizers`, the list, is not needed) + `ExportApi` per selected stage (+ `GetIntegrations` per API whose export failed) + once `GetDomainNames` and `GetApiMappings` per custom domain |
//! | operator `discover` (explain) | the preview's calls + `GetAuthorizer`, to show the plans |
//!
//! A START_INGEST selecting no HTTP id makes no v2 call at all.
//!
//! Which stages are discovered (the routes are the API's, so every stage of an API gets the
//! same plans): when a route uses a **JWT authorizer**, every stage, with one `OAUTH2` plan per
//! JWT authorizer; when no route does (no authorizer, or only IAM / Lambda authorizers, which a
//! Gravitee subscription cannot grant), the stages follow `acceptApiWithoutUsagePlan`: listed
//! without plans (catalogue only) when it is true, else left out with the reason. WebSocket APIs
//! are out of scope: left out, with the reason.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use federation_core::{Api, Depth, ProviderError, Selection};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use super::mapping::{
    Authorizer, HTTP_ID_PREFIX, HttpApi, HttpIntegration, HttpRoute, HttpStageApi, authorizer_plan,
    domain_url, http_id, split_http_id,
};
use super::openapi::{RoutesDocument, SOURCE_EXPORT, SOURCE_ROUTES, from_export, from_routes};
use super::reads::{
    domain_mappings, export_api, get_authorizer, get_integrations, get_routes, get_stages,
    list_apis,
};
use crate::discovery::{DiscoveryOptions, DiscoveryOutput, SkippedStage};
use crate::error::AwsError;
use crate::mapping::Location;
use crate::target::Target;

/// (HTTP API id, stage) → its custom domain mappings (domain, key).
type DomainMappings = BTreeMap<(String, String), Vec<(String, String)>>;

/// What every HTTP API of one target's discovery shares.
struct Context<'a> {
    target: &'a Target,
    location: Location<'a>,
    options: &'a DiscoveryOptions,
    out: &'a DiscoveryOutput<'a>,
    /// Read once per discovery, at full depth only; empty when it could not be read.
    domains: OnceCell<DomainMappings>,
}

impl Context<'_> {
    fn skip(&self, api: &HttpApi, stage: Option<&str>, reason: String) {
        self.out.skip(SkippedStage {
            target: self.target.label(),
            rest_api_id: format!("{HTTP_ID_PREFIX}{}", api.id),
            api_name: Some(api.name.clone()),
            stage: stage.map(str::to_owned),
            reason,
        });
    }

    async fn domains(&self) -> &DomainMappings {
        self.domains
            .get_or_init(|| async {
                match domain_mappings(self.target).await {
                    Ok(mappings) => mappings,
                    Err(err) => {
                        self.out.warn(
                            self.target,
                            format!(
                                "custom domains could not be read, HTTP APIs get their invoke \
                                 URL: {err}"
                            ),
                        );
                        BTreeMap::new()
                    }
                }
            })
            .await
    }
}

/// Discovers the HTTP APIs of one target into `out`.
pub(crate) async fn discover_http(
    target: &Target,
    options: &DiscoveryOptions,
    out: &DiscoveryOutput<'_>,
) -> Result<(), ProviderError> {
    let selected_apis: Option<HashSet<&str>> = match &options.selection {
        Selection::All => None,
        Selection::Only(ids) => Some(
            ids.iter()
                .filter_map(|id| split_http_id(id).map(|(api, _)| api))
                .collect(),
        ),
    };
    if selected_apis.as_ref().is_some_and(HashSet::is_empty) {
        return Ok(());
    }
    let apis = list_apis(target).await?;
    let context = Context {
        target,
        location: Location {
            region: &target.region,
            account: target.account.as_deref(),
        },
        options,
        out,
        domains: OnceCell::new(),
    };
    let mut candidates = Vec::new();
    for api in &apis {
        if selected_apis
            .as_ref()
            .is_some_and(|set| !set.contains(api.id.as_str()))
        {
            continue;
        }
        if !api.is_http() {
            context.skip(
                api,
                None,
                format!(
                    "{} ({}) is a {} API: only REST and HTTP APIs are federated",
                    api.name, api.id, api.protocol
                ),
            );
            continue;
        }
        if let Some(reason) = options.tags.rejects(&api.tags) {
            context.skip(
                api,
                None,
                format!("HTTP API {} ({}) is {reason}", api.name, api.id),
            );
            continue;
        }
        candidates.push(api);
    }
    let context = &context;
    // Futures are built up front (see `crate::discovery`: keeps the provider's future `Send`).
    let pending: Vec<_> = candidates
        .into_iter()
        .map(|api| discover_http_api(context, api))
        .collect();
    let mut results = futures_util::stream::iter(pending).buffered(options.concurrency.max(1));
    while let Some(apis) = results.next().await {
        for api in apis? {
            out.emit(api).await?;
        }
    }
    Ok(())
}

/// The authorization types of the routes other than `NONE` and `JWT`.
fn other_authorization(routes: &[HttpRoute]) -> BTreeSet<&str> {
    routes
        .iter()
        .map(|r| r.authorization.as_str())
        .filter(|a| *a != "NONE" && *a != "JWT")
        .collect()
}

/// One HTTP API: stages, routes, the skip decisions, then (full depth) plans, URL and page.
async fn discover_http_api(ctx: &Context<'_>, api: &HttpApi) -> Result<Vec<Api>, ProviderError> {
    let (target, options, out) = (ctx.target, ctx.options, ctx.out);
    if out.is_closed() {
        return Err(ProviderError::Cancelled);
    }
    let (stages, routes) =
        match tokio::try_join!(get_stages(target, &api.id), get_routes(target, &api.id)) {
            Ok(found) => found,
            Err(err) if err.is_not_found() => {
                ctx.skip(
                    api,
                    None,
                    "the HTTP API was deleted during discovery".to_owned(),
                );
                return Ok(Vec::new());
            }
            Err(err) => return Err(err.into()),
        };
    if stages.is_empty() {
        ctx.skip(
            api,
            None,
            format!(
                "HTTP API {} ({}) has no stage: create one to federate it",
                api.name, api.id
            ),
        );
        return Ok(Vec::new());
    }
    let jwt_ids: BTreeSet<&str> = routes
        .iter()
        .filter_map(HttpRoute::jwt_authorizer)
        .collect();
    if jwt_ids.is_empty() && !options.accept_without_plan {
        let others = other_authorization(&routes);
        let why = if others.is_empty() {
            "no route uses an authorizer".to_owned()
        } else {
            format!(
                "its routes use only {} authorization, which a Gravitee subscription cannot \
                 grant (JWT authorizers only)",
                others.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        for stage in &stages {
            ctx.skip(
                api,
                Some(&stage.name),
                format!(
                    "stage {} of HTTP API {}: {why}; add a JWT authorizer to its routes, or set \
                     acceptApiWithoutUsagePlan=true to list it without plans",
                    stage.name, api.name
                ),
            );
        }
        return Ok(Vec::new());
    }
    let selected: Vec<_> = stages
        .iter()
        .filter(|s| options.selection.includes(&http_id(&api.id, &s.name)))
        .collect();
    if selected.is_empty() {
        return Ok(Vec::new());
    }

    let detailed = options.depth == Depth::Full || options.explain;
    let mut authorizers: BTreeMap<String, Authorizer> = BTreeMap::new();
    if detailed {
        for id in &jwt_ids {
            match get_authorizer(target, &api.id, id).await {
                Ok(authorizer) if authorizer.is_jwt() => {
                    authorizers.insert((*id).to_owned(), authorizer);
                }
                Ok(_) => {}
                Err(err) if err.is_not_found() => out.warn(
                    target,
                    format!(
                        "HTTP API {} ({}): routes use authorizer {id}, which does not exist; no \
                         plan for it",
                        api.name, api.id
                    ),
                ),
                Err(err) => return Err(err.into()),
            }
        }
    }
    let plans: Vec<_> = authorizers
        .values()
        .map(|a| authorizer_plan(&api.id, a, &routes))
        .collect();

    if options.depth == Depth::Preview {
        return Ok(selected
            .into_iter()
            .map(|stage| {
                HttpStageApi {
                    location: ctx.location,
                    api,
                    stage,
                    domain_url: None,
                    plans: plans.clone(),
                }
                .to_api()
            })
            .collect());
    }

    let domains = ctx.domains().await;
    let mut integrations: Option<BTreeMap<String, HttpIntegration>> = None;
    let mut apis = Vec::with_capacity(selected.len());
    for stage in selected {
        let stage_api = HttpStageApi {
            location: ctx.location,
            api,
            stage,
            domain_url: domains
                .get(&(api.id.clone(), stage.name.clone()))
                .and_then(|m| m.first())
                .map(|(domain, key)| domain_url(domain, key)),
            plans: plans.clone(),
        };
        let federated = stage_api.to_api();
        let export = export_api(target, &api.id, &stage.name).await;
        let exported = match &export {
            Ok(body) => from_export(body),
            Err(_) => None,
        };
        let federated = match exported {
            Some(document) => stage_api.with_page(federated, document, SOURCE_EXPORT),
            None => {
                explain_export_failure(target, api, &stage.name, &export);
                if integrations.is_none() {
                    integrations = Some(get_integrations(target, &api.id).await.unwrap_or_else(
                        |err| {
                            tracing::debug!(api_id = %api.id, error = %err, "No integrations read: the page has no integration summary.");
                            BTreeMap::new()
                        },
                    ));
                }
                let url = stage_api.url();
                let document = from_routes(&RoutesDocument {
                    api,
                    stage: &stage.name,
                    url: &url,
                    routes: &routes,
                    integrations: integrations.as_ref().unwrap_or(&BTreeMap::new()),
                    authorizers: &authorizers,
                });
                stage_api.with_page(federated, document, SOURCE_ROUTES)
            }
        };
        apis.push(federated);
    }
    Ok(apis)
}

fn explain_export_failure(
    target: &Target,
    api: &HttpApi,
    stage: &str,
    export: &Result<String, AwsError>,
) {
    let why = match export {
        Ok(_) => "the export is not an OpenAPI 3 JSON document".to_owned(),
        Err(err) => err.to_string(),
    };
    tracing::info!(
        target_label = %target.label(),
        http_api_id = %api.id,
        stage,
        "HTTP API {} stage {stage}: no export ({why}); its page is built from the routes.",
        api.name
    );
}
