//! The one place wire errors become responses.
//!
//! Handlers return typed errors: [`VodError`] for the VOD API (rendered in the API 3.0 JSON
//! envelope with HTTP 200, as the real service does) and [`CosError`] for the COS XML API
//! (rendered as an `<Error>` document with the code's HTTP status). Internal failures are logged
//! here and never leak their details into a response body.

use crate::body::{self, Body};
use crate::store::{StoreError, TxError};
use http::{header, HeaderValue, Response, StatusCode};
use vod_protocol::wire;

macro_rules! vod_codes {
    ($($variant:ident => $code:literal),* $(,)?) => {
        /// TC API 3.0 error codes the emulator answers with
        /// (docs/protocol/vod-api.md §2.2, §2.3).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum VodCode { $(#[doc = $code] $variant),* }

        impl VodCode {
            /// The dotted code as it appears in `Response.Error.Code`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }
        }
    };
}

vod_codes! {
    InvalidAuthorization => "AuthFailure.InvalidAuthorization",
    SecretIdNotFound => "AuthFailure.SecretIdNotFound",
    SignatureExpire => "AuthFailure.SignatureExpire",
    SignatureFailure => "AuthFailure.SignatureFailure",
    InvalidAction => "InvalidAction",
    NoSuchVersion => "NoSuchVersion",
    InvalidParameter => "InvalidParameter",
    InvalidParameterValue => "InvalidParameterValue",
    MissingParameter => "MissingParameter",
    UnknownParameter => "UnknownParameter",
    RequestSizeLimitExceeded => "RequestSizeLimitExceeded",
    UnsupportedProtocol => "UnsupportedProtocol",
    InternalError => "InternalError",
    FailedOperation => "FailedOperation",
    ResourceNotFound => "ResourceNotFound",
    MediaType => "InvalidParameterValue.MediaType",
    CoverType => "InvalidParameterValue.CoverType",
    ExpireTime => "InvalidParameterValue.ExpireTime",
    StorageRegion => "InvalidParameterValue.StorageRegion",
    ClassId => "InvalidParameterValue.ClassId",
    SubAppId => "InvalidParameterValue.SubAppId",
    VodSessionKey => "InvalidParameterValue.VodSessionKey",
    Procedure => "InvalidParameterValue.Procedure",
    SessionContextTooLong => "InvalidParameterValue.SessionContextTooLong",
    MediaStoragePath => "InvalidParameterValue.MediaStoragePath",
    FileIdsEmpty => "InvalidParameterValue.FileIdsEmpty",
    FileIdsOverLimit => "InvalidParameterValue.FileIdsOverLimit",
    MediaManifestContent => "InvalidParameterValue.MediaManifestContent",
}

/// A VOD API failure: a code and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct VodError {
    /// What kind of failure.
    pub code: VodCode,
    /// Explanation for the caller.
    pub message: String,
}

impl VodError {
    /// An error with this code and message.
    pub fn new(code: VodCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A NotificationUrl the API refuses: `InvalidParameter`, the one parameter code
/// ModifyEventConfig documents (the product's `InvalidParameterValue.Url` is not in its list).
impl From<crate::events::callback::CallbackUrlError> for VodError {
    fn from(err: crate::events::callback::CallbackUrlError) -> Self {
        Self::new(VodCode::InvalidParameter, err.to_string())
    }
}

impl From<StoreError> for VodError {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "store failure in vod api");
        Self::new(
            VodCode::InternalError,
            "an internal error occurred, please retry",
        )
    }
}

/// A refused CommitUpload is its refusal; a store failure inside it, an internal error.
impl From<TxError<VodError>> for VodError {
    fn from(err: TxError<VodError>) -> Self {
        err.into_inner()
    }
}

/// The error code of an error response, attached to it as an extension for the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode(pub String);

/// Renders a VOD API error in the API 3.0 envelope.
///
/// HTTP 200 and `Content-Type: application/json` exactly: the Python SDK reads errors only that
/// way and retries silently when `RequestId` is missing (docs/protocol/vod-api.md §2.1).
pub fn vod_error_response(err: &VodError, request_id: &str) -> Response<Body> {
    if err.code == VodCode::InternalError {
        tracing::warn!(code = err.code.as_str(), %request_id, "vod api internal error");
    } else {
        tracing::debug!(code = err.code.as_str(), message = %err.message, "vod api error");
    }
    vod_envelope_error(err.code.as_str(), &err.message, request_id)
}

