//! Runs the official Tencent Cloud Python SDKs against an in-process emulator.
//!
//! The SDKs are installed at pinned versions into one virtualenv under cargo's
//! `CARGO_TARGET_TMPDIR` (`<target>/tmp/sdk-venv`) by [`super::install`]: at most once per
//! test-binary run, reused across runs while its stamp says the same pins were installed.
//! Installation failures panic with pip's output: these tests never skip.
//!
//! The driver script, `tests/sdk/python/sdk_flow.py`, redirects the SDKs to the emulator with
//! the monkeypatches of spec vod-api.md §7.4 and prints one JSON object on stdout.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::Value;
use vod_emulator::Emulator;

use super::install::{install_once, run};

/// The upload SDK, installed with `--no-deps`: it declares a dependency on the monolithic
/// `tencentcloud-sdk-python`, which the split packages in requirements.txt replace.
const VOD_UPLOAD_SDK: &str = "vod-python-sdk==1.4.4";

/// What must import for the venv to count as usable (pulls in all three SDKs).
const IMPORT_CHECK: &str = "import qcloud_vod.vod_upload_client, qcloud_cos, tencentcloud.vod";

/// How long one run of the driver script may take before the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// Directory holding the Python scripts and requirements.txt.
fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/python")
}

/// A ready virtualenv with the pinned SDKs.
#[derive(Debug)]
pub struct SdkVenv {
    /// The venv's interpreter (`<venv>/bin/python`).
    python: PathBuf,
}

/// The interpreter of the shared venv, installing it on first use; panics with pip's output
/// when the pinned SDKs cannot be installed (these tests never skip).
pub async fn venv_python() -> PathBuf {
    tokio::task::spawn_blocking(sdk_venv)
        .await
        .expect("installing the Python SDKs panicked")
        .unwrap_or_else(|message| panic!("cannot install the pinned Python SDKs: {message}"))
        .python
        .clone()
}

/// The shared venv, installing it on first use; the error carries pip's full output.
///
/// Blocking: call it from `spawn_blocking` in async tests. Concurrent callers wait for the one
/// install; a failed install is reported to every caller without retrying pip each time.
pub fn sdk_venv() -> Result<&'static SdkVenv, &'static str> {
    static VENV: OnceLock<Result<SdkVenv, String>> = OnceLock::new();
    VENV.get_or_init(|| prepare_venv(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv")))
        .as_ref()
        .map_err(String::as_str)
}

/// The stamp that says which pins a venv holds: changes whenever requirements.txt, the
/// `--no-deps` pin or the interpreter version changes.
fn expected_stamp(python_version: &str) -> Result<String, String> {
    let requirements_path = sdk_dir().join("requirements.txt");
    let requirements = std::fs::read(&requirements_path)
        .map_err(|e| format!("reading {}: {e}", requirements_path.display()))?;
    Ok(format!(
        "requirements.txt md5 {}\n{VOD_UPLOAD_SDK} --no-deps\n{}\n",
        hex::encode(Md5::digest(&requirements)),
        python_version.trim()
    ))
}

/// Reuse `venv` if its stamp matches and the SDKs import, otherwise build a fresh one.
fn prepare_venv(venv: &Path) -> Result<SdkVenv, String> {
    let python_version = run(
        Command::new("python3").arg("--version"),
        "python3 --version",
    )
    .map_err(|e| format!("{e}\n(python3 must be on PATH to run the SDK tests)"))?;
    let stamp = expected_stamp(&String::from_utf8_lossy(&python_version.stdout))?;
    let imports = |dir: &Path| {
        run(
            Command::new(dir.join("bin/python")).args(["-c", IMPORT_CHECK]),
            "import check of the installed SDKs",
        )
    };
    install_once(
        venv,
        &stamp,
        |dir| imports(dir).is_ok(),
        |build| {
            build_venv(build)?;
            imports(build).map(drop)
        },
    )?;
    Ok(SdkVenv {
        python: venv.join("bin/python"),
    })
}

/// Create a venv at `build` and install the pins.
fn build_venv(build: &Path) -> Result<(), String> {
    let requirements = sdk_dir().join("requirements.txt");
    run(
        Command::new("python3").arg("-m").arg("venv").arg(build),
        "python3 -m venv",
    )?;
    let python = build.join("bin/python");
    let pip = |args: &[&std::ffi::OsStr], what: &str| {
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--no-input",
                    "--disable-pip-version-check",
                ])
                .args(args),
            what,
        )
    };
    pip(
        &["-r".as_ref(), requirements.as_os_str()],
        "pip install -r requirements.txt",
    )?;
    pip(
        &["--no-deps".as_ref(), VOD_UPLOAD_SDK.as_ref()],
        "pip install --no-deps vod-python-sdk",
    )
    .map(drop)
}

/// Run `sdk_flow.py <args>` against `emu` and return the JSON object it printed.
///
/// Panics, with the script's stdout and stderr, if it fails, times out or prints anything but
/// one JSON object.
pub async fn run_sdk_flow<I, S>(emu: &Emulator, args: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let python = venv_python().await;
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(sdk_dir().join("sdk_flow.py"))
        .args(&args)
        .envs(emu.exec_env())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .kill_on_drop(true);
    for var in [
        "PYTHONPATH",
        "PYTHONHOME",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("sdk_flow.py {args:?} timed out after {SCRIPT_TIMEOUT:?}"))
        .expect("cannot start the venv's python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sdk_flow.py {args:?} failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    match serde_json::from_str::<Value>(&stdout) {
        Ok(value @ Value::Object(_)) => value,
        _ => panic!(
            "sdk_flow.py {args:?} did not print one JSON object\n\
             --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        ),
    }
}

/// Write `len` deterministic pseudo-random bytes (splitmix64 from `seed`) to `dir/name`, so a
/// byte-for-byte comparison after a round trip is meaningful; returns the path and the bytes.
pub fn write_test_media(dir: &Path, name: &str, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
    let mut state = seed;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).expect("write test media");
    (path, bytes)
}
