//! ApplyUpload and CommitUpload (shared/spec/vod-api.md §3, §4).
//!
//! ApplyUpload validates every documented field, pre-allocates the FileId (real storage paths
//! embed it), and mints temporary COS credentials scoped to the session's directory.
//! CommitUpload checks the session and the uploaded objects and records the media, atomically.

use crate::body::Body;
use crate::error::{json_response, VodCode, VodError};
use crate::ids;
use crate::state::AppState;
use crate::store::{Media, Session};
use http::Response;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vod_client::wire::vod::{
    ApplyUploadRequest, ApplyUploadResponse, CommitUploadRequest, CommitUploadResponse, Envelope,
    TempCertificate,
};

/// Parameters ApplyUpload accepts.
pub const APPLY_FIELDS: &[&str] = ApplyUploadRequest::FIELDS;
/// Parameters CommitUpload accepts.
pub const COMMIT_FIELDS: &[&str] = CommitUploadRequest::FIELDS;

/// Media types the service accepts, lowercase (VOD FAQ 266/2846: video, audio, manifests, and
/// the image category newer accounts may upload).
pub const MEDIA_TYPES: &[&str] = &[
    "wmv", "rm", "mov", "mpeg", "mp4", "3gp", "flv", "avi", "rmvb", "ts", "asf", "mpg", "webm",
    "mkv", "m3u8", "wm", "asx", "ram", "mpe", "vob", "dat", "mp4v", "m4v", "f4v", "mxf", "qt",
    "ogg", "mpd", "mp3", "m4a", "flac", "wav", "ra", "aac", "amr", "jpg", "jpeg", "png", "gif",
    "bmp", "tiff", "tif", "heif", "webp",
];

/// Cover types the service accepts, lowercase.
pub const COVER_TYPES: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "tiff", "ai", "cdr", "eps", "tif", "heif",
];

/// VOD storage regions.
pub use vod_client::wire::vod::REGIONS as STORAGE_REGIONS;

const SOURCE_CONTEXT_MAX: usize = 250;
const SESSION_CONTEXT_MAX: usize = 1000;

/// The VOD bucket of a region for this account.
pub fn bucket_for(region: &str, app_id: u64) -> String {
    format!("vod-{region}-{app_id}")
}

/// The region whose VOD bucket this is, if it is one.
pub fn region_of_bucket(bucket: &str, app_id: u64) -> Option<&'static str> {
    STORAGE_REGIONS
        .iter()
        .copied()
        .find(|r| bucket_for(r, app_id) == bucket)
}

/// Validates an ApplyUpload request; returns the lowercase media and cover extensions.
fn validate(req: &ApplyUploadRequest, now: i64) -> Result<(String, Option<String>), VodError> {
    let media_type = req.media_type.as_deref().ok_or_else(|| {
        VodError::new(
            VodCode::MissingParameter,
            "the request is missing the required parameter `MediaType`",
        )
    })?;
    let media_ext = media_type.to_ascii_lowercase();
    if !MEDIA_TYPES.contains(&media_ext.as_str()) {
        return Err(VodError::new(
            VodCode::MediaType,
            format!("MediaType `{media_type}` is not a supported media type"),
        ));
    }
    let cover_ext = match req.cover_type.as_deref() {
        None | Some("") => None,
        Some(cover) => {
            let ext = cover.to_ascii_lowercase();
            if !COVER_TYPES.contains(&ext.as_str()) {
                return Err(VodError::new(
                    VodCode::CoverType,
                    format!("CoverType `{cover}` is not a supported image type"),
                ));
            }
            Some(ext)
        }
    };
    if let Some(procedure) = req.procedure.as_deref().filter(|p| !p.is_empty()) {
        if !is_known_procedure(procedure) {
            return Err(VodError::new(
                VodCode::Procedure,
                format!("the task flow `{procedure}` does not exist"),
            ));
        }
    }
    if let Some(expire) = req.expire_time.as_deref() {
        let at = OffsetDateTime::parse(expire, &Rfc3339).map_err(|_| {
            VodError::new(
                VodCode::ExpireTime,
                format!(
                    "ExpireTime `{expire}` is not an ISO 8601 time such as 2030-01-01T00:00:00Z"
                ),
            )
        })?;
        if at.unix_timestamp() <= now {
            return Err(VodError::new(
                VodCode::ExpireTime,
                format!("ExpireTime `{expire}` is in the past"),
            ));
        }
    }
    if let Some(region) = req.storage_region.as_deref() {
        if !STORAGE_REGIONS.contains(&region) {
            return Err(VodError::new(
                VodCode::StorageRegion,
                format!("StorageRegion `{region}` is not a VOD storage region"),
            ));
        }
    }
    if req.class_id.is_some_and(|c| c < 0) {
        return Err(VodError::new(
            VodCode::ClassId,
            "ClassId must be 0 (other) or a category id",
        ));
    }
    if req
        .source_context
        .as_ref()
        .is_some_and(|s| s.len() > SOURCE_CONTEXT_MAX)
    {
        return Err(VodError::new(
            VodCode::InvalidParameterValue,
            format!("SourceContext is longer than {SOURCE_CONTEXT_MAX} bytes"),
        ));
    }
    if req
        .session_context
        .as_ref()
        .is_some_and(|s| s.len() > SESSION_CONTEXT_MAX)
    {
        return Err(VodError::new(
            VodCode::SessionContextTooLong,
            format!("SessionContext is longer than {SESSION_CONTEXT_MAX} bytes"),
        ));
    }
    if req.sub_app_id == Some(0) {
        return Err(VodError::new(
            VodCode::SubAppId,
            "SubAppId must be a positive application id",
        ));
    }
    if let Some(path) = req.media_storage_path.as_deref() {
        if !is_valid_storage_path(path) {
            return Err(VodError::new(
                VodCode::MediaStoragePath,
                "MediaStoragePath must start with `/`, name a file, and contain no empty, `.` or `..` segments",
            ));
        }
    }
    Ok((media_ext, cover_ext))
}

