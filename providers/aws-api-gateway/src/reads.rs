//! The AWS read calls that discovery, the drift inventory, subscriptions and the operator tools
//! share: the paged listings of REST APIs and usage plans, a REST API's stages (also through the
//! target's stage cache) and a stage's OpenAPI export. Each goes through [`Target::call`] (the
//! account's call budget and our retries).

use std::sync::Arc;

use crate::error::AwsError;
use crate::limiter::OperationClass;
use crate::mapping::{RestApi, UsagePlan};
use crate::paging::{Cursor, PAGE_LIMIT};
use crate::stage_cache::StageInfo;
use crate::target::Target;

/// Lists every REST API (paged).
pub(crate) async fn list_rest_apis(target: &Target) -> Result<Vec<RestApi>, AwsError> {
    let op = target.operation("GetRestApis", "GET", "/restapis");
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_rest_apis()
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        out.extend(page.items().iter().filter_map(|item| {
            Some(RestApi {
                id: item.id()?.to_owned(),
                name: item.name().unwrap_or_default().to_owned(),
                description: item.description().map(str::to_owned),
                tags: item
                    .tags()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            })
        }));
        if !cursor.advance(page.position()) {
            return Ok(out);
        }
    }
}

/// Lists every usage plan (paged).
pub(crate) async fn list_usage_plans(target: &Target) -> Result<Vec<UsagePlan>, AwsError> {
    let op = target.operation("GetUsagePlans", "GET", "/usageplans");
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let page = target
            .call(&op, OperationClass::General, |c| {
                c.get_usage_plans()
                    .limit(PAGE_LIMIT)
                    .set_position(cursor.position())
                    .send()
            })
            .await?;
        out.extend(page.items().iter().filter_map(|item| {
            Some(UsagePlan {
                id: item.id()?.to_owned(),
                name: item.name().unwrap_or_default().to_owned(),
                description: item.description().map(str::to_owned),
                rate_limit: item.throttle().map(|t| t.rate_limit()),
                burst_limit: item.throttle().map(|t| t.burst_limit()),
                quota: item
                    .quota()
                    .and_then(|q| Some((q.limit(), q.period().map(|p| p.as_str().to_owned())?))),
                api_stages: item
                    .api_stages()
                    .iter()
                    .filter_map(|s| Some((s.api_id()?.to_owned(), s.stage()?.to_owned())))
                    .collect(),
            })
        }));
        if !cursor.advance(page.position()) {
            return Ok(out);
        }
    }
}

/// The stages of a REST API (not paged: at most 10).
pub(crate) async fn get_stages(
    target: &Target,
    rest_api_id: &str,
) -> Result<Vec<StageInfo>, AwsError> {
    let op = target.operation(
        "GetStages",
        "GET",
        &format!("/restapis/{rest_api_id}/stages"),
    );
    let stages = target
        .call(&op, OperationClass::General, |c| {
            c.get_stages().rest_api_id(rest_api_id).send()
        })
        .await?;
    let mut out: Vec<StageInfo> = stages
        .item()
        .iter()
        .filter_map(|s| {
            Some((
                s.stage_name()?.to_owned(),
                s.description().filter(|d| !d.is_empty()).map(str::to_owned),
            ))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The stage list of `rest_api_id`: from the target's [`StageCache`](crate::stage_cache::StageCache)
/// when `reuse` and the list there is fresh, else `GetStages`, then cached. The flag is true when
/// AWS was asked. A REST API that is gone (`NotFoundException`) is forgotten by the cache.
pub(crate) async fn cached_stages(
    target: &Target,
    rest_api_id: &str,
    reuse: bool,
) -> Result<(Arc<[StageInfo]>, bool), AwsError> {
    let cache = &target.stages;
    if reuse && let Some(stages) = cache.fresh(rest_api_id) {
        return Ok((stages, false));
    }
    match get_stages(target, rest_api_id).await {
        Ok(stages) => {
            let stages: Arc<[StageInfo]> = stages.into();
            cache.store(rest_api_id, stages.clone());
            Ok((stages, true))
        }
        Err(err) => {
            if err.is_not_found() {
                cache.forget(rest_api_id);
            }
            Err(err)
        }
    }
}

/// The stage's OpenAPI 3 export, JSON.
pub(crate) async fn get_export(
    target: &Target,
    rest_api_id: &str,
    stage: &str,
) -> Result<String, AwsError> {
    let op = target.operation(
        "GetExport",
        "GET",
        &format!("/restapis/{rest_api_id}/stages/{stage}/exports/oas30"),
    );
    let export = target
        .call(&op, OperationClass::General, |c| {
            c.get_export()
                .rest_api_id(rest_api_id)
                .stage_name(stage)
                .export_type("oas30")
                .accepts("application/json")
                .send()
        })
        .await?;
    let bytes = export
        .body()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| AwsError::Other {
        operation: "GetExport",
        region: target.region.clone(),
        code: None,
        message: "the export is not UTF-8 text".to_owned(),
    })
}
