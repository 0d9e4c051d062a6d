//! HTTP APIs (API Gateway v2), OAUTH subscriptions on JWT authorizers and tag filters, against
//! moto (one server for this test binary, serialised and reset between tests).
//!
//! `cargo test -p federation-provider-aws-api-gateway --features testing --test http_apis`

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use federation_core::model::StringMap;
use federation_core::{
    Api, DiscoverRequest, PlanSecurityType, Provider, ProviderError, Selection, Subscription,
    SubscriptionType, collect,
};
use federation_provider_aws_api_gateway::AwsApiGatewayProvider;
use federation_provider_aws_api_gateway::operator::{
    self, CheckOptions, CheckOutcome, DiscoverOptions,
};
use federation_provider_aws_api_gateway::testing::seed_http::{self, HttpApiSpec, SeededHttpApi};
use federation_provider_aws_api_gateway::testing::{
    self, CannedAnswer, ProxyConfig, ThrottlingProxy, seed, shared_moto,
};

const REGION: &str = "us-east-1";
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE";

fn provider(endpoint: &str, extra: &[(&str, &str)]) -> AwsApiGatewayProvider {
    let mut pairs = vec![("apiTypes", "REST,HTTP")];
    pairs.extend_from_slice(extra);
    AwsApiGatewayProvider::from_settings(&testing::provider_settings(endpoint, REGION, &pairs))
        .expect("valid test settings")
}

fn ids(apis: &[Api]) -> BTreeSet<String> {
    apis.iter().map(|a| a.id.clone()).collect()
}

fn by_id(apis: &[Api]) -> BTreeMap<String, Api> {
    apis.iter().map(|a| (a.id.clone(), a.clone())).collect()
}

fn metadata(api: &Api) -> BTreeMap<String, String> {
    api.metadata
        .iter()
        .flatten()
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect()
}

fn oauth(id: &str, plan: &str, client_id: Option<&str>) -> Subscription {
    let mut metadata: StringMap = [("planId".to_owned(), plan.to_owned())]
        .into_iter()
        .collect();
    if let Some(client) = client_id {
        metadata.insert("consumerKey".to_owned(), client.to_owned());
    }
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        gravitee_application_id: Some("app-1".to_owned()),
        gravitee_application_name: Some("Shop".to_owned()),
        subscription_type: Some(SubscriptionType::Oauth),
        metadata: Some(metadata),
    }
}

/// What UNSUBSCRIBE carries: the id, `consumerKey`, and the metadata SUBSCRIBE returned.
fn unsubscription(id: &str, client: &str, reply: &StringMap) -> Subscription {
    let mut metadata: StringMap = [("consumerKey".to_owned(), client.to_owned())]
        .into_iter()
        .collect();
    metadata.extend(reply.clone());
    Subscription {
        gravitee_subscription_id: id.to_owned(),
        metadata: Some(metadata),
        ..Subscription::default()
    }
}

/// The `Orders` HTTP API: a JWT authorizer on two routes, an open route, stages prod and dev.
fn orders_spec() -> HttpApiSpec {
    HttpApiSpec::new("Orders")
        .description("Order book")
        .tag("team", "payments")
        .jwt_authorizer("orders-jwt", ISSUER, &["existing-client"])
        .route("GET /orders", "orders-jwt", &["orders:read"])
        .route("POST /orders", "orders-jwt", &["orders:write"])
        .open_route("GET /health")
        .stage("prod")
        .stage("dev")
}

/// A mixed account: REST APIs (one in a usage plan, one not, one tagged env=dev) and HTTP APIs
/// (JWT, none, IAM only, WebSocket, no stage, tagged env=dev).
struct Mixed {
    orders: SeededHttpApi,
    public: SeededHttpApi,
    iam: SeededHttpApi,
    websocket: SeededHttpApi,
    draft: SeededHttpApi,
    sandbox: SeededHttpApi,
}

