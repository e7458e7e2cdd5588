//! One MD5 thread for every body being ingested at once, hashing them together in SIMD lanes.
//!
//! COS answers every PUT and UploadPart with the body's MD5, and MD5 is serial within a body,
//! so a thread per body made N concurrent bodies cost N cores of MD5. Independent bodies can
//! share one core instead: this service takes the chunks of all of them and feeds the ones
//! that are waiting to [`Lanes`] together (on an AVX-512 or AVX2 CPU, 4 bodies hash at about
//! 3x and 8 at about 6x the single-stream rate on one core).
//!
//! A round ([`Lanes::step`]) takes whatever is queued *now* and never waits for more company:
//! a lone body is hashed at once with the single-stream kernel, exactly as fast as a thread
//! of its own. Within a round every body advances by the same whole number of 64-byte blocks
//! (the shortest queued run), the shape `md5-many` hashes fastest; what is left of a chunk
//! goes in the next round. Each body may have [`QUEUE_CHUNKS`] chunks queued, so a body cannot
//! run ahead of its hashing and memory stays bounded.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use vod_protocol::checksum::md5::{Lanes, Md5};

/// Bytes a body advances by per round at most: a body that comes while another is being
/// hashed joins it in the lanes within a fraction of a millisecond, rather than after a
/// whole chunk (with one-chunk bodies, 1 MiB parts, two thirds of the MD5 time was the
/// single-stream kernel).
const STEP: usize = 256 * 1024;

/// Chunks a body may have queued for hashing before its sender waits (of 1 MiB: ingest's
/// chunks are large, so that hand-overs are few).
const QUEUE_CHUNKS: usize = 2;

/// The hashing thread has gone (it only stops when the process is shutting down, or if it
/// panicked).
#[derive(Debug, thiserror::Error)]
#[error("the MD5 service has stopped")]
pub struct Stopped;

/// Handle on the service; cheap to clone. The thread starts with the first stream (so
/// start-up pays nothing) and stops when the last handle and the last stream are dropped.
#[derive(Debug, Clone, Default)]
pub struct Md5Lanes {
    /// The thread's inbox, once started. A `Mutex` from `std`: it is held for a clone, never
    /// across an `.await`.
    tx: Arc<Mutex<Option<mpsc::Sender<Msg>>>>,
    next_id: Arc<AtomicU64>,
}

enum Msg {
    Chunk {
        id: u64,
        data: Bytes,
        /// Frees the body's queue slot when the chunk has been hashed (dropped).
        permit: OwnedSemaphorePermit,
    },
    Finish {
        id: u64,
        reply: oneshot::Sender<[u8; 16]>,
    },
    Abandon {
        id: u64,
    },
}

impl Md5Lanes {
    /// A new stream: one body's MD5.
    ///
    /// # Errors
    /// The hashing thread could not be started.
    pub fn stream(&self) -> std::io::Result<Md5Stream> {
        let tx = {
            let mut inbox = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
            match &*inbox {
                Some(tx) => tx.clone(),
                None => {
                    let (tx, rx) = mpsc::channel();
                    let lanes = Lanes::detect();
                    std::thread::Builder::new()
                        .name("md5-lanes".into())
                        .spawn(move || Service::new(lanes).run(&rx))?;
                    inbox.insert(tx).clone()
                }
            }
        };
        Ok(Md5Stream {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            tx,
            queue: Arc::new(Semaphore::new(QUEUE_CHUNKS)),
            finished: false,
        })
    }
}

/// One body's MD5, computed by the service; dropping it unfinished forgets the body.
#[derive(Debug)]
pub struct Md5Stream {
    id: u64,
    tx: mpsc::Sender<Msg>,
    queue: Arc<Semaphore>,
    finished: bool,
}

impl Md5Stream {
    /// Queues the body's next bytes, waiting while [`QUEUE_CHUNKS`] are queued already.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn update(&self, data: Bytes) -> Result<(), Stopped> {
        let permit = Arc::clone(&self.queue)
            .acquire_owned()
            .await
            .map_err(|_| Stopped)?;
        self.tx
            .send(Msg::Chunk {
                id: self.id,
                data,
                permit,
            })
            .map_err(|_| Stopped)
    }

    /// The MD5 of all bytes queued, once they are hashed.
    ///
    /// # Errors
    /// The service has stopped.
    pub async fn finish(mut self) -> Result<[u8; 16], Stopped> {
        self.finished = true;
        let (reply, digest) = oneshot::channel();
        self.tx
            .send(Msg::Finish { id: self.id, reply })
            .map_err(|_| Stopped)?;
        digest.await.map_err(|_| Stopped)
    }
}

impl Drop for Md5Stream {
    fn drop(&mut self) {
        if !self.finished {
            // The service may be gone already; then there is nothing to forget.
            let _ = self.tx.send(Msg::Abandon { id: self.id });
        }
    }
}

/// A body's queued bytes and MD5 so far, on the service thread.
#[derive(Default)]
struct Stream {
    md5: Md5,
    /// Chunks not hashed yet; the first from `offset` on.
    queue: VecDeque<(Bytes, OwnedSemaphorePermit)>,
    offset: usize,
    finish: Option<oneshot::Sender<[u8; 16]>>,
}

impl Stream {
    fn pending(&self) -> &[u8] {
        self.queue
            .front()
            .map_or(&[][..], |(chunk, _)| &chunk[self.offset..])
    }

