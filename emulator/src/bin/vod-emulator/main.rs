//! `vod-emulator`: parse flags, set up logging, start the emulator, wait for a signal.
//!
//! `vod-emulator exec -- CMD ARGS…` runs a command against a fresh emulator and exits with its
//! status, for CI jobs.

use anyhow::{bail, Context};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vod_emulator::config::{
    DEFAULT_APP_ID, DEFAULT_PORT, DEFAULT_PUSH_ATTEMPTS, DEFAULT_REGION, DEFAULT_SECRET_ID,
    DEFAULT_SECRET_KEY,
};
use vod_emulator::faults::Scenario;
use vod_emulator::redirect::{self, Shell};
use vod_emulator::task_flows::TaskFlowFile;
use vod_emulator::{
    ensure_ca, AuthMode, Config, Emulator, EventDefaults, EventMode, ProcedureProgress, StartError,
};
use vod_protocol::diagnostics::one_line;

mod events;

/// Local emulator of Tencent Cloud VOD server-side upload: the VOD API (ApplyUpload,
/// CommitUpload) and the COS XML API on one port. Every flag can also be set with the
/// environment variable named after it (the port's is VOD_EMULATOR_LISTEN_PORT).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
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
enum ShellArg {
    /// sh, bash, zsh.
    Sh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// Reliable callback: PullEvents / ConfirmEvents.
    Pull,
    /// Normal callback: POST to --notification-url.
    Push,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SwitchArg {
    /// Emit the events.
    On,
    /// Do not emit them.
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AuthArg {
    /// Verify every signature (default).
    Verify,
    /// Accept unsigned requests (curl experiments, benchmarks).
    None,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "VOD_EMULATOR_BIND",
        default_value = "127.0.0.1",
        global = true
    )]
    bind: IpAddr,
    /// Port to listen on; 0 picks a free one [default: 9266, or 0 for `exec`].
    // Not VOD_EMULATOR_PORT: `env` and `exec` set that one for clients, and a server that read
    // it back would take the port of the emulator they describe.
    #[arg(long, env = "VOD_EMULATOR_LISTEN_PORT", global = true)]
    port: Option<u16>,
    /// Keep objects, sessions and media in DIR across restarts (default: a temporary directory
    /// removed on exit).
    #[arg(long, env = "VOD_EMULATOR_DATA_DIR", value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Directory of the local CA that certifies the emulated cloud hosts (created on first use;
    /// trust DIR/ca.pem once) and of the Python shim [default: $XDG_CONFIG_HOME/vod-emulator,
    /// ~/.config/vod-emulator, or %APPDATA%\vod-emulator].
    #[arg(long, env = "VOD_EMULATOR_CA_DIR", value_name = "DIR", global = true)]
    ca_dir: Option<PathBuf>,
    /// API SecretId the emulator accepts.
    #[arg(long, env = "VOD_EMULATOR_SECRET_ID", default_value = DEFAULT_SECRET_ID, global = true)]
    secret_id: String,
    /// API SecretKey the emulator accepts.
    #[arg(long, env = "VOD_EMULATOR_SECRET_KEY", default_value = DEFAULT_SECRET_KEY, global = true)]
    secret_key: String,
    /// Account AppId (suffix of every bucket name).
    #[arg(long, env = "VOD_EMULATOR_APP_ID", default_value_t = DEFAULT_APP_ID, global = true)]
    app_id: u64,
    /// Default storage region.
    #[arg(long, env = "VOD_EMULATOR_REGION", default_value = DEFAULT_REGION, global = true)]
    region: String,
    /// Base of the URLs handed out (MediaUrl, CoverUrl), for clients that reach the emulator
    /// by another name [default: http://BIND:PORT].
    #[arg(
        long,
        env = "VOD_EMULATOR_PUBLIC_URL",
        value_name = "URL",
        global = true
    )]
    public_url: Option<String>,
    /// Signature checking.
    #[arg(
        long,
        env = "VOD_EMULATOR_AUTH",
        value_enum,
        default_value = "verify",
        global = true
    )]
    auth: AuthArg,
    /// Lifetime of ApplyUpload's temporary credentials and session key, in seconds.
    #[arg(
        long,
        env = "VOD_EMULATOR_SESSION_TTL",
        default_value_t = 3600,
        global = true
    )]
    session_ttl: u64,
    /// Initial event mode of every VOD application (ModifyEventConfig changes it per SubAppId).
    #[arg(
        long,
        env = "VOD_EMULATOR_EVENT_MODE",
        value_enum,
        default_value = "pull",
        global = true
    )]
    event_mode: ModeArg,
    /// Initial v3 callback URL for push mode.
    #[arg(
        long,
        env = "VOD_EMULATOR_NOTIFICATION_URL",
        value_name = "URL",
        global = true
    )]
    notification_url: Option<String>,
    /// Initial SignKey: push bodies then carry `Sign` = md5(key + T) and `T`.
    #[arg(
        long,
        env = "VOD_EMULATOR_EVENT_SIGN_KEY",
        value_name = "KEY",
        global = true
    )]
    event_sign_key: Option<String>,
    /// Initial UploadMediaCompleteEventSwitch (NewFileUpload events).
    #[arg(
        long,
        env = "VOD_EMULATOR_UPLOAD_EVENTS",
        value_enum,
        default_value = "on",
        global = true
    )]
    upload_events: SwitchArg,
    /// Initial DeleteMediaCompleteEventSwitch (FileDeleted events).
    #[arg(
        long,
        env = "VOD_EMULATOR_DELETE_EVENTS",
        value_enum,
        default_value = "on",
        global = true
    )]
    delete_events: SwitchArg,
    /// Callback URLs that get the legacy v2 body instead of v3 (repeatable, or comma-separated).
    #[arg(
        long,
        env = "VOD_EMULATOR_LEGACY_CALLBACK_URL",
        value_name = "URL",
        value_delimiter = ',',
        global = true
    )]
    legacy_callback_url: Vec<String>,
    /// When task flows finish: `immediate`, `manual` (POST /_emulator/tasks/ID/finish), or a
    /// delay in seconds on the emulator's clock.
    #[arg(
        long,
        env = "VOD_EMULATOR_PROCEDURE_PROGRESS",
        default_value = "5",
        value_parser = parse_progress,
        global = true
    )]
    procedure_progress: ProcedureProgress,
    /// Task flows that ApplyUpload's `Procedure` may name beside the presets, as
    /// CreateProcedureTemplate takes them: TOML (`[[TaskFlows]]`) or JSON
    /// (`{"TaskFlows": [...]}`); see fixtures/task-flows/.
    #[arg(
        long,
        env = "VOD_EMULATOR_TASK_FLOWS",
        value_name = "FILE",
        global = true
    )]
    task_flows: Option<PathBuf>,
    /// Seconds PullEvents waits on an empty queue before answering ResourceNotFound.
    #[arg(
        long,
        env = "VOD_EMULATOR_PULL_WAIT",
        default_value_t = 5.0,
        global = true
    )]
    pull_wait: f64,
    /// Push tries (first included) before a callback is given up.
    #[arg(long, env = "VOD_EMULATOR_PUSH_ATTEMPTS", default_value_t = DEFAULT_PUSH_ATTEMPTS, global = true)]
    push_attempts: u32,
    /// Fault scenario to install at start-up: TOML (`[[rules]]`) or JSON (`{"rules": [...]}`);
    /// see fixtures/faults/.
    #[arg(long, env = "VOD_EMULATOR_FAULTS", value_name = "FILE", global = true)]
    faults: Option<PathBuf>,
    /// Seed of every generated identifier and fault draw: the same seed and the same requests
    /// give the same responses and faults [default: random, printed at start-up].
    #[arg(long, env = "VOD_EMULATOR_SEED", value_name = "N", global = true)]
    seed: Option<u64>,
    /// Refuse request fields no handler reads (VOD: UnknownParameter, COS: InvalidArgument)
    /// instead of ignoring them and noting them in the journal.
    #[arg(long, env = "VOD_EMULATOR_STRICT", global = true)]
    strict: bool,
    /// Also append every journal entry to FILE as JSON lines.
    #[arg(long, env = "VOD_EMULATOR_JOURNAL", value_name = "FILE", global = true)]
    journal: Option<PathBuf>,
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
    admin_token: Option<String>,
    /// Seconds a client may stay silent, idle, or stall its CONNECT head, TLS handshake, request
    /// headers or body before being disconnected; a body must also average at least 500
    /// bytes/s while the emulator waits for it, with this many seconds of slack.
    #[arg(
        long,
        env = "VOD_EMULATOR_CLIENT_TIMEOUT",
        default_value_t = 30,
        value_name = "SECS",
        global = true
    )]
    client_timeout: u64,
    /// Journal entries kept in memory (oldest dropped first).
    #[arg(
        long,
        env = "VOD_EMULATOR_JOURNAL_CAPACITY",
        default_value_t = vod_emulator::journal::DEFAULT_CAPACITY,
        global = true
    )]
    journal_capacity: usize,
    /// Log filter (tracing syntax: error, warn, info, debug, or per-module directives)
    /// [default: info, or warn for `exec`, whose command's output would interleave with a line
    /// per request].
    #[arg(long, env = "VOD_EMULATOR_LOG", value_name = "FILTER", global = true)]
    log: Option<String>,
}

