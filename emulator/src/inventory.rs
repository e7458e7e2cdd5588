//! What the emulator holds, for the admin API (`/_emulator/settings`, `/_emulator/media…`,
//! `/_emulator/uploads`): the settings clients need, committed media, and uploads in progress.
//! The dashboard reads these; they exist so a page (or a script) need not speak TC3 to see
//! them. Temporary COS credentials are never listed: the only SecretKey shown is the
//! emulator's own accepted pair, which the banner prints too.

use crate::body::{self, Body};
use crate::error::{json_response, VodCode};
use crate::state::AppState;
use crate::store::{Part, Session, StoreError, Upload};
use crate::vod;
use http::{Method, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use vod_protocol::wire::media::DeleteMediaRequest;

/// The routes served here, as `/_emulator/routes` lists them.
pub const ROUTES: &[&str] = &[
    "GET /_emulator/settings",
    "GET /_emulator/media",
    "DELETE /_emulator/media/{fileId}",
    "GET /_emulator/uploads",
];

/// Whether this admin path is served here.
pub fn owns(path: &str) -> bool {
    matches!(path, "settings" | "media" | "uploads") || path.starts_with("media/")
}

/// Serves an inventory path; `None` for a method this path does not take (the caller says so).
pub async fn handle(
    state: &AppState,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<Response<Body>> {
    let result = match (method, path.split('/').collect::<Vec<_>>().as_slice()) {
        (&Method::GET, ["settings"]) => Ok(json_response(&settings(state))),
        (&Method::GET, ["media"]) => media(state).await,
        (&Method::DELETE, ["media", file_id]) => Ok(delete_media(state, file_id, query).await),
        (&Method::GET, ["uploads"]) => uploads(state).await,
        _ => return None,
    };
    Some(result.unwrap_or_else(|err| {
        tracing::error!(error = %err, "store failure in admin api");
        error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }))
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    let mut resp = json_response(&json!({ "error": message }));
    *resp.status_mut() = status;
    resp
}

/// What a client needs to reach this emulator: endpoint, account, the accepted key pair,
/// storage, seed.
fn settings(state: &AppState) -> Value {
    let config = state.config();
    json!({
        "endpoint": state.public_url(),
        "appId": config.app_id,
        "region": config.region,
        "secretId": config.secret_id,
        "secretKey": config.secret_key,
        "dataDir": config.data_dir.as_ref().map(|d| d.display().to_string()),
        "seed": state.seed(),
        "sessionTtlSecs": config.session_ttl.as_secs(),
        "strict": config.strict,
    })
}

/// `GET /_emulator/media`: every committed media, newest first, as DescribeMediaInfos
/// describes it, with the Procedure its upload named.
async fn media(state: &AppState) -> Result<Response<Body>, StoreError> {
    let media: Vec<Value> = state
        .store()
        .all_media()
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "fileId": m.info.file_id,
                "subAppId": m.info.sub_app_id,
                "procedure": m.procedure,
                "basicInfo": m.info.basic_info,
                "metaData": m.info.meta_data,
            })
        })
        .collect();
    Ok(json_response(&json!({ "media": media })))
}

/// `DELETE /_emulator/media/{fileId}[?subAppId=N]`: DeleteMedia, events included.
async fn delete_media(state: &AppState, file_id: &str, query: Option<&str>) -> Response<Body> {
    let sub_app_id = match query
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("subAppId="))
        .map(str::parse::<u64>)
        .transpose()
    {
        Ok(id) => id,
        Err(_) => return error(StatusCode::BAD_REQUEST, "`subAppId` must be a number"),
    };
    let request = DeleteMediaRequest {
        file_id: Some(percent_decode_str(file_id).decode_utf8_lossy().into_owned()),
        delete_parts: None,
        sub_app_id,
    };
    let request_id = state.ids().request_id();
    match vod::media::delete_media(state, request, &request_id).await {
        Ok(_) => {
            let mut resp = Response::new(body::empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            resp
        }
        Err(err) if err.code == VodCode::ResourceNotFound => {
            error(StatusCode::NOT_FOUND, &err.message)
        }
        Err(err) => error(StatusCode::BAD_REQUEST, &err.message),
    }
}

/// `GET /_emulator/uploads`: ApplyUpload sessions not committed (with whether the emulator's
/// clock has passed their expiry) and multipart uploads with their parts.
async fn uploads(state: &AppState) -> Result<Response<Body>, StoreError> {
    let now_s = state.clock().now();
    let sessions: Vec<Value> = state
        .store()
        .open_sessions()
        .await?
        .iter()
        .map(|s| session_json(s, now_s))
        .collect();
    let multipart: Vec<Value> = state
        .store()
        .all_uploads()
        .await?
        .iter()
        .map(|(u, parts)| upload_json(u, parts))
        .collect();
    Ok(json_response(&json!({
        "sessions": sessions,
        "multipart": multipart,
    })))
}

/// A session without its credentials.
fn session_json(s: &Session, now_s: i64) -> Value {
    json!({
        "fileId": s.file_id,
        "subAppId": s.sub_app_id,
        "mediaType": s.request.media_type,
        "mediaName": s.request.media_name,
        "procedure": s.request.procedure,
        "sourceContext": s.request.source_context,
        "bucket": s.bucket,
        "region": s.region,
        "mediaKey": s.media_key,
        "coverKey": s.cover_key,
        "createdAt": s.created_at,
        "expiresAt": s.expires_at,
        "expired": now_s > s.expires_at,
    })
}

fn upload_json(u: &Upload, parts: &[Part]) -> Value {
    json!({
        "uploadId": u.upload_id,
        "bucket": u.bucket,
        "key": u.key,
        "initiatedMs": u.initiated_ms,
        "parts": parts.iter().map(|p| json!({
            "partNumber": p.part_number,
            "size": p.size,
            "etag": p.etag,
            // As COS's x-cos-hash-crc64ecma header: decimal.
            "crc64": p.crc64.to_string(),
            "lastModifiedMs": p.last_modified_ms,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session's listing names its object keys but never its temporary credentials.
    #[test]
    fn sessions_are_listed_without_credentials() {
        let session = Session {
            session_key: "key".into(),
            sub_app_id: None,
            file_id: "f".into(),
            request: Default::default(),
            bucket: "b-1".into(),
            region: "ap-guangzhou".into(),
            media_key: "d/m.mp4".into(),
            cover_key: None,
            tmp_secret_id: "tmp-id".into(),
            tmp_secret_key: "tmp-secret".into(),
            token: "tmp-token".into(),
            created_at: 100,
            expires_at: 200,
            committed_at: None,
        };
        let text = session_json(&session, 201).to_string();
        for secret in ["tmp-id", "tmp-secret", "tmp-token", "\"key\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(session_json(&session, 200)["expired"], false);
        assert_eq!(session_json(&session, 201)["expired"], true);
    }
}
