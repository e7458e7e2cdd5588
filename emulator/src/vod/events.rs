//! PullEvents, ConfirmEvents, DescribeEventConfig and ModifyEventConfig
//! (docs/protocol/vod-api.md §5.2, §5.3, §5.6).
//!
//! PullEvents is a long poll: it answers at once when events are ready, otherwise waits up to
//! the configured pull wait (5 s, as the real API) — on real time or on the emulator's clock,
//! whichever passes first — and is cut short the moment an event arrives. With nothing to
//! deliver it answers `ResourceNotFound`, as the real service does. It never polls: it wakes
//! on an announcement, a move of the emulator's clock, the time a held or unconfirmed event
//! becomes pullable again, or the end of the wait.

use crate::body::Body;
use crate::config::EventMode;
use crate::error::{json_response, VodCode, VodError};
use crate::events::callback::{self, Listener};
use crate::events::{self, deliver};
use crate::faults::Channel;
use crate::state::AppState;
use crate::store::{EventConfigRow, EventState};
use http::Response;
use std::time::Instant;
use vod_protocol::wire::events::{
    ConfirmEventsRequest, DescribeEventConfigRequest, DescribeEventConfigResponse,
    ModifyEventConfigRequest, PullEventsRequest, PullEventsResponse, MAX_EVENTS_PER_CALL,
};
use vod_protocol::wire::media::EmptyResponse;
use vod_protocol::wire::vod::Envelope;

/// Longest SignKey ModifyEventConfig accepts.
const SIGN_KEY_MAX: usize = 32;

/// PullEvents.
pub async fn pull_events(
    state: &AppState,
    req: PullEventsRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let sub_app_id = req.sub_app_id.unwrap_or_default();
    let wait = state.config().pull_wait;
    let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
    let started = Instant::now();
    let started_clock = state.clock().now_ms();
    let mut changes = state.events().changes(state.clock());
    loop {
        let now_ms = state.clock().now_ms();
        let faults = state.faults().clone();
        let pulled = state
            .store()
            .pull_events(
                sub_app_id,
                now_ms,
                now_ms + deliver::CONFIRM_DEADLINE_MS,
                move |candidates| {
                    deliver::select_for_pull(candidates, now_ms, |ev| {
                        faults.decide_event(&ev.event_type, Channel::Pull, Some(ev.sub_app_id))
                    })
                },
                {
                    let state = state.clone();
                    move || state.ids().event_handle()
                },
            )
            .await?;
        for ev in &pulled.withheld {
            state.events().announce(ev.state.as_str(), ev);
        }
        if !pulled.events.is_empty() {
            for ev in &pulled.events {
                state.events().announce("pulled", ev);
            }
            let event_set = pulled
                .events
                .into_iter()
                .map(|ev| {
                    let mut content = ev.content;
                    content.event_handle = ev.handle;
                    content
                })
                .collect();
            return Ok(json_response(&Envelope {
                response: PullEventsResponse {
                    event_set,
                    request_id: request_id.to_owned(),
                },
            }));
        }
        // An event held until now (reorder) is pullable at once: look again without waiting.
        if pulled
            .withheld
            .iter()
            .any(|ev| ev.due_ms <= now_ms && ev.state == EventState::Held)
        {
            continue;
        }
        if started.elapsed() >= wait || now_ms - started_clock >= wait_ms {
            return Err(VodError::new(
                VodCode::ResourceNotFound,
                "no event is waiting to be pulled",
            ));
        }
        let mut nap = wait.saturating_sub(started.elapsed());
        if let Some(until_due) = pulled
            .next_due_ms
            .and_then(|due| state.clock().real_time_until(due))
        {
            nap = nap.min(until_due);
        }
        tokio::select! {
            () = changes.next() => {}
            () = tokio::time::sleep(nap) => {}
            // Stopping: answer as the end of the wait would, without holding up the drain.
            () = state.events().stopped() => {
                return Err(VodError::new(
                    VodCode::ResourceNotFound,
                    "no event is waiting to be pulled",
                ));
            }
        }
    }
}

/// ConfirmEvents: all handles or none.
pub async fn confirm_events(
    state: &AppState,
    req: ConfirmEventsRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let handles = req
        .event_handles
        .ok_or_else(|| super::missing("EventHandles"))?;
    if handles.is_empty() || handles.len() > MAX_EVENTS_PER_CALL {
        return Err(VodError::new(
            VodCode::InvalidParameterValue,
            format!("EventHandles must hold 1 to {MAX_EVENTS_PER_CALL} handles"),
        ));
    }
    let sub_app_id = req.sub_app_id.unwrap_or_default();
    let now_ms = state.clock().now_ms();
    let confirmed = state
        .store()
        .confirm_events(sub_app_id, handles.clone(), now_ms)
        .await?;
    if let Some(first) = confirmed.unknown.first() {
        return Err(VodError::new(
            VodCode::InvalidParameterValue,
            format!(
                "the EventHandle `{first}` is unknown, already confirmed or older than its \
                 confirmation deadline"
            ),
        ));
    }
    events::announce_ids(state, "confirmed", &confirmed.ids).await;
    Ok(json_response(&Envelope {
        response: EmptyResponse {
            request_id: request_id.to_owned(),
        },
    }))
}

