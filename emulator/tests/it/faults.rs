//! Fault injection end to end: each effect and each schedule against a real emulator over real
//! sockets, and the store staying consistent after every fault.

use crate::common::api::{bytes, key_of, Api, CosCreds, CosReply};
use md5::{Digest, Md5};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use vod_emulator::faults::{Checksum, Effect, ResetPoint, Rule, Scenario, Service};
use vod_emulator::journal::Filter;
use vod_emulator::Emulator;

async fn start() -> (Emulator, Api) {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    (emu, api)
}

/// ApplyUpload, returning the session's bucket, media key and credentials.
async fn session(api: &Api) -> (Value, String, String, CosCreds) {
    let apply = api.apply(false).await;
    let bucket = apply["StorageBucket"].as_str().expect("bucket").to_owned();
    let key = key_of(&apply["MediaStoragePath"]);
    let creds = CosCreds::from_apply(&apply);
    (apply, bucket, key, creds)
}

/// Starts a multipart upload as the owner; returns its id.
async fn initiate(api: &Api, key: &str) -> String {
    let init = api
        .cos(
            &api.owner(),
            Method::POST,
            &api.bucket(),
            key,
            &[("uploads", "")],
            &[],
            vec![],
        )
        .await;
    init.xml("UploadId").expect("upload id")
}

/// Asserts at least `ms` passed since `t`.
fn took_at_least(t: Instant, ms: u64) {
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(ms),
        "took {took:?}, expected {ms} ms or more"
    );
}

async fn put(api: &Api, key: &str, body: Vec<u8>) -> CosReply {
    api.cos(
        &api.owner(),
        Method::PUT,
        &api.bucket(),
        key,
        &[],
        &[],
        body,
    )
    .await
}

async fn get(api: &Api, key: &str) -> CosReply {
    api.cos(
        &api.owner(),
        Method::GET,
        &api.bucket(),
        key,
        &[],
        &[],
        vec![],
    )
    .await
}

/// A COS error rule answers with the code's status, an XML `<Error>` and a request id that
/// matches the header; once its schedule is spent the request succeeds.
#[tokio::test]
async fn cos_error_rules_answer_in_xml_with_status_and_request_id() {
    let (emu, api) = start().await;
    emu.faults()
        .add(Rule::new(Service::Cos, "PutObject", Effect::error("SlowDown")).first(1))
        .expect("rule");
    let refused = put(&api, "a.bin", b"hello".to_vec()).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.code(), "SlowDown");
    assert_eq!(
        refused.xml("RequestId"),
        refused.header("x-cos-request-id"),
        "body and header carry the same request id"
    );
    assert_eq!(get(&api, "a.bin").await.status, 404, "nothing was stored");
    assert_eq!(put(&api, "a.bin", b"hello".to_vec()).await.status, 200);
    let rule = &emu.faults().list()[0];
    assert_eq!((rule.matched, rule.hits), (2, 1));
}

