//! The packages for teams without a Rust toolchain, built and used as those teams would: the
//! Python wheel (maturin, `emulator/python`) with its pytest plugin, and the npm package
//! (`npm pack`, `emulator/npm`) with its node:test global setup. Each ships the release build
//! of this checkout, byte for byte (`common::release`); each runs a user's suite of unmodified SDK
//! code (`emulator/tests/packages/`) against the emulator it starts.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::common::exec::{scrub, shared_ca_dir};
use crate::common::node::node_modules;
use crate::common::python::{maturin_venv, wheel_venv};
use crate::common::release::{assert_same_binary, release_binary, target_dir, workspace};

/// How long a build, an install or a suite may run.
const TIMEOUT: Duration = Duration::from_secs(900);

/// `program` in a scrubbed environment whose emulators keep their CA under the target
/// directory: what it sees of the emulator comes from the package under test.
fn command(program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    scrub(&mut command);
    command
        .env("VOD_EMULATOR_CA_DIR", shared_ca_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .kill_on_drop(true);
    command
}

/// Runs `command` to its end (at most [`TIMEOUT`]); panics, naming `shown`, if it cannot start
/// or times out.
async fn finish(command: &mut tokio::process::Command, shown: &str) -> Output {
    tokio::time::timeout(TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{shown} timed out after {TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

/// Like [`finish`], and panics with both output streams unless it succeeds; returns stdout.
async fn succeed(command: &mut tokio::process::Command, shown: &str) -> String {
    let output = finish(command, shown).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{shown} failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `emulator/tests/packages/<suite>`.
fn suite(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/packages")
        .join(name)
}

/// The one file in `dir` whose name ends with `suffix`.
fn only_file(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read the output directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {suffix} in {}: {found:?}",
        dir.display()
    );
    found.into_iter().next().expect("one file")
}

/// The wheel maturin builds puts this checkout's release `vod-emulator` on the venv's PATH,
/// and its pytest plugin runs a suite of unmodified SDK code: an upload, a fault, an awaited
/// event, an expired session, a reset per test; a binary that cannot start is named clearly.
#[tokio::test]
async fn the_wheel_ships_the_release_binary_and_a_working_pytest_plugin() {
    let release = release_binary().await;
    let maturin = maturin_venv().await.join("bin/maturin");
    let out = tempfile::tempdir().expect("wheel directory");
    succeed(
        command(&maturin)
            .args(["build", "--release", "--locked", "--out"])
            .arg(out.path())
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("python")),
        "maturin build",
    )
    .await;
    let venv = wheel_venv(only_file(out.path(), ".whl")).await;
    let bin = venv.join("bin");
    assert_same_binary(&bin.join("vod-emulator"), &release);

    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let version = succeed(
        command("vod-emulator").arg("--version").env("PATH", &path),
        "vod-emulator --version on the venv's PATH",
    )
    .await;
    assert_eq!(
        version.trim(),
        concat!("vod-emulator ", env!("CARGO_PKG_VERSION"))
    );

    let python = bin.join("python");
    let report = succeed(
        command(&python)
            .args(["-m", "pytest", "-q"])
            .current_dir(suite("pytest")),
        "pytest with the vod_emulator plugin",
    )
    .await;
    assert!(report.contains("6 passed"), "{report}");

    let refused = finish(
        command(&python)
            .args(["-m", "pytest", "-q", "-k", "reaches", "--vod-emulator-bin"])
            .arg(venv.join("no-such-vod-emulator"))
            .current_dir(suite("pytest")),
        "pytest with a missing binary",
    )
    .await;
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("vod-emulator could not start: cannot run")
            && said.contains("no-such-vod-emulator"),
        "{said}"
    );
}

/// `npm pack` ships this checkout's release `vod-emulator`; installed from the tarball into a
/// fresh directory, its node:test global setup runs a suite of unmodified SDK code (an upload,
/// a fault) against the emulator it starts.
#[tokio::test]
async fn the_npm_package_ships_the_release_binary_and_a_working_global_setup() {
    let release = release_binary().await;
    let packed = tempfile::tempdir().expect("tarball directory");
    succeed(
        command("npm")
            .args(["pack", "--pack-destination"])
            .arg(packed.path())
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(workspace().join("emulator/npm")),
        "npm pack",
    )
    .await;
    let tarball = only_file(packed.path(), ".tgz");
    let project = tempfile::tempdir().expect("project directory");
    std::fs::write(project.path().join("package.json"), r#"{"private": true}"#)
        .expect("package.json");
    succeed(
        command("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .arg(&tarball)
            .current_dir(project.path()),
        "npm install <tarball>",
    )
    .await;
    let installed = project.path().join("node_modules/vod-emulator");
    assert_same_binary(&installed.join("bin/vod-emulator"), &release);
    assert!(
        project
            .path()
            .join("node_modules/.bin/vod-emulator")
            .exists(),
        "npm links the binary into node_modules/.bin"
    );

    std::fs::copy(
        suite("node").join("upload.test.js"),
        project.path().join("upload.test.js"),
    )
    .expect("copy the suite");
    let report = succeed(
        command("node")
            .args([
                "--require",
                "vod-emulator/register",
                "--test",
                "upload.test.js",
            ])
            .env("NODE_PATH", node_modules().await)
            .current_dir(project.path()),
        "node --test with the global setup",
    )
    .await;
    assert!(report.contains("# pass 2"), "{report}");
}

/// The release build the packages are compared with is a release build: cargo reports it under
/// the `release` profile directory of this test run's target directory.
#[tokio::test]
async fn the_packaged_binary_is_compared_with_a_release_build() {
    let release = release_binary().await;
    assert_eq!(release, target_dir().join("release/vod-emulator"));
}
