//! Streams a request body to a blob file while computing MD5 and CRC-64 on the fly.
//!
//! The body is never held whole in memory. Frames are gathered into aligned chunks that go,
//! through bounded queues, to two consumers working in parallel: the emulator's one MD5
//! service ([`Md5Lanes`], which hashes every body in flight together in SIMD lanes; the MD5
//! is the ETag, and the bound of a single-stream PUT), and a thread of the body's own for the
//! CRC-64 and the disk write (direct I/O straight from the chunk). The chunks waiting for
//! disk share one budget across all bodies ([`Ingestion`]). Dedicated threads rather than
//! tokio's blocking pool, so that many concurrent uploads can never starve each other of
//! workers. A body that is too large, truncated, or whose Content-MD5 does not match leaves
//! nothing behind.

use super::chunks::ChunkPool;
use super::md5_lanes::{Md5Lanes, Md5Stream};
use crate::error::{CosCode, CosError};
use crate::store::Blobs;
use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use vod_protocol::checksum::Crc64;

pub use vod_protocol::wire::cos::MAX_OBJECT_BYTES;

/// Chunks waiting for the disk, across every body being ingested: enough to ride out a slow
/// direct write (the VM's disk stalls for milliseconds now and then, and a stalled writer
/// stops the receiving, which starves the MD5; a lone PUT went 10% faster with 16 MiB of
/// slack than with 2 MiB), and one budget for all so that memory stays bounded however many
/// bodies come at once. A chunk queued for disk may also sit in the MD5 service's queue of
/// its body (2 at most): the same bytes, shared.
const DISK_QUEUE_CHUNKS: usize = 16;

/// What every ingest shares: the MD5 service, the budget of chunks waiting for disk, and
/// the chunk buffers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ingestion {
    md5_lanes: Md5Lanes,
    disk_queue: Arc<Semaphore>,
    chunks: Arc<ChunkPool>,
}

impl Default for Ingestion {
    fn default() -> Self {
        Self {
            md5_lanes: Md5Lanes::default(),
            disk_queue: Arc::new(Semaphore::new(DISK_QUEUE_CHUNKS)),
            chunks: Arc::default(),
        }
    }
}

/// The most chunks the disk writer takes in one go (one vectored write): 4 MiB, the largest
/// request the block layer commonly passes down whole.
const WRITE_CHUNKS: usize = 4;

/// A body safely on disk.
#[derive(Debug)]
pub struct Ingested {
    /// Blob name.
    pub blob: String,
    /// Bytes received.
    pub size: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// CRC-64/XZ of the bytes.
    pub crc64: u64,
}

/// Reads `body` into a new blob, checking size limits and `Content-MD5`; a client that stalls
/// or trickles (the request body's [`crate::body::Pace`]) is cut off with `RequestTimeout`. A
/// request with neither `Content-Length` nor a (chunked) `Transfer-Encoding` is refused with
/// `MissingContentLength` before anything is read: HTTP gives it an empty body, which would
/// store an empty object or part the client never meant.
pub async fn ingest<B>(
    blobs: &Blobs,
    ingestion: &Ingestion,
    headers: &HeaderMap,
    body: B,
) -> Result<Ingested, CosError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error + 'static,
{
    let declared = match headers.get(http::header::CONTENT_LENGTH) {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| {
                    CosError::with_message(CosCode::InvalidArgument, "invalid Content-Length")
                })?,
        ),
        None if headers.contains_key(http::header::TRANSFER_ENCODING) => None,
        None => return Err(CosError::new(CosCode::MissingContentLength)),
    };
    if declared.is_some_and(|n| n > MAX_OBJECT_BYTES) {
        return Err(CosError::new(CosCode::EntityTooLarge));
    }
    let expected_md5 = match headers.get("content-md5") {
        Some(v) => Some(parse_content_md5(v.as_bytes())?),
        None => None,
    };
    let writer = blobs.create()?;
    let md5 = ingestion.md5_lanes.stream()?;
    let (disk_tx, disk_done) = spawn_worker(
        "blob-writer",
        (writer, Crc64::new()),
        |(w, crc), chunks: &[&[u8]]| {
            for chunk in chunks {
                crc.update(chunk);
            }
            w.write_all_of(chunks)
        },
    )?;
    let disk = DiskQueue {
        tx: disk_tx,
        budget: Arc::clone(&ingestion.disk_queue),
    };
    let mut body = body;
    let mut size: u64 = 0;
    let mut chunk = ingestion.chunks.take();
    'frames: loop {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| {
            if crate::body::timed_out(&e) {
                CosError::new(CosCode::RequestTimeout)
            } else {
                CosError::with_message(
                    CosCode::IncompleteBody,
                    format!("the request body could not be read: {e}"),
                )
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size += data.len() as u64;
        if size > MAX_OBJECT_BYTES {
            return Err(CosError::new(CosCode::EntityTooLarge));
        }
        let mut data = &data[..];
        while !data.is_empty() {
            data = chunk.fill(data);
            if chunk.is_full() {
                let full = std::mem::replace(&mut chunk, ingestion.chunks.take());
                if !hand_over(&md5, &disk, full.freeze()).await {
                    break 'frames;
                }
            }
        }
    }
    if !chunk.is_empty() {
        hand_over(&md5, &disk, chunk.freeze()).await;
    }
    drop(disk);
    let md5 = md5.finish().await.map_err(std::io::Error::other)?;
    let (writer, crc) = finished(disk_done).await?;
    if declared.is_some_and(|n| n != size) {
        return Err(CosError::new(CosCode::IncompleteBody));
    }
    if expected_md5.is_some_and(|e| e != md5) {
        return Err(CosError::new(CosCode::BadDigest));
    }
    let blob = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(Ingested {
        blob,
        size,
        md5,
        crc64: crc.finish(),
    })
}

