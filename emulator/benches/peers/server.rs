//! Server processes: how each is started, when it counts as healthy, its peak memory.
//!
//! Start-up is timed from spawn to the first successful request, polled every millisecond:
//! what a CI job waits for before its tests can run.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// How long a server may take to become healthy.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to run one server.
pub struct Recipe {
    /// Name in the report.
    pub name: &'static str,
    /// The program.
    pub program: PathBuf,
    /// Its arguments, given the port chosen for it and its data directory.
    pub args: fn(u16, &Path) -> Vec<OsString>,
    /// The cheapest GET that succeeds once it serves (a path under its base URL).
    pub health: &'static str,
    /// Whether the server prints `… ready on URL` on stdout (and so picks its own port);
    /// otherwise it gets a free port.
    pub announces: bool,
}

/// A running server; killed when dropped.
pub struct Running {
    child: tokio::process::Child,
    /// Base URL.
    pub base: String,
    /// Spawn to first successful request.
    pub startup: Duration,
    /// Kept open so the server never writes to a closed pipe.
    _stdout: Option<tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>>,
}

impl Recipe {
    /// Starts the server with its data (and TMPDIR) under `data`, and waits until it answers.
    pub async fn start(&self, http: &reqwest::Client, data: &Path) -> Result<Running> {
        std::fs::create_dir_all(data)?;
        let port = if self.announces { 0 } else { free_port()? };
        let log = std::fs::File::create(data.with_extension("log"))?;
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args((self.args)(port, data))
            .env("TMPDIR", data)
            .stdin(Stdio::null())
            .stdout(if self.announces {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(log)
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let (base, stdout) = match child.stdout.take() {
            Some(out) => {
                let mut lines = tokio::io::BufReader::new(out).lines();
                let base = announced(&mut lines).await?;
                (base, Some(lines))
            }
            None => (format!("http://127.0.0.1:{port}"), None),
        };
        let probe = http.get(format!("{base}{}", self.health));
        loop {
            let ok = probe
                .try_clone()
                .context("probe is cloneable")?
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{} exited with {status}; see {}",
                    self.name,
                    data.with_extension("log").display()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("{} not healthy after {START_TIMEOUT:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(Running {
            startup: started.elapsed(),
            child,
            base,
            _stdout: stdout,
        })
    }
}

impl Running {
    /// Peak resident memory of the process so far, in MiB: the kernel's high-water mark
    /// (`VmHWM`), so one read at the end covers the whole run.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the server and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The URL of a `vod-emulator ready on URL` line.
async fn announced(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) -> Result<String> {
    while let Some(line) = lines.next_line().await? {
        if let Some((_, url)) = line.split_once(" ready on ") {
            return Ok(url.trim().to_owned());
        }
    }
    bail!("the server closed stdout without announcing its URL")
}

/// A loopback port free right now.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
