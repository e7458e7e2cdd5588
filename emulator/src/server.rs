//! The accept loop and the one place requests are dispatched: route, describe, consult the
//! fault engine, handle, apply the response-side faults, journal.
//!
//! `run` takes an already-bound listener and a shutdown future, so the binary and in-process
//! users (tests) start it the same way. Each connection is first classified by
//! [`proxy::accept`] (plain HTTP, a CONNECT tunnel or direct TLS; TLS is terminated here), and
//! every kind ends in the same service. Each connection's socket is wrapped so that a fault can
//! end it with a TCP reset rather than an orderly close.

use crate::body::{self, Body, RequestBody};
use crate::error::{cos_error_document, injected_vod_error, CosFailure, ErrorCode};
use crate::faults::shaping::{corrupt, Counted, Cut, Throttled};
use crate::faults::{Effect, Plan, ResetPoint, Service, Subject};
use crate::journal::{Detail, Entry, Signature};
use crate::proxy::{self, Accepted};
use crate::request::{header_names, Described};
use crate::router::{self, CosAddress, Endpoint};
use crate::state::AppState;
use crate::{admin, cos, dashboard, media, vod};
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// How long in-flight requests may take to finish after shutdown is asked for. Short: the
/// event feeds and long polls end at once ([`crate::hub::EventHub::stop`]), so only real
/// work (an upload's last bytes) is waited for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves connections from `listener` until `shutdown` resolves, then drains in-flight ones.
/// Plain HTTP, CONNECT tunnels and direct TLS share the port ([`proxy::accept`]); `tls`
/// terminates the latter two.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    tls: TlsAcceptor,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let casing = Arc::new(crate::header_case::real_casing().await);
    // Dropped at shutdown: connections still being classified (a silent client, a TLS
    // handshake) stop waiting then, as idle connections do in hyper.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(());
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
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let mut stopping = stopping.clone();
        let casing = Arc::clone(&casing);
        let client_timeout = state.config().client_timeout;
        tokio::spawn(async move {
            let accepted = before_hyper(proxy::accept(stream), client_timeout, &mut stopping).await;
            let (stream, wants_tls) = match accepted {
                Some(Accepted::Plain(stream)) => (stream, false),
                Some(Accepted::Tls(stream)) => (stream, true),
                Some(Accepted::Refused(refused)) => {
                    // Journaled before the answer, so a client that has read the refusal
                    // finds it in the journal.
                    state.journal().record(Entry::refused_tunnel(
                        state.clock().now_ms(),
                        peer,
                        &refused.target,
                        proxy::Refused::STATUS,
                    ));
                    refused.answer().await;
                    return;
                }
                None => return,
            };
            let ending = Arc::new(Ending::default());
            let io = EndingIo {
                stream: Some(stream),
                ending: Arc::clone(&ending),
            };
            let result = if wants_tls {
                let handshake =
                    before_hyper(proxy::handshake(io, &tls), client_timeout, &mut stopping).await;
                match handshake {
                    Some(io) => serve(io, state, peer, ending, casing, watcher).await,
                    None => return,
                }
            } else {
                serve(io, state, peer, ending, casing, watcher).await
            };
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(stopping_tx);
    state.events().stop();
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish in time; closing them");
    }
}

/// Runs a step of a connection before hyper takes it (classifying it, a TLS handshake):
/// `None` when the step gives up, when the client stays silent or stalls it for
/// `client_timeout` (as hyper drops one that stalls its request head), or when the server
/// stops.
async fn before_hyper<T>(
    step: impl Future<Output = Option<T>>,
    client_timeout: Duration,
    stopping: &mut tokio::sync::watch::Receiver<()>,
) -> Option<T> {
    tokio::select! {
        done = tokio::time::timeout(client_timeout, step) => done.ok().flatten(),
        _ = stopping.changed() => None,
    }
}