async fn seed_mixed(endpoint: &str) -> Mixed {
    let rest = testing::client(endpoint, REGION).await;
    let v2 = testing::client_v2(endpoint, REGION).await;
    seed::rest_api(&rest, "Pets", Some("pets1"), &["prod"]).await;
    seed::rest_api(&rest, "Lonely", Some("lonely1"), &["prod"]).await;
    // A REST API tagged env=dev (through CreateRestApi: moto has no TagResource on REST APIs).
    rest.create_rest_api()
        .name("Scratch")
        .tags("_custom_id_", "scratch1")
        .tags("env", "dev")
        .send()
        .await
        .expect("CreateRestApi");
    seed::usage_plan(
        &rest,
        &seed::PlanSpec::new("Gold")
            .stage("pets1", "prod")
            .stage("scratch1", "prod"),
    )
    .await;
    let orders = seed_http::http_api(&v2, &orders_spec()).await;
    let public = seed_http::http_api(
        &v2,
        &HttpApiSpec::new("Public")
            .open_route("GET /status")
            .stage("prod"),
    )
    .await;
    let iam = seed_http::http_api(
        &v2,
        &HttpApiSpec::new("Internal")
            .iam_route("GET /admin")
            .stage("prod"),
    )
    .await;
    let websocket = seed_http::http_api(&v2, &HttpApiSpec::new("Chat").websocket()).await;
    let draft = seed_http::http_api(
        &v2,
        &HttpApiSpec::new("Draft")
            .jwt_authorizer("draft-jwt", ISSUER, &["x"])
            .route("GET /x", "draft-jwt", &[]),
    )
    .await;
    let sandbox = seed_http::http_api(
        &v2,
        &HttpApiSpec::new("Sandbox")
            .tag("env", "dev")
            .jwt_authorizer("sandbox-jwt", ISSUER, &["x"])
            .route("GET /x", "sandbox-jwt", &[])
            .stage("prod"),
    )
    .await;
    Mixed {
        orders,
        public,
        iam,
        websocket,
        draft,
        sandbox,
    }
}

