//! Task flows named by ApplyUpload's `Procedure`: the presets every account has (doc
//! 266/14058) with their documented steps, task flows a user registers (builder, admin API,
//! `--task-flows FILE` in `cli`), and names that are none of these.

use crate::common::api::{bytes, Api};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use vod_emulator::task_flows::{
    AdaptiveDynamicStreamingTaskInput, MediaProcessTaskInput, TaskFlow, TranscodeTaskInput,
};
use vod_emulator::{Emulator, ProcedureProgress};

async fn start() -> (Emulator, Api) {
    let emu = Emulator::builder()
        .procedure_progress(ProcedureProgress::Immediate)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    (emu, api)
}

/// Uploads with this Procedure and returns the ProcedureStateChangeEvent it produced.
async fn run(api: &Api, procedure: &str, seed: u64) -> Value {
    let done = api
        .upload(
            json!({"MediaType": "mp4", "Procedure": procedure}),
            bytes(64, seed),
        )
        .await;
    let file_id = done["FileId"].as_str().expect("FileId");
    let ev = api
        .wait_event(&format!("type=ProcedureStateChanged&fileId={file_id}"))
        .await;
    ev["content"]["ProcedureStateChangeEvent"].clone()
}

/// The `Type` of each step result, in order.
fn step_types(task: &Value) -> Vec<String> {
    task["MediaProcessResultSet"]
        .as_array()
        .expect("MediaProcessResultSet")
        .iter()
        .map(|r| r["Type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every documented preset task flow is accepted by ApplyUpload. LongVideoPreset runs its
/// documented steps (image sprite 10, cover by snapshot 10, adaptive streaming 10) in the
/// order the service reports them; MultiDRMPreset streams with templates 14, 13 and 11.
#[tokio::test]
async fn preset_task_flows_run_their_documented_steps() {
    let (_emu, api) = start().await;
    for name in [
        "LongVideoPreset",
        "SimpleAesEncryptPreset",
        "WidevineFairPlayPreset",
        "SDMC-WidevineFairPlayPreset",
        "MultiDRMPreset",
    ] {
        let r = api
            .vod(
                "ApplyUpload",
                json!({"MediaType": "mp4", "Procedure": name}),
            )
            .await;
        assert!(r.get("Error").is_none(), "{name} refused: {r}");
    }
    let task = run(&api, "LongVideoPreset", 1).await;
    assert_eq!(
        step_types(&task),
        [
            "ImageSprites",
            "CoverBySnapshot",
            "AdaptiveDynamicStreaming"
        ]
    );
    let results = &task["MediaProcessResultSet"];
    let sprite = &results[0]["ImageSpriteTask"];
    assert_eq!(sprite["Input"]["Definition"], 10);
    assert_eq!(
        (&sprite["Output"]["Width"], &sprite["Output"]["Height"]),
        (&json!(142), &json!(80))
    );
    assert!(sprite["Output"]["WebVttUrl"]
        .as_str()
        .is_some_and(|u| u.ends_with("/imageSprite/imageSprite_10.vtt")));
    let cover = &results[1]["CoverBySnapshotTask"];
    assert_eq!(
        cover["Input"],
        json!({"Definition": 10, "PositionType": "Time", "PositionValue": 0.0, "WatermarkSet": []})
    );
    assert!(cover["Output"]["CoverUrl"]
        .as_str()
        .is_some_and(|u| u.ends_with("/coverBySnapshot/coverBySnapshot_10_0.jpg")));
    let adaptive = &results[2]["AdaptiveDynamicStreamingTask"];
    assert_eq!(adaptive["Output"]["Definition"], 10);
    assert_eq!(adaptive["Output"]["Package"], "HLS");
    assert_eq!(adaptive["Output"]["DrmType"], "");
    assert!(adaptive["Output"]["Url"]
        .as_str()
        .is_some_and(|u| u.ends_with("/adp.10.m3u8")));

    let task = run(&api, "MultiDRMPreset", 2).await;
    let streams: Vec<(Value, Value)> = task["MediaProcessResultSet"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["Type"] == "AdaptiveDynamicStreaming")
        .map(|r| {
            let out = &r["AdaptiveDynamicStreamingTask"]["Output"];
            (out["Definition"].clone(), out["DrmType"].clone())
        })
        .collect();
    assert_eq!(
        streams,
        [
            (json!(14), json!("SimpleAES")),
            (json!(13), json!("Widevine")),
            (json!(11), json!("FairPlay"))
        ]
    );
}

/// A task flow registered over the admin API is listed beside the presets, accepted by name
/// and run with its steps; once removed its name is refused again, as is any name that is
/// neither a preset nor registered; a preset cannot be replaced or removed; a reset forgets
/// it.
#[tokio::test]
async fn task_flows_are_registered_over_the_admin_api() {
    let (emu, api) = start().await;
    let flow = json!({"Name": "MyFlow", "MediaProcessTask": {
        "TranscodeTaskSet": [{"Definition": 100030, "WatermarkSet": [{"Definition": 7}]}],
        "SampleSnapshotTaskSet": [{"Definition": 10}],
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent", "PositionValue": 50}]
    }});
    let refused = api
        .vod(
            "ApplyUpload",
            json!({"MediaType": "mp4", "Procedure": "MyFlow"}),
        )
        .await;
    assert_eq!(Api::error_code(&refused), "InvalidParameterValue.Procedure");
    let (status, added) = api
        .admin_call(Method::POST, "/_emulator/task-flows", Some(flow))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["names"], json!(["MyFlow"]));
    let (_, list) = api
        .admin_call(Method::GET, "/_emulator/task-flows", None)
        .await;
    let kinds: Vec<(String, String)> = list["taskFlows"]
        .as_array()
        .expect("taskFlows")
        .iter()
        .map(|f| {
            (
                f["Name"].as_str().unwrap_or_default().to_owned(),
                f["Type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(kinds.contains(&("LongVideoPreset".into(), "Preset".into())));
    assert!(kinds.contains(&("MyFlow".into(), "Custom".into())));

    let task = run(&api, "MyFlow", 3).await;
    assert_eq!(
        step_types(&task),
        ["Transcode", "SampleSnapshot", "CoverBySnapshot"]
    );
    let results = &task["MediaProcessResultSet"];
    assert_eq!(
        results[0]["TranscodeTask"]["Input"],
        json!({"Definition": 100030, "WatermarkSet": [{"Definition": 7}]})
    );
    assert_eq!(
        results[2]["CoverBySnapshotTask"]["Input"]["PositionType"],
        "Percent"
    );

    let preset = json!({"Name": "LongVideoPreset",
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 10}]}});
    let (status, err) = api
        .admin_call(Method::POST, "/_emulator/task-flows", Some(preset))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, _) = api
        .admin_call(
            Method::DELETE,
            "/_emulator/task-flows/LongVideoPreset",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let empty = json!({"Name": "Nothing", "MediaProcessTask": {}});
    let (status, err) = api
        .admin_call(Method::POST, "/_emulator/task-flows", Some(empty))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    let (status, _) = api
        .admin_call(Method::DELETE, "/_emulator/task-flows/MyFlow", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .admin_call(Method::DELETE, "/_emulator/task-flows/MyFlow", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for name in ["MyFlow", "NoSuchFlow", "longvideopreset"] {
        let refused = api
            .vod(
                "ApplyUpload",
                json!({"MediaType": "mp4", "Procedure": name}),
            )
            .await;
        assert_eq!(
            Api::error_code(&refused),
            "InvalidParameterValue.Procedure",
            "{name}"
        );
    }

    let batch = json!({"TaskFlows": [
        {"Name": "A", "MediaProcessTask": {"ImageSpriteTaskSet": [{"Definition": 10}]}},
        {"Name": "B", "MediaProcessTask": {"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}]}}
    ]});
    let (status, added) = api
        .admin_call(Method::POST, "/_emulator/task-flows", Some(batch))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["names"], json!(["A", "B"]));
    emu.reset().await.expect("reset");
    let refused = api
        .vod("ApplyUpload", json!({"MediaType": "mp4", "Procedure": "A"}))
        .await;
    assert_eq!(Api::error_code(&refused), "InvalidParameterValue.Procedure");
}

/// A task flow given to the builder is accepted from the start and survives a reset; one
/// registered on the running handle is accepted at once and does not; an invalid one stops
/// start-up.
#[tokio::test]
async fn task_flows_are_registered_in_process() {
    let transcode = MediaProcessTaskInput {
        transcode_task_set: vec![TranscodeTaskInput {
            definition: 100020,
            watermark_set: Vec::new(),
        }],
        ..Default::default()
    };
    let emu = Emulator::builder()
        .procedure_progress(ProcedureProgress::Immediate)
        .task_flow(TaskFlow::new("Transcode540", transcode))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let task = run(&api, "Transcode540", 4).await;
    assert_eq!(step_types(&task), ["Transcode"]);
    assert_eq!(
        task["MediaProcessResultSet"][0]["TranscodeTask"]["Output"]["Width"],
        960
    );
    let streaming = MediaProcessTaskInput {
        adaptive_dynamic_streaming_task_set: vec![AdaptiveDynamicStreamingTaskInput {
            definition: 41,
            watermark_set: Vec::new(),
        }],
        ..Default::default()
    };
    let names = emu
        .task_flows()
        .register(vec![TaskFlow::new("Dash", streaming)])
        .expect("register");
    assert_eq!(names, ["Dash"]);
    let task = run(&api, "Dash", 5).await;
    let out = &task["MediaProcessResultSet"][0]["AdaptiveDynamicStreamingTask"]["Output"];
    assert_eq!(
        (&out["Package"], &out["DrmType"]),
        (&json!("DASH"), &json!("Widevine"))
    );
    emu.reset().await.expect("reset");
    let ok = api
        .vod(
            "ApplyUpload",
            json!({"MediaType": "mp4", "Procedure": "Transcode540"}),
        )
        .await;
    assert!(ok.get("Error").is_none(), "{ok}");
    let refused = api
        .vod(
            "ApplyUpload",
            json!({"MediaType": "mp4", "Procedure": "Dash"}),
        )
        .await;
    assert_eq!(Api::error_code(&refused), "InvalidParameterValue.Procedure");

    let invalid = Emulator::builder()
        .task_flow(TaskFlow::new("Nothing", MediaProcessTaskInput::default()))
        .start()
        .await;
    assert!(matches!(
        invalid,
        Err(vod_emulator::StartError::TaskFlow(_))
    ));
}

/// Documented values (tencentcloud-sdk-python-vod 3.1.194 models.py) of the enum-like fields
/// events carry, by where they are.
const STEP_STATUS: &[&str] = &["PROCESSING", "SUCCESS", "FAIL"];
const STEP_TYPES: &[&str] = &[
    "Transcode",
    "AnimatedGraphics",
    "SnapshotByTimeOffset",
    "SampleSnapshot",
    "ImageSprites",
    "CoverBySnapshot",
    "AdaptiveDynamicStreaming",
];
const STEP_TASKS: &[&str] = &[
    "TranscodeTask",
    "SampleSnapshotTask",
    "ImageSpriteTask",
    "CoverBySnapshotTask",
    "AdaptiveDynamicStreamingTask",
];

fn documented(value: &Value, allowed: &[&str], what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is {value}"));
    assert!(
        allowed.contains(&text),
        "{what} is {text:?}, not one of {allowed:?}"
    );
}

/// Every enum-like field of NewFileUpload and ProcedureStateChanged has one of its documented
/// values: the task flow `FINISH`ed (`PROCESSING`/`FINISH`), each step `SUCCESS` (`PROCESSING`,
/// `SUCCESS`, `FAIL`) with ErrCode 0, an empty ErrCodeExt and Message `SUCCESS` (as the
/// documented example and a real event show), and the media's category, status, storage class
/// and source type, the notify mode, step types, cover position, packaging and DRM.
#[tokio::test]
async fn events_carry_only_documented_enum_values() {
    let (_emu, api) = start().await;
    let flow = json!({"Name": "Everything", "MediaProcessTask": {
        "TranscodeTaskSet": [{"Definition": 100010}],
        "SampleSnapshotTaskSet": [{"Definition": 10}],
        "ImageSpriteTaskSet": [{"Definition": 10}],
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent", "PositionValue": 10}],
        "AdaptiveDynamicStreamingTaskSet": [{"Definition": 12}, {"Definition": 41}]
    }});
    let (status, added) = api
        .admin_call(Method::POST, "/_emulator/task-flows", Some(flow))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let task = run(&api, "Everything", 6).await;
    let (_, events) = api.admin_get("events?type=NewFileUpload").await;
    let basic = &events["events"][0]["content"]["FileUploadEvent"]["MediaBasicInfo"];
    documented(&basic["Category"], &["Video", "Audio", "Image"], "Category");
    documented(
        &basic["Status"],
        &["Normal", "Forbidden"],
        "MediaBasicInfo.Status",
    );
    documented(
        &basic["StorageClass"],
        &["STANDARD", "STANDARD_IA", "ARCHIVE", "DEEP_ARCHIVE"],
        "StorageClass",
    );
    documented(
        &basic["SourceInfo"]["SourceType"],
        &[
            "Record",
            "Upload",
            "VideoProcessing",
            "TrtcRecord",
            "WebPageRecord",
            "Unknown",
        ],
        "SourceType",
    );

    assert_eq!(task["Status"], "FINISH");
    assert_eq!(task["ErrCode"], 0);
    documented(
        &task["TasksNotifyMode"],
        &["Finish", "Change", "None"],
        "TasksNotifyMode",
    );
    let results = task["MediaProcessResultSet"].as_array().expect("results");
    assert_eq!(results.len(), 6);
    for r in results {
        documented(&r["Type"], STEP_TYPES, "Type");
        let tasks: Vec<&Value> = STEP_TASKS
            .iter()
            .filter_map(|t| r.get(*t))
            .filter(|t| !t.is_null())
            .collect();
        assert_eq!(
            tasks.len(),
            1,
            "one task set per result, the others null: {r}"
        );
        let step = tasks[0];
        documented(&step["Status"], STEP_STATUS, "step Status");
        assert_eq!(step["Status"], "SUCCESS", "{r}");
        assert_eq!(
            (&step["ErrCode"], &step["ErrCodeExt"], &step["Message"]),
            (&json!(0), &json!(""), &json!("SUCCESS")),
            "{r}"
        );
        if let Some(position) = step["Input"].get("PositionType") {
            documented(position, &["Time", "Percent"], "PositionType");
        }
        if let Some(package) = step["Output"].get("Package") {
            documented(package, &["HLS", "DASH"], "Package");
            documented(
                &step["Output"]["DrmType"],
                &["", "SimpleAES", "Widevine", "FairPlay", "Widevine+FairPlay"],
                "DrmType",
            );
        }
    }
}