/// Renders an injected VOD API error: any TC API code, in the same envelope.
pub fn injected_vod_error(code: &str, message: Option<&str>, request_id: &str) -> Response<Body> {
    let message = message.unwrap_or("fault injected by the emulator");
    vod_envelope_error(code, message, request_id)
}

fn vod_envelope_error(code: &str, message: &str, request_id: &str) -> Response<Body> {
    let envelope = wire::vod::Envelope {
        response: wire::vod::ErrorResponse {
            error: wire::vod::ApiError {
                code: code.to_owned(),
                message: message.to_owned(),
            },
            request_id: request_id.to_owned(),
        },
    };
    let mut resp = json_response(&envelope);
    resp.extensions_mut().insert(ErrorCode(code.to_owned()));
    resp
}

/// A 200 JSON response with the exact content type the TC SDKs expect.
pub fn json_response<T: serde::Serialize>(value: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|err| {
        tracing::error!(error = %err, "response serialisation failed");
        br#"{"Response":{"Error":{"Code":"InternalError","Message":"serialisation failed"},"RequestId":""}}"#.to_vec()
    });
    let mut resp = Response::new(body::full(bytes));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

macro_rules! cos_codes {
    ($($variant:ident => ($status:literal, $message:literal)),* $(,)?) => {
        /// COS XML API error codes with their HTTP statuses (docs/protocol/cos-api.md §5.3).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum CosCode { $(#[doc = $message] $variant),* }

        impl CosCode {
            /// The code as it appears in `<Code>`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant)),* }
            }

            /// The HTTP status COS sends with this code.
            pub fn status(self) -> StatusCode {
                let code: u16 = match self { $(Self::$variant => $status),* };
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// The default message for this code.
            pub fn default_message(self) -> &'static str {
                match self { $(Self::$variant => $message),* }
            }

            /// The code called `name`, if the emulator knows it.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $(stringify!($variant) => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

cos_codes! {
    AccessDenied => (403, "Access Denied."),
    SignatureDoesNotMatch => (403, "The Signature you specified is invalid."),
    InvalidAccessKeyId => (403, "The access key Id you provided does not exist in our records."),
    RequestTimeTooSkewed => (403, "The difference between the request time and the server's time is too large."),
    ExpiredToken => (400, "The provided token has expired."),
    NoSuchBucket => (404, "The specified bucket does not exist."),
    NoSuchKey => (404, "The specified key does not exist."),
    NoSuchUpload => (404, "The specified multipart upload does not exist."),
    InvalidArgument => (400, "Invalid Argument."),
    InvalidDigest => (400, "The Content-MD5 you specified is not valid."),
    BadDigest => (400, "The Content-MD5 you specified did not match what we received."),
    EntityTooSmall => (400, "Your proposed upload is smaller than the minimum allowed object size."),
    EntityTooLarge => (400, "Your proposed upload exceeds the maximum allowed object size."),
    InvalidPart => (400, "One or more of the specified parts could not be found or its entity tag did not match."),
    InvalidPartOrder => (400, "The list of parts was not in ascending order."),
    KeyTooLong => (400, "Your key is too long."),
    MalformedXML => (400, "The XML you provided was not well-formed or did not validate against our published schema."),
    IncompleteBody => (400, "You did not provide the number of bytes specified by the Content-Length HTTP header."),
    MissingContentLength => (411, "You must provide the Content-Length HTTP header."),
    InvalidRange => (416, "The requested range is not satisfiable."),
    PreconditionFailed => (412, "At least one of the preconditions you specified did not hold."),
    MethodNotAllowed => (405, "The specified method is not allowed against this resource."),
    NotImplemented => (501, "A header or operation you provided implies functionality that is not implemented."),
    InternalError => (500, "We encountered an internal error. Please try again."),
    ServiceUnavailable => (503, "Service is unable to handle request."),
    SlowDown => (503, "Please reduce your request rate."),
    RequestTimeout => (400, "Your socket connection to the server was not read from or written to within the timeout period."),
}

/// A COS failure: a code and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct CosError {
    /// What kind of failure.
    pub code: CosCode,
    /// Explanation for the caller.
    pub message: String,
}

impl CosError {
    /// An error with the code's default message.
    pub fn new(code: CosCode) -> Self {
        Self {
            code,
            message: code.default_message().to_owned(),
        }
    }

    /// An error with a specific message.
    pub fn with_message(code: CosCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for CosError {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "store failure in cos api");
        Self::new(CosCode::InternalError)
    }
}

/// A refused CompleteMultipartUpload is its refusal; a store failure inside it, an internal
/// error.
impl From<TxError<CosError>> for CosError {
    fn from(err: TxError<CosError>) -> Self {
        err.into_inner()
    }
}

impl From<std::io::Error> for CosError {
    fn from(err: std::io::Error) -> Self {
        tracing::error!(error = %err, "i/o failure in cos api");
        Self::new(CosCode::InternalError)
    }
}

/// Renders a COS error document; HEAD responses carry no body, as COS sends them.
pub fn cos_error_response(
    err: &CosError,
    resource: &str,
    request_id: &str,
    head: bool,
) -> Response<Body> {
    if err.code.status().is_server_error() {
        tracing::warn!(code = err.code.as_str(), message = %err.message, "cos internal error");
    } else {
        tracing::debug!(code = err.code.as_str(), message = %err.message, "cos error");
    }
    let failure = CosFailure {
        code: err.code.as_str(),
        status: err.code.status(),
        message: &err.message,
    };
    cos_error_document(&failure, resource, request_id, head)
}

/// A COS error to render: any code with any status (fault injection names codes the
/// emulator never produces by itself).
#[derive(Debug, Clone, Copy)]
pub struct CosFailure<'a> {
    /// `<Code>`.
    pub code: &'a str,
    /// HTTP status.
    pub status: StatusCode,
    /// `<Message>`.
    pub message: &'a str,
}

