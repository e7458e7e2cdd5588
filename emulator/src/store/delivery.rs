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
    /// When the next of the application's held or in-flight events becomes pullable again
    /// (end of a hold or of a confirm deadline), if any: a long poll sleeps no longer.
    pub next_due_ms: Option<i64>,
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
            pulled.next_due_ms = tx.query_row(
                "SELECT MIN(due_ms) FROM events WHERE delivery = 'pull' AND sub_app_id = ?1
                 AND state IN ('inflight', 'held') AND due_ms > ?2",
                params![sub, now_ms],
                |r| r.get(0),
            )?;
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

    /// When the next push falls due after `now_ms` (a retry's backoff, a hold), if any.
    ///
    /// # Errors
    /// Store failure.
    pub async fn next_push_due_ms(&self, now_ms: i64) -> Result<Option<i64>> {
        self.tx(move |tx| {
            Ok(tx.query_row(
                "SELECT MIN(due_ms) FROM events WHERE delivery = 'push'
                 AND state IN ('pending', 'held') AND due_ms > ?1",
                params![now_ms],
                |r| r.get(0),
            )?)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::{event, store};
    use super::super::{Delivery, EventFilter};
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Handles `<prefix>0`, `<prefix>1`, …
    fn handles(prefix: &'static str) -> impl Fn() -> String + Send + 'static {
        let next = AtomicU32::new(0);
        move || format!("{prefix}{}", next.fetch_add(1, Ordering::Relaxed))
    }

    /// Pulls every candidate of `sub_app_id` at `now_ms`, in flight until `deadline_ms`.
    async fn pull_all(store: &Store, sub_app_id: u64, now_ms: i64, deadline_ms: i64) -> Pulled {
        store
            .pull_events(
                sub_app_id,
                now_ms,
                deadline_ms,
                |candidates| PullDecision {
                    deliver: candidates.iter().map(|e| (e.id, 0)).collect(),
                    ..PullDecision::default()
                },
                handles("h"),
            )
            .await
            .unwrap()
    }

    /// The state of event `id`.
    async fn state_of(store: &Store, id: i64) -> EventRow {
        let all = store.events(EventFilter::default()).await.unwrap();
        all.into_iter()
            .find(|e| e.id == id)
            .expect("the event exists")
    }

    /// A pull hands out only its application's pending pull events, each in flight with a
    /// fresh handle until the deadline.
    #[tokio::test]
    async fn pulled_events_are_in_flight_with_fresh_handles() {
        let store = store();
        let ids = store
            .insert_events(vec![
                event(1, "a", Delivery::Pull, 10),
                event(2, "b", Delivery::Pull, 10),
                event(1, "c", Delivery::Push, 10),
                event(1, "d", Delivery::Pull, 20),
            ])
            .await
            .unwrap();
        let pulled = pull_all(&store, 1, 100, 200).await;
        let got: Vec<_> = pulled
            .events
            .iter()
            .map(|e| (e.id, e.handle.clone(), e.state, e.due_ms, e.attempts))
            .collect();
        let inflight = |id, h: &str| (id, Some(h.to_owned()), EventState::Inflight, 200, 1);
        assert_eq!(got, [inflight(ids[0], "h0"), inflight(ids[3], "h1")]);
        assert_eq!(state_of(&store, ids[3]).await, pulled.events[1]);
        assert!(pulled.withheld.is_empty());
        assert_eq!(
            pulled.next_due_ms,
            Some(200),
            "pullable again at the deadline"
        );
        let again = pull_all(&store, 1, 150, 250).await;
        assert!(again.events.is_empty());
        assert_eq!(again.next_due_ms, Some(200));
    }

    /// A copy follows its event with its own id and handle, and is confirmed on its own.
    #[tokio::test]
    async fn copies_follow_their_event_with_their_own_handles() {
        let store = store();
        let ids = store
            .insert_events(vec![event(0, "a", Delivery::Pull, 10)])
            .await
            .unwrap();
        let pulled = store
            .pull_events(
                0,
                100,
                200,
                |c| PullDecision {
                    deliver: vec![(c[0].id, 1)],
                    ..PullDecision::default()
                },
                handles("h"),
            )
            .await
            .unwrap();
        let [original, copy] = &pulled.events[..] else {
            panic!("expected the event and one copy, got {:?}", pulled.events);
        };
        assert_eq!(original.id, ids[0]);
        assert_ne!(copy.id, original.id);
        assert_eq!(copy.content, original.content);
        assert_eq!(copy.handle.as_deref(), Some("h1"));
        assert_eq!(state_of(&store, copy.id).await, *copy);
        let confirmed = store
            .confirm_events(0, vec!["h1".into()], 150)
            .await
            .unwrap();
        assert_eq!(confirmed.ids, [copy.id]);
        assert_eq!(state_of(&store, ids[0]).await.state, EventState::Inflight);
    }

    /// Held events come back once their time has come, dropped ones never.
    #[tokio::test]
    async fn held_and_dropped_events_are_withheld() {
        let store = store();
        let ids = store
            .insert_events(vec![
                event(0, "a", Delivery::Pull, 10),
                event(0, "b", Delivery::Pull, 10),
            ])
            .await
            .unwrap();
        let pulled = store
            .pull_events(
                0,
                100,
                200,
                |c| PullDecision {
                    hold: vec![(c[0].id, 300)],
                    drop: vec![c[1].id],
                    ..PullDecision::default()
                },
                handles("h"),
            )
            .await
            .unwrap();
        assert!(pulled.events.is_empty());
        let withheld: Vec<_> = pulled.withheld.iter().map(|e| (e.id, e.state)).collect();
        assert_eq!(
            withheld,
            [(ids[0], EventState::Held), (ids[1], EventState::Dropped)]
        );
        assert_eq!(state_of(&store, ids[1]).await.state, EventState::Dropped);
        assert!(pull_all(&store, 0, 299, 400).await.events.is_empty());
        let later = pull_all(&store, 0, 300, 400).await;
        assert_eq!(
            later.events.iter().map(|e| e.id).collect::<Vec<_>>(),
            [ids[0]]
        );
    }

    /// Confirming is all or nothing: one handle not in flight (unknown, already confirmed,
    /// another application's, past its deadline) confirms none.
    #[tokio::test]
    async fn confirming_is_all_or_nothing() {
        let store = store();
        let ids = store
            .insert_events(vec![
                event(0, "a", Delivery::Pull, 10),
                event(0, "b", Delivery::Pull, 10),
            ])
            .await
            .unwrap();
        pull_all(&store, 0, 100, 200).await;
        let partly = store
            .confirm_events(0, vec!["h0".into(), "nope".into()], 150)
            .await
            .unwrap();
        assert_eq!(
            partly,
            Confirmation {
                ids: Vec::new(),
                unknown: vec!["nope".into()]
            }
        );
        assert_eq!(state_of(&store, ids[0]).await.state, EventState::Inflight);
        let elsewhere = store
            .confirm_events(7, vec!["h0".into()], 150)
            .await
            .unwrap();
        assert_eq!(elsewhere.unknown, ["h0"]);
        let late = store
            .confirm_events(0, vec!["h0".into()], 200)
            .await
            .unwrap();
        assert_eq!(late.unknown, ["h0"]);
        let both = store
            .confirm_events(0, vec!["h0".into(), "h1".into()], 150)
            .await
            .unwrap();
        assert_eq!(
            both,
            Confirmation {
                ids: ids.clone(),
                unknown: Vec::new()
            }
        );
        assert_eq!(state_of(&store, ids[1]).await.state, EventState::Confirmed);
        assert_eq!(state_of(&store, ids[1]).await.handle, None);
        let again = store
            .confirm_events(0, vec!["h1".into()], 160)
            .await
            .unwrap();
        assert_eq!(again.unknown, ["h1"]);
    }

    /// An event not confirmed by its deadline is pulled again, counted.
    #[tokio::test]
    async fn an_unconfirmed_event_is_pulled_again_after_its_deadline() {
        let store = store();
        let ids = store
            .insert_events(vec![event(0, "a", Delivery::Pull, 10)])
            .await
            .unwrap();
        pull_all(&store, 0, 100, 200).await;
        assert!(pull_all(&store, 0, 199, 300).await.events.is_empty());
        let again = pull_all(&store, 0, 200, 300).await;
        assert_eq!(
            again
                .events
                .iter()
                .map(|e| (e.id, e.attempts))
                .collect::<Vec<_>>(),
            [(ids[0], 2)]
        );
    }

    /// Due pushes: one pending per media (the oldest), only once due, held ones last.
    #[tokio::test]
    async fn due_pushes_keep_each_medias_order_and_put_held_ones_last() {
        let store = store();
        let ids = store
            .insert_events(vec![
                event(0, "a", Delivery::Push, 10),
                event(0, "a", Delivery::Push, 20),
                event(0, "b", Delivery::Push, 30),
                event(0, "c", Delivery::Pull, 10),
                event(0, "d", Delivery::Push, 500),
            ])
            .await
            .unwrap();
        let due = |now: i64| {
            let store = store.clone();
            async move {
                let rows = store.due_pushes(now).await.unwrap();
                rows.into_iter().map(|e| e.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(due(5).await, Vec::<i64>::new());
        assert_eq!(due(100).await, [ids[0], ids[2]]);
        store.hold_event(ids[0], 150).await.unwrap();
        assert_eq!(state_of(&store, ids[0]).await.state, EventState::Held);
        assert_eq!(due(100).await, [ids[1], ids[2]]);
        assert_eq!(due(150).await, [ids[1], ids[2], ids[0]]);
    }

    /// A push try is counted with its outcome; a resend starts a fresh round from now.
    #[tokio::test]
    async fn record_push_and_resend() {
        let store = store();
        let ids = store
            .insert_events(vec![event(0, "a", Delivery::Push, 10)])
            .await
            .unwrap();
        let id = ids[0];
        store
            .record_push(id, EventState::Pending, 500, Some("503".into()))
            .await
            .unwrap();
        let retried = state_of(&store, id).await;
        assert_eq!(
            (
                retried.state,
                retried.due_ms,
                retried.attempts,
                retried.last_error.as_deref()
            ),
            (EventState::Pending, 500, 1, Some("503"))
        );
        assert!(store.due_pushes(499).await.unwrap().is_empty());
        store
            .record_push(id, EventState::Failed, 500, Some("timeout".into()))
            .await
            .unwrap();
        let failed = state_of(&store, id).await;
        assert_eq!((failed.state, failed.attempts), (EventState::Failed, 2));
        assert!(store.due_pushes(10_000).await.unwrap().is_empty());
        assert!(store.resend_event(id, 900).await.unwrap());
        let resent = state_of(&store, id).await;
        assert_eq!(
            (
                resent.state,
                resent.due_ms,
                resent.attempts,
                resent.last_error
            ),
            (EventState::Pending, 900, 0, None)
        );
        assert_eq!(store.due_pushes(900).await.unwrap().len(), 1);
        assert!(!store.resend_event(id + 1, 900).await.unwrap());
    }
}
