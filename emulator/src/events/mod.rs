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

use crate::clock::Clock;
use crate::config::EventMode;
use crate::state::AppState;
use crate::store::{Delivery, EventConfigRow, EventRow, StoreError};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// How many feed lines a slow `events tail` may fall behind before it skips some.
const FEED_CAPACITY: usize = 1024;

/// Wakes everything that waits for events and streams what happens to them.
#[derive(Debug, Clone)]
pub struct EventHub {
    // Counts announcements; a waiter's receiver wakes on each one made after it subscribed.
    changes: Arc<watch::Sender<u64>>,
    feed: broadcast::Sender<String>,
    // Set once the server stops: feeds end and long polls answer at once, so none of them
    // holds up the drain of in-flight requests.
    stopping: Arc<watch::Sender<bool>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            changes: Arc::new(watch::channel(0).0),
            feed: broadcast::channel(FEED_CAPACITY).0,
            stopping: Arc::new(watch::channel(false).0),
        }
    }
}

impl EventHub {
    /// Something changed: wake long polls, the worker and admin waits, and tell `tail`.
    pub fn announce(&self, what: &str, event: &EventRow) {
        self.wake();
        let line = json!({ "what": what, "event": event }).to_string();
        // No subscriber is fine: nobody is tailing.
        let _ = self.feed.send(line);
    }

    /// Wakes waiters without a feed line (clock moved, task finished without an event).
    pub fn wake(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// What a waiter watches from now on: announcements and moves of `clock`.
    pub fn changes(&self, clock: &Clock) -> Changes {
        Changes {
            events: self.changes.subscribe(),
            clock: clock.watch(),
        }
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

/// Announcements and clock moves since a waiter subscribed ([`EventHub::changes`]). Taken
/// before a waiter looks at the store, so a change between the look and the wait is never
/// missed: the wake-up is the only path, no waiter polls.
#[derive(Debug)]
pub struct Changes {
    events: watch::Receiver<u64>,
    clock: watch::Receiver<u64>,
}

impl Changes {
    /// Resolves at the first announcement or clock move not yet seen.
    pub async fn next(&mut self) {
        // The senders live as long as the hub and the clock, which outlive every waiter; were
        // one gone, `changed` would fail at once and the waiter would look again.
        tokio::select! {
            _ = self.events.changed() => {}
            _ = self.clock.changed() => {}
        }
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
