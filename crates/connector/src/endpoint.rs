//! Controller endpoints: from a configured URL to the WebSocket URL the agent dials.
//!
//! Like the reference connector: the path gets `/exchange/controller` appended (a trailing `/`
//! is removed first), the query string is dropped, and the default port is 443 for secure
//! schemes and 80 otherwise. `http(s)://` endpoints are what Gravitee documents; `ws(s)://` is
//! accepted too.

use std::fmt;

use crate::error::ConnectorError;

/// The path the controller serves, appended to the configured endpoint's path.
pub(crate) const EXCHANGE_CONTROLLER_PATH: &str = "/exchange/controller";

/// A controller endpoint, ready to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The endpoint as configured.
    pub(crate) configured: String,
    /// Whether TLS is used (`https` / `wss`).
    pub(crate) secure: bool,
    /// Host name or IP address (without brackets).
    pub(crate) host: String,
    /// TCP port.
    pub(crate) port: u16,
    /// Request path, ending in `/exchange/controller`.
    pub(crate) path: String,
}

impl Endpoint {
    /// Parses a configured endpoint URL.
    pub(crate) fn parse(configured: &str) -> Result<Self, ConnectorError> {
        let invalid = |why: &str| ConnectorError::InvalidEndpoint {
            endpoint: configured.to_owned(),
            reason: why.to_owned(),
        };
        let trimmed = configured.trim();
        let uri: http::Uri = trimmed.parse().map_err(|_| invalid("not a URL"))?;
        let secure = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("https" | "wss") => true,
            Some("http" | "ws") => false,
            Some(other) => {
                return Err(invalid(&format!(
                    "unsupported scheme `{other}` (use https://, http://, wss:// or ws://)"
                )));
            }
            None => {
                return Err(invalid(
                    "missing scheme (use https://host/integration-controller)",
                ));
            }
        };
        let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid(
                "user information in the URL is not supported; use headers",
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid("missing host"));
        }
        let port = authority
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        let base = uri.path().trim_end_matches('/');
        Ok(Self {
            configured: trimmed.to_owned(),
            secure,
            host: host.to_owned(),
            port,
            path: format!("{base}{EXCHANGE_CONTROLLER_PATH}"),
        })
    }

    /// The WebSocket URL (`wss://host:port/path/exchange/controller`).
    pub(crate) fn ws_url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}{}", self.port, self.path)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ws_url())
    }
}

/// Endpoints tried round-robin, one per connection attempt.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    list: Vec<Endpoint>,
    next: usize,
}

impl Endpoints {
    /// Parses every non-blank configured endpoint; at least one is required.
    pub(crate) fn parse(configured: &[String]) -> Result<Self, ConnectorError> {
        let list = configured
            .iter()
            .filter(|e| !e.trim().is_empty())
            .map(|e| Endpoint::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        if list.is_empty() {
            return Err(ConnectorError::NoEndpoint);
        }
        Ok(Self { list, next: 0 })
    }

    /// The endpoint for the next attempt.
    pub(crate) fn next_endpoint(&mut self) -> &Endpoint {
        let index = self.next % self.list.len();
        self.next = self.next.wrapping_add(1);
        &self.list[index]
    }

    /// Starts from the first endpoint again (after a successful connection).
    pub(crate) fn reset(&mut self) {
        self.next = 0;
    }

    /// All endpoints.
    pub(crate) fn all(&self) -> &[Endpoint] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_the_exchange_path_and_drops_the_query() {
        let e = Endpoint::parse("https://apim.example.com/integration-controller/?x=1").unwrap();
        assert_eq!(
            e.ws_url(),
            "wss://apim.example.com:443/integration-controller/exchange/controller"
        );
        let e = Endpoint::parse("http://127.0.0.1:8072").unwrap();
        assert_eq!(e.ws_url(), "ws://127.0.0.1:8072/exchange/controller");
        let e = Endpoint::parse("wss://[::1]:9000/a/b/").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 9000));
        assert_eq!(e.ws_url(), "wss://[::1]:9000/a/b/exchange/controller");
    }

    #[test]
    fn rejects_bad_endpoints_with_the_reason() {
        let err = Endpoint::parse("ftp://x").unwrap_err().to_string();
        assert!(err.contains("unsupported scheme `ftp`"), "{err}");
        let err = Endpoint::parse("apim.example.com").unwrap_err().to_string();
        assert!(err.contains("missing scheme"), "{err}");
        assert!(matches!(
            Endpoints::parse(&[" ".into()]),
            Err(ConnectorError::NoEndpoint)
        ));
    }

    #[test]
    fn rotates_round_robin_and_resets() {
        let mut endpoints =
            Endpoints::parse(&["http://a".into(), "".into(), "http://b".into()]).unwrap();
        let hosts: Vec<_> = (0..3)
            .map(|_| endpoints.next_endpoint().host.clone())
            .collect();
        assert_eq!(hosts, ["a", "b", "a"]);
        endpoints.reset();
        assert_eq!(endpoints.next_endpoint().host, "a");
    }
}
