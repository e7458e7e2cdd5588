//! Playback URLs (MediaUrl, CoverUrl): what a player or CDN would fetch, without a signature.

use crate::body::{self, Body};
use crate::cos::object::object_response;
use crate::state::AppState;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

/// Serves GET/HEAD of `/media/{bucket}/{key}`, with Range and conditional requests. Only
/// committed media have URLs: an object merely uploaded, or whose media was deleted, is 404.
pub async fn handle(
    state: &AppState,
    bucket: String,
    key: String,
    headers: &HeaderMap,
    head: bool,
) -> Response<Body> {
    let found = match state.store().media_object(bucket, key).await {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = %err, "store failure serving media");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    let Some(obj) = found else {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    };
    match object_response(state, &obj, headers, head) {
        Ok(resp) => resp,
        Err(err) => plain(err.code.status(), &format!("{}\n", err.message)),
    }
}

/// An injected error as a CDN edge gives it: the status, and the code and message as plain
/// text (media URLs have no XML or JSON error format).
pub fn failure(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let mut resp = plain(status, &format!("{code}: {message}\n"));
    resp.extensions_mut()
        .insert(crate::error::ErrorCode(code.to_owned()));
    resp
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut resp = Response::new(body::full(text.to_owned()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
