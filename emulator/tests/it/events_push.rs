//! Push callbacks (v3 with Sign/T, legacy v2), retries with backoff on the emulator's clock,
//! giving up, per-file order, task flows (immediate, delayed, manual), DeleteMedia's event,
//! and the admin API's resend and trigger.

use crate::common::api::{bytes, Api};
use crate::common::receiver::{push_to, Receiver};
use serde_json::{json, Value};
use std::time::Duration;
use vod_emulator::{Emulator, ProcedureProgress};

/// An emulator pushing to `url` (the start-up configuration of every application).
async fn pushing(url: &str, sign_key: Option<&str>, legacy: bool) -> (Emulator, Api) {
    let emu = Emulator::builder()
        .events(push_to(url, sign_key, legacy))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    (emu, api)
}

/// A NewFileUpload is POSTed with the v3 body, and `Sign` = md5(SignKey + T) with T in the
/// future; the admin API shows it delivered.
#[tokio::test]
async fn push_posts_the_v3_body_with_sign_and_t() {
    let rx = Receiver::start(0).await;
    let (emu, api) = pushing(&rx.url, Some("key123"), false).await;
    let done = api
        .upload(
            json!({"MediaType": "mp4", "SourceContext": "ctx"}),
            bytes(10, 1),
        )
        .await;
    let ev = api.wait_event("state=delivered").await;
    assert_eq!(ev["attempts"], 1);
    let bodies = rx.bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["EventType"], "NewFileUpload");
    assert!(body.get("EventHandle").is_none());
    assert_eq!(body["FileUploadEvent"]["FileId"], done["FileId"]);
    assert_eq!(
        body["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"],
        "ctx"
    );
    let t = body["T"].as_i64().expect("T");
    assert!(t > emu.clock().now());
    let expected = {
        use md5::{Digest, Md5};
        hex::encode(Md5::digest(format!("key123{t}").as_bytes()))
    };
    assert_eq!(body["Sign"], expected);
}

/// A callback URL registered as legacy gets the v2 body.
#[tokio::test]
async fn legacy_callback_urls_get_the_v2_body() {
    let rx = Receiver::start(0).await;
    let (_emu, api) = pushing(&rx.url, None, true).await;
    let done = api
        .upload(
            json!({"MediaType": "mp4", "SourceContext": "v2ctx"}),
            bytes(10, 2),
        )
        .await;
    api.wait_event("state=delivered").await;
    let body = &rx.bodies()[0];
    assert_eq!(body["eventType"], "NewFileUpload");
    assert_eq!(body["data"]["fileId"], done["FileId"]);
    assert_eq!(body["data"]["sourceContext"], "v2ctx");
    assert_eq!(body["data"]["procedureTaskId"], "");
    assert!(body.get("Sign").is_none());
}

