//! Task flows named by ApplyUpload's `Procedure`: parsing the built-in
//! `QCVB_SimpleProcessFile(…)` / `QCVB_ProcessUGCFile(…)` forms and simulating what they
//! produce (transcode outputs, cover and sample snapshots) for ProcedureStateChanged.
//!
//! Argument grammar (VOD docs, "Specifying the task flow when uploading"):
//! `QCVB_SimpleProcessFile(Transcode[, Watermark[, CoverBySnapshot[, SampleSnapshot]]])` where
//! `Transcode` is `0` (none), `1` (the global transcode settings) or `{d1,d2,…}` (transcode
//! templates), `Watermark` is `0` (none), `1` (the default watermark) or a watermark template,
//! and the snapshot arguments are template ids (`0` = none). Example:
//! `QCVB_SimpleProcessFile({10,20},150,10,10)`. Pure: no I/O, unit-tested below.

use vod_client::wire::events::{
    MediaProcessTaskResult, MediaTranscodeItem, SnapshotOutput, TaskResult, TemplateInput,
};
use vod_client::wire::media::MediaMetaData;

/// The built-in task flows the emulator knows.
const BUILTINS: &[&str] = &["QCVB_SimpleProcessFile", "QCVB_ProcessUGCFile"];

/// The templates "the global transcode settings" stand for: VOD's preset MP4 360p/540p/720p.
const GLOBAL_TRANSCODE: &[i64] = &[100010, 100020, 100030];

/// A parsed Procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    /// Transcode templates to run (empty = no transcode).
    pub transcode: Vec<i64>,
    /// Watermark template applied while transcoding; `None` = no watermark.
    pub watermark: Option<i64>,
    /// Time-offset snapshot template whose first picture becomes the cover.
    pub cover_snapshot: Option<i64>,
    /// Sample snapshot template.
    pub sample_snapshot: Option<i64>,
}

/// Why a Procedure was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcedureError {
    /// Not one of the built-in task flows.
    #[error("the task flow `{0}` does not exist")]
    UnknownName(String),
    /// The argument list does not follow the grammar.
    #[error("the arguments of `{0}` are invalid: {1}")]
    BadArguments(String, &'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Int(i64),
    List(Vec<i64>),
}