/// A VOD error rule answers in the API 3.0 envelope (HTTP 200, RequestId) with any code.
#[tokio::test]
async fn vod_error_rules_answer_in_the_envelope() {
    let (emu, api) = start().await;
    emu.faults()
        .add(Rule::new(
            Service::Vod,
            "ApplyUpload",
            Effect::Error {
                code: "RequestLimitExceeded".into(),
                status: None,
                message: Some("slow down".into()),
            },
        ))
        .expect("rule");
    let resp = api.vod("ApplyUpload", json!({"MediaType": "mp4"})).await;
    assert_eq!(Api::error_code(&resp), "RequestLimitExceeded");
    assert_eq!(resp["Error"]["Message"], "slow down");
    let entry = &emu.journal().all()[0];
    assert_eq!(entry.error_code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(entry.request_id.as_deref(), resp["RequestId"].as_str());
}

/// Latency delays the answer by the configured amount; the journal includes it.
#[tokio::test]
async fn latency_delays_the_answer() {
    let (emu, api) = start().await;
    emu.faults()
        .add(Rule::new(
            Service::Vod,
            "ApplyUpload",
            Effect::latency_ms(250),
        ))
        .expect("rule");
    let t = Instant::now();
    api.apply(false).await;
    took_at_least(t, 250);
    assert!(emu.journal().all()[0].latency_ms >= 250);
}

/// A throttled download takes as long as its rate says.
#[tokio::test]
async fn throttled_downloads_take_as_long_as_the_rate_says() {
    let (emu, api) = start().await;
    let data = bytes(40 * 1024, 1);
    put(&api, "big.bin", data.clone()).await;
    emu.faults()
        .add(Rule::new(
            Service::Cos,
            "GetObject",
            Effect::Throttle {
                bytes_per_sec: 80 * 1024,
            },
        ))
        .expect("rule");
    let t = Instant::now();
    let got = get(&api, "big.bin").await;
    assert_eq!(got.body, data);
    took_at_least(t, 450);
}

/// A reset before the body: the client sees a broken connection, nothing is stored, and the
/// journal records the request without a status.
#[tokio::test]
async fn reset_before_the_body_stores_nothing() {
    let (emu, api) = start().await;
    emu.faults()
        .add(
            Rule::new(
                Service::Cos,
                "PutObject",
                Effect::Reset {
                    at: ResetPoint::BeforeBody,
                },
            )
            .id("rst"),
        )
        .expect("rule");
    let sent = api
        .cos_builder(
            &api.owner(),
            Method::PUT,
            &api.bucket(),
            "gone.bin",
            &[],
            bytes(256 * 1024, 2),
        )
        .send()
        .await;
    assert!(sent.is_err(), "the connection must fail: {sent:?}");
    emu.faults().clear();
    assert_eq!(get(&api, "gone.bin").await.status, 404);
    let entry = &emu.journal().requests(&Filter::default().rule("rst"))[0];
    assert_eq!(entry.status, None);
    assert_eq!(entry.faults, ["rst:reset"]);
}

/// "Commit timeout after success": the connection dies after CommitUpload did its work, so a
/// retry of the commit is refused as already committed, and the media is served.
#[tokio::test]
async fn reset_after_the_body_loses_the_answer_not_the_commit() {
    let (emu, api) = start().await;
    let (apply, bucket, key, creds) = session(&api).await;
    let media = bytes(1000, 3);
    let put = api
        .cos(&creds, Method::PUT, &bucket, &key, &[], &[], media.clone())
        .await;
    assert_eq!(put.status, 200);
    emu.faults()
        .add(Rule::new(
            Service::Vod,
            "CommitUpload",
            Effect::Reset {
                at: ResetPoint::AfterBody,
            },
        ))
        .expect("rule");
    let commit = json!({"VodSessionKey": apply["VodSessionKey"]});
    let lost = api.try_send(api.call("CommitUpload", &commit)).await;
    assert!(lost.is_err(), "the answer must be lost: {lost:?}");
    emu.faults().clear();
    let again = api.vod("CommitUpload", commit).await;
    assert_eq!(
        Api::error_code(&again),
        "InvalidParameterValue.VodSessionKey"
    );
    assert!(again["Error"]["Message"]
        .as_str()
        .is_some_and(|m| m.contains("already been committed")));
    let (status, served) = api
        .get(&format!("{}/media/{bucket}/{key}", api.endpoint))
        .await;
    assert_eq!((status.as_u16(), served), (200, media));
}

/// A truncated response announces the full length, sends part of it and closes.
#[tokio::test]
async fn truncated_responses_close_mid_body() {
    let (emu, api) = start().await;
    put(&api, "t.bin", bytes(10_000, 4)).await;
    emu.faults()
        .add(Rule::new(
            Service::Cos,
            "GetObject",
            Effect::Truncate { after_bytes: 100 },
        ))
        .expect("rule");
    let resp = api
        .cos_builder(
            &api.owner(),
            Method::GET,
            &api.bucket(),
            "t.bin",
            &[],
            vec![],
        )
        .send()
        .await
        .expect("head arrives");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "10000");
    assert!(resp.bytes().await.is_err(), "the body must be cut short");
    assert_eq!(emu.journal().all().last().map(|e| e.bytes_out), Some(100));
}

