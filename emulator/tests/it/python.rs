//! The official Python SDKs (vod-python-sdk 1.4.4, tencentcloud-sdk-python-vod 3.1.194,
//! cos-python-sdk-v5 1.9.44) work unmodified against the emulator.
//!
//! Each test starts its own emulator on port 0, runs `tests/sdk/python/sdk_flow.py` with the
//! emulator's `exec` environment and checks what the SDK reported and what the emulator serves.
//! The SDKs are installed once per run by [`crate::common::python`]; a failed install fails the
//! tests (never skips them).

use std::path::Path;

use serde_json::Value;
use vod_emulator::faults::{Effect, Rule, Service};
use vod_emulator::journal::Filter;
use vod_emulator::Emulator;

use crate::common::python::{run_sdk_flow, write_test_media};

/// cos-python-sdk-v5 switches from PutObject to multipart above this size (`PartSize=1` MiB).
const COS_PART_SIZE: usize = 1024 * 1024;

async fn start_emulator() -> Emulator {
    Emulator::builder().start().await.expect("start emulator")
}

/// A string field of the script's JSON output; panics naming the field and the whole output.
fn str_field<'a>(out: &'a Value, field: &str) -> &'a str {
    out[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {out:#}"))
}

/// GET `url` from Rust (ignoring proxy settings); returns the status, ETag and body.
async fn get(url: &str) -> (reqwest::StatusCode, Option<String>, Vec<u8>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build reqwest client");
    let response = client.get(url).send().await.expect("GET media url");
    let status = response.status();
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.expect("read media body").to_vec();
    (status, etag, body)
}

/// Assert that `url` is served by the emulator and returns exactly `expected`; returns its ETag.
async fn assert_serves(emu: &Emulator, url: &str, expected: &[u8]) -> Option<String> {
    assert!(
        url.starts_with(&emu.endpoint()),
        "{url} does not start with the emulator endpoint {}",
        emu.endpoint()
    );
    let (status, etag, body) = get(url).await;
    assert_eq!(status, reqwest::StatusCode::OK, "GET {url}");
    assert_eq!(body.len(), expected.len(), "length of GET {url}");
    assert!(body == expected, "GET {url} returned different bytes");
    etag
}

fn assert_decimal_file_id(out: &Value) {
    let file_id = str_field(out, "FileId");
    assert!(
        !file_id.is_empty() && file_id.bytes().all(|b| b.is_ascii_digit()),
        "FileId {file_id:?} is not a decimal string"
    );
    assert!(
        !str_field(out, "RequestId").is_empty(),
        "no RequestId in {out:#}"
    );
}

fn arg(path: &Path) -> String {
    path.to_str().expect("utf-8 temp path").to_owned()
}

/// A 100 KiB mp4 goes through ApplyUpload, one COS PutObject and CommitUpload; MediaUrl serves it.
#[tokio::test]
async fn uploads_small_video_with_one_put() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, bytes) = write_test_media(dir.path(), "clip.mp4", 100 * 1024, 1);

    let out = run_sdk_flow(&emu, ["upload".to_owned(), "--media".into(), arg(&media)]).await;

    assert_decimal_file_id(&out);
    assert_eq!(
        out["ApiCalls"],
        serde_json::json!(["ApplyUpload", "CommitUpload"])
    );
    assert_eq!(out["CosCalls"], serde_json::json!({"put_object": 1}));
    assert_serves(&emu, str_field(&out, "MediaUrl"), &bytes).await;
    emu.shutdown().await;
}

/// A video with a jpg cover: both are PUT to COS, and MediaUrl and CoverUrl serve their bytes.
#[tokio::test]
async fn uploads_video_with_cover() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, media_bytes) = write_test_media(dir.path(), "clip.mp4", 100 * 1024, 2);
    let (cover, cover_bytes) = write_test_media(dir.path(), "poster.jpg", 20 * 1024 + 7, 3);

    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".into(),
            arg(&media),
            "--cover".into(),
            arg(&cover),
        ],
    )
    .await;

    assert_decimal_file_id(&out);
    assert_eq!(out["CosCalls"], serde_json::json!({"put_object": 2}));
    assert_serves(&emu, str_field(&out, "MediaUrl"), &media_bytes).await;
    let cover_url = str_field(&out, "CoverUrl");
    assert!(!cover_url.is_empty(), "empty CoverUrl in {out:#}");
    assert_serves(&emu, cover_url, &cover_bytes).await;
    emu.shutdown().await;
}

