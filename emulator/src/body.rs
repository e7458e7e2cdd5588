//! Response bodies: one boxed type for small in-memory bodies and streamed object bytes alike.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};

/// Every response body the emulator sends.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A body held in memory (JSON, XML): small by construction.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// No body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// The request body every handler receives: hyper's body, noting whether it was read to the
/// end. A response to a request whose body was left unread must close the connection (the
/// client cannot know the server will not read it), so [`crate::server`] adds
/// `Connection: close` then.
#[derive(Debug)]
pub struct RequestBody {
    inner: hyper::body::Incoming,
    finished: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl RequestBody {
    /// Wraps a body; the returned flag turns true once it has been read to the end.
    pub fn new(
        inner: hyper::body::Incoming,
    ) -> (Self, std::sync::Arc<std::sync::atomic::AtomicBool>) {
        use http_body::Body as _;
        let finished =
            std::sync::Arc::new(std::sync::atomic::AtomicBool::new(inner.is_end_stream()));
        (
            Self {
                inner,
                finished: std::sync::Arc::clone(&finished),
            },
            finished,
        )
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
