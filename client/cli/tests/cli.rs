//! `vod-upload`, black box: JSON results, one-line errors with codes and request ids, exit
//! codes, and resuming after the process is killed mid-upload.

// The client's test helpers (an in-process emulator, generated files), shared, not copied;
// this binary uses some of them, the client's tests the rest.
#[path = "../../tests/it/common/mod.rs"]
#[allow(dead_code)]
mod common;

use crate::common::{bytes, emulator, get, write, MIB};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use vod_client::{CosClient, CosEndpoint};
use vod_emulator::Emulator;

const BIN: &str = env!("CARGO_BIN_EXE_vod-upload");

/// A command with the emulator's endpoint and key in its environment, as `vod-emulator exec`
/// would set them.
fn cli(emu: &Emulator) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.envs(emu.exec_env())
        .env_remove("VOD_UPLOAD_ENDPOINT")
        .env_remove("TENCENTCLOUD_SESSION_TOKEN")
        .env_remove("TENCENTCLOUD_REGION");
    cmd
}

async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run vod-upload")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `vod-upload FILE --json` uploads and prints FileId and MediaUrl as one JSON object.
#[tokio::test]
async fn upload_prints_one_json_object() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = bytes(2 * MIB + 17, 1);
    let file = write(dir.path(), "clip.mp4", &data);
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--json", "--part-size", "1", "--source-context", "ctx"]);
    let out = output(cmd).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = json(&out);
    assert_eq!(
        get(result["MediaUrl"].as_str().expect("MediaUrl")).await.2,
        data
    );
    assert!(result["FileId"].as_str().is_some_and(|f| !f.is_empty()));
    assert_eq!(result["BytesSent"], data.len());
}

/// A missing file is a local error: exit 1 and one line naming it.
#[tokio::test]
async fn missing_file_exits_1_with_one_line() {
    let emu = emulator().await;
    let mut cmd = cli(&emu);
    cmd.arg("/nonexistent/video.mp4");
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/video.mp4"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
}

/// A missing cover is named as the cover, with its cause once; `--json` errors carry no
/// `Hint` when there is none.
#[tokio::test]
async fn a_missing_cover_is_named_as_the_cover() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "v.mp4", b"abc");
    let mut cmd = cli(&emu);
    cmd.arg(&file).args(["--cover", "/nonexistent/poster.jpg"]);
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cover") && stderr.contains("/nonexistent/poster.jpg"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--cover", "/nonexistent/poster.jpg", "--json"]);
    let out = output(cmd).await;
    let error = &json(&out)["Error"];
    assert!(
        error["Message"]
            .as_str()
            .is_some_and(|m| m.contains("cover")),
        "{error}"
    );
    assert!(error.get("Hint").is_none(), "{error}");
}

/// Wrong credentials: exit 3, the service's code and request id, and a hint.
#[tokio::test]
async fn wrong_credentials_exit_3_with_code_and_request_id() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "v.mp4", b"abc");
    let mut cmd = cli(&emu);
    cmd.arg(&file).env("TENCENTCLOUD_SECRET_KEY", "wrong");
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AuthFailure.SignatureFailure"), "{stderr}");
    assert!(stderr.contains("RequestId"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--json"])
        .env("TENCENTCLOUD_SECRET_ID", "AKIDnobody");
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["Error"]["Code"], "AuthFailure.SecretIdNotFound");
}

/// An unknown region is refused before any request (a usage error, exit 2), naming the valid
/// ones.
#[tokio::test]
async fn unknown_region_is_refused_up_front() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "v.mp4", b"abc");
    let mut cmd = cli(&emu);
    cmd.arg(&file).args(["--region", "mars-north-1"]);
    let out = output(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "a flag value mistake is a usage error"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown region `mars-north-1`") && stderr.contains("ap-guangzhou"),
        "{stderr}"
    );
}

/// Killed mid-upload (SIGKILL), a second run resumes: the parts already stored are verified
/// and not sent again, and the media is complete.
#[tokio::test]
async fn a_killed_upload_resumes_from_the_stored_parts() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 160 * MIB + 11;
    let data = bytes(size, 7);
    let file = write(dir.path(), "big.mp4", &data);
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--part-size", "1", "--concurrency", "1", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    let stored = wait_for_parts(&emu, &file, 5).await;
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    assert!(
        vod_client::checkpoint::path_for(&file).exists(),
        "the checkpoint survives a kill"
    );

    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--part-size", "1", "--concurrency", "2", "--json"]);
    let out = output(cmd).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = json(&out);
    let reused = result["PartsReused"].as_u64().expect("PartsReused");
    assert!(
        reused >= stored,
        "reused {reused} of the {stored} parts stored before the kill"
    );
    assert_eq!(result["BytesSent"].as_u64(), Some(size - reused * MIB));
    assert!(get(result["MediaUrl"].as_str().expect("MediaUrl")).await.2 == data);
    assert!(!vod_client::checkpoint::path_for(&file).exists());
    // The emulator's journal is the independent witness: across both runs, no part was stored
    // twice, and every part was stored once.
    let stored = emu.journal().requests(
        &vod_emulator::journal::Filter::default()
            .action("UploadPart")
            .status(200),
    );
    let mut per_part = std::collections::BTreeMap::new();
    for e in &stored {
        *per_part
            .entry(e.part_number.expect("part number"))
            .or_insert(0) += 1;
    }
    assert_eq!(per_part.len() as u64, size.div_ceil(MIB));
    assert!(
        per_part.values().all(|n| *n == 1),
        "parts sent twice: {per_part:?}"
    );
}

