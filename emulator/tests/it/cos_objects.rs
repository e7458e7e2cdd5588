//! COS simple objects: PutObject, GetObject (Range, conditionals), HeadObject, DeleteObject,
//! checksums, error documents, addressing and `Expect: 100-continue`.

use crate::common::api::{bytes, Api};
use md5::{Digest, Md5};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vod_emulator::Emulator;
use vod_protocol::checksum::crc64;

async fn setup() -> (Emulator, Api, String) {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    let bucket = format!("vod-ap-guangzhou-{}", api.app_id);
    (emu, api, bucket)
}

/// A PUT returns the quoted MD5 ETag and the CRC-64/XZ; GET and HEAD return the bytes and the
/// same metadata; DELETE removes it.
#[tokio::test]
async fn put_get_head_delete_round_trip_with_checksums() {
    let (_emu, api, bucket) = setup().await;
    let owner = api.owner();
    let data = bytes(100_000, 3);
    let etag = format!("\"{}\"", hex::encode(Md5::digest(&data)));
    let put = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "dir/a b+c.bin",
            &[],
            &[("content-type", "video/mp4"), ("x-cos-meta-who", "me")],
            data.clone(),
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.header("etag"), Some(etag.clone()));
    assert_eq!(
        put.header("x-cos-hash-crc64ecma"),
        Some(crc64(&data).to_string())
    );
    assert!(put
        .header("x-cos-request-id")
        .is_some_and(|v| !v.is_empty()));
    let get = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "dir/a b+c.bin",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body, data);
    assert_eq!(get.header("content-type").as_deref(), Some("video/mp4"));
    assert_eq!(get.header("x-cos-meta-who").as_deref(), Some("me"));
    assert_eq!(get.header("etag"), Some(etag));
    let head = api
        .cos(
            &owner,
            Method::HEAD,
            &bucket,
            "dir/a b+c.bin",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(data.len().to_string()));
    assert_eq!(
        head.header("x-cos-hash-crc64ecma"),
        Some(crc64(&data).to_string())
    );
    let del = api
        .cos(
            &owner,
            Method::DELETE,
            &bucket,
            "dir/a b+c.bin",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(del.status, 204);
    let gone = api
        .cos(
            &owner,
            Method::HEAD,
            &bucket,
            "dir/a b+c.bin",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(gone.status, 404);
    assert!(gone.body.is_empty(), "HEAD errors carry no body");
    assert!(gone.header("x-cos-request-id").is_some());
}

/// Objects larger than the first 8 MiB a blob keeps in the page cache (the rest goes to the
/// device directly) come back whole, in a durable store and after a restart, including a
/// range across the switch.
#[tokio::test]
async fn large_objects_read_back_exactly_across_the_direct_io_switch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = bytes(20 * 1024 * 1024 + 12_345, 9);
    let emu = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let bucket = format!("vod-ap-guangzhou-{}", api.app_id);
    let owner = api.owner();
    let put = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "big.bin",
            &[],
            &[],
            data.clone(),
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(
        put.header("x-cos-hash-crc64ecma"),
        Some(crc64(&data).to_string())
    );
    emu.shutdown().await;
    let emu = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .expect("restart");
    let api = Api::new(&emu);
    let get = api
        .cos(&owner, Method::GET, &bucket, "big.bin", &[], &[], vec![])
        .await;
    assert_eq!(get.status, 200);
    assert!(get.body == data, "the object came back different");
    let from = 8 * 1024 * 1024 - 100;
    let range = format!("bytes={from}-{}", from + 4999);
    let part = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "big.bin",
            &[],
            &[("range", range.as_str())],
            vec![],
        )
        .await;
    assert_eq!(part.status, 206);
    assert!(part.body == data[from..from + 5000]);
}

/// Empty objects are legal.
#[tokio::test]
async fn zero_byte_objects_are_stored() {
    let (_emu, api, bucket) = setup().await;
    let owner = api.owner();
    let put = api
        .cos(&owner, Method::PUT, &bucket, "empty", &[], &[], vec![])
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.header("x-cos-hash-crc64ecma").as_deref(), Some("0"));
    let get = api
        .cos(&owner, Method::GET, &bucket, "empty", &[], &[], vec![])
        .await;
    assert_eq!((get.status.as_u16(), get.body.len()), (200, 0));
}