    fn advance(&mut self, n: usize) {
        self.offset += n;
        if self
            .queue
            .front()
            .is_some_and(|(c, _)| self.offset >= c.len())
        {
            self.queue.pop_front();
            self.offset = 0;
        }
    }
}

/// The service thread's state.
struct Service {
    lanes: Lanes,
    streams: HashMap<u64, Stream>,
}

impl Service {
    fn new(lanes: Lanes) -> Self {
        Self {
            lanes,
            streams: HashMap::new(),
        }
    }

    /// Hashes until every sender is gone.
    fn run(mut self, rx: &mpsc::Receiver<Msg>) {
        loop {
            if !self.has_work() {
                match rx.recv() {
                    Ok(msg) => self.apply(msg),
                    Err(mpsc::RecvError) => return,
                }
            }
            while let Ok(msg) = rx.try_recv() {
                self.apply(msg);
            }
            self.round();
            self.reply_finished();
        }
    }

    fn has_work(&self) -> bool {
        self.streams.values().any(|s| !s.queue.is_empty())
    }

    fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Chunk { data, .. } if data.is_empty() => {}
            Msg::Chunk { id, data, permit } => {
                self.streams
                    .entry(id)
                    .or_default()
                    .queue
                    .push_back((data, permit));
            }
            Msg::Finish { id, reply } => self.streams.entry(id).or_default().finish = Some(reply),
            Msg::Abandon { id } => {
                self.streams.remove(&id);
            }
        }
    }

    /// One [`Lanes::step`] for every stream with bytes queued.
    fn round(&mut self) {
        let mut ids = Vec::new();
        let mut states: Vec<Md5> = Vec::new();
        let mut inputs: Vec<&[u8]> = Vec::new();
        for (id, stream) in &self.streams {
            if !stream.pending().is_empty() {
                ids.push(*id);
                states.push(stream.md5);
                inputs.push(stream.pending());
            }
        }
        let taken = self.lanes.step(&mut states, &inputs, STEP);
        for ((id, md5), n) in ids.iter().zip(states).zip(taken) {
            if let Some(stream) = self.streams.get_mut(id) {
                stream.md5 = md5;
                stream.advance(n);
            }
        }
    }

    /// Answers the streams that asked for their digest and have nothing left to hash.
    fn reply_finished(&mut self) {
        self.streams.retain(|_, stream| {
            if !stream.queue.is_empty() {
                return true;
            }
            match stream.finish.take() {
                Some(reply) => {
                    let _ = reply.send(stream.md5.finalize());
                    false
                }
                None => true,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use md5::Digest;
    use proptest::prelude::*;

    fn reference(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
    }

    /// Bodies of random lengths, each cut into random chunks.
    fn arb_bodies() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
        let body = prop::collection::vec(any::<u8>(), 0..20_000).prop_flat_map(|bytes| {
            let len = bytes.len();
            (Just(bytes), prop::collection::vec(0..=len, 0..6)).prop_map(|(bytes, mut cuts)| {
                cuts.extend([0, bytes.len()]);
                cuts.sort_unstable();
                cuts.windows(2)
                    .map(|w| bytes[w[0]..w[1]].to_vec())
                    .collect()
            })
        });
        prop::collection::vec(body, 1..12)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Bodies hashed concurrently through the service get `md-5`'s digests.
        #[test]
        fn concurrent_bodies_get_md5_reference_digests(bodies in arb_bodies()) {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap();
            let service = Md5Lanes::default();
            let digests = rt.block_on(async {
                let tasks: Vec<_> = bodies
                    .iter()
                    .cloned()
                    .map(|chunks| {
                        let stream = service.stream().unwrap();
                        tokio::spawn(async move {
                            for chunk in chunks {
                                stream.update(Bytes::from(chunk)).await.unwrap();
                                tokio::task::yield_now().await;
                            }
                            stream.finish().await.unwrap()
                        })
                    })
                    .collect();
                let mut digests = Vec::new();
                for t in tasks {
                    digests.push(t.await.unwrap());
                }
                digests
            });
            for (digest, chunks) in digests.iter().zip(&bodies) {
                prop_assert_eq!(*digest, reference(&chunks.concat()));
            }
        }
    }

    /// A body is hashed and answered while another body sits idle with a chunk of its own
    /// queued and more to come: no stream waits for company.
    #[tokio::test]
    async fn a_lone_body_never_waits_for_company() {
        let service = Md5Lanes::default();
        let idle = service.stream().unwrap();
        idle.update(Bytes::from_static(&[7; 1000])).await.unwrap();
        let busy = service.stream().unwrap();
        let body = vec![42u8; 300_000];
        busy.update(Bytes::from(body.clone())).await.unwrap();
        let digest = tokio::time::timeout(std::time::Duration::from_secs(20), busy.finish())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(digest, reference(&body));
        idle.update(Bytes::from_static(&[8; 10])).await.unwrap();
        let expected = reference(&[&[7u8; 1000][..], &[8; 10]].concat());
        assert_eq!(idle.finish().await.unwrap(), expected);
    }

    /// An abandoned body (a request cut off mid-way) is forgotten without disturbing the
    /// others.
    #[tokio::test]
    async fn an_abandoned_body_is_forgotten() {
        let service = Md5Lanes::default();
        let gone = service.stream().unwrap();
        gone.update(Bytes::from_static(b"half a body"))
            .await
            .unwrap();
        drop(gone);
        let kept = service.stream().unwrap();
        kept.update(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(
            hex::encode(kept.finish().await.unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
