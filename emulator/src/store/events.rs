//! Rows of the event system: events with their delivery state, task flows in progress, media
//! descriptions and per-application event configuration.
//!
//! Events are written in the same transaction as the change that produces them (CommitUpload,
//! DeleteMedia, a finished task flow), so a crash never loses or invents one.

use super::{session_where, Result, Store};
use crate::store::Session;
use rusqlite::{params, OptionalExtension, Row, Transaction};
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

/// A task flow started by CommitUpload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRow {
    /// `ProcedureTaskId`.
    pub task_id: String,
    /// The media it processes.
    pub file_id: String,
    /// Application.
    pub sub_app_id: u64,
    /// The Procedure as given at ApplyUpload.
    pub procedure: String,
    /// ApplyUpload's SessionContext.
    pub session_context: String,
    /// When it finishes on its own (emulator clock); `None` = only through the admin API.
    pub due_ms: Option<i64>,
    /// When it finished.
    pub finished_ms: Option<i64>,
}

/// The description of a committed media file, as DescribeMediaInfos returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfoRow {
    /// FileId.
    pub file_id: String,
    /// Application.
    pub sub_app_id: u64,
    /// `MediaBasicInfo`.
    pub basic_info: vod_protocol::wire::media::MediaBasicInfo,
    /// `MediaMetaData`.
    pub meta_data: vod_protocol::wire::media::MediaMetaData,
}

/// Everything a successful CommitUpload writes besides the session's commit mark.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitPlan {
    /// The media row.
    pub media: super::Media,
    /// Its description.
    pub info: MediaInfoRow,
    /// Events it produces (NewFileUpload, and ProcedureStateChanged when immediate).
    pub events: Vec<NewEvent>,
    /// The task flow it starts.
    pub task: Option<TaskRow>,
}

/// One application's event configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventConfigRow {
    /// `PULL` or `PUSH`.
    pub mode: String,
    /// v3 callback URL; empty when none.
    pub notification_url: String,
    /// NewFileUpload on.
    pub upload_events: bool,
    /// FileDeleted on.
    pub delete_events: bool,
    /// PersistenceComplete on (stored, never produced).
    pub persistence_events: bool,
    /// Key for `Sign`; empty when none.
    pub sign_key: String,
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

pub(super) const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sub_app_id INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    file_id TEXT,
    content TEXT NOT NULL,
    delivery TEXT NOT NULL,
    state TEXT NOT NULL,
    handle TEXT UNIQUE,
    due_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_due ON events (delivery, state, due_ms);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL,
    sub_app_id INTEGER NOT NULL,
    procedure TEXT NOT NULL,
    session_context TEXT NOT NULL,
    due_ms INTEGER,
    finished_ms INTEGER
);
CREATE TABLE IF NOT EXISTS media_info (
    file_id TEXT PRIMARY KEY,
    sub_app_id INTEGER NOT NULL,
    basic_info TEXT NOT NULL,
    meta_data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS event_config (
    sub_app_id INTEGER PRIMARY KEY,
    config TEXT NOT NULL
);
";

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

fn query_events(
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

fn insert_task(tx: &Transaction<'_>, t: &TaskRow) -> Result<()> {
    tx.execute(
        "INSERT INTO tasks (task_id, file_id, sub_app_id, procedure, session_context, due_ms,
            finished_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t.task_id,
            t.file_id,
            t.sub_app_id as i64,
            t.procedure,
            t.session_context,
            t.due_ms,
            t.finished_ms
        ],
    )?;
    Ok(())
}

fn task_row(r: &Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        task_id: r.get(0)?,
        file_id: r.get(1)?,
        sub_app_id: r.get::<_, i64>(2)? as u64,
        procedure: r.get(3)?,
        session_context: r.get(4)?,
        due_ms: r.get(5)?,
        finished_ms: r.get(6)?,
    })
}

const TASK_COLUMNS: &str =
    "task_id, file_id, sub_app_id, procedure, session_context, due_ms, finished_ms";

