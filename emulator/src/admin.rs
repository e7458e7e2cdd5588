//! The emulator's own control API under `/_emulator/`: health, routes, the `exec` environment,
//! fault rules, the request journal (query and live stream), the clock, reset, and task flows.
//! JSON in and out;
//! documented in `emulator/openapi/admin.json`, which the tests check this implementation
//! against. The event system's endpoints (`events…`, `tasks…`) are served by `events::admin`.
//! What the emulator holds (settings, media, uploads) is served by `inventory`. Admin calls are
//! not journaled and no fault applies to them.

use crate::body::{self, Body};
use crate::cos::Query;
use crate::error::json_response;
use crate::events;
use crate::faults::{Effect, RuleError, Scenario, Service};
use crate::inventory;
use crate::journal::{Entry, Filter};
use crate::state::AppState;
use crate::task_flows::{self, TaskFlowError};
use bytes::Bytes;
use futures_util::stream;
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Limited, StreamBody};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest admin request body (a scenario of many rules is still small).
const MAX_BODY: usize = 1024 * 1024;

/// The admin routes served here, as `/_emulator/routes` lists them (after them, the event
/// system's [`events::admin::ROUTES`]).
pub const ROUTES: &[&str] = &[
    "GET /_emulator/health",
    "GET /_emulator/routes",
    "GET /_emulator/env",
    "GET /_emulator/faults",
    "POST /_emulator/faults",
    "DELETE /_emulator/faults",
    "GET /_emulator/faults/{id}",
    "DELETE /_emulator/faults/{id}",
    "GET /_emulator/requests",
    "DELETE /_emulator/requests",
    "GET /_emulator/requests/{seq}",
    "GET /_emulator/clock",
    "POST /_emulator/clock",
    "POST /_emulator/reset",
    "GET /_emulator/task-flows",
    "POST /_emulator/task-flows",
    "DELETE /_emulator/task-flows/{name}",
];

/// A refused admin call: status and message (plus valid names when a name was wrong).
#[derive(Debug)]
struct AdminError {
    status: StatusCode,
    message: String,
    valid: Vec<String>,
}

impl AdminError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            valid: Vec::new(),
        }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn response(&self) -> Response<Body> {
        let mut body = json!({ "error": self.message });
        if !self.valid.is_empty() {
            body["valid"] = json!(self.valid);
        }
        with_status(json_response(&body), self.status)
    }
}

impl From<TaskFlowError> for AdminError {
    fn from(err: TaskFlowError) -> Self {
        Self::bad(err.to_string())
    }
}

impl From<RuleError> for AdminError {
    fn from(err: RuleError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: err.message,
            valid: err.valid,
        }
    }
}

fn with_status(mut resp: Response<Body>, status: StatusCode) -> Response<Body> {
    *resp.status_mut() = status;
    resp
}

fn no_content() -> Response<Body> {
    with_status(Response::new(body::empty()), StatusCode::NO_CONTENT)
}

/// Why a request may not use the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Neither a loopback client nor one presenting the token.
    NotAllowed,
    /// One of the emulator's own push callbacks (it carries
    /// [`events::callback::CALLBACK_MARKER`]), wherever it came from.
    OwnCallback,
}

