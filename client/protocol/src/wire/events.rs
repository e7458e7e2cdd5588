//! Event notification on the VOD API (2018-07-17): the `EventContent` payloads, PullEvents /
//! ConfirmEvents, the event configuration actions, and the push callback bodies (v3 and the
//! legacy v2 format); docs/protocol/vod-api.md §5.

use crate::wire::media::{MediaBasicInfo, MediaMetaData};
use crate::wire::procedure::{
    AdaptiveDynamicStreamingTaskInput, CoverBySnapshotTaskInput, ImageSpriteTaskInput,
    SampleSnapshotTaskInput, TranscodeTaskInput,
};
use crate::wire::unfilled::{OtherEvents, OtherTasks, Unfilled};
use serde::{Deserialize, Serialize};

/// Most events one PullEvents returns, and most handles one ConfirmEvents takes.
pub const MAX_EVENTS_PER_CALL: usize = 16;

/// `EventType` of the event a CommitUpload produces.
pub const NEW_FILE_UPLOAD: &str = "NewFileUpload";
/// `EventType` of the event a finished task flow produces.
pub const PROCEDURE_STATE_CHANGED: &str = "ProcedureStateChanged";
/// `EventType` of the event a DeleteMedia produces.
pub const FILE_DELETED: &str = "FileDeleted";
/// The event types of the upload path, in the order the flow produces them.
pub const EVENT_TYPES: [&str; 3] = [NEW_FILE_UPLOAD, PROCEDURE_STATE_CHANGED, FILE_DELETED];

/// `NewFileUpload` payload (`FileUploadEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileUploadTask {
    /// The new media's id.
    pub file_id: String,
    /// Its basic information.
    pub media_basic_info: MediaBasicInfo,
    /// Task id of the Procedure named at ApplyUpload; empty without one.
    pub procedure_task_id: String,
    /// Review task id; empty (the emulator runs no review).
    pub review_audio_video_task_id: String,
    /// Metadata read from the file.
    pub meta_data: MediaMetaData,
}

/// One step of a task flow (transcode, snapshots), generic over its input and output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskResult<I, O> {
    /// `PROCESSING`, `SUCCESS` or `FAIL`.
    pub status: String,
    /// Error code string (`SourceFileError`, …); empty on success.
    pub err_code_ext: String,
    /// Deprecated numeric error code; 0 on success.
    pub err_code: i64,
    /// `SUCCESS` on success, what went wrong otherwise.
    pub message: String,
    /// What the step was asked for.
    pub input: I,
    /// What it produced; absent when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<O>,
    /// Percent done.
    pub progress: i64,
    /// ISO 8601 UTC.
    pub begin_process_time: String,
    /// ISO 8601 UTC.
    pub finish_time: String,
}

/// One transcode output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaTranscodeItem {
    /// URL of the output.
    pub url: String,
    /// Template id.
    pub definition: i64,
    /// Bits per second.
    pub bitrate: i64,
    /// Pixels.
    pub height: i64,
    /// Pixels.
    pub width: i64,
    /// Bytes.
    pub size: i64,
    /// Seconds.
    pub duration: f64,
    /// Container, e.g. `mp4`.
    pub container: String,
    /// MD5 of the output.
    pub md5: String,
}

/// Pictures of a sampled screenshot step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapshotOutput {
    /// Template id.
    pub definition: i64,
    /// The sampled pictures.
    pub image_url_set: Vec<String>,
}

/// The cover a screenshot-as-cover step made (`CoverBySnapshotTaskOutput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CoverBySnapshotTaskOutput {
    /// URL of the cover.
    pub cover_url: String,
}

/// The image sprites a step made (`MediaImageSpriteItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaImageSpriteItem {
    /// Template id.
    pub definition: i64,
    /// Height of one small picture, pixels.
    pub height: i64,
    /// Width of one small picture, pixels.
    pub width: i64,
    /// How many small pictures there are.
    pub total_count: i64,
    /// The large pictures.
    pub image_url_set: Vec<String>,
    /// WebVTT file mapping times to small pictures.
    pub web_vtt_url: String,
}

/// One adaptive bitrate stream (`AdaptiveDynamicStreamingInfoItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdaptiveDynamicStreamingInfoItem {
    /// Template id.
    pub definition: i64,
    /// `HLS` or `DASH`.
    pub package: String,
    /// `SimpleAES`, `Widevine`, `FairPlay`, `Widevine+FairPlay`, or empty without DRM.
    pub drm_type: String,
    /// Playlist (`.m3u8`) or manifest (`.mpd`) URL.
    pub url: String,
}

