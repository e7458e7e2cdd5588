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
