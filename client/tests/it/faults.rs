//! The reference client under injected faults: transient failures are retried, permanent ones
//! are not and abort the multipart upload, corrupted checksums are caught.

use crate::common::{bytes, emulator, get, uploader, write, MIB};
use std::sync::{Arc, Mutex};
use vod_client::Progress;
use vod_emulator::faults::{Checksum, Effect, Rule, Service};
use vod_emulator::journal::Filter;

/// Two 500s on part 2 and a SlowDown on the commit's PutObject are retried; the upload
/// succeeds with the right bytes, and the journal shows each retry.
#[tokio::test]
async fn transient_failures_are_retried() {
    let emu = emulator().await;
    emu.faults()
        .add(
            Rule::new(
                Service::Cos,
                "UploadPart",
                Effect::cos_error("InternalError", 500),
            )
            .part_number(2)
            .first(2),
        )
        .expect("rule");
    emu.faults()
        .add(
            Rule::new(
                Service::Vod,
                "CommitUpload",
                Effect::error("RequestLimitExceeded"),
            )
            .first(1),
        )
        .expect("rule");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = bytes(3 * MIB + 10, 1);
    let file = write(dir.path(), "r.mp4", &data);
    let retries = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&retries);
    let done = uploader(&emu)
        .on_progress(move |p| {
            if let Progress::Retry { error, .. } = p {
                seen.lock().expect("lock").push(error);
            }
        })
        .upload(&file)
        .await
        .expect("the upload survives transient failures");
    assert_eq!(get(&done.media_url).await.2, data);
    assert_eq!(
        retries.lock().expect("lock").len(),
        3,
        "two part retries and one commit retry"
    );
    let part2 = emu
        .journal()
        .requests(&Filter::default().action("UploadPart"));
    let part2: Vec<_> = part2
        .iter()
        .filter(|e| e.part_number == Some(2))
        .map(|e| e.status)
        .collect();
    assert_eq!(part2, vec![Some(500), Some(500), Some(200)]);
}

/// A permanent refusal (403) is not retried; the uploader gives up, aborts its multipart
/// upload and removes its checkpoint.
#[tokio::test]
async fn permanent_failures_abort_the_multipart_upload() {
    let emu = emulator().await;
    emu.faults()
        .add(
            Rule::new(
                Service::Cos,
                "UploadPart",
                Effect::cos_error("AccessDenied", 403),
            )
            .part_number(3),
        )
        .expect("rule");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "p.mp4", &bytes(4 * MIB, 2));
    let err = uploader(&emu)
        .upload(&file)
        .await
        .expect_err("403 is final");
    assert_eq!(err.code(), Some("AccessDenied"));
    let part3 = emu
        .journal()
        .requests(&Filter::default().action("UploadPart"));
    assert_eq!(
        part3.iter().filter(|e| e.part_number == Some(3)).count(),
        1,
        "not retried"
    );
    let aborts = emu
        .journal()
        .requests(&Filter::default().action("AbortMultipartUpload").status(204));
    assert_eq!(aborts.len(), 1);
    assert!(!vod_client::checkpoint::path_for(&file).exists());
}

/// A corrupted CRC-64 on CompleteMultipartUpload is an integrity error, not a success.
#[tokio::test]
async fn corrupted_checksums_are_caught() {
    let emu = emulator().await;
    emu.faults()
        .add(Rule::new(
            Service::Cos,
            "CompleteMultipartUpload",
            Effect::Corrupt {
                field: Checksum::Crc64,
            },
        ))
        .expect("rule");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "c.mp4", &bytes(2 * MIB + 1, 3));
    let err = uploader(&emu).upload(&file).await.expect_err("integrity");
    assert!(matches!(err, vod_client::Error::Integrity { .. }), "{err}");
}

/// A CommitUpload whose answer is lost or refused for a while never leaves a second media:
/// under every commit-related ride-out scenario the upload applies once, sends its bytes once
/// and reports the one FileId that exists, and the emulator emits one NewFileUpload.
#[tokio::test]
async fn a_lost_commit_answer_never_duplicates_the_media() {
    for scenario in [
        "commit-timeout-after-success.toml",
        "throttled-vod-api.toml",
        "vod-internal-error.toml",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/faults")
            .join(scenario);
        let emu = vod_emulator::Emulator::builder()
            .scenario(vod_emulator::faults::Scenario::from_file(&path).expect("scenario"))
            .start()
            .await
            .expect("start emulator");
        let dir = tempfile::tempdir().expect("tempdir");
        let data = bytes(300_000, 9);
        let file = write(dir.path(), "once.mp4", &data);
        let done = uploader(&emu)
            .upload(&file)
            .await
            .unwrap_or_else(|e| panic!("{scenario}: {e}"));
        assert_eq!(done.bytes_sent, data.len() as u64, "{scenario}: sent once");
        let applies = emu
            .journal()
            .requests(&Filter::default().action("ApplyUpload").status(200))
            .into_iter()
            .filter(|e| e.error_code.is_none())
            .count();
        assert_eq!(applies, 1, "{scenario}: one session");
        let (status, _, body) = get(&done.media_url).await;
        assert_eq!((status, body == data), (200, true), "{scenario}");
        let pulled = crate::common::vod(&emu)
            .pull_events(&Default::default())
            .await
            .expect("PullEvents");
        let uploads: Vec<_> = pulled
            .event_set
            .iter()
            .filter(|e| e.event_type == "NewFileUpload")
            .map(|e| e.file_id().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            uploads,
            std::slice::from_ref(&done.file_id),
            "{scenario}: one media"
        );
    }
}
