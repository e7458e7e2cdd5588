//! Rows for the store's own tests, built one way for every module's tests.

use super::{
    CommitPlan, Delivery, Media, MediaInfoRow, NewEvent, ObjectMeta, Part, Segment, Session, Store,
    TaskRow, Upload,
};
use vod_protocol::wire::events::{EventContent, FileDeleteTask};
use vod_protocol::wire::vod::ApplyUploadRequest;

/// The bucket every test row is in.
pub const BUCKET: &str = "media-1250000000";

/// A store in a fresh temporary directory.
pub fn store() -> Store {
    Store::open(None).expect("a temporary store opens")
}

/// Session `n`: key `key-n`, SecretId `sid-n`, FileId `file-n`, media `n/media.mp4` and cover
/// `n/cover.jpg`, valid from second 100 to second 200, not committed.
pub fn session(n: u32) -> Session {
    Session {
        session_key: format!("key-{n}"),
        sub_app_id: None,
        file_id: format!("file-{n}"),
        request: ApplyUploadRequest {
            media_type: Some("mp4".into()),
            ..ApplyUploadRequest::default()
        },
        bucket: BUCKET.into(),
        region: "ap-guangzhou".into(),
        media_key: format!("{n}/media.mp4"),
        cover_key: Some(format!("{n}/cover.jpg")),
        tmp_secret_id: format!("sid-{n}"),
        tmp_secret_key: "secret".into(),
        token: "token".into(),
        created_at: 100,
        expires_at: 200,
        committed_at: None,
    }
}

/// An object at `key` whose bytes are one byte in each of `blobs`.
pub fn object(key: &str, blobs: &[&str]) -> ObjectMeta {
    ObjectMeta {
        bucket: BUCKET.into(),
        key: key.into(),
        size: blobs.len() as u64,
        etag: format!("\"{key}\""),
        crc64: 42,
        last_modified_ms: 1_000,
        headers: vec![("content-type".into(), "video/mp4".into())],
        segments: blobs
            .iter()
            .map(|b| Segment {
                blob: (*b).into(),
                size: 1,
            })
            .collect(),
    }
}

/// A multipart upload `id` of `key`.
pub fn upload(id: &str, key: &str) -> Upload {
    Upload {
        upload_id: id.into(),
        bucket: BUCKET.into(),
        key: key.into(),
        initiated_ms: 1_000,
        headers: vec![("x-cos-meta-a".into(), "b".into())],
        storage_class: "STANDARD".into(),
    }
}

/// Part `n`, one byte in `blob`.
pub fn part(n: u32, blob: &str) -> Part {
    Part {
        part_number: n,
        size: 1,
        etag: format!("\"{blob}\""),
        crc64: u64::from(n),
        blob: blob.into(),
        last_modified_ms: 1_000,
    }
}

/// A FileDeleted event about `file_id` for application `sub_app_id`, created at `created_ms`.
pub fn event(sub_app_id: u64, file_id: &str, delivery: Delivery, created_ms: i64) -> NewEvent {
    NewEvent {
        sub_app_id,
        content: EventContent {
            event_type: "FileDeleted".into(),
            file_delete_event: Some(FileDeleteTask {
                file_id_set: vec![file_id.into()],
                file_delete_result_info: Vec::new(),
            }),
            ..EventContent::default()
        },
        delivery,
        created_ms,
        held_until_ms: None,
    }
}

/// What a CommitUpload of `s` at second 150 writes: its media, a description, one pull event
/// and the task flow `task-<file id>`.
pub fn plan(s: &Session) -> CommitPlan {
    CommitPlan {
        media: Media {
            file_id: s.file_id.clone(),
            sub_app_id: s.sub_app_id,
            session_key: s.session_key.clone(),
            media_url: format!("https://example.com/{}", s.media_key),
            cover_url: None,
            created_at: 150,
        },
        info: MediaInfoRow {
            file_id: s.file_id.clone(),
            sub_app_id: s.sub_app_id.unwrap_or_default(),
            basic_info: Default::default(),
            meta_data: Default::default(),
        },
        events: vec![event(
            s.sub_app_id.unwrap_or_default(),
            &s.file_id,
            Delivery::Pull,
            150_000,
        )],
        task: Some(TaskRow {
            task_id: format!("task-{}", s.file_id),
            file_id: s.file_id.clone(),
            sub_app_id: s.sub_app_id.unwrap_or_default(),
            procedure: "QCVB_SimpleProcessFile(1)".into(),
            session_context: "ctx".into(),
            due_ms: Some(160_000),
            finished_ms: None,
        }),
    }
}

/// Inserts `s` and commits it with [`plan`]; returns the ids of the events written.
pub async fn committed(store: &Store, s: Session) -> Vec<i64> {
    let key = s.session_key.clone();
    store.insert_session(s).await.expect("insert session");
    let (_, ids) = store
        .commit_session::<(), _>(key, true, |s, _| {
            Ok(plan(s.expect("the session was just inserted")))
        })
        .await
        .expect("commit");
    ids
}
