//! Object bytes as files: written to `tmp/` while they stream in, renamed into `blobs/` when
//! complete, so a half-written body is never reachable from metadata.
//!
//! With a durable store the file is fsynced before the rename and before any metadata that
//! points at it is committed.

use std::io;
use std::io::Write;
use std::path::{Path, PathBuf};

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

    /// Removes blob files not in `referenced`: bytes renamed into place whose metadata commit
    /// never happened (the process died in between). Returns how many were removed.
    ///
    /// # Errors
    /// The directory cannot be read or a file cannot be removed.
    pub fn collect_garbage(
        &self,
        referenced: &std::collections::HashSet<String>,
    ) -> io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !referenced.contains(&name) {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Where the blob called `name` lives.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts a new blob in the temporary directory. The writer does blocking I/O: use it
    /// from a blocking thread.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(&self) -> io::Result<BlobWriter> {
        let name = uuid::Uuid::new_v4().simple().to_string();
        let tmp_path = self.tmp.join(&name);
        let file = std::fs::File::create(&tmp_path)?;
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

/// A blob being written (blocking I/O). Dropped unfinished, its temporary file is removed.
#[derive(Debug)]
pub struct BlobWriter {
    file: Option<std::fs::File>,
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
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.write_all(data),
            None => Err(io::Error::other("blob already finished")),
        }
    }

    /// Makes the blob durable (fsync, when the store is) and visible under its name, which it
    /// returns.
    ///
    /// # Errors
    /// Syncing or renaming fails.
    pub fn finish(mut self) -> io::Result<String> {
        if let Some(file) = self.file.take() {
            if self.durable {
                file.sync_all()?;
            }
        }
        std::fs::rename(&self.tmp_path, &self.final_path)?;
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
