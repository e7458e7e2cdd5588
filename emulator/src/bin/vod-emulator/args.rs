//! The command line: every flag (each with its environment variable), the subcommands, and the
//! configuration they make. Parsing only; nothing here starts anything.

use anyhow::{bail, Context};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use vod_emulator::config::{
    DEFAULT_APP_ID, DEFAULT_CLIENT_TIMEOUT, DEFAULT_PULL_WAIT, DEFAULT_PUSH_ATTEMPTS,
    DEFAULT_REGION, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, DEFAULT_SESSION_TTL,
};
use vod_emulator::faults::Scenario;
use vod_emulator::task_flows::TaskFlowFile;
use vod_emulator::{AuthMode, Config, EventDefaults, EventMode, ProcedureProgress};

use crate::events;

/// Local emulator of Tencent Cloud VOD server-side upload: the VOD API (ApplyUpload,
/// CommitUpload) and the COS XML API on one port. Every flag can also be set with the
/// environment variable named after it (the port's is VOD_EMULATOR_LISTEN_PORT).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start an emulator (on a free port unless --port is given), run CMD with the emulator's
    /// endpoint and credentials in its environment, stop the emulator, exit with CMD's status.
    ///
    /// CMD sees the emulator's endpoint and keys (VOD_EMULATOR_*, TENCENTCLOUD_SECRET_ID,
    /// TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_REGION) and the proxy, CA and Python-shim
    /// variables that send unmodified official SDKs to the emulator (see `env`).
    Exec {
        /// The command and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        cmd: Vec<String>,
    },
    /// Print the environment that sends unmodified SDKs to an emulator at --bind/--port (the
    /// same settings `exec` gives its command), for a shell to eval:
    /// `eval "$(vod-emulator env)"`. Creates the local CA in --ca-dir if needed.
    Env {
        /// Syntax of the printed commands.
        #[arg(long, value_enum, default_value = "sh")]
        shell: ShellArg,
    },
    /// Print the path of the local CA certificate (PEM), creating the CA in --ca-dir if needed,
    /// for tools that must be told what to trust.
    Ca,
    /// Webhook developer tools against a running emulator (offline: nothing leaves the
    /// machine): tail the event feed, resend an event, trigger a synthetic one.
    Events(events::EventsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ShellArg {
    /// sh, bash, zsh.
    Sh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ModeArg {
    /// Reliable callback: PullEvents / ConfirmEvents.
    Pull,
    /// Normal callback: POST to --notification-url.
    Push,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SwitchArg {
    /// Emit the events.
    On,
    /// Do not emit them.
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum AuthArg {
    /// Verify every signature (default).
    Verify,
    /// Accept unsigned requests (curl experiments, benchmarks).
    None,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "VOD_EMULATOR_BIND",
        default_value = "127.0.0.1",
        global = true
    )]
    pub(crate) bind: IpAddr,
    /// Port to listen on; 0 picks a free one [default: 9266, or 0 for `exec`].
    // Not VOD_EMULATOR_PORT: `env` and `exec` set that one for clients, and a server that read
    // it back would take the port of the emulator they describe.
    #[arg(long, env = "VOD_EMULATOR_LISTEN_PORT", global = true)]
    pub(crate) port: Option<u16>,
    /// Keep objects, sessions and media in DIR across restarts (default: a temporary directory
    /// removed on exit).
    #[arg(long, env = "VOD_EMULATOR_DATA_DIR", value_name = "DIR", global = true)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Directory of the local CA that certifies the emulated cloud hosts (created on first use;
    /// trust DIR/ca.pem once) and of the Python shim [default: $XDG_CONFIG_HOME/vod-emulator,
    /// ~/.config/vod-emulator, or %APPDATA%\vod-emulator].
    #[arg(long, env = "VOD_EMULATOR_CA_DIR", value_name = "DIR", global = true)]
    pub(crate) ca_dir: Option<PathBuf>,
    /// API SecretId the emulator accepts.
    #[arg(long, env = "VOD_EMULATOR_SECRET_ID", default_value = DEFAULT_SECRET_ID, global = true)]
    pub(crate) secret_id: String,
    /// API SecretKey the emulator accepts.
    #[arg(long, env = "VOD_EMULATOR_SECRET_KEY", default_value = DEFAULT_SECRET_KEY, global = true)]
    pub(crate) secret_key: String,
    /// Account AppId (suffix of every bucket name).
    #[arg(long, env = "VOD_EMULATOR_APP_ID", default_value_t = DEFAULT_APP_ID, global = true)]
    pub(crate) app_id: u64,
    /// Default storage region.
    #[arg(long, env = "VOD_EMULATOR_REGION", default_value = DEFAULT_REGION, global = true)]
    pub(crate) region: String,
    /// Base of the URLs handed out (MediaUrl, CoverUrl), for clients that reach the emulator
    /// by another name [default: http://BIND:PORT].
    #[arg(
        long,
        env = "VOD_EMULATOR_PUBLIC_URL",
        value_name = "URL",
        global = true
    )]
    pub(crate) public_url: Option<String>,
    /// Signature checking.
    #[arg(
        long,
        env = "VOD_EMULATOR_AUTH",
        value_enum,
        default_value = "verify",
        global = true
    )]
    pub(crate) auth: AuthArg,
    /// Lifetime of ApplyUpload's temporary credentials and session key, in seconds.
    #[arg(
        long,
        env = "VOD_EMULATOR_SESSION_TTL",
        default_value_t = DEFAULT_SESSION_TTL.as_secs(),
        global = true
    )]
    pub(crate) session_ttl: u64,
    /// Initial event mode of every VOD application (ModifyEventConfig changes it per SubAppId).
    #[arg(
        long,
        env = "VOD_EMULATOR_EVENT_MODE",
        value_enum,
        default_value = "pull",
        global = true
    )]
    pub(crate) event_mode: ModeArg,
    /// Initial v3 callback URL for push mode.
    #[arg(
        long,
        env = "VOD_EMULATOR_NOTIFICATION_URL",
        value_name = "URL",
        global = true
    )]
    pub(crate) notification_url: Option<String>,
    /// Initial SignKey: push bodies then carry `Sign` = md5(key + T) and `T`.
    #[arg(
        long,
        env = "VOD_EMULATOR_EVENT_SIGN_KEY",
        value_name = "KEY",
        global = true
    )]
    pub(crate) event_sign_key: Option<String>,
    /// Initial UploadMediaCompleteEventSwitch (NewFileUpload events).
    #[arg(
        long,
        env = "VOD_EMULATOR_UPLOAD_EVENTS",
        value_enum,
        default_value = "on",
        global = true
    )]
    pub(crate) upload_events: SwitchArg,
    /// Initial DeleteMediaCompleteEventSwitch (FileDeleted events).
    #[arg(
        long,
        env = "VOD_EMULATOR_DELETE_EVENTS",
        value_enum,
        default_value = "on",
        global = true
    )]
    pub(crate) delete_events: SwitchArg,
    /// Callback URLs that get the legacy v2 body instead of v3 (repeatable, or comma-separated).
    #[arg(
        long,
        env = "VOD_EMULATOR_LEGACY_CALLBACK_URL",
        value_name = "URL",
        value_delimiter = ',',
        global = true
    )]
    pub(crate) legacy_callback_url: Vec<String>,
    /// When task flows finish: `immediate`, `manual` (POST /_emulator/tasks/ID/finish), or a
    /// delay in seconds on the emulator's clock.
    #[arg(
        long,
        env = "VOD_EMULATOR_PROCEDURE_PROGRESS",
        default_value = "5",
        value_parser = parse_progress,
        global = true
    )]
    pub(crate) procedure_progress: ProcedureProgress,
    /// Task flows that ApplyUpload's `Procedure` may name beside the presets, as
    /// CreateProcedureTemplate takes them: TOML (`[[TaskFlows]]`) or JSON
    /// (`{"TaskFlows": [...]}`); see fixtures/task-flows/.
    #[arg(
        long,
        env = "VOD_EMULATOR_TASK_FLOWS",
        value_name = "FILE",
        global = true
    )]
    pub(crate) task_flows: Option<PathBuf>,
    /// Seconds PullEvents waits on an empty queue before answering ResourceNotFound.
    #[arg(
        long,
        env = "VOD_EMULATOR_PULL_WAIT",
        default_value_t = DEFAULT_PULL_WAIT.as_secs_f64(),
        global = true
    )]
    pub(crate) pull_wait: f64,
    /// Push tries (first included) before a callback is given up.
    #[arg(long, env = "VOD_EMULATOR_PUSH_ATTEMPTS", default_value_t = DEFAULT_PUSH_ATTEMPTS, global = true)]
    pub(crate) push_attempts: u32,
    /// Fault scenario to install at start-up: TOML (`[[rules]]`) or JSON (`{"rules": [...]}`);
    /// see fixtures/faults/.
    #[arg(long, env = "VOD_EMULATOR_FAULTS", value_name = "FILE", global = true)]
    pub(crate) faults: Option<PathBuf>,
    /// Seed of every generated identifier and fault draw: the same seed and the same requests
    /// give the same responses and faults [default: random, printed at start-up].
    #[arg(long, env = "VOD_EMULATOR_SEED", value_name = "N", global = true)]
    pub(crate) seed: Option<u64>,
    /// Refuse request fields no handler reads (VOD: UnknownParameter, COS: InvalidArgument)
    /// instead of ignoring them and noting them in the journal.
    #[arg(long, env = "VOD_EMULATOR_STRICT", global = true)]
    pub(crate) strict: bool,
    /// Also append every journal entry to FILE as JSON lines.
    #[arg(long, env = "VOD_EMULATOR_JOURNAL", value_name = "FILE", global = true)]
    pub(crate) journal: Option<PathBuf>,
    /// Let clients other than loopback use the admin API (/_emulator/*) with
    /// `Authorization: Bearer TOKEN`; without a token only loopback clients may. An empty
    /// token is refused.
    #[arg(
        long,
        env = "VOD_EMULATOR_ADMIN_TOKEN",
        value_name = "TOKEN",
        global = true,
        hide_env_values = true,
        value_parser = parse_admin_token
    )]
    pub(crate) admin_token: Option<String>,
    /// Seconds a client may stay silent, idle, or stall its CONNECT head, TLS handshake, request
    /// headers or body before being disconnected; a body must also average at least 500
    /// bytes/s while the emulator waits for it, with this many seconds of slack.
    #[arg(
        long,
        env = "VOD_EMULATOR_CLIENT_TIMEOUT",
        default_value_t = DEFAULT_CLIENT_TIMEOUT.as_secs(),
        value_name = "SECS",
        global = true
    )]
    pub(crate) client_timeout: u64,
    /// Journal entries kept in memory (oldest dropped first).
    #[arg(
        long,
        env = "VOD_EMULATOR_JOURNAL_CAPACITY",
        default_value_t = vod_emulator::journal::DEFAULT_CAPACITY,
        global = true
    )]
    pub(crate) journal_capacity: usize,
    /// Log filter (tracing syntax: error, warn, info, debug, or per-module directives)
    /// [default: info, or warn for `exec`, whose command's output would interleave with a line
    /// per request].
    #[arg(long, env = "VOD_EMULATOR_LOG", value_name = "FILTER", global = true)]
    pub(crate) log: Option<String>,
}

