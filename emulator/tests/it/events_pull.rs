//! Events by pull: CommitUpload produces one NewFileUpload; PullEvents / ConfirmEvents with
//! their limits, long poll and at-least-once redelivery; SubAppIds kept apart; the event
//! configuration actions; durability across a restart.

use crate::common::api::{bytes, Api};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use vod_emulator::{Emulator, EmulatorBuilder};

/// A builder whose empty PullEvents answers after 200 ms instead of 5 s.
fn quick() -> EmulatorBuilder {
    Emulator::builder().pull_wait(Duration::from_millis(200))
}

async fn pull(api: &Api, sub: Option<u64>) -> Value {
    let body = sub.map_or_else(|| json!({}), |s| json!({ "SubAppId": s }));
    api.vod("PullEvents", body).await
}

fn handles(pulled: &Value) -> Vec<String> {
    pulled["EventSet"]
        .as_array()
        .expect("EventSet")
        .iter()
        .map(|e| e["EventHandle"].as_str().expect("EventHandle").to_owned())
        .collect()
}

/// One upload → exactly one NewFileUpload with the FileId, the SourceContext and the media
/// description; ConfirmEvents empties the queue, after which PullEvents says ResourceNotFound.
#[tokio::test]
async fn commit_emits_one_new_file_upload_that_confirm_removes() {
    let emu = quick().start().await.expect("start");
    let api = Api::new(&emu);
    let done = api
        .upload(
            json!({"MediaType": "mp4", "MediaName": "clip", "SourceContext": "user=42", "ClassId": 0}),
            bytes(5_000, 1),
        )
        .await;
    let pulled = Api::ok(pull(&api, None).await);
    let set = pulled["EventSet"].as_array().expect("EventSet");
    assert_eq!(set.len(), 1, "{pulled}");
    let ev = &set[0];
    assert_eq!(ev["EventType"], "NewFileUpload");
    let up = &ev["FileUploadEvent"];
    assert_eq!(up["FileId"], done["FileId"]);
    assert_eq!(up["ProcedureTaskId"], "");
    let basic = &up["MediaBasicInfo"];
    assert_eq!(basic["Name"], "clip");
    assert_eq!(basic["Type"], "mp4");
    assert_eq!(basic["MediaUrl"], done["MediaUrl"]);
    assert_eq!(basic["CoverUrl"], "");
    assert_eq!(basic["SourceInfo"]["SourceType"], "Upload");
    assert_eq!(basic["SourceInfo"]["SourceContext"], "user=42");
    assert_eq!(basic["ExpireTime"], "9999-12-31T23:59:59Z");
    assert!(basic["CreateTime"]
        .as_str()
        .expect("CreateTime")
        .ends_with('Z'));
    assert_eq!(up["MetaData"]["Size"], 5_000);
    let h = handles(&pulled);
    Api::ok(api.vod("ConfirmEvents", json!({ "EventHandles": h })).await);
    let again = pull(&api, None).await;
    assert_eq!(Api::error_code(&again), "ResourceNotFound");
    let (_, listed) = api.admin_get("events").await;
    assert_eq!(listed["events"][0]["state"], "confirmed");
}

/// An event pulled but not confirmed comes back after the 30 s deadline, with a new handle;
/// the old handle is then refused.
#[tokio::test]
async fn unconfirmed_events_are_delivered_again_after_thirty_seconds() {
    let emu = quick().start().await.expect("start");
    let api = Api::new(&emu);
    let done = api.upload(json!({"MediaType": "mp4"}), bytes(10, 2)).await;
    let first = handles(&Api::ok(pull(&api, None).await));
    assert_eq!(
        Api::error_code(&pull(&api, None).await),
        "ResourceNotFound",
        "in flight events are not pulled twice before the deadline"
    );
    emu.clock().advance_ms(30_001);
    let again = Api::ok(pull(&api, None).await);
    assert_eq!(
        again["EventSet"][0]["FileUploadEvent"]["FileId"],
        done["FileId"]
    );
    let second = handles(&again);
    assert_ne!(first, second);
    let stale = api
        .vod("ConfirmEvents", json!({ "EventHandles": first }))
        .await;
    assert_eq!(Api::error_code(&stale), "InvalidParameterValue");
    Api::ok(
        api.vod("ConfirmEvents", json!({ "EventHandles": second }))
            .await,
    );
    let (_, listed) = api.admin_get("events").await;
    assert_eq!(listed["events"][0]["attempts"], 2);
}

