//! The emulator's clock: wall time plus an offset tests can move, and a switch to freeze it.
//!
//! Every expiry (signature windows, temporary credentials, session keys, fault time windows) is
//! judged against this clock, never `SystemTime::now()` directly, so a test can make time pass
//! without sleeping, or stop it while it checks something.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Cheap-to-clone handle to the shared clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    // A std mutex: held for a few instructions, never across an `.await`.
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    offset_ms: i64,
    frozen_at_ms: Option<i64>,
}

/// A reading of the clock, as the admin API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ClockReading {
    /// Milliseconds since the Unix epoch, as the emulator sees it.
    pub now_ms: i64,
    /// How far the emulator's time is from wall time, in milliseconds.
    pub offset_ms: i64,
    /// Whether time stands still (it then moves only when advanced).
    pub frozen: bool,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Clock {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Milliseconds since the Unix epoch, as the emulator sees it.
    pub fn now_ms(&self) -> i64 {
        self.read().now_ms
    }

    /// Seconds since the Unix epoch, as the emulator sees it.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// The time, the offset from wall time and whether the clock is frozen, read at once.
    pub fn read(&self) -> ClockReading {
        let s = *self.state();
        let now_ms = match s.frozen_at_ms {
            Some(at) => at,
            None => wall_ms().saturating_add(s.offset_ms),
        };
        ClockReading {
            now_ms,
            offset_ms: now_ms.saturating_sub(wall_ms()),
            frozen: s.frozen_at_ms.is_some(),
        }
    }

    /// Moves the clock forward (or back, with a negative value) by `ms` milliseconds; a frozen
    /// clock stays frozen at the new time.
    pub fn advance_ms(&self, ms: i64) {
        let mut s = self.state();
        s.offset_ms = s.offset_ms.saturating_add(ms);
        if let Some(at) = s.frozen_at_ms.as_mut() {
            *at = at.saturating_add(ms);
        }
    }

    /// Stops time at the current instant: `now` returns the same value until the clock is
    /// advanced or unfrozen.
    pub fn freeze(&self) {
        let now = self.now_ms();
        let mut s = self.state();
        s.frozen_at_ms.get_or_insert(now);
    }

    /// Lets time run again from where it stands (the offset absorbs the time spent frozen).
    pub fn unfreeze(&self) {
        let mut s = self.state();
        if let Some(at) = s.frozen_at_ms.take() {
            s.offset_ms = at.saturating_sub(wall_ms());
        }
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        self.state().frozen_at_ms.is_some()
    }

    /// The current offset from wall time, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.read().offset_ms
    }

    /// Back to wall time, running.
    pub fn reset(&self) {
        *self.state() = State::default();
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
        assert!((3_599_000..=3_601_000).contains(&clock.offset_ms()));
    }

    #[test]
    fn a_frozen_clock_moves_only_when_advanced_and_resumes_from_there() {
        let clock = Clock::default();
        clock.freeze();
        let t = clock.now_ms();
        assert_eq!(clock.now_ms(), t);
        clock.advance_ms(90_000);
        assert_eq!(clock.now_ms(), t + 90_000);
        assert!(clock.is_frozen());
        clock.unfreeze();
        assert!(!clock.is_frozen());
        assert!(clock.now_ms() >= t + 90_000);
        clock.reset();
        assert!(clock.offset_ms().abs() < 1000);
    }
}
