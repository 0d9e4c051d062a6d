//! Converging on one audience list: [`reconcile`] (see `audience.rs`, "Converging on one
//! audience list").
//!
//! `UpdateAuthorizer` replaces the whole audience, so two writers can lose each other's change.
//! Each round reads the audience (and, to release, the markers), writes the list read plus or
//! minus the one client id when it is not as it should be, waits a settle delay (twice the
//! round's read-to-write time, at least [`MIN_SETTLE`], with jitter), and reads again; done only
//! when a read made after the settle delay confirms it; at most [`MAX_ROUNDS`] rounds.

use std::time::{Duration, Instant};

use federation_core::ProviderError;

use super::markers::markers_of;
use super::reads::{get_api, get_authorizer, set_audience};
use crate::target::Target;

/// AWS's limit on a JWT authorizer's audience entries.
pub(crate) const MAX_AUDIENCE: usize = 50;
/// The shortest settle delay between a write and the read that confirms it.
pub(crate) const MIN_SETTLE: Duration = Duration::from_millis(250);
/// The longest settle delay.
const MAX_SETTLE: Duration = Duration::from_secs(5);
/// Rounds of read / write / settle before giving up.
pub(crate) const MAX_ROUNDS: usize = 10;

/// What [`reconcile`] makes the entry be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Intent {
    /// Present (a SUBSCRIBE holds a marker).
    Present,
    /// Present only while another marker than `own`'s needs it (UNSUBSCRIBE).
    ReleaseBy,
}

/// How a reconciliation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settled {
    /// The entry is as it should be (`true`: this call wrote at least once).
    Done(bool),
    /// The authorizer no longer exists.
    AuthorizerGone,
}

/// A settle delay: twice the round's read-to-write time, within [`MIN_SETTLE`, `MAX_SETTLE`],
/// plus up to half of [`MIN_SETTLE`] of jitter.
fn settle_delay(cycle: Duration) -> Duration {
    let base = cycle.saturating_mul(2).clamp(MIN_SETTLE, MAX_SETTLE);
    base + MIN_SETTLE.mul_f64(fastrand::f64() * 0.5)
}

/// Makes the audience of authorizer `authorizer_id` hold `client_id` as the markers say it
/// should, and returns once a read made after the settle delay confirms it (see the module's
/// docs). Its first read also tells a deleted authorizer ([`Settled::AuthorizerGone`]), so a
/// caller need not read the authorizer first.
pub(super) async fn reconcile(
    target: &Target,
    api_id: &str,
    authorizer_id: &str,
    client_id: &str,
    own_subscription: &str,
    intent: Intent,
) -> Result<Settled, ProviderError> {
    let mut changed = false;
    let mut confirmed = false;
    let mut settle = MIN_SETTLE;
    for round in 0..MAX_ROUNDS {
        let started = Instant::now();
        let current = match get_authorizer(target, api_id, authorizer_id).await {
            Ok(current) => current,
            Err(err) if err.is_not_found() => return Ok(Settled::AuthorizerGone),
            Err(err) => return Err(err.into()),
        };
        let wanted = match intent {
            Intent::Present => true,
            Intent::ReleaseBy => {
                let api = get_api(target, api_id).await?;
                markers_of(&api.markers).iter().any(|m| {
                    m.subscription_id != own_subscription
                        && m.authorizer_id == authorizer_id
                        && m.client_id == client_id
                })
            }
        };
        let present = current.audience.iter().any(|a| a == client_id);
        if present == wanted {
            if confirmed {
                return Ok(Settled::Done(changed));
            }
            confirmed = true;
            tokio::time::sleep(settle).await;
            continue;
        }
        let mut audience: Vec<String> = current
            .audience
            .iter()
            .filter(|a| a.as_str() != client_id)
            .cloned()
            .collect();
        if wanted {
            if audience.len() >= MAX_AUDIENCE {
                return Err(ProviderError::backend(format!(
                    "the audience of JWT authorizer {authorizer_id} of HTTP API {api_id} is full \
                     (AWS allows {MAX_AUDIENCE} entries); client id {client_id} was not added"
                )));
            }
            audience.push(client_id.to_owned());
        }
        tracing::debug!(
            api_id,
            authorizer_id,
            client_id,
            round,
            add = wanted,
            "Writing the JWT authorizer's audience."
        );
        set_audience(target, api_id, &current, &audience).await?;
        changed = true;
        settle = settle_delay(started.elapsed());
        confirmed = true;
        tokio::time::sleep(settle).await;
    }
    Err(ProviderError::backend(format!(
        "the audience of JWT authorizer {authorizer_id} of HTTP API {api_id} kept changing under \
         the agent for {MAX_ROUNDS} rounds (another tool, or many subscriptions at once): client \
         id {client_id} may not be {}; retry",
        match intent {
            Intent::Present => "in it",
            Intent::ReleaseBy => "out of it",
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settle_delay_follows_the_round_trip() {
        let fast = settle_delay(Duration::from_millis(5));
        assert!(
            fast >= MIN_SETTLE && fast <= MIN_SETTLE + MIN_SETTLE / 2,
            "{fast:?}"
        );
        let slow = settle_delay(Duration::from_secs(1));
        assert!(slow >= Duration::from_secs(2), "{slow:?}");
        assert!(settle_delay(Duration::from_secs(60)) <= MAX_SETTLE + MIN_SETTLE);
    }
}
