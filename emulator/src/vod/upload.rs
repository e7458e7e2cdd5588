//! ApplyUpload and CommitUpload (docs/protocol/vod-api.md §3, §4).
//!
//! ApplyUpload validates every documented field, pre-allocates the FileId (real storage paths
//! embed it), and mints temporary COS credentials scoped to the session's directory.
//! CommitUpload checks the session and the uploaded objects and records the media with its
//! NewFileUpload event and task flow, atomically.

use crate::body::Body;
use crate::config::ProcedureProgress;
use crate::error::{json_response, VodCode, VodError};
use crate::events::{self, content, worker};
use crate::ids;
use crate::metadata;
use crate::state::AppState;
use crate::store::{
    CommitPlan, Delivery, EventConfigRow, Media, MediaInfoRow, NewEvent, Session, TaskRow, TxError,
};
use http::Response;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vod_protocol::wire::events::NEW_FILE_UPLOAD;
use vod_protocol::wire::media::{MediaBasicInfo, MediaMetaData, MediaSourceData};
use vod_protocol::wire::vod::{
    ApplyUploadRequest, ApplyUploadResponse, CommitUploadRequest, CommitUploadResponse, Envelope,
    TempCertificate,
};

/// Parameters ApplyUpload accepts.
pub const APPLY_FIELDS: &[&str] = ApplyUploadRequest::FIELDS;
/// Parameters CommitUpload accepts.
pub const COMMIT_FIELDS: &[&str] = CommitUploadRequest::FIELDS;

use vod_protocol::wire::vod::bucket_for;
pub use vod_protocol::wire::vod::{COVER_TYPES, MEDIA_TYPES};

/// VOD storage regions.
pub use vod_protocol::wire::vod::REGIONS as STORAGE_REGIONS;

/// Longest SourceContext, in characters (Unicode scalar values, as the Python SDK's `len`
/// counts): models.py ApplyUploadRequest.SourceContext, "最长 250 个字符".
const SOURCE_CONTEXT_MAX: usize = 250;
/// Longest SessionContext, in characters: "最长 1000 个字符".
const SESSION_CONTEXT_MAX: usize = 1000;

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
        .is_some_and(|s| s.chars().count() > SOURCE_CONTEXT_MAX)
    {
        return Err(VodError::new(
            VodCode::InvalidParameterValue,
            format!("SourceContext is longer than {SOURCE_CONTEXT_MAX} characters"),
        ));
    }
    if req
        .session_context
        .as_ref()
        .is_some_and(|s| s.chars().count() > SESSION_CONTEXT_MAX)
    {
        return Err(VodError::new(
            VodCode::SessionContextTooLong,
            format!("SessionContext is longer than {SESSION_CONTEXT_MAX} characters"),
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
    if let Some(procedure) = req.procedure.as_deref().filter(|p| !p.is_empty()) {
        // One code for an unknown name and for bad arguments. ApplyUpload's documented error
        // list names no Procedure code; `InvalidParameterValue.Procedure` ("wrong Procedure",
        // errorcodes.py) is the one the SDKs list for SimpleHlsClip's `Procedure`, the same
        // upload task flow.
        state
            .task_flows()
            .resolve(procedure)
            .map_err(|e| VodError::new(VodCode::Procedure, e.to_string()))?;
    }
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
                state.ids().hex8(),
                config.app_id,
                state.ids().hex8()
            );
            (format!("{dir}f0.{media_ext}"), dir)
        }
    };
    let cover_key = cover_ext.map(|ext| format!("{dir}cover.{ext}"));
    let ttl = i64::try_from(config.session_ttl.as_secs()).unwrap_or(i64::MAX);
    let session = Session {
        session_key: state.ids().session_key(),
        sub_app_id: req.sub_app_id,
        file_id,
        request: req,
        bucket: bucket.clone(),
        region: region.clone(),
        media_key,
        cover_key,
        tmp_secret_id: format!("AKID{}", state.ids().alphanumeric(32)),
        tmp_secret_key: state.ids().alphanumeric(32),
        token: state.ids().alphanumeric(96),
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
    let encoded = vod_protocol::sign::cos::encode_key(key);
    format!("{}/media/{bucket}/{encoded}", state.public_url())
}