/// Range GETs return 206 with Content-Range and the whole-object CRC; unsatisfiable → 416.
#[tokio::test]
async fn range_requests_return_partial_content() {
    let (_emu, api, bucket) = setup().await;
    let owner = api.owner();
    let data = bytes(1000, 4);
    api.cos(&owner, Method::PUT, &bucket, "r", &[], &[], data.clone())
        .await;
    let r = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "r",
            &[],
            &[("range", "bytes=10-19")],
            vec![],
        )
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, data[10..20]);
    assert_eq!(
        r.header("content-range").as_deref(),
        Some("bytes 10-19/1000")
    );
    assert_eq!(
        r.header("x-cos-hash-crc64ecma"),
        Some(crc64(&data).to_string())
    );
    let tail = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "r",
            &[],
            &[("range", "bytes=-5")],
            vec![],
        )
        .await;
    assert_eq!(tail.body, data[995..]);
    let bad = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "r",
            &[],
            &[("range", "bytes=1000-")],
            vec![],
        )
        .await;
    assert_eq!(bad.status, 416);
    assert_eq!(bad.code(), "InvalidRange");
}

/// If-Match / If-None-Match give 412 / 304.
#[tokio::test]
async fn conditional_requests_are_honoured() {
    let (_emu, api, bucket) = setup().await;
    let owner = api.owner();
    let put = api
        .cos(&owner, Method::PUT, &bucket, "c", &[], &[], b"abc".to_vec())
        .await;
    let etag = put.header("etag").expect("etag");
    let r = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "c",
            &[],
            &[("if-none-match", &etag)],
            vec![],
        )
        .await;
    assert_eq!(r.status, 304);
    let r = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "c",
            &[],
            &[("if-match", "\"nope\"")],
            vec![],
        )
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(r.code(), "PreconditionFailed");
}

/// A wrong Content-MD5 is refused with BadDigest, a malformed one with InvalidDigest, and
/// neither stores anything nor damages the existing object.
#[tokio::test]
async fn content_md5_is_checked_and_failures_store_nothing() {
    let (_emu, api, bucket) = setup().await;
    let owner = api.owner();
    api.cos(
        &owner,
        Method::PUT,
        &bucket,
        "m",
        &[],
        &[],
        b"original".to_vec(),
    )
    .await;
    let wrong = base64_md5(b"something else");
    let r = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "m",
            &[],
            &[("content-md5", &wrong)],
            b"new".to_vec(),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code().as_str()), (400, "BadDigest"));
    let r = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "m",
            &[],
            &[("content-md5", "xyz")],
            b"new".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (400, "InvalidDigest")
    );
    let get = api
        .cos(&owner, Method::GET, &bucket, "m", &[], &[], vec![])
        .await;
    assert_eq!(get.body, b"original");
    let right = base64_md5(b"new");
    let r = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "m",
            &[],
            &[("content-md5", &right)],
            b"new".to_vec(),
        )
        .await;
    assert_eq!(r.status, 200);
}

fn base64_md5(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(data))
}