/// Polls the first event until `done` holds (the worker runs on real time; bounded at 5 s).
async fn first_event_when(api: &Api, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..250 {
        let ev = api.admin_get("events").await.1["events"][0].clone();
        if done(&ev) {
            return ev;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition never held: {}", api.admin_get("events").await.1);
}

/// A callback that fails twice is retried after 1 s and then 2 s of emulator time, and then
/// delivered once. The clock is frozen: real time passing moves no retry (a worker judging
/// "due" by wall time would retry during the pause), and the due times are exact.
#[tokio::test]
async fn failed_pushes_are_retried_with_exponential_backoff() {
    let rx = Receiver::start(2).await;
    let (emu, api) = pushing(&rx.url, None, false).await;
    emu.clock().freeze();
    let t0 = emu.clock().now_ms();
    api.upload(json!({"MediaType": "mp4"}), bytes(10, 3)).await;
    let ev = first_event_when(&api, |e| e["attempts"] == 1).await;
    assert_eq!(ev["state"], "pending");
    assert!(ev["lastError"].as_str().expect("lastError").contains("500"));
    assert_eq!(
        ev["dueMs"],
        t0 + 1_000,
        "first retry 1 s after the try: {ev}"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (_, listed) = api.admin_get("events").await;
    assert_eq!(
        listed["events"][0]["attempts"], 1,
        "no retry while the emulator's clock stands still: {listed}"
    );
    emu.clock().advance_ms(1_000);
    let ev = first_event_when(&api, |e| e["attempts"] == 2).await;
    assert_eq!(ev["state"], "pending");
    assert_eq!(ev["dueMs"], t0 + 3_000, "second retry 2 s after: {ev}");
    emu.clock().advance_ms(2_000);
    let ev = first_event_when(&api, |e| e["state"] == "delivered").await;
    assert_eq!(ev["attempts"], 3);
    assert_eq!(rx.bodies().len(), 1);
}

/// On a running clock nothing needs to wake the worker: the retry comes by itself when its
/// backoff has passed in real time (the worker sleeps until then, it does not poll).
#[tokio::test]
async fn a_retry_comes_by_itself_on_a_running_clock() {
    let rx = Receiver::start(1).await;
    let (_emu, api) = pushing(&rx.url, None, false).await;
    api.upload(json!({"MediaType": "mp4"}), bytes(10, 3)).await;
    let ev = first_event_when(&api, |e| e["attempts"] == 1).await;
    let backoff =
        ev["dueMs"].as_i64().expect("dueMs") - ev["createdMs"].as_i64().expect("createdMs");
    assert!(backoff >= 1_000, "{ev}");
    let delivered = first_event_when(&api, |e| e["state"] == "delivered").await;
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(rx.bodies().len(), 1);
}

/// A callback that never succeeds is given up after the configured tries, visible as
/// `failed` in the admin API; `resend` starts a fresh round.
#[tokio::test]
async fn a_callback_that_never_succeeds_is_given_up_and_can_be_resent() {
    let emu = Emulator::builder()
        .events(push_to("http://127.0.0.1:9/unreachable", None, false))
        .push_attempts(2)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    api.upload(json!({"MediaType": "mp4"}), bytes(10, 4)).await;
    emu.clock().advance_ms(60_000);
    let failed = api.wait_event("state=failed").await;
    assert_eq!(failed["attempts"], 2);
    assert!(failed["lastError"].as_str().is_some());
    let id = failed["id"].as_i64().expect("id");
    let (status, _) = api.admin_post(&format!("events/{id}/resend")).await;
    assert_eq!(status, 200);
    // The worker takes a resent event at once, so its pending state may already be gone:
    // the fresh round shows in the count it fails with (2 again, not 3).
    emu.clock().advance_ms(60_000);
    let again = first_event_when(&api, |e| e["state"] == "failed").await;
    assert_eq!(
        again["attempts"], 2,
        "the whole round was tried again: {again}"
    );
    let (status, _) = api.admin_post("events/999/resend").await;
    assert_eq!(status, 404);
}

/// With a delayed task flow, ProcedureStateChanged follows NewFileUpload only once the
/// emulator's clock has passed the delay, and both arrive at the callback in order.
#[tokio::test]
async fn procedure_finishes_after_its_delay_and_pushes_in_order() {
    let rx = Receiver::start(0).await;
    let emu = Emulator::builder()
        .events(push_to(&rx.url, None, false))
        .procedure_progress(ProcedureProgress::After(Duration::from_secs(30)))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let done = api
        .upload(
            json!({"MediaType": "mp4", "Procedure": "QCVB_SimpleProcessFile(1,1)",
                   "SessionContext": "sess"}),
            bytes(10, 5),
        )
        .await;
    api.wait_event("type=NewFileUpload&state=delivered").await;
    let (_, tasks) = api.admin_get("tasks").await;
    assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(1));
    emu.clock().advance_ms(30_000);
    let finished = api
        .wait_event("type=ProcedureStateChanged&state=delivered")
        .await;
    let bodies = rx.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["EventType"], "NewFileUpload");
    assert_eq!(bodies[1]["EventType"], "ProcedureStateChanged");
    let task = &bodies[1]["ProcedureStateChangeEvent"];
    assert_eq!(task["FileId"], done["FileId"]);
    assert_eq!(
        task["TaskId"],
        bodies[0]["FileUploadEvent"]["ProcedureTaskId"]
    );
    assert_eq!(task["SessionContext"], "sess");
    assert_eq!(
        task["MediaProcessResultSet"].as_array().map(Vec::len),
        Some(3),
        "three global transcode templates"
    );
    assert_eq!(finished["fileId"], done["FileId"]);
}

/// A manual task flow finishes only through the admin API; unknown procedures are refused
/// at ApplyUpload.
#[tokio::test]
async fn manual_procedures_finish_through_the_admin_api() {
    let emu = Emulator::builder()
        .procedure_progress(ProcedureProgress::Manual)
        .pull_wait(Duration::from_millis(200))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let refused = api
        .vod(
            "ApplyUpload",
            json!({"MediaType": "mp4", "Procedure": "QCVB_SimpleProcessFile(x)"}),
        )
        .await;
    assert_eq!(Api::error_code(&refused), "InvalidParameterValue.Procedure");
    api.upload(
        json!({"MediaType": "mp4", "Procedure": "QCVB_SimpleProcessFile({10,20},150,10,10)"}),
        bytes(10, 6),
    )
    .await;
    emu.clock().advance_ms(3_600_000);
    let (_, tasks) = api.admin_get("tasks").await;
    let task_id = tasks["tasks"][0]["taskId"]
        .as_str()
        .expect("taskId")
        .to_owned();
    let (_, none) = api.admin_get("events?type=ProcedureStateChanged").await;
    assert_eq!(none["events"], json!([]));
    let (status, _) = api.admin_post(&format!("tasks/{task_id}/finish")).await;
    assert_eq!(status, 200);
    let ev = api.wait_event("type=ProcedureStateChanged").await;
    let results = &ev["content"]["ProcedureStateChangeEvent"]["MediaProcessResultSet"];
    let types: Vec<&str> = results
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "Transcode",
            "Transcode",
            "SampleSnapshot",
            "CoverBySnapshot"
        ]
    );
    let (status, _) = api.admin_post(&format!("tasks/{task_id}/finish")).await;
    assert_eq!(status, 404, "a finished task cannot finish twice");
}

