//! The simulator's HTTP control API (loopback): what a person uses to try an agent without
//! APIM. Every call answers JSON.
//!
//! | method and path | does |
//! |---|---|
//! | `GET /integrations` | the integrations and whether an agent is connected |
//! | `POST /integrations/{id}/discover` | DISCOVER: the agent's preview |
//! | `POST /integrations/{id}/ingest` | START_INGEST (body `{"apiIds": [...]}` optional) and wait for the last INGEST batch |
//! | `GET /integrations/{id}/catalog` | the APIs ingested so far |
//! | `POST /integrations/{id}/subscriptions` | SUBSCRIBE (body `{"apiId", "planId", "application", "type"}`) |
//! | `DELETE /integrations/{id}/subscriptions/{subscriptionId}` | UNSUBSCRIBE |
//! | `POST /integrations/{id}/goodbye?reconnect=true` | GOOD_BYE |
//! | `GET /events` | everything the simulator saw, in order |

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use federation_core::SubscriptionType;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::control::{SimError, Simulator, SubscribeRequest};

/// The routes, bound to a simulator.
pub fn router(simulator: Simulator) -> Router {
    Router::new()
        .route("/", get(help))
        .route("/integrations", get(integrations))
        .route("/integrations/{id}/discover", post(discover))
        .route("/integrations/{id}/ingest", post(ingest))
        .route("/integrations/{id}/catalog", get(catalog))
        .route("/integrations/{id}/subscriptions", post(subscribe))
        .route(
            "/integrations/{id}/subscriptions/{subscription}",
            delete(unsubscribe),
        )
        .route("/integrations/{id}/goodbye", post(goodbye))
        .route("/events", get(events))
        .with_state(simulator)
}

/// Serves the API on `listener` until the simulator shuts down.
pub async fn serve(simulator: Simulator, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(simulator)).await
}

struct ApiError(SimError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            SimError::NotConnected(_) | SimError::UnknownSubscription(_) => StatusCode::NOT_FOUND,
            SimError::Timeout { .. } | SimError::WaitTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

impl From<SimError> for ApiError {
    fn from(error: SimError) -> Self {
        Self(error)
    }
}

async fn help() -> Json<Value> {
    Json(json!({
        "routes": [
            "GET /integrations",
            "POST /integrations/{id}/discover",
            "POST /integrations/{id}/ingest   body: {\"apiIds\": [...]} (optional)",
            "GET /integrations/{id}/catalog",
            "POST /integrations/{id}/subscriptions   body: {\"apiId\": \"...\", \"planId\": \"...\"}",
            "DELETE /integrations/{id}/subscriptions/{subscriptionId}",
            "POST /integrations/{id}/goodbye?reconnect=true",
            "GET /events"
        ]
    }))
}

async fn integrations(State(sim): State<Simulator>) -> Json<Value> {
    let list: Vec<Value> = sim
        .config()
        .integrations
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "provider": i.provider,
                "connected": sim.connected(&i.id),
                "channels": sim.channel_count(&i.id),
            })
        })
        .collect();
    Json(Value::Array(list))
}

async fn discover(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let preview = sim.discover(&id).await?;
    Ok(Json(serde_json::to_value(preview).unwrap_or_default()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IngestBody {
    api_ids: Option<Vec<String>>,
}

async fn ingest(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    body: Option<Json<IngestBody>>,
) -> Result<Json<Value>, ApiError> {
    let api_ids = body.and_then(|Json(b)| b.api_ids);
    let (job_id, total) = sim.start_ingest(&id, api_ids).await?;
    if total == 0 {
        return Ok(Json(
            json!({ "jobId": job_id, "total": 0, "batches": 0, "apis": [] }),
        ));
    }
    let job = sim
        .wait_ingest_done(&job_id, Duration::from_secs(600))
        .await?;
    Ok(Json(json!({
        "jobId": job_id,
        "total": total,
        "batches": job.batches,
        "apis": job.apis,
    })))
}

async fn catalog(State(sim): State<Simulator>, Path(id): Path<String>) -> Json<Value> {
    Json(serde_json::to_value(sim.catalog(&id)).unwrap_or_default())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribeBody {
    api_id: String,
    plan_id: Option<String>,
    application: Option<String>,
    #[serde(rename = "type")]
    subscription_type: Option<SubscriptionType>,
}

async fn subscribe(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Json(body): Json<SubscribeBody>,
) -> Result<Json<Value>, ApiError> {
    let mut request = SubscribeRequest::api_key(body.api_id, body.plan_id);
    if let Some(application) = body.application {
        request.application_name = application;
    }
    if let Some(subscription_type) = body.subscription_type {
        request.subscription_type = subscription_type;
    }
    let (subscription_id, result) = sim.subscribe(&id, request).await?;
    Ok(Json(json!({
        "subscriptionId": subscription_id,
        "apiKey": result.api_key.as_ref().map(|k| k.expose().to_owned()),
        "metadata": result.metadata,
    })))
}

async fn unsubscribe(
    State(sim): State<Simulator>,
    Path((id, subscription)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    sim.unsubscribe(&id, &subscription).await?;
    Ok(Json(json!({ "revoked": subscription })))
}

#[derive(Debug, Deserialize)]
struct GoodbyeQuery {
    reconnect: Option<bool>,
}

async fn goodbye(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Query(query): Query<GoodbyeQuery>,
) -> Result<Json<Value>, ApiError> {
    let reconnect = query.reconnect.unwrap_or(true);
    sim.goodbye(&id, reconnect).await?;
    Ok(Json(json!({ "goodbye": id, "reconnect": reconnect })))
}

async fn events(State(sim): State<Simulator>) -> Json<Value> {
    let start = sim.events().first().map(|r| r.at);
    let list: Vec<Value> = sim
        .events()
        .into_iter()
        .map(|r| {
            let mut value = serde_json::to_value(&r.event).unwrap_or_default();
            if let (Some(start), Value::Object(map)) = (start, &mut value) {
                map.insert(
                    "ms".to_owned(),
                    json!(r.at.duration_since(start).as_millis() as u64),
                );
            }
            value
        })
        .collect();
    Json(Value::Array(list))
}
