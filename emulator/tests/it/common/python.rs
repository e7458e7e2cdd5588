//! Runs the official Tencent Cloud Python SDKs against an in-process emulator, and installs the
//! venvs the packaging tests need (maturin; the SDKs with pytest and the vod-emulator wheel).
//!
//! The SDKs are installed at pinned versions into one virtualenv under cargo's
//! `CARGO_TARGET_TMPDIR` (`<target>/tmp/sdk-venv`) by [`super::install`]: at most once per
//! test-binary run, reused across runs while its stamp says the same pins were installed.
//! Installation failures panic with pip's output: these tests never skip.
//!
//! The driver script, `tests/sdk/python/sdk_flow.py`, redirects the SDKs to the emulator with
//! the monkeypatches of docs/protocol/vod-api.md §7.4 and prints one JSON object on stdout.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::Value;
use vod_emulator::Emulator;

use super::exec::json_output;
use super::install::{install_once, run};

/// One pinned virtualenv under `CARGO_TARGET_TMPDIR`.
#[derive(Debug)]
struct Pins {
    /// Directory name under `CARGO_TARGET_TMPDIR`.
    dir: &'static str,
    /// Requirements file in `tests/sdk/python`, installed with dependencies.
    requirements: &'static str,
    /// A package installed afterwards with `--no-deps`.
    no_deps: Option<&'static str>,
    /// What must import for the venv to count as usable.
    import_check: &'static str,
}

/// The three SDKs the emulator's Python tests drive. vod-python-sdk is installed with
/// `--no-deps`: it declares a dependency on the monolithic `tencentcloud-sdk-python`, which the
/// split packages in requirements.txt replace.
const SDKS: Pins = Pins {
    dir: "sdk-venv",
    requirements: "requirements.txt",
    no_deps: Some("vod-python-sdk==1.4.4"),
    import_check: "import qcloud_vod.vod_upload_client, qcloud_cos, tencentcloud.vod",
};

/// tccli, with the monolithic tencentcloud-sdk-python it needs (hence a venv of its own).
const TCCLI: Pins = Pins {
    dir: "tccli-venv",
    requirements: "requirements-tccli.txt",
    no_deps: None,
    import_check: "import tccli.main, tencentcloud.vod.v20180717",
};

/// maturin, which builds the vod-emulator wheel (`emulator/python`).
const MATURIN: Pins = Pins {
    dir: "maturin-venv",
    requirements: "requirements-maturin.txt",
    no_deps: None,
    import_check: "import maturin",
};

/// How long one run of the driver script may take before the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// Directory holding the Python scripts and requirements files.
fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/python")
}

/// The interpreter of the SDK venv, installing it on first use; panics with pip's output
/// when the pinned SDKs cannot be installed (these tests never skip).
pub async fn venv_python() -> PathBuf {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    installed(&VENV, &SDKS).await.join("bin/python")
}

/// The tccli venv's root (run `bin/python bin/tccli`: a renamed venv's script shebangs point
/// at the directory it was built in), installing it on first use.
pub async fn tccli_venv() -> PathBuf {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    installed(&VENV, &TCCLI).await
}

/// Installs `pins` once per test binary (concurrent callers wait for the one install; a
/// failure is reported to every caller without running pip again) and returns the venv.
async fn installed(
    cell: &'static OnceLock<Result<PathBuf, String>>,
    pins: &'static Pins,
) -> PathBuf {
    tokio::task::spawn_blocking(move || {
        cell.get_or_init(|| {
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(pins.dir);
            prepare_venv(&venv, pins).map(|()| venv)
        })
        .clone()
    })
    .await
    .expect("installing Python packages panicked")
    .unwrap_or_else(|message| panic!("cannot install the pinned Python packages: {message}"))
}

