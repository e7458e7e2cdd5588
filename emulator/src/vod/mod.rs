//! The VOD API (TC API 3.0, version 2018-07-17): envelope, signature check and dispatch to
//! the action families (`upload`, `events`, `media`; `procedure` parses task flows).
//!
//! Every answer, errors included, is HTTP 200 with `Content-Type: application/json` and a
//! `RequestId` (shared/spec/vod-api.md §2.1).

mod auth;
pub mod events;
pub mod media;
pub mod procedure;
pub mod upload;

use crate::body::Body;
use crate::config::AuthMode;
use crate::error::{vod_error_response, VodCode, VodError};
use crate::ids;
use crate::state::AppState;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use vod_client::wire::events::{
    ConfirmEventsRequest, DescribeEventConfigRequest, ModifyEventConfigRequest, PullEventsRequest,
};
use vod_client::wire::media::{
    DeleteMediaRequest, DescribeMediaInfosRequest, ParseStreamingManifestRequest,
};
use vod_client::wire::vod::VERSION;

/// Largest request body accepted (the real API's limit for JSON bodies is 10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;

/// The actions the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reserve an upload.
    ApplyUpload,
    /// Confirm an upload.
    CommitUpload,
    /// Take unconfirmed events (long poll).
    PullEvents,
    /// Acknowledge pulled events.
    ConfirmEvents,
    /// Read the event configuration.
    DescribeEventConfig,
    /// Change the event configuration.
    ModifyEventConfig,
    /// Describe media by FileId.
    DescribeMediaInfos,
    /// Delete a media file.
    DeleteMedia,
    /// List the segments of an HLS / DASH manifest.
    ParseStreamingManifest,
}

impl Action {
    /// Every action, for listings and error messages.
    pub const ALL: &'static [Action] = &[
        Action::ApplyUpload,
        Action::CommitUpload,
        Action::PullEvents,
        Action::ConfirmEvents,
        Action::DescribeEventConfig,
        Action::ModifyEventConfig,
        Action::DescribeMediaInfos,
        Action::DeleteMedia,
        Action::ParseStreamingManifest,
    ];

    /// The `X-TC-Action` name.
    pub fn name(self) -> &'static str {
        match self {
            Action::ApplyUpload => "ApplyUpload",
            Action::CommitUpload => "CommitUpload",
            Action::PullEvents => "PullEvents",
            Action::ConfirmEvents => "ConfirmEvents",
            Action::DescribeEventConfig => "DescribeEventConfig",
            Action::ModifyEventConfig => "ModifyEventConfig",
            Action::DescribeMediaInfos => "DescribeMediaInfos",
            Action::DeleteMedia => "DeleteMedia",
            Action::ParseStreamingManifest => "ParseStreamingManifest",
        }
    }

    /// Looks an action up by name (the SDK upper-cases the first letter; so do we).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// Serves one VOD API request.
pub async fn handle<B>(state: &AppState, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let request_id = ids::request_id();
    match serve(state, req, &request_id).await {
        Ok(resp) => resp,
        Err(err) => vod_error_response(&err, &request_id),
    }
}

async fn serve<B>(
    state: &AppState,
    req: Request<B>,
    request_id: &str,
) -> Result<Response<Body>, VodError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST {
        // Divergence: the real API also takes GET with query parameters; the SDKs never send it.
        return Err(VodError::new(
            VodCode::UnsupportedProtocol,
            format!(
                "the emulator serves the VOD API with POST and a JSON body, not {}",
                parts.method
            ),
        ));
    }
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|err| {
            if err.is::<http_body_util::LengthLimitError>() {
                VodError::new(
                    VodCode::RequestSizeLimitExceeded,
                    format!("the request body exceeds {MAX_BODY} bytes"),
                )
            } else {
                VodError::new(
                    VodCode::InvalidParameter,
                    "the request body could not be read",
                )
            }
        })?
        .to_bytes();
    let action_name = header(&parts.headers, "x-tc-action")
        .ok_or_else(|| missing("X-TC-Action"))?
        .to_owned();
    if state.config().auth == AuthMode::Verify {
        auth::verify(state, &parts, &body)?;
    }
    let version = header(&parts.headers, "x-tc-version").ok_or_else(|| missing("X-TC-Version"))?;
    if version != VERSION {
        return Err(VodError::new(
            VodCode::NoSuchVersion,
            format!("the VOD API version `{version}` does not exist; use {VERSION}"),
        ));
    }
    let action = Action::from_name(&action_name).ok_or_else(|| {
        VodError::new(
            VodCode::InvalidAction,
            format!("the action `{action_name}` is not supported by the emulator"),
        )
    })?;
    tracing::debug!(action = action.name(), "vod request");
    match action {
        Action::ApplyUpload => {
            upload::apply_upload(state, params(&body, upload::APPLY_FIELDS)?, request_id).await
        }
        Action::CommitUpload => {
            upload::commit_upload(state, params(&body, upload::COMMIT_FIELDS)?, request_id).await
        }
        Action::PullEvents => {
            events::pull_events(state, params(&body, PullEventsRequest::FIELDS)?, request_id).await
        }
        Action::ConfirmEvents => {
            events::confirm_events(
                state,
                params(&body, ConfirmEventsRequest::FIELDS)?,
                request_id,
            )
            .await
        }
        Action::DescribeEventConfig => {
            let req = params(&body, DescribeEventConfigRequest::FIELDS)?;
            events::describe_event_config(state, req, request_id).await
        }
        Action::ModifyEventConfig => {
            let req = params(&body, ModifyEventConfigRequest::FIELDS)?;
            events::modify_event_config(state, req, request_id).await
        }
        Action::DescribeMediaInfos => {
            let req = params(&body, DescribeMediaInfosRequest::FIELDS)?;
            media::describe_media_infos(state, req, request_id).await
        }
        Action::DeleteMedia => {
            media::delete_media(
                state,
                params(&body, DeleteMediaRequest::FIELDS)?,
                request_id,
            )
            .await
        }
        Action::ParseStreamingManifest => {
            let req = params(&body, ParseStreamingManifestRequest::FIELDS)?;
            media::parse_streaming_manifest(req, request_id).await
        }
    }
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn missing(what: &str) -> VodError {
    VodError::new(
        VodCode::MissingParameter,
        format!("the request is missing the required parameter `{what}`"),
    )
}

/// Decodes the action's parameters: a JSON object with only known keys, each of the right type.
fn params<T: DeserializeOwned>(body: &[u8], known: &[&str]) -> Result<T, VodError> {
    let value: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            VodError::new(
                VodCode::InvalidParameter,
                format!("the request body is not valid JSON: {e}"),
            )
        })?
    };
    let serde_json::Value::Object(map) = &value else {
        return Err(VodError::new(
            VodCode::InvalidParameter,
            "the request body must be a JSON object",
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(VodError::new(
            VodCode::UnknownParameter,
            format!("the parameter `{unknown}` is not recognized"),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        VodError::new(
            VodCode::InvalidParameter,
            format!("a parameter has the wrong type: {e}"),
        )
    })
}
