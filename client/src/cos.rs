//! `CosClient`: sha1-signed calls to the COS XML API for one bucket, against the cloud
//! (virtual-host addressing, `https://{bucket}.cos.{region}.myqcloud.com`) or an emulator
//! (path style under its URL).

use crate::clock::ServerClock;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::sign::cos::{self, CosSignInput};
use crate::vod::host_header;
use crate::wire::cos::codes;
use crate::wire::cos::{
    from_xml, to_xml, CompleteMultipartUpload, CompleteMultipartUploadResult, CompletePart,
    ErrorDocument, InitiateMultipartUploadResult, ListMultipartUploadsResult, ListPartsResult,
    ListedPart, ListedUpload,
};
use bytes::Bytes;
use reqwest::{Method, Response};

/// How long a request signature stays valid.
const SIGNATURE_TTL_SECS: i64 = 3600;

/// Where COS is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosEndpoint {
    /// The real service: `https://{bucket}.cos.{region}.myqcloud.com`.
    Cloud,
    /// An emulator or compatible server at this base URL, addressed path style
    /// (`{base}/{bucket}/{key}`).
    PathStyle(String),
}

/// The checksums COS returns for stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `ETag` as returned (quoted).
    pub etag: String,
    /// `x-cos-hash-crc64ecma`, when present.
    pub crc64: Option<u64>,
}

/// A COS client for one bucket. Cheap to clone: clones share the HTTP connection pool.
#[derive(Debug, Clone)]
pub struct CosClient {
    http: reqwest::Client,
    endpoint: CosEndpoint,
    bucket: String,
    region: String,
    credentials: Credentials,
    clock: ServerClock,
}

impl CosClient {
    /// A client for `bucket` in `region`.
    pub fn new(
        http: reqwest::Client,
        endpoint: CosEndpoint,
        bucket: impl Into<String>,
        region: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Self {
            http,
            endpoint,
            bucket: bucket.into(),
            region: region.into(),
            credentials,
            clock: ServerClock::default(),
        }
    }

    /// A client acting with an ApplyUpload session's temporary credentials, on its bucket.
    ///
    /// # Errors
    /// The session has no TempCertificate.
    pub fn for_session(
        http: reqwest::Client,
        endpoint: CosEndpoint,
        session: &crate::wire::vod::ApplyUploadResponse,
    ) -> Result<Self> {
        let cert = session
            .temp_certificate
            .as_ref()
            .ok_or_else(|| Error::Invalid("ApplyUpload returned no TempCertificate".into()))?;
        Ok(Self::new(
            http,
            endpoint,
            session.storage_bucket.clone(),
            session.storage_region.clone(),
            Credentials {
                secret_id: cert.secret_id.clone(),
                secret_key: cert.secret_key.clone(),
                token: Some(cert.token.clone()),
            },
        ))
    }

