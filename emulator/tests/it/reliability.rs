//! Reliability: containment of hostile keys, start-up clean-up, limits on slow and oversized
//! requests, load without leaks, and crash safety under random `kill -9`.

use crate::common::api::{bytes, key_of, Api, CosCreds};
use crate::common::exec::{spawn_ready, Killed};
use reqwest::Method;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vod_emulator::Emulator;

fn bucket(api: &Api) -> String {
    format!("vod-ap-guangzhou-{}", api.app_id)
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .expect("under dir")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    out
}

/// Keys with `..`, leading slashes, DEL and tab and odd unicode are stored and served as keys,
/// and no file is ever created outside the data directory or named after a key (keys holding
/// NUL are refused: `keys_xml_cannot_carry_are_refused_and_every_answer_stays_well_formed`).
#[tokio::test]
async fn hostile_keys_never_escape_the_data_dir() {
    let outer = tempfile::tempdir().expect("tempdir");
    let data = outer.path().join("data");
    let emu = Emulator::builder()
        .data_dir(&data)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let owner = api.owner();
    let b = bucket(&api);
    let keys = [
        "../../escape.txt",
        "a/../../b",
        "/abs/path",
        "del\u{7f}\tbyte",
        "名字/🎬 .mp4",
        "./.",
        "a\\..\\b",
        "../",
    ];
    for (i, key) in keys.iter().enumerate() {
        let body = bytes(100 + i, i as u64);
        let put = api
            .cos(&owner, Method::PUT, &b, key, &[], &[], body.clone())
            .await;
        assert_eq!(
            put.status,
            200,
            "PUT {key:?}: {}",
            String::from_utf8_lossy(&put.body)
        );
        let get = api
            .cos(&owner, Method::GET, &b, key, &[], &[], vec![])
            .await;
        assert_eq!(get.body, body, "GET {key:?}");
    }
    let outside: Vec<_> = std::fs::read_dir(outer.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        outside,
        vec!["data".to_owned()],
        "nothing was written beside the data dir"
    );
    for file in files_under(&data) {
        let ok = file.starts_with("meta.sqlite3")
            || file.starts_with("ca/")
            || file
                .strip_prefix("blobs/")
                .is_some_and(|n| n.len() == 32 && n.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(ok, "unexpected file {file} in the data dir");
    }
}

/// A blob whose metadata never got committed (a write interrupted by a crash) is removed at
/// start-up; stored objects are untouched.
#[tokio::test]
async fn orphan_blobs_are_collected_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let b = bucket(&api);
    api.cos(
        &api.owner(),
        Method::PUT,
        &b,
        "kept",
        &[],
        &[],
        b"kept".to_vec(),
    )
    .await;
    emu.shutdown().await;
    let orphan = dir
        .path()
        .join("blobs")
        .join("0123456789abcdef0123456789abcdef");
    std::fs::write(&orphan, b"half a write").expect("orphan");
    let emu = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .expect("restart");
    assert!(!orphan.exists(), "the orphan was collected");
    let api = Api::new(&emu);
    let get = api
        .cos(&api.owner(), Method::GET, &b, "kept", &[], &[], vec![])
        .await;
    assert_eq!(get.body, b"kept");
}

