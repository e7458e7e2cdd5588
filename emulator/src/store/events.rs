//! Events: what CommitUpload, DeleteMedia, finished task flows and synthetic triggers produce
//! for the application, with their delivery state, and the admin API's listing of them.
//! Handing them out (pull, confirm, push) is `delivery`'s.
//!
//! Events are written in the same transaction as the change that produces them, so a crash
//! never loses or invents one.

use super::{Result, Store};
use rusqlite::{params, Row, Transaction};
use serde::{Deserialize, Serialize};
use vod_protocol::wire::events::EventContent;

/// How an event reaches the application, fixed when it is produced (from the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// Waits for PullEvents / ConfirmEvents.
    Pull,
    /// POSTed to the notification URL.
    Push,
}

/// Where an event is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    /// Not yet delivered (push: next try due at `due_ms`).
    Pending,
    /// Pulled, waiting for ConfirmEvents until `due_ms`; pullable again after that.
    Inflight,
    /// Pulled and confirmed.
    Confirmed,
    /// Pushed and answered with 2xx.
    Delivered,
    /// Push given up after the configured number of tries.
    Failed,
    /// Held back by a `delay` or `reorder` fault until `due_ms`, then delivered without a new
    /// fault decision.
    Held,
    /// Lost for good by a `drop` fault.
    Dropped,
}

impl Delivery {
    fn as_str(self) -> &'static str {
        match self {
            Delivery::Pull => "pull",
            Delivery::Push => "push",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "push" {
            Delivery::Push
        } else {
            Delivery::Pull
        }
    }
}

impl EventState {
    /// The stored (and admin API) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventState::Pending => "pending",
            EventState::Inflight => "inflight",
            EventState::Confirmed => "confirmed",
            EventState::Delivered => "delivered",
            EventState::Failed => "failed",
            EventState::Held => "held",
            EventState::Dropped => "dropped",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "inflight" => EventState::Inflight,
            "confirmed" => EventState::Confirmed,
            "delivered" => EventState::Delivered,
            "failed" => EventState::Failed,
            "held" => EventState::Held,
            "dropped" => EventState::Dropped,
            _ => EventState::Pending,
        }
    }
}

/// An event about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Application (0 = the primary application).
    pub sub_app_id: u64,
    /// The payload, without handle.
    pub content: EventContent,
    /// How it is delivered.
    pub delivery: Delivery,
    /// Milliseconds since the epoch (emulator clock).
    pub created_ms: i64,
    /// Stored `held` until then instead of `pending`: CommitUpload pushes an early callback
    /// itself, and the hold keeps the worker from pushing it too.
    pub held_until_ms: Option<i64>,
}

/// A stored event with its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    /// Sequence number: the event's id in the admin API.
    pub id: i64,
    /// Application (0 = the primary application).
    pub sub_app_id: u64,
    /// `EventType`.
    pub event_type: String,
    /// The media it is about.
    pub file_id: Option<String>,
    /// The payload, without handle.
    pub content: EventContent,
    /// How it is delivered.
    pub delivery: Delivery,
    /// Where it is.
    pub state: EventState,
    /// Handle of the current pull, while in flight.
    pub handle: Option<String>,
    /// Pull: when an unconfirmed event is pullable again; push: when the next try is due.
    pub due_ms: i64,
    /// Deliveries so far (pulls or push tries).
    pub attempts: u32,
    /// Why the last push try failed.
    pub last_error: Option<String>,
    /// Milliseconds since the epoch.
    pub created_ms: i64,
}

/// Which events a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events with an id above this.
    pub after_id: Option<i64>,
    /// Only this `EventType`.
    pub event_type: Option<String>,
    /// Only about this media.
    pub file_id: Option<String>,
    /// Only in this state.
    pub state: Option<EventState>,
    /// Only of this application.
    pub sub_app_id: Option<u64>,
}

const EVENT_COLUMNS: &str = "id, sub_app_id, event_type, file_id, content, delivery, state, handle,
    due_ms, attempts, last_error, created_ms";

fn event_row(r: &Row<'_>) -> rusqlite::Result<(EventRow, String)> {
    Ok((
        EventRow {
            id: r.get(0)?,
            sub_app_id: r.get::<_, i64>(1)? as u64,
            event_type: r.get(2)?,
            file_id: r.get(3)?,
            content: EventContent::default(),
            delivery: Delivery::parse(&r.get::<_, String>(5)?),
            state: EventState::parse(&r.get::<_, String>(6)?),
            handle: r.get(7)?,
            due_ms: r.get(8)?,
            attempts: r.get::<_, i64>(9)? as u32,
            last_error: r.get(10)?,
            created_ms: r.get(11)?,
        },
        r.get(4)?,
    ))
}

/// Events matching `filter` (an SQL condition over `args`), oldest first.
pub(super) fn query_events(
    tx: &Transaction<'_>,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<EventRow>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE {filter} ORDER BY id");
    let mut stmt = tx.prepare(&sql)?;
    let rows = stmt.query_map(args, event_row)?;
    let mut out = Vec::new();
    for row in rows {
        let (mut ev, content) = row?;
        ev.content = serde_json::from_str(&content)?;
        out.push(ev);
    }
    Ok(out)
}

