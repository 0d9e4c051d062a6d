//! The simulator's HTTP control API (loopback): what a person uses to try an agent without
//! APIM. Every call answers JSON; an error is `{"error": "<text>"}` with 404 (no agent
//! connected, unknown subscription or job), 409 (an ingest job is pending), 504 (no reply in
//! time) or 502 (the agent answered ERROR, or something unexpected). `docs/simulator.md`
//! documents each route, its body and its answers.
//!
//! | method and path | does |
//! |---|---|
//! | `GET /` | the list of routes |
//! | `GET /settings` | the APIM behaviours the simulator runs with |
//! | `GET /integrations` | the integrations, whether an agent is connected, the pending job |
//! | `POST /integrations/{id}/discover` | DISCOVER: the agent's preview (409 while a job is pending) |
//! | `POST /integrations/{id}/ingest` | START_INGEST (body `{"apiIds": [...]}` optional), then wait until the job ends (`?wait=false`: don't) |
//! | `GET /integrations/{id}/jobs` | the integration's ingest jobs and their status |
//! | `GET /integrations/{id}/jobs/{jobId}` | one job |
//! | `GET /integrations/{id}/catalog` | the APIs ingested so far, with the pages APIM keeps |
//! | `POST /integrations/{id}/subscriptions` | SUBSCRIBE (body `{"apiId", "planId", "application", "applicationId", "clientId", "type"}`) |
//! | `GET /integrations/{id}/subscriptions` | the accepted subscriptions, with the key the portal shows |
//! | `GET /integrations/{id}/subscriptions/{subscriptionId}` | one subscription |
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
use crate::state::IngestJob;
use crate::subscription::AcceptedSubscription;

/// The routes, bound to a simulator.
pub fn router(simulator: Simulator) -> Router {
    Router::new()
        .route("/", get(help))
        .route("/settings", get(settings))
        .route("/integrations", get(integrations))
        .route("/integrations/{id}/discover", post(discover))
        .route("/integrations/{id}/ingest", post(ingest))
        .route("/integrations/{id}/jobs", get(jobs))
        .route("/integrations/{id}/jobs/{job}", get(job))
        .route("/integrations/{id}/catalog", get(catalog))
        .route(
            "/integrations/{id}/subscriptions",
            post(subscribe).get(subscriptions),
        )
        .route(
            "/integrations/{id}/subscriptions/{subscription}",
            delete(unsubscribe).get(subscription),
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
            SimError::IngestPending { .. } => StatusCode::CONFLICT,
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
            "GET /settings",
            "GET /integrations",
            "POST /integrations/{id}/discover",
            "POST /integrations/{id}/ingest?wait=true&timeoutSeconds=600   body: {\"apiIds\": [...]} (optional)",
            "GET /integrations/{id}/jobs",
            "GET /integrations/{id}/jobs/{jobId}",
            "GET /integrations/{id}/catalog",
            "POST /integrations/{id}/subscriptions   body: {\"apiId\": \"...\", \"planId\": \"...\", \"applicationId\": \"...\"}",
            "GET /integrations/{id}/subscriptions",
            "GET /integrations/{id}/subscriptions/{subscriptionId}",
            "DELETE /integrations/{id}/subscriptions/{subscriptionId}",
            "POST /integrations/{id}/goodbye?reconnect=true",
            "GET /events"
        ]
    }))
}

