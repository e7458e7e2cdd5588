//! Multipart uploads: Initiate, UploadPart, Complete, Abort, ListParts, ListMultipartUploads.
//!
//! Completing never copies bytes: the object becomes the ordered list of its parts' blobs. The
//! checks on Complete (order, presence, ETags, minimum part size) are a pure function,
//! [`assemble`], run inside the store's transaction so a refused Complete changes nothing.

use super::auth::Principal;
use super::ingest::ingest;
use super::object::{set_checksums, stored_headers};
use super::{iso_ms, xml_response, xml_text, Query};
use crate::body::{self, Body};
use crate::error::{CosCode, CosError};
use crate::router::CosAddress;
use crate::state::AppState;
use crate::store::{ObjectMeta, Part, Segment, Upload};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use vod_protocol::checksum::{crc64_combine, md5_etag, multipart_etag};
use vod_protocol::wire::cos::{
    from_xml, CommonPrefix, CompleteMultipartUpload, CompleteMultipartUploadResult,
    InitiateMultipartUploadResult, ListMultipartUploadsResult, ListPartsResult, ListedPart,
    ListedUpload, Principal as XmlPrincipal,
};

pub use vod_protocol::wire::cos::{MAX_PARTS, MIN_PART_BYTES};
/// Largest CompleteMultipartUpload body accepted.
const MAX_COMPLETE_BODY: usize = 4 * 1024 * 1024;
/// Page size limit of both listings.
const MAX_PAGE: u32 = 1000;

/// InitiateMultipartUpload.
pub async fn initiate(
    state: &AppState,
    addr: &CosAddress,
    headers: &HeaderMap,
) -> Result<Response<Body>, CosError> {
    let now_ms = state.clock().now_ms();
    let storage_class = headers
        .get("x-cos-storage-class")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("STANDARD")
        .to_ascii_uppercase();
    let upload = Upload {
        upload_id: state.ids().upload_id(now_ms / 1000),
        bucket: addr.bucket.clone(),
        key: addr.key.clone(),
        initiated_ms: now_ms,
        headers: stored_headers(headers),
        storage_class,
    };
    let result = InitiateMultipartUploadResult {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        upload_id: upload.upload_id.clone(),
    };
    state.store().insert_upload(upload).await?;
    xml_response(&result)
}

/// The upload named by the request, which must be for the request's object.
async fn live_upload(
    state: &AppState,
    addr: &CosAddress,
    upload_id: &str,
) -> Result<Upload, CosError> {
    state
        .store()
        .upload(upload_id.to_owned())
        .await?
        .filter(|u| u.bucket == addr.bucket && u.key == addr.key)
        .ok_or_else(|| CosError::new(CosCode::NoSuchUpload))
}

/// Which part an UploadPart request carries, and whether to lose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartUpload {
    /// 1..=10000.
    pub part_number: u32,
    /// The upload.
    pub upload_id: String,
    /// Acknowledge the part but do not keep it (the previous part of that number, if any,
    /// stays).
    pub lose_write: bool,
}

/// UploadPart.
pub async fn upload_part<B>(
    state: &AppState,
    addr: &CosAddress,
    headers: &HeaderMap,
    body: B,
    part: PartUpload,
) -> Result<Response<Body>, CosError>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: std::error::Error + 'static,
{
    let PartUpload {
        part_number,
        upload_id,
        lose_write,
    } = part;
    live_upload(state, addr, &upload_id).await?;
    let store = state.store();
    let got = ingest(store.blobs(), state.ingestion(), headers, body).await?;
    let part = Part {
        part_number,
        size: got.size,
        etag: md5_etag(&got.md5),
        crc64: got.crc64,
        blob: got.blob.clone(),
        last_modified_ms: state.clock().now_ms(),
    };
    let mut resp = Response::new(body::empty());
    resp.headers_mut().insert(
        http::header::ETAG,
        http::HeaderValue::from_str(&part.etag)
            .map_err(|_| CosError::new(CosCode::InternalError))?,
    );
    resp.headers_mut()
        .insert("x-cos-hash-crc64ecma", http::HeaderValue::from(part.crc64));
    if lose_write {
        store.blobs().remove(vec![got.blob]).await;
        return Ok(resp);
    }
    match store.put_part(upload_id, part).await {
        Ok(Some(replaced)) => {
            store.blobs().remove(replaced).await;
            Ok(resp)
        }
        Ok(None) => {
            store.blobs().remove(vec![got.blob]).await;
            Err(CosError::new(CosCode::NoSuchUpload))
        }
        Err(err) => {
            store.blobs().remove(vec![got.blob]).await;
            Err(err.into())
        }
    }
}

