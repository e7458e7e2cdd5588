//! COS authorization: signatures, the emulator's own key, and what an upload session's
//! temporary credentials may and may not do.

use crate::common::api::{key_of, Api, CosCreds};
use reqwest::Method;
use serde_json::Value;
use vod_emulator::Emulator;

struct Session {
    api: Api,
    apply: Value,
    creds: CosCreds,
    bucket: String,
    media: String,
    _emu: Emulator,
}

async fn session() -> Session {
    let emu = Emulator::builder().start().await.expect("start");
    let api = Api::new(&emu);
    let apply = api.apply(true).await;
    Session {
        creds: CosCreds::from_apply(&apply),
        bucket: apply["StorageBucket"].as_str().expect("bucket").to_owned(),
        media: key_of(&apply["MediaStoragePath"]),
        api,
        apply,
        _emu: emu,
    }
}

/// The session may do everything the upload SDKs do on its own paths.
#[tokio::test]
async fn session_credentials_allow_the_upload_operations() {
    let s = session().await;
    let cover = key_of(&s.apply["CoverStoragePath"]);
    let put = s
        .api
        .cos(
            &s.creds,
            Method::PUT,
            &s.bucket,
            &cover,
            &[],
            &[],
            b"c".to_vec(),
        )
        .await;
    assert_eq!(put.status, 200);
    let init = s
        .api
        .cos(
            &s.creds,
            Method::POST,
            &s.bucket,
            &s.media,
            &[("uploads", "")],
            &[],
            vec![],
        )
        .await;
    assert_eq!(init.status, 200);
    let id = init.xml("UploadId").expect("id");
    let list = s
        .api
        .cos(
            &s.creds,
            Method::GET,
            &s.bucket,
            "",
            &[("uploads", ""), ("prefix", &s.media)],
            &[],
            vec![],
        )
        .await;
    assert_eq!(list.status, 200);
    let parts = s
        .api
        .cos(
            &s.creds,
            Method::GET,
            &s.bucket,
            &s.media,
            &[("uploadId", &id)],
            &[],
            vec![],
        )
        .await;
    assert_eq!(parts.status, 200);
    let segment = format!("{}seg/1.ts", &s.media[..=s.media.rfind('/').expect("dir")]);
    let seg = s
        .api
        .cos(
            &s.creds,
            Method::PUT,
            &s.bucket,
            &segment,
            &[],
            &[],
            b"ts".to_vec(),
        )
        .await;
    assert_eq!(
        seg.status, 200,
        "HLS segments go under the media's directory"
    );
}

/// Anything outside the session's scope is AccessDenied: other keys, reads, deletes, listing
/// without the session's prefix, other buckets.
#[tokio::test]
async fn session_credentials_are_refused_outside_their_scope() {
    let s = session().await;
    let denied = [
        (
            Method::PUT,
            s.bucket.clone(),
            "elsewhere/x.mp4".to_owned(),
            vec![],
        ),
        (Method::GET, s.bucket.clone(), s.media.clone(), vec![]),
        (Method::HEAD, s.bucket.clone(), s.media.clone(), vec![]),
        (Method::DELETE, s.bucket.clone(), s.media.clone(), vec![]),
        (
            Method::GET,
            s.bucket.clone(),
            String::new(),
            vec![("uploads", ""), ("prefix", "")],
        ),
    ];
    for (method, bucket, key, query) in denied {
        let r = s
            .api
            .cos(
                &s.creds,
                method.clone(),
                &bucket,
                &key,
                &query,
                &[],
                b"x".to_vec(),
            )
            .await;
        assert_eq!(r.status, 403, "{method} {bucket}/{key}");
        if method != Method::HEAD {
            assert_eq!(r.code(), "AccessDenied", "{method} {bucket}/{key}");
        }
    }
    let other = format!("vod-ap-shanghai-{}", s.api.app_id);
    let host = format!("{other}.cos.ap-shanghai.myqcloud.com");
    let r = s
        .api
        .cos_at(
            &s.creds,
            Method::PUT,
            &host,
            &format!("/{}", s.media),
            &[],
            &[],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.code(), "AccessDenied", "another bucket");
}

/// A missing or wrong security token, a wrong key, an unknown SecretId and an anonymous request
/// are each refused with their code; nothing is stored.
#[tokio::test]
async fn bad_credentials_are_refused_with_their_codes() {
    let s = session().await;
    let put = |creds: CosCreds| {
        let (api, bucket, media) = (&s.api, s.bucket.clone(), s.media.clone());
        async move {
            api.cos(
                &creds,
                Method::PUT,
                &bucket,
                &media,
                &[],
                &[],
                b"x".to_vec(),
            )
            .await
        }
    };
    let no_token = CosCreds {
        token: None,
        ..s.creds.clone()
    };
    assert_eq!(put(no_token).await.code(), "AccessDenied");
    let bad_token = CosCreds {
        token: Some("forged".into()),
        ..s.creds.clone()
    };
    assert_eq!(put(bad_token).await.code(), "AccessDenied");
    let bad_key = CosCreds {
        secret_key: "wrong".into(),
        ..s.creds.clone()
    };
    let r = put(bad_key).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (403, "SignatureDoesNotMatch".to_owned())
    );
    let unknown = CosCreds {
        secret_id: "AKIDunknown".into(),
        ..s.creds.clone()
    };
    assert_eq!(put(unknown).await.code(), "InvalidAccessKeyId");
    let host = format!("{}.cos.ap-guangzhou.myqcloud.com", s.bucket);
    let anon = s
        .api
        .cos_raw(
            Method::PUT,
            &host,
            &format!("/{}", s.media),
            &[],
            &[],
            None,
            b"x".to_vec(),
        )
        .await;
    assert_eq!(anon.code(), "AccessDenied");
    let head = s
        .api
        .cos(
            &s.api.owner(),
            Method::HEAD,
            &s.bucket,
            &s.media,
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(head.status, 404, "nothing was stored");
}

