//! Wire types: what travels on the VOD API (JSON, API 3.0 envelope) and the COS XML API.
//!
//! Field names follow the public API exactly (PascalCase JSON, COS XML element names), so the
//! same types serve the emulator (decode requests, encode responses) and the client.

pub mod cos;
pub mod events;
pub mod headers;
pub mod media;
pub mod procedure;
pub mod unfilled;
pub mod vocabulary;
pub mod vod;
