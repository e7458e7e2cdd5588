//! Response bodies: one boxed type for small in-memory bodies and streamed object bytes alike.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};

/// Every response body the emulator sends.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A body held in memory (JSON, XML): small by construction.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// No body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}
