//! Handing events out: PullEvents and ConfirmEvents for pulled events, and for pushed ones the
//! worker's queue (what is due, held back by a fault, tried, resent). The decisions themselves
//! are pure functions in `events::deliver`; this module applies them to the rows, each in one
//! transaction.

use super::events::{query_events, EventRow, EventState};
use super::{Result, Store};
use rusqlite::{params, OptionalExtension};

/// What one PullEvents does to its candidates (built by `events::deliver::select_for_pull`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullDecision {
    /// Events to hand out, in order, each with the number of extra copies to hand out next
    /// to it (a copy is a new event row with its own handle).
    pub deliver: Vec<(i64, u32)>,
    /// Events to hold back, with the time they become pullable again.
    pub hold: Vec<(i64, i64)>,
    /// Events lost for good.
    pub drop: Vec<i64>,
}

/// What a PullEvents handed out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pulled {
    /// The events (copies included), now in flight with their handles, in delivery order.
    pub events: Vec<EventRow>,
    /// Events held back or dropped, with their new state.
    pub withheld: Vec<EventRow>,
}

/// What a ConfirmEvents did: all its handles confirmed, or none when some are not in flight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// The events confirmed (empty when `unknown` is not).
    pub ids: Vec<i64>,
    /// The handles not in flight for the application.
    pub unknown: Vec<String>,
}

