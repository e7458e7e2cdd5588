//! Simple objects: PutObject, GetObject (with Range), HeadObject, DeleteObject, and the
//! streaming of stored bytes shared with the media URLs.

use super::ingest::ingest;
use super::Query;
use crate::body::{self, Body};
use crate::error::{CosCode, CosError};
use crate::router::CosAddress;
use crate::state::AppState;
use crate::store::{ObjectMeta, Segment};
use bytes::BytesMut;
use futures_util::stream;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use vod_protocol::checksum::md5_etag;

/// Bytes read from disk per response frame.
const CHUNK: usize = 256 * 1024;

/// Request headers that become the object's and are echoed on GET/HEAD.
const STORED_HEADERS: &[&str] = &[
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
];

/// The headers of a PUT or Initiate request that the object keeps.
pub fn stored_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let n = name.as_str();
            STORED_HEADERS.contains(&n)
                || n.starts_with("x-cos-meta-")
                || n == "x-cos-storage-class"
        })
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}

/// PutObject. With `lose_write` the bytes are received and acknowledged, then discarded: the
/// key keeps its previous version (or stays absent).
pub async fn put_object<B>(
    state: &AppState,
    addr: &CosAddress,
    headers: &HeaderMap,
    body: B,
    lose_write: bool,
) -> Result<Response<Body>, CosError>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: std::error::Error + 'static,
{
    let store = state.store();
    let got = ingest(store.blobs(), state.ingestion(), headers, body).await?;
    let obj = ObjectMeta {
        bucket: addr.bucket.clone(),
        key: addr.key.clone(),
        size: got.size,
        etag: md5_etag(&got.md5),
        crc64: got.crc64,
        last_modified_ms: state.clock().now_ms(),
        headers: stored_headers(headers),
        segments: vec![Segment {
            blob: got.blob.clone(),
            size: got.size,
        }],
    };
    let mut resp = Response::new(body::empty());
    set_checksums(resp.headers_mut(), &obj);
    if lose_write {
        store.blobs().remove(vec![got.blob]).await;
        return Ok(resp);
    }
    match store.put_object(obj).await {
        Ok(garbage) => {
            store.blobs().remove(garbage).await;
            Ok(resp)
        }
        Err(err) => {
            store.blobs().remove(vec![got.blob]).await;
            Err(err.into())
        }
    }
}

/// GetObject and HeadObject.
pub async fn get_object(
    state: &AppState,
    addr: &CosAddress,
    headers: &HeaderMap,
    query: &Query,
    head: bool,
) -> Result<Response<Body>, CosError> {
    let obj = state
        .store()
        .object(addr.bucket.clone(), addr.key.clone())
        .await?
        .ok_or_else(|| CosError::new(CosCode::NoSuchKey))?;
    let mut resp = object_response(state, &obj, headers, head)?;
    for (param, header) in [
        ("response-content-type", "content-type"),
        ("response-content-language", "content-language"),
        ("response-expires", "expires"),
        ("response-cache-control", "cache-control"),
        ("response-content-disposition", "content-disposition"),
        ("response-content-encoding", "content-encoding"),
    ] {
        if let Some(v) = query.get(param).and_then(|v| HeaderValue::from_str(v).ok()) {
            resp.headers_mut().insert(header, v);
        }
    }
    Ok(resp)
}

/// DeleteObject: 204 whether or not the key existed.
pub async fn delete_object(
    state: &AppState,
    addr: &CosAddress,
) -> Result<Response<Body>, CosError> {
    let store = state.store();
    let garbage = store
        .delete_object(addr.bucket.clone(), addr.key.clone())
        .await?;
    store.blobs().remove(garbage).await;
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

/// The response for a stored object: conditional headers, Range, metadata and streamed bytes.
pub fn object_response(
    state: &AppState,
    obj: &ObjectMeta,
    req_headers: &HeaderMap,
    head: bool,
) -> Result<Response<Body>, CosError> {
    let last_modified =
        UNIX_EPOCH + Duration::from_millis(u64::try_from(obj.last_modified_ms).unwrap_or(0));
    let last_modified_secs =
        UNIX_EPOCH + Duration::from_secs(u64::try_from(obj.last_modified_ms / 1000).unwrap_or(0));
    let header = |name: &str| req_headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(m) = header("if-match") {
        if !etag_matches(m, &obj.etag) {
            return Err(CosError::new(CosCode::PreconditionFailed));
        }
    } else if let Some(t) =
        header("if-unmodified-since").and_then(|v| httpdate::parse_http_date(v).ok())
    {
        if last_modified_secs > t {
            return Err(CosError::new(CosCode::PreconditionFailed));
        }
    }
    let not_modified = match header("if-none-match") {
        Some(m) => etag_matches(m, &obj.etag),
        None => header("if-modified-since")
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|t| last_modified_secs <= t),
    };
    let range = match header("range") {
        Some(r) => parse_range(r, obj.size)?,
        None => None,
    };
    let mut resp = Response::new(body::empty());
    let h = resp.headers_mut();
    for (name, value) in &obj.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
    if !h.contains_key(http::header::CONTENT_TYPE) {
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    set_checksums(h, obj);
    h.insert(
        http::header::ACCEPT_RANGES,
        HeaderValue::from_static("bytes"),
    );
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(last_modified)) {
        h.insert(http::header::LAST_MODIFIED, v);
    }
    if not_modified {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(resp);
    }
    let (start, len) = match range {
        Some((start, end)) => {
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", obj.size)) {
                resp.headers_mut().insert(http::header::CONTENT_RANGE, v);
            }
            (start, end - start + 1)
        }
        None => (0, obj.size),
    };
    resp.headers_mut()
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    if !head {
        *resp.body_mut() = stream_segments(state, &obj.segments, start, len);
    }
    Ok(resp)
}

