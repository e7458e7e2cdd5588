//! Durable state: metadata rows in SQLite (WAL) and object bytes as blob files.
//!
//! The store knows rows and bytes, not HTTP. Every call runs on the blocking pool behind one
//! `std::sync::Mutex` (SQLite serialises writers anyway, and no lock is ever held across an
//! `.await`). Multi-row changes are single transactions, so a crash or a refused request never
//! leaves half a change behind.
//!
//! # Layout
//! One file per kind of row kept, each adding its own `impl Store` block and tests:
//! - `sessions`: upload sessions (ApplyUpload, lookup by credentials, expiry, CommitUpload);
//! - `objects`: COS objects and the blobs they use;
//! - `multipart`: multipart uploads and their parts (complete, abort);
//! - `media`: committed media, what a media URL serves, DescribeMediaInfos, DeleteMedia;
//! - `events`: events and their listing; `delivery`: pulling, confirming and pushing them;
//! - `tasks`: task flows in progress;
//! - `event_config`: each application's event configuration;
//! - `records`: the plain row types; `blobs`: the blob files.
//!
//! # Refusals
//! CommitUpload and CompleteMultipartUpload decide inside their transaction, with the rows in
//! hand, whether the request may go on. Their closures refuse with the caller's own error, and
//! the transaction fails with [`TxError`]: the store failed, or the caller refused. A named
//! error (rather than a `Result` inside a `Result`) lets a closure use `?` on store calls and
//! lets the service layer turn both cases into its wire error in one place (`error.rs`), so a
//! call site is a single `?`.

mod blobs;
mod delivery;
mod event_config;
mod events;
mod media;
mod multipart;
mod objects;
mod records;
mod sessions;
mod tasks;
#[cfg(test)]
mod testing;

pub use blobs::{Blobs, ALIGN as DIRECT_IO_ALIGN};
pub use delivery::PullDecision;
pub use event_config::EventConfigRow;
pub use events::{Delivery, EventFilter, EventRow, EventState, NewEvent};
pub use media::MediaInfoRow;
pub use records::{Media, ObjectMeta, Part, Segment, Session, Upload};
pub use sessions::{CommitPlan, SessionRef};
pub use tasks::TaskRow;

use rusqlite::{params, Connection, Transaction};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A failure of the store itself (never of the request).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file system refused.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A stored JSON column did not parse.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The blocking task died.
    #[error("store task failed: {0}")]
    Task(String),
}

/// Why a transaction that the caller may refuse wrote nothing: the store failed, or the
/// caller's check refused with its own error `E` (see "Refusals" above).
#[derive(Debug, thiserror::Error)]
pub enum TxError<E> {
    /// The store itself failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller's check refused; the request's own error, passed through untouched.
    #[error("refused: {0}")]
    Refused(E),
}

impl<E: From<StoreError>> TxError<E> {
    /// The caller's error either way: a refusal as it was, a store failure converted the way
    /// the caller converts any other store failure.
    pub fn into_inner(self) -> E {
        match self {
            Self::Store(err) => err.into(),
            Self::Refused(err) => err,
        }
    }
}

/// Result alias for store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Cheap-to-clone handle to the store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Mutex<Connection>,
    blobs: Blobs,
    // Kept so the temporary directory lives exactly as long as the store.
    _temp: Option<tempfile::TempDir>,
}

/// Every table. `CREATE … IF NOT EXISTS` throughout: opening an existing data directory
/// keeps what it holds.
const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_key TEXT PRIMARY KEY,
    sub_app_id INTEGER,
    file_id TEXT NOT NULL UNIQUE,
    request TEXT NOT NULL,
    bucket TEXT NOT NULL,
    region TEXT NOT NULL,
    media_key TEXT NOT NULL,
    cover_key TEXT,
    tmp_secret_id TEXT NOT NULL UNIQUE,
    tmp_secret_key TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    committed_at INTEGER
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc64 INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    headers TEXT NOT NULL,
    segments TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    initiated_ms INTEGER NOT NULL,
    headers TEXT NOT NULL,
    storage_class TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated_ms);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc64 INTEGER NOT NULL,
    blob TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
CREATE TABLE IF NOT EXISTS media (
    file_id TEXT PRIMARY KEY,
    sub_app_id INTEGER,
    session_key TEXT NOT NULL UNIQUE,
    media_url TEXT NOT NULL,
    cover_url TEXT,
    created_at INTEGER NOT NULL
);
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

