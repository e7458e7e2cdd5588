//! What an emulator instance is: its address, storage, account and the keys it accepts.
//!
//! The same [`Config`] is filled by the CLI flags (each also a `VOD_EMULATOR_*` variable) and by
//! [`crate::EmulatorBuilder`] for in-process use.

use crate::faults::Rule;
use crate::task_flows::TaskFlow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Port the binary listens on unless told otherwise (266 is VOD's product number).
pub const DEFAULT_PORT: u16 = 9266;
/// API SecretId accepted when none is configured.
pub const DEFAULT_SECRET_ID: &str = "AKIDVODEMULATOR0000000000000000000000";
/// API SecretKey accepted when none is configured.
pub const DEFAULT_SECRET_KEY: &str = "vodemulatorsecretkey000000000000";
/// Account AppId when none is configured (the one COS documentation examples use).
pub const DEFAULT_APP_ID: u64 = 1_250_000_000;
/// How long a slow client may stall its headers or body by default.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request head (request line and headers) accepted.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most header fields a request may carry (431 beyond).
pub const MAX_HEADERS: usize = 100;
/// Default storage region, as the real service's default.
pub const DEFAULT_REGION: &str = "ap-guangzhou";
/// How long ApplyUpload's temporary credentials and session key stay valid by default.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(3600);

/// How long PullEvents holds a request when no event is ready (the real API's 5 s).
pub const DEFAULT_PULL_WAIT: Duration = Duration::from_secs(5);
/// How many times a push callback is tried before it is given up.
pub const DEFAULT_PUSH_ATTEMPTS: u32 = 6;

/// The address clients are given for an emulator listening on `addr`: `addr` itself, or
/// loopback of the same family when it is unspecified (0.0.0.0, ::), which no client can
/// connect to portably and no other machine can use. Clients elsewhere need `public_url`.
pub fn advertised(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// How the emulator delivers events of an application that has not called ModifyEventConfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventMode {
    /// Reliable callback: events wait for PullEvents / ConfirmEvents (the default).
    #[default]
    Pull,
    /// Normal callback: events are POSTed to the notification URL.
    Push,
}

impl EventMode {
    /// The API's spelling, `PULL` or `PUSH`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventMode::Pull => "PULL",
            EventMode::Push => "PUSH",
        }
    }

    /// Parses `PULL` / `PUSH` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "PULL" => Some(EventMode::Pull),
            "PUSH" => Some(EventMode::Push),
            _ => None,
        }
    }
}

/// The event configuration every VOD application starts with (ModifyEventConfig changes it per
/// SubAppId).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDefaults {
    /// PULL or PUSH.
    pub mode: EventMode,
    /// v3 callback URL for PUSH mode.
    pub notification_url: Option<String>,
    /// Whether CommitUpload emits NewFileUpload (`UploadMediaCompleteEventSwitch`).
    pub upload_events: bool,
    /// Whether DeleteMedia emits FileDeleted (`DeleteMediaCompleteEventSwitch`).
    pub delete_events: bool,
    /// Key for `Sign` / `T` in push bodies.
    pub sign_key: Option<String>,
    /// Callback URLs that receive the legacy v2 body instead of v3.
    pub legacy_urls: Vec<String>,
}

impl Default for EventDefaults {
    fn default() -> Self {
        Self {
            mode: EventMode::Pull,
            notification_url: None,
            upload_events: true,
            delete_events: true,
            sign_key: None,
            legacy_urls: Vec::new(),
        }
    }
}

/// When a task flow named at ApplyUpload finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcedureProgress {
    /// In the same moment as CommitUpload.
    Immediate,
    /// This long after CommitUpload, on the emulator's clock.
    After(Duration),
    /// Only when told through the admin API.
    Manual,
}

/// Whether requests must carry valid signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Verify TC3 and COS signatures, credential scope and expiry (the default).
    #[default]
    Verify,
    /// Accept unsigned requests: for curl experiments and benchmarks only.
    None,
}

