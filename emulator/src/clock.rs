//! The emulator's clock: wall time plus an offset tests can move, and a switch to freeze it.
//!
//! Every expiry (signature windows, temporary credentials, session keys, fault time windows) is
//! judged against this clock, never `SystemTime::now()` directly, so a test can make time pass
//! without sleeping, or stop it while it checks something. Every move of the clock (advance,
//! freeze, unfreeze, reset) is announced on [`Clock::watch`], so whatever waits for a time on
//! this clock (long polls, the event worker) wakes when it moves instead of polling it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// Cheap-to-clone handle to the shared clock.
#[derive(Debug, Clone)]
pub struct Clock {
    // A std mutex: held for a few instructions, never across an `.await`.
    inner: Arc<Mutex<State>>,
    // Counts the moves; receivers wake on each.
    moves: Arc<watch::Sender<u64>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            moves: Arc::new(watch::channel(0).0),
        }
    }
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

    fn moved(&self) {
        self.moves.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that resolves `changed()` at every move of the clock made after this call
    /// (advance, freeze, unfreeze, reset): wall time passing is not a move.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.moves.subscribe()
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
        {
            let mut s = self.state();
            s.offset_ms = s.offset_ms.saturating_add(ms);
            if let Some(at) = s.frozen_at_ms.as_mut() {
                *at = at.saturating_add(ms);
            }
        }
        self.moved();
    }

    /// Stops time at the current instant: `now` returns the same value until the clock is
    /// advanced or unfrozen.
    pub fn freeze(&self) {
        let now = self.now_ms();
        self.state().frozen_at_ms.get_or_insert(now);
        self.moved();
    }

    /// Lets time run again from where it stands (the offset absorbs the time spent frozen).
    pub fn unfreeze(&self) {
        {
            let mut s = self.state();
            if let Some(at) = s.frozen_at_ms.take() {
                s.offset_ms = at.saturating_sub(wall_ms());
            }
        }
        self.moved();
    }

    /// How much real time passes before the emulator's time reaches `due_ms` (zero if it has):
    /// `None` on a frozen clock, where only a move of the clock ([`Clock::watch`]) gets there.
    pub fn real_time_until(&self, due_ms: i64) -> Option<std::time::Duration> {
        let now = self.read();
        if now.frozen {
            return None;
        }
        let ms = u64::try_from(due_ms.saturating_sub(now.now_ms)).unwrap_or(0);
        Some(std::time::Duration::from_millis(ms))
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
        self.moved();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_until_a_due_time_is_none_only_while_frozen() {
        let clock = Clock::default();
        let now = clock.now_ms();
        let wait = clock.real_time_until(now + 60_000).expect("running");
        assert!(
            wait.as_millis() > 59_000 && wait.as_millis() <= 60_000,
            "{wait:?}"
        );
        assert_eq!(
            clock.real_time_until(now - 5),
            Some(std::time::Duration::ZERO)
        );
        clock.freeze();
        assert_eq!(clock.real_time_until(now + 60_000), None);
    }

    #[test]
    fn every_move_is_announced_and_wall_time_is_not() {
        let clock = Clock::default();
        let mut moves = clock.watch();
        assert!(!moves.has_changed().expect("sender alive"));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(
            !moves.has_changed().expect("sender alive"),
            "wall time is no move"
        );
        for step in [
            Box::new(|c: &Clock| c.advance_ms(1)) as Box<dyn Fn(&Clock)>,
            Box::new(Clock::freeze),
            Box::new(Clock::unfreeze),
            Box::new(Clock::reset),
        ] {
            step(&clock);
            assert!(moves.has_changed().expect("sender alive"));
            moves.mark_unchanged();
        }
    }

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
