//! Replicas converging on one key: two agents (or two deliveries after a restart) that
//! subscribe the same subscription (or two subscriptions of one application, for an
//! application's key) at once may each create a key with its name; every replica must end up
//! replying with the same one, and the others must be deleted.
//!
//! Every replica ranks the keys with the name the same way: oldest `createdDate` first, ties by
//! id ([`oldest`]). A replica whose key lost deletes it and replies with the winner. Keys
//! created in the same second (AWS dates have whole seconds) are settled without a clock: a key
//! already attached to the plan (for an application's key: to any plan) wins, a key that cannot
//! win steps aside at once, and after [`TIE_WAIT`] the smallest id wins. Outcomes are counted in
//! [`KEY_RACES`].
//!
//! This needs `GetApiKeys`; without it each replica keeps its own key (see `keys.rs`).

use std::time::{Duration, Instant};

use federation_core::ProviderError;

use super::keys::{FoundKey, delete_key, key_attached};
use crate::provider::AwsApiGatewayProvider;
use crate::target::Target;

/// Subscriptions for which this process saw several keys with the subscription's name (replicas
/// racing), by `outcome`: `won` (its key kept, or the key it found), `lost` (its key deleted for
/// another replica's).
pub(super) const KEY_RACES: &str = "federation_aws_key_races_total";

/// How long a replica whose key was created in the same second as another replica's waits for
/// that race to resolve (the other key attached, or deleted by its replica) before keeping the
/// smallest id: only reached when the other replica died mid-race or AWS throttles it hard.
pub(super) const TIE_WAIT: Duration = Duration::from_secs(20);
const TIE_POLL: Duration = Duration::from_millis(200);

impl AwsApiGatewayProvider {
    /// After `CreateApiKey`: looks again by name and keeps the key every replica keeps; deletes
    /// `own` when it lost. Without `GetApiKeys`, `own` is kept (one process cannot see another).
    /// `plan_id`: the plan a replica that kept its key attaches it to; `None` for an
    /// application's key (any plan).
    pub(super) async fn settle_created(
        &self,
        target: &Target,
        name: &str,
        plan_id: Option<&str>,
        own: &FoundKey,
    ) -> Result<FoundKey, ProviderError> {
        // On an error the new key stays, attached to no plan (it opens nothing): the next
        // delivery finds it by name, and UNSUBSCRIBE deletes it by name.
        let found = self.find_keys(target, name).await?.unwrap_or_default();
        let winner = self
            .converge(target, name, plan_id, Some(own), found)
            .await?;
        if winner.id != own.id {
            race("lost");
            tracing::info!(
                api_key_id = %own.id,
                winner = %winner.id,
                key_name = name,
                target_label = %target.label(),
                "Another replica created this {} key first: deleting ours and replying with theirs.",
                if plan_id.is_some() { "subscription's" } else { "application's" }
            );
            match delete_key(target, &own.id).await {
                Ok(()) => {}
                Err(err) if err.is_not_found() => {}
                // Never attached, so it opens nothing; UNSUBSCRIBE removes it by name.
                Err(err) => tracing::warn!(
                    api_key_id = %own.id,
                    error = %err,
                    "Could not delete the key that lost the race; it is attached to no plan."
                ),
            }
        }
        Ok(winner)
    }