async fn raw(emu: &Emulator, request: &[u8], pause_then_read: bool) -> String {
    let mut sock = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    let _ = sock.write_all(request).await;
    let mut out = Vec::new();
    let wait = if pause_then_read { 10 } else { 5 };
    let _ = tokio::time::timeout(Duration::from_secs(wait), sock.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A request head over the limit is refused with 431, not buffered.
#[tokio::test]
async fn oversized_headers_are_refused() {
    let emu = Emulator::builder().start().await.expect("start");
    let huge = "x".repeat(70 * 1024);
    let req = format!("GET /_emulator/health HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n");
    let answer = raw(&emu, req.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.80}");
}

/// A request with more than 100 header fields is refused with 431; one with exactly 100 is
/// served.
#[tokio::test]
async fn more_than_a_hundred_headers_are_refused() {
    let emu = Emulator::builder().start().await.expect("start");
    let request = |fields: usize| {
        let extra: String = (1..fields).map(|i| format!("X-H{i}: {i}\r\n")).collect();
        format!("GET /_emulator/health HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n")
    };
    let answer = raw(&emu, request(101).as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.80}");
    let answer = raw(&emu, request(99).as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.80}");
}

/// A client that stops sending its body is cut off with RequestTimeout; nothing is stored.
#[tokio::test]
async fn stalled_bodies_time_out() {
    let emu = Emulator::builder()
        .auth(vod_emulator::AuthMode::None)
        .client_timeout(Duration::from_millis(500))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let b = bucket(&api);
    let req = format!(
        "PUT /{b}/stalled HTTP/1.1\r\nHost: {}\r\nContent-Length: 100\r\n\r\n0123456789",
        api.host
    );
    let answer = raw(&emu, req.as_bytes(), true).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>RequestTimeout</Code>"), "{answer}");
    let head = api
        .cos(&api.owner(), Method::HEAD, &b, "stalled", &[], &[], vec![])
        .await;
    assert_eq!(head.status, 404);
}

/// Connections that go quiet are closed after `--client-timeout`: one that never sends a
/// request, and a kept-alive one after its last answer.
#[tokio::test]
async fn idle_connections_are_closed() {
    let emu = Emulator::builder()
        .client_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("start");
    let closed_within = |mut sock: tokio::net::TcpStream| async move {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut rest))
            .await
            .map(|read| read.map(|_| rest))
    };
    let silent = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    let rest = closed_within(silent).await;
    assert!(
        rest.as_ref()
            .is_ok_and(|r| r.as_ref().is_ok_and(Vec::is_empty)),
        "a silent connection stayed open or got bytes: {rest:?}"
    );
    let mut kept = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    kept.write_all(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let rest = closed_within(kept).await;
    let answer = rest
        .expect("a kept-alive idle connection was not closed")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A `--client-timeout` above 30 s holds before the protocol is known: a silent connection, a
/// stalled CONNECT head and a stalled TLS handshake are still open after 45 s and closed after
/// 60 s (on paused time: the test takes milliseconds).
#[tokio::test(start_paused = true)]
async fn long_client_timeouts_hold_for_silent_connections_connect_and_tls() {
    let emu = Emulator::builder()
        .client_timeout(Duration::from_secs(60))
        .start()
        .await
        .expect("start");
    let mut socks = Vec::new();
    for first in [
        &b""[..],
        b"CONNECT vod.tencentcloudapi.com:443 HTTP/1.1\r\n",
        &[0x16, 0x03, 0x01],
    ] {
        let mut sock = tokio::net::TcpStream::connect(emu.addr())
            .await
            .expect("connect");
        sock.write_all(first).await.expect("send");
        socks.push(sock);
    }
    tokio::time::sleep(Duration::from_secs(45)).await;
    // Real time for a close the emulator made at a virtual deadline to reach the socket.
    std::thread::sleep(Duration::from_millis(100));
    for (i, sock) in socks.iter().enumerate() {
        let mut byte = [0u8; 1];
        match sock.try_read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("connection {i} ended before the timeout: {other:?}"),
        }
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    for (i, mut sock) in socks.into_iter().enumerate() {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "connection {i} is still open after the timeout: {read:?}"
        );
    }
}

/// A body that trickles (one byte every 0.4 × `--client-timeout`, so no single wait reaches
/// the timeout) is cut off with RequestTimeout once it falls below the minimum rate, long
/// before it would have finished; nothing is stored.
#[tokio::test]
async fn trickling_bodies_are_cut_off() {
    let emu = Emulator::builder()
        .auth(vod_emulator::AuthMode::None)
        .client_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let b = bucket(&api);
    let mut sock = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    let head = format!(
        "PUT /{b}/trickle HTTP/1.1\r\nHost: {}\r\nContent-Length: 40\r\n\r\n",
        api.host
    );
    sock.write_all(head.as_bytes()).await.expect("head");
    let started = std::time::Instant::now();
    for _ in 0..40 {
        if sock.write_all(b"x").await.is_err() {
            break;
        }
        let mut probe = [0u8; 1];
        if tokio::time::timeout(Duration::from_millis(120), sock.peek(&mut probe))
            .await
            .is_ok()
        {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>RequestTimeout</Code>"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut after {:?}",
        started.elapsed()
    );
    let head = api
        .cos(&api.owner(), Method::HEAD, &b, "trickle", &[], &[], vec![])
        .await;
    assert_eq!(head.status, 404);
}

/// A VOD API call whose body stalls is answered (InvalidParameter) after `--client-timeout`
/// instead of holding the connection forever.
#[tokio::test]
async fn stalled_vod_bodies_time_out() {
    let emu = Emulator::builder()
        .client_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("start");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nX-TC-Action: ApplyUpload\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"MediaType\"",
        emu.addr()
    );
    let answer = raw(&emu, req.as_bytes(), false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("InvalidParameter"), "{answer}");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Set in the process that runs the leak check alone.
const ALONE: &str = "VOD_EMULATOR_TEST_ALONE";

/// 1,000 concurrent uploads of mixed sizes (simple and multipart) all succeed, and the open
/// files return to their baseline afterwards (no leaked connections or blob handles). Open
/// files are counted per process, so the check runs in a process of its own (this test
/// binary again, this test only): other tests' sockets cannot hide a leak or fake one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_uploads_complete_without_leaks() {
    const NAME: &str = "reliability::a_thousand_concurrent_uploads_complete_without_leaks";
    if std::env::var_os(ALONE).is_none() {
        let out = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", NAME, "--test-threads=1", "--nocapture"])
            .env(ALONE, "1")
            .output()
            .await
            .expect("run the check alone");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
        return;
    }
    let emu = Emulator::builder().start().await.expect("start");
    let baseline = open_fds();
    let api = Api::new(&emu);
    let flows = (0..1000u64).map(|i| {
        let size = match i % 100 {
            0 => 1024 * 1024 + 1 + i,
            n if n < 10 => 64 * 1024 + i,
            _ => 1 + (i * 37) % 8192,
        };
        api.try_upload(bytes(size as usize, i), 1024 * 1024)
    });
    let results = futures_util::future::join_all(flows).await;
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} failures, first: {:?}",
        failed.len(),
        failed.first()
    );
    drop(api);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while open_fds() > baseline + 8 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        open_fds() <= baseline + 8,
        "open files {} vs baseline {baseline}",
        open_fds()
    );
}

