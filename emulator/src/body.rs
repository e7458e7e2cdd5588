//! Response bodies: one boxed type for small in-memory bodies and streamed object bytes alike;
//! and the request body every handler receives, which keeps its client to a pace.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Slowest average rate, in bytes per second, at which a client may send a request body, over
/// the time the emulator waits for it and with `client_timeout` of slack (Apache
/// mod_reqtimeout's `MinRate=500`): a body may not trickle for ever, one byte at a time.
pub const MIN_BODY_RATE: u64 = 500;

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

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed or the body was malformed.
    #[error(transparent)]
    Read(#[from] hyper::Error),
    /// The client stalled for the client timeout, or fell below [`MIN_BODY_RATE`].
    #[error("the client stalled or sent the request body too slowly")]
    TimedOut,
}

/// Whether `err` (or an error it wraps, `std::io::Error`s included) is
/// [`BodyError::TimedOut`].
pub fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if matches!(e.downcast_ref::<BodyError>(), Some(BodyError::TimedOut)) {
            return true;
        }
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        if let Some(inner) = wrapped {
            if timed_out(inner) {
                return true;
            }
        }
        current = e.source();
    }
    false
}

/// How long the emulator has waited for a request body and how many bytes came: the time only
/// the client is to blame for (a handler busy elsewhere, or a throttle fault, is not waiting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    waited: Duration,
    received: u64,
}

impl Pace {
    /// How long the next wait may last: never more than `timeout` (a stall), and never past a
    /// total wait of `timeout` plus one second per [`MIN_BODY_RATE`] bytes received (a body
    /// that trickles one byte at a time, each within the timeout, still ends).
    pub fn allowance(&self, timeout: Duration) -> Duration {
        let earned_nanos = u128::from(self.received) * 1_000_000_000 / u128::from(MIN_BODY_RATE);
        let earned = Duration::from_nanos(u64::try_from(earned_nanos).unwrap_or(u64::MAX));
        timeout
            .saturating_add(earned)
            .saturating_sub(self.waited)
            .min(timeout)
    }

    /// Notes a wait that ended with `bytes` more bytes.
    pub fn record(&mut self, waited: Duration, bytes: u64) {
        self.waited = self.waited.saturating_add(waited);
        self.received = self.received.saturating_add(bytes);
    }
}

/// The request body every handler receives: hyper's body, noting whether it was read to the
/// end, and failing with [`BodyError::TimedOut`] when its client keeps the emulator waiting
/// longer than [`Pace::allowance`] gives. A response to a request whose body was left unread
/// must close the connection (the client cannot know the server will not read it), so
/// [`crate::server`] adds `Connection: close` then.
#[derive(Debug)]
pub struct RequestBody {
    inner: hyper::body::Incoming,
    finished: Arc<AtomicBool>,
    timeout: Duration,
    pace: Pace,
    /// When the current wait began (the inner body last answered `Pending`).
    waiting_since: Option<Instant>,
    /// The end of the current wait's allowance; one timer, reset for each wait.
    deadline: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl RequestBody {
    /// Wraps a body whose client may stall for `timeout`; the returned flag turns true once it
    /// has been read to the end.
    pub fn new(inner: hyper::body::Incoming, timeout: Duration) -> (Self, Arc<AtomicBool>) {
        use http_body::Body as _;
        let finished = Arc::new(AtomicBool::new(inner.is_end_stream()));
        (
            Self {
                inner,
                finished: Arc::clone(&finished),
                timeout,
                pace: Pace::default(),
                waiting_since: None,
                deadline: None,
                timed_out: false,
            },
            finished,
        )
    }

    /// A wait goes on: arms the deadline when it begins; `true` once it has passed.
    fn wait_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let now = Instant::now();
        if self.waiting_since.is_none() {
            self.waiting_since = Some(now);
            let until = now + self.pace.allowance(self.timeout);
            match &mut self.deadline {
                Some(timer) => timer.as_mut().reset(until),
                None => self.deadline = Some(Box::pin(tokio::time::sleep_until(until))),
            }
        }
        self.deadline
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready())
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.timed_out {
            return Poll::Ready(Some(Err(BodyError::TimedOut)));
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let Poll::Ready(polled) = polled else {
            if self.wait_expired(cx) {
                self.timed_out = true;
                return Poll::Ready(Some(Err(BodyError::TimedOut)));
            }
            return Poll::Pending;
        };
        let waited = self
            .waiting_since
            .take()
            .map_or(Duration::ZERO, |since| since.elapsed());
        let bytes = match &polled {
            Some(Ok(frame)) => frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => 0,
        };
        self.pace.record(waited, bytes);
        if polled.is_none() || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Relaxed);
        }
        Poll::Ready(polled.map(|frame| frame.map_err(BodyError::from)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stall may last the whole timeout; bytes received earn more total waiting time at
    /// [`MIN_BODY_RATE`], but never a longer single stall.
    #[test]
    fn a_body_may_stall_for_the_timeout_and_must_keep_the_minimum_rate() {
        let timeout = Duration::from_secs(30);
        let mut pace = Pace::default();
        assert_eq!(pace.allowance(timeout), timeout);
        pace.record(Duration::from_secs(12), 1);
        assert_eq!(pace.allowance(timeout), Duration::from_millis(18_002));
        pace.record(Duration::from_secs(12), 1);
        assert_eq!(pace.allowance(timeout), Duration::from_millis(6_004));
        pace.record(Duration::from_secs(12), 1);
        assert_eq!(pace.allowance(timeout), Duration::ZERO, "a trickle ends");
        let mut fast = Pace::default();
        fast.record(Duration::from_secs(1), 10 * MIN_BODY_RATE);
        assert_eq!(
            fast.allowance(timeout),
            timeout,
            "a stall is still one timeout"
        );
        let mut steady = Pace::default();
        for _ in 0..1000 {
            steady.record(Duration::from_secs(1), MIN_BODY_RATE);
        }
        assert_eq!(
            steady.allowance(timeout),
            timeout,
            "the minimum rate holds forever"
        );
    }
}