/// Serves HTTP/1.1 on one connection (plain or decrypted) with the emulator's service; a fault
/// that resets the connection, or a body left unread, sets its `ending`. Every response
/// carries `casing` ([`crate::header_case`]).
async fn serve<I>(
    io: I,
    state: AppState,
    peer: SocketAddr,
    ending: Arc<Ending>,
    casing: Arc<http::Extensions>,
    watcher: Watcher,
) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let client_timeout = state.config().client_timeout;
    let service = service_fn(move |req| {
        let state = state.clone();
        let ending = Arc::clone(&ending);
        let casing = Arc::clone(&casing);
        async move {
            let mut outcome = dispatch(&state, peer, req, &ending).await;
            match &mut outcome {
                Ok(resp) => resp.extensions_mut().extend((*casing).clone()),
                Err(ConnectionReset) => ending.reset(),
            }
            outcome
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(client_timeout)
        .max_buf_size(crate::config::MAX_HEADER_BYTES)
        .max_headers(crate::config::MAX_HEADERS)
        .serve_connection(TokioIo::new(io), service);
    watcher.watch(conn).await
}

/// A fault decided the connection ends with a TCP reset instead of a response.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by fault injection")]
pub struct ConnectionReset;

/// Most bytes a lingering close reads and discards (see [`linger`]).
pub const LINGER_BYTES: u64 = 64 * 1024 * 1024;
/// Longest a lingering close lasts.
pub const LINGER_TIME: Duration = Duration::from_secs(30);
/// Longest a lingering close waits for the client's next bytes.
pub const LINGER_QUIET: Duration = Duration::from_secs(5);

/// How a connection ends once hyper lets it go; decided by the requests it carried.
#[derive(Debug, Default)]
struct Ending(AtomicU8);

impl Ending {
    const ORDERLY: u8 = 0;
    /// A fault: close with RST (zero linger).
    const RESET: u8 = 1;
    /// A request's body was left unread: read and discard what the client still sends.
    const LINGER: u8 = 2;

    fn reset(&self) {
        self.0.store(Self::RESET, Ordering::Relaxed);
    }

    fn linger(&self) {
        let _ = self.0.compare_exchange(
            Self::ORDERLY,
            Self::LINGER,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

/// A TCP stream that ends as its [`Ending`] says when hyper drops it: an orderly close, a TCP
/// reset (a fault), or a lingering close.
struct EndingIo {
    stream: Option<TcpStream>,
    ending: Arc<Ending>,
}

impl EndingIo {
    fn stream(&mut self) -> std::io::Result<Pin<&mut TcpStream>> {
        self.stream
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotConnected))
    }
}

impl Drop for EndingIo {
    fn drop(&mut self) {
        let Some(stream) = self.stream.take() else {
            return;
        };
        match self.ending.0.load(Ordering::Relaxed) {
            Ending::RESET => {
                if let Err(err) = stream.set_zero_linger() {
                    tracing::debug!(error = %err, "cannot arm the connection reset");
                }
            }
            Ending::LINGER => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(linger(stream));
                }
            }
            _ => {}
        }
    }
}

/// A lingering close, as nginx and S3 front ends do it: the answer to a request whose body was
/// left unread (a refusal sent before the body: signature, scope, unknown upload, limits,
/// strict mode, an injected error) has been written; closing now, with the body's rest still
/// arriving, would make the kernel reset the connection, and a client that writes its whole
/// body before reading (Node's `http`) would see EPIPE or ECONNRESET instead of the answer. So
/// the write side is shut (FIN) and what the client still sends is read and discarded, up to
/// [`LINGER_BYTES`] and [`LINGER_TIME`], or until [`LINGER_QUIET`] passes without a byte.
async fn linger(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let deadline = tokio::time::Instant::now() + LINGER_TIME;
    let mut buf = vec![0u8; 64 * 1024];
    let mut discarded: u64 = 0;
    while discarded < LINGER_BYTES {
        let wait = deadline.min(tokio::time::Instant::now() + LINGER_QUIET);
        match tokio::time::timeout_at(wait, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => discarded += n as u64,
            _ => break,
        }
    }
}

impl AsyncRead for EndingIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.stream()?.poll_read(cx, buf)
    }
}

impl AsyncWrite for EndingIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.stream()?.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.stream()?.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(TcpStream::is_write_vectored)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.stream()?.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.stream()?.poll_shutdown(cx)
    }
}

/// A request routed to a service, with its body in the form that service takes.
enum Target {
    Vod(Result<Bytes, crate::error::VodError>),
    Cos(CosAddress, Body),
    Media {
        bucket: String,
        key: String,
    },
    /// A proxied request for a host the emulator does not emulate: refused, never forwarded.
    Foreign(String),
    NotFound,
}

/// Serves one request: [`exchange`], then the headers every answer needs.
async fn dispatch(
    state: &AppState,
    peer: SocketAddr,
    req: Request<Incoming>,
    ending: &Ending,
) -> Result<Response<Body>, ConnectionReset> {
    let (parts, body) = req.into_parts();
    if head_size(&parts) > crate::config::MAX_HEADER_BYTES {
        // hyper bounds the head's memory at its buffer granularity; this makes the documented
        // limit the one clients see.
        let mut resp = Response::new(body::full("request header fields too large\n"));
        *resp.status_mut() = http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        return Ok(resp);
    }
    let (body, finished) = RequestBody::new(body, state.config().client_timeout);
    let mut resp = exchange(state, peer, Request::from_parts(parts, body)).await?;
    // A response to a request whose body was left unread closes the connection (the client
    // cannot know the server will not read it), with a lingering close so the answer survives.
    if !finished.load(Ordering::Relaxed) {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        ending.linger();
    }
    // The `Date` clients see is the emulator's clock, so a moved clock looks like real time
    // passing (clients correct their clock skew from it) rather than like a broken server.
    let now = std::time::UNIX_EPOCH
        + Duration::from_millis(u64::try_from(state.clock().now_ms()).unwrap_or(0));
    if let Ok(date) = http::HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
        resp.headers_mut().insert(http::header::DATE, date);
    }
    Ok(resp)
}

