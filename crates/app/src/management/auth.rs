//! Basic authentication of the management endpoints (`services.core.http.authentication.*`).
//!
//! As in gravitee-node, `authentication.type` is `basic` (the default) or `none`, and the users
//! are `authentication.users.<name>: <password>`. Credentials are compared in constant time
//! (for inputs of equal length) and every configured user is compared, so the time taken does
//! not say which user name exists. Neither the header nor a password is ever logged.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use federation_config::AuthenticationConfig;
use federation_core::Secret;
use subtle::{Choice, ConstantTimeEq};

use crate::error::AppError;

/// The `WWW-Authenticate` challenge of a 401.
pub const CHALLENGE: &str = "Basic realm=\"federation-agent\"";

/// Who may call the management endpoints.
#[derive(Clone)]
pub struct Authenticator {
    users: Option<Vec<(String, Secret)>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Option<Vec<&str>> = self
            .users
            .as_ref()
            .map(|u| u.iter().map(|(name, _)| name.as_str()).collect());
        f.debug_struct("Authenticator")
            .field("users", &users)
            .finish()
    }
}

impl Authenticator {
    /// Anyone may call.
    pub fn open() -> Self {
        Self { users: None }
    }

    /// Only these users (name, password) may call.
    pub fn basic<N: Into<String>, P: Into<Secret>>(
        users: impl IntoIterator<Item = (N, P)>,
    ) -> Self {
        Self {
            users: Some(
                users
                    .into_iter()
                    .map(|(n, p)| (n.into(), p.into()))
                    .collect(),
            ),
        }
    }

    /// From `services.core.http.authentication.*`: `type: none` is open; `type: basic` with
    /// users enforces them. `type: basic` without any user is open (gravitee-node would refuse
    /// every call) and logged as a warning by [`Self::warning`]. Any other type is a
    /// configuration error.
    pub fn from_config(config: &AuthenticationConfig) -> Result<Self, AppError> {
        match config.auth_type.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Self::open()),
            "basic" | "" if config.users.is_empty() => Ok(Self::open()),
            "basic" | "" => Ok(Self::basic(config.users.clone())),
            other => Err(AppError::Management {
                key: "services.core.http.authentication.type",
                message: format!("is `{other}`; expected basic or none"),
            }),
        }
    }

    /// A warning to log at start-up about this configuration, if any.
    pub fn warning(config: &AuthenticationConfig) -> Option<String> {
        let basic = !config.auth_type.trim().eq_ignore_ascii_case("none");
        (basic && config.users.is_empty()).then(|| {
            "services.core.http.authentication.type is basic but no user is configured \
             (services.core.http.authentication.users.<name>=<password>): the management \
             endpoints answer without authentication"
                .to_owned()
        })
    }

    /// [`Self::warning`] for a service listening on `address`: none on a loopback address,
    /// where only programs on this host can call.
    pub fn listening_warning(
        config: &AuthenticationConfig,
        address: std::net::IpAddr,
    ) -> Option<String> {
        if address.is_loopback() {
            None
        } else {
            Self::warning(config)
        }
    }

    /// Whether anyone may call.
    pub fn is_open(&self) -> bool {
        self.users.is_none()
    }

    /// Whether an `Authorization` header value carries a configured user's credentials.
    pub fn accepts(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(users) = &self.users else {
            return true;
        };
        let Some((name, password)) = authorization.and_then(decode_basic) else {
            return false;
        };
        let mut matched = Choice::from(0);
        for (user, secret) in users {
            matched |= user.as_bytes().ct_eq(name.as_bytes())
                & secret.expose().as_bytes().ct_eq(password.as_bytes());
        }
        matched.into()
    }
}

/// `Basic base64(name:password)` → (name, password).
fn decode_basic(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (name, password) = decoded.split_once(':')?;
    Some((name.to_owned(), password.to_owned()))
}

/// The axum middleware: 401 with `WWW-Authenticate: Basic` unless the caller is accepted.
pub async fn require(State(auth): State<Authenticator>, request: Request, next: Next) -> Response {
    if auth.accepts(request.headers().get(header::AUTHORIZATION)) {
        return next.run(request).await;
    }
    let mut response = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(CHALLENGE),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn header(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    fn basic(name: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"));
        header(&format!("Basic {encoded}"))
    }

    #[test]
    fn only_configured_credentials_pass() {
        let auth = Authenticator::basic([("admin", "adminadmin"), ("ops", "p:w")]);
        assert!(auth.accepts(Some(&basic("admin", "adminadmin"))));
        assert!(
            auth.accepts(Some(&basic("ops", "p:w"))),
            "a password may contain ':'"
        );
        assert!(!auth.accepts(Some(&basic("admin", "adminadmiN"))));
        assert!(!auth.accepts(Some(&basic("admin", "ops"))));
        assert!(
            !auth.accepts(Some(&basic("ops", "adminadmin"))),
            "each user has its own password"
        );
        assert!(!auth.accepts(Some(&basic("nobody", "adminadmin"))));
        assert!(!auth.accepts(None));
        assert!(!auth.accepts(Some(&header("Bearer adminadmin"))));
        assert!(!auth.accepts(Some(&header("Basic !!notbase64"))));
        assert!(auth.accepts(Some(&header(&format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode("admin:adminadmin")
        )))));
    }

    #[test]
    fn configuration_types() {
        let mut config = AuthenticationConfig::default();
        assert!(Authenticator::from_config(&config).unwrap().is_open());
        assert!(Authenticator::warning(&config).is_some());
        let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let any: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        assert!(Authenticator::listening_warning(&config, loopback).is_none());
        assert!(Authenticator::listening_warning(&config, "::1".parse().unwrap()).is_none());
        assert!(Authenticator::listening_warning(&config, any).is_some());
        config.users = BTreeMap::from([("admin".to_owned(), Secret::new("adminadmin"))]);
        let auth = Authenticator::from_config(&config).unwrap();
        assert!(!auth.is_open());
        assert!(Authenticator::warning(&config).is_none());
        assert!(!format!("{auth:?}").contains("adminadmin"));
        config.auth_type = "NONE".to_owned();
        assert!(Authenticator::from_config(&config).unwrap().is_open());
        config.auth_type = "oauth".to_owned();
        let err = Authenticator::from_config(&config).unwrap_err().to_string();
        assert!(
            err.contains("services.core.http.authentication.type"),
            "{err}"
        );
        assert_eq!(
            Authenticator::from_config(&config).unwrap_err().exit_code(),
            2
        );
    }
}