/// Procedures the emulator knows: the built-in `QCVB_*` task flows with their argument lists.
fn is_known_procedure(name: &str) -> bool {
    ["QCVB_SimpleProcessFile(", "QCVB_ProcessUGCFile("]
        .iter()
        .any(|p| name.starts_with(p) && name.ends_with(')'))
}

fn is_valid_storage_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    !rest.is_empty()
        && !rest.ends_with('/')
        && rest
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// ApplyUpload.
pub async fn apply_upload(
    state: &AppState,
    req: ApplyUploadRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let now = state.clock().now();
    let (media_ext, cover_ext) = validate(&req, now)?;
    let config = state.config();
    let region = req
        .storage_region
        .clone()
        .unwrap_or_else(|| config.region.clone());
    let bucket = bucket_for(&region, config.app_id);
    let file_id = ids::file_id(state.store().next_seq("file_id").await?);
    let (media_key, dir) = match req.media_storage_path.as_deref() {
        Some(path) => {
            let key = path.trim_start_matches('/').to_owned();
            let dir = key.rsplit_once('/').map(|(d, _)| format!("{d}/"));
            (key, dir.unwrap_or_default())
        }
        None => {
            let dir = format!(
                "{}vod{}/{}{file_id}/",
                ids::hex8(),
                config.app_id,
                ids::hex8()
            );
            (format!("{dir}f0.{media_ext}"), dir)
        }
    };
    let cover_key = cover_ext.map(|ext| format!("{dir}cover.{ext}"));
    let ttl = i64::try_from(config.session_ttl.as_secs()).unwrap_or(i64::MAX);
    let session = Session {
        session_key: ids::session_key(),
        sub_app_id: req.sub_app_id,
        file_id,
        request: req,
        bucket: bucket.clone(),
        region: region.clone(),
        media_key,
        cover_key,
        tmp_secret_id: format!("AKID{}", ids::alphanumeric(32)),
        tmp_secret_key: ids::alphanumeric(32),
        token: ids::alphanumeric(96),
        created_at: now,
        expires_at: now.saturating_add(ttl),
        committed_at: None,
    };
    let response = ApplyUploadResponse {
        storage_bucket: bucket,
        storage_region: region,
        vod_session_key: session.session_key.clone(),
        media_storage_path: format!("/{}", session.media_key),
        cover_storage_path: session.cover_key.as_ref().map(|k| format!("/{k}")),
        temp_certificate: Some(TempCertificate {
            secret_id: session.tmp_secret_id.clone(),
            secret_key: session.tmp_secret_key.clone(),
            token: session.token.clone(),
            expired_time: session.expires_at,
        }),
        request_id: request_id.to_owned(),
    };
    state.store().insert_session(session).await?;
    Ok(json_response(&Envelope { response }))
}

/// The URL the emulator serves an object of a VOD bucket under.
pub fn media_url(state: &AppState, bucket: &str, key: &str) -> String {
    let encoded: String = key
        .split('/')
        .map(vod_client::sign::cos::cos_encode)
        .collect::<Vec<_>>()
        .join("/");
    format!("{}/media/{bucket}/{encoded}", state.public_url())
}

