//! Zero-code redirection: unmodified example programs (`examples/python`, `examples/node`) run
//! under `vod-emulator exec` with the official SDKs and reach the emulator through its CONNECT
//! proxy and local CA; the proxy refuses every other destination and never dials out; `env`
//! and `ca` print the same settings.
//!
//! The programs use fixed emulator credentials only through `exec`'s environment: run with real
//! keys and no emulator, they talk to Tencent Cloud. That they succeed here with the emulator's
//! made-up key pair is itself proof that every request they made reached the emulator.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vod_emulator::Emulator;

use crate::common::exec::{example, run_under_exec, BIN};
use crate::common::node::node_modules;
use crate::common::python::{tccli_venv, venv_python, write_test_media};

/// Flags for `exec` that keep event round trips short (the real PullEvents waits 5 s).
const QUICK_EVENTS: [&str; 3] = ["--pull-wait", "0.3", STRICT];

/// The SDK examples run with `--strict`: every header and parameter the official SDKs send
/// must be accepted, not only tolerated.
const STRICT: &str = "--strict";

fn str_field<'a>(out: &'a Value, field: &str) -> &'a str {
    out[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {out:#}"))
}

/// What every upload-with-cover example must report: a FileId, loopback media URLs, its own
/// NewFileUpload event read back, and downloads identical to the files.
fn assert_uploaded_with_event(out: &Value) {
    let file_id = str_field(out, "FileId");
    assert!(
        file_id.len() == 19 && file_id.bytes().all(|b| b.is_ascii_digit()),
        "FileId {file_id:?} in {out:#}"
    );
    let media_url = str_field(out, "MediaUrl");
    assert!(
        media_url.starts_with("http://127.0.0.1:"),
        "MediaUrl {media_url} is not the emulator's"
    );
    assert_eq!(out["EventType"], "NewFileUpload", "{out:#}");
    assert_eq!(out["EventMediaUrl"], media_url, "{out:#}");
    assert_eq!(out["MediaBytesMatch"], true, "{out:#}");
    assert_eq!(out["CoverBytesMatch"], true, "{out:#}");
}

/// vod-python-sdk uploads a video with a cover, tencentcloud-sdk-python-vod pulls and confirms
/// its NewFileUpload, and the bytes come back identical — from an unmodified program.
#[tokio::test]
async fn python_example_uploads_with_cover_and_reads_the_event_under_exec() {
    let python = venv_python().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, _) = write_test_media(dir.path(), "clip.mp4", 300 * 1024, 41);
    let (cover, _) = write_test_media(dir.path(), "poster.jpg", 7_001, 42);
    let out = run_under_exec(
        &dir.path().join("ca"),
        &QUICK_EVENTS,
        &python,
        &[example("python", "upload_with_cover.py"), media, cover],
        &[],
    )
    .await;
    assert_uploaded_with_event(&out);
    assert_eq!(out["SegmentsMatch"], serde_json::json!({}));
}

/// The same program with an HLS playlist: ParseStreamingManifest, the playlist and both
/// segments (one in a subdirectory) go up through the proxy and are served back.
#[tokio::test]
async fn python_example_uploads_an_m3u8_with_cover_under_exec() {
    let python = venv_python().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("seg")).expect("mkdir");
    write_test_media(dir.path(), "seg/a.ts", 3_000, 43);
    write_test_media(dir.path(), "b.ts", 2_000, 44);
    let (cover, _) = write_test_media(dir.path(), "poster.png", 900, 45);
    let m3u8 = dir.path().join("play.m3u8");
    std::fs::write(
        &m3u8,
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:9.0,\nseg/a.ts\n#EXTINF:9.0,\nb.ts\n#EXT-X-ENDLIST\n",
    )
    .expect("write m3u8");
    let out = run_under_exec(
        &dir.path().join("ca"),
        &QUICK_EVENTS,
        &python,
        &[example("python", "upload_with_cover.py"), m3u8, cover],
        &[],
    )
    .await;
    assert_uploaded_with_event(&out);
    assert_eq!(
        out["SegmentsMatch"],
        serde_json::json!({"seg/a.ts": true, "b.ts": true})
    );
}

/// cos-python-sdk-v5 `upload_file` (a 3-part multipart upload) and `get_object`, unmodified,
/// with the account's own keys, against the bucket named in COS_BUCKET.
#[tokio::test]
async fn python_cos_example_uploads_and_gets_under_exec() {
    let python = venv_python().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, bytes) = write_test_media(dir.path(), "big.bin", 2 * 1024 * 1024 + 5, 46);
    let out = run_under_exec(
        &dir.path().join("ca"),
        &[STRICT],
        &python,
        &[
            example("python", "cos_upload_and_get.py").into_os_string(),
            file.into_os_string(),
            "dir/big.bin".into(),
        ],
        &[("COS_BUCKET", "vod-ap-guangzhou-1250000000")],
    )
    .await;
    assert_eq!(out["BytesMatch"], true, "{out:#}");
    assert_eq!(out["Size"], bytes.len(), "{out:#}");
    let etag = str_field(&out, "ETag");
    assert!(etag.ends_with("-3\""), "not a 3-part ETag: {etag}");
}

