//! Gravitee Next-Gen Cloud: the `cloud.token` of the install guide.
//!
//! A cloud token is a JWT signed by Gravitee. Like Gravitee's public clients (the Kubernetes
//! operator, the Terraform provider), the agent decodes it **without verifying the signature**
//! (Cloud Gate does that) and requires the claims `org` (organization id), `envs` (a non-empty
//! list of environment ids) and `cpg` (the control-plane geography, `eu` or `us`); it also
//! refuses a token whose `exp` has passed. Any problem stops the agent with an error naming
//! `cloud.token` and where it was set; the token itself is never printed.
//!
//! What the agent then does ([`apply`], called by the loader before validation):
//! - no `integration.connector.ws.endpoints` configured: connect to
//!   `https://{cpg}.cloudgate.gravitee.io/apim/integration` (the Cloud Gate's federation-agent
//!   path); `cloud.gateUrl` replaces `https://{cpg}.cloudgate.gravitee.io` (this agent's key,
//!   for tests and private Cloud Gates; `{cpg}` is substituted);
//! - no `Authorization` header configured (or one holding only `bearer` and no credential, as
//!   the seed's compose file gives with an empty `WS_AUTH_TOKEN`): send
//!   `Authorization: Bearer <cloud token>`;
//! - configured endpoints and headers win; `cloud.enabled: false` turns all of this off;
//! - with the derived endpoint, `cloud.client.proxy.*` and `cloud.client.ssl.*` (Gravitee's
//!   settings for every Cloud Gate connection: a corporate proxy, a private CA) apply to it,
//!   each key unless its `integration.connector.ws.proxy.*` / `.ssl.*` counterpart is set,
//!   as Gravitee documents (`docs/reference/cloud-token.md`). A store (`truststore.*`,
//!   `keystore.*`) goes as a whole; `hostnameVerifier` is `verifyHost`. With a configured
//!   endpoint they are not applied: that endpoint is not the derived Cloud Gate.
//!
//! The choice is returned as a [`CloudConnection`] and logged once by the loader, without
//! secrets.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use federation_core::Secret;
use federation_core::settings::Origins;
use serde::Deserialize;

use crate::error::ConfigError;
use crate::model::{AgentConfig, HeaderConfig};

/// The Cloud Gate base URL, `{cpg}` being the token's `cpg` claim.
pub const DEFAULT_GATE_URL: &str = "https://{cpg}.cloudgate.gravitee.io";
/// The Cloud Gate path of the federation agents' integration controller.
pub const INTEGRATION_PATH: &str = "/apim/integration";

const TOKEN_KEY: &str = "cloud.token";
const GATE_KEY: &str = "cloud.gateUrl";
/// A token expiring sooner than this (seconds) is worth a warning at start.
const SOON: u64 = 7 * 86_400;

