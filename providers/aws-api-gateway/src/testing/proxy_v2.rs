//! What the test proxy (`proxy.rs`) knows of API Gateway v2 (HTTP APIs), kept apart from the v1
//! parts: operation names (`v2:GetApis`, `v2:ExportApi`, … — prefixed, since v1 and v2 share
//! names such as `GetStages`), `NextToken` paging of v2 lists (moto ignores `MaxResults`), and
//! canned answers ([`CannedAnswer`]) for the calls moto lacks, `ExportApi` first.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// An answer the proxy gives instead of forwarding: for `operation` (`v2:ExportApi`) on a path
/// containing `path_contains` (an API id, say), `status` with `body` (JSON).
#[derive(Debug, Clone)]
pub struct CannedAnswer {
    /// The operation name, as [`super::operation_name`] gives it.
    pub operation: String,
    /// A part of the request path that must be there (empty: any).
    pub path_contains: String,
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// `x-amzn-ErrorType` for an error answer.
    pub error_type: Option<String>,
}

impl CannedAnswer {
    /// A 200 answer with `body` for `operation` on paths containing `path_contains`.
    pub fn ok(operation: &str, path_contains: &str, body: &str) -> Self {
        Self {
            operation: operation.to_owned(),
            path_contains: path_contains.to_owned(),
            status: 200,
            body: body.to_owned(),
            error_type: None,
        }
    }

    /// Whether it answers `operation` on `path`.
    pub(super) fn answers(&self, operation: &str, path: &str) -> bool {
        self.operation == operation && path.contains(&self.path_contains)
    }

    /// The HTTP answer.
    pub(super) fn response(&self) -> Response<Full<Bytes>> {
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK))
            .header("content-type", "application/json")
            .header("x-amzn-RequestId", "00000000-0000-0000-0000-00000000ca4d")
            .header("content-length", self.body.len());
        if let Some(error_type) = &self.error_type {
            builder = builder.header("x-amzn-ErrorType", error_type);
        }
        builder
            .body(Full::new(Bytes::from(self.body.clone())))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }
}

/// The v2 operation of `method` on path `segments` (after `/v2`), if it is one.
pub(super) fn v2_operation_name(method: &str, segments: &[&str]) -> Option<&'static str> {
    let rest = match segments {
        ["v2", rest @ ..] => rest,
        _ => return None,
    };
    Some(match (method, rest) {
        ("GET", ["apis"]) => "v2:GetApis",
        ("POST", ["apis"]) => "v2:CreateApi",
        ("GET", ["apis", _]) => "v2:GetApi",
        ("DELETE", ["apis", _]) => "v2:DeleteApi",
        ("GET", ["apis", _, "stages"]) => "v2:GetStages",
        ("POST", ["apis", _, "stages"]) => "v2:CreateStage",
        ("GET", ["apis", _, "stages", _]) => "v2:GetStage",
        ("DELETE", ["apis", _, "stages", _]) => "v2:DeleteStage",
        ("GET", ["apis", _, "routes"]) => "v2:GetRoutes",
        ("POST", ["apis", _, "routes"]) => "v2:CreateRoute",
        ("PATCH", ["apis", _, "routes", _]) => "v2:UpdateRoute",
        ("GET", ["apis", _, "integrations"]) => "v2:GetIntegrations",
        ("POST", ["apis", _, "integrations"]) => "v2:CreateIntegration",
        ("GET", ["apis", _, "authorizers"]) => "v2:GetAuthorizers",
        ("POST", ["apis", _, "authorizers"]) => "v2:CreateAuthorizer",
        ("GET", ["apis", _, "authorizers", _]) => "v2:GetAuthorizer",
        ("PATCH", ["apis", _, "authorizers", _]) => "v2:UpdateAuthorizer",
        ("DELETE", ["apis", _, "authorizers", _]) => "v2:DeleteAuthorizer",
        ("GET", ["apis", _, "exports", _]) => "v2:ExportApi",
        ("GET", ["domainnames"]) => "v2:GetDomainNames",
        ("GET", ["domainnames", _, "apimappings"]) => "v2:GetApiMappings",
        ("GET", ["tags", ..]) => "v2:GetTags",
        ("POST", ["tags", ..]) => "v2:TagResource",
        ("DELETE", ["tags", ..]) => "v2:UntagResource",
        _ => return None,
    })
}

/// Whether `operation` is a v2 list the proxy pages.
pub(super) fn is_paged_v2(operation: &str) -> bool {
    matches!(
        operation,
        "v2:GetApis"
            | "v2:GetStages"
            | "v2:GetRoutes"
            | "v2:GetIntegrations"
            | "v2:GetDomainNames"
            | "v2:GetApiMappings"
    )
}

/// Cuts `{"items": [...]}` at the request's `nextToken` (our token: `t<offset>`) into pages of
/// `page_size`, with `nextToken` on every page but the last.
pub(super) fn page_v2(body: &Bytes, path_and_query: &str, page_size: usize) -> Option<Bytes> {
    let mut json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let items = json.get("items")?.as_array()?.clone();
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    let offset: usize = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "nextToken")
        .and_then(|(_, v)| v.strip_prefix('t')?.parse().ok())
        .unwrap_or(0);
    let end = (offset + page_size.max(1)).min(items.len());
    let slice = items.get(offset.min(items.len())..end)?.to_vec();
    let object = json.as_object_mut()?;
    object.insert("items".to_owned(), serde_json::Value::Array(slice));
    if end < items.len() {
        object.insert("nextToken".to_owned(), format!("t{end}").into());
    } else {
        object.remove("nextToken");
    }
    serde_json::to_vec(&json).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_operations_are_named_apart_from_v1() {
        let name = |method: &str, path: &str| {
            v2_operation_name(method, &super::super::proxy_v1::path_segments(path))
        };
        assert_eq!(name("GET", "/v2/apis"), Some("v2:GetApis"));
        assert_eq!(name("GET", "/v2/apis/h1/stages"), Some("v2:GetStages"));
        assert_eq!(
            name("GET", "/v2/apis/h1/exports/OAS30"),
            Some("v2:ExportApi")
        );
        assert_eq!(
            name("PATCH", "/v2/apis/h1/authorizers/a1"),
            Some("v2:UpdateAuthorizer")
        );
        assert_eq!(
            name("POST", "/v2/tags/arn%3Aaws%3Aapigateway"),
            Some("v2:TagResource")
        );
        assert_eq!(name("GET", "/restapis"), None);
    }

    #[test]
    fn v2_pages_follow_next_tokens() {
        let body = Bytes::from(r#"{"items":[1,2,3]}"#);
        let first = page_v2(&body, "/v2/apis", 2).unwrap();
        assert_eq!(&first[..], br#"{"items":[1,2],"nextToken":"t2"}"#);
        let last = page_v2(&body, "/v2/apis?nextToken=t2", 2).unwrap();
        assert_eq!(&last[..], br#"{"items":[3]}"#);
    }
}
