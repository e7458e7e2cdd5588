//! The release build the packaging tests ship: `cargo build --release -p vod-emulator` of this
//! checkout into this test run's target directory, once per test process (the wheel and the npm
//! tests wait for the one build; cargo's own lock orders builds of parallel processes).
//!
//! The packages build the binary themselves (maturin; the npm package's prepack step); the
//! tests hold the binary each package installs to be byte for byte the one built here, which
//! proves it is neither stale (an older build) nor a debug build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::install::run;

/// The target directory this test binary was built into (`CARGO_TARGET_TMPDIR` is its `tmp`).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_path_buf()
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The release `vod-emulator`, building it on first use; panics with cargo's output when the
/// build fails.
pub async fn release_binary() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    tokio::task::spawn_blocking(|| BUILT.get_or_init(build).clone())
        .await
        .expect("the release build panicked")
        .unwrap_or_else(|message| panic!("cannot build the release vod-emulator: {message}"))
}

fn build() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = run(
        Command::new(cargo)
            .args(["build", "--release", "--locked", "-p", "vod-emulator"])
            .arg("--message-format=json-render-diagnostics")
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(workspace()),
        "cargo build --release -p vod-emulator",
    )?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "vod-emulator")
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo reported no vod-emulator executable".to_owned())
}

/// Panics unless `packaged` holds exactly the bytes of the release build `release`.
pub fn assert_same_binary(packaged: &Path, release: &Path) {
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let (have, want) = (read(packaged), read(release));
    assert!(
        have == want,
        "{} ({} bytes) is not the release build of this checkout, {} ({} bytes): the package \
         holds a stale or debug binary",
        packaged.display(),
        have.len(),
        release.display(),
        want.len()
    );
}
