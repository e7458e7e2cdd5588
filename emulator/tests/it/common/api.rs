//! Signed raw requests to an emulator: the VOD API (TC3) and COS (sha1), built from the same
//! signers the emulator verifies with, so tests can also send deliberately wrong requests.

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};
use vod_emulator::Emulator;
use vod_protocol::sign::{cos, tc3};

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A client bound to one emulator.
pub struct Api {
    pub http: reqwest::Client,
    pub endpoint: String,
    pub host: String,
    pub secret_id: String,
    pub secret_key: String,
    pub app_id: u64,
    pub region: String,
}

/// One VOD API call; fields are public so tests can break them.
pub struct VodCall {
    pub action: String,
    pub version: String,
    pub body: Vec<u8>,
    pub timestamp: i64,
    pub secret_id: String,
    pub secret_key: String,
    pub content_type: String,
    /// `None` sends no Authorization header.
    pub sign: bool,
}

/// Credentials for COS requests.
#[derive(Clone)]
pub struct CosCreds {
    pub secret_id: String,
    pub secret_key: String,
    pub token: Option<String>,
}

impl CosCreds {
    /// The TempCertificate of an ApplyUpload response.
    pub fn from_apply(apply: &Value) -> Self {
        let cert = &apply["TempCertificate"];
        Self {
            secret_id: cert["SecretId"].as_str().expect("SecretId").to_owned(),
            secret_key: cert["SecretKey"].as_str().expect("SecretKey").to_owned(),
            token: Some(cert["Token"].as_str().expect("Token").to_owned()),
        }
    }
}

/// A COS response, read whole (tests use small bodies).
pub struct CosReply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl CosReply {
    /// Text of an element in the XML body (first occurrence).
    pub fn xml(&self, element: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.body);
        let open = format!("<{element}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{element}>"))? + start;
        Some(text[start..end].to_owned())
    }

    /// The `<Code>` of an error body.
    pub fn code(&self) -> String {
        self.xml("Code").unwrap_or_default()
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts the body is a well-formed XML 1.0 document: quick-xml reads it to the end
    /// (balanced elements, one root), and every character, written or referenced, is one XML
    /// 1.0 allows (quick-xml does not check characters itself, so this does).
    pub fn assert_well_formed_xml(&self) {
        use quick_xml::events::Event;
        let text = std::str::from_utf8(&self.body).expect("an XML body is UTF-8");
        if let Some(bad) = text.chars().find(|&c| !is_xml_char(c)) {
            panic!("{bad:?} is not allowed in XML 1.0: {text:?}");
        }
        let mut reader = quick_xml::Reader::from_str(text);
        let (mut depth, mut roots) = (0usize, 0usize);
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(Event::Start(_)) => {
                    roots += usize::from(depth == 0);
                    depth += 1;
                }
                Ok(Event::End(_)) => depth -= 1,
                Ok(Event::Empty(_)) => roots += usize::from(depth == 0),
                Ok(Event::GeneralRef(r)) => {
                    let c = r.resolve_char_ref().expect("a valid character reference");
                    assert!(c.is_none_or(is_xml_char), "{c:?} is referenced in {text:?}");
                }
                Ok(_) => {}
                Err(e) => panic!("not well-formed XML ({e}): {text:?}"),
            }
        }
        assert_eq!(
            (depth, roots),
            (0, 1),
            "one balanced root element: {text:?}"
        );
    }
}

/// The XML 1.0 `Char` production (Rust `char`s are never surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

impl Api {
    pub fn new(emu: &Emulator) -> Self {
        let c = emu.config();
        Self {
            secret_id: c.secret_id.clone(),
            secret_key: c.secret_key.clone(),
            app_id: c.app_id,
            region: c.region.clone(),
            ..Self::at(&emu.endpoint())
        }
    }

