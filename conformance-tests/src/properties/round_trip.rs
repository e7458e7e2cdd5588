//! Round trip: what goes up comes back, byte for byte, under its FileId.

use crate::model::crc64;
use crate::runner::{check, expect_eq, outcome_code, Ctx, Failure};
use crate::MIB;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use vod_client::retry::RetryPolicy;
use vod_client::wire::vod::ApplyUploadRequest;
use vod_client::{Error, UploadOptions};

/// One generated upload.
#[derive(Debug, Clone)]
pub struct Case {
    size: u64,
    concurrency: usize,
    cover_size: Option<u64>,
    source_context: Option<String>,
    session_context: Option<String>,
    seed: u64,
}

/// Sizes that matter: empty, one byte, around the 1 MiB part size, exact multiples of it,
/// several parts with a short last one, and small ones.
pub fn sizes() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(MIB - 1),
        Just(MIB),
        Just(MIB + 1),
        (2u64..=3).prop_map(|k| k * MIB),
        (2u64..=3, 1u64..MIB).prop_map(|(k, r)| k * MIB + r),
        2u64..65_536,
    ]
}

/// Unicode text of at most `max` characters.
fn context(max: usize) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        "\\PC{0,80}".prop_filter("character limit", move |s| s.chars().count() <= max),
    )
}

fn cases() -> impl Strategy<Value = Case> {
    (
        sizes(),
        1usize..=4,
        proptest::option::of(1u64..20_000),
        context(250),
        context(1000),
        any::<u64>(),
    )
        .prop_map(
            |(size, concurrency, cover_size, source_context, session_context, seed)| Case {
                size,
                concurrency,
                cover_size,
                source_context,
                session_context,
                seed,
            },
        )
}

pub use vod_testkit::bytes;

/// The `round_trip` property.
pub fn round_trip(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    check(runner, cases(), |case| {
        ctx.block_on(round_trip_case(ctx, &case))
    })
}

async fn round_trip_case(ctx: &Ctx<'_>, case: &Case) -> Result<(), String> {
    let work = work_dir()?;
    let dir = work.path();
    let data = bytes(case.size, case.seed);
    let media = dir.join("media.mp4");
    std::fs::write(&media, &data).map_err(|e| e.to_string())?;
    let cover = match case.cover_size {
        Some(n) => {
            let path = dir.join("cover.jpg");
            std::fs::write(&path, bytes(n, case.seed ^ 0xC0FE)).map_err(|e| e.to_string())?;
            Some(path)
        }
        None => None,
    };
    let options = UploadOptions {
        part_size: MIB,
        multipart_threshold: MIB,
        concurrency: case.concurrency,
        cover: cover.clone(),
        source_context: case.source_context.clone(),
        session_context: case.session_context.clone(),
        resume: false,
        ..UploadOptions::default()
    };
    let uploader = ctx.target.uploader(options).map_err(|e| e.to_string())?;
    let done = uploader
        .upload(&media)
        .await
        .map_err(|e| format!("upload failed: {e}"))?;
    ctx.target.created(&done.file_id);
    let result = check_served(ctx, &done.media_url, &data).await;
    let cover_result = match (&cover, &done.cover_url) {
        (Some(path), Some(url)) => {
            let expected = std::fs::read(path).map_err(|e| e.to_string())?;
            check_served(ctx, url, &expected).await
        }
        (Some(_), None) => Err("a cover was uploaded but CommitUpload returned no CoverUrl".into()),
        (None, _) => Ok(()),
    };
    if done.file_id.is_empty() {
        return Err("CommitUpload returned an empty FileId".into());
    }
    result.and(cover_result)
}

/// GETs `url`, retrying 5xx answers and failed connections with the reference client's policy
/// (as a player does) but not a body cut short, and checks the bytes, and the CRC-64 header
/// when the server sends one.
async fn check_served(ctx: &Ctx<'_>, url: &str, expected: &[u8]) -> Result<(), String> {
    let fetch = || async {
        let what = || format!("GET {url}");
        let resp = ctx
            .target
            .http()
            .get(url)
            .send()
            .await
            .map_err(|source| Error::Transport {
                what: what(),
                source,
            })?;
        let status = resp.status().as_u16();
        if status >= 500 {
            return Err(Error::Status {
                what: what(),
                status,
            });
        }
        let crc = resp
            .headers()
            .get("x-cos-hash-crc64ecma")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // A body cut short breaks the protocol (the server announced its length): no retry.
        let body = resp.bytes().await.map_err(|e| Error::Protocol {
            what: what(),
            detail: format!("the body was cut short: {e}"),
        })?;
        Ok((status, crc, body))
    };
    let (status, crc, body) = RetryPolicy::default()
        .run(fetch, |_, _| {})
        .await
        .map_err(|e| e.to_string())?;
    expect_eq("status of GET MediaUrl", 200, status)?;
    if body.as_ref() != expected {
        return Err(format!(
            "{url} served {} bytes that differ from the {} uploaded",
            body.len(),
            expected.len()
        ));
    }
    if let Some(crc) = crc {
        expect_eq(
            "x-cos-hash-crc64ecma of the served object",
            crc64(expected),
            crc,
        )?;
    }
    Ok(())
}

/// Uploads `size` generated bytes (from `seed`) as an mp4 with the reference client and these
/// options, and remembers the media (and its application) for deletion after the run.
///
/// # Errors
/// The upload failed.
pub async fn upload_generated(
    ctx: &Ctx<'_>,
    size: u64,
    seed: u64,
    options: UploadOptions,
) -> Result<vod_client::UploadOutcome, String> {
    let dir = work_dir()?;
    let file = dir.path().join("generated.mp4");
    std::fs::write(&file, bytes(size, seed)).map_err(|e| e.to_string())?;
    let sub_app_id = options.sub_app_id;
    let done = ctx
        .target
        .uploader(UploadOptions {
            resume: false,
            ..options
        })
        .map_err(|e| e.to_string())?
        .upload(&file)
        .await
        .map_err(|e| format!("upload: {e}"))?;
    ctx.target.created_in(&done.file_id, sub_app_id);
    Ok(done)
}

/// A directory for a case's files, removed when dropped: on every way out of the case,
/// failures included.
pub fn work_dir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("vod-conformance-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))
}

/// The `context_limits` property.
pub fn context_limits(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    // Lengths around each limit, in characters that take one to four bytes in UTF-8: the
    // limits count characters, so '腾' × 250 (750 bytes) is accepted.
    let strategy = (240usize..=260, 990usize..=1010, any::<bool>(), "[a-zé腾😀]");
    check(runner, strategy, |(source_len, session_len, which, ch)| {
        ctx.block_on(async {
            let vod = ctx.target.vod().map_err(|e| e.to_string())?;
            let fill = |n: usize| ch.repeat(n);
            let (source, session) = if which {
                (Some(fill(source_len)), None)
            } else {
                (None, Some(fill(session_len)))
            };
            let expected = match (&source, &session) {
                (Some(s), _) if s.chars().count() > 250 => "InvalidParameterValue",
                (_, Some(s)) if s.chars().count() > 1000 => {
                    "InvalidParameterValue.SessionContextTooLong"
                }
                _ => "ok",
            };
            let req = ApplyUploadRequest {
                media_type: Some("mp4".into()),
                source_context: source,
                session_context: session,
                ..Default::default()
            };
            let got = vod.apply_upload(&req).await;
            expect_eq(
                "ApplyUpload outcome",
                expected.to_owned(),
                outcome_code(&got),
            )
        })
    })
}
