//! The in-process signal of the event system: announcements of event changes (which wake
//! long polls, the worker and admin waits, and feed `events tail`) and the stop signal that
//! ends them. It knows events only as rows to describe; it sits below the shared state that
//! holds it, so the state does not depend on the event services.

use crate::clock::Clock;
use crate::store::EventRow;
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
        self.publish(json!({ "what": what, "event": event }));
    }

    /// A push try ended: as [`EventHub::announce`], with the callback's HTTP status (`None`
    /// when it gave none) and how long the try took, for the dashboard's delivery history.
    pub fn announce_push(
        &self,
        what: &str,
        event: &EventRow,
        status: Option<u16>,
        latency_ms: u64,
    ) {
        self.publish(json!({
            "what": what,
            "event": event,
            "push": { "status": status, "latencyMs": latency_ms },
        }));
    }

    fn publish(&self, line: serde_json::Value) {
        self.wake();
        // No subscriber is fine: nobody is tailing.
        let _ = self.feed.send(line.to_string());
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
