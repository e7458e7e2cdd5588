//! The Content-MD5 of the parts in flight, hashed together in SIMD lanes on one thread.
//!
//! Every part carries its Content-MD5 (COS then refuses a part damaged on the way before it
//! stores anything), and MD5 is serial within a part: hashing each part on a thread of its own
//! made `concurrency` parts cost `concurrency` cores. Parts are independent, so one thread
//! takes every part waiting at that moment and hashes them together through
//! [`Lanes`] (on an AVX2 or AVX-512 CPU 4 parts hash at about 3x the single-stream rate on
//! one core). It never waits for company: a lone part is hashed at once with the
//! single-stream kernel.

use crate::error::{Error, Result};
use bytes::Bytes;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use tokio::sync::oneshot;
use vod_protocol::checksum::md5::{Lanes, Md5};

/// A part waiting for its MD5.
struct Job {
    data: Bytes,
    reply: oneshot::Sender<[u8; 16]>,
}

/// Handle on the hashing thread; cheap to clone. The thread starts with the first part and
/// stops when the last handle is dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartMd5 {
    /// The thread's inbox, once started (a `std` mutex: held for a clone, never across an
    /// `.await`).
    tx: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
}

impl PartMd5 {
    /// The MD5 of `data`.
    pub(crate) async fn digest(&self, data: Bytes) -> Result<[u8; 16]> {
        let stopped = || Error::Invalid("the part MD5 thread has stopped".into());
        let tx = {
            let mut inbox = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
            match &*inbox {
                Some(tx) => tx.clone(),
                None => {
                    let (tx, rx) = mpsc::channel();
                    std::thread::Builder::new()
                        .name("part-md5".into())
                        .spawn(move || run(&rx))
                        .map_err(|e| Error::Invalid(format!("cannot start a thread: {e}")))?;
                    inbox.insert(tx).clone()
                }
            }
        };
        let (reply, digest) = oneshot::channel();
        tx.send(Job { data, reply }).map_err(|_| stopped())?;
        digest.await.map_err(|_| stopped())
    }
}

/// Hashes, until every handle is gone, the parts waiting at each moment: parts of equal length
/// (all but a file's last) together, in lanes.
fn run(rx: &mpsc::Receiver<Job>) {
    let lanes = Lanes::detect();
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        jobs.sort_by_key(|j| j.data.len());
        let mut digests = Vec::with_capacity(jobs.len());
        for same in jobs.chunk_by(|a, b| a.data.len() == b.data.len()) {
            let mut states = vec![Md5::new(); same.len()];
            let inputs: Vec<&[u8]> = same.iter().map(|j| &j.data[..]).collect();
            lanes.update(&mut states, &inputs);
            digests.extend(states.iter().map(Md5::finalize));
        }
        for (job, digest) in jobs.into_iter().zip(digests) {
            // The part's upload may have been given up meanwhile.
            let _ = job.reply.send(digest);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Parts hashed at once, of equal and unequal lengths, get their own MD5s.
    #[tokio::test]
    async fn parts_in_flight_get_their_own_md5() {
        let hasher = PartMd5::default();
        let parts: Vec<Bytes> = (0..9u8)
            .map(|i| Bytes::from(vec![i; if i == 8 { 1000 } else { 70_000 }]))
            .collect();
        let digests =
            futures_util::future::join_all(parts.iter().map(|p| hasher.digest(p.clone()))).await;
        for (part, digest) in parts.iter().zip(digests) {
            assert_eq!(digest.unwrap(), vod_protocol::checksum::md5::md5(part));
        }
    }
}
