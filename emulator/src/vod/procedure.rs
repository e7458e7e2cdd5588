//! What a task flow produces, for ProcedureStateChanged: one result per step (transcode
//! outputs, sampled screenshots, image sprites, the cover, adaptive streams), with URLs beside
//! the media, in the order the service reports them. The steps come from
//! [`crate::task_flows`]. Pure: no I/O, unit-tested below.

use crate::task_flows::MediaProcessTaskInput;
use vod_client::wire::events::{
    AdaptiveDynamicStreamingInfoItem, CoverBySnapshotTaskOutput, MediaImageSpriteItem,
    MediaProcessTaskResult, MediaTranscodeItem, SnapshotOutput, TaskResult,
};
use vod_client::wire::media::MediaMetaData;

/// Output size of the preset templates; other templates keep the source's.
fn preset_size(definition: i64) -> Option<(i64, i64)> {
    match definition {
        100010 => Some((640, 360)),
        100020 => Some((960, 540)),
        100030 => Some((1280, 720)),
        100040 => Some((1920, 1080)),
        _ => None,
    }
}

/// Packaging and DRM of an adaptive-streaming template. The presets' are read from their
/// documented names (doc 266/14058: Adpative-HLS 10, Adpative-HLS-FairPlay 11,
/// Adpative-HLS-Encrypt 12, Adpative-HLS-Widevine 13, Adpative-HLS-EncryptBase 14,
/// SDMC-Adpative-HLS-FairPlay 31, SDMC-Adpative-DASH-Widevine 41); any other template is HLS
/// without DRM.
fn adaptive_template(definition: i64) -> (&'static str, &'static str) {
    match definition {
        11 | 31 => ("HLS", "FairPlay"),
        12 | 14 => ("HLS", "SimpleAES"),
        13 => ("HLS", "Widevine"),
        41 => ("DASH", "Widevine"),
        _ => ("HLS", ""),
    }
}

/// Small pictures of an image sprite: the preset template 10's (142×80, one every 10 s, 100
/// to a large picture), used for every template.
const SPRITE_SIZE: (i64, i64) = (142, 80);
const SPRITE_INTERVAL_S: f64 = 10.0;
const SPRITE_PER_IMAGE: i64 = 100;

/// A result of type `task_type` with no task set yet.
fn result(task_type: &str) -> MediaProcessTaskResult {
    MediaProcessTaskResult {
        task_type: task_type.to_owned(),
        transcode_task: None,
        sample_snapshot_task: None,
        image_sprite_task: None,
        cover_by_snapshot_task: None,
        adaptive_dynamic_streaming_task: None,
    }
}

/// The per-step results of a finished task flow, derived from its steps and the source.
/// Output URLs sit beside the media (`<dir>/v.f<definition>.mp4`, `<dir>/adp.<definition>.m3u8`,
/// `<dir>/coverBySnapshot/…`, `<dir>/imageSprite/…`, `<dir>/sampleSnapshot/…`).
pub fn results(
    steps: &MediaProcessTaskInput,
    media_url: &str,
    meta: &MediaMetaData,
    begin: &str,
    finish: &str,
) -> Vec<MediaProcessTaskResult> {
    let dir = media_url.rsplit_once('/').map_or(media_url, |(d, _)| d);
    // One picture per started interval, at least one.
    let pictures = |interval: f64| (meta.duration / interval).ceil().max(1.0) as i64;
    let mut out = Vec::new();
    for input in &steps.transcode_task_set {
        let definition = input.definition;
        let (width, height) = preset_size(definition).unwrap_or((meta.width, meta.height));
        let output = MediaTranscodeItem {
            url: format!("{dir}/v.f{definition}.mp4"),
            definition,
            bitrate: meta.bitrate,
            height,
            width,
            size: meta.size,
            duration: meta.duration,
            container: "mp4".into(),
            md5: String::new(),
        };
        out.push(MediaProcessTaskResult {
            transcode_task: Some(finished(input.clone(), output, begin, finish)),
            ..result("Transcode")
        });
    }
    for input in &steps.sample_snapshot_task_set {
        let definition = input.definition;
        // One picture per started 10 s of video, at most ten.
        let count = pictures(10.0).min(10);
        let output = SnapshotOutput {
            definition,
            image_url_set: (0..count)
                .map(|i| format!("{dir}/sampleSnapshot/sampleSnapshot_{definition}_{i}.jpg"))
                .collect(),
        };
        out.push(MediaProcessTaskResult {
            sample_snapshot_task: Some(finished(input.clone(), output, begin, finish)),
            ..result("SampleSnapshot")
        });
    }
    for input in &steps.image_sprite_task_set {
        let definition = input.definition;
        let count = pictures(SPRITE_INTERVAL_S);
        let images = (count + SPRITE_PER_IMAGE - 1) / SPRITE_PER_IMAGE;
        let output = MediaImageSpriteItem {
            definition,
            width: SPRITE_SIZE.0,
            height: SPRITE_SIZE.1,
            total_count: count,
            image_url_set: (0..images)
                .map(|i| format!("{dir}/imageSprite/imageSprite_{definition}_{i}.jpg"))
                .collect(),
            web_vtt_url: format!("{dir}/imageSprite/imageSprite_{definition}.vtt"),
        };
        out.push(MediaProcessTaskResult {
            image_sprite_task: Some(finished(input.clone(), output, begin, finish)),
            ..result("ImageSprites")
        });
    }
    for input in &steps.cover_by_snapshot_task_set {
        let definition = input.definition;
        let output = CoverBySnapshotTaskOutput {
            cover_url: format!("{dir}/coverBySnapshot/coverBySnapshot_{definition}_0.jpg"),
        };
        out.push(MediaProcessTaskResult {
            cover_by_snapshot_task: Some(finished(input.clone(), output, begin, finish)),
            ..result("CoverBySnapshot")
        });
    }
    for input in &steps.adaptive_dynamic_streaming_task_set {
        let definition = input.definition;
        let (package, drm_type) = adaptive_template(definition);
        let extension = if package == "DASH" { "mpd" } else { "m3u8" };
        let output = AdaptiveDynamicStreamingInfoItem {
            definition,
            package: package.into(),
            drm_type: drm_type.into(),
            url: format!("{dir}/adp.{definition}.{extension}"),
        };
        out.push(MediaProcessTaskResult {
            adaptive_dynamic_streaming_task: Some(finished(input.clone(), output, begin, finish)),
            ..result("AdaptiveDynamicStreaming")
        });
    }
    out
}

