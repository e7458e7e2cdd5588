//! Full small flows per second: ApplyUpload + a 64 KiB PutObject + CommitUpload, signed
//! (TC3 for VOD, COS sha1 with the temporary credentials) by the same request builder the
//! emulator's tests use, against an emulator that verifies every signature: what a CI suite
//! of many small uploads costs. (Not through `vod-client`: the emulator does not depend on its
//! client, not even for a benchmark.)

use anyhow::Result;
use std::path::Path;
use std::time::{Duration, Instant};

#[allow(dead_code, unused_imports)]
#[path = "../../tests/it/common/api.rs"]
mod api;

/// Runs `clients` clients, each with its own connection pool, uploading `media` over and over
/// until `window` has passed; returns completed flows per second.
pub async fn per_second(base: &str, media: &Path, clients: usize, window: Duration) -> Result<f64> {
    let started = Instant::now();
    let data = std::fs::read(media)?;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let api = api::Api::at(base);
        let data = data.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            while started.elapsed() < window {
                api.try_upload(data.clone(), usize::MAX).await?;
                done += 1;
            }
            Ok::<_, String>(done)
        });
    }
    let mut flows = 0;
    while let Some(joined) = tasks.join_next().await {
        flows += joined?.map_err(anyhow::Error::msg)?;
    }
    Ok(flows as f64 / started.elapsed().as_secs_f64())
}
