//! Installs a pinned SDK environment (a Python venv, a node_modules tree) under cargo's
//! `CARGO_TARGET_TMPDIR` at most once, and reuses it across runs while its stamp says the same
//! pins were installed.
//!
//! An environment is built in a temporary sibling directory and renamed into place only when
//! complete, so a killed install never leaves a half-built one behind that looks usable.
//! Failures carry the installer's full output: the SDK tests never skip.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

/// Leftover build directories older than this are from killed runs and are removed.
const STALE_BUILD_AGE: Duration = Duration::from_secs(3600);

/// Makes `dir` hold an environment whose `.stamp` file reads `stamp`: reuses it if it does and
/// `usable(dir)` agrees, otherwise runs `build` on a fresh directory and puts that in place.
pub fn install_once(
    dir: &Path,
    stamp: &str,
    usable: impl Fn(&Path) -> bool,
    build: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    if std::fs::read_to_string(dir.join(".stamp")).is_ok_and(|s| s == stamp) && usable(dir) {
        return Ok(());
    }
    let parent = dir.parent().ok_or("install path has no parent")?;
    let name = dir
        .file_name()
        .ok_or("install path has no name")?
        .to_string_lossy()
        .into_owned();
    std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    let prefix = format!("{name}.build-");
    remove_stale_builds(parent, &prefix);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let staging = parent.join(format!("{prefix}{}-{nanos}", std::process::id()));
    let result = build(&staging)
        .and_then(|()| {
            std::fs::write(staging.join(".stamp"), stamp).map_err(|e| format!("writing stamp: {e}"))
        })
        .and_then(|()| install_into_place(&staging, dir, stamp));
    // Best effort: after a successful rename `staging` no longer exists.
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Rename the finished `build` to `dir`, replacing an outdated one. If another process
/// (e.g. a parallel `cargo test`) put an identical one there first, keep that one.
fn install_into_place(build: &Path, dir: &Path, stamp: &str) -> Result<(), String> {
    if std::fs::rename(build, dir).is_ok() {
        return Ok(());
    }
    if std::fs::read_to_string(dir.join(".stamp")).is_ok_and(|s| s == stamp) {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| format!("removing outdated {}: {e}", dir.display()))?;
    }
    std::fs::rename(build, dir)
        .map_err(|e| format!("renaming {} to {}: {e}", build.display(), dir.display()))
}

/// Remove `<prefix>*` directories left behind by killed runs.
fn remove_stale_builds(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let is_build = entry.file_name().to_string_lossy().starts_with(prefix);
        let is_stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_BUILD_AGE));
        if is_build && is_stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Run a command to completion; a failure to start or a non-zero exit is an error carrying
/// the command's full output.
pub fn run(command: &mut Command, what: &str) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed ({}): {command:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Builds a program from `source` with a toolchain into `CARGO_TARGET_TMPDIR/<name>`, reused
/// while the source and the toolchain's `version` output are unchanged: `built` says whether
/// a directory holds the result, `build` makes it in a fresh one.
pub fn compiled(
    name: &str,
    source: &Path,
    version: &mut Command,
    built: impl Fn(&Path) -> bool,
    build: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<std::path::PathBuf, String> {
    use md5::{Digest, Md5};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let code = std::fs::read(source).map_err(|e| format!("reading {}: {e}", source.display()))?;
    let toolchain = run(version, "the toolchain's version")?;
    let stamp = format!(
        "source md5 {}\n{}{}",
        hex::encode(Md5::digest(&code)),
        String::from_utf8_lossy(&toolchain.stdout),
        String::from_utf8_lossy(&toolchain.stderr)
    );
    install_once(&dir, &stamp, built, build)?;
    Ok(dir)
}