/// CommitUpload: records the media and, in the same transaction, its NewFileUpload event and
/// the task flow its Procedure starts. With `lose_write` (a fault) it checks everything and
/// answers success but records nothing. When an `early_callback` fault fires for a pushed
/// NewFileUpload, the callback is POSTed before this returns.
pub async fn commit_upload(
    state: &AppState,
    req: CommitUploadRequest,
    request_id: &str,
    lose_write: bool,
) -> Result<Response<Body>, VodError> {
    let session_key = req.vod_session_key.clone().ok_or_else(|| {
        VodError::new(
            VodCode::MissingParameter,
            "the request is missing the required parameter `VodSessionKey`",
        )
    })?;
    // Read outside the transaction: the file's metadata (parsing may take a while) and the
    // event configuration. The transaction re-checks everything that decides the outcome.
    let session = state.store().session(session_key.clone()).await?;
    let sub_app_id = session
        .as_ref()
        .and_then(|s| s.sub_app_id)
        .unwrap_or_default();
    let meta = match &session {
        Some(s) => probe(state, s).await?,
        None => MediaMetaData::default(),
    };
    let config = events::config_for(state, sub_app_id).await?;
    let now_ms = state.clock().now_ms();
    let now = now_ms.div_euclid(1000);
    let state_for_urls = state.clone();
    let (plan, ids) = state
        .store()
        .commit_session(session_key.clone(), !lose_write, move |session, exists| {
            let Some(session) = session else {
                return Err(TxError::Refused(VodError::new(
                    VodCode::VodSessionKey,
                    "the VodSessionKey does not exist",
                )));
            };
            if session.committed_at.is_some() {
                return Err(TxError::Refused(VodError::new(
                    VodCode::VodSessionKey,
                    "the upload session has already been committed",
                )));
            }
            if now > session.expires_at {
                return Err(TxError::Refused(VodError::new(
                    VodCode::VodSessionKey,
                    "the upload session has expired; apply for a new one",
                )));
            }
            if req.sub_app_id != session.sub_app_id {
                return Err(TxError::Refused(VodError::new(
                    VodCode::SubAppId,
                    "SubAppId does not match the one the session was applied for",
                )));
            }
            if !exists(&session.bucket, &session.media_key)? {
                return Err(TxError::Refused(VodError::new(
                    VodCode::ResourceNotFound,
                    format!(
                        "the media file was not uploaded to /{} before CommitUpload",
                        session.media_key
                    ),
                )));
            }
            if let Some(cover) = &session.cover_key {
                if !exists(&session.bucket, cover)? {
                    return Err(TxError::Refused(VodError::new(
                        VodCode::ResourceNotFound,
                        format!("the cover was not uploaded to /{cover} before CommitUpload"),
                    )));
                }
            }
            let media = Media {
                file_id: session.file_id.clone(),
                sub_app_id: session.sub_app_id,
                session_key: session.session_key.clone(),
                media_url: media_url(&state_for_urls, &session.bucket, &session.media_key),
                cover_url: session
                    .cover_key
                    .as_ref()
                    .map(|k| media_url(&state_for_urls, &session.bucket, k)),
                created_at: now,
            };
            let mut plan = plan_commit(&state_for_urls, session, media, meta, &config, now_ms);
            if !lose_write {
                hold_for_early_callback(&state_for_urls, &mut plan, now_ms);
            }
            Ok(plan)
        })
        .await?;
    events::announce_ids(state, "created", &ids).await;
    let early = plan
        .events
        .iter()
        .zip(&ids)
        .find(|(e, _)| e.held_until_ms.is_some());
    if let Some((_, &id)) = early {
        worker::push_early(state, id).await?;
    }
    let response = CommitUploadResponse {
        file_id: plan.media.file_id,
        media_url: plan.media.media_url,
        cover_url: plan.media.cover_url,
        request_id: request_id.to_owned(),
    };
    Ok(json_response(&Envelope { response }))
}

/// Decides the `early_callback` faults for a pushed NewFileUpload; when one fires, the event
/// is stored held (for as long as a push may take, plus a second) so that CommitUpload pushes
/// it itself and the worker does not.
fn hold_for_early_callback(state: &AppState, plan: &mut CommitPlan, now_ms: i64) {
    let Some(event) = plan
        .events
        .iter_mut()
        .find(|e| e.delivery == Delivery::Push && e.content.event_type == NEW_FILE_UPLOAD)
    else {
        return;
    };
    let fired = state.faults().early_callback(Some(event.sub_app_id));
    if fired.fired.is_empty() {
        return;
    }
    tracing::info!(faults = %fired.labels().join(","), "early callback");
    let timeout = i64::try_from(state.config().push_timeout.as_millis()).unwrap_or(i64::MAX);
    event.held_until_ms = Some(now_ms.saturating_add(timeout).saturating_add(1_000));
}

