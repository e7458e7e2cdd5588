//! COS multipart uploads: the happy path, listings, and every refusal of Complete.

use crate::common::api::{bytes, Api, CosCreds};
use reqwest::Method;
use vod_emulator::Emulator;
use vod_protocol::checksum::crc64;

const MIB: usize = 1024 * 1024;

struct Mp {
    api: Api,
    creds: CosCreds,
    bucket: String,
    key: String,
    _emu: Emulator,
}

impl Mp {
    async fn new() -> Self {
        let emu = Emulator::builder().start().await.expect("start");
        let api = Api::new(&emu);
        let bucket = format!("vod-ap-guangzhou-{}", api.app_id);
        Self {
            creds: api.owner(),
            api,
            bucket,
            key: "mp/obj.mp4".into(),
            _emu: emu,
        }
    }

    async fn initiate(&self) -> String {
        let r = self
            .api
            .cos(
                &self.creds,
                Method::POST,
                &self.bucket,
                &self.key,
                &[("uploads", "")],
                &[("content-type", "video/mp4")],
                vec![],
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.xml("UploadId").expect("UploadId")
    }

    async fn part(&self, id: &str, n: u32, data: Vec<u8>) -> String {
        let n = n.to_string();
        let r = self
            .api
            .cos(
                &self.creds,
                Method::PUT,
                &self.bucket,
                &self.key,
                &[("partNumber", &n), ("uploadId", id)],
                &[],
                data,
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.header("etag").expect("etag")
    }

    async fn complete(&self, id: &str, parts: &[(u32, &str)]) -> crate::common::api::CosReply {
        let mut xml =
            String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CompleteMultipartUpload>");
        for (n, etag) in parts {
            xml.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        self.api
            .cos(
                &self.creds,
                Method::POST,
                &self.bucket,
                &self.key,
                &[("uploadId", id)],
                &[],
                xml.into_bytes(),
            )
            .await
    }

    async fn get(&self) -> crate::common::api::CosReply {
        self.api
            .cos(
                &self.creds,
                Method::GET,
                &self.bucket,
                &self.key,
                &[],
                &[],
                vec![],
            )
            .await
    }
}

/// Parts uploaded out of order and overwritten complete into the concatenation, with the
/// S3-style `-N` ETag and the CRC-64 of the whole object; the upload is gone afterwards.
#[tokio::test]
async fn multipart_upload_assembles_parts_in_order() {
    let mp = Mp::new().await;
    let id = mp.initiate().await;
    let (a, b, c) = (bytes(MIB, 10), bytes(MIB + 7, 11), bytes(123, 12));
    let e3 = mp.part(&id, 3, c.clone()).await;
    let _stale = mp.part(&id, 1, bytes(MIB, 99)).await;
    let e1 = mp.part(&id, 1, a.clone()).await;
    let e2 = mp.part(&id, 2, b.clone()).await;
    let listed = mp
        .api
        .cos(
            &mp.creds,
            Method::GET,
            &mp.bucket,
            &mp.key,
            &[("uploadId", &id), ("max-parts", "2")],
            &[],
            vec![],
        )
        .await;
    assert_eq!(listed.xml("IsTruncated").as_deref(), Some("true"));
    assert_eq!(listed.xml("NextPartNumberMarker").as_deref(), Some("2"));
    let text = String::from_utf8_lossy(&listed.body).to_string();
    assert!(text.contains(&e1.replace('"', "&quot;")) || text.contains(&e1));
    let done = mp.complete(&id, &[(1, &e1), (2, &e2), (3, &e3)]).await;
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    let whole = [a, b, c].concat();
    assert_eq!(
        done.header("x-cos-hash-crc64ecma"),
        Some(crc64(&whole).to_string())
    );
    let etag = done.xml("ETag").expect("ETag");
    assert!(
        etag.ends_with("-3&quot;") || etag.ends_with("-3\""),
        "{etag}"
    );
    let got = mp.get().await;
    assert_eq!(got.body, whole);
    assert_eq!(got.header("content-type").as_deref(), Some("video/mp4"));
    let ranged = mp
        .api
        .cos(
            &mp.creds,
            Method::GET,
            &mp.bucket,
            &mp.key,
            &[],
            &[("range", "bytes=1048570-1048590")],
            vec![],
        )
        .await;
    assert_eq!(
        ranged.body,
        whole[1_048_570..=1_048_590],
        "ranges span part boundaries"
    );
    let after = mp
        .api
        .cos(
            &mp.creds,
            Method::GET,
            &mp.bucket,
            &mp.key,
            &[("uploadId", &id)],
            &[],
            vec![],
        )
        .await;
    assert_eq!(after.code(), "NoSuchUpload");
}

/// Complete refuses a bad part list (order, missing part, wrong ETag, small part, empty or
/// malformed XML) and leaves the upload intact, so a correct Complete still succeeds.
#[tokio::test]
async fn complete_refusals_change_nothing() {
    let mp = Mp::new().await;
    let id = mp.initiate().await;
    let e1 = mp.part(&id, 1, bytes(MIB, 1)).await;
    let e2 = mp.part(&id, 2, bytes(10, 2)).await;
    let cases: Vec<(Vec<(u32, &str)>, &str)> = vec![
        (vec![(2, &e2), (1, &e1)], "InvalidPartOrder"),
        (vec![(1, &e1), (3, &e2)], "InvalidPart"),
        (vec![(1, "\"0123\""), (2, &e2)], "InvalidPart"),
        (vec![], "MalformedXML"),
    ];
    for (parts, code) in cases {
        let r = mp.complete(&id, &parts).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, code.to_owned()));
    }
    let bad = mp
        .api
        .cos(
            &mp.creds,
            Method::POST,
            &mp.bucket,
            &mp.key,
            &[("uploadId", &id)],
            &[],
            b"<Complete".to_vec(),
        )
        .await;
    assert_eq!(bad.code(), "MalformedXML");
    let small_first = mp.initiate().await;
    let s1 = mp.part(&small_first, 1, bytes(10, 3)).await;
    let s2 = mp.part(&small_first, 2, bytes(10, 4)).await;
    let r = mp.complete(&small_first, &[(1, &s1), (2, &s2)]).await;
    assert_eq!(r.code(), "EntityTooSmall");
    assert_eq!(mp.get().await.status, 404, "no object appeared");
    let ok = mp.complete(&id, &[(1, &e1), (2, &e2)]).await;
    assert_eq!(ok.status, 200);
}

/// Abort removes the upload; unknown uploads and bad part numbers are refused.
#[tokio::test]
async fn abort_and_unknown_uploads() {
    let mp = Mp::new().await;
    let id = mp.initiate().await;
    mp.part(&id, 1, bytes(100, 1)).await;
    let r = mp
        .api
        .cos(
            &mp.creds,
            Method::DELETE,
            &mp.bucket,
            &mp.key,
            &[("uploadId", &id)],
            &[],
            vec![],
        )
        .await;
    assert_eq!(r.status, 204);
    for method in [Method::DELETE, Method::GET] {
        let r = mp
            .api
            .cos(
                &mp.creds,
                method,
                &mp.bucket,
                &mp.key,
                &[("uploadId", &id)],
                &[],
                vec![],
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "NoSuchUpload".to_owned())
        );
    }
    let r = mp
        .api
        .cos(
            &mp.creds,
            Method::PUT,
            &mp.bucket,
            &mp.key,
            &[("partNumber", "1"), ("uploadId", &id)],
            &[],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.code(), "NoSuchUpload");
    let live = mp.initiate().await;
    let r = mp
        .api
        .cos(
            &mp.creds,
            Method::PUT,
            &mp.bucket,
            &mp.key,
            &[("partNumber", "10001"), ("uploadId", &live)],
            &[],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (400, "InvalidArgument".to_owned())
    );
    let r = mp
        .api
        .cos(
            &mp.creds,
            Method::PUT,
            &mp.bucket,
            "other/key",
            &[("partNumber", "1"), ("uploadId", &live)],
            &[],
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.code(), "NoSuchUpload", "an upload id belongs to its key");
}