/// A stalled response sends nothing for the stall, then closes.
#[tokio::test]
async fn stalled_responses_stop_then_close() {
    let (emu, api) = start().await;
    put(&api, "s.bin", bytes(1000, 5)).await;
    emu.faults()
        .add(Rule::new(
            Service::Cos,
            "GetObject",
            Effect::Stall {
                after_bytes: 0,
                ms: 300,
            },
        ))
        .expect("rule");
    let t = Instant::now();
    let resp = api
        .cos_builder(
            &api.owner(),
            Method::GET,
            &api.bucket(),
            "s.bin",
            &[],
            vec![],
        )
        .send()
        .await
        .expect("head arrives");
    assert!(resp.bytes().await.is_err());
    took_at_least(t, 300);
}

/// Corrupted checksums differ from the stored object's, which HEAD still reports correctly.
#[tokio::test]
async fn corrupted_checksums_differ_from_the_stored_ones() {
    let (emu, api) = start().await;
    for field in [Checksum::Etag, Checksum::Crc64] {
        emu.faults()
            .add(Rule::new(
                Service::Cos,
                "PutObject",
                Effect::Corrupt { field },
            ))
            .expect("rule");
    }
    let sent = put(&api, "c.bin", b"checksummed".to_vec()).await;
    emu.faults().clear();
    let head = api
        .cos(
            &api.owner(),
            Method::HEAD,
            &api.bucket(),
            "c.bin",
            &[],
            &[],
            vec![],
        )
        .await;
    for name in ["etag", "x-cos-hash-crc64ecma"] {
        assert!(sent.header(name).is_some() && head.header(name).is_some());
        assert_ne!(sent.header(name), head.header(name), "{name}");
    }
    let md5: [u8; 16] = Md5::digest(b"checksummed").into();
    assert_eq!(
        head.header("etag"),
        Some(format!("\"{}\"", hex::encode(md5)))
    );
}