/// Adds `ETag` and `x-cos-hash-crc64ecma` (decimal).
pub fn set_checksums(h: &mut HeaderMap, obj: &ObjectMeta) {
    if let Ok(v) = HeaderValue::from_str(&obj.etag) {
        h.insert(http::header::ETAG, v);
    }
    h.insert("x-cos-hash-crc64ecma", HeaderValue::from(obj.crc64));
}

fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    list.split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == "*" || t == bare)
}

/// Parses a single `bytes=` range into inclusive `(start, end)`. A header that is not a
/// byte range is ignored (`None`), as S3 does; an unsatisfiable one is `InvalidRange`.
pub(crate) fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, CosError> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || CosError::new(CosCode::InvalidRange);
    let range = match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => {
            let Ok(n) = b.parse::<u64>() else {
                return Ok(None);
            };
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, _) => {
            let Ok(start) = a.parse::<u64>() else {
                return Ok(None);
            };
            let end = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                match b.parse::<u64>() {
                    Ok(end) if end >= start => end.min(size.saturating_sub(1)),
                    _ => return Ok(None),
                }
            };
            if start >= size {
                return Err(unsatisfiable());
            }
            (start, end)
        }
    };
    Ok(Some(range))
}

/// Streams `len` bytes starting at `start` across the segments' blob files, in order.
fn stream_segments(state: &AppState, segments: &[Segment], start: u64, len: u64) -> Body {
    let mut plan: Vec<(PathBuf, u64, u64)> = Vec::new();
    let (mut skip, mut left) = (start, len);
    for seg in segments {
        if left == 0 {
            break;
        }
        if skip >= seg.size {
            skip -= seg.size;
            continue;
        }
        let take = (seg.size - skip).min(left);
        plan.push((state.store().blobs().path(&seg.blob), skip, take));
        left -= take;
        skip = 0;
    }
    struct Reader {
        plan: std::vec::IntoIter<(PathBuf, u64, u64)>,
        current: Option<(tokio::fs::File, u64)>,
    }
    let reader = Reader {
        plan: plan.into_iter(),
        current: None,
    };
    let frames = stream::try_unfold(reader, |mut r| async move {
        loop {
            if let Some((file, remaining)) = r.current.as_mut() {
                if *remaining > 0 {
                    let n = usize::try_from(*remaining).unwrap_or(CHUNK).min(CHUNK);
                    let mut buf = BytesMut::zeroed(n);
                    file.read_exact(&mut buf).await?;
                    *remaining -= n as u64;
                    return Ok(Some((Frame::data(buf.freeze()), r)));
                }
                r.current = None;
            }
            let Some((path, offset, take)) = r.plan.next() else {
                return Ok(None);
            };
            let mut file = tokio::fs::File::open(&path).await?;
            file.seek(std::io::SeekFrom::Start(offset)).await?;
            r.current = Some((file, take));
        }
    });
    BodyExt::boxed(StreamBody::new(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_http_semantics() {
        assert_eq!(parse_range("bytes=0-3", 10), Ok(Some((0, 3))));
        assert_eq!(parse_range("bytes=5-", 10), Ok(Some((5, 9))));
        assert_eq!(parse_range("bytes=-4", 10), Ok(Some((6, 9))));
        assert_eq!(parse_range("bytes=-40", 10), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=8-100", 10), Ok(Some((8, 9))));
        assert_eq!(
            parse_range("bytes=10-", 10).map_err(|e| e.code),
            Err(CosCode::InvalidRange)
        );
        assert_eq!(parse_range("items=0-1", 10), Ok(None));
        assert_eq!(parse_range("bytes=3-1", 10), Ok(None));
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Ok(None));
    }

    #[test]
    fn etag_conditions_ignore_quotes_and_accept_star() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("abc", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\", \"x\"", "\"abc\""));
    }
}
