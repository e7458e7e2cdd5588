//! Push callbacks: every NewFileUpload reaches the application's NotificationUrl, signed with
//! its SignKey, and a callback the application failed to take is tried again.

use crate::properties::round_trip::upload_generated;
use crate::runner::{check, expect_eq, Ctx, Failure};
use md5::{Digest, Md5};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vod_client::wire::events::{ModifyEventConfigRequest, PushBody};
use vod_client::wire::media::EmptyResponse;
use vod_client::UploadOptions;

/// Emulator time the property lets pass, in steps, for a retried push to come due.
const CLOCK_STEP_MS: i64 = 5_000;
/// Steps before the property gives a push up as never delivered.
const MAX_STEPS: u32 = 120;

/// One callback the receiver got, with the status it answered.
#[derive(Debug, Clone)]
struct Received {
    body: Vec<u8>,
    status: u16,
}

/// A callback receiver on loopback: answers 500 to the first `fail_first[path]` calls on a
/// path, 200 after that, and keeps every body.
#[derive(Debug, Clone, Default)]
struct Receiver {
    fail_first: Arc<Mutex<HashMap<String, u32>>>,
    received: Arc<Mutex<HashMap<String, Vec<Received>>>>,
}

impl Receiver {
    async fn start(&self) -> Result<String, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("callback receiver: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let this = self.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(this.clone().serve(sock));
            }
        });
        Ok(format!("http://{addr}"))
    }

    /// Reads one request (head, then `Content-Length` bytes), answers, closes.
    async fn serve(self, mut sock: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let (path, body) = loop {
            let Ok(n) = sock.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(request) = complete_request(&buf) {
                break request;
            }
        };
        let status = {
            let Ok(mut fail_first) = self.fail_first.lock() else {
                return;
            };
            match fail_first.get_mut(&path) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    500
                }
                _ => 200,
            }
        };
        if let Ok(mut received) = self.received.lock() {
            received
                .entry(path)
                .or_default()
                .push(Received { body, status });
        }
        let answer =
            format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = sock.write_all(answer.as_bytes()).await;
    }

    fn received(&self, path: &str) -> Vec<Received> {
        self.received
            .lock()
            .map(|r| r.get(path).cloned().unwrap_or_default())
            .unwrap_or_default()
    }
}

/// The path and body of a complete request in `buf`, once it is all there.
fn complete_request(buf: &[u8]) -> Option<(String, Vec<u8>)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let path = head.split(' ').nth(1)?.to_owned();
    let len: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let body = buf.get(end + 4..end + 4 + len)?;
    Some((path, body.to_vec()))
}

/// One upload whose callback is watched.
#[derive(Debug, Clone)]
pub struct PushCase {
    app: u64,
    sign_key: String,
    fail_first: u32,
    size: u64,
}

fn push_cases() -> impl Strategy<Value = PushCase> {
    (1u64..1_000_000, "[A-Za-z0-9]{1,32}", 0u32..=2, 0u64..3000).prop_map(
        |(app, sign_key, fail_first, size)| PushCase {
            app,
            sign_key,
            fail_first,
            size,
        },
    )
}

/// The `pushes_are_signed_and_retried` property (needs a receiver the endpoint can reach and
/// the emulator's clock to bring retries due).
pub fn pushes_are_signed_and_retried(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    let receiver = Receiver::default();
    let base = ctx.block_on(receiver.start()).map_err(|message| Failure {
        message,
        minimal_case: String::new(),
    })?;
    check(runner, push_cases(), |case| {
        ctx.block_on(push_case(ctx, &receiver, &base, &case))
    })
}

async fn push_case(
    ctx: &Ctx<'_>,
    receiver: &Receiver,
    base: &str,
    case: &PushCase,
) -> Result<(), String> {
    let admin = ctx.target.admin().ok_or("needs the emulator's clock")?;
    let sub_app_id = 1_700_000_000 + case.app;
    let path = format!("/callback/{sub_app_id}/{}", case.fail_first);
    if let Ok(mut fail_first) = receiver.fail_first.lock() {
        fail_first.insert(path.clone(), case.fail_first);
    }
    let vod = ctx.target.vod().map_err(|e| e.to_string())?;
    let _: EmptyResponse = vod
        .call(
            "ModifyEventConfig",
            &ModifyEventConfigRequest {
                sub_app_id: Some(sub_app_id),
                mode: Some("PUSH".into()),
                notification_url: Some(format!("{base}{path}")),
                upload_media_complete_event_switch: Some("ON".into()),
                sign_key: Some(case.sign_key.clone()),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("ModifyEventConfig: {e}"))?;
    let options = UploadOptions {
        sub_app_id: Some(sub_app_id),
        ..UploadOptions::default()
    };
    let done = upload_generated(ctx, case.size, case.app, options).await?;

    let mut steps = 0;
    let calls = loop {
        let calls = receiver.received(&path);
        if calls.iter().any(|c| c.status == 200) {
            break calls;
        }
        steps += 1;
        if steps > MAX_STEPS {
            return Err(format!(
                "no callback for {} was taken after {} s of emulator time ({} tries answered 500)",
                done.file_id,
                i64::from(MAX_STEPS) * CLOCK_STEP_MS / 1000,
                calls.len()
            ));
        }
        admin.advance_ms(CLOCK_STEP_MS).await?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    expect_eq(
        "tries before the callback was taken (the receiver refused that many)",
        case.fail_first as usize + 1,
        calls.len(),
    )?;
    for (try_no, call) in calls.iter().enumerate() {
        let push: PushBody = serde_json::from_slice(&call.body)
            .map_err(|e| format!("callback {try_no}: not a v3 push body: {e}"))?;
        expect_eq(
            "EventType",
            "NewFileUpload",
            push.content.event_type.as_str(),
        )?;
        expect_eq(
            "FileId of the callback",
            Some(done.file_id.as_str()),
            push.content.file_id(),
        )?;
        let t = push.t.ok_or(format!("callback {try_no} has no T"))?;
        let expected = hex::encode(Md5::digest(format!("{}{t}", case.sign_key).as_bytes()));
        expect_eq(
            &format!("Sign of callback {try_no} (md5(SignKey + T))"),
            Some(expected.as_str()),
            push.sign.as_deref(),
        )?;
    }
    Ok(())
}