/// Checks a Complete request against the stored parts and builds the object from them.
pub fn assemble(
    upload: &Upload,
    stored: &[Part],
    requested: &CompleteMultipartUpload,
    now_ms: i64,
) -> Result<ObjectMeta, CosError> {
    if requested.parts.is_empty() {
        return Err(CosError::with_message(
            CosCode::MalformedXML,
            "CompleteMultipartUpload must list at least one part",
        ));
    }
    if requested
        .parts
        .windows(2)
        .any(|w| w[0].part_number >= w[1].part_number)
    {
        return Err(CosError::new(CosCode::InvalidPartOrder));
    }
    let mut chosen: Vec<&Part> = Vec::with_capacity(requested.parts.len());
    for want in &requested.parts {
        let part = stored
            .iter()
            .find(|p| p.part_number == want.part_number)
            .ok_or_else(|| {
                CosError::with_message(
                    CosCode::InvalidPart,
                    format!("part {} was not uploaded", want.part_number),
                )
            })?;
        if !want
            .etag
            .trim()
            .trim_matches('"')
            .eq_ignore_ascii_case(part.etag.trim_matches('"'))
        {
            return Err(CosError::with_message(
                CosCode::InvalidPart,
                format!("the ETag of part {} does not match", want.part_number),
            ));
        }
        chosen.push(part);
    }
    if let Some(small) = chosen[..chosen.len() - 1]
        .iter()
        .find(|p| p.size < MIN_PART_BYTES)
    {
        return Err(CosError::with_message(
            CosCode::EntityTooSmall,
            format!(
                "part {} is {} bytes; every part but the last must be at least {MIN_PART_BYTES}",
                small.part_number, small.size
            ),
        ));
    }
    let mut md5s = Vec::with_capacity(chosen.len());
    for p in &chosen {
        let bytes = hex::decode(p.etag.trim_matches('"'))
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| CosError::new(CosCode::InternalError))?;
        md5s.push(bytes);
    }
    let crc64 = chosen
        .iter()
        .fold(0, |acc, p| crc64_combine(acc, p.crc64, p.size));
    Ok(ObjectMeta {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        size: chosen.iter().map(|p| p.size).sum(),
        etag: multipart_etag(&md5s),
        crc64,
        last_modified_ms: now_ms,
        headers: upload.headers.clone(),
        segments: chosen
            .iter()
            .map(|p| Segment {
                blob: p.blob.clone(),
                size: p.size,
            })
            .collect(),
    })
}

/// CompleteMultipartUpload. With `lose_write` the request is checked and answered as a
/// success, but the upload stays in progress and no object appears.
pub async fn complete<B>(
    state: &AppState,
    addr: &CosAddress,
    body: B,
    upload_id: String,
    lose_write: bool,
) -> Result<Response<Body>, CosError>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    live_upload(state, addr, &upload_id).await?;
    let bytes = Limited::new(body, MAX_COMPLETE_BODY)
        .collect()
        .await
        .map_err(|e| {
            if crate::body::timed_out(&*e) {
                CosError::new(CosCode::RequestTimeout)
            } else {
                CosError::with_message(
                    CosCode::MalformedXML,
                    "the request body could not be read or is too large",
                )
            }
        })?
        .to_bytes();
    let xml = std::str::from_utf8(&bytes)
        .map_err(|_| CosError::with_message(CosCode::MalformedXML, "the body is not UTF-8"))?;
    let requested: CompleteMultipartUpload = from_xml(xml).map_err(|e| {
        CosError::with_message(CosCode::MalformedXML, format!("the XML is malformed: {e}"))
    })?;
    let now_ms = state.clock().now_ms();
    let store = state.store();
    let (obj, garbage) = store
        .complete_upload(upload_id, !lose_write, move |upload, parts| {
            assemble(upload, parts, &requested, now_ms)
        })
        .await?
        .ok_or_else(|| CosError::new(CosCode::NoSuchUpload))?;
    store.blobs().remove(garbage).await;
    let host = addr.region.as_deref().unwrap_or(&state.config().region);
    let result = CompleteMultipartUploadResult {
        location: format!("{}.cos.{host}.myqcloud.com/{}", obj.bucket, obj.key),
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        etag: obj.etag.clone(),
    };
    let mut resp = xml_response(&result)?;
    set_checksums(resp.headers_mut(), &obj);
    Ok(resp)
}

