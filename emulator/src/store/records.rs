//! The rows the store keeps, as plain data.

use serde::{Deserialize, Serialize};
use vod_protocol::wire::vod::ApplyUploadRequest;

/// An ApplyUpload session: what was reserved and the credentials that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Opaque key handed to the client.
    pub session_key: String,
    /// VOD application the session belongs to.
    pub sub_app_id: Option<u64>,
    /// FileId the media will get on commit (pre-allocated: it is part of the storage path).
    pub file_id: String,
    /// The validated ApplyUpload parameters.
    pub request: ApplyUploadRequest,
    /// COS bucket of the upload.
    pub bucket: String,
    /// COS region of the bucket.
    pub region: String,
    /// Object key of the media (no leading `/`).
    pub media_key: String,
    /// Object key of the cover, when a CoverType was given.
    pub cover_key: Option<String>,
    /// Temporary COS SecretId.
    pub tmp_secret_id: String,
    /// Temporary COS SecretKey.
    pub tmp_secret_key: String,
    /// Temporary COS session token.
    pub token: String,
    /// Unix seconds of ApplyUpload.
    pub created_at: i64,
    /// Unix seconds after which the credentials and the key are refused.
    pub expires_at: i64,
    /// Unix seconds of the successful CommitUpload, if any.
    pub committed_at: Option<i64>,
}

impl Session {
    /// The key prefix the temporary credentials may write under (the session's directory).
    pub fn key_prefix(&self) -> String {
        match self.media_key.rfind('/') {
            Some(i) => self.media_key[..=i].to_owned(),
            None => self.media_key.clone(),
        }
    }
}

/// A contiguous run of an object's bytes stored in one blob file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Blob name.
    pub blob: String,
    /// Bytes in this segment.
    pub size: u64,
}

/// A stored object. A multipart object is the concatenation of its parts' blobs: completing
/// an upload never copies bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Bucket, long name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Total size in bytes.
    pub size: u64,
    /// Quoted ETag.
    pub etag: String,
    /// CRC-64/XZ of the whole object.
    pub crc64: u64,
    /// Milliseconds since the epoch.
    pub last_modified_ms: i64,
    /// Stored headers echoed on GET/HEAD (Content-Type, x-cos-meta-*, ...), lowercase names.
    pub headers: Vec<(String, String)>,
    /// The bytes, in order.
    pub segments: Vec<Segment>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Upload id.
    pub upload_id: String,
    /// Bucket, long name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Milliseconds since the epoch.
    pub initiated_ms: i64,
    /// Headers given at initiation; they become the object's.
    pub headers: Vec<(String, String)>,
    /// Storage class of the future object.
    pub storage_class: String,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Part number, 1..=10000.
    pub part_number: u32,
    /// Size in bytes.
    pub size: u64,
    /// Quoted lowercase hex MD5.
    pub etag: String,
    /// CRC-64/XZ of the part.
    pub crc64: u64,
    /// Blob holding the bytes.
    pub blob: String,
    /// Milliseconds since the epoch.
    pub last_modified_ms: i64,
}

/// A committed media file.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// FileId.
    pub file_id: String,
    /// VOD application.
    pub sub_app_id: Option<u64>,
    /// The session it was committed from.
    pub session_key: String,
    /// Playback URL.
    pub media_url: String,
    /// Cover URL, when a cover was uploaded.
    pub cover_url: Option<String>,
    /// Unix seconds of the commit.
    pub created_at: i64,
}