/// Whether a request may use the admin API: loopback clients always, others only with the
/// configured token (never when none, or an empty one, is configured; compared in constant
/// time), and the emulator's own push callbacks never. Only the peer's address counts:
/// forwarding headers (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`) are not read.
///
/// # Errors
/// The [`Refusal`].
pub fn allowed(
    peer: std::net::IpAddr,
    token: Option<&str>,
    headers: &http::HeaderMap,
) -> Result<(), Refusal> {
    if headers.contains_key(events::callback::CALLBACK_MARKER) {
        return Err(Refusal::OwnCallback);
    }
    let loopback = match peer {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token_matches = match (token, presented) {
        (Some(t), Some(p)) => !t.is_empty() && same_token(t.as_bytes(), p.as_bytes()),
        _ => false,
    };
    if loopback || token_matches {
        Ok(())
    } else {
        Err(Refusal::NotAllowed)
    }
}

/// Whether `presented` is `token`, in a time that depends only on their lengths: every byte is
/// compared, whatever the first difference, so timing does not reveal a token's prefix.
fn same_token(token: &[u8], presented: &[u8]) -> bool {
    if token.len() != presented.len() {
        return false;
    }
    let difference = token
        .iter()
        .zip(presented)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// The answer to an admin request that may not use it.
pub fn forbidden(refusal: Refusal) -> Response<Body> {
    let message = match refusal {
        Refusal::NotAllowed => {
            "the admin API answers loopback clients only, or clients presenting the --admin-token as `Authorization: Bearer TOKEN`"
        }
        Refusal::OwnCallback => {
            "the admin API does not answer the emulator's own push callbacks: a NotificationUrl never reaches it"
        }
    };
    AdminError::new(StatusCode::FORBIDDEN, message).response()
}

/// Serves `/_emulator/<path>`.
pub async fn handle(state: &AppState, req: Request<Body>, path: &str) -> Response<Body> {
    if events::admin::owns(path) {
        return events::admin::handle(state, req.method(), path, req.uri().query()).await;
    }
    if inventory::owns(path) {
        if let Some(resp) = inventory::handle(state, req.method(), path, req.uri().query()).await {
            return resp;
        }
    }
    match serve(state, req, path).await {
        Ok(resp) => resp,
        Err(err) => err.response(),
    }
}

async fn serve(
    state: &AppState,
    req: Request<Body>,
    path: &str,
) -> Result<Response<Body>, AdminError> {
    let method = req.method().clone();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (&Method::GET | &Method::HEAD, ["health"]) => Ok(health(state)),
        (&Method::GET, ["routes"]) => Ok(json_response(&routes(state))),
        (&Method::GET, ["env"]) => Ok(json_response(&json!({
            "env": state.exec_env().iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        }))),
        (&Method::GET, ["faults"]) => Ok(json_response(&json!({
            "rules": state.faults().list(),
        }))),
        (&Method::POST, ["faults"]) => add_faults(state, req).await,
        (&Method::DELETE, ["faults"]) => {
            state.faults().clear();
            Ok(no_content())
        }
        (&Method::GET, ["faults", id]) => state
            .faults()
            .get(id)
            .map(|r| json_response(&r))
            .ok_or_else(|| no_rule(id)),
        (&Method::DELETE, ["faults", id]) => {
            if state.faults().remove(id) {
                Ok(no_content())
            } else {
                Err(no_rule(id))
            }
        }
        (&Method::GET, ["requests"]) => requests(state, req.uri().query()),
        (&Method::GET, ["requests", seq]) => request_detail(state, seq),
        (&Method::DELETE, ["requests"]) => {
            state.journal().clear();
            Ok(no_content())
        }
        (&Method::GET, ["clock"]) => Ok(json_response(&state.clock().read())),
        (&Method::POST, ["clock"]) => set_clock(state, req).await,
        (&Method::POST, ["reset"]) => {
            state.reset().await.map_err(|err| {
                tracing::error!(error = %err, "reset failed");
                AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "the reset failed")
            })?;
            Ok(json_response(&json!({ "status": "reset" })))
        }
        (&Method::GET, ["task-flows"]) => Ok(json_response(&json!({
            "taskFlows": state.task_flows().list(),
        }))),
        (&Method::POST, ["task-flows"]) => add_task_flows(state, req).await,
        (&Method::DELETE, ["task-flows", name]) => remove_task_flow(state, name),
        _ => {
            let known = all_routes().any(|r| {
                r.split_once(' ')
                    .is_some_and(|(_, p)| route_matches(p, &segments))
            });
            let status = if known {
                StatusCode::METHOD_NOT_ALLOWED
            } else {
                StatusCode::NOT_FOUND
            };
            Err(AdminError {
                status,
                message: format!("no route for {method} /_emulator/{path}"),
                valid: all_routes().map(|r| (*r).to_owned()).collect(),
            })
        }
    }
}

/// Every admin route: these and the event system's.
fn all_routes() -> impl Iterator<Item = &'static &'static str> {
    ROUTES
        .iter()
        .chain(inventory::ROUTES)
        .chain(events::admin::ROUTES)
}

/// Whether a route pattern (`/_emulator/faults/{id}`) matches the path's segments.
fn route_matches(pattern: &str, segments: &[&str]) -> bool {
    let pattern: Vec<&str> = pattern
        .trim_start_matches("/_emulator/")
        .split('/')
        .collect();
    pattern.len() == segments.len()
        && pattern
            .iter()
            .zip(segments)
            .all(|(p, s)| p.starts_with('{') || p == s)
}

fn no_rule(id: &str) -> AdminError {
    AdminError::new(StatusCode::NOT_FOUND, format!("no fault rule `{id}`"))
}