/// AbortMultipartUpload.
pub async fn abort(
    state: &AppState,
    addr: &CosAddress,
    upload_id: String,
) -> Result<Response<Body>, CosError> {
    live_upload(state, addr, &upload_id).await?;
    let store = state.store();
    let blobs = store
        .abort_upload(upload_id)
        .await?
        .ok_or_else(|| CosError::new(CosCode::NoSuchUpload))?;
    store.blobs().remove(blobs).await;
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(resp)
}

fn owner(state: &AppState) -> XmlPrincipal {
    let uin = state.config().app_id.to_string();
    XmlPrincipal {
        id: format!("qcs::cam::uin/{uin}:uin/{uin}"),
        display_name: uin,
    }
}

fn page_size(query: &Query, name: &str) -> Result<u32, CosError> {
    match query.get_nonempty(name) {
        None => Ok(MAX_PAGE),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .map(|n| n.min(MAX_PAGE))
            .ok_or_else(|| {
                CosError::with_message(
                    CosCode::InvalidArgument,
                    format!("{name} must be an integer"),
                )
            }),
    }
}

fn url_encoded(query: &Query) -> Result<bool, CosError> {
    match query.get_nonempty("encoding-type") {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(_) => Err(CosError::with_message(
            CosCode::InvalidArgument,
            "encoding-type must be `url`",
        )),
    }
}

fn encode_if(url: bool, s: &str) -> String {
    if url {
        vod_protocol::sign::cos::cos_encode(s)
    } else {
        s.to_owned()
    }
}

/// ListParts.
pub async fn list_parts(
    state: &AppState,
    addr: &CosAddress,
    query: &Query,
    upload_id: String,
) -> Result<Response<Body>, CosError> {
    let upload = live_upload(state, addr, &upload_id).await?;
    let max_parts = page_size(query, "max-parts")?;
    let url = url_encoded(query)?;
    let marker = match query.get_nonempty("part-number-marker") {
        None => 0,
        Some(v) => v.parse::<u32>().map_err(|_| {
            CosError::with_message(
                CosCode::InvalidArgument,
                "part-number-marker must be an integer",
            )
        })?,
    };
    let parts = state.store().parts(upload_id).await?;
    let after: Vec<&Part> = parts.iter().filter(|p| p.part_number > marker).collect();
    let is_truncated = after.len() > max_parts as usize;
    let page: Vec<ListedPart> = after
        .into_iter()
        .take(max_parts as usize)
        .map(|p| ListedPart {
            part_number: p.part_number,
            last_modified: iso_ms(p.last_modified_ms),
            etag: p.etag.clone(),
            size: p.size,
        })
        .collect();
    let who = owner(state);
    xml_response(&ListPartsResult {
        bucket: upload.bucket,
        encoding_type: url.then(|| "url".to_owned()),
        key: encode_if(url, &upload.key),
        upload_id: upload.upload_id,
        initiator: who.clone(),
        owner: who,
        storage_class: upload.storage_class,
        part_number_marker: marker,
        next_part_number_marker: page.last().map_or(marker, |p| p.part_number),
        max_parts,
        is_truncated,
        parts: page,
    })
}

