//! `vod-emulator`: parse flags, set up logging, start the emulator, wait for a signal.
//!
//! `vod-emulator exec -- CMD ARGS…` runs a command against a fresh emulator and exits with its
//! status, for CI jobs.

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vod_emulator::config::{
    DEFAULT_APP_ID, DEFAULT_PORT, DEFAULT_REGION, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY,
};
use vod_emulator::{AuthMode, Config, Emulator};

/// Local emulator of Tencent Cloud VOD server-side upload: the VOD API (ApplyUpload,
/// CommitUpload) and the COS XML API on one port. Every flag can also be set with the
/// environment variable named after it.
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
    /// CMD sees VOD_EMULATOR_ENDPOINT, VOD_EMULATOR_HOST, VOD_EMULATOR_PORT,
    /// VOD_EMULATOR_APP_ID, VOD_EMULATOR_REGION, TENCENTCLOUD_SECRET_ID and
    /// TENCENTCLOUD_SECRET_KEY.
    Exec {
        /// The command and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        cmd: Vec<String>,
    },
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
    #[arg(long, env = "VOD_EMULATOR_PORT", global = true)]
    port: Option<u16>,
    /// Keep objects, sessions and media in DIR across restarts (default: a temporary directory
    /// removed on exit).
    #[arg(long, env = "VOD_EMULATOR_DATA_DIR", value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
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
    /// Log filter (tracing syntax: error, warn, info, debug, or per-module directives).
    #[arg(long, env = "VOD_EMULATOR_LOG", default_value = "info", global = true)]
    log: String,
}

impl ServeArgs {
    fn config(&self, default_port: u16) -> Config {
        Config {
            bind: self.bind,
            port: self.port.unwrap_or(default_port),
            data_dir: self.data_dir.clone(),
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
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("vod-emulator: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("vod-emulator: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.serve.log)
                .context("invalid --log filter")?,
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        None => serve(cli.serve.config(DEFAULT_PORT)).await,
        Some(Command::Exec { cmd }) => exec(cli.serve.config(0), cmd).await,
    }
}

async fn start(config: Config) -> anyhow::Result<Emulator> {
    let data_dir = config.data_dir.clone();
    let emu = Emulator::builder()
        .config(config)
        .start()
        .await
        .context("cannot start the emulator")?;
    let c = emu.config();
    eprintln!("vod-emulator {}", env!("CARGO_PKG_VERSION"));
    eprintln!(
        "  VOD API      {}  (X-TC-Action, version 2018-07-17)",
        emu.endpoint()
    );
    eprintln!(
        "  COS          {}  (Host: <bucket>.cos.<region>.myqcloud.com, or path style /<bucket>/<key>)",
        emu.endpoint()
    );
    eprintln!("  AppId        {}   region {}", c.app_id, c.region);
    eprintln!("  SecretId     {}", c.secret_id);
    eprintln!("  SecretKey    {}", c.secret_key);
    match &data_dir {
        Some(dir) => eprintln!("  storage      {} (durable)", dir.display()),
        None => eprintln!("  storage      temporary, removed on exit"),
    }
    if c.auth == AuthMode::None {
        eprintln!();
        eprintln!("  WARNING: --auth none: signatures are NOT checked; any request is accepted.");
        eprintln!();
        tracing::warn!("authentication is disabled (--auth none)");
    }
    Ok(emu)
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let emu = start(config).await?;
    println!("vod-emulator ready on {}", emu.endpoint());
    shutdown_signal().await;
    eprintln!("vod-emulator: shutting down");
    emu.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn exec(config: Config, cmd: Vec<String>) -> anyhow::Result<ExitCode> {
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
        () = shutdown_signal() => {
            let _ = child.start_kill();
            child.wait().await.context("waiting for the command failed")?
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

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
