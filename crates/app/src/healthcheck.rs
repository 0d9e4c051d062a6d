//! `--healthcheck`: a client for the agent's own health endpoint, so that a container image
//! without a shell or curl (distroless) can still have a `HEALTHCHECK`.
//!
//! It reads the same configuration as the agent (file and `gravitee_*` variables), calls
//! `GET http://<services.core.http.host>:<port>/_node/health[?probes=…]` over loopback when the
//! host is a wildcard address, authenticates as the first configured user, prints one line and
//! exits 0 on 200, 1 otherwise. When the service is disabled there is nothing to call: it says
//! so and exits 0.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use federation_config::AgentConfig;
use federation_core::ProviderRegistry;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::cli::AgentArgs;
use crate::error::AppError;
use crate::management::{HEALTH_PATH, listen_address};
use crate::startup::load_config;

/// How long the whole check may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// What the health endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The management service is disabled: nothing to check.
    Disabled,
    /// The endpoint's answer.
    Answered {
        /// The HTTP status.
        status: u16,
        /// The body (the health report).
        body: String,
    },
}

impl Outcome {
    /// Whether this counts as healthy (200, or nothing to check).
    pub fn healthy(&self) -> bool {
        match self {
            Self::Disabled => true,
            Self::Answered { status, .. } => *status == 200,
        }
    }
}

/// Calls the health endpoint `config` describes, asking for `probes` (comma-separated; empty
/// means every probe).
pub async fn check(config: &AgentConfig, probes: &str) -> Result<Outcome, AppError> {
    let http = &config.services.core.http;
    if !http.enabled {
        return Ok(Outcome::Disabled);
    }
    let address = connect_address(listen_address(http).await?);
    let path = if probes.trim().is_empty() {
        HEALTH_PATH.to_owned()
    } else {
        format!("{HEALTH_PATH}?probes={}", probes.trim())
    };
    let authorization = http
        .authentication
        .users
        .iter()
        .next()
        .map(|(user, password)| {
            let credentials = format!("{user}:{}", password.expose());
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            )
        });
    tokio::time::timeout(TIMEOUT, get(address, &path, authorization.as_deref()))
        .await
        .map_err(|_| {
            AppError::Other(format!(
                "no answer from http://{address}{path} within {TIMEOUT:?}"
            ))
        })?
}

/// Where to connect to reach a service listening on `address`: loopback for wildcard addresses.
pub fn connect_address(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), address.port())
        }
        _ => address,
    }
}

async fn get(
    address: SocketAddr,
    path: &str,
    authorization: Option<&str>,
) -> Result<Outcome, AppError> {
    let failed = |what: &str, error: &dyn std::fmt::Display| {
        AppError::Other(format!("{what} http://{address}{path}: {error}"))
    };
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| failed("cannot connect to", &e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed("cannot talk HTTP to", &e))?;
    let connection = tokio::spawn(connection);
    let mut request = hyper::Request::get(path).header(hyper::header::HOST, address.to_string());
    if let Some(value) = authorization {
        request = request.header(hyper::header::AUTHORIZATION, value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| failed("cannot build a request for", &e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed("no answer from", &e))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| failed("cannot read the answer of", &e))?
        .to_bytes();
    connection.abort();
    Ok(Outcome::Answered {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The `--healthcheck` path of an agent binary: no logging (only a one-line verdict on stdout),
/// exit 0 when healthy, 1 otherwise.
pub fn main(binary: &str, args: &AgentArgs, registry: &ProviderRegistry, probes: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{binary}: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let loaded = load_config(args.config.clone(), registry).await?;
        check(&loaded.config, probes).await
    });
    match result {
        Ok(Outcome::Disabled) => {
            println!(
                "healthy: the management service is disabled (services.core.http.enabled=false); nothing to check"
            );
            ExitCode::SUCCESS
        }
        Ok(outcome @ Outcome::Answered { .. }) => {
            let healthy = outcome.healthy();
            if let Outcome::Answered { status, body } = outcome {
                let verdict = if healthy { "healthy" } else { "unhealthy" };
                println!("{verdict}: HTTP {status} {}", body.trim());
            }
            if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            println!("unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}