    /// Uses `clock` for signatures (share the VOD client's, so a learned skew serves both).
    pub fn with_clock(mut self, clock: ServerClock) -> Self {
        self.clock = clock;
        self
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// URL, Host and signed path for `key` (empty for bucket-level requests).
    fn target(&self, key: &str) -> Result<(reqwest::Url, String, String)> {
        let encoded = cos::encode_key(key);
        let (url, signed_path) = match &self.endpoint {
            CosEndpoint::Cloud => (
                format!(
                    "https://{}.cos.{}.myqcloud.com/{encoded}",
                    self.bucket, self.region
                ),
                format!("/{key}"),
            ),
            CosEndpoint::PathStyle(base) => (
                format!("{}/{}/{encoded}", base.trim_end_matches('/'), self.bucket),
                format!("/{}/{key}", self.bucket),
            ),
        };
        let url = reqwest::Url::parse(&url)
            .map_err(|e| Error::Invalid(format!("invalid COS URL `{url}`: {e}")))?;
        let host = host_header(&url).ok_or_else(|| Error::Invalid(format!("no host in {url}")))?;
        Ok((url, host, signed_path))
    }

    /// Sends a signed request; a non-2xx answer becomes [`Error::Cos`]. A refusal for an
    /// expired or skewed signature is retried once with the clock corrected from `Date`.
    async fn send(
        &self,
        operation: &'static str,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response> {
        let response = self
            .attempt(operation, method.clone(), key, query, headers, body.clone())
            .await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let date = response.headers().get(reqwest::header::DATE).cloned();
        let err = cos_error(operation, response).await;
        let skewed = matches!(&err, Error::Cos { code, message, .. }
            if code == codes::REQUEST_TIME_TOO_SKEWED || (code == codes::ACCESS_DENIED && message.starts_with("Request has expired")));
        if skewed && self.clock.learn(date.as_ref()) {
            tracing::warn!(
                skew = self.clock.skew(),
                "clock skew detected; retrying with the server's time"
            );
            let response = self
                .attempt(operation, method, key, query, headers, body)
                .await?;
            if response.status().is_success() {
                return Ok(response);
            }
            return Err(cos_error(operation, response).await);
        }
        Err(err)
    }

    /// One signed attempt.
    async fn attempt(
        &self,
        operation: &'static str,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response> {
        self.signed(method, key, query, headers, body)?
            .send()
            .await
            .map_err(|source| Error::Transport {
                what: format!("COS {operation} {}/{key}", self.bucket),
                source,
            })
    }

    /// A signed request, built but not sent: for callers that look at the wire themselves
    /// (a conformance check writing it on a raw socket).
    ///
    /// # Errors
    /// The endpoint URL is invalid or the request cannot be built.
    pub fn request(
        &self,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<reqwest::Request> {
        self.signed(method, key, query, headers, body)?
            .build()
            .map_err(|e| Error::Invalid(format!("cannot build the COS request: {e}")))
    }

    fn signed(
        &self,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<reqwest::RequestBuilder> {
        let (mut url, host, path) = self.target(key)?;
        if !query.is_empty() {
            let qs: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", cos::cos_encode(k), cos::cos_encode(v)))
                .collect();
            url.set_query(Some(&qs.join("&")));
        }
        let len = body.len().to_string();
        let mut signed: Vec<(&str, &str)> = vec![("host", host.as_str())];
        if !body.is_empty() {
            signed.push(("content-length", &len));
        }
        signed.extend_from_slice(headers);
        if let Some(token) = &self.credentials.token {
            signed.push(("x-cos-security-token", token));
        }
        let now = self.clock.now();
        let authorization = cos::authorization(
            &self.credentials.secret_id,
            &self.credentials.secret_key,
            now - 60,
            now + SIGNATURE_TTL_SECS,
            &CosSignInput {
                method: method.as_str(),
                path: &path,
                params: query,
                headers: &signed,
            },
        );
        // hyper sends no Content-Length for an empty body, and COS refuses a PUT without one
        // (411 MissingContentLength): an empty PUT says 0 itself.
        let empty_put = body.is_empty() && method == Method::PUT;
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", authorization);
        for (name, value) in &signed {
            if *name != "host" && *name != "content-length" {
                request = request.header(*name, *value);
            }
        }
        if empty_put {
            request = request.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        Ok(request.body(body))
    }

    /// PutObject of an in-memory body, with its Content-MD5 when given.
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn put_object(
        &self,
        key: &str,
        body: Bytes,
        content_md5: Option<&str>,
    ) -> Result<Stored> {
        let headers: Vec<(&str, &str)> = content_md5
            .map(|m| ("content-md5", m))
            .into_iter()
            .collect();
        let resp = self
            .send("PutObject", Method::PUT, key, &[], &headers, body)
            .await?;
        Ok(stored(&resp))
    }

    /// InitiateMultipartUpload; returns the UploadId.
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn initiate_multipart_upload(
        &self,
        key: &str,
        content_type: Option<&str>,
    ) -> Result<String> {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| ("content-type", c))
            .into_iter()
            .collect();
        let resp = self
            .send(
                "InitiateMultipartUpload",
                Method::POST,
                key,
                &[("uploads", "")],
                &headers,
                Bytes::new(),
            )
            .await?;
        let result: InitiateMultipartUploadResult =
            read_xml("InitiateMultipartUpload", resp).await?;
        Ok(result.upload_id)
    }

    /// UploadPart of an in-memory part, with its Content-MD5.
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Bytes,
        content_md5: &str,
    ) -> Result<Stored> {
        let n = part_number.to_string();
        let resp = self
            .send(
                "UploadPart",
                Method::PUT,
                key,
                &[("partNumber", &n), ("uploadId", upload_id)],
                &[("content-md5", content_md5)],
                body,
            )
            .await?;
        Ok(stored(&resp))
    }

    /// CompleteMultipartUpload with `(part number, ETag)` in ascending order.
    ///
    /// # Errors
    /// The request fails or COS refuses it (a 200 without an ETag counts as a refusal).
    pub async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Stored> {
        let body = CompleteMultipartUpload {
            parts: parts
                .iter()
                .map(|(n, etag)| CompletePart {
                    part_number: *n,
                    etag: etag.clone(),
                })
                .collect(),
        };
        let xml = to_xml(&body).map_err(|e| Error::Invalid(format!("complete body: {e}")))?;
        let resp = self
            .send(
                "CompleteMultipartUpload",
                Method::POST,
                key,
                &[("uploadId", upload_id)],
                &[("content-type", "application/xml")],
                Bytes::from(xml),
            )
            .await?;
        let crc64 = crc_header(&resp);
        let result: CompleteMultipartUploadResult =
            read_xml("CompleteMultipartUpload", resp).await?;
        Ok(Stored {
            etag: result.etag,
            crc64,
        })
    }

    /// AbortMultipartUpload.
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<()> {
        self.send(
            "AbortMultipartUpload",
            Method::DELETE,
            key,
            &[("uploadId", upload_id)],
            &[],
            Bytes::new(),
        )
        .await
        .map(drop)
    }

    /// ListParts, all pages.
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<ListedPart>> {
        let mut parts = Vec::new();
        let mut marker = 0u32;
        loop {
            let m = marker.to_string();
            let resp = self
                .send(
                    "ListParts",
                    Method::GET,
                    key,
                    &[("uploadId", upload_id), ("part-number-marker", &m)],
                    &[],
                    Bytes::new(),
                )
                .await?;
            let page: ListPartsResult = read_xml("ListParts", resp).await?;
            parts.extend(page.parts);
            if !page.is_truncated || page.next_part_number_marker <= marker {
                return Ok(parts);
            }
            marker = page.next_part_number_marker;
        }
    }

    /// ListMultipartUploads under `prefix` (first page, up to 1000).
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn list_multipart_uploads(&self, prefix: &str) -> Result<Vec<ListedUpload>> {
        let resp = self
            .send(
                "ListMultipartUploads",
                Method::GET,
                "",
                &[("uploads", ""), ("prefix", prefix)],
                &[],
                Bytes::new(),
            )
            .await?;
        let result: ListMultipartUploadsResult = read_xml("ListMultipartUploads", resp).await?;
        Ok(result.uploads)
    }

    /// HeadObject: size and checksums, or `None` when there is no such object.
    ///
    /// # Errors
    /// The request fails or COS refuses it for another reason.
    pub async fn head_object(&self, key: &str) -> Result<Option<(u64, Stored)>> {
        match self
            .send("HeadObject", Method::HEAD, key, &[], &[], Bytes::new())
            .await
        {
            // A HEAD answer has no body, so reqwest's `content_length` is 0: read the header.
            Ok(resp) => {
                let size = resp
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok(Some((size, stored(&resp))))
            }
            Err(Error::Cos { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GetObject: the streaming response.
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn get_object(&self, key: &str) -> Result<Response> {
        self.send("GetObject", Method::GET, key, &[], &[], Bytes::new())
            .await
    }

    /// DeleteObject.
    ///
    /// # Errors
    /// The request fails or COS refuses it.
    pub async fn delete_object(&self, key: &str) -> Result<()> {
        self.send("DeleteObject", Method::DELETE, key, &[], &[], Bytes::new())
            .await
            .map(drop)
    }
}

fn crc_header(resp: &Response) -> Option<u64> {
    resp.headers()
        .get("x-cos-hash-crc64ecma")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn stored(resp: &Response) -> Stored {
    Stored {
        etag: resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        crc64: crc_header(resp),
    }
}

async fn read_xml<T: for<'de> serde::Deserialize<'de>>(
    operation: &'static str,
    resp: Response,
) -> Result<T> {
    let text = resp.text().await.map_err(|source| Error::Transport {
        what: format!("COS {operation} response"),
        source,
    })?;
    if text.contains("<Error>") {
        if let Ok(doc) = from_xml::<ErrorDocument>(&text) {
            return Err(Error::Cos {
                operation,
                status: 200,
                code: doc.code,
                message: doc.message,
                request_id: doc.request_id,
            });
        }
    }
    from_xml(&text).map_err(|e| Error::Protocol {
        what: format!("COS {operation}"),
        detail: e.to_string(),
    })
}

async fn cos_error(operation: &'static str, resp: Response) -> Error {
    let status = resp.status().as_u16();
    let request_id = resp
        .headers()
        .get("x-cos-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.unwrap_or_default();
    match from_xml::<ErrorDocument>(&text) {
        Ok(doc) => Error::Cos {
            operation,
            status,
            code: doc.code,
            message: doc.message,
            request_id,
        },
        Err(_) => Error::Cos {
            operation,
            status,
            code: status.to_string(),
            message: text.chars().take(200).collect(),
            request_id,
        },
    }
}