impl Store {
    /// Opens the store in `data_dir` (durable: fsync before commit), or in a fresh temporary
    /// directory that is removed when the last handle is dropped.
    ///
    /// # Errors
    /// The directory, database or schema cannot be set up.
    pub fn open(data_dir: Option<&Path>) -> Result<Self> {
        let (root, temp, durable) = match data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.to_path_buf(), None, true)
            }
            None => {
                let temp = tempfile::Builder::new().prefix("vod-emulator-").tempdir()?;
                (temp.path().to_path_buf(), Some(temp), false)
            }
        };
        let mut db = Connection::open(root.join("meta.sqlite3"))?;
        // A durable store logs ahead and syncs every commit. A temporary one, which nothing
        // will ever reopen, keeps its rollback journal in memory and never syncs: no WAL and
        // shared-memory files to set up, and no fsync at start-up or on any commit.
        let (synchronous, journal) = if durable {
            ("FULL", "WAL")
        } else {
            ("OFF", "MEMORY")
        };
        db.pragma_update(None, "synchronous", synchronous)?;
        db.pragma_update(None, "journal_mode", journal)?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        let schema = db.transaction()?;
        schema.execute_batch(SCHEMA)?;
        schema.commit()?;
        let blobs = Blobs::open(&root, durable)?;
        let removed = blobs.collect_garbage(&referenced_blobs(&db)?)?;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed blob files no metadata refers to (an interrupted write)"
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                db: Mutex::new(db),
                blobs,
                _temp: temp,
            }),
        })
    }

    /// The blob files.
    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    /// Runs `f` on the connection inside one transaction on the blocking pool; an `Err` from
    /// `f` rolls the transaction back. `E` is [`StoreError`], or a [`TxError`] when `f` may
    /// refuse.
    async fn tx<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut db = inner
                .db
                .lock()
                .map_err(|_| StoreError::Task("database lock poisoned".into()))?;
            let tx = db.transaction().map_err(StoreError::from)?;
            let out = f(&tx)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Empties every table and removes every blob: a fresh store, without a restart.
    ///
    /// # Errors
    /// Store failure.
    pub async fn reset(&self) -> Result<()> {
        self.tx(|tx| -> Result<()> {
            tx.execute_batch(
                "DELETE FROM counters; DELETE FROM sessions; DELETE FROM objects;
                 DELETE FROM uploads; DELETE FROM parts; DELETE FROM media;
                 DELETE FROM events; DELETE FROM tasks; DELETE FROM media_info;
                 DELETE FROM event_config;",
            )?;
            Ok(())
        })
        .await?;
        self.blobs().clear().await?;
        Ok(())
    }

    /// Takes the next value of a named sequence (starting at 1).
    ///
    /// # Errors
    /// Store failure.
    pub async fn next_seq(&self, name: &'static str) -> Result<u64> {
        self.tx(move |tx| {
            tx.execute(
                "INSERT INTO counters (name, value) VALUES (?1, 1)
                 ON CONFLICT(name) DO UPDATE SET value = value + 1",
                params![name],
            )?;
            let v: i64 = tx.query_row(
                "SELECT value FROM counters WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(v).unwrap_or(0))
        })
        .await
    }
}

/// Every blob name the metadata refers to: object segments and stored parts.
fn referenced_blobs(db: &Connection) -> Result<HashSet<String>> {
    let mut names = HashSet::new();
    let mut stmt = db.prepare("SELECT segments FROM objects")?;
    for segments in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let segments: Vec<Segment> = serde_json::from_str(&segments?)?;
        names.extend(segments.into_iter().map(|s| s.blob));
    }
    let mut stmt = db.prepare("SELECT blob FROM parts")?;
    for blob in stmt.query_map([], |r| r.get::<_, String>(0))? {
        names.insert(blob?);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::testing::{committed, object, session, store, upload, BUCKET};
    use super::*;

    /// Writes a blob holding `data`; returns its name.
    fn blob(store: &Store, data: &[u8]) -> String {
        let mut writer = store.blobs().create().unwrap();
        writer.write(data).unwrap();
        writer.finish().unwrap()
    }

    /// A `--data-dir` store reopened keeps every committed row and the blobs they use, and
    /// removes blob files nothing refers to.
    #[tokio::test]
    async fn reopening_a_data_dir_keeps_what_was_committed() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, stray) = {
            let store = Store::open(Some(dir.path())).unwrap();
            committed(&store, session(1)).await;
            let kept = blob(&store, b"kept");
            store
                .put_object(object("1/media.mp4", &[&kept]))
                .await
                .unwrap();
            store.insert_upload(upload("u", "k")).await.unwrap();
            assert_eq!(store.next_seq("file_id").await.unwrap(), 1);
            (kept, blob(&store, b"stray"))
        };
        let store = Store::open(Some(dir.path())).unwrap();
        let s = store.session("key-1".into()).await.unwrap().unwrap();
        assert_eq!(s.committed_at, Some(150));
        let obj = store
            .object(BUCKET.into(), "1/media.mp4".into())
            .await
            .unwrap();
        assert_eq!(obj, Some(object("1/media.mp4", &[&kept])));
        assert!(store.upload("u".into()).await.unwrap().is_some());
        assert_eq!(store.open_tasks().await.unwrap().len(), 1);
        assert_eq!(store.events(EventFilter::default()).await.unwrap().len(), 1);
        assert_eq!(store.next_seq("file_id").await.unwrap(), 2);
        assert!(store.blobs().path(&kept).exists());
        assert!(!store.blobs().path(&stray).exists());
    }

    /// A reset empties every table and restarts the sequences.
    #[tokio::test]
    async fn a_reset_leaves_a_fresh_store() {
        let store = store();
        committed(&store, session(1)).await;
        store.put_object(object("k", &["a"])).await.unwrap();
        store.insert_upload(upload("u", "k")).await.unwrap();
        assert_eq!(store.next_seq("n").await.unwrap(), 1);
        store.reset().await.unwrap();
        assert_eq!(store.session("key-1".into()).await.unwrap(), None);
        assert_eq!(store.object(BUCKET.into(), "k".into()).await.unwrap(), None);
        assert_eq!(store.upload("u".into()).await.unwrap(), None);
        assert!(store
            .events(EventFilter::default())
            .await
            .unwrap()
            .is_empty());
        assert!(store.open_tasks().await.unwrap().is_empty());
        assert_eq!(store.next_seq("n").await.unwrap(), 1);
    }
}