/// At most 16 events per PullEvents; ConfirmEvents takes 1 to 16 handles and requires them.
#[tokio::test]
async fn pull_and_confirm_respect_the_limit_of_sixteen() {
    let emu = quick().start().await.expect("start");
    let api = Api::new(&emu);
    for i in 0..17 {
        api.upload(json!({"MediaType": "mp4"}), bytes(10, i)).await;
    }
    let first = Api::ok(pull(&api, None).await);
    assert_eq!(handles(&first).len(), 16);
    let second = Api::ok(pull(&api, None).await);
    assert_eq!(handles(&second).len(), 1);
    let mut all = handles(&first);
    all.extend(handles(&second));
    let too_many = api
        .vod("ConfirmEvents", json!({ "EventHandles": all }))
        .await;
    assert_eq!(Api::error_code(&too_many), "InvalidParameterValue");
    let missing = api.vod("ConfirmEvents", json!({})).await;
    assert_eq!(Api::error_code(&missing), "MissingParameter");
    let empty = api
        .vod("ConfirmEvents", json!({ "EventHandles": [] }))
        .await;
    assert_eq!(Api::error_code(&empty), "InvalidParameterValue");
}

/// An empty queue holds PullEvents for the pull wait; an event arriving meanwhile ends the
/// wait at once, and so does the emulator's clock passing the wait. The emulator never polls
/// (a missed wake-up would hold the pull for its whole 20 s), so the bounds are tight.
#[tokio::test]
async fn long_poll_waits_on_an_empty_queue_and_returns_when_an_event_arrives() {
    let emu = Emulator::builder()
        .pull_wait(Duration::from_millis(400))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let started = Instant::now();
    assert_eq!(Api::error_code(&pull(&api, None).await), "ResourceNotFound");
    assert!(started.elapsed() >= Duration::from_millis(400));

    let emu = Emulator::builder()
        .pull_wait(Duration::from_secs(20))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let waiting = {
        let api = Api::new(&emu);
        tokio::spawn(async move { pull(&api, None).await })
    };
    // The pull is in flight before the upload: the upload takes several round trips.
    api.upload(json!({"MediaType": "mp4"}), bytes(10, 3)).await;
    let committed = Instant::now();
    let pulled = waiting.await.expect("pull task");
    let latency = committed.elapsed();
    assert_eq!(handles(&Api::ok(pulled)).len(), 1);
    assert!(
        latency < Duration::from_secs(2),
        "woke {latency:?} after the commit"
    );

    let waiting = {
        let api = Api::new(&emu);
        tokio::spawn(async move { pull(&api, None).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let advanced = Instant::now();
    emu.clock().advance_ms(20_000);
    let ended = waiting.await.expect("pull task");
    let latency = advanced.elapsed();
    assert_eq!(Api::error_code(&ended), "ResourceNotFound");
    assert!(
        latency < Duration::from_secs(2),
        "ended {latency:?} after the clock moved"
    );
}

/// Events of different SubAppIds never mix.
#[tokio::test]
async fn events_of_different_sub_apps_are_kept_apart() {
    let emu = quick().start().await.expect("start");
    let api = Api::new(&emu);
    let done = api
        .upload(json!({"MediaType": "mp4", "SubAppId": 7}), bytes(10, 4))
        .await;
    assert_eq!(Api::error_code(&pull(&api, None).await), "ResourceNotFound");
    assert_eq!(
        Api::error_code(&pull(&api, Some(8)).await),
        "ResourceNotFound"
    );
    let pulled = Api::ok(pull(&api, Some(7)).await);
    assert_eq!(
        pulled["EventSet"][0]["FileUploadEvent"]["FileId"],
        done["FileId"]
    );
    let wrong_app = api
        .vod(
            "ConfirmEvents",
            json!({ "EventHandles": handles(&pulled), "SubAppId": 8 }),
        )
        .await;
    assert_eq!(Api::error_code(&wrong_app), "InvalidParameterValue");
}

/// DescribeEventConfig shows the start-up defaults; ModifyEventConfig changes one
/// application only; switching uploads off stops NewFileUpload.
#[tokio::test]
async fn event_config_is_per_sub_app_and_gates_new_file_upload() {
    let emu = quick().start().await.expect("start");
    let api = Api::new(&emu);
    let d = Api::ok(api.vod("DescribeEventConfig", json!({})).await);
    assert_eq!(d["Mode"], "PULL");
    assert_eq!(d["NotificationUrl"], "");
    assert_eq!(d["UploadMediaCompleteEventSwitch"], "ON");
    assert_eq!(d["DeleteMediaCompleteEventSwitch"], "ON");
    Api::ok(
        api.vod(
            "ModifyEventConfig",
            json!({"SubAppId": 5, "UploadMediaCompleteEventSwitch": "OFF",
                   "NotificationUrl": "http://127.0.0.1:9/cb", "SignKey": "abc123"}),
        )
        .await,
    );
    let five = Api::ok(api.vod("DescribeEventConfig", json!({"SubAppId": 5})).await);
    assert_eq!(five["UploadMediaCompleteEventSwitch"], "OFF");
    assert_eq!(five["NotificationUrl"], "http://127.0.0.1:9/cb");
    assert!(five.get("SignKey").is_none(), "SignKey is never returned");
    let primary = Api::ok(api.vod("DescribeEventConfig", json!({})).await);
    assert_eq!(primary["UploadMediaCompleteEventSwitch"], "ON");
    let bad = api.vod("ModifyEventConfig", json!({"Mode": "POLL"})).await;
    assert_eq!(Api::error_code(&bad), "InvalidParameter");

    api.upload(json!({"MediaType": "mp4", "SubAppId": 5}), bytes(10, 5))
        .await;
    assert_eq!(
        Api::error_code(&pull(&api, Some(5)).await),
        "ResourceNotFound"
    );
}

/// With --data-dir, pending and unconfirmed events survive a restart.
#[tokio::test]
async fn undelivered_events_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = quick().data_dir(dir.path()).start().await.expect("start");
    let api = Api::new(&emu);
    let a = api.upload(json!({"MediaType": "mp4"}), bytes(10, 6)).await;
    let pulled = Api::ok(pull(&api, None).await);
    assert_eq!(handles(&pulled).len(), 1);
    let b = api.upload(json!({"MediaType": "mp4"}), bytes(10, 7)).await;
    emu.shutdown().await;

    let emu = quick().data_dir(dir.path()).start().await.expect("restart");
    let api = Api::new(&emu);
    let pending = Api::ok(pull(&api, None).await);
    assert_eq!(
        pending["EventSet"][0]["FileUploadEvent"]["FileId"],
        b["FileId"]
    );
    assert_eq!(handles(&pending).len(), 1);
    emu.clock().advance_ms(30_001);
    let redelivered = Api::ok(pull(&api, None).await);
    assert_eq!(
        redelivered["EventSet"][0]["FileUploadEvent"]["FileId"],
        a["FileId"]
    );
}

/// A real MP4 (written here with the `mp4` crate: 2 s of 320×240 H.264 at 25 fps) gets its
/// duration, resolution and codec in the event and in DescribeMediaInfos; a file that is not
/// an MP4 still uploads, with only its size.
#[tokio::test]
async fn mp4_metadata_is_read_and_unreadable_files_keep_only_their_size() {
    let emu = quick().start().await.expect("start");
    let api = Api::new(&emu);
    let done = api.upload(json!({"MediaType": "mp4"}), small_mp4()).await;
    let described = Api::ok(
        api.vod("DescribeMediaInfos", json!({"FileIds": [done["FileId"]]}))
            .await,
    );
    let meta = &described["MediaInfoSet"][0]["MetaData"];
    assert_eq!(meta["Width"], 320);
    assert_eq!(meta["Height"], 240);
    assert_eq!(meta["Duration"], 2.0);
    assert_eq!(meta["Container"], "mov,mp4,m4a,3gp,3g2,mj2");
    assert_eq!(meta["VideoStreamSet"][0]["Codec"], "h264");
    assert_eq!(meta["VideoStreamSet"][0]["Fps"], 25);
    let pulled = Api::ok(pull(&api, None).await);
    assert_eq!(pulled["EventSet"][0]["FileUploadEvent"]["MetaData"], *meta);

    let junk = api.upload(json!({"MediaType": "mp4"}), bytes(777, 9)).await;
    let described = Api::ok(
        api.vod("DescribeMediaInfos", json!({"FileIds": [junk["FileId"]]}))
            .await,
    );
    let meta = &described["MediaInfoSet"][0]["MetaData"];
    assert_eq!(meta["Size"], 777);
    assert_eq!(meta["Duration"], 0.0);
    assert_eq!(meta["Container"], "");
}

fn small_mp4() -> Vec<u8> {
    let config = mp4::Mp4Config {
        major_brand: "isom".parse().expect("brand"),
        minor_version: 512,
        compatible_brands: vec!["isom".parse().expect("brand")],
        timescale: 1000,
    };
    let mut writer =
        mp4::Mp4Writer::write_start(std::io::Cursor::new(Vec::new()), &config).expect("start");
    writer
        .add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Video,
            timescale: 1000,
            language: "und".into(),
            media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
                width: 320,
                height: 240,
                seq_param_set: vec![0x67, 0x64, 0x00, 0x0d],
                pic_param_set: vec![0x68, 0xee, 0x3c, 0x80],
            }),
        })
        .expect("track");
    for i in 0..50u64 {
        writer
            .write_sample(
                1,
                &mp4::Mp4Sample {
                    start_time: i * 40,
                    duration: 40,
                    rendering_offset: 0,
                    is_sync: i == 0,
                    bytes: ::bytes::Bytes::from(vec![0u8; 100]),
                },
            )
            .expect("sample");
    }
    writer.write_end().expect("end");
    writer.into_writer().into_inner()
}

