//! `vod-emulator`: parse flags, set up logging, start the emulator, wait for a signal.
//!
//! - `args`: the flags and subcommands, and the configuration they make.
//! - `exec`: `exec -- CMD ARGS…` (a command against a fresh emulator, for CI jobs), `env`, `ca`.
//! - `events`: the `events` commands, which talk to a running emulator.
//! - `shutdown`: SIGINT / SIGTERM, gracefully then at once.

use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;
use vod_emulator::config::{DEFAULT_PORT, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY};
use vod_emulator::{ensure_ca, AuthMode, Config, Emulator, StartError};
use vod_protocol::diagnostics::one_line;

mod args;
mod events;
mod exec;
mod shutdown;

use args::{parse, Cli, Command};
use exec::{ca_dir, exec, print_env};
use shutdown::{stop, Shutdown};

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
  dashboard    {endpoint}{dashboard}  (in a browser; loopback or --admin-token)
  CA           {ca}
  AppId        {app_id}   region {region}
  SecretId     {secret_id}
  SecretKey    {secret_key}
  storage      {storage}
  seed         {seed}
",
        version = env!("CARGO_PKG_VERSION"),
        dashboard = vod_emulator::router::DASHBOARD_PREFIX,
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

/// Log lines are coloured only on a terminal, and never when `NO_COLOR` is set (non-empty,
/// no-color.org): escape codes in a pipe or a CI log are noise.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
