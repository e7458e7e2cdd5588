//! The emulator as an HTTPS proxy for the cloud hosts it emulates, on its one port.
//!
//! Unmodified SDKs send to `https://vod.tencentcloudapi.com` and
//! `https://<bucket>.cos.<region>.myqcloud.com`. With `HTTPS_PROXY` pointing at the emulator
//! they open `CONNECT <host>:443` here; the emulator answers `200`, terminates TLS itself with a
//! certificate from its local CA ([`crate::tls`]) and hands the decrypted stream to the same
//! HTTP service as plain connections, with the client's `Host` header untouched, so TC3 and COS
//! signatures (which cover the host) verify as they would in the cloud.
//!
//! The proxy never opens a connection anywhere: a CONNECT to any other host or port is
//! journaled (method `CONNECT`, path `host:port`), answered `403` and closed, and a plain
//! proxied request (`GET http://example.com/`) for a
//! foreign host is refused the same way by the router. A connection whose first byte is a TLS
//! handshake is served over TLS directly (`https://127.0.0.1:PORT`).
//!
//! Neither step keeps time: the server bounds each with `--client-timeout`, whatever it is.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::body::{full, Body};

/// Largest CONNECT request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// First byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE: u8 = 0x16;
/// The only port a tunnel may be opened to.
const HTTPS_PORT: u16 = 443;

/// What a new connection turned out to be.
#[derive(Debug)]
pub enum Accepted {
    /// Plain HTTP/1.1 (everything that existed before the proxy).
    Plain(TcpStream),
    /// The next bytes are a TLS handshake: a tunnel was opened with CONNECT, or the client
    /// speaks HTTPS directly. Finish it with [`handshake`].
    Tls(TcpStream),
    /// A CONNECT to a destination the emulator does not emulate, not answered yet: journal it,
    /// then [`Refused::answer`] it.
    Refused(Refused),
}

/// A refused CONNECT, waiting for its `403`.
#[derive(Debug)]
pub struct Refused {
    stream: TcpStream,
    /// The `host:port` the client asked for.
    pub target: String,
}

impl Refused {
    /// The status the refusal is answered with.
    pub const STATUS: u16 = 403;

    /// Answers `403` with the reason and closes the connection; nothing is dialled.
    pub async fn answer(mut self) {
        let reason = refusal(&self.target);
        answer_and_close(
            &mut self.stream,
            status_of(&Tunnel::Refused(self.target)),
            &reason,
        )
        .await;
    }
}

/// Looks at the first byte of a new connection: a TLS handshake, a `CONNECT` (a tunnel opened,
/// a refusal to answer, or a malformed head answered here) or plain HTTP. `None` when the
/// connection failed or was answered already.
pub async fn accept(stream: TcpStream) -> Option<Accepted> {
    let mut first = [0u8; 1];
    if !matches!(stream.peek(&mut first).await, Ok(1)) {
        return None;
    }
    match first[0] {
        TLS_HANDSHAKE => Some(Accepted::Tls(stream)),
        b'C' => open_tunnel(stream).await,
        _ => Some(Accepted::Plain(stream)),
    }
}

/// Terminates TLS on `io` with a certificate from the local CA for the client's SNI name.
pub async fn handshake<S>(io: S, tls: &TlsAcceptor) -> Option<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tls.accept(io).await {
        Ok(stream) => Some(stream),
        Err(err) => {
            tracing::debug!(error = %err, "tls handshake failed");
            None
        }
    }
}

/// Reads a `CONNECT host:port` head: `200` for an emulated host on 443 (the stream is then the
/// client's TLS), a [`Refused`] for any other destination, `400`/`405` for anything else.
async fn open_tunnel(mut stream: TcpStream) -> Option<Accepted> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let verdict = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
        match parse_connect(&head) {
            Parsed::Partial if head.len() <= MAX_HEAD => continue,
            Parsed::Partial => break Tunnel::Bad("request head too large"),
            Parsed::Done(verdict, len) if len == head.len() => break verdict,
            // A client must wait for the 200 before starting TLS; bytes after the head mean
            // it did not, and they would be lost.
            Parsed::Done(..) => break Tunnel::Bad("data sent before the tunnel was established"),
        }
    };
    let status = status_of(&verdict);
    let message = match verdict {
        Tunnel::Open(authority) => {
            tracing::debug!(%authority, "tunnel opened");
            stream
                .write_all(format!("HTTP/1.1 {status}\r\n\r\n").as_bytes())
                .await
                .ok()?;
            return Some(Accepted::Tls(stream));
        }
        Tunnel::Refused(target) => return Some(Accepted::Refused(Refused { stream, target })),
        Tunnel::NotConnect => "vod-emulator: only CONNECT is accepted here\n".to_owned(),
        Tunnel::Bad(why) => format!("vod-emulator: {why}\n"),
    };
    answer_and_close(&mut stream, status, &message).await;
    None
}