/// The metadata of a session's uploaded media (empty when it is not there yet): HLS/DASH
/// sizes include every other object of the session's directory (the segments).
async fn probe(state: &AppState, session: &Session) -> Result<MediaMetaData, VodError> {
    let store = state.store();
    let Some(obj) = store
        .object(session.bucket.clone(), session.media_key.clone())
        .await?
    else {
        return Ok(MediaMetaData::default());
    };
    let ext = extension(&session.media_key);
    let extra = if matches!(ext.as_str(), "m3u8" | "mpd") {
        store
            .object_sizes_under(session.bucket.clone(), session.key_prefix())
            .await?
            .into_iter()
            .filter(|(k, _)| *k != session.media_key && Some(k) != session.cover_key.as_ref())
            .map(|(_, size)| size)
            .sum()
    } else {
        0
    };
    Ok(metadata::probe(store, &obj, &ext, extra).await)
}

fn extension(key: &str) -> String {
    key.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// `Video`, `Audio` or `Image`, by extension.
fn category(ext: &str) -> &'static str {
    match ext {
        "mp3" | "m4a" | "flac" | "wav" | "ra" | "aac" | "amr" => "Audio",
        "jpg" | "jpeg" | "png" | "gif" | "bmp" | "tiff" | "tif" | "heif" | "webp" => "Image",
        _ => "Video",
    }
}

/// What a successful commit writes: the media description, its events and its task flow.
fn plan_commit(
    state: &AppState,
    session: &Session,
    media: Media,
    meta: MediaMetaData,
    config: &EventConfigRow,
    now_ms: i64,
) -> CommitPlan {
    let req = &session.request;
    let now = now_ms.div_euclid(1000);
    let ext = extension(&session.media_key);
    let sub_app_id = session.sub_app_id.unwrap_or_default();
    let info = MediaInfoRow {
        file_id: media.file_id.clone(),
        sub_app_id,
        basic_info: MediaBasicInfo {
            name: req.media_name.clone().unwrap_or_default(),
            description: String::new(),
            create_time: content::iso8601(now),
            update_time: content::iso8601(now),
            expire_time: req
                .expire_time
                .as_deref()
                .and_then(|e| OffsetDateTime::parse(e, &Rfc3339).ok())
                .map_or_else(
                    || "9999-12-31T23:59:59Z".to_owned(),
                    |t| content::iso8601(t.unix_timestamp()),
                ),
            class_id: req.class_id.unwrap_or_default(),
            class_name: "Other".into(),
            class_path: "Other".into(),
            cover_url: media.cover_url.clone().unwrap_or_default(),
            media_type: ext.clone(),
            media_url: media.media_url.clone(),
            source_info: MediaSourceData {
                source_type: "Upload".into(),
                source_context: req.source_context.clone().unwrap_or_default(),
                ..Default::default()
            },
            storage_region: session.region.clone(),
            storage_path: format!("/{}", session.media_key),
            tag_set: Vec::new(),
            vid: media.file_id.clone(),
            category: category(&ext).into(),
            status: "Normal".into(),
            storage_class: "STANDARD".into(),
        },
        meta_data: meta,
    };
    let delivery = events::delivery_of(config);
    let task = req
        .procedure
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|procedure| TaskRow {
            task_id: state.ids().task_id(state.config().app_id),
            file_id: media.file_id.clone(),
            sub_app_id,
            procedure: procedure.to_owned(),
            session_context: req.session_context.clone().unwrap_or_default(),
            due_ms: match state.config().procedure_progress {
                ProcedureProgress::Immediate => Some(now_ms),
                ProcedureProgress::After(d) => {
                    Some(now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
                }
                ProcedureProgress::Manual => None,
            },
            finished_ms: None,
        });
    let event = |content| NewEvent {
        sub_app_id,
        content,
        delivery,
        created_ms: now_ms,
        held_until_ms: None,
    };
    let mut new_events = Vec::new();
    if config.upload_events {
        new_events.push(event(content::new_file_upload(
            &info,
            task.as_ref().map(|t| t.task_id.as_str()),
        )));
    }
    let task = task.map(|mut t| {
        if state.config().procedure_progress == ProcedureProgress::Immediate {
            t.finished_ms = Some(now_ms);
            new_events.push(event(content::procedure_state_changed(
                &t,
                &worker::task_run(state, &t),
                Some(&info),
                now,
                now,
            )));
        }
        t
    });
    CommitPlan {
        media,
        info,
        events: new_events,
        task,
    }
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
    fn contexts_are_limited_in_characters() {
        let mut r = req("mp4");
        r.source_context = Some("腾".repeat(250));
        assert!(validate(&r, 0).is_ok(), "250 characters (750 bytes) fit");
        r.source_context = Some("😀".repeat(250));
        assert!(validate(&r, 0).is_ok(), "250 characters (1000 bytes) fit");
        r.source_context = Some("é".repeat(251));
        assert_eq!(
            validate(&r, 0).map_err(|e| e.code),
            Err(VodCode::InvalidParameterValue)
        );
        let mut r = req("mp4");
        r.session_context = Some("腾".repeat(1000));
        assert!(validate(&r, 0).is_ok(), "1000 characters fit");
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
}
