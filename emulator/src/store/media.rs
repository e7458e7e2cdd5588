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

/// A committed media as the admin API lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedMedia {
    /// Its description.
    pub info: MediaInfoRow,
    /// The task flow its ApplyUpload named, if any.
    pub procedure: Option<String>,
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

    /// Every committed media, in every application, newest first, with the `Procedure` its
    /// ApplyUpload named.
    ///
    /// # Errors
    /// Store failure.
    pub async fn all_media(&self) -> Result<Vec<CommittedMedia>> {
        self.tx(|tx| {
            let rows = tx
                .prepare(
                    "SELECT media_info.file_id, media.session_key FROM media_info
                     LEFT JOIN media ON media.file_id = media_info.file_id
                     ORDER BY media_info.rowid DESC",
                )?
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for (file_id, session_key) in rows {
                let Some(info) = media_info_where(tx, &file_id)? else {
                    continue;
                };
                let procedure = match session_key {
                    Some(key) => {
                        session_where(tx, "session_key", &key)?.and_then(|s| s.request.procedure)
                    }
                    None => None,
                };
                out.push(CommittedMedia { info, procedure });
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::{committed, event, object, session, store, BUCKET};
    use super::super::{Delivery, EventFilter};
    use super::*;

    /// Stores session 1's media, cover and a segment beside them, and an object of session 2.
    async fn objects_of_session_one(store: &Store) {
        for (key, blob) in [
            ("1/media.mp4", "m"),
            ("1/cover.jpg", "c"),
            ("1/hls/seg.ts", "s"),
            ("2/media.mp4", "o"),
        ] {
            store.put_object(object(key, &[blob])).await.unwrap();
        }
    }

    /// Whether a media URL serves `key`.
    async fn served(store: &Store, key: &str) -> bool {
        let found = store.media_object(BUCKET.into(), key.into()).await.unwrap();
        found.is_some()
    }

    /// A media URL serves a committed media, its cover and its directory, and nothing else.
    #[tokio::test]
    async fn a_media_url_serves_committed_media_and_their_directory() {
        let store = store();
        objects_of_session_one(&store).await;
        store.insert_session(session(2)).await.unwrap();
        assert!(!served(&store, "1/media.mp4").await);
        committed(&store, session(1)).await;
        assert!(served(&store, "1/media.mp4").await);
        assert!(served(&store, "1/cover.jpg").await);
        assert!(served(&store, "1/hls/seg.ts").await);
        assert!(!served(&store, "2/media.mp4").await);
    }

    /// Deleting a media removes its rows and objects (its whole directory in the emulator's
    /// layout), returns their blobs and stores the event; a second delete finds nothing.
    /// Every committed media is listed, newest first, with its Procedure.
    #[tokio::test]
    async fn all_media_are_listed_newest_first() {
        let store = store();
        committed(&store, session(1)).await;
        let mut second = session(2);
        second.request.procedure = Some("LongVideoPreset".into());
        committed(&store, second).await;
        store.insert_session(session(3)).await.unwrap();
        let listed: Vec<(String, Option<String>)> = store
            .all_media()
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.info.file_id, m.procedure))
            .collect();
        assert_eq!(
            listed,
            [
                ("file-2".into(), Some("LongVideoPreset".into())),
                ("file-1".into(), None)
            ]
        );
    }

    #[tokio::test]
    async fn deleting_a_media_returns_its_blobs_and_its_event() {
        let store = store();
        objects_of_session_one(&store).await;
        committed(&store, session(1)).await;
        let deleted = store
            .delete_media(0, "file-1".into(), |info| {
                Some(event(info.sub_app_id, &info.file_id, Delivery::Push, 900))
            })
            .await
            .unwrap()
            .unwrap();
        let mut blobs = deleted.blobs.clone();
        blobs.sort();
        assert_eq!(blobs, ["c", "m", "s"]);
        let events = store.events(EventFilter::default()).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(deleted.event_id, Some(last.id));
        assert_eq!(last.delivery, Delivery::Push);
        let left = store
            .object_sizes_under(BUCKET.into(), String::new())
            .await
            .unwrap();
        assert_eq!(left, [("2/media.mp4".to_owned(), 1)]);
        assert!(!served(&store, "1/media.mp4").await);
        let infos = store.media_infos(0, vec!["file-1".into()]).await.unwrap();
        assert_eq!(infos, [("file-1".to_owned(), None)]);
        let again = store
            .delete_media(0, "file-1".into(), |_| None)
            .await
            .unwrap();
        assert_eq!(again, None);
    }

    /// A media with a caller-chosen storage path loses its media and cover only; a media of
    /// another application is not deleted.
    #[tokio::test]
    async fn deleting_keeps_neighbours_of_a_chosen_path_and_other_applications_media() {
        let store = store();
        objects_of_session_one(&store).await;
        let mut chosen = session(1);
        chosen.request.media_storage_path = Some("/1/media.mp4".into());
        committed(&store, chosen).await;
        let elsewhere = store
            .delete_media(5, "file-1".into(), |_| None)
            .await
            .unwrap();
        assert_eq!(elsewhere, None);
        assert!(served(&store, "1/media.mp4").await);
        let deleted = store
            .delete_media(0, "file-1".into(), |_| None)
            .await
            .unwrap()
            .unwrap();
        let mut blobs = deleted.blobs;
        blobs.sort();
        assert_eq!(blobs, ["c", "m"]);
        assert_eq!(deleted.event_id, None);
        assert!(store
            .object(BUCKET.into(), "1/hls/seg.ts".into())
            .await
            .unwrap()
            .is_some());
    }

    /// Descriptions come back in the order asked, `None` for unknown media and for media of
    /// another application.
    #[tokio::test]
    async fn media_infos_keep_the_order_asked_and_the_application() {
        let store = store();
        committed(&store, session(1)).await;
        let mut other = session(2);
        other.sub_app_id = Some(7);
        committed(&store, other).await;
        let asked = vec!["nope".into(), "file-2".into(), "file-1".into()];
        let infos = store.media_infos(0, asked).await.unwrap();
        let found: Vec<_> = infos
            .iter()
            .map(|(id, info)| (id.as_str(), info.as_ref().map(|i| i.file_id.as_str())))
            .collect();
        assert_eq!(
            found,
            [("nope", None), ("file-2", None), ("file-1", Some("file-1"))]
        );
    }
}
