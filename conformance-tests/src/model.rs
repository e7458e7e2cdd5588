//! The reference model of multipart uploads: what a correct COS answers, as pure data.
//!
//! The multipart property runs the same operations against the model and the endpoint and
//! compares every answer.

use std::collections::BTreeMap;
use vod_client::checksum::{crc64_combine, multipart_etag};

/// COS's smallest part (all but the last).
pub const MIN_PART: u64 = 1024 * 1024;

/// A stored part as the model knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartModel {
    /// Bytes.
    pub size: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// CRC-64/XZ of the bytes.
    pub crc64: u64,
}

/// One upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadModel {
    /// Object key.
    pub key: String,
    /// Whether it can still take parts (not completed or aborted).
    pub live: bool,
    /// Parts by number.
    pub parts: BTreeMap<u32, PartModel>,
}

/// What a Complete with this part list should answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompleteExpectation {
    /// Success with this ETag and CRC-64.
    Ok {
        /// Multipart ETag.
        etag: String,
        /// Combined CRC-64.
        crc64: u64,
    },
    /// Refusal with this COS code.
    Refused(&'static str),
}

impl UploadModel {
    /// A fresh upload of `key`.
    pub fn new(key: String) -> Self {
        Self {
            key,
            live: true,
            parts: BTreeMap::new(),
        }
    }

    /// What Complete with `(number, etag-is-correct)` in the given order must answer.
    pub fn expect_complete(&self, listed: &[(u32, bool)]) -> CompleteExpectation {
        if !self.live {
            return CompleteExpectation::Refused("NoSuchUpload");
        }
        if listed.is_empty() {
            return CompleteExpectation::Refused("MalformedXML");
        }
        if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
            return CompleteExpectation::Refused("InvalidPartOrder");
        }
        let mut chosen = Vec::with_capacity(listed.len());
        for (n, etag_ok) in listed {
            match self.parts.get(n) {
                Some(p) if *etag_ok => chosen.push(*p),
                _ => return CompleteExpectation::Refused("InvalidPart"),
            }
        }
        if chosen[..chosen.len() - 1].iter().any(|p| p.size < MIN_PART) {
            return CompleteExpectation::Refused("EntityTooSmall");
        }
        let md5s: Vec<[u8; 16]> = chosen.iter().map(|p| p.md5).collect();
        CompleteExpectation::Ok {
            etag: multipart_etag(&md5s),
            crc64: chosen
                .iter()
                .fold(0, |acc, p| crc64_combine(acc, p.crc64, p.size)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(size: u64) -> PartModel {
        PartModel {
            size,
            md5: [size as u8; 16],
            crc64: size,
        }
    }

    #[test]
    fn the_model_refuses_what_cos_refuses() {
        let mut u = UploadModel::new("k".into());
        u.parts.insert(1, part(MIN_PART));
        u.parts.insert(2, part(10));
        assert!(matches!(
            u.expect_complete(&[(1, true), (2, true)]),
            CompleteExpectation::Ok { .. }
        ));
        assert_eq!(
            u.expect_complete(&[(2, true), (1, true)]),
            CompleteExpectation::Refused("InvalidPartOrder")
        );
        assert_eq!(
            u.expect_complete(&[(1, false)]),
            CompleteExpectation::Refused("InvalidPart")
        );
        assert_eq!(
            u.expect_complete(&[(3, true)]),
            CompleteExpectation::Refused("InvalidPart")
        );
        assert_eq!(
            u.expect_complete(&[]),
            CompleteExpectation::Refused("MalformedXML")
        );
        u.parts.insert(1, part(5));
        assert_eq!(
            u.expect_complete(&[(1, true), (2, true)]),
            CompleteExpectation::Refused("EntityTooSmall")
        );
        u.live = false;
        assert_eq!(
            u.expect_complete(&[(1, true)]),
            CompleteExpectation::Refused("NoSuchUpload")
        );
    }
}
