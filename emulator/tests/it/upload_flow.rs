//! The whole flow: ApplyUpload → COS upload with the temporary credentials → CommitUpload,
//! and every way CommitUpload refuses.

use crate::common::api::{bytes, key_of, Api, CosCreds};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use vod_emulator::Emulator;

async fn setup() -> (Emulator, Api) {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    (emu, api)
}

async fn put(api: &Api, apply: &Value, path: &str, data: Vec<u8>) {
    api.put_media(apply, path, data).await;
}

async fn commit(api: &Api, apply: &Value) -> Value {
    api.vod(
        "CommitUpload",
        json!({"VodSessionKey": apply["VodSessionKey"]}),
    )
    .await
}

/// A committed upload gets a decimal FileId and URLs that serve the uploaded bytes.
#[tokio::test]
async fn committed_media_and_cover_are_served_from_their_urls() {
    let (emu, api) = setup().await;
    let apply = api.apply(true).await;
    let media = bytes(300_000, 1);
    let cover = bytes(2_000, 2);
    put(&api, &apply, "MediaStoragePath", media.clone()).await;
    put(&api, &apply, "CoverStoragePath", cover.clone()).await;
    let done = Api::ok(commit(&api, &apply).await);
    let file_id = done["FileId"].as_str().expect("FileId");
    assert!(!file_id.is_empty() && file_id.bytes().all(|b| b.is_ascii_digit()));
    let media_url = done["MediaUrl"].as_str().expect("MediaUrl");
    let cover_url = done["CoverUrl"].as_str().expect("CoverUrl");
    assert!(media_url.starts_with(&emu.endpoint()));
    assert_eq!(api.get(media_url).await, (reqwest::StatusCode::OK, media));
    assert_eq!(api.get(cover_url).await, (reqwest::StatusCode::OK, cover));
    let other = api.apply(false).await;
    put(&api, &other, "MediaStoragePath", b"x".to_vec()).await;
    let second = Api::ok(commit(&api, &other).await);
    assert_ne!(second["FileId"], done["FileId"], "FileIds are unique");
    assert_eq!(
        second["CoverUrl"], "",
        "without a cover, CoverUrl is there and empty, as the service sends it: {second}"
    );
}

/// The playback URL of an object of `bucket`, as CommitUpload spells it.
fn media_url_of(emu: &Emulator, bucket: &str, key: &str) -> String {
    let encoded = vod_protocol::sign::cos::encode_key(key);
    format!("{}/media/{bucket}/{encoded}", emu.endpoint())
}

/// Media, cover and segment URLs serve from CommitUpload on and until DeleteMedia only: the
/// same objects uploaded but not committed are 404 there, and so is another session's
/// uncommitted media in a committed media's directory.
#[tokio::test]
async fn media_urls_serve_only_from_commit_until_delete() {
    let (emu, api) = setup().await;
    let apply = api.apply(true).await;
    let bucket = apply["StorageBucket"].as_str().expect("bucket");
    let media_key = key_of(&apply["MediaStoragePath"]);
    let dir = &media_key[..=media_key.rfind('/').expect("a directory")];
    let segment_key = format!("{dir}seg/0.ts");
    put(&api, &apply, "MediaStoragePath", b"video".to_vec()).await;
    put(&api, &apply, "CoverStoragePath", b"cover".to_vec()).await;
    let segment = api
        .cos(
            &CosCreds::from_apply(&apply),
            Method::PUT,
            bucket,
            &segment_key,
            &[],
            &[],
            b"segment".to_vec(),
        )
        .await;
    assert_eq!(segment.status, 200);
    let urls = [
        media_url_of(&emu, bucket, &media_key),
        media_url_of(&emu, bucket, &key_of(&apply["CoverStoragePath"])),
        media_url_of(&emu, bucket, &segment_key),
    ];
    for url in &urls {
        assert_eq!(api.get(url).await.0, 404, "before CommitUpload: {url}");
    }
    let done = Api::ok(commit(&api, &apply).await);
    assert_eq!(done["MediaUrl"], urls[0].as_str());
    assert_eq!(done["CoverUrl"], urls[1].as_str());
    for (url, body) in urls.iter().zip([&b"video"[..], b"cover", b"segment"]) {
        assert_eq!(api.get(url).await, (reqwest::StatusCode::OK, body.to_vec()));
    }
    Api::ok(
        api.vod("DeleteMedia", json!({"FileId": done["FileId"]}))
            .await,
    );
    for url in &urls {
        assert_eq!(api.get(url).await.0, 404, "after DeleteMedia: {url}");
    }

    let shared =
        |name: &str| json!({"MediaType": "mp4", "MediaStoragePath": format!("/shared/{name}.mp4")});
    let a = Api::ok(api.vod("ApplyUpload", shared("a")).await);
    let b = Api::ok(api.vod("ApplyUpload", shared("b")).await);
    put(&api, &a, "MediaStoragePath", b"a".to_vec()).await;
    put(&api, &b, "MediaStoragePath", b"b".to_vec()).await;
    Api::ok(commit(&api, &a).await);
    let b_url = media_url_of(&emu, bucket, "shared/b.mp4");
    assert_eq!(
        api.get(&media_url_of(&emu, bucket, "shared/a.mp4")).await.0,
        200
    );
    assert_eq!(api.get(&b_url).await.0, 404, "b is not committed");
    Api::ok(commit(&api, &b).await);
    assert_eq!(
        api.get(&b_url).await,
        (reqwest::StatusCode::OK, b"b".to_vec())
    );
}

