//! [`AwsSettings`]: the provider's `configuration` block, typed and checked.
//!
//! The keys of the official agent (`region`, `accessKeyId`, `secretAccessKey`, `roleArn`,
//! `acceptApiWithoutUsagePlan`) keep their names and meaning; the rest are ours. Values arrive
//! as strings from `gravitee.yml` or `gravitee_integration_providers_N_configuration_*`
//! environment variables; an empty string (a compose file passing an unset `${AWS_ACCESS_KEY_ID}`)
//! counts as unset.

use federation_core::settings::comma_list;
use federation_core::{ProviderSettings, Secret, SettingsError};
use serde::{Deserialize, Deserializer};

/// Every camelCase key the provider reads from its `configuration` block.
pub(crate) const CONFIG_KEYS: &[&str] = &[
    "region",
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "roleArn",
    "roleSessionName",
    "acceptApiWithoutUsagePlan",
    "endpoint",
    "requestsPerSecond",
    "burst",
    "apiKeyRequestsPerSecond",
    "apiKeyBurst",
    "maxConcurrency",
    "maxRetries",
    "stageCacheMaxAgeSeconds",
    "apiKeyScope",
    "apiTypes",
    "includeTags",
    "excludeTags",
    "backgroundRequestsPerSecond",
];

/// The provider's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsSettings {
    /// `region` (required): one or more AWS regions, a list or a comma-separated string. Each
    /// region is discovered separately.
    #[serde(default, deserialize_with = "comma_list")]
    pub region: Vec<String>,
    /// `accessKeyId`: static access key id; unset means the standard AWS credential chain.
    #[serde(default, deserialize_with = "optional_secret")]
    pub access_key_id: Option<Secret>,
    /// `secretAccessKey`: the secret of `accessKeyId`.
    #[serde(default, deserialize_with = "optional_secret")]
    pub secret_access_key: Option<Secret>,
    /// `sessionToken`: session token for temporary static credentials.
    #[serde(default, deserialize_with = "optional_secret")]
    pub session_token: Option<Secret>,
    /// `roleArn`: IAM roles to assume (multi-account), a list or a comma-separated string. Every
    /// role is discovered in every region.
    #[serde(default, deserialize_with = "comma_list")]
    pub role_arn: Vec<String>,
    /// `roleSessionName`: the session name used when assuming `roleArn` (default
    /// `gravitee-federation-agent`).
    #[serde(
        default = "default_session_name",
        deserialize_with = "string_or_default_session"
    )]
    pub role_session_name: String,
    /// `acceptApiWithoutUsagePlan` (default `false`): also discover stages no usage plan
    /// references.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub accept_api_without_usage_plan: bool,
    /// `endpoint`: API Gateway (and STS) endpoint override, for tests and private endpoints;
    /// it serves the REST (v1) and HTTP API (v2) clients alike. `AWS_ENDPOINT_URL` /
    /// `AWS_ENDPOINT_URL_API_GATEWAY` (v1) / `AWS_ENDPOINT_URL_APIGATEWAYV2` (v2) work too.
    #[serde(default, deserialize_with = "optional_string")]
    pub endpoint: Option<String>,
    /// `requestsPerSecond` (default 10): client-side budget of API Gateway control-plane calls
    /// per account and region (AWS's fixed account quota is 10 rps).
    #[serde(default = "default_rps")]
    pub requests_per_second: f64,
    /// `burst` (default 40): the budget's burst (AWS: 40).
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// `apiKeyRequestsPerSecond` (default 5): budget of `CreateApiKey` / `DeleteApiKey` calls
    /// per account and region (AWS: 5 rps), on top of the overall budget.
    #[serde(default = "default_key_rps")]
    pub api_key_requests_per_second: f64,
    /// `apiKeyBurst` (default 5): burst of the API key budget.
    #[serde(default = "default_key_burst")]
    pub api_key_burst: u32,
    /// `maxConcurrency` (default 8): calls in flight at once per account and region.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// `maxRetries` (default 8): retries of one call after throttling (429) or a transient
    /// failure, with exponential backoff, jitter and `Retry-After`.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// `stageCacheMaxAgeSeconds` (default 900): how long a REST API's stage list, read with
    /// `GetStages`, is reused by later discoveries (`acceptApiWithoutUsagePlan` mode), so a
    /// discovery cut by its deadline is continued by the next one. `0` turns the cache off.
    #[serde(default = "default_stage_cache_max_age")]
    pub stage_cache_max_age_seconds: u64,
    /// `backgroundRequestsPerSecond` (default 2): the share of `requestsPerSecond` that calls
    /// the agent makes on its own (the drift check after a DISCOVER or an ingest) may use, per
    /// account and region; they also wait behind every call someone is waiting for and pause
    /// while a DISCOVER, an ingest, a SUBSCRIBE or an UNSUBSCRIBE runs. At most
    /// `requestsPerSecond` is used.
    #[serde(default = "default_background_rps")]
    pub background_requests_per_second: f64,
    /// `apiTypes` (default `REST`): the kinds of API discovered, a list or a comma-separated
    /// string of `REST` (API Gateway v1 REST APIs, API keys on usage plans) and `HTTP` (v2
    /// HTTP APIs, OAuth subscriptions on JWT authorizers). Upper case after
    /// [`AwsSettings::from_settings`]; unset or empty means `REST`.
    #[serde(default, deserialize_with = "comma_list")]
    pub api_types: Vec<String>,
    /// `includeTags`: keep only the APIs carrying one of these tags (`key` or `key=value`);
    /// none means every API. See `tag_filter.rs`.
    #[serde(default, deserialize_with = "comma_list")]
    pub include_tags: Vec<String>,
    /// `excludeTags`: leave out the APIs carrying one of these tags (`key` or `key=value`).
    #[serde(default, deserialize_with = "comma_list")]
    pub exclude_tags: Vec<String>,
    /// `apiKeyScope` (default `application`): one API key per Gravitee application, attached
    /// to every usage plan it subscribes to (APIM's shared API-key mode shows one key for all
    /// of an application's subscriptions), or `subscription`: one key per subscription. A
    /// SUBSCRIBE without `graviteeApplicationId` (APIM 4.4.0/4.4.1) always gets a key of its
    /// own.
    #[serde(default)]
    pub api_key_scope: ApiKeyScope,
}

