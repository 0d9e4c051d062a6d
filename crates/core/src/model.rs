//! The federated API model, as the Gravitee integration controller reads and writes it.
//!
//! Field names, field order and enum spellings follow the integration API's records
//! (`docs/reference/integration-commands.md` §1 and §2):
//!
//! - keys are camelCase, in the records' order, so serialising gives Gravitee's bytes;
//! - `None` is omitted (Jackson `NON_NULL`), except `Plan.characteristics`, always sent (`[]`
//!   when none) like the Java record's default; unknown keys are ignored on read;
//! - [`PlanSecurityType::Oauth2`] is spelt `OAUTH2` but [`SubscriptionType::Oauth`] is `OAUTH`.
//!
//! Maps keep their insertion order ([`IndexMap`]), so a decoded frame re-encodes to the same bytes.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// An ordered string map (`connectionDetails`, subscription metadata).
pub type StringMap = IndexMap<String, String>;

/// One federated API: the unit the controller previews, ingests and subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    /// Stable key across runs: the controller derives the Gravitee API id from it, so it drives
    /// "new or update" on every ingest. Never reuse one for another API.
    pub unique_id: String,
    /// The provider's own id. It is the preview id, the id `START_INGEST` selects, and the
    /// `apiId` that `SUBSCRIBE` and `UNSUBSCRIBE` carry back.
    pub id: String,
    /// Display name (must not be blank).
    pub name: String,
    /// Version label; the controller uses `0.0.0` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How a consumer reaches the API (for example `url`). Copied by the controller into the
    /// metadata of every `SUBSCRIBE` and `UNSUBSCRIBE` for this API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_details: Option<StringMap>,
    /// `PROXY` or `MESSAGE` (ignored by the controller today).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub api_type: Option<ApiType>,
    /// Documentation pages; send a list (possibly empty) when ingesting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<Page>>,
    /// Plans a consumer can subscribe to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plans: Option<Vec<Plan>>,
    /// API metadata. Keys that contain the provider type come back in `SUBSCRIBE` (APIM 4.9+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<Metadata>>,
}

impl Api {
    /// An API with its three required fields.
    pub fn new(
        unique_id: impl Into<String>,
        id: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            unique_id: unique_id.into(),
            id: id.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    /// Sets the version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a `connectionDetails` entry.
    pub fn with_connection_detail(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.connection_details
            .get_or_insert_with(StringMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Adds a page.
    pub fn with_page(mut self, page: Page) -> Self {
        self.pages.get_or_insert_with(Vec::new).push(page);
        self
    }

    /// Adds a plan.
    pub fn with_plan(mut self, plan: Plan) -> Self {
        self.plans.get_or_insert_with(Vec::new).push(plan);
        self
    }

    /// Adds a `STRING` metadata entry.
    pub fn with_metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata
            .get_or_insert_with(Vec::new)
            .push(Metadata::string(name, value));
        self
    }

    /// The preview form sent in a `DISCOVER` reply: `uniqueId`, `id`, `name` and `version` only,
    /// which is all the controller reads there.
    pub fn summary(&self) -> Api {
        Api {
            unique_id: self.unique_id.clone(),
            id: self.id.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            ..Api::default()
        }
    }

    /// The form sent in an `INGEST` batch: `pages`, `plans` and `metadata` are lists, never
    /// absent (the controller's update path reads `pages` without a null check).
    pub fn for_ingest(mut self) -> Api {
        self.pages.get_or_insert_with(Vec::new);
        self.plans.get_or_insert_with(Vec::new);
        self.metadata.get_or_insert_with(Vec::new);
        self
    }
}

/// `Api.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApiType {
    /// A synchronous (HTTP) API.
    Proxy,
    /// An event or message API.
    Message,
}

/// A documentation page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// The kind of document. The controller imports `SWAGGER` and `ASYNCAPI` pages only.
    pub page_type: PageType,
    /// The document itself.
    pub content: String,
    /// Page name in the portal, and the key pages are upserted by on re-ingest: stable and
    /// unique per API (for example `petstore-prod-oas.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl Page {
    /// A page with a filename.
    pub fn new(
        page_type: PageType,
        content: impl Into<String>,
        filename: impl Into<String>,
    ) -> Self {
        Self {
            page_type,
            content: content.into(),
            filename: Some(filename.into()),
        }
    }
}