/// A second commit of the same session is refused and the first media stays as it was.
#[tokio::test]
async fn commit_twice_is_refused_and_changes_nothing() {
    let (_emu, api) = setup().await;
    let apply = api.apply(false).await;
    put(&api, &apply, "MediaStoragePath", b"video".to_vec()).await;
    let first = Api::ok(commit(&api, &apply).await);
    let again = commit(&api, &apply).await;
    assert_eq!(
        Api::error_code(&again),
        "InvalidParameterValue.VodSessionKey"
    );
    let url = first["MediaUrl"].as_str().expect("url");
    assert_eq!(api.get(url).await.1, b"video");
}

/// An unknown session key is refused.
#[tokio::test]
async fn commit_of_an_unknown_session_is_refused() {
    let (_emu, api) = setup().await;
    let r = api
        .vod("CommitUpload", json!({"VodSessionKey": "not-a-session"}))
        .await;
    assert_eq!(Api::error_code(&r), "InvalidParameterValue.VodSessionKey");
    let r = api.vod("CommitUpload", json!({})).await;
    assert_eq!(Api::error_code(&r), "MissingParameter");
}

/// Committing before the media (or the applied-for cover) is uploaded is refused, and the
/// session can still be committed once the files are there.
#[tokio::test]
async fn commit_before_upload_is_refused_without_consuming_the_session() {
    let (_emu, api) = setup().await;
    let apply = api.apply(true).await;
    assert_eq!(
        Api::error_code(&commit(&api, &apply).await),
        "ResourceNotFound"
    );
    put(&api, &apply, "MediaStoragePath", b"m".to_vec()).await;
    assert_eq!(
        Api::error_code(&commit(&api, &apply).await),
        "ResourceNotFound"
    );
    put(&api, &apply, "CoverStoragePath", b"c".to_vec()).await;
    Api::ok(commit(&api, &apply).await);
}

/// A session past its lifetime can no longer be committed, nor its credentials used.
#[tokio::test]
async fn expired_sessions_are_refused_for_commit_and_upload() {
    let emu = Emulator::builder()
        .session_ttl(Duration::from_secs(600))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let apply = api.apply(false).await;
    put(&api, &apply, "MediaStoragePath", b"m".to_vec()).await;
    emu.clock().advance_ms(601_000);
    let creds = CosCreds::from_apply(&apply);
    let bucket = apply["StorageBucket"].as_str().expect("bucket");
    // The client signs with its own (real) clock, so the signature window is still open.
    let r = api
        .cos(
            &creds,
            Method::PUT,
            bucket,
            &key_of(&apply["MediaStoragePath"]),
            &[],
            &[],
            b"n".to_vec(),
        )
        .await;
    assert_eq!(r.code(), "ExpiredToken");
    let mut call = api.call(
        "CommitUpload",
        &json!({"VodSessionKey": apply["VodSessionKey"]}),
    );
    call.timestamp += 601;
    let r = api.vod_call(call).await;
    assert_eq!(Api::error_code(&r), "InvalidParameterValue.VodSessionKey");
}

/// CommitUpload must name the SubAppId the session was applied for.
#[tokio::test]
async fn commit_with_another_sub_app_id_is_refused() {
    let (_emu, api) = setup().await;
    let apply = Api::ok(
        api.vod(
            "ApplyUpload",
            json!({"MediaType": "mp4", "SubAppId": 1500000001}),
        )
        .await,
    );
    put(&api, &apply, "MediaStoragePath", b"m".to_vec()).await;
    let r = api
        .vod(
            "CommitUpload",
            json!({"VodSessionKey": apply["VodSessionKey"], "SubAppId": 1500000002}),
        )
        .await;
    assert_eq!(Api::error_code(&r), "InvalidParameterValue.SubAppId");
    Api::ok(
        api.vod(
            "CommitUpload",
            json!({"VodSessionKey": apply["VodSessionKey"], "SubAppId": 1500000001}),
        )
        .await,
    );
}

/// With a data directory, committed media survive a restart.
#[tokio::test]
async fn data_dir_keeps_media_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let apply = api.apply(false).await;
    let data = bytes(50_000, 9);
    put(&api, &apply, "MediaStoragePath", data.clone()).await;
    let done = Api::ok(commit(&api, &apply).await);
    emu.shutdown().await;
    let emu = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .expect("restart");
    let api = Api::new(&emu);
    let old_url = done["MediaUrl"].as_str().expect("url");
    let path = &old_url[old_url.find("/media/").expect("media path")..];
    assert_eq!(api.get(&format!("{}{path}", emu.endpoint())).await.1, data);
    assert_eq!(
        Api::error_code(&commit(&api, &apply).await),
        "InvalidParameterValue.VodSessionKey",
        "the session stays committed"
    );
}

/// `public_url` sets the base of MediaUrl.
#[tokio::test]
async fn public_url_sets_the_base_of_media_urls() {
    let emu = Emulator::builder()
        .public_url("http://vod.example.test:8080/")
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let apply = api.apply(false).await;
    put(&api, &apply, "MediaStoragePath", b"m".to_vec()).await;
    let done = Api::ok(commit(&api, &apply).await);
    assert!(done["MediaUrl"]
        .as_str()
        .is_some_and(|u| u.starts_with("http://vod.example.test:8080/media/")));
}
