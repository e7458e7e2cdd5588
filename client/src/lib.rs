//! `vod-client`: the one home of the Tencent Cloud VOD upload protocol in this workspace.
//!
//! The emulator verifies requests with the same signers and speaks the same wire types that
//! the client sends, so the protocol is written down exactly once and pinned by known-answer
//! vectors (see `fixtures/vectors/`).
//!
//! # Layout
//! - [`wire`]: serde types for the VOD API 3.0 JSON and the COS XML bodies.
//! - [`sign`]: TC3-HMAC-SHA256 (VOD API) and the COS `q-sign-algorithm=sha1` scheme.
//! - [`checksum`]: CRC-64/XZ (`x-cos-hash-crc64ecma`), its combine, and COS ETags.

pub mod checksum;
pub mod sign;
pub mod wire;
