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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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
        let mut state = self.lock();
        let now = Instant::now();
        self.refill(&mut state, now);
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            true
        } else {
            false
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

/// The call budget of one account and region.
#[derive(Debug, Clone)]
pub(crate) struct CallBudget {
    overall: Arc<TokenBucket>,
    api_keys: Arc<TokenBucket>,
    in_flight: Arc<Semaphore>,
}

impl CallBudget {
    /// A budget of `rps` (burst `burst`) overall, `key_rps` (burst `key_burst`) for API key
    /// writes, and at most `concurrency` calls in flight.
    pub(crate) fn new(
        rps: f64,
        burst: u32,
        key_rps: f64,
        key_burst: u32,
        concurrency: usize,
    ) -> Self {
        Self {
            overall: Arc::new(TokenBucket::new(rps, burst)),
            api_keys: Arc::new(TokenBucket::new(key_rps, key_burst)),
            in_flight: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Waits until a call of `class` may be sent; the permit bounds concurrency until dropped.
    pub(crate) async fn admit(&self, class: OperationClass) -> Option<OwnedSemaphorePermit> {
        let permit = self.in_flight.clone().acquire_owned().await.ok();
        if class == OperationClass::ApiKeyWrite {
            self.api_keys.acquire().await;
        }
        self.overall.acquire().await;
        permit
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
            drop(budget.admit(OperationClass::ApiKeyWrite).await);
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(
            (0.99..1.1).contains(&elapsed),
            "6 key writes at 5 rps: {elapsed}"
        );
        let start = Instant::now();
        for _ in 0..6 {
            drop(budget.admit(OperationClass::General).await);
        }
        assert!(start.elapsed() < Duration::from_millis(100));
    }
}
