//! Request signatures for the two wire protocols the upload flow speaks.
//!
//! VOD's API 3.0 calls (ApplyUpload, CommitUpload, …) are signed with TC3-HMAC-SHA256
//! ([`tc3`]); the object upload that follows goes to COS, which uses its own
//! `q-sign-algorithm=sha1` scheme ([`cos`]). Older SDKs (tencentcloud-sdk-nodejs 3.x) still sign
//! API 3.0 calls with the form-encoded [`legacy`] scheme. Both sides of the project need both directions:
//! the client *produces* `Authorization` headers and the emulator *parses* them and recomputes
//! the signature, so every step (canonical request, string to sign, key derivation) is a
//! public pure function. Both signers are pinned by the known-answer vectors in
//! `fixtures/vectors/` (see `client/tests/vectors.rs`).

pub mod cos;
pub mod legacy;
pub mod tc3;

/// Why an `Authorization` value (TC3 header, COS header or COS presigned-URL parameters)
/// could not be parsed.
///
/// Parsing only checks *shape*; whether the algorithm, scope, time window or signature are
/// acceptable is the verifier's decision, so those values are returned, not judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The value was empty or only whitespace (the Python COS SDK sends `Authorization: ""`
    /// for anonymous requests).
    #[error("authorization is empty")]
    Empty,
    /// A part every signature needs was absent.
    #[error("authorization is missing `{0}`")]
    MissingField(&'static str),
    /// A part appeared more than once, so it is ambiguous which one was signed.
    #[error("authorization repeats `{0}`")]
    DuplicateField(&'static str),
    /// A part whose name this scheme does not define.
    #[error("authorization has an unexpected part `{0}`")]
    UnexpectedPart(String),
    /// A part was present but its value does not have the required shape.
    #[error("malformed `{field}` in authorization: {reason}")]
    Malformed {
        /// Which part was malformed (e.g. `Credential`, `q-sign-time`).
        field: &'static str,
        /// What was wrong with it, for logs; never echoes secrets.
        reason: &'static str,
    },
}

/// Result of the signing layer.
pub type Result<T, E = SignError> = std::result::Result<T, E>;
