//! Task flow templates on the VOD API (2018-07-17): what a task flow asks for
//! (`MediaProcessTaskInput`, as CreateProcedureTemplate takes it and DescribeProcedureTemplates
//! returns it), the step inputs a ProcedureStateChanged event echoes back, the step types it
//! reports and the documented codes of a failed step.
//!
//! Field names and values follow tencentcloud-sdk-python-vod 3.1.194 `models.py`. Only the
//! steps the emulator simulates are here (transcode, sample snapshot, image sprite, cover by
//! snapshot, adaptive streaming); unknown fields are ignored when reading, so events of the
//! real service still parse.

use serde::{Deserialize, Serialize};

/// The `Type` of each step result the emulator reports (`MediaProcessTaskResult.Type`), in
/// the order results come.
pub const STEP_TYPES: &[&str] = &[
    "Transcode",
    "SampleSnapshot",
    "ImageSprites",
    "CoverBySnapshot",
    "AdaptiveDynamicStreaming",
];

/// A documented reason a step fails: its `ErrCodeExt`, the deprecated numeric `ErrCode` of its
/// family, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskErrorCode {
    /// `ErrCodeExt`.
    pub code: &'static str,
    /// `ErrCode`: 40000 bad input, 60000 source file error, 70000 internal error.
    pub err_code: i64,
    /// The documented meaning, used as `Message` when none is given.
    pub message: &'static str,
}

const fn task_error(code: &'static str, err_code: i64, message: &'static str) -> TaskErrorCode {
    TaskErrorCode {
        code,
        err_code,
        message,
    }
}

/// The video processing error codes of doc 266/50368 ("视频处理类错误码", English 266/39145)
/// with the numeric codes models.py gives their families (`ErrCode`: "40000: invalid input,
/// 60000: source file error, 70000: internal service error").
pub const TASK_ERROR_CODES: &[TaskErrorCode] = &[
    task_error(
        "InvalidInput",
        40000,
        "Invalid input parameter. Please check.",
    ),
    task_error(
        "InvalidInput.InvalidTimeOffset",
        40000,
        "Invalid input parameter: the specified time point is invalid.",
    ),
    task_error(
        "InvalidInput.DefinitionNotExist",
        40000,
        "Invalid input parameter: the specified template ID doesn't exist.",
    ),
    task_error(
        "InvalidInput.ConfigurationUnsupported",
        40000,
        "Invalid input parameters: the configuration is not supported.",
    ),
    task_error(
        "InvalidInput.TaskDuplicated",
        40000,
        "Invalid input parameter: duplicate task.",
    ),
    task_error(
        "InvalidInput.PermissionDenied",
        40000,
        "Invalid input parameter: you do not have permission to use this feature.",
    ),
    task_error(
        "InvalidInput.ResultFileSizeTooLarge",
        40000,
        "Invalid input parameter: the spliced file is too large.",
    ),
    task_error(
        "SourceFileError",
        60000,
        "Invalid source file: for example, video data is corrupted.",
    ),
    task_error(
        "SourceFileError.NoVideoMedia",
        60000,
        "Invalid source file: there is no video image.",
    ),
    task_error(
        "SourceFileError.NoVideoResolution",
        60000,
        "Invalid source file: the resolution of the source file cannot be obtained.",
    ),
    task_error(
        "SourceFileError.ContentMalformed",
        60000,
        "Invalid source file: the file does not exist, is corrupted or cannot be decoded.",
    ),
    task_error(
        "SourceFileError.ContentUnsupported",
        60000,
        "Invalid source file: unsupported format, size or duration.",
    ),
    task_error(
        "SourceFileError.DownloadNotAccessible",
        60000,
        "Invalid source file: the input file could not be downloaded.",
    ),
    task_error(
        "InternalError",
        70000,
        "Internal service error. Please try again.",
    ),
];

/// The documented error code `code`, if it is one.
pub fn task_error_code(code: &str) -> Option<&'static TaskErrorCode> {
    TASK_ERROR_CODES.iter().find(|c| c.code == code)
}

