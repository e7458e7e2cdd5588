//! `Uploader`: the whole server-side upload flow, done right.
//!
//! ApplyUpload → upload the media (and cover, and HLS/DASH segments) to COS with the session's
//! temporary credentials → CommitUpload. Small files go in one PutObject; larger ones in a
//! parallel multipart upload whose parts are read from disk one at a time per worker (memory is
//! bounded by `concurrency × part_size`, never by the file). Every part carries its Content-MD5;
//! the ETags and the final CRC-64 are checked against what COS reports. Transient failures are
//! retried with jittered backoff; expired credentials lead to a new ApplyUpload; an interrupted
//! upload resumes from the parts COS already has (see [`crate::checkpoint`]).

use crate::checkpoint::{self, Checkpoint};
use crate::checksum::{crc64_combine, Crc64};
use crate::cos::{CosClient, CosEndpoint, Stored};
use crate::error::{Error, Result};
use crate::part_md5::PartMd5;
use crate::retry::RetryPolicy;
use crate::vod::VodClient;
use crate::wire::cos::codes;
use crate::wire::media::{DescribeMediaInfosRequest, ParseStreamingManifestRequest};
use crate::wire::vod::{
    ApplyUploadRequest, ApplyUploadResponse, CommitUploadRequest, CommitUploadResponse,
};
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// COS's smallest part (every part but the last).
pub const MIN_PART_SIZE: u64 = crate::wire::cos::MIN_PART_BYTES;
/// COS's largest part count.
pub const MAX_PARTS: u64 = crate::wire::cos::MAX_PARTS as u64;
/// How many times expired credentials or sessions lead to a fresh ApplyUpload.
const MAX_REAPPLIES: u32 = 2;
/// A checkpoint whose credentials expire sooner than this is not resumed.
const RESUME_MARGIN_SECS: i64 = 120;

/// What to upload and how.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// MediaType; default: the file's extension.
    pub media_type: Option<String>,
    /// MediaName; default: the file name without extension.
    pub media_name: Option<String>,
    /// A cover image to upload with the media.
    pub cover: Option<PathBuf>,
    /// Task flow to run after the upload.
    pub procedure: Option<String>,
    /// Pass-through for the NewFileUpload event.
    pub source_context: Option<String>,
    /// Pass-through for the ProcedureStateChanged event.
    pub session_context: Option<String>,
    /// Category.
    pub class_id: Option<i64>,
    /// Storage region to force.
    pub storage_region: Option<String>,
    /// VOD application.
    pub sub_app_id: Option<u64>,
    /// Part size of multipart uploads (raised when a file would need more than 10000 parts).
    pub part_size: u64,
    /// Parts in flight at once.
    pub concurrency: usize,
    /// Files larger than this use multipart.
    pub multipart_threshold: u64,
    /// Continue an interrupted upload from its checkpoint file.
    pub resume: bool,
    /// Retries of each request.
    pub retry: RetryPolicy,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            media_type: None,
            media_name: None,
            cover: None,
            procedure: None,
            source_context: None,
            session_context: None,
            class_id: None,
            storage_region: None,
            sub_app_id: None,
            // 4 MiB x 4 measured fastest with the least memory among 4/8/16 MiB x 2/4/8
            // (benches/upload_vs_sdk.rs).
            part_size: 4 * MIN_PART_SIZE,
            concurrency: 4,
            multipart_threshold: 4 * MIN_PART_SIZE,
            resume: true,
            retry: RetryPolicy::default(),
        }
    }
}

/// What an upload produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UploadOutcome {
    /// The media's FileId.
    pub file_id: String,
    /// Playback URL.
    pub media_url: String,
    /// Cover URL, with a cover.
    pub cover_url: Option<String>,
    /// RequestId of the CommitUpload.
    pub request_id: String,
    /// Bytes sent to COS in this run.
    pub bytes_sent: u64,
    /// Parts found already stored and not sent again.
    pub parts_reused: u64,
}

/// Progress of an upload, for a UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A session was obtained (`resumed`: from the checkpoint).
    Session {
        /// Whether the session came from a checkpoint.
        resumed: bool,
    },
    /// All files and their total size are known.
    Planned {
        /// Bytes to upload across all files.
        total_bytes: u64,
    },
    /// More bytes are stored (sent, or found already stored).
    Bytes {
        /// Bytes done across all files.
        done: u64,
    },
    /// A part is stored.
    Part {
        /// Object key.
        key: String,
        /// Part number.
        number: u32,
        /// Whether it was already stored.
        reused: bool,
    },
    /// A request failed and will be retried.
    Retry {
        /// What failed.
        error: String,
        /// Retry number.
        attempt: u32,
    },
    /// The credentials or session expired; a new session is being applied for.
    Reapply,
    /// The upload is committed.
    Committed {
        /// The FileId.
        file_id: String,
    },
}

