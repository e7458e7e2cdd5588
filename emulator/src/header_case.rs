//! Response header names written with the real services' casing
//! ([`RESPONSE_HEADER_NAMES`]): `ETag`, `Content-Length`, `x-cos-request-id`, …
//!
//! hyper writes header names in lower case, or in Title-Case (`Etag`), and neither is what COS
//! writes; SDKs that compare names case-sensitively then miss `ETag`. hyper does write a
//! response's names with the casing of its header-case map when the response carries one, and
//! that map (a private type) is what `preserve_header_case` records from a parsed request. So
//! the map is made once per server by letting hyper parse a request whose header lines are
//! spelled as the real services spell them; every response then carries a copy of it. Names
//! not in the map stay lower case.

use bytes::Bytes;
use http::{Extensions, Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vod_protocol::wire::headers::RESPONSE_HEADER_NAMES;

/// Response extensions that make hyper write every name of [`RESPONSE_HEADER_NAMES`] as
/// listed; [`Extensions::default`] (lower case throughout) if hyper no longer records casing.
pub async fn real_casing() -> Extensions {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let seen = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let service = service_fn(move |req: Request<Incoming>| {
        if let Ok(mut seen) = record.lock() {
            *seen = Some(req.extensions().clone());
        }
        async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(TokioIo::new(server), service);
    let exchange = async move {
        client.write_all(&cased_request()).await?;
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.map(|_| ())
    };
    let (served, exchanged) = tokio::join!(conn, exchange);
    if let Err(err) = served.map_err(std::io::Error::other).and(exchanged) {
        tracing::warn!(error = %err, "cannot record the real header casing; names go out in lower case");
    }
    let recorded = seen.lock().ok().and_then(|mut seen| seen.take());
    recorded.unwrap_or_default()
}

/// A request carrying one line per name, spelled as listed. `Content-Length` comes before
/// `Transfer-Encoding`, because hyper records no name of a `Content-Length` that follows one;
/// the chunked body is empty and `Connection: close` ends the exchange.
fn cased_request() -> Vec<u8> {
    let mut head = String::from("POST / HTTP/1.1\r\n");
    let value = |name: &str| match name {
        "Content-Length" => "0",
        "Transfer-Encoding" => "chunked",
        "Connection" => "close",
        _ => "x",
    };
    let (te, others): (Vec<&str>, Vec<&str>) = RESPONSE_HEADER_NAMES
        .iter()
        .partition(|name| name.eq_ignore_ascii_case("transfer-encoding"));
    for name in others.into_iter().chain(te) {
        head.push_str(&format!("{name}: {}\r\n", value(name)));
    }
    head.push_str("\r\n0\r\n\r\n");
    head.into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Serves one response carrying `casing` over an in-memory connection; the raw head.
    async fn head_written_with(casing: Extensions) -> String {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let casing = Arc::new(casing);
        let service = service_fn(move |_req: Request<Incoming>| {
            let mut resp = Response::new(http_body_util::Full::new(Bytes::from_static(b"{}")));
            let headers = resp.headers_mut();
            headers.insert(http::header::ETAG, "\"e\"".parse().unwrap());
            headers.insert("x-cos-request-id", "r".parse().unwrap());
            headers.insert(
                http::header::CONTENT_TYPE,
                "application/xml".parse().unwrap(),
            );
            headers.insert("x-cos-meta-color", "red".parse().unwrap());
            headers.insert(http::header::CONNECTION, "close".parse().unwrap());
            resp.extensions_mut().extend((*casing).clone());
            async { Ok::<_, Infallible>(resp) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), service);
        let exchange = async move {
            client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).await.unwrap();
            String::from_utf8(answer).unwrap()
        };
        tokio::join!(conn, exchange).1
    }

    #[tokio::test]
    async fn responses_carrying_the_casing_write_names_as_the_service_does() {
        let head = head_written_with(real_casing().await).await;
        for line in [
            "\r\nETag: \"e\"\r\n",
            "\r\nx-cos-request-id: r\r\n",
            "\r\nContent-Type: application/xml\r\n",
            "\r\nContent-Length: 2\r\n",
            "\r\nConnection: close\r\n",
            "\r\nx-cos-meta-color: red\r\n",
        ] {
            assert!(head.contains(line), "{line:?} not in {head:?}");
        }
    }

    #[tokio::test]
    async fn without_the_casing_hyper_writes_lower_case() {
        let head = head_written_with(Extensions::default()).await;
        assert!(head.contains("\r\netag: \"e\"\r\n"), "{head:?}");
    }
}