/// Parses a Procedure value.
///
/// # Errors
/// An unknown name or arguments outside the grammar.
pub fn parse(text: &str) -> Result<Procedure, ProcedureError> {
    let text = text.trim();
    let (name, rest) = text
        .split_once('(')
        .ok_or_else(|| ProcedureError::UnknownName(text.to_owned()))?;
    let name = name.trim();
    if !BUILTINS.contains(&name) {
        return Err(ProcedureError::UnknownName(name.to_owned()));
    }
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
    Ok(Procedure {
        transcode,
        watermark: template(1)?,
        cover_snapshot: template(2)?,
        sample_snapshot: template(3)?,
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

/// The per-step results of a finished task flow, derived from the procedure and the source.
/// Output URLs sit beside the media (`<dir>/v.f<definition>.mp4`, `<dir>/coverBySnapshot/…`).
pub fn results(
    procedure: &Procedure,
    media_url: &str,
    meta: &MediaMetaData,
    begin: &str,
    finish: &str,
) -> Vec<MediaProcessTaskResult> {
    let dir = media_url.rsplit_once('/').map_or(media_url, |(d, _)| d);
    let done = |input: TemplateInput| (input, begin.to_owned(), finish.to_owned());
    let mut out = Vec::new();
    for &definition in &procedure.transcode {
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
        let input = TemplateInput {
            definition,
            watermark_definition: procedure.watermark,
        };
        out.push(MediaProcessTaskResult {
            task_type: "Transcode".into(),
            transcode_task: Some(finished(done(input), output)),
            cover_by_snapshot_task: None,
            sample_snapshot_task: None,
            other_tasks: Default::default(),
        });
    }
    if let Some(definition) = procedure.cover_snapshot {
        let output = SnapshotOutput {
            definition,
            cover_url: Some(format!(
                "{dir}/coverBySnapshot/coverBySnapshot_{definition}_0.jpg"
            )),
            image_url_set: None,
        };
        let input = TemplateInput {
            definition,
            watermark_definition: None,
        };
        out.push(MediaProcessTaskResult {
            task_type: "CoverBySnapshot".into(),
            transcode_task: None,
            cover_by_snapshot_task: Some(finished(done(input), output)),
            sample_snapshot_task: None,
            other_tasks: Default::default(),
        });
    }
    if let Some(definition) = procedure.sample_snapshot {
        // One picture per started 10 s of video, at least one, at most ten.
        let count = ((meta.duration / 10.0).ceil() as usize).clamp(1, 10);
        let output = SnapshotOutput {
            definition,
            cover_url: None,
            image_url_set: Some(
                (0..count)
                    .map(|i| format!("{dir}/sampleSnapshot/sampleSnapshot_{definition}_{i}.jpg"))
                    .collect(),
            ),
        };
        let input = TemplateInput {
            definition,
            watermark_definition: None,
        };
        out.push(MediaProcessTaskResult {
            task_type: "SampleSnapshot".into(),
            transcode_task: None,
            cover_by_snapshot_task: None,
            sample_snapshot_task: Some(finished(done(input), output)),
            other_tasks: Default::default(),
        });
    }
    out
}

fn finished<O>(
    (input, begin, finish): (TemplateInput, String, String),
    output: O,
) -> TaskResult<TemplateInput, O> {
    TaskResult {
        status: "FINISH".into(),
        err_code_ext: String::new(),
        err_code: 0,
        message: "SUCCESS".into(),
        input,
        output,
        progress: 100,
        begin_process_time: begin,
        finish_time: finish,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn documented_examples_parse() {
        assert_eq!(
            parse("QCVB_SimpleProcessFile(1,1)").unwrap(),
            Procedure {
                transcode: GLOBAL_TRANSCODE.to_vec(),
                watermark: Some(1),
                cover_snapshot: None,
                sample_snapshot: None,
            }
        );
        assert_eq!(
            parse("QCVB_SimpleProcessFile({10,20},150,10,10)").unwrap(),
            Procedure {
                transcode: vec![10, 20],
                watermark: Some(150),
                cover_snapshot: Some(10),
                sample_snapshot: Some(10),
            }
        );
        assert_eq!(
            parse(" QCVB_ProcessUGCFile( { 30 } , 0 ) ")
                .unwrap()
                .transcode,
            vec![30]
        );
    }

    #[test]
    fn unknown_names_and_bad_arguments_are_refused() {
        assert!(matches!(
            parse("MyFlow"),
            Err(ProcedureError::UnknownName(_))
        ));
        assert!(matches!(
            parse("MyFlow(1)"),
            Err(ProcedureError::UnknownName(_))
        ));
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
                matches!(parse(bad), Err(ProcedureError::BadArguments(..))),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn results_follow_the_arguments() {
        let p = parse("QCVB_SimpleProcessFile({10,100020},150,10,20)").unwrap();
        let meta = MediaMetaData {
            duration: 25.0,
            width: 320,
            height: 240,
            ..Default::default()
        };
        let r = results(&p, "http://h/media/b/d/f0.mp4", &meta, "t0", "t1");
        let types: Vec<&str> = r.iter().map(|x| x.task_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "Transcode",
                "Transcode",
                "CoverBySnapshot",
                "SampleSnapshot"
            ]
        );
        let t = r[1].transcode_task.as_ref().unwrap();
        assert_eq!(t.output.url, "http://h/media/b/d/v.f100020.mp4");
        assert_eq!((t.output.width, t.output.height), (960, 540));
        assert_eq!(r[0].transcode_task.as_ref().unwrap().output.width, 320);
        let samples = r[3].sample_snapshot_task.as_ref().unwrap();
        assert_eq!(samples.output.image_url_set.as_ref().unwrap().len(), 3);
    }
}
