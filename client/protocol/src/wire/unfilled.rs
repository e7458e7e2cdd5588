//! Fields of the service's models that the emulator never fills, sent as the service sends an
//! unused field: `null`.
//!
//! The VOD API writes every field of a response model, unused ones included (the official
//! examples carry `"PullCompleteEvent": null`, `"TranscodeInfo": null`, …), and SDK users write
//! code that relies on the key being there. A struct that flattens [`Unfilled<T>`] writes each
//! of `T::NAMES` as `null`, and reads past them. The names come from the official SDK models
//! (tencentcloud-sdk-python-vod 3.1.194, `vod/v20180717/models.py`): no field is invented.

use serde::de::{Deserialize, Deserializer, IgnoredAny};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::marker::PhantomData;

/// A list of model fields the emulator leaves empty.
pub trait Names {
    /// The fields, as the model spells them.
    const NAMES: &'static [&'static str];
}

/// `null` for each of `T::NAMES`, when flattened into a struct.
pub struct Unfilled<T>(PhantomData<T>);

impl<T> Default for Unfilled<T> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T> Clone for Unfilled<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<T> PartialEq for Unfilled<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Unfilled<T> {}

impl<T: Names> std::fmt::Debug for Unfilled<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(T::NAMES).finish()
    }
}

impl<T: Names> Serialize for Unfilled<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(T::NAMES.len()))?;
        for name in T::NAMES {
            map.serialize_entry(name, &())?;
        }
        map.end()
    }
}

impl<'de, T> Deserialize<'de> for Unfilled<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Self::default())
    }
}

/// `EventContent`'s events the emulator never emits.
#[derive(Debug)]
pub struct OtherEvents;

impl Names for OtherEvents {
    const NAMES: &'static [&'static str] = &[
        "PullCompleteEvent",
        "EditMediaCompleteEvent",
        "SplitMediaCompleteEvent",
        "ComposeMediaCompleteEvent",
        "ClipCompleteEvent",
        "TranscodeCompleteEvent",
        "CreateImageSpriteCompleteEvent",
        "ConcatCompleteEvent",
        "SnapshotByTimeOffsetCompleteEvent",
        "WechatPublishCompleteEvent",
        "WechatMiniProgramPublishCompleteEvent",
        "RemoveWatermarkCompleteEvent",
        "RestoreMediaCompleteEvent",
        "RebuildMediaCompleteEvent",
        "ExtractTraceWatermarkCompleteEvent",
        "ExtractCopyRightWatermarkCompleteEvent",
        "ReviewAudioVideoCompleteEvent",
        "ReduceMediaBitrateCompleteEvent",
        "DescribeFileAttributesCompleteEvent",
        "QualityInspectCompleteEvent",
        "QualityEnhanceCompleteEvent",
        "MediaCastStatusChangedEvent",
        "PersistenceCompleteEvent",
        "ComplexAdaptiveDynamicStreamingCompleteEvent",
        "ProcessMediaByMPSCompleteEvent",
        "AigcImageCompleteEvent",
        "AigcVideoCompleteEvent",
        "ExtractBlindWatermarkComplete",
        "SceneAigcImageCompleteEvent",
        "ProcessImageAsyncCompleteEvent",
        "CreateAigcAdvancedCustomElementCompleteEvent",
        "CreateAigcCustomVoiceCompleteEvent",
        "DescribeAigcFaceInfoAsyncCompleteEvent",
        "AigcHunyuan3DCompleteEvent",
    ];
}

/// `MediaProcessTaskResult`'s task kinds the emulator never runs.
#[derive(Debug)]
pub struct OtherTasks;

impl Names for OtherTasks {
    const NAMES: &'static [&'static str] = &["AnimatedGraphicTask", "SnapshotByTimeOffsetTask"];
}

/// `MediaSourceData`'s recording descriptions (never set for uploads).
#[derive(Debug)]
pub struct RecordInfos;

impl Names for RecordInfos {
    const NAMES: &'static [&'static str] =
        &["LiveRecordInfo", "TrtcRecordInfo", "WebPageRecordInfo"];
}

/// `MediaInfo`'s parts the emulator produces nothing for.
#[derive(Debug)]
pub struct DerivedInfos;

impl Names for DerivedInfos {
    const NAMES: &'static [&'static str] = &[
        "TranscodeInfo",
        "AnimatedGraphicsInfo",
        "SampleSnapshotInfo",
        "ImageSpriteInfo",
        "SnapshotByTimeOffsetInfo",
        "KeyFrameDescInfo",
        "AdaptiveDynamicStreamingInfo",
        "MiniProgramReviewInfo",
        "SubtitleInfo",
        "ReviewInfo",
        "MPSAiMediaInfo",
        "ImageUnderstandingInfo",
        "KnowledgeBasesInfo",
        "FaceRecognitionInfo",
    ];
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Carrier {
        #[serde(rename = "Used")]
        used: u8,
        #[serde(flatten)]
        unfilled: Unfilled<RecordInfos>,
    }

    #[test]
    fn unfilled_fields_are_written_as_null_and_read_past() {
        let carrier = Carrier {
            used: 1,
            unfilled: Unfilled::default(),
        };
        let json = serde_json::to_value(&carrier).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Used": 1, "LiveRecordInfo": null, "TrtcRecordInfo": null, "WebPageRecordInfo": null})
        );
        let read = Carrier::deserialize(serde_json::json!({"Used": 1, "LiveRecordInfo": {"x": 1}}))
            .unwrap();
        assert_eq!(read, carrier);
    }
}
