//! The `vod-emulator events` tools, black box: their flags and help, listing, triggering,
//! the live feed, and how a running emulator and an attached `tail` stop together.

use crate::common::api::Api;
use crate::common::exec::{emulator_command, spawn_ready};
use crate::common::upload;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test waits for a line or an exit it expects.
const PATIENCE: Duration = Duration::from_secs(30);

/// `vod-emulator events list` shows each event with its state; `trigger` adds a synthetic one.
#[tokio::test]
async fn events_cli_lists_and_triggers() {
    let emu = vod_emulator::Emulator::builder()
        .start()
        .await
        .expect("start");
    let done = upload(&emu.endpoint(), b"x", "cli").await;
    let endpoint = emu.endpoint();
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            emulator_command().args(args).env("NO_PROXY", "*").output()
        })
    };
    let list = |endpoint: String| {
        run(vec![
            "events".into(),
            "--endpoint".into(),
            endpoint,
            "--json".into(),
            "list".into(),
        ])
    };
    let out = list(endpoint.clone()).await.expect("join").expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(events_of(&out.stdout, &done.file_id), 1);
    let out = run(vec![
        "events".into(),
        "--endpoint".into(),
        endpoint.clone(),
        "trigger".into(),
        "NewFileUpload".into(),
        "--file-id".into(),
        done.file_id.clone(),
    ])
    .await
    .expect("join")
    .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = list(endpoint).await.expect("join").expect("run");
    assert_eq!(events_of(&out.stdout, &done.file_id), 2);
}

/// How many NewFileUpload events for `file_id` a `--json` listing (one object per line) has.
fn events_of(stdout: &[u8], file_id: &str) -> usize {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("one JSON object per line"))
        .filter(|e| e["eventType"] == "NewFileUpload" && e["fileId"] == file_id)
        .count()
}

/// `vod-emulator events tail` streams new events as they happen, with its flags after `tail`
/// as the README shows them.
#[tokio::test]
async fn events_tail_streams_new_events() {
    let emu = vod_emulator::Emulator::builder()
        .start()
        .await
        .expect("start");
    let tail = Tail::attach(&emu.endpoint()).await;
    let done = upload(&emu.endpoint(), b"t", "tail").await;
    let file_id = done.file_id.clone();
    let line = tail
        .until(move |v| {
            v["event"]["eventType"] == "NewFileUpload" && v["event"]["fileId"] == file_id
        })
        .await;
    assert_eq!(line["what"], "created", "{line}");
}

/// `events tail --help` shows the tail's own flags (`--endpoint`, `--json`), not the server's;
/// a server flag given to `events` is a usage error.
#[test]
fn events_help_is_short_and_server_flags_are_refused() {
    let help = emulator_command()
        .args(["events", "tail", "--help"])
        .output()
        .expect("run help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{help:?}");
    assert!(
        text.contains("--endpoint") && text.contains("--json"),
        "{text}"
    );
    assert!(!text.contains("--data-dir"), "{text}");
    assert!(text.lines().count() < 30, "{text}");
    let refused = emulator_command()
        .args(["events", "list", "--port", "9300"])
        .output()
        .expect("run list");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--port"),
        "{refused:?}"
    );
}

