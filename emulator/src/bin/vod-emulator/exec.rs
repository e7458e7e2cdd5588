//! `exec` (a command against a fresh emulator, exiting with its status), and `env`/`ca`, which
//! print what `exec` sets so a shell can use a running emulator.

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use vod_emulator::redirect::{self, Shell};
use vod_emulator::{ensure_ca, Config};

use crate::args::ShellArg;
use crate::shutdown::{stop, Shutdown};
use crate::start;

pub(crate) async fn exec(config: Config, cmd: Vec<String>) -> anyhow::Result<ExitCode> {
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

pub(crate) fn exit_code(status: std::process::ExitStatus) -> ExitCode {
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

/// The CA directory of a command that needs one on disk.
pub(crate) fn ca_dir(config: &Config) -> anyhow::Result<PathBuf> {
    config
        .ca_dir
        .clone()
        .context("no configuration directory is known here (no HOME): pass --ca-dir DIR")
}

pub(crate) fn print_env(config: &Config, shell: ShellArg) -> anyhow::Result<ExitCode> {
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
        &redirect::Inherited::from_env(),
    )
    .with_context(|| format!("cannot write the redirection files into {}", dir.display()))?;
    let shell = match shell {
        ShellArg::Sh => Shell::Sh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Powershell => Shell::PowerShell,
    };
    std::io::stdout().write_all(redirect::render(&vars, shell).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