/// The video processing steps of a task flow (`MediaProcessTaskInput`); results come back in
/// this order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaProcessTaskInput {
    /// Transcodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcode_task_set: Vec<TranscodeTaskInput>,
    /// Sampled screenshots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample_snapshot_task_set: Vec<SampleSnapshotTaskInput>,
    /// Image sprites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_sprite_task_set: Vec<ImageSpriteTaskInput>,
    /// Screenshots that become the cover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cover_by_snapshot_task_set: Vec<CoverBySnapshotTaskInput>,
    /// Adaptive bitrate streams (HLS, DASH).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adaptive_dynamic_streaming_task_set: Vec<AdaptiveDynamicStreamingTaskInput>,
}

impl MediaProcessTaskInput {
    /// How many steps it runs.
    pub fn len(&self) -> usize {
        self.transcode_task_set.len()
            + self.sample_snapshot_task_set.len()
            + self.image_sprite_task_set.len()
            + self.cover_by_snapshot_task_set.len()
            + self.adaptive_dynamic_streaming_task_set.len()
    }

    /// Whether it runs no step at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A watermark template applied by a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WatermarkInput {
    /// Watermark template id.
    pub definition: i64,
}

/// One transcode (`TranscodeTaskInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TranscodeTaskInput {
    /// Transcoding template id.
    pub definition: i64,
    /// Watermarks; empty without one.
    #[serde(default)]
    pub watermark_set: Vec<WatermarkInput>,
}

/// One sampled-screenshot step (`SampleSnapshotTaskInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SampleSnapshotTaskInput {
    /// Sampled screenshot template id.
    pub definition: i64,
}

/// One image-sprite step (`ImageSpriteTaskInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSpriteTaskInput {
    /// Image sprite template id.
    pub definition: i64,
}

/// How a cover screenshot's position is given (`CoverBySnapshotTaskInput.PositionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PositionType {
    /// `PositionValue` is seconds from the start.
    #[default]
    Time,
    /// `PositionValue` is a percentage of the duration.
    Percent,
}

/// One screenshot-as-cover step (`CoverBySnapshotTaskInput`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CoverBySnapshotTaskInput {
    /// Time-point screenshot template id.
    pub definition: i64,
    /// `Time` or `Percent`.
    #[serde(default)]
    pub position_type: PositionType,
    /// Seconds or percent, after `PositionType`.
    #[serde(default)]
    pub position_value: f64,
    /// Watermarks; empty without one.
    #[serde(default)]
    pub watermark_set: Vec<WatermarkInput>,
}

/// One adaptive-streaming step (`AdaptiveDynamicStreamingTaskInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdaptiveDynamicStreamingTaskInput {
    /// Adaptive bitrate streaming template id.
    pub definition: i64,
    /// Watermarks; empty without one.
    #[serde(default)]
    pub watermark_set: Vec<WatermarkInput>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn task_sets_use_the_api_names_and_defaults() {
        let t: MediaProcessTaskInput = serde_json::from_str(
            r#"{"CoverBySnapshotTaskSet": [{"Definition": 10}],
                "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10, "DrmInfo": null}]}"#,
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.cover_by_snapshot_task_set[0].position_type,
            PositionType::Time
        );
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v["CoverBySnapshotTaskSet"][0],
            serde_json::json!({"Definition": 10, "PositionType": "Time", "PositionValue": 0.0,
                "WatermarkSet": []})
        );
        assert!(v.get("TranscodeTaskSet").is_none());
        assert!(MediaProcessTaskInput::default().is_empty());
    }

    #[test]
    fn error_codes_carry_their_family_number() {
        assert_eq!(
            task_error_code("SourceFileError.NoVideoMedia")
                .unwrap()
                .err_code,
            60000
        );
        assert_eq!(task_error_code("InvalidInput").unwrap().err_code, 40000);
        assert_eq!(task_error_code("InternalError").unwrap().err_code, 70000);
        assert!(task_error_code("FailedOperation").is_none());
        for c in TASK_ERROR_CODES {
            let family = c.code.split('.').next().unwrap();
            let expected = match family {
                "InvalidInput" => 40000,
                "SourceFileError" => 60000,
                _ => 70000,
            };
            assert_eq!(c.err_code, expected, "{}", c.code);
        }
    }
}
