//! What a task flow produces, for ProcedureStateChanged: one result per step (transcode
//! outputs, sampled screenshots, image sprites, the cover, adaptive streams), with URLs beside
//! the media, in the order the service reports them; a step `SUCCESS`es, or `FAIL`s with a
//! documented error when a `fail_task` fault says so. The steps come from
//! [`crate::task_flows`]. Pure: no I/O, unit-tested below.

use super::MediaProcessTaskInput;
use crate::faults::Effect;
use vod_protocol::wire::events::{
    AdaptiveDynamicStreamingInfoItem, CoverBySnapshotTaskOutput, MediaImageSpriteItem,
    MediaProcessTaskResult, MediaTranscodeItem, SnapshotOutput, TaskResult,
};
use vod_protocol::wire::media::MediaMetaData;
use vod_protocol::wire::procedure::{task_error_code, TaskErrorCode};

/// How the steps of a task flow fail (a `fail_task` fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The result `Type` of the steps that fail; all of them when `None`.
    pub step: Option<String>,
    /// Their documented error.
    pub code: &'static TaskErrorCode,
    /// Their `Message`.
    pub message: String,
}

impl Failure {
    /// The failure a `fail_task` effect describes; `None` for other effects (and for a code
    /// that is not documented, which rule validation refuses).
    pub fn of(effect: &Effect) -> Option<Self> {
        let Effect::FailTask {
            step,
            err_code,
            message,
        } = effect
        else {
            return None;
        };
        let code = task_error_code(err_code.as_deref().unwrap_or("InternalError"))?;
        Some(Self {
            step: step.clone(),
            code,
            message: message.clone().unwrap_or_else(|| code.message.to_owned()),
        })
    }

    /// Whether steps of this result `Type` fail.
    pub fn hits(&self, task_type: &str) -> bool {
        self.step.as_deref().is_none_or(|s| s == task_type)
    }
}

/// How a finishing task flow runs: its steps (`None` when its name no longer resolves) and the
/// failure a fault imposes on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// The steps.
    pub steps: Option<MediaProcessTaskInput>,
    /// The failure, if a `fail_task` fault fired.
    pub failure: Option<Failure>,
}

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
        other_tasks: Default::default(),
    }
}

/// The per-step results of a finished task flow, derived from its steps and the source, the
/// steps `failure` names failed. Output URLs sit beside the media (`<dir>/v.f<definition>.mp4`,
/// `<dir>/adp.<definition>.m3u8`, `<dir>/coverBySnapshot/…`, `<dir>/imageSprite/…`,
/// `<dir>/sampleSnapshot/…`).
pub fn results(
    steps: &MediaProcessTaskInput,
    failure: Option<&Failure>,
    media_url: &str,
    meta: &MediaMetaData,
    begin: &str,
    finish: &str,
) -> Vec<MediaProcessTaskResult> {
    let ended = |task_type: &str| Ended {
        failure: failure.filter(|f| f.hits(task_type)),
        begin,
        finish,
    };
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
            transcode_task: Some(ended("Transcode").result(input.clone(), output)),
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
            sample_snapshot_task: Some(ended("SampleSnapshot").result(input.clone(), output)),
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
            image_sprite_task: Some(ended("ImageSprites").result(input.clone(), output)),
            ..result("ImageSprites")
        });
    }
    for input in &steps.cover_by_snapshot_task_set {
        let definition = input.definition;
        let output = CoverBySnapshotTaskOutput {
            cover_url: format!("{dir}/coverBySnapshot/coverBySnapshot_{definition}_0.jpg"),
        };
        out.push(MediaProcessTaskResult {
            cover_by_snapshot_task: Some(ended("CoverBySnapshot").result(input.clone(), output)),
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
            adaptive_dynamic_streaming_task: Some(
                ended("AdaptiveDynamicStreaming").result(input.clone(), output),
            ),
            ..result("AdaptiveDynamicStreaming")
        });
    }
    out
}

/// How a step ended: when, and whether it failed.
struct Ended<'a> {
    failure: Option<&'a Failure>,
    begin: &'a str,
    finish: &'a str,
}

