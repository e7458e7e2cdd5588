//! Media management: DescribeMediaInfos, DeleteMedia and ParseStreamingManifest
//! (docs/protocol/vod-api.md §6).

use crate::body::Body;
use crate::error::{json_response, VodCode, VodError};
use crate::events::{self, content};
use crate::state::AppState;
use crate::store::NewEvent;
use http::Response;
use vod_protocol::wire::media::{
    DeleteMediaRequest, DescribeMediaInfosRequest, DescribeMediaInfosResponse, EmptyResponse,
    MediaInfo, ParseStreamingManifestRequest, ParseStreamingManifestResponse,
};
use vod_protocol::wire::vod::Envelope;

/// Most FileIds one DescribeMediaInfos takes.
const MAX_FILE_IDS: usize = 20;

/// The `Filters` values DescribeMediaInfos accepts.
const FILTERS: &[&str] = &[
    "basicInfo",
    "metaData",
    "transcodeInfo",
    "animatedGraphicsInfo",
    "imageSpriteInfo",
    "snapshotByTimeOffsetInfo",
    "sampleSnapshotInfo",
    "keyFrameDescInfo",
    "adaptiveDynamicStreamingInfo",
    "miniProgramReviewInfo",
    "subtitleInfo",
    "reviewInfo",
    "mpsAiMediaInfo",
    "knowledgeBasesInfo",
];

/// The `DeleteParts` types DeleteMedia accepts.
const DELETE_TYPES: &[&str] = &[
    "OriginalFiles",
    "TranscodeFiles",
    "AdaptiveDynamicStreamingFiles",
    "WechatPublishFiles",
    "WechatMiniProgramPublishFiles",
    "MpsAiMediaAiAnalysisFiles",
    "MpsAiMediaSmartEraseFiles",
    "MpsAiMediaSmartSubtitleFiles",
];

/// DescribeMediaInfos: unknown ids are listed in `NotExistFileIdSet`, not an error.
pub async fn describe_media_infos(
    state: &AppState,
    req: DescribeMediaInfosRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let file_ids = req.file_ids.ok_or_else(|| super::missing("FileIds"))?;
    if file_ids.is_empty() {
        return Err(VodError::new(VodCode::FileIdsEmpty, "FileIds is empty"));
    }
    if file_ids.len() > MAX_FILE_IDS {
        return Err(VodError::new(
            VodCode::FileIdsOverLimit,
            format!("FileIds holds more than {MAX_FILE_IDS} ids"),
        ));
    }
    let filters = req.filters.unwrap_or_default();
    // InvalidParameter: the action's documented list (tencentcloud-sdk-go client.go) has no
    // InvalidParameterValue.
    if let Some(bad) = filters.iter().find(|f| !FILTERS.contains(&f.as_str())) {
        return Err(VodError::new(
            VodCode::InvalidParameter,
            format!("Filters value `{bad}` is not a media information part"),
        ));
    }
    let wants = |part: &str| filters.is_empty() || filters.iter().any(|f| f == part);
    let (basic, meta) = (wants("basicInfo"), wants("metaData"));
    let found = state
        .store()
        .media_infos(req.sub_app_id.unwrap_or_default(), file_ids)
        .await?;
    let mut media_info_set = Vec::new();
    let mut not_exist_file_id_set = Vec::new();
    for (file_id, info) in found {
        match info {
            Some(info) => media_info_set.push(MediaInfo {
                file_id,
                basic_info: basic.then_some(info.basic_info),
                meta_data: meta.then_some(info.meta_data),
                derived: Default::default(),
            }),
            None => not_exist_file_id_set.push(file_id),
        }
    }
    Ok(json_response(&Envelope {
        response: DescribeMediaInfosResponse {
            media_info_set,
            not_exist_file_id_set,
            request_id: request_id.to_owned(),
        },
    }))
}

/// DeleteMedia: with no parts (or `OriginalFiles`) the media, its cover and its segments go,
/// and later reads of its URLs answer 404; derived parts do not exist in the emulator, so
/// deleting only those changes nothing.
pub async fn delete_media(
    state: &AppState,
    req: DeleteMediaRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let file_id = req.file_id.ok_or_else(|| super::missing("FileId"))?;
    let parts = req.delete_parts.unwrap_or_default();
    if let Some(bad) = parts
        .iter()
        .find(|p| !DELETE_TYPES.contains(&p.item_type.as_str()))
    {
        // FailedOperation: DeleteMedia documents no parameter code (tencentcloud-sdk-go
        // client.go lists FailedOperation, InternalError, ResourceNotFound, …).
        return Err(VodError::new(
            VodCode::FailedOperation,
            format!("DeleteParts type `{}` is not a media part", bad.item_type),
        ));
    }
    let sub_app_id = req.sub_app_id.unwrap_or_default();
    let not_found = || {
        VodError::new(
            VodCode::ResourceNotFound,
            format!("the media `{file_id}` does not exist"),
        )
    };
    let whole = parts.is_empty() || parts.iter().any(|p| p.item_type == "OriginalFiles");
    if !whole {
        let found = state
            .store()
            .media_infos(sub_app_id, vec![file_id.clone()])
            .await?;
        if found.iter().all(|(_, info)| info.is_none()) {
            return Err(not_found());
        }
    } else {
        let config = events::config_for(state, sub_app_id).await?;
        let delivery = events::delivery_of(&config);
        let now_ms = state.clock().now_ms();
        let deleted = state
            .store()
            .delete_media(sub_app_id, file_id.clone(), move |info| {
                config.delete_events.then(|| NewEvent {
                    sub_app_id,
                    content: content::file_deleted(&info.file_id),
                    delivery,
                    created_ms: now_ms,
                    held_until_ms: None,
                })
            })
            .await?
            .ok_or_else(not_found)?;
        state.store().blobs().remove(deleted.blobs).await;
        events::announce_ids(
            state,
            "created",
            &deleted.event_id.into_iter().collect::<Vec<_>>(),
        )
        .await;
    }
    Ok(json_response(&Envelope {
        response: EmptyResponse {
            request_id: request_id.to_owned(),
        },
    }))
}