type Done<S> = oneshot::Receiver<std::io::Result<S>>;

/// A chunk for the disk writer, holding its place in the shared budget until it is written.
type Queued = (Bytes, OwnedSemaphorePermit);

/// One body's way to its disk writer.
struct DiskQueue {
    tx: mpsc::UnboundedSender<Queued>,
    budget: Arc<Semaphore>,
}

impl DiskQueue {
    /// Queues a chunk once the budget has room; `false` when the writer has stopped.
    async fn send(&self, chunk: Bytes) -> bool {
        match Arc::clone(&self.budget).acquire_owned().await {
            Ok(permit) => self.tx.send((chunk, permit)).is_ok(),
            Err(_) => false,
        }
    }
}

/// Gives a chunk to both consumers; `false` when one has stopped (its error is reported when
/// its result is collected).
async fn hand_over(md5: &Md5Stream, disk: &DiskQueue, chunk: Bytes) -> bool {
    md5.update(chunk.clone()).await.is_ok() && disk.send(chunk).await
}

/// Starts a thread that folds the chunks it receives into `state` with `step`, all those
/// waiting at once in one call (up to [`WRITE_CHUNKS`]), and hands the state back when the
/// sender is dropped (or the first error). The queue is bounded by the budget its chunks hold.
fn spawn_worker<S, F>(
    name: &str,
    mut state: S,
    step: F,
) -> std::io::Result<(mpsc::UnboundedSender<Queued>, Done<S>)>
where
    S: Send + 'static,
    F: Fn(&mut S, &[&[u8]]) -> std::io::Result<()> + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Queued>();
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("ingest-{name}"))
        .spawn(move || {
            let mut result = Ok(());
            while let Some(first) = rx.blocking_recv() {
                let mut batch = vec![first];
                while batch.len() < WRITE_CHUNKS {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let chunks: Vec<&[u8]> = batch.iter().map(|(data, _budget)| &data[..]).collect();
                if let Err(e) = step(&mut state, &chunks) {
                    result = Err(e);
                    break;
                }
            }
            let _ = done_tx.send(result.map(|()| state));
        })?;
    Ok((tx, done_rx))
}

async fn finished<S>(done: Done<S>) -> Result<S, CosError> {
    Ok(done
        .await
        .map_err(|_| std::io::Error::other("ingest worker died"))??)
}

/// `Content-MD5`: base64 of exactly 16 bytes.
pub(crate) fn parse_content_md5(value: &[u8]) -> Result<[u8; 16], CosError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| CosError::new(CosCode::InvalidDigest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_must_be_base64_of_sixteen_bytes() {
        assert_eq!(
            parse_content_md5(b"mQ/fVh815F3k6TAUm8m0eg==").map(|m| m[0]),
            Ok(0x99)
        );
        assert_eq!(
            parse_content_md5(b"not base64!").map_err(|e| e.code),
            Err(CosCode::InvalidDigest)
        );
        assert_eq!(
            parse_content_md5(b"AAAA").map_err(|e| e.code),
            Err(CosCode::InvalidDigest)
        );
    }
}