/// A 5 MiB + 123 B file goes up as 6 COS parts, 4 at a time, and is served with a multipart ETag.
#[tokio::test]
async fn uploads_large_video_as_parallel_multipart() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, bytes) = write_test_media(dir.path(), "long.mp4", 5 * COS_PART_SIZE + 123, 4);

    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".into(),
            arg(&media),
            "--threads".into(),
            "4".into(),
        ],
    )
    .await;

    assert_decimal_file_id(&out);
    assert_eq!(
        out["CosCalls"],
        serde_json::json!({
            "create_multipart_upload": 1,
            "upload_part": 6,
            "complete_multipart_upload": 1,
        })
    );
    let max_parallel = out["MaxConcurrentUploadParts"].as_u64().unwrap_or(0);
    assert!(
        (2..=4).contains(&max_parallel),
        "parts were not uploaded in parallel (at most 4 at a time): {out:#}"
    );
    let etag = assert_serves(&emu, str_field(&out, "MediaUrl"), &bytes).await;
    let etag = etag.expect("MediaUrl response has no ETag");
    assert!(
        etag.starts_with('"') && etag.ends_with("-6\""),
        "ETag {etag} is not a 6-part multipart ETag"
    );
    emu.shutdown().await;
}

/// Python's own `requests.get` of MediaUrl and CoverUrl returns the uploaded bytes.
#[tokio::test]
async fn media_urls_download_in_python_match_the_upload() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, _) = write_test_media(dir.path(), "clip.mp4", 3 * COS_PART_SIZE / 2, 5);
    let (cover, _) = write_test_media(dir.path(), "poster.jpg", 4096, 6);

    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".into(),
            arg(&media),
            "--cover".into(),
            arg(&cover),
            "--fetch".into(),
        ],
    )
    .await;

    for fetch in ["MediaFetch", "CoverFetch"] {
        assert_eq!(out[fetch]["Status"], 200, "{fetch} in {out:#}");
        assert_eq!(out[fetch]["BytesMatch"], true, "{fetch} in {out:#}");
    }
    emu.shutdown().await;
}

