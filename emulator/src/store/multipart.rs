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

    /// Every upload in progress, in every bucket, with its parts, oldest first.
    ///
    /// # Errors
    /// Store failure.
    pub async fn all_uploads(&self) -> Result<Vec<(Upload, Vec<Part>)>> {
        self.tx(|tx| {
            let mut stmt = tx.prepare(
                "SELECT upload_id, bucket, key, initiated_ms, headers, storage_class
                 FROM uploads ORDER BY initiated_ms, rowid",
            )?;
            let uploads = stmt.query_map([], upload_row)?;
            let mut out = Vec::new();
            for upload in uploads {
                let upload = upload??;
                let parts = parts_of(tx, &upload.upload_id)?;
                out.push((upload, parts));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::{object, part, store, upload, BUCKET};
    use super::*;

    /// Stores parts 1 ("a"), 2 ("b"), 3 ("c") of upload `u` of key `k`.
    async fn three_parts(store: &Store) {
        store.insert_upload(upload("u", "k")).await.unwrap();
        for (n, blob) in [(3, "c"), (1, "a"), (2, "b")] {
            store.put_part("u".into(), part(n, blob)).await.unwrap();
        }
    }

    /// Every upload in progress is listed with its parts in order, whatever its bucket.
    #[tokio::test]
    async fn all_uploads_come_with_their_parts() {
        let store = store();
        three_parts(&store).await;
        store.insert_upload(upload("v", "other")).await.unwrap();
        let all = store.all_uploads().await.unwrap();
        let listed: Vec<(&str, Vec<u32>)> = all
            .iter()
            .map(|(u, parts)| {
                (
                    u.upload_id.as_str(),
                    parts.iter().map(|p| p.part_number).collect(),
                )
            })
            .collect();
        assert_eq!(listed, [("u", vec![1, 2, 3]), ("v", vec![])]);
    }

    /// An object made of `parts`' blobs, in that order.
    fn assembled(parts: &[&Part]) -> ObjectMeta {
        let blobs: Vec<&str> = parts.iter().map(|p| p.blob.as_str()).collect();
        object("k", &blobs)
    }

    /// A part replaces the one with its number and hands back that one's blob; a part for an
    /// unknown upload is not stored.
    #[tokio::test]
    async fn a_part_replaces_the_one_with_its_number() {
        let store = store();
        store.insert_upload(upload("u", "k")).await.unwrap();
        assert_eq!(
            store.upload("u".into()).await.unwrap(),
            Some(upload("u", "k"))
        );
        assert_eq!(
            store.put_part("u".into(), part(1, "a")).await.unwrap(),
            Some(Vec::new())
        );
        assert_eq!(
            store.put_part("u".into(), part(1, "b")).await.unwrap(),
            Some(vec!["a".to_owned()])
        );
        assert_eq!(store.parts("u".into()).await.unwrap(), vec![part(1, "b")]);
        assert_eq!(
            store.put_part("gone".into(), part(1, "x")).await.unwrap(),
            None
        );
        assert!(store.parts("gone".into()).await.unwrap().is_empty());
    }

    /// Uploads in progress are listed by key then initiation, only under the prefix.
    #[tokio::test]
    async fn uploads_are_listed_by_key_then_initiation() {
        let store = store();
        let mut later = upload("u1", "p/b");
        later.initiated_ms = 2_000;
        for u in [
            later.clone(),
            upload("u2", "p/b"),
            upload("u3", "p/a"),
            upload("u4", "q"),
        ] {
            store.insert_upload(u).await.unwrap();
        }
        let ids: Vec<String> = store
            .uploads(BUCKET.into(), "p/".into())
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.upload_id)
            .collect();
        assert_eq!(ids, ["u3", "u2", "u1"]);
    }

    /// Completing stores the object, forgets the upload and hands back the parts it does not
    /// use and the object it replaced; `assemble` sees the parts by number.
    #[tokio::test]
    async fn complete_stores_the_object_and_returns_what_it_no_longer_needs() {
        let store = store();
        store.put_object(object("k", &["old"])).await.unwrap();
        three_parts(&store).await;
        let (obj, mut garbage) = store
            .complete_upload::<(), _>("u".into(), true, |u, parts| {
                assert_eq!(u.upload_id, "u");
                let numbers: Vec<u32> = parts.iter().map(|p| p.part_number).collect();
                assert_eq!(numbers, [1, 2, 3]);
                Ok(assembled(&[&parts[0], &parts[2]]))
            })
            .await
            .unwrap()
            .unwrap();
        garbage.sort();
        assert_eq!(garbage, ["b", "old"]);
        assert_eq!(obj, object("k", &["a", "c"]));
        assert_eq!(
            store.object(BUCKET.into(), "k".into()).await.unwrap(),
            Some(obj)
        );
        assert_eq!(store.upload("u".into()).await.unwrap(), None);
        assert!(store.parts("u".into()).await.unwrap().is_empty());
    }

    /// A refusal (parts listed out of order) is the caller's error and changes nothing; an
    /// unknown upload is `None` without asking `assemble`.
    #[tokio::test]
    async fn a_refused_or_unknown_complete_changes_nothing() {
        let store = store();
        three_parts(&store).await;
        let requested = [2, 1];
        let refused = store
            .complete_upload("u".into(), true, move |_, parts| {
                if requested.windows(2).any(|w| w[0] >= w[1]) {
                    return Err("InvalidPartOrder");
                }
                Ok(assembled(&parts.iter().collect::<Vec<_>>()))
            })
            .await;
        assert!(matches!(refused, Err(TxError::Refused("InvalidPartOrder"))));
        assert_eq!(store.parts("u".into()).await.unwrap().len(), 3);
        assert_eq!(store.object(BUCKET.into(), "k".into()).await.unwrap(), None);
        let unknown = store
            .complete_upload::<(), _>("nope".into(), true, |_, _| {
                panic!("assemble must not see an unknown upload")
            })
            .await;
        assert!(matches!(unknown, Ok(None)));
    }

    /// A lost write assembles the object but leaves the upload in progress.
    #[tokio::test]
    async fn a_lost_complete_leaves_the_upload_in_progress() {
        let store = store();
        three_parts(&store).await;
        let (obj, garbage) = store
            .complete_upload::<(), _>("u".into(), false, |_, parts| {
                Ok(assembled(&parts.iter().collect::<Vec<_>>()))
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(obj, object("k", &["a", "b", "c"]));
        assert!(garbage.is_empty());
        assert!(store.upload("u".into()).await.unwrap().is_some());
        assert_eq!(store.parts("u".into()).await.unwrap().len(), 3);
        assert_eq!(store.object(BUCKET.into(), "k".into()).await.unwrap(), None);
    }

    /// Aborting hands back every part's blob once and forgets the upload, which then takes
    /// no more parts.
    #[tokio::test]
    async fn abort_returns_every_parts_blob_once() {
        let store = store();
        three_parts(&store).await;
        assert_eq!(
            store.abort_upload("u".into()).await.unwrap(),
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        assert_eq!(store.abort_upload("u".into()).await.unwrap(), None);
        assert_eq!(store.upload("u".into()).await.unwrap(), None);
        assert!(store.parts("u".into()).await.unwrap().is_empty());
        assert_eq!(
            store.put_part("u".into(), part(4, "d")).await.unwrap(),
            None
        );
    }
}
