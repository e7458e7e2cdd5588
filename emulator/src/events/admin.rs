//! The event system's part of the admin API (`/_emulator/events…`, `/_emulator/tasks…`):
//! listing events with their delivery state, waiting for one (so tests need no sleeps), a
//! live feed for `vod-emulator events tail`, resending, synthetic triggers, and advancing task
//! flows by hand.

use crate::body::Body;
use crate::error::json_response;
use crate::events::{self, content, worker};
use crate::state::AppState;
use crate::store::{EventFilter, EventRow, EventState, NewEvent, StoreError};
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use percent_encoding::percent_decode_str;
use serde_json::json;
use std::time::{Duration, Instant};
use vod_protocol::wire::events::NEW_FILE_UPLOAD;

/// How long `events/wait` waits when no `timeoutMs` is given.
const DEFAULT_WAIT: Duration = Duration::from_secs(10);
/// Longest `events/wait` accepted.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// The event system's admin routes, as `/_emulator/routes` lists them.
pub const ROUTES: &[&str] = &[
    "GET /_emulator/events",
    "GET /_emulator/events/wait",
    "GET /_emulator/events/stream",
    "POST /_emulator/events/trigger",
    "POST /_emulator/events/{id}/resend",
    "GET /_emulator/tasks",
    "POST /_emulator/tasks/{id}/finish",
];

/// Whether this admin path belongs to the event system.
pub fn owns(path: &str) -> bool {
    path == "events" || path.starts_with("events/") || path == "tasks" || path.starts_with("tasks/")
}

/// Serves an event-system admin path.
pub async fn handle(
    state: &AppState,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Response<Body> {
    let q = Query::parse(query.unwrap_or(""));
    let segments: Vec<&str> = path.split('/').collect();
    let result = match (method, segments.as_slice()) {
        (&Method::GET, ["events"]) => list(state, &q).await,
        (&Method::GET, ["events", "wait"]) => wait(state, &q).await,
        (&Method::GET, ["events", "stream"]) => return stream(state),
        (&Method::POST, ["events", "trigger"]) => trigger(state, &q).await,
        (&Method::POST, ["events", id, "resend"]) => resend(state, id).await,
        (&Method::GET, ["tasks"]) => tasks(state).await,
        (&Method::POST, ["tasks", id, "finish"]) => finish(state, id).await,
        _ => Ok(status(
            StatusCode::NOT_FOUND,
            json!({"error": "not found", "path": format!("/_emulator/{path}")}),
        )),
    };
    result.unwrap_or_else(|err| {
        tracing::error!(error = %err, "store failure in admin api");
        status(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "internal error"}),
        )
    })
}

fn status(code: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut resp = json_response(&body);
    *resp.status_mut() = code;
    resp
}

/// Decoded query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: &str) -> Self {
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        Self(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn filter(&self) -> Result<EventFilter, String> {
        let state = match self.get("state") {
            None => None,
            Some(s) => Some(parse_state(s).ok_or_else(|| format!("unknown state `{s}`"))?),
        };
        let number = |name: &str| -> Result<Option<i64>, String> {
            self.get(name)
                .map(|v| v.parse().map_err(|_| format!("`{name}` must be a number")))
                .transpose()
        };
        Ok(EventFilter {
            after_id: number("after")?,
            event_type: self.get("type").map(str::to_owned),
            file_id: self.get("fileId").map(str::to_owned),
            state,
            sub_app_id: number("subAppId")?.map(|v| v as u64),
        })
    }
}

fn parse_state(s: &str) -> Option<EventState> {
    [
        EventState::Pending,
        EventState::Inflight,
        EventState::Confirmed,
        EventState::Delivered,
        EventState::Failed,
        EventState::Held,
        EventState::Dropped,
    ]
    .into_iter()
    .find(|st| st.as_str() == s)
}

fn bad_request(message: String) -> Response<Body> {
    status(StatusCode::BAD_REQUEST, json!({ "error": message }))
}

/// `GET /_emulator/events[?type=&fileId=&state=&subAppId=&after=]`.
async fn list(state: &AppState, q: &Query) -> Result<Response<Body>, StoreError> {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return Ok(bad_request(e)),
    };
    let events = state.store().events(filter).await?;
    Ok(json_response(&json!({ "events": events })))
}

