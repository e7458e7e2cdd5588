//! What SDKs observe byte by byte, checked on the raw socket rather than through a forgiving
//! client: header names spelled as the real services spell them, per operation.

use reqwest::Method;
use serde_json::json;
use vod_emulator::Emulator;

use crate::common::api::{key_of, Api, CosCreds};
use crate::common::raw::{self, RawReply};

/// Response header names as COS and the TC API write them (COS docs 436/7749, 436/7745,
/// 436/7753, 436/7730 response examples): the oracle, kept apart from the emulator's own table.
const REAL_NAMES: &[&str] = &[
    "Accept-Ranges",
    "Cache-Control",
    "Connection",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "Date",
    "ETag",
    "Expires",
    "Last-Modified",
    "Server",
    "x-cos-hash-crc64ecma",
    "x-cos-request-id",
    "x-cos-storage-class",
    "x-cos-trace-id",
];

/// Checks that every name in `reply` is spelled as in [`REAL_NAMES`] (user metadata
/// `x-cos-meta-*` in lower case) and that each of `required` is there, spelled exactly.
fn assert_real_names(operation: &str, reply: &RawReply, required: &[&str]) {
    for (name, _) in &reply.headers {
        let known = REAL_NAMES.contains(&name.as_str())
            || (name.starts_with("x-cos-meta-") && *name == name.to_ascii_lowercase());
        assert!(
            known,
            "{operation}: header `{name}` is not spelled as the real service spells it \
             (all headers: {:?})",
            reply.headers
        );
    }
    for name in required {
        assert!(
            reply.exact(name).is_some(),
            "{operation}: no `{name}` header, spelled exactly (all headers: {:?})",
            reply.headers
        );
    }
}

