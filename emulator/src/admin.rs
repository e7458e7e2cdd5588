//! The emulator's own control API under `/_emulator/`: health, and the event system's
//! endpoints (`events…`, `tasks…`, served by `events::admin`); faults, journal and clock
//! control build on it.

use crate::body::Body;
use crate::error::json_response;
use crate::events;
use crate::state::AppState;
use http::{Method, Response, StatusCode};
use serde_json::json;

/// Serves `/_emulator/<path>`.
pub async fn handle(
    state: &AppState,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Response<Body> {
    if events::admin::owns(path) {
        return events::admin::handle(state, method, path, query).await;
    }
    match (method, path) {
        (&Method::GET | &Method::HEAD, "health") => {
            let config = state.config();
            json_response(&json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
                "endpoint": state.public_url(),
                "appId": config.app_id,
                "region": config.region,
            }))
        }
        _ => {
            let mut resp = json_response(&json!({
                "error": "not found",
                "path": format!("/_emulator/{path}"),
            }));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp
        }
    }
}