impl ServeArgs {
    /// The validated configuration: the fault scenario and the task flows are read here,
    /// before anything starts.
    fn config(&self, default_port: u16) -> anyhow::Result<Config> {
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
fn default_ca_dir() -> Option<PathBuf> {
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
fn parse_admin_token(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err(
            "the admin token is empty; give a token, or leave --admin-token and \
             VOD_EMULATOR_ADMIN_TOKEN unset to let loopback clients only use the admin API"
                .to_owned(),
        );
    }
    Ok(s.to_owned())
}

fn parse_progress(s: &str) -> Result<ProcedureProgress, String> {
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
fn parse() -> Cli {
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
fn hide(command: clap::Command, ids: &[clap::Id]) -> clap::Command {
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

fn main() -> ExitCode {
    let cli = parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("vod-emulator: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        // A reader that went away (`| head -1`) is not an error, as for any Unix filter.
        Err(err) if broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let mut message = format!("vod-emulator: {}\n", one_line(err.as_ref()));
            if let Some(hint) = hint(&err) {
                message += &format!("  hint: {hint}\n");
            }
            eprint!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// What to try next, for the failures that have a usual cause.
fn hint(err: &anyhow::Error) -> Option<&'static str> {
    let Some(StartError::Bind { source, .. }) = err.downcast_ref::<StartError>() else {
        return None;
    };
    match source.kind() {
        std::io::ErrorKind::AddrInUse => Some(
            "another emulator (or another program) is listening there: stop it, or pick a \
             free port with --port 0",
        ),
        std::io::ErrorKind::AddrNotAvailable => {
            Some("--bind names an address this machine does not have (127.0.0.1, 0.0.0.0 work)")
        }
        std::io::ErrorKind::PermissionDenied => {
            Some("ports below 1024 need privileges; --port 0 picks a free one")
        }
        _ => None,
    }
}

/// Whether writing to standard output failed because its reader is gone.
fn broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::Events(args)) = &cli.command {
        return events::run(args).await;
    }
    let quiet = matches!(cli.command, Some(Command::Exec { .. }));
    let filter = match (&cli.serve.log, quiet) {
        (Some(filter), _) => filter.as_str(),
        (None, true) => "warn",
        (None, false) => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(filter)
                .with_context(|| format!("invalid --log filter `{filter}`"))?,
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs())
        .init();
    match cli.command {
        None => {
            warn_client_port(cli.serve.port);
            serve(cli.serve.config(DEFAULT_PORT)?).await
        }
        Some(Command::Exec { cmd }) => exec(cli.serve.config(0)?, cmd).await,
        Some(Command::Env { shell }) => print_env(&cli.serve.config(DEFAULT_PORT)?, shell),
        Some(Command::Ca) => {
            let config = cli.serve.config(DEFAULT_PORT)?;
            let cert = ensure_ca(&ca_dir(&config)?)?;
            writeln!(std::io::stdout(), "{}", cert.display())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Events(args)) => events::run(&args).await,
    }
}

/// Says so when `VOD_EMULATOR_PORT` asks for another port than the one the server takes: the
/// server read it before it became the clients' variable only.
fn warn_client_port(port: Option<u16>) {
    let Some(asked) = std::env::var_os("VOD_EMULATOR_PORT") else {
        return;
    };
    if port.is_none() && asked.to_str() != Some(&DEFAULT_PORT.to_string()) {
        eprintln!(
            "vod-emulator: VOD_EMULATOR_PORT={} is ignored: it tells clients where an emulator \
             listens; set the server's port with --port or VOD_EMULATOR_LISTEN_PORT",
            asked.to_string_lossy()
        );
    }
}

/// The CA directory of a command that needs one on disk.
fn ca_dir(config: &Config) -> anyhow::Result<PathBuf> {
    config
        .ca_dir
        .clone()
        .context("no configuration directory is known here (no HOME): pass --ca-dir DIR")
}

fn print_env(config: &Config, shell: ShellArg) -> anyhow::Result<ExitCode> {
    let dir = ca_dir(config)?;
    let cert = ensure_ca(&dir)?;
    let addr = std::net::SocketAddr::new(config.bind, config.port);
    let endpoint = format!("http://{}", vod_emulator::config::advertised(addr));
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| endpoint.clone());
    let vars = redirect::environment(
        &endpoint,
        &public_url,
        config,
        &dir,
        &cert,
        std::env::var("PYTHONPATH").ok().as_deref(),
    )
    .with_context(|| format!("cannot write the Python shim into {}", dir.display()))?;
    let shell = match shell {
        ShellArg::Sh => Shell::Sh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Powershell => Shell::PowerShell,
    };
    std::io::stdout().write_all(redirect::render(&vars, shell).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

async fn start(config: Config) -> anyhow::Result<Emulator> {
    let data_dir = config.data_dir.clone();
    let emu = Emulator::builder().config(config).start().await?;
    let c = emu.config();
    // One write for the whole banner: standard error is unbuffered, and a write per line
    // showed up in the start-up time.
    let endpoint = emu.endpoint();
    let mut banner = format!(
        "vod-emulator {version}
  VOD API      {endpoint}  (X-TC-Action, version 2018-07-17)
  COS          {endpoint}  (Host: <bucket>.cos.<region>.myqcloud.com, or path style /<bucket>/<key>)
  HTTPS proxy  {endpoint}  (CONNECT to *.tencentcloudapi.com, *.myqcloud.com only)
  CA           {ca}
  AppId        {app_id}   region {region}
  SecretId     {secret_id}
  SecretKey    {secret_key}
  storage      {storage}
  seed         {seed}
",
        version = env!("CARGO_PKG_VERSION"),
        ca = emu.ca_cert_path().display(),
        app_id = c.app_id,
        region = c.region,
        secret_id = c.secret_id,
        secret_key = c.secret_key,
        storage = match &data_dir {
            Some(dir) => format!("{} (durable)", dir.display()),
            None => "temporary, removed on exit".to_owned(),
        },
        seed = emu.seed(),
    );
    let rules = emu.faults().list();
    if !rules.is_empty() {
        banner += &format!("  faults       {} rule(s) installed\n", rules.len());
    }
    if !c.task_flows.is_empty() {
        let names: Vec<&str> = c.task_flows.iter().map(|f| f.name.as_str()).collect();
        banner += &format!("  task flows   {}\n", names.join(", "));
    }
    if c.strict {
        banner += "  strict       unread request fields are refused\n";
    }
    if c.auth == AuthMode::None {
        banner +=
            "\n  WARNING: --auth none: signatures are NOT checked; any request is accepted.\n\n";
    }
    for warning in exposure_warnings(c, emu.addr(), &endpoint) {
        banner += &format!("\n  WARNING: {warning}\n");
    }
    eprint!("{banner}");
    if c.auth == AuthMode::None {
        tracing::warn!("authentication is disabled (--auth none)");
    }
    Ok(emu)
}

/// What to say at start-up about listening beyond loopback: the URLs handed out name
/// loopback (`endpoint`) when no `--public-url` says how other machines reach this one, and the
/// default key pair, printed in the banner and the README, opens the emulator to anyone.
fn exposure_warnings(config: &Config, addr: std::net::SocketAddr, endpoint: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if addr.ip().is_unspecified() && config.public_url.is_none() {
        warnings.push(format!(
            "listening on {addr}, but MediaUrl and CoverUrl name {endpoint}, which only this \
             machine can use: for clients elsewhere set --public-url http://<this host>:{port}",
            port = addr.port()
        ));
    }
    let default_keys =
        config.secret_id == DEFAULT_SECRET_ID && config.secret_key == DEFAULT_SECRET_KEY;
    if !addr.ip().is_loopback() && default_keys && config.auth == AuthMode::Verify {
        warnings.push(format!(
            "listening on {addr} with the default key pair above: anyone who can reach this port \
             can use the emulator; set --secret-id and --secret-key"
        ));
    }
    warnings
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let mut shutdown = Shutdown::listen();
    let emu = start(config).await?;
    println!("vod-emulator ready on {}", emu.endpoint());
    shutdown.wait().await;
    Ok(stop(emu, &mut shutdown, ExitCode::SUCCESS).await)
}

/// Stops the emulator gracefully (in-flight requests get a short drain), or at once on a
/// second signal; answers `code`, or 130 when stopped at once.
async fn stop(emu: Emulator, shutdown: &mut Shutdown, code: ExitCode) -> ExitCode {
    eprintln!("vod-emulator: shutting down (Ctrl-C again to stop at once)");
    tokio::select! {
        () = emu.shutdown() => code,
        () = shutdown.wait() => {
            eprintln!("vod-emulator: stopped without waiting for in-flight requests");
            ExitCode::from(130)
        }
    }
}

async fn exec(config: Config, cmd: Vec<String>) -> anyhow::Result<ExitCode> {
    let mut shutdown = Shutdown::listen();
    let emu = start(config).await?;
    eprintln!("vod-emulator ready on {}", emu.endpoint());
    let (program, args) = cmd.split_first().context("no command given")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(emu.exec_env())
        .spawn()
        .with_context(|| format!("cannot run `{program}`"))?;
    let status = tokio::select! {
        status = child.wait() => status.context("waiting for the command failed")?,
        () = shutdown.wait() => {
            let _ = child.start_kill();
            let status = child.wait().await.context("waiting for the command failed")?;
            return Ok(stop(emu, &mut shutdown, exit_code(status)).await);
        }
    };
    emu.shutdown().await;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + signal).unwrap_or(1));
        }
    }
    ExitCode::FAILURE
}

/// SIGINT / SIGTERM, listened for from the moment it is created: the handlers are installed
/// before the ready line is printed, so a signal sent right after it is not lost to the
/// default action (which would kill the process without a clean shutdown).
struct Shutdown {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = self.signals.as_mut() {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Log lines are coloured only on a terminal, and never when `NO_COLOR` is set (non-empty,
/// no-color.org): escape codes in a pipe or a CI log are noise.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