/// Lost writes: PutObject, UploadPart and CompleteMultipartUpload are acknowledged, and the
/// store is left exactly as before each of them.
#[tokio::test]
async fn lost_writes_leave_the_store_as_it_was() {
    let (emu, api) = start().await;
    let b = api.bucket();
    put(&api, "v.bin", b"version one".to_vec()).await;
    emu.faults()
        .add(Rule::new(Service::Cos, "PutObject", Effect::LoseWrite).nth(1))
        .expect("rule");
    let acked = put(&api, "v.bin", b"version two".to_vec()).await;
    assert_eq!(acked.status, 200);
    assert_eq!(get(&api, "v.bin").await.body, b"version one");

    let owner = api.owner();
    let upload_id = initiate(&api, "m.bin").await;
    let part_query = [("partNumber", "1"), ("uploadId", upload_id.as_str())];
    emu.faults()
        .add(Rule::new(Service::Cos, "UploadPart", Effect::LoseWrite).nth(1))
        .expect("rule");
    let part = bytes(2000, 6);
    let lost = api
        .cos(
            &owner,
            Method::PUT,
            &b,
            "m.bin",
            &part_query,
            &[],
            part.clone(),
        )
        .await;
    assert_eq!(lost.status, 200);
    let list_query = [("uploadId", upload_id.as_str())];
    let listed = api
        .cos(&owner, Method::GET, &b, "m.bin", &list_query, &[], vec![])
        .await;
    assert_eq!(
        listed.xml("PartNumber"),
        None,
        "the lost part is not listed"
    );
    let kept = api
        .cos(
            &owner,
            Method::PUT,
            &b,
            "m.bin",
            &part_query,
            &[],
            part.clone(),
        )
        .await;
    let etag = kept.header("etag").expect("etag");
    emu.faults()
        .add(Rule::new(Service::Cos, "CompleteMultipartUpload", Effect::LoseWrite).nth(1))
        .expect("rule");
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let done = api
        .cos(
            &owner,
            Method::POST,
            &b,
            "m.bin",
            &list_query,
            &[],
            complete.clone().into_bytes(),
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(done.xml("ETag").is_some());
    assert_eq!(get(&api, "m.bin").await.status, 404, "no object appeared");
    let still = api
        .cos(&owner, Method::GET, &b, "m.bin", &list_query, &[], vec![])
        .await;
    assert_eq!(
        still.xml("PartNumber").as_deref(),
        Some("1"),
        "upload still open"
    );
    let really = api
        .cos(
            &owner,
            Method::POST,
            &b,
            "m.bin",
            &list_query,
            &[],
            complete.into_bytes(),
        )
        .await;
    assert_eq!(really.status, 200);
    assert_eq!(get(&api, "m.bin").await.body, part);
}

/// lose_write on CommitUpload ("the server said yes and then lost it"): the client gets the
/// FileId and MediaUrl, but nothing is recorded (DescribeMediaInfos does not know the file,
/// the MediaUrl does not serve, no event is produced, the session is still open); committing
/// the same session again then records it under the same FileId, with exactly one
/// NewFileUpload, and the MediaUrl serves.
#[tokio::test]
async fn lost_commits_answer_success_and_record_nothing() {
    let (emu, api) = start().await;
    emu.faults()
        .add(Rule::new(Service::Vod, "CommitUpload", Effect::LoseWrite).nth(1))
        .expect("rule");
    let apply = api.apply(false).await;
    api.put_media(&apply, "MediaStoragePath", bytes(100, 9))
        .await;
    let commit = json!({"VodSessionKey": apply["VodSessionKey"]});
    let lost = Api::ok(api.vod("CommitUpload", commit.clone()).await);
    assert!(lost["MediaUrl"]
        .as_str()
        .is_some_and(|u| u.contains("/media/")));
    let described = Api::ok(
        api.vod("DescribeMediaInfos", json!({"FileIds": [lost["FileId"]]}))
            .await,
    );
    assert_eq!(described["MediaInfoSet"], json!([]));
    assert_eq!(described["NotExistFileIdSet"], json!([lost["FileId"]]));
    let media_url = lost["MediaUrl"].as_str().expect("MediaUrl");
    assert_eq!(
        api.get(media_url).await.0,
        404,
        "a lost commit serves nothing"
    );
    let (_, events) = api.admin_get("events").await;
    assert_eq!(
        events["events"],
        json!([]),
        "a lost commit produces no event"
    );

    let kept = Api::ok(api.vod("CommitUpload", commit.clone()).await);
    assert_eq!(kept["FileId"], lost["FileId"]);
    assert_eq!(kept["MediaUrl"], lost["MediaUrl"]);
    assert_eq!(api.get(media_url).await.0, 200);
    let described = Api::ok(
        api.vod("DescribeMediaInfos", json!({"FileIds": [kept["FileId"]]}))
            .await,
    );
    assert_eq!(described["MediaInfoSet"][0]["FileId"], kept["FileId"]);
    let (_, events) = api.admin_get("events?type=NewFileUpload").await;
    assert_eq!(events["events"].as_array().map(Vec::len), Some(1));
    let again = api.vod("CommitUpload", commit).await;
    assert_eq!(
        Api::error_code(&again),
        "InvalidParameterValue.VodSessionKey"
    );
    let faulted = emu
        .journal()
        .requests(&Filter::default().action("CommitUpload").faulted(true));
    assert_eq!(faulted.len(), 1);
    assert_eq!(faulted[0].status, Some(200));
}

/// An error rule on media URLs answers GET and HEAD with the status, and GET with the code
/// and message as plain text; the stored object is untouched.
#[tokio::test]
async fn media_errors_answer_with_their_status() {
    let (emu, api) = start().await;
    let done = api
        .upload(json!({"MediaType": "mp4"}), bytes(300, 10))
        .await;
    let url = done["MediaUrl"].as_str().expect("MediaUrl").to_owned();
    emu.faults()
        .add_all(vec![
            Rule::new(
                Service::Media,
                "GetMedia",
                Effect::cos_error("GatewayTimeout", 504),
            )
            .nth(1),
            Rule::new(Service::Media, "HeadMedia", Effect::error("AccessDenied")).nth(1),
        ])
        .expect("rules");
    let (status, body) = api.get(&url).await;
    assert_eq!(status.as_u16(), 504);
    let text = String::from_utf8(body).expect("text");
    assert!(text.starts_with("GatewayTimeout: "), "{text}");
    let head = api.http.head(&url).send().await.expect("HEAD");
    assert_eq!(head.status().as_u16(), 403);
    let (status, body) = api.get(&url).await;
    assert_eq!((status.as_u16(), body), (200, bytes(300, 10)));
    let errors = emu
        .journal()
        .requests(&Filter::default().service("media").faulted(true));
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].error_code.as_deref(), Some("GatewayTimeout"));
    assert_eq!(errors[1].error_code.as_deref(), Some("AccessDenied"));
}

