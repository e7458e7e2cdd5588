//! COS request authorization: the `q-sign-algorithm=sha1` signature, and what the temporary
//! credentials of an ApplyUpload session may do (docs/protocol/cos-api.md §2.3, §7).
//!
//! The emulator's own API key has full access (tests use it to read back what was stored).
//! Session credentials may only perform the upload operations the official SDKs perform, on
//! the session's bucket and directory, with the session's token, before it expires.

use super::{Operation, Query};
use crate::config::AuthMode;
use crate::error::{CosCode, CosError};
use crate::journal::Signature;
use crate::router::{strip_port, CosAddress};
use crate::state::AppState;
use crate::store::Session;
use http::Request;
use vod_protocol::sign::cos::{self, CosAuthorization, CosSignInput};

/// Who a request acts as.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The emulator's API key, or anyone when authentication is off.
    Owner,
    /// An ApplyUpload session's temporary credentials.
    Session(Box<Session>),
}

/// Authorizes a request, or says why not; `verdict` records whether the signature held.
pub async fn authorize<B>(
    state: &AppState,
    req: &Request<B>,
    addr: &CosAddress,
    op: &Operation,
    query: &Query,
    verdict: &mut Signature,
) -> Result<Principal, CosError> {
    if state.config().auth == AuthMode::None {
        return Ok(Principal::Owner);
    }
    *verdict = Signature::Invalid;
    let header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let auth = match header {
        Some(value) if !value.trim().is_empty() => {
            Some(CosAuthorization::parse(value).map_err(|e| {
                CosError::with_message(
                    CosCode::AccessDenied,
                    format!("malformed Authorization: {e}"),
                )
            })?)
        }
        Some(_) => None,
        None => CosAuthorization::from_query(query.pairs()).map_err(|e| {
            CosError::with_message(
                CosCode::AccessDenied,
                format!("malformed signature parameters: {e}"),
            )
        })?,
    };
    let Some(auth) = auth else {
        return Err(CosError::with_message(
            CosCode::AccessDenied,
            "anonymous requests are not allowed; sign with the emulator's key or ApplyUpload's TempCertificate",
        ));
    };
    if auth.algorithm != cos::ALGORITHM {
        return Err(CosError::with_message(
            CosCode::AccessDenied,
            format!("unsupported q-sign-algorithm `{}`", auth.algorithm),
        ));
    }
    let config = state.config();
    let (principal, secret_key) = if auth.access_key == config.secret_id {
        (Principal::Owner, config.secret_key.clone())
    } else {
        match state
            .store()
            .session_by_secret_id(auth.access_key.clone())
            .await?
        {
            Some(session) => {
                let key = session.tmp_secret_key.clone();
                (Principal::Session(Box::new(session)), key)
            }
            None => return Err(CosError::new(CosCode::InvalidAccessKeyId)),
        }
    };
    let now = state.clock().now();
    let (start, end) = auth.sign_time;
    if now > end {
        return Err(CosError::with_message(
            CosCode::AccessDenied,
            "Request has expired",
        ));
    }
    if now < start {
        return Err(CosError::with_message(
            CosCode::AccessDenied,
            "Request has expired: q-sign-time starts in the future (clock skew)",
        ));
    }
    verify_signature(req, addr, query, &auth, &secret_key)?;
    *verdict = Signature::Valid;
    if let Principal::Session(session) = &principal {
        let token = req
            .headers()
            .get("x-cos-security-token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| query.get("x-cos-security-token"));
        if token != Some(session.token.as_str()) {
            return Err(CosError::with_message(
                CosCode::AccessDenied,
                "temporary credentials need their x-cos-security-token",
            ));
        }
        if now > session.expires_at {
            return Err(CosError::with_message(
                CosCode::ExpiredToken,
                "the temporary credentials have expired; call ApplyUpload again",
            ));
        }
        if !session_allows(session, addr, op, query) {
            return Err(CosError::with_message(
                CosCode::AccessDenied,
                format!(
                    "the upload session's credentials do not allow {} on `{}`",
                    op.name(),
                    addr.key
                ),
            ));
        }
    }
    Ok(principal)
}

/// Checks the signature over the listed query parameters and headers. A listed parameter or
/// header sent more than once is `SignatureDoesNotMatch`: the signature covers one value, and
/// a second one (which a handler might read instead, e.g. the last `x-cos-meta-*` stored) is
/// not covered, as S3 answers when duplicates are folded into one value the client did not
/// sign.
fn verify_signature<B>(
    req: &Request<B>,
    addr: &CosAddress,
    query: &Query,
    auth: &CosAuthorization,
    secret_key: &str,
) -> Result<(), CosError> {
    let mismatch = |why: String| CosError::with_message(CosCode::SignatureDoesNotMatch, why);
    let twice = |what: &str, name: &str| {
        mismatch(format!(
            "the signed {what} `{name}` is sent more than once; the signature covers one value"
        ))
    };
    let mut params = Vec::with_capacity(auth.url_param_list.len());
    for name in &auth.url_param_list {
        let mut found = query
            .pairs()
            .iter()
            .filter(|(k, _)| cos::cos_encode(k).to_ascii_lowercase() == *name);
        let (k, v) = found
            .next()
            .ok_or_else(|| mismatch(format!("signed parameter `{name}` is not in the request")))?;
        if found.next().is_some() {
            return Err(twice("parameter", name));
        }
        params.push((k.as_str(), v.as_str()));
    }
    let mut headers = Vec::with_capacity(auth.header_list.len());
    for name in &auth.header_list {
        let mut values = req.headers().get_all(name.as_str()).iter();
        let value = values
            .next()
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| mismatch(format!("signed header `{name}` is not in the request")))?;
        if values.next().is_some() {
            return Err(twice("header", name));
        }
        headers.push((name.as_str(), value));
    }
    let matches = |headers: &[(&str, &str)]| {
        let input = CosSignInput {
            method: req.method().as_str(),
            path: &addr.signed_path,
            params: &params,
            headers,
        };
        cos::signature(secret_key, &auth.key_time, &input).eq_ignore_ascii_case(&auth.signature)
    };
    if matches(&headers) {
        return Ok(());
    }
    // The Python SDK signs the host without its port while sending `Host: ip:port`
    // (docs/protocol/cos-api.md §2.3 step 6): accept that form too.
    if let Some(i) = headers.iter().position(|(n, _)| *n == "host") {
        let bare = strip_port(headers[i].1);
        if bare != headers[i].1 {
            headers[i].1 = bare;
            if matches(&headers) {
                return Ok(());
            }
        }
    }
    Err(mismatch(
        "the signature does not match; check the SecretKey and the signed headers".into(),
    ))
}

