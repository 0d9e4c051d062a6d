//! The HTTP API's documentation page: AWS's own OpenAPI 3 export when it can be had, else an
//! OpenAPI 3 document the agent builds from the routes.
//!
//! - [`from_export`]: the `ExportApi` body (OAS30, JSON, requested without API Gateway's
//!   extensions). Should a body still carry a JWT authorizer's `audience` (the client ids of the
//!   subscribed applications) it is removed: a portal page is read by every consumer.
//! - [`from_routes`]: when the export is not available (moto has no `ExportApi`; an account
//!   without `apigateway:GET` on `/apis/*/exports/*`), one operation per route (`GET /pets` →
//!   `paths./pets.get`; `ANY` → `x-amazon-apigateway-any-method`, as AWS's export writes it;
//!   `$default` → `/$default`), its path parameters, the JWT authorizer as an `oauth2` security
//!   scheme with the scopes the route requires, and an integration summary (type, method, or
//!   AWS service subtype; never the backend URI).
//!
//! The API's metadata says which one was used (`aws-api-gateway-openapi-source`: `export` or
//! `routes`; see `mapping.rs`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::mapping::{Authorizer, HttpApi, HttpIntegration, HttpRoute};

/// `aws-api-gateway-openapi-source` for AWS's export.
pub(crate) const SOURCE_EXPORT: &str = "export";
/// `aws-api-gateway-openapi-source` for the document built from the routes.
pub(crate) const SOURCE_ROUTES: &str = "routes";

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH"];

/// The export as the page shows it: JSON checked, audiences removed; `None` when the body is
/// not an OpenAPI 3 JSON document.
pub(crate) fn from_export(body: &str) -> Option<String> {
    let mut document: Value = serde_json::from_str(body).ok()?;
    let version = document.get("openapi")?.as_str()?;
    if !version.starts_with('3') {
        return None;
    }
    let mut changed = false;
    if let Some(schemes) = document
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
    {
        for scheme in schemes.values_mut() {
            if let Some(jwt) = scheme
                .pointer_mut("/x-amazon-apigateway-authorizer/jwtConfiguration")
                .and_then(Value::as_object_mut)
            {
                changed |= jwt.remove("audience").is_some();
            }
        }
    }
    if changed {
        serde_json::to_string_pretty(&document).ok()
    } else {
        Some(body.to_owned())
    }
}

/// What [`from_routes`] documents.
#[derive(Debug)]
pub(crate) struct RoutesDocument<'a> {
    /// The API.
    pub(crate) api: &'a HttpApi,
    /// The stage.
    pub(crate) stage: &'a str,
    /// The URL consumers use.
    pub(crate) url: &'a str,
    /// The routes.
    pub(crate) routes: &'a [HttpRoute],
    /// The API's integrations by id (empty when they could not be read).
    pub(crate) integrations: &'a BTreeMap<String, HttpIntegration>,
    /// The JWT authorizers the routes use, by id.
    pub(crate) authorizers: &'a BTreeMap<String, Authorizer>,
}