/// expire_session on CommitUpload: the commit fails the way an expired session does.
#[tokio::test]
async fn expired_sessions_fail_commit_like_real_expiry() {
    let (emu, api) = start().await;
    let (apply, bucket, key, creds) = session(&api).await;
    api.cos(&creds, Method::PUT, &bucket, &key, &[], &[], b"x".to_vec())
        .await;
    emu.faults()
        .add(Rule::new(
            Service::Vod,
            "CommitUpload",
            Effect::ExpireSession,
        ))
        .expect("rule");
    let resp = api
        .vod(
            "CommitUpload",
            json!({"VodSessionKey": apply["VodSessionKey"]}),
        )
        .await;
    assert_eq!(
        Api::error_code(&resp),
        "InvalidParameterValue.VodSessionKey"
    );
    assert!(resp["Error"]["Message"]
        .as_str()
        .is_some_and(|m| m.contains("expired")));
}

/// Skew moves the emulator's clock before the request is handled, so that request and the
/// ones after it are judged with the shifted clock.
#[tokio::test]
async fn skew_moves_the_clock_for_the_request_and_after() {
    let (emu, api) = start().await;
    emu.faults()
        .add(Rule::new(Service::Vod, "ApplyUpload", Effect::Skew { ms: 600_000 }).nth(1))
        .expect("rule");
    let apply = || api.vod("ApplyUpload", json!({"MediaType": "mp4"}));
    let first = apply().await;
    assert_eq!(Api::error_code(&first), "AuthFailure.SignatureExpire");
    assert!((599_000..=601_000).contains(&emu.clock().offset_ms()));
    assert_eq!(
        Api::error_code(&apply().await),
        "AuthFailure.SignatureExpire"
    );
    emu.clock().advance_ms(-600_000);
    Api::ok(apply().await);
}

/// Which of six ApplyUpload calls fail under a rule.
async fn pattern(emu: &Emulator, api: &Api, rule: Rule) -> Vec<bool> {
    emu.faults().clear();
    emu.faults().add(rule).expect("rule");
    let mut out = Vec::new();
    for _ in 0..6 {
        let resp = api.vod("ApplyUpload", json!({"MediaType": "mp4"})).await;
        out.push(resp.get("Error").is_some());
    }
    out
}

fn failing() -> Rule {
    Rule::new(Service::Vod, "ApplyUpload", Effect::error("InternalError"))
}

/// nth, first, every, max and their combinations select exactly the documented requests.
#[tokio::test]
async fn count_schedules_select_the_documented_requests() {
    let (emu, api) = start().await;
    let (t, f) = (true, false);
    assert_eq!(
        pattern(&emu, &api, failing().nth(2)).await,
        [f, t, f, f, f, f]
    );
    assert_eq!(
        pattern(&emu, &api, failing().first(2)).await,
        [t, t, f, f, f, f]
    );
    assert_eq!(
        pattern(&emu, &api, failing().every(3)).await,
        [f, f, t, f, f, t]
    );
    assert_eq!(
        pattern(&emu, &api, failing().every(2).max(2)).await,
        [f, t, f, t, f, f]
    );
}

/// Time windows follow the emulator's clock from when the rule was added.
#[tokio::test]
async fn time_windows_follow_the_emulator_clock() {
    let (emu, api) = start().await;
    emu.faults()
        .add(failing().window(Some(60_000), Some(120_000)))
        .expect("rule");
    let fails = |resp: Value| resp.get("Error").is_some();
    // Signatures stay valid: X-TC-Timestamp may be 300 s from the emulator's clock.
    let apply = || api.vod("ApplyUpload", json!({"MediaType": "mp4"}));
    assert!(!fails(apply().await), "before the window");
    emu.clock().advance_ms(60_000);
    assert!(fails(apply().await), "inside the window");
    emu.clock().advance_ms(60_000);
    assert!(!fails(apply().await), "after the window");
}