impl ServeArgs {
    /// The validated configuration: the fault scenario and the task flows are read here,
    /// before anything starts.
    pub(crate) fn config(&self, default_port: u16) -> anyhow::Result<Config> {
        let faults = match &self.faults {
            Some(path) => {
                let scenario = Scenario::from_file(path)?;
                scenario
                    .check()
                    .with_context(|| format!("{} is not a valid scenario", path.display()))?;
                scenario.rules
            }
            None => Vec::new(),
        };
        let task_flows = match &self.task_flows {
            Some(path) => TaskFlowFile::from_file(path)?.task_flows,
            None => Vec::new(),
        };
        if let Some(dir) = self.data_dir.as_ref().filter(|d| d.exists() && !d.is_dir()) {
            bail!("--data-dir {} is not a directory", dir.display());
        }
        Ok(Config {
            bind: self.bind,
            port: self.port.unwrap_or(default_port),
            data_dir: self.data_dir.clone(),
            ca_dir: self.ca_dir.clone().or_else(default_ca_dir),
            secret_id: self.secret_id.clone(),
            secret_key: self.secret_key.clone(),
            app_id: self.app_id,
            region: self.region.clone(),
            public_url: self.public_url.clone(),
            auth: match self.auth {
                AuthArg::Verify => AuthMode::Verify,
                AuthArg::None => AuthMode::None,
            },
            session_ttl: Duration::from_secs(self.session_ttl),
            events: EventDefaults {
                mode: match self.event_mode {
                    ModeArg::Pull => EventMode::Pull,
                    ModeArg::Push => EventMode::Push,
                },
                notification_url: self.notification_url.clone(),
                upload_events: matches!(self.upload_events, SwitchArg::On),
                delete_events: matches!(self.delete_events, SwitchArg::On),
                sign_key: self.event_sign_key.clone(),
                legacy_urls: self.legacy_callback_url.clone(),
            },
            procedure_progress: self.procedure_progress,
            task_flows,
            pull_wait: Duration::from_secs_f64(self.pull_wait.clamp(0.0, 60.0)),
            push_attempts: self.push_attempts.max(1),
            seed: self.seed,
            strict: self.strict,
            faults,
            journal_capacity: self.journal_capacity,
            journal_file: self.journal.clone(),
            admin_token: self.admin_token.clone(),
            client_timeout: Duration::from_secs(self.client_timeout.max(1)),
            ..Config::default()
        })
    }
}

