//! Requests written and answers read byte for byte, for what a forgiving client hides: the
//! exact spelling of header names, whether an answer arrives at all.
//!
//! Requests are built (and signed) with reqwest's builder, then written by hand on a fresh
//! connection with `Connection: close`; the answer is read to the end of the stream.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vod_emulator::Emulator;

/// A response as it came off the socket.
#[derive(Debug)]
pub struct RawReply {
    /// Status code of the status line.
    pub status: u16,
    /// Header lines in order, names spelled as sent.
    pub headers: Vec<(String, String)>,
    /// Everything after the head.
    pub body: Vec<u8>,
}

impl RawReply {
    /// The value of the first header whose name is exactly `name` (case-sensitive).
    pub fn exact(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `request` (with its body, `Connection: close` added) on a new connection and reads
/// the answer to the end; panics when none arrives in 10 s.
pub async fn send(emu: &Emulator, request: reqwest::Request) -> RawReply {
    let mut wire = format!(
        "{} {}{} HTTP/1.1\r\n",
        request.method(),
        request.url().path(),
        request
            .url()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default()
    )
    .into_bytes();
    let body = request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .unwrap_or_default();
    let mut has_host = false;
    for (name, value) in request.headers() {
        has_host |= name == reqwest::header::HOST;
        wire.extend_from_slice(name.as_str().as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    if !has_host {
        wire.extend_from_slice(format!("Host: {}\r\n", emu.addr()).as_bytes());
    }
    wire.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    wire.extend_from_slice(b"Connection: close\r\n\r\n");
    wire.extend_from_slice(body);
    exchange(emu, &wire).await
}

/// Writes `bytes` on a new connection and parses what comes back, to the end of the stream.
pub async fn exchange(emu: &Emulator, bytes: &[u8]) -> RawReply {
    let mut sock = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    sock.write_all(bytes).await.expect("write request");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), sock.read_to_end(&mut out))
        .await
        .expect("answer within 10 s")
        .expect("read answer");
    parse(&out)
}

/// Splits a raw HTTP/1.1 response (interim 1xx answers skipped) into status, headers, body.
pub fn parse(raw: &[u8]) -> RawReply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    if (100..200).contains(&status) {
        return parse(&raw[end + 4..]);
    }
    let headers = lines
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header line {line:?}"));
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    RawReply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}