fn spawn(data_dir: &Path) -> (Killed, String) {
    let data_dir = data_dir.to_str().expect("utf-8 path");
    spawn_ready(&[
        "--port",
        "0",
        "--log",
        "error",
        "--pull-wait",
        "0.1",
        "--data-dir",
        data_dir,
    ])
}

/// What a crash-test worker achieved before the kill.
#[derive(Default)]
struct Progress {
    /// Committed uploads: FileId, MediaUrl, bytes.
    committed: Vec<(String, String, Vec<u8>)>,
    /// The object being written when the process died, with the bytes it was given.
    in_flight: Option<(String, Vec<u8>)>,
    /// The multipart upload (key, UploadId) initiated and not yet completed when it died.
    open_upload: Option<(String, String)>,
}

/// Uploads one small file after another, step by step (so the in-flight key is known), with
/// a multipart upload every few files, until the emulator dies.
async fn crash_worker(
    endpoint: String,
    seed: u64,
    commits: std::sync::Arc<tokio::sync::watch::Sender<usize>>,
) -> Progress {
    let api = Api::at(&endpoint);
    let mut progress = Progress::default();
    for i in 0..10_000u64 {
        let Ok(session) = api
            .try_vod("ApplyUpload", serde_json::json!({"MediaType": "mp4"}))
            .await
        else {
            break;
        };
        let creds = CosCreds::from_apply(&session);
        let bucket = session["StorageBucket"].as_str().expect("StorageBucket");
        let key = key_of(&session["MediaStoragePath"]);
        let multipart = i % 4 == 3;
        let data = bytes(
            if multipart {
                1024 * 1024 + 700
            } else {
                2000 + i as usize
            },
            seed + i,
        );
        progress.in_flight = Some((key.clone(), data.clone()));
        let stored = if multipart {
            let Ok(id) = api.try_initiate(&creds, bucket, &key).await else {
                break;
            };
            progress.open_upload = Some((key.clone(), id.clone()));
            api.try_parts(&creds, bucket, &key, &id, &data, 1024 * 1024)
                .await
        } else {
            api.try_cos(&creds, Method::PUT, bucket, &key, &[], data.clone())
                .await
                .map(drop)
        };
        if stored.is_err() {
            break;
        }
        progress.open_upload = None;
        let commit = api
            .try_vod(
                "CommitUpload",
                serde_json::json!({"VodSessionKey": session["VodSessionKey"]}),
            )
            .await;
        let Ok(done) = commit else { break };
        progress.in_flight = None;
        commits.send_modify(|n| *n += 1);
        let text = |name: &str| done[name].as_str().unwrap_or_default().to_owned();
        progress
            .committed
            .push((text("FileId"), text("MediaUrl"), data));
    }
    progress
}

