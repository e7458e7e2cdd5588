//! The official Java SDKs' transport under `vod-emulator exec`: OkHttp configured as
//! tencentcloud-sdk-java 3.1.2 configures it (the VOD API calls) and Apache HttpClient as
//! cos_api 5.6.8 does (COS), reproduced from their source in `tests/sdk/java/` with Debian's
//! JDK and jars. The JVM reads no proxy or CA variable: `JAVA_TOOL_OPTIONS` carries the proxy
//! properties and the trust store the emulator writes (JKS, the emulator CA alone).
//!
//! The VOD calls need no code change; COS needs the one documented line (the `HttpProfile`
//! proxy read from `HTTPS_PROXY`), because Apache HttpClient ignores the proxy properties.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use vod_emulator::Emulator;

use crate::common::apt::{ensure, Runtime};
use crate::common::exec::{assert_connect_refused, run_under_exec};
use crate::common::install::{compiled, run};
use crate::common::python::write_test_media;
use crate::common::{assert_uploaded, text};

static JAVA: Runtime = Runtime {
    name: "the JDK, OkHttp and Apache HttpClient",
    packages: &[
        "openjdk-17-jdk-headless",
        "libokhttp-java",
        "libhttpclient-java",
    ],
    check: &["javac", "-version"],
};

/// Debian's jars the program compiles and runs against.
const JARS: [&str; 5] = [
    "/usr/share/java/okhttp.jar",
    "/usr/share/java/okio.jar",
    "/usr/share/java/httpclient.jar",
    "/usr/share/java/httpcore.jar",
    "/usr/share/java/commons-logging.jar",
];

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/java/SdkTransport.java")
}

/// The class path: the compiled program (once per source and JDK, under
/// `CARGO_TARGET_TMPDIR`) and the jars.
async fn class_path() -> String {
    static BUILT: OnceLock<Result<String, String>> = OnceLock::new();
    ensure(&JAVA).await;
    tokio::task::spawn_blocking(|| {
        BUILT
            .get_or_init(|| {
                let jars = JARS.join(":");
                let dir = compiled(
                    "sdk-java",
                    &source(),
                    Command::new("javac").arg("-version"),
                    |d| d.join("SdkTransport.class").is_file(),
                    |d| {
                        run(
                            Command::new("javac")
                                .arg("-d")
                                .arg(d)
                                .args(["-cp", &jars])
                                .arg(source()),
                            "javac",
                        )
                        .map(drop)
                    },
                )?;
                Ok(format!("{}:{jars}", dir.display()))
            })
            .clone()
    })
    .await
    .expect("compiling the Java program panicked")
    .unwrap_or_else(|message| panic!("cannot build the Java SDK transport: {message}"))
}

/// ApplyUpload and CommitUpload through OkHttp with no proxy or trust code (the JVM's
/// properties from `exec`), PutObject through the COS client's HttpClient with its profile's
/// proxy, under `--strict`; the MediaUrl (loopback, not proxied) serves the bytes back.
#[tokio::test]
async fn java_sdk_transport_uploads_under_exec() {
    let class_path = class_path().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, bytes) = write_test_media(dir.path(), "clip.mp4", 110 * 1024, 81);
    let out = run_under_exec(
        &dir.path().join("ca"),
        &["--strict"],
        "java",
        &[
            "-cp".as_ref(),
            class_path.as_ref(),
            "SdkTransport".as_ref(),
            "upload".as_ref(),
            file.as_os_str(),
        ],
        &[],
    )
    .await;
    assert_uploaded(&out, &bytes);
}

/// Under `exec`, the JVM's default trust holds the emulator CA alone; OkHttp, HttpURLConnection
/// and the COS client (with its profile's proxy) asking for another host get the proxy's 403,
/// journaled; a loopback server with another CA fails PKIX validation, for HttpURLConnection
/// and for an HttpClient without a proxy alike.
#[tokio::test]
async fn java_under_exec_trusts_only_the_emulator_and_reaches_no_other_host() {
    let class_path = class_path().await;
    let stranger = Emulator::builder().start().await.expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.jsonl");
    let journal_flag = journal.display().to_string();
    let port = stranger.addr().port().to_string();
    let out = run_under_exec(
        &dir.path().join("ca"),
        &["--journal", &journal_flag],
        "java",
        &["-cp", &class_path, "SdkTransport", "contain", &port],
        &[],
    )
    .await;
    let roots = out["Roots"].as_array().expect("Roots");
    assert_eq!(roots.len(), 1, "{out:#}");
    assert!(
        roots[0]
            .as_str()
            .is_some_and(|r| r.contains("vod-emulator")),
        "{out:#}"
    );
    let okhttp = text(&out, "OkHttp");
    assert!(
        okhttp.contains("Unexpected response code for CONNECT: 403"),
        "{okhttp}"
    );
    let url = text(&out, "UrlConnection");
    assert!(url.contains("403 Forbidden"), "{url}");
    assert_eq!(text(&out, "CosWithProfile"), "returned 403", "{out:#}");
    for field in ["OtherCa", "CosOtherCa"] {
        let other = text(&out, field);
        assert!(
            other.contains("SSLHandshakeException") && other.contains("PKIX"),
            "{field}: {other}"
        );
    }
    assert_connect_refused(&journal, "example.invalid:443");
}
