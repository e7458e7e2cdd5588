//! The `vod-emulator` binary, black box: start-up banner, ready line, health, graceful
//! shutdown on SIGTERM, and `exec`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_vod-emulator");

/// `vod-emulator --port 0` prints its endpoint and credentials, a ready line on stdout, answers
/// health, and exits cleanly on SIGTERM, removing its temporary storage.
#[tokio::test]
async fn serve_prints_ready_line_and_stops_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--app-id", "1300000001"])
        .env_remove("VOD_EMULATOR_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let stdout = child.stdout.take().expect("stdout");
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read ready line");
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(20), ready)
        .await
        .expect("ready in time")
        .expect("join");
    let endpoint = line
        .trim()
        .strip_prefix("vod-emulator ready on ")
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
        .to_owned();
    let health = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{endpoint}/_emulator/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&health.bytes().await.expect("body")).expect("json");
    assert_eq!(body["appId"], 1300000001);
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.status.success(), "exit status {:?}", status.status);
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("SecretId"),
        "banner names the credentials: {stderr}"
    );
    assert!(
        stderr.contains("1300000001"),
        "banner names the AppId: {stderr}"
    );
}

/// `exec` runs the command with the emulator's endpoint and credentials in its environment and
/// exits with the command's status.
#[tokio::test]
async fn exec_runs_the_command_against_a_fresh_emulator() {
    let script = r#"python3 -c "import os,urllib.request as u; u.urlopen(os.environ['VOD_EMULATOR_ENDPOINT']+'/_emulator/health')" || exit 90
test -n "$TENCENTCLOUD_SECRET_ID" -a -n "$TENCENTCLOUD_SECRET_KEY" || exit 91
test "$VOD_EMULATOR_REGION" = ap-guangzhou || exit 92
echo "port=$VOD_EMULATOR_PORT"
exit 7"#;
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["exec", "--", "sh", "-c", script])
            .env_remove("VOD_EMULATOR_PORT")
            .env("NO_PROXY", "*")
            .output()
    })
    .await
    .expect("join")
    .expect("run exec");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout {stdout} stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port: u16 = stdout
        .trim()
        .strip_prefix("port=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {stdout:?}"));
    assert_ne!(port, 0);
}

/// `--auth none` is announced loudly at start-up.
#[tokio::test]
async fn auth_none_is_announced() {
    let out = tokio::task::spawn_blocking(|| {
        Command::new(BIN)
            .args(["--auth", "none", "exec", "--", "true"])
            .env_remove("VOD_EMULATOR_PORT")
            .output()
    })
    .await
    .expect("join")
    .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WARNING: --auth none"));
}
