//! What the test proxy (`proxy.rs`) knows of API Gateway v1 (REST APIs) requests: operation
//! names (`GetRestApis`, `GetExport`, …; v2 paths are named by `proxy_v2.rs`), `position` paging
//! of v1 lists (moto ignores `limit` and `position`), and the form values of STS requests.

use bytes::Bytes;

use super::proxy_v2::v2_operation_name;

/// The API Gateway operation name of `method path`.
pub fn operation_name(method: &str, path: &str) -> String {
    let segments = path_segments(path);
    let name = match (method, segments.as_slice()) {
        ("GET", ["restapis"]) => "GetRestApis",
        ("POST", ["restapis"]) => "CreateRestApi",
        ("GET", ["restapis", _]) => "GetRestApi",
        ("DELETE", ["restapis", _]) => "DeleteRestApi",
        ("GET", ["restapis", _, "stages"]) => "GetStages",
        ("POST", ["restapis", _, "stages"]) => "CreateStage",
        ("GET", ["restapis", _, "stages", _]) => "GetStage",
        ("GET", ["restapis", _, "stages", _, "exports", _]) => "GetExport",
        ("GET", ["restapis", _, "resources"]) => "GetResources",
        ("POST", ["restapis", _, "deployments"]) => "CreateDeployment",
        ("PUT", ["restapis", _, "resources", _, "methods", _]) => "PutMethod",
        ("PUT", ["restapis", _, "resources", _, "methods", _, "integration"]) => "PutIntegration",
        ("GET", ["usageplans"]) => "GetUsagePlans",
        ("POST", ["usageplans"]) => "CreateUsagePlan",
        ("GET", ["usageplans", _]) => "GetUsagePlan",
        ("PATCH", ["usageplans", _]) => "UpdateUsagePlan",
        ("GET", ["usageplans", _, "keys"]) => "GetUsagePlanKeys",
        ("POST", ["usageplans", _, "keys"]) => "CreateUsagePlanKey",
        ("DELETE", ["usageplans", _, "keys", _]) => "DeleteUsagePlanKey",
        ("GET", ["apikeys"]) => "GetApiKeys",
        ("POST", ["apikeys"]) => "CreateApiKey",
        ("GET", ["apikeys", _]) => "GetApiKey",
        ("PATCH", ["apikeys", _]) => "UpdateApiKey",
        ("DELETE", ["apikeys", _]) => "DeleteApiKey",
        _ => {
            return v2_operation_name(method, &segments)
                .map_or_else(|| format!("{method} {path}"), str::to_owned);
        }
    };
    name.to_owned()
}

/// The segments of a request path, its query left out: `/restapis/a1/stages?x=1` gives
/// `["restapis", "a1", "stages"]`.
pub(super) fn path_segments(path: &str) -> Vec<&str> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Cuts `{"item": [...]}` at the request's `position` (our token: `p<offset>`).
pub(super) fn page(body: &Bytes, path_and_query: &str, page_size: usize) -> Option<Bytes> {
    let mut json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let items = json.get("item")?.as_array()?.clone();
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_owned())
    };
    let offset: usize = param("position")
        .and_then(|p| p.strip_prefix('p').and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let limit: usize = param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25)
        .min(page_size)
        .max(1);
    let end = (offset + limit).min(items.len());
    let slice = items.get(offset.min(items.len())..end)?.to_vec();
    let object = json.as_object_mut()?;
    object.insert("item".to_owned(), serde_json::Value::Array(slice));
    if end < items.len() {
        object.insert("position".to_owned(), format!("p{end}").into());
    } else {
        object.remove("position");
    }
    serde_json::to_vec(&json).ok().map(Bytes::from)
}

/// The value of `key` in a form-encoded body (STS requests: `Action=...`).
pub(super) fn form_value(body: &[u8], key: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names() {
        assert_eq!(operation_name("GET", "/restapis?limit=500"), "GetRestApis");
        assert_eq!(
            operation_name("GET", "/restapis/a1/stages/prod/exports/oas30?x=1"),
            "GetExport"
        );
        assert_eq!(
            operation_name("POST", "/usageplans/u1/keys"),
            "CreateUsagePlanKey"
        );
        assert_eq!(operation_name("DELETE", "/apikeys/k1"), "DeleteApiKey");
        assert_eq!(operation_name("GET", "/domainnames"), "GET /domainnames");
    }

    #[test]
    fn path_segments_leave_the_query_and_empty_parts_out() {
        assert_eq!(
            path_segments("/restapis/a1//stages?limit=5&x=/y"),
            ["restapis", "a1", "stages"]
        );
        assert!(path_segments("/?a=b").is_empty());
    }

    #[test]
    fn pages_follow_position_tokens() {
        let body = Bytes::from(r#"{"item":[1,2,3,4,5]}"#);
        let first = page(&body, "/restapis?limit=500", 2).unwrap();
        assert_eq!(&first[..], br#"{"item":[1,2],"position":"p2"}"#);
        let last = page(&body, "/restapis?limit=500&position=p4", 2).unwrap();
        assert_eq!(&last[..], br#"{"item":[5]}"#);
        let by_limit = page(&body, "/restapis?limit=1&position=p1", 2).unwrap();
        assert_eq!(&by_limit[..], br#"{"item":[2],"position":"p2"}"#);
    }
}