/// DeleteMedia removes the media (URL 404, DescribeMediaInfos lists it as missing) and emits
/// FileDeleted; a synthetic trigger reaches the pull queue too.
#[tokio::test]
async fn delete_media_emits_file_deleted_and_triggers_are_delivered() {
    let emu = Emulator::builder()
        .pull_wait(Duration::from_millis(200))
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let done = api.upload(json!({"MediaType": "mp4"}), bytes(10, 7)).await;
    let file_id = done["FileId"].as_str().expect("FileId");
    let described = Api::ok(
        api.vod(
            "DescribeMediaInfos",
            json!({"FileIds": [file_id], "Filters": ["basicInfo"]}),
        )
        .await,
    );
    assert_eq!(described["MediaInfoSet"][0]["BasicInfo"]["Type"], "mp4");
    assert!(described["MediaInfoSet"][0]["MetaData"].is_null());
    Api::ok(api.vod("DeleteMedia", json!({"FileId": file_id})).await);
    let url = done["MediaUrl"].as_str().expect("MediaUrl");
    assert_eq!(api.get(url).await.0, 404);
    let deleted = api.wait_event("type=FileDeleted").await;
    assert_eq!(
        deleted["content"]["FileDeleteEvent"]["FileIdSet"],
        json!([file_id])
    );
    let empty = api.vod("DescribeMediaInfos", json!({"FileIds": []})).await;
    assert_eq!(
        Api::error_code(&empty),
        "InvalidParameterValue.FileIdsEmpty"
    );
    let (status, body) = api
        .admin_post("events/trigger?type=NewFileUpload&fileId=123")
        .await;
    assert_eq!(status, 200, "{body}");
    let synthetic = api.wait_event("fileId=123").await;
    assert_eq!(synthetic["eventType"], "NewFileUpload");
    assert_eq!(synthetic["delivery"], "pull");
}

