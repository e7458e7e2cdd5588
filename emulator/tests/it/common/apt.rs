//! Installs the Debian packages a runtime's tests need (PHP and Guzzle, Go, the JDK and the
//! HTTP client jars the Java SDKs use) with `apt-get`, at most once per test process and one
//! runtime at a time; packages already installed are not touched and need no network.
//!
//! A runtime that cannot be installed fails its tests with apt's output: they never skip.

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::install::run;

/// A runtime's packages and the command that proves it usable once they are installed.
#[derive(Debug)]
pub struct Runtime {
    /// What the packages are for, in messages.
    pub name: &'static str,
    /// Debian package names.
    pub packages: &'static [&'static str],
    /// A command (program, arguments) that must exit 0 afterwards.
    pub check: &'static [&'static str],
}

/// Makes `runtime`'s packages present; panics with apt's output when they cannot be.
pub async fn ensure(runtime: &'static Runtime) {
    // One install at a time (apt holds a lock anyway); each runtime's outcome is kept, so a
    // failure is reported to every test without running apt again.
    static OUTCOMES: OnceLock<Mutex<HashMap<&'static str, Result<(), String>>>> = OnceLock::new();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut outcomes = OUTCOMES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        outcomes
            .entry(runtime.name)
            .or_insert_with(|| install(runtime))
            .clone()
    })
    .await
    .expect("installing Debian packages panicked");
    if let Err(message) = outcome {
        panic!("cannot install {}: {message}", runtime.name);
    }
}

fn install(runtime: &Runtime) -> Result<(), String> {
    let missing = missing(runtime.packages)?;
    if !missing.is_empty() {
        run(
            Command::new("apt-get").args(["update", "-qq"]),
            "apt-get update",
        )?;
        run(
            Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "-o",
                    "DPkg::Lock::Timeout=600",
                ])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install",
        )?;
    }
    let (program, args) = runtime.check.split_first().ok_or("no check command")?;
    run(
        Command::new(program).args(args),
        "the installed runtime's check",
    )
    .map(drop)
}

/// The packages dpkg does not list as installed.
fn missing(packages: &[&str]) -> Result<Vec<String>, String> {
    let mut missing = Vec::new();
    for package in packages {
        let status = Command::new("dpkg-query")
            .args(["-W", "-f=${db:Status-Abbrev}", package])
            .output()
            .map_err(|e| format!("dpkg-query (these tests need Debian's apt-get): {e}"))?;
        if !String::from_utf8_lossy(&status.stdout).starts_with("ii") {
            missing.push((*package).to_owned());
        }
    }
    Ok(missing)
}
