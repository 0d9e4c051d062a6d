//! Client-side shaping of API Gateway control-plane calls to AWS's account quotas.
//!
//! AWS allows **10 requests per second with a burst of 40** per account (and region) across all
//! control-plane operations, and **5 per second** for `CreateApiKey` / `DeleteApiKey`
//! (`docs/reference/aws-api-gateway.md`, "Quotas and limits"). [`CallBudget`] holds one
//! [`TokenBucket`] per budget plus a semaphore that bounds calls in flight; every AWS call of the
//! provider goes through it, so a large account is walked at close to the quota instead of in a
//! storm of 429s.
//!
//! A token bucket that is empty hands out *reservations*: the token count goes negative and each
//! caller sleeps until its own token has accrued, which queues callers fairly without a lock held
//! across the sleep. After a 429 the bucket is [paused](TokenBucket::pause) for the
//! `Retry-After` delay, so every task of the account backs off, not only the one that was told.
//!
//! ## Foreground and background
//!
//! A call someone is waiting for (DISCOVER, an ingest, SUBSCRIBE, UNSUBSCRIBE, an operator tool)
//! is [`Priority::Foreground`]. Work the agent does on its own (the drift check after a DISCOVER
//! or an ingest, any future refresh) runs inside [`in_background`], and every call it makes is
//! [`Priority::Background`]:
//!
//! - it is paced by its own bucket, `backgroundRequestsPerSecond` (default 2 of the 10 the
//!   account has), on top of the overall one, so the customer's own tools keep most of the quota;
//! - it never *reserves* an overall token: it takes one only when one is there now, so it never
//!   queues ahead of a foreground call;
//! - it waits while any foreground call is waiting or in flight, and while foreground work holds
//!   a [`ForegroundGuard`] (the provider holds one per budget for the whole of a DISCOVER, an
//!   ingest walk, a SUBSCRIBE or an UNSUBSCRIBE).
//!
//! The priority travels with the task (a task-local set by [`in_background`]), so the shared
//! read helpers (`reads.rs`) need no extra parameter and `Target::call` reads it once per call.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: rate.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Takes one token now and returns how long the caller must wait before using it (zero when
    /// a token was available).
    pub(crate) fn reserve(&self) -> Duration {
        let mut state = self.lock();
        let now = Instant::now();
        self.refill(&mut state, now);
        state.tokens -= 1.0;
        let until_refill = state.updated.saturating_duration_since(now);
        if state.tokens >= 0.0 {
            until_refill
        } else {
            until_refill + Duration::from_secs_f64(-state.tokens / self.rate)
        }
    }

    /// Takes a token if one is there now (a server enforcing a quota: no token, no service;
    /// the test harness's quota proxy).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn try_take(&self) -> bool {
        self.take_now().is_ok()
    }

    /// Takes a token if one is there now, without reserving one: else how long until one would
    /// be there (after every reservation already handed out, and after a pause).
    pub(crate) fn take_now(&self) -> Result<(), Duration> {
        let mut state = self.lock();
        let now = Instant::now();
        self.refill(&mut state, now);
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            Ok(())
        } else {
            let until_refill = state.updated.saturating_duration_since(now);
            Err(until_refill + Duration::from_secs_f64((1.0 - state.tokens) / self.rate))
        }
    }

    /// Waits for a token.
    pub(crate) async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Empties the bucket and stops refilling for `delay` (the server said `Retry-After`).
    pub(crate) fn pause(&self, delay: Duration) {
        let mut state = self.lock();
        let resume = Instant::now() + delay;
        if resume > state.updated {
            state.updated = resume;
        }
        state.tokens = state.tokens.min(0.0);
    }

    /// Adds the tokens earned since the last update. A pause puts `updated` in the future: no
    /// refill until then.
    fn refill(&self, state: &mut BucketState, now: Instant) {
        if now > state.updated {
            let elapsed = now.duration_since(state.updated).as_secs_f64();
            state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
            state.updated = now;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BucketState> {
        // The state is two numbers, valid after any panic: recover from poisoning.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Which budget an operation draws on besides the overall one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationClass {
    /// Reads and `CreateUsagePlanKey`: the overall budget only.
    General,
    /// `CreateApiKey` and `DeleteApiKey`: their own 5 rps budget too.
    ApiKeyWrite,
}

/// Whether someone waits for a call (module docs, "Foreground and background").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// A call someone is waiting for: the overall budget, first in line.
    Foreground,
    /// A call the agent makes on its own: its own budget, behind every foreground call.
    Background,
}

tokio::task_local! {
    static PRIORITY: Priority;
}

/// Runs `work` as background work: every AWS call it makes is [`Priority::Background`].
pub(crate) async fn in_background<F: Future>(work: F) -> F::Output {
    PRIORITY.scope(Priority::Background, work).await
}

/// The priority of the calls the current task makes ([`Priority::Foreground`] outside
/// [`in_background`]).
pub(crate) fn current_priority() -> Priority {
    PRIORITY
        .try_with(|priority| *priority)
        .unwrap_or(Priority::Foreground)
}

/// Foreground work under way on a budget: background calls wait until it is dropped.
#[derive(Debug)]
pub(crate) struct ForegroundGuard {
    busy: Arc<watch::Sender<usize>>,
}

impl Drop for ForegroundGuard {
    fn drop(&mut self) {
        self.busy.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// What [`CallBudget::admit`] hands out: held until the call's answer is in.
#[derive(Debug)]
pub(crate) struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
    _foreground: Option<ForegroundGuard>,
}

/// The call budget of one account and region.
#[derive(Debug, Clone)]
pub(crate) struct CallBudget {
    overall: Arc<TokenBucket>,
    api_keys: Arc<TokenBucket>,
    background: Arc<TokenBucket>,
    in_flight: Arc<Semaphore>,
    /// Foreground calls waiting or in flight, plus foreground work holding a guard.
    busy: Arc<watch::Sender<usize>>,
}

impl CallBudget {
    /// A budget of `rps` (burst `burst`) overall, `key_rps` (burst `key_burst`) for API key
    /// writes, and at most `concurrency` calls in flight. Background calls have the whole `rps`
    /// until [`CallBudget::with_background`] gives them a smaller share.
    pub(crate) fn new(
        rps: f64,
        burst: u32,
        key_rps: f64,
        key_burst: u32,
        concurrency: usize,
    ) -> Self {
        let (busy, _) = watch::channel(0);
        Self {
            overall: Arc::new(TokenBucket::new(rps, burst)),
            api_keys: Arc::new(TokenBucket::new(key_rps, key_burst)),
            background: Arc::new(TokenBucket::new(rps, burst)),
            in_flight: Arc::new(Semaphore::new(concurrency.max(1))),
            busy: Arc::new(busy),
        }
    }

    /// Paces background calls at `rps` (at most the overall rate), with a burst of one second's
    /// worth (at least 1).
    pub(crate) fn with_background(mut self, rps: f64) -> Self {
        let rps = rps.min(self.overall.rate);
        let burst = rps.ceil().clamp(1.0, f64::from(u32::MAX)) as u32;
        self.background = Arc::new(TokenBucket::new(rps, burst));
        self
    }

    /// Marks foreground work under way until the guard is dropped: background calls wait.
    pub(crate) fn foreground(&self) -> ForegroundGuard {
        self.busy.send_modify(|n| *n += 1);
        ForegroundGuard {
            busy: self.busy.clone(),
        }
    }

    /// Waits until a call of `class` at `priority` may be sent; hold the admission until the
    /// answer is in (it bounds concurrency and, for a foreground call, keeps background calls
    /// waiting).
    pub(crate) async fn admit(&self, class: OperationClass, priority: Priority) -> Admission {
        match priority {
            Priority::Foreground => {
                let foreground = self.foreground();
                let permit = self.in_flight.clone().acquire_owned().await.ok();
                if class == OperationClass::ApiKeyWrite {
                    self.api_keys.acquire().await;
                }
                self.overall.acquire().await;
                Admission {
                    _permit: permit,
                    _foreground: Some(foreground),
                }
            }
            Priority::Background => {
                self.background.acquire().await;
                loop {
                    self.quiet().await;
                    let taken = self.overall.take_now().and_then(|()| {
                        if class == OperationClass::ApiKeyWrite {
                            self.api_keys.take_now()
                        } else {
                            Ok(())
                        }
                    });
                    match taken {
                        Ok(()) => break,
                        Err(wait) => tokio::time::sleep(wait.max(Duration::from_millis(1))).await,
                    }
                }
                let permit = self.in_flight.clone().acquire_owned().await.ok();
                Admission {
                    _permit: permit,
                    _foreground: None,
                }
            }
        }
    }

    /// Waits until no foreground call waits or runs and no foreground work holds a guard.
    async fn quiet(&self) {
        let mut busy = self.busy.subscribe();
        // The sender lives as long as `self`: the wait cannot fail.
        let _ = busy.wait_for(|n| *n == 0).await;
    }

    /// Backs every caller off for `delay` after a throttling answer.
    pub(crate) fn pause(&self, class: OperationClass, delay: Duration) {
        self.overall.pause(delay);
        if class == OperationClass::ApiKeyWrite {
            self.api_keys.pause(delay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let bucket = TokenBucket::new(10.0, 40);
        let start = Instant::now();
        for _ in 0..40 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1), "burst is free");
        for _ in 0..20 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(
            (1.9..2.1).contains(&elapsed),
            "20 more at 10 rps: {elapsed}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_are_spread_at_the_rate() {
        let bucket = Arc::new(TokenBucket::new(5.0, 1));
        let start = Instant::now();
        let tasks: Vec<_> = (0..11)
            .map(|_| {
                let bucket = bucket.clone();
                tokio::spawn(async move {
                    bucket.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut last = start;
        for task in tasks {
            last = last.max(task.await.unwrap());
        }
        let elapsed = last.duration_since(start).as_secs_f64();
        assert!((1.9..2.1).contains(&elapsed), "1 + 10 at 5 rps: {elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn try_take_refuses_when_empty() {
        let bucket = TokenBucket::new(10.0, 2);
        assert!(bucket.try_take() && bucket.try_take());
        assert!(!bucket.try_take());
        tokio::time::advance(Duration::from_millis(110)).await;
        assert!(bucket.try_take());
        assert!(!bucket.try_take());
    }

    #[tokio::test(start_paused = true)]
    async fn pause_delays_everyone() {
        let bucket = TokenBucket::new(10.0, 40);
        let start = Instant::now();
        bucket.pause(Duration::from_secs(1));
        bucket.acquire().await;
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.09..1.2).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn api_key_writes_draw_on_both_budgets() {
        let budget = CallBudget::new(100.0, 100, 5.0, 1, 4);
        let start = Instant::now();
        for _ in 0..6 {
            drop(
                budget
                    .admit(OperationClass::ApiKeyWrite, Priority::Foreground)
                    .await,
            );
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(
            (0.99..1.1).contains(&elapsed),
            "6 key writes at 5 rps: {elapsed}"
        );
        let start = Instant::now();
        for _ in 0..6 {
            drop(
                budget
                    .admit(OperationClass::General, Priority::Foreground)
                    .await,
            );
        }
        assert!(start.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn background_calls_are_paced_by_their_own_share() {
        let budget = CallBudget::new(10.0, 40, 5.0, 5, 4).with_background(2.0);
        let start = Instant::now();
        for _ in 0..6 {
            drop(
                budget
                    .admit(OperationClass::General, Priority::Background)
                    .await,
            );
        }
        let elapsed = start.elapsed().as_secs_f64();
        // A burst of 2, then 4 more at 2 rps, though 40 overall tokens were there.
        assert!((1.9..2.1).contains(&elapsed), "{elapsed}");
        let start = Instant::now();
        for _ in 0..30 {
            drop(
                budget
                    .admit(OperationClass::General, Priority::Foreground)
                    .await,
            );
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "foreground calls still have the overall burst"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn background_calls_pause_while_foreground_work_runs() {
        let budget = CallBudget::new(10.0, 40, 5.0, 5, 4).with_background(2.0);
        let discovery = budget.foreground();
        let admitted = Arc::new(Mutex::new(None));
        let task = {
            let (budget, admitted) = (budget.clone(), admitted.clone());
            tokio::spawn(async move {
                drop(
                    budget
                        .admit(OperationClass::General, Priority::Background)
                        .await,
                );
                *admitted.lock().unwrap() = Some(Instant::now());
            })
        };
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(
            admitted.lock().unwrap().is_none(),
            "a background call ran during foreground work"
        );
        let ended = Instant::now();
        drop(discovery);
        task.await.unwrap();
        let waited = admitted.lock().unwrap().unwrap().duration_since(ended);
        assert!(waited < Duration::from_millis(10), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn foreground_calls_go_first() {
        // An overall budget of 1 rps with no burst to spare: every call waits for its token.
        let budget = CallBudget::new(1.0, 1, 5.0, 5, 8).with_background(1.0);
        drop(
            budget
                .admit(OperationClass::General, Priority::Foreground)
                .await,
        );
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |name: &'static str, priority: Priority| {
            let (budget, order) = (budget.clone(), order.clone());
            tokio::spawn(async move {
                let _admission = budget.admit(OperationClass::General, priority).await;
                order.lock().unwrap().push((name, Instant::now()));
                // The call takes 100 ms.
                tokio::time::sleep(Duration::from_millis(100)).await;
            })
        };
        // The background call asks first; three foreground calls come after it.
        let tasks = vec![
            spawn("background", Priority::Background),
            spawn("subscribe-1", Priority::Foreground),
            spawn("subscribe-2", Priority::Foreground),
            spawn("subscribe-3", Priority::Foreground),
        ];
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap();
        let names: Vec<&str> = order.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["subscribe-1", "subscribe-2", "subscribe-3", "background"],
            "{order:?}"
        );
        // The foreground calls kept the pace of the overall budget: 1, 2 and 3 s.
        let start = order[0].1 - Duration::from_secs(1);
        for (i, (_, at)) in order.iter().take(3).enumerate() {
            let secs = at.duration_since(start).as_secs_f64();
            assert!((secs - (i + 1) as f64).abs() < 0.05, "{order:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn calls_outside_a_background_scope_are_foreground() {
        assert_eq!(current_priority(), Priority::Foreground);
        let inner = in_background(async {
            let nested = async { current_priority() }.await;
            (current_priority(), nested)
        })
        .await;
        assert_eq!(inner, (Priority::Background, Priority::Background));
        assert_eq!(current_priority(), Priority::Foreground);
    }
}