/// `Page.pageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PageType {
    /// AsciiDoc text.
    Asciidoc,
    /// An AsyncAPI document.
    Asyncapi,
    /// Markdown text.
    Markdown,
    /// A Markdown template.
    MarkdownTemplate,
    /// An OpenAPI (Swagger 2.0 or OpenAPI 3.x) document.
    Swagger,
}

/// A plan a consumer subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The provider's plan id; comes back as `metadata.planId` in `SUBSCRIBE`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How a subscriber authenticates; required in practice.
    pub plan_security_type: PlanSecurityType,
    /// Human-readable facts such as `rate 100/s`. Always sent, `[]` when `None` (the
    /// integration API's `Plan` record defaults it to an empty list).
    #[serde(default, serialize_with = "characteristics_or_empty")]
    pub characteristics: Option<Vec<String>>,
}

fn characteristics_or_empty<S: serde::Serializer>(
    characteristics: &Option<Vec<String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    characteristics
        .as_deref()
        .unwrap_or_default()
        .serialize(serializer)
}

impl Plan {
    /// A plan without description or characteristics.
    pub fn new(id: impl Into<String>, name: impl Into<String>, security: PlanSecurityType) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: None,
            plan_security_type: security,
            characteristics: None,
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a characteristic (for example `rate 100/s`).
    pub fn with_characteristic(mut self, characteristic: impl Into<String>) -> Self {
        self.characteristics
            .get_or_insert_with(Vec::new)
            .push(characteristic.into());
        self
    }
}

/// `Plan.planSecurityType`. Note `OAUTH2` here against `OAUTH` in [`SubscriptionType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlanSecurityType {
    /// API key.
    #[serde(rename = "API_KEY")]
    ApiKey,
    /// OAuth 2.
    #[serde(rename = "OAUTH2")]
    Oauth2,
    /// JSON Web Token.
    #[serde(rename = "JWT")]
    Jwt,
}

/// One API metadata entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The key.
    pub name: String,
    /// The value.
    pub value: String,
    /// Required: a missing format fails the whole `INGEST` batch in the controller.
    pub format: MetadataFormat,
}

impl Metadata {
    /// A `STRING` entry.
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            format: MetadataFormat::String,
        }
    }
}

/// `Metadata.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MetadataFormat {
    /// Text.
    String,
    /// A number.
    Numeric,
    /// `true` or `false`.
    Boolean,
    /// A date.
    Date,
    /// An e-mail address.
    Mail,
    /// A URL.
    Url,
}

/// The subscription the controller asks a provider to create (`SUBSCRIBE`) or revoke
/// (`UNSUBSCRIBE`; then only the id and the metadata are present).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Gravitee's subscription id.
    pub gravitee_subscription_id: String,
    /// Gravitee's application id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gravitee_application_id: Option<String>,
    /// The application's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gravitee_application_name: Option<String>,
    /// `API_KEY`, `OAUTH` or `JWT`; absent in `UNSUBSCRIBE`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub subscription_type: Option<SubscriptionType>,
    /// On `SUBSCRIBE`: the API's `connectionDetails`, provider metadata and `planId`. On
    /// `UNSUBSCRIBE`: the same, overridden by the metadata the `SUBSCRIBE` reply returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<StringMap>,
}

impl Subscription {
    /// The metadata value for `key`, if any.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(key).map(String::as_str)
    }

    /// The plan the subscription is for (`metadata.planId`).
    pub fn plan_id(&self) -> Option<&str> {
        self.metadata_value("planId")
    }
}

/// `Subscription.type`. Note `OAUTH` here against `OAUTH2` in [`PlanSecurityType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubscriptionType {
    /// API key.
    #[serde(rename = "API_KEY")]
    ApiKey,
    /// OAuth (the controller adds `metadata.consumerKey`).
    #[serde(rename = "OAUTH")]
    Oauth,
    /// JSON Web Token.
    #[serde(rename = "JWT")]
    Jwt,
}

impl SubscriptionType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "API_KEY",
            Self::Oauth => "OAUTH",
            Self::Jwt => "JWT",
        }
    }
}