impl<'a> CosFailure<'a> {
    /// An injected error: the status given, else the emulator's for a known code, else 500;
    /// the message given, else the code's default one.
    pub fn injected(code: &'a str, status: Option<u16>, message: Option<&'a str>) -> Self {
        let known = CosCode::parse(code);
        Self {
            code,
            status: status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .or(known.map(CosCode::status))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message
                .or(known.map(CosCode::default_message))
                .unwrap_or("fault injected by the emulator"),
        }
    }
}

/// Renders a COS `<Error>` document with its status and the `x-cos-trace-id` header COS sends
/// on every error (the Python SDK builds HEAD errors, which have no body, from it); the header
/// and `<TraceId>` carry the same value.
pub fn cos_error_document(
    failure: &CosFailure<'_>,
    resource: &str,
    request_id: &str,
    head: bool,
) -> Response<Body> {
    let trace_id = crate::ids::cos_trace_id(request_id);
    let body = if head {
        body::empty()
    } else {
        let doc = wire::cos::ErrorDocument {
            code: xml_safe(failure.code),
            message: xml_safe(failure.message),
            resource: xml_safe(resource),
            request_id: request_id.to_owned(),
            trace_id: trace_id.clone(),
        };
        match wire::cos::to_xml(&doc) {
            Ok(xml) => body::full(xml),
            Err(e) => {
                tracing::error!(error = %e, "error document serialisation failed");
                body::empty()
            }
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = failure.status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        resp.headers_mut().insert("x-cos-trace-id", v);
    }
    resp.extensions_mut()
        .insert(ErrorCode(failure.code.to_owned()));
    resp
}

/// Text for an error document with every character XML 1.0 cannot carry replaced by U+FFFD:
/// a message may quote the request (a parameter name, a fault rule's text), and the document
/// must stay well-formed whatever it quotes.
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if wire::cos::is_xml_char(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cos_codes_map_to_their_statuses() {
        assert_eq!(CosCode::NoSuchUpload.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            CosCode::SignatureDoesNotMatch.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(CosCode::InvalidRange.status().as_u16(), 416);
        assert_eq!(CosCode::MalformedXML.as_str(), "MalformedXML");
        assert_eq!(CosCode::parse("SlowDown"), Some(CosCode::SlowDown));
        assert_eq!(CosCode::parse("Nope"), None);
    }

    #[test]
    fn injected_cos_errors_take_known_statuses_or_the_given_one() {
        let known = CosFailure::injected("SlowDown", None, None);
        assert_eq!(known.status.as_u16(), 503);
        let custom = CosFailure::injected("Weird", Some(429), Some("m"));
        assert_eq!((custom.status.as_u16(), custom.message), (429, "m"));
        let resp = cos_error_document(&custom, "r", "id", false);
        assert_eq!(
            resp.extensions().get::<ErrorCode>(),
            Some(&ErrorCode("Weird".into()))
        );
        let head = cos_error_document(&custom, "r", "id", true);
        assert_eq!(
            head.headers()["x-cos-trace-id"],
            crate::ids::cos_trace_id("id").as_str()
        );
    }

    #[test]
    fn vod_errors_render_with_http_200_and_exact_content_type() {
        let resp = vod_error_response(&VodError::new(VodCode::InvalidAction, "nope"), "rid");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    }
}