/// tccli, unmodified (its own `bin/tccli`), calls ApplyUpload and DescribeMediaInfos through
/// the proxy with the emulator's keys from the environment; the second call sees the FileId
/// the first allocated as not (yet) existing media.
#[tokio::test]
async fn tccli_calls_the_vod_api_under_exec() {
    let venv = tccli_venv().await;
    let home = tempfile::tempdir().expect("tempdir");
    let home_path = home.path().display().to_string();
    let tccli = |args: &'static [&'static str]| {
        let venv = venv.clone();
        let ca = home.path().join("ca");
        let home_path = home_path.clone();
        async move {
            let mut argv = vec![venv.join("bin/tccli").into_os_string()];
            argv.extend(args.iter().map(Into::into));
            // tccli writes ~/.tccli/default.configure on first use: keep it in the temp dir.
            run_under_exec(
                &ca,
                &[STRICT],
                venv.join("bin/python"),
                &argv,
                &[("HOME", &home_path)],
            )
            .await
        }
    };
    let applied = tccli(&[
        "vod",
        "ApplyUpload",
        "--MediaType",
        "mp4",
        "--MediaName",
        "clip",
    ])
    .await;
    assert_eq!(
        applied["StorageBucket"], "vod-ap-guangzhou-1250000000",
        "{applied:#}"
    );
    assert!(!str_field(&applied, "VodSessionKey").is_empty());
    assert!(!str_field(&applied["TempCertificate"], "Token").is_empty());
    let described = tccli(&["vod", "DescribeMediaInfos", "--FileIds", r#"["1"]"#]).await;
    assert_eq!(
        described["NotExistFileIdSet"],
        serde_json::json!(["1"]),
        "{described:#}"
    );
}

/// vod-node-sdk uploads a video with a cover (its tencentcloud-sdk-nodejs 3.x signs the
/// legacy way), tencentcloud-sdk-nodejs-vod pulls and confirms the event, and the bytes come
/// back identical — from an unmodified program.
#[tokio::test]
async fn node_example_uploads_with_cover_and_reads_the_event_under_exec() {
    let modules = node_modules().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (media, _) = write_test_media(dir.path(), "clip.mp4", 300 * 1024, 51);
    let (cover, _) = write_test_media(dir.path(), "poster.jpg", 6_003, 52);
    let node_path = modules.display().to_string();
    let out = run_under_exec(
        &dir.path().join("ca"),
        &QUICK_EVENTS,
        "node",
        &[example("node", "upload_with_cover.js"), media, cover],
        &[("NODE_PATH", &node_path)],
    )
    .await;
    assert_uploaded_with_event(&out);
}

/// cos-nodejs-sdk-v5 `uploadFile` (sliced: 3 parts) and `getObject`, unmodified.
#[tokio::test]
async fn node_cos_example_uploads_and_gets_under_exec() {
    let modules = node_modules().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, bytes) = write_test_media(dir.path(), "big.bin", 2 * 1024 * 1024 + 9, 53);
    let node_path = modules.display().to_string();
    let out = run_under_exec(
        &dir.path().join("ca"),
        &[STRICT],
        "node",
        &[
            example("node", "cos_upload_and_get.js").into_os_string(),
            file.into_os_string(),
            "dir/big.bin".into(),
        ],
        &[
            ("NODE_PATH", &node_path),
            ("COS_BUCKET", "vod-ap-guangzhou-1250000000"),
        ],
    )
    .await;
    assert_eq!(out["BytesMatch"], true, "{out:#}");
    assert_eq!(out["Size"], bytes.len(), "{out:#}");
    let etag = str_field(&out, "ETag");
    assert!(etag.ends_with("-3\""), "not a 3-part ETag: {etag}");
}

/// Sends `request` on a fresh connection and returns everything the emulator answered before
/// closing.
async fn exchange(emu: &Emulator, request: &str) -> String {
    let mut stream = TcpStream::connect(emu.addr()).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    answer
}