#[tokio::test]
async fn a_mixed_account_is_discovered_by_kind_authorizer_and_tags() {
    let moto = shared_moto().await;
    let mixed = seed_mixed(&moto.endpoint()).await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    seed_http::domain_mapping(&v2, "api.example.com", &mixed.orders.id, "dev", "orders").await;

    // Default apiTypes (REST): nothing of v2, as before.
    let rest_only = AwsApiGatewayProvider::from_settings(&testing::provider_settings(
        &moto.endpoint(),
        REGION,
        &[],
    ))
    .unwrap();
    let preview = collect(&rest_only, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(
        ids(&preview),
        ["pets1:prod", "scratch1:prod"].map(String::from).into()
    );

    // REST and HTTP, env=dev excluded.
    let both = provider(&moto.endpoint(), &[("excludeTags", "env=dev")]);
    let preview = collect(&both, &DiscoverRequest::preview()).await.unwrap();
    let expected: BTreeSet<String> = [
        "pets1:prod".to_owned(),
        mixed.orders.stage_id("prod"),
        mixed.orders.stage_id("dev"),
    ]
    .into();
    assert_eq!(ids(&preview), expected);

    let full = collect(&both, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(ids(&full), expected);
    let apis = by_id(&full);
    let prod = &apis[&mixed.orders.stage_id("prod")];
    assert_eq!(
        prod.unique_id,
        format!("us-east-1:http/{}/prod", mixed.orders.id)
    );
    assert_eq!(prod.name, "Orders");
    assert_eq!(prod.version.as_deref(), Some("prod"));
    assert_eq!(prod.description.as_deref(), Some("Order book"));
    assert_eq!(
        prod.connection_details.as_ref().unwrap()["url"],
        format!(
            "https://{}.execute-api.us-east-1.amazonaws.com/prod",
            mixed.orders.id
        )
    );
    let plans = prod.plans.as_ref().unwrap();
    assert_eq!(plans.len(), 1, "one plan per JWT authorizer");
    assert_eq!(plans[0].id, mixed.orders.plan_id("orders-jwt"));
    assert_eq!(plans[0].name, "orders-jwt");
    assert_eq!(plans[0].plan_security_type, PlanSecurityType::Oauth2);
    let description = plans[0].description.as_deref().unwrap();
    assert!(
        description.contains(ISSUER) && description.contains("scopes orders:read, orders:write"),
        "{description}"
    );
    let meta = metadata(prod);
    assert_eq!(meta["aws-api-gateway-api-type"], "HTTP");
    assert_eq!(meta["aws-api-gateway-http-api-id"], mixed.orders.id);
    assert_eq!(meta["aws-api-gateway-stage"], "prod");
    assert_eq!(meta["aws-api-gateway-region"], REGION);
    assert_eq!(meta["aws-api-gateway-tag-team"], "payments");
    // moto has no ExportApi: the page is built from the routes, and the metadata says so.
    assert_eq!(meta["aws-api-gateway-openapi-source"], "routes");
    let pages = prod.pages.as_ref().unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].filename.as_deref(), Some("Orders-prod-oas.json"));
    let doc: serde_json::Value = serde_json::from_str(&pages[0].content).unwrap();
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(
        doc["paths"]["/orders"]["get"]["security"][0]["orders-jwt"][0],
        "orders:read"
    );
    assert_eq!(
        doc["paths"]["/orders"]["post"]["security"][0]["orders-jwt"][0],
        "orders:write"
    );
    assert!(doc["paths"]["/health"]["get"].get("security").is_none());
    assert!(
        doc["paths"]["/orders"]["get"]["description"]
            .as_str()
            .unwrap()
            .contains("Integration: HTTP_PROXY (ANY)"),
        "{doc}"
    );
    assert!(
        !pages[0].content.contains("existing-client"),
        "no audience on the page"
    );
    assert!(
        !pages[0].content.contains("backend.internal"),
        "no backend URI on the page"
    );
    // The dev stage is reached through its custom domain.
    let dev = &apis[&mixed.orders.stage_id("dev")];
    assert_eq!(
        dev.connection_details.as_ref().unwrap()["url"],
        "https://api.example.com/orders"
    );
    assert_eq!(
        metadata(dev)["aws-api-gateway-invoke-url"],
        format!(
            "https://{}.execute-api.us-east-1.amazonaws.com/dev",
            mixed.orders.id
        )
    );

    // acceptApiWithoutUsagePlan: the stages without a JWT authorizer come, without plans.
    let accept = provider(
        &moto.endpoint(),
        &[
            ("excludeTags", "env=dev"),
            ("acceptApiWithoutUsagePlan", "true"),
        ],
    );
    let preview = collect(&accept, &DiscoverRequest::preview()).await.unwrap();
    let mut with_catalogue = expected.clone();
    with_catalogue.extend([
        "lonely1:prod".to_owned(),
        mixed.public.stage_id("prod"),
        mixed.iam.stage_id("prod"),
    ]);
    assert_eq!(ids(&preview), with_catalogue);
    let full = collect(&accept, &DiscoverRequest::full(Selection::All))
        .await
        .unwrap();
    assert_eq!(
        by_id(&full)[&mixed.public.stage_id("prod")]
            .plans
            .as_deref(),
        Some(&[][..])
    );

    // includeTags: only what carries team=payments (REST APIs here carry none).
    let include = provider(&moto.endpoint(), &[("includeTags", "team=payments")]);
    let preview = collect(&include, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(
        ids(&preview),
        [mixed.orders.stage_id("prod"), mixed.orders.stage_id("dev")].into()
    );
}

#[tokio::test]
async fn the_discover_command_says_why_each_api_was_left_out() {
    let moto = shared_moto().await;
    let mixed = seed_mixed(&moto.endpoint()).await;
    let provider = provider(&moto.endpoint(), &[("excludeTags", "env=dev")]);
    let report = operator::discover_with(&provider, &DiscoverOptions::default())
        .await
        .unwrap();
    let reason = |api: &str, stage: Option<&str>| -> String {
        report
            .skipped
            .iter()
            .find(|s| s.rest_api_id == api && s.stage.as_deref() == stage)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{api} {stage:?} not explained: {:#?}", report.skipped))
    };
    let http = |seeded: &SeededHttpApi| format!("http/{}", seeded.id);
    assert!(reason("scratch1", None).contains("excludeTags: it carries tag env=dev"));
    assert!(reason(&http(&mixed.sandbox), None).contains("excludeTags: it carries tag env=dev"));
    assert!(reason(&http(&mixed.websocket), None).contains("WEBSOCKET API"));
    assert!(reason(&http(&mixed.draft), None).contains("has no stage"));
    assert!(
        reason(&http(&mixed.public), Some("prod")).contains("no route uses an authorizer"),
        "{}",
        reason(&http(&mixed.public), Some("prod"))
    );
    let iam = reason(&http(&mixed.iam), Some("prod"));
    assert!(
        iam.contains("only AWS_IAM authorization") && iam.contains("acceptApiWithoutUsagePlan"),
        "{iam}"
    );
    assert!(reason("lonely1", Some("prod")).contains("has no usage plan"));
    let table = report.to_table();
    assert!(table.contains(&mixed.orders.stage_id("prod")), "{table}");
    assert!(table.contains("orders-jwt"), "the plans are shown: {table}");
}

#[tokio::test]
async fn the_export_is_the_page_when_aws_answers_it() {
    let moto = shared_moto().await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    let orders = seed_http::http_api(&v2, &orders_spec()).await;
    let other = seed_http::http_api(
        &v2,
        &HttpApiSpec::new("Other")
            .jwt_authorizer("other-jwt", ISSUER, &[])
            .route("GET /other", "other-jwt", &[])
            .stage("prod"),
    )
    .await;
    // The recorded body (tests/fixtures/README.md) answers ExportApi for Orders only.
    let recorded = include_str!("fixtures/http-api-export-oas30.json");
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().answer(CannedAnswer::ok(
            "v2:ExportApi",
            &format!("/v2/apis/{}/exports/OAS30", orders.id),
            recorded,
        )),
    )
    .await;
    let provider = provider(&proxy.endpoint(), &[("apiTypes", "HTTP")]);
    let only: Selection = Selection::Only([orders.stage_id("prod"), other.stage_id("prod")].into());
    let full = collect(&provider, &DiscoverRequest::full(only))
        .await
        .unwrap();
    let apis = by_id(&full);
    let exported = &apis[&orders.stage_id("prod")];
    assert_eq!(
        metadata(exported)["aws-api-gateway-openapi-source"],
        "export"
    );
    let page = &exported.pages.as_ref().unwrap()[0].content;
    let doc: serde_json::Value = serde_json::from_str(page).unwrap();
    assert_eq!(doc["x-amazon-apigateway-importexport-version"], "1.0");
    assert_eq!(
        doc["paths"]["/orders"]["get"]["security"][0]["orders-jwt"][0],
        "orders:read"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["orders-jwt"]["x-amazon-apigateway-authorizer"]["jwtConfiguration"]
            ["issuer"],
        ISSUER
    );
    assert!(
        !page.contains("recorded-client-of-another-app"),
        "audience removed: {page}"
    );
    // The other API's export is moto's 404: built from its routes.
    assert_eq!(
        metadata(&apis[&other.stage_id("prod")])["aws-api-gateway-openapi-source"],
        "routes"
    );
    assert_eq!(proxy.count("v2:ExportApi"), 2);
    // The selection held only HTTP ids: no REST call, and no v2 call for other APIs' stages.
    assert_eq!(proxy.count("GetRestApis"), 0);
}

#[tokio::test]
async fn v2_lists_are_paged_and_an_ingest_of_rest_ids_makes_no_v2_call() {
    let moto = shared_moto().await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    let rest = testing::client(&moto.endpoint(), REGION).await;
    seed::rest_api(&rest, "Pets", Some("pets1"), &["prod"]).await;
    seed::usage_plan(&rest, &seed::PlanSpec::new("Gold").stage("pets1", "prod")).await;
    let mut seeded = Vec::new();
    for i in 0..5 {
        seeded.push(
            seed_http::http_api(
                &v2,
                &HttpApiSpec::new(&format!("Paged {i}"))
                    .jwt_authorizer("jwt", ISSUER, &[])
                    .route("GET /a", "jwt", &[])
                    .route("GET /b", "jwt", &[])
                    .route("GET /c", "jwt", &[])
                    .stage("prod"),
            )
            .await,
        );
    }
    let proxy =
        ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting().page_size(2)).await;
    let provider = provider(&proxy.endpoint(), &[]);
    let preview = collect(&provider, &DiscoverRequest::preview())
        .await
        .unwrap();
    assert_eq!(preview.len(), 6, "{:?}", ids(&preview));
    assert_eq!(proxy.count("v2:GetApis"), 3, "5 APIs in pages of 2");
    assert_eq!(
        proxy.count("v2:GetRoutes"),
        10,
        "3 routes in pages of 2, for 5 APIs"
    );
    assert_eq!(proxy.count("v2:GetStages"), 5);

    proxy.reset_counts();
    let only = Selection::Only(["pets1:prod".to_owned()].into());
    let ingested = collect(&provider, &DiscoverRequest::full(only))
        .await
        .unwrap();
    assert_eq!(ids(&ingested), ["pets1:prod".to_owned()].into());
    assert!(
        proxy.calls().keys().all(|op| !op.starts_with("v2:")),
        "{:?}",
        proxy.calls()
    );
}

