//! Retry policy: which failures to retry and how long to wait, as pure functions.
//!
//! Full-jitter exponential backoff (the delay before attempt `n` is uniform in
//! `[0, min(cap, base · 2ⁿ)]`), so many clients retrying after one outage spread out instead
//! of arriving together.

use crate::error::{Error, Result};
use rand::Rng;
use std::future::Future;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Scale of the first backoff.
    pub base: Duration,
    /// Longest backoff.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The largest delay before retry number `retry` (0 = the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before retry number `retry`, drawn with full jitter from `rng`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }

    /// Runs `op` until it succeeds, fails with a non-retryable error, or attempts run out;
    /// `on_retry` hears about each retry (for progress reporting).
    ///
    /// # Errors
    /// The last error of `op`.
    pub async fn run<T, F, Fut>(
        &self,
        mut op: F,
        mut on_retry: impl FnMut(&Error, u32),
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut retry = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(err) if err.is_retryable() && retry + 1 < self.max_attempts => {
                    on_retry(&err, retry + 1);
                    let delay = self.delay(retry, &mut rand::rng());
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(p.ceiling(0), Duration::from_millis(100));
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(3), Duration::from_millis(800));
        assert_eq!(p.ceiling(4), Duration::from_secs(1));
        assert_eq!(p.ceiling(60), Duration::from_secs(1));
    }

    #[test]
    fn delays_stay_within_their_ceiling() {
        let p = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for retry in 0..8 {
            for _ in 0..100 {
                assert!(p.delay(retry, &mut rng) <= p.ceiling(retry));
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_transient_errors_only() {
        let p = RetryPolicy::default();
        let mut calls = 0;
        let out: Result<u32> = p
            .run(
                || {
                    calls += 1;
                    let n = calls;
                    async move {
                        if n < 3 {
                            Err(Error::Cos {
                                operation: "PutObject",
                                status: 503,
                                code: "SlowDown".into(),
                                message: String::new(),
                                request_id: String::new(),
                            })
                        } else {
                            Ok(n)
                        }
                    }
                },
                |_, _| {},
            )
            .await;
        assert_eq!(out.ok(), Some(3));

        let mut calls = 0;
        let out: Result<()> = p
            .run(
                || {
                    calls += 1;
                    async { Err(Error::Invalid("no".into())) }
                },
                |_, _| {},
            )
            .await;
        assert!(out.is_err());
        assert_eq!(calls, 1);
    }
}