/// The proxy answers 403 to a CONNECT anywhere but the emulated hosts on 443 and to a plain
/// proxied request for a foreign host, journals each, and never opens a connection: a listener standing
/// in for the destination (on loopback, so a dial would reach it) is never contacted. A CONNECT
/// to vod.tencentcloudapi.com is served by the emulator itself, with its CA's certificate.
#[tokio::test]
async fn proxy_refuses_other_destinations_and_never_dials() {
    let emu = Emulator::builder().start().await.expect("start");
    let bait = std::net::TcpListener::bind("127.0.0.1:0").expect("bind bait");
    bait.set_nonblocking(true).expect("nonblocking");
    let bait_port = bait.local_addr().expect("addr").port();
    let requests = [
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_owned(),
        format!("CONNECT 127.0.0.1:{bait_port} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
        "CONNECT vod.tencentcloudapi.com:80 HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
        "CONNECT vod.tencentcloudapi.com.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
        "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
            .to_owned(),
    ];
    for request in &requests {
        let answer = exchange(&emu, request).await;
        assert!(
            answer.starts_with("HTTP/1.1 403"),
            "{request:?} was answered {answer:?}"
        );
        assert!(
            answer.contains("nothing leaves this machine"),
            "no explanation in {answer:?}"
        );
    }
    match bait.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the proxy dialled a refused destination: {other:?}"),
    }
    let journaled: Vec<_> = emu
        .journal()
        .all()
        .into_iter()
        .map(|e| (e.method, e.path, e.status))
        .collect();
    let refused = |target: &str| ("CONNECT".to_owned(), target.to_owned(), Some(403));
    assert_eq!(
        journaled,
        [
            refused("example.com:443"),
            refused(&format!("127.0.0.1:{bait_port}")),
            refused("vod.tencentcloudapi.com:80"),
            refused("vod.tencentcloudapi.com.example.com:443"),
            ("GET".to_owned(), "/".to_owned(), Some(403)),
        ],
        "every refused CONNECT and the refused plain proxied request are journaled"
    );

    let ca = std::fs::read(emu.ca_cert_path()).expect("read ca.pem");
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::https(emu.endpoint()).expect("proxy"))
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("ca"))
        .build()
        .expect("client");
    let body = client
        .get("https://vod.tencentcloudapi.com/_emulator/health")
        .send()
        .await
        .expect("tunnelled request")
        .bytes()
        .await
        .expect("body");
    let health: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["endpoint"], emu.endpoint());
}

/// `https://127.0.0.1:PORT` works too: the port speaks TLS when the first byte is a handshake.
#[tokio::test]
async fn port_serves_tls_directly_with_the_local_ca() {
    let emu = Emulator::builder().start().await.expect("start");
    let ca = std::fs::read(emu.ca_cert_path()).expect("read ca.pem");
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("ca"))
        .build()
        .expect("client");
    let url = format!("https://127.0.0.1:{}/_emulator/health", emu.addr().port());
    let status = client.get(&url).send().await.expect("https").status();
    assert_eq!(status, 200);
    let plain = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let status = plain
        .get(format!("{}/_emulator/health", emu.endpoint()))
        .send()
        .await
        .expect("http")
        .status();
    assert_eq!(status, 200, "plain HTTP still works on the same port");
}

fn run_cli(args: &[&str], ca_dir: &Path) -> String {
    let output = Command::new(BIN)
        .args(args)
        .arg("--ca-dir")
        .arg(ca_dir)
        .env_remove("VOD_EMULATOR_LISTEN_PORT")
        .env_remove("PYTHONPATH")
        .output()
        .expect("run vod-emulator");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

/// `vod-emulator ca` creates the CA once and prints its path; `env` prints the proxy, trust and
/// shim settings for each shell, and a POSIX shell that evals them sees them.
#[test]
fn env_and_ca_print_the_redirection_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_dir = dir.path().join("conf");
    let ca = run_cli(&["ca"], &ca_dir);
    let ca_path = ca_dir.join("ca.pem");
    assert_eq!(ca.trim(), ca_path.display().to_string());
    let first = std::fs::read(&ca_path).expect("ca.pem");
    assert_eq!(run_cli(&["ca"], &ca_dir), ca, "a second call keeps the CA");
    assert_eq!(std::fs::read(&ca_path).expect("ca.pem"), first);

    let sh = run_cli(&["env", "--port", "4242"], &ca_dir);
    assert!(
        sh.contains("export HTTPS_PROXY='http://127.0.0.1:4242'\n"),
        "{sh}"
    );
    assert!(
        sh.contains(&format!(
            "export NODE_EXTRA_CA_CERTS='{}'\n",
            ca_path.display()
        )),
        "{sh}"
    );
    let fish = run_cli(&["env", "--port", "4242", "--shell", "fish"], &ca_dir);
    assert!(
        fish.contains("set -gx http_proxy 'http://127.0.0.1:4242';\n"),
        "{fish}"
    );
    let ps = run_cli(&["env", "--port", "4242", "--shell", "powershell"], &ca_dir);
    assert!(ps.contains("$env:REQUESTS_CA_BUNDLE = '"), "{ps}");

    let script = format!(
        "eval \"$('{BIN}' env --port 4242 --ca-dir '{}')\" && printf '%s|%s|%s' \"$HTTPS_PROXY\" \"$PYTHONPATH\" \"$TENCENTCLOUD_REGION\"",
        ca_dir.display()
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .env_remove("PYTHONPATH")
        .env_remove("VOD_EMULATOR_LISTEN_PORT")
        .output()
        .expect("sh");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!(
            "http://127.0.0.1:4242|{}|ap-guangzhou",
            ca_dir.join("python").display()
        )
    );
    assert!(ca_dir.join("python/sitecustomize.py").is_file());
}
