//! `vod-emulator`: a local emulator of Tencent Cloud VOD server-side upload.
//!
//! It speaks the VOD API (TC3-signed JSON: ApplyUpload, CommitUpload) and the COS XML API
//! (PutObject, multipart, Head/Get/Delete) on one port, closely enough that the official,
//! unmodified SDKs complete uploads against it; it stores what they upload and serves it back
//! from the MediaUrl it hands out.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vod_emulator::StartError> {
//! let emu = vod_emulator::Emulator::builder().start().await?; // 127.0.0.1, any free port
//! println!("VOD API and COS at {}", emu.endpoint());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Tests make it misbehave on demand and look at what happened:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vod_emulator::faults::{Effect, Rule, Service};
//! use vod_emulator::journal::Filter;
//! let emu = vod_emulator::Emulator::builder().seed(42).start().await?;
//! emu.faults().add(Rule::new(Service::Cos, "UploadPart", Effect::error("InternalError")).first(1))?;
//! // ... run an upload against emu.endpoint() ...
//! let parts = emu.journal().requests(&Filter::default().action("UploadPart"));
//! emu.clock().advance_ms(3_600_000); // make the session expire
//! emu.reset().await?;                // fresh state for the next test
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: what an instance is (address, storage, account, keys, seed, strictness).
//! - `server`: the accept loop and the one dispatch (route, faults, handler, journal);
//!   `router`: request → [`router::Endpoint`]; `request`: what is known before handling.
//! - `proxy`: the port's CONNECT proxy for the cloud hosts and direct TLS; `tls`: the local CA
//!   that certifies them; [`redirect`]: the environment that sends unmodified SDKs here.
//! - `vod`: the VOD API (envelope, TC3 verification, ApplyUpload, CommitUpload).
//! - `cos`: the COS XML API (signature and credential scope, objects, multipart).
//! - `media`: playback URLs; `admin`: `/_emulator/*`; `inventory`: what the emulator holds,
//!   for the admin API; `dashboard`: the page at `/_emulator/ui/`, a client of the admin API.
//! - `events`: durable event delivery (pull and push), the task-flow simulation's clockwork;
//!   `metadata`: what the emulator can read from uploaded files (MP4).
//! - [`faults`]: rules (match + effect + schedule), their pure decisions, body shaping.
//! - [`task_flows`]: what a `Procedure` names: presets, `QCVB_` forms, registered task flows.
//! - [`journal`]: every request, bounded in memory, filterable, streamed, optionally on disk.
//! - `header_case`: response header names spelled as the real services spell them.
//! - `store`: SQLite metadata and blob files; `error`: wire errors → responses, in one place.
//! - [`parse`]: every network-reachable parser, for property tests and fuzz targets.
//! - [`clock`]: the emulator's movable, freezable clock; `ids`: identifiers it mints (seeded).

pub mod clock;
pub mod config;
pub mod faults;
pub mod journal;
pub mod parse;
pub mod redirect;
pub mod router;
pub mod task_flows;

mod admin;
mod body;
mod cos;
mod dashboard;
mod error;
mod events;
mod glob;
mod header_case;
mod hub;
mod ids;
mod inventory;
mod media;
mod metadata;
mod proxy;
mod request;
mod server;
mod state;
mod store;
mod tls;
mod vod;

pub use config::{AuthMode, Config, EventDefaults, EventMode, ProcedureProgress};