/// base64url, with or without padding (JWTs have none; be lenient with copies that do).
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The claims of a cloud token the agent uses (identifiers, not secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudToken {
    /// `org`: the organization id.
    pub organization: String,
    /// `envs`: the environment ids (at least one).
    pub environments: Vec<String>,
    /// `cpg`: the control-plane geography (`eu`, `us`), the Cloud Gate's host prefix.
    pub geography: String,
    /// `exp`: expiry, seconds since the Unix epoch, when the token has one.
    pub expires_at: Option<u64>,
}

/// Why a cloud token cannot be used. The text never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloudTokenError {
    /// Not three base64url parts separated by `.`, or a part is not JSON.
    #[error("is not a JWT: {0}")]
    NotAJwt(&'static str),
    /// A required claim is absent, blank or of the wrong type.
    #[error("has no usable `{claim}` claim: {problem}")]
    Claim {
        /// The claim (`org`, `envs`, `cpg`, `exp`).
        claim: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `exp` is in the past.
    #[error("expired at {} (claim `exp`): ask Gravitee Cloud for a new token", utc(*expired_at))]
    Expired {
        /// The `exp` claim.
        expired_at: u64,
    },
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    org: Option<serde_json::Value>,
    #[serde(default)]
    envs: Option<serde_json::Value>,
    #[serde(default)]
    cpg: Option<serde_json::Value>,
    #[serde(default)]
    exp: Option<serde_json::Value>,
}

impl CloudToken {
    /// Decodes `token` (no signature check) and checks its claims against `now`.
    pub fn decode(token: &str, now: SystemTime) -> Result<Self, CloudTokenError> {
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CloudTokenError::NotAJwt(
                "expected three base64url parts separated by `.`",
            ));
        };
        let header = BASE64URL
            .decode(header)
            .map_err(|_| CloudTokenError::NotAJwt("its header is not base64url"))?;
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header)
            .map_err(|_| CloudTokenError::NotAJwt("its header is not a JSON object"))?;
        let payload = BASE64URL
            .decode(payload)
            .map_err(|_| CloudTokenError::NotAJwt("its payload is not base64url"))?;
        let claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&payload)
                .map_err(|_| CloudTokenError::NotAJwt("its payload is not a JSON object"))?;
        let claims: Claims = serde_json::from_value(serde_json::Value::Object(claims))
            .map_err(|_| CloudTokenError::NotAJwt("its payload is not a JSON object"))?;

        let organization = text_claim("org", claims.org)?;
        let environments = match claims.envs {
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(s) if !s.trim().is_empty() => Ok(s),
                    _ => Err(CloudTokenError::Claim {
                        claim: "envs",
                        problem: "every environment id must be a non-blank string",
                    }),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(CloudTokenError::Claim {
                    claim: "envs",
                    problem: "expected a list of environment ids",
                });
            }
            None => Vec::new(),
        };
        if environments.is_empty() {
            return Err(CloudTokenError::Claim {
                claim: "envs",
                problem: "missing or empty",
            });
        }
        let geography = text_claim("cpg", claims.cpg)?;
        let label = geography.as_bytes();
        if label.len() > 63
            || !label
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            || label.first() == Some(&b'-')
            || label.last() == Some(&b'-')
        {
            return Err(CloudTokenError::Claim {
                claim: "cpg",
                problem: "expected a host name label such as `eu` or `us`",
            });
        }
        let expires_at = match claims.exp {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => match n.as_f64() {
                // NumericDate may carry a fraction; whole seconds are enough here.
                Some(seconds) if seconds >= 0.0 => Some(seconds as u64),
                _ => {
                    return Err(CloudTokenError::Claim {
                        claim: "exp",
                        problem: "expected a date in seconds since 1970",
                    });
                }
            },
            Some(_) => {
                return Err(CloudTokenError::Claim {
                    claim: "exp",
                    problem: "expected a date in seconds since 1970",
                });
            }
        };
        if let Some(expired_at) = expires_at {
            let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            if expired_at <= now {
                return Err(CloudTokenError::Expired { expired_at });
            }
        }
        Ok(Self {
            organization,
            environments,
            geography,
            expires_at,
        })
    }

    /// The federation-agent endpoint behind the Cloud Gate: `gate` (a URL where `{cpg}` stands
    /// for the geography; [`DEFAULT_GATE_URL`] when `None`) followed by [`INTEGRATION_PATH`].
    pub fn integration_endpoint(&self, gate: Option<&str>) -> String {
        let gate = gate.unwrap_or(DEFAULT_GATE_URL).trim();
        format!(
            "{}{INTEGRATION_PATH}",
            gate.replace("{cpg}", &self.geography).trim_end_matches('/')
        )
    }
}

fn text_claim(
    claim: &'static str,
    value: Option<serde_json::Value>,
) -> Result<String, CloudTokenError> {
    match value {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(serde_json::Value::String(_)) | None | Some(serde_json::Value::Null) => {
            Err(CloudTokenError::Claim {
                claim,
                problem: "missing or blank",
            })
        }
        Some(_) => Err(CloudTokenError::Claim {
            claim,
            problem: "expected a string",
        }),
    }
}

/// Where the agent connects, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointChoice {
    /// Derived from the token's `cpg` claim (no endpoint configured).
    Derived(String),
    /// `integration.connector.ws.endpoints` is configured and wins.
    Configured,
}

/// Which credential the agent sends, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialChoice {
    /// `Authorization: Bearer <cloud token>` (no `Authorization` header configured).
    CloudToken,
    /// The configured `Authorization` header wins.
    ConfiguredHeader,
}

/// What the agent made of `cloud.*` (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudConnection {
    /// The token's claims.
    pub token: CloudToken,
    /// The endpoint used.
    pub endpoint: EndpointChoice,
    /// The credential used.
    pub credential: CredentialChoice,
    /// The `cloud.client.*` keys applied to the derived Cloud Gate connection (those not
    /// overridden by `integration.connector.ws.*`).
    pub client_keys: Vec<String>,
}