/// The user's configuration directory for the emulator, when the platform names one.
pub(crate) fn default_ca_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = if cfg!(windows) {
        non_empty("APPDATA").map(PathBuf::from)
    } else {
        non_empty("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")))
    };
    base.map(|dir| dir.join("vod-emulator"))
}

/// An admin token is never empty: `Authorization: Bearer ` would present it.
pub(crate) fn parse_admin_token(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err(
            "the admin token is empty; give a token, or leave --admin-token and \
             VOD_EMULATOR_ADMIN_TOKEN unset to let loopback clients only use the admin API"
                .to_owned(),
        );
    }
    Ok(s.to_owned())
}

pub(crate) fn parse_progress(s: &str) -> Result<ProcedureProgress, String> {
    match s {
        "immediate" => Ok(ProcedureProgress::Immediate),
        "manual" => Ok(ProcedureProgress::Manual),
        secs => secs
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| ProcedureProgress::After(Duration::from_secs_f64(v)))
            .ok_or_else(|| format!("`{s}` is not immediate, manual or a number of seconds")),
    }
}

/// The parser. The server's flags are global, so they may come before or after `exec`, `env`
/// and `ca`; `events` only talks to a running emulator, so they are hidden from its help and
/// refused there.
pub(crate) fn parse() -> Cli {
    let mut command = Cli::command();
    command.build();
    let server: Vec<clap::Id> = ServeArgs::augment_args(clap::Command::new("serve"))
        .get_arguments()
        .map(|arg| arg.get_id().clone())
        .collect();
    let mut command = command.mut_subcommand("events", |events| hide(events, &server));
    let matches = command.get_matches_mut();
    if matches.subcommand_name() == Some("events") {
        let given = server.iter().find(|id| {
            matches.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
        });
        if let Some(id) = given {
            let flag = format!("--{}", id.as_str().replace('_', "-"));
            command
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("{flag} configures a server; `events` talks to the one at --endpoint"),
                )
                .exit();
        }
    }
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// `command` and its subcommands with the arguments named in `ids` hidden.
pub(crate) fn hide(command: clap::Command, ids: &[clap::Id]) -> clap::Command {
    command
        .mut_args(|arg| {
            if ids.contains(arg.get_id()) {
                arg.hide(true)
            } else {
                arg
            }
        })
        .mut_subcommands(|sub| hide(sub, ids))
}
