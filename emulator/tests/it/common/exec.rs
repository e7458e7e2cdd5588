//! Runs an unmodified program under `vod-emulator exec` (the real binary, its own emulator on
//! a free port) in a clean environment, and returns the one JSON object it printed.
//!
//! The environment is scrubbed of every variable `exec` sets or that would change where the
//! program's requests go, so what the program sees comes from `exec` alone.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vod-emulator");

/// The CA directory of black-box runs of the binary that need no CA of their own: kept under
/// the target directory (never the user's config directory) and shared, as emulators safely do.
pub fn shared_ca_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-ca")
}

/// The binary, with its CA directory in [`shared_ca_dir`] and without a listening port from
/// the environment the tests run in.
pub fn emulator_command() -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command
        .env("VOD_EMULATOR_CA_DIR", shared_ca_dir())
        .env_remove("VOD_EMULATOR_LISTEN_PORT");
    command
}

/// How long one program may run.
const TIMEOUT: Duration = Duration::from_secs(240);

/// Variables removed from the inherited environment.
const SCRUBBED: [&str; 23] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "PHP_INI_SCAN_DIR",
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_REGION",
];

/// Removes from `command`'s environment every variable `exec` sets or that would change where
/// its requests go ([`SCRUBBED`], `VOD_EMULATOR_*`), so what it sees comes from the emulator.
pub fn scrub(command: &mut tokio::process::Command) {
    for var in SCRUBBED {
        command.env_remove(var);
    }
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VOD_EMULATOR_") {
            command.env_remove(name);
        }
    }
}

/// Runs `vod-emulator exec --ca-dir <ca_dir> <flags> -- program args` with `extra_env`
/// added; panics with both output streams unless it exits 0 and prints one JSON object.
pub async fn run_under_exec<P, A>(
    ca_dir: &Path,
    flags: &[&str],
    program: P,
    args: &[A],
    extra_env: &[(&str, &str)],
) -> Value
where
    P: AsRef<OsStr>,
    A: AsRef<OsStr>,
{
    let mut command = tokio::process::Command::new(BIN);
    command
        .arg("exec")
        .arg("--ca-dir")
        .arg(ca_dir)
        .args(flags)
        .arg("--")
        .arg(program.as_ref())
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .kill_on_drop(true);
    scrub(&mut command);
    command.envs(extra_env.iter().copied());
    let shown = format!(
        "{:?} {:?}",
        program.as_ref(),
        args.iter().map(AsRef::as_ref).collect::<Vec<_>>()
    );
    json_output(&mut command, &format!("{shown} under exec"), TIMEOUT).await
}

/// Runs `command` (at most `timeout`) and returns the one JSON object it printed on stdout;
/// panics, naming `shown` and with both output streams, if it fails, times out or prints
/// anything else.
pub async fn json_output(
    command: &mut tokio::process::Command,
    shown: &str,
    timeout: Duration,
) -> Value {
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("{shown} timed out after {timeout:?}"))
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{shown} failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    match serde_json::from_str::<Value>(stdout.trim()) {
        Ok(value @ Value::Object(_)) => value,
        _ => panic!(
            "{shown} did not print one JSON object\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        ),
    }
}

/// The entries of a `--journal` file, oldest first.
pub fn journal_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading the journal file {}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).expect("a journal line is JSON"))
        .collect()
}

/// Panics unless the `--journal` file at `path` holds a refused `CONNECT target` (403): the proof
/// that a program's request to `target` went to the emulator's proxy, not anywhere else.
pub fn assert_connect_refused(path: &Path, target: &str) {
    let entries = journal_lines(path);
    assert!(
        entries
            .iter()
            .any(|e| e["method"] == "CONNECT" && e["path"] == target && e["status"] == 403),
        "no refused CONNECT {target} in the journal: {entries:#?}"
    );
}

/// `examples/<lang>/<name>` in the repository.
pub fn example(lang: &str, name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(lang)
        .join(name)
}

/// A spawned emulator that is killed (SIGKILL) and reaped when dropped, so a failing assertion
/// never leaves it running.
pub struct Killed(pub std::process::Child);

impl Killed {
    /// `kill -9` now, and wait for it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the binary with `args`, waits for its ready line, returns the child and endpoint.
pub fn spawn_ready(args: &[&str]) -> (Killed, String) {
    let mut child = emulator_command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn emulator");
    let stdout = child.stdout.take().expect("stdout");
    let endpoint =
        vod_testkit::wait_ready(stdout, std::time::Duration::from_secs(30)).expect("ready line");
    (Killed(child), endpoint)
}
