//! The client's one error type: what went wrong, with the service's code and request id when
//! the service said no, so every failure can be explained in one line.

use crate::wire::cos::codes;
use std::path::PathBuf;

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The VOD API answered with an error.
    #[error("{action} failed: {code}: {message} (RequestId {request_id})")]
    Api {
        /// The action called.
        action: String,
        /// Dotted TC API error code.
        code: String,
        /// The service's explanation.
        message: String,
        /// The service's request id.
        request_id: String,
    },
    /// COS answered with an error status.
    #[error(
        "COS {operation} failed: HTTP {status} {code}: {message} (x-cos-request-id {request_id})"
    )]
    Cos {
        /// The operation.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// COS error code (or the status when the body had none).
        code: String,
        /// The service's explanation.
        message: String,
        /// `x-cos-request-id`.
        request_id: String,
    },
    /// The request never got an answer (connection refused or reset, timeout, TLS, ...).
    #[error("{what}: {source}")]
    Transport {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with an HTTP status outside its protocol (a gateway error, say).
    #[error("{what}: HTTP {status}")]
    Status {
        /// What was being done.
        what: String,
        /// The status.
        status: u16,
    },
    /// The service answered something that is not the protocol.
    #[error("{what}: unexpected response: {detail}")]
    Protocol {
        /// What was being done.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// What was stored does not match what was sent.
    #[error("integrity check failed for {what}: local {local}, server {server}")]
    Integrity {
        /// The object.
        what: String,
        /// The locally computed value.
        local: String,
        /// What the server reported.
        server: String,
    },
    /// The caller asked for something that cannot work.
    #[error("{0}")]
    Invalid(String),
}

/// Result alias for the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying the same request may succeed: 5xx, throttling, transport failures.
    /// Never 4xx (other than throttling): those need a different request.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { code, .. } => {
                code.starts_with("RequestLimitExceeded")
                    || code == "InternalError"
                    || code.starts_with("InternalError.")
                    || code == "ServiceUnavailable"
            }
            Error::Cos { status, code, .. } => {
                *status >= 500 || code == "SlowDown" || *status == 429
            }
            Error::Transport { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 429,
            Error::Protocol { .. }
            | Error::File { .. }
            | Error::Integrity { .. }
            | Error::Invalid(_) => false,
        }
    }

    /// Whether the error says the upload session's temporary credentials have expired.
    pub fn is_expired_credentials(&self) -> bool {
        match self {
            Error::Cos { code, message, .. } => {
                code == codes::EXPIRED_TOKEN
                    || (code == codes::ACCESS_DENIED
                        && message.to_ascii_lowercase().contains("token")
                        && message.contains("expired"))
            }
            _ => false,
        }
    }

    /// Whether the error says the upload session itself is gone or expired.
    pub fn is_expired_session(&self) -> bool {
        matches!(self, Error::Api { code, .. } if code == "InvalidParameterValue.VodSessionKey")
    }

    /// The service's error code, when the service answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } | Error::Cos { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The service's request id, when the service answered.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } | Error::Cos { request_id, .. } => Some(request_id),
            _ => None,
        }
    }
}

pub use vod_protocol::diagnostics::one_line;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_says_each_cause_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let file = Error::File {
            path: "/x/cover.jpg".into(),
            source: io(),
        };
        assert_eq!(one_line(&file), "/x/cover.jpg: gone");
        #[derive(Debug, thiserror::Error)]
        #[error("cannot start")]
        struct Outer(#[source] Error);
        assert_eq!(
            one_line(&Outer(Error::File {
                path: "/d".into(),
                source: io(),
            })),
            "cannot start: /d: gone"
        );
        let multi = std::io::Error::other("first\n  second");
        assert_eq!(one_line(&multi), "first second");
    }

    fn cos(status: u16, code: &str) -> Error {
        Error::Cos {
            operation: "UploadPart",
            status,
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        }
    }

    fn api(code: &str) -> Error {
        Error::Api {
            action: "ApplyUpload".into(),
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        }
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        assert!(cos(500, "InternalError").is_retryable());
        assert!(cos(503, "SlowDown").is_retryable());
        assert!(!cos(403, "AccessDenied").is_retryable());
        assert!(!cos(400, "BadDigest").is_retryable());
        assert!(api("RequestLimitExceeded").is_retryable());
        assert!(api("RequestLimitExceeded.UinLimitExceeded").is_retryable());
        assert!(api("InternalError").is_retryable());
        assert!(!api("InvalidParameterValue.MediaType").is_retryable());
        assert!(!api("AuthFailure.SignatureFailure").is_retryable());
    }

    #[test]
    fn expired_credentials_are_recognised() {
        assert!(cos(400, "ExpiredToken").is_expired_credentials());
        assert!(!cos(403, "AccessDenied").is_expired_credentials());
    }
}