/// `events list | head -1`: output into a pipe closed early ends quietly with status 0.
#[tokio::test]
async fn events_list_into_a_closed_pipe_ends_quietly() {
    let emu = vod_emulator::Emulator::builder()
        .start()
        .await
        .expect("start");
    trigger(&emu.endpoint()).await;
    let endpoint = emu.endpoint();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = emulator_command()
            .args(["events", "list", "--endpoint", &endpoint])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn list");
        drop(child.stdout.take());
        child.wait_with_output().expect("wait")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// The feed reports ConfirmEvents as `confirmed`, as `events list` shows the event.
#[tokio::test]
async fn events_tail_reports_confirmations() {
    let emu = vod_emulator::Emulator::builder()
        .start()
        .await
        .expect("start");
    let tail = Tail::attach(&emu.endpoint()).await;
    let done = upload(&emu.endpoint(), b"c", "confirm").await;
    let api = Api::new(&emu);
    let pulled = Api::ok(api.vod("PullEvents", json!({})).await);
    let handles: Vec<&serde_json::Value> = pulled["EventSet"]
        .as_array()
        .expect("EventSet")
        .iter()
        .map(|e| &e["EventHandle"])
        .collect();
    Api::ok(
        api.vod("ConfirmEvents", json!({ "EventHandles": handles }))
            .await,
    );
    let line = tail
        .until(move |v| v["what"] == "confirmed" && v["event"]["fileId"] == done.file_id)
        .await;
    assert_eq!(line["event"]["state"], "confirmed", "{line}");
}

/// SIGINT stops an emulator at once though `events tail` is attached: the feed ends (and the
/// tail with it) instead of holding up the drain of in-flight requests.
#[tokio::test]
async fn sigint_stops_the_emulator_at_once_with_a_tail_attached() {
    let (mut emu, endpoint) = tokio::task::spawn_blocking(|| spawn_ready(&["--port", "0"]))
        .await
        .expect("join");
    let mut tail = Tail::attach(&endpoint).await;
    let started = Instant::now();
    signal("INT", &emu.0);
    let stopped = tokio::task::spawn_blocking(move || {
        let emulator = exit_within(&mut emu.0, PATIENCE);
        let took = started.elapsed();
        (emulator, took, exit_within(&mut tail.child, PATIENCE))
    });
    let (emulator, took, tail) = stopped.await.expect("join");
    assert!(emulator.expect("the emulator stops").success());
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(tail.expect("the tail stops").success());
}

/// A second SIGINT stops the emulator without waiting for the drain (here a request whose
/// body never comes), with status 130.
#[tokio::test]
async fn a_second_sigint_stops_without_draining() {
    let mut emu = emulator_command()
        .args(["--port", "0", "--auth", "none", "--client-timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let ready = emu.stdout.take().expect("stdout");
    let endpoint = vod_testkit::wait_ready(ready, Duration::from_secs(20)).expect("ready line");
    let endpoint = endpoint.trim_start_matches("http://").to_owned();
    let stderr = lines_of(emu.stderr.take().expect("stderr"));
    let mut stalled = std::net::TcpStream::connect(&endpoint).expect("connect");
    stalled
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-TC-Action: ApplyUpload\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .expect("write");
    // Answered after the stalled request was accepted: by then it is in flight.
    let health = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("http://{endpoint}/_emulator/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let started = Instant::now();
    let stopped = tokio::task::spawn_blocking(move || {
        signal("INT", &emu);
        let draining = (0..)
            .map_while(|_| stderr.recv_timeout(PATIENCE).ok())
            .any(|line| line.contains("shutting down"));
        signal("INT", &emu);
        let status = exit_within(&mut emu, PATIENCE);
        (draining, status, started.elapsed(), stderr)
    });
    let (draining, status, took, _stderr) = stopped.await.expect("join");
    assert!(draining, "no shutting-down line");
    assert_eq!(status.expect("the emulator stops").code(), Some(130));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    drop(stalled);
}

/// Waits up to `limit` for `child` to exit; kills it and answers `None` if it does not.
fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Sends `SIG<name>` to `child`.
fn signal(name: &str, child: &Child) {
    let sent = std::process::Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// The lines `stream` yields, as they come (read on a thread of their own).
fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A synthetic NewFileUpload event through the admin API.
async fn trigger(endpoint: &str) {
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!(
            "{endpoint}/_emulator/events/trigger?type=NewFileUpload&fileId=probe"
        ))
        .send()
        .await
        .expect("trigger");
    assert_eq!(resp.status(), 200);
}

/// `vod-emulator events tail --json` attached to an emulator, its lines parsed.
struct Tail {
    child: Child,
    lines: Option<mpsc::Receiver<String>>,
}

impl Tail {
    /// Starts a tail and returns once it shows an event (triggered until it does).
    async fn attach(endpoint: &str) -> Self {
        let mut child = emulator_command()
            .args(["events", "tail", "--json", "--endpoint", endpoint])
            .env("NO_PROXY", "*")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tail");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let mut tail = Self {
            child,
            lines: Some(lines),
        };
        for _ in 0..100 {
            trigger(endpoint).await;
            let rx = tail.lines.take().expect("lines");
            let (rx, seen) = tokio::task::spawn_blocking(move || {
                let seen = rx.recv_timeout(Duration::from_millis(200)).is_ok();
                (rx, seen)
            })
            .await
            .expect("join");
            tail.lines = Some(rx);
            if seen {
                return tail;
            }
        }
        panic!("the tail never showed an event");
    }

    /// The first feed line (JSON) that `wanted` accepts.
    async fn until(
        mut self,
        wanted: impl Fn(&serde_json::Value) -> bool + Send + 'static,
    ) -> serde_json::Value {
        let rx = self.lines.take().expect("lines");
        tokio::task::spawn_blocking(move || loop {
            let line = rx.recv_timeout(PATIENCE).expect("a matching feed line");
            let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
            if wanted(&value) {
                return value;
            }
        })
        .await
        .expect("join")
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
