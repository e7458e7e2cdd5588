//! The VOD API (TC API 3.0, version 2018-07-17): envelope, signature check and dispatch to
//! the action families (`upload`, `events`, `media`; `procedure` simulates what task flows
//! produce). Calls come as TC3-signed JSON (`auth`) or in the legacy form-encoded,
//! HmacSHA1/256-signed form that tencentcloud-sdk-nodejs 3.x sends (`legacy`).
//!
//! Calls are served on `/` of every host the emulator answers, by POST or GET
//! ([`RequestForm`]).
//!
//! Every answer, errors included, is HTTP 200 with `Content-Type: application/json` and a
//! `RequestId` (docs/protocol/vod-api.md §2.1).

mod auth;
pub mod events;
mod legacy;
pub mod media;
pub mod upload;

use crate::body::Body;
use crate::config::AuthMode;
use crate::error::{vod_error_response, VodCode, VodError};
use crate::faults::{Service, Subject};
use crate::journal::Signature;
use crate::request::{header_names, Described};
use crate::state::AppState;
use crate::store::SessionRef;
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use vod_protocol::wire::events::{
    ConfirmEventsRequest, DescribeEventConfigRequest, ModifyEventConfigRequest, PullEventsRequest,
};
use vod_protocol::wire::media::{
    DeleteMediaRequest, DescribeMediaInfosRequest, ParseStreamingManifestRequest,
};
use vod_protocol::wire::vod::{ApplyUploadRequest, CommitUploadRequest, VERSION};

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

    /// The parameters the action reads.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Action::ApplyUpload => upload::APPLY_FIELDS,
            Action::CommitUpload => upload::COMMIT_FIELDS,
            Action::PullEvents => PullEventsRequest::FIELDS,
            Action::ConfirmEvents => ConfirmEventsRequest::FIELDS,
            Action::DescribeEventConfig => DescribeEventConfigRequest::FIELDS,
            Action::ModifyEventConfig => ModifyEventConfigRequest::FIELDS,
            Action::DescribeMediaInfos => DescribeMediaInfosRequest::FIELDS,
            Action::DeleteMedia => DeleteMediaRequest::FIELDS,
            Action::ParseStreamingManifest => ParseStreamingManifestRequest::FIELDS,
        }
    }
}

/// Reads a request body, up to the API's limit.
///
/// # Errors
/// `RequestSizeLimitExceeded` over the limit, `InvalidParameter` when it cannot be read or its
/// client stalls or trickles ([`crate::body::Pace`]).
pub async fn read_body<B>(body: B) -> Result<Bytes, VodError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    Ok(Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|err| {
            if err.is::<http_body_util::LengthLimitError>() {
                VodError::new(
                    VodCode::RequestSizeLimitExceeded,
                    format!("the request body exceeds {MAX_BODY} bytes"),
                )
            } else if crate::body::timed_out(&*err) {
                VodError::new(
                    VodCode::InvalidParameter,
                    "the request body was not received in time: the client stalled or sent it too slowly",
                )
            } else {
                VodError::new(
                    VodCode::InvalidParameter,
                    "the request body could not be read",
                )
            }
        })?
        .to_bytes())
}

/// Describes a VOD request from its head and (readable) body: action, SubAppId, the session
/// key of a CommitUpload, and the parameters the action does not read.
pub fn describe(parts: &Parts, body: Option<&Bytes>) -> Described {
    let form = request_form(parts, body.map(|b| &b[..]).unwrap_or_default()).ok();
    let (action, json) = match form {
        Some(RequestForm::Legacy(source)) => match legacy::parse(source) {
            Ok(form) => (Some(form.call.action), Some(form.call.params)),
            Err(_) => (None, None),
        },
        Some(RequestForm::Tc3 { action, query }) => {
            let params = match query {
                Some(query) => legacy::query_params(query).ok(),
                None => body.map(|b| b.to_vec()),
            };
            (Some(action.to_owned()), params)
        }
        None => (None, None),
    };
    let object = json.and_then(|b| match serde_json::from_slice::<Value>(&b) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    });
    let field = |name: &str| object.as_ref().and_then(|m| m.get(name));
    let known = action.as_deref().and_then(Action::from_name);
    let unread = match (known, &object) {
        (Some(action), Some(map)) => unknown_keys(map, action.fields()),
        _ => Vec::new(),
    };
    let session = match known {
        Some(Action::CommitUpload) => field("VodSessionKey")
            .and_then(Value::as_str)
            .map(|k| SessionRef::SessionKey(k.to_owned())),
        _ => None,
    };
    Described {
        subject: Subject {
            service: Some(Service::Vod),
            sub_app_id: field("SubAppId").and_then(Value::as_u64),
            action,
            headers: header_names(&parts.headers),
            ..Subject::default()
        },
        unread,
        session,
    }
}