/// `GET /_emulator/events/wait?…&timeoutMs=N`: the first event matching the filter, as soon
/// as there is one; 408 after the timeout.
async fn wait(state: &AppState, q: &Query) -> Result<Response<Body>, StoreError> {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return Ok(bad_request(e)),
    };
    let timeout = match q.get("timeoutMs").map(str::parse::<u64>) {
        None => DEFAULT_WAIT,
        Some(Ok(ms)) => Duration::from_millis(ms).min(MAX_WAIT),
        Some(Err(_)) => return Ok(bad_request("`timeoutMs` must be a number".into())),
    };
    let started = Instant::now();
    // Every change to an event is announced: the wait wakes on those, never polls.
    let mut changes = state.events().changes(state.clock());
    loop {
        let found: Option<EventRow> = state
            .store()
            .events(filter.clone())
            .await?
            .into_iter()
            .next();
        if let Some(event) = found {
            return Ok(json_response(&json!({ "event": event })));
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Ok(status(
                StatusCode::REQUEST_TIMEOUT,
                json!({"error": "no matching event before the timeout"}),
            ));
        }
        tokio::select! {
            () = changes.next() => {}
            () = tokio::time::sleep(left) => {}
            // Stopping: the timeout's answer now, without holding up the drain.
            () = state.events().stopped() => {
                return Ok(status(
                    StatusCode::REQUEST_TIMEOUT,
                    json!({"error": "the emulator is stopping"}),
                ));
            }
        }
    }
}

/// `GET /_emulator/events/stream`: one JSON object per line for every event created, pulled,
/// confirmed, pushed, retried or given up, as it happens; it ends when the server stops.
fn stream(state: &AppState) -> Response<Body> {
    let rx = state.events().subscribe();
    let hub = state.events().clone();
    let lines = futures_util::stream::unfold((rx, hub), |(mut rx, hub)| async move {
        loop {
            let received = tokio::select! {
                received = rx.recv() => received,
                () = hub.stopped() => return None,
            };
            match received {
                Ok(line) => {
                    let frame = Frame::data(Bytes::from(format!("{line}\n")));
                    return Some((Ok::<_, std::io::Error>(frame), (rx, hub)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let mut resp = Response::new(StreamBody::new(lines).boxed());
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-ndjson"),
    );
    resp
}

/// `POST /_emulator/events/trigger?type=NewFileUpload&fileId=…[&subAppId=]`: a synthetic event,
/// delivered like a real one under the application's configuration.
async fn trigger(state: &AppState, q: &Query) -> Result<Response<Body>, StoreError> {
    let event_type = q.get("type").unwrap_or(NEW_FILE_UPLOAD);
    if event_type != NEW_FILE_UPLOAD {
        return Ok(bad_request(format!(
            "only NewFileUpload can be triggered, not `{event_type}`"
        )));
    }
    let Some(file_id) = q.get("fileId").filter(|f| !f.is_empty()) else {
        return Ok(bad_request("`fileId` is required".into()));
    };
    let sub_app_id = match q.get("subAppId").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(v)) => v,
        Some(Err(_)) => return Ok(bad_request("`subAppId` must be a number".into())),
    };
    let config = events::config_for(state, sub_app_id).await?;
    let now_ms = state.clock().now_ms();
    let ids = state
        .store()
        .insert_events(vec![NewEvent {
            sub_app_id,
            content: content::synthetic_file_upload(file_id, now_ms.div_euclid(1000)),
            delivery: events::delivery_of(&config),
            created_ms: now_ms,
            held_until_ms: None,
        }])
        .await?;
    events::announce_ids(state, "created", &ids).await;
    Ok(json_response(&json!({ "ids": ids })))
}

/// `POST /_emulator/events/{id}/resend`: deliver again from now, with a fresh round of tries.
async fn resend(state: &AppState, id: &str) -> Result<Response<Body>, StoreError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(bad_request(format!("`{id}` is not an event id")));
    };
    if !state
        .store()
        .resend_event(id, state.clock().now_ms())
        .await?
    {
        return Ok(status(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no event {id}")}),
        ));
    }
    events::announce_ids(state, "resent", &[id]).await;
    Ok(json_response(&json!({ "id": id })))
}

/// `GET /_emulator/tasks`: task flows not finished yet.
async fn tasks(state: &AppState) -> Result<Response<Body>, StoreError> {
    let tasks = state.store().open_tasks().await?;
    Ok(json_response(&json!({ "tasks": tasks })))
}

/// `POST /_emulator/tasks/{TaskId}/finish`: finishes a task flow now.
async fn finish(state: &AppState, task_id: &str) -> Result<Response<Body>, StoreError> {
    let open = state.store().open_tasks().await?;
    let Some(task) = open.iter().find(|t| t.task_id == task_id) else {
        return Ok(status(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no open task {task_id}")}),
        ));
    };
    worker::finish_task(state, task).await?;
    Ok(json_response(&json!({ "taskId": task_id })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_filters_decode_and_validate() {
        let q = Query::parse("type=NewFileUpload&fileId=5%2B1&state=pending&after=3");
        let f = q.filter().unwrap_or_default();
        assert_eq!(f.event_type.as_deref(), Some("NewFileUpload"));
        assert_eq!(f.file_id.as_deref(), Some("5+1"));
        assert_eq!(f.state, Some(EventState::Pending));
        assert_eq!(f.after_id, Some(3));
        assert!(Query::parse("state=lost").filter().is_err());
        assert!(Query::parse("after=x").filter().is_err());
    }
}
