//! The payloads: v3 `EventContent` for each event type the emulator produces, the v3 push body
//! (with `Sign` / `T` when a SignKey is set) and the legacy v2 body
//! (docs/protocol/vod-api.md §5.4, §5.5).

use crate::store::{MediaInfoRow, TaskRow};
use crate::task_flows::procedure;
use md5::{Digest, Md5};
use time::OffsetDateTime;
use vod_protocol::wire::events;
use vod_protocol::wire::events::{
    EventContent, FileDeleteResultItem, FileDeleteTask, FileUploadTask, LegacyCallback,
    LegacyCallbackData, ProcedureTask, PushBody,
};
use vod_protocol::wire::media::{MediaBasicInfo, MediaMetaData};

/// How long a push body's `T` stays in the future (the documented default, 10 minutes).
const SIGN_VALIDITY_S: i64 = 600;

/// `YYYY-MM-DDThh:mm:ssZ` of Unix seconds, as every time in the payloads.
pub fn iso8601(secs: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn empty(event_type: &str) -> EventContent {
    EventContent {
        event_type: event_type.to_owned(),
        ..EventContent::default()
    }
}

/// NewFileUpload for a committed media.
pub fn new_file_upload(info: &MediaInfoRow, procedure_task_id: Option<&str>) -> EventContent {
    EventContent {
        file_upload_event: Some(FileUploadTask {
            file_id: info.file_id.clone(),
            media_basic_info: info.basic_info.clone(),
            procedure_task_id: procedure_task_id.unwrap_or_default().to_owned(),
            review_audio_video_task_id: String::new(),
            meta_data: info.meta_data.clone(),
        }),
        ..empty(events::NEW_FILE_UPLOAD)
    }
}

/// A synthetic NewFileUpload for a media the emulator may not know (`events trigger`).
pub fn synthetic_file_upload(file_id: &str, now: i64) -> EventContent {
    let created = iso8601(now);
    let info = MediaInfoRow {
        file_id: file_id.to_owned(),
        sub_app_id: 0,
        basic_info: MediaBasicInfo {
            name: "synthetic".into(),
            create_time: created.clone(),
            update_time: created,
            expire_time: "9999-12-31T23:59:59Z".into(),
            class_name: "Other".into(),
            class_path: "Other".into(),
            media_type: "mp4".into(),
            source_info: vod_protocol::wire::media::MediaSourceData {
                source_type: "Upload".into(),
                ..Default::default()
            },
            vid: file_id.to_owned(),
            category: "Video".into(),
            status: "Normal".into(),
            storage_class: "STANDARD".into(),
            ..Default::default()
        },
        meta_data: MediaMetaData::default(),
    };
    new_file_upload(&info, None)
}

/// ProcedureStateChanged (FINISH) for a task flow that ran as `run` says; `info` is the
/// media's description when it still exists. The deprecated top-level ErrCode and Message are
/// the first failed step's, or 0 and `SUCCESS` (as a real event shows).
pub fn procedure_state_changed(
    task: &TaskRow,
    run: &procedure::Run,
    info: Option<&MediaInfoRow>,
    started: i64,
    finished: i64,
) -> EventContent {
    let (name, url, meta) = match info {
        Some(i) => (
            i.basic_info.name.clone(),
            i.basic_info.media_url.clone(),
            i.meta_data.clone(),
        ),
        None => Default::default(),
    };
    let failure = run.failure.as_ref();
    let (begin, end) = (iso8601(started), iso8601(finished));
    let results = run
        .steps
        .as_ref()
        .map(|s| procedure::results(s, failure, &url, &meta, &begin, &end))
        .unwrap_or_default();
    let (err_code, message) = failure
        .filter(|f| results.iter().any(|r| f.hits(&r.task_type)))
        .map_or((0, "SUCCESS".to_owned()), |f| {
            (f.code.err_code, f.message.clone())
        });
    EventContent {
        procedure_state_change_event: Some(ProcedureTask {
            task_id: task.task_id.clone(),
            status: "FINISH".into(),
            err_code,
            message,
            file_id: task.file_id.clone(),
            file_name: name,
            file_url: url,
            meta_data: meta,
            media_process_result_set: results,
            ai_content_review_result_set: Vec::new(),
            ai_analysis_result_set: Vec::new(),
            ai_recognition_result_set: Vec::new(),
            tasks_priority: 0,
            tasks_notify_mode: "Finish".into(),
            session_context: task.session_context.clone(),
            session_id: String::new(),
            operator: String::new(),
            operation_type: String::new(),
        }),
        ..empty(events::PROCEDURE_STATE_CHANGED)
    }
}

/// FileDeleted for one media deleted whole.
pub fn file_deleted(file_id: &str) -> EventContent {
    EventContent {
        file_delete_event: Some(FileDeleteTask {
            file_id_set: vec![file_id.to_owned()],
            file_delete_result_info: vec![FileDeleteResultItem {
                file_id: file_id.to_owned(),
                delete_parts: Vec::new(),
            }],
        }),
        ..empty(events::FILE_DELETED)
    }
}

/// The v3 push body: the event without handle, plus `Sign` and `T` when `sign_key` is set.
pub fn push_body(content: &EventContent, sign_key: &str, now: i64) -> PushBody {
    let mut content = content.clone();
    content.event_handle = None;
    let (sign, t) = if sign_key.is_empty() {
        (None, None)
    } else {
        let t = now + SIGN_VALIDITY_S;
        (Some(sign(sign_key, t)), Some(t))
    };
    PushBody { content, sign, t }
}

/// `md5(SignKey + T)` as lowercase hex.
pub fn sign(sign_key: &str, t: i64) -> String {
    hex::encode(Md5::digest(format!("{sign_key}{t}").as_bytes()))
}

/// The legacy v2 body of an event (NewFileUpload fields; others carry their FileId only).
pub fn legacy_body(content: &EventContent) -> LegacyCallback {
    let upload = content.file_upload_event.as_ref();
    let basic = upload.map(|u| &u.media_basic_info);
    LegacyCallback {
        version: "4.0".into(),
        event_type: content.event_type.clone(),
        data: LegacyCallbackData {
            status: 0,
            message: String::new(),
            file_id: content.file_id().unwrap_or_default().to_owned(),
            file_url: basic.map(|b| b.media_url.clone()).unwrap_or_default(),
            source_type: "ServerUpload".into(),
            source_context: basic
                .map(|b| b.source_info.source_context.clone())
                .unwrap_or_default(),
            procedure_task_id: upload
                .map(|u| u.procedure_task_id.clone())
                .unwrap_or_default(),
            cover_url: basic.map(|b| b.cover_url.clone()).unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso8601_utc() {
        assert_eq!(iso8601(1_546_995_382), "2019-01-09T00:56:22Z");
    }

    #[test]
    fn sign_is_md5_of_key_and_t() {
        // md5("key1700000600"), computed apart (`printf key1700000600 | md5sum`).
        const EXPECTED: &str = "bae57a7a26dc8fe289f922d0ba53dde8";
        assert_eq!(sign("key", 1_700_000_600), EXPECTED);
        let body = push_body(&file_deleted("1"), "key", 1_700_000_000);
        assert_eq!(body.t, Some(1_700_000_600));
        assert_eq!(body.sign.as_deref(), Some(EXPECTED));
        assert!(push_body(&file_deleted("1"), "", 0).sign.is_none());
    }

    #[test]
    fn legacy_body_carries_the_well_known_fields() {
        let info = MediaInfoRow {
            file_id: "42".into(),
            sub_app_id: 0,
            basic_info: MediaBasicInfo {
                source_info: vod_protocol::wire::media::MediaSourceData {
                    source_type: "Upload".into(),
                    source_context: "ctx".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            meta_data: MediaMetaData::default(),
        };
        let body = legacy_body(&new_file_upload(&info, Some("t1")));
        assert_eq!(body.event_type, "NewFileUpload");
        assert_eq!(body.data.file_id, "42");
        assert_eq!(body.data.source_context, "ctx");
        assert_eq!(body.data.procedure_task_id, "t1");
    }
}
