//! HTTP APIs (API Gateway v2, `aws-sdk-apigatewayv2`), discovered when `apiTypes` holds `HTTP`,
//! and OAuth subscriptions on their JWT authorizers.
//!
//! - `mapping.rs`: ids (`http/{apiId}/{stage}`, plans `jwt/{apiId}/{authorizerId}`) and the
//!   HTTP API → federated API mapping;
//! - `reads.rs`: the v2 calls (through the target's budget and retries);
//! - `discovery.rs`: which stages are discovered, plans, URL, page;
//! - `openapi.rs`: the page, from `ExportApi` or built from the routes;
//! - `audience.rs`: OAUTH SUBSCRIBE / UNSUBSCRIBE (client ids in a JWT authorizer's audience);
//! - `markers.rs`: the marker tags recording which subscription needs which entry;
//! - `converge.rs`: writers of one audience converging (read, write, settle, confirm);
//! - `routing.rs`: which target a subscription goes to;
//! - `inventory.rs`: the drift inventory (stages, JWT plans, audience entries);
//! - `check.rs`: the `check` probes of the HTTP API actions.
//!
//! WebSocket APIs are out of scope: discovery leaves them out and says so.

pub(crate) mod audience;
pub(crate) mod check;
mod converge;
pub(crate) mod discovery;
pub(crate) mod inventory;
pub(crate) mod mapping;
pub(crate) mod markers;
mod openapi;
pub(crate) mod reads;
mod routing;

pub(crate) use audience::AudienceLocks;
pub(crate) use mapping::is_http_id;
