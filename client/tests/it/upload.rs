//! The `Uploader` against the emulator: sizes around every boundary, covers, expired
//! credentials, integrity and progress.

use crate::common::{bytes, emulator, get, uploader, write, MIB};
use std::sync::{Arc, Mutex};
use vod_client::Progress;

/// Sizes 0, 1, threshold − 1, threshold, threshold + 1 and several parts with a short last
/// part all upload and read back byte for byte; multipart is used exactly above the threshold.
#[tokio::test]
async fn every_size_round_trips() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let up = uploader(&emu);
    for (i, size) in [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 5]
        .into_iter()
        .enumerate()
    {
        let data = bytes(size, i as u64);
        let file = write(dir.path(), &format!("v{i}.mp4"), &data);
        let done = up
            .upload(&file)
            .await
            .unwrap_or_else(|e| panic!("size {size}: {e}"));
        assert!(done.file_id.bytes().all(|b| b.is_ascii_digit()) && !done.file_id.is_empty());
        assert_eq!(done.bytes_sent, size);
        let (status, etag, body) = get(&done.media_url).await;
        assert_eq!(status, 200);
        assert!(body == data, "size {size}: bytes differ");
        let parts = size.div_ceil(MIB);
        if size > MIB {
            assert!(
                etag.ends_with(&format!("-{parts}\"")),
                "size {size}: ETag {etag}"
            );
        } else {
            assert!(
                !etag.contains('-'),
                "size {size}: simple PUT expected, ETag {etag}"
            );
        }
        assert!(
            !vod_client::checkpoint::path_for(&file).exists(),
            "checkpoint removed"
        );
    }
}

/// A cover is uploaded with the media and served from CoverUrl.
#[tokio::test]
async fn media_with_cover() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let media = write(dir.path(), "m.mp4", &bytes(2 * MIB + 3, 1));
    let cover_bytes = bytes(5000, 2);
    let cover = write(dir.path(), "poster.jpg", &cover_bytes);
    let mut options = crate::common::small_parts();
    options.cover = Some(cover);
    let done = uploader(&emu)
        .with_options(options)
        .upload(&media)
        .await
        .expect("upload");
    let cover_url = done.cover_url.expect("CoverUrl");
    assert_eq!(get(&cover_url).await.2, cover_bytes);
}

/// When the temporary credentials expire mid-upload, the uploader applies again and finishes
/// in a new session.
#[tokio::test]
async fn expired_credentials_mid_upload_lead_to_a_new_session() {
    let emu = vod_emulator::Emulator::builder()
        .session_ttl(std::time::Duration::from_secs(600))
        .start()
        .await
        .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = bytes(4 * MIB, 3);
    let file = write(dir.path(), "e.mp4", &data);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let clock = emu.clock().clone();
    let mut options = crate::common::small_parts();
    options.concurrency = 1;
    let done = uploader(&emu)
        .with_options(options)
        .on_progress(move |p| {
            let mut seen = seen.lock().expect("lock");
            let first_part = matches!(p, Progress::Part { number: 1, .. });
            let expired_once = seen.iter().any(|e| matches!(e, Progress::Reapply));
            seen.push(p);
            if first_part && !expired_once {
                clock.advance_ms(601_000);
            }
        })
        .upload(&file)
        .await
        .expect("upload survives expiry");
    assert_eq!(get(&done.media_url).await.2, data);
    let events = events.lock().expect("lock");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Progress::Reapply))
            .count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Progress::Session { .. }))
            .count(),
        2
    );
}

/// Progress reports every part and ends at the total.
#[tokio::test]
async fn progress_reports_parts_and_bytes() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "p.mp4", &bytes(3 * MIB + 1, 4));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    uploader(&emu)
        .on_progress(move |p| seen.lock().expect("lock").push(p))
        .upload(&file)
        .await
        .expect("upload");
    let events = events.lock().expect("lock");
    let parts = events
        .iter()
        .filter(|e| matches!(e, Progress::Part { .. }))
        .count();
    assert_eq!(parts, 4);
    let last_bytes = events.iter().rev().find_map(|e| match e {
        Progress::Bytes { done } => Some(*done),
        _ => None,
    });
    assert_eq!(last_bytes, Some(3 * MIB + 1));
    assert!(matches!(events.last(), Some(Progress::Committed { .. })));
}

