//! Every delivery decision, in one place: which pullable events a PullEvents call returns, how
//! long a pulled event waits for ConfirmEvents, what the event faults that fired make of a
//! delivery (drop, duplicate, delay, reorder), which due pushes start now (one try at a time
//! per endpoint, a bounded number in all), and what follows a push try (delivered, retry with
//! exponential backoff on the emulator's clock, or given up).
//!
//! Pure functions: the fault decision comes in as a [`Plan`] (or a function giving one), and
//! the store applies the outcome in one transaction, so a fault never leaves it inconsistent.

use crate::faults::{Effect, Plan};
use crate::store::{EventRow, EventState, PullDecision};
use vod_protocol::wire::events::MAX_EVENTS_PER_CALL;

/// How long a pulled event waits for ConfirmEvents before it is pullable again (30 s).
pub const CONFIRM_DEADLINE_MS: i64 = 30_000;

/// First retry delay of a failed push; doubled at each further try.
pub const PUSH_BACKOFF_BASE_MS: i64 = 1_000;

/// Longest delay between two push tries.
pub const PUSH_BACKOFF_MAX_MS: i64 = 60_000;

/// Most push tries under way at once, over every endpoint.
pub const MAX_PUSHES_IN_FLIGHT: usize = 16;

/// What the event faults that fired make of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Delivered as usual (a push with `bad_signature` is still delivered, badly signed).
    Deliver,
    /// Delivered, plus this many extra copies.
    Duplicate(u32),
    /// Held back until this time (emulator clock), then delivered without a new decision.
    Hold(i64),
    /// Lost for good.
    Drop,
}

/// The fate of a delivery under `plan`: `drop` wins; then `delay` (held for the sum of the
/// delays) and `reorder` (held until now, so the events due with it go first); then
/// `duplicate`.
pub fn fate(plan: &Plan, now_ms: i64) -> Fate {
    let primary = plan.primary();
    if matches!(primary, Some(Effect::Drop)) {
        return Fate::Drop;
    }
    let delay: u64 = plan
        .fired
        .iter()
        .map(|f| match f.effect {
            Effect::Delay { ms } => ms,
            _ => 0,
        })
        .sum();
    if delay > 0 {
        return Fate::Hold(now_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)));
    }
    match primary {
        Some(Effect::Reorder) => Fate::Hold(now_ms),
        Some(Effect::Duplicate { copies }) => Fate::Duplicate(*copies),
        _ => Fate::Deliver,
    }
}

/// What a PullEvents call does with its candidates (oldest first): at most 16 events handed
/// out, copies included. Events held earlier whose time has come are handed out after the
/// others (they were overtaken) and without a new decision; every other candidate considered
/// gets its fate from `decide`. Candidates past the limit are not considered at all.
pub fn select_for_pull(
    candidates: Vec<EventRow>,
    now_ms: i64,
    mut decide: impl FnMut(&EventRow) -> Plan,
) -> PullDecision {
    let (released, fresh): (Vec<EventRow>, Vec<EventRow>) = candidates
        .into_iter()
        .partition(|e| e.state == EventState::Held);
    let mut decision = PullDecision::default();
    let mut room = u32::try_from(MAX_EVENTS_PER_CALL).unwrap_or(u32::MAX);
    for ev in fresh.into_iter().chain(released) {
        if room == 0 {
            break;
        }
        let fate = if ev.state == EventState::Held {
            Fate::Deliver
        } else {
            fate(&decide(&ev), now_ms)
        };
        match fate {
            Fate::Deliver | Fate::Duplicate(_) => {
                let copies = match fate {
                    Fate::Duplicate(n) => n.min(room - 1),
                    _ => 0,
                };
                decision.deliver.push((ev.id, copies));
                room -= 1 + copies;
            }
            Fate::Hold(until) => decision.hold.push((ev.id, until)),
            Fate::Drop => decision.drop.push(ev.id),
        }
    }
    decision
}

/// The endpoint a callback URL is sent to: its origin (scheme, host and port), since a host
/// that hangs hangs every path on it; the URL itself when it does not parse.
pub fn endpoint_of(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(|_| url.to_owned(), |u| u.origin().ascii_serialization())
}

