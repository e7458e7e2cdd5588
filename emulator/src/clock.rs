//! The emulator's clock: wall time plus an offset tests can move.
//!
//! Every expiry (signature windows, temporary credentials, session keys) is judged against this
//! clock, never `SystemTime::now()` directly, so a test can make time pass without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Cheap-to-clone handle to the shared clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, as the emulator sees it.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        wall.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Seconds since the Unix epoch, as the emulator sees it.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward (or back, with a negative value) by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// The current offset from wall time, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_by_the_offset() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance_ms(3_600_000);
        let after = clock.now();
        assert!(
            (3599..=3601).contains(&(after - before)),
            "{before} {after}"
        );
        assert_eq!(clock.offset_ms(), 3_600_000);
    }
}