fn switch(on: bool) -> String {
    if on { "ON" } else { "OFF" }.to_owned()
}

/// DescribeEventConfig.
pub async fn describe_event_config(
    state: &AppState,
    req: DescribeEventConfigRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let c = events::config_for(state, req.sub_app_id.unwrap_or_default()).await?;
    Ok(json_response(&Envelope {
        response: DescribeEventConfigResponse {
            mode: c.mode,
            notification_url: c.notification_url,
            upload_media_complete_event_switch: switch(c.upload_events),
            delete_media_complete_event_switch: switch(c.delete_events),
            persistence_complete_event_switch: switch(c.persistence_events),
            request_id: request_id.to_owned(),
        },
    }))
}

/// ModifyEventConfig: absent fields keep their value.
pub async fn modify_event_config(
    state: &AppState,
    req: ModifyEventConfigRequest,
    request_id: &str,
) -> Result<Response<Body>, VodError> {
    let sub_app_id = req.sub_app_id.unwrap_or_default();
    let current = events::config_for(state, sub_app_id).await?;
    let updated = apply(current, &req, state.listener())?;
    state.store().put_event_config(sub_app_id, updated).await?;
    state.events().wake();
    Ok(json_response(&Envelope {
        response: EmptyResponse {
            request_id: request_id.to_owned(),
        },
    }))
}

/// The configuration after a ModifyEventConfig; `InvalidParameter` (the only parameter code
/// the action documents) for a bad value, including a NotificationUrl that is not an http(s)
/// URL or that names the emulator's own listener `own` ([`callback::check`]).
fn apply(
    mut c: EventConfigRow,
    req: &ModifyEventConfigRequest,
    own: &Listener,
) -> Result<EventConfigRow, VodError> {
    let invalid = |what: String| VodError::new(VodCode::InvalidParameter, what);
    if let Some(mode) = &req.mode {
        c.mode = EventMode::parse(mode)
            .ok_or_else(|| invalid(format!("Mode `{mode}` is not PUSH or PULL")))?
            .as_str()
            .to_owned();
    }
    if let Some(url) = &req.notification_url {
        callback::check(url, own, callback::is_local_address)?;
        c.notification_url = url.clone();
    }
    let parse_switch = |name: &str, value: &Option<String>, field: &mut bool| match value.as_deref()
    {
        None => Ok(()),
        Some("ON") => {
            *field = true;
            Ok(())
        }
        Some("OFF") => {
            *field = false;
            Ok(())
        }
        Some(other) => Err(invalid(format!("{name} `{other}` is not ON or OFF"))),
    };
    parse_switch(
        "UploadMediaCompleteEventSwitch",
        &req.upload_media_complete_event_switch,
        &mut c.upload_events,
    )?;
    parse_switch(
        "DeleteMediaCompleteEventSwitch",
        &req.delete_media_complete_event_switch,
        &mut c.delete_events,
    )?;
    parse_switch(
        "PersistenceCompleteEventSwitch",
        &req.persistence_complete_event_switch,
        &mut c.persistence_events,
    )?;
    if let Some(key) = &req.sign_key {
        if key.len() > SIGN_KEY_MAX || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(format!(
                "SignKey must be at most {SIGN_KEY_MAX} letters and digits"
            )));
        }
        c.sign_key = key.clone();
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn own() -> Listener {
        Listener::new(std::net::SocketAddr::from(([127, 0, 0, 1], 9266)), None)
    }

    fn base() -> EventConfigRow {
        EventConfigRow {
            mode: "PULL".into(),
            notification_url: String::new(),
            upload_events: true,
            delete_events: false,
            persistence_events: false,
            sign_key: String::new(),
        }
    }

    #[test]
    fn modify_changes_only_given_fields_and_checks_values() {
        let req = ModifyEventConfigRequest {
            mode: Some("push".into()),
            notification_url: Some("http://127.0.0.1:1/cb".into()),
            delete_media_complete_event_switch: Some("ON".into()),
            ..Default::default()
        };
        let c = apply(base(), &req, &own()).unwrap();
        assert_eq!(c.mode, "PUSH");
        assert!(c.upload_events && c.delete_events);
        for bad in [
            ModifyEventConfigRequest {
                mode: Some("POLL".into()),
                ..Default::default()
            },
            ModifyEventConfigRequest {
                upload_media_complete_event_switch: Some("yes".into()),
                ..Default::default()
            },
            ModifyEventConfigRequest {
                sign_key: Some("with space".into()),
                ..Default::default()
            },
            ModifyEventConfigRequest {
                notification_url: Some("ftp://x".into()),
                ..Default::default()
            },
            ModifyEventConfigRequest {
                notification_url: Some("http://localhost:9266/_emulator/reset".into()),
                ..Default::default()
            },
        ] {
            assert_eq!(
                apply(base(), &bad, &own()).map_err(|e| e.code),
                Err(VodCode::InvalidParameter)
            );
        }
    }
}