/// Error bodies carry every field the Python SDK requires, and the status of their code.
#[tokio::test]
async fn errors_are_cos_xml_documents() {
    let (_emu, api, bucket) = setup().await;
    let r = api
        .cos(
            &api.owner(),
            Method::GET,
            &bucket,
            "missing",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type").as_deref(), Some("application/xml"));
    assert_eq!(r.code(), "NoSuchKey");
    for field in ["Message", "Resource", "RequestId", "TraceId"] {
        assert!(
            r.xml(field).is_some_and(|v| !v.is_empty()),
            "{field} missing"
        );
    }
    assert_eq!(r.xml("RequestId"), r.header("x-cos-request-id"));
    let r = api
        .cos(
            &api.owner(),
            Method::GET,
            "nobucket-1",
            "k",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (404, "NoSuchBucket")
    );
    let long_key = "k".repeat(851);
    let r = api
        .cos(
            &api.owner(),
            Method::PUT,
            &bucket,
            &long_key,
            &[],
            &[],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.code(), "KeyTooLong");
}

/// Every COS error carries `x-cos-trace-id`, equal to the body's `<TraceId>`: errors of the
/// emulator, HEAD errors (no body) and injected faults alike; it is opaque base64, differs
/// per request, and is the same for the same seed and requests.
#[tokio::test]
async fn every_cos_error_carries_a_trace_id_header() {
    let traced = |r: &crate::common::api::CosReply| {
        let trace = r
            .header("x-cos-trace-id")
            .expect("x-cos-trace-id on an error");
        assert!(
            trace.len() >= 40
                && trace
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c)),
            "{trace}"
        );
        trace
    };
    let mut seen = Vec::new();
    for _ in 0..2 {
        let emu = Emulator::builder().seed(42).start().await.expect("start");
        let api = Api::new(&emu);
        let bucket = format!("vod-ap-guangzhou-{}", api.app_id);
        let owner = api.owner();
        let missing = api
            .cos(&owner, Method::GET, &bucket, "missing", &[], &[], vec![])
            .await;
        assert_eq!(missing.status, 404);
        let trace = traced(&missing);
        assert_eq!(missing.xml("TraceId").as_ref(), Some(&trace));
        let head = api
            .cos(&owner, Method::HEAD, &bucket, "missing", &[], &[], vec![])
            .await;
        assert_eq!(head.status, 404);
        assert!(head.body.is_empty());
        assert_ne!(traced(&head), trace, "one trace id per request");
        let mut stranger = owner.clone();
        stranger.secret_key = "wrong".into();
        let denied = api
            .cos(&stranger, Method::GET, &bucket, "k", &[], &[], vec![])
            .await;
        assert_eq!(denied.status, 403);
        assert_eq!(denied.xml("TraceId"), Some(traced(&denied)));
        emu.faults()
            .add(vod_emulator::faults::Rule::new(
                vod_emulator::faults::Service::Cos,
                "HeadObject",
                vod_emulator::faults::Effect::error("SlowDown"),
            ))
            .expect("rule");
        let injected = api
            .cos(&owner, Method::HEAD, &bucket, "k", &[], &[], vec![])
            .await;
        assert_eq!(injected.status, 503);
        seen.push((trace, traced(&injected)));
    }
    assert_eq!(seen[0], seen[1], "the same seed gives the same trace ids");
}

/// Path-style addressing on the emulator's own host works like the virtual host.
#[tokio::test]
async fn path_style_addressing_works() {
    let (_emu, api, bucket) = setup().await;
    let owner = api.owner();
    let host = api.host.clone();
    let path = format!("/{bucket}/p/q.txt");
    let put = api
        .cos_at(
            &owner,
            Method::PUT,
            &host,
            &path,
            &[],
            &[],
            b"path".to_vec(),
        )
        .await;
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let get = api
        .cos(&owner, Method::GET, &bucket, "p/q.txt", &[], &[], vec![])
        .await;
    assert_eq!(get.body, b"path");
}

/// `Expect: 100-continue` gets an interim 100 before the body is sent.
#[tokio::test]
async fn expect_100_continue_is_honoured() {
    let (emu, api, bucket) = setup().await;
    let host = format!("{bucket}.cos.ap-guangzhou.myqcloud.com");
    let mut sock = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    let head = signed_put_head(&api, &host, "/e", 5, "Expect: 100-continue\r\n");
    sock.write_all(head.as_bytes()).await.expect("write head");
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), sock.read(&mut buf))
        .await
        .expect("interim response in time")
        .expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100"));
    sock.write_all(b"hello").await.expect("write body");
    let mut rest = vec![0u8; 1024];
    let n = sock.read(&mut rest).await.expect("read final");
    assert!(String::from_utf8_lossy(&rest[..n]).starts_with("HTTP/1.1 200"));
    let get = api
        .cos(&api.owner(), Method::GET, &bucket, "e", &[], &[], vec![])
        .await;
    assert_eq!(get.body, b"hello");
}