/// Push faults: a dropped NewFileUpload callback is never sent (its state says `dropped`), a
/// duplicated one arrives twice, and a badly signed one carries a `Sign` the key does not give.
#[tokio::test]
async fn push_faults_drop_duplicate_and_missign_callbacks() {
    use vod_emulator::faults::{Channel, Effect, Rule, Service};
    let rx = Receiver::start(0).await;
    let (emu, api) = pushing(&rx.url, Some("key123"), false).await;
    let rule = |effect, nth| {
        Rule::new(Service::Events, "NewFileUpload", effect)
            .channel(Channel::Push)
            .nth(nth)
    };
    emu.faults()
        .add_all(vec![
            rule(Effect::Drop, 1),
            rule(Effect::Duplicate { copies: 1 }, 2),
            rule(Effect::BadSignature, 3),
        ])
        .expect("rules");
    let mut file_ids = Vec::new();
    for (seed, end) in [(0, "dropped"), (1, "delivered"), (2, "delivered")] {
        let done = api
            .upload(json!({"MediaType": "mp4"}), bytes(10, 40 + seed))
            .await;
        let file_id = done["FileId"].as_str().expect("FileId").to_owned();
        api.wait_event(&format!("state={end}&fileId={file_id}"))
            .await;
        file_ids.push(file_id);
    }
    let bodies = rx.bodies();
    let of = |id: &str| -> Vec<Value> {
        bodies
            .iter()
            .filter(|b| b["FileUploadEvent"]["FileId"] == id)
            .cloned()
            .collect()
    };
    assert!(of(&file_ids[0]).is_empty(), "the dropped callback arrived");
    let twice = of(&file_ids[1]);
    assert_eq!(twice.len(), 2);
    assert_eq!(twice[0], twice[1]);
    let forged = of(&file_ids[2]);
    assert_eq!(forged.len(), 1);
    let t = forged[0]["T"].as_i64().expect("T");
    let good = {
        use md5::{Digest, Md5};
        hex::encode(Md5::digest(format!("key123{t}").as_bytes()))
    };
    assert_ne!(forged[0]["Sign"], good);
    assert!(forged[0]["Sign"].is_string());
}

fn push_rule(effect: vod_emulator::faults::Effect) -> vod_emulator::faults::Rule {
    use vod_emulator::faults::{Channel, Rule, Service};
    Rule::new(Service::Events, "NewFileUpload", effect).channel(Channel::Push)
}

/// A delayed callback is held for its delay on the emulator's clock and then POSTed; a
/// reordered NewFileUpload is overtaken by the ProcedureStateChanged committed with it.
#[tokio::test]
async fn push_faults_delay_and_reorder_callbacks() {
    use vod_emulator::faults::Effect;
    let rx = Receiver::start(0).await;
    let emu = Emulator::builder()
        .events(push_to(&rx.url, None, false))
        .procedure_progress(ProcedureProgress::Immediate)
        .start()
        .await
        .expect("start");
    emu.clock().freeze();
    let api = Api::new(&emu);
    emu.faults()
        .add_all(vec![
            push_rule(Effect::Delay { ms: 10_000 }).nth(1),
            push_rule(Effect::Reorder).nth(2),
        ])
        .expect("rules");
    let late = api.upload(json!({"MediaType": "mp4"}), bytes(10, 70)).await;
    let held = api.wait_event("state=held").await;
    assert_eq!(held["fileId"], late["FileId"]);
    assert_eq!(held["dueMs"], emu.clock().now_ms() + 10_000);
    assert!(rx.bodies().is_empty(), "a held callback is not sent");
    emu.clock().advance_ms(10_000);
    api.wait_event("state=delivered").await;
    assert_eq!(rx.bodies()[0]["FileUploadEvent"]["FileId"], late["FileId"]);

    let done = api
        .upload(
            json!({"MediaType": "mp4", "Procedure": "QCVB_SimpleProcessFile(1,1)"}),
            bytes(10, 71),
        )
        .await;
    let file_id = done["FileId"].as_str().expect("FileId");
    api.wait_event(&format!(
        "type=NewFileUpload&state=delivered&fileId={file_id}"
    ))
    .await;
    api.wait_event(&format!(
        "type=ProcedureStateChanged&state=delivered&fileId={file_id}"
    ))
    .await;
    let kinds: Vec<Value> = rx.bodies()[1..]
        .iter()
        .map(|b| b["EventType"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("ProcedureStateChanged"), json!("NewFileUpload")]
    );
}

