//! Object bytes as files: written to `tmp/` while they stream in, renamed into `blobs/` when
//! complete, so a half-written body is never reachable from metadata.
//!
//! With a durable store the file is fsynced before the rename and before any metadata that
//! points at it is committed.

use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The blob directory pair of one store.
#[derive(Debug)]
pub struct Blobs {
    dir: PathBuf,
    tmp: PathBuf,
    durable: bool,
}

impl Blobs {
    /// Opens (creating) `root/blobs` and `root/tmp`, clearing leftovers in `tmp`.
    ///
    /// # Errors
    /// The directories cannot be created or read.
    pub fn open(root: &Path, durable: bool) -> io::Result<Self> {
        let dir = root.join("blobs");
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&dir)?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        Ok(Self { dir, tmp, durable })
    }

    /// Where the blob called `name` lives.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts a new blob in the temporary directory.
    ///
    /// # Errors
    /// The file cannot be created.
    pub async fn create(&self) -> io::Result<BlobWriter> {
        let name = uuid::Uuid::new_v4().simple().to_string();
        let tmp_path = self.tmp.join(&name);
        let file = tokio::fs::File::create(&tmp_path).await?;
        Ok(BlobWriter {
            file: Some(file),
            tmp_path,
            final_path: self.dir.join(&name),
            name,
            durable: self.durable,
            finished: false,
        })
    }

    /// Removes every blob (the store is being reset).
    ///
    /// # Errors
    /// The directory cannot be read.
    pub async fn clear(&self) -> io::Result<()> {
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        self.remove(names).await;
        Ok(())
    }

    /// Removes blobs no metadata refers to any more; a missing file is not an error.
    pub async fn remove(&self, names: Vec<String>) {
        for name in names {
            if let Err(err) = tokio::fs::remove_file(self.path(&name)).await {
                if err.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(blob = %name, error = %err, "could not remove blob");
                }
            }
        }
    }
}

/// A blob being written. Dropped unfinished, its temporary file is removed.
#[derive(Debug)]
pub struct BlobWriter {
    file: Option<tokio::fs::File>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    name: String,
    durable: bool,
    finished: bool,
}

impl BlobWriter {
    /// Appends bytes.
    ///
    /// # Errors
    /// The write fails (disk full, ...).
    pub async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.write_all(data).await,
            None => Err(io::Error::other("blob already finished")),
        }
    }

    /// Makes the blob durable (when the store is) and visible under its name, which it returns.
    ///
    /// # Errors
    /// Flushing, syncing or renaming fails.
    pub async fn finish(mut self) -> io::Result<String> {
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
            if self.durable {
                file.sync_all().await?;
            }
        }
        tokio::fs::rename(&self.tmp_path, &self.final_path).await?;
        self.finished = true;
        Ok(std::mem::take(&mut self.name))
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.finished {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}