fn pull_rule(effect: vod_emulator::faults::Effect) -> vod_emulator::faults::Rule {
    use vod_emulator::faults::{Channel, Rule, Service};
    Rule::new(Service::Events, "NewFileUpload", effect).channel(Channel::Pull)
}

fn file_ids(pulled: &Value) -> Vec<Value> {
    pulled["EventSet"]
        .as_array()
        .expect("EventSet")
        .iter()
        .map(|e| e["FileUploadEvent"]["FileId"].clone())
        .collect()
}

/// A dropped event is lost for good (a real lost event): no pull returns it, not even after
/// the confirmation deadline, and the admin API shows it `dropped`. A duplicated one comes
/// twice in one answer under two handles, each confirmed on its own.
#[tokio::test]
async fn pull_faults_drop_for_good_and_duplicate_under_two_handles() {
    use vod_emulator::faults::Effect;
    let emu = quick().start().await.expect("start");
    let api = Api::new(&emu);
    emu.faults()
        .add_all(vec![
            pull_rule(Effect::Drop).nth(1),
            pull_rule(Effect::Duplicate { copies: 1 }).nth(2),
        ])
        .expect("rules");
    let lost = api.upload(json!({"MediaType": "mp4"}), bytes(10, 60)).await;
    let twice = api.upload(json!({"MediaType": "mp4"}), bytes(10, 61)).await;
    let pulled = Api::ok(pull(&api, None).await);
    assert_eq!(
        file_ids(&pulled),
        vec![twice["FileId"].clone(), twice["FileId"].clone()],
        "{pulled}"
    );
    let set = pulled["EventSet"].as_array().expect("EventSet");
    assert_eq!(set[0]["FileUploadEvent"], set[1]["FileUploadEvent"]);
    let h = handles(&pulled);
    assert_ne!(h[0], h[1]);
    for handle in &h {
        Api::ok(
            api.vod("ConfirmEvents", json!({ "EventHandles": [handle] }))
                .await,
        );
    }
    emu.clock().advance_ms(60_000);
    assert_eq!(
        Api::error_code(&pull(&api, None).await),
        "ResourceNotFound",
        "the dropped event never comes back"
    );
    let (_, dropped) = api
        .admin_get(&format!(
            "events?state=dropped&fileId={}",
            lost["FileId"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        dropped["events"].as_array().map(Vec::len),
        Some(1),
        "{dropped}"
    );
    let (_, confirmed) = api.admin_get("events?state=confirmed").await;
    assert_eq!(confirmed["events"].as_array().map(Vec::len), Some(2));
    let rules = emu.faults().list();
    assert_eq!((rules[0].hits, rules[1].hits), (1, 1));
}

/// A delayed event is held (and not pullable) for its delay on the emulator's clock, then
/// pulled; a reordered one is overtaken by the event after it.
#[tokio::test]
async fn pull_faults_delay_and_reorder() {
    use vod_emulator::faults::Effect;
    let emu = quick().start().await.expect("start");
    emu.clock().freeze();
    let api = Api::new(&emu);
    emu.faults()
        .add_all(vec![
            pull_rule(Effect::Delay { ms: 10_000 }).nth(1),
            pull_rule(Effect::Reorder).nth(2),
        ])
        .expect("rules");
    let late = api.upload(json!({"MediaType": "mp4"}), bytes(10, 62)).await;
    assert_eq!(Api::error_code(&pull(&api, None).await), "ResourceNotFound");
    let (_, held) = api.admin_get("events?state=held").await;
    assert_eq!(held["events"][0]["fileId"], late["FileId"]);
    assert_eq!(held["events"][0]["attempts"], 0);
    emu.clock().advance_ms(9_999);
    assert_eq!(Api::error_code(&pull(&api, None).await), "ResourceNotFound");
    emu.clock().advance_ms(1);
    let pulled = Api::ok(pull(&api, None).await);
    assert_eq!(file_ids(&pulled), vec![late["FileId"].clone()]);
    Api::ok(
        api.vod("ConfirmEvents", json!({ "EventHandles": handles(&pulled) }))
            .await,
    );

    let first = api.upload(json!({"MediaType": "mp4"}), bytes(10, 63)).await;
    let second = api.upload(json!({"MediaType": "mp4"}), bytes(10, 64)).await;
    let a = Api::ok(pull(&api, None).await);
    assert_eq!(
        file_ids(&a),
        vec![second["FileId"].clone()],
        "the second overtakes"
    );
    let b = Api::ok(pull(&api, None).await);
    assert_eq!(file_ids(&b), vec![first["FileId"].clone()]);
}
