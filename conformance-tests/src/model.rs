//! The reference model of multipart uploads: what a correct COS answers, as pure data.
//!
//! The multipart property runs the same operations against the model and the endpoint and
//! compares every answer. The model is an oracle independent of the code under test: its ETags
//! and CRC-64s are computed here from the bytes with `md-5` and `crc64fast` directly, never with
//! `vod_protocol::checksum`, which the emulator and the client share.

use md5::{Digest, Md5};
use std::collections::BTreeMap;

/// COS's smallest part (all but the last).
pub const MIN_PART: u64 = 1024 * 1024;

/// A stored part as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartModel {
    /// Bytes.
    pub size: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// The bytes themselves, for the object's CRC-64 computed over them whole.
    pub bytes: Vec<u8>,
}

/// S3's multipart ETag: the MD5 of the parts' MD5s, then `-` and the part count, quoted.
pub fn multipart_etag(md5s: &[[u8; 16]]) -> String {
    let mut all = Md5::new();
    for md5 in md5s {
        all.update(md5);
    }
    format!("\"{}-{}\"", hex::encode(all.finalize()), md5s.len())
}

/// CRC-64/XZ (`x-cos-hash-crc64ecma`) of `bytes`.
pub fn crc64(bytes: &[u8]) -> u64 {
    let mut digest = crc64fast::Digest::new();
    digest.write(bytes);
    digest.sum64()
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
                Some(p) if *etag_ok => chosen.push(p),
                _ => return CompleteExpectation::Refused("InvalidPart"),
            }
        }
        if chosen[..chosen.len() - 1].iter().any(|p| p.size < MIN_PART) {
            return CompleteExpectation::Refused("EntityTooSmall");
        }
        let md5s: Vec<[u8; 16]> = chosen.iter().map(|p| p.md5).collect();
        let whole: Vec<u8> = chosen
            .iter()
            .flat_map(|p| p.bytes.iter().copied())
            .collect();
        CompleteExpectation::Ok {
            etag: multipart_etag(&md5s),
            crc64: crc64(&whole),
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
            bytes: vec![size as u8; size as usize],
        }
    }

    /// The oracle's checksums against literal vectors computed apart: CRC-64/XZ("123456789")
    /// is the catalogue's check value 0x995DC9BBDF1939FA; the ETag of parts "hello" and "world"
    /// is md5(md5("hello") ‖ md5("world")) with its part count (Python hashlib).
    #[test]
    fn the_oracle_matches_published_vectors() {
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(b"helloworld"), 10_826_451_443_916_115_081);
        let md5 = |b: &[u8]| -> [u8; 16] { Md5::digest(b).into() };
        assert_eq!(
            multipart_etag(&[md5(b"hello"), md5(b"world")]),
            "\"065947336a2f2a95ba8899f3675c3be6-2\""
        );
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
