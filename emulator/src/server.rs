//! The accept loop: one hyper HTTP/1.1 server on one port, graceful shutdown.
//!
//! `run` takes an already-bound listener and a shutdown future, so the binary and in-process
//! users (tests) start it the same way.

use crate::body::{Body, RequestBody};
use crate::router::{self, Endpoint};
use crate::state::AppState;
use crate::{admin, cos, media, vod};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long in-flight requests may take to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves connections from `listener` until `shutdown` resolves, then drains in-flight ones.
pub async fn run(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let service = service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(dispatch(&state, req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(30))
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish in time; closing them");
    }
}

async fn dispatch(state: &AppState, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let (body, finished) = RequestBody::new(body);
    let mut resp = route(state, Request::from_parts(parts, body)).await;
    if !finished.load(std::sync::atomic::Ordering::Relaxed) {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    // The `Date` clients see is the emulator's clock, so a moved clock looks like real time
    // passing (clients correct their clock skew from it) rather than like a broken server.
    let now = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(state.clock().now_ms()).unwrap_or(0));
    if let Ok(date) = http::HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        resp.headers_mut().insert(http::header::DATE, date);
    }
    resp
}

async fn route(state: &AppState, req: Request<RequestBody>) -> Response<Body> {
    let endpoint = router::route(req.method(), req.uri(), req.headers());
    match endpoint {
        Endpoint::Admin(path) => admin::handle(state, req.method(), &path, req.uri().query()).await,
        Endpoint::Vod => vod::handle(state, req).await,
        Endpoint::Cos(addr) => cos::handle(state, req, addr).await,
        Endpoint::Media { bucket, key } => {
            let head = req.method() == http::Method::HEAD;
            media::handle(state, bucket, key, req.headers(), head).await
        }
        Endpoint::NotFound => {
            let mut resp = Response::new(crate::body::full("not found\n"));
            *resp.status_mut() = http::StatusCode::NOT_FOUND;
            resp
        }
    }
}