/// An endpoint that cannot be reached is exit code 4, in one line.
#[tokio::test]
async fn unreachable_endpoint_exits_4() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "u.mp4", b"abc");
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--endpoint", "http://127.0.0.1:1", "--attempts", "1"]);
    let out = output(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls COS (with the session's credentials from the checkpoint) until at least `n` parts of
/// the running upload are stored; returns how many there were.
async fn wait_for_parts(emu: &Emulator, file: &std::path::Path, n: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upload never stored {n} parts"
        );
        if let Some(cp) = vod_client::checkpoint::Checkpoint::load(file, 0, 0) {
            if let Some((key, id)) = cp.uploads.iter().next() {
                let cos = CosClient::for_session(
                    reqwest::Client::new(),
                    CosEndpoint::PathStyle(emu.endpoint()),
                    &cp.session,
                )
                .expect("session credentials");
                let parts = cos
                    .list_parts(key, id)
                    .await
                    .map(|p| p.len() as u64)
                    .unwrap_or(0);
                if parts >= n {
                    return parts;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `events pull` shows the upload's NewFileUpload, `events confirm` acknowledges it (the
/// emulator then holds it `confirmed`), `media describe` and `media delete` manage the media.
#[tokio::test]
async fn events_and_media_subcommands() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "e.mp4", &bytes(1000, 3));
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--json", "--source-context", "from-cli"]);
    let uploaded = json(&output(cmd).await);
    let file_id = uploaded["FileId"].as_str().expect("FileId").to_owned();

    let mut cmd = cli(&emu);
    cmd.args(["events", "pull", "--json"]);
    let pulled = json(&output(cmd).await);
    let event = &pulled["EventSet"][0];
    assert_eq!(event["EventType"], "NewFileUpload");
    assert_eq!(event["FileUploadEvent"]["FileId"], file_id.as_str());
    assert_eq!(
        event["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"],
        "from-cli"
    );
    let handle = event["EventHandle"].as_str().expect("handle").to_owned();

    let mut cmd = cli(&emu);
    cmd.args(["events", "confirm", &handle, "--json"]);
    assert!(output(cmd).await.status.success());
    let (status, _, events) = get(&format!("{}/_emulator/events", emu.endpoint())).await;
    assert_eq!(status, 200);
    let events: serde_json::Value = serde_json::from_slice(&events).expect("admin events JSON");
    assert_eq!(
        events["events"][0]["state"], "confirmed",
        "the emulator holds the event confirmed: {events}"
    );

    let mut cmd = cli(&emu);
    cmd.args(["media", "describe", &file_id, "--json"]);
    let described = json(&output(cmd).await);
    assert_eq!(described["MediaInfoSet"][0]["FileId"], file_id.as_str());

    let mut cmd = cli(&emu);
    cmd.args(["media", "delete", &file_id, "--json"]);
    assert!(output(cmd).await.status.success());
    let mut cmd = cli(&emu);
    cmd.args(["media", "describe", &file_id, "--json"]);
    let after = json(&output(cmd).await);
    assert_eq!(after["NotExistFileIdSet"][0], file_id.as_str());
}

/// Ctrl-C (SIGINT) mid-upload exits 130 saying the checkpoint is kept and how to resume, and
/// the checkpoint, which holds the session's temporary SecretKey and token, is private (0600).
#[tokio::test]
async fn an_interrupted_upload_keeps_a_private_checkpoint_and_says_how_to_resume() {
    use std::os::unix::fs::PermissionsExt;
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "big.mp4", &bytes(160 * MIB + 3, 8));
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--part-size", "1", "--concurrency", "1", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    wait_for_parts(&emu, &file, 2).await;
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("checkpoint") && stderr.contains("resume"),
        "{stderr}"
    );
    let checkpoint = vod_client::checkpoint::path_for(&file);
    let mode = std::fs::metadata(&checkpoint)
        .expect("the checkpoint is kept")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "checkpoint mode {mode:o}");
}

/// Usage mistakes exit 2 and name the fix: `--part-size 0`; a file without an extension
/// names `--media-type`; a directory says it is one.
#[tokio::test]
async fn usage_mistakes_exit_2_and_name_the_fix() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "v.mp4", b"abc");
    let bare = write(dir.path(), "video", b"abc");
    for (args, expected) in [
        (
            vec![file.display().to_string(), "--part-size".into(), "0".into()],
            "--part-size",
        ),
        (vec![bare.display().to_string()], "--media-type"),
        (vec![dir.path().display().to_string()], "is a directory"),
    ] {
        let mut cmd = cli(&emu);
        cmd.args(&args);
        let out = output(cmd).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// `--endpoint https://127.0.0.1:PORT` (the emulator serves TLS on its port) is trusted
/// through `SSL_CERT_FILE`, the variable `vod-emulator exec` sets to its CA.
#[tokio::test]
async fn https_endpoints_are_trusted_through_ssl_cert_file() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "tls.mp4", b"over tls");
    let ca = emu
        .exec_env()
        .into_iter()
        .find(|(k, _)| k == "SSL_CERT_FILE")
        .map(|(_, v)| v)
        .expect("exec sets SSL_CERT_FILE");
    let endpoint = format!("https://127.0.0.1:{}", emu.addr().port());
    let mut cmd = cli(&emu);
    cmd.arg(&file)
        .args(["--endpoint", &endpoint, "--json"])
        .env("SSL_CERT_FILE", &ca)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    let out = output(cmd).await;
    assert!(out.status.success(), "{out:?}");
    assert!(json(&out)["MediaUrl"].as_str().is_some());
}