type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Uploads media files through VOD.
#[derive(Clone)]
pub struct Uploader {
    vod: VodClient,
    http: reqwest::Client,
    cos_endpoint: CosEndpoint,
    options: UploadOptions,
    progress: ProgressFn,
    /// Hashes the parts in flight together.
    part_md5: PartMd5,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("vod", &self.vod)
            .field("cos_endpoint", &self.cos_endpoint)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One file of an upload: where it is and where it goes.
#[derive(Debug, Clone)]
struct Item {
    path: PathBuf,
    key: String,
    size: u64,
}

/// Shared counters of one run.
struct Run {
    done: AtomicU64,
    sent: AtomicU64,
    reused: AtomicU64,
    progress: ProgressFn,
}

impl Uploader {
    /// An uploader with default options, sharing `http`'s connection pool with `vod`.
    pub fn new(vod: VodClient, http: reqwest::Client, cos_endpoint: CosEndpoint) -> Self {
        Self {
            vod,
            http,
            cos_endpoint,
            options: UploadOptions::default(),
            progress: Arc::new(|_| {}),
            part_md5: PartMd5::default(),
        }
    }

    /// Sets the options.
    pub fn with_options(mut self, options: UploadOptions) -> Self {
        self.options = options;
        self
    }

    /// Calls `f` with every progress event.
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Arc::new(f);
        self
    }

    /// Uploads `media` (with the configured cover) and commits it.
    ///
    /// # Errors
    /// A local file cannot be read, the service refuses, retries run out, or an integrity
    /// check fails. A multipart upload is aborted when the uploader gives up (not when the
    /// process is killed: then the next run resumes it).
    pub async fn upload(&self, media: &Path) -> Result<UploadOutcome> {
        let (size, modified) = checkpoint::fingerprint(media)?;
        let mut files = vec![media.to_path_buf()];
        let media_type = match &self.options.media_type {
            Some(t) => t.clone(),
            None => extension(media)?,
        };
        if matches!(media_type.to_ascii_lowercase().as_str(), "m3u8" | "mpd") {
            files.extend(self.segments(media, &media_type).await?);
        }
        if let Some(cover) = &self.options.cover {
            checkpoint::fingerprint(cover)?;
        }
        let run = Run {
            done: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            reused: AtomicU64::new(0),
            progress: Arc::clone(&self.progress),
        };
        let mut reapplies = 0;
        loop {
            let mut cp = match self
                .options
                .resume
                .then(|| Checkpoint::load(media, now(), RESUME_MARGIN_SECS))
                .flatten()
            {
                Some(cp) => {
                    (run.progress)(Progress::Session { resumed: true });
                    cp
                }
                None => {
                    let session = self.apply(&media_type, media).await?;
                    (run.progress)(Progress::Session { resumed: false });
                    let cp = Checkpoint::new(size, modified, session);
                    if self.options.resume {
                        cp.save(media)?;
                    }
                    cp
                }
            };
            run.done.store(0, Ordering::Relaxed);
            match self.transfer_and_commit(media, &files, &mut cp, &run).await {
                Ok(outcome) => {
                    Checkpoint::remove(media);
                    return Ok(outcome);
                }
                Err(err)
                    if (err.is_expired_credentials() || err.is_expired_session())
                        && reapplies < MAX_REAPPLIES =>
                {
                    reapplies += 1;
                    Checkpoint::remove(media);
                    (run.progress)(Progress::Reapply);
                }
                Err(err) => {
                    if !err.is_expired_credentials() {
                        self.abandon(&cp).await;
                    }
                    Checkpoint::remove(media);
                    return Err(err);
                }
            }
        }
    }

    async fn apply(&self, media_type: &str, media: &Path) -> Result<ApplyUploadResponse> {
        let o = &self.options;
        let req = ApplyUploadRequest {
            media_type: Some(media_type.to_owned()),
            sub_app_id: o.sub_app_id,
            media_name: o
                .media_name
                .clone()
                .or_else(|| media.file_stem().map(|s| s.to_string_lossy().into_owned())),
            cover_type: match &o.cover {
                Some(c) => Some(extension(c)?),
                None => None,
            },
            procedure: o.procedure.clone(),
            storage_region: o.storage_region.clone(),
            class_id: o.class_id,
            source_context: o.source_context.clone(),
            session_context: o.session_context.clone(),
            ..Default::default()
        };
        self.retrying(|| self.vod.apply_upload(&req)).await
    }

