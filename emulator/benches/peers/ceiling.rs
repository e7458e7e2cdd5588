//! The loopback ceiling: a minimal hyper server that reads every request body to the end,
//! discards it, and answers 200 with just enough for the S3 client to go on (an `UploadId`
//! and an `ETag`). No server that looks at the bytes can beat it, so multipart throughput is
//! judged against it. It runs on its own two-thread runtime, as a peer process would.

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;

/// What every request gets back: InitiateMultipartUpload's answer, which the other
/// operations' callers ignore.
const ANSWER: &str = "<InitiateMultipartUploadResult><Bucket>ceiling</Bucket><Key>k</Key>\
    <UploadId>ceiling</UploadId></InitiateMultipartUploadResult>";

/// Starts the ceiling server on a free loopback port; it lives as long as the process.
pub fn start() -> Result<SocketAddr> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                serve(listener).await;
            }
        });
    });
    Ok(addr)
}

async fn serve(listener: tokio::net::TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(discard);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads the body frame by frame, keeping nothing.
async fn discard(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut body = req.into_body();
    while let Some(Ok(_)) = body.frame().await {}
    Ok(Response::builder()
        .header("etag", "\"ceiling\"")
        .body(Full::new(Bytes::from_static(ANSWER.as_bytes())))
        .unwrap_or_default())
}