/// A step that ran with `input` from `begin` to `finish` and produced `output`.
fn finished<I, O>(input: I, output: O, begin: &str, finish: &str) -> TaskResult<I, O> {
    TaskResult {
        status: "FINISH".into(),
        err_code_ext: String::new(),
        err_code: 0,
        message: "SUCCESS".into(),
        input,
        output,
        progress: 100,
        begin_process_time: begin.to_owned(),
        finish_time: finish.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::task_flows::{builtin, TaskFlows};

    fn meta(duration: f64) -> MediaMetaData {
        MediaMetaData {
            duration,
            width: 320,
            height: 240,
            ..Default::default()
        }
    }

    #[test]
    fn results_follow_the_steps() {
        let steps = builtin::form("QCVB_SimpleProcessFile({10,100020},150,10,20)")
            .unwrap()
            .unwrap();
        let r = results(&steps, "http://h/media/b/d/f0.mp4", &meta(25.0), "t0", "t1");
        let types: Vec<&str> = r.iter().map(|x| x.task_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "Transcode",
                "Transcode",
                "SampleSnapshot",
                "CoverBySnapshot"
            ]
        );
        let t = r[1].transcode_task.as_ref().unwrap();
        assert_eq!(t.output.url, "http://h/media/b/d/v.f100020.mp4");
        assert_eq!((t.output.width, t.output.height), (960, 540));
        assert_eq!(t.input.watermark_set[0].definition, 150);
        assert_eq!(r[0].transcode_task.as_ref().unwrap().output.width, 320);
        let samples = r[2].sample_snapshot_task.as_ref().unwrap();
        assert_eq!(samples.output.image_url_set.len(), 3);
        assert_eq!(samples.input.definition, 20);
    }

    #[test]
    fn presets_stream_sprite_and_cover() {
        let flows = TaskFlows::new(Vec::new()).unwrap();
        let steps = flows.resolve("SDMC-WidevineFairPlayPreset").unwrap();
        let r = results(&steps, "http://h/d/f0.mp4", &meta(250.0), "t0", "t1");
        let types: Vec<&str> = r.iter().map(|x| x.task_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "ImageSprites",
                "CoverBySnapshot",
                "AdaptiveDynamicStreaming",
                "AdaptiveDynamicStreaming"
            ]
        );
        let sprite = &r[0].image_sprite_task.as_ref().unwrap().output;
        assert_eq!((sprite.total_count, sprite.image_url_set.len()), (25, 1));
        assert_eq!(
            sprite.web_vtt_url,
            "http://h/d/imageSprite/imageSprite_10.vtt"
        );
        let cover = &r[1].cover_by_snapshot_task.as_ref().unwrap().output;
        assert_eq!(
            cover.cover_url,
            "http://h/d/coverBySnapshot/coverBySnapshot_10_0.jpg"
        );
        let dash = &r[3]
            .adaptive_dynamic_streaming_task
            .as_ref()
            .unwrap()
            .output;
        assert_eq!(
            (
                dash.package.as_str(),
                dash.drm_type.as_str(),
                dash.url.as_str()
            ),
            ("DASH", "Widevine", "http://h/d/adp.41.mpd")
        );
    }

    #[test]
    fn long_videos_fill_several_sprite_images() {
        let steps = TaskFlows::new(Vec::new())
            .unwrap()
            .resolve("LongVideoPreset")
            .unwrap();
        let r = results(&steps, "http://h/d/f0.mp4", &meta(1_500.0), "t0", "t1");
        let sprite = &r[0].image_sprite_task.as_ref().unwrap().output;
        assert_eq!((sprite.total_count, sprite.image_url_set.len()), (150, 2));
    }
}