/// What a session's temporary credentials may do (pure policy, docs/protocol/cos-api.md §7.3).
fn session_allows(session: &Session, addr: &CosAddress, op: &Operation, query: &Query) -> bool {
    if addr.bucket != session.bucket {
        return false;
    }
    let prefix = session.key_prefix();
    let in_scope = |key: &str| {
        key == session.media_key
            || session.cover_key.as_deref() == Some(key)
            || (key.starts_with(&prefix) && key.len() > prefix.len())
    };
    match op {
        Operation::PutObject
        | Operation::InitiateMultipartUpload
        | Operation::UploadPart { .. }
        | Operation::CompleteMultipartUpload { .. }
        | Operation::AbortMultipartUpload { .. }
        | Operation::ListParts { .. } => in_scope(&addr.key),
        Operation::ListMultipartUploads => query
            .get_nonempty("prefix")
            .is_some_and(|p| p.starts_with(&prefix)),
        Operation::GetObject
        | Operation::HeadObject
        | Operation::DeleteObject
        | Operation::HeadBucket => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            session_key: "k".into(),
            sub_app_id: None,
            file_id: "1".into(),
            request: Default::default(),
            bucket: "vod-ap-guangzhou-1".into(),
            region: "ap-guangzhou".into(),
            media_key: "a/b/f0.mp4".into(),
            cover_key: Some("a/b/cover.jpg".into()),
            tmp_secret_id: "AKIDx".into(),
            tmp_secret_key: "s".into(),
            token: "t".into(),
            created_at: 0,
            expires_at: 10,
            committed_at: None,
        }
    }

    fn addr(bucket: &str, key: &str) -> CosAddress {
        CosAddress {
            bucket: bucket.into(),
            region: None,
            key: key.into(),
            signed_path: format!("/{key}"),
        }
    }

    #[test]
    fn session_may_upload_to_its_own_paths_only() {
        let s = session();
        let q = Query::default();
        let b = "vod-ap-guangzhou-1";
        assert!(session_allows(
            &s,
            &addr(b, "a/b/f0.mp4"),
            &Operation::PutObject,
            &q
        ));
        assert!(session_allows(
            &s,
            &addr(b, "a/b/seg/1.ts"),
            &Operation::PutObject,
            &q
        ));
        assert!(!session_allows(
            &s,
            &addr(b, "a/c/f0.mp4"),
            &Operation::PutObject,
            &q
        ));
        assert!(!session_allows(
            &s,
            &addr("other-1", "a/b/f0.mp4"),
            &Operation::PutObject,
            &q
        ));
        assert!(!session_allows(
            &s,
            &addr(b, "a/b/f0.mp4"),
            &Operation::GetObject,
            &q
        ));
        assert!(!session_allows(
            &s,
            &addr(b, "a/b/f0.mp4"),
            &Operation::DeleteObject,
            &q
        ));
    }

    #[test]
    fn session_may_list_uploads_under_its_prefix_only() {
        let s = session();
        let b = "vod-ap-guangzhou-1";
        let op = Operation::ListMultipartUploads;
        let q = |s| Query::parse(Some(s));
        assert!(session_allows(
            &s,
            &addr(b, ""),
            &op,
            &q("uploads&prefix=a/b/f0.mp4")
        ));
        assert!(!session_allows(
            &s,
            &addr(b, ""),
            &op,
            &q("uploads&prefix=")
        ));
        assert!(!session_allows(
            &s,
            &addr(b, ""),
            &op,
            &q("uploads&prefix=a/")
        ));
    }
}