/// ListMultipartUploads. Empty list options mean "not set" (the Python SDK sends them all).
pub async fn list_uploads(
    state: &AppState,
    addr: &CosAddress,
    query: &Query,
    _principal: &Principal,
) -> Result<Response<Body>, CosError> {
    let max_uploads = page_size(query, "max-uploads")?;
    let url = url_encoded(query)?;
    let prefix = query.get_nonempty("prefix").unwrap_or("").to_owned();
    let delimiter = query.get_nonempty("delimiter").unwrap_or("").to_owned();
    let key_marker = query.get_nonempty("key-marker").unwrap_or("").to_owned();
    let id_marker = query
        .get_nonempty("upload-id-marker")
        .unwrap_or("")
        .to_owned();
    if !url {
        xml_text("prefix (send encoding-type=url)", &prefix)?;
        xml_text("delimiter (send encoding-type=url)", &delimiter)?;
        xml_text("key-marker (send encoding-type=url)", &key_marker)?;
    }
    xml_text("upload-id-marker", &id_marker)?;
    let uploads = state
        .store()
        .uploads(addr.bucket.clone(), prefix.clone())
        .await?;
    let after_marker = uploads.into_iter().filter(|u| {
        key_marker.is_empty()
            || u.key > key_marker
            || (u.key == key_marker && !id_marker.is_empty() && u.upload_id > id_marker)
    });
    let who = owner(state);
    let mut listed = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut is_truncated = false;
    let (mut next_key, mut next_id) = (String::new(), String::new());
    for u in after_marker {
        let grouped = (!delimiter.is_empty())
            .then(|| {
                u.key[prefix.len()..]
                    .find(&delimiter)
                    .map(|i| u.key[..prefix.len() + i + delimiter.len()].to_owned())
            })
            .flatten();
        if let Some(p) = &grouped {
            if prefixes.last() == Some(p) {
                continue;
            }
        }
        if listed.len() + prefixes.len() == max_uploads as usize {
            is_truncated = true;
            break;
        }
        next_key = u.key.clone();
        next_id = u.upload_id.clone();
        match grouped {
            Some(p) => prefixes.push(p),
            None => listed.push(ListedUpload {
                key: encode_if(url, &u.key),
                upload_id: u.upload_id,
                storage_class: u.storage_class,
                initiator: who.clone(),
                owner: who.clone(),
                initiated: iso_ms(u.initiated_ms),
            }),
        }
    }
    xml_response(&ListMultipartUploadsResult {
        bucket: addr.bucket.clone(),
        encoding_type: url.then(|| "url".to_owned()),
        key_marker: encode_if(url, &key_marker),
        upload_id_marker: id_marker,
        next_key_marker: encode_if(url, &next_key),
        next_upload_id_marker: next_id,
        max_uploads,
        is_truncated,
        prefix: encode_if(url, &prefix),
        delimiter: encode_if(url, &delimiter),
        uploads: listed,
        common_prefixes: prefixes
            .into_iter()
            .map(|p| CommonPrefix {
                prefix: encode_if(url, &p),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vod_protocol::checksum::crc64;
    use vod_protocol::wire::cos::CompletePart;

    fn upload() -> Upload {
        Upload {
            upload_id: "u".into(),
            bucket: "b-1".into(),
            key: "k".into(),
            initiated_ms: 0,
            headers: vec![],
            storage_class: "STANDARD".into(),
        }
    }

    fn part(n: u32, data: &[u8]) -> Part {
        let md5 = vod_protocol::checksum::md5::md5(data);
        Part {
            part_number: n,
            size: data.len() as u64,
            etag: md5_etag(&md5),
            crc64: crc64(data),
            blob: format!("blob{n}"),
            last_modified_ms: 0,
        }
    }

    fn ask(parts: &[&Part]) -> CompleteMultipartUpload {
        CompleteMultipartUpload {
            parts: parts
                .iter()
                .map(|p| CompletePart {
                    part_number: p.part_number,
                    etag: p.etag.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn assembled_object_has_combined_crc_and_multipart_etag() {
        let a = vec![1u8; MIN_PART_BYTES as usize];
        let b = b"tail".to_vec();
        let (p1, p2) = (part(1, &a), part(2, &b));
        let obj = assemble(&upload(), &[p1.clone(), p2.clone()], &ask(&[&p1, &p2]), 5)
            .unwrap_or_else(|e| panic!("{e}"));
        let whole = [a.as_slice(), b.as_slice()].concat();
        assert_eq!(obj.crc64, crc64(&whole));
        assert_eq!(obj.size, whole.len() as u64);
        assert!(obj.etag.ends_with("-2\""));
        assert_eq!(obj.segments.len(), 2);
    }

    #[test]
    fn complete_refuses_bad_lists() {
        let big = vec![7u8; MIN_PART_BYTES as usize];
        let (p1, p2, small) = (part(1, &big), part(2, &big), part(1, b"x"));
        let stored = [p1.clone(), p2.clone()];
        let code = |r: Result<ObjectMeta, CosError>| r.map(|_| ()).map_err(|e| e.code);
        assert_eq!(
            code(assemble(&upload(), &stored, &ask(&[&p2, &p1]), 0)),
            Err(CosCode::InvalidPartOrder)
        );
        assert_eq!(
            code(assemble(&upload(), &stored, &ask(&[]), 0)),
            Err(CosCode::MalformedXML)
        );
        let mut wrong = ask(&[&p1]);
        wrong.parts[0].etag = "\"00\"".into();
        assert_eq!(
            code(assemble(&upload(), &stored, &wrong, 0)),
            Err(CosCode::InvalidPart)
        );
        let p3 = part(3, b"z");
        assert_eq!(
            code(assemble(&upload(), &stored, &ask(&[&p1, &p3]), 0)),
            Err(CosCode::InvalidPart)
        );
        let p2b = part(2, b"y");
        assert_eq!(
            code(assemble(
                &upload(),
                &[small.clone(), p2b.clone()],
                &ask(&[&small, &p2b]),
                0
            )),
            Err(CosCode::EntityTooSmall)
        );
        assert_eq!(code(assemble(&upload(), &stored, &ask(&[&p1]), 0)), Ok(()));
    }
}
