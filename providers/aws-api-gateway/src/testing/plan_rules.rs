//! AWS's rules on usage plan keys, which moto does not enforce, answered by the test proxy as
//! AWS does (`docs/reference/aws-api-gateway.md`, "Keys shared by an application" and "What
//! moto emulates"):
//!
//! - `CreateUsagePlanKey` of a key already in the plan: `ConflictException` (409; moto: 201);
//! - of a key in another usage plan that covers one of the plan's API stages (AWS: one usage
//!   plan per API stage for a key): `ConflictException` (409; moto: 201);
//! - of a key already in [`UsagePlanRules::plans_per_key`] plans (AWS's default quota: 10):
//!   `LimitExceededException` (HTTP 429 without `Retry-After`), or `BadRequestException` (400)
//!   with [`UsagePlanRules::limit_as_bad_request`] (moto: 201);
//! - of an unknown usage plan: `NotFoundException` (404; moto: 201);
//! - `DeleteUsagePlanKey` of a key not in the plan, or of an unknown plan: `NotFoundException`
//!   (404; moto: a 500 from a `KeyError`).
//!
//! AWS documents these error types and statuses for the two operations (API reference,
//! `CreateUsagePlanKey` and `DeleteUsagePlanKey`, "Errors"), not which rule gets which type nor
//! the messages: the messages here are ours. The agent never reads them: after a refusal it
//! reads the key's usage plans itself. The proxy reads moto's state first (`GetUsagePlans` by
//! `keyId`, `GetUsagePlan`, `GetUsagePlanKeys`), with the request's own signature, and decides
//! under one lock, so concurrent requests see each other as AWS's would.

use std::collections::HashSet;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

use super::http;

/// The rules and how the limit is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsagePlanRules {
    /// Usage plans per API key (AWS's default quota: 10).
    pub plans_per_key: usize,
    /// Answer the limit with `BadRequestException` (400) instead of `LimitExceededException`.
    pub limit_as_bad_request: bool,
}

impl Default for UsagePlanRules {
    fn default() -> Self {
        Self {
            plans_per_key: 10,
            limit_as_bad_request: false,
        }
    }
}

/// AWS's answer to `operation` (`CreateUsagePlanKey`, `DeleteUsagePlanKey`) when a rule refuses
/// it; `None` to forward it to moto.
pub(super) async fn refusal(
    rules: UsagePlanRules,
    upstream: SocketAddr,
    parts: &hyper::http::request::Parts,
    operation: &str,
    path: &str,
    body: &Bytes,
) -> Option<Response<Full<Bytes>>> {
    let segments = super::proxy_v1::path_segments(path);
    let read = |path: String| read_json(upstream, parts, path);
    match (operation, segments.as_slice()) {
        ("CreateUsagePlanKey", ["usageplans", plan, "keys"]) => {
            let json: serde_json::Value = serde_json::from_slice(body).ok()?;
            let key = json.get("keyId")?.as_str()?.to_owned();
            let Some(this) = read(format!("/usageplans/{plan}")).await else {
                return Some(error(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    &format!("Invalid Usage Plan ID specified: {plan}"),
                ));
            };
            let plans = read(format!("/usageplans?keyId={key}&limit=500")).await?;
            let plans = plans.get("item")?.as_array()?.clone();
            if plans.iter().any(|p| p["id"] == *plan) {
                return Some(error(
                    StatusCode::CONFLICT,
                    "ConflictException",
                    &format!("API key {key} is already in usage plan {plan}"),
                ));
            }
            let wanted = stages(&this);
            for other in &plans {
                if let Some(shared) = stages(other).intersection(&wanted).next() {
                    return Some(error(
                        StatusCode::CONFLICT,
                        "ConflictException",
                        &format!(
                            "API key {key} is in usage plan {}, which has API stage {shared}; a \
                             key can be in only one usage plan per API stage",
                            other["id"].as_str().unwrap_or("?")
                        ),
                    ));
                }
            }
            if plans.len() >= rules.plans_per_key {
                let message = format!(
                    "API key {key} is already in {} usage plans, the limit per API key",
                    plans.len()
                );
                return Some(if rules.limit_as_bad_request {
                    error(StatusCode::BAD_REQUEST, "BadRequestException", &message)
                } else {
                    error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "LimitExceededException",
                        &message,
                    )
                });
            }
            None
        }
        ("DeleteUsagePlanKey", ["usageplans", plan, "keys", key]) => {
            let in_plan = read(format!("/usageplans/{plan}/keys?limit=500"))
                .await
                .and_then(|keys| {
                    Some(
                        keys.get("item")?
                            .as_array()?
                            .iter()
                            .any(|k| k["id"] == **key),
                    )
                })
                .unwrap_or(false);
            (!in_plan).then(|| {
                error(
                    StatusCode::NOT_FOUND,
                    "NotFoundException",
                    &format!("Invalid Usage Plan Key identifier specified: {plan}/{key}"),
                )
            })
        }
        _ => None,
    }
}

/// A plan's `apiStages` as `api:stage`.
fn stages(plan: &serde_json::Value) -> HashSet<String> {
    plan.get("apiStages")
        .and_then(|s| s.as_array())
        .map(|stages| {
            stages
                .iter()
                .filter_map(|s| Some(format!("{}:{}", s["apiId"].as_str()?, s["stage"].as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// moto's JSON answer to `GET path`, signed as the request being checked; `None` unless 2xx.
async fn read_json(
    upstream: SocketAddr,
    parts: &hyper::http::request::Parts,
    path: String,
) -> Option<serde_json::Value> {
    let mut request = Request::builder().method("GET").uri(path);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "content-type" | "transfer-encoding"
        ) {
            request = request.header(name, value);
        }
    }
    let response = http::send(upstream, request.body(Full::new(Bytes::new())).ok()?)
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    serde_json::from_slice(response.body()).ok()
}

/// An API Gateway error answer: the status, `x-amzn-ErrorType` and `{"message": …}`.
fn error(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "message": message }).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", kind)
        .header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000409")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_read_from_the_plan() {
        let plan = serde_json::json!({"id": "p", "apiStages": [
            {"apiId": "a1", "stage": "prod"}, {"apiId": "b1", "stage": "dev"}]});
        let mut got: Vec<String> = stages(&plan).into_iter().collect();
        got.sort();
        assert_eq!(got, ["a1:prod", "b1:dev"]);
        assert!(stages(&serde_json::json!({})).is_empty());
    }
}