#[tokio::test]
async fn oauth_subscribe_and_unsubscribe_change_the_audience() {
    let moto = shared_moto().await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    let orders = seed_http::http_api(&v2, &orders_spec()).await;
    let authorizer = orders.authorizer("orders-jwt").to_owned();
    let plan = orders.plan_id("orders-jwt");
    let proxy = ThrottlingProxy::start(&moto.endpoint(), ProxyConfig::counting()).await;
    let provider = provider(&proxy.endpoint(), &[]);
    let prod = orders.stage_id("prod");

    let result = provider
        .subscribe(&prod, &oauth("sub-1", &plan, Some("client-shop")))
        .await
        .unwrap();
    assert_eq!(result.gravitee_subscription_id, "sub-1");
    assert!(result.api_key.is_none(), "OAUTH: no key");
    let reply = result.metadata.clone().unwrap();
    assert_eq!(reply["httpApiId"], orders.id);
    assert_eq!(reply["stage"], "prod");
    assert_eq!(reply["authorizerId"], authorizer);
    assert_eq!(reply["clientId"], "client-shop");
    assert_eq!(reply["audienceEntry"], "added");
    assert_eq!(reply["region"], REGION);
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["client-shop", "existing-client"]
    );
    let tags = seed_http::api_tags(&v2, &orders.id).await;
    assert_eq!(
        tags["gravitee:oauth:sub-1"],
        format!("{authorizer}/prod/owned/client-shop")
    );
    assert_eq!(tags["team"], "payments", "the API's own tags are untouched");
    assert_eq!(proxy.count("v2:UpdateAuthorizer"), 1);

    // A repeated delivery: the same reply, no write.
    proxy.reset_counts();
    let again = provider
        .subscribe(&prod, &oauth("sub-1", &plan, Some("client-shop")))
        .await
        .unwrap();
    assert_eq!(again, result);
    assert_eq!(proxy.count("v2:UpdateAuthorizer"), 0);
    assert_eq!(proxy.count("v2:TagResource"), 0);
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["client-shop", "existing-client"]
    );

    // The same application on the dev stage (same authorizer): one entry, two claims.
    let dev = provider
        .subscribe(
            &orders.stage_id("dev"),
            &oauth("sub-2", &plan, Some("client-shop")),
        )
        .await
        .unwrap();
    assert_eq!(dev.metadata.as_ref().unwrap()["audienceEntry"], "added");
    provider
        .revoke(&prod, &unsubscription("sub-1", "client-shop", &reply))
        .await
        .unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["client-shop", "existing-client"],
        "the dev subscription still needs the entry"
    );
    assert!(
        !seed_http::api_tags(&v2, &orders.id)
            .await
            .contains_key("gravitee:oauth:sub-1")
    );
    provider
        .revoke(
            &orders.stage_id("dev"),
            &unsubscription("sub-2", "client-shop", dev.metadata.as_ref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["existing-client"],
        "the last claim gone, the entry goes"
    );
    let tags = seed_http::api_tags(&v2, &orders.id).await;
    assert!(tags.keys().all(|k| !k.starts_with("gravitee:")), "{tags:?}");

    // UNSUBSCRIBE delivered again: success, nothing changes.
    proxy.reset_counts();
    provider
        .revoke(&prod, &unsubscription("sub-1", "client-shop", &reply))
        .await
        .unwrap();
    assert_eq!(proxy.count("v2:UpdateAuthorizer"), 0);

    // An entry that was there before the agent is kept on UNSUBSCRIBE.
    let kept = provider
        .subscribe(&prod, &oauth("sub-3", &plan, Some("existing-client")))
        .await
        .unwrap();
    assert_eq!(kept.metadata.as_ref().unwrap()["audienceEntry"], "kept");
    provider
        .revoke(
            &prod,
            &unsubscription("sub-3", "existing-client", kept.metadata.as_ref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["existing-client"]
    );

    // APIM before 4.6 keeps no reply metadata: the marker alone is enough to revoke.
    provider
        .subscribe(&prod, &oauth("sub-4", &plan, Some("client-b")))
        .await
        .unwrap();
    let bare = Subscription {
        gravitee_subscription_id: "sub-4".to_owned(),
        metadata: Some(
            [(
                "url".to_owned(),
                format!(
                    "https://{}.execute-api.us-east-1.amazonaws.com/prod",
                    orders.id
                ),
            )]
            .into_iter()
            .collect(),
        ),
        ..Subscription::default()
    };
    provider.revoke(&prod, &bare).await.unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["existing-client"]
    );
}