async fn settings(State(sim): State<Simulator>) -> Json<Value> {
    let config = sim.config();
    let applications: serde_json::Map<String, Value> = config
        .application_api_key_modes
        .iter()
        .map(|(app, mode)| (app.clone(), json!(mode.as_str())))
        .collect();
    Json(json!({
        "apimVersion": config.apim_version.to_string(),
        "ingestJobDeadlineMs": config
            .apim_version
            .has_ingest_deadline()
            .then_some(config.ingest_job_deadline.as_millis() as u64),
        "ingestJobDelayMs": config.ingest_job_delay.as_millis() as u64,
        "clearsIngestedPages": config.apim_version.clears_ingested_pages(),
        "sendsProviderMetadata": config.apim_version.sends_provider_metadata(),
        "maxMessageSize": config.max_message_size,
        "maxFrameSize": config.max_frame_size,
        "apiKeyMode": config.api_key_mode.as_str(),
        "applicationApiKeyModes": applications,
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
                "pendingJobId": sim.pending_ingest_job(&i.id).map(|j| j.job_id),
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IngestQuery {
    wait: Option<bool>,
    timeout_seconds: Option<u64>,
}

/// A job as JSON; `apis` lists the APIs received with `with_apis`, else their count.
fn job_json(job: &IngestJob, with_apis: bool) -> Value {
    let now = std::time::Instant::now();
    let deadline_in_ms = job.deadline.map(|deadline| {
        if deadline >= now {
            deadline.duration_since(now).as_millis() as i64
        } else {
            -(now.duration_since(deadline).as_millis() as i64)
        }
    });
    json!({
        "jobId": job.job_id,
        "integrationId": job.integration_id,
        "status": job.status.as_str(),
        "total": job.total,
        "batches": job.batches,
        "done": job.done,
        "deadlineInMs": deadline_in_ms,
        "apiCount": job.apis.len(),
        "apis": if with_apis { serde_json::to_value(&job.apis).unwrap_or_default() } else { Value::Null },
    })
}

async fn ingest(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Query(query): Query<IngestQuery>,
    body: Option<Json<IngestBody>>,
) -> Result<Json<Value>, ApiError> {
    let api_ids = body.and_then(|Json(b)| b.api_ids);
    let (job_id, total) = sim.start_ingest(&id, api_ids).await?;
    if total == 0 {
        return Ok(Json(json!({
            "jobId": job_id, "integrationId": id, "status": "SUCCESS", "total": 0,
            "batches": 0, "done": false, "deadlineInMs": null, "apiCount": 0, "apis": [],
        })));
    }
    if !query.wait.unwrap_or(true) {
        return match sim.ingest_job(&job_id) {
            Some(job) => Ok(Json(job_json(&job, false))),
            // Created later (`ingest_job_delay`): not there yet.
            None => Ok(Json(
                json!({ "jobId": job_id, "integrationId": id, "total": total, "status": null }),
            )),
        };
    }
    let timeout = Duration::from_secs(query.timeout_seconds.unwrap_or(600));
    let job = sim.wait_ingest_settled(&job_id, timeout).await?;
    Ok(Json(job_json(&job, true)))
}

async fn jobs(State(sim): State<Simulator>, Path(id): Path<String>) -> Json<Value> {
    Json(Value::Array(
        sim.ingest_jobs(&id)
            .iter()
            .map(|job| job_json(job, false))
            .collect(),
    ))
}

async fn job(State(sim): State<Simulator>, Path((id, job_id)): Path<(String, String)>) -> Response {
    match sim.ingest_job(&job_id).filter(|j| j.integration_id == id) {
        Some(job) => Json(job_json(&job, true)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("unknown ingest job {job_id} of integration {id}") })),
        )
            .into_response(),
    }
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
    application_id: Option<String>,
    client_id: Option<String>,
    #[serde(rename = "type")]
    subscription_type: Option<SubscriptionType>,
}

fn subscription_json(subscription: &AcceptedSubscription) -> Value {
    json!({
        "subscriptionId": subscription.subscription_id,
        "integrationId": subscription.integration_id,
        "apiId": subscription.api_id,
        "applicationId": subscription.application_id,
        "applicationName": subscription.application_name,
        "type": subscription.subscription_type.as_str(),
        "clientId": subscription.client_id,
        "apiKeyMode": subscription.api_key_mode.as_str(),
        "apiKey": subscription.agent_api_key.as_ref().map(|k| k.expose().to_owned()),
        "shownApiKey": subscription.shown_api_key.as_ref().map(|k| k.expose().to_owned()),
        "metadata": subscription.metadata,
    })
}

fn unknown_subscription(id: &str) -> Response {
    ApiError(SimError::UnknownSubscription(id.to_owned())).into_response()
}

async fn subscribe(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Json(body): Json<SubscribeBody>,
) -> Result<Response, ApiError> {
    let mut request = SubscribeRequest::api_key(body.api_id, body.plan_id);
    if let Some(application) = body.application {
        request.application_name = application;
    }
    if let Some(subscription_type) = body.subscription_type {
        request.subscription_type = subscription_type;
    }
    request.application_id = body.application_id;
    request.client_id = body.client_id;
    let (subscription_id, _result) = sim.subscribe(&id, request).await?;
    Ok(match sim.subscription(&subscription_id) {
        Some(subscription) => Json(subscription_json(&subscription)).into_response(),
        None => unknown_subscription(&subscription_id),
    })
}

async fn subscriptions(State(sim): State<Simulator>, Path(id): Path<String>) -> Json<Value> {
    Json(Value::Array(
        sim.subscriptions(&id)
            .iter()
            .map(subscription_json)
            .collect(),
    ))
}

async fn subscription(
    State(sim): State<Simulator>,
    Path((id, subscription_id)): Path<(String, String)>,
) -> Response {
    match sim
        .subscription(&subscription_id)
        .filter(|s| s.integration_id == id)
    {
        Some(subscription) => Json(subscription_json(&subscription)).into_response(),
        None => unknown_subscription(&subscription_id),
    }
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