use clock::Clock;
use faults::{Catalog, Faults, Rule, RuleError, Scenario};
use journal::Journal;
use state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use task_flows::{TaskFlow, TaskFlowError, TaskFlows};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The storage could not be opened.
    #[error("cannot open {}: {source}", storage(.dir.as_deref()))]
    Store {
        /// The data directory; `None` for temporary storage.
        dir: Option<PathBuf>,
        /// Why.
        source: store::StoreError,
    },
    /// A start-up fault rule is invalid.
    #[error("invalid fault rule: {0}")]
    Fault(#[from] RuleError),
    /// A start-up task flow is invalid.
    #[error("invalid task flow: {0}")]
    TaskFlow(#[from] TaskFlowError),
    /// The journal file could not be opened.
    #[error("cannot open the journal file {}: {source}", .path.display())]
    Journal {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The local CA could not be loaded or created.
    #[error("cannot set up the local CA: {0}")]
    Ca(#[from] tls::TlsError),
    /// The CA directory could not be set up (temporary directory, Python shim).
    #[error("cannot set up the CA directory: {0}")]
    CaDir(#[source] std::io::Error),
    /// The start-up NotificationUrl is refused, as ModifyEventConfig would refuse it.
    #[error("invalid --notification-url: {0}")]
    NotificationUrl(#[from] events::callback::CallbackUrlError),
}

/// The storage a [`StartError::Store`] is about, in words.
fn storage(dir: Option<&std::path::Path>) -> String {
    match dir {
        Some(dir) => format!("the data directory {}", dir.display()),
        None => "the temporary storage".to_owned(),
    }
}

/// Why a reset failed.
#[derive(Debug, thiserror::Error)]
#[error("reset failed: {0}")]
pub struct ResetError(#[from] store::StoreError);

/// Loads the local CA kept in `dir`, creating it on first use, and returns the path of its
/// certificate (what `vod-emulator ca` prints). Blocking.
///
/// # Errors
/// The directory cannot be written or holds a broken CA.
pub fn ensure_ca(dir: &std::path::Path) -> Result<PathBuf, StartError> {
    Ok(tls::LocalCa::load_or_create(dir)?.cert_path())
}

impl Emulator {
    /// A builder with the defaults: 127.0.0.1, any free port, temporary storage, the default
    /// key pair and AppId, region ap-guangzhou, signatures verified.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            config: Config::default(),
        }
    }
}

/// Configures an emulator before starting it.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    config: Config,
}

impl EmulatorBuilder {
    /// Starts from a complete configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Port to listen on (0 = any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// Keeps everything in `dir`, surviving restarts.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.data_dir = Some(dir.into());
        self
    }

    /// The API key pair to accept.
    pub fn credentials(
        mut self,
        secret_id: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.config.secret_id = secret_id.into();
        self.config.secret_key = secret_key.into();
        self
    }

    /// Account AppId.
    pub fn app_id(mut self, app_id: u64) -> Self {
        self.config.app_id = app_id;
        self
    }

    /// Default storage region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = region.into();
        self
    }

    /// Where the local CA (and the Python shim) live; by default `<data-dir>/ca`, or a
    /// temporary directory without a data dir.
    pub fn ca_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.ca_dir = Some(dir.into());
        self
    }

    /// Base of the URLs handed out.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.config.public_url = Some(url.into());
        self
    }

    /// Signature checking.
    pub fn auth(mut self, auth: AuthMode) -> Self {
        self.config.auth = auth;
        self
    }

    /// How long a client may stay silent, idle between requests, or stall its request headers
    /// or body.
    pub fn client_timeout(mut self, timeout: Duration) -> Self {
        self.config.client_timeout = timeout;
        self
    }

    /// Lifetime of temporary credentials and session keys.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.config.session_ttl = ttl;
        self
    }

    /// The event configuration every VOD application starts with.
    pub fn events(mut self, events: EventDefaults) -> Self {
        self.config.events = events;
        self
    }

    /// When task flows named at ApplyUpload finish.
    pub fn procedure_progress(mut self, progress: ProcedureProgress) -> Self {
        self.config.procedure_progress = progress;
        self
    }

    /// Registers a task flow at start-up, beside the presets (it survives
    /// [`Emulator::reset`]); ApplyUpload's `Procedure` may then name it.
    pub fn task_flow(mut self, flow: TaskFlow) -> Self {
        self.config.task_flows.push(flow);
        self
    }

    /// How long PullEvents waits on an empty queue (5 s by default, as the real API).
    pub fn pull_wait(mut self, wait: Duration) -> Self {
        self.config.pull_wait = wait;
        self
    }

    /// How many times a push callback is tried before it is given up.
    pub fn push_attempts(mut self, attempts: u32) -> Self {
        self.config.push_attempts = attempts.max(1);
        self
    }

    /// Seeds every identifier and fault draw: the same seed and the same requests give the
    /// same responses (apart from wall-clock fields) and the same faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Refuses request fields no handler reads instead of ignoring them.
    pub fn strict(mut self, strict: bool) -> Self {
        self.config.strict = strict;
        self
    }

    /// Installs a fault rule at start-up (it survives [`Emulator::reset`]).
    pub fn fault(mut self, rule: Rule) -> Self {
        self.config.faults.push(rule);
        self
    }

    /// Installs a scenario's rules at start-up (they survive [`Emulator::reset`]).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.config.faults.extend(scenario.rules);
        self
    }

    /// Also appends every journal entry to `path` as JSON lines.
    pub fn journal_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.journal_file = Some(path.into());
        self
    }

    /// Opens the storage, binds the port and starts serving.
    ///
    /// # Errors
    /// The port cannot be bound, the storage or journal file cannot be opened, or a start-up
    /// fault rule or task flow is invalid.
    pub async fn start(self) -> Result<Emulator, StartError> {
        let config = self.config;
        let seed = config.seed.unwrap_or_else(rand::random);
        let clock = Clock::default();
        let faults = Faults::new(seed, clock.clone(), catalog());
        faults.add_all(config.faults.clone())?;
        let task_flows = TaskFlows::new(config.task_flows.clone())?;
        let journal = Journal::new(config.journal_capacity, config.journal_file.as_deref())
            .map_err(|source| StartError::Journal {
                path: config.journal_file.clone().unwrap_or_default(),
                source,
            })?;
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let listener_addresses =
            events::callback::Listener::new(addr, config.public_url.as_deref());
        if let Some(url) = &config.events.notification_url {
            events::callback::check(url, &listener_addresses, events::callback::is_local_address)?;
        }
        let endpoint = format!("http://{}", config::advertised(addr));
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| endpoint.clone());
        let (ca_dir, ca_temp) = match (&config.ca_dir, &config.data_dir) {
            (Some(dir), _) => (dir.clone(), None),
            (None, Some(data)) => (data.join("ca"), None),
            (None, None) => {
                let temp = tempfile::Builder::new()
                    .prefix("vod-emulator-ca-")
                    .tempdir()
                    .map_err(StartError::CaDir)?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        // The CA loads on another thread while the store opens: together they are most of the
        // start-up.
        let ca = {
            let dir = ca_dir.clone();
            tokio::task::spawn_blocking(move || tls::LocalCa::load_or_create(&dir))
        };
        let store =
            store::Store::open(config.data_dir.as_deref()).map_err(|source| StartError::Store {
                dir: config.data_dir.clone(),
                source,
            })?;
        let ca = ca
            .await
            .map_err(|e| StartError::CaDir(std::io::Error::other(e)))??;
        let ca = std::sync::Arc::new(ca);
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config()?);
        let exec_env = redirect::environment(
            &endpoint,
            &public_url,
            &config,
            &ca_dir,
            &ca.cert_path(),
            &redirect::Inherited::from_env(),
        )
        .map_err(StartError::CaDir)?;
        let state = AppState::new(state::Parts {
            config: config.clone(),
            public_url,
            listener: listener_addresses,
            seed,
            clock,
            store,
            faults,
            task_flows,
            journal,
            exec_env,
        });
        let worker = tokio::spawn(events::worker::run(state.clone()));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, state.clone(), acceptor, async {
            let _ = rx.await;
        }));
        Ok(Emulator {
            addr,
            endpoint,
            config,
            state,
            ca_cert: ca.cert_path(),
            _ca_temp: ca_temp,
            shutdown: Some(tx),
            task: Some(task),
            worker,
        })
    }
}