#[tokio::test]
async fn two_replicas_subscribing_at_once_on_one_authorizer_both_land() {
    let moto = shared_moto().await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    let orders = seed_http::http_api(&v2, &orders_spec()).await;
    let authorizer = orders.authorizer("orders-jwt").to_owned();
    let plan = orders.plan_id("orders-jwt");
    // Every answer takes 150 ms: the two read-modify-write rounds overlap, and the second
    // UpdateAuthorizer overwrites the first (a lost update the agents must repair).
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().latency(Duration::from_millis(150)),
    )
    .await;
    let replica_a = provider(&proxy.endpoint(), &[]);
    let replica_b = provider(&proxy.endpoint(), &[]);
    let prod = orders.stage_id("prod");
    let sub_a = oauth("sub-a", &plan, Some("client-a"));
    let sub_b = oauth("sub-b", &plan, Some("client-b"));
    let (a, b) = tokio::join!(
        replica_a.subscribe(&prod, &sub_a),
        replica_b.subscribe(&prod, &sub_b)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["client-a", "client-b", "existing-client"],
        "nothing lost"
    );
    let updates = proxy.count("v2:UpdateAuthorizer");
    println!("calls while subscribing: {:?}", proxy.calls());
    assert!(
        updates >= 3,
        "the race happened and one replica repaired it: {updates} UpdateAuthorizer, {:?}",
        proxy.calls()
    );

    // Both leave at once: nothing left.
    let unsub_a = unsubscription("sub-a", "client-a", a.metadata.as_ref().unwrap());
    let unsub_b = unsubscription("sub-b", "client-b", b.metadata.as_ref().unwrap());
    let (ra, rb) = tokio::join!(
        replica_a.revoke(&prod, &unsub_a),
        replica_b.revoke(&prod, &unsub_b)
    );
    ra.unwrap();
    rb.unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["existing-client"],
        "nothing left"
    );
    let tags = seed_http::api_tags(&v2, &orders.id).await;
    assert!(tags.keys().all(|k| !k.starts_with("gravitee:")), "{tags:?}");
}