fn unknown_keys(map: &Map<String, Value>, known: &[&str]) -> Vec<String> {
    map.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// Serves one VOD API request whose body has been read; the response carries the signature
/// verdict as an extension. `lose_write` (a fault) makes CommitUpload answer success but
/// record nothing.
pub async fn handle(
    state: &AppState,
    parts: Parts,
    body: Result<Bytes, VodError>,
    request_id: &str,
    lose_write: bool,
) -> Response<Body> {
    let mut verdict = Signature::Unchecked;
    let mut resp = match serve(state, &parts, body, request_id, lose_write, &mut verdict).await {
        Ok(resp) => resp,
        Err(err) => vod_error_response(&err, request_id),
    };
    resp.extensions_mut().insert(verdict);
    resp
}

async fn serve(
    state: &AppState,
    parts: &Parts,
    body: Result<Bytes, VodError>,
    request_id: &str,
    lose_write: bool,
    verdict: &mut Signature,
) -> Result<Response<Body>, VodError> {
    let body = body?;
    let verify = state.config().auth == AuthMode::Verify;
    let call = match request_form(parts, &body)? {
        RequestForm::Legacy(source) => {
            let form = legacy::parse(source)?;
            if verify {
                *verdict = Signature::Invalid;
                legacy::verify(state, parts, &form)?;
                *verdict = Signature::Valid;
            }
            form.call
        }
        RequestForm::Tc3 { action, query } => {
            if verify {
                *verdict = Signature::Invalid;
                auth::verify(state, parts, &body)?;
                *verdict = Signature::Valid;
            }
            let version = header(&parts.headers, "x-tc-version")
                .ok_or_else(|| missing("X-TC-Version"))?
                .to_owned();
            let params = match query {
                Some(query) => legacy::query_params(query)?,
                None => body.to_vec(),
            };
            Call {
                action: action.to_owned(),
                version,
                params,
            }
        }
    };
    let (action_name, version, body) = (call.action, call.version, call.params);
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
    let strict = state.config().strict;
    match decode(action, &body, strict)? {
        Params::ApplyUpload(req) => upload::apply_upload(state, req, request_id).await,
        Params::CommitUpload(req) => {
            upload::commit_upload(state, req, request_id, lose_write).await
        }
        Params::PullEvents(req) => events::pull_events(state, req, request_id).await,
        Params::ConfirmEvents(req) => events::confirm_events(state, req, request_id).await,
        Params::DescribeEventConfig(req) => {
            events::describe_event_config(state, req, request_id).await
        }
        Params::ModifyEventConfig(req) => events::modify_event_config(state, req, request_id).await,
        Params::DescribeMediaInfos(req) => {
            media::describe_media_infos(state, req, request_id).await
        }
        Params::DeleteMedia(req) => media::delete_media(state, req, request_id).await,
        Params::ParseStreamingManifest(req) => {
            media::parse_streaming_manifest(req, request_id).await
        }
    }
}

/// An action's decoded parameters.
#[derive(Debug)]
pub enum Params {
    /// ApplyUpload.
    ApplyUpload(ApplyUploadRequest),
    /// CommitUpload.
    CommitUpload(CommitUploadRequest),
    /// PullEvents.
    PullEvents(PullEventsRequest),
    /// ConfirmEvents.
    ConfirmEvents(ConfirmEventsRequest),
    /// DescribeEventConfig.
    DescribeEventConfig(DescribeEventConfigRequest),
    /// ModifyEventConfig.
    ModifyEventConfig(ModifyEventConfigRequest),
    /// DescribeMediaInfos.
    DescribeMediaInfos(DescribeMediaInfosRequest),
    /// DeleteMedia.
    DeleteMedia(DeleteMediaRequest),
    /// ParseStreamingManifest.
    ParseStreamingManifest(ParseStreamingManifestRequest),
}

/// Decodes `body` as the parameters of `action`.
///
/// # Errors
/// `InvalidParameter` (not a JSON object, wrong types) or, when `strict`, `UnknownParameter`.
pub fn decode(action: Action, body: &[u8], strict: bool) -> Result<Params, VodError> {
    Ok(match action {
        Action::ApplyUpload => Params::ApplyUpload(params(body, action, strict)?),
        Action::CommitUpload => Params::CommitUpload(params(body, action, strict)?),
        Action::PullEvents => Params::PullEvents(params(body, action, strict)?),
        Action::ConfirmEvents => Params::ConfirmEvents(params(body, action, strict)?),
        Action::DescribeEventConfig => Params::DescribeEventConfig(params(body, action, strict)?),
        Action::ModifyEventConfig => Params::ModifyEventConfig(params(body, action, strict)?),
        Action::DescribeMediaInfos => Params::DescribeMediaInfos(params(body, action, strict)?),
        Action::DeleteMedia => Params::DeleteMedia(params(body, action, strict)?),
        Action::ParseStreamingManifest => {
            Params::ParseStreamingManifest(params(body, action, strict)?)
        }
    })
}

/// Parses a legacy form-encoded call (no signature check): its action and JSON parameters.
///
/// # Errors
/// `MissingParameter` (no `Action`/`Version`) or `InvalidParameter` (conflicting keys).
pub fn parse_legacy_form(body: &[u8]) -> Result<(String, Vec<u8>), VodError> {
    legacy::parse(body).map(|form| (form.call.action, form.call.params))
}

/// Where a call's action and parameters travel: the request forms the API accepts (TC API 3.0,
/// doc 1278/46710), on every host the emulator answers.
#[derive(Debug, PartialEq, Eq)]
enum RequestForm<'a> {
    /// TC3-HMAC-SHA256: the action in `X-TC-Action`, the parameters as a JSON body (POST) or
    /// flattened into the query (GET, `query` is `Some`).
    Tc3 {
        /// `X-TC-Action`.
        action: &'a str,
        /// The query of a GET call.
        query: Option<&'a str>,
    },
    /// The legacy HmacSHA1/HmacSHA256 form: everything flattened, in the query (GET) or an
    /// `application/x-www-form-urlencoded` body (POST).
    Legacy(&'a [u8]),
}

/// Which form a call uses, from its method and headers.
///
/// # Errors
/// `UnsupportedProtocol` for methods other than GET and POST; `MissingParameter` for a POST
/// that is neither form-encoded nor names its action.
fn request_form<'a>(parts: &'a Parts, body: &'a [u8]) -> Result<RequestForm<'a>, VodError> {
    let action = header(&parts.headers, "x-tc-action");
    let query = parts.uri.query().unwrap_or_default();
    match (&parts.method, action) {
        (&Method::GET, Some(action)) => Ok(RequestForm::Tc3 {
            action,
            query: Some(query),
        }),
        (&Method::GET, None) => Ok(RequestForm::Legacy(query.as_bytes())),
        (&Method::POST, Some(action)) => Ok(RequestForm::Tc3 {
            action,
            query: None,
        }),
        (&Method::POST, None) if legacy::is_form(&parts.headers) => Ok(RequestForm::Legacy(body)),
        (&Method::POST, None) => Err(missing("X-TC-Action")),
        (method, _) => Err(VodError::new(
            VodCode::UnsupportedProtocol,
            format!("the VOD API takes GET or POST, not {method}"),
        )),
    }
}

/// A call's action, version and JSON parameters, whichever form it came in.
#[derive(Debug)]
struct Call {
    action: String,
    version: String,
    params: Vec<u8>,
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

/// Decodes the action's parameters: a JSON object whose known keys have the right types.
/// Unknown keys are ignored (the journal lists them), or refused with `UnknownParameter` when
/// `strict`.
fn params<T: DeserializeOwned>(body: &[u8], action: Action, strict: bool) -> Result<T, VodError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::default())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            VodError::new(
                VodCode::InvalidParameter,
                format!("the request body is not valid JSON: {e}"),
            )
        })?
    };
    let Value::Object(map) = &value else {
        return Err(VodError::new(
            VodCode::InvalidParameter,
            "the request body must be a JSON object",
        ));
    };
    if strict {
        if let Some(unknown) = unknown_keys(map, action.fields()).first() {
            return Err(VodError::new(
                VodCode::UnknownParameter,
                format!("the parameter `{unknown}` is not recognized"),
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| {
        VodError::new(
            VodCode::InvalidParameter,
            format!("a parameter has the wrong type: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vod_protocol::wire::vod::ApplyUploadRequest;

    #[test]
    fn unknown_parameters_are_ignored_unless_strict() {
        let body = br#"{"MediaType": "mp4", "MediaNmae": "typo"}"#;
        let lenient: Result<ApplyUploadRequest, _> = params(body, Action::ApplyUpload, false);
        assert_eq!(lenient.map(|r| r.media_type), Ok(Some("mp4".into())));
        let strict: Result<ApplyUploadRequest, _> = params(body, Action::ApplyUpload, true);
        assert_eq!(strict.map_err(|e| e.code), Err(VodCode::UnknownParameter));
    }

    #[test]
    fn descriptions_name_the_unread_keys_and_the_session() {
        let req = http::Request::post("/")
            .header("x-tc-action", "CommitUpload")
            .body(())
            .unwrap_or_default();
        let (parts, ()) = req.into_parts();
        let body = Bytes::from_static(br#"{"VodSessionKey": "k", "SubAppId": 9, "Extra": 1}"#);
        let d = describe(&parts, Some(&body));
        assert_eq!(d.unread, vec!["Extra"]);
        assert_eq!(d.subject.sub_app_id, Some(9));
        assert_eq!(d.session, Some(SessionRef::SessionKey("k".into())));
    }
}
