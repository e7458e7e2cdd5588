//! Multipart uploads and their parts. Completing an upload turns its parts' blobs into the
//! object's segments (no bytes are copied) and hands back the blobs nothing uses any more;
//! aborting hands back every part's blob.

use super::objects::{blob_names, insert_object, object_where};
use super::{ObjectMeta, Part, Result, Store, TxError, Upload};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use std::collections::HashSet;

impl Store {
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
    /// refuses (nothing changes) or returns the object to store. Returns the object and the
    /// blobs no longer needed (unlisted parts, the replaced object), or `None` for an unknown
    /// upload. With `keep` false the object is assembled but nothing is written (a lost write:
    /// the upload stays in progress, as if Complete never arrived).
    ///
    /// # Errors
    /// [`TxError::Refused`] with `assemble`'s refusal; [`TxError::Store`] on store failure.
    pub async fn complete_upload<E, F>(
        &self,
        upload_id: String,
        keep: bool,
        assemble: F,
    ) -> Result<Option<(ObjectMeta, Vec<String>)>, TxError<E>>
    where
        E: Send + 'static,
        F: FnOnce(&Upload, &[Part]) -> Result<ObjectMeta, E> + Send + 'static,
    {
        self.tx(move |tx| {
            let Some(upload) = upload_where(tx, &upload_id)? else {
                return Ok(None);
            };
            let parts = parts_of(tx, &upload_id)?;
            let obj = assemble(&upload, &parts).map_err(TxError::Refused)?;
            let garbage = if keep {
                replace_upload(tx, &upload_id, &parts, &obj)?
            } else {
                Vec::new()
            };
            Ok(Some((obj, garbage)))
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

/// Stores the assembled object in place of the upload; returns the blobs no longer needed:
/// parts the object does not use, and the object it replaced.
fn replace_upload(
    tx: &Transaction<'_>,
    upload_id: &str,
    parts: &[Part],
    obj: &ObjectMeta,
) -> Result<Vec<String>> {
    let used: HashSet<&str> = obj.segments.iter().map(|s| s.blob.as_str()).collect();
    let mut garbage: Vec<String> = parts
        .iter()
        .filter(|p| !used.contains(p.blob.as_str()))
        .map(|p| p.blob.clone())
        .collect();
    if let Some(old) = object_where(tx, &obj.bucket, &obj.key)? {
        garbage.extend(blob_names(old));
    }
    insert_object(tx, obj)?;
    tx.execute("DELETE FROM parts WHERE upload_id = ?1", params![upload_id])?;
    tx.execute(
        "DELETE FROM uploads WHERE upload_id = ?1",
        params![upload_id],
    )?;
    Ok(garbage)
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
