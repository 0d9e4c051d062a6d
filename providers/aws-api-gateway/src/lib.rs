//! # federation-provider-aws-api-gateway
//!
//! The AWS API Gateway provider of the federation agent, on the official AWS SDK
//! (`aws-sdk-apigateway`, `aws-sdk-apigatewayv2`, `aws-config`). It discovers REST APIs (v1) and
//! serves them to Gravitee as federated APIs, and turns subscriptions into API keys on usage
//! plans; with `apiTypes` holding `HTTP` it also discovers HTTP APIs (v2) and turns OAUTH
//! subscriptions into client ids in a JWT authorizer's audience (see "HTTP APIs" below).
//!
//! Register [`AwsApiGatewayFactory`] (type `aws-api-gateway`); the binary builds one
//! [`AwsApiGatewayProvider`] per configured entry. Building validates the settings and makes no
//! AWS call, so the agent reaches HELLO without AWS access.
//!
//! ## Configuration (`integration.providers[i].configuration`)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `region` | required | AWS region, or a comma-separated list (one discovery per region) |
//! | `accessKeyId`, `secretAccessKey`, `sessionToken` | unset | static credentials; unset = the standard AWS credential chain (env, profile, web identity/IRSA, ECS/Pod Identity, instance role) |
//! | `roleArn` | unset | comma-separated IAM roles to assume (multi-account); every role × every region is discovered |
//! | `roleSessionName` | `gravitee-federation-agent` | session name for `roleArn` |
//! | `acceptApiWithoutUsagePlan` | `false` | also discover stages no usage plan references (with no plans) |
//! | `endpoint` | unset | API Gateway/STS endpoint override (tests, private endpoints); `AWS_ENDPOINT_URL` works too |
//! | `requestsPerSecond`, `burst` | 10, 40 | client-side call budget per account and region (AWS's control-plane quota) |
//! | `apiKeyRequestsPerSecond`, `apiKeyBurst` | 5, 5 | budget of `CreateApiKey`/`DeleteApiKey` (AWS: 5 rps) |
//! | `maxConcurrency` | 8 | calls in flight per account and region |
//! | `maxRetries` | 8 | retries of one call after a 429 or a transient failure |
//! | `stageCacheMaxAgeSeconds` | 900 | how long a REST API's stage list is reused by later discoveries and drift checks (`0`: off) |
//! | `apiKeyScope` | `application` | `application`: one key per Gravitee application, on every usage plan it subscribes to (APIM's shared API-key mode); `subscription`: one key per subscription |
//! | `apiTypes` | `REST` | `REST` and/or `HTTP` (a list): the kinds of API discovered |
//! | `includeTags`, `excludeTags` | unset | tag filters (`key` or `key=value`, lists) for both kinds, at no extra call (`tag_filter.rs`) |
//! | `backgroundRequestsPerSecond` | 2 | the share of `requestsPerSecond` the agent's own calls (the drift check) may use; they wait behind every call someone is waiting for |
//!
//! See [`AwsSettings`]; [`AwsApiGatewayFactory`]'s `config_keys` lists every key.
//!
//! ## The mapping (`docs/reference/aws-api-gateway.md`, "Our mapping")
//!
//! One federated API per REST API **stage** (a usage plan, the OpenAPI export and the invoke URL
//! are all per stage):
//!
//! - `id` = `{restApiId}:{stageName}` (the `apiId` of SUBSCRIBE/UNSUBSCRIBE); `uniqueId` =
//!   `[{account}:]{region}:{restApiId}:{stageName}` (account when a role names it);
//! - `name` = the REST API's name, `version` = the stage, `description` = the API's description
//!   (plus the stage's when the stage list was read anyway, `acceptApiWithoutUsagePlan`);
//! - `connectionDetails.url` = `https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}`;
//! - one `SWAGGER` page, the stage's `GetExport` (`oas30`, JSON), `{name}-{stage}-oas.json`; an
//!   export that fails leaves `pages: []` and a warning;
//! - one `API_KEY` plan per usage plan referencing the stage, with `rate …/s`, `burst …`,
//!   `quota …/PERIOD` characteristics;
//! - `STRING` metadata `aws-api-gateway-region`, `-rest-api-id`, `-stage`, `-account`.
//!
//! Stages no usage plan references are skipped unless `acceptApiWithoutUsagePlan` is set. A
//! preview in usage-plan mode costs `GetRestApis` + `GetUsagePlans` only (about 3 calls for
//! 1,000 APIs); a full ingest adds one `GetExport` per selected stage, since the usage plans
//! name the stages. With `acceptApiWithoutUsagePlan` each REST API's stage list (`GetStages`) is
//! needed too; it is kept for `stageCacheMaxAgeSeconds`, so a discovery cut by its deadline is
//! continued by the next one. See `discovery.rs`; the stage lists are kept on each target
//! (`stage_cache.rs`, `target.rs`), and every list call pages through one cursor (`paging.rs`).
//!
//! Subscribing first checks that the usage plan still covers the stage and that the stage
//! exists (a key on that plan opens all its APIs; the usage plans are cached per target,
//! `plans.rs`). Then, with `apiKeyScope: application` (the default) and a
//! `graviteeApplicationId`, the application's key `gravitee-app-{applicationId}` is found or
//! created, the subscription recorded by a disabled key, and the key attached to the usage plan
//! (`CreateUsagePlanKey`): APIM's shared API-key mode shows an application's first key for all
//! its subscriptions, and that key opens each of them. Otherwise (or without `GetApiKeys` and
//! `DeleteUsagePlanKey`, said once) the subscription gets an enabled key of its own,
//! `gravitee-{graviteeSubscriptionId}`. The reply carries the key value and the metadata revoking
//! needs (`apiKeyId`, `usagePlanId`, `region`, plus `account`/`roleArn` in multi-account mode,
//! and `apiKeyScope`/`applicationId` for an application's key). The same subscription twice gets
//! the same key, also when two replicas of the agent receive it at once (with `GetApiKeys`
//! granted). Revoking removes the subscription's record and detaches the application's key from
//! the usage plans no other subscription of it uses, or deletes every key named for the
//! subscription; a key already gone is success. REST APIs take `API_KEY` subscriptions only (the
//! connector checks a subscription's type against the provider's capabilities; the provider
//! refuses `OAUTH` on a REST API and `API_KEY` on an HTTP API, naming the API). See
//! `subscription/`: `mod.rs` (subscribe, revoke), `routing.rs` (which target), `coverage.rs` (the
//! plan still covers the stage), `application.rs` and `records.rs` (one key per application),
//! `conflict.rs` (what AWS refuses an application's key), `grants.rs` (the grants application
//! keys need), `names.rs` (every name the provider uses), `keys.rs` (the AWS key calls),
//! `race.rs` (replicas converging on one key), `issued.rs` (the process's cache), `metadata.rs`
//! (the reply's metadata).
//!
//! ## HTTP APIs (`apiTypes` holds `HTTP`; `http_api/`)
//!
//! One federated API per HTTP API stage: `id` = `http/{apiId}/{stage}` (REST ids hold a `:`
//! and never a `/`, so the kinds cannot collide), `uniqueId` =
//! `[{account}:]{region}:http/{apiId}/{stage}`, `connectionDetails.url` = the custom domain
//! mapped to the stage or the invoke URL, tags as `aws-api-gateway-tag-*` metadata, one `OAUTH2`
//! plan per JWT authorizer the routes use (`jwt/{apiId}/{authorizerId}`), and a page from
//! `ExportApi`, or built from the routes when the export is not available (the metadata
//! `aws-api-gateway-openapi-source` says which). Stages whose routes use no JWT authorizer
//! follow `acceptApiWithoutUsagePlan`; WebSocket APIs are not federated.
//!
//! An `OAUTH` SUBSCRIBE adds the application's client id (`metadata.consumerKey`) to the JWT
//! authorizer's audience (`GetAuthorizer`, `UpdateAuthorizer`); UNSUBSCRIBE removes it unless
//! another live subscription still needs it. Who needs an entry is recorded at AWS, one marker
//! tag per subscription on the HTTP API (`gravitee:oauth:{subscriptionId}`), so replicas agree;
//! concurrent writers of one audience converge by re-reading after a settle delay and writing
//! again (`http_api/audience.rs`). `capabilities()` lists `OAUTH` with `HTTP`, `API_KEY` with
//! `REST`.
//!
//! ## Quotas, retries and errors
//!
//! AWS allows 10 control-plane requests per second (burst 40) per account, and 5 per second for
//! `CreateApiKey`/`DeleteApiKey` (`docs/reference/aws-api-gateway.md`, "Quotas and limits").
//! Every call goes through a token bucket per account and region and a concurrency bound
//! (`limiter.rs`, used by each target's call loop in `target.rs`), so a large account is walked
//! near the quota without a storm of 429s. The SDK's own retries are off; ours retry
//! `TooManyRequestsException` with exponential backoff and jitter, honour `Retry-After` (the SDK
//! does not; `docs/reference/aws-api-gateway.md`, "SDK behaviour") and pause the whole bucket;
//! no API is dropped because of throttling (the walk fails loudly if AWS keeps throttling past
//! `maxRetries`). Access denied names the IAM action and resource to grant
//! (`apigateway:POST on arn:aws:apigateway:eu-west-1::/apikeys`). No key value or AWS secret is
//! ever logged or put in an error.
//!
//! ## Catalogue drift
//!
//! The provider implements the optional drift inventory (`federation_core::Inventory`,
//! `inventory.rs`): which ingested stages still exist, each usage plan's stages, and the
//! `gravitee-*` keys with their usage plans, an application's key once per subscription recorded
//! for it (this last part needs `apigateway:GET` on `/apikeys` and `/usageplans/*/keys`, absent
//! from the minimum policy; without them the drift report says so). For HTTP APIs
//! (`http_api/inventory.rs`): their stages, each JWT plan's stages, and the audience entries of
//! OAUTH subscriptions (an entry whose authorizer or stage is gone shows).
//! A stage a usage plan names exists (AWS keeps plans and stages consistent), so with
//! nothing changed a check costs the `GetRestApis` and `GetUsagePlans` page walks and
//! `GetApiKeys`; `GetStages` is read only for ingested stages no plan names, from the stage
//! cache where it can. Its calls are background work (`limiter.rs`): paced by
//! `backgroundRequestsPerSecond`, behind every call someone is waiting for, paused while a
//! DISCOVER, an ingest, a SUBSCRIBE or an UNSUBSCRIBE runs. Nothing else calls AWS on its own:
//! `health()` makes no call, and there is no schedule.
//!
//! ## Operator tools
//!
//! [`operator::discover`] (what would be ingested, and *why* stages or APIs were skipped: no
//! usage plan, no JWT authorizer, a tag filter, a WebSocket API, a failed export) and
//! [`operator::check`] (credentials and each action of the minimum IAM policy, the optional
//! `GetApiKeys` and `DeleteUsagePlanKey` with what each enables, plus the HTTP API actions with
//! `apiTypes` `HTTP`: allowed / denied / untested), with table and JSON renderers, for the
//! binary's subcommands.
//!
//! ## Test harness (feature `testing`)
//!
//! `testing` holds what this crate's tests, the root end-to-end tests and the benchmark use:
//! `MotoServer` (a real AWS emulator, `moto_server` on a free loopback port; install it with
//! `scripts/install-moto.sh`), `shared_moto()` (one server per test binary, serialised and
//! reset between tests), SDK client and seeding helpers (REST in `seed`, HTTP APIs in
//! `seed_http`), and `ThrottlingProxy`, a loopback proxy in front of moto that injects
//! real-looking 429s, enforces AWS's quota, pages list responses (moto never pages), denies
//! chosen operations, answers AWS's usage plan key rules moto does not enforce, counts calls by
//! operation, and answers the calls moto lacks (v2 `ExportApi`) with a `CannedAnswer`.

mod discovery;
mod error;
mod factory;
mod http_api;
mod inventory;
mod limiter;
mod mapping;
pub mod operator;
mod paging;
mod plans;
mod provider;
mod reads;
mod settings;
mod stage_cache;
mod subscription;
mod tag_filter;
mod target;
#[cfg(feature = "testing")]
pub mod testing;

pub use factory::AwsApiGatewayFactory;
pub use provider::{AwsApiGatewayProvider, PROVIDER_TYPE};
pub use settings::{ApiKeyScope, AwsSettings};
