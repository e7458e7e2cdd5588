//! Effects that act on the bytes in flight: body wrappers that count, throttle, cut short or
//! stall a request or response body (each keeps the inner body's size hint, so a response still
//! announces its full `Content-Length` when it is then cut short), and checksum corruption.

use super::Checksum;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// Counts the data bytes that pass through into a shared counter (the journal's bytes in).
#[derive(Debug)]
pub struct Counted<B> {
    inner: B,
    count: Arc<AtomicU64>,
}

impl<B> Counted<B> {
    /// Wraps `inner`, adding every data byte to `count`.
    pub fn new(inner: B, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.count.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Passes data at most `bytes_per_sec`, in slices of about 50 ms each.
#[derive(Debug)]
pub struct Throttled<B> {
    inner: B,
    bytes_per_sec: u64,
    pending: Bytes,
    pause: Option<Pin<Box<Sleep>>>,
}

impl<B> Throttled<B> {
    /// Wraps `inner` at `bytes_per_sec` (at least 1).
    pub fn new(inner: B, bytes_per_sec: u64) -> Self {
        Self {
            inner,
            bytes_per_sec: bytes_per_sec.max(1),
            pending: Bytes::new(),
            pause: None,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Throttled<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        if let Some(pause) = this.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.pause = None;
        }
        if this.pending.is_empty() {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return other,
            }
        }
        let slice = usize::try_from(this.bytes_per_sec / 20)
            .unwrap_or(usize::MAX)
            .max(1);
        let chunk = this.pending.split_to(slice.min(this.pending.len()));
        let secs = chunk.len() as f64 / this.bytes_per_sec as f64;
        this.pause = Some(Box::pin(tokio::time::sleep(Duration::from_secs_f64(secs))));
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.pause.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How long a truncated response waits after its last byte before the connection is cut.
const FLUSH_GRACE: Duration = Duration::from_millis(50);

/// Passes `limit` data bytes, then (after an optional stall) fails, which makes the server
/// close the connection mid-body.
#[derive(Debug)]
pub struct Cut<B> {
    inner: B,
    left: u64,
    stall: Option<Duration>,
    pause: Option<Pin<Box<Sleep>>>,
}

impl<B> Cut<B> {
    /// Truncates after `limit` bytes. The cut comes a moment after the last byte, so that what
    /// was sent is flushed first (hyper drops a connection whose body fails at once, and the
    /// client would then not even see the head).
    pub fn truncate(inner: B, limit: u64) -> Self {
        Self::stall(inner, limit, FLUSH_GRACE)
    }

    /// Sends `limit` bytes, then nothing for `stall`, then fails.
    pub fn stall(inner: B, limit: u64, stall: Duration) -> Self {
        Self {
            inner,
            left: limit,
            stall: Some(stall),
            pause: None,
        }
    }
}

impl<B: Body<Data = Bytes, Error = std::io::Error> + Unpin> Body for Cut<B> {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if this.left == 0 {
            if let Some(stall) = this.stall.take() {
                this.pause = Some(Box::pin(tokio::time::sleep(stall)));
            }
            if let Some(pause) = this.pause.as_mut() {
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            return Poll::Ready(Some(Err(std::io::Error::other(
                "fault injection: response cut short",
            ))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) => {
                    let take = usize::try_from(this.left).unwrap_or(usize::MAX);
                    if data.len() > take {
                        data.truncate(take);
                    }
                    this.left -= data.len() as u64;
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            // The body ended before the limit: end it cut anyway (the limit is never reached).
            Poll::Ready(None) => {
                this.left = 0;
                Pin::new(this).poll_frame(cx)
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Corrupts a checksum header in place, if the response has it: the first hex digit of the
/// `ETag` changes; the decimal `x-cos-hash-crc64ecma` has its lowest bit flipped.
pub fn corrupt(headers: &mut HeaderMap, field: Checksum) {
    let name = match field {
        Checksum::Etag => http::header::ETAG.as_str(),
        Checksum::Crc64 => "x-cos-hash-crc64ecma",
    };
    let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let corrupted = match field {
        Checksum::Etag => {
            let mut chars: Vec<char> = value.chars().collect();
            if let Some(c) = chars.iter_mut().find(|c| c.is_ascii_hexdigit()) {
                *c = if *c == '0' { '1' } else { '0' };
            }
            chars.into_iter().collect()
        }
        Checksum::Crc64 => match value.parse::<u64>() {
            Ok(crc) => (crc ^ 1).to_string(),
            Err(_) => return,
        },
    };
    if let Ok(v) = HeaderValue::from_str(&corrupted) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body;
    use http_body_util::BodyExt;

    #[test]
    fn corruption_changes_exactly_the_named_checksum() {
        let mut h = HeaderMap::new();
        h.insert(
            "etag",
            HeaderValue::from_static("\"d41d8cd98f00b204e9800998ecf8427e\""),
        );
        h.insert("x-cos-hash-crc64ecma", HeaderValue::from_static("12"));
        corrupt(&mut h, Checksum::Etag);
        assert_eq!(h["etag"], "\"041d8cd98f00b204e9800998ecf8427e\"");
        assert_eq!(h["x-cos-hash-crc64ecma"], "12");
        corrupt(&mut h, Checksum::Crc64);
        assert_eq!(h["x-cos-hash-crc64ecma"], "13");
        let mut multipart = HeaderMap::new();
        multipart.insert("etag", HeaderValue::from_static("\"ab-2\""));
        corrupt(&mut multipart, Checksum::Etag);
        assert_eq!(multipart["etag"], "\"0b-2\"");
    }

    #[tokio::test]
    async fn counted_bodies_add_up_their_bytes() {
        let count = Arc::new(AtomicU64::new(0));
        let got = Counted::new(body::full("hello"), count.clone())
            .collect()
            .await
            .map(|c| c.to_bytes());
        assert_eq!(got.ok(), Some(Bytes::from("hello")));
        assert_eq!(count.load(Ordering::Relaxed), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_bodies_take_as_long_as_their_rate_says() {
        let start = tokio::time::Instant::now();
        let got = Throttled::new(body::full(vec![7u8; 1000]), 500)
            .collect()
            .await
            .map(|c| c.to_bytes().len());
        assert_eq!(got.ok(), Some(1000));
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cut_bodies_send_their_limit_then_fail_keeping_the_size_hint() {
        let cut = Cut::truncate(body::full(vec![1u8; 100]), 10);
        assert_eq!(cut.size_hint().exact(), Some(100));
        let mut cut = cut;
        let first = cut
            .frame()
            .await
            .and_then(Result::ok)
            .and_then(|f| f.into_data().ok());
        assert_eq!(first.map(|d| d.len()), Some(10));
        assert!(matches!(cut.frame().await, Some(Err(_))));

        let start = tokio::time::Instant::now();
        let mut stalled = Cut::stall(body::full(vec![1u8; 100]), 0, Duration::from_secs(30));
        assert!(matches!(stalled.frame().await, Some(Err(_))));
        assert!(start.elapsed() >= Duration::from_secs(30));
    }
}