    /// An emulator started elsewhere (a child process) at `endpoint` (`http://host:port`),
    /// with the default key pair, AppId and region.
    pub fn at(endpoint: &str) -> Self {
        use vod_emulator::config;
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("reqwest client"),
            endpoint: endpoint.to_owned(),
            host: endpoint.trim_start_matches("http://").to_owned(),
            secret_id: config::DEFAULT_SECRET_ID.to_owned(),
            secret_key: config::DEFAULT_SECRET_KEY.to_owned(),
            app_id: config::DEFAULT_APP_ID,
            region: config::DEFAULT_REGION.to_owned(),
        }
    }

    /// A correctly signed call with this JSON body.
    pub fn call(&self, action: &str, body: &Value) -> VodCall {
        VodCall {
            action: action.to_owned(),
            version: "2018-07-17".to_owned(),
            body: serde_json::to_vec(body).expect("json"),
            timestamp: now(),
            secret_id: self.secret_id.clone(),
            secret_key: self.secret_key.clone(),
            content_type: "application/json".to_owned(),
            sign: true,
        }
    }

    /// Sends a call and returns the HTTP response.
    pub async fn send(&self, call: VodCall) -> Response {
        self.try_send(call).await.expect("send vod call")
    }

    /// Sends a call; a connection failure is returned, not a panic.
    pub async fn try_send(&self, call: VodCall) -> reqwest::Result<Response> {
        self.vod_request(call).send().await
    }

    /// A call as a request not yet sent (tests may add headers to it).
    pub fn vod_request(&self, call: VodCall) -> reqwest::RequestBuilder {
        let headers = [
            ("content-type", call.content_type.as_str()),
            ("host", self.host.as_str()),
        ];
        let input = tc3::CanonicalInput {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            payload_hash: &tc3::payload_hash(&call.body),
        };
        let mut req = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("Content-Type", &call.content_type)
            .header("X-TC-Action", &call.action)
            .header("X-TC-Version", &call.version)
            .header("X-TC-Timestamp", call.timestamp.to_string())
            .header("X-TC-Region", &self.region);
        if call.sign {
            req = req.header(
                "Authorization",
                tc3::authorization(
                    &call.secret_id,
                    &call.secret_key,
                    "vod",
                    call.timestamp,
                    &input,
                ),
            );
        }
        req.body(call.body)
    }

    /// Sends a call and returns the `Response` object, checking the envelope rules that hold
    /// for every answer: HTTP 200, exact content type, a RequestId.
    pub async fn vod_call(&self, call: VodCall) -> Value {
        let resp = self.send(call).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "content type must be exactly application/json"
        );
        let json: Value =
            serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json body");
        let inner = json["Response"].clone();
        assert!(
            inner["RequestId"].as_str().is_some_and(|s| !s.is_empty()),
            "no RequestId in {json}"
        );
        inner
    }

    /// A signed call; returns the `Response` object.
    pub async fn vod(&self, action: &str, body: Value) -> Value {
        self.vod_call(self.call(action, &body)).await
    }

    /// The error code of a VOD answer, or panics if it succeeded.
    pub fn error_code(resp: &Value) -> &str {
        resp["Error"]["Code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {resp}"))
    }

    /// Asserts a VOD answer succeeded and returns it.
    pub fn ok(resp: Value) -> Value {
        assert!(resp.get("Error").is_none(), "unexpected error: {resp}");
        resp
    }

    /// ApplyUpload for an mp4 (optionally with a jpg cover); panics on error.
    pub async fn apply(&self, cover: bool) -> Value {
        let mut body = serde_json::json!({"MediaType": "mp4", "MediaName": "demo"});
        if cover {
            body["CoverType"] = "jpg".into();
        }
        Self::ok(self.vod("ApplyUpload", body).await)
    }

    /// The VOD bucket of the default region (the owner may use it freely).
    pub fn bucket(&self) -> String {
        format!("vod-{}-{}", self.region, self.app_id)
    }

    /// The emulator's own full-access key for COS.
    pub fn owner(&self) -> CosCreds {
        CosCreds {
            secret_id: self.secret_id.clone(),
            secret_key: self.secret_key.clone(),
            token: None,
        }
    }

    /// A signed COS request, virtual-host addressed (`Host: {bucket}.cos.{region}.myqcloud.com`).
    #[allow(clippy::too_many_arguments)]
    pub async fn cos(
        &self,
        creds: &CosCreds,
        method: Method,
        bucket: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> CosReply {
        let host = format!("{bucket}.cos.{}.myqcloud.com", self.region);
        let path = format!("/{key}");
        self.cos_at(creds, method, &host, &path, query, headers, body)
            .await
    }

    /// A signed COS request to an explicit Host and decoded path.
    #[allow(clippy::too_many_arguments)]
    pub async fn cos_at(
        &self,
        creds: &CosCreds,
        method: Method,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> CosReply {
        let resp = self
            .cos_signed(creds, method, host, path, query, headers, body)
            .send()
            .await
            .expect("send cos request");
        Self::reply(resp).await
    }

    /// A signed, virtual-host addressed COS request, not yet sent: for tests that watch the
    /// connection itself (resets, truncated or slow bodies).
    pub fn cos_builder(
        &self,
        creds: &CosCreds,
        method: Method,
        bucket: &str,
        key: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::RequestBuilder {
        let host = format!("{bucket}.cos.{}.myqcloud.com", self.region);
        let path = format!("/{key}");
        self.cos_signed(creds, method, &host, &path, query, &[], body)
    }

    /// A signed COS request to an explicit Host and decoded path, not yet sent.
    #[allow(clippy::too_many_arguments)]
    fn cos_signed(
        &self,
        creds: &CosCreds,
        method: Method,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::RequestBuilder {
        let len = body.len().to_string();
        let mut signed: Vec<(&str, &str)> = vec![("host", host)];
        if !body.is_empty() {
            signed.push(("content-length", &len));
        }
        signed.extend_from_slice(headers);
        if let Some(token) = &creds.token {
            signed.push(("x-cos-security-token", token));
        }
        let t = now();
        let auth = Self::cos_auth(
            creds,
            method.as_str(),
            path,
            query,
            &signed,
            (t - 60, t + 3600),
        );
        self.cos_request(method, host, path, query, &signed, Some(&auth), body)
    }

    async fn reply(resp: Response) -> CosReply {
        Self::try_reply(resp).await.expect("cos body")
    }

    async fn try_reply(resp: Response) -> reqwest::Result<CosReply> {
        Ok(CosReply {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.bytes().await?.to_vec(),
        })
    }

    /// A COS `Authorization` value signing these params and headers for the window `(start, end)`.
    pub fn cos_auth(
        creds: &CosCreds,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
        (start, end): (i64, i64),
    ) -> String {
        cos::authorization(
            &creds.secret_id,
            &creds.secret_key,
            start,
            end,
            &cos::CosSignInput {
                method,
                path,
                params,
                headers,
            },
        )
    }

    /// A COS request with exactly these headers and Authorization.
    #[allow(clippy::too_many_arguments)]
    pub async fn cos_raw(
        &self,
        method: Method,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        authorization: Option<&str>,
        body: Vec<u8>,
    ) -> CosReply {
        let resp = self
            .cos_request(method, host, path, query, headers, authorization, body)
            .send()
            .await
            .expect("send cos request");
        Self::reply(resp).await
    }

    #[allow(clippy::too_many_arguments)]
    fn cos_request(
        &self,
        method: Method,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        authorization: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::RequestBuilder {
        let encoded_path = cos::encode_key(path);
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    cos::cos_encode(k)
                } else {
                    format!("{}={}", cos::cos_encode(k), cos::cos_encode(v))
                }
            })
            .collect();
        let mut url = format!("{}{}", self.endpoint, encoded_path);
        if !qs.is_empty() {
            url = format!("{url}?{}", qs.join("&"));
        }
        let method_is_put = method == Method::PUT;
        let mut req = self.http.request(method, url).header("Host", host);
        for (k, v) in headers {
            if !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length") {
                req = req.header(*k, *v);
            }
        }
        if let Some(auth) = authorization {
            req = req.header("Authorization", auth);
        }
        if body.is_empty() && method_is_put {
            // hyper sends no Content-Length for an empty body; COS requires one on PUT.
            req = req.header("Content-Length", "0");
        }
        req.body(body)
    }

    /// A signed VOD API call that reports failure instead of panicking (for an emulator that
    /// may die mid-flow): the `Response` object, or the error code or transport error.
    pub async fn try_vod(&self, action: &str, body: Value) -> Result<Value, String> {
        let resp = self
            .try_send(self.call(action, &body))
            .await
            .map_err(|e| e.to_string())?;
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        let json: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        match json["Response"]["Error"]["Code"].as_str() {
            Some(code) => Err(code.to_owned()),
            None => Ok(json["Response"].clone()),
        }
    }

    /// A signed COS request that reports failure (a transport error or a non-2xx answer)
    /// instead of panicking.
    pub async fn try_cos(
        &self,
        creds: &CosCreds,
        method: Method,
        bucket: &str,
        key: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<CosReply, String> {
        let resp = self
            .cos_builder(creds, method, bucket, key, query, body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let reply = Self::try_reply(resp).await.map_err(|e| e.to_string())?;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(format!("{} {}", reply.status, reply.code()))
        }
    }

    /// Starts a multipart upload of `key`; its UploadId.
    pub async fn try_initiate(
        &self,
        creds: &CosCreds,
        bucket: &str,
        key: &str,
    ) -> Result<String, String> {
        self.try_cos(creds, Method::POST, bucket, key, &[("uploads", "")], vec![])
            .await?
            .xml("UploadId")
            .ok_or_else(|| "no UploadId".to_owned())
    }

    /// Uploads `data` in parts of `part_size` bytes to multipart upload `id` of `key` and
    /// completes it with the ETags the parts got.
    pub async fn try_parts(
        &self,
        creds: &CosCreds,
        bucket: &str,
        key: &str,
        id: &str,
        data: &[u8],
        part_size: usize,
    ) -> Result<(), String> {
        let mut listed = String::new();
        for (i, chunk) in data.chunks(part_size).enumerate() {
            let n = (i + 1).to_string();
            let resp = self
                .cos_builder(
                    creds,
                    Method::PUT,
                    bucket,
                    key,
                    &[("partNumber", &n), ("uploadId", id)],
                    chunk.to_vec(),
                )
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !resp.status().is_success() {
                return Err(format!("part {n}: {}", resp.status()));
            }
            let etag = resp
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .ok_or("part without ETag")?
                .to_owned();
            listed.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        let body = format!("<CompleteMultipartUpload>{listed}</CompleteMultipartUpload>");
        self.try_cos(
            creds,
            Method::POST,
            bucket,
            key,
            &[("uploadId", id)],
            body.into_bytes(),
        )
        .await
        .map(drop)
    }

    /// ApplyUpload for an mp4, then one PUT (or a multipart upload in `part_size` parts when
    /// larger), then CommitUpload: the CommitUpload answer, or the first failure.
    pub async fn try_upload(&self, data: Vec<u8>, part_size: usize) -> Result<Value, String> {
        let session = self
            .try_vod("ApplyUpload", serde_json::json!({"MediaType": "mp4"}))
            .await?;
        let creds = CosCreds::from_apply(&session);
        let bucket = session["StorageBucket"]
            .as_str()
            .ok_or("no StorageBucket")?;
        let key = key_of(&session["MediaStoragePath"]);
        if data.len() > part_size {
            let id = self.try_initiate(&creds, bucket, &key).await?;
            self.try_parts(&creds, bucket, &key, &id, &data, part_size)
                .await?;
        } else {
            self.try_cos(&creds, Method::PUT, bucket, &key, &[], data)
                .await?;
        }
        self.try_vod(
            "CommitUpload",
            serde_json::json!({"VodSessionKey": session["VodSessionKey"]}),
        )
        .await
    }

    /// PUTs `data` to the storage path field `path` of an ApplyUpload answer, with its
    /// temporary credentials; panics unless COS answers 200.
    pub async fn put_media(&self, apply: &Value, path: &str, data: Vec<u8>) {
        let creds = CosCreds::from_apply(apply);
        let bucket = apply["StorageBucket"].as_str().expect("bucket");
        let r = self
            .cos(
                &creds,
                Method::PUT,
                bucket,
                &key_of(&apply[path]),
                &[],
                &[],
                data,
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }

    /// ApplyUpload with `apply_body`, PUT of `data`, CommitUpload; returns the CommitUpload
    /// answer (panics on any error).
    pub async fn upload(&self, apply_body: Value, data: Vec<u8>) -> Value {
        let apply = Self::ok(self.vod("ApplyUpload", apply_body.clone()).await);
        self.put_media(&apply, "MediaStoragePath", data).await;
        let mut commit = serde_json::json!({"VodSessionKey": apply["VodSessionKey"]});
        if let Some(sub) = apply_body.get("SubAppId") {
            commit["SubAppId"] = sub.clone();
        }
        Self::ok(self.vod("CommitUpload", commit).await)
    }

    /// GET of an admin path (`/_emulator/<path>`); returns status and JSON body.
    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        self.admin(Method::GET, path).await
    }

    /// POST to an admin path; returns status and JSON body.
    pub async fn admin_post(&self, path: &str) -> (StatusCode, Value) {
        self.admin(Method::POST, path).await
    }

    /// Any admin call (`path` starts with `/_emulator/`), with an optional JSON body; returns
    /// the status and the JSON body (`null` when empty).
    pub async fn admin_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.endpoint));
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).expect("json"));
        }
        let resp = req.send().await.expect("admin call");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("json body")
        };
        (status, value)
    }

    async fn admin(&self, method: Method, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .request(method, format!("{}/_emulator/{path}", self.endpoint))
            .send()
            .await
            .expect("admin request");
        let status = resp.status();
        let body = resp.bytes().await.expect("admin body");
        (status, serde_json::from_slice(&body).expect("admin json"))
    }

    /// Waits (admin `events/wait`, 10 s) for the first event matching `query`; panics on
    /// timeout.
    pub async fn wait_event(&self, query: &str) -> Value {
        let (status, body) = self
            .admin_get(&format!("events/wait?timeoutMs=10000&{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "no event matching {query}: {body}");
        body["event"].clone()
    }

    /// Plain GET of a URL; returns status and body.
    pub async fn get(&self, url: &str) -> (StatusCode, Vec<u8>) {
        let resp = self.http.get(url).send().await.expect("GET");
        let status = resp.status();
        (status, resp.bytes().await.expect("body").to_vec())
    }
}

/// The object key of an ApplyUpload storage path (without the leading `/`).
pub fn key_of(path: &Value) -> String {
    path.as_str()
        .expect("storage path")
        .trim_start_matches('/')
        .to_owned()
}

pub use vod_testkit::bytes;