/// What fault rules may name: the actions, operations and event types the emulator serves.
pub(crate) fn catalog() -> Catalog {
    Catalog {
        vod: vod::Action::ALL.iter().map(|a| a.name()).collect(),
        cos: cos::Operation::NAMES.to_vec(),
        events: faults::EVENT_TYPES.to_vec(),
        media: faults::MEDIA_OPERATIONS.to_vec(),
    }
}

/// A running emulator, started with [`Emulator::builder`]. Dropping it stops the server; [`Emulator::shutdown`] also waits
/// for in-flight requests to finish and the storage to be released.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    endpoint: String,
    config: Config,
    state: AppState,
    ca_cert: PathBuf,
    // Kept so a temporary CA directory lives exactly as long as the emulator.
    _ca_temp: Option<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    worker: JoinHandle<()>,
}

impl Emulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: the VOD API endpoint and the COS endpoint (by Host or path style); on
    /// loopback when listening on an unspecified address ([`config::advertised`]).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The emulator's clock, which tests may move or freeze; every expiry uses it.
    pub fn clock(&self) -> &Clock {
        self.state.clock()
    }

    /// The fault rules: add, list (with hit counts), remove, clear.
    pub fn faults(&self) -> &Faults {
        self.state.faults()
    }

    /// The task flows ApplyUpload's `Procedure` may name: register, list, remove.
    pub fn task_flows(&self) -> &TaskFlows {
        self.state.task_flows()
    }

    /// The request journal: what was asked, what was answered, which faults applied.
    pub fn journal(&self) -> &Journal {
        self.state.journal()
    }

    /// The seed in effect (given with [`EmulatorBuilder::seed`], or picked at start-up).
    pub fn seed(&self) -> u64 {
        self.state.seed()
    }

    /// Back to the state right after start-up, without a restart: empty store and journal,
    /// only the start-up fault rules (counters at zero) and task flows, clock at wall time
    /// and running, identifiers from the seed again.
    ///
    /// # Errors
    /// The store could not be emptied.
    pub async fn reset(&self) -> Result<(), ResetError> {
        Ok(self.state.reset().await?)
    }

    /// The local CA's certificate (PEM): what a client must trust to reach the emulator as
    /// `https://vod.tencentcloudapi.com` through its proxy, or as `https://127.0.0.1:PORT`.
    pub fn ca_cert_path(&self) -> &std::path::Path {
        &self.ca_cert
    }

    /// The environment `vod-emulator exec` gives its command ([`redirect::environment`]):
    /// endpoint, host, port, AppId, region, the API key pair (`TENCENTCLOUD_SECRET_ID` /
    /// `TENCENTCLOUD_SECRET_KEY`), and the proxy, CA and Python-shim variables that send
    /// unmodified SDKs here.
    pub fn exec_env(&self) -> Vec<(String, String)> {
        self.state.exec_env().to_vec()
    }

    /// Stops accepting, lets in-flight requests finish, and releases the storage (a temporary
    /// directory is removed).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.worker.abort();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.worker.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
