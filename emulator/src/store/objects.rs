//! COS objects: one row per stored object, its bytes a list of blob segments. Replacing or
//! deleting an object hands back the blobs it no longer uses; the caller removes those files
//! after the commit, so a crash leaves at worst an unreferenced file, collected at the next
//! open.

use super::{ObjectMeta, Result, Store};
use rusqlite::{params, OptionalExtension, Transaction};

impl Store {
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

    /// Deletes an object; returns its blobs (empty when there was none).
    ///
    /// # Errors
    /// Store failure.
    pub async fn delete_object(&self, bucket: String, key: String) -> Result<Vec<String>> {
        self.tx(move |tx| take_object(tx, &bucket, &key)).await
    }

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

/// Writes an object, replacing any stored under its key.
pub(super) fn insert_object(tx: &Transaction<'_>, obj: &ObjectMeta) -> Result<()> {
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

/// The object stored under `bucket`/`key`.
pub(super) fn object_where(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectMeta>> {
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

/// Whether an object is stored under `bucket`/`key`, without reading it.
pub(super) fn object_exists(tx: &Transaction<'_>, bucket: &str, key: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM objects WHERE bucket = ?1 AND key = ?2",
            params![bucket, key],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Deletes the object under `bucket`/`key`; returns its blobs (empty when there was none).
pub(super) fn take_object(tx: &Transaction<'_>, bucket: &str, key: &str) -> Result<Vec<String>> {
    let old = object_where(tx, bucket, key)?;
    tx.execute(
        "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
        params![bucket, key],
    )?;
    Ok(old.map(blob_names).unwrap_or_default())
}

/// The blobs an object's bytes are in.
pub(super) fn blob_names(obj: ObjectMeta) -> Vec<String> {
    obj.segments.into_iter().map(|s| s.blob).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::{object, store, BUCKET};

    /// Replacing an object hands back exactly the blobs of the version it replaced.
    #[tokio::test]
    async fn replacing_an_object_returns_the_old_versions_blobs() {
        let store = store();
        let first = object("k", &["a", "b"]);
        assert!(store.put_object(first.clone()).await.unwrap().is_empty());
        assert_eq!(
            store.object(BUCKET.into(), "k".into()).await.unwrap(),
            Some(first)
        );
        let second = object("k", &["c"]);
        assert_eq!(
            store.put_object(second.clone()).await.unwrap(),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(
            store.object(BUCKET.into(), "k".into()).await.unwrap(),
            Some(second)
        );
    }

    /// Deleting hands back the object's blobs once; the object is gone after.
    #[tokio::test]
    async fn deleting_an_object_returns_its_blobs_once() {
        let store = store();
        store.put_object(object("k", &["a"])).await.unwrap();
        store.put_object(object("other", &["o"])).await.unwrap();
        let del = |key: &str| store.delete_object(BUCKET.into(), key.into());
        assert_eq!(del("k").await.unwrap(), vec!["a".to_owned()]);
        assert!(del("k").await.unwrap().is_empty());
        assert_eq!(store.object(BUCKET.into(), "k".into()).await.unwrap(), None);
        assert!(store
            .object(BUCKET.into(), "other".into())
            .await
            .unwrap()
            .is_some());
    }

    /// The sizes under a prefix are those of the keys starting with it, by key, in that
    /// bucket only (`_` and `%` are not wildcards).
    #[tokio::test]
    async fn sizes_under_a_prefix_list_only_that_prefix_in_key_order() {
        let store = store();
        for (key, blobs) in [
            ("d_/b", &["1", "2"][..]),
            ("d_/a", &["3"][..]),
            ("dx/a", &["4"][..]),
            ("d_", &["5"][..]),
        ] {
            store.put_object(object(key, blobs)).await.unwrap();
        }
        let mut elsewhere = object("d_/c", &["6"]);
        elsewhere.bucket = "other-1250000000".into();
        store.put_object(elsewhere).await.unwrap();
        assert_eq!(
            store
                .object_sizes_under(BUCKET.into(), "d_/".into())
                .await
                .unwrap(),
            vec![("d_/a".to_owned(), 1), ("d_/b".to_owned(), 2)]
        );
    }
}
