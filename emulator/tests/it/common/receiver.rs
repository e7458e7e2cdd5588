//! A push-callback receiver on loopback, port 0, for the tests of push delivery.

use http_body_util::BodyExt;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use vod_emulator::{EventDefaults, EventMode};

/// A callback receiver that answers 500 to its first `fail_first` calls, then 200, and keeps
/// every body it received, noting for each whether the test had `mark`ed its side yet.
pub struct Receiver {
    pub url: String,
    bodies: Arc<Mutex<Vec<(Value, bool)>>>,
    marked: Arc<AtomicBool>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/callback", listener.local_addr().expect("addr"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let marked = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let kept = Arc::clone(&bodies);
        let seen = Arc::clone(&marked);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = Arc::clone(&kept);
                let calls = Arc::clone(&calls);
                let seen = Arc::clone(&seen);
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let kept = Arc::clone(&kept);
                    let calls = Arc::clone(&calls);
                    let seen = Arc::clone(&seen);
                    async move {
                        let body = req.into_body().collect().await?.to_bytes();
                        let n = calls.fetch_add(1, Ordering::SeqCst);
                        let status = if n < fail_first { 500 } else { 200 };
                        if status == 200 {
                            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let marked = seen.load(Ordering::SeqCst);
                            kept.lock().expect("lock").push((v, marked));
                        }
                        let mut resp = http::Response::new(http_body_util::Full::new(
                            ::bytes::Bytes::from_static(b"ok"),
                        ));
                        *resp.status_mut() =
                            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
                        Ok::<_, hyper::Error>(resp)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self {
            url,
            bodies,
            marked,
        }
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.received().into_iter().map(|(v, _)| v).collect()
    }

    /// The bodies, each with whether it arrived after [`Receiver::mark`].
    pub fn received(&self) -> Vec<(Value, bool)> {
        self.bodies.lock().expect("lock").clone()
    }

    pub fn mark(&self) {
        self.marked.store(true, Ordering::SeqCst);
    }
}

/// Event defaults that push every application's events to `url`.
pub fn push_to(url: &str, sign_key: Option<&str>, legacy: bool) -> EventDefaults {
    EventDefaults {
        mode: EventMode::Push,
        notification_url: Some(url.to_owned()),
        sign_key: sign_key.map(str::to_owned),
        legacy_urls: if legacy { vec![url.to_owned()] } else { vec![] },
        ..EventDefaults::default()
    }
}