/// Under `kill -9` at random moments during a stream of uploads (simple and multipart), after
/// each restart: every upload that got a CommitUpload answer is fully readable with its bytes
/// and its NewFileUpload is still deliverable; an object being written when the process died
/// is either absent or complete, never half-written; in-flight multipart uploads are listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_uploads_survive_random_kill_9() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut committed: Vec<(String, String, Vec<u8>)> = Vec::new();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for round in 0..4u64 {
        let data_dir = dir.path().to_path_buf();
        let (mut child, endpoint) = tokio::task::spawn_blocking(move || spawn(&data_dir))
            .await
            .expect("join");
        let commits = std::sync::Arc::new(tokio::sync::watch::channel(0usize).0);
        let mut committed_so_far = commits.subscribe();
        let workers: Vec<_> = (0..4u64)
            .map(|w| {
                tokio::spawn(crash_worker(
                    endpoint.clone(),
                    round * 1_000_000 + w * 100_000,
                    commits.clone(),
                ))
            })
            .collect();
        // Wait for a first answered commit, then kill at a random point of what follows.
        tokio::time::timeout(
            Duration::from_secs(60),
            committed_so_far.wait_for(|n| *n > 0),
        )
        .await
        .unwrap_or_else(|_| panic!("round {round}: no commit within 60 s"))
        .expect("workers hold the sender");
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..500))).await;
        child.kill();
        let mut fresh = Vec::new();
        let mut in_flight = Vec::new();
        let mut open_uploads = Vec::new();
        for w in workers {
            let p = w.await.expect("worker");
            fresh.extend(p.committed);
            in_flight.extend(p.in_flight);
            open_uploads.extend(p.open_upload);
        }

        let data_dir = dir.path().to_path_buf();
        let (mut child, endpoint) = tokio::task::spawn_blocking(move || spawn(&data_dir))
            .await
            .expect("join");
        committed.extend(fresh.iter().cloned());
        for (file_id, url, data) in &committed {
            let path = &url[url.find("/media/").expect("media path")..];
            let body = http
                .get(format!("{endpoint}{path}"))
                .send()
                .await
                .expect("GET")
                .bytes()
                .await
                .expect("body");
            assert!(
                body.as_ref() == data.as_slice(),
                "round {round}: {file_id} is not intact"
            );
        }
        let api = Api::at(&endpoint);
        let (owner, bucket) = (api.owner(), api.bucket());
        for (key, data) in &in_flight {
            let head = api
                .cos(&owner, Method::HEAD, &bucket, key, &[], &[], vec![])
                .await;
            if head.status == 404 {
                continue;
            }
            assert_eq!(head.status, 200, "round {round}: HEAD {key}");
            assert_eq!(
                head.header("content-length"),
                Some(data.len().to_string()),
                "round {round}: {key} is half-written"
            );
            let etag = head.header("etag").expect("ETag");
            if !etag.contains('-') {
                use md5::{Digest, Md5};
                assert_eq!(
                    etag.trim_matches('"'),
                    hex::encode(Md5::digest(data)),
                    "{key}"
                );
            }
        }
        let listing = api
            .cos(
                &owner,
                Method::GET,
                &bucket,
                "",
                &[("uploads", "")],
                &[],
                vec![],
            )
            .await;
        assert_eq!(listing.status, 200, "in-flight uploads are listable");
        let listing = String::from_utf8_lossy(&listing.body).into_owned();
        let listed: Vec<&str> = listing
            .split("<UploadId>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</UploadId>").map(|(id, _)| id))
            .collect();
        for (key, id) in &open_uploads {
            // Open when the process died: still listed, or completed just before (its
            // Complete answer lost with the process), never gone without its object.
            let completed = api
                .cos(&owner, Method::HEAD, &bucket, key, &[], &[], vec![])
                .await
                .status
                == 200;
            assert!(
                listed.contains(&id.as_str()) || completed,
                "round {round}: upload {id} of {key} was open at the kill and is neither listed nor complete"
            );
        }
        let mut delivered = std::collections::HashSet::new();
        while let Ok(page) = api.try_vod("PullEvents", serde_json::json!({})).await {
            let events = page["EventSet"].as_array().cloned().unwrap_or_default();
            delivered.extend(
                events
                    .iter()
                    .filter_map(|e| e["FileUploadEvent"]["FileId"].as_str().map(str::to_owned)),
            );
            let handles: Vec<&serde_json::Value> =
                events.iter().map(|e| &e["EventHandle"]).collect();
            api.try_vod(
                "ConfirmEvents",
                serde_json::json!({ "EventHandles": handles }),
            )
            .await
            .expect("confirm");
        }
        for (file_id, _, _) in &fresh {
            assert!(
                delivered.contains(file_id),
                "round {round}: the NewFileUpload of {file_id} was lost"
            );
        }
        child.kill();
    }
}
