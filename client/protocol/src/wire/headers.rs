//! Response header names with the exact casing the real services write on the wire.
//!
//! HTTP header names are case-insensitive, but clients compare them case-sensitively:
//! cos-python-sdk-v5 returns `dict(**response.headers)` and its users read `rt['ETag']`;
//! cos_api 5.6.8 for Java matches `key.equals("ETag")`. COS writes the standard headers in
//! Title-Case (with `ETag` as spelled by RFC 9110) and its own `x-cos-*` headers in lower case
//! (response examples in COS docs 436/7749 PutObject, 436/7745 HeadObject, 436/7753 GetObject,
//! 436/7730 errors). Names not listed here are written in lower case (user metadata
//! `x-cos-meta-*` comes back as the uploader wrote it, lower-cased by the HTTP layer).

/// Every response header name the emulator sends that is not all lower case on the real wire,
/// plus the COS `x-cos-*` names it sends (lower case, listed so the table is complete).
pub const RESPONSE_HEADER_NAMES: &[&str] = &[
    "Accept-Ranges",
    "Cache-Control",
    "Connection",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "Date",
    "ETag",
    "Expires",
    "Last-Modified",
    "Location",
    "Retry-After",
    "Server",
    "Transfer-Encoding",
    "WWW-Authenticate",
    "x-cos-hash-crc64ecma",
    "x-cos-request-id",
    "x-cos-storage-class",
    "x-cos-trace-id",
];
