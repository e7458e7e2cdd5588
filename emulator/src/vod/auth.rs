//! TC3-HMAC-SHA256 verification of VOD API requests (docs/protocol/vod-api.md §1.3), and the
//! time-window and key checks the legacy form (`legacy`) shares.
//!
//! The signature is recomputed from the raw received body and the headers the client listed,
//! with the same signer the client uses.

use crate::error::{VodCode, VodError};
use crate::state::AppState;
use http::request::Parts;
use vod_protocol::sign::tc3;
use vod_protocol::wire::vod::SERVICE;

/// How far `X-TC-Timestamp` may be from the emulator's clock.
const MAX_SKEW_SECS: i64 = 300;

/// Checks the request's signature, timestamp and SecretId.
pub fn verify(state: &AppState, parts: &Parts, body: &[u8]) -> Result<(), VodError> {
    let headers = &parts.headers;
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_auth("the Authorization header is missing"))?;
    let timestamp = headers
        .get("x-tc-timestamp")
        .ok_or_else(|| {
            VodError::new(
                VodCode::MissingParameter,
                "the request is missing the required header `X-TC-Timestamp`",
            )
        })?
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| {
            VodError::new(
                VodCode::InvalidParameter,
                "`X-TC-Timestamp` must be Unix seconds",
            )
        })?;
    let auth = tc3::Authorization::parse(authorization)
        .map_err(|e| invalid_auth(format!("the Authorization header is malformed: {e}")))?;
    if auth.algorithm != tc3::ALGORITHM {
        return Err(invalid_auth(format!(
            "unsupported signature algorithm `{}`; use {}",
            auth.algorithm,
            tc3::ALGORITHM
        )));
    }
    if auth.service != SERVICE || auth.scope_terminator != vod_protocol::sign::tc3::TERMINATOR {
        return Err(invalid_auth(format!(
            "the credential scope must be <date>/{SERVICE}/tc3_request"
        )));
    }
    for required in ["content-type", "host"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(invalid_auth(format!(
                "SignedHeaders must include `{required}`"
            )));
        }
    }
    check_timestamp(state, "X-TC-Timestamp", timestamp)?;
    if auth.date != tc3::utc_date(timestamp) {
        return Err(VodError::new(
            VodCode::SignatureFailure,
            "the credential date does not match the UTC date of X-TC-Timestamp",
        ));
    }
    check_secret_id(state, &auth.secret_id)?;
    let mut signed = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let mut values = headers.get_all(name.as_str()).iter();
        let value = values.next().and_then(|v| v.to_str().ok()).ok_or_else(|| {
            VodError::new(
                VodCode::SignatureFailure,
                format!("the signed header `{name}` is missing from the request"),
            )
        })?;
        // The signature covers one value; a second one (which a handler might read instead)
        // is not covered.
        if values.next().is_some() {
            return Err(VodError::new(
                VodCode::SignatureFailure,
                format!("the signed header `{name}` is sent more than once"),
            ));
        }
        signed.push((name.as_str(), value));
    }
    let unsigned_payload = headers
        .get("x-tc-content-sha256")
        .is_some_and(|v| v.as_bytes() == b"UNSIGNED-PAYLOAD");
    let payload_hash = tc3::payload_hash(if unsigned_payload {
        b"UNSIGNED-PAYLOAD"
    } else {
        body
    });
    let input = tc3::CanonicalInput {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &signed,
        payload_hash: &payload_hash,
    };
    let expected = tc3::signature(&state.config().secret_key, SERVICE, timestamp, &input);
    if !expected.eq_ignore_ascii_case(&auth.signature) {
        return Err(VodError::new(
            VodCode::SignatureFailure,
            "the signature does not match; check the SecretKey and that the signed Host and body are sent unchanged",
        ));
    }
    Ok(())
}

/// The signed time (`field`, Unix seconds) is within the window around the emulator's clock.
pub fn check_timestamp(state: &AppState, field: &str, timestamp: i64) -> Result<(), VodError> {
    let now = state.clock().now();
    if (now - timestamp).abs() > MAX_SKEW_SECS {
        return Err(VodError::new(
            VodCode::SignatureExpire,
            format!(
                "the signature has expired: {field} {timestamp} is more than {MAX_SKEW_SECS} s from server time {now}"
            ),
        ));
    }
    Ok(())
}

/// The request names the emulator's key pair.
pub fn check_secret_id(state: &AppState, secret_id: &str) -> Result<(), VodError> {
    if secret_id != state.config().secret_id {
        return Err(VodError::new(
            VodCode::SecretIdNotFound,
            "the SecretId is not found; use the key pair the emulator printed at start-up",
        ));
    }
    Ok(())
}

fn invalid_auth(message: impl Into<String>) -> VodError {
    VodError::new(VodCode::InvalidAuthorization, message)
}