/// CommitUpload of an unknown VodSessionKey raises TencentCloudSDKException with a RequestId.
#[tokio::test]
async fn commit_with_unknown_session_key_raises_sdk_error() {
    let emu = start_emulator().await;

    let out = run_sdk_flow(&emu, ["commit-unknown-session"]).await;

    assert_eq!(
        out["Error"]["Code"], "InvalidParameterValue.VodSessionKey",
        "{out:#}"
    );
    assert!(
        out["Error"]["RequestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "no RequestId in the SDK exception: {out:#}"
    );
    emu.shutdown().await;
}

/// ApplyUpload of an `exe` is refused with InvalidParameterValue.MediaType, raised once (no retry).
#[tokio::test]
async fn apply_with_exe_media_type_raises_sdk_error() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, _) = write_test_media(dir.path(), "setup.exe", 1024, 7);

    let out = run_sdk_flow(
        &emu,
        [
            "apply-media-type".to_owned(),
            "--media".into(),
            arg(&media),
            "--media-type".into(),
            "exe".into(),
        ],
    )
    .await;

    assert_eq!(
        out["Error"]["Code"], "InvalidParameterValue.MediaType",
        "{out:#}"
    );
    assert!(
        out["Error"]["RequestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "no RequestId in the SDK exception: {out:#}"
    );
    assert_eq!(
        out["ApiCalls"],
        serde_json::json!(["ApplyUpload"]),
        "{out:#}"
    );
    emu.shutdown().await;
}

/// tencentcloud-sdk-python-vod: an upload with SourceContext, SessionContext and the preset
/// task flow LongVideoPreset yields exactly one NewFileUpload (same FileId and SourceContext)
/// and one ProcedureStateChanged (same SessionContext, the preset's three steps `SUCCESS`, read
/// through the SDK's own models); ConfirmEvents empties the queue; DescribeMediaInfos and
/// DeleteMedia behave; no field of the SDK's models is missing.
#[tokio::test]
async fn python_sdk_pulls_confirms_describes_and_deletes() {
    let emu = Emulator::builder()
        .procedure_progress(vod_emulator::ProcedureProgress::Immediate)
        .pull_wait(std::time::Duration::from_millis(300))
        .start()
        .await
        .expect("start emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, _) = write_test_media(dir.path(), "clip.mp4", 4_000, 21);
    let out = run_sdk_flow(
        &emu,
        [
            "events".to_owned(),
            "--media".into(),
            arg(&media),
            "--source-context".into(),
            "order-17".into(),
            "--session-context".into(),
            "session-ctx".into(),
            "--procedure".into(),
            "LongVideoPreset".into(),
        ],
    )
    .await;
    let file_id = str_field(&out, "FileId");
    let events = out["Events"].as_array().expect("Events");
    let uploads: Vec<&Value> = events
        .iter()
        .filter(|e| e["EventType"] == "NewFileUpload")
        .collect();
    assert_eq!(uploads.len(), 1, "{out:#}");
    let up = &uploads[0]["FileUploadEvent"];
    assert_eq!(up["FileId"], file_id);
    assert_eq!(
        up["MediaBasicInfo"]["SourceInfo"]["SourceContext"],
        "order-17"
    );
    let task_id = up["ProcedureTaskId"].as_str().expect("ProcedureTaskId");
    assert!(!task_id.is_empty());
    let changed: Vec<&Value> = events
        .iter()
        .filter(|e| e["EventType"] == "ProcedureStateChanged")
        .collect();
    assert_eq!(changed.len(), 1, "{out:#}");
    let task = &changed[0]["ProcedureStateChangeEvent"];
    assert_eq!(task["TaskId"], task_id);
    assert_eq!(task["Status"], "FINISH");
    assert_eq!(task["SessionContext"], "session-ctx");
    let steps: Vec<&Value> = task["MediaProcessResultSet"]
        .as_array()
        .expect("MediaProcessResultSet")
        .iter()
        .map(|r| &r["Type"])
        .collect();
    assert_eq!(
        steps,
        [
            "ImageSprites",
            "CoverBySnapshot",
            "AdaptiveDynamicStreaming"
        ],
        "{out:#}"
    );
    let adaptive = &task["MediaProcessResultSet"][2]["AdaptiveDynamicStreamingTask"];
    assert_eq!(adaptive["Output"]["Package"], "HLS", "{out:#}");
    assert_eq!(adaptive["Status"], "SUCCESS", "{out:#}");
    assert_eq!(out["EmptyPullCode"], "ResourceNotFound");
    let described = &out["Described"];
    assert_eq!(described["MediaInfoSet"][0]["FileId"], file_id);
    assert_eq!(described["MediaInfoSet"][0]["MetaData"]["Size"], 4_000);
    assert_eq!(described["NotExistFileIdSet"], serde_json::json!(["1"]));
    let after = &out["DescribedAfterDelete"];
    assert_eq!(after["MediaInfoSet"], serde_json::json!([]));
    assert_eq!(
        after["NotExistFileIdSet"],
        serde_json::json!([file_id, "1"])
    );
    assert_eq!(out["DeleteAgainCode"], "ResourceNotFound");
    assert_eq!(out["MediaStatusAfterDelete"], 404);
    // Every field of the SDK's models is on the wire (unused ones as null, [], 0 or ""), and
    // the Ai*ResultSet lists iterate.
    assert_eq!(out["MissingKeys"], serde_json::json!({}), "{out:#}");
}

/// vod-python-sdk uploads an HLS playlist: it calls ParseStreamingManifest, uploads the
/// m3u8 and every .ts segment beside it, and the emulator serves them all.
#[tokio::test]
async fn python_sdk_uploads_an_m3u8_with_its_segments() {
    let emu = start_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("seg")).expect("mkdir");
    let (_, first) = write_test_media(dir.path(), "seg/a.ts", 3_000, 31);
    let (_, second) = write_test_media(dir.path(), "b.ts", 2_000, 32);
    let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:9.0,\nseg/a.ts\n#EXTINF:9.0,\nb.ts\n#EXT-X-ENDLIST\n";
    let m3u8 = dir.path().join("play.m3u8");
    std::fs::write(&m3u8, playlist).expect("write m3u8");
    let out = run_sdk_flow(&emu, ["upload".to_owned(), "--media".into(), arg(&m3u8)]).await;
    assert_decimal_file_id(&out);
    let calls: Vec<&str> = out["ApiCalls"]
        .as_array()
        .expect("ApiCalls")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        calls,
        ["ParseStreamingManifest", "ApplyUpload", "CommitUpload"]
    );
    assert_eq!(out["CosCalls"]["put_object"], 3, "{out:#}");
    let media_url = str_field(&out, "MediaUrl");
    assert_serves(&emu, media_url, playlist.as_bytes()).await;
    let base = media_url.rsplit_once('/').expect("dir").0;
    assert_serves(&emu, &format!("{base}/seg/a.ts"), &first).await;
    assert_serves(&emu, &format!("{base}/b.ts"), &second).await;
}

/// Transient COS 5xx on UploadPart: the official SDK retries, the upload succeeds with the
/// right bytes, and the journal shows the failed attempts and their retries.
#[tokio::test]
async fn sdk_survives_transient_cos_5xx_on_upload_part() {
    let emu = Emulator::builder().seed(11).start().await.expect("start");
    emu.faults()
        .add(
            Rule::new(Service::Cos, "UploadPart", Effect::error("InternalError"))
                .id("flaky-parts")
                .first(2),
        )
        .expect("valid rule");
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, bytes) = write_test_media(dir.path(), "flaky.mp4", 3 * COS_PART_SIZE + 5, 8);

    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".into(),
            arg(&media),
            "--threads".into(),
            "2".into(),
        ],
    )
    .await;

    assert_decimal_file_id(&out);
    assert_serves(&emu, str_field(&out, "MediaUrl"), &bytes).await;
    let parts = emu
        .journal()
        .requests(&Filter::default().action("UploadPart"));
    let failed: Vec<_> = parts.iter().filter(|e| e.status == Some(500)).collect();
    assert_eq!(failed.len(), 2, "{parts:#?}");
    assert!(failed
        .iter()
        .all(|e| e.faults == ["flaky-parts:error"]
            && e.error_code.as_deref() == Some("InternalError")));
    let ok: Vec<_> = parts.iter().filter(|e| e.status == Some(200)).collect();
    assert_eq!(ok.len(), 4, "4 parts stored: {parts:#?}");
    for e in &failed {
        assert!(
            ok.iter()
                .any(|o| o.part_number == e.part_number && o.seq > e.seq),
            "part {:?} was not retried after its failure",
            e.part_number
        );
    }
    let rule = emu.faults().get("flaky-parts").expect("rule listed");
    assert_eq!((rule.matched, rule.hits), (6, 2));
    emu.shutdown().await;
}