impl Store {
    /// Hands out pullable events of one application: `select` sees every candidate (pending,
    /// or held or in flight past its deadline), oldest first, and decides what to deliver,
    /// hold or drop; each delivered event (and each copy) gets a fresh handle from `handle`
    /// and is in flight until `deadline_ms`. All in one transaction.
    ///
    /// # Errors
    /// Store failure.
    pub async fn pull_events<S, H>(
        &self,
        sub_app_id: u64,
        now_ms: i64,
        deadline_ms: i64,
        select: S,
        handle: H,
    ) -> Result<Pulled>
    where
        S: FnOnce(Vec<EventRow>) -> PullDecision + Send + 'static,
        H: Fn() -> String + Send + 'static,
    {
        self.tx(move |tx| {
            let sub = sub_app_id as i64;
            let candidates = query_events(
                tx,
                "delivery = 'pull' AND sub_app_id = ?1
                 AND (state = 'pending' OR (state IN ('inflight', 'held') AND due_ms <= ?2))",
                &[&sub, &now_ms],
            )?;
            let decision = select(candidates.clone());
            let find = |id: i64| candidates.iter().find(|e| e.id == id).cloned();
            let mut pulled = Pulled::default();
            for (id, until) in decision.hold {
                let Some(mut ev) = find(id) else { continue };
                tx.execute(
                    "UPDATE events SET state = 'held', handle = NULL, due_ms = ?2 WHERE id = ?1",
                    params![id, until],
                )?;
                ev.state = EventState::Held;
                ev.handle = None;
                ev.due_ms = until;
                pulled.withheld.push(ev);
            }
            for id in decision.drop {
                let Some(mut ev) = find(id) else { continue };
                tx.execute(
                    "UPDATE events SET state = 'dropped', handle = NULL WHERE id = ?1",
                    params![id],
                )?;
                ev.state = EventState::Dropped;
                ev.handle = None;
                pulled.withheld.push(ev);
            }
            for (id, copies) in decision.deliver {
                let Some(mut ev) = find(id) else { continue };
                let h = handle();
                tx.execute(
                    "UPDATE events SET state = 'inflight', handle = ?2, due_ms = ?3,
                        attempts = attempts + 1 WHERE id = ?1",
                    params![id, h, deadline_ms],
                )?;
                ev.state = EventState::Inflight;
                ev.handle = Some(h);
                ev.due_ms = deadline_ms;
                ev.attempts += 1;
                for _ in 0..copies {
                    let h = handle();
                    tx.execute(
                        "INSERT INTO events (sub_app_id, event_type, file_id, content, delivery,
                            state, handle, due_ms, attempts, created_ms)
                         SELECT sub_app_id, event_type, file_id, content, delivery, 'inflight',
                            ?2, ?3, 1, created_ms FROM events WHERE id = ?1",
                        params![id, h, deadline_ms],
                    )?;
                    let copy = EventRow {
                        id: tx.last_insert_rowid(),
                        handle: Some(h),
                        attempts: 1,
                        ..ev.clone()
                    };
                    pulled.events.push(copy);
                }
                pulled
                    .events
                    .insert(pulled.events.len() - copies as usize, ev);
            }
            Ok(pulled)
        })
        .await
    }

    /// Confirms pulled events by handle, all or nothing: when a handle is not in flight for
    /// this application nothing changes and the [`Confirmation`] lists the unknown handles.
    ///
    /// # Errors
    /// Store failure.
    pub async fn confirm_events(
        &self,
        sub_app_id: u64,
        handles: Vec<String>,
        now_ms: i64,
    ) -> Result<Confirmation> {
        self.tx(move |tx| {
            let mut ids = Vec::new();
            let mut unknown = Vec::new();
            for h in &handles {
                let live = tx
                    .query_row(
                        "SELECT id FROM events WHERE handle = ?1 AND sub_app_id = ?2
                         AND state = 'inflight' AND due_ms > ?3",
                        params![h, sub_app_id as i64, now_ms],
                        |row| row.get::<_, i64>(0),
                    )
                    .optional()?;
                match live {
                    Some(id) => ids.push(id),
                    None => unknown.push(h.clone()),
                }
            }
            if !unknown.is_empty() {
                return Ok(Confirmation {
                    ids: Vec::new(),
                    unknown,
                });
            }
            for h in &handles {
                tx.execute(
                    "UPDATE events SET state = 'confirmed', handle = NULL WHERE handle = ?1",
                    params![h],
                )?;
            }
            Ok(Confirmation {
                ids,
                unknown: Vec::new(),
            })
        })
        .await
    }

    /// Push events due at `now_ms`, at most one pending per media (the oldest undelivered
    /// one, so each media's events arrive in order), then the held ones whose time has come
    /// (the events that overtook them go first).
    ///
    /// # Errors
    /// Store failure.
    pub async fn due_pushes(&self, now_ms: i64) -> Result<Vec<EventRow>> {
        self.tx(move |tx| {
            let mut due = query_events(
                tx,
                "delivery = 'push' AND state IN ('pending', 'held') AND due_ms <= ?1
                 AND NOT EXISTS (SELECT 1 FROM events e2 WHERE e2.delivery = 'push'
                    AND e2.state = 'pending' AND e2.id < events.id
                    AND e2.file_id IS events.file_id AND e2.sub_app_id = events.sub_app_id)",
                &[&now_ms],
            )?;
            due.sort_by_key(|e| e.state == EventState::Held);
            Ok(due)
        })
        .await
    }

    /// Holds a push event back until `until_ms` (a `delay` or `reorder` fault).
    ///
    /// # Errors
    /// Store failure.
    pub async fn hold_event(&self, id: i64, until_ms: i64) -> Result<()> {
        self.tx(move |tx| {
            tx.execute(
                "UPDATE events SET state = 'held', due_ms = ?2 WHERE id = ?1",
                params![id, until_ms],
            )?;
            Ok(())
        })
        .await
    }

    /// Records a push try: delivered, retried at `retry_at_ms`, or given up.
    ///
    /// # Errors
    /// Store failure.
    pub async fn record_push(
        &self,
        id: i64,
        state: EventState,
        due_ms: i64,
        error: Option<String>,
    ) -> Result<()> {
        self.tx(move |tx| {
            tx.execute(
                "UPDATE events SET state = ?2, due_ms = ?3, attempts = attempts + 1,
                    last_error = ?4 WHERE id = ?1",
                params![id, state.as_str(), due_ms, error],
            )?;
            Ok(())
        })
        .await
    }

    /// Makes an event deliverable again from now (a fresh round of tries); `false` for an
    /// unknown id.
    ///
    /// # Errors
    /// Store failure.
    pub async fn resend_event(&self, id: i64, now_ms: i64) -> Result<bool> {
        self.tx(move |tx| {
            let n = tx.execute(
                "UPDATE events SET state = 'pending', handle = NULL, due_ms = ?2, attempts = 0,
                    last_error = NULL WHERE id = ?1",
                params![id, now_ms],
            )?;
            Ok(n > 0)
        })
        .await
    }
}