/// An OpenAPI 3.0.1 document (pretty JSON) for the routes.
pub(crate) fn from_routes(doc: &RoutesDocument<'_>) -> String {
    let mut paths: Map<String, Value> = Map::new();
    let mut schemes: Map<String, Value> = Map::new();
    for route in doc.routes {
        let (methods, path) = split_route_key(&route.key);
        let mut operation = Map::new();
        if let Some(name) = route.operation_name.as_deref().filter(|n| !n.is_empty()) {
            operation.insert("operationId".into(), json!(name));
        }
        operation.insert("summary".into(), json!(route.key));
        let mut description = vec![format!("Authorization: {}.", authorization_text(route))];
        if let Some(integration) = route
            .target
            .as_deref()
            .and_then(|t| t.strip_prefix("integrations/"))
            .and_then(|id| doc.integrations.get(id))
        {
            description.push(format!("Integration: {}.", integration_text(integration)));
        }
        operation.insert("description".into(), json!(description.join(" ")));
        let parameters = path_parameters(&path);
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(authorizer_id) = route.jwt_authorizer() {
            let scheme = scheme_name(doc.authorizers.get(authorizer_id), authorizer_id);
            schemes
                .entry(scheme.clone())
                .or_insert_with(|| security_scheme(doc.authorizers.get(authorizer_id)));
            operation.insert("security".into(), json!([{ scheme: route.scopes }]));
        }
        operation.insert(
            "responses".into(),
            json!({"default": {"description": "Default response"}}),
        );
        let item = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(item) = item.as_object_mut() {
            for method in methods {
                item.insert(method, Value::Object(operation.clone()));
            }
        }
    }
    let mut info = Map::new();
    info.insert("title".into(), json!(doc.api.name));
    info.insert("version".into(), json!(doc.stage));
    let mut description = format!(
        "Built by the federation agent from the routes of AWS HTTP API {} (stage {}): the \
         export (ExportApi) was not available.",
        doc.api.id, doc.stage
    );
    if let Some(api_description) = doc.api.description.as_deref().filter(|d| !d.is_empty()) {
        description = format!("{api_description}\n\n{description}");
    }
    info.insert("description".into(), json!(description));
    let mut document = Map::new();
    document.insert("openapi".into(), json!("3.0.1"));
    document.insert("info".into(), Value::Object(info));
    document.insert("servers".into(), json!([{ "url": doc.url }]));
    document.insert("paths".into(), Value::Object(paths));
    if !schemes.is_empty() {
        document.insert(
            "components".into(),
            json!({ "securitySchemes": Value::Object(schemes) }),
        );
    }
    serde_json::to_string_pretty(&Value::Object(document)).unwrap_or_default()
}

/// `GET /pets/{id}` → (["get"], "/pets/{id}"); `ANY /x` → the any-method key; `$default` →
/// `/$default`.
fn split_route_key(key: &str) -> (Vec<String>, String) {
    let key = key.trim();
    if key == "$default" {
        return (
            vec!["x-amazon-apigateway-any-method".to_owned()],
            "/$default".to_owned(),
        );
    }
    let (method, path) = key.split_once(' ').unwrap_or(("ANY", key));
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let method = method.trim().to_ascii_uppercase();
    let methods = if METHODS.contains(&method.as_str()) {
        vec![method.to_ascii_lowercase()]
    } else {
        vec!["x-amazon-apigateway-any-method".to_owned()]
    };
    (methods, path)
}

/// One required string parameter per `{name}` or greedy `{name+}` segment.
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn authorization_text(route: &HttpRoute) -> String {
    match route.authorization.as_str() {
        "JWT" if route.scopes.is_empty() => "JWT (OAuth2), no scope required".to_owned(),
        "JWT" => format!(
            "JWT (OAuth2), one of the scopes {}",
            route.scopes.join(", ")
        ),
        "AWS_IAM" => "AWS IAM (SigV4)".to_owned(),
        "CUSTOM" => "Lambda authorizer".to_owned(),
        _ => "none".to_owned(),
    }
}

fn integration_text(integration: &HttpIntegration) -> String {
    let mut text = integration.kind.clone();
    if let Some(subtype) = integration.subtype.as_deref().filter(|s| !s.is_empty()) {
        text.push_str(&format!(" {subtype}"));
    } else if integration.kind == "AWS_PROXY" {
        text.push_str(" (Lambda function)");
    } else if let Some(method) = integration.method.as_deref().filter(|m| !m.is_empty()) {
        text.push_str(&format!(" ({method})"));
    }
    text
}