    /// The key every replica keeps among `keys` (the name's keys as listed, plus `own`): the
    /// oldest ([`oldest`] order). Only racing replicas go further than the first look.
    ///
    /// Keys created in the same instant (AWS dates have whole seconds) need more than the
    /// listing: a replica whose look saw only its own key has attached it and replied with it
    /// already, so it must win even if its id is not the smallest. So, among tied keys: a key
    /// attached to the plan (to any plan when `plan_id` is `None`) wins; a replica whose key has not the smallest id deletes it at
    /// once; the key left alone wins. Every replica reaches the same key without a clock. After
    /// [`TIE_WAIT`] (a replica died mid-race) the smallest id wins.
    pub(super) async fn converge(
        &self,
        target: &Target,
        name: &str,
        plan_id: Option<&str>,
        own: Option<&FoundKey>,
        mut keys: Vec<FoundKey>,
    ) -> Result<FoundKey, ProviderError> {
        if let Some(own) = own
            && !keys.iter().any(|k| k.id == own.id)
        {
            keys.push(own.clone());
        }
        let count_won = |winner: &FoundKey| {
            if own.is_none_or(|o| o.id == winner.id) {
                race("won");
            }
        };
        let mut own = own;
        let deadline = Instant::now() + TIE_WAIT;
        let mut pause = TIE_POLL;
        let mut first_look = true;
        loop {
            let tied = oldest(&mut keys);
            let Some(first) = keys.first().cloned() else {
                return Err(ProviderError::backend(format!(
                    "the keys named {name} in {} disappeared while the subscription was being \
                     made (an UNSUBSCRIBE at the same time?); deliver the subscription again",
                    target.label()
                )));
            };
            if tied == 1 {
                if keys.len() > 1 || !first_look {
                    count_won(&first);
                }
                return Ok(first);
            }
            first_look = false;
            let others = keys[..tied]
                .iter()
                .filter(|k| own.is_none_or(|o| o.id != k.id));
            for key in others {
                if key_attached(target, &key.id, plan_id).await? {
                    return Ok(key.clone());
                }
            }
            if let Some(mine) = own
                && keys[..tied].iter().any(|k| k.id == mine.id)
                && mine.id != first.id
            {
                // Ours cannot win: step aside now so the smallest id's owner sees it alone.
                match delete_key(target, &mine.id).await {
                    Ok(()) => {}
                    Err(err) if err.is_not_found() => {}
                    Err(err) => return Err(err.into()),
                }
                keys.retain(|k| k.id != mine.id);
                own = None;
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::info!(
                    api_key_id = %first.id,
                    keys = keys.len(),
                    target_label = %target.label(),
                    "Keys created in the same instant still unresolved: keeping the smallest id."
                );
                count_won(&first);
                return Ok(first);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = pause.saturating_mul(2).min(Duration::from_secs(1));
            keys = self.find_keys(target, name).await?.unwrap_or_default();
            if let Some(mine) = own
                && !keys.iter().any(|k| k.id == mine.id)
            {
                keys.push(mine.clone());
            }
        }
    }
}

/// Sorts `keys` in the order every replica uses (oldest `createdDate` first, a key without a
/// date last, ties by id) and returns how many share the oldest creation date.
fn oldest(keys: &mut [FoundKey]) -> usize {
    keys.sort_by(|a, b| {
        rank(a.created)
            .cmp(&rank(b.created))
            .then_with(|| a.id.cmp(&b.id))
    });
    match keys.first() {
        Some(first) => keys
            .iter()
            .take_while(|k| k.created == first.created)
            .count(),
        None => 0,
    }
}

fn rank(created: Option<(i64, u32)>) -> (i64, u32) {
    created.unwrap_or((i64::MAX, u32::MAX))
}

/// Counts one outcome of a race.
fn race(outcome: &'static str) {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            KEY_RACES,
            "Subscriptions for which replicas raced and several keys carried the name, by \
             outcome (won, lost)."
        );
    });
    metrics::counter!(KEY_RACES, "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use federation_core::Secret;

    use super::*;

    fn key(id: &str, created: Option<(i64, u32)>) -> FoundKey {
        FoundKey {
            id: id.to_owned(),
            value: Secret::from("v"),
            created,
        }
    }

    fn first(mut keys: Vec<FoundKey>) -> Option<String> {
        oldest(&mut keys);
        keys.first().map(|k| k.id.clone())
    }

    #[test]
    fn the_oldest_key_wins_and_ties_go_to_the_smallest_id() {
        let keys = vec![
            key("k3", Some((100, 0))),
            key("k2", Some((101, 0))),
            key("k1", Some((100, 0))),
        ];
        assert_eq!(first(keys).as_deref(), Some("k1"));
        assert_eq!(
            first(vec![key("b", Some((5, 1))), key("a", Some((5, 2)))]).as_deref(),
            Some("b")
        );
        assert_eq!(
            first(vec![key("a", None), key("z", Some((9, 0)))]).as_deref(),
            Some("z")
        );
        assert_eq!(first(Vec::new()), None);
    }

    #[test]
    fn oldest_counts_the_tie() {
        let mut keys = vec![
            key("b", Some((7, 0))),
            key("c", Some((8, 0))),
            key("a", Some((7, 0))),
        ];
        assert_eq!(oldest(&mut keys), 2);
        assert_eq!(keys[0].id, "a");
        let mut alone = vec![key("x", Some((1, 0))), key("y", Some((2, 0)))];
        assert_eq!(oldest(&mut alone), 1);
        assert_eq!(oldest(&mut []), 0);
    }
}
