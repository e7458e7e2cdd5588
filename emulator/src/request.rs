//! What the emulator knows about a request before handling it: the facts fault rules match on,
//! the fields no handler will read (for the journal and `--strict`), and the upload session the
//! request acts under (for the `expire_session` effect). Each service describes its own
//! requests; the server consults the fault engine with the result, in one place.

use crate::faults::Subject;
use crate::store::SessionRef;

/// A request, described before its handler runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Described {
    /// What fault rules match on.
    pub subject: Subject,
    /// Request fields no handler reads: JSON keys, query parameters, `x-cos-*` headers.
    pub unread: Vec<String>,
    /// The upload session whose credentials or key the request uses.
    pub session: Option<SessionRef>,
}

/// Header names of a request, lowercase, for header-presence matches.
pub fn header_names(headers: &http::HeaderMap) -> Vec<String> {
    headers.keys().map(|k| k.as_str().to_owned()).collect()
}
