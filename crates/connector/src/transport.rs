//! Opening a WebSocket to the controller: TCP (with keep-alive), an optional HTTP CONNECT
//! proxy, TLS, and the upgrade with `X-Gravitee-Exchange-Protocol: v1` and the configured
//! headers. Only this module and [`crate::session`] touch the network.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use federation_connector_config::{HeaderConfig, ProxyConfig};
use federation_core::Secret;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::endpoint::Endpoint;
use crate::error::ConnectorError;

/// The header that selects the V1 exchange protocol.
pub(crate) const PROTOCOL_HEADER: &str = "X-Gravitee-Exchange-Protocol";
/// Its value.
pub(crate) const PROTOCOL_VERSION: &str = "v1";

/// Any byte stream the WebSocket can run on.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// An open controller connection.
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<Box<dyn Io>>>;

/// Why one connection attempt failed (retried with backoff). Never holds a header value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The attempt took too long.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// TCP failed.
    #[error("cannot reach {target}: {source}")]
    Io {
        /// host:port.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The proxy failed or refused.
    #[error("proxy {proxy}: {reason}")]
    Proxy {
        /// host:port of the proxy.
        proxy: String,
        /// What happened.
        reason: String,
    },
    /// The controller answered the upgrade with an HTTP status.
    #[error("the controller refused the connection with HTTP {status}{hint}")]
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// What it usually means.
        hint: &'static str,
    },
    /// TLS or the WebSocket handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(String),
}

/// A resolved HTTP CONNECT proxy.
#[derive(Clone)]
pub(crate) struct Proxy {
    host: String,
    port: u16,
    credentials: Option<(String, Secret)>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({}:{})", self.host, self.port)
    }
}

impl Proxy {
    /// The proxy `connector.ws.proxy.*` selects (or `system.proxy.*` with `useSystemProxy`).
    pub(crate) fn from_config(
        proxy: &ProxyConfig,
        system: &ProxyConfig,
    ) -> Result<Option<Self>, ConnectorError> {
        if !proxy.enabled {
            return Ok(None);
        }
        let (chosen, prefix) = if proxy.use_system_proxy {
            (system, "system.proxy")
        } else {
            (proxy, "integration.connector.ws.proxy")
        };
        if !chosen.proxy_type.eq_ignore_ascii_case("HTTP") {
            return Err(ConnectorError::setting(
                &format!("{prefix}.type"),
                format!(
                    "`{}` is not supported; only HTTP (CONNECT) proxies are",
                    chosen.proxy_type
                ),
            ));
        }
        let host = chosen
            .host
            .clone()
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| ConnectorError::setting(&format!("{prefix}.host"), "is missing"))?;
        let credentials = chosen
            .username
            .clone()
            .filter(|u| !u.is_empty())
            .map(|u| (u, chosen.password.clone().unwrap_or_default()));
        Ok(Some(Self {
            host,
            port: chosen.port,
            credentials,
        }))
    }
}

/// Everything needed to open connections; built once at start-up.
#[derive(Clone)]
pub(crate) struct Transport {
    tls: Arc<rustls::ClientConfig>,
    headers: Vec<(HeaderName, HeaderValue)>,
    ws_config: WebSocketConfig,
    keep_alive: bool,
    proxy: Option<Proxy>,
    timeout: Duration,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("proxy", &self.proxy)
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

impl Transport {
    /// Validates the headers and assembles the transport.
    pub(crate) fn new(
        tls: Arc<rustls::ClientConfig>,
        headers: &[HeaderConfig],
        max_message_size: usize,
        keep_alive: bool,
        proxy: Option<Proxy>,
    ) -> Result<Self, ConnectorError> {
        let mut parsed = Vec::with_capacity(headers.len());
        for (i, header) in headers.iter().enumerate() {
            let key = format!("integration.connector.ws.headers[{i}]");
            let name = HeaderName::from_bytes(header.name.trim().as_bytes()).map_err(|_| {
                ConnectorError::setting(&format!("{key}.name"), "is not a valid header name")
            })?;
            let mut value = HeaderValue::from_str(header.value.expose().trim()).map_err(|_| {
                ConnectorError::setting(
                    &format!("{key}.value"),
                    "contains characters not allowed in a header",
                )
            })?;
            value.set_sensitive(true);
            parsed.push((name, value));
        }
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(32 * 1024)
            .write_buffer_size(0)
            .max_message_size(Some(max_message_size))
            .max_frame_size(Some(max_message_size));
        Ok(Self {
            tls,
            headers: parsed,
            ws_config,
            keep_alive,
            proxy,
            timeout: Duration::from_secs(30),
        })
    }

    /// Opens a WebSocket to `endpoint`.
    pub(crate) async fn connect(&self, endpoint: &Endpoint) -> Result<WsStream, ConnectError> {
        tokio::time::timeout(self.timeout, self.connect_inner(endpoint))
            .await
            .map_err(|_| ConnectError::Timeout(self.timeout))?
    }

    async fn connect_inner(&self, endpoint: &Endpoint) -> Result<WsStream, ConnectError> {
        let io: Box<dyn Io> = match &self.proxy {
            None => Box::new(self.tcp(&endpoint.host, endpoint.port).await?),
            Some(proxy) => {
                let tcp = self.tcp(&proxy.host, proxy.port).await?;
                tunnel(tcp, proxy, &endpoint.host, endpoint.port).await?
            }
        };
        let mut request = endpoint
            .ws_url()
            .into_client_request()
            .map_err(|e| ConnectError::Handshake(e.to_string()))?;
        let headers = request.headers_mut();
        headers.insert(PROTOCOL_HEADER, HeaderValue::from_static(PROTOCOL_VERSION));
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        let connector = if endpoint.secure {
            Connector::Rustls(self.tls.clone())
        } else {
            Connector::Plain
        };
        match tokio_tungstenite::client_async_tls_with_config(
            request,
            io,
            Some(self.ws_config),
            Some(connector),
        )
        .await
        {
            Ok((stream, _response)) => Ok(stream),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status();
                let hint = match status.as_u16() {
                    401 | 403 => {
                        " (check the Authorization header: the token is missing, wrong or expired)"
                    }
                    404 => " (check the endpoint path: it usually ends in /integration-controller)",
                    410 => " (the controller is shutting down)",
                    _ => "",
                };
                Err(ConnectError::Refused { status, hint })
            }
            Err(e) => Err(ConnectError::Handshake(e.to_string())),
        }
    }

    async fn tcp(&self, host: &str, port: u16) -> Result<TcpStream, ConnectError> {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|source| ConnectError::Io {
                target: format!("{host}:{port}"),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        if self.keep_alive {
            let _ = socket2::SockRef::from(&tcp).set_keepalive(true);
        }
        Ok(tcp)
    }
}

async fn tunnel(
    tcp: TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<Box<dyn Io>, ConnectError> {
    let fail = |reason: String| ConnectError::Proxy {
        proxy: format!("{}:{}", proxy.host, proxy.port),
        reason,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| fail(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(%error, "Proxy connection ended.");
        }
    });
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(authority.as_str())
        .header(http::header::HOST, authority.as_str());
    if let Some((user, password)) = &proxy.credentials {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{user}:{}", password.expose()));
        let mut value = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| fail("invalid proxy credentials".to_owned()))?;
        value.set_sensitive(true);
        request = request.header(http::header::PROXY_AUTHORIZATION, value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("CONNECT answered HTTP {}", response.status())));
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok(Box::new(TokioIo::new(upgraded)))
}
