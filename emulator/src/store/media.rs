//! Committed media: the media row and description CommitUpload writes, which objects a media
//! URL serves, DescribeMediaInfos, and DeleteMedia (rows, objects and FileDeleted event in one
//! transaction).

use super::events::{insert_events, NewEvent};
use super::objects::{object_where, take_object};
use super::sessions::session_where;
use super::{Media, ObjectMeta, Result, Store};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

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

/// What DeleteMedia removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// Blobs no longer referenced (the caller removes the files).
    pub blobs: Vec<String>,
    /// Id of the FileDeleted event, if one was produced.
    pub event_id: Option<i64>,
}

impl Store {
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
                    blobs.extend(take_object(tx, &s.bucket, &key)?);
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
}

/// Writes a committed media and its description.
pub(super) fn insert_media(tx: &Transaction<'_>, media: &Media, info: &MediaInfoRow) -> Result<()> {
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
            info.file_id,
            info.sub_app_id as i64,
            serde_json::to_string(&info.basic_info)?,
            serde_json::to_string(&info.meta_data)?
        ],
    )?;
    Ok(())
}

/// The description of a media, in whichever application it is.
pub(super) fn media_info_where(
    tx: &Transaction<'_>,
    file_id: &str,
) -> Result<Option<MediaInfoRow>> {
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
