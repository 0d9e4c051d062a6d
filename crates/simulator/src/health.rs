//! The health loop APIM's controller runs per channel: HEALTH_CHECK every
//! `health_check_interval`; an unhealthy answer, an error or no answer within the reply timeout
//! unregisters the channel with GOOD_BYE reconnect=true (`docs/reference/integration-commands.md`
//! §9, HEALTH_CHECK).

use std::sync::Arc;

use federation_protocol::payload::Empty;
use federation_protocol::{Command, CommandPayload, Reply, ReplyPayload};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::state::{Inner, Out, goodbye_message};

/// Sends HEALTH_CHECK periodically; an unhealthy answer (or none) unregisters the channel with
/// GOOD_BYE reconnect=true, as APIM does.
pub(crate) async fn health_loop(inner: Arc<Inner>, connection: u64, integration_id: String) {
    let period = inner.config.health_check_interval;
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        interval.tick().await;
        let (out, pending, closed) = {
            let state = inner.state();
            let Some(channel) = state.channels.iter().find(|c| c.connection == connection) else {
                return;
            };
            (
                channel.out.clone(),
                channel.pending.clone(),
                channel.closed.clone(),
            )
        };
        let command = Command::new(
            uuid::Uuid::new_v4().to_string(),
            CommandPayload::HealthCheck(Empty {}),
        );
        let rx = pending.add(&command.id);
        if out
            .send(Out::Ws(WsMessage::Binary(command.encode().into())))
            .await
            .is_err()
        {
            return;
        }
        let healthy = tokio::select! {
            reply = rx => matches!(
                reply,
                Ok(Reply { payload: Some(ReplyPayload::HealthCheck(ref h)), .. }) if h.healthy
            ),
            () = closed.cancelled() => return,
            () = tokio::time::sleep(inner.config.reply_timeout) => false,
        };
        if !healthy {
            tracing::info!(%integration_id, connection, "Unhealthy agent: sending GOOD_BYE.");
            let _ = out
                .send(Out::Ws(goodbye_message(&integration_id, true)))
                .await;
            return;
        }
    }
}