/// Everything that configures one emulator instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Durable storage directory; `None` keeps everything in a temporary directory removed on exit.
    pub data_dir: Option<PathBuf>,
    /// The API SecretId the emulator accepts (full access to VOD and COS).
    pub secret_id: String,
    /// The API SecretKey that goes with `secret_id`.
    pub secret_key: String,
    /// Account AppId: the suffix of every bucket name.
    pub app_id: u64,
    /// Default storage region.
    pub region: String,
    /// Directory of the local CA and the Python shim; `None`: `<data_dir>/ca`, or a temporary
    /// directory without a data dir. The CLI defaults it to the user's config directory so the
    /// CA is trusted once.
    pub ca_dir: Option<PathBuf>,
    /// Base of the URLs handed out (MediaUrl, CoverUrl); defaults to the listening address, or
    /// loopback when that is unspecified ([`advertised`]).
    pub public_url: Option<String>,
    /// Signature checking.
    pub auth: AuthMode,
    /// Lifetime of ApplyUpload's temporary credentials and session key.
    pub session_ttl: Duration,
    /// Initial event configuration of every VOD application.
    pub events: EventDefaults,
    /// When task flows finish.
    pub procedure_progress: ProcedureProgress,
    /// Task flows registered at start-up, beside the presets (from `--task-flows FILE` or the
    /// builder); a reset comes back to them.
    pub task_flows: Vec<TaskFlow>,
    /// How long PullEvents waits for an event when none is ready.
    pub pull_wait: Duration,
    /// Push callback tries before giving up (the first try included).
    pub push_attempts: u32,
    /// How long one push callback may take.
    pub push_timeout: Duration,
    /// Seed of every identifier and fault draw; `None` picks one at start-up (reported by
    /// `/_emulator/health`, so a run can be repeated).
    pub seed: Option<u64>,
    /// Refuse request fields no handler reads (`UnknownParameter` / `InvalidArgument`) instead
    /// of ignoring them and noting them in the journal.
    pub strict: bool,
    /// Fault rules installed at start-up (from `--faults FILE` or the builder).
    pub faults: Vec<Rule>,
    /// Journal entries kept in memory.
    pub journal_capacity: usize,
    /// Also append every journal entry to this file, as JSON lines.
    pub journal_file: Option<PathBuf>,
    /// Token that lets clients other than loopback use the admin API (`/_emulator/*`); without
    /// one (or with an empty one, which matches nothing), only loopback clients may.
    pub admin_token: Option<String>,
    /// How long a client may stay silent, take to send its CONNECT head, TLS handshake or
    /// request headers, or stall its request body, before the connection is closed; a body must
    /// also average [`crate::body::MIN_BODY_RATE`] with this much slack.
    pub client_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            data_dir: None,
            secret_id: DEFAULT_SECRET_ID.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            app_id: DEFAULT_APP_ID,
            region: DEFAULT_REGION.to_owned(),
            ca_dir: None,
            public_url: None,
            auth: AuthMode::Verify,
            session_ttl: DEFAULT_SESSION_TTL,
            events: EventDefaults::default(),
            procedure_progress: ProcedureProgress::After(Duration::from_secs(5)),
            task_flows: Vec::new(),
            pull_wait: DEFAULT_PULL_WAIT,
            push_attempts: DEFAULT_PUSH_ATTEMPTS,
            push_timeout: Duration::from_secs(5),
            seed: None,
            strict: false,
            faults: Vec::new(),
            journal_capacity: crate::journal::DEFAULT_CAPACITY,
            journal_file: None,
            admin_token: None,
            client_timeout: DEFAULT_CLIENT_TIMEOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unspecified_addresses_are_advertised_as_loopback() {
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 9266);
        assert_eq!(advertised(at("0.0.0.0")), at("127.0.0.1"));
        assert_eq!(advertised(at("::")), at("::1"));
        assert_eq!(advertised(at("192.168.1.5")), at("192.168.1.5"));
    }
}
