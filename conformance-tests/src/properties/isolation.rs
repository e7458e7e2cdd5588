//! Isolation: concurrent uploads never see each other's bytes; aborts leave nothing behind.

use crate::properties::round_trip::{bytes, work_dir};
use crate::runner::{check, expect_eq, outcome_code, Ctx, Failure};
use crate::MIB;
use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use vod_client::wire::vod::ApplyUploadRequest;
use vod_client::UploadOptions;

/// The `uploads_are_isolated` property.
pub fn uploads_are_isolated(ctx: &Ctx, runner: &mut TestRunner) -> Result<(), Failure> {
    let strategy = (
        2usize..=4,
        prop_oneof![1u64..5000, MIB + 1..MIB + 5000],
        any::<u64>(),
    );
    check(runner, strategy, |(n, size, seed)| {
        ctx.block_on(async {
            let work = work_dir()?;
            let dir = work.path();
            let options = UploadOptions {
                part_size: MIB,
                multipart_threshold: MIB,
                resume: false,
                ..UploadOptions::default()
            };
            let uploader = ctx.target.uploader(options).map_err(|e| e.to_string())?;
            let contents: Vec<Vec<u8>> = (0..n as u64)
                .map(|i| bytes(size, seed.wrapping_add(i)))
                .collect();
            let mut files = Vec::new();
            for (i, data) in contents.iter().enumerate() {
                let path = dir.join(format!("{i}.mp4"));
                std::fs::write(&path, data).map_err(|e| e.to_string())?;
                files.push(path);
            }
            let results =
                futures_util::future::join_all(files.iter().map(|f| uploader.upload(f))).await;
            drop(work);
            let mut urls = std::collections::HashSet::new();
            for (i, result) in results.into_iter().enumerate() {
                let done = result.map_err(|e| format!("upload {i}: {e}"))?;
                ctx.target.created(&done.file_id);
                if !urls.insert(done.media_url.clone()) {
                    return Err(format!("two uploads share MediaUrl {}", done.media_url));
                }
                let body = ctx
                    .target
                    .http()
                    .get(&done.media_url)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let body = body.bytes().await.map_err(|e| e.to_string())?;
                if body.as_ref() != contents[i].as_slice() {
                    return Err(format!("upload {i}: MediaUrl serves other bytes"));
                }
            }
            aborted_upload_leaves_nothing(ctx).await
        })
    })
}

async fn aborted_upload_leaves_nothing(ctx: &Ctx<'_>) -> Result<(), String> {
    let vod = ctx.target.vod().map_err(|e| e.to_string())?;
    let session = vod
        .apply_upload(&ApplyUploadRequest {
            media_type: Some("mp4".into()),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let cos = ctx
        .target
        .session_cos(&session)
        .map_err(|e| e.to_string())?;
    let key = session
        .media_storage_path
        .trim_start_matches('/')
        .to_owned();
    let id = cos
        .initiate_multipart_upload(&key, None)
        .await
        .map_err(|e| e.to_string())?;
    let data = vec![7u8; 1000];
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&data));
    cos.upload_part(&key, &id, 1, Bytes::from(data), &md5)
        .await
        .map_err(|e| e.to_string())?;
    cos.abort_multipart_upload(&key, &id)
        .await
        .map_err(|e| e.to_string())?;
    let parts = cos.list_parts(&key, &id).await;
    expect_eq(
        "ListParts after Abort",
        "NoSuchUpload".to_owned(),
        outcome_code(&parts),
    )?;
    let listed = cos
        .list_multipart_uploads(&key)
        .await
        .map_err(|e| e.to_string())?;
    expect_eq("uploads listed after Abort", 0, listed.len())?;
    let commit = vod
        .commit_upload(&vod_client::wire::vod::CommitUploadRequest {
            vod_session_key: Some(session.vod_session_key.clone()),
            sub_app_id: None,
        })
        .await;
    expect_eq(
        "CommitUpload after Abort (no object)",
        "ResourceNotFound".to_owned(),
        outcome_code(&commit),
    )
}
