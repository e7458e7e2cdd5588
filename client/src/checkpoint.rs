//! Resume state: a small JSON file next to the source (`<file>.vod-upload.json`) that lets an
//! interrupted upload continue in the same session, from the parts already stored.
//!
//! It holds the ApplyUpload answer (session key, paths, temporary credentials) and the multipart
//! UploadIds per object key; which parts are stored is asked of COS (ListParts) and verified
//! against the local bytes, never trusted from the file. It is written atomically (temporary
//! file + rename) and removed when the upload is committed or abandoned.

use crate::error::{Error, Result};
use crate::wire::vod::ApplyUploadResponse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Format version; a file of another version is ignored.
const VERSION: u32 = 1;

/// What is remembered about an upload in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub version: u32,
    /// Size of the source when the upload started.
    pub size: u64,
    /// Modification time of the source (Unix seconds) when the upload started.
    pub modified: u64,
    /// The session.
    pub session: ApplyUploadResponse,
    /// Multipart UploadId per object key.
    pub uploads: BTreeMap<String, String>,
}

/// Where the checkpoint of `source` lives.
pub fn path_for(source: &Path) -> PathBuf {
    let mut name = source
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".vod-upload.json");
    source.with_file_name(name)
}

/// Size and modification time of `source`.
///
/// # Errors
/// The file cannot be read.
pub fn fingerprint(source: &Path) -> Result<(u64, u64)> {
    let meta = std::fs::metadata(source).map_err(|e| Error::File {
        path: source.to_path_buf(),
        source: e,
    })?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok((meta.len(), modified))
}

impl Checkpoint {
    /// A fresh checkpoint for a new session.
    pub fn new(size: u64, modified: u64, session: ApplyUploadResponse) -> Self {
        Self {
            version: VERSION,
            size,
            modified,
            session,
            uploads: BTreeMap::new(),
        }
    }

    /// The checkpoint of `source`, if there is a usable one: same version and same file, and a
    /// session whose credentials stay valid for at least `margin_secs` after `now`.
    pub fn load(source: &Path, now: i64, margin_secs: i64) -> Option<Self> {
        let text = std::fs::read_to_string(path_for(source)).ok()?;
        let cp: Checkpoint = serde_json::from_str(&text).ok()?;
        let (size, modified) = fingerprint(source).ok()?;
        let valid_until = cp
            .session
            .temp_certificate
            .as_ref()
            .map_or(0, |c| c.expired_time);
        (cp.version == VERSION
            && cp.size == size
            && cp.modified == modified
            && valid_until > now + margin_secs)
            .then_some(cp)
    }

    /// Writes the checkpoint next to `source`, atomically.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, source: &Path) -> Result<()> {
        let path = path_for(source);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::Invalid(e.to_string()))?;
        let io = |e| Error::File {
            path: path.clone(),
            source: e,
        };
        // The checkpoint holds the session's temporary SecretKey and token: owner-only.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        std::io::Write::write_all(&mut file, &text).map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Removes the checkpoint of `source`, if any.
    pub fn remove(source: &Path) {
        let _ = std::fs::remove_file(path_for(source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::vod::TempCertificate;

    fn session(expires: i64) -> ApplyUploadResponse {
        ApplyUploadResponse {
            storage_bucket: "b-1".into(),
            storage_region: "ap-guangzhou".into(),
            vod_session_key: "k".into(),
            media_storage_path: "/a/f0.mp4".into(),
            cover_storage_path: None,
            temp_certificate: Some(TempCertificate {
                secret_id: "i".into(),
                secret_key: "s".into(),
                token: "t".into(),
                expired_time: expires,
            }),
            request_id: "r".into(),
        }
    }

    #[test]
    fn checkpoints_round_trip_and_expire() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let src = dir.path().join("v.mp4");
        std::fs::write(&src, b"abc").unwrap_or_else(|e| panic!("{e}"));
        let (size, modified) = fingerprint(&src).unwrap_or_else(|e| panic!("{e}"));
        let mut cp = Checkpoint::new(size, modified, session(1000));
        cp.uploads.insert("a/f0.mp4".into(), "u1".into());
        cp.save(&src).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Checkpoint::load(&src, 100, 60), Some(cp));
        assert_eq!(Checkpoint::load(&src, 950, 60), None, "too close to expiry");
        std::fs::write(&src, b"abcd").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Checkpoint::load(&src, 100, 60), None, "the file changed");
        Checkpoint::remove(&src);
        assert!(!path_for(&src).exists());
    }
}