/// The stamp that says which pins a venv holds: changes whenever the requirements file, the
/// `--no-deps` pin or the interpreter version changes.
fn expected_stamp(pins: &Pins, python_version: &str) -> Result<String, String> {
    let requirements_path = sdk_dir().join(pins.requirements);
    let requirements = std::fs::read(&requirements_path)
        .map_err(|e| format!("reading {}: {e}", requirements_path.display()))?;
    let no_deps = pins
        .no_deps
        .map(|pin| format!("{pin} --no-deps\n"))
        .unwrap_or_default();
    Ok(format!(
        "{} md5 {}\n{no_deps}{}\n",
        pins.requirements,
        hex::encode(Md5::digest(&requirements)),
        python_version.trim()
    ))
}

/// `python3 --version`'s answer.
fn python_version() -> Result<String, String> {
    let output = run(
        Command::new("python3").arg("--version"),
        "python3 --version",
    )
    .map_err(|e| format!("{e}\n(python3 must be on PATH to run the SDK tests)"))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Reuse `venv` if its stamp matches and the packages import, otherwise build a fresh one.
fn prepare_venv(venv: &Path, pins: &Pins) -> Result<(), String> {
    let stamp = expected_stamp(pins, &python_version()?)?;
    // HOME is the venv: importing tccli creates `~/.tccli/log`.
    let imports = |dir: &Path| {
        run(
            Command::new(dir.join("bin/python"))
                .args(["-c", pins.import_check])
                .env("HOME", dir),
            "import check of the installed packages",
        )
    };
    install_once(
        venv,
        &stamp,
        |dir| imports(dir).is_ok(),
        |build| {
            build_venv(build, pins)?;
            imports(build).map(drop)
        },
    )
}

/// Create a venv at `build` and install the pins.
fn build_venv(build: &Path, pins: &Pins) -> Result<(), String> {
    let requirements = sdk_dir().join(pins.requirements);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(build),
        "python3 -m venv",
    )?;
    pip_install(
        build,
        &["-r".as_ref(), requirements.as_os_str()],
        "pip install -r <requirements>",
    )?;
    match pins.no_deps {
        Some(pin) => pip_install(
            build,
            &["--no-deps".as_ref(), pin.as_ref()],
            "pip install --no-deps",
        ),
        None => Ok(()),
    }
}

/// `pip install ARGS` into the venv at `venv`.
fn pip_install(venv: &Path, args: &[&std::ffi::OsStr], what: &str) -> Result<(), String> {
    run(
        Command::new(venv.join("bin/python"))
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
    .map(drop)
}

/// The venv maturin (pinned in `requirements-maturin.txt`) is installed in, on first use.
pub async fn maturin_venv() -> PathBuf {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    installed(&VENV, &MATURIN).await
}

/// A venv holding the SDKs, pytest (`requirements-pytest.txt`) and `wheel`, and nothing else:
/// built afresh whenever the wheel's bytes (or a pin) change, reused while they do not.
/// Panics with pip's output when it cannot be built.
pub async fn wheel_venv(wheel: PathBuf) -> PathBuf {
    tokio::task::spawn_blocking(move || {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wheel-venv");
        let digest = |path: &Path| {
            std::fs::read(path)
                .map(|bytes| hex::encode(Md5::digest(bytes)))
                .map_err(|e| format!("reading {}: {e}", path.display()))
        };
        let pytest = sdk_dir().join("requirements-pytest.txt");
        let stamp = format!(
            "{}{} md5 {}\nwheel md5 {}\n",
            expected_stamp(&SDKS, &python_version()?)?,
            pytest.display(),
            digest(&pytest)?,
            digest(&wheel)?
        );
        install_once(
            &venv,
            &stamp,
            |dir| dir.join("bin/vod-emulator").is_file(),
            |build| {
                build_venv(build, &SDKS)?;
                pip_install(
                    build,
                    &["-r".as_ref(), pytest.as_os_str(), wheel.as_os_str()],
                    "pip install pytest and the wheel",
                )
            },
        )
        .map(|()| venv)
    })
    .await
    .expect("installing the wheel panicked")
    .unwrap_or_else(|message| panic!("cannot install the vod-emulator wheel: {message}"))
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
    json_output(
        &mut command,
        &format!("sdk_flow.py {args:?}"),
        SCRIPT_TIMEOUT,
    )
    .await
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
