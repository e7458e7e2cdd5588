//! Every delivery decision, in one place: which pullable events a PullEvents call returns, how
//! long a pulled event waits for ConfirmEvents, and what follows a push try (delivered, retry
//! with exponential backoff on the emulator's clock, or given up).
//!
//! Pure functions, so a fault engine can wrap them to drop, duplicate, delay or reorder
//! events and callbacks without touching the store or the handlers.

use crate::store::{EventRow, EventState};
use vod_client::wire::events::MAX_EVENTS_PER_CALL;

/// How long a pulled event waits for ConfirmEvents before it is pullable again (30 s).
pub const CONFIRM_DEADLINE_MS: i64 = 30_000;

/// First retry delay of a failed push; doubled at each further try.
pub const PUSH_BACKOFF_BASE_MS: i64 = 1_000;

/// Longest delay between two push tries.
pub const PUSH_BACKOFF_MAX_MS: i64 = 60_000;

/// The ids a PullEvents call delivers, from the candidates (oldest first): at most 16.
pub fn select_for_pull(candidates: Vec<EventRow>) -> Vec<i64> {
    candidates
        .into_iter()
        .take(MAX_EVENTS_PER_CALL)
        .map(|e| e.id)
        .collect()
}

/// The delay before try number `attempt + 1`, after `attempt` failed tries (1-based).
pub fn backoff_ms(attempt: u32) -> i64 {
    let shift = attempt.saturating_sub(1).min(16);
    (PUSH_BACKOFF_BASE_MS << shift).min(PUSH_BACKOFF_MAX_MS)
}

/// What a push try leads to: the new state and when the event is next due. `tries` counts
/// this try; `max_tries` is the configured limit.
pub fn after_push(
    outcome: &Result<(), String>,
    tries: u32,
    max_tries: u32,
    now_ms: i64,
) -> (EventState, i64) {
    match outcome {
        Ok(()) => (EventState::Delivered, now_ms),
        Err(_) if tries >= max_tries => (EventState::Failed, now_ms),
        Err(_) => (EventState::Pending, now_ms + backoff_ms(tries)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff_ms(1), 1_000);
        assert_eq!(backoff_ms(2), 2_000);
        assert_eq!(backoff_ms(5), 16_000);
        assert_eq!(backoff_ms(40), PUSH_BACKOFF_MAX_MS);
    }

    #[test]
    fn pushes_are_retried_until_the_limit() {
        let err = Err("503".to_owned());
        assert_eq!(after_push(&err, 1, 3, 0), (EventState::Pending, 1_000));
        assert_eq!(after_push(&err, 3, 3, 5), (EventState::Failed, 5));
        assert_eq!(after_push(&Ok(()), 3, 3, 5), (EventState::Delivered, 5));
    }
}
