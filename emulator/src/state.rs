//! The shared state every handler sees: one cheap-to-clone handle.

use crate::clock::Clock;
use crate::config::Config;
use crate::events::EventHub;
use crate::store::Store;
use std::sync::Arc;

/// Cheap-to-clone handle to the emulator's configuration, clock, store and event hub.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: Config,
    public_url: String,
    clock: Clock,
    store: Store,
    events: EventHub,
}

impl AppState {
    /// Bundles the parts; `public_url` is the base of handed-out URLs, without a trailing `/`.
    pub fn new(config: Config, public_url: String, clock: Clock, store: Store) -> Self {
        Self {
            inner: Arc::new(Shared {
                config,
                public_url: public_url.trim_end_matches('/').to_owned(),
                clock,
                store,
                events: EventHub::default(),
            }),
        }
    }

    /// The configuration the emulator was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Base of the URLs handed out (MediaUrl, CoverUrl).
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// The emulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Wakes event waiters and feeds `events tail`.
    pub fn events(&self) -> &EventHub {
        &self.inner.events
    }

    /// Metadata and bytes.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}