impl CloudConnection {
    /// Logs the choice once, at `info`, without secrets.
    pub fn log(&self, endpoints: &[String]) {
        let endpoint_why = match &self.endpoint {
            EndpointChoice::Derived(_) => {
                "derived from cloud.token's cpg claim: no integration.connector.ws.endpoints is configured"
            }
            EndpointChoice::Configured => {
                "integration.connector.ws.endpoints is configured and wins over cloud.token"
            }
        };
        let (credential, credential_why) = match self.credential {
            CredentialChoice::CloudToken => (
                "cloud token (Authorization: Bearer)",
                "no Authorization header is configured",
            ),
            CredentialChoice::ConfiguredHeader => (
                "configured Authorization header",
                "integration.connector.ws.headers has an Authorization header, which wins over cloud.token",
            ),
        };
        let client = if self.client_keys.is_empty() {
            "none".to_owned()
        } else {
            self.client_keys.join(", ")
        };
        tracing::info!(
            endpoints = %endpoints.join(", "),
            endpoint_source = endpoint_why,
            cloud_client = %client,
            credential,
            credential_source = credential_why,
            organization = %self.token.organization,
            environments = %self.token.environments.join(","),
            geography = %self.token.geography,
            token_expires = %self.token.expires_at.map_or_else(|| "never".to_owned(), utc),
            "Gravitee Cloud token in use: connecting to {} with the {credential}.",
            endpoints.join(", ")
        );
    }
}

