//! Installs the peers from their registries, each with its ordinary client and a pinned
//! version, into `target/tmp/bench-peers/<name>`, and reuses an installation on later runs.
//!
//! An installation counts only once its `.installed` marker names the pinned version, so an
//! interrupted install or a new pin starts over. A failure is returned with the installer's
//! last words, for the report: a peer that cannot be installed is skipped, not fatal.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `moto[server]` from PyPI (Python, in a venv).
pub const MOTO: &str = "moto[server]==5.2.5";
/// `s3rver` from npm (Node.js).
pub const S3RVER: &str = "s3rver@3.7.1";
/// `s3s-fs` from crates.io: 0.14.1 is the newest that builds with this machine's rustc.
pub const S3S_FS: &str = "s3s-fs@0.14.1";

/// A peer's program, installed where it lives.
pub type Program = Result<PathBuf>;

/// Installs one peer under the root (or finds it there) and returns its program.
pub type Installer = fn(&Path) -> Program;

/// Where the peers are installed: under the target dir, so `cargo clean` removes them.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-peers")
}

/// `moto_server` in a venv of its own.
pub fn moto(root: &Path) -> Program {
    let dir = root.join("moto");
    ensure(&dir, MOTO, |dir| {
        run(Command::new("python3").arg("-m").arg("venv").arg(dir))?;
        run(Command::new(dir.join("bin/pip")).args(["install", "-q", MOTO]))
    })?;
    Ok(dir.join("bin/moto_server"))
}

/// `s3rver`'s command-line script, installed with npm.
pub fn s3rver(root: &Path) -> Program {
    let dir = root.join("s3rver");
    ensure(&dir, S3RVER, |dir| {
        run(Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(dir)
            .args(["--no-audit", "--no-fund", "--no-save", S3RVER]))
    })?;
    Ok(dir.join("node_modules/.bin/s3rver"))
}

/// `s3s-fs` built by `cargo install` with its own lock file (`--locked`) and the binary
/// feature.
pub fn s3s_fs(root: &Path) -> Program {
    let dir = root.join("s3s-fs");
    let (name, version) = S3S_FS.split_once('@').context("pin has a version")?;
    ensure(&dir, S3S_FS, |dir| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run(Command::new(cargo)
            .args([
                "install",
                "--locked",
                "--features",
                "binary",
                "--version",
                version,
                name,
            ])
            .arg("--root")
            .arg(dir))
    })?;
    Ok(dir.join("bin/s3s-fs"))
}

/// Runs `install` into a fresh `dir` unless `dir` already holds `pin`.
fn ensure(dir: &Path, pin: &str, install: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let marker = dir.join(".installed");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == pin) {
        return Ok(());
    }
    eprintln!("installing {pin} into {} (first run only)", dir.display());
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    install(dir).with_context(|| format!("installing {pin}"))?;
    std::fs::write(&marker, pin)?;
    Ok(())
}

/// Runs an installer quietly; on failure, the error carries its last lines of output.
fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = text.lines().rev().take(6).collect();
    bail!(
        "{:?} exited with {}: {}",
        cmd.get_program(),
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    )
}
