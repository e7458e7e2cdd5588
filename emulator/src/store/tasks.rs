//! Task flows started by CommitUpload: which are still running, and finishing one together
//! with the ProcedureStateChanged event it produces.

use super::events::{insert_events, NewEvent};
use super::media::{media_info_where, MediaInfoRow};
use super::{Result, Store};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

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

const TASK_COLUMNS: &str =
    "task_id, file_id, sub_app_id, procedure, session_context, due_ms, finished_ms";

/// Records a task flow.
pub(super) fn insert_task(tx: &Transaction<'_>, t: &TaskRow) -> Result<()> {
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

impl Store {
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::{committed, event, plan, session, store};
    use super::super::{Delivery, EventFilter};

    /// A task flow is open until finished; finishing closes it once, at that time, and stores
    /// the event built from the task and its media's description.
    #[tokio::test]
    async fn finishing_a_task_closes_it_once_with_its_event() {
        let store = store();
        committed(&store, session(1)).await;
        let task = plan(&session(1)).task.unwrap();
        assert_eq!(
            store.open_tasks().await.unwrap(),
            std::slice::from_ref(&task)
        );
        let (finished, id) = store
            .finish_task(task.task_id.clone(), 500, |t, info| {
                assert_eq!(info.map(|i| i.file_id.as_str()), Some("file-1"));
                Some(event(t.sub_app_id, &t.file_id, Delivery::Push, 500))
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(finished.finished_ms, Some(500));
        assert_eq!(finished.task_id, task.task_id);
        assert!(store.open_tasks().await.unwrap().is_empty());
        let about = EventFilter {
            file_id: Some("file-1".into()),
            ..EventFilter::default()
        };
        let events = store.events(about).await.unwrap();
        assert_eq!(
            events.last().map(|e| (e.id, e.delivery)),
            id.map(|id| (id, Delivery::Push))
        );
        let again = store
            .finish_task(task.task_id, 600, |_, _| {
                panic!("an ended task produces nothing")
            })
            .await
            .unwrap();
        assert_eq!(again, None);
    }

    /// A task may finish without an event; an unknown one does not finish.
    #[tokio::test]
    async fn a_task_finishes_without_an_event_and_an_unknown_one_not_at_all() {
        let store = store();
        committed(&store, session(1)).await;
        let before = store.events(EventFilter::default()).await.unwrap().len();
        let (_, id) = store
            .finish_task("task-file-1".into(), 500, |_, _| None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(id, None);
        assert_eq!(
            store.events(EventFilter::default()).await.unwrap().len(),
            before
        );
        let unknown = store
            .finish_task("nope".into(), 500, |_, _| None)
            .await
            .unwrap();
        assert_eq!(unknown, None);
    }
}