/// A probability schedule draws from the seed: the same seed fails the same requests.
#[tokio::test]
async fn probability_schedules_repeat_with_the_seed() {
    let run = |seed| async move {
        let emu = Emulator::builder().seed(seed).start().await.expect("start");
        let api = Api::new(&emu);
        let mut out = pattern(&emu, &api, failing().probability(0.5)).await;
        out.extend(pattern(&emu, &api, failing().id("again").probability(0.5)).await);
        out
    };
    let a = run(21).await;
    assert_eq!(a, run(21).await);
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
    assert_ne!(a, run(22).await);
}

/// Matches on part number, key glob and header presence pick only those requests.
#[tokio::test]
async fn matches_use_part_number_key_glob_and_headers() {
    let (emu, api) = start().await;
    emu.faults()
        .add_all(vec![
            Rule::new(Service::Cos, "PutObject", Effect::error("SlowDown")).key("*.jpg"),
            Rule::new(
                Service::Cos,
                "PutObject",
                Effect::error("ServiceUnavailable"),
            )
            .header("X-Cos-Meta-Flaky"),
        ])
        .expect("rules");
    assert_eq!(
        put(&api, "a/cover.jpg", b"j".to_vec()).await.code(),
        "SlowDown"
    );
    assert_eq!(put(&api, "a/f0.mp4", b"m".to_vec()).await.status, 200);
    let flagged = api
        .cos(
            &api.owner(),
            Method::PUT,
            &api.bucket(),
            "a/f1.mp4",
            &[],
            &[("x-cos-meta-flaky", "1")],
            b"m".to_vec(),
        )
        .await;
    assert_eq!(flagged.code(), "ServiceUnavailable");

    emu.faults().clear();
    emu.faults()
        .add(Rule::new(Service::Cos, "UploadPart", Effect::error("InternalError")).part_number(2))
        .expect("rule");
    let owner = api.owner();
    let b = api.bucket();
    let id = initiate(&api, "p.bin").await;
    for (n, want) in [("1", 200), ("2", 500), ("3", 200)] {
        let q = [("partNumber", n), ("uploadId", id.as_str())];
        let r = api
            .cos(&owner, Method::PUT, &b, "p.bin", &q, &[], b"p".to_vec())
            .await;
        assert_eq!(r.status, want, "part {n}");
    }
}

/// A rule naming an action the emulator does not serve is refused, listing the valid names.
#[tokio::test]
async fn rules_for_unserved_actions_are_refused_with_the_valid_names() {
    let (emu, _api) = start().await;
    let err = emu
        .faults()
        .add(Rule::new(
            Service::Cos,
            "PostObject",
            Effect::error("SlowDown"),
        ))
        .expect_err("refused");
    assert!(err.valid.iter().any(|n| n == "UploadPart"), "{err}");
    assert!(err.message.contains("PostObject"));
    assert!(emu.faults().list().is_empty());
}

