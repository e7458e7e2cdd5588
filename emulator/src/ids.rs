//! Identifiers the emulator mints: request ids, session keys, upload ids, credentials.
//!
//! They look like the real service's (shapes in docs/protocol/vod-api.md §2.1, §3.2, §4.2
//! and docs/protocol/cos-api.md §3.6) so clients that log or parse them behave the same.
//! All randomness comes from one seeded [`Ids`] generator (`--seed`, or a seed picked at
//! start-up): the same requests in the same order get the same identifiers; FileIds come from
//! the store's counter so they are unique and repeatable either way.

use base64::Engine;
use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Mutex, PoisonError};

/// The source of every random identifier.
#[derive(Debug)]
pub struct Ids {
    // A std mutex: held only to draw a few bytes, never across an `.await`.
    rng: Mutex<StdRng>,
}

impl Ids {
    /// A generator drawing from `seed`: the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Restarts the sequence from `seed` (after a reset).
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(PoisonError::into_inner) = StdRng::seed_from_u64(seed);
    }

    fn with<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut self.rng.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A TC API request id: a UUID v4 string.
    pub fn request_id(&self) -> String {
        let bytes: [u8; 16] = self.with(|r| r.random());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A COS `x-cos-request-id`: base64 of random bytes, as real COS sends.
    pub fn cos_request_id(&self) -> String {
        let bytes: [u8; 27] = self.with(|r| r.random());
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A VodSessionKey: long, base64-ish, may contain `/` and `+` like the real ones.
    pub fn session_key(&self) -> String {
        let bytes: [u8; 48] = self.with(|r| r.random());
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// `n` random ASCII letters and digits.
    pub fn alphanumeric(&self, n: usize) -> String {
        self.with(|r| {
            r.sample_iter(&Alphanumeric)
                .take(n)
                .map(char::from)
                .collect()
        })
    }

    /// Eight lowercase hex digits.
    pub fn hex8(&self) -> String {
        format!("{:08x}", self.with(|r| r.random::<u32>()))
    }

    /// A multipart UploadId: a Unix timestamp followed by hex, like COS's.
    pub fn upload_id(&self, now: i64) -> String {
        let tail: [u8; 32] = self.with(|r| r.random());
        format!("{now}{}", hex::encode(tail))
    }

    /// An EventHandle: 20 decimal digits, like the real ones.
    pub fn event_handle(&self) -> String {
        format!("{:020}", self.with(|r| r.random::<u64>()))
    }

    /// A task-flow TaskId: `{AppId}-procedurev2-{hex}tt0`, like the real ones.
    pub fn task_id(&self, app_id: u64) -> String {
        let tail: [u8; 16] = self.with(|r| r.random());
        format!("{app_id}-procedurev2-{}tt0", hex::encode(tail))
    }
}

/// The COS trace id of an error (`x-cos-trace-id` and `<TraceId>`): base64 of 64 hex digits,
/// like the real ones. Derived from the request's `x-cos-request-id` (the MD5 of it, then of
/// that digest), so it is as repeatable for a seed as the request id and draws nothing from the
/// generator: minting one for an error does not shift the identifiers that follow.
pub fn cos_trace_id(request_id: &str) -> String {
    use md5::{Digest, Md5};
    let first = Md5::digest(request_id.as_bytes());
    let second = Md5::digest(first);
    let hex = format!("{}{}", hex::encode(first), hex::encode(second));
    base64::engine::general_purpose::STANDARD.encode(hex)
}

/// A FileId from the store's sequence: 19 decimal digits, like the real ones.
pub fn file_id(seq: u64) -> String {
    (5_285_890_784_000_000_000_u64 + seq).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_nineteen_digit_decimals_and_distinct() {
        let a = file_id(1);
        let b = file_id(2);
        assert_eq!(a.len(), 19);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
    }

    #[test]
    fn trace_ids_are_base64_of_hex_and_follow_the_request_id() {
        let a = cos_trace_id("NWRlODY0MmJfMjBiNDU4NjRfNjkyZl80ZjZi");
        assert_eq!(a, cos_trace_id("NWRlODY0MmJfMjBiNDU4NjRfNjkyZl80ZjZi"));
        assert_ne!(a, cos_trace_id("other"));
        let hex = base64::engine::general_purpose::STANDARD
            .decode(&a)
            .unwrap_or_default();
        assert_eq!(hex.len(), 64);
        assert!(hex.iter().all(u8::is_ascii_hexdigit));
    }

    #[test]
    fn upload_ids_are_url_safe() {
        let id = Ids::new(1).upload_id(1_700_000_000);
        assert!(id.starts_with("1700000000"));
        assert!(id.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_same_seed_mints_the_same_identifiers() {
        let draw = |ids: &Ids| (ids.request_id(), ids.session_key(), ids.alphanumeric(32));
        let (a, b) = (Ids::new(7), Ids::new(7));
        assert_eq!(draw(&a), draw(&b));
        assert_ne!(draw(&a), draw(&Ids::new(8)));
        a.reseed(7);
        assert_eq!(draw(&a), draw(&Ids::new(7)));
    }
}