/// One entry of `ProcedureTask.MediaProcessResultSet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaProcessTaskResult {
    /// `Transcode`, `SampleSnapshot`, `ImageSprites`, `CoverBySnapshot`,
    /// `AdaptiveDynamicStreaming`, …
    #[serde(rename = "Type")]
    pub task_type: String,
    /// Set when `Type` is `Transcode`; `null` otherwise.
    #[serde(default)]
    pub transcode_task: Option<TaskResult<TranscodeTaskInput, MediaTranscodeItem>>,
    /// Set when `Type` is `SampleSnapshot`; `null` otherwise.
    #[serde(default)]
    pub sample_snapshot_task: Option<TaskResult<SampleSnapshotTaskInput, SnapshotOutput>>,
    /// Set when `Type` is `ImageSprites`; `null` otherwise.
    #[serde(default)]
    pub image_sprite_task: Option<TaskResult<ImageSpriteTaskInput, MediaImageSpriteItem>>,
    /// Set when `Type` is `CoverBySnapshot`; `null` otherwise.
    #[serde(default)]
    pub cover_by_snapshot_task:
        Option<TaskResult<CoverBySnapshotTaskInput, CoverBySnapshotTaskOutput>>,
    /// Set when `Type` is `AdaptiveDynamicStreaming`; `null` otherwise.
    #[serde(default)]
    pub adaptive_dynamic_streaming_task:
        Option<TaskResult<AdaptiveDynamicStreamingTaskInput, AdaptiveDynamicStreamingInfoItem>>,
    /// The task kinds the emulator never runs, `null`.
    #[serde(flatten)]
    pub other_tasks: Unfilled<OtherTasks>,
}

/// `ProcedureStateChanged` payload (`ProcedureStateChangeEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcedureTask {
    /// The task id NewFileUpload announced.
    pub task_id: String,
    /// `PROCESSING` or `FINISH`.
    pub status: String,
    /// Deprecated; 0, or the first failed step's.
    pub err_code: i64,
    /// Deprecated; `SUCCESS`, or the first failed step's message.
    pub message: String,
    /// The media processed.
    pub file_id: String,
    /// Its name.
    pub file_name: String,
    /// Its URL.
    pub file_url: String,
    /// Its metadata.
    pub meta_data: MediaMetaData,
    /// One result per step.
    pub media_process_result_set: Vec<MediaProcessTaskResult>,
    /// Content review results; empty (the emulator runs no AI task).
    pub ai_content_review_result_set: Vec<serde_json::Value>,
    /// Content analysis results; empty.
    pub ai_analysis_result_set: Vec<serde_json::Value>,
    /// Content recognition results; empty.
    pub ai_recognition_result_set: Vec<serde_json::Value>,
    /// Priority of the flow's tasks; 0, the default.
    pub tasks_priority: i64,
    /// `Finish`: one notification when the whole flow is done.
    pub tasks_notify_mode: String,
    /// The ApplyUpload `SessionContext`, passed through.
    pub session_context: String,
    /// Dedup key; empty.
    pub session_id: String,
    /// Who started the flow; empty for flows started by an upload.
    pub operator: String,
    /// How it was started; empty for flows started by an upload.
    pub operation_type: String,
}

/// One media of a `FileDeleted` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileDeleteResultItem {
    /// The deleted media.
    pub file_id: String,
    /// What was deleted; empty = everything.
    pub delete_parts: Vec<crate::wire::media::MediaDeleteItem>,
}

/// `FileDeleted` payload (`FileDeleteEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileDeleteTask {
    /// The deleted media.
    pub file_id_set: Vec<String>,
    /// Per media, what was deleted.
    pub file_delete_result_info: Vec<FileDeleteResultItem>,
}

/// One event: PullEvents' `EventSet` element and (without `EventHandle`) the v3 push body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventContent {
    /// Handle to confirm a pulled event with; absent in push bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_handle: Option<String>,
    /// `NewFileUpload`, `ProcedureStateChanged`, `FileDeleted`, …
    pub event_type: String,
    /// Set for `NewFileUpload`; `null` otherwise.
    #[serde(default)]
    pub file_upload_event: Option<FileUploadTask>,
    /// Set for `ProcedureStateChanged`; `null` otherwise.
    #[serde(default)]
    pub procedure_state_change_event: Option<ProcedureTask>,
    /// Set for `FileDeleted`; `null` otherwise.
    #[serde(default)]
    pub file_delete_event: Option<FileDeleteTask>,
    /// Every other event of the model, `null`.
    #[serde(flatten)]
    pub other_events: Unfilled<OtherEvents>,
}

impl EventContent {
    /// The FileId the event is about (the first one for deletions).
    pub fn file_id(&self) -> Option<&str> {
        if let Some(e) = &self.file_upload_event {
            return Some(&e.file_id);
        }
        if let Some(e) = &self.procedure_state_change_event {
            return Some(&e.file_id);
        }
        self.file_delete_event
            .as_ref()
            .and_then(|e| e.file_id_set.first().map(String::as_str))
    }
}

