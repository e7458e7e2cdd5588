//! What a client sees byte for byte: response header names spelled exactly as the service
//! spells them, and refusals that reach a client which writes its whole body before reading.
//!
//! Both are checked on a raw socket ([`crate::raw`]): a client library folds header names to
//! lower case and may survive a reset that Node's `http` does not.

use crate::raw::{self, BodyPlan, RawReply};
use crate::runner::{check, expect_eq, Ctx, Failure};
use crate::MIB;
use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use reqwest::Method;
use serde_json::json;
use vod_client::wire::media::DescribeMediaInfosRequest;
use vod_client::wire::vod::{ApplyUploadRequest, ApplyUploadResponse};
use vod_client::{CosClient, VodClient};

/// The oracle: response header names as the real services write them, with their sources.
const REAL_NAMES: &str = include_str!("../../../fixtures/wire/response-header-names.txt");

fn real_names() -> impl Iterator<Item = &'static str> {
    REAL_NAMES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Every name in `reply` is spelled as in the oracle (user metadata in lower case), and each of
/// `required` is there, spelled exactly.
fn names_as_the_service_writes_them(
    what: &str,
    reply: &RawReply,
    required: &[&str],
) -> Result<(), String> {
    for (name, _) in &reply.headers {
        let metadata = name.starts_with("x-cos-meta-") && *name == name.to_ascii_lowercase();
        if !metadata && !real_names().any(|real| real == name) {
            let spelled = real_names().find(|real| real.eq_ignore_ascii_case(name));
            return Err(match spelled {
                Some(real) => format!("{what}: header `{name}` must be spelled `{real}`"),
                None => format!("{what}: header `{name}` is not one the service sends"),
            });
        }
    }
    for name in required {
        if reply.exact(name).is_none() {
            return Err(format!(
                "{what}: no `{name}` header spelled exactly (got {:?})",
                reply.headers.iter().map(|(n, _)| n).collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

/// One generated round of operations whose answers are inspected.
#[derive(Debug, Clone)]
pub struct NamesCase {
    size: usize,
    metadata: Option<String>,
    range: Option<(usize, usize)>,
    part: usize,
}

fn names_cases() -> impl Strategy<Value = NamesCase> {
    (
        prop_oneof![Just(0usize), Just(1), 2usize..70_000],
        proptest::option::of("[a-z][a-z0-9-]{0,11}"),
        proptest::option::of((0usize..70_000, 0usize..70_000)),
        1usize..5_000,
    )
        .prop_map(|(size, metadata, range, part)| NamesCase {
            size,
            metadata,
            range: range.map(|(a, b)| (a.min(b), a.max(b))),
            part,
        })
}

/// The `header_names` property.
pub fn header_names(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    check(runner, names_cases(), |case| {
        ctx.block_on(header_names_case(ctx, &case))
    })
}

/// A VOD client whose clock has learned the target's (an earlier property may have moved the
/// emulator's): raw requests are signed once and never retried with a corrected time.
async fn synced_vod(ctx: &Ctx<'_>) -> Result<VodClient, String> {
    let vod = ctx.target.vod().map_err(|e| e.to_string())?;
    vod.describe_media_infos(&DescribeMediaInfosRequest {
        file_ids: Some(vec!["1".into()]),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("DescribeMediaInfos: {e}"))?;
    Ok(vod)
}

async fn apply_raw(vod: &VodClient, body: serde_json::Value) -> Result<RawReply, String> {
    let request = vod
        .request("ApplyUpload", body.to_string().into_bytes())
        .map_err(|e| e.to_string())?;
    raw::send(&request).await
}

/// Sends a signed COS request on a raw socket.
async fn cos_raw(
    cos: &CosClient,
    method: Method,
    key: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<RawReply, String> {
    let request = cos
        .request(method, key, query, headers, Bytes::from(body))
        .map_err(|e| e.to_string())?;
    raw::send(&request).await
}

async fn header_names_case(ctx: &Ctx<'_>, case: &NamesCase) -> Result<(), String> {
    let vod = synced_vod(ctx).await?;
    let applied = apply_raw(&vod, json!({"MediaType": "mp4"})).await?;
    names_as_the_service_writes_them(
        "ApplyUpload",
        &applied,
        &["Content-Type", "Content-Length", "Date"],
    )?;
    let refused = apply_raw(&vod, json!({"MediaType": "exe"})).await?;
    names_as_the_service_writes_them(
        "ApplyUpload (refused)",
        &refused,
        &["Content-Type", "Content-Length"],
    )?;
    let session = session_of(&applied)?;
    let cos = ctx
        .target
        .session_cos(&session)
        .map_err(|e| e.to_string())?
        .with_clock(vod.clock().clone());
    let owner = ctx
        .target
        .owner_cos(&session.storage_bucket, &session.storage_region)
        .with_clock(vod.clock().clone());
    let key = session
        .media_storage_path
        .trim_start_matches('/')
        .to_owned();

    let meta_name = case.metadata.as_ref().map(|m| format!("x-cos-meta-{m}"));
    let mut put_headers = vec![("content-type", "video/mp4")];
    if let Some(name) = &meta_name {
        put_headers.push((name.as_str(), "1"));
    }
    let data = crate::properties::round_trip::bytes(case.size as u64, case.size as u64);
    let put = cos_raw(&cos, Method::PUT, &key, &[], &put_headers, data).await?;
    expect_eq("PutObject status", 200, put.status)?;
    let object = [
        "ETag",
        "x-cos-hash-crc64ecma",
        "x-cos-request-id",
        "Content-Length",
        "Date",
        "Server",
    ];
    names_as_the_service_writes_them("PutObject", &put, &object)?;

    let read = [
        "ETag",
        "Content-Length",
        "Content-Type",
        "Last-Modified",
        "x-cos-request-id",
    ];
    let head = cos_raw(&owner, Method::HEAD, &key, &[], &[], vec![]).await?;
    expect_eq("HeadObject status", 200, head.status)?;
    names_as_the_service_writes_them("HeadObject", &head, &read)?;
    if let Some(name) = &meta_name {
        names_as_the_service_writes_them("HeadObject", &head, &[name.as_str()])?;
    }
    let range = case
        .range
        .filter(|&(_, last)| last < case.size)
        .map(|(first, last)| format!("bytes={first}-{last}"));
    let range_header: Vec<(&str, &str)> = range.iter().map(|r| ("range", r.as_str())).collect();
    let get = cos_raw(&owner, Method::GET, &key, &[], &range_header, vec![]).await?;
    let (status, extra) = if range.is_some() {
        (206, "Content-Range")
    } else {
        (200, "ETag")
    };
    expect_eq("GetObject status", status, get.status)?;
    names_as_the_service_writes_them("GetObject", &get, &[&read[..], &[extra]].concat())?;

    let missing = format!("{key}.missing");
    let error = ["x-cos-request-id", "x-cos-trace-id"];
    let get_missing = cos_raw(&owner, Method::GET, &missing, &[], &[], vec![]).await?;
    expect_eq("GetObject of a missing key", 404, get_missing.status)?;
    names_as_the_service_writes_them(
        "GetObject (NoSuchKey)",
        &get_missing,
        &[&error[..], &["Content-Type"]].concat(),
    )?;
    let head_missing = cos_raw(&owner, Method::HEAD, &missing, &[], &[], vec![]).await?;
    names_as_the_service_writes_them("HeadObject (404)", &head_missing, &error)?;

    let initiate = cos_raw(&cos, Method::POST, &key, &[("uploads", "")], &[], vec![]).await?;
    expect_eq("InitiateMultipartUpload status", 200, initiate.status)?;
    names_as_the_service_writes_them(
        "InitiateMultipartUpload",
        &initiate,
        &["Content-Type", "x-cos-request-id"],
    )?;
    let upload_id = xml_element(&initiate.body, "UploadId")?;
    let part_query = [("partNumber", "1"), ("uploadId", upload_id.as_str())];
    let part_data = crate::properties::round_trip::bytes(case.part as u64, 7);
    let part = cos_raw(&cos, Method::PUT, &key, &part_query, &[], part_data).await?;
    expect_eq("UploadPart status", 200, part.status)?;
    names_as_the_service_writes_them(
        "UploadPart",
        &part,
        &["ETag", "x-cos-hash-crc64ecma", "x-cos-request-id"],
    )?;
    let etag = part.exact("ETag").unwrap_or_default().to_owned();
    let upload = [("uploadId", upload_id.as_str())];
    let list = cos_raw(&cos, Method::GET, &key, &upload, &[], vec![]).await?;
    names_as_the_service_writes_them("ListParts", &list, &["Content-Type", "x-cos-request-id"])?;
    let complete_body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let complete = cos_raw(
        &cos,
        Method::POST,
        &key,
        &upload,
        &[],
        complete_body.into_bytes(),
    )
    .await?;
    expect_eq("CompleteMultipartUpload status", 200, complete.status)?;
    names_as_the_service_writes_them(
        "CompleteMultipartUpload",
        &complete,
        &["Content-Type", "x-cos-hash-crc64ecma", "x-cos-request-id"],
    )
}

fn session_of(reply: &RawReply) -> Result<ApplyUploadResponse, String> {
    let envelope: serde_json::Value =
        serde_json::from_slice(&reply.body).map_err(|e| format!("ApplyUpload body: {e}"))?;
    serde_json::from_value(envelope["Response"].clone())
        .map_err(|e| format!("ApplyUpload answer: {e}: {envelope}"))
}

fn xml_element(body: &[u8], element: &str) -> Result<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split(&format!("<{element}>"))
        .nth(1)
        .and_then(|rest| rest.split(&format!("</{element}>")).next())
        .map(str::to_owned)
        .ok_or_else(|| format!("no <{element}> in {text}"))
}

/// How a generated request is refused before its body is read.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// No Authorization: 403 AccessDenied.
    Unsigned,
    /// A signature that does not match: 403 SignatureDoesNotMatch.
    BadSignature,
    /// UploadPart to an upload that does not exist: 404 NoSuchUpload.
    UnknownUpload,
}

impl Refusal {
    fn expected(self) -> (u16, &'static str) {
        match self {
            Refusal::Unsigned => (403, "AccessDenied"),
            Refusal::BadSignature => (403, "SignatureDoesNotMatch"),
            Refusal::UnknownUpload => (404, "NoSuchUpload"),
        }
    }
}

/// One refused request: its body size and whether it asks for `100 Continue` first.
#[derive(Debug, Clone, Copy)]
pub struct RefusalCase {
    refusal: Refusal,
    len: u64,
    expect_continue: bool,
}

fn refusal_cases() -> impl Strategy<Value = RefusalCase> {
    let len = prop_oneof![
        Just(0u64),
        Just(1),
        Just(64 * 1024),
        Just(MIB),
        Just(5 * MIB),
        Just(20 * MIB),
        0u64..=20 * MIB,
    ];
    let refusal = prop_oneof![
        Just(Refusal::Unsigned),
        Just(Refusal::BadSignature),
        Just(Refusal::UnknownUpload),
    ];
    (refusal, len, any::<bool>()).prop_map(|(refusal, len, expect_continue)| RefusalCase {
        refusal,
        len,
        expect_continue,
    })
}

/// The `refusals_reach_the_client` property.
pub fn refusals_reach_the_client(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    check(runner, refusal_cases(), |case| {
        ctx.block_on(refusal_case(ctx, case))
    })
}

async fn refusal_case(ctx: &Ctx<'_>, case: RefusalCase) -> Result<(), String> {
    let vod = synced_vod(ctx).await?;
    let session = vod
        .apply_upload(&ApplyUploadRequest {
            media_type: Some("mp4".into()),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("ApplyUpload: {e}"))?;
    let cos = ctx
        .target
        .session_cos(&session)
        .map_err(|e| e.to_string())?
        .with_clock(vod.clock().clone());
    let key = session.media_storage_path.trim_start_matches('/');
    let query: &[(&str, &str)] = match case.refusal {
        Refusal::UnknownUpload => &[("partNumber", "1"), ("uploadId", "no-such-upload")],
        Refusal::Unsigned | Refusal::BadSignature => &[],
    };
    let mut request = cos
        .request(Method::PUT, key, query, &[], Bytes::new())
        .map_err(|e| e.to_string())?;
    let headers = request.headers_mut();
    match case.refusal {
        Refusal::Unsigned => {
            headers.remove(reqwest::header::AUTHORIZATION);
        }
        Refusal::BadSignature => {
            let signed = headers
                .get(reqwest::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let forged = match signed.rsplit_once("q-signature=") {
                Some((rest, _)) => format!("{rest}q-signature={}", "0".repeat(40)),
                None => signed.to_owned(),
            };
            let value =
                reqwest::header::HeaderValue::from_str(&forged).map_err(|e| e.to_string())?;
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        Refusal::UnknownUpload => {}
    }
    let plan = BodyPlan {
        len: case.len,
        expect_continue: case.expect_continue,
    };
    let reply = raw::send_body(&request, plan).await?;
    let (status, code) = case.refusal.expected();
    expect_eq("status of the refusal", status, reply.status)?;
    let body = String::from_utf8_lossy(&reply.body);
    if !body.contains(&format!("<Code>{code}</Code>")) {
        return Err(format!(
            "the refusal carries no <Code>{code}</Code>: {body}"
        ));
    }
    Ok(())
}
