//! Requests written and answers read byte for byte, for what a client library hides: the
//! exact spelling of header names, whether an answer arrives at all when the client writes its
//! whole body before reading (as Node's `http` does).
//!
//! Requests are built and signed by the reference client (`CosClient::request`,
//! `VodClient::request`), then written by hand on a fresh connection with
//! `Connection: close`; the answer is read to the end of the stream. Plain HTTP only.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an exchange may take in all.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a client waits for `100 Continue` before sending its body anyway (curl's 1 s).
const CONTINUE_WAIT: Duration = Duration::from_secs(1);

/// A response as it came off the socket.
#[derive(Debug, Clone)]
pub struct RawReply {
    /// Status code of the final status line.
    pub status: u16,
    /// Header lines in order, names spelled as sent.
    pub headers: Vec<(String, String)>,
    /// Everything after the head.
    pub body: Vec<u8>,
}

impl RawReply {
    /// The value of the first header named exactly `name` (case-sensitive).
    pub fn exact(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to send after the head.
#[derive(Debug, Clone, Copy)]
pub struct BodyPlan {
    /// Bytes announced in `Content-Length` and written (a repeated pattern).
    pub len: u64,
    /// Send `Expect: 100-continue` and write the body only after `100 Continue` (or after
    /// [`CONTINUE_WAIT`] without an answer, as curl does).
    pub expect_continue: bool,
}

/// Writes `request` with its own body (`Connection: close` added) and reads the answer.
///
/// # Errors
/// The URL is not plain HTTP, the connection fails, or the answer is not HTTP.
pub async fn send(request: &reqwest::Request) -> Result<RawReply, String> {
    let body = request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .unwrap_or_default()
        .to_vec();
    let plan = BodyPlan {
        len: body.len() as u64,
        expect_continue: false,
    };
    exchange(request, plan, Some(&body)).await
}

/// Writes `request`'s head announcing `plan.len` body bytes, then the body (a pattern), whole,
/// before reading anything, and reads the answer to the end of the stream.
///
/// # Errors
/// As [`send`]; also when the body cannot be written (the server reset the connection: the
/// answer, if any, is lost, as it is to Node's `http`).
pub async fn send_body(request: &reqwest::Request, plan: BodyPlan) -> Result<RawReply, String> {
    exchange(request, plan, None).await
}

async fn exchange(
    request: &reqwest::Request,
    plan: BodyPlan,
    body: Option<&[u8]>,
) -> Result<RawReply, String> {
    let url = request.url();
    if url.scheme() != "http" {
        return Err(format!(
            "raw exchanges need a plain HTTP endpoint, not {url}"
        ));
    }
    let host = url.host_str().ok_or_else(|| format!("no host in {url}"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let head = head(request, plan);
    let work = async {
        let mut sock = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
        sock.write_all(&head)
            .await
            .map_err(|e| format!("writing the head: {e}"))?;
        if plan.expect_continue && plan.len > 0 {
            let mut early = Vec::new();
            let mut buf = [0u8; 4096];
            match tokio::time::timeout(CONTINUE_WAIT, sock.read(&mut buf)).await {
                Ok(Ok(n)) => early.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => return Err(format!("reading the interim answer: {e}")),
                Err(_) => {}
            }
            if !early.is_empty() && !early.starts_with(b"HTTP/1.1 100") {
                let mut rest = Vec::new();
                sock.read_to_end(&mut rest)
                    .await
                    .map_err(|e| format!("reading the answer: {e}"))?;
                early.extend_from_slice(&rest);
                return parse(&early);
            }
        }
        write_body(&mut sock, plan.len, body).await?;
        let mut out = Vec::new();
        sock.read_to_end(&mut out)
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        parse(&out)
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, work)
        .await
        .map_err(|_| format!("no answer within {EXCHANGE_TIMEOUT:?}"))?
}

fn head(request: &reqwest::Request, plan: BodyPlan) -> Vec<u8> {
    let url = request.url();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut head = format!("{} {target} HTTP/1.1\r\n", request.method()).into_bytes();
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    if !request.headers().contains_key(reqwest::header::HOST) {
        head.extend_from_slice(format!("Host: {authority}\r\n").as_bytes());
    }
    for (name, value) in request.headers() {
        if name == reqwest::header::CONTENT_LENGTH {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if plan.expect_continue && plan.len > 0 {
        head.extend_from_slice(b"Expect: 100-continue\r\n");
    }
    head.extend_from_slice(format!("Content-Length: {}\r\n", plan.len).as_bytes());
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    head
}

async fn write_body(sock: &mut TcpStream, len: u64, body: Option<&[u8]>) -> Result<(), String> {
    let lost = |e: std::io::Error| format!("writing the body: {e} (the answer is lost)");
    if let Some(body) = body {
        return sock.write_all(body).await.map_err(lost);
    }
    let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        sock.write_all(&chunk[..n]).await.map_err(lost)?;
        left -= n as u64;
    }
    Ok(())
}

/// Splits a raw HTTP/1.1 response (interim 1xx answers skipped) into status, headers, body.
///
/// # Errors
/// The bytes are not an HTTP/1.1 response.
pub fn parse(raw: &[u8]) -> Result<RawReply, String> {
    let shown = || String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete response head in {:?}", shown()))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    if (100..200).contains(&status) {
        return parse(&raw[end + 4..]);
    }
    let headers = lines
        .map(|line| {
            line.split_once(':')
                .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
                .ok_or_else(|| format!("bad header line {line:?}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(RawReply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn interim_answers_are_skipped_and_names_kept_as_sent() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nETag: \"x\"\r\nx-cos-request-id: r\r\n\r\nbody";
        let reply = parse(raw).unwrap();
        assert_eq!(reply.status, 404);
        assert_eq!(reply.exact("ETag"), Some("\"x\""));
        assert_eq!(reply.exact("etag"), None);
        assert_eq!(reply.body, b"body");
    }

    #[test]
    fn truncated_heads_are_errors() {
        assert!(parse(b"HTTP/1.1 200 OK\r\nETag: x").is_err());
    }
}
