//! Object integrity values COS reports: the CRC-64 header and ETags.
//!
//! COS's `x-cos-hash-crc64ecma` header is, despite its name, **CRC-64/XZ** (reflected
//! polynomial 0xC96C5795D7870F42, init and xorout all-ones), printed as an unsigned decimal
//! integer, not hex (`docs/protocol/cos-api.md §4.2`; it is what the Python SDK's crcmod setup and
//! Go's `crc64.ECMA` table compute). [`crc64fast`] implements exactly this variant (checked
//! against the standard check value in the tests below).
//!
//! For a multipart object COS reports the CRC of the *whole* concatenated content, which the
//! emulator can get without re-reading the parts: [`crc64_combine`] folds part CRCs left to
//! right, given each later part's length.
//!
//! ETags follow S3: a simple object's ETag is its quoted hex MD5; a multipart object's is
//! the quoted hex MD5 of the concatenated binary part MD5s with `-<part count>` appended
//! (`docs/protocol/cos-api.md §3.13`).

use std::fmt;

pub mod md5;

/// Reflected CRC-64/XZ polynomial (ECMA-182's 0x42F0E1EBA9EA3693, bit-reversed).
const POLY_REFLECTED: u64 = 0xC96C_5795_D787_0F42;

/// A streaming CRC-64/XZ computation, for bodies that arrive in chunks.
#[derive(Clone, Default)]
pub struct Crc64(crc64fast::Digest);

impl Crc64 {
    /// Starts a CRC over no bytes (whose value is 0).
    pub fn new() -> Self {
        Self(crc64fast::Digest::new())
    }

    /// Feeds the next bytes of the object.
    pub fn update(&mut self, data: &[u8]) {
        self.0.write(data);
    }

    /// The CRC of all bytes fed so far; more may still be fed afterwards.
    pub fn finish(&self) -> u64 {
        self.0.sum64()
    }
}

impl fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Crc64").field(&self.finish()).finish()
    }
}

/// CRC-64/XZ of `data` in one call; format it with `{}` for `x-cos-hash-crc64ecma`.
pub fn crc64(data: &[u8]) -> u64 {
    let mut crc = Crc64::new();
    crc.update(data);
    crc.finish()
}

/// Multiplies the 64×64 GF(2) matrix `matrix` (column `i` is the image of bit `i`) by
/// `vector`.
fn gf2_matrix_times(matrix: &[u64; 64], mut vector: u64) -> u64 {
    let mut sum = 0;
    let mut column = 0;
    while vector != 0 {
        if vector & 1 != 0 {
            sum ^= matrix[column];
        }
        vector >>= 1;
        column += 1;
    }
    sum
}

/// `matrix · matrix`.
fn gf2_matrix_square(matrix: &[u64; 64]) -> [u64; 64] {
    let mut square = [0u64; 64];
    for (slot, column) in square.iter_mut().zip(matrix) {
        *slot = gf2_matrix_times(matrix, *column);
    }
    square
}

/// `ZERO_BYTES[k]` advances a CRC through 2^k zero bytes. Built once (64 squarings), so that
/// a combine costs at most 64 matrix-vector products and no squaring: completing a
/// 10,000-part upload folds its CRCs in microseconds instead of the ~0.25 ms per part that
/// squaring afresh on every call cost.
fn zero_byte_operators() -> &'static [[u64; 64]; 64] {
    static OPERATORS: std::sync::OnceLock<[[u64; 64]; 64]> = std::sync::OnceLock::new();
    OPERATORS.get_or_init(|| {
        // Operator for one zero bit, squared three times: one zero byte.
        let mut one_bit = [0u64; 64];
        one_bit[0] = POLY_REFLECTED;
        for (n, slot) in one_bit.iter_mut().enumerate().skip(1) {
            *slot = 1 << (n - 1);
        }
        let mut operators = [[0u64; 64]; 64];
        operators[0] = gf2_matrix_square(&gf2_matrix_square(&gf2_matrix_square(&one_bit)));
        for k in 1..64 {
            operators[k] = gf2_matrix_square(&operators[k - 1]);
        }
        operators
    })
}

/// `crc64_combine(crc(A), crc(B), len(B)) == crc(A‖B)` — zlib's `crc32_combine` GF(2) matrix
/// method adapted to CRC-64/XZ (reflected poly 0xC96C5795D7870F42): advance `crc_a` through
/// `len_b` zero bytes, one precomputed power-of-two operator per set bit of `len_b`, then XOR
/// in `crc_b`. The all-ones init and xorout cancel out, so the inputs and output are plain
/// CRC values.
pub fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    let mut crc = crc_a;
    let mut len = len_b;
    for operator in zero_byte_operators() {
        if len == 0 {
            break;
        }
        if len & 1 != 0 {
            crc = gf2_matrix_times(operator, crc);
        }
        len >>= 1;
    }
    crc ^ crc_b
}

