//! Reconnect delays: `initial × multiplier^(n-1)` capped at `max`, plus random jitter.
//!
//! With the defaults (1 s, ×1.5, 300 s) the delays are 1 s, 1.5 s, 2.25 s, 3.375 s, … as in the
//! reference connector; the jitter (up to 20 % by default) keeps a fleet of agents from
//! reconnecting in lockstep after a controller restart.

use std::time::Duration;

use federation_connector_config::BackoffConfig;

/// Computes reconnect delays.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: f64,
    max: f64,
    multiplier: f64,
    jitter: f64,
}

impl Backoff {
    /// From configuration; nonsensical values are clamped (multiplier ≥ 1, jitter in 0..=1).
    pub(crate) fn new(config: &BackoffConfig) -> Self {
        Self {
            initial: config.initial_delay_ms as f64,
            max: config.max_delay_ms.max(config.initial_delay_ms) as f64,
            multiplier: config.multiplier.max(1.0),
            jitter: config.jitter.clamp(0.0, 1.0),
        }
    }

    /// The delay before attempt `n` (n ≥ 1), without jitter.
    pub(crate) fn base_delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let millis = (self.initial * self.multiplier.powi(exponent)).min(self.max);
        Duration::from_millis(millis.round() as u64)
    }

    /// The delay before attempt `n`, with jitter.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let base = self.base_delay(attempt);
        base + base.mul_f64(self.jitter * fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_the_multiplier_and_caps() {
        let backoff = Backoff::new(&BackoffConfig::default());
        let delays: Vec<u128> = (1..=4).map(|n| backoff.base_delay(n).as_millis()).collect();
        assert_eq!(delays, [1000, 1500, 2250, 3375]);
        assert_eq!(backoff.base_delay(16).as_millis(), 300_000);
        assert_eq!(backoff.base_delay(1000).as_millis(), 300_000);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let backoff = Backoff::new(&BackoffConfig::default());
        for _ in 0..100 {
            let d = backoff.delay(2).as_millis();
            assert!((1500..=1800).contains(&d), "{d}");
        }
    }
}