    /// The segment files an HLS/DASH manifest names, as the service parses them (recursing into
    /// nested manifests), each checked to exist next to the manifest.
    async fn segments(&self, manifest: &Path, manifest_type: &str) -> Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue = vec![(manifest.to_path_buf(), manifest_type.to_ascii_lowercase())];
        let root = manifest.parent().unwrap_or(Path::new("."));
        while let Some((path, kind)) = queue.pop() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::File {
                path: path.clone(),
                source: e,
            })?;
            let req = ParseStreamingManifestRequest {
                media_manifest_content: Some(text),
                manifest_type: Some(kind),
                sub_app_id: self.options.sub_app_id,
            };
            let parsed = self
                .retrying(|| self.vod.parse_streaming_manifest(&req))
                .await?;
            let dir = path.parent().unwrap_or(root);
            for segment in parsed.media_segment_set {
                let file = dir.join(&segment);
                if !file.is_file() {
                    return Err(Error::Invalid(format!(
                        "{} names segment `{segment}`, which is not at {}",
                        path.display(),
                        file.display()
                    )));
                }
                if !seen.insert(file.clone()) {
                    continue;
                }
                let ext = segment
                    .rsplit('.')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if ext == "m3u8" || ext == "mpd" {
                    queue.push((file.clone(), ext));
                }
                found.push(file);
            }
        }
        Ok(found)
    }

    /// [`Self::retrying`] for a request that must not be done twice: when an attempt fails in
    /// a way that may have lost its answer (a retryable failure: a reset, a timeout, a 5xx)
    /// and a later attempt is refused as `already_done` says a repeat is, `Ok(None)`: the lost
    /// attempt took effect, for the caller to confirm.
    async fn retrying_past_a_lost_answer<T, F, Fut>(
        &self,
        mut op: F,
        already_done: impl Fn(&Error) -> bool,
    ) -> Result<Option<T>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let answer_lost = AtomicBool::new(false);
        let answer_lost = &answer_lost;
        let already_done = &already_done;
        self.retrying(|| {
            let attempt = op();
            async move {
                match attempt.await {
                    Ok(done) => Ok(Some(done)),
                    Err(err) if answer_lost.load(Ordering::Relaxed) && already_done(&err) => {
                        Ok(None)
                    }
                    Err(err) => {
                        answer_lost.store(err.is_retryable(), Ordering::Relaxed);
                        Err(err)
                    }
                }
            }
        })
        .await
    }

    async fn retrying<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let progress = Arc::clone(&self.progress);
        self.options
            .retry
            .run(op, |err, attempt| {
                progress(Progress::Retry {
                    error: err.to_string(),
                    attempt,
                });
            })
            .await
    }

    fn cos_for(&self, session: &ApplyUploadResponse) -> Result<CosClient> {
        Ok(
            CosClient::for_session(self.http.clone(), self.cos_endpoint.clone(), session)?
                .with_clock(self.vod.clock().clone()),
        )
    }

    /// The files of this session and their object keys: the media, the segments under the
    /// media's directory (by their path relative to the manifest), the cover.
    fn plan(
        &self,
        media: &Path,
        files: &[PathBuf],
        session: &ApplyUploadResponse,
    ) -> Result<Vec<Item>> {
        let media_key = session
            .media_storage_path
            .trim_start_matches('/')
            .to_owned();
        let dir = media_key
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| format!("{d}/"));
        let root = media.parent().unwrap_or(Path::new(""));
        let mut items = Vec::with_capacity(files.len() + 1);
        for (i, path) in files.iter().enumerate() {
            let key = if i == 0 {
                media_key.clone()
            } else {
                let rel = path.strip_prefix(root).unwrap_or(path);
                format!("{dir}{}", rel.to_string_lossy().replace('\\', "/"))
            };
            items.push(Item {
                size: checkpoint::fingerprint(path)?.0,
                path: path.clone(),
                key,
            });
        }
        if let (Some(cover), Some(cover_path)) = (&self.options.cover, &session.cover_storage_path)
        {
            items.push(Item {
                path: cover.clone(),
                key: cover_path.trim_start_matches('/').to_owned(),
                size: checkpoint::fingerprint(cover)?.0,
            });
        }
        Ok(items)
    }

    async fn transfer_and_commit(
        &self,
        media: &Path,
        files: &[PathBuf],
        cp: &mut Checkpoint,
        run: &Run,
    ) -> Result<UploadOutcome> {
        let cos = self.cos_for(&cp.session)?;
        let items = self.plan(media, files, &cp.session)?;
        (run.progress)(Progress::Planned {
            total_bytes: items.iter().map(|i| i.size).sum(),
        });
        for item in &items {
            if item.size > self.options.multipart_threshold {
                self.multipart(&cos, item, media, cp, run).await?;
            } else {
                self.simple(&cos, item, run).await?;
            }
        }
        let commit = CommitUploadRequest {
            vod_session_key: Some(cp.session.vod_session_key.clone()),
            sub_app_id: self.options.sub_app_id,
        };
        // A commit whose answer was lost may have taken effect: its retry is then refused
        // (the session is committed), and starting over would make a second media. The media
        // the session names is looked up instead.
        let committed = self
            .retrying_past_a_lost_answer(
                || self.vod.commit_upload(&commit),
                Error::is_expired_session,
            )
            .await?;
        let done = match committed {
            Some(done) => done,
            None => self.committed_earlier(&cp.session).await?,
        };
        (run.progress)(Progress::Committed {
            file_id: done.file_id.clone(),
        });
        Ok(UploadOutcome {
            file_id: done.file_id,
            media_url: done.media_url,
            cover_url: done.cover_url.filter(|u| !u.is_empty()),
            request_id: done.request_id,
            bytes_sent: run.sent.load(Ordering::Relaxed),
            parts_reused: run.reused.load(Ordering::Relaxed),
        })
    }

    /// The media a session's lost commit created, found by the FileId its storage path names
    /// (the service's layout `/<hex>vod<AppId>/<hex><FileId>/f0.<ext>`); the session's own
    /// refusal when there is none (the commit did not take effect: starting over is safe).
    async fn committed_earlier(
        &self,
        session: &ApplyUploadResponse,
    ) -> Result<CommitUploadResponse> {
        let refused = || {
            Error::Api {
            action: "CommitUpload".into(),
            code: "InvalidParameterValue.VodSessionKey".into(),
            message: "the commit's answer was lost and the session is refused now; no media with its storage path exists".into(),
            request_id: String::new(),
        }
        };
        let Some(file_id) = file_id_in_storage_path(&session.media_storage_path) else {
            return Err(refused());
        };
        let req = DescribeMediaInfosRequest {
            file_ids: Some(vec![file_id.clone()]),
            sub_app_id: self.options.sub_app_id,
            ..Default::default()
        };
        let described = self
            .retrying(|| self.vod.describe_media_infos(&req))
            .await?;
        let basic = described
            .media_info_set
            .into_iter()
            .find(|m| m.file_id == file_id)
            .and_then(|m| m.basic_info)
            .filter(|b| b.storage_path == session.media_storage_path)
            .ok_or_else(refused)?;
        tracing::warn!(%file_id, "the answer to CommitUpload was lost; the media it created is reported");
        Ok(CommitUploadResponse {
            file_id,
            media_url: basic.media_url,
            cover_url: Some(basic.cover_url).filter(|u| !u.is_empty()),
            request_id: described.request_id,
        })
    }

    async fn simple(&self, cos: &CosClient, item: &Item, run: &Run) -> Result<()> {
        let part = read_part(&self.part_md5, &item.path, 0, item.size).await?;
        let md5 = part.content_md5();
        let stored = self
            .retrying(|| cos.put_object(&item.key, part.bytes.clone(), Some(&md5)))
            .await?;
        verify(&item.key, &part, &stored)?;
        run.sent.fetch_add(item.size, Ordering::Relaxed);
        let done = run.done.fetch_add(item.size, Ordering::Relaxed) + item.size;
        (run.progress)(Progress::Bytes { done });
        Ok(())
    }

    async fn multipart(
        &self,
        cos: &CosClient,
        item: &Item,
        media: &Path,
        cp: &mut Checkpoint,
        run: &Run,
    ) -> Result<()> {
        let part_size = part_size_for(item.size, self.options.part_size);
        let count = item.size.div_ceil(part_size);
        let mut stored_parts: HashMap<u32, (u64, String)> = HashMap::new();
        let mut upload_id = None;
        if let Some(id) = cp.uploads.get(&item.key) {
            match self.retrying(|| cos.list_parts(&item.key, id)).await {
                Ok(parts) => {
                    stored_parts = parts
                        .into_iter()
                        .map(|p| (p.part_number, (p.size, p.etag)))
                        .collect();
                    upload_id = Some(id.clone());
                }
                Err(Error::Cos { code, .. }) if code == codes::NO_SUCH_UPLOAD => {}
                Err(e) => return Err(e),
            }
        }
        let upload_id = match upload_id {
            Some(id) => id,
            None => {
                let id = self
                    .retrying(|| cos.initiate_multipart_upload(&item.key, None))
                    .await?;
                cp.uploads.insert(item.key.clone(), id.clone());
                if self.options.resume {
                    cp.save(media)?;
                }
                id
            }
        };
        let stored_parts = &stored_parts;
        let upload_id = upload_id.as_str();
        let results: Vec<(u32, String, u64, u64)> = futures_util::stream::iter(1..=count)
            .map(|n| async move {
                let number =
                    u32::try_from(n).map_err(|_| Error::Invalid("too many parts".into()))?;
                let offset = (n - 1) * part_size;
                let len = part_size.min(item.size - offset);
                let part = read_part(&self.part_md5, &item.path, offset, len).await?;
                let reused = stored_parts.get(&number).is_some_and(|(size, etag)| {
                    *size == len && etag.trim_matches('"') == part.md5_hex
                });
                let etag = if reused {
                    run.reused.fetch_add(1, Ordering::Relaxed);
                    format!("\"{}\"", part.md5_hex)
                } else {
                    let md5 = part.content_md5();
                    let stored = self
                        .retrying(|| {
                            cos.upload_part(&item.key, upload_id, number, part.bytes.clone(), &md5)
                        })
                        .await?;
                    verify(&format!("{} part {number}", item.key), &part, &stored)?;
                    run.sent.fetch_add(len, Ordering::Relaxed);
                    stored.etag
                };
                let done = run.done.fetch_add(len, Ordering::Relaxed) + len;
                (run.progress)(Progress::Part {
                    key: item.key.clone(),
                    number,
                    reused,
                });
                (run.progress)(Progress::Bytes { done });
                Ok::<_, Error>((number, etag, part.crc64, len))
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .try_collect()
            .await?;
        let mut results = results;
        results.sort_by_key(|r| r.0);
        let local_crc = results
            .iter()
            .fold(0, |acc, r| crc64_combine(acc, r.2, r.3));
        let parts: Vec<(u32, String)> = results.into_iter().map(|r| (r.0, r.1)).collect();
        // A Complete whose answer was lost (a reset, a stalled or truncated body) may have
        // taken effect; its retry then finds the upload gone. This client never aborts an
        // upload it is completing, so `NoSuchUpload` then means it completed, and CommitUpload
        // confirms the object exists (ResourceNotFound otherwise).
        let completed = self
            .retrying_past_a_lost_answer(
                || cos.complete_multipart_upload(&item.key, upload_id, &parts),
                |err| err.code() == Some(codes::NO_SUCH_UPLOAD),
            )
            .await?;
        match completed {
            Some(stored) => match stored.crc64 {
                Some(server) if server != local_crc => {
                    return Err(Error::Integrity {
                        what: item.key.clone(),
                        local: local_crc.to_string(),
                        server: server.to_string(),
                    });
                }
                _ => {}
            },
            None => tracing::warn!(
                key = %item.key,
                "the answer to CompleteMultipartUpload was lost and its retry found the upload completed; CommitUpload will confirm the object"
            ),
        }
        cp.uploads.remove(&item.key);
        Ok(())
    }

    /// Aborts the multipart uploads of a session being given up.
    async fn abandon(&self, cp: &Checkpoint) {
        let Ok(cos) = self.cos_for(&cp.session) else {
            return;
        };
        for (key, id) in &cp.uploads {
            if let Err(err) = cos.abort_multipart_upload(key, id).await {
                tracing::warn!(%key, error = %err, "could not abort the multipart upload");
            }
        }
    }
}

/// The FileId a storage path names: the 19 decimal digits that end its second segment, in the
/// service's layout `/<hex>vod<AppId>/<hex><FileId>/f0.<ext>`.
fn file_id_in_storage_path(path: &str) -> Option<String> {
    let segment = path.trim_start_matches('/').split('/').nth(1)?;
    let start = segment.len().checked_sub(FILE_ID_DIGITS)?;
    let digits = segment.get(start..)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.to_owned())
}

