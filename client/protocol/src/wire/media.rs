//! Media management on the VOD API (2018-07-17): DescribeMediaInfos, DeleteMedia,
//! ParseStreamingManifest, and the media descriptions they and the events share
//! (`MediaBasicInfo`, `MediaMetaData`; docs/protocol/vod-api.md §5.4, §6).

use crate::wire::unfilled::{DerivedInfos, RecordInfos, Unfilled};
use serde::{Deserialize, Serialize};

/// Where a media file came from (`MediaBasicInfo.SourceInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaSourceData {
    /// `Upload` for server-side uploads.
    pub source_type: String,
    /// The ApplyUpload `SourceContext`, passed through.
    pub source_context: String,
    /// Recording descriptions, `null` for uploads.
    #[serde(flatten)]
    pub record_infos: Unfilled<RecordInfos>,
}

/// The basic description of a media file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaBasicInfo {
    /// Display name.
    pub name: String,
    /// Description (empty after upload).
    pub description: String,
    /// ISO 8601 UTC creation time.
    pub create_time: String,
    /// ISO 8601 UTC time of the last change.
    pub update_time: String,
    /// ISO 8601 UTC expiry; `9999-12-31T23:59:59Z` for never.
    pub expire_time: String,
    /// Category id; 0 is "other".
    pub class_id: i64,
    /// Category name.
    pub class_name: String,
    /// Category path.
    pub class_path: String,
    /// Cover URL; empty without a cover.
    pub cover_url: String,
    /// Container / extension, e.g. `mp4`.
    #[serde(rename = "Type")]
    pub media_type: String,
    /// Playback URL.
    pub media_url: String,
    /// Where it came from.
    pub source_info: MediaSourceData,
    /// Storage region.
    pub storage_region: String,
    /// Storage path (FileID + Path mode), with a leading `/`.
    pub storage_path: String,
    /// Tags (none after upload).
    pub tag_set: Vec<String>,
    /// Recording id; the FileId for uploads, as the documented example shows.
    pub vid: String,
    /// `Video`, `Audio` or `Image`.
    pub category: String,
    /// `Normal` or `Forbidden`.
    pub status: String,
    /// `STANDARD` after upload.
    pub storage_class: String,
}

/// One video stream of a media file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaVideoStreamItem {
    /// Bits per second.
    pub bitrate: i64,
    /// Pixels.
    pub height: i64,
    /// Pixels.
    pub width: i64,
    /// Codec, e.g. `h264`.
    pub codec: String,
    /// Frames per second.
    pub fps: i64,
    /// Codec tag, e.g. `avc1`.
    pub codec_tag: String,
}

/// One audio stream of a media file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaAudioStreamItem {
    /// Bits per second.
    pub bitrate: i64,
    /// Samples per second.
    pub sampling_rate: i64,
    /// Codec, e.g. `aac`.
    pub codec: String,
}

/// What is known of a file's content: size always, the rest when it could be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaMetaData {
    /// Bytes (for HLS: the manifest and all its segments).
    pub size: i64,
    /// Container, e.g. `mov,mp4,m4a,3gp,3g2,mj2`; empty when unknown.
    pub container: String,
    /// Bits per second; 0 when unknown.
    pub bitrate: i64,
    /// Pixels; 0 when unknown.
    pub height: i64,
    /// Pixels; 0 when unknown.
    pub width: i64,
    /// Seconds; 0 when unknown.
    pub duration: f64,
    /// Degrees.
    pub rotate: i64,
    /// Video streams.
    pub video_stream_set: Vec<MediaVideoStreamItem>,
    /// Audio streams.
    pub audio_stream_set: Vec<MediaAudioStreamItem>,
    /// Seconds of video; 0 when unknown.
    pub video_duration: f64,
    /// Seconds of audio; 0 when unknown.
    pub audio_duration: f64,
    /// Only filled by DescribeFileAttributes in the real service: empty here.
    pub md5: String,
}

/// `DescribeMediaInfos` parameters (docs/protocol/vod-api.md §6.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeMediaInfosRequest {
    /// 1 to 20 FileIds. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_ids: Option<Vec<String>>,
    /// Which parts to return (`basicInfo`, `metaData`, …); absent = all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<String>>,
    /// VOD application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

impl DescribeMediaInfosRequest {
    /// The parameter names this action accepts.
    pub const FIELDS: &'static [&'static str] = &["FileIds", "Filters", "SubAppId"];
}

/// One media file as DescribeMediaInfos returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaInfo {
    /// FileId.
    pub file_id: String,
    /// Basic information; `null` when filtered out.
    pub basic_info: Option<MediaBasicInfo>,
    /// Metadata; `null` when filtered out.
    pub meta_data: Option<MediaMetaData>,
    /// Derived outputs and analyses the emulator produces nothing for, `null`.
    #[serde(flatten)]
    pub derived: Unfilled<DerivedInfos>,
}

/// `DescribeMediaInfos` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeMediaInfosResponse {
    /// The media found, in request order.
    pub media_info_set: Vec<MediaInfo>,
    /// Requested ids that do not exist (not an error).
    pub not_exist_file_id_set: Vec<String>,
    /// Unique id of this API call.
    pub request_id: String,
}

/// What DeleteMedia removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaDeleteItem {
    /// `OriginalFiles`, `TranscodeFiles`, … Required.
    #[serde(rename = "Type")]
    pub item_type: String,
    /// Template id; 0 = all of that type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<i64>,
}

/// `DeleteMedia` parameters (docs/protocol/vod-api.md §6.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMediaRequest {
    /// The media to delete. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// Parts to delete; absent or empty = the media and everything derived from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_parts: Option<Vec<MediaDeleteItem>>,
    /// VOD application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

impl DeleteMediaRequest {
    /// The parameter names this action accepts.
    pub const FIELDS: &'static [&'static str] = &["FileId", "DeleteParts", "SubAppId"];
}

/// `ParseStreamingManifest` parameters (docs/protocol/vod-api.md §6.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParseStreamingManifestRequest {
    /// The manifest's full text. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_manifest_content: Option<String>,
    /// `m3u8` (default) or `mpd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_type: Option<String>,
    /// VOD application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

impl ParseStreamingManifestRequest {
    /// The parameter names this action accepts.
    pub const FIELDS: &'static [&'static str] =
        &["MediaManifestContent", "ManifestType", "SubAppId"];
}

/// `ParseStreamingManifest` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParseStreamingManifestResponse {
    /// Segment URIs in manifest order, relative as written.
    pub media_segment_set: Vec<String>,
    /// Unique id of this API call.
    pub request_id: String,
}

/// The response of actions that return nothing but their `RequestId` (DeleteMedia,
/// ConfirmEvents, ModifyEventConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmptyResponse {
    /// Unique id of this API call.
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn basic_info_uses_the_api_field_names() {
        let v = serde_json::to_value(MediaBasicInfo {
            media_type: "mp4".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(v["Type"], "mp4");
        assert!(v.get("SourceInfo").unwrap().get("SourceContext").is_some());
        assert!(v.get("StorageClass").is_some());
    }
}