impl std::fmt::Display for SubscriptionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a provider returns for a `SUBSCRIBE`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionResult {
    /// Echo of [`Subscription::gravitee_subscription_id`].
    pub gravitee_subscription_id: String,
    /// The issued key; the controller stores it as the subscription's API key. Redacted in
    /// `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Saved as the subscription's metadata and sent back in `UNSUBSCRIBE`: put here every id
    /// the revoke needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<StringMap>,
}

impl SubscriptionResult {
    /// A result without key or metadata.
    pub fn new(gravitee_subscription_id: impl Into<String>) -> Self {
        Self {
            gravitee_subscription_id: gravitee_subscription_id.into(),
            ..Self::default()
        }
    }

    /// Sets the issued key.
    pub fn with_api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds a metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata
            .get_or_insert_with(StringMap::new)
            .insert(key.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_serialises_in_record_order_and_omits_nulls() {
        let api = Api::new("u", "i", "n")
            .with_version("v")
            .with_connection_detail("url", "https://x")
            .with_page(Page::new(PageType::Swagger, "{}", "n-oas.json"))
            .with_plan(Plan::new("p", "Gold", PlanSecurityType::Oauth2))
            .with_metadata("k", "v");
        let text = serde_json::to_string(&api).unwrap();
        assert_eq!(
            text,
            r#"{"uniqueId":"u","id":"i","name":"n","version":"v","connectionDetails":{"url":"https://x"},"pages":[{"pageType":"SWAGGER","content":"{}","filename":"n-oas.json"}],"plans":[{"id":"p","name":"Gold","planSecurityType":"OAUTH2","characteristics":[]}],"metadata":[{"name":"k","value":"v","format":"STRING"}]}"#
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_enums_are_exact() {
        let api: Api = serde_json::from_value(json!({
            "uniqueId": "u", "id": "i", "name": "n", "futureField": 1,
            "plans": [{"id": "p", "name": "P", "planSecurityType": "API_KEY", "extra": true}]
        }))
        .unwrap();
        assert_eq!(
            api.plans.unwrap()[0].plan_security_type,
            PlanSecurityType::ApiKey
        );
        let sub: Subscription = serde_json::from_value(json!({
            "graviteeSubscriptionId": "s", "type": "OAUTH", "metadata": {"planId": "p"}
        }))
        .unwrap();
        assert_eq!(sub.subscription_type, Some(SubscriptionType::Oauth));
        assert_eq!(sub.plan_id(), Some("p"));
        assert!(
            serde_json::from_value::<Subscription>(json!({
                "graviteeSubscriptionId": "s", "type": "OAUTH2"
            }))
            .is_err()
        );
        assert!(
            serde_json::from_value::<Plan>(json!({
                "id": "p", "name": "P", "planSecurityType": "OAUTH"
            }))
            .is_err()
        );
    }

    #[test]
    fn plan_characteristics_are_always_sent() {
        let plan = Plan::new("p", "Gold", PlanSecurityType::ApiKey);
        assert_eq!(
            serde_json::to_value(&plan).unwrap(),
            json!({"id": "p", "name": "Gold", "planSecurityType": "API_KEY", "characteristics": []})
        );
        let plan = plan.with_characteristic("1000/day");
        assert_eq!(
            serde_json::to_value(&plan).unwrap()["characteristics"],
            json!(["1000/day"])
        );
        // Absent on read stays `None`.
        let read: Plan = serde_json::from_value(
            json!({"id": "p", "name": "Gold", "planSecurityType": "API_KEY"}),
        )
        .unwrap();
        assert_eq!(read.characteristics, None);
    }

    #[test]
    fn summary_and_ingest_forms() {
        let api = Api::new("u", "i", "n")
            .with_version("v")
            .with_description("d");
        assert_eq!(
            serde_json::to_value(api.summary()).unwrap(),
            json!({"uniqueId": "u", "id": "i", "name": "n", "version": "v"})
        );
        let ingest = serde_json::to_value(api.for_ingest()).unwrap();
        assert_eq!(ingest["pages"], json!([]));
        assert_eq!(ingest["plans"], json!([]));
        assert_eq!(ingest["metadata"], json!([]));
    }

    #[test]
    fn api_key_is_redacted_in_debug() {
        let result = SubscriptionResult::new("s").with_api_key("supersecretkey");
        let debug = format!("{result:?}");
        assert!(!debug.contains("supersecretkey"), "{debug}");
        assert!(
            serde_json::to_string(&result)
                .unwrap()
                .contains("supersecretkey")
        );
    }
}