/// Sends a signed COS request byte for byte and returns the raw answer.
#[allow(clippy::too_many_arguments)]
async fn cos(
    emu: &Emulator,
    api: &Api,
    creds: &CosCreds,
    method: Method,
    bucket: &str,
    key: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> RawReply {
    let host = format!("{bucket}.cos.{}.myqcloud.com", api.region);
    let request = api
        .cos_signed(
            creds,
            method,
            &host,
            &format!("/{key}"),
            query,
            headers,
            body,
        )
        .build()
        .expect("build request");
    raw::send(emu, request).await
}

/// Every COS operation of the upload flow and the VOD API answer with the real names: `ETag`,
/// not `etag` or `Etag`; `x-cos-request-id` in lower case; Title-Case for the rest.
#[tokio::test]
async fn response_header_names_are_spelled_as_the_real_services_spell_them() {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    let owner = api.owner();
    let bucket = api.bucket();
    let meta = [("x-cos-meta-color", "red"), ("content-type", "video/mp4")];

    let put = cos(
        &emu,
        &api,
        &owner,
        Method::PUT,
        &bucket,
        "a.mp4",
        &[],
        &meta,
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(put.status, 200, "{put:?}");
    let object = [
        "ETag",
        "x-cos-hash-crc64ecma",
        "x-cos-request-id",
        "Content-Length",
        "Date",
        "Server",
    ];
    assert_real_names("PutObject", &put, &object);

    let head = cos(
        &emu,
        &api,
        &owner,
        Method::HEAD,
        &bucket,
        "a.mp4",
        &[],
        &[],
        vec![],
    )
    .await;
    let read = [
        "ETag",
        "Content-Length",
        "Content-Type",
        "Last-Modified",
        "x-cos-request-id",
    ];
    assert_real_names("HeadObject", &head, &read);
    assert_eq!(head.exact("x-cos-meta-color"), Some("red"));
    let get = cos(
        &emu,
        &api,
        &owner,
        Method::GET,
        &bucket,
        "a.mp4",
        &[],
        &[],
        vec![],
    )
    .await;
    assert_real_names("GetObject", &get, &read);
    let range = [("range", "bytes=1-2")];
    let ranged = cos(
        &emu,
        &api,
        &owner,
        Method::GET,
        &bucket,
        "a.mp4",
        &[],
        &range,
        vec![],
    )
    .await;
    assert_eq!(ranged.status, 206);
    assert_real_names("GetObject (Range)", &ranged, &["Content-Range", "ETag"]);

    let missing = cos(
        &emu,
        &api,
        &owner,
        Method::GET,
        &bucket,
        "none",
        &[],
        &[],
        vec![],
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_real_names(
        "GetObject (NoSuchKey)",
        &missing,
        &["Content-Type", "x-cos-request-id", "x-cos-trace-id"],
    );
    let missing_head = cos(
        &emu,
        &api,
        &owner,
        Method::HEAD,
        &bucket,
        "none",
        &[],
        &[],
        vec![],
    )
    .await;
    assert_real_names(
        "HeadObject (404)",
        &missing_head,
        &["x-cos-request-id", "x-cos-trace-id"],
    );

    let initiate = cos(
        &emu,
        &api,
        &owner,
        Method::POST,
        &bucket,
        "m.mp4",
        &[("uploads", "")],
        &[],
        vec![],
    )
    .await;
    assert_real_names(
        "InitiateMultipartUpload",
        &initiate,
        &["Content-Type", "x-cos-request-id"],
    );
    let text = String::from_utf8_lossy(&initiate.body).into_owned();
    let upload_id = text
        .split("<UploadId>")
        .nth(1)
        .and_then(|rest| rest.split("</UploadId>").next())
        .expect("UploadId")
        .to_owned();
    let part_query = [("partNumber", "1"), ("uploadId", upload_id.as_str())];
    let part = cos(
        &emu,
        &api,
        &owner,
        Method::PUT,
        &bucket,
        "m.mp4",
        &part_query,
        &[],
        b"part".to_vec(),
    )
    .await;
    assert_eq!(part.status, 200, "{part:?}");
    assert_real_names(
        "UploadPart",
        &part,
        &["ETag", "x-cos-hash-crc64ecma", "x-cos-request-id"],
    );
    let etag = part.exact("ETag").expect("part ETag").to_owned();
    let list = cos(
        &emu,
        &api,
        &owner,
        Method::GET,
        &bucket,
        "m.mp4",
        &[("uploadId", upload_id.as_str())],
        &[],
        vec![],
    )
    .await;
    assert_real_names("ListParts", &list, &["Content-Type", "x-cos-request-id"]);
    let complete_body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let complete = cos(
        &emu,
        &api,
        &owner,
        Method::POST,
        &bucket,
        "m.mp4",
        &[("uploadId", upload_id.as_str())],
        &[],
        complete_body.into_bytes(),
    )
    .await;
    assert_eq!(complete.status, 200, "{complete:?}");
    assert_real_names(
        "CompleteMultipartUpload",
        &complete,
        &["Content-Type", "x-cos-hash-crc64ecma", "x-cos-request-id"],
    );
    let delete = cos(
        &emu,
        &api,
        &owner,
        Method::DELETE,
        &bucket,
        "m.mp4",
        &[],
        &[],
        vec![],
    )
    .await;
    assert_real_names("DeleteObject", &delete, &["x-cos-request-id"]);

    let apply = api.call("ApplyUpload", &json!({"MediaType": "mp4"}));
    let apply = raw::send(&emu, api.vod_request(apply).build().expect("build")).await;
    assert_real_names(
        "ApplyUpload",
        &apply,
        &["Content-Type", "Content-Length", "Date"],
    );
    let refused = api.call("ApplyUpload", &json!({"MediaType": "exe"}));
    let refused = raw::send(&emu, api.vod_request(refused).build().expect("build")).await;
    assert_real_names(
        "ApplyUpload (error)",
        &refused,
        &["Content-Type", "Content-Length"],
    );

    let answer: serde_json::Value = serde_json::from_slice(&apply.body).expect("ApplyUpload JSON");
    let session = &answer["Response"];
    let media_key = key_of(&session["MediaStoragePath"]);
    let creds = CosCreds::from_apply(session);
    let media_bucket = session["StorageBucket"].as_str().expect("bucket");
    let session_put = cos(
        &emu,
        &api,
        &creds,
        Method::PUT,
        media_bucket,
        &media_key,
        &[],
        &[],
        b"v".to_vec(),
    )
    .await;
    assert_real_names("PutObject (session)", &session_put, &object);
}

/// Body sizes for the refusal tests: empty, small, and the 5 and 20 MiB PUTs whose refusals
/// Node's `http` used to lose to a connection reset.
const REFUSED_SIZES: [usize; 4] = [0, 1024, 5 << 20, 20 << 20];

/// Runs `tests/sdk/node/refusals.js` against `emu` and returns its report.
async fn node_refusals(
    emu: &Emulator,
    host: &str,
    path: &str,
    repeats: usize,
    expect: bool,
    authorization: &str,
) -> serde_json::Value {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/node/refusals.js");
    let sizes: Vec<String> = REFUSED_SIZES.iter().map(usize::to_string).collect();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .arg(emu.addr().port().to_string())
        .arg(host)
        .arg(path)
        .arg(sizes.join(","))
        .arg(repeats.to_string())
        .arg(if expect { "1" } else { "0" })
        .arg(authorization)
        .kill_on_drop(true);
    crate::common::exec::json_output(
        &mut command,
        "node refusals.js",
        std::time::Duration::from_secs(120),
    )
    .await
}

/// Asserts every refusal in a Node report arrived, all with `status`.
fn assert_all_delivered(report: &serde_json::Value, repeats: usize, status: u16, what: &str) {
    let total = REFUSED_SIZES.len() * repeats;
    assert_eq!(
        report["lost"],
        json!([]),
        "{what}: refusals lost: {report:#}"
    );
    assert_eq!(report["delivered"], total, "{what}: {report:#}");
    assert_eq!(
        report["statuses"],
        json!({status.to_string(): total}),
        "{what}: {report:#}"
    );
}

/// A PUT refused before its body is read (unsigned: 403; UploadPart to an unknown upload: 404)
/// reaches Node's `http`, which writes the whole body before reading, as a status and an XML
/// error: the emulator reads and discards the rest of the body instead of resetting the
/// connection. With `Expect: 100-continue` the refusal comes without asking for the body.
#[tokio::test]
async fn refusals_before_the_body_reach_node_clients() {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    let host = format!("{}.cos.{}.myqcloud.com", api.bucket(), api.region);
    let repeats = 6;
    for expect in [false, true] {
        let unsigned = node_refusals(&emu, &host, "/refused.bin", repeats, expect, "").await;
        assert_all_delivered(
            &unsigned,
            repeats,
            403,
            &format!("unsigned, expect {expect}"),
        );
        let query = [("partNumber", "1"), ("uploadId", "no-such-upload")];
        let t = crate::common::api::now();
        let auth = Api::cos_auth(
            &api.owner(),
            "put",
            "/part.bin",
            &query,
            &[("host", &host)],
            (t - 60, t + 3600),
        );
        let part = node_refusals(
            &emu,
            &host,
            "/part.bin?partNumber=1&uploadId=no-such-upload",
            repeats,
            expect,
            &auth,
        )
        .await;
        assert_all_delivered(
            &part,
            repeats,
            404,
            &format!("unknown upload, expect {expect}"),
        );
    }
}

/// reqwest (hyper's client) gets the refusal of a large PUT and of an UploadPart to an upload
/// that was already completed, instead of "error sending request".
#[tokio::test]
async fn refusals_before_the_body_reach_reqwest() {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    let bucket = api.bucket();
    for size in REFUSED_SIZES {
        for round in 0..8 {
            let unsigned = api
                .http
                .put(format!("{}/{bucket}/refused.bin", api.endpoint))
                .body(vec![7u8; size])
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!("{size} B, round {round}: unsigned PUT lost its refusal: {e:?}")
                });
            assert_eq!(unsigned.status(), 403, "{size} B, round {round}");
        }
    }
    let owner = api.owner();
    let initiate = api
        .cos(
            &owner,
            Method::POST,
            &bucket,
            "done.bin",
            &[("uploads", "")],
            &[],
            vec![],
        )
        .await;
    let upload_id = initiate.xml("UploadId").expect("UploadId");
    let query = [("partNumber", "1"), ("uploadId", upload_id.as_str())];
    let part = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "done.bin",
            &query,
            &[],
            b"only".to_vec(),
        )
        .await;
    let etag = part.header("etag").expect("ETag");
    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let done = api
        .cos(
            &owner,
            Method::POST,
            &bucket,
            "done.bin",
            &[("uploadId", upload_id.as_str())],
            &[],
            complete.into_bytes(),
        )
        .await;
    assert_eq!(done.status, 200);
    for size in REFUSED_SIZES {
        for round in 0..8 {
            let late = api
                .cos_builder(
                    &owner,
                    Method::PUT,
                    &bucket,
                    "done.bin",
                    &query,
                    vec![7u8; size],
                )
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!("{size} B, round {round}: UploadPart lost its refusal: {e:?}")
                });
            assert_eq!(late.status(), 404, "{size} B, round {round}");
        }
    }
}