/// A v3 push callback body: the event and, when a SignKey is configured, `Sign` and `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushBody {
    /// The event, without `EventHandle`.
    #[serde(flatten)]
    pub content: EventContent,
    /// `md5(SignKey + T)`, lowercase hex.
    #[serde(rename = "Sign", default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<String>,
    /// Unix seconds after which the callback should be refused.
    #[serde(rename = "T", default, skip_serializing_if = "Option::is_none")]
    pub t: Option<i64>,
}

/// The legacy (v2) callback body: lower-camel keys (docs/protocol/vod-api.md §5.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyCallback {
    /// Format version, `4.0`.
    pub version: String,
    /// Same names as the v3 `EventType`.
    pub event_type: String,
    /// The payload.
    pub data: LegacyCallbackData,
}

/// `data` of a legacy callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyCallbackData {
    /// 0 on success.
    pub status: i64,
    /// Empty on success.
    pub message: String,
    /// The media.
    pub file_id: String,
    /// Its URL.
    pub file_url: String,
    /// `ServerUpload` for server-side uploads.
    pub source_type: String,
    /// The ApplyUpload `SourceContext`.
    pub source_context: String,
    /// Task id of the Procedure; empty without one.
    pub procedure_task_id: String,
    /// Cover URL; empty without a cover.
    pub cover_url: String,
}

/// `PullEvents` parameters (docs/protocol/vod-api.md §5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PullEventsRequest {
    /// Reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_info: Option<String>,
    /// VOD application whose events to pull.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

impl PullEventsRequest {
    /// The parameter names this action accepts.
    pub const FIELDS: &'static [&'static str] = &["ExtInfo", "SubAppId"];
}

/// `PullEvents` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PullEventsResponse {
    /// Up to 16 events, each with its `EventHandle`.
    pub event_set: Vec<EventContent>,
    /// Unique id of this API call.
    pub request_id: String,
}

/// `ConfirmEvents` parameters (docs/protocol/vod-api.md §5.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmEventsRequest {
    /// Handles of pulled events, at most 16. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_handles: Option<Vec<String>>,
    /// Reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_info: Option<String>,
    /// VOD application the events belong to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

impl ConfirmEventsRequest {
    /// The parameter names this action accepts.
    pub const FIELDS: &'static [&'static str] = &["EventHandles", "ExtInfo", "SubAppId"];
}

/// `DescribeEventConfig` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeEventConfigRequest {
    /// VOD application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

impl DescribeEventConfigRequest {
    /// The parameter names this action accepts.
    pub const FIELDS: &'static [&'static str] = &["SubAppId"];
}

/// `DescribeEventConfig` response (docs/protocol/vod-api.md §5.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeEventConfigResponse {
    /// `PUSH` or `PULL`.
    pub mode: String,
    /// v3 callback URL; empty when none.
    pub notification_url: String,
    /// `ON` or `OFF`: NewFileUpload events.
    pub upload_media_complete_event_switch: String,
    /// `ON` or `OFF`: FileDeleted events.
    pub delete_media_complete_event_switch: String,
    /// `ON` or `OFF`: PersistenceComplete events (never produced by the emulator).
    pub persistence_complete_event_switch: String,
    /// Unique id of this API call.
    pub request_id: String,
}

/// `ModifyEventConfig` parameters; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyEventConfigRequest {
    /// VOD application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// `PUSH` or `PULL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// v3 callback URL; empty clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    /// `ON` or `OFF`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_media_complete_event_switch: Option<String>,
    /// `ON` or `OFF`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_media_complete_event_switch: Option<String>,
    /// `ON` or `OFF`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_complete_event_switch: Option<String>,
    /// Key for `Sign` in push bodies: letters and digits, at most 32; empty clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_key: Option<String>,
}

impl ModifyEventConfigRequest {
    /// The parameter names this action accepts.
    pub const FIELDS: &'static [&'static str] = &[
        "SubAppId",
        "Mode",
        "NotificationUrl",
        "UploadMediaCompleteEventSwitch",
        "DeleteMediaCompleteEventSwitch",
        "PersistenceCompleteEventSwitch",
        "SignKey",
    ];
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn push_body_puts_sign_and_t_beside_event_type_and_omits_the_handle() {
        let body = PushBody {
            content: EventContent {
                event_type: "NewFileUpload".into(),
                ..EventContent::default()
            },
            sign: Some("abc".into()),
            t: Some(7),
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["EventType"], "NewFileUpload");
        assert_eq!(json["Sign"], "abc");
        assert_eq!(json["T"], 7);
        assert!(json.get("EventHandle").is_none(), "{json}");
        for unused in ["FileUploadEvent", "FileDeleteEvent", "PullCompleteEvent"] {
            assert_eq!(json.get(unused), Some(&serde_json::Value::Null), "{json}");
        }
        let back: PushBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
    }
}