/// A refused upload (an unsupported media type) fails with the service's code, without retries.
#[tokio::test]
async fn refusals_carry_the_service_code_and_are_not_retried() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "setup.exe", b"MZ");
    let retries = Arc::new(Mutex::new(0));
    let counted = Arc::clone(&retries);
    let err = uploader(&emu)
        .on_progress(move |p| {
            if matches!(p, Progress::Retry { .. }) {
                *counted.lock().expect("lock") += 1;
            }
        })
        .upload(&file)
        .await
        .expect_err("exe is refused");
    assert_eq!(err.code(), Some("InvalidParameterValue.MediaType"));
    assert!(err.request_id().is_some_and(|r| !r.is_empty()));
    assert_eq!(*retries.lock().expect("lock"), 0);
}

/// A COS request refused because the signature window is off the server's clock is signed
/// again with the skew learned from `Date`, and succeeds: the journal shows exactly one
/// refusal (AccessDenied, "Request has expired") followed by the stored PutObject, and the
/// object holds the bytes.
#[tokio::test]
async fn cos_requests_correct_clock_skew_from_date() {
    let emu = emulator().await;
    emu.clock().advance_ms(2 * 3_600_000);
    let cos = vod_client::CosClient::new(
        reqwest::Client::new(),
        vod_client::CosEndpoint::PathStyle(emu.endpoint()),
        format!("vod-ap-guangzhou-{}", emu.config().app_id),
        "ap-guangzhou",
        crate::common::credentials(&emu),
    );
    let stored = cos
        .put_object("skew/x", bytes::Bytes::from_static(b"x"), None)
        .await
        .expect("the skew is corrected");
    assert_eq!(
        stored.etag, "\"9dd4e461268c8034f5c8564e155c67a6\"",
        "md5(\"x\")"
    );
    let puts: Vec<(Option<u16>, Option<String>)> = emu
        .journal()
        .requests(&vod_emulator::journal::Filter::default().action("PutObject"))
        .into_iter()
        .map(|e| (e.status, e.error_code))
        .collect();
    assert_eq!(
        puts,
        [
            (Some(403), Some("AccessDenied".to_owned())),
            (Some(200), None)
        ],
        "one refusal for the skewed signature, then the corrected PutObject"
    );
}

/// An HLS playlist is uploaded with the segments the service parses out of it (including a
/// nested playlist), each under the media's directory, and served next to the playlist.
#[tokio::test]
async fn m3u8_with_segments() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let seg0 = bytes(2000, 10);
    let seg1 = bytes(3 * MIB / 2, 11);
    write(dir.path(), "hls/seg0.ts", &seg0);
    write(dir.path(), "hls/low/seg1.ts", &seg1);
    let nested: &[u8] =
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:9.0,\nseg1.ts\n#EXT-X-ENDLIST\n";
    let top: &[u8] = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:9.0,\nseg0.ts\n#EXTINF:9.0,\nlow/index.m3u8\n#EXT-X-ENDLIST\n";
    write(dir.path(), "hls/low/index.m3u8", nested);
    let master = write(dir.path(), "hls/play.m3u8", top);
    let done = uploader(&emu).upload(&master).await.expect("upload m3u8");
    let base = done
        .media_url
        .rsplit_once('/')
        .expect("url dir")
        .0
        .to_owned();
    assert_eq!(get(&format!("{base}/seg0.ts")).await.2, seg0);
    assert!(get(&format!("{base}/low/seg1.ts")).await.2 == seg1);
    assert_eq!(get(&format!("{base}/low/index.m3u8")).await.0, 200);
    let total = seg0.len() + seg1.len() + nested.len() + top.len();
    assert_eq!(done.bytes_sent, total as u64, "every file sent once");
}

/// A manifest naming a segment that is not on disk fails before anything is uploaded.
#[tokio::test]
async fn m3u8_with_a_missing_segment_fails_up_front() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let master = write(
        dir.path(),
        "p.m3u8",
        b"#EXTM3U\n#EXTINF:9.0,\nnothere.ts\n#EXT-X-ENDLIST\n",
    );
    let err = uploader(&emu)
        .upload(&master)
        .await
        .expect_err("missing segment");
    assert!(err.to_string().contains("nothere.ts"), "{err}");
}
