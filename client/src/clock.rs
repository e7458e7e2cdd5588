//! The client's view of server time: local time plus a skew learned from the server's `Date`
//! header when a request is refused as expired.
//!
//! Both signatures carry a timestamp the server checks (TC3 ±5 minutes, COS `q-sign-time`), so
//! a machine whose clock is off cannot upload at all unless the client corrects for it, as the
//! official Node COS SDK does (`CorrectClockSkew`). One clock is shared by the VOD and COS
//! clients of an upload.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Skews smaller than this are left alone: they are within every signature window.
const SIGNIFICANT_SKEW_SECS: i64 = 30;

/// Local time corrected by the learned skew. Cheap to clone; clones share the skew.
#[derive(Debug, Clone, Default)]
pub struct ServerClock {
    skew: Arc<AtomicI64>,
    fixed: bool,
}

impl ServerClock {
    /// A clock off by `secs` from local time that never corrects itself: for checking how a
    /// server treats skewed requests.
    pub fn skewed(secs: i64) -> Self {
        Self {
            skew: Arc::new(AtomicI64::new(secs)),
            fixed: true,
        }
    }

    /// Unix seconds as the server sees them (as far as we know).
    pub fn now(&self) -> i64 {
        local_now() + self.skew.load(Ordering::Relaxed)
    }

    /// The learned skew (server − local), in seconds.
    pub fn skew(&self) -> i64 {
        self.skew.load(Ordering::Relaxed)
    }

    /// Learns the skew from a server's `Date` header; returns whether it changed enough to be
    /// worth retrying a refused request.
    pub fn learn(&self, date: Option<&reqwest::header::HeaderValue>) -> bool {
        if self.fixed {
            return false;
        }
        let Some(server) = date
            .and_then(|d| d.to_str().ok())
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        else {
            return false;
        };
        let skew = server.as_secs() as i64 - local_now();
        let old = self.skew.swap(skew, Ordering::Relaxed);
        (skew - old).abs() >= SIGNIFICANT_SKEW_SECS
    }
}

fn local_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn skew_is_learned_from_a_date_header() {
        let clock = ServerClock::default();
        let ahead = SystemTime::now() + Duration::from_secs(3600);
        let header = reqwest::header::HeaderValue::from_str(&httpdate::fmt_http_date(ahead)).ok();
        assert!(clock.learn(header.as_ref()));
        assert!((3598..=3601).contains(&clock.skew()));
        assert!(!clock.learn(header.as_ref()), "same skew again is not news");
        assert!(!clock.learn(None));
    }
}