/// Which due pushes start now. `due` lists the events due, in delivery order, each with its
/// endpoint ([`endpoint_of`]); `in_flight` the tries under way. An event already under way is
/// skipped; an endpoint gets one try at a time (its callbacks go out in order, and one that
/// hangs delays only itself); at most `max` tries run in all. Events of one file are due one
/// after the other (the store holds back a file's later events), so their order holds too.
pub fn pushes_to_start(due: &[(i64, String)], in_flight: &[(i64, String)], max: usize) -> Vec<i64> {
    let mut busy: Vec<&str> = in_flight.iter().map(|(_, e)| e.as_str()).collect();
    let mut start = Vec::new();
    for (id, endpoint) in due {
        if in_flight.len() + start.len() >= max {
            break;
        }
        if in_flight.iter().any(|(flying, _)| flying == id) || busy.contains(&endpoint.as_str()) {
            continue;
        }
        busy.push(endpoint.as_str());
        start.push(*id);
    }
    start
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
    use crate::faults::Fired;
    use vod_protocol::wire::events::EventContent;

    fn plan(effects: Vec<Effect>) -> Plan {
        Plan {
            fired: effects
                .into_iter()
                .map(|effect| Fired {
                    rule: "r".into(),
                    effect,
                    delay_ms: 0,
                })
                .collect(),
        }
    }

    fn event(id: i64, state: EventState) -> EventRow {
        EventRow {
            id,
            sub_app_id: 0,
            event_type: "NewFileUpload".into(),
            file_id: None,
            content: EventContent {
                event_type: "NewFileUpload".into(),
                ..EventContent::default()
            },
            delivery: crate::store::Delivery::Pull,
            state,
            handle: None,
            due_ms: 0,
            attempts: 0,
            last_error: None,
            created_ms: 0,
        }
    }

    #[test]
    fn drop_wins_then_delay_then_reorder_then_duplicate() {
        let dup = Effect::Duplicate { copies: 2 };
        assert_eq!(fate(&plan(vec![]), 5), Fate::Deliver);
        assert_eq!(fate(&plan(vec![Effect::BadSignature]), 5), Fate::Deliver);
        assert_eq!(fate(&plan(vec![Effect::Drop]), 5), Fate::Drop);
        assert_eq!(
            fate(&plan(vec![Effect::Delay { ms: 10 }, Effect::Drop]), 5),
            Fate::Drop
        );
        assert_eq!(
            fate(&plan(vec![Effect::Delay { ms: 10 }, dup.clone()]), 5),
            Fate::Hold(15)
        );
        assert_eq!(fate(&plan(vec![Effect::Reorder]), 5), Fate::Hold(5));
        assert_eq!(fate(&plan(vec![dup]), 5), Fate::Duplicate(2));
    }

    #[test]
    fn pulls_hand_out_sixteen_with_copies_and_released_events_last() {
        let mut candidates = vec![event(1, EventState::Held)];
        candidates.extend((2..=20).map(|id| event(id, EventState::Pending)));
        let mut decided = Vec::new();
        let d = select_for_pull(candidates, 0, |ev| {
            decided.push(ev.id);
            match ev.id {
                2 => plan(vec![Effect::Drop]),
                3 => plan(vec![Effect::Reorder]),
                4 => plan(vec![Effect::Duplicate { copies: 1 }]),
                _ => plan(vec![]),
            }
        });
        assert_eq!(d.drop, vec![2]);
        assert_eq!(d.hold, vec![(3, 0)]);
        assert_eq!(d.deliver[0], (4, 1));
        let handed: u32 = d.deliver.iter().map(|(_, c)| 1 + c).sum();
        assert_eq!(handed, 16);
        assert_eq!(d.deliver.last(), Some(&(18, 0)));
        assert!(
            !decided.contains(&19),
            "events past the limit are not decided"
        );
        assert!(
            !decided.contains(&1),
            "a released event is not decided again"
        );
        let released_last = select_for_pull(
            vec![event(1, EventState::Held), event(2, EventState::Pending)],
            0,
            |_| plan(vec![]),
        );
        assert_eq!(released_last.deliver, vec![(2, 0), (1, 0)]);
    }

    fn flights(pairs: &[(i64, &str)]) -> Vec<(i64, String)> {
        pairs.iter().map(|(id, e)| (*id, (*e).to_owned())).collect()
    }

    /// One try per endpoint, in due order; tries already under way and their endpoints wait.
    #[test]
    fn pushes_start_one_per_endpoint_in_due_order() {
        let due = flights(&[(1, "a"), (2, "a"), (3, "b"), (4, "c"), (5, "b")]);
        assert_eq!(pushes_to_start(&due, &[], 16), vec![1, 3, 4]);
        let flying = flights(&[(1, "a")]);
        assert_eq!(pushes_to_start(&due, &flying, 16), vec![3, 4]);
        let flying = flights(&[(9, "b")]);
        assert_eq!(pushes_to_start(&due, &flying, 16), vec![1, 4]);
        assert_eq!(pushes_to_start(&[], &flying, 16), Vec::<i64>::new());
    }

    /// No more than `max` tries run at once, those under way included.
    #[test]
    fn pushes_in_flight_are_bounded() {
        let due = flights(&[(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
        assert_eq!(pushes_to_start(&due, &[], 2), vec![1, 2]);
        let flying = flights(&[(7, "x")]);
        assert_eq!(pushes_to_start(&due, &flying, 2), vec![1]);
        let full = flights(&[(7, "x"), (8, "y")]);
        assert_eq!(pushes_to_start(&due, &full, 2), Vec::<i64>::new());
    }

    /// Paths and queries on one host:port are one endpoint; ports and schemes tell them apart.
    #[test]
    fn endpoints_are_origins() {
        assert_eq!(
            endpoint_of("http://127.0.0.1:8080/a?x=1"),
            endpoint_of("http://127.0.0.1:8080/b")
        );
        assert_ne!(
            endpoint_of("http://127.0.0.1:8080/a"),
            endpoint_of("http://127.0.0.1:8081/a")
        );
        assert_ne!(endpoint_of("http://h/a"), endpoint_of("https://h/a"));
        assert_eq!(endpoint_of(""), "");
    }

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