fn health(state: &AppState) -> Response<Body> {
    let config = state.config();
    json_response(&json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "endpoint": state.public_url(),
        "appId": config.app_id,
        "region": config.region,
        "seed": state.seed(),
        "strict": config.strict,
        "sessionTtlSecs": config.session_ttl.as_secs(),
    }))
}

fn routes(state: &AppState) -> Value {
    let catalog = state.faults().catalog();
    json!({
        "vod": catalog.vod,
        "cos": catalog.cos,
        "events": catalog.events,
        "media": catalog.media,
        "services": Service::ALL.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "effects": Effect::NAMES,
        "admin": all_routes().collect::<Vec<_>>(),
    })
}

/// The body as UTF-8 text, up to the admin body limit.
async fn read_text(req: Request<Body>) -> Result<String, AdminError> {
    String::from_utf8(read_body(req).await?.to_vec())
        .map_err(|_| AdminError::bad("the body must be UTF-8"))
}

async fn read_json<T: serde::de::DeserializeOwned>(req: Request<Body>) -> Result<T, AdminError> {
    serde_json::from_slice(&read_body(req).await?)
        .map_err(|e| AdminError::bad(format!("invalid JSON: {e}")))
}

/// The whole body, up to the admin body limit.
async fn read_body(req: Request<Body>) -> Result<Bytes, AdminError> {
    Ok(Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| AdminError::bad(format!("the body must be at most {MAX_BODY} bytes")))?
        .to_bytes())
}

/// One rule, a list of rules, or a whole scenario, in JSON or TOML: what `--faults` takes.
async fn add_faults(state: &AppState, req: Request<Body>) -> Result<Response<Body>, AdminError> {
    let text = read_text(req).await?;
    let rules = Scenario::parse(&text)
        .map(|s| s.rules)
        .map_err(|e| AdminError::bad(format!("not a fault rule or scenario: {e}")))?;
    let ids = state.faults().add_all(rules)?;
    let rules: Vec<_> = ids.iter().filter_map(|id| state.faults().get(id)).collect();
    Ok(with_status(
        json_response(&json!({ "ids": ids, "rules": rules })),
        StatusCode::CREATED,
    ))
}

/// One task flow, or `{"TaskFlows": [...]}`, registered all or none.
async fn add_task_flows(
    state: &AppState,
    req: Request<Body>,
) -> Result<Response<Body>, AdminError> {
    let flows = task_flows::from_json(read_json(req).await?).map_err(AdminError::bad)?;
    let names = state.task_flows().register(flows)?;
    Ok(with_status(
        json_response(&json!({ "names": names })),
        StatusCode::CREATED,
    ))
}

/// Removes a registered task flow (its name percent-encoded in the path).
fn remove_task_flow(state: &AppState, name: &str) -> Result<Response<Body>, AdminError> {
    let name = percent_decode_str(name).decode_utf8_lossy();
    if state.task_flows().remove(&name)? {
        Ok(no_content())
    } else {
        Err(AdminError::new(
            StatusCode::NOT_FOUND,
            format!("no registered task flow `{name}`"),
        ))
    }
}

/// The journal filter and `follow` flag from a query string.
fn parse_filter(raw: Option<&str>) -> Result<(Filter, bool), AdminError> {
    const NAMES: &[&str] = &[
        "service",
        "action",
        "bucket",
        "key",
        "status",
        "error_code",
        "faulted",
        "rule",
        "since",
        "limit",
        "follow",
    ];
    let query = Query::parse(raw);
    let mut filter = Filter::default();
    let mut follow = false;
    for (name, value) in query.pairs() {
        let number = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|_| AdminError::bad(format!("`{what}` must be a non-negative integer")))
        };
        let flag = || match value.as_str() {
            "" | "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(AdminError::bad(format!("`{name}` must be true or false"))),
        };
        match name.as_str() {
            "service" => filter.service = Some(value.clone()),
            "action" => filter.action = Some(value.clone()),
            "bucket" => filter.bucket = Some(value.clone()),
            "key" => filter.key = Some(value.clone()),
            "error_code" => filter.error_code = Some(value.clone()),
            "rule" => filter.rule = Some(value.clone()),
            "status" => {
                filter.status = Some(
                    u16::try_from(number("status")?)
                        .map_err(|_| AdminError::bad("`status` is an HTTP status"))?,
                );
            }
            "since" => filter.since = Some(number("since")?),
            "limit" => filter.limit = Some(usize::try_from(number("limit")?).unwrap_or(usize::MAX)),
            "faulted" => filter.faulted = Some(flag()?),
            "follow" => follow = flag()?,
            other => {
                return Err(AdminError {
                    status: StatusCode::BAD_REQUEST,
                    message: format!("unknown filter `{other}`"),
                    valid: NAMES.iter().map(|n| (*n).to_owned()).collect(),
                })
            }
        }
    }
    Ok((filter, follow))
}

