//! The HTTP API mapping (`docs/reference/aws-api-gateway.md`, "Our mapping", HTTP APIs): AWS API
//! Gateway v2 objects → federated [`Api`]s, as pure functions.
//!
//! One federated API per HTTP API **stage**:
//!
//! - `id` = `http/{apiId}/{stage}`. REST ids are `{restApiId}:{stage}` and never hold a `/`,
//!   HTTP ids never hold a `:`, so the two cannot collide, and each side refuses the other's ids
//!   cleanly ([`split_http_id`], `crate::mapping::split_api_id`);
//! - `uniqueId` = `[{account}:]{region}:http/{apiId}/{stage}`;
//! - one `OAUTH2` plan per JWT authorizer the API's routes use: `id` = `jwt/{apiId}/{authorizerId}`
//!   (the `planId` of SUBSCRIBE), `name` = the authorizer's name, `description` = its issuer and
//!   the scopes its routes require;
//! - `connectionDetails.url` = the custom domain mapped to the stage when there is one
//!   (`https://{domain}/{mappingKey}`), else the invoke URL (`{apiEndpoint}/{stage}`, or
//!   `{apiEndpoint}` for the `$default` stage);
//! - `STRING` metadata: region, HTTP API id, stage, account, `aws-api-gateway-api-type` = `HTTP`,
//!   the invoke URL, the OpenAPI page's source and one `aws-api-gateway-tag-{key}` per tag.

use std::collections::{BTreeMap, BTreeSet};

use federation_core::{Api, ApiType, Page, PageType, Plan, PlanSecurityType};

use crate::mapping::{Location, META_ACCOUNT, META_REGION, META_STAGE, page_filename};

/// The prefix of every HTTP API provider id.
pub(crate) const HTTP_ID_PREFIX: &str = "http/";
/// The prefix of every OAUTH2 plan id.
pub(crate) const JWT_PLAN_PREFIX: &str = "jwt/";
/// The stage AWS serves at the API's root (no stage segment in the URL).
pub(crate) const DEFAULT_STAGE: &str = "$default";

/// Metadata key: the HTTP API id.
pub(crate) const META_HTTP_API_ID: &str = "aws-api-gateway-http-api-id";
/// Metadata key: `HTTP` (REST APIs carry none, as before).
pub(crate) const META_API_TYPE: &str = "aws-api-gateway-api-type";
/// Metadata key: the stage's invoke URL (also when `url` is a custom domain).
pub(crate) const META_INVOKE_URL: &str = "aws-api-gateway-invoke-url";
/// Metadata key: where the OpenAPI page comes from: `export` (`ExportApi`) or `routes` (built by
/// the agent from `GetRoutes`).
pub(crate) const META_OPENAPI_SOURCE: &str = "aws-api-gateway-openapi-source";
/// Metadata key prefix: one entry per tag of the HTTP API.
pub(crate) const META_TAG_PREFIX: &str = "aws-api-gateway-tag-";

/// `http/{apiId}/{stage}`.
pub(crate) fn http_id(api_id: &str, stage: &str) -> String {
    format!("{HTTP_ID_PREFIX}{api_id}/{stage}")
}

/// The HTTP API id and stage of `http/{apiId}/{stage}`.
pub(crate) fn split_http_id(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix(HTTP_ID_PREFIX)?
        .split_once('/')
        .filter(|(api, stage)| !api.is_empty() && !stage.is_empty() && !stage.contains('/'))
}

/// Whether `id` names an HTTP API stage (the `http/` prefix), well formed or not.
pub(crate) fn is_http_id(id: &str) -> bool {
    id.starts_with(HTTP_ID_PREFIX)
}

/// `jwt/{apiId}/{authorizerId}`.
pub(crate) fn plan_id(api_id: &str, authorizer_id: &str) -> String {
    format!("{JWT_PLAN_PREFIX}{api_id}/{authorizer_id}")
}

