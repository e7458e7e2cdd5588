//! Full small flows per second: ApplyUpload + a 64 KiB PutObject + CommitUpload, signed
//! (TC3 for VOD, COS sha1 with the temporary credentials), done by the `vod-client` library
//! against an emulator that verifies every signature: what a CI suite of many small uploads
//! costs.

use anyhow::Result;
use std::path::Path;
use std::time::{Duration, Instant};
use vod_client::{CosEndpoint, Credentials, UploadOptions, Uploader, VodClient};
use vod_emulator::config::{DEFAULT_REGION, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY};

/// Runs `clients` uploaders, each with its own connection pool, uploading `media` over and
/// over until `window` has passed; returns completed flows per second.
pub async fn per_second(base: &str, media: &Path, clients: usize, window: Duration) -> Result<f64> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let vod = VodClient::new(
            http.clone(),
            base,
            Credentials::new(DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY),
            DEFAULT_REGION,
        )?;
        let uploader = Uploader::new(vod, http, CosEndpoint::PathStyle(base.to_owned()))
            .with_options(UploadOptions {
                resume: false,
                ..UploadOptions::default()
            });
        let media = media.to_path_buf();
        tasks.spawn(async move {
            let mut done = 0u64;
            while started.elapsed() < window {
                uploader.upload(&media).await?;
                done += 1;
            }
            Ok::<_, vod_client::Error>(done)
        });
    }
    let mut flows = 0;
    while let Some(joined) = tasks.join_next().await {
        flows += joined??;
    }
    Ok(flows as f64 / started.elapsed().as_secs_f64())
}
