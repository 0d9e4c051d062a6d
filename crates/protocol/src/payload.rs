//! The payload of every command and reply, with the keys in the order Gravitee writes them.
//!
//! Exchange built-ins (`docs/reference/exchange-protocol.md` §3) and integration commands
//! (`docs/reference/integration-commands.md` §1 and §7). Optional values are omitted when `None`;
//! unknown keys are ignored on read.

use federation_core::{Api, Subscription, SubscriptionResult};
use serde::{Deserialize, Serialize};

/// An empty payload, written `{}` (HEALTH_CHECK and DISCOVER commands, PRIMARY, INGEST and
/// UNSUBSCRIBE replies, UNKNOWN and NO_REPLY replies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `HELLO` command: the agent introduces itself. APIM adds `provider` to the exchange payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloPayload {
    /// The integration id (APIM) or target id (plain exchange).
    pub target_id: String,
    /// The provider type; must equal the integration's provider exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl HelloPayload {
    /// A federation agent's HELLO.
    pub fn new(target_id: impl Into<String>, provider: impl Into<String>) -> Self {
        Self {
            target_id: target_id.into(),
            provider: Some(provider.into()),
        }
    }
}

/// `HELLO` reply: the target id the controller registered the channel under.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloReplyPayload {
    /// The accepted target id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

/// `HEALTH_CHECK` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckReplyPayload {
    /// `false` makes the controller unregister the channel (GOOD_BYE, reconnect).
    pub healthy: bool,
    /// Why not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `PRIMARY` command: whether this channel is now the primary one for its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrimaryPayload {
    /// The flag.
    #[serde(default)]
    pub primary: bool,
}

/// `GOOD_BYE` command: the controller is closing the channel. No reply is written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodByePayload {
    /// The target id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// `true`: close with 1013 and reconnect; `false`: close with 1000 and stop.
    #[serde(default)]
    pub reconnect: bool,
}

/// `GOOD_BYE` reply (the class exists but the reference never writes it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodByeReplyPayload {
    /// The target id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

/// `DISCOVER` reply: the preview.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DiscoverReplyPayload {
    /// The APIs (summaries are enough).
    #[serde(default)]
    pub apis: Vec<Api>,
    /// `true` when the walk was cut short by the reply deadline (read by APIM 4.9+).
    #[serde(rename = "isPartialDiscovery", alias = "partialDiscovery", default)]
    pub is_partial_discovery: bool,
}

/// `START_INGEST` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartIngestPayload {
    /// The job id, created by the controller.
    pub ingest_job_id: String,
    /// Provider ids to ingest; absent or empty means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_ids: Option<Vec<String>>,
}

/// `START_INGEST` reply: how many APIs the agent will push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartIngestReplyPayload {
    /// Echo of the job id.
    pub ingest_job_id: String,
    /// The number of APIs that INGEST batches will carry (0: no job, no INGEST).
    pub total: u64,
}

/// `INGEST` command (agent → controller): one batch of full definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestPayload {
    /// The job id from START_INGEST.
    pub ingest_job_id: String,
    /// Full definitions.
    #[serde(default)]
    pub apis: Vec<Api>,
    /// `true` on the last batch.
    #[serde(default)]
    pub done: bool,
}

/// `SUBSCRIBE` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribePayload {
    /// The provider API id ([`Api::id`]).
    pub api_id: String,
    /// What to subscribe.
    pub subscription: Subscription,
}

/// `SUBSCRIBE` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeReplyPayload {
    /// The issued credential and the metadata UNSUBSCRIBE will bring back.
    pub subscription: SubscriptionResult,
}

/// `UNSUBSCRIBE` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsubscribePayload {
    /// The provider API id.
    pub api_id: String,
    /// The subscription id and metadata (the SUBSCRIBE reply's metadata wins).
    pub subscription: Subscription,
}

/// `LIST` reply (APIM 4.4): every API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListReplyPayload {
    /// The APIs.
    #[serde(default)]
    pub apis: Vec<Api>,
}

/// `FETCH` command (APIM 4.4): APIM always sends an empty list, meaning everything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FetchPayload {
    /// Requested APIs (ids or API objects); empty or absent means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apis: Option<Vec<serde_json::Value>>,
}

impl FetchPayload {
    /// The requested provider ids: strings, or the `id` of API objects.
    pub fn selected_ids(&self) -> Vec<String> {
        self.apis
            .iter()
            .flatten()
            .filter_map(|v| match v {
                serde_json::Value::String(id) => Some(id.clone()),
                serde_json::Value::Object(o) => o.get("id")?.as_str().map(str::to_owned),
                _ => None,
            })
            .collect()
    }
}

/// `FETCH` reply (APIM 4.4): full definitions, all in one reply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FetchReplyPayload {
    /// The APIs.
    #[serde(default)]
    pub apis: Vec<Api>,
}