/// ListMultipartUploads filters by prefix, treats empty options as unset (as the Python SDK
/// sends them), and lists uploads of a key oldest first.
#[tokio::test]
async fn list_multipart_uploads_filters_by_prefix() {
    let mp = Mp::new().await;
    let first = mp.initiate().await;
    let second = mp.initiate().await;
    let q = [
        ("uploads", ""),
        ("prefix", mp.key.as_str()),
        ("delimiter", ""),
        ("key-marker", ""),
        ("upload-id-marker", ""),
        ("max-uploads", "1000"),
        ("encoding-type", "url"),
    ];
    let r = mp
        .api
        .cos(&mp.creds, Method::GET, &mp.bucket, "", &q, &[], vec![])
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let full = String::from_utf8_lossy(&r.body).to_string();
    let text = &full[full.find("<Upload>").expect("uploads listed")..];
    let (i1, i2) = (
        text.find(&first).expect("first"),
        text.find(&second).expect("second"),
    );
    assert!(i1 < i2, "oldest first");
    assert!(
        text.contains("<Key>mp%2Fobj.mp4</Key>"),
        "url-encoded keys: {text}"
    );
    let none = mp
        .api
        .cos(
            &mp.creds,
            Method::GET,
            &mp.bucket,
            "",
            &[("uploads", ""), ("prefix", "zzz")],
            &[],
            vec![],
        )
        .await;
    assert!(!String::from_utf8_lossy(&none.body).contains("<Upload>"));
}

