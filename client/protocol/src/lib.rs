//! `vod-protocol`: the Tencent Cloud VOD server-side upload protocol, written down once, as
//! data and pure functions: the emulator verifies with it, the client signs with it, the
//! conformance suite states its properties with it.
//!
//! It does no I/O (no runtime, no HTTP, no files), so every crate can depend on it and none
//! depends on another's I/O to speak the protocol. The signers are pinned by known-answer
//! vectors (`fixtures/vectors/`), the facts by the official SDKs' observed behaviour.
//!
//! # Layout
//! - [`wire`]: serde types for the VOD API 3.0 JSON and the COS XML bodies, and protocol facts
//!   (header names, the SDKs' vocabulary, task flows, unfilled model fields).
//! - [`sign`]: TC3-HMAC-SHA256, the legacy HmacSHA1/256 form, and COS `q-sign-algorithm=sha1`.
//! - [`checksum`]: CRC-64/XZ (`x-cos-hash-crc64ecma`), its combine, and COS ETags.
//! - [`diagnostics`]: errors said in one line, shared by the binaries.

pub mod checksum;
pub mod diagnostics;
pub mod sign;
pub mod wire;