#[tokio::test]
async fn a_revoke_racing_a_subscribe_of_the_same_client_keeps_the_entry() {
    let moto = shared_moto().await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    let orders = seed_http::http_api(&v2, &orders_spec()).await;
    let authorizer = orders.authorizer("orders-jwt").to_owned();
    let plan = orders.plan_id("orders-jwt");
    let direct = provider(&moto.endpoint(), &[]);
    let first = direct
        .subscribe(
            &orders.stage_id("prod"),
            &oauth("sub-1", &plan, Some("client-shop")),
        )
        .await
        .unwrap();
    // One replica closes the prod subscription while another opens the same application's
    // dev subscription: the entry must survive (the dev one needs it), the prod marker must go.
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting().latency(Duration::from_millis(150)),
    )
    .await;
    let replica_a = provider(&proxy.endpoint(), &[]);
    let replica_b = provider(&proxy.endpoint(), &[]);
    let unsub = unsubscription("sub-1", "client-shop", first.metadata.as_ref().unwrap());
    let sub_2 = oauth("sub-2", &plan, Some("client-shop"));
    let prod = orders.stage_id("prod");
    let dev = orders.stage_id("dev");
    let (revoked, subscribed) = tokio::join!(
        replica_a.revoke(&prod, &unsub),
        replica_b.subscribe(&dev, &sub_2)
    );
    revoked.unwrap();
    let subscribed = subscribed.unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["client-shop", "existing-client"],
        "the dev subscription still needs the entry"
    );
    let markers: Vec<String> = seed_http::api_tags(&v2, &orders.id)
        .await
        .into_keys()
        .filter(|k| k.starts_with("gravitee:"))
        .collect();
    assert_eq!(markers, ["gravitee:oauth:sub-2"]);
    direct
        .revoke(
            &dev,
            &unsubscription(
                "sub-2",
                "client-shop",
                subscribed.metadata.as_ref().unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["existing-client"]
    );
}

