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
//! [`EventHub`] only wakes waiters (long polls, the worker, admin waits) and feeds
//! `events tail`. Time is always the emulator's clock.

pub mod admin;
pub mod callback;
pub mod content;
pub mod deliver;
pub mod worker;

use crate::config::EventMode;
use crate::state::AppState;
use crate::store::{Delivery, EventConfigRow, EventRow, StoreError};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{broadcast, watch, Notify};

/// How many feed lines a slow `events tail` may fall behind before it skips some.
const FEED_CAPACITY: usize = 1024;

/// Wakes everything that waits for events and streams what happens to them.
#[derive(Debug, Clone)]
pub struct EventHub {
    notify: Arc<Notify>,
    feed: broadcast::Sender<String>,
    // Set once the server stops: feeds end and long polls answer at once, so none of them
    // holds up the drain of in-flight requests.
    stopping: Arc<watch::Sender<bool>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            notify: Arc::new(Notify::new()),
            feed: broadcast::channel(FEED_CAPACITY).0,
            stopping: Arc::new(watch::channel(false).0),
        }
    }
}

impl EventHub {
    /// Something changed: wake long polls, the worker and admin waits, and tell `tail`.
    pub fn announce(&self, what: &str, event: &EventRow) {
        self.notify.notify_waiters();
        let line = json!({ "what": what, "event": event }).to_string();
        // No subscriber is fine: nobody is tailing.
        let _ = self.feed.send(line);
    }

    /// Wakes waiters without a feed line (clock moved, task finished without an event).
    pub fn wake(&self) {
        self.notify.notify_waiters();
    }

    /// Resolves at the next announcement.
    pub async fn changed(&self) {
        self.notify.notified().await;
    }

    /// A live stream of feed lines (JSON objects: `what` and the `event` with its state).
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.feed.subscribe()
    }

    /// The server is stopping: ends every feed and every wait for events from now on.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once [`EventHub::stop`] has been called (at once if it has).
    pub async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        // An error means the sender is gone, which cannot happen while `self` holds it.
        let _ = stopping.wait_for(|stopped| *stopped).await;
    }
}

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
