//! What SDKs observe on the wire, checked with the clients that trip on it: refusals delivered
//! to Node's `http` and reqwest, `--strict` accepting what the official SDKs send. (Header-name
//! casing is the conformance property `header_names`, run by `cargo test` on a raw socket.)

use reqwest::Method;
use serde_json::json;
use vod_emulator::Emulator;

use crate::common::api::Api;

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
