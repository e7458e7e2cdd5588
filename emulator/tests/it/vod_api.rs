//! The VOD API: envelope, TC3 verification and ApplyUpload validation.

use crate::common::api::Api;
use serde_json::json;
use vod_emulator::Emulator;

async fn setup() -> (Emulator, Api) {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    (emu, api)
}

/// ApplyUpload returns the VOD bucket, `/`-prefixed paths, a session key and temporary
/// credentials that expire in the future; a cover path only when a CoverType is given.
#[tokio::test]
async fn apply_upload_returns_session_and_scoped_credentials() {
    let (_emu, api) = setup().await;
    let r = api.apply(false).await;
    assert_eq!(
        r["StorageBucket"],
        format!("vod-ap-guangzhou-{}", api.app_id)
    );
    assert_eq!(r["StorageRegion"], "ap-guangzhou");
    assert!(r["MediaStoragePath"]
        .as_str()
        .unwrap_or("")
        .starts_with('/'));
    assert!(r["MediaStoragePath"]
        .as_str()
        .unwrap_or("")
        .ends_with("/f0.mp4"));
    assert!(r.get("CoverStoragePath").is_none());
    assert!(r["VodSessionKey"].as_str().is_some_and(|k| k.len() > 32));
    let cert = &r["TempCertificate"];
    assert!(cert["SecretId"]
        .as_str()
        .is_some_and(|s| s.starts_with("AKID")));
    assert!(cert["Token"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(cert["ExpiredTime"]
        .as_i64()
        .is_some_and(|t| t > crate::common::api::now()));
    let with_cover = api.apply(true).await;
    assert!(with_cover["CoverStoragePath"]
        .as_str()
        .is_some_and(|p| p.starts_with('/') && p.ends_with(".jpg")));
    assert_ne!(with_cover["VodSessionKey"], r["VodSessionKey"]);
}

/// StorageRegion picks the bucket of that region.
#[tokio::test]
async fn apply_upload_honours_storage_region() {
    let (_emu, api) = setup().await;
    let r = Api::ok(
        api.vod(
            "ApplyUpload",
            json!({"MediaType": "MP4", "StorageRegion": "ap-shanghai", "SubAppId": 1500000001}),
        )
        .await,
    );
    assert_eq!(r["StorageRegion"], "ap-shanghai");
    assert_eq!(
        r["StorageBucket"],
        format!("vod-ap-shanghai-{}", api.app_id)
    );
}

/// Every documented invalid ApplyUpload field gets its own error code.
#[tokio::test]
async fn apply_upload_rejects_each_invalid_field_with_its_code() {
    let (_emu, api) = setup().await;
    let long = |n: usize| "x".repeat(n);
    let cases = [
        (json!({}), "MissingParameter"),
        (
            json!({"MediaType": "exe"}),
            "InvalidParameterValue.MediaType",
        ),
        (
            json!({"MediaType": "mp4", "CoverType": "mp3"}),
            "InvalidParameterValue.CoverType",
        ),
        (
            json!({"MediaType": "mp4", "ExpireTime": "soon"}),
            "InvalidParameterValue.ExpireTime",
        ),
        (
            json!({"MediaType": "mp4", "ExpireTime": "2001-01-01T00:00:00Z"}),
            "InvalidParameterValue.ExpireTime",
        ),
        (
            json!({"MediaType": "mp4", "StorageRegion": "mars-1"}),
            "InvalidParameterValue.StorageRegion",
        ),
        (
            json!({"MediaType": "mp4", "ClassId": -1}),
            "InvalidParameterValue.ClassId",
        ),
        (
            json!({"MediaType": "mp4", "SourceContext": long(251)}),
            "InvalidParameterValue",
        ),
        (
            json!({"MediaType": "mp4", "SessionContext": long(1001)}),
            "InvalidParameterValue.SessionContextTooLong",
        ),
        (
            json!({"MediaType": "mp4", "SubAppId": 0}),
            "InvalidParameterValue.SubAppId",
        ),
        (
            json!({"MediaType": "mp4", "MediaStoragePath": "no/slash.mp4"}),
            "InvalidParameterValue.MediaStoragePath",
        ),
        (
            json!({"MediaType": "mp4", "Procedure": "NoSuchFlow"}),
            "InvalidParameterValue.Procedure",
        ),
        (
            json!({"MediaType": "mp4", "ClassId": "three"}),
            "InvalidParameter",
        ),
        (json!(["MediaType"]), "InvalidParameter"),
    ];
    for (body, code) in cases {
        let r = api.vod("ApplyUpload", body.clone()).await;
        assert_eq!(Api::error_code(&r), code, "for {body}");
        assert!(r["Error"]["Message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let ok = api
        .vod(
            "ApplyUpload",
            json!({"MediaType": "mp4", "SourceContext": long(250), "SessionContext": long(1000),
                   "Procedure": "QCVB_SimpleProcessFile(1,1)", "ExpireTime": "2099-01-01T00:00:00Z",
                   "ClassId": 0, "ExtInfo": "", "MediaStoragePath": "/mine/a.mp4"}),
        )
        .await;
    assert_eq!(Api::ok(ok)["MediaStoragePath"], "/mine/a.mp4");
}

/// Signature problems get the AuthFailure code the real service uses, in the envelope.
#[tokio::test]
async fn bad_signatures_get_auth_failure_codes() {
    let (_emu, api) = setup().await;
    let body = json!({"MediaType": "mp4"});

    let mut call = api.call("ApplyUpload", &body);
    call.sign = false;
    assert_eq!(
        Api::error_code(&api.vod_call(call).await),
        "AuthFailure.InvalidAuthorization"
    );

    let mut call = api.call("ApplyUpload", &body);
    call.secret_key = "wrong".into();
    assert_eq!(
        Api::error_code(&api.vod_call(call).await),
        "AuthFailure.SignatureFailure"
    );

    let mut call = api.call("ApplyUpload", &body);
    call.secret_id = "AKIDnobody".into();
    assert_eq!(
        Api::error_code(&api.vod_call(call).await),
        "AuthFailure.SecretIdNotFound"
    );

    let mut call = api.call("ApplyUpload", &body);
    call.timestamp -= 301;
    assert_eq!(
        Api::error_code(&api.vod_call(call).await),
        "AuthFailure.SignatureExpire"
    );

    let mut call = api.call("ApplyUpload", &body);
    call.timestamp -= 290;
    Api::ok(api.vod_call(call).await);
}

/// The signature covers the raw body: a body changed after signing is refused.
#[tokio::test]
async fn a_body_changed_after_signing_is_refused() {
    let (_emu, api) = setup().await;
    let call = api.call("ApplyUpload", &json!({"MediaType": "mp4"}));
    let headers = [
        ("content-type", "application/json"),
        ("host", api.host.as_str()),
    ];
    let input = vod_protocol::sign::tc3::CanonicalInput {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload_hash: &vod_protocol::sign::tc3::payload_hash(&call.body),
    };
    let auth = vod_protocol::sign::tc3::authorization(
        &api.secret_id,
        &api.secret_key,
        "vod",
        call.timestamp,
        &input,
    );
    let resp = api
        .http
        .post(format!("{}/", api.endpoint))
        .header("Content-Type", "application/json")
        .header("X-TC-Action", "ApplyUpload")
        .header("X-TC-Version", "2018-07-17")
        .header("X-TC-Timestamp", call.timestamp.to_string())
        .header("Authorization", auth)
        .body(r#"{"MediaType": "mp3"}"#)
        .send()
        .await
        .expect("send");
    let json: serde_json::Value =
        serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
    assert_eq!(
        json["Response"]["Error"]["Code"],
        "AuthFailure.SignatureFailure"
    );
}

/// Unknown actions and versions, and a missing timestamp, are refused with their codes.
#[tokio::test]
async fn unknown_actions_versions_and_missing_headers_are_refused() {
    let (_emu, api) = setup().await;
    let call = api.call("DescribeEverything", &json!({}));
    assert_eq!(Api::error_code(&api.vod_call(call).await), "InvalidAction");
    let mut call = api.call("ApplyUpload", &json!({"MediaType": "mp4"}));
    call.version = "2017-01-01".into();
    assert_eq!(Api::error_code(&api.vod_call(call).await), "NoSuchVersion");
    let resp = api
        .http
        .post(format!("{}/", api.endpoint))
        .header("Content-Type", "application/json")
        .header("X-TC-Action", "ApplyUpload")
        .header("Authorization", "TC3-HMAC-SHA256 Credential=a/2020-01-01/vod/tc3_request, SignedHeaders=content-type;host, Signature=00")
        .body("{}")
        .send()
        .await
        .expect("send");
    let json: serde_json::Value =
        serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
    assert_eq!(json["Response"]["Error"]["Code"], "MissingParameter");
}

/// With `--auth none`, unsigned VOD and COS requests are accepted.
#[tokio::test]
async fn auth_none_accepts_unsigned_requests() {
    let emu = Emulator::builder()
        .auth(vod_emulator::AuthMode::None)
        .start()
        .await
        .expect("start");
    let api = Api::new(&emu);
    let mut call = api.call("ApplyUpload", &json!({"MediaType": "mp4"}));
    call.sign = false;
    let r = Api::ok(api.vod_call(call).await);
    let host = format!(
        "{}.cos.ap-guangzhou.myqcloud.com",
        r["StorageBucket"].as_str().unwrap_or("")
    );
    let path = r["MediaStoragePath"].as_str().unwrap_or("").to_owned();
    let put = api
        .cos_raw(
            reqwest::Method::PUT,
            &host,
            &path,
            &[],
            &[],
            None,
            b"abc".to_vec(),
        )
        .await;
    assert_eq!(put.status, 200);
}

/// The health endpoint answers once the emulator is ready.
#[tokio::test]
async fn health_answers_when_ready() {
    let (emu, api) = setup().await;
    let (status, body) = api
        .get(&format!("{}/_emulator/health", emu.endpoint()))
        .await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["status"], "ok");
    assert_eq!(json["appId"], api.app_id);
}

/// Refusals use codes from the action's own documented list (tencentcloud-sdk-go
/// `vod/v20180717/client.go`): a bad `Filters` value of DescribeMediaInfos is
/// `InvalidParameter`, a bad `DeleteParts` type of DeleteMedia `FailedOperation`.
#[tokio::test]
async fn media_refusals_use_the_actions_documented_codes() {
    let (_emu, api) = setup().await;
    let done = api.upload(json!({"MediaType": "mp4"}), b"m".to_vec()).await;
    let file_id = done["FileId"].clone();
    let described = api
        .vod(
            "DescribeMediaInfos",
            json!({"FileIds": [file_id], "Filters": ["bogus"]}),
        )
        .await;
    assert_eq!(Api::error_code(&described), "InvalidParameter");
    let deleted = api
        .vod(
            "DeleteMedia",
            json!({"FileId": file_id, "DeleteParts": [{"Type": "Bogus"}]}),
        )
        .await;
    assert_eq!(Api::error_code(&deleted), "FailedOperation");
    let still = api
        .vod("DescribeMediaInfos", json!({"FileIds": [file_id]}))
        .await;
    assert_eq!(
        still["MediaInfoSet"][0]["FileId"], file_id,
        "nothing deleted"
    );
}

/// The TC3 Authorization of `call` as `api` would sign it (content-type and host).
fn tc3_authorization(api: &Api, call: &crate::common::api::VodCall) -> String {
    let headers = [
        ("content-type", call.content_type.as_str()),
        ("host", api.host.as_str()),
    ];
    let input = vod_protocol::sign::tc3::CanonicalInput {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload_hash: &vod_protocol::sign::tc3::payload_hash(&call.body),
    };
    vod_protocol::sign::tc3::authorization(
        &api.secret_id,
        &api.secret_key,
        "vod",
        call.timestamp,
        &input,
    )
}

/// A second value of a signed header (Content-Type, Host) is refused with SignatureFailure:
/// the value verified must be the only value the request carries.
#[tokio::test]
async fn duplicates_of_signed_headers_are_refused() {
    let (emu, api) = setup().await;
    let call = api.call("ApplyUpload", &json!({"MediaType": "mp4"}));
    let resp = api
        .vod_request(call)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("send");
    let json: serde_json::Value =
        serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
    assert_eq!(
        json["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{json}"
    );

    let call = api.call("ApplyUpload", &json!({"MediaType": "mp4"}));
    let auth = tc3_authorization(&api, &call);
    let body = String::from_utf8(call.body.clone()).expect("utf-8");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nHost: vod.tencentcloudapi.com\r\n\
         Content-Type: application/json\r\nX-TC-Action: ApplyUpload\r\n\
         X-TC-Version: 2018-07-17\r\nX-TC-Timestamp: {ts}\r\nAuthorization: {auth}\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        host = api.host,
        ts = call.timestamp,
        len = body.len(),
    );
    let mut sock = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    sock.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sock.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 400") || answer.contains("AuthFailure.SignatureFailure"),
        "{answer}"
    );
}

/// The legacy form refuses a parameter given twice, common ones (`Action`) included, even
/// when the signature covers both values: which one is meant is ambiguous.
#[tokio::test]
async fn legacy_calls_with_a_repeated_parameter_are_refused() {
    let (_emu, api) = setup().await;
    let legacy = |extra: &[(&str, &str)]| {
        let timestamp = crate::common::api::now().to_string();
        let mut pairs = vec![
            ("Action", "DescribeMediaInfos"),
            ("Version", "2018-07-17"),
            ("Region", "ap-guangzhou"),
            ("Timestamp", timestamp.as_str()),
            ("Nonce", "7"),
            ("SecretId", api.secret_id.as_str()),
            ("FileIds.0", "1"),
        ];
        pairs.extend_from_slice(extra);
        let to_sign = vod_protocol::sign::legacy::string_to_sign(
            "POST",
            &api.host,
            "/",
            pairs.iter().copied(),
        );
        let signature = vod_protocol::sign::legacy::signature(
            vod_protocol::sign::legacy::Method::HmacSha1,
            &api.secret_key,
            &to_sign,
        );
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(pairs.iter().copied());
        form.append_pair("Signature", &signature);
        let body = form.finish();
        let http = api.http.clone();
        let url = format!("{}/", api.endpoint);
        async move {
            let resp = http
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("send");
            serde_json::from_slice::<serde_json::Value>(&resp.bytes().await.expect("body"))
                .expect("json")["Response"]
                .clone()
        }
    };
    Api::ok(legacy(&[]).await);
    for extra in [
        &[("Action", "DeleteMedia")][..],
        &[("SecretId", "AKIDnobody")],
        &[("FileIds.0", "2")],
    ] {
        let resp = legacy(extra).await;
        assert_eq!(
            Api::error_code(&resp),
            "InvalidParameter",
            "{extra:?}: {resp}"
        );
    }
}