fn media_info_where(tx: &Transaction<'_>, file_id: &str) -> Result<Option<MediaInfoRow>> {
    let row = tx
        .query_row(
            "SELECT sub_app_id, basic_info, meta_data FROM media_info WHERE file_id = ?1",
            params![file_id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((sub_app_id, basic, meta)) = row else {
        return Ok(None);
    };
    Ok(Some(MediaInfoRow {
        file_id: file_id.to_owned(),
        sub_app_id: sub_app_id as u64,
        basic_info: serde_json::from_str(&basic)?,
        meta_data: serde_json::from_str(&meta)?,
    }))
}

/// What DeleteMedia removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// Blobs no longer referenced (the caller removes the files).
    pub blobs: Vec<String>,
    /// Id of the FileDeleted event, if one was produced.
    pub event_id: Option<i64>,
}

impl Store {
    /// Records a committed upload and everything it produces, in one transaction: `check`
    /// sees the session and whether objects exist and either refuses (nothing changes) or
    /// returns the plan to write. Returns the plan and the ids of the events written. With
    /// `keep` false the plan is checked and returned but nothing is written (a `lose_write`
    /// fault).
    ///
    /// # Errors
    /// Store failure; a refusal is the inner `Err`.
    pub async fn commit_session<E, F>(
        &self,
        session_key: String,
        keep: bool,
        check: F,
    ) -> Result<Result<(CommitPlan, Vec<i64>), E>>
    where
        E: Send + 'static,
        F: FnOnce(
                Option<&Session>,
                &dyn Fn(&str, &str) -> Result<bool>,
            ) -> Result<Result<CommitPlan, E>>
            + Send
            + 'static,
    {
        self.tx(move |tx| {
            let session = session_where(tx, "session_key", &session_key)?;
            let exists = |bucket: &str, key: &str| -> Result<bool> {
                Ok(tx
                    .query_row(
                        "SELECT 1 FROM objects WHERE bucket = ?1 AND key = ?2",
                        params![bucket, key],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some())
            };
            let plan = match check(session.as_ref(), &exists)? {
                Ok(plan) => plan,
                Err(refusal) => return Ok(Err(refusal)),
            };
            if !keep {
                return Ok(Ok((plan, Vec::new())));
            }
            let media = &plan.media;
            tx.execute(
                "UPDATE sessions SET committed_at = ?2 WHERE session_key = ?1",
                params![session_key, media.created_at],
            )?;
            tx.execute(
                "INSERT INTO media (file_id, sub_app_id, session_key, media_url, cover_url, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    media.file_id,
                    media.sub_app_id.map(|v| v as i64),
                    media.session_key,
                    media.media_url,
                    media.cover_url,
                    media.created_at
                ],
            )?;
            tx.execute(
                "INSERT INTO media_info (file_id, sub_app_id, basic_info, meta_data)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    plan.info.file_id,
                    plan.info.sub_app_id as i64,
                    serde_json::to_string(&plan.info.basic_info)?,
                    serde_json::to_string(&plan.info.meta_data)?
                ],
            )?;
            let ids = insert_events(tx, &plan.events)?;
            if let Some(task) = &plan.task {
                insert_task(tx, task)?;
            }
            Ok(Ok((plan, ids)))
        })
        .await
    }

    /// The session with this key.
    ///
    /// # Errors
    /// Store failure.
    pub async fn session(&self, session_key: String) -> Result<Option<Session>> {
        self.tx(move |tx| session_where(tx, "session_key", &session_key))
            .await
    }

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

    /// Task flows not finished yet.
    ///
    /// # Errors
    /// Store failure.
    pub async fn open_tasks(&self) -> Result<Vec<TaskRow>> {
        self.tx(move |tx| {
            let sql = format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE finished_ms IS NULL ORDER BY rowid"
            );
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map([], task_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Finishes a task flow and stores its event, atomically; `None` when the task is unknown
    /// or already finished. `event` builds the event from the task and its media.
    ///
    /// # Errors
    /// Store failure.
    pub async fn finish_task<F>(
        &self,
        task_id: String,
        now_ms: i64,
        event: F,
    ) -> Result<Option<(TaskRow, Option<i64>)>>
    where
        F: FnOnce(&TaskRow, Option<&MediaInfoRow>) -> Option<NewEvent> + Send + 'static,
    {
        self.tx(move |tx| {
            let sql = format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = ?1 AND finished_ms IS NULL"
            );
            let Some(mut task) = tx.query_row(&sql, params![task_id], task_row).optional()? else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE tasks SET finished_ms = ?2 WHERE task_id = ?1",
                params![task_id, now_ms],
            )?;
            task.finished_ms = Some(now_ms);
            let info = media_info_where(tx, &task.file_id)?;
            let id = match event(&task, info.as_ref()) {
                Some(ev) => insert_events(tx, &[ev])?.first().copied(),
                None => None,
            };
            Ok(Some((task, id)))
        })
        .await
    }

    /// Descriptions of these media, in order; `None` for each that does not exist in
    /// `sub_app_id`.
    ///
    /// # Errors
    /// Store failure.
    pub async fn media_infos(
        &self,
        sub_app_id: u64,
        file_ids: Vec<String>,
    ) -> Result<Vec<(String, Option<MediaInfoRow>)>> {
        self.tx(move |tx| {
            let mut out = Vec::new();
            for id in file_ids {
                let info = media_info_where(tx, &id)?.filter(|i| i.sub_app_id == sub_app_id);
                out.push((id, info));
            }
            Ok(out)
        })
        .await
    }

    /// Deletes a media file of `sub_app_id`: its rows, its objects (media, cover, and with the
    /// emulator's own layout everything under its directory) and, if `event` returns one, a
    /// FileDeleted event, atomically. `None` when the media does not exist.
    ///
    /// # Errors
    /// Store failure.
    pub async fn delete_media<F>(
        &self,
        sub_app_id: u64,
        file_id: String,
        event: F,
    ) -> Result<Option<Deleted>>
    where
        F: FnOnce(&MediaInfoRow) -> Option<NewEvent> + Send + 'static,
    {
        self.tx(move |tx| {
            let Some(info) = media_info_where(tx, &file_id)?.filter(|i| i.sub_app_id == sub_app_id)
            else {
                return Ok(None);
            };
            let session_key: Option<String> = tx
                .query_row(
                    "SELECT session_key FROM media WHERE file_id = ?1",
                    params![file_id],
                    |r| r.get(0),
                )
                .optional()?;
            let session = match session_key {
                Some(k) => session_where(tx, "session_key", &k)?,
                None => None,
            };
            let mut blobs = Vec::new();
            if let Some(s) = session {
                let mut keys = vec![s.media_key.clone()];
                keys.extend(s.cover_key.clone());
                if s.request.media_storage_path.is_none() {
                    let prefix = s.key_prefix();
                    let mut stmt = tx.prepare(
                        "SELECT key FROM objects WHERE bucket = ?1
                         AND substr(key, 1, length(?2)) = ?2",
                    )?;
                    let found = stmt
                        .query_map(params![s.bucket, prefix], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    keys.extend(found);
                }
                keys.sort();
                keys.dedup();
                for key in keys {
                    if let Some(obj) = super::object_where(tx, &s.bucket, &key)? {
                        blobs.extend(super::blob_names(obj));
                        tx.execute(
                            "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
                            params![s.bucket, key],
                        )?;
                    }
                }
            }
            tx.execute("DELETE FROM media WHERE file_id = ?1", params![file_id])?;
            tx.execute(
                "DELETE FROM media_info WHERE file_id = ?1",
                params![file_id],
            )?;
            let event_id = match event(&info) {
                Some(ev) => insert_events(tx, &[ev])?.first().copied(),
                None => None,
            };
            Ok(Some(Deleted { blobs, event_id }))
        })
        .await
    }

    /// The stored event configuration of an application, if it was ever modified.
    ///
    /// # Errors
    /// Store failure.
    pub async fn event_config(&self, sub_app_id: u64) -> Result<Option<EventConfigRow>> {
        self.tx(move |tx| {
            let raw: Option<String> = tx
                .query_row(
                    "SELECT config FROM event_config WHERE sub_app_id = ?1",
                    params![sub_app_id as i64],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
        })
        .await
    }

    /// Stores an application's event configuration.
    ///
    /// # Errors
    /// Store failure.
    pub async fn put_event_config(&self, sub_app_id: u64, config: EventConfigRow) -> Result<()> {
        let raw = serde_json::to_string(&config)?;
        self.tx(move |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO event_config (sub_app_id, config) VALUES (?1, ?2)",
                params![sub_app_id as i64, raw],
            )?;
            Ok(())
        })
        .await
    }
}

impl Store {
    /// Key and size of every object in `bucket` whose key starts with `prefix`.
    ///
    /// # Errors
    /// Store failure.
    pub async fn object_sizes_under(
        &self,
        bucket: String,
        prefix: String,
    ) -> Result<Vec<(String, u64)>> {
        self.tx(move |tx| {
            let mut stmt = tx.prepare(
                "SELECT key, size FROM objects WHERE bucket = ?1
                 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
            )?;
            let rows = stmt.query_map(params![bucket, prefix], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
