//! The task flows every account has without registering anything: the presets of the VOD
//! console and the `QCVB_SimpleProcessFile(…)` / `QCVB_ProcessUGCFile(…)` argument forms.
//! Pure: no I/O, unit-tested below.
//!
//! Presets (doc 266/14058, "预置任务流"; the same names and steps on the international page):
//!
//! | name | adaptive streaming | image sprite | cover |
//! |---|---|---|---|
//! | `LongVideoPreset` | 10 | 10 | 10 |
//! | `SimpleAesEncryptPreset` | 12 | 10 | 10 |
//! | `WidevineFairPlayPreset` | 11, 13 | 10 | 10 |
//! | `SDMC-WidevineFairPlayPreset` | 31, 41 | 10 | 10 |
//! | `MultiDRMPreset` | 14, 13, 11 | 10 | 10 |
//!
//! (The doc's table spells the third one `WidevineFairPlayPrese`, cut short; the name follows
//! its siblings.) The cover is taken at 0 s, as a LongVideoPreset event of the real service
//! shows (`"PositionType":"Time","PositionValue":0`).
//!
//! Argument grammar of the `QCVB_` forms (VOD docs, "Specifying the task flow when
//! uploading"): `QCVB_SimpleProcessFile(Transcode[, Watermark[, CoverBySnapshot[,
//! SampleSnapshot]]])` where `Transcode` is `0` (none), `1` (the global transcode settings) or
//! `{d1,d2,…}` (transcode templates), `Watermark` is `0` (none), `1` (the default watermark) or
//! a watermark template, and the snapshot arguments are template ids (`0` = none). Example:
//! `QCVB_SimpleProcessFile({10,20},150,10,10)`.

use super::ProcedureError;
use vod_protocol::wire::procedure::{
    AdaptiveDynamicStreamingTaskInput, CoverBySnapshotTaskInput, ImageSpriteTaskInput,
    MediaProcessTaskInput, PositionType, SampleSnapshotTaskInput, TranscodeTaskInput,
    WatermarkInput,
};

/// The preset task flows' names.
pub const PRESETS: &[&str] = &[
    "LongVideoPreset",
    "SimpleAesEncryptPreset",
    "WidevineFairPlayPreset",
    "SDMC-WidevineFairPlayPreset",
    "MultiDRMPreset",
];

/// The argument forms' names; registered task flows may not start with their prefix.
const FORMS: &[&str] = &["QCVB_SimpleProcessFile", "QCVB_ProcessUGCFile"];

/// The prefix reserved for the argument forms.
pub const FORM_PREFIX: &str = "QCVB_";

/// The templates "the global transcode settings" stand for: VOD's preset MP4 360p/540p/720p.
const GLOBAL_TRANSCODE: &[i64] = &[100010, 100020, 100030];

/// The steps of a preset or an argument form; `None` when `procedure` is neither (it may
/// still name a registered task flow).
///
/// # Errors
/// An argument form with bad arguments.
pub fn resolve(procedure: &str) -> Option<Result<MediaProcessTaskInput, ProcedureError>> {
    form(procedure).or_else(|| preset(procedure.trim()).map(Ok))
}

/// The steps of a preset task flow, `None` when `name` is not one.
pub fn preset(name: &str) -> Option<MediaProcessTaskInput> {
    let adaptive: &[i64] = match name {
        "LongVideoPreset" => &[10],
        "SimpleAesEncryptPreset" => &[12],
        "WidevineFairPlayPreset" => &[11, 13],
        "SDMC-WidevineFairPlayPreset" => &[31, 41],
        "MultiDRMPreset" => &[14, 13, 11],
        _ => return None,
    };
    Some(MediaProcessTaskInput {
        image_sprite_task_set: vec![ImageSpriteTaskInput { definition: 10 }],
        cover_by_snapshot_task_set: vec![cover_at_start(10)],
        adaptive_dynamic_streaming_task_set: adaptive
            .iter()
            .map(|&definition| AdaptiveDynamicStreamingTaskInput {
                definition,
                watermark_set: Vec::new(),
            })
            .collect(),
        ..MediaProcessTaskInput::default()
    })
}