/// ETag of a simple object: `"\"<hex md5>\""` (with quotes)
///
/// Part ETags use the same form; the Python SDK's resume logic compares ListParts ETags to
/// exactly this string, so it must be lowercase and quoted.
pub fn md5_etag(md5: &[u8; 16]) -> String {
    format!("\"{}\"", hex::encode(md5))
}

/// Multipart ETag S3 style: quoted `hex(md5(concat(binary part md5s))) + "-" + N`
///
/// The quotes enclose the whole value including the suffix: `"<hex>-<N>"`.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut hasher = md5::Md5::new();
    for part in part_md5s {
        hasher.update(part);
    }
    format!("\"{}-{}\"", hex::encode(hasher.finalize()), part_md5s.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Bit-at-a-time CRC-64/XZ straight from the parameters, to cross-check `crc64fast`.
    fn bitwise_crc64_xz(data: &[u8]) -> u64 {
        let mut crc = u64::MAX;
        for &byte in data {
            crc ^= u64::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn crc64_is_crc64_xz() {
        assert_eq!(crc64(b"123456789"), 11_051_210_869_376_104_954);
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(b""), 0);
        assert_eq!(crc64(b"hello"), 11_177_612_005_948_864_433);
        let data = vod_testkit::bytes(4096 + 13, 7);
        assert_eq!(crc64(&data), bitwise_crc64_xz(&data));
        assert_eq!(Crc64::default().finish(), 0);
    }

    #[test]
    fn streaming_matches_one_shot() {
        let data = vod_testkit::bytes(10_000, 42);
        let mut crc = Crc64::new();
        for chunk in data.chunks(777) {
            crc.update(chunk);
        }
        assert_eq!(crc.finish(), crc64(&data));
        assert_eq!(format!("{crc:?}"), format!("Crc64({})", crc64(&data)));
    }

    #[test]
    fn combine_equals_crc_of_concatenation() {
        let data = vod_testkit::bytes(5 * 1024 + 3, 0x5eed);
        for split in [
            0,
            1,
            2,
            7,
            8,
            9,
            63,
            64,
            65,
            1000,
            4096,
            data.len() - 1,
            data.len(),
        ] {
            let (a, b) = data.split_at(split);
            assert_eq!(
                crc64_combine(crc64(a), crc64(b), b.len() as u64),
                crc64(&data),
                "split at {split}"
            );
        }
        // Empty A and empty B explicitly.
        assert_eq!(
            crc64_combine(0, crc64(&data), data.len() as u64),
            crc64(&data)
        );
        assert_eq!(crc64_combine(crc64(&data), 0, 0), crc64(&data));
        assert_eq!(crc64_combine(0, 0, 0), 0);
    }

    #[test]
    fn combine_folds_parts_left_to_right() {
        let data = vod_testkit::bytes(3 * 1000 + 1, 99);
        let parts: Vec<&[u8]> = data.chunks(1000).collect();
        let folded = parts.iter().fold(0, |acc, part| {
            crc64_combine(acc, crc64(part), part.len() as u64)
        });
        assert_eq!(folded, crc64(&data));
    }

    #[test]
    fn combine_is_logarithmic() {
        // 2^64 - 1 bytes of B would take forever in O(len); this returns at once.
        let _ = crc64_combine(crc64(b"a"), crc64(b"b"), u64::MAX);
        // And agrees with a direct computation on a long run of zeros.
        let zeros = vec![0u8; 1 << 20];
        assert_eq!(
            crc64_combine(crc64(b"x"), crc64(&zeros), zeros.len() as u64),
            crc64(&[b"x".as_slice(), &zeros].concat())
        );
    }

    #[test]
    fn etags() {
        let md5_of = md5::md5;
        assert_eq!(
            md5_etag(&md5_of(b"")),
            "\"d41d8cd98f00b204e9800998ecf8427e\""
        );
        assert_eq!(
            md5_etag(&md5_of(b"ObjectContent")),
            format!("\"{}\"", hex::encode(md5_of(b"ObjectContent")))
        );

        let p1 = md5_of(b"part one");
        let p2 = md5_of(b"part two");
        let mut concat = Vec::new();
        concat.extend_from_slice(&p1);
        concat.extend_from_slice(&p2);
        let expected = format!("\"{}-2\"", hex::encode(md5_of(&concat)));
        assert_eq!(multipart_etag(&[p1, p2]), expected);

        // Known value: the binary MD5 of "" concatenated with itself.
        let empty = md5_of(b"");
        let twice = md5_of(&[empty, empty].concat());
        assert_eq!(
            multipart_etag(&[empty, empty]),
            format!("\"{}-2\"", hex::encode(twice))
        );
        assert_eq!(
            multipart_etag(&[]),
            "\"d41d8cd98f00b204e9800998ecf8427e-0\""
        );
    }
}