#[tokio::test]
async fn wrong_kinds_and_missing_client_ids_are_refused_and_change_nothing() {
    let moto = shared_moto().await;
    let rest = testing::client(&moto.endpoint(), REGION).await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    seed::rest_api(&rest, "Pets", Some("pets1"), &["prod"]).await;
    let gold = seed::usage_plan(&rest, &seed::PlanSpec::new("Gold").stage("pets1", "prod")).await;
    let orders = seed_http::http_api(&v2, &orders_spec()).await;
    let other = seed_http::http_api(
        &v2,
        &HttpApiSpec::new("Other")
            .jwt_authorizer("other-jwt", ISSUER, &[])
            .route("GET /o", "other-jwt", &[])
            .stage("prod"),
    )
    .await;
    let authorizer = orders.authorizer("orders-jwt").to_owned();
    let provider = provider(&moto.endpoint(), &[]);
    let caps = provider.capabilities().subscription_types;
    assert_eq!(caps, [SubscriptionType::ApiKey, SubscriptionType::Oauth]);
    let http_only = AwsApiGatewayProvider::from_settings(&testing::provider_settings(
        &moto.endpoint(),
        REGION,
        &[("apiTypes", "HTTP")],
    ))
    .unwrap();
    assert_eq!(
        http_only.capabilities().subscription_types,
        [SubscriptionType::Oauth]
    );

    // OAUTH on a REST API.
    let err = provider
        .subscribe("pets1:prod", &oauth("s1", &gold, Some("client-x")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::UnsupportedSubscription { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("REST API pets1:prod")
            && text.contains("supports API_KEY")
            && text.contains("OAUTH"),
        "{text}"
    );
    // API_KEY on an HTTP API.
    let mut api_key = oauth("s2", &orders.plan_id("orders-jwt"), None);
    api_key.subscription_type = Some(SubscriptionType::ApiKey);
    let err = provider
        .subscribe(&orders.stage_id("prod"), &api_key)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("HTTP API {}", orders.stage_id("prod")))
            && text.contains("supports OAUTH")
            && text.contains("API_KEY"),
        "{text}"
    );
    // OAUTH without consumerKey: the application has no client id.
    let err = provider
        .subscribe(
            &orders.stage_id("prod"),
            &oauth("s3", &orders.plan_id("orders-jwt"), None),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::InvalidRequest(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("consumerKey") && text.contains("no OAuth client id"),
        "{text}"
    );
    // A plan of another HTTP API.
    let err = provider
        .subscribe(
            &orders.stage_id("prod"),
            &oauth("s4", &other.plan_id("other-jwt"), Some("c")),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a JWT authorizer plan of HTTP API"),
        "{err}"
    );
    // A stage that does not exist.
    let err = provider
        .subscribe(
            &orders.stage_id("qa"),
            &oauth("s5", &orders.plan_id("orders-jwt"), Some("c")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotFound(_)), "{err:?}");
    // Nothing changed by any of them.
    assert_eq!(
        seed_http::audience(&v2, &orders.id, &authorizer).await,
        ["existing-client"]
    );
    let tags = seed_http::api_tags(&v2, &orders.id).await;
    assert!(tags.keys().all(|k| !k.starts_with("gravitee:")), "{tags:?}");
}

#[tokio::test]
async fn the_drift_inventory_covers_http_stages_plans_and_audience_entries() {
    let moto = shared_moto().await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    let orders = seed_http::http_api(&v2, &orders_spec()).await;
    let authorizer = orders.authorizer("orders-jwt").to_owned();
    let plan = orders.plan_id("orders-jwt");
    let provider = provider(&moto.endpoint(), &[("apiTypes", "HTTP")]);
    provider
        .subscribe(
            &orders.stage_id("prod"),
            &oauth("sub-1", &plan, Some("client-shop")),
        )
        .await
        .unwrap();

    let asked: BTreeSet<String> = [
        orders.stage_id("prod"),
        orders.stage_id("dev"),
        orders.stage_id("gone"),
        "pets1:prod".to_owned(),
    ]
    .into();
    let inventory = provider.inventory().unwrap();
    let catalogue = inventory.catalogue(&asked).await.unwrap();
    assert_eq!(
        catalogue.apis,
        [orders.stage_id("dev"), orders.stage_id("prod")].into()
    );
    assert_eq!(
        catalogue.plans[&plan].apis,
        [orders.stage_id("dev"), orders.stage_id("prod")].into()
    );
    let entries = inventory.issued_keys().await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].subscription_id.as_deref(), Some("sub-1"));
    assert_eq!(
        entries[0].api_id.as_deref(),
        Some(orders.stage_id("prod").as_str())
    );
    assert_eq!(entries[0].plans, [plan.clone()].into());

    // The authorizer is deleted: the entry opens nothing any more.
    v2.delete_authorizer()
        .api_id(&orders.id)
        .authorizer_id(&authorizer)
        .send()
        .await
        .unwrap();
    let entries = inventory.issued_keys().await.unwrap();
    assert!(entries[0].plans.is_empty(), "{entries:?}");
    assert!(
        entries[0].name.contains("deleted authorizer"),
        "{}",
        entries[0].name
    );
    // And its UNSUBSCRIBE still succeeds (the marker goes).
    provider
        .revoke(
            &orders.stage_id("prod"),
            &unsubscription("sub-1", "client-shop", &StringMap::new()),
        )
        .await
        .unwrap();
    assert!(inventory.issued_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn check_reports_the_http_api_actions() {
    let moto = shared_moto().await;
    let v2 = testing::client_v2(&moto.endpoint(), REGION).await;
    seed_http::http_api(&v2, &orders_spec()).await;
    let proxy = ThrottlingProxy::start(
        &moto.endpoint(),
        ProxyConfig::counting()
            .deny("v2:ExportApi")
            .deny("v2:TagResource"),
    )
    .await;
    // maxRetries 0: moto answers UpdateAuthorizer of an unknown authorizer with a 500 (AWS:
    // NotFoundException), which would be retried.
    let provider = provider(&proxy.endpoint(), &[("maxRetries", "0")]);
    let report = operator::check_with(&provider, CheckOptions::default()).await;
    let row = |operation: &str| {
        report
            .rows
            .iter()
            .find(|r| r.operation == operation && r.resource.contains("/apis"))
            .or_else(|| report.rows.iter().find(|r| r.operation == operation))
            .unwrap_or_else(|| panic!("no {operation} row: {:#?}", report.rows))
    };
    assert_eq!(row("GetApis").outcome, CheckOutcome::Allowed);
    assert_eq!(row("GetRoutes").outcome, CheckOutcome::Allowed);
    assert_eq!(row("GetAuthorizer").outcome, CheckOutcome::Allowed);
    assert!(row("GetApis").required);
    let export = row("ExportApi");
    assert!(
        !export.required,
        "optional: the page falls back to the routes"
    );
    assert!(
        matches!(export.outcome, CheckOutcome::Denied { .. }),
        "{export:?}"
    );
    let tag = row("TagResource");
    assert!(tag.required);
    assert!(
        matches!(tag.outcome, CheckOutcome::Denied { .. }),
        "{tag:?}"
    );
    assert_eq!(tag.action, "apigateway:POST");
    assert!(!report.ok(), "a required HTTP action is denied");
    let table = report.to_table();
    assert!(
        table.contains("ExportApi") && table.contains("(optional)"),
        "{table}"
    );
}
