//! Identifiers the emulator mints: request ids, session keys, upload ids, credentials.
//!
//! They look like the real service's (shapes in shared/spec/) so clients that log or parse them
//! behave the same; FileIds come from the store's counter so they are unique and repeatable.

use base64::Engine;
use rand::distr::Alphanumeric;
use rand::Rng;

/// A TC API request id: a UUID v4 string.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A COS `x-cos-request-id`: base64 of random bytes, as real COS sends.
pub fn cos_request_id() -> String {
    let bytes: [u8; 27] = rand::rng().random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A VodSessionKey: long, base64-ish, may contain `/` and `+` like the real ones.
pub fn session_key() -> String {
    let bytes: [u8; 48] = rand::rng().random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `n` random ASCII letters and digits.
pub fn alphanumeric(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// Eight lowercase hex digits.
pub fn hex8() -> String {
    format!("{:08x}", rand::rng().random::<u32>())
}

/// A multipart UploadId: a Unix timestamp followed by hex, like COS's.
pub fn upload_id(now: i64) -> String {
    let tail: [u8; 32] = rand::rng().random();
    format!("{now}{}", hex::encode(tail))
}

/// A PullEvents `EventHandle`: opaque, unique per delivery.
pub fn event_handle() -> String {
    format!("{:020}", rand::rng().random::<u64>())
}

/// A ProcedureTaskId, shaped like the real `<AppId>-procedurev2-<hex>tt0`.
pub fn task_id(app_id: u64) -> String {
    let tail: [u8; 16] = rand::rng().random();
    format!("{app_id}-procedurev2-{}tt0", hex::encode(tail))
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
    fn upload_ids_are_url_safe() {
        let id = upload_id(1_700_000_000);
        assert!(id.starts_with("1700000000"));
        assert!(id.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
