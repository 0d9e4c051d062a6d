//! At-most-once handling per command id.
//!
//! The controller re-sends a failed batch command with the same `id`, and a command may arrive
//! again on a new connection after a reconnect. The first delivery runs the handler; later ones
//! get the first one's reply (waiting for it if it is still running). Entries live across
//! reconnects and expire after a while.
//!
//! Read-only commands (DISCOVER, LIST, FETCH) are remembered only while they run: running one
//! again is harmless, and their replies are the largest (a 1,000-API DISCOVER reply is about
//! 400 KiB), so keeping them for the whole TTL made memory grow with every DISCOVER.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use federation_protocol::Reply;
use tokio::sync::watch;

/// How long a command id is remembered.
const TTL: Duration = Duration::from_secs(15 * 60);
/// How many ids are remembered at most.
const CAPACITY: usize = 10_000;

/// The outcome of [`Dedup::begin`].
pub(crate) enum Begin {
    /// First delivery: run the handler and publish the reply here.
    First(watch::Sender<Option<Reply>>),
    /// Seen before: the reply is or will be here.
    Repeat(watch::Receiver<Option<Reply>>),
}

#[derive(Default)]
pub(crate) struct Dedup {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, watch::Receiver<Option<Reply>>>,
    order: VecDeque<(Instant, String)>,
}

impl Dedup {
    pub(crate) fn begin(&self, command_id: &str) -> Begin {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        while let Some((at, _)) = inner.order.front() {
            if now.duration_since(*at) < TTL && inner.order.len() < CAPACITY {
                break;
            }
            if let Some((_, id)) = inner.order.pop_front() {
                inner.entries.remove(&id);
            }
        }
        if let Some(existing) = inner.entries.get(command_id) {
            return Begin::Repeat(existing.clone());
        }
        let (tx, rx) = watch::channel(None);
        inner.entries.insert(command_id.to_owned(), rx);
        inner.order.push_back((now, command_id.to_owned()));
        Begin::First(tx)
    }
}

impl Dedup {
    /// Forgets a command id whose reply was published: a later delivery runs it again. Those
    /// already waiting keep their receiver, so they still get the reply.
    pub(crate) fn forget(&self, command_id: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.entries.remove(command_id).is_some() {
            inner.order.retain(|(_, id)| id != command_id);
        }
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }
}

/// Whether a command's reply is kept for re-deliveries after it has been sent: only for
/// commands that change something (SUBSCRIBE, UNSUBSCRIBE, START_INGEST, …), never for the
/// read-only DISCOVER, LIST and FETCH, which simply run again.
pub(crate) fn keeps_reply(command_type: &federation_protocol::CommandType) -> bool {
    use federation_protocol::CommandType;
    !matches!(
        command_type,
        CommandType::Discover | CommandType::List | CommandType::Fetch
    )
}

/// Waits for the first delivery's reply.
pub(crate) async fn wait_reply(mut rx: watch::Receiver<Option<Reply>>) -> Option<Reply> {
    let reply = rx.wait_for(Option::is_some).await.ok()?;
    reply.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_repeat_gets_the_first_reply() {
        let dedup = Dedup::default();
        let Begin::First(tx) = dedup.begin("c1") else {
            panic!("first")
        };
        let Begin::Repeat(rx) = dedup.begin("c1") else {
            panic!("repeat")
        };
        let waiter = tokio::spawn(wait_reply(rx));
        tx.send(Some(Reply::unknown("c1"))).unwrap();
        assert_eq!(waiter.await.unwrap().unwrap().command_id, "c1");
        assert!(matches!(dedup.begin("c2"), Begin::First(_)));
    }

    #[tokio::test]
    async fn a_forgotten_id_runs_again_and_its_waiters_still_get_the_reply() {
        let dedup = Dedup::default();
        let Begin::First(tx) = dedup.begin("discover-1") else {
            panic!("first")
        };
        let Begin::Repeat(rx) = dedup.begin("discover-1") else {
            panic!("repeat while running")
        };
        tx.send(Some(Reply::unknown("discover-1"))).unwrap();
        dedup.forget("discover-1");
        assert_eq!(dedup.remembered(), 0, "nothing kept after the reply");
        assert_eq!(wait_reply(rx).await.unwrap().command_id, "discover-1");
        assert!(matches!(dedup.begin("discover-1"), Begin::First(_)));
    }

    #[test]
    fn only_read_only_commands_are_forgotten() {
        use federation_protocol::CommandType;
        assert!(!keeps_reply(&CommandType::Discover));
        assert!(!keeps_reply(&CommandType::List));
        assert!(!keeps_reply(&CommandType::Fetch));
        assert!(keeps_reply(&CommandType::Subscribe));
        assert!(keeps_reply(&CommandType::Unsubscribe));
        assert!(keeps_reply(&CommandType::StartIngest));
    }

    #[tokio::test]
    async fn a_handler_that_died_leaves_no_reply() {
        let dedup = Dedup::default();
        let Begin::First(tx) = dedup.begin("c1") else {
            panic!()
        };
        let Begin::Repeat(rx) = dedup.begin("c1") else {
            panic!()
        };
        drop(tx);
        assert!(wait_reply(rx).await.is_none());
    }
}