/// Digits of a FileId.
const FILE_ID_DIGITS: usize = 19;

/// The part size for a file: the wanted size, raised (in whole MiB) so that at most 10000
/// parts are needed, and never below COS's minimum.
pub fn part_size_for(size: u64, wanted: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS).div_ceil(MIN_PART_SIZE) * MIN_PART_SIZE;
    wanted.max(needed).max(MIN_PART_SIZE)
}

/// Bytes of a part, read from disk, with their checksums.
struct PartData {
    bytes: Bytes,
    md5: [u8; 16],
    md5_hex: String,
    crc64: u64,
}

impl PartData {
    fn content_md5(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.md5)
    }
}

/// Reads and hashes a part on the blocking pool, so hashing never stalls the network tasks.
/// Reads a part and computes its CRC-64 on a blocking thread, then its MD5 with the other
/// parts in flight.
async fn read_part(md5: &PartMd5, path: &Path, offset: u64, len: u64) -> Result<PartData> {
    let owned = path.to_path_buf();
    let (bytes, crc64) =
        tokio::task::spawn_blocking(move || read_part_blocking(&owned, offset, len))
            .await
            .map_err(|e| Error::Invalid(format!("reading a part failed: {e}")))??;
    let md5 = md5.digest(bytes.clone()).await?;
    Ok(PartData {
        md5,
        md5_hex: hex::encode(md5),
        crc64,
        bytes,
    })
}

