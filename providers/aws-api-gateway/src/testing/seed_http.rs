//! Seeding moto with HTTP APIs (API Gateway v2) through the SDK: an API with tags, JWT
//! authorizers, integrations, routes, stages, and custom domains mapped to stages.
//!
//! moto gives v2 APIs random ids (no `_custom_id_` tag as for REST APIs): tests read the ids
//! from what the helpers return. Every helper panics on failure: it is test setup.

use std::collections::BTreeMap;

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::{
    AuthorizationType, AuthorizerType, IntegrationType, JwtConfiguration, ProtocolType,
};

/// A JWT authorizer to create.
#[derive(Debug, Clone)]
pub struct AuthorizerSpec {
    /// Its name.
    pub name: String,
    /// `JwtConfiguration.Issuer`.
    pub issuer: String,
    /// `JwtConfiguration.Audience` at creation.
    pub audience: Vec<String>,
}

/// A route to create: `GET /orders`, with the named authorizer (JWT) and scopes, or none.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// `RouteKey`.
    pub key: String,
    /// The name of one of the spec's authorizers; `None`: no authorization.
    pub authorizer: Option<String>,
    /// `AuthorizationScopes`.
    pub scopes: Vec<String>,
    /// `AWS_IAM` authorization instead (ignored with an authorizer).
    pub iam: bool,
}

/// What [`http_api`] creates.
#[derive(Debug, Clone, Default)]
pub struct HttpApiSpec {
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// `WEBSOCKET` instead of `HTTP`.
    pub websocket: bool,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// JWT authorizers.
    pub authorizers: Vec<AuthorizerSpec>,
    /// Routes (each with one HTTP_PROXY integration).
    pub routes: Vec<RouteSpec>,
    /// Stages.
    pub stages: Vec<String>,
}

impl HttpApiSpec {
    /// An HTTP API named `name`, nothing else.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }

    /// A WebSocket API instead.
    pub fn websocket(mut self) -> Self {
        self.websocket = true;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Adds a JWT authorizer.
    pub fn jwt_authorizer(mut self, name: &str, issuer: &str, audience: &[&str]) -> Self {
        self.authorizers.push(AuthorizerSpec {
            name: name.to_owned(),
            issuer: issuer.to_owned(),
            audience: audience.iter().map(|a| (*a).to_owned()).collect(),
        });
        self
    }

    /// Adds a route using the authorizer named `authorizer` with `scopes`.
    pub fn route(mut self, key: &str, authorizer: &str, scopes: &[&str]) -> Self {
        self.routes.push(RouteSpec {
            key: key.to_owned(),
            authorizer: Some(authorizer.to_owned()),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            iam: false,
        });
        self
    }

    /// Adds a route without authorization.
    pub fn open_route(mut self, key: &str) -> Self {
        self.routes.push(RouteSpec {
            key: key.to_owned(),
            authorizer: None,
            scopes: Vec::new(),
            iam: false,
        });
        self
    }

    /// Adds a route with IAM authorization.
    pub fn iam_route(mut self, key: &str) -> Self {
        self.routes.push(RouteSpec {
            key: key.to_owned(),
            authorizer: None,
            scopes: Vec::new(),
            iam: true,
        });
        self
    }

    /// Adds a stage.
    pub fn stage(mut self, name: &str) -> Self {
        self.stages.push(name.to_owned());
        self
    }
}

/// What [`http_api`] created.
#[derive(Debug, Clone)]
pub struct SeededHttpApi {
    /// The API id.
    pub id: String,
    /// Authorizer ids by name.
    pub authorizers: BTreeMap<String, String>,
}

impl SeededHttpApi {
    /// The id of the authorizer named `name`.
    ///
    /// # Panics
    ///
    /// When the spec had no authorizer of that name.
    pub fn authorizer(&self, name: &str) -> &str {
        self.authorizers
            .get(name)
            .unwrap_or_else(|| panic!("no authorizer {name}"))
    }

    /// The provider id of `stage`: `http/{apiId}/{stage}`.
    pub fn stage_id(&self, stage: &str) -> String {
        format!("http/{}/{stage}", self.id)
    }

