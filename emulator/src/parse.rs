//! Every parser the network reaches, as plain public functions.
//!
//! The server calls the real parsers inside its handlers; this module lets the hostile-input
//! property tests (`tests/it/hostile.rs`) and the `cargo fuzz` targets (`fuzz/`) drive exactly
//! the same code with arbitrary input. Each returns `Ok` or a protocol error's text, and must
//! never panic.

use crate::cos::Query;
use crate::vod::Action;
use vod_protocol::sign::cos::CosAuthorization;
use vod_protocol::sign::tc3::Authorization;
use vod_protocol::wire::cos::{from_xml, CompleteMultipartUpload};

/// The parameters of a VOD API action (`action` by name) from a request body.
///
/// # Errors
/// The error code the API would answer with.
pub fn vod_params(action: &str, body: &[u8], strict: bool) -> Result<(), String> {
    let action = Action::from_name(action).ok_or_else(|| "InvalidAction".to_owned())?;
    crate::vod::decode(action, body, strict)
        .map(drop)
        .map_err(|e| e.code.as_str().to_owned())
}

/// A VOD API call in the legacy form-encoded form (tencentcloud-sdk-nodejs 3.x); returns its
/// action and the JSON parameters it becomes. The signature is not checked here.
///
/// # Errors
/// The error code the API would answer with.
pub fn vod_legacy_form(body: &[u8]) -> Result<(String, Vec<u8>), String> {
    crate::vod::parse_legacy_form(body).map_err(|e| e.code.as_str().to_owned())
}

/// The head of a `CONNECT` request to the proxy; returns the status line the proxy answers
/// with (`200 …`, `403 …`), or `None` while the head is incomplete.
pub fn connect_head(bytes: &[u8]) -> Option<&'static str> {
    crate::proxy::verdict_status(bytes)
}

/// A `CompleteMultipartUpload` body; returns how many parts it lists.
///
/// # Errors
/// Why it is malformed.
pub fn complete_multipart_upload(body: &[u8]) -> Result<usize, String> {
    let xml = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    from_xml::<CompleteMultipartUpload>(xml)
        .map(|c| c.parts.len())
        .map_err(|e| e.to_string())
}

/// A `Range` header against an object of `size` bytes: `None` when it is ignored.
///
/// # Errors
/// `InvalidRange` when unsatisfiable.
pub fn range(header: &str, size: u64) -> Result<Option<(u64, u64)>, String> {
    crate::cos::object::parse_range(header, size).map_err(|e| e.code.as_str().to_owned())
}

/// A COS query string, decoded into pairs.
pub fn query(raw: &str) -> Vec<(String, String)> {
    Query::parse(Some(raw)).pairs().to_vec()
}

/// A `Procedure` (task flow) string, against the presets and the `QCVB_…(…)` forms.
///
/// # Errors
/// Why it is not a procedure every emulator knows.
pub fn procedure(text: &str) -> Result<(), String> {
    crate::task_flows::builtin::resolve(text)
        .unwrap_or_else(|| {
            Err(crate::task_flows::ProcedureError::UnknownName(
                text.to_owned(),
            ))
        })
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The body of `POST /_emulator/task-flows` (one task flow or `{"TaskFlows": [...]}`), then
/// each task flow's validation.
///
/// # Errors
/// Why it is refused.
pub fn task_flows(body: &[u8]) -> Result<(), String> {
    let value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    crate::task_flows::from_json(value)?
        .iter()
        .try_for_each(crate::task_flows::TaskFlow::validate)
        .map_err(|e| e.to_string())
}

/// The segments of an HLS playlist.
///
/// # Errors
/// Why the manifest is refused.
pub fn m3u8(text: &str) -> Result<Vec<String>, String> {
    crate::vod::media::m3u8_segments(text)
}

/// The segments of a DASH manifest.
///
/// # Errors
/// Why the manifest is refused.
pub fn mpd(text: &str) -> Result<Vec<String>, String> {
    crate::vod::media::mpd_segments(text)
}

/// A TC3 `Authorization` header, parsed into its fields.
///
/// # Errors
/// Why it is malformed.
pub fn tc3_authorization(header: &str) -> Result<Authorization, String> {
    Authorization::parse(header).map_err(|e| e.to_string())
}

/// A COS `Authorization` header, parsed into its fields.
///
/// # Errors
/// Why it is malformed.
pub fn cos_authorization(header: &str) -> Result<CosAuthorization, String> {
    CosAuthorization::parse(header).map_err(|e| e.to_string())
}

/// A `Content-MD5` header.
///
/// # Errors
/// `InvalidDigest`.
pub fn content_md5(value: &[u8]) -> Result<[u8; 16], String> {
    crate::cos::ingest::parse_content_md5(value).map_err(|e| e.code.as_str().to_owned())
}

/// A fault scenario as the admin API and `--faults` accept it (JSON).
///
/// # Errors
/// Why it is refused.
pub fn fault_scenario_json(text: &str) -> Result<usize, String> {
    serde_json::from_str::<crate::faults::Scenario>(text)
        .map(|s| s.rules.len())
        .map_err(|e| e.to_string())
}

/// A NotificationUrl, checked as ModifyEventConfig checks it on an emulator listening on
/// `127.0.0.1:9266`.
///
/// # Errors
/// The error code the API would answer with.
pub fn notification_url(url: &str) -> Result<(), String> {
    use crate::events::callback::{check, Listener};
    let own = Listener::new(std::net::SocketAddr::from(([127, 0, 0, 1], 9266)), None);
    check(url, &own, |_| false)
        .map_err(|e| crate::error::VodError::from(e).code.as_str().to_owned())
}
