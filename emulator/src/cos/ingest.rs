//! Streams a request body to a blob file while computing MD5 and CRC-64 on the fly.
//!
//! The body is never held whole in memory: each frame is hashed and written, then dropped. A
//! body that is too large, truncated, or whose Content-MD5 does not match leaves nothing behind.

use crate::error::{CosCode, CosError};
use crate::store::Blobs;
use base64::Engine;
use http::HeaderMap;
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use vod_client::checksum::Crc64;

/// Largest single PUT or part: 5 GiB.
pub const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// A body safely on disk.
#[derive(Debug)]
pub struct Ingested {
    /// Blob name.
    pub blob: String,
    /// Bytes received.
    pub size: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// CRC-64/XZ of the bytes.
    pub crc64: u64,
}

/// Reads `body` into a new blob, checking size limits and `Content-MD5`.
pub async fn ingest<B>(blobs: &Blobs, headers: &HeaderMap, body: B) -> Result<Ingested, CosError>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let declared = match headers.get(http::header::CONTENT_LENGTH) {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| {
                    CosError::with_message(CosCode::InvalidArgument, "invalid Content-Length")
                })?,
        ),
        None => None,
    };
    if declared.is_some_and(|n| n > MAX_OBJECT_BYTES) {
        return Err(CosError::new(CosCode::EntityTooLarge));
    }
    let expected_md5 = match headers.get("content-md5") {
        Some(v) => Some(parse_content_md5(v.as_bytes())?),
        None => None,
    };
    let mut body = body;
    let mut writer = blobs.create().await?;
    let mut md5 = Md5::new();
    let mut crc = Crc64::new();
    let mut size: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            CosError::with_message(
                CosCode::IncompleteBody,
                format!("the request body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size += data.len() as u64;
        if size > MAX_OBJECT_BYTES {
            return Err(CosError::new(CosCode::EntityTooLarge));
        }
        md5.update(&data);
        crc.update(&data);
        writer.write(&data).await?;
    }
    if declared.is_some_and(|n| n != size) {
        return Err(CosError::new(CosCode::IncompleteBody));
    }
    let md5: [u8; 16] = md5.finalize().into();
    if expected_md5.is_some_and(|e| e != md5) {
        return Err(CosError::new(CosCode::BadDigest));
    }
    let blob = writer.finish().await?;
    Ok(Ingested {
        blob,
        size,
        md5,
        crc64: crc.finish(),
    })
}

/// `Content-MD5`: base64 of exactly 16 bytes.
fn parse_content_md5(value: &[u8]) -> Result<[u8; 16], CosError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| CosError::new(CosCode::InvalidDigest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_must_be_base64_of_sixteen_bytes() {
        assert_eq!(
            parse_content_md5(b"mQ/fVh815F3k6TAUm8m0eg==").map(|m| m[0]),
            Ok(0x99)
        );
        assert_eq!(
            parse_content_md5(b"not base64!").map_err(|e| e.code),
            Err(CosCode::InvalidDigest)
        );
        assert_eq!(
            parse_content_md5(b"AAAA").map_err(|e| e.code),
            Err(CosCode::InvalidDigest)
        );
    }
}