impl Ended<'_> {
    /// The step that ran with `input`: `SUCCESS` with `output`, or `FAIL` with the failure's
    /// codes and no output.
    fn result<I, O>(&self, input: I, output: O) -> TaskResult<I, O> {
        let (status, err_code_ext, err_code, message, output) = match self.failure {
            None => ("SUCCESS", "", 0, "SUCCESS", Some(output)),
            Some(f) => (
                "FAIL",
                f.code.code,
                f.code.err_code,
                f.message.as_str(),
                None,
            ),
        };
        TaskResult {
            status: status.into(),
            err_code_ext: err_code_ext.into(),
            err_code,
            message: message.into(),
            input,
            output,
            progress: 100,
            begin_process_time: self.begin.to_owned(),
            finish_time: self.finish.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::task_flows::{builtin, TaskFlows};

    fn output<I, O>(task: &Option<TaskResult<I, O>>) -> &O {
        task.as_ref().unwrap().output.as_ref().unwrap()
    }

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
        let r = results(
            &steps,
            None,
            "http://h/media/b/d/f0.mp4",
            &meta(25.0),
            "t0",
            "t1",
        );
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
        assert_eq!(t.status, "SUCCESS");
        assert_eq!(t.input.watermark_set[0].definition, 150);
        let out = output(&r[1].transcode_task);
        assert_eq!(out.url, "http://h/media/b/d/v.f100020.mp4");
        assert_eq!((out.width, out.height), (960, 540));
        assert_eq!(output(&r[0].transcode_task).width, 320);
        assert_eq!(output(&r[2].sample_snapshot_task).image_url_set.len(), 3);
        assert_eq!(
            r[2].sample_snapshot_task.as_ref().unwrap().input.definition,
            20
        );
    }

    #[test]
    fn presets_stream_sprite_and_cover() {
        let flows = TaskFlows::new(Vec::new()).unwrap();
        let steps = flows.resolve("SDMC-WidevineFairPlayPreset").unwrap();
        let r = results(&steps, None, "http://h/d/f0.mp4", &meta(250.0), "t0", "t1");
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
        let sprite = output(&r[0].image_sprite_task);
        assert_eq!((sprite.total_count, sprite.image_url_set.len()), (25, 1));
        assert_eq!(
            sprite.web_vtt_url,
            "http://h/d/imageSprite/imageSprite_10.vtt"
        );
        assert_eq!(
            output(&r[1].cover_by_snapshot_task).cover_url,
            "http://h/d/coverBySnapshot/coverBySnapshot_10_0.jpg"
        );
        let dash = output(&r[3].adaptive_dynamic_streaming_task);
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
        let r = results(
            &steps,
            None,
            "http://h/d/f0.mp4",
            &meta(1_500.0),
            "t0",
            "t1",
        );
        let sprite = output(&r[0].image_sprite_task);
        assert_eq!((sprite.total_count, sprite.image_url_set.len()), (150, 2));
    }

    #[test]
    fn failures_fail_the_steps_they_name() {
        let steps = builtin::form("QCVB_SimpleProcessFile({10},0,10,10)")
            .unwrap()
            .unwrap();
        let effect = Effect::FailTask {
            step: Some("CoverBySnapshot".into()),
            err_code: Some("InvalidInput.DefinitionNotExist".into()),
            message: None,
        };
        let failure = Failure::of(&effect).unwrap();
        let r = results(
            &steps,
            Some(&failure),
            "http://h/d/f0.mp4",
            &meta(5.0),
            "a",
            "b",
        );
        let transcode = r[0].transcode_task.as_ref().unwrap();
        assert_eq!(
            (transcode.status.as_str(), transcode.err_code),
            ("SUCCESS", 0)
        );
        let cover = r[2].cover_by_snapshot_task.as_ref().unwrap();
        assert_eq!(cover.status, "FAIL");
        assert_eq!(cover.err_code_ext, "InvalidInput.DefinitionNotExist");
        assert_eq!(cover.err_code, 40000);
        assert_eq!(cover.message, failure.code.message);
        assert!(cover.output.is_none());

        let all = Failure::of(&Effect::FailTask {
            step: None,
            err_code: None,
            message: Some("gone".into()),
        })
        .unwrap();
        assert_eq!(all.code.code, "InternalError");
        let r = results(
            &steps,
            Some(&all),
            "http://h/d/f0.mp4",
            &meta(5.0),
            "a",
            "b",
        );
        let sample = r[1].sample_snapshot_task.as_ref().unwrap();
        assert_eq!(
            (sample.status.as_str(), sample.message.as_str()),
            ("FAIL", "gone")
        );
        assert!(Failure::of(&Effect::Drop).is_none());
    }
}
