//! Upload sessions: what ApplyUpload reserved, found again by its temporary credentials or its
//! session key, expired early by a fault, and committed by CommitUpload together with every
//! row the commit produces (media, description, events, task flow), in one transaction.

use super::events::{insert_events, NewEvent};
use super::media::{insert_media, MediaInfoRow};
use super::objects::object_exists;
use super::tasks::{insert_task, TaskRow};
use super::{Media, Result, Session, Store, TxError};
use rusqlite::{params, OptionalExtension, Transaction};

/// How to find an upload session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRef {
    /// By the temporary SecretId its COS requests sign with.
    SecretId(String),
    /// By its VodSessionKey.
    SessionKey(String),
}

/// Everything a successful CommitUpload writes besides the session's commit mark.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitPlan {
    /// The media row.
    pub media: Media,
    /// Its description.
    pub info: MediaInfoRow,
    /// Events it produces (NewFileUpload, and ProcedureStateChanged when immediate).
    pub events: Vec<NewEvent>,
    /// The task flow it starts.
    pub task: Option<TaskRow>,
}

impl Store {
    /// Records a new session.
    ///
    /// # Errors
    /// Store failure (including a duplicate key, which would be a bug).
    pub async fn insert_session(&self, s: Session) -> Result<()> {
        let request = serde_json::to_string(&s.request)?;
        self.tx(move |tx| {
            tx.execute(
                "INSERT INTO sessions (session_key, sub_app_id, file_id, request, bucket, region,
                    media_key, cover_key, tmp_secret_id, tmp_secret_key, token, created_at,
                    expires_at, committed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    s.session_key,
                    s.sub_app_id.map(|v| v as i64),
                    s.file_id,
                    request,
                    s.bucket,
                    s.region,
                    s.media_key,
                    s.cover_key,
                    s.tmp_secret_id,
                    s.tmp_secret_key,
                    s.token,
                    s.created_at,
                    s.expires_at,
                    s.committed_at
                ],
            )?;
            Ok(())
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

    /// Sessions not committed (expired ones included: the caller compares `expires_at` with
    /// its clock), oldest first.
    ///
    /// # Errors
    /// Store failure.
    pub async fn open_sessions(&self) -> Result<Vec<Session>> {
        self.tx(|tx| {
            let keys = tx
                .prepare(
                    "SELECT session_key FROM sessions WHERE committed_at IS NULL ORDER BY rowid",
                )?
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for key in keys {
                out.extend(session_where(tx, "session_key", &key)?);
            }
            Ok(out)
        })
        .await
    }

    /// The session whose temporary SecretId this is.
    ///
    /// # Errors
    /// Store failure.
    pub async fn session_by_secret_id(&self, secret_id: String) -> Result<Option<Session>> {
        self.tx(move |tx| session_where(tx, "tmp_secret_id", &secret_id))
            .await
    }

    /// Makes a session expire now (its credentials and session key are refused from now on),
    /// found by its temporary SecretId or its session key; whether one was found.
    ///
    /// # Errors
    /// Store failure.
    pub async fn expire_session(&self, by: SessionRef, now: i64) -> Result<bool> {
        self.tx(move |tx| {
            let (column, value) = match &by {
                SessionRef::SecretId(id) => ("tmp_secret_id", id),
                SessionRef::SessionKey(key) => ("session_key", key),
            };
            let sql =
                format!("UPDATE sessions SET expires_at = MIN(expires_at, ?2) WHERE {column} = ?1");
            Ok(tx.execute(&sql, params![value, now - 1])? > 0)
        })
        .await
    }

    /// Records a committed upload and everything it produces, in one transaction: `check`
    /// sees the session and whether objects exist and either refuses (nothing changes) or
    /// returns the plan to write. Returns the plan and the ids of the events written. With
    /// `keep` false the plan is checked and returned but nothing is written (a `lose_write`
    /// fault).
    ///
    /// # Errors
    /// [`TxError::Refused`] with `check`'s refusal; [`TxError::Store`] on store failure.
    pub async fn commit_session<E, F>(
        &self,
        session_key: String,
        keep: bool,
        check: F,
    ) -> Result<(CommitPlan, Vec<i64>), TxError<E>>
    where
        E: Send + 'static,
        F: FnOnce(
                Option<&Session>,
                &dyn Fn(&str, &str) -> Result<bool>,
            ) -> Result<CommitPlan, TxError<E>>
            + Send
            + 'static,
    {
        self.tx(move |tx| {
            let session = session_where(tx, "session_key", &session_key)?;
            let exists = |bucket: &str, key: &str| object_exists(tx, bucket, key);
            let plan = check(session.as_ref(), &exists)?;
            let ids = if keep {
                write_commit(tx, &session_key, &plan)?
            } else {
                Vec::new()
            };
            Ok((plan, ids))
        })
        .await
    }
}

/// Writes a checked commit: the session's mark, the media rows, events and task flow; returns
/// the events' ids.
fn write_commit(tx: &Transaction<'_>, session_key: &str, plan: &CommitPlan) -> Result<Vec<i64>> {
    tx.execute(
        "UPDATE sessions SET committed_at = ?2 WHERE session_key = ?1",
        params![session_key, plan.media.created_at],
    )?;
    insert_media(tx, &plan.media, &plan.info)?;
    let ids = insert_events(tx, &plan.events)?;
    if let Some(task) = &plan.task {
        insert_task(tx, task)?;
    }
    Ok(ids)
}

/// The session whose `column` is `value`; `column` is always a literal of this crate, never
/// request data.
pub(super) fn session_where(
    tx: &Transaction<'_>,
    column: &str,
    value: &str,
) -> Result<Option<Session>> {
    let sql = format!(
        "SELECT session_key, sub_app_id, file_id, request, bucket, region, media_key, cover_key,
            tmp_secret_id, tmp_secret_key, token, created_at, expires_at, committed_at
         FROM sessions WHERE {column} = ?1"
    );
    let row = tx
        .query_row(&sql, params![value], |r| {
            Ok((
                Session {
                    session_key: r.get(0)?,
                    sub_app_id: r.get::<_, Option<i64>>(1)?.map(|v| v as u64),
                    file_id: r.get(2)?,
                    request: Default::default(),
                    bucket: r.get(4)?,
                    region: r.get(5)?,
                    media_key: r.get(6)?,
                    cover_key: r.get(7)?,
                    tmp_secret_id: r.get(8)?,
                    tmp_secret_key: r.get(9)?,
                    token: r.get(10)?,
                    created_at: r.get(11)?,
                    expires_at: r.get(12)?,
                    committed_at: r.get(13)?,
                },
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((mut s, request)) => {
            s.request = serde_json::from_str(&request)?;
            Ok(Some(s))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::{committed, object, plan, session, store, BUCKET};
    use super::super::EventFilter;
    use super::*;

    /// Only sessions not committed are open, in the order they were applied for.
    #[tokio::test]
    async fn open_sessions_are_the_uncommitted_ones() {
        let store = store();
        store.insert_session(session(1)).await.unwrap();
        committed(&store, session(2)).await;
        store.insert_session(session(3)).await.unwrap();
        let open: Vec<String> = store
            .open_sessions()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.session_key)
            .collect();
        assert_eq!(open, ["key-1", "key-3"]);
    }

    /// A session is found again by its key and by its temporary SecretId, whole.
    #[tokio::test]
    async fn a_session_is_found_by_key_and_by_secret_id() {
        let store = store();
        store.insert_session(session(1)).await.unwrap();
        store.insert_session(session(2)).await.unwrap();
        assert_eq!(
            store.session("key-1".into()).await.unwrap(),
            Some(session(1))
        );
        assert_eq!(
            store.session_by_secret_id("sid-2".into()).await.unwrap(),
            Some(session(2))
        );
        assert_eq!(store.session("sid-1".into()).await.unwrap(), None);
        assert_eq!(
            store.session_by_secret_id("key-1".into()).await.unwrap(),
            None
        );
    }

    /// Expiring moves the deadline back (never forward), by either reference, and says
    /// whether the session exists.
    #[tokio::test]
    async fn expiring_a_session_only_moves_its_deadline_back() {
        let store = store();
        store.insert_session(session(1)).await.unwrap();
        let expires = |store: Store| async move {
            store
                .session("key-1".into())
                .await
                .unwrap()
                .unwrap()
                .expires_at
        };
        assert!(store
            .expire_session(SessionRef::SecretId("sid-1".into()), 150)
            .await
            .unwrap());
        assert_eq!(expires(store.clone()).await, 149);
        assert!(store
            .expire_session(SessionRef::SessionKey("key-1".into()), 180)
            .await
            .unwrap());
        assert_eq!(expires(store.clone()).await, 149);
        assert!(!store
            .expire_session(SessionRef::SessionKey("sid-1".into()), 120)
            .await
            .unwrap());
        assert_eq!(expires(store).await, 149);
    }

    /// A commit marks the session and writes the media, its description, its events and its
    /// task flow; the check sees which of the session's objects exist.
    #[tokio::test]
    async fn a_commit_writes_its_plan_and_marks_the_session() {
        let store = store();
        store.insert_session(session(1)).await.unwrap();
        store
            .put_object(object("1/media.mp4", &["a"]))
            .await
            .unwrap();
        let (written, ids) = store
            .commit_session::<(), _>("key-1".into(), true, |s, exists| {
                let s = s.expect("the session exists");
                assert!(exists(BUCKET, &s.media_key)?);
                assert!(!exists(BUCKET, "1/cover.jpg")?);
                Ok(plan(s))
            })
            .await
            .unwrap();
        assert_eq!(written, plan(&session(1)));
        let events = store.events(EventFilter::default()).await.unwrap();
        assert_eq!(ids, events.iter().map(|e| e.id).collect::<Vec<_>>());
        assert_eq!(ids.len(), 1);
        let s = store.session("key-1".into()).await.unwrap().unwrap();
        assert_eq!(s.committed_at, Some(150));
        let infos = store.media_infos(0, vec!["file-1".into()]).await.unwrap();
        assert_eq!(infos[0].1.as_ref(), Some(&written.info));
        assert_eq!(
            store.open_tasks().await.unwrap(),
            vec![written.task.unwrap()]
        );
    }

    /// A refusal comes back as the check's own error and writes nothing; an unknown session
    /// is shown to the check as `None`.
    #[tokio::test]
    async fn a_refused_commit_writes_nothing() {
        let store = store();
        store.insert_session(session(1)).await.unwrap();
        let refused = store
            .commit_session("key-1".into(), true, |_, _| {
                Err(TxError::Refused("expired"))
            })
            .await;
        assert!(matches!(refused, Err(TxError::Refused("expired"))));
        let unknown = store
            .commit_session("key-9".into(), true, |s, _| match s {
                None => Err(TxError::Refused("unknown")),
                Some(s) => Ok(plan(s)),
            })
            .await;
        assert!(matches!(unknown, Err(TxError::Refused("unknown"))));
        let s = store.session("key-1".into()).await.unwrap().unwrap();
        assert_eq!(s.committed_at, None);
        assert!(store
            .events(EventFilter::default())
            .await
            .unwrap()
            .is_empty());
        assert!(store.open_tasks().await.unwrap().is_empty());
    }

    /// A lost write (`keep` false) checks and returns the plan but writes nothing.
    #[tokio::test]
    async fn a_lost_commit_is_checked_but_not_written() {
        let store = store();
        store.insert_session(session(1)).await.unwrap();
        let (written, ids) = store
            .commit_session::<(), _>("key-1".into(), false, |s, _| Ok(plan(s.unwrap())))
            .await
            .unwrap();
        assert_eq!(written, plan(&session(1)));
        assert!(ids.is_empty());
        let s = store.session("key-1".into()).await.unwrap().unwrap();
        assert_eq!(s.committed_at, None);
        assert!(store
            .events(EventFilter::default())
            .await
            .unwrap()
            .is_empty());
        let infos = store.media_infos(0, vec!["file-1".into()]).await.unwrap();
        assert_eq!(infos[0].1, None);
    }
}