    /// The plan id of the authorizer named `name`: `jwt/{apiId}/{authorizerId}`.
    pub fn plan_id(&self, name: &str) -> String {
        format!("jwt/{}/{}", self.id, self.authorizer(name))
    }
}

/// Creates the API of `spec`.
pub async fn http_api(client: &Client, spec: &HttpApiSpec) -> SeededHttpApi {
    let mut create = client
        .create_api()
        .name(&spec.name)
        .protocol_type(if spec.websocket {
            ProtocolType::Websocket
        } else {
            ProtocolType::Http
        });
    if spec.websocket {
        create = create.route_selection_expression("$request.body.action");
    }
    if let Some(description) = &spec.description {
        create = create.description(description);
    }
    for (key, value) in &spec.tags {
        create = create.tags(key, value);
    }
    let api_id = create
        .send()
        .await
        .expect("CreateApi")
        .api_id()
        .expect("an API id")
        .to_owned();
    let mut authorizers = BTreeMap::new();
    for authorizer in &spec.authorizers {
        let created = client
            .create_authorizer()
            .api_id(&api_id)
            .name(&authorizer.name)
            .authorizer_type(AuthorizerType::Jwt)
            .identity_source("$request.header.Authorization")
            .jwt_configuration(
                JwtConfiguration::builder()
                    .set_audience(Some(authorizer.audience.clone()))
                    .issuer(&authorizer.issuer)
                    .build(),
            )
            .send()
            .await
            .expect("CreateAuthorizer");
        authorizers.insert(
            authorizer.name.clone(),
            created
                .authorizer_id()
                .expect("an authorizer id")
                .to_owned(),
        );
    }
    for route in &spec.routes {
        let integration = client
            .create_integration()
            .api_id(&api_id)
            .integration_type(IntegrationType::HttpProxy)
            .integration_method("ANY")
            .integration_uri("https://backend.internal.example/")
            .payload_format_version("1.0")
            .send()
            .await
            .expect("CreateIntegration");
        let mut create = client
            .create_route()
            .api_id(&api_id)
            .route_key(&route.key)
            .target(format!(
                "integrations/{}",
                integration.integration_id().expect("an integration id")
            ));
        create = match &route.authorizer {
            Some(name) => {
                let mut jwt = create
                    .authorization_type(AuthorizationType::Jwt)
                    .authorizer_id(authorizers.get(name).unwrap_or_else(|| {
                        panic!("route {} names no authorizer {name}", route.key)
                    }));
                for scope in &route.scopes {
                    jwt = jwt.authorization_scopes(scope);
                }
                jwt
            }
            None if route.iam => create.authorization_type(AuthorizationType::AwsIam),
            None => create.authorization_type(AuthorizationType::None),
        };
        create.send().await.expect("CreateRoute");
    }
    for stage in &spec.stages {
        client
            .create_stage()
            .api_id(&api_id)
            .stage_name(stage)
            .send()
            .await
            .expect("CreateStage");
    }
    SeededHttpApi {
        id: api_id,
        authorizers,
    }
}

/// Creates the custom domain `domain` (if new) and maps `key` on it to `api_id`'s `stage`.
pub async fn domain_mapping(client: &Client, domain: &str, api_id: &str, stage: &str, key: &str) {
    let exists = client
        .get_domain_name()
        .domain_name(domain)
        .send()
        .await
        .is_ok();
    if !exists {
        client
            .create_domain_name()
            .domain_name(domain)
            .send()
            .await
            .expect("CreateDomainName");
    }
    client
        .create_api_mapping()
        .domain_name(domain)
        .api_id(api_id)
        .stage(stage)
        .api_mapping_key(key)
        .send()
        .await
        .expect("CreateApiMapping");
}

/// The audience of an authorizer now.
pub async fn audience(client: &Client, api_id: &str, authorizer_id: &str) -> Vec<String> {
    let mut audience = client
        .get_authorizer()
        .api_id(api_id)
        .authorizer_id(authorizer_id)
        .send()
        .await
        .expect("GetAuthorizer")
        .jwt_configuration()
        .map(|j| j.audience().to_vec())
        .unwrap_or_default();
    audience.sort();
    audience
}

/// The tags of an API now.
pub async fn api_tags(client: &Client, api_id: &str) -> BTreeMap<String, String> {
    client
        .get_api()
        .api_id(api_id)
        .send()
        .await
        .expect("GetApi")
        .tags()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