/// Who an API key is issued to (`apiKeyScope`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiKeyScope {
    /// One key per Gravitee application and account/region, on every usage plan the
    /// application subscribes to (`application`, the default).
    #[default]
    Application,
    /// One key per Gravitee subscription (`subscription`).
    Subscription,
}

impl ApiKeyScope {
    /// The configuration value: `application` or `subscription`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Subscription => "subscription",
        }
    }
}

impl<'de> Deserialize<'de> for ApiKeyScope {
    /// `application` or `subscription`, in any case; an empty value is the default.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "application" => Ok(Self::Application),
            "subscription" => Ok(Self::Subscription),
            other => Err(serde::de::Error::custom(format!(
                "expected application or subscription, found `{other}`"
            ))),
        }
    }
}

fn default_session_name() -> String {
    "gravitee-federation-agent".to_owned()
}
fn default_rps() -> f64 {
    10.0
}
fn default_burst() -> u32 {
    40
}
fn default_key_rps() -> f64 {
    5.0
}
fn default_key_burst() -> u32 {
    5
}
fn default_concurrency() -> usize {
    8
}
fn default_retries() -> u32 {
    8
}
fn default_stage_cache_max_age() -> u64 {
    900
}
fn default_background_rps() -> f64 {
    2.0
}
/// The largest `stageCacheMaxAgeSeconds`: one day.
const MAX_STAGE_CACHE_AGE: u64 = 86_400;

impl AwsSettings {
    /// Extracts and validates the settings; errors name the full key.
    pub fn from_settings(settings: &ProviderSettings) -> Result<Self, SettingsError> {
        let mut parsed: Self = settings.extract()?;
        parsed.api_types = normalized_api_types(&parsed.api_types);
        parsed.validate(settings)?;
        Ok(parsed)
    }

    /// Settings for `region` with every other key at its default (the standard credential
    /// chain, usage-plan mode).
    pub fn for_region(region: impl Into<String>) -> Self {
        Self {
            region: vec![region.into()],
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            role_arn: Vec::new(),
            role_session_name: default_session_name(),
            accept_api_without_usage_plan: false,
            endpoint: None,
            requests_per_second: default_rps(),
            burst: default_burst(),
            api_key_requests_per_second: default_key_rps(),
            api_key_burst: default_key_burst(),
            max_concurrency: default_concurrency(),
            max_retries: default_retries(),
            stage_cache_max_age_seconds: default_stage_cache_max_age(),
            api_key_scope: ApiKeyScope::default(),
            api_types: normalized_api_types(&[]),
            include_tags: Vec::new(),
            exclude_tags: Vec::new(),
            background_requests_per_second: default_background_rps(),
        }
    }

    /// Whether REST APIs (API Gateway v1) are discovered (`apiTypes` holds `REST`).
    pub fn discovers_rest(&self) -> bool {
        self.api_types.iter().any(|t| t == API_TYPE_REST)
    }

    /// Whether HTTP APIs (API Gateway v2) are discovered (`apiTypes` holds `HTTP`).
    pub fn discovers_http(&self) -> bool {
        self.api_types.iter().any(|t| t == API_TYPE_HTTP)
    }