/// `fail_task` makes a task flow fail as the service reports it: the steps of the rule's
/// `step` (every step without one) are `FAIL` with the rule's documented ErrCodeExt, its
/// legacy numeric ErrCode and a message, and no output; the others `SUCCESS`; the task flow
/// still `FINISH`es and carries the first failure in its deprecated ErrCode and Message. The
/// rule applies where the task finishes, is refused with a channel or an undocumented code,
/// and its schedule counts task flows.
#[tokio::test]
async fn fail_task_fails_steps_of_a_task_flow() {
    let emu = Emulator::builder()
        .procedure_progress(vod_emulator::ProcedureProgress::Immediate)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let rules = json!({"rules": [
        {"id": "fail-transcodes", "match": {"service": "events", "action": "ProcedureStateChanged"},
         "effect": {"type": "fail_task", "step": "Transcode", "err_code": "SourceFileError.NoVideoMedia"},
         "schedule": {"nth": 1}},
        {"id": "fail-all", "match": {"service": "events", "action": "ProcedureStateChanged"},
         "effect": {"type": "fail_task", "message": "the source could not be decoded"},
         "schedule": {"nth": 2}}
    ]});
    let (status, added) = api
        .admin_call(Method::POST, "/_emulator/faults", Some(rules))
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{added}");
    let mut tasks = Vec::new();
    for seed in 0..3 {
        let done = api
            .upload(
                json!({"MediaType": "mp4", "Procedure": "QCVB_SimpleProcessFile({10,20},0,10)"}),
                bytes(32, 70 + seed),
            )
            .await;
        let ev = api
            .wait_event(&format!(
                "type=ProcedureStateChanged&fileId={}",
                done["FileId"].as_str().expect("FileId")
            ))
            .await;
        tasks.push(ev["content"]["ProcedureStateChangeEvent"].clone());
    }
    let outcome = |task: &Value| -> Vec<(String, String)> {
        task["MediaProcessResultSet"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                let step = r["TranscodeTask"]
                    .as_object()
                    .or(r["CoverBySnapshotTask"].as_object())
                    .expect("a step");
                (
                    r["Type"].as_str().unwrap_or_default().to_owned(),
                    step["Status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        outcome(&tasks[0]),
        pairs(&[
            ("Transcode", "FAIL"),
            ("Transcode", "FAIL"),
            ("CoverBySnapshot", "SUCCESS")
        ])
    );
    let failed = &tasks[0]["MediaProcessResultSet"][0]["TranscodeTask"];
    assert_eq!(failed["ErrCodeExt"], "SourceFileError.NoVideoMedia");
    assert_eq!(failed["ErrCode"], 60000);
    assert!(failed["Message"]
        .as_str()
        .is_some_and(|m| !m.is_empty() && m != "SUCCESS"));
    assert!(
        failed.get("Output").is_none(),
        "a failed step has no output: {failed}"
    );
    assert_eq!(tasks[0]["Status"], "FINISH");
    assert_eq!(tasks[0]["ErrCode"], 60000);
    assert_eq!(tasks[0]["Message"], failed["Message"]);

    assert_eq!(
        outcome(&tasks[1]),
        pairs(&[
            ("Transcode", "FAIL"),
            ("Transcode", "FAIL"),
            ("CoverBySnapshot", "FAIL")
        ])
    );
    let cover = &tasks[1]["MediaProcessResultSet"][2]["CoverBySnapshotTask"];
    assert_eq!(cover["ErrCodeExt"], "InternalError");
    assert_eq!(cover["ErrCode"], 70000);
    assert_eq!(cover["Message"], "the source could not be decoded");

    assert!(outcome(&tasks[2]).iter().all(|(_, s)| s == "SUCCESS"));
    assert_eq!(tasks[2]["ErrCode"], 0);
    let (_, rule) = api.admin_get("faults/fail-transcodes").await;
    assert_eq!((&rule["matched"], &rule["hits"]), (&json!(3), &json!(1)));

    for refused in [
        json!({"match": {"service": "events", "action": "ProcedureStateChanged", "channel": "pull"},
               "effect": {"type": "fail_task"}}),
        json!({"match": {"service": "events", "action": "NewFileUpload"},
               "effect": {"type": "fail_task"}}),
        json!({"match": {"service": "events"},
               "effect": {"type": "fail_task", "err_code": "SomethingWentWrong"}}),
        json!({"match": {"service": "events"},
               "effect": {"type": "fail_task", "step": "Transcoding"}}),
        json!({"match": {"service": "vod", "action": "CommitUpload"},
               "effect": {"type": "fail_task"}}),
    ] {
        let (status, err) = api
            .admin_call(Method::POST, "/_emulator/faults", Some(refused.clone()))
            .await;
        assert_eq!(
            status,
            reqwest::StatusCode::BAD_REQUEST,
            "{refused} -> {err}"
        );
    }
}

/// Every scenario shipped in fixtures/faults/ parses, validates and starts an emulator.
#[tokio::test]
async fn every_shipped_scenario_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/faults");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/faults") {
        let path = entry.expect("entry").path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("toml" | "json")
        ) {
            continue;
        }
        let scenario = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            scenario.description.is_some(),
            "{} has no description",
            path.display()
        );
        let rules = scenario.rules.len();
        let emu = Emulator::builder()
            .scenario(scenario)
            .start()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(emu.faults().list().len(), rules);
        count += 1;
    }
    assert!(count >= 12, "only {count} scenarios in {}", dir.display());
}