/// The part's bytes and their CRC-64.
fn read_part_blocking(path: &Path, offset: u64, len: u64) -> Result<(Bytes, u64)> {
    use std::io::{Read, Seek};
    let io = |e| Error::File {
        path: path.to_path_buf(),
        source: e,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.seek(std::io::SeekFrom::Start(offset)).map_err(io)?;
    let len = usize::try_from(len).map_err(|_| Error::Invalid("part too large".into()))?;
    let mut buf = BytesMut::zeroed(len);
    file.read_exact(&mut buf).map_err(io)?;
    let mut crc = Crc64::new();
    crc.update(&buf);
    Ok((buf.freeze(), crc.finish()))
}

/// Checks COS's ETag (the MD5 for simple objects and parts) and CRC-64 against the local bytes.
fn verify(what: &str, part: &PartData, stored: &Stored) -> Result<()> {
    if stored.etag.trim_matches('"') != part.md5_hex {
        return Err(Error::Integrity {
            what: what.to_owned(),
            local: part.md5_hex.clone(),
            server: stored.etag.clone(),
        });
    }
    if let Some(server) = stored.crc64 {
        if server != part.crc64 {
            return Err(Error::Integrity {
                what: what.to_owned(),
                local: part.crc64.to_string(),
                server: server.to_string(),
            });
        }
    }
    Ok(())
}

fn extension(path: &Path) -> Result<String> {
    path.extension()
        .map(|e| e.to_string_lossy().into_owned())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{} has no extension; give the media type explicitly",
                path.display()
            ))
        })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_id_is_read_from_the_service_storage_layout() {
        assert_eq!(
            file_id_in_storage_path("/05755fddvod1250000000/05755fdd5285890784000000001/f0.mp4")
                .as_deref(),
            Some("5285890784000000001")
        );
        assert_eq!(file_id_in_storage_path("/custom/path/f0.mp4"), None);
        assert_eq!(file_id_in_storage_path("/a/1234/f0.mp4"), None);
        assert_eq!(file_id_in_storage_path("f0.mp4"), None);
    }

    #[test]
    fn part_size_steps_up_exactly_at_the_ten_thousand_part_edge() {
        let mib = MIN_PART_SIZE;
        assert_eq!(
            part_size_for(MAX_PARTS * mib, mib),
            mib,
            "10,000 parts of 1 MiB fit"
        );
        assert_eq!(
            part_size_for(MAX_PARTS * mib + 1, mib),
            2 * mib,
            "one byte more needs bigger parts"
        );
        assert!(
            (MAX_PARTS * mib + 1).div_ceil(part_size_for(MAX_PARTS * mib + 1, mib)) <= MAX_PARTS
        );
    }

    #[test]
    fn part_size_grows_to_fit_ten_thousand_parts() {
        let mib = MIN_PART_SIZE;
        assert_eq!(part_size_for(100 * mib, 8 * mib), 8 * mib);
        assert_eq!(part_size_for(100 * mib, 0), mib);
        let huge = 200_000 * mib;
        let p = part_size_for(huge, 8 * mib);
        assert!(huge.div_ceil(p) <= MAX_PARTS);
        assert_eq!(p % mib, 0);
    }
}