/// The HTTP API id and authorizer id of `jwt/{apiId}/{authorizerId}`.
pub(crate) fn split_plan_id(id: &str) -> Option<(&str, &str)> {
    id.strip_prefix(JWT_PLAN_PREFIX)?
        .split_once('/')
        .filter(|(api, authorizer)| !api.is_empty() && !authorizer.is_empty())
}

/// `[{account}:]{region}:http/{apiId}/{stage}`.
pub(crate) fn unique_id(location: Location<'_>, api_id: &str, stage: &str) -> String {
    let id = http_id(api_id, stage);
    match location.account {
        Some(account) => format!("{account}:{}:{id}", location.region),
        None => format!("{}:{id}", location.region),
    }
}

/// An HTTP API as discovery needs it (a `GetApis` item).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HttpApi {
    /// `ApiId`.
    pub(crate) id: String,
    /// `Name`.
    pub(crate) name: String,
    /// `Description`.
    pub(crate) description: Option<String>,
    /// `ApiEndpoint` (`https://{apiId}.execute-api.{region}.amazonaws.com`).
    pub(crate) endpoint: Option<String>,
    /// `ProtocolType`: `HTTP` or `WEBSOCKET`.
    pub(crate) protocol: String,
    /// `Tags`, without the agent's marker tags.
    pub(crate) tags: BTreeMap<String, String>,
    /// The agent's marker tags (`gravitee:oauth:…`, see `audience.rs`).
    pub(crate) markers: BTreeMap<String, String>,
}

impl HttpApi {
    /// Whether this is an HTTP API (not a WebSocket API).
    pub(crate) fn is_http(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("HTTP")
    }
}

/// A stage of an HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpStage {
    /// `StageName`.
    pub(crate) name: String,
    /// `Description`.
    pub(crate) description: Option<String>,
}

/// A route (`GetRoutes` item).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HttpRoute {
    /// `RouteKey`: `GET /pets/{id}`, `ANY /{proxy+}` or `$default`.
    pub(crate) key: String,
    /// `AuthorizationType`: `NONE`, `JWT`, `AWS_IAM` or `CUSTOM`.
    pub(crate) authorization: String,
    /// `AuthorizerId`.
    pub(crate) authorizer_id: Option<String>,
    /// `AuthorizationScopes`.
    pub(crate) scopes: Vec<String>,
    /// `Target`: `integrations/{integrationId}`.
    pub(crate) target: Option<String>,
    /// `OperationName`.
    pub(crate) operation_name: Option<String>,
}

impl HttpRoute {
    /// The JWT authorizer this route requires, if any.
    pub(crate) fn jwt_authorizer(&self) -> Option<&str> {
        (self.authorization == "JWT")
            .then_some(self.authorizer_id.as_deref())
            .flatten()
    }
}

/// An integration, summarised (`GetIntegrations` item).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HttpIntegration {
    /// `IntegrationId`.
    pub(crate) id: String,
    /// `IntegrationType`: `AWS_PROXY`, `HTTP_PROXY`, …
    pub(crate) kind: String,
    /// `IntegrationMethod`.
    pub(crate) method: Option<String>,
    /// `IntegrationSubtype` (AWS service integrations).
    pub(crate) subtype: Option<String>,
}

/// An authorizer (`GetAuthorizer`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Authorizer {
    /// `AuthorizerId`.
    pub(crate) id: String,
    /// `Name`.
    pub(crate) name: String,
    /// `AuthorizerType`: `JWT` or `REQUEST`.
    pub(crate) kind: String,
    /// `JwtConfiguration.Issuer`.
    pub(crate) issuer: Option<String>,
    /// `JwtConfiguration.Audience`.
    pub(crate) audience: Vec<String>,
}

impl Authorizer {
    /// Whether this is a JWT authorizer.
    pub(crate) fn is_jwt(&self) -> bool {
        self.kind == "JWT"
    }
}