/// Sends raw bytes on a fresh connection and returns what the server answered.
async fn raw_exchange(emu: &Emulator, request: &[u8], close_write: bool) -> String {
    let mut sock = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    sock.write_all(request).await.expect("write");
    if close_write {
        sock.shutdown().await.expect("shutdown write");
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sock.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The head of a PUT signed with the emulator's key; `extra` is more header lines.
fn signed_put_head(api: &Api, host: &str, path: &str, len: u64, extra: &str) -> String {
    signed_put_head_with(
        api,
        host,
        path,
        &format!("Content-Length: {len}\r\n{extra}"),
    )
}

/// The head of a PUT signed with the emulator's key, with exactly these further header lines
/// (no `Content-Length` unless they have one).
fn signed_put_head_with(api: &Api, host: &str, path: &str, lines: &str) -> String {
    let t = crate::common::api::now();
    let auth = Api::cos_auth(
        &api.owner(),
        "PUT",
        path,
        &[],
        &[("host", host)],
        (t - 60, t + 600),
    );
    format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n{lines}\r\n")
}

/// A body declared larger than 5 GiB is refused before it is read.
#[tokio::test]
async fn oversized_bodies_are_refused_up_front() {
    let (emu, api, bucket) = setup().await;
    let host = format!("{bucket}.cos.ap-guangzhou.myqcloud.com");
    let head = signed_put_head(&api, &host, "/huge", 5 * 1024 * 1024 * 1024 + 1, "");
    let answer = raw_exchange(&emu, head.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>EntityTooLarge</Code>"), "{answer}");
}

/// A body in plain `chunked` transfer coding is stored; any other transfer coding (`gzip,
/// chunked`, or `gzip` and `chunked` on two lines) is answered 501 `NotImplemented` and stores
/// nothing.
#[tokio::test]
async fn transfer_codings_other_than_chunked_are_not_implemented() {
    let (emu, api, bucket) = setup().await;
    let host = format!("{bucket}.cos.ap-guangzhou.myqcloud.com");
    let chunks = "5\r\nhello\r\n0\r\n\r\n";
    let close = "Connection: close\r\n";
    let plain = signed_put_head_with(
        &api,
        &host,
        "/plain",
        &format!("{close}Transfer-Encoding: chunked\r\n"),
    );
    let answer = raw_exchange(&emu, format!("{plain}{chunks}").as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let get = api
        .cos(
            &api.owner(),
            Method::GET,
            &bucket,
            "plain",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(get.body, b"hello");
    for (path, lines) in [
        ("/gz", "Transfer-Encoding: gzip, chunked\r\n"),
        (
            "/gz2",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        ),
    ] {
        let head = signed_put_head_with(&api, &host, path, &format!("{close}{lines}"));
        let answer = raw_exchange(&emu, format!("{head}{chunks}").as_bytes(), false).await;
        assert!(answer.starts_with("HTTP/1.1 501"), "{lines}: {answer}");
        assert!(answer.contains("<Code>NotImplemented</Code>"), "{answer}");
        assert!(
            answer.contains("gzip"),
            "the message names the coding: {answer}"
        );
        let key = path.trim_start_matches('/');
        let get = api
            .cos(&api.owner(), Method::GET, &bucket, key, &[], &[], vec![])
            .await;
        assert_eq!(get.code(), "NoSuchKey", "{lines}: nothing is stored");
    }
}

/// A PUT or UploadPart with neither `Content-Length` nor chunked coding is answered 411
/// `MissingContentLength` and stores nothing (no empty object over the existing one, no part).
#[tokio::test]
async fn puts_without_a_length_are_refused() {
    let (emu, api, bucket) = setup().await;
    let owner = api.owner();
    let host = format!("{bucket}.cos.ap-guangzhou.myqcloud.com");
    let put = api
        .cos(
            &owner,
            Method::PUT,
            &bucket,
            "n",
            &[],
            &[],
            b"before".to_vec(),
        )
        .await;
    assert_eq!(put.status, 200);
    let init = api
        .cos(
            &owner,
            Method::POST,
            &bucket,
            "n",
            &[("uploads", "")],
            &[],
            vec![],
        )
        .await;
    let upload_id = init.xml("UploadId").expect("UploadId");
    let part_params = [("partNumber", "1"), ("uploadId", upload_id.as_str())];
    let t = crate::common::api::now();
    for params in [&[][..], &part_params[..]] {
        let auth = Api::cos_auth(
            &owner,
            "PUT",
            "/n",
            params,
            &[("host", &host)],
            (t - 60, t + 600),
        );
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let target = if query.is_empty() {
            "/n".to_owned()
        } else {
            format!("/n?{}", query.join("&"))
        };
        let head = format!(
            "PUT {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
        );
        let answer = raw_exchange(&emu, head.as_bytes(), false).await;
        assert!(answer.starts_with("HTTP/1.1 411"), "{target}: {answer}");
        assert!(
            answer.contains("<Code>MissingContentLength</Code>"),
            "{answer}"
        );
    }
    let get = api
        .cos(&owner, Method::GET, &bucket, "n", &[], &[], vec![])
        .await;
    assert_eq!(get.body, b"before");
    let parts = api
        .cos(
            &owner,
            Method::GET,
            &bucket,
            "n",
            &[("uploadId", &upload_id)],
            &[],
            vec![],
        )
        .await;
    assert_eq!(parts.status, 200);
    assert!(parts.xml("Part").is_none(), "no part was stored");
}

/// A truncated body (the client goes away mid-upload) stores nothing and leaves the existing
/// object as it was.
#[tokio::test]
async fn truncated_bodies_store_nothing() {
    let (emu, api, bucket) = setup().await;
    let owner = api.owner();
    api.cos(
        &owner,
        Method::PUT,
        &bucket,
        "t",
        &[],
        &[],
        b"before".to_vec(),
    )
    .await;
    let host = format!("{bucket}.cos.ap-guangzhou.myqcloud.com");
    let mut request = signed_put_head(&api, &host, "/t", 1000, "").into_bytes();
    request.extend_from_slice(&[b'x'; 10]);
    let _ = raw_exchange(&emu, &request, true).await;
    let get = api
        .cos(&owner, Method::GET, &bucket, "t", &[], &[], vec![])
        .await;
    assert_eq!(get.body, b"before");
}

/// A header listed in q-header-list but absent from the request is a signature mismatch; an
/// unsupported method on an object is MethodNotAllowed; HEAD of the bucket answers 200.
#[tokio::test]
async fn missing_signed_headers_and_unsupported_methods_are_refused() {
    let (_emu, api, bucket) = setup().await;
    let host = format!("{bucket}.cos.ap-guangzhou.myqcloud.com");
    let t = crate::common::api::now();
    let signed = [("host", host.as_str()), ("x-cos-meta-a", "1")];
    let auth = Api::cos_auth(&api.owner(), "PUT", "/s", &[], &signed, (t - 60, t + 600));
    let r = api
        .cos_raw(
            Method::PUT,
            &host,
            "/s",
            &[],
            &[("host", &host)],
            Some(&auth),
            b"x".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (403, "SignatureDoesNotMatch".to_owned())
    );
    let r = api
        .cos(&api.owner(), Method::PATCH, &bucket, "s", &[], &[], vec![])
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (405, "MethodNotAllowed".to_owned())
    );
    let r = api
        .cos(&api.owner(), Method::HEAD, &bucket, "", &[], &[], vec![])
        .await;
    assert_eq!(r.status, 200);
}

/// An error message that quotes the request (a query parameter name holding NUL and ESC,
/// named by the signature check or by `--strict`) is still a well-formed XML document: the
/// characters XML cannot carry are replaced.
#[tokio::test]
async fn error_messages_quoting_the_request_stay_well_formed() {
    let emu = Emulator::builder()
        .strict(true)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let bucket = format!("vod-ap-guangzhou-{}", api.app_id);
    let r = api
        .cos(
            &api.owner(),
            Method::GET,
            &bucket,
            "k",
            &[("x\u{0}y\u{1b}", "1")],
            &[],
            vec![],
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    r.assert_well_formed_xml();
    assert!(
        r.xml("Message")
            .is_some_and(|m| m.contains("x\u{fffd}y\u{fffd}")),
        "{:?}",
        r.xml("Message")
    );
}
