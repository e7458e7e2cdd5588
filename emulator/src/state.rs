//! The shared state every handler sees: one cheap-to-clone handle.

use crate::clock::Clock;
use crate::config::Config;
use crate::cos::ingest::Ingestion;
use crate::events::callback::Listener;
use crate::faults::Faults;
use crate::hub::EventHub;
use crate::ids::Ids;
use crate::journal::Journal;
use crate::store::Store;
use crate::task_flows::TaskFlows;
use std::sync::Arc;

/// Cheap-to-clone handle to the emulator's configuration, clock, store, event hub, fault
/// rules, task flows, journal and identifier generator.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: Config,
    public_url: String,
    listener: Listener,
    seed: u64,
    clock: Clock,
    store: Store,
    events: EventHub,
    faults: Faults,
    task_flows: TaskFlows,
    journal: Journal,
    ids: Ids,
    ingestion: Ingestion,
    exec_env: Vec<(String, String)>,
}

/// The parts an [`AppState`] is made of.
#[derive(Debug)]
pub struct Parts {
    /// The configuration.
    pub config: Config,
    /// Base of handed-out URLs, without a trailing `/`.
    pub public_url: String,
    /// The addresses the emulator answers on (push callbacks must not reach them).
    pub listener: Listener,
    /// The seed in effect (given or picked).
    pub seed: u64,
    /// The clock.
    pub clock: Clock,
    /// The store.
    pub store: Store,
    /// The fault rules.
    pub faults: Faults,
    /// The task flows.
    pub task_flows: TaskFlows,
    /// The journal.
    pub journal: Journal,
    /// What `vod-emulator exec` sets for its command, served by `GET /_emulator/env` so test
    /// runners in other languages take it from the emulator instead of copying a list.
    pub exec_env: Vec<(String, String)>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(parts: Parts) -> Self {
        Self {
            inner: Arc::new(Shared {
                events: EventHub::default(),
                public_url: parts.public_url.trim_end_matches('/').to_owned(),
                listener: parts.listener,
                ids: Ids::new(parts.seed),
                config: parts.config,
                seed: parts.seed,
                clock: parts.clock,
                store: parts.store,
                faults: parts.faults,
                task_flows: parts.task_flows,
                journal: parts.journal,
                ingestion: Ingestion::default(),
                exec_env: parts.exec_env,
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

    /// The addresses the emulator answers on.
    pub fn listener(&self) -> &Listener {
        &self.inner.listener
    }

    /// The seed of identifiers and fault draws.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The environment `vod-emulator exec` gives its command.
    pub fn exec_env(&self) -> &[(String, String)] {
        &self.inner.exec_env
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

    /// The fault rules.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The task flows a `Procedure` may name.
    pub fn task_flows(&self) -> &TaskFlows {
        &self.inner.task_flows
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// The identifier generator.
    pub fn ids(&self) -> &Ids {
        &self.inner.ids
    }

    /// What every ingested body shares: the one MD5 service and the budget of bytes waiting
    /// for the disk.
    pub fn ingestion(&self) -> &Ingestion {
        &self.inner.ingestion
    }

    /// Back to a fresh emulator without restarting: empty store, journal and rule set, clock at
    /// wall time, identifiers from the seed again, and only the start-up fault rules and task
    /// flows.
    ///
    /// # Errors
    /// The store could not be emptied.
    pub async fn reset(&self) -> Result<(), crate::store::StoreError> {
        self.inner.store.reset().await?;
        let faults = &self.inner.faults;
        faults.clear();
        if let Err(err) = faults.add_all(self.inner.config.faults.clone()) {
            tracing::error!(error = %err, "start-up fault rules no longer validate");
        }
        self.inner.task_flows.reset();
        self.inner.journal.clear();
        self.inner.clock.reset();
        self.inner.ids.reseed(self.inner.seed);
        Ok(())
    }
}