/// An expired signature window is refused with "Request has expired".
#[tokio::test]
async fn expired_signatures_are_refused() {
    let s = session().await;
    let host = format!("{}.cos.ap-guangzhou.myqcloud.com", s.bucket);
    let path = format!("/{}", s.media);
    let t = crate::common::api::now();
    let token = s.creds.token.clone().expect("token");
    let headers = [
        ("host", host.as_str()),
        ("x-cos-security-token", token.as_str()),
    ];
    let auth = Api::cos_auth(&s.creds, "PUT", &path, &[], &headers, (t - 7200, t - 3600));
    let r = s
        .api
        .cos_raw(
            Method::PUT,
            &host,
            &path,
            &[],
            &headers,
            Some(&auth),
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.code(), "AccessDenied");
    assert_eq!(r.xml("Message").as_deref(), Some("Request has expired"));
}

/// A signed header sent twice (the signed value first, an unsigned one after) is refused with
/// 403 SignatureDoesNotMatch and nothing is stored; so is a signed header whose one value was
/// changed after signing, and a signed query parameter sent twice. The same request without
/// the extra values is stored with the signed values.
#[tokio::test]
async fn duplicated_or_tampered_signed_fields_are_refused() {
    let s = session().await;
    let owner = s.api.owner();
    let host = format!("{}.cos.ap-guangzhou.myqcloud.com", s.bucket);
    let path = "/dup/object.txt";
    let body = b"signed body".to_vec();
    let len = body.len().to_string();
    let signed = [
        ("host", host.as_str()),
        ("content-length", len.as_str()),
        ("content-type", "text/plain"),
        ("x-cos-meta-a", "good"),
    ];
    let t = crate::common::api::now();
    let auth = Api::cos_auth(&owner, "PUT", path, &[], &signed, (t - 60, t + 3600));
    let put = |headers: Vec<(&'static str, &'static str)>| {
        let mut all: Vec<(&str, &str)> = signed.to_vec();
        all.extend(headers);
        let (api, host, auth, body) = (&s.api, host.clone(), auth.clone(), body.clone());
        async move {
            api.cos_raw(Method::PUT, &host, path, &[], &all, Some(&auth), body)
                .await
        }
    };
    for extra in [
        vec![("x-cos-meta-a", "evil")],
        vec![("content-type", "text/html")],
        vec![("x-cos-meta-a", "evil"), ("content-type", "text/html")],
    ] {
        let r = put(extra.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (403, "SignatureDoesNotMatch".to_owned()),
            "{extra:?}"
        );
    }
    let mut tampered: Vec<(&str, &str)> = signed.to_vec();
    tampered[3] = ("x-cos-meta-a", "evil");
    let r = s
        .api
        .cos_raw(
            Method::PUT,
            &host,
            path,
            &[],
            &tampered,
            Some(&auth),
            body.clone(),
        )
        .await;
    assert_eq!(r.code(), "SignatureDoesNotMatch");
    let head = s
        .api
        .cos(
            &owner,
            Method::HEAD,
            &s.bucket,
            "dup/object.txt",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(head.status, 404, "nothing was stored");

    let stored = put(vec![]).await;
    assert_eq!(
        stored.status,
        200,
        "{}",
        String::from_utf8_lossy(&stored.body)
    );
    let got = s
        .api
        .cos(
            &owner,
            Method::GET,
            &s.bucket,
            "dup/object.txt",
            &[],
            &[],
            vec![],
        )
        .await;
    assert_eq!(got.header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(got.header("x-cos-meta-a").as_deref(), Some("good"));

    let params = [("uploads", ""), ("prefix", "dup/")];
    let get_signed = [("host", host.as_str())];
    let auth = Api::cos_auth(&owner, "GET", "/", &params, &get_signed, (t - 60, t + 3600));
    let twice = s
        .api
        .cos_raw(
            Method::GET,
            &host,
            "/",
            &[("uploads", ""), ("prefix", "dup/"), ("prefix", "other/")],
            &get_signed,
            Some(&auth),
            vec![],
        )
        .await;
    assert_eq!(twice.code(), "SignatureDoesNotMatch");
    let once = s
        .api
        .cos_raw(
            Method::GET,
            &host,
            "/",
            &params,
            &get_signed,
            Some(&auth),
            vec![],
        )
        .await;
    assert_eq!(once.status, 200, "{}", String::from_utf8_lossy(&once.body));
}