/// A request refused before its body was read answers `Connection: close`, so a client that
/// pools connections never reuses one the server is about to drop (this showed up as
/// intermittent transport errors after `NoSuchUpload` on UploadPart).
#[tokio::test]
async fn refusals_before_the_body_is_read_close_the_connection() {
    let mp = Mp::new().await;
    let r = mp
        .api
        .cos(
            &mp.creds,
            Method::PUT,
            &mp.bucket,
            &mp.key,
            &[("partNumber", "1"), ("uploadId", "no-such-upload")],
            &[],
            bytes(MIB, 5),
        )
        .await;
    assert_eq!(r.code(), "NoSuchUpload");
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    let ok = mp
        .api
        .cos(
            &mp.creds,
            Method::PUT,
            &mp.bucket,
            &mp.key,
            &[],
            &[],
            bytes(10, 6),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_ne!(
        ok.header("connection").as_deref(),
        Some("close"),
        "read bodies keep the connection"
    );
}

/// Keys with characters XML 1.0 cannot carry (NUL, ESC) are refused with InvalidArgument at
/// PutObject and InitiateMultipartUpload and store nothing; every answer about such a key is
/// well-formed XML, and ListMultipartUploads echoes such a prefix only with
/// `encoding-type=url`.
#[tokio::test]
async fn keys_xml_cannot_carry_are_refused_and_every_answer_stays_well_formed() {
    let mut mp = Mp::new().await;
    for key in ["dir/nul\u{0}key.mp4", "dir/esc\u{1b}key.mp4"] {
        mp.key = key.to_owned();
        let refused = |r: &crate::common::api::CosReply| {
            assert_eq!(
                (r.status.as_u16(), r.code().as_str()),
                (400, "InvalidArgument"),
                "{key:?}"
            );
            r.assert_well_formed_xml();
        };
        let put = mp
            .api
            .cos(
                &mp.creds,
                Method::PUT,
                &mp.bucket,
                key,
                &[],
                &[],
                b"x".to_vec(),
            )
            .await;
        refused(&put);
        let init = mp
            .api
            .cos(
                &mp.creds,
                Method::POST,
                &mp.bucket,
                key,
                &[("uploads", "")],
                &[],
                vec![],
            )
            .await;
        refused(&init);
        let part = mp
            .api
            .cos(
                &mp.creds,
                Method::PUT,
                &mp.bucket,
                key,
                &[("partNumber", "1"), ("uploadId", "u")],
                &[],
                b"x".to_vec(),
            )
            .await;
        let list_parts = mp
            .api
            .cos(
                &mp.creds,
                Method::GET,
                &mp.bucket,
                key,
                &[("uploadId", "u"), ("encoding-type", "url")],
                &[],
                vec![],
            )
            .await;
        let complete = mp.complete("u", &[(1, "\"00\"")]).await;
        for r in [&part, &list_parts, &complete] {
            r.assert_well_formed_xml();
            assert_eq!(r.code(), "NoSuchUpload");
        }
        let get = mp.get().await;
        get.assert_well_formed_xml();
        assert_eq!(get.code(), "NoSuchKey", "nothing was stored");
        let listing = |encoding: &'static str| {
            let q = [
                ("uploads", ""),
                ("prefix", key),
                ("encoding-type", encoding),
            ];
            let (api, creds, bucket) = (&mp.api, &mp.creds, &mp.bucket);
            async move {
                api.cos(creds, Method::GET, bucket, "", &q, &[], vec![])
                    .await
            }
        };
        refused(&listing("").await);
        let encoded = listing("url").await;
        encoded.assert_well_formed_xml();
        assert_eq!(encoded.status, 200);
        assert_eq!(
            encoded.xml("Prefix"),
            Some(vod_protocol::sign::cos::cos_encode(key))
        );
        assert!(encoded.xml("Upload").is_none(), "nothing was initiated");
    }
}
