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
        &["Content-Type", "x-cos-request-id"],
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
    assert_real_names("HeadObject (404)", &missing_head, &["x-cos-request-id"]);

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