fn requests(state: &AppState, query: Option<&str>) -> Result<Response<Body>, AdminError> {
    let (filter, follow) = parse_filter(query)?;
    if !follow {
        return Ok(json_response(&json!({
            "requests": state.journal().requests(&filter),
        })));
    }
    // Subscribe before reading the backlog so nothing recorded in between is missed; entries
    // already in the backlog are skipped in the live part by their sequence number.
    let live = state.journal().subscribe();
    let backlog = state.journal().requests(&filter);
    let last_seq = backlog.last().map_or(0, |e| e.seq);
    let live_filter = Filter {
        limit: None,
        ..filter
    };
    let head = stream::iter(backlog.into_iter().map(|e| Ok(line(&e))));
    let tail = stream::unfold(live, move |mut live| {
        let filter = live_filter.clone();
        async move {
            loop {
                match live.recv().await {
                    Ok(e) if e.seq > last_seq && filter.accepts(&e) => {
                        return Some((Ok(line(&e)), live))
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(
        futures_util::StreamExt::chain(head, tail),
    )));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(resp)
}

/// `GET /_emulator/requests/{seq}`: one recent request with its headers, body preview and
/// response headers.
fn request_detail(state: &AppState, seq: &str) -> Result<Response<Body>, AdminError> {
    let not_kept = || {
        AdminError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no detail for request `{seq}`: only the latest {} requests keep one",
                crate::journal::DETAIL_CAPACITY
            ),
        )
    };
    let seq = seq.parse::<u64>().map_err(|_| not_kept())?;
    let (entry, detail) = state.journal().detail(seq).ok_or_else(not_kept)?;
    Ok(json_response(&json!({
        "entry": entry,
        "request": {
            "headers": detail.request_headers,
            "bodyPreview": detail.request_body,
        },
        "response": { "headers": detail.response_headers },
    })))
}

fn line(entry: &Entry) -> Frame<Bytes> {
    let mut bytes = serde_json::to_vec(entry).unwrap_or_default();
    bytes.push(b'\n');
    Frame::data(Bytes::from(bytes))
}

/// `POST /_emulator/clock`: advance (ms or a duration like `90s`), freeze or unfreeze.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    advance_ms: Option<i64>,
    #[serde(default)]
    advance: Option<String>,
    #[serde(default)]
    freeze: Option<bool>,
}

async fn set_clock(state: &AppState, req: Request<Body>) -> Result<Response<Body>, AdminError> {
    let change: ClockChange = read_json(req).await?;
    let by = match (change.advance_ms, change.advance.as_deref()) {
        (Some(_), Some(_)) => return Err(AdminError::bad("give `advance_ms` or `advance`, not both")),
        (Some(ms), None) => ms,
        (None, Some(text)) => parse_duration_ms(text).ok_or_else(|| {
            AdminError::bad(format!(
                "`advance` must be a duration such as 500ms, 90s, 15m, 2h or 1d (negative to go back), not `{text}`"
            ))
        })?,
        (None, None) => 0,
    };
    let clock = state.clock();
    match change.freeze {
        Some(true) => clock.freeze(),
        Some(false) => clock.unfreeze(),
        None => {}
    }
    clock.advance_ms(by);
    Ok(json_response(&clock.read()))
}

/// `500ms`, `90s`, `15m`, `2h`, `1d`, optionally negative, or a bare number of milliseconds.
fn parse_duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let scale = match unit {
        "" | "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(scale).map(|v| v * sign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    http::HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    fn bearer(token: &'static str) -> http::HeaderMap {
        headers(&[("authorization", token)])
    }

    /// Loopback peers, or others presenting the token as a Bearer credential, may use the API.
    #[test]
    fn only_loopback_or_the_token_may_use_the_admin_api() {
        let lan: IpAddr = "192.0.2.10".parse().unwrap_or(Ipv4Addr::UNSPECIFIED.into());
        let v6_lo: IpAddr = "::1".parse().unwrap_or(lan);
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap_or(lan);
        let none = http::HeaderMap::new();
        assert_eq!(allowed(Ipv4Addr::LOCALHOST.into(), None, &none), Ok(()));
        assert_eq!(allowed(v6_lo, None, &none), Ok(()));
        assert_eq!(allowed(mapped, None, &none), Ok(()));
        let refused = Err(Refusal::NotAllowed);
        assert_eq!(allowed(lan, None, &none), refused);
        assert_eq!(allowed(lan, None, &bearer("Bearer guess")), refused);
        assert_eq!(allowed(lan, Some("secret"), &none), refused);
        assert_eq!(
            allowed(lan, Some("secret"), &bearer("Bearer wrong")),
            refused
        );
        assert_eq!(allowed(lan, Some("secret"), &bearer("secret")), refused);
        assert_eq!(
            allowed(lan, Some("secret"), &bearer("Bearer secret")),
            Ok(())
        );
        assert_eq!(
            allowed(lan, Some("secret"), &bearer("Bearer secrets")),
            refused
        );
        assert_eq!(
            allowed(lan, Some("secret"), &bearer("Bearer secreT")),
            refused
        );
    }

    /// An empty configured token lets nobody in, not even a client presenting `Bearer `.
    #[test]
    fn an_empty_token_is_no_token() {
        let lan: IpAddr = "192.0.2.10".parse().unwrap_or(Ipv4Addr::UNSPECIFIED.into());
        assert_eq!(
            allowed(lan, Some(""), &bearer("Bearer ")),
            Err(Refusal::NotAllowed)
        );
    }

    /// Tokens compare equal exactly when their bytes are equal.
    #[test]
    fn tokens_compare_byte_for_byte() {
        assert!(same_token(b"s3cret", b"s3cret"));
        assert!(!same_token(b"s3cret", b"s3creT"));
        assert!(!same_token(b"s3cret", b"s3cre"));
        assert!(!same_token(b"s3cret", b""));
    }

    /// `X-Forwarded-For` and its kin never make a remote client look local.
    #[test]
    fn forwarding_headers_do_not_make_a_client_local() {
        let lan: IpAddr = "192.0.2.10".parse().unwrap_or(Ipv4Addr::UNSPECIFIED.into());
        let spoofed = headers(&[
            ("x-forwarded-for", "127.0.0.1"),
            ("forwarded", "for=127.0.0.1;host=localhost"),
            ("x-real-ip", "127.0.0.1"),
            ("x-forwarded-host", "localhost"),
        ]);
        assert_eq!(allowed(lan, None, &spoofed), Err(Refusal::NotAllowed));
        assert_eq!(
            allowed(lan, Some("secret"), &spoofed),
            Err(Refusal::NotAllowed)
        );
    }

    /// A request carrying the callback marker is refused, from loopback and with the token.
    #[test]
    fn the_emulators_own_callbacks_never_use_the_admin_api() {
        let marked = headers(&[
            (events::callback::CALLBACK_MARKER, "1"),
            ("authorization", "Bearer secret"),
        ]);
        for peer in [
            IpAddr::from(Ipv4Addr::LOCALHOST),
            "192.0.2.10".parse().unwrap_or(Ipv4Addr::UNSPECIFIED.into()),
        ] {
            assert_eq!(
                allowed(peer, Some("secret"), &marked),
                Err(Refusal::OwnCallback)
            );
        }
    }

    #[test]
    fn durations_take_common_units_and_signs() {
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("90s"), Some(90_000));
        assert_eq!(parse_duration_ms("-2h"), Some(-7_200_000));
        assert_eq!(parse_duration_ms("1d"), Some(86_400_000));
        assert_eq!(parse_duration_ms("15"), Some(15));
        assert_eq!(parse_duration_ms("1w"), None);
        assert_eq!(parse_duration_ms("s"), None);
    }

    #[test]
    fn filters_parse_and_unknown_names_are_refused() {
        let (f, follow) = parse_filter(Some(
            "service=cos&action=UploadPart&status=500&faulted=true&follow",
        ))
        .expect("valid");
        assert!(follow);
        assert_eq!(f.status, Some(500));
        assert_eq!(f.faulted, Some(true));
        let err = parse_filter(Some("acton=x")).expect_err("refused");
        assert!(err.valid.contains(&"action".to_owned()));
    }

    #[test]
    fn route_patterns_match_ids() {
        assert!(route_matches(
            "/_emulator/faults/{id}",
            &["faults", "rule-1"]
        ));
        assert!(!route_matches("/_emulator/faults/{id}", &["faults"]));
    }
}