/// CommitUpload.
pub async fn commit_upload(
    state: &AppState,
    req: CommitUploadRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let session_key = req.vod_session_key.clone().ok_or_else(|| {
        VodError::new(
            VodCode::MissingParameter,
            "the request is missing the required parameter `VodSessionKey`",
        )
    })?;
    let now = state.clock().now();
    let state_for_urls = state.clone();
    let outcome = state
        .store()
        .commit_session(session_key.clone(), move |session, exists| {
            let Some(session) = session else {
                return Ok(Err(VodError::new(
                    VodCode::VodSessionKey,
                    "the VodSessionKey does not exist",
                )));
            };
            if session.committed_at.is_some() {
                return Ok(Err(VodError::new(
                    VodCode::VodSessionKey,
                    "the upload session has already been committed",
                )));
            }
            if now > session.expires_at {
                return Ok(Err(VodError::new(
                    VodCode::VodSessionKey,
                    "the upload session has expired; apply for a new one",
                )));
            }
            if req.sub_app_id != session.sub_app_id {
                return Ok(Err(VodError::new(
                    VodCode::SubAppId,
                    "SubAppId does not match the one the session was applied for",
                )));
            }
            if !exists(&session.bucket, &session.media_key)? {
                return Ok(Err(VodError::new(
                    VodCode::ResourceNotFound,
                    format!(
                        "the media file was not uploaded to /{} before CommitUpload",
                        session.media_key
                    ),
                )));
            }
            if let Some(cover) = &session.cover_key {
                if !exists(&session.bucket, cover)? {
                    return Ok(Err(VodError::new(
                        VodCode::ResourceNotFound,
                        format!("the cover was not uploaded to /{cover} before CommitUpload"),
                    )));
                }
            }
            Ok(Ok(Media {
                file_id: session.file_id.clone(),
                sub_app_id: session.sub_app_id,
                session_key: session.session_key.clone(),
                media_url: media_url(&state_for_urls, &session.bucket, &session.media_key),
                cover_url: session
                    .cover_key
                    .as_ref()
                    .map(|k| media_url(&state_for_urls, &session.bucket, k)),
                created_at: now,
            }))
        })
        .await??;
    let response = CommitUploadResponse {
        file_id: outcome.file_id,
        media_url: outcome.media_url,
        cover_url: outcome.cover_url,
        request_id: request_id.to_owned(),
    };
    Ok(json_response(&Envelope { response }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(media: &str) -> ApplyUploadRequest {
        ApplyUploadRequest {
            media_type: Some(media.into()),
            ..Default::default()
        }
    }

    #[test]
    fn media_type_is_case_insensitive_and_checked() {
        assert_eq!(validate(&req("MP4"), 0).map(|r| r.0), Ok("mp4".into()));
        assert_eq!(
            validate(&req("exe"), 0).map_err(|e| e.code),
            Err(VodCode::MediaType)
        );
    }

    #[test]
    fn contexts_are_limited_in_bytes() {
        let mut r = req("mp4");
        r.source_context = Some("x".repeat(250));
        assert!(validate(&r, 0).is_ok());
        r.source_context = Some("é".repeat(126));
        assert_eq!(
            validate(&r, 0).map_err(|e| e.code),
            Err(VodCode::InvalidParameterValue)
        );
        let mut r = req("mp4");
        r.session_context = Some("x".repeat(1001));
        assert_eq!(
            validate(&r, 0).map_err(|e| e.code),
            Err(VodCode::SessionContextTooLong)
        );
    }

    #[test]
    fn expire_time_must_be_iso8601_in_the_future() {
        let mut r = req("mp4");
        r.expire_time = Some("2030-01-01T00:00:00Z".into());
        assert!(validate(&r, 1_700_000_000).is_ok());
        r.expire_time = Some("2020-01-01T00:00:00Z".into());
        assert_eq!(
            validate(&r, 1_700_000_000).map_err(|e| e.code),
            Err(VodCode::ExpireTime)
        );
        r.expire_time = Some("tomorrow".into());
        assert_eq!(
            validate(&r, 1_700_000_000).map_err(|e| e.code),
            Err(VodCode::ExpireTime)
        );
    }

    #[test]
    fn storage_paths_must_be_absolute_files_without_dot_segments() {
        assert!(is_valid_storage_path("/a/b.mp4"));
        assert!(!is_valid_storage_path("a/b.mp4"));
        assert!(!is_valid_storage_path("/a/../b.mp4"));
        assert!(!is_valid_storage_path("/a/"));
        assert!(!is_valid_storage_path("/"));
    }

    #[test]
    fn buckets_map_back_to_their_region() {
        let b = bucket_for("ap-shanghai", 125);
        assert_eq!(region_of_bucket(&b, 125), Some("ap-shanghai"));
        assert_eq!(region_of_bucket(&b, 126), None);
    }
}
