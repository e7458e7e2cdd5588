//! Durable state: metadata rows in SQLite (WAL) and object bytes as blob files.
//!
//! The store knows rows and bytes, not HTTP. Every call runs on the blocking pool behind one
//! `std::sync::Mutex` (SQLite serialises writers anyway, and no lock is ever held across an
//! `.await`). Multi-row changes are single transactions, so a crash or a refused request never
//! leaves half a change behind.

mod blobs;
mod events;
mod records;

pub use blobs::Blobs;
pub use events::{
    CommitPlan, Delivery, EventConfigRow, EventFilter, EventRow, EventState, MediaInfoRow,
    NewEvent, PullDecision, TaskRow,
};
pub use records::{Media, ObjectMeta, Part, Segment, Session, Upload};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
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

/// How to find an upload session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRef {
    /// By the temporary SecretId its COS requests sign with.
    SecretId(String),
    /// By its VodSessionKey.
    SessionKey(String),
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
        schema.execute_batch(events::SCHEMA)?;
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
    /// `f` rolls the transaction back.
    async fn tx<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut db = inner
                .db
                .lock()
                .map_err(|_| StoreError::Task("database lock poisoned".into()))?;
            let tx = db.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
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
        self.tx(|tx| {
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

    /// The session whose temporary SecretId this is.
    ///
    /// # Errors
    /// Store failure.
    pub async fn session_by_secret_id(&self, secret_id: String) -> Result<Option<Session>> {
        self.tx(move |tx| session_where(tx, "tmp_secret_id", &secret_id))
            .await
    }

    /// Stores (or replaces) an object; returns the blobs the replaced version used.
    ///
    /// # Errors
    /// Store failure.
    pub async fn put_object(&self, obj: ObjectMeta) -> Result<Vec<String>> {
        self.tx(move |tx| {
            let old = object_where(tx, &obj.bucket, &obj.key)?;
            insert_object(tx, &obj)?;
            Ok(old.map(blob_names).unwrap_or_default())
        })
        .await
    }

    /// The object, if stored.
    ///
    /// # Errors
    /// Store failure.
    pub async fn object(&self, bucket: String, key: String) -> Result<Option<ObjectMeta>> {
        self.tx(move |tx| object_where(tx, &bucket, &key)).await
    }

    /// The object, if stored and served by a media URL: committed media own their URLs from
    /// CommitUpload until DeleteMedia ([`media_serves`]).
    ///
    /// # Errors
    /// Store failure.
    pub async fn media_object(&self, bucket: String, key: String) -> Result<Option<ObjectMeta>> {
        self.tx(move |tx| {
            if media_serves(tx, &bucket, &key)? {
                object_where(tx, &bucket, &key)
            } else {
                Ok(None)
            }
        })
        .await
    }

    /// Deletes an object; returns its blobs (empty when there was none).
    ///
    /// # Errors
    /// Store failure.
    pub async fn delete_object(&self, bucket: String, key: String) -> Result<Vec<String>> {
        self.tx(move |tx| {
            let old = object_where(tx, &bucket, &key)?;
            tx.execute(
                "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
                params![bucket, key],
            )?;
            Ok(old.map(blob_names).unwrap_or_default())
        })
        .await
    }

    /// Records a new multipart upload.
    ///
    /// # Errors
    /// Store failure.
    pub async fn insert_upload(&self, u: Upload) -> Result<()> {
        let headers = serde_json::to_string(&u.headers)?;
        self.tx(move |tx| {
            tx.execute(
                "INSERT INTO uploads (upload_id, bucket, key, initiated_ms, headers, storage_class)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    u.upload_id,
                    u.bucket,
                    u.key,
                    u.initiated_ms,
                    headers,
                    u.storage_class
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// The upload with this id.
    ///
    /// # Errors
    /// Store failure.
    pub async fn upload(&self, upload_id: String) -> Result<Option<Upload>> {
        self.tx(move |tx| upload_where(tx, &upload_id)).await
    }

    /// The uploads in progress in a bucket, by key then initiation time.
    ///
    /// # Errors
    /// Store failure.
    pub async fn uploads(&self, bucket: String, prefix: String) -> Result<Vec<Upload>> {
        self.tx(move |tx| {
            let mut stmt = tx.prepare(
                "SELECT upload_id, bucket, key, initiated_ms, headers, storage_class
                 FROM uploads WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2
                 ORDER BY key, initiated_ms, rowid",
            )?;
            let rows = stmt.query_map(params![bucket, prefix], upload_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            Ok(out)
        })
        .await
    }

    /// Stores a part of a live upload; `Ok(None)` when the upload no longer exists (the blob is
    /// then the caller's to remove). Otherwise returns the blob of the part it replaced, if any.
    ///
    /// # Errors
    /// Store failure.
    pub async fn put_part(&self, upload_id: String, part: Part) -> Result<Option<Vec<String>>> {
        self.tx(move |tx| {
            let live = tx
                .query_row(
                    "SELECT 1 FROM uploads WHERE upload_id = ?1",
                    params![upload_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !live {
                return Ok(None);
            }
            let old: Option<String> = tx
                .query_row(
                    "SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                    params![upload_id, part.part_number],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "INSERT OR REPLACE INTO parts
                    (upload_id, part_number, size, etag, crc64, blob, last_modified_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    upload_id,
                    part.part_number,
                    part.size as i64,
                    part.etag,
                    part.crc64 as i64,
                    part.blob,
                    part.last_modified_ms
                ],
            )?;
            Ok(Some(old.into_iter().collect()))
        })
        .await
    }

    /// The parts of an upload, ascending by number.
    ///
    /// # Errors
    /// Store failure.
    pub async fn parts(&self, upload_id: String) -> Result<Vec<Part>> {
        self.tx(move |tx| parts_of(tx, &upload_id)).await
    }

    /// Completes an upload atomically: `assemble` sees the upload and its parts and either
    /// refuses (nothing changes) or returns the object to store. Returns the blobs no longer
    /// needed (unlisted parts, the replaced object), or `Ok(Err(None))` for an unknown upload.
    /// With `keep` false the object is assembled but nothing is written (a lost write: the
    /// upload stays in progress, as if Complete never arrived).
    ///
    /// # Errors
    /// Store failure; a refusal is the inner `Err`.
    pub async fn complete_upload<E, F>(
        &self,
        upload_id: String,
        keep: bool,
        assemble: F,
    ) -> Result<Result<(ObjectMeta, Vec<String>), Option<E>>>
    where
        E: Send + 'static,
        F: FnOnce(&Upload, &[Part]) -> Result<ObjectMeta, E> + Send + 'static,
    {
        self.tx(move |tx| {
            let Some(upload) = upload_where(tx, &upload_id)? else {
                return Ok(Err(None));
            };
            let parts = parts_of(tx, &upload_id)?;
            let obj = match assemble(&upload, &parts) {
                Ok(obj) => obj,
                Err(refusal) => return Ok(Err(Some(refusal))),
            };
            if !keep {
                return Ok(Ok((obj, Vec::new())));
            }
            let used: std::collections::HashSet<&str> =
                obj.segments.iter().map(|s| s.blob.as_str()).collect();
            let mut garbage: Vec<String> = parts
                .iter()
                .filter(|p| !used.contains(p.blob.as_str()))
                .map(|p| p.blob.clone())
                .collect();
            if let Some(old) = object_where(tx, &obj.bucket, &obj.key)? {
                garbage.extend(blob_names(old));
            }
            insert_object(tx, &obj)?;
            tx.execute("DELETE FROM parts WHERE upload_id = ?1", params![upload_id])?;
            tx.execute(
                "DELETE FROM uploads WHERE upload_id = ?1",
                params![upload_id],
            )?;
            Ok(Ok((obj, garbage)))
        })
        .await
    }

    /// Aborts an upload; returns its parts' blobs, or `None` for an unknown upload.
    ///
    /// # Errors
    /// Store failure.
    pub async fn abort_upload(&self, upload_id: String) -> Result<Option<Vec<String>>> {
        self.tx(move |tx| {
            let n = tx.execute(
                "DELETE FROM uploads WHERE upload_id = ?1",
                params![upload_id],
            )?;
            if n == 0 {
                return Ok(None);
            }
            let blobs = parts_of(tx, &upload_id)?
                .into_iter()
                .map(|p| p.blob)
                .collect();
            tx.execute("DELETE FROM parts WHERE upload_id = ?1", params![upload_id])?;
            Ok(Some(blobs))
        })
        .await
    }
}

fn session_where(tx: &Transaction<'_>, column: &str, value: &str) -> Result<Option<Session>> {
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

fn insert_object(tx: &Transaction<'_>, obj: &ObjectMeta) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO objects
            (bucket, key, size, etag, crc64, last_modified_ms, headers, segments)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            obj.bucket,
            obj.key,
            obj.size as i64,
            obj.etag,
            obj.crc64 as i64,
            obj.last_modified_ms,
            serde_json::to_string(&obj.headers)?,
            serde_json::to_string(&obj.segments)?
        ],
    )?;
    Ok(())
}

fn object_where(tx: &Transaction<'_>, bucket: &str, key: &str) -> Result<Option<ObjectMeta>> {
    let row = tx
        .query_row(
            "SELECT size, etag, crc64, last_modified_ms, headers, segments
             FROM objects WHERE bucket = ?1 AND key = ?2",
            params![bucket, key],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((size, etag, crc64, last_modified_ms, headers, segments)) = row else {
        return Ok(None);
    };
    Ok(Some(ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: size as u64,
        etag,
        crc64: crc64 as u64,
        last_modified_ms,
        headers: serde_json::from_str(&headers)?,
        segments: serde_json::from_str(&segments)?,
    }))
}

/// Whether a media URL serves `bucket`/`key`. The media or cover key of a session is served
/// exactly when one session naming it is committed (its media row, written by CommitUpload and
/// removed by DeleteMedia, exists); any other key is served when it lies under the directory of
/// a committed media (HLS/DASH segments beside their playlist).
fn media_serves(tx: &Transaction<'_>, bucket: &str, key: &str) -> Result<bool> {
    let mut owners = tx.prepare(
        "SELECT EXISTS (SELECT 1 FROM media m WHERE m.session_key = s.session_key)
         FROM sessions s WHERE s.bucket = ?1 AND (s.media_key = ?2 OR s.cover_key = ?2)",
    )?;
    let committed = owners
        .query_map(params![bucket, key], |r| r.get::<_, bool>(0))?
        .collect::<rusqlite::Result<Vec<bool>>>()?;
    if !committed.is_empty() {
        return Ok(committed.contains(&true));
    }
    for (slash, _) in key.match_indices('/') {
        let in_media_dir = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM media m JOIN sessions s ON s.session_key = m.session_key
             WHERE s.bucket = ?1 AND substr(s.media_key, 1, length(?2)) = ?2
             AND instr(substr(s.media_key, length(?2) + 1), '/') = 0)",
            params![bucket, &key[..=slash]],
            |r| r.get::<_, bool>(0),
        )?;
        if in_media_dir {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every blob name the metadata refers to: object segments and stored parts.
fn referenced_blobs(db: &Connection) -> Result<std::collections::HashSet<String>> {
    let mut names = std::collections::HashSet::new();
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

fn blob_names(obj: ObjectMeta) -> Vec<String> {
    obj.segments.into_iter().map(|s| s.blob).collect()
}

fn upload_row(r: &Row<'_>) -> rusqlite::Result<Result<Upload>> {
    let headers: String = r.get(4)?;
    Ok(match serde_json::from_str(&headers) {
        Ok(headers) => Ok(Upload {
            upload_id: r.get(0)?,
            bucket: r.get(1)?,
            key: r.get(2)?,
            initiated_ms: r.get(3)?,
            headers,
            storage_class: r.get(5)?,
        }),
        Err(e) => Err(e.into()),
    })
}

fn upload_where(tx: &Transaction<'_>, upload_id: &str) -> Result<Option<Upload>> {
    tx.query_row(
        "SELECT upload_id, bucket, key, initiated_ms, headers, storage_class
         FROM uploads WHERE upload_id = ?1",
        params![upload_id],
        upload_row,
    )
    .optional()?
    .transpose()
}

fn parts_of(tx: &Transaction<'_>, upload_id: &str) -> Result<Vec<Part>> {
    let mut stmt = tx.prepare(
        "SELECT part_number, size, etag, crc64, blob, last_modified_ms
         FROM parts WHERE upload_id = ?1 ORDER BY part_number",
    )?;
    let rows = stmt.query_map(params![upload_id], |r| {
        Ok(Part {
            part_number: r.get(0)?,
            size: r.get::<_, i64>(1)? as u64,
            etag: r.get(2)?,
            crc64: r.get::<_, i64>(3)? as u64,
            blob: r.get(4)?,
            last_modified_ms: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