/// Writes a final plain-text answer and closes the connection.
async fn answer_and_close(stream: &mut TcpStream, status: &str, message: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{message}",
        message.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// What a CONNECT head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Tunnel {
    /// An emulated host on 443: open.
    Open(String),
    /// Any other destination: refuse, never dial.
    Refused(String),
    /// A request with another method on a connection that looked like CONNECT.
    NotConnect,
    /// Not a valid request head.
    Bad(&'static str),
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Partial,
    /// The verdict and the head's length in bytes.
    Done(Tunnel, usize),
}

/// Parses a request head (pure: no I/O) and decides what to do with it.
fn parse_connect(bytes: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Done(Tunnel::Bad("malformed request head"), bytes.len()),
    };
    if req.method != Some("CONNECT") {
        return Parsed::Done(Tunnel::NotConnect, len);
    }
    let target = req.path.unwrap_or_default();
    let verdict = match target.parse::<http::uri::Authority>() {
        Ok(authority)
            if authority.port_u16() == Some(HTTPS_PORT)
                && crate::tls::is_emulated_host(authority.host()) =>
        {
            Tunnel::Open(target.to_owned())
        }
        Ok(_) => Tunnel::Refused(target.to_owned()),
        Err(_) => Tunnel::Bad("CONNECT target is not host:port"),
    };
    Parsed::Done(verdict, len)
}

/// The status line the proxy answers a request head with; `None` while it is incomplete.
pub fn verdict_status(bytes: &[u8]) -> Option<&'static str> {
    match parse_connect(bytes) {
        Parsed::Partial => None,
        Parsed::Done(verdict, _) => Some(status_of(&verdict)),
    }
}

fn status_of(verdict: &Tunnel) -> &'static str {
    match verdict {
        Tunnel::Open(_) => "200 Connection established",
        Tunnel::Refused(_) => "403 Forbidden",
        Tunnel::NotConnect => "405 Method Not Allowed",
        Tunnel::Bad(_) => "400 Bad Request",
    }
}

/// Why a destination is refused, for a human reading an SDK's error.
fn refusal(destination: &str) -> String {
    format!(
        "vod-emulator: refusing to proxy to {destination}: only the emulated Tencent Cloud hosts \
         (*.tencentcloudapi.com, *.myqcloud.com, *.tencentcos.cn, port 443) are served, by the \
         emulator itself; nothing is forwarded and nothing leaves this machine\n"
    )
}

/// The answer to a plain proxied request (absolute-form URI) for a host the emulator does not
/// emulate.
pub fn refuse(host: &str) -> http::Response<Body> {
    let mut resp = http::Response::new(full(refusal(host)));
    *resp.status_mut() = http::StatusCode::FORBIDDEN;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(head: &str) -> Parsed {
        parse_connect(head.as_bytes())
    }

    #[test]
    fn connect_to_an_emulated_host_on_443_opens() {
        let head = "CONNECT vod.tencentcloudapi.com:443 HTTP/1.1\r\nHost: vod.tencentcloudapi.com:443\r\n\r\n";
        assert_eq!(
            verdict(head),
            Parsed::Done(
                Tunnel::Open("vod.tencentcloudapi.com:443".into()),
                head.len()
            )
        );
    }

    #[test]
    fn connect_elsewhere_is_refused() {
        for target in [
            "example.com:443",
            "127.0.0.1:443",
            "vod.tencentcloudapi.com:80",
            "vod.tencentcloudapi.com",
            "vod.tencentcloudapi.com.evil.net:443",
        ] {
            let head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
            assert_eq!(
                verdict(&head),
                Parsed::Done(Tunnel::Refused(target.into()), head.len()),
                "{target}"
            );
        }
    }

    #[test]
    fn partial_bad_and_other_methods() {
        assert_eq!(
            verdict("CONNECT vod.tencentcloudapi.com:443 HTTP/1.1\r\n"),
            Parsed::Partial
        );
        assert!(matches!(
            verdict("CONNECT / HTTP/1.1\r\n\r\n"),
            Parsed::Done(Tunnel::Bad(_), _)
        ));
        assert!(matches!(
            verdict("COPY /x HTTP/1.1\r\nHost: a\r\n\r\n"),
            Parsed::Done(Tunnel::NotConnect, _)
        ));
        assert!(matches!(
            verdict("C\0\0\r\n\r\n"),
            Parsed::Done(Tunnel::Bad(_), _)
        ));
    }
}
