//! The one S3 client every server gets: unsigned, path style (`{base}/{bucket}/{key}`), over
//! one reqwest connection pool. It does only what the figures need, the same way for each
//! server, so differences in the table come from the servers.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vod_protocol::wire::cos::{
    from_xml, to_xml, CompleteMultipartUpload, CompletePart, InitiateMultipartUploadResult,
};

/// Size of the chunks a streamed PUT reads from its file.
const CHUNK: usize = 1024 * 1024;

/// A bucket on one server.
#[derive(Debug, Clone)]
pub struct S3 {
    http: reqwest::Client,
    base: String,
    bucket: String,
}

impl S3 {
    /// A client for `bucket` at `base` (e.g. `http://127.0.0.1:9000`).
    pub fn new(http: reqwest::Client, base: &str, bucket: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            bucket: bucket.to_owned(),
        }
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{}/{key}", self.base, self.bucket)
    }

    /// `PUT /{bucket}`: the peers start empty.
    pub async fn create_bucket(&self) -> Result<()> {
        let resp = self
            .http
            .put(format!("{}/{}", self.base, self.bucket))
            .send()
            .await?;
        checked("PUT bucket", resp).await.map(drop)
    }

    /// PutObject of the first `len` bytes of `file`, streamed from disk with its length.
    pub async fn put_file(&self, key: &str, file: &Path, len: u64) -> Result<()> {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        let path = file.to_path_buf();
        std::thread::spawn(move || read_chunks(&path, len, &tx));
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        let resp = self
            .http
            .put(self.url(key))
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await?;
        checked("PutObject", resp).await.map(drop)
    }

    /// A multipart upload of `file` in `part_size` parts, `in_flight` at once.
    pub async fn multipart_file(
        &self,
        key: &str,
        file: &Path,
        len: u64,
        part_size: u64,
        in_flight: usize,
    ) -> Result<()> {
        let count = u32::try_from(len.div_ceil(part_size))?;
        let file = file.to_path_buf();
        let body = move |n: u32| {
            let file = file.clone();
            async move {
                let offset = u64::from(n - 1) * part_size;
                let size = part_size.min(len - offset);
                tokio::task::spawn_blocking(move || read_at(&file, offset, size)).await?
            }
        };
        let id = self.initiate(key).await?;
        let parts = self.upload_parts(key, &id, count, in_flight, body).await?;
        self.complete(key, &id, parts).await.map(drop)
    }

    /// A multipart upload of `count` copies of `part`, `in_flight` at once; returns how long
    /// CompleteMultipartUpload alone took.
    pub async fn multipart_repeated(
        &self,
        key: &str,
        part: Bytes,
        count: u32,
        in_flight: usize,
    ) -> Result<Duration> {
        let id = self.initiate(key).await?;
        let body = move |_| {
            let part = part.clone();
            async move { Ok(part) }
        };
        let parts = self.upload_parts(key, &id, count, in_flight, body).await?;
        self.complete(key, &id, parts).await
    }

    /// GetObject, streamed and discarded; returns the byte count and their CRC-64.
    pub async fn get(&self, key: &str) -> Result<(u64, u64)> {
        let resp = checked("GetObject", self.http.get(self.url(key)).send().await?).await?;
        let mut crc = crc64fast::Digest::new();
        let mut n = 0u64;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.try_next().await? {
            crc.write(&chunk);
            n += chunk.len() as u64;
        }
        Ok((n, crc.sum64()))
    }

    async fn initiate(&self, key: &str) -> Result<String> {
        let resp = self
            .http
            .post(format!("{}?uploads", self.url(key)))
            .send()
            .await?;
        let text = checked("InitiateMultipartUpload", resp)
            .await?
            .text()
            .await?;
        let result: InitiateMultipartUploadResult =
            from_xml(&text).with_context(|| format!("InitiateMultipartUpload answered {text}"))?;
        Ok(result.upload_id)
    }

    async fn upload_parts<F, Fut>(
        &self,
        key: &str,
        upload_id: &str,
        count: u32,
        in_flight: usize,
        body: F,
    ) -> Result<Vec<CompletePart>>
    where
        F: Fn(u32) -> Fut,
        Fut: Future<Output = Result<Bytes>>,
    {
        let url = self.url(key);
        let mut parts: Vec<CompletePart> = futures_util::stream::iter(1..=count)
            .map(|n| {
                let part = body(n);
                let url = &url;
                async move {
                    let resp = self
                        .http
                        .put(format!("{url}?partNumber={n}&uploadId={upload_id}"))
                        .body(part.await?)
                        .send()
                        .await?;
                    let resp = checked("UploadPart", resp).await?;
                    let etag = resp
                        .headers()
                        .get(reqwest::header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .context("UploadPart answered no ETag")?;
                    Ok::<_, anyhow::Error>(CompletePart {
                        part_number: n,
                        etag: etag.to_owned(),
                    })
                }
            })
            .buffer_unordered(in_flight)
            .try_collect()
            .await?;
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletePart>,
    ) -> Result<Duration> {
        let xml = to_xml(&CompleteMultipartUpload { parts })?;
        let started = Instant::now();
        let resp = self
            .http
            .post(format!("{}?uploadId={upload_id}", self.url(key)))
            .body(xml)
            .send()
            .await?;
        let text = checked("CompleteMultipartUpload", resp)
            .await?
            .text()
            .await?;
        let took = started.elapsed();
        if text.contains("<Error>") {
            bail!("CompleteMultipartUpload answered 200 with an error: {text}");
        }
        Ok(took)
    }
}

/// `resp` when it is a success, else an error with its status and the start of its body.
pub async fn checked(what: &str, resp: reqwest::Response) -> Result<reqwest::Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    bail!(
        "{what} answered {status}: {}",
        text.chars().take(300).collect::<String>()
    )
}

/// Feeds the first `len` bytes of `path` to `tx` in [`CHUNK`]s (on a plain thread, so disk
/// reads never wait on the async runtime).
fn read_chunks(path: &PathBuf, len: u64, tx: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f.take(len),
        Err(e) => {
            let _ = tx.blocking_send(Err(e));
            return;
        }
    };
    loop {
        let mut buf = vec![0u8; CHUNK];
        match read_full(&mut file, &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}

/// Reads until `buf` is full or the reader ends; the count read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `size` bytes of `path` from `offset`.
fn read_at(path: &Path, offset: u64, size: u64) -> Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; usize::try_from(size)?];
    std::fs::File::open(path)?.read_exact_at(&mut buf, offset)?;
    Ok(Bytes::from(buf))
}