/// A security scheme name from the authorizer's name (letters, digits, `.`, `_`, `-`).
fn scheme_name(authorizer: Option<&Authorizer>, id: &str) -> String {
    let name: String = authorizer
        .map(|a| a.name.as_str())
        .unwrap_or(id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.trim_matches('_').is_empty() {
        id.to_owned()
    } else {
        name
    }
}

/// An `oauth2` scheme naming the issuer; the audience is left out (subscribers' client ids).
fn security_scheme(authorizer: Option<&Authorizer>) -> Value {
    let issuer = authorizer.and_then(|a| a.issuer.as_deref());
    let description = match issuer {
        Some(issuer) => format!("JWT from {issuer}, sent as a bearer token"),
        None => "JWT sent as a bearer token".to_owned(),
    };
    json!({
        "type": "oauth2",
        "description": description,
        "flows": {},
        "x-issuer": issuer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<HttpRoute> {
        vec![
            HttpRoute {
                key: "GET /orders/{id}".into(),
                authorization: "JWT".into(),
                authorizer_id: Some("au1".into()),
                scopes: vec!["orders:read".into()],
                target: Some("integrations/i1".into()),
                operation_name: Some("getOrder".into()),
            },
            HttpRoute {
                key: "ANY /{proxy+}".into(),
                authorization: "NONE".into(),
                target: Some("integrations/i2".into()),
                ..HttpRoute::default()
            },
            HttpRoute {
                key: "$default".into(),
                authorization: "AWS_IAM".into(),
                ..HttpRoute::default()
            },
        ]
    }

    #[test]
    fn the_routes_become_an_openapi_3_document() {
        let api = HttpApi {
            id: "h1".into(),
            name: "Orders".into(),
            description: Some("Order book".into()),
            protocol: "HTTP".into(),
            ..HttpApi::default()
        };
        let integrations: BTreeMap<String, HttpIntegration> = [
            (
                "i1".to_owned(),
                HttpIntegration {
                    id: "i1".into(),
                    kind: "HTTP_PROXY".into(),
                    method: Some("GET".into()),
                    subtype: None,
                },
            ),
            (
                "i2".to_owned(),
                HttpIntegration {
                    id: "i2".into(),
                    kind: "AWS_PROXY".into(),
                    ..HttpIntegration::default()
                },
            ),
        ]
        .into();
        let authorizers: BTreeMap<String, Authorizer> = [(
            "au1".to_owned(),
            Authorizer {
                id: "au1".into(),
                name: "Cognito pool".into(),
                kind: "JWT".into(),
                issuer: Some("https://issuer.example.com".into()),
                audience: vec!["secret-client-list".into()],
            },
        )]
        .into();
        let routes = routes();
        let text = from_routes(&RoutesDocument {
            api: &api,
            stage: "prod",
            url: "https://h1.execute-api.us-east-1.amazonaws.com/prod",
            routes: &routes,
            integrations: &integrations,
            authorizers: &authorizers,
        });
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["openapi"], "3.0.1");
        assert_eq!(doc["info"]["title"], "Orders");
        assert_eq!(doc["info"]["version"], "prod");
        assert_eq!(
            doc["servers"][0]["url"],
            "https://h1.execute-api.us-east-1.amazonaws.com/prod"
        );
        let get = &doc["paths"]["/orders/{id}"]["get"];
        assert_eq!(get["operationId"], "getOrder");
        assert_eq!(get["security"][0]["Cognito_pool"][0], "orders:read");
        assert_eq!(get["parameters"][0]["name"], "id");
        assert!(
            get["description"]
                .as_str()
                .unwrap()
                .contains("Integration: HTTP_PROXY (GET)")
        );
        let any = &doc["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"];
        assert_eq!(any["parameters"][0]["name"], "proxy+");
        assert!(any["description"].as_str().unwrap().contains("AWS_PROXY"));
        assert!(any.get("security").is_none());
        assert!(
            doc["paths"]["/$default"]["x-amazon-apigateway-any-method"]["description"]
                .as_str()
                .unwrap()
                .contains("AWS IAM")
        );
        let scheme = &doc["components"]["securitySchemes"]["Cognito_pool"];
        assert_eq!(scheme["type"], "oauth2");
        assert_eq!(scheme["x-issuer"], "https://issuer.example.com");
        assert!(
            !text.contains("secret-client-list"),
            "no audience on the page"
        );
    }

    #[test]
    fn an_export_is_kept_without_its_audiences() {
        let body = r#"{"openapi":"3.0.1","info":{"title":"T","version":"1"},"paths":{},
            "components":{"securitySchemes":{"jwt":{"type":"oauth2","flows":{},
            "x-amazon-apigateway-authorizer":{"type":"jwt","jwtConfiguration":
            {"issuer":"https://i","audience":["client-a","client-b"]}}}}}}"#;
        let page = from_export(body).unwrap();
        assert!(!page.contains("client-a"), "{page}");
        assert!(page.contains("https://i"), "{page}");
        let plain = r#"{"openapi":"3.0.1","info":{"title":"T","version":"1"},"paths":{}}"#;
        assert_eq!(from_export(plain).as_deref(), Some(plain));
        assert_eq!(from_export(r#"{"swagger":"2.0"}"#), None);
        assert_eq!(from_export("not json"), None);
    }
}
