//! Event notification: what the service tells the app backend after uploads, deletions and
//! task flows, delivered durably by pull (PullEvents / ConfirmEvents) or push (HTTP callbacks).
//!
//! - `content`: builds the wire payloads (v3 EventContent, push bodies, legacy v2 bodies).
//! - `callback`: where push callbacks may go, and how the admin API tells them apart.
//! - [`deliver`]: every decision about what a pull returns and what happens after a push try,
//!   in one place (the seam a fault engine hooks into to drop, duplicate, delay or reorder).
//! - `worker`: the background task that finishes due task flows and pushes due callbacks.
//! - `admin`: `/_emulator/events…` and `/_emulator/tasks…`.
//!
//! Events are rows in the store written in the transaction of the change that produced them;
//! [`crate::hub::EventHub`] (below the state that holds it) only wakes waiters (long polls, the
//! worker, admin waits) and feeds `events tail`. Time is always the emulator's clock.

pub mod admin;
pub mod callback;
pub mod content;
pub mod deliver;
pub mod worker;

use crate::config::EventMode;
use crate::state::AppState;
use crate::store::{Delivery, EventConfigRow, StoreError};

/// The event configuration in force for an application: what ModifyEventConfig stored, or
/// the start-up defaults.
///
/// # Errors
/// Store failure.
pub async fn config_for(state: &AppState, sub_app_id: u64) -> Result<EventConfigRow, StoreError> {
    if let Some(stored) = state.store().event_config(sub_app_id).await? {
        return Ok(stored);
    }
    let d = &state.config().events;
    Ok(EventConfigRow {
        mode: d.mode.as_str().to_owned(),
        notification_url: d.notification_url.clone().unwrap_or_default(),
        upload_events: d.upload_events,
        delete_events: d.delete_events,
        persistence_events: false,
        sign_key: d.sign_key.clone().unwrap_or_default(),
    })
}

/// How events produced now under `config` are delivered.
pub fn delivery_of(config: &EventConfigRow) -> Delivery {
    match EventMode::parse(&config.mode) {
        Some(EventMode::Push) => Delivery::Push,
        Some(EventMode::Pull) | None => Delivery::Pull,
    }
}

/// Announces freshly stored events by id (after their transaction committed).
pub async fn announce_ids(state: &AppState, what: &str, ids: &[i64]) {
    let Some(first) = ids.iter().min() else {
        return;
    };
    let filter = crate::store::EventFilter {
        after_id: Some(first - 1),
        ..Default::default()
    };
    match state.store().events(filter).await {
        Ok(rows) => {
            for row in rows.iter().filter(|r| ids.contains(&r.id)) {
                state.events().announce(what, row);
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot read back new events");
            state.events().wake();
        }
    }
}