/// Under `--strict`, the headers cos_api 5.6.8 for Java (pinned by vod-java-sdk 2.1.5) sends
/// are accepted on every upload operation — `x-cos-sdk-log-debug` on every request
/// (`DefaultCosHttpClient.java`), Content-MD5, storage class, ACL — and so are the other SDKs'
/// retry markers; a header no SDK sends is still refused with `InvalidArgument`.
#[tokio::test]
async fn strict_mode_accepts_the_official_sdks_headers_and_refuses_unknown_ones() {
    let emu = Emulator::builder()
        .strict(true)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let owner = api.owner();
    let bucket = api.bucket();
    let body = b"java sdk".to_vec();
    let md5 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        <md5::Md5 as md5::Digest>::digest(&body),
    );
    let java = [
        ("x-cos-sdk-log-debug", "off"),
        ("x-cos-storage-class", "STANDARD"),
        ("x-cos-acl", "default"),
        ("content-md5", md5.as_str()),
        ("content-type", "video/mp4"),
    ];
    let put = api
        .cos(&owner, Method::PUT, &bucket, "java.mp4", &[], &java, body)
        .await;
    assert_eq!(
        put.status,
        200,
        "PutObject: {}",
        String::from_utf8_lossy(&put.body)
    );
    let log_debug = [("x-cos-sdk-log-debug", "off"), ("x-cos-sdk-retry", "true")];
    let initiate = api
        .cos(
            &owner,
            Method::POST,
            &bucket,
            "java-mp.mp4",
            &[("uploads", "")],
            &java[..3],
            vec![],
        )
        .await;
    assert_eq!(
        initiate.status,
        200,
        "Initiate: {}",
        String::from_utf8_lossy(&initiate.body)
    );
    let upload_id = initiate.xml("UploadId").expect("UploadId");
    let part_query = [("partNumber", "1"), ("uploadId", upload_id.as_str())];
    let part = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "java-mp.mp4",
            &part_query,
            &log_debug,
            b"p".to_vec(),
        )
        .await;
    assert_eq!(
        part.status,
        200,
        "UploadPart: {}",
        String::from_utf8_lossy(&part.body)
    );
    let list_query = [
        ("uploadId", upload_id.as_str()),
        ("max-parts", "1000"),
        ("part-number-marker", "0"),
        ("encoding-type", "url"),
    ];
    let list = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "java-mp.mp4",
            &list_query,
            &log_debug,
            vec![],
        )
        .await;
    assert_eq!(
        list.status,
        200,
        "ListParts: {}",
        String::from_utf8_lossy(&list.body)
    );
    let head = api
        .cos(
            &owner,
            Method::HEAD,
            &bucket,
            "java.mp4",
            &[],
            &log_debug,
            vec![],
        )
        .await;
    assert_eq!(head.status, 200, "HeadObject");

    let unknown = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "x.mp4",
            &[],
            &[("x-cos-no-such-header", "1")],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.code(), "InvalidArgument");
    let typo = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "java-mp.mp4",
            &[("uploadId", upload_id.as_str()), ("max-part", "5")],
            &[],
            vec![],
        )
        .await;
    assert_eq!(typo.status, 400);
    assert_eq!(typo.code(), "InvalidArgument");
}