/// With `early_callback`, the NewFileUpload callback reaches the application before the
/// CommitUpload answer does: the receiver has it, unmarked, the moment CommitUpload returns,
/// and the event is already delivered. The proof does not rest on timing: every callback the
/// worker sends is held for a minute by a `delay` rule, so only the commit path can have sent
/// it; the next upload's callback (no early fault) is held as usual.
#[tokio::test]
async fn early_callbacks_arrive_before_the_commit_answer() {
    use vod_emulator::faults::Effect;
    let rx = Receiver::start(0).await;
    let (emu, api) = pushing(&rx.url, Some("k1"), false).await;
    emu.faults()
        .add_all(vec![
            push_rule(Effect::EarlyCallback).nth(1),
            push_rule(Effect::Delay { ms: 60_000 }),
        ])
        .expect("rules");
    let done = api.upload(json!({"MediaType": "mp4"}), bytes(10, 72)).await;
    rx.mark();
    let received = rx.received();
    assert_eq!(received.len(), 1, "the callback came before the answer");
    let (body, after_answer) = &received[0];
    assert!(!after_answer);
    assert_eq!(body["FileUploadEvent"]["FileId"], done["FileId"]);
    let expected = {
        use md5::{Digest, Md5};
        let t = body["T"].as_i64().expect("T");
        hex::encode(Md5::digest(format!("k1{t}").as_bytes()))
    };
    assert_eq!(
        body["Sign"], expected,
        "an early callback is signed as usual"
    );
    let (_, listed) = api.admin_get("events").await;
    assert_eq!(listed["events"][0]["state"], "delivered");
    assert_eq!(listed["events"][0]["attempts"], 1);

    let other = api.upload(json!({"MediaType": "mp4"}), bytes(10, 73)).await;
    let file_id = other["FileId"].as_str().expect("FileId");
    api.wait_event(&format!("state=held&fileId={file_id}"))
        .await;
    assert_eq!(rx.received().len(), 1);
    emu.clock().advance_ms(60_000);
    api.wait_event(&format!("state=delivered&fileId={file_id}"))
        .await;
    assert_eq!(rx.received().len(), 2, "one callback per upload");
    let rules = emu.faults().list();
    assert_eq!((rules[0].matched, rules[0].hits), (2, 1));
    assert_eq!(
        rules[1].matched, 1,
        "the early callback never reached the worker"
    );
}