/// ParseStreamingManifest.
pub async fn parse_streaming_manifest(
    req: ParseStreamingManifestRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let text = req
        .media_manifest_content
        .ok_or_else(|| super::missing("MediaManifestContent"))?;
    let segments = match req.manifest_type.as_deref().unwrap_or("m3u8") {
        "m3u8" => m3u8_segments(&text),
        "mpd" => mpd_segments(&text),
        other => {
            return Err(VodError::new(
                VodCode::InvalidParameterValue,
                format!("ManifestType `{other}` is not m3u8 or mpd"),
            ))
        }
    }
    .map_err(|why| VodError::new(VodCode::MediaManifestContent, why))?;
    Ok(json_response(&Envelope {
        response: ParseStreamingManifestResponse {
            media_segment_set: segments,
            request_id: request_id.to_owned(),
        },
    }))
}

/// Segment URIs of an HLS playlist in order: every URI line and the `URI="…"` of
/// `#EXT-X-KEY` / `#EXT-X-MAP`. A master playlist yields its variant playlists (the Python SDK
/// then parses those too).
pub(crate) fn m3u8_segments(text: &str) -> Result<Vec<String>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some("#EXTM3U") {
        return Err("an m3u8 manifest starts with #EXTM3U".into());
    }
    let mut out = Vec::new();
    for line in lines {
        let uri = if let Some(tag) = line.strip_prefix('#') {
            if !(tag.starts_with("EXT-X-KEY:") || tag.starts_with("EXT-X-MAP:")) {
                continue;
            }
            match attribute(tag, "URI") {
                Some(uri) => uri,
                None => continue,
            }
        } else {
            line.to_owned()
        };
        push_relative(&mut out, uri)?;
    }
    Ok(out)
}

/// Segment URIs of a DASH manifest: `BaseURL` texts and the `media`, `initialization` and
/// `sourceURL` attributes that name a file (templates with `$…$` are skipped).
pub(crate) fn mpd_segments(text: &str) -> Result<Vec<String>, String> {
    if !text.contains("<MPD") {
        return Err("an mpd manifest has an <MPD> root element".into());
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("<BaseURL>") {
        let after = &rest[i + "<BaseURL>".len()..];
        let end = after.find("</BaseURL>").ok_or("unclosed <BaseURL>")?;
        push_relative(&mut out, after[..end].trim().to_owned())?;
        rest = &after[end..];
    }
    for name in ["initialization", "media", "sourceURL"] {
        let pattern = format!(" {name}=\"");
        let mut rest = text;
        while let Some(i) = rest.find(&pattern) {
            let after = &rest[i + pattern.len()..];
            let end = after.find('"').ok_or("unclosed attribute")?;
            let value = &after[..end];
            if !value.contains('$') {
                push_relative(&mut out, value.to_owned())?;
            }
            rest = &after[end..];
        }
    }
    Ok(out)
}

/// `NAME="value"` in an attribute list.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let pattern = format!("{name}=\"");
    let start = tag.find(&pattern)? + pattern.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_owned())
}

/// Adds a segment, refusing what the real service refuses: URLs, absolute paths and paths
/// that climb out of the manifest's directory.
fn push_relative(out: &mut Vec<String>, uri: String) -> Result<(), String> {
    if uri.contains("://") || uri.starts_with('/') || uri.split('/').any(|s| s == "..") {
        return Err(format!(
            "segment `{uri}` is not a relative path inside the manifest's directory"
        ));
    }
    if !out.contains(&uri) {
        out.push(uri);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn documented_m3u8_example_lists_its_segments() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:9.009,\nfirst.ts\n#EXTINF:9.009,\nsecond.ts\n#EXT-X-ENDLIST";
        assert_eq!(m3u8_segments(text).unwrap(), ["first.ts", "second.ts"]);
    }

    #[test]
    fn keys_maps_and_variants_count_and_urls_are_refused() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"k/key.bin\"\nseg/a.m4s\n";
        assert_eq!(
            m3u8_segments(text).unwrap(),
            ["init.mp4", "k/key.bin", "seg/a.m4s"]
        );
        assert!(m3u8_segments("#EXTM3U\nhttp://x/a.ts").is_err());
        assert!(m3u8_segments("#EXTM3U\n/abs.ts").is_err());
        assert!(m3u8_segments("#EXTM3U\n../up.ts").is_err());
        assert!(m3u8_segments("not a playlist").is_err());
    }

    #[test]
    fn mpd_segments_come_from_base_urls_and_attributes() {
        let text = r#"<MPD><Period><AdaptationSet><Representation><BaseURL>v.mp4</BaseURL>
            <SegmentList><Initialization sourceURL="init.mp4"/><SegmentURL media="s1.m4s"/>
            <SegmentURL media="s2.m4s"/></SegmentList><SegmentTemplate media="x_$Number$.m4s"/>
            </Representation></AdaptationSet></Period></MPD>"#;
        assert_eq!(
            mpd_segments(text).unwrap(),
            ["v.mp4", "s1.m4s", "s2.m4s", "init.mp4"]
        );
    }
}