/// The admin API's access rule, which the dashboard shares: the refusal to send, if any.
/// Admin and dashboard requests are answered before the journal and the fault engine.
fn admin_refusal(
    state: &AppState,
    peer: SocketAddr,
    headers: &http::HeaderMap,
) -> Option<Response<Body>> {
    let token = state.config().admin_token.as_deref();
    admin::allowed(peer.ip(), token, headers)
        .err()
        .map(admin::forbidden)
}

/// Bytes of a request's head as sent: request line and header lines.
fn head_size(parts: &http::request::Parts) -> usize {
    let line = parts.method.as_str().len() + parts.uri.to_string().len() + 12;
    let headers: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    line + headers
}

/// Routes, describes, consults the fault engine, handles, shapes and journals one request.
async fn exchange(
    state: &AppState,
    peer: SocketAddr,
    req: Request<RequestBody>,
) -> Result<Response<Body>, ConnectionReset> {
    let endpoint = router::route(req.method(), req.uri(), req.headers());
    let started = Instant::now();
    let arrived_ms = state.clock().now_ms();
    let bytes_in = Arc::new(AtomicU64::new(0));
    let (parts, body) = req.into_parts();
    let body: Body = Counted::new(body, Arc::clone(&bytes_in))
        .map_err(std::io::Error::other)
        .boxed();
    let control = matches!(
        endpoint,
        Endpoint::Admin(_) | Endpoint::Dashboard(_) | Endpoint::DashboardHome
    );
    if control {
        if let Some(refused) = admin_refusal(state, peer, &parts.headers) {
            return Ok(refused);
        }
    }
    // Only bodies read whole before handling (the VOD API's) get a preview in the journal.
    let mut request_body = None;
    let (target, described, request_id) = match endpoint {
        Endpoint::Admin(path) => {
            return Ok(admin::handle(state, Request::from_parts(parts, body), &path).await);
        }
        Endpoint::Dashboard(asset) => return Ok(dashboard::asset(&asset)),
        Endpoint::DashboardHome => return Ok(dashboard::home()),
        Endpoint::Vod => {
            let body = vod::read_body(body).await;
            request_body = body.as_ref().ok().map(|b| Detail::preview(b));
            let described = vod::describe(&parts, body.as_ref().ok());
            (Target::Vod(body), described, Some(state.ids().request_id()))
        }
        Endpoint::Cos(addr) => {
            let described = cos::describe(&parts, &addr);
            let request_id = Some(state.ids().cos_request_id());
            (Target::Cos(addr, body), described, request_id)
        }
        Endpoint::Media { bucket, key } => {
            let described = describe_media(&parts, &bucket, &key);
            (Target::Media { bucket, key }, described, None)
        }
        Endpoint::Foreign(host) => (Target::Foreign(host), Described::default(), None),
        Endpoint::NotFound => (Target::NotFound, Described::default(), None),
    };
    let plan = state.faults().decide(&described.subject);
    let mut entry = Entry {
        seq: 0,
        time_ms: arrived_ms,
        client: peer.to_string(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        service: described.subject.service.map(|s| s.name().to_owned()),
        action: described.subject.action.clone(),
        bucket: described.subject.bucket.clone(),
        key: described.subject.key.clone(),
        part_number: described.subject.part_number,
        request_id: request_id.clone(),
        status: None,
        error_code: None,
        latency_ms: 0,
        bytes_in: 0,
        bytes_out: 0,
        signature: Signature::Unchecked,
        faults: plan.labels(),
        unread: described.unread.clone(),
    };
    let head = parts.method == Method::HEAD;
    let mut detail = Detail {
        request_headers: Detail::headers(&parts.headers),
        request_body,
        response_headers: Vec::new(),
    };
    let outcome = respond(
        state,
        parts,
        target,
        &described,
        &plan,
        request_id.as_deref(),
    )
    .await;
    entry.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    entry.bytes_in = bytes_in.load(Ordering::Relaxed);
    if let Ok(resp) = &outcome {
        detail.response_headers = Detail::headers(resp.headers());
        entry.status = Some(resp.status().as_u16());
        entry.error_code = resp.extensions().get::<ErrorCode>().map(|c| c.0.clone());
        entry.signature = resp
            .extensions()
            .get::<Signature>()
            .copied()
            .unwrap_or_default();
        entry.bytes_out = if head {
            0
        } else {
            bytes_out(resp, plan.primary())
        };
    }
    state.journal().record_detailed(entry, Some(detail));
    outcome
}

fn describe_media(parts: &Parts, bucket: &str, key: &str) -> Described {
    let action = if parts.method == Method::HEAD {
        "HeadMedia"
    } else {
        "GetMedia"
    };
    Described {
        subject: Subject {
            service: Some(Service::Media),
            action: Some(action.to_owned()),
            bucket: Some(bucket.to_owned()),
            key: Some(key.to_owned()),
            headers: header_names(&parts.headers),
            ..Subject::default()
        },
        ..Described::default()
    }
}

/// Applies the request-side faults, runs the handler, applies the response-side faults.
async fn respond(
    state: &AppState,
    parts: Parts,
    target: Target,
    described: &Described,
    plan: &Plan,
    request_id: Option<&str>,
) -> Result<Response<Body>, ConnectionReset> {
    let skew = plan.skew_ms();
    if skew != 0 {
        state.clock().advance_ms(skew);
    }
    if plan.expires_session() {
        if let Some(session) = &described.session {
            let now = state.clock().now();
            if let Err(err) = state.store().expire_session(session.clone(), now).await {
                tracing::error!(error = %err, "cannot expire the session for a fault");
            }
        }
    }
    let delay = plan.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let primary = plan.primary();
    let rid = request_id.unwrap_or_default();
    match primary {
        Some(Effect::Reset {
            at: ResetPoint::BeforeBody,
        }) => return Err(ConnectionReset),
        Some(Effect::Error {
            code,
            status,
            message,
        }) => {
            return Ok(injected_error(
                parts,
                target,
                code,
                *status,
                message.as_deref(),
                rid,
            ))
        }
        _ => {}
    }
    let lose_write = matches!(primary, Some(Effect::LoseWrite));
    let throttle = plan.throttle();
    let mut resp = match target {
        Target::Vod(body) => vod::handle(state, parts, body, rid, lose_write).await,
        Target::Cos(addr, body) => {
            let body = match throttle {
                Some(rate) => Throttled::new(body, rate).boxed(),
                None => body,
            };
            cos::handle(
                state,
                Request::from_parts(parts, body),
                addr,
                rid,
                lose_write,
            )
            .await
        }
        Target::Media { bucket, key } => {
            let head = parts.method == Method::HEAD;
            media::handle(state, bucket, key, &parts.headers, head).await
        }
        Target::Foreign(host) => proxy::refuse(&host),
        Target::NotFound => {
            let mut resp = Response::new(body::full("not found\n"));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            resp
        }
    };
    if let Some(Effect::Reset {
        at: ResetPoint::AfterBody,
    }) = primary
    {
        return Err(ConnectionReset);
    }
    if resp.status().is_success() {
        for field in plan.corrupt() {
            corrupt(resp.headers_mut(), field);
        }
    }
    let resp = match primary {
        Some(Effect::Truncate { after_bytes }) => {
            resp.map(|b| Cut::truncate(b, *after_bytes).boxed())
        }
        Some(Effect::Stall { after_bytes, ms }) => {
            resp.map(|b| Cut::stall(b, *after_bytes, Duration::from_millis(*ms)).boxed())
        }
        _ => resp,
    };
    Ok(match throttle {
        Some(rate) => resp.map(|b| Throttled::new(b, rate).boxed()),
        None => resp,
    })
}

/// An injected error in the target service's format, sent without reading the request body
/// (the connection's lingering close keeps it from being lost).
fn injected_error(
    parts: Parts,
    target: Target,
    code: &str,
    status: Option<u16>,
    message: Option<&str>,
    request_id: &str,
) -> Response<Body> {
    match target {
        Target::Vod(_) => injected_vod_error(code, message, request_id),
        Target::Cos(..) => {
            let failure = CosFailure::injected(code, status, message);
            let resource = cos::resource(&parts.headers, &parts.uri);
            let head = parts.method == Method::HEAD;
            cos::finish(
                cos_error_document(&failure, &resource, request_id, head),
                request_id,
            )
        }
        Target::Media { .. } => {
            let failure = CosFailure::injected(code, status, message);
            media::failure(failure.status, failure.code, failure.message)
        }
        // No rule matches a request no service serves.
        Target::Foreign(_) | Target::NotFound => {
            let mut resp = Response::new(body::empty());
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp
        }
    }
}

/// The body bytes a response announces, or fewer when a fault cuts it short.
fn bytes_out(resp: &Response<Body>, primary: Option<&Effect>) -> u64 {
    let announced = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| resp.body().size_hint().exact())
        .unwrap_or(0);
    match primary {
        Some(Effect::Truncate { after_bytes } | Effect::Stall { after_bytes, .. }) => {
            announced.min(*after_bytes)
        }
        _ => announced,
    }
}
