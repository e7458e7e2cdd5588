//! The official Go SDKs' transport (tencentcloud-sdk-go, cos-go-sdk-v5: net/http with the
//! default transport), reproduced from their source in `tests/sdk/go/` and built with Debian's
//! Go, under `vod-emulator exec`: an upload completes, the emulator CA is the only root Go
//! trusts (`SSL_CERT_DIR` names an empty directory, so the system CA directory is not read),
//! and no other host is reachable.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use vod_emulator::Emulator;

use crate::common::apt::{ensure, Runtime};
use crate::common::exec::{assert_connect_refused, run_under_exec};
use crate::common::install::{compiled, run};
use crate::common::python::write_test_media;
use crate::common::{assert_uploaded, text};

static GO: Runtime = Runtime {
    name: "Go",
    packages: &["golang-go"],
    check: &["go", "version"],
};

/// The program's source.
fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/go/sdk_transport.go")
}

/// The built program, compiled once per source and Go version under `CARGO_TARGET_TMPDIR`.
async fn program() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ensure(&GO).await;
    tokio::task::spawn_blocking(|| {
        BUILT
            .get_or_init(|| {
                let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache");
                compiled(
                    "sdk-go",
                    &source(),
                    Command::new("go").arg("version"),
                    |d| d.join("sdk_transport").is_file(),
                    |d| {
                        run(
                            Command::new("go")
                                .arg("build")
                                .arg("-o")
                                .arg(d.join("sdk_transport"))
                                .arg(source())
                                .env("GOCACHE", &cache),
                            "go build",
                        )
                        .map(drop)
                    },
                )
                .map(|dir| dir.join("sdk_transport"))
            })
            .clone()
    })
    .await
    .expect("building the Go program panicked")
    .unwrap_or_else(|message| panic!("cannot build the Go SDK transport: {message}"))
}

/// ApplyUpload, PutObject over https through the tunnel and CommitUpload (`--strict`), with
/// the MediaUrl serving the bytes back.
#[tokio::test]
async fn go_sdk_transport_uploads_under_exec() {
    let program = program().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, bytes) = write_test_media(dir.path(), "clip.mp4", 120 * 1024, 71);
    let out = run_under_exec(
        &dir.path().join("ca"),
        &["--strict"],
        &program,
        &["upload".as_ref(), file.as_os_str()],
        &[],
    )
    .await;
    assert_uploaded(&out, &bytes);
}

/// Under `exec`, Go's system pool holds the emulator CA and nothing else; https and http
/// requests to another host get the proxy's refusal; a loopback server with another CA fails
/// verification.
#[tokio::test]
async fn go_under_exec_trusts_only_the_emulator_and_reaches_no_other_host() {
    let program = program().await;
    let stranger = Emulator::builder().start().await.expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = stranger.addr().port().to_string();
    let journal = dir.path().join("journal.jsonl");
    let journal_flag = journal.display().to_string();
    let out = run_under_exec(
        &dir.path().join("ca"),
        &["--journal", &journal_flag],
        &program,
        &["contain", port.as_str()],
        &[],
    )
    .await;
    assert_eq!(out["RootCount"], 1, "{out:#}");
    assert_connect_refused(&journal, "example.invalid:443");
    assert_eq!(out["RootsHaveEmu"], true, "{out:#}");
    let https = text(&out, "Https");
    assert!(https.contains("Forbidden"), "{https}");
    let http = text(&out, "Http");
    assert_eq!(
        http, "HTTP 403 Forbidden",
        "a plain GET gets the 403 as a response"
    );
    let other = text(&out, "OtherCa");
    assert!(
        other.contains("certificate signed by unknown authority"),
        "{other}"
    );
}
