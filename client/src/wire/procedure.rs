//! Task flow templates on the VOD API (2018-07-17): what a task flow asks for
//! (`MediaProcessTaskInput`, as CreateProcedureTemplate takes it and DescribeProcedureTemplates
//! returns it) and the step inputs a ProcedureStateChanged event echoes back.
//!
//! Field names and values follow tencentcloud-sdk-python-vod 3.1.194 `models.py`. Only the
//! steps the emulator simulates are here (transcode, sample snapshot, image sprite, cover by
//! snapshot, adaptive streaming); unknown fields are ignored when reading, so events of the
//! real service still parse.

use serde::{Deserialize, Serialize};

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
}
