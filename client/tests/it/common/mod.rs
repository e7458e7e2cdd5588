//! Helpers: an in-process emulator and a reference client pointed at it.

use std::path::{Path, PathBuf};
use vod_client::{CosEndpoint, Credentials, UploadOptions, Uploader, VodClient};
use vod_emulator::Emulator;

pub const MIB: u64 = 1024 * 1024;

/// A fresh emulator on port 0.
pub async fn emulator() -> Emulator {
    Emulator::builder().start().await.expect("start emulator")
}

/// The emulator's full-access key.
pub fn credentials(emu: &Emulator) -> Credentials {
    Credentials::new(
        emu.config().secret_id.clone(),
        emu.config().secret_key.clone(),
    )
}

/// A VOD client for the emulator.
pub fn vod(emu: &Emulator) -> VodClient {
    VodClient::new(
        reqwest::Client::new(),
        &emu.endpoint(),
        credentials(emu),
        "ap-guangzhou",
    )
    .expect("vod client")
}

/// An uploader for the emulator with small parts (1 MiB, the COS minimum) so multipart is
/// exercised with small files.
pub fn uploader(emu: &Emulator) -> Uploader {
    Uploader::new(
        vod(emu),
        reqwest::Client::new(),
        CosEndpoint::PathStyle(emu.endpoint()),
    )
    .with_options(small_parts())
}

/// Options with 1 MiB parts and threshold.
pub fn small_parts() -> UploadOptions {
    UploadOptions {
        part_size: MIB,
        multipart_threshold: MIB,
        concurrency: 3,
        ..UploadOptions::default()
    }
}

pub use vod_testkit::bytes;

/// Writes `data` to `dir/name`.
pub fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, data).expect("write file");
    path
}

/// GET of a URL: status, ETag and body.
pub async fn get(url: &str) -> (u16, String, Vec<u8>) {
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, etag, resp.bytes().await.expect("body").to_vec())
}