    /// Checks the values; `settings` names the keys in errors.
    pub fn validate(&self, settings: &ProviderSettings) -> Result<(), SettingsError> {
        if self.region.is_empty() {
            return Err(settings.error(
                "region",
                "is missing: set the AWS region (for example eu-west-1), or a comma-separated list",
            ));
        }
        for region in &self.region {
            if !is_region(region) {
                return Err(settings.error(
                    "region",
                    format!("is invalid: `{region}` is not an AWS region name (like eu-west-1)"),
                ));
            }
        }
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(_), None) => {
                return Err(settings.error(
                    "secretAccessKey",
                    "is missing: accessKeyId is set, so secretAccessKey must be too",
                ));
            }
            (None, Some(_)) => {
                return Err(settings.error(
                    "accessKeyId",
                    "is missing: secretAccessKey is set, so accessKeyId must be too",
                ));
            }
            _ => {}
        }
        if self.session_token.is_some() && self.access_key_id.is_none() {
            return Err(settings.error(
                "sessionToken",
                "is set without accessKeyId and secretAccessKey",
            ));
        }
        for arn in &self.role_arn {
            if account_of_role(arn).is_none() {
                return Err(settings.error(
                    "roleArn",
                    format!(
                        "is invalid: `{arn}` is not an IAM role ARN \
                         (arn:aws:iam::<12-digit account>:role/<name>)"
                    ),
                ));
            }
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(settings.error(
                "endpoint",
                format!("is invalid: `{endpoint}` must be an http:// or https:// URL"),
            ));
        }
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            return Err(settings.error("requestsPerSecond", "must be a number above 0"));
        }
        if !(self.api_key_requests_per_second.is_finite() && self.api_key_requests_per_second > 0.0)
        {
            return Err(settings.error("apiKeyRequestsPerSecond", "must be a number above 0"));
        }
        if !(self.background_requests_per_second.is_finite()
            && self.background_requests_per_second > 0.0)
        {
            return Err(settings.error("backgroundRequestsPerSecond", "must be a number above 0"));
        }
        if self.burst == 0 {
            return Err(settings.error("burst", "must be at least 1"));
        }
        if self.api_key_burst == 0 {
            return Err(settings.error("apiKeyBurst", "must be at least 1"));
        }
        if self.max_concurrency == 0 {
            return Err(settings.error("maxConcurrency", "must be at least 1"));
        }
        if self.stage_cache_max_age_seconds > MAX_STAGE_CACHE_AGE {
            return Err(settings.error(
                "stageCacheMaxAgeSeconds",
                format!("must be 0 (off) to {MAX_STAGE_CACHE_AGE} seconds (one day)"),
            ));
        }
        if self.role_session_name.is_empty() || self.role_session_name.len() > 64 {
            return Err(settings.error("roleSessionName", "must be 1 to 64 characters"));
        }
        for kind in &self.api_types {
            if kind != API_TYPE_REST && kind != API_TYPE_HTTP {
                return Err(settings.error(
                    "apiTypes",
                    format!(
                        "is invalid: `{kind}` is not an API type; use REST, HTTP or both \
                         (REST,HTTP); WebSocket APIs are not federated"
                    ),
                ));
            }
        }
        for (key, rules) in [
            ("includeTags", &self.include_tags),
            ("excludeTags", &self.exclude_tags),
        ] {
            for rule in rules {
                if let Err(why) = crate::tag_filter::TagRule::parse(rule) {
                    return Err(settings.error(key, format!("is invalid: {why}")));
                }
            }
        }
        Ok(())
    }
}

/// `apiTypes` value for REST APIs (API Gateway v1).
pub(crate) const API_TYPE_REST: &str = "REST";
/// `apiTypes` value for HTTP APIs (API Gateway v2).
pub(crate) const API_TYPE_HTTP: &str = "HTTP";

/// `apiTypes` in upper case, without repeats; `REST` when empty (so upgrading changes nothing).
fn normalized_api_types(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for kind in raw {
        let kind = kind.trim().to_ascii_uppercase();
        if !kind.is_empty() && !out.contains(&kind) {
            out.push(kind);
        }
    }
    if out.is_empty() {
        out.push(API_TYPE_REST.to_owned());
    }
    out
}

/// The 12-digit account id of an IAM role ARN, or `None` when `arn` is not a role ARN.
pub(crate) fn account_of_role(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let valid = arn_word == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.starts_with("role/")
        && resource.len() > "role/".len();
    valid.then_some(account)
}

/// Whether `name` looks like an AWS region (`eu-west-1`, `us-gov-east-1`, `cn-north-1`).
fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

fn optional_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

fn optional_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(optional_string(d)?.map(Secret::from))
}

fn string_or_default_session<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(optional_string(d)?.unwrap_or_else(default_session_name))
}

/// A `bool` that also accepts `"true"`/`"false"` in any case, and an empty string as `false`.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrString {
        Bool(bool),
        String(String),
    }
    match BoolOrString::deserialize(d)? {
        BoolOrString::Bool(b) => Ok(b),
        BoolOrString::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "false" => Ok(false),
            "true" => Ok(true),
            other => Err(serde::de::Error::custom(format!(
                "expected true or false, found `{other}`"
            ))),
        },
    }
}

#[cfg(test)]
mod tests;