fn cover_at_start(definition: i64) -> CoverBySnapshotTaskInput {
    CoverBySnapshotTaskInput {
        definition,
        position_type: PositionType::Time,
        position_value: 0.0,
        watermark_set: Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Int(i64),
    List(Vec<i64>),
}

/// The steps of a `QCVB_…(…)` form; `None` when `text` is not written as one (no `(`, or
/// another name before it).
///
/// # Errors
/// A form whose arguments are outside the grammar.
pub fn form(text: &str) -> Option<Result<MediaProcessTaskInput, ProcedureError>> {
    let (name, rest) = text.trim().split_once('(')?;
    let name = name.trim();
    FORMS.contains(&name).then(|| form_arguments(name, rest))
}

fn form_arguments(name: &str, rest: &str) -> Result<MediaProcessTaskInput, ProcedureError> {
    let bad = |why| ProcedureError::BadArguments(name.to_owned(), why);
    let inner = rest
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| bad("missing closing parenthesis"))?;
    let args = split_args(inner).ok_or_else(|| bad("not integers or {…} lists"))?;
    if args.is_empty() || args.len() > 4 {
        return Err(bad("expected 1 to 4 arguments"));
    }
    let transcode = match &args[0] {
        Arg::Int(0) => Vec::new(),
        Arg::Int(1) => GLOBAL_TRANSCODE.to_vec(),
        Arg::Int(_) => return Err(bad("the first argument is 0, 1 or a {…} template list")),
        Arg::List(list) if list.is_empty() => return Err(bad("empty template list")),
        Arg::List(list) => list.clone(),
    };
    let template = |i: usize| -> Result<Option<i64>, ProcedureError> {
        match args.get(i) {
            None | Some(Arg::Int(0)) => Ok(None),
            Some(Arg::Int(n)) => Ok(Some(*n)),
            Some(Arg::List(_)) => Err(bad("only the first argument may be a list")),
        }
    };
    let watermark_set: Vec<WatermarkInput> = template(1)?
        .map(|definition| WatermarkInput { definition })
        .into_iter()
        .collect();
    Ok(MediaProcessTaskInput {
        transcode_task_set: transcode
            .into_iter()
            .map(|definition| TranscodeTaskInput {
                definition,
                watermark_set: watermark_set.clone(),
            })
            .collect(),
        cover_by_snapshot_task_set: template(2)?.map(cover_at_start).into_iter().collect(),
        sample_snapshot_task_set: template(3)?
            .map(|definition| SampleSnapshotTaskInput { definition })
            .into_iter()
            .collect(),
        ..MediaProcessTaskInput::default()
    })
}

/// Splits `a, {b, c}, d` into arguments; `None` when something is not a non-negative integer.
fn split_args(inner: &str) -> Option<Vec<Arg>> {
    let mut args = Vec::new();
    let mut rest = inner.trim();
    if rest.is_empty() {
        return Some(args);
    }
    loop {
        let (arg, tail) = if let Some(list) = rest.strip_prefix('{') {
            let (body, tail) = list.split_once('}')?;
            let items = if body.trim().is_empty() {
                Vec::new()
            } else {
                body.split(',')
                    .map(|n| n.trim().parse::<i64>().ok().filter(|n| *n > 0))
                    .collect::<Option<Vec<_>>>()?
            };
            (Arg::List(items), tail.trim_start())
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let n = rest[..end].trim().parse::<i64>().ok().filter(|n| *n >= 0)?;
            (Arg::Int(n), &rest[end..])
        };
        args.push(arg);
        match tail.strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None if tail.trim().is_empty() => return Some(args),
            None => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn definitions(t: &MediaProcessTaskInput) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
        (
            t.transcode_task_set.iter().map(|s| s.definition).collect(),
            t.cover_by_snapshot_task_set
                .iter()
                .map(|s| s.definition)
                .collect(),
            t.sample_snapshot_task_set
                .iter()
                .map(|s| s.definition)
                .collect(),
        )
    }

    #[test]
    fn documented_forms_parse() {
        let t = form("QCVB_SimpleProcessFile(1,1)").unwrap().unwrap();
        assert_eq!(definitions(&t), (GLOBAL_TRANSCODE.to_vec(), vec![], vec![]));
        assert_eq!(
            t.transcode_task_set[0].watermark_set,
            vec![WatermarkInput { definition: 1 }]
        );
        let t = form("QCVB_SimpleProcessFile({10,20},150,10,10)")
            .unwrap()
            .unwrap();
        assert_eq!(definitions(&t), (vec![10, 20], vec![10], vec![10]));
        let t = form(" QCVB_ProcessUGCFile( { 30 } , 0 ) ")
            .unwrap()
            .unwrap();
        assert_eq!(definitions(&t), (vec![30], vec![], vec![]));
        assert!(t.transcode_task_set[0].watermark_set.is_empty());
    }

    #[test]
    fn other_names_are_not_forms_and_bad_arguments_are_refused() {
        assert!(form("MyFlow").is_none());
        assert!(form("MyFlow(1)").is_none());
        assert!(form("LongVideoPreset").is_none());
        for bad in [
            "QCVB_SimpleProcessFile()",
            "QCVB_SimpleProcessFile(1,1",
            "QCVB_SimpleProcessFile(a)",
            "QCVB_SimpleProcessFile(2)",
            "QCVB_SimpleProcessFile({})",
            "QCVB_SimpleProcessFile({10,x})",
            "QCVB_SimpleProcessFile(1,{2})",
            "QCVB_SimpleProcessFile(1,1,1,1,1)",
            "QCVB_SimpleProcessFile(1,-1)",
            "QCVB_SimpleProcessFile(1,,1)",
        ] {
            assert!(
                matches!(form(bad), Some(Err(ProcedureError::BadArguments(..)))),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn presets_have_their_documented_steps() {
        for name in PRESETS {
            let t = preset(name).unwrap();
            assert_eq!(t.image_sprite_task_set[0].definition, 10, "{name}");
            assert_eq!(t.cover_by_snapshot_task_set[0].definition, 10, "{name}");
            assert!(t.transcode_task_set.is_empty() && t.sample_snapshot_task_set.is_empty());
        }
        let adaptive = |name| -> Vec<i64> {
            preset(name)
                .unwrap()
                .adaptive_dynamic_streaming_task_set
                .iter()
                .map(|a| a.definition)
                .collect()
        };
        assert_eq!(adaptive("LongVideoPreset"), [10]);
        assert_eq!(adaptive("SDMC-WidevineFairPlayPreset"), [31, 41]);
        assert_eq!(adaptive("MultiDRMPreset"), [14, 13, 11]);
        assert!(preset("longvideopreset").is_none());
    }
}