/// A TCP relay on a loopback port of its own to `target`, as a port forward would be: a
/// NotificationUrl the emulator cannot tell is its own.
async fn relay(target: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind relay");
    let addr = listener.local_addr().expect("relay addr");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

/// ModifyEventConfig refuses, with InvalidParameter, a NotificationUrl naming the emulator's
/// own listener in any spelling (loopback addresses, localhost, ::1, 0.0.0.0) and keeps the
/// previous configuration; another port on loopback is an ordinary callback. A start-up
/// NotificationUrl naming the emulator's public URL stops start-up.
#[tokio::test]
async fn notification_urls_naming_the_emulator_itself_are_refused() {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    let port = emu.addr().port();
    for url in [
        format!("http://127.0.0.1:{port}/_emulator/reset"),
        format!("http://localhost:{port}/_emulator/events/trigger?type=NewFileUpload&fileId=1"),
        format!("http://127.0.0.2:{port}/"),
        format!("https://[::1]:{port}/"),
        format!("http://0.0.0.0:{port}/"),
    ] {
        let resp = api
            .vod(
                "ModifyEventConfig",
                json!({"Mode": "PUSH", "NotificationUrl": url}),
            )
            .await;
        assert_eq!(Api::error_code(&resp), "InvalidParameter", "{url}");
    }
    let described = Api::ok(api.vod("DescribeEventConfig", json!({})).await);
    assert_eq!(described["Mode"], "PULL");
    assert_eq!(described["NotificationUrl"], "");
    let other = if port == u16::MAX { port - 1 } else { port + 1 };
    Api::ok(
        api.vod(
            "ModifyEventConfig",
            json!({"Mode": "PUSH", "NotificationUrl": format!("http://127.0.0.1:{other}/cb")}),
        )
        .await,
    );
    let refused = Emulator::builder()
        .public_url("http://emu.test:8080")
        .events(push_to("http://emu.test:8080/_emulator/reset", None, false))
        .start()
        .await;
    assert!(
        matches!(refused, Err(vod_emulator::StartError::NotificationUrl(_))),
        "{refused:?}"
    );
}

/// A NotificationUrl is an absolute http(s) URL with a host, at most 1024 bytes, without
/// spaces or control characters; anything else is InvalidParameter and changes nothing.
#[tokio::test]
async fn notification_urls_are_http_urls_of_at_most_1024_bytes() {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    let modify = |url: String| {
        api.vod(
            "ModifyEventConfig",
            json!({"Mode": "PUSH", "NotificationUrl": url}),
        )
    };
    let base = "http://127.0.0.1:9/";
    let longest = format!("{base}{}", "a".repeat(1024 - base.len()));
    Api::ok(modify(longest.clone()).await);
    for bad in [
        "http://".to_owned(),
        "https:///path".to_owned(),
        "ftp://example.com/cb".to_owned(),
        "/relative/cb".to_owned(),
        format!("{longest}a"),
        format!("{base}{}", "a".repeat(1024 * 1024)),
        format!("{base}with space"),
        format!("{base}tab\there"),
        format!("{base}line\nbreak"),
    ] {
        let resp = modify(bad.clone()).await;
        assert_eq!(Api::error_code(&resp), "InvalidParameter", "{bad:.60}");
    }
    let described = Api::ok(api.vod("DescribeEventConfig", json!({})).await);
    assert_eq!(described["NotificationUrl"], longest.as_str());
}

/// A callback that reaches the emulator anyway (through a port forward it cannot recognise)
/// gets no admin rights: the reset it asks for is refused with 403 and the upload stays; a
/// callback aimed at `events/trigger` is refused too, so events cannot breed events.
#[tokio::test]
async fn callbacks_that_reach_the_emulator_get_no_admin_rights() {
    let emu = Emulator::builder()
        .push_attempts(1)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let forward = relay(emu.addr()).await;
    let modify = |url: String| {
        api.vod(
            "ModifyEventConfig",
            json!({"Mode": "PUSH", "NotificationUrl": url}),
        )
    };
    Api::ok(modify(format!("http://{forward}/_emulator/reset")).await);
    let done = api.upload(json!({"MediaType": "mp4"}), bytes(10, 11)).await;
    let failed = api.wait_event("state=failed").await;
    let error = failed["lastError"].as_str().expect("lastError");
    assert!(error.contains("403"), "{error}");
    let file_id = done["FileId"].as_str().expect("FileId");
    let described = Api::ok(
        api.vod("DescribeMediaInfos", json!({"FileIds": [file_id]}))
            .await,
    );
    assert_eq!(described["MediaInfoSet"][0]["FileId"], file_id, "no reset");

    Api::ok(
        modify(format!(
            "http://{forward}/_emulator/events/trigger?type=NewFileUpload&fileId=bred"
        ))
        .await,
    );
    let (status, _) = api
        .admin_post("events/trigger?type=NewFileUpload&fileId=seed")
        .await;
    assert_eq!(status, 200);
    let failed = api.wait_event("fileId=seed&state=failed").await;
    assert!(failed["lastError"]
        .as_str()
        .is_some_and(|e| e.contains("403")));
    let (_, bred) = api.admin_get("events?fileId=bred").await;
    assert_eq!(bred["events"], json!([]), "a callback created an event");
}

/// A callback endpoint that accepts connections and never answers.
async fn hanging_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hang", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    url
}

/// A dead callback endpoint delays only itself: with the primary application's NotificationUrl
/// hanging (each try waits out the 5 s push timeout) and four of its events queued, SubAppId
/// 2's callback reaches its own endpoint right after its CommitUpload.
#[tokio::test]
async fn a_hanging_endpoint_delays_only_its_own_callbacks() {
    let hang = hanging_endpoint().await;
    let rx = Receiver::start(0).await;
    let (_emu, api) = pushing(&hang, None, false).await;
    for seed in 0..4 {
        api.upload(json!({"MediaType": "mp4"}), bytes(10, 40 + seed))
            .await;
    }
    Api::ok(
        api.vod(
            "ModifyEventConfig",
            json!({"SubAppId": 2, "Mode": "PUSH", "NotificationUrl": rx.url}),
        )
        .await,
    );
    let committed = std::time::Instant::now();
    let done = api
        .upload(json!({"MediaType": "mp4", "SubAppId": 2}), bytes(10, 50))
        .await;
    let deadline = committed + Duration::from_secs(10);
    while rx.bodies().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited = committed.elapsed();
    let bodies = rx.bodies();
    assert_eq!(bodies.len(), 1, "SubAppId 2's callback never came");
    assert_eq!(bodies[0]["FileUploadEvent"]["FileId"], done["FileId"]);
    assert!(
        waited < Duration::from_secs(2),
        "SubAppId 2's callback waited {waited:?} behind the hanging endpoint"
    );
}
