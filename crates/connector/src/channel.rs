//! One integration's channel over time: connect, HELLO, serve, and reconnect with backoff
//! until shutdown, a GOOD_BYE without reconnection, or a rejected HELLO.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::backoff::Backoff;
use crate::context::ChannelContext;
use crate::endpoint::Endpoints;
use crate::error::ConnectorError;
use crate::metrics;
use crate::session::{self, SessionEnd};
use crate::status::ChannelState;
use crate::transport::Transport;

/// What every channel of a connector shares.
pub(crate) struct Shared {
    pub(crate) endpoints: Endpoints,
    pub(crate) transport: Transport,
    pub(crate) backoff: Backoff,
    pub(crate) auto_reconnect: bool,
}

/// Runs one integration's channel until it stops.
pub(crate) async fn run(
    ctx: Arc<ChannelContext>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> Result<(), ConnectorError> {
    let span = tracing::info_span!(
        "channel",
        integration = %ctx.integration_id,
        provider = %ctx.provider_type,
    );
    run_inner(ctx, shared, shutdown).instrument(span).await
}

async fn run_inner(
    ctx: Arc<ChannelContext>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> Result<(), ConnectorError> {
    let mut endpoints = shared.endpoints.clone();
    let mut failures: u32 = 0;
    let stop = |state: ChannelState| ctx.status.update(ctx.status_index, |s| s.state = state);
    loop {
        if shutdown.is_cancelled() {
            stop(ChannelState::Stopped);
            return Ok(());
        }
        if failures > 0 {
            let delay = shared.backoff.delay(failures);
            tracing::info!(
                attempt = failures + 1,
                ?delay,
                "Waiting before the next connection attempt."
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shutdown.cancelled() => {
                    stop(ChannelState::Stopped);
                    return Ok(());
                }
            }
        }
        let endpoint = endpoints.next_endpoint().clone();
        ctx.status.update(ctx.status_index, |s| {
            s.state = ChannelState::Connecting;
            s.endpoint = Some(endpoint.ws_url());
        });
        tracing::debug!(endpoint = %endpoint, "Connecting to the controller.");
        let connected = tokio::select! {
            result = shared.transport.connect(&endpoint) => result,
            () = shutdown.cancelled() => {
                stop(ChannelState::Stopped);
                return Ok(());
            }
        };
        let ws = match connected {
            Ok(ws) => ws,
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(endpoint = %endpoint, %error, "Cannot connect to the controller.");
                metrics::counter(
                    metrics::CONNECTIONS,
                    &ctx.integration_id,
                    &[("outcome", "failed".into())],
                );
                ctx.status.update(ctx.status_index, |s| {
                    s.failed_attempts = failures;
                    s.last_error = Some(error.to_string());
                });
                continue;
            }
        };
        match session::run(ws, ctx.clone(), shutdown.clone()).await {
            SessionEnd::HelloRejected(details) => {
                tracing::error!(
                    %details,
                    "The controller rejected the HELLO: check the integration id and the provider type (and the token's permissions)."
                );
                ctx.status.update(ctx.status_index, |s| {
                    s.state = ChannelState::Failed;
                    s.last_error = Some(format!("HELLO rejected: {details}"));
                });
                return Err(ConnectorError::HelloRejected {
                    integration_id: ctx.integration_id.clone(),
                    details,
                });
            }
            SessionEnd::HelloFailed(reason) => {
                failures = failures.saturating_add(1);
                tracing::warn!(%reason, "HELLO failed; retrying.");
                ctx.status.update(ctx.status_index, |s| {
                    s.state = ChannelState::Connecting;
                    s.failed_attempts = failures;
                    s.last_error = Some(reason);
                });
            }
            SessionEnd::Ended {
                reason,
                reconnect,
                planned,
            } => {
                endpoints.reset();
                // The reference reconnects after any close but 1000, and after 1000 too with
                // autoReconnect.
                if !reconnect && !shared.auto_reconnect {
                    tracing::info!(%reason, "The channel closed normally; not reconnecting.");
                    stop(ChannelState::Stopped);
                    return Ok(());
                }
                if planned {
                    tracing::info!(%reason, "The controller closed the channel; reconnecting.");
                } else {
                    tracing::warn!(%reason, "The connection to the controller ended; reconnecting.");
                }
                metrics::counter(metrics::RECONNECTS, &ctx.integration_id, &[]);
                failures = 1;
                ctx.status.update(ctx.status_index, |s| {
                    s.state = ChannelState::Connecting;
                    s.reconnects += 1;
                    s.last_error = Some(reason);
                });
            }
            SessionEnd::Shutdown => {
                stop(ChannelState::Stopped);
                return Ok(());
            }
        }
    }
}
