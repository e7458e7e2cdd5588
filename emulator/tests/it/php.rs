//! The official PHP SDKs' transport under `vod-emulator exec`: tencentcloud-sdk-php ≥ 3.0.1201
//! (Guzzle with `stream => true`, `proxy => null`, https) and cos-php-sdk-v5 (Guzzle on cURL,
//! plain http, `proxy => null`), reproduced from their source in `tests/sdk/php/` with Debian's
//! PHP and Guzzle, complete an upload; and nothing a PHP program does under `exec` reaches a
//! host the emulator does not emulate.
//!
//! PHP's `https://` stream wrapper reads no proxy variable: without the ini directory `exec`
//! appends to `PHP_INI_SCAN_DIR` the VOD API calls would go straight to the cloud.

use std::path::{Path, PathBuf};

use vod_emulator::Emulator;

use crate::common::apt::{ensure, Runtime};
use crate::common::exec::{assert_connect_refused, run_under_exec};
use crate::common::python::write_test_media;
use crate::common::{assert_uploaded, text};

/// PHP with ext/curl, and the Guzzle tencentcloud-sdk-php and cos-php-sdk-v5 are built on.
static PHP: Runtime = Runtime {
    name: "PHP and Guzzle",
    packages: &["php-cli", "php-curl", "php-xml", "php-guzzlehttp-guzzle"],
    check: &[
        "php",
        "-r",
        "require '/usr/share/php/GuzzleHttp/autoload.php';",
    ],
};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/php/sdk_transport.php")
}

/// ApplyUpload over https with the stream-wrapper options, the COS PUT over plain http on
/// cURL, CommitUpload: all three reach the emulator (the upload commits under `--strict`, its
/// MediaUrl serves the bytes), and every one went through cURL, the handler that honours the
/// proxy variables.
#[tokio::test]
async fn php_sdk_transports_upload_under_exec() {
    ensure(&PHP).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, bytes) = write_test_media(dir.path(), "clip.mp4", 150 * 1024, 61);
    let out = run_under_exec(
        &dir.path().join("ca"),
        &["--strict"],
        "php",
        &[script(), "upload".into(), file],
        &[],
    )
    .await;
    assert_uploaded(&out, &bytes);
    assert!(
        text(&out, "MediaUrl").starts_with("http://127.0.0.1:"),
        "{out:#}"
    );
    assert_eq!(
        out["Handlers"],
        serde_json::json!(["curl", "curl", "curl"]),
        "{out:#}"
    );
}

/// Under `exec`, PHP reaches no other host: Guzzle configured like tencentcloud-sdk-php (https)
/// and like cos-php-sdk-v5 (http) get the proxy's refusal, `fopen('https://…')` is refused
/// before any connection (the URL wrappers are off), and a direct TLS socket to a server whose
/// CA is not the emulator's (another emulator, on loopback) fails certificate verification.
#[tokio::test]
async fn php_under_exec_reaches_no_other_host() {
    ensure(&PHP).await;
    let stranger = Emulator::builder().start().await.expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.jsonl");
    let journal_flag = journal.display().to_string();
    let out = run_under_exec(
        &dir.path().join("ca"),
        &["--journal", &journal_flag],
        "php",
        &[
            script().into_os_string(),
            "contain".into(),
            stranger.addr().port().to_string().into(),
        ],
        &[],
    )
    .await;
    assert_eq!(out["AllowUrlFopen"], "", "{out:#}");
    assert_connect_refused(&journal, "example.invalid:443");
    let https = text(&out, "GuzzleHttps");
    assert!(
        https.contains("CONNECT tunnel failed, response 403"),
        "{https}"
    );
    let http = text(&out, "CosHttp");
    assert!(
        http.contains("403 Forbidden") && http.contains("vod-emulator: refusing to proxy"),
        "{http}"
    );
    let fopen = text(&out, "Fopen");
    assert!(fopen.contains("allow_url_fopen=0"), "{fopen}");
    let tls = text(&out, "TlsSocket");
    assert!(tls.contains("certificate verify failed"), "{tls}");
    assert!(
        stranger.journal().all().is_empty(),
        "the failed handshake must not reach the other emulator's service"
    );
}
