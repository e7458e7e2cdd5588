//! The request journal: unread fields and `--strict`, signature verdicts, the JSON-lines file,
//! and determinism (the same seed and requests twice give the same journal and responses).

use crate::common::api::{key_of, Api, CosCreds};
use reqwest::Method;
use serde_json::{json, Value};
use vod_emulator::faults::{Effect, Rule, Service};
use vod_emulator::journal::{Entry, Filter, Signature};
use vod_emulator::{AuthMode, Emulator};

/// A misspelt VOD parameter is ignored and shown in the journal; `--strict` refuses it.
#[tokio::test]
async fn unread_vod_parameters_are_journaled_or_refused_when_strict() {
    let lenient = Emulator::builder().start().await.expect("start");
    let api = Api::new(&lenient);
    let body = json!({"MediaType": "mp4", "MediaNmae": "typo"});
    Api::ok(api.vod("ApplyUpload", body.clone()).await);
    assert_eq!(lenient.journal().all()[0].unread, ["MediaNmae"]);

    let strict = Emulator::builder()
        .strict(true)
        .start()
        .await
        .expect("start");
    let api = Api::new(&strict);
    let resp = api.vod("ApplyUpload", body).await;
    assert_eq!(Api::error_code(&resp), "UnknownParameter");
    assert!(resp["Error"]["Message"]
        .as_str()
        .is_some_and(|m| m.contains("MediaNmae")));
}

/// COS query parameters and `x-cos-*` headers no handler reads are journaled; `--strict`
/// answers InvalidArgument, before anything is stored, to those no official SDK sends.
#[tokio::test]
async fn unread_cos_fields_are_journaled_or_refused_when_strict() {
    for strict in [false, true] {
        let emu = Emulator::builder()
            .strict(strict)
            .start()
            .await
            .expect("start");
        let api = Api::new(&emu);
        let bucket = api.bucket();
        let put = api
            .cos(
                &api.owner(),
                Method::PUT,
                &bucket,
                "k.bin",
                &[("versionId", "7")],
                &[
                    ("x-cos-traffic-limit", "819200"),
                    ("x-cos-meta-kept", "1"),
                    ("x-cos-colour", "red"),
                ],
                b"data".to_vec(),
            )
            .await;
        let entry = &emu.journal().all()[0];
        assert_eq!(
            entry.unread,
            ["versionId", "x-cos-traffic-limit", "x-cos-colour"]
        );
        let head = api
            .cos(
                &api.owner(),
                Method::HEAD,
                &bucket,
                "k.bin",
                &[],
                &[],
                vec![],
            )
            .await;
        if strict {
            // versionId and x-cos-traffic-limit are sent by official SDKs: only the header no
            // SDK sends is refused.
            assert_eq!(
                (put.status.as_u16(), put.code().as_str()),
                (400, "InvalidArgument")
            );
            let message = put.xml("Message").unwrap_or_default();
            assert!(message.contains("`x-cos-colour`"), "{message}");
            assert_eq!(head.status, 404, "nothing stored");
        } else {
            assert_eq!(put.status, 200);
            assert_eq!(head.header("x-cos-meta-kept").as_deref(), Some("1"));
        }
    }
}

/// Signature verdicts: valid, invalid (wrong key), unchecked (`--auth none`).
#[tokio::test]
async fn the_journal_records_signature_verdicts() {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    api.apply(false).await;
    let mut forged = api.call("ApplyUpload", &json!({"MediaType": "mp4"}));
    forged.secret_key = "wrong".into();
    api.vod_call(forged).await;
    let wrong = CosCreds {
        secret_key: "wrong".into(),
        ..api.owner()
    };
    let bucket = api.bucket();
    api.cos(&wrong, Method::PUT, &bucket, "k", &[], &[], b"x".to_vec())
        .await;
    let verdicts: Vec<Signature> = emu.journal().all().iter().map(|e| e.signature).collect();
    assert_eq!(
        verdicts,
        [Signature::Valid, Signature::Invalid, Signature::Invalid]
    );

    let open = Emulator::builder()
        .auth(AuthMode::None)
        .start()
        .await
        .expect("start");
    Api::new(&open).apply(false).await;
    assert_eq!(open.journal().all()[0].signature, Signature::Unchecked);
}

/// The journal is also written as JSON lines when asked.
#[tokio::test]
async fn the_journal_is_written_to_a_json_lines_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.jsonl");
    let emu = Emulator::builder()
        .journal_file(&path)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    api.apply(false).await;
    api.apply(true).await;
    let text = std::fs::read_to_string(&path).expect("journal file");
    let lines: Vec<Entry> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry"))
        .collect();
    assert_eq!(lines, emu.journal().all());
}

/// One upload with a probabilistic fault, returning what must repeat with the seed: the
/// journal without wall-clock fields, and the ApplyUpload and CommitUpload answers.
async fn seeded_run(seed: u64) -> (Vec<Value>, Value, Value) {
    let emu = Emulator::builder().seed(seed).start().await.expect("start");
    emu.faults()
        .add(Rule::new(Service::Cos, "PutObject", Effect::error("SlowDown")).probability(0.5))
        .expect("rule");
    let api = Api::new(&emu);
    let apply = api.apply(false).await;
    let creds = CosCreds::from_apply(&apply);
    let bucket = apply["StorageBucket"].as_str().expect("bucket").to_owned();
    let key = key_of(&apply["MediaStoragePath"]);
    for _ in 0..10 {
        let put = api
            .cos(
                &creds,
                Method::PUT,
                &bucket,
                &key,
                &[],
                &[],
                b"media".to_vec(),
            )
            .await;
        if put.status == 200 {
            break;
        }
    }
    let commit = api
        .vod(
            "CommitUpload",
            json!({"VodSessionKey": apply["VodSessionKey"]}),
        )
        .await;
    let journal = emu
        .journal()
        .requests(&Filter::default())
        .into_iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).expect("entry");
            for wall_clock in ["time_ms", "latency_ms", "client"] {
                v[wall_clock] = Value::Null;
            }
            v
        })
        .collect();
    let mut apply = apply;
    apply["TempCertificate"]["ExpiredTime"] = Value::Null;
    let mut commit = commit;
    for url in ["MediaUrl", "CoverUrl"] {
        commit[url] = Value::Null;
    }
    (journal, apply, commit)
}

/// The same seed and the same requests give the same journal (request ids, faults, statuses),
/// the same session key, credentials and paths, and the same FileId; another seed does not.
#[tokio::test]
async fn the_same_seed_gives_the_same_journal_and_responses() {
    let (journal, apply, commit) = seeded_run(99).await;
    let (journal2, apply2, commit2) = seeded_run(99).await;
    assert_eq!(journal, journal2);
    assert_eq!(apply, apply2);
    assert_eq!(commit, commit2);
    assert!(
        journal.iter().any(|e| e["faults"] != json!([])),
        "the run should include a fault: {journal:#?}"
    );
    let (other, other_apply, _) = seeded_run(100).await;
    assert_ne!(apply["VodSessionKey"], other_apply["VodSessionKey"]);
    assert_ne!(journal[0]["request_id"], other[0]["request_id"]);
}