/// Inserts events; returns their ids.
pub(super) fn insert_events(tx: &Transaction<'_>, events: &[NewEvent]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(events.len());
    for e in events {
        tx.execute(
            "INSERT INTO events (sub_app_id, event_type, file_id, content, delivery, state,
                due_ms, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                e.sub_app_id as i64,
                e.content.event_type,
                e.content.file_id(),
                serde_json::to_string(&e.content)?,
                e.delivery.as_str(),
                e.held_until_ms
                    .map_or(EventState::Pending, |_| EventState::Held)
                    .as_str(),
                e.held_until_ms.unwrap_or(e.created_ms),
                e.created_ms
            ],
        )?;
        ids.push(tx.last_insert_rowid());
    }
    Ok(ids)
}

impl Store {
    /// Stores events produced outside a commit (synthetic triggers); returns their ids.
    ///
    /// # Errors
    /// Store failure.
    pub async fn insert_events(&self, events: Vec<NewEvent>) -> Result<Vec<i64>> {
        self.tx(move |tx| insert_events(tx, &events)).await
    }

    /// Events matching `filter`, oldest first.
    ///
    /// # Errors
    /// Store failure.
    pub async fn events(&self, filter: EventFilter) -> Result<Vec<EventRow>> {
        self.tx(move |tx| {
            let after = filter.after_id.unwrap_or(0);
            let event_type = filter.event_type.unwrap_or_default();
            let file_id = filter.file_id.unwrap_or_default();
            let state = filter.state.map(EventState::as_str).unwrap_or_default();
            let sub = filter.sub_app_id.map_or(-1, |s| s as i64);
            query_events(
                tx,
                "id > ?1 AND (?2 = '' OR event_type = ?2) AND (?3 = '' OR file_id = ?3)
                 AND (?4 = '' OR state = ?4) AND (?5 < 0 OR sub_app_id = ?5)",
                &[&after, &event_type, &file_id, &state, &sub],
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::{event, store};
    use super::*;

    /// Events come back oldest first with their payload; a held one is stored held until its
    /// time, any other pending from its creation.
    #[tokio::test]
    async fn inserted_events_are_listed_oldest_first_with_their_payload() {
        let store = store();
        let mut held = event(0, "f2", Delivery::Push, 20);
        held.held_until_ms = Some(500);
        let ids = store
            .insert_events(vec![event(0, "f1", Delivery::Pull, 10), held.clone()])
            .await
            .unwrap();
        assert_eq!(ids.len(), 2);
        assert!(ids[0] < ids[1]);
        let listed = store.events(EventFilter::default()).await.unwrap();
        assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
        let (first, second) = (&listed[0], &listed[1]);
        assert_eq!(first.content, event(0, "f1", Delivery::Pull, 10).content);
        assert_eq!(first.event_type, "FileDeleted");
        assert_eq!(first.file_id.as_deref(), Some("f1"));
        assert_eq!(
            (first.delivery, first.state, first.due_ms, first.attempts),
            (Delivery::Pull, EventState::Pending, 10, 0)
        );
        assert_eq!(second.content, held.content);
        assert_eq!(
            (second.delivery, second.state, second.due_ms),
            (Delivery::Push, EventState::Held, 500)
        );
    }

    /// Each field of a filter narrows the listing on its own.
    #[tokio::test]
    async fn a_listing_filters_by_each_field() {
        let store = store();
        let mut upload = event(2, "f2", Delivery::Push, 20);
        upload.content.event_type = "NewFileUpload".into();
        upload.held_until_ms = Some(30);
        let ids = store
            .insert_events(vec![event(1, "f1", Delivery::Pull, 10), upload])
            .await
            .unwrap();
        let only = |filter: EventFilter| {
            let store = store.clone();
            async move {
                let found = store.events(filter).await.unwrap();
                found.into_iter().map(|e| e.id).collect::<Vec<_>>()
            }
        };
        let second = vec![ids[1]];
        assert_eq!(only(EventFilter::default()).await, ids);
        let after = EventFilter {
            after_id: Some(ids[0]),
            ..EventFilter::default()
        };
        assert_eq!(only(after).await, second);
        let by_type = EventFilter {
            event_type: Some("NewFileUpload".into()),
            ..EventFilter::default()
        };
        assert_eq!(only(by_type).await, second);
        let by_file = EventFilter {
            file_id: Some("f2".into()),
            ..EventFilter::default()
        };
        assert_eq!(only(by_file).await, second);
        let by_state = EventFilter {
            state: Some(EventState::Held),
            ..EventFilter::default()
        };
        assert_eq!(only(by_state).await, second);
        let by_app = EventFilter {
            sub_app_id: Some(2),
            ..EventFilter::default()
        };
        assert_eq!(only(by_app).await, second);
        let primary = EventFilter {
            sub_app_id: Some(0),
            ..EventFilter::default()
        };
        assert!(only(primary).await.is_empty());
    }
}