/// Applies `cloud.*` to `config` (see the module documentation): decodes and checks the token,
/// fills in the endpoint and the `Authorization` header when they are not configured. `None`
/// when there is no token or `cloud.enabled` is false.
pub fn apply(
    config: &mut AgentConfig,
    origins: &Origins,
    now: SystemTime,
) -> Result<Option<CloudConnection>, ConfigError> {
    let Some(secret) = config
        .cloud
        .token
        .clone()
        .filter(|t| !t.expose().trim().is_empty())
    else {
        return Ok(None);
    };
    if !config.cloud.enabled {
        tracing::info!("cloud.enabled is false: cloud.token is ignored.");
        return Ok(None);
    }
    let error = |key: &str, problem: String| ConfigError::setting(origins, key, problem);
    let token = CloudToken::decode(secret.expose(), now).map_err(|e| {
        let hint = match e {
            CloudTokenError::NotAJwt(_) => {
                " (with a self-hosted APIM, remove the cloud section or set cloud.enabled=false)"
            }
            _ => "",
        };
        error(TOKEN_KEY, format!("{e}{hint}"))
    })?;

    if let Some(expires_at) = token.expires_at {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if expires_at.saturating_sub(now) < SOON {
            tracing::warn!(
                expires = %utc(expires_at),
                "cloud.token expires in less than 7 days; the agent cannot reconnect after that: \
                 ask Gravitee Cloud for a new token."
            );
        }
    }

    let ws = &mut config.integration.connector.ws;
    let endpoint = if ws.endpoints_cleaned().is_empty() {
        let gate = config
            .cloud
            .gate_url
            .as_deref()
            .filter(|g| !g.trim().is_empty());
        let derived = token.integration_endpoint(gate);
        let url = url::Url::parse(&derived)
            .map_err(|e| error(GATE_KEY, format!("does not give a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https" | "ws" | "wss")
            || url.host_str().is_none_or(str::is_empty)
        {
            return Err(error(
                GATE_KEY,
                "must be an http(s) URL with a host, such as https://{cpg}.cloudgate.gravitee.io"
                    .to_owned(),
            ));
        }
        ws.endpoints = vec![derived.clone()];
        EndpointChoice::Derived(derived)
    } else {
        EndpointChoice::Configured
    };
    let client_keys = match endpoint {
        EndpointChoice::Derived(_) => crate::cloud_client::apply(config, origins)?,
        EndpointChoice::Configured => {
            if origins.keys().any(|k| k.starts_with("cloud.client.")) {
                tracing::info!(
                    "cloud.client.* is not applied: integration.connector.ws.endpoints is \
                     configured, so the connection is not the derived Cloud Gate one \
                     (integration.connector.ws.proxy.* and .ssl.* apply to it)."
                );
            }
            Vec::new()
        }
    };
    let ws = &mut config.integration.connector.ws;

    let configured = ws
        .headers
        .iter()
        .any(|h| h.name.trim().eq_ignore_ascii_case("authorization") && has_credential(&h.value));
    let credential = if configured {
        CredentialChoice::ConfiguredHeader
    } else {
        // An `Authorization: bearer ` without a credential (an empty variable) is replaced.
        ws.headers
            .retain(|h| !h.name.trim().eq_ignore_ascii_case("authorization"));
        ws.headers.push(HeaderConfig::new(
            "Authorization",
            Secret::new(format!("Bearer {}", secret.expose().trim())),
        ));
        CredentialChoice::CloudToken
    };
    Ok(Some(CloudConnection {
        token,
        endpoint,
        credential,
        client_keys,
    }))
}

/// Whether an `Authorization` value carries a credential: not blank, and not only a scheme.
fn has_credential(value: &Secret) -> bool {
    let value = value.expose().trim();
    let rest = match value.get(..6) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer") => &value[6..],
        _ => value,
    };
    !rest.trim().is_empty()
}

/// `2026-11-30T15:00:00Z` for seconds since the Unix epoch (RFC 3339 in UTC); a time RFC 3339
/// cannot write (after the year 9999) as the number of seconds.
fn utc(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{seconds} s after 1970-01-01T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::time::Duration;

    fn jwt(claims: serde_json::Value) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"kid":"saas","alg":"RS512"}"#);
        let payload = b64.encode(claims.to_string());
        format!("{header}.{payload}.c2lnbmF0dXJl")
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn a_token_shaped_like_the_public_sample_decodes() {
        let token = jwt(serde_json::json!({
            "sub": "b5a0", "cpp": "x", "cpr": "y", "org": "org-1", "iss": "cloud",
            "envs": ["env-1", "env-2"], "ttk": "t", "cp": "c", "target": "apim",
            "aud": "CloudGate", "cpg": "eu", "scopes": ["sync", "reports", "integration", "rest"],
            "exp": 2_000_000_000u64, "iat": 1_700_000_000u64
        }));
        let decoded = CloudToken::decode(&token, at(1_800_000_000)).unwrap();
        assert_eq!(decoded.organization, "org-1");
        assert_eq!(decoded.environments, ["env-1", "env-2"]);
        assert_eq!(decoded.geography, "eu");
        assert_eq!(decoded.expires_at, Some(2_000_000_000));
        assert_eq!(
            decoded.integration_endpoint(None),
            "https://eu.cloudgate.gravitee.io/apim/integration"
        );
        assert_eq!(
            decoded.integration_endpoint(Some("http://{cpg}.gate.test:8080/")),
            "http://eu.gate.test:8080/apim/integration"
        );
    }

    #[test]
    fn bad_tokens_are_refused_without_echoing_them() {
        let now = at(1_800_000_000);
        let cases = [
            ("not-a-jwt", "is not a JWT"),
            ("a.b", "is not a JWT"),
            ("a.b.c.d", "is not a JWT"),
            ("!!!.e30.sig", "header is not base64url"),
            (
                &jwt(serde_json::json!([1, 2])),
                "payload is not a JSON object",
            ),
            (
                &jwt(serde_json::json!({"envs": ["e"], "cpg": "eu"})),
                "`org` claim: missing",
            ),
            (
                &jwt(serde_json::json!({"org": "o", "envs": [], "cpg": "eu"})),
                "`envs` claim: missing or empty",
            ),
            (
                &jwt(serde_json::json!({"org": "o", "envs": "e", "cpg": "eu"})),
                "`envs` claim: expected a list",
            ),
            (
                &jwt(serde_json::json!({"org": "o", "envs": ["e"]})),
                "`cpg` claim: missing",
            ),
            (
                &jwt(serde_json::json!({"org": "o", "envs": ["e"], "cpg": "evil.com/x"})),
                "`cpg` claim: expected a host name label",
            ),
            (
                &jwt(serde_json::json!({"org": 5, "envs": ["e"], "cpg": "eu"})),
                "`org` claim: expected a string",
            ),
            (
                &jwt(serde_json::json!({"org": "o", "envs": ["e"], "cpg": "eu", "exp": "soon"})),
                "`exp` claim",
            ),
            (
                &jwt(
                    serde_json::json!({"org": "o", "envs": ["e"], "cpg": "eu", "exp": 1_700_000_000u64}),
                ),
                "expired at 2023-11-14T22:13:20Z",
            ),
        ];
        for (token, expected) in cases {
            let error = CloudToken::decode(token, now).unwrap_err().to_string();
            assert!(error.contains(expected), "{token}: {error}");
            if token.len() > 12 {
                assert!(!error.contains(token), "{error}");
            }
        }
    }

    #[test]
    fn a_token_without_exp_does_not_expire() {
        let token = jwt(serde_json::json!({"org": "o", "envs": ["e"], "cpg": "us"}));
        let decoded = CloudToken::decode(&token, at(u32::MAX.into())).unwrap();
        assert_eq!(decoded.expires_at, None);
    }

    #[test]
    fn a_scheme_alone_is_no_credential() {
        assert!(!has_credential(&Secret::new("bearer ")));
        assert!(!has_credential(&Secret::new("  Bearer")));
        assert!(!has_credential(&Secret::new("")));
        assert!(has_credential(&Secret::new("bearer abc")));
        assert!(has_credential(&Secret::new("Basic dXNlcg==")));
    }

    #[test]
    fn dates_are_printed_in_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(utc(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(
            utc(u64::MAX),
            "18446744073709551615 s after 1970-01-01T00:00:00Z"
        );
    }
}
