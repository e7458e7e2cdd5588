//! The admin API over HTTP (`/_emulator/*`): fault rules, journal queries and live stream,
//! clock, reset, routes, and the OpenAPI file (emulator/openapi/admin.json) checked against
//! the live implementation.

use crate::common::api::Api;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use vod_emulator::faults::{Effect, Rule, Service};
use vod_emulator::Emulator;

async fn start() -> (Emulator, Api) {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    (emu, api)
}

/// Rules are added (one or a batch), listed with their hit counts, fetched, removed, cleared;
/// an unknown action is refused with the valid names.
#[tokio::test]
async fn fault_rules_are_managed_over_http() {
    let (_emu, api) = start().await;
    let rule = json!({"id": "slow-apply", "match": {"service": "vod", "action": "ApplyUpload"},
        "effect": {"type": "error", "code": "RequestLimitExceeded"}, "schedule": {"nth": 1}});
    let (status, added) = api
        .admin_call(Method::POST, "/_emulator/faults", Some(rule))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["ids"], json!(["slow-apply"]));
    api.vod("ApplyUpload", json!({"MediaType": "mp4"})).await;
    api.apply(false).await;
    let (_, one) = api
        .admin_call(Method::GET, "/_emulator/faults/slow-apply", None)
        .await;
    assert_eq!(
        (one["matched"].as_u64(), one["hits"].as_u64()),
        (Some(2), Some(1))
    );

    let batch = json!({"rules": [
        {"match": {"service": "cos", "action": "UploadPart"}, "effect": {"type": "reset", "at": "before_body"}},
        {"match": {"service": "media"}, "effect": {"type": "latency", "ms": 5}}
    ]});
    let (status, added) = api
        .admin_call(Method::POST, "/_emulator/faults", Some(batch))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(added["ids"], json!(["rule-1", "rule-2"]));
    let (_, list) = api.admin_call(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(list["rules"].as_array().map(Vec::len), Some(3));

    let bad = json!({"match": {"service": "cos", "action": "UploadParts"}, "effect": {"type": "error", "code": "InternalError"}});
    let (status, err) = api
        .admin_call(Method::POST, "/_emulator/faults", Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["valid"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("UploadPart"))),
        "{err}"
    );

    let (status, _) = api
        .admin_call(Method::DELETE, "/_emulator/faults/rule-1", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .admin_call(Method::DELETE, "/_emulator/faults/rule-1", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    api.admin_call(Method::DELETE, "/_emulator/faults", None)
        .await;
    let (_, list) = api.admin_call(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(list["rules"], json!([]));
}

/// The clock is read, advanced by a duration, frozen and unfrozen over HTTP, and the VOD API
/// judges signatures by it.
/// `GET /_emulator/env` is the environment `exec` gives its command, variable for variable:
/// what the pytest plugin and the npm package set for the code under test.
#[tokio::test]
async fn the_exec_environment_is_served_over_http() {
    let (emu, api) = start().await;
    let (status, served) = api.admin_call(Method::GET, "/_emulator/env", None).await;
    assert_eq!(status, StatusCode::OK);
    let expected: serde_json::Map<String, Value> = emu
        .exec_env()
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    assert_eq!(served["env"], Value::Object(expected));
    assert_eq!(served["env"]["VOD_EMULATOR_ENDPOINT"], emu.endpoint());
}

#[tokio::test]
async fn the_clock_is_read_advanced_and_frozen_over_http() {
    let (emu, api) = start().await;
    let (_, frozen) = api
        .admin_call(
            Method::POST,
            "/_emulator/clock",
            Some(json!({"freeze": true})),
        )
        .await;
    assert_eq!(frozen["frozen"], true);
    let (_, again) = api.admin_call(Method::GET, "/_emulator/clock", None).await;
    assert_eq!(
        again["now_ms"], frozen["now_ms"],
        "a frozen clock does not move"
    );
    let (_, moved) = api
        .admin_call(
            Method::POST,
            "/_emulator/clock",
            Some(json!({"advance": "10m"})),
        )
        .await;
    assert_eq!(
        moved["now_ms"].as_i64(),
        frozen["now_ms"].as_i64().map(|t| t + 600_000)
    );
    let resp = api.vod("ApplyUpload", json!({"MediaType": "mp4"})).await;
    assert_eq!(Api::error_code(&resp), "AuthFailure.SignatureExpire");
    let (status, _) = api
        .admin_call(
            Method::POST,
            "/_emulator/clock",
            Some(json!({"advance": "soon"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    api.admin_call(
        Method::POST,
        "/_emulator/clock",
        Some(json!({"freeze": false, "advance_ms": -600_000})),
    )
    .await;
    assert!(!emu.clock().is_frozen());
    Api::ok(api.vod("ApplyUpload", json!({"MediaType": "mp4"})).await);
}

/// Reset empties the store and the journal, drops run-time rules but keeps the start-up ones
/// (with zeroed counts), and restores the clock.
#[tokio::test]
async fn reset_returns_to_the_start_up_state() {
    let startup = Rule::new(Service::Cos, "DeleteObject", Effect::latency_ms(1)).id("startup");
    let emu = Emulator::builder()
        .fault(startup)
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
            "k",
            &[],
            &[],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(put.status, 200);
    api.cos(
        &api.owner(),
        Method::DELETE,
        &bucket,
        "nothing",
        &[],
        &[],
        vec![],
    )
    .await;
    emu.faults()
        .add(Rule::new(
            Service::Vod,
            "ApplyUpload",
            Effect::latency_ms(1),
        ))
        .expect("rule");
    emu.clock().advance_ms(1_000_000);
    let (status, _) = api.admin_call(Method::POST, "/_emulator/reset", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(emu.journal().all().is_empty());
    let rules = emu.faults().list();
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0].id.as_str(), rules[0].hits), ("startup", 0));
    assert!(emu.clock().offset_ms().abs() < 1000);
    let get = api
        .cos(&api.owner(), Method::GET, &bucket, "k", &[], &[], vec![])
        .await;
    assert_eq!(get.status, 404, "the object is gone");
}

/// The journal is filtered over HTTP, unknown filters are refused, and `follow` streams new
/// entries as they are recorded.
#[tokio::test]
async fn the_journal_is_queried_and_followed_over_http() {
    let (_emu, api) = start().await;
    api.apply(false).await;
    api.vod("NoSuchAction", json!({})).await;
    let (_, ok) = api
        .admin_call(
            Method::GET,
            "/_emulator/requests?action=ApplyUpload&status=200",
            None,
        )
        .await;
    assert_eq!(ok["requests"].as_array().map(Vec::len), Some(1));
    let (_, bad) = api
        .admin_call(
            Method::GET,
            "/_emulator/requests?error_code=InvalidAction",
            None,
        )
        .await;
    assert_eq!(bad["requests"][0]["action"], "NoSuchAction");
    let (status, err) = api
        .admin_call(Method::GET, "/_emulator/requests?acton=x", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    let mut live = api
        .http
        .get(format!(
            "{}/_emulator/requests?follow=true&action=CommitUpload",
            api.endpoint
        ))
        .send()
        .await
        .expect("follow");
    assert_eq!(live.headers()["content-type"], "application/x-ndjson");
    api.vod("CommitUpload", json!({"VodSessionKey": "nope"}))
        .await;
    let chunk = tokio::time::timeout(Duration::from_secs(10), live.chunk())
        .await
        .expect("an entry arrives")
        .expect("read")
        .expect("a chunk");
    let entry: Value = serde_json::from_slice(chunk.trim_ascii_end()).expect("one json line");
    assert_eq!(entry["action"], "CommitUpload");
    assert_eq!(entry["error_code"], "InvalidParameterValue.VodSessionKey");
}

/// `/_emulator/routes` lists what rules may name; unknown admin paths are 404, wrong methods 405.
#[tokio::test]
async fn routes_list_the_served_names() {
    let (_emu, api) = start().await;
    let (_, routes) = api.admin_call(Method::GET, "/_emulator/routes", None).await;
    assert!(routes["cos"]
        .as_array()
        .is_some_and(|a| a.contains(&json!("UploadPart"))));
    assert!(routes["vod"]
        .as_array()
        .is_some_and(|a| a.contains(&json!("CommitUpload"))));
    assert!(routes["effects"]
        .as_array()
        .is_some_and(|a| a.contains(&json!("lose_write"))));
    let (status, _) = api
        .admin_call(Method::GET, "/_emulator/nothing", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.admin_call(Method::PUT, "/_emulator/clock", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

fn openapi() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/admin.json");
    serde_json::from_slice(&std::fs::read(path).expect("openapi/admin.json")).expect("json")
}

/// Checks `value` against a JSON Schema subset (type, nullable types, enum, required,
/// properties, additionalProperties: false, items, oneOf, $ref); returns the first mismatch.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return check(spec, &spec["components"]["schemas"][name], value, at);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        return match options
            .iter()
            .filter(|s| check(spec, s, value, at).is_ok())
            .count()
        {
            1 => Ok(()),
            n => Err(format!("{at}: {n} of oneOf match {value}")),
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
    if !type_ok {
        return Err(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} not in {allowed:?}"));
        }
    }
    if let Some(obj) = value.as_object() {
        for req in schema["required"].as_array().into_iter().flatten() {
            let name = req.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                return Err(format!("{at}: missing `{name}`"));
            }
        }
        for (name, v) in obj {
            match schema["properties"].get(name) {
                Some(s) => check(spec, s, v, &format!("{at}.{name}"))?,
                None if schema["additionalProperties"] == json!(false) => {
                    return Err(format!("{at}: undocumented property `{name}`"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            check(spec, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The OpenAPI file and the implementation agree: the same routes (the event system's
/// included), and each operation's example request gets a documented status whose body
/// matches the documented schema; a streaming operation answers 200 with its content type.
#[tokio::test]
async fn the_admin_api_matches_its_openapi_file() {
    let spec = openapi();
    let (emu, api) = start().await;
    api.upload(json!({"MediaType": "mp4"}), vec![7; 10]).await;
    let documented: BTreeSet<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .filter(|m| *m != "parameters")
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let (_, routes) = api.admin_call(Method::GET, "/_emulator/routes", None).await;
    let served: BTreeSet<String> = routes["admin"]
        .as_array()
        .expect("admin routes")
        .iter()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    assert_eq!(documented, served, "routes in the OpenAPI file vs served");

    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("ops") {
            if method == "parameters" {
                continue;
            }
            if emu.faults().get("openapi-rule").is_none() {
                emu.faults()
                    .add(
                        Rule::new(Service::Vod, "CommitUpload", Effect::latency_ms(1))
                            .id("openapi-rule"),
                    )
                    .expect("rule");
            }
            emu.faults().remove("posted-rule");
            let mut url = path.clone();
            for p in ops["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().expect("parameter name");
                let v = &p["example"];
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                url = url.replace(&format!("{{{name}}}"), &v);
            }
            let query: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p.get("example").is_some())
                .map(|p| {
                    let v = &p["example"];
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    format!("{}={v}", p["name"].as_str().unwrap_or_default())
                })
                .collect();
            if !query.is_empty() {
                url = format!("{url}?{}", query.join("&"));
            }
            let body = op["requestBody"]["content"]["application/json"]
                .get("example")
                .cloned();
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let content = &op["responses"]["200"]["content"];
            if content.get("application/json").is_none() && content.is_object() {
                let resp = api
                    .http
                    .request(m, format!("{}{url}", api.endpoint))
                    .send()
                    .await
                    .expect("stream");
                assert_eq!(resp.status(), StatusCode::OK, "{method} {url}");
                let kind = resp.headers()["content-type"].to_str().expect("type");
                assert!(content.get(kind).is_some(), "{method} {url}: {kind}");
                checked += 1;
                continue;
            }
            let (status, value) = api.admin_call(m, &url, body).await;
            let response = &op["responses"][status.as_str()];
            assert!(
                response.is_object(),
                "{method} {url}: status {status} is not documented ({value})"
            );
            match response["content"]["application/json"].get("schema") {
                Some(schema) => check(&spec, schema, &value, &format!("{method} {url}"))
                    .unwrap_or_else(|e| panic!("{e}")),
                None => assert!(value.is_null(), "{method} {url}: undocumented body {value}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, served.len());
}

/// One scenario format everywhere: the admin API takes a shipped TOML scenario as it is, and a
/// scenario file may hold a single JSON rule, as the admin API takes it.
#[tokio::test]
async fn the_admin_api_and_scenario_files_take_the_same_formats() {
    let (_emu, api) = start().await;
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/faults/flaky-cos-5xx.toml");
    let toml = std::fs::read_to_string(&shipped).expect("shipped scenario");
    let resp = api
        .http
        .post(format!("{}/_emulator/faults", api.endpoint))
        .header("content-type", "application/toml")
        .body(toml)
        .send()
        .await
        .expect("POST a TOML scenario");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let dir = tempfile::tempdir().expect("tempdir");
    let single = dir.path().join("one-rule.json");
    std::fs::write(
        &single,
        r#"{"match": {"service": "vod", "action": "ApplyUpload"}, "effect": {"type": "error", "code": "InternalError"}}"#,
    )
    .expect("write");
    let scenario = vod_emulator::faults::Scenario::from_file(&single).expect("a single JSON rule");
    assert_eq!(scenario.rules.len(), 1);
}

/// The admin index and every unknown admin path list the same routes `/_emulator/routes` does.
#[tokio::test]
async fn unknown_admin_paths_list_every_route() {
    let (_emu, api) = start().await;
    let (_, routes) = api.admin_call(Method::GET, "/_emulator/routes", None).await;
    for path in ["/_emulator", "/_emulator/", "/_emulator/nothing"] {
        let (status, body) = api.admin_call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["valid"], routes["admin"], "{path}");
    }
}