/// The scopes the routes using `authorizer_id` require, sorted, and how many routes use it.
pub(crate) fn scopes_of(routes: &[HttpRoute], authorizer_id: &str) -> (BTreeSet<String>, usize) {
    let mut scopes = BTreeSet::new();
    let mut count = 0;
    for route in routes
        .iter()
        .filter(|r| r.jwt_authorizer() == Some(authorizer_id))
    {
        count += 1;
        scopes.extend(route.scopes.iter().cloned());
    }
    (scopes, count)
}

/// The OAUTH2 plan of a JWT authorizer on API `api_id`.
pub(crate) fn authorizer_plan(api_id: &str, authorizer: &Authorizer, routes: &[HttpRoute]) -> Plan {
    let (scopes, count) = scopes_of(routes, &authorizer.id);
    let name = if authorizer.name.trim().is_empty() {
        format!("JWT authorizer {}", authorizer.id)
    } else {
        authorizer.name.clone()
    };
    let issuer = authorizer.issuer.as_deref().unwrap_or("(no issuer set)");
    let scope_text = if scopes.is_empty() {
        "no scope".to_owned()
    } else {
        format!(
            "scopes {}",
            scopes.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    let mut plan = Plan::new(
        plan_id(api_id, &authorizer.id),
        name,
        PlanSecurityType::Oauth2,
    )
    .with_description(format!(
        "OAuth2 access with a JWT from {issuer}; its {count} route(s) require {scope_text}. \
         Subscribing adds the application's client id to the authorizer's audience."
    ))
    .with_characteristic(format!("issuer {issuer}"));
    for scope in &scopes {
        plan = plan.with_characteristic(format!("scope {scope}"));
    }
    plan
}

/// The invoke URL of `stage`: `{endpoint}/{stage}`, or `{endpoint}` for `$default`. Without an
/// endpoint from AWS, the standard one is built from the region.
pub(crate) fn invoke_url(location: Location<'_>, api: &HttpApi, stage: &str) -> String {
    let base = match &api.endpoint {
        Some(endpoint) if !endpoint.is_empty() => endpoint.trim_end_matches('/').to_owned(),
        _ => crate::mapping::execute_api_base(location.region, &api.id),
    };
    if stage == DEFAULT_STAGE {
        base
    } else {
        format!("{base}/{stage}")
    }
}

/// The URL of a custom domain mapping: `https://{domain}/{key}` (`https://{domain}` for an empty
/// key).
pub(crate) fn domain_url(domain: &str, key: &str) -> String {
    let key = key.trim_matches('/');
    if key.is_empty() {
        format!("https://{domain}")
    } else {
        format!("https://{domain}/{key}")
    }
}

/// Everything known about one HTTP API stage to build its federated API.
#[derive(Debug, Clone)]
pub(crate) struct HttpStageApi<'a> {
    /// Where.
    pub(crate) location: Location<'a>,
    /// The API.
    pub(crate) api: &'a HttpApi,
    /// The stage.
    pub(crate) stage: &'a HttpStage,
    /// The custom domain URL mapped to the stage, if any.
    pub(crate) domain_url: Option<String>,
    /// The plans (one per JWT authorizer; empty in catalogue-only mode).
    pub(crate) plans: Vec<Plan>,
}

impl HttpStageApi<'_> {
    /// The invoke URL.
    pub(crate) fn invoke_url(&self) -> String {
        invoke_url(self.location, self.api, &self.stage.name)
    }

    /// The URL consumers use: the custom domain, else the invoke URL.
    pub(crate) fn url(&self) -> String {
        self.domain_url.clone().unwrap_or_else(|| self.invoke_url())
    }

    /// The federated API, with an empty page list (see [`HttpStageApi::page`]).
    pub(crate) fn to_api(&self) -> Api {
        let api = self.api;
        let stage = &self.stage.name;
        let mut out = Api::new(
            unique_id(self.location, &api.id, stage),
            http_id(&api.id, stage),
            &api.name,
        )
        .with_version(stage)
        .with_connection_detail("url", self.url());
        out.api_type = Some(ApiType::Proxy);
        let api_description = api.description.as_deref().filter(|d| !d.is_empty());
        let stage_description = self.stage.description.as_deref().filter(|d| !d.is_empty());
        out.description = match (api_description, stage_description) {
            (Some(a), Some(s)) => Some(format!("{a}\n\nStage {stage}: {s}")),
            (Some(a), None) => Some(a.to_owned()),
            (None, Some(s)) => Some(format!("Stage {stage}: {s}")),
            (None, None) => None,
        };
        out.plans = Some(self.plans.clone());
        out.pages = Some(Vec::new());
        out = out
            .with_metadata(META_REGION, self.location.region)
            .with_metadata(META_HTTP_API_ID, &api.id)
            .with_metadata(META_STAGE, stage)
            .with_metadata(META_API_TYPE, "HTTP")
            .with_metadata(META_INVOKE_URL, self.invoke_url());
        if let Some(account) = self.location.account {
            out = out.with_metadata(META_ACCOUNT, account);
        }
        for (key, value) in &api.tags {
            out = out.with_metadata(format!("{META_TAG_PREFIX}{key}"), value);
        }
        out
    }

    /// The SWAGGER page for an OpenAPI document, and the metadata naming its source.
    pub(crate) fn with_page(&self, mut api: Api, document: String, source: &str) -> Api {
        api.pages = Some(vec![Page::new(
            PageType::Swagger,
            document,
            page_filename(&self.api.name, &self.stage.name),
        )]);
        api.with_metadata(META_OPENAPI_SOURCE, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> HttpApi {
        HttpApi {
            id: "h1".into(),
            name: "Orders".into(),
            description: Some("Order book".into()),
            endpoint: Some("https://h1.execute-api.eu-west-1.amazonaws.com".into()),
            protocol: "HTTP".into(),
            tags: [("team".to_owned(), "payments".to_owned())].into(),
            markers: BTreeMap::new(),
        }
    }

    fn routes() -> Vec<HttpRoute> {
        vec![
            HttpRoute {
                key: "GET /orders".into(),
                authorization: "JWT".into(),
                authorizer_id: Some("au1".into()),
                scopes: vec!["orders:read".into()],
                ..HttpRoute::default()
            },
            HttpRoute {
                key: "POST /orders".into(),
                authorization: "JWT".into(),
                authorizer_id: Some("au1".into()),
                scopes: vec!["orders:write".into(), "orders:read".into()],
                ..HttpRoute::default()
            },
            HttpRoute {
                key: "GET /health".into(),
                authorization: "NONE".into(),
                ..HttpRoute::default()
            },
        ]
    }

    #[test]
    fn ids_cannot_collide_with_rest_ids() {
        assert_eq!(http_id("h1", "prod"), "http/h1/prod");
        assert_eq!(split_http_id("http/h1/prod"), Some(("h1", "prod")));
        assert_eq!(split_http_id("http/h1/$default"), Some(("h1", "$default")));
        assert_eq!(split_http_id("h1:prod"), None);
        assert_eq!(split_http_id("http/h1"), None);
        assert_eq!(split_http_id("http/h1/a/b"), None);
        // A REST id never splits as an HTTP id, and an HTTP id never as a REST id.
        assert_eq!(crate::mapping::split_api_id("http/h1/prod"), None);
        assert!(is_http_id("http/x") && !is_http_id("a1:prod"));
        assert_eq!(plan_id("h1", "au1"), "jwt/h1/au1");
        assert_eq!(split_plan_id("jwt/h1/au1"), Some(("h1", "au1")));
        assert_eq!(split_plan_id("up1"), None);
    }

    #[test]
    fn one_oauth2_plan_per_authorizer_with_issuer_and_scopes() {
        let authorizer = Authorizer {
            id: "au1".into(),
            name: "Cognito".into(),
            kind: "JWT".into(),
            issuer: Some("https://issuer.example.com".into()),
            audience: vec!["c1".into()],
        };
        let plan = authorizer_plan("h1", &authorizer, &routes());
        assert_eq!(plan.id, "jwt/h1/au1");
        assert_eq!(plan.name, "Cognito");
        assert_eq!(plan.plan_security_type, PlanSecurityType::Oauth2);
        let description = plan.description.unwrap();
        assert!(
            description.contains("https://issuer.example.com")
                && description.contains("2 route(s) require scopes orders:read, orders:write"),
            "{description}"
        );
        assert_eq!(
            plan.characteristics.unwrap(),
            [
                "issuer https://issuer.example.com",
                "scope orders:read",
                "scope orders:write"
            ]
        );
        let unnamed = Authorizer {
            name: String::new(),
            ..authorizer
        };
        assert_eq!(
            authorizer_plan("h1", &unnamed, &[]).name,
            "JWT authorizer au1"
        );
    }

    #[test]
    fn urls_follow_the_stage_and_the_custom_domain() {
        let api = api();
        let location = Location {
            region: "eu-west-1",
            account: None,
        };
        assert_eq!(
            invoke_url(location, &api, "prod"),
            "https://h1.execute-api.eu-west-1.amazonaws.com/prod"
        );
        assert_eq!(
            invoke_url(location, &api, DEFAULT_STAGE),
            "https://h1.execute-api.eu-west-1.amazonaws.com"
        );
        let bare = HttpApi {
            endpoint: None,
            ..api.clone()
        };
        assert_eq!(
            invoke_url(location, &bare, "dev"),
            "https://h1.execute-api.eu-west-1.amazonaws.com/dev"
        );
        assert_eq!(
            domain_url("api.example.com", "v1"),
            "https://api.example.com/v1"
        );
        assert_eq!(domain_url("api.example.com", ""), "https://api.example.com");
    }

    #[test]
    fn stage_api_follows_the_contract() {
        let api = api();
        let stage = HttpStage {
            name: "prod".into(),
            description: None,
        };
        let stage_api = HttpStageApi {
            location: Location {
                region: "eu-west-1",
                account: Some("111122223333"),
            },
            api: &api,
            stage: &stage,
            domain_url: Some("https://api.example.com/orders".into()),
            plans: Vec::new(),
        };
        let out = stage_api.to_api();
        assert_eq!(out.id, "http/h1/prod");
        assert_eq!(out.unique_id, "111122223333:eu-west-1:http/h1/prod");
        assert_eq!(out.version.as_deref(), Some("prod"));
        assert_eq!(
            out.connection_details.as_ref().unwrap()["url"],
            "https://api.example.com/orders"
        );
        let meta: BTreeMap<_, _> = out
            .metadata
            .iter()
            .flatten()
            .map(|m| (m.name.as_str(), m.value.as_str()))
            .collect();
        assert_eq!(meta[META_API_TYPE], "HTTP");
        assert_eq!(meta[META_HTTP_API_ID], "h1");
        assert_eq!(meta[META_REGION], "eu-west-1");
        assert_eq!(meta[META_ACCOUNT], "111122223333");
        assert_eq!(
            meta[META_INVOKE_URL],
            "https://h1.execute-api.eu-west-1.amazonaws.com/prod"
        );
        assert_eq!(meta["aws-api-gateway-tag-team"], "payments");
        let paged = stage_api.with_page(out, "{}".into(), "routes");
        assert_eq!(
            paged.pages.as_ref().unwrap()[0].filename.as_deref(),
            Some("Orders-prod-oas.json")
        );
        assert!(
            paged
                .metadata
                .iter()
                .flatten()
                .any(|m| m.name == META_OPENAPI_SOURCE && m.value == "routes")
        );
    }
}
