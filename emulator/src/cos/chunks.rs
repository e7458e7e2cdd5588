//! The buffers ingest gathers request bodies into: aligned for direct I/O, and reused.
//!
//! A body is cut into chunks of [`CHUNK_BYTES`] that start at [`DIRECT_IO_ALIGN`]ed addresses,
//! so that the disk writer can hand them to direct I/O as they are. Allocating every chunk
//! afresh cost a page fault per 4 KiB, about 100,000 per GiB ingested (the allocator gave
//! the freed chunks back to the kernel between uses), all of them on the thread that receives
//! the body. The pool keeps freed buffers instead: a chunk goes back to it when its last
//! reference, in the MD5 service or the disk writer, is dropped.

use crate::store::DIRECT_IO_ALIGN;
use bytes::Bytes;
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes per chunk (the last of a body may be shorter): a whole number of MD5 blocks, which
/// keeps the MD5 lanes in lockstep, and of [`DIRECT_IO_ALIGN`] blocks. Large, because every
/// hand-over to the MD5 service and the disk writer costs channel operations and thread
/// wake-ups, which in a VM are costly.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// Freed buffers the pool keeps; more are released. About as many as can be in use at once
/// during heavy ingest (the disk writers' shared budget, and the MD5 queues).
const POOL_CHUNKS: usize = 24;

/// Free chunk buffers. Cheap to share.
#[derive(Debug, Default)]
pub struct ChunkPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl ChunkPool {
    /// An empty chunk, from the pool when it has one.
    pub fn take(self: &Arc<Self>) -> Chunk {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let buf = reused.unwrap_or_else(|| vec![0; CHUNK_BYTES + DIRECT_IO_ALIGN]);
        let start = buf.as_ptr().align_offset(DIRECT_IO_ALIGN);
        Chunk {
            buf,
            start,
            len: 0,
            pool: Arc::clone(self),
        }
    }

    fn give_back(&self, buf: Vec<u8>) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < POOL_CHUNKS {
            free.push(buf);
        }
    }
}

/// A chunk being filled; [`Chunk::freeze`] shares it. Its buffer goes back to the pool when
/// it is dropped.
#[derive(Debug)]
pub struct Chunk {
    buf: Vec<u8>,
    /// Where the aligned region starts in `buf`.
    start: usize,
    len: usize,
    pool: Arc<ChunkPool>,
}

impl Chunk {
    /// Copies what fits of `data`; returns the rest.
    pub fn fill<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let n = (CHUNK_BYTES - self.len).min(data.len());
        let at = self.start + self.len;
        self.buf[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        &data[n..]
    }

    /// Whether it holds [`CHUNK_BYTES`].
    pub fn is_full(&self) -> bool {
        self.len == CHUNK_BYTES
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk as shared bytes, which give the buffer back when the last clone is dropped.
    pub fn freeze(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_aligned_filled_in_order_and_reused() {
        let pool = Arc::new(ChunkPool::default());
        let mut chunk = pool.take();
        assert!(chunk.is_empty());
        let data = vod_testkit::bytes(CHUNK_BYTES + 10, 1);
        let rest = chunk.fill(&data[..100]);
        assert!(rest.is_empty());
        let rest = chunk.fill(&data[100..]);
        assert_eq!(rest, &data[CHUNK_BYTES..]);
        assert!(chunk.is_full());
        let bytes = chunk.freeze();
        assert_eq!(bytes.as_ptr().align_offset(DIRECT_IO_ALIGN), 0);
        assert!(bytes[..] == data[..CHUNK_BYTES]);
        let address = bytes.as_ptr();
        let clone = bytes.clone();
        drop(bytes);
        assert!(pool
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty());
        drop(clone);
        let again = pool.take();
        assert!(again.is_empty());
        assert_eq!(again.as_ref().as_ptr(), address, "the buffer came back");
    }

    #[test]
    fn the_pool_keeps_a_bounded_number_of_buffers() {
        let pool = Arc::new(ChunkPool::default());
        let chunks: Vec<Chunk> = (0..POOL_CHUNKS + 5).map(|_| pool.take()).collect();
        drop(chunks);
        assert_eq!(
            pool.free
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
            POOL_CHUNKS
        );
    }
}