/// A non-retryable COS error (403 AccessDenied on PutObject) reaches the caller with its code,
/// status and request id, after exactly one attempt, and nothing is committed.
#[tokio::test]
async fn sdk_surfaces_a_non_retryable_cos_error_with_its_code() {
    let emu = start_emulator().await;
    emu.faults()
        .add(Rule::new(
            Service::Cos,
            "PutObject",
            Effect::error("AccessDenied"),
        ))
        .expect("valid rule");
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, _) = write_test_media(dir.path(), "denied.mp4", 64 * 1024, 9);

    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".into(),
            arg(&media),
            "--expect-failure".into(),
        ],
    )
    .await;

    assert_eq!(out["Error"]["Class"], "CosServiceError", "{out:#}");
    assert_eq!(out["Error"]["Code"], "AccessDenied", "{out:#}");
    assert_eq!(out["Error"]["Status"], 403, "{out:#}");
    assert_eq!(
        out["ApiCalls"],
        serde_json::json!(["ApplyUpload"]),
        "{out:#}"
    );
    let puts = emu
        .journal()
        .requests(&Filter::default().action("PutObject"));
    assert_eq!(puts.len(), 1, "a 4xx is not retried: {puts:#?}");
    assert_eq!(
        out["Error"]["RequestId"].as_str(),
        puts[0].request_id.as_deref(),
        "the SDK reports the emulator's x-cos-request-id"
    );
    emu.shutdown().await;
}

/// Temporary credentials expiring mid-upload: the next part is refused with 400 ExpiredToken,
/// as COS does, the SDK gives up, and CommitUpload is never called.
#[tokio::test]
async fn sdk_upload_fails_when_credentials_expire_mid_upload() {
    let emu = start_emulator().await;
    emu.faults()
        .add(Rule::new(Service::Cos, "UploadPart", Effect::ExpireSession).nth(2))
        .expect("valid rule");
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, _) = write_test_media(dir.path(), "expiring.mp4", 3 * COS_PART_SIZE, 10);

    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".into(),
            arg(&media),
            "--threads".into(),
            "1".into(),
            "--expect-failure".into(),
        ],
    )
    .await;

    assert!(
        matches!(
            out["Error"]["Class"].as_str(),
            Some("CosClientError" | "CosServiceError")
        ),
        "{out:#}"
    );
    assert_eq!(
        out["ApiCalls"],
        serde_json::json!(["ApplyUpload"]),
        "{out:#}"
    );
    let parts = emu
        .journal()
        .requests(&Filter::default().action("UploadPart"));
    assert_eq!(parts[0].status, Some(200), "{parts:#?}");
    assert!(parts.len() >= 2, "{parts:#?}");
    assert!(
        parts[1..]
            .iter()
            .all(|e| e.status == Some(400) && e.error_code.as_deref() == Some("ExpiredToken")),
        "every part after the expiry is refused: {parts:#?}"
    );
    emu.shutdown().await;
}

/// cos-python-sdk-v5 used as its documentation shows (`put_object(...)['ETag']`, multipart from
/// a buffer, the trace id of a HEAD 404), and tencentcloud-sdk-python calling the VOD API by GET and in the legacy
/// HmacSHA1/HmacSHA256 form on `127.0.0.1:PORT`; all under `--strict`.
#[tokio::test]
async fn documented_cos_calls_and_every_api_request_form_work() {
    let emu = Emulator::builder()
        .strict(true)
        .start()
        .await
        .expect("start emulator");
    let bucket = format!("vod-{}-{}", emu.config().region, emu.config().app_id);
    let out = run_sdk_flow(&emu, ["wire", "--bucket", bucket.as_str()]).await;
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(b"hello, cos"));
    assert_eq!(str_field(&out, "PutETag"), format!("\"{md5}\""));
    assert!(
        str_field(&out, "BufferETag").ends_with("-4\""),
        "a 3 MiB buffer in 1 MiB parts is a 4-part object: {out:#}"
    );
    let head = &out["HeadMissing"];
    assert_eq!(head["Status"], 404, "{out:#}");
    assert!(
        head["TraceId"]
            .as_str()
            .is_some_and(|t| !t.is_empty() && t != "Unknown"),
        "{out:#}"
    );
    for form in ["Tc3Get", "HmacSHA256Post", "HmacSHA1Get"] {
        let answer = &out[form];
        assert_eq!(
            answer["NotExistFileIdSet"],
            serde_json::json!(["1", "2"]),
            "{form}: {out:#}"
        );
        assert!(str_field(answer, "RequestId").len() > 8, "{form}: {out:#}");
    }
}
