//! `VodClient`: TC3-signed calls to the VOD API (version 2018-07-17), against the cloud or an
//! emulator.

use crate::clock::ServerClock;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::sign::tc3;
use crate::wire::events::{ConfirmEventsRequest, PullEventsRequest, PullEventsResponse};
use crate::wire::media::{
    DeleteMediaRequest, DescribeMediaInfosRequest, DescribeMediaInfosResponse, EmptyResponse,
    ParseStreamingManifestRequest, ParseStreamingManifestResponse,
};
use crate::wire::vod::{
    ApplyUploadRequest, ApplyUploadResponse, CommitUploadRequest, CommitUploadResponse, SERVICE,
    VERSION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The VOD API endpoint of the real service.
pub const DEFAULT_ENDPOINT: &str = "https://vod.tencentcloudapi.com";

/// Identifies this client in `X-TC-RequestClient`.
const REQUEST_CLIENT: &str = concat!("vod-client/", env!("CARGO_PKG_VERSION"));

/// A VOD API client. Cheap to clone: clones share the HTTP connection pool.
#[derive(Debug, Clone)]
pub struct VodClient {
    http: reqwest::Client,
    url: reqwest::Url,
    host: String,
    credentials: Credentials,
    region: String,
    clock: ServerClock,
}

impl VodClient {
    /// A client for `endpoint` (e.g. [`DEFAULT_ENDPOINT`] or `http://127.0.0.1:9266`).
    ///
    /// # Errors
    /// `endpoint` is not an http(s) URL with a host.
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        credentials: Credentials,
        region: impl Into<String>,
    ) -> Result<Self> {
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| Error::Invalid(format!("invalid VOD endpoint `{endpoint}`: {e}")))?;
        let host = host_header(&url)
            .ok_or_else(|| Error::Invalid(format!("VOD endpoint `{endpoint}` has no host")))?;
        Ok(Self {
            http,
            url,
            host,
            credentials,
            region: region.into(),
            clock: ServerClock::default(),
        })
    }

    /// Uses `clock` for signatures.
    pub fn with_clock(mut self, clock: ServerClock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock used for signatures, corrected from the server's `Date` when a request is
    /// refused as expired; share it with the COS clients of the same upload.
    pub fn clock(&self) -> &ServerClock {
        &self.clock
    }

    /// The region sent with every call.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Calls `action` with `req` and decodes the `Response` object.
    ///
    /// # Errors
    /// [`Error::Api`] when the service refuses, [`Error::Transport`] / [`Error::Status`] when
    /// it cannot be reached, [`Error::Protocol`] when the answer is not the API's envelope.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        action: &str,
        req: &Req,
    ) -> Result<Resp> {
        let body = serde_json::to_vec(req)
            .map_err(|e| Error::Invalid(format!("{action} request: {e}")))?;
        let (result, date) = self.send(action, &body).await?;
        match result {
            Err(err)
                if err.code() == Some("AuthFailure.SignatureExpire")
                    && self.clock.learn(date.as_ref()) =>
            {
                tracing::warn!(
                    skew = self.clock.skew(),
                    "clock skew detected; retrying with the server's time"
                );
                self.send(action, &body).await?.0
            }
            other => other,
        }
    }

    /// A signed call of `action` with this JSON body, built but not sent: for callers that look
    /// at the wire themselves.
    ///
    /// # Errors
    /// The request cannot be built.
    pub fn request(&self, action: &str, body: Vec<u8>) -> Result<reqwest::Request> {
        self.signed(action, body)
            .build()
            .map_err(|e| Error::Invalid(format!("cannot build the {action} request: {e}")))
    }

    fn signed(&self, action: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
        let timestamp = self.clock.now();
        let content_type = "application/json";
        let signed = [("content-type", content_type), ("host", self.host.as_str())];
        let authorization = tc3::authorization(
            &self.credentials.secret_id,
            &self.credentials.secret_key,
            SERVICE,
            timestamp,
            &tc3::CanonicalInput {
                method: "POST",
                path: "/",
                query: "",
                headers: &signed,
                payload_hash: &tc3::payload_hash(&body),
            },
        );
        let mut request = self
            .http
            .post(self.url.clone())
            .header("Content-Type", content_type)
            .header("Authorization", authorization)
            .header("X-TC-Action", action)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &self.region)
            .header("X-TC-RequestClient", REQUEST_CLIENT);
        if let Some(token) = &self.credentials.token {
            request = request.header("X-TC-Token", token);
        }
        request.body(body)
    }

    /// One signed attempt: the decoded result and the response's `Date`.
    async fn send<Resp: DeserializeOwned>(
        &self,
        action: &str,
        body: &[u8],
    ) -> Result<(Result<Resp>, Option<reqwest::header::HeaderValue>)> {
        let request = self.signed(action, body.to_vec());
        let transport = |source| Error::Transport {
            what: format!("{action} to {}", self.url),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(Error::Status {
                what: action.to_owned(),
                status,
            });
        }
        let date = response.headers().get(reqwest::header::DATE).cloned();
        let bytes = response.bytes().await.map_err(transport)?;
        Ok((decode(action, &bytes), date))
    }

    /// ApplyUpload: reserve an upload and get temporary COS credentials.
    ///
    /// # Errors
    /// See [`VodClient::call`].
    pub async fn apply_upload(&self, req: &ApplyUploadRequest) -> Result<ApplyUploadResponse> {
        self.call("ApplyUpload", req).await
    }

    /// CommitUpload: confirm an upload and get the FileId and URLs.
    ///
    /// # Errors
    /// See [`VodClient::call`].
    pub async fn commit_upload(&self, req: &CommitUploadRequest) -> Result<CommitUploadResponse> {
        self.call("CommitUpload", req).await
    }
}

impl VodClient {
    /// PullEvents: unconfirmed events (the service waits a few seconds when there are none and
    /// then answers `ResourceNotFound`).
    ///
    /// # Errors
    /// See [`VodClient::call`].
    pub async fn pull_events(&self, req: &PullEventsRequest) -> Result<PullEventsResponse> {
        self.call("PullEvents", req).await
    }

    /// ConfirmEvents: acknowledge pulled events by handle.
    ///
    /// # Errors
    /// See [`VodClient::call`].
    pub async fn confirm_events(&self, req: &ConfirmEventsRequest) -> Result<EmptyResponse> {
        self.call("ConfirmEvents", req).await
    }

    /// DescribeMediaInfos.
    ///
    /// # Errors
    /// See [`VodClient::call`].
    pub async fn describe_media_infos(
        &self,
        req: &DescribeMediaInfosRequest,
    ) -> Result<DescribeMediaInfosResponse> {
        self.call("DescribeMediaInfos", req).await
    }

    /// DeleteMedia.
    ///
    /// # Errors
    /// See [`VodClient::call`].
    pub async fn delete_media(&self, req: &DeleteMediaRequest) -> Result<EmptyResponse> {
        self.call("DeleteMedia", req).await
    }

    /// ParseStreamingManifest: the segments an HLS/DASH manifest names.
    ///
    /// # Errors
    /// See [`VodClient::call`].
    pub async fn parse_streaming_manifest(
        &self,
        req: &ParseStreamingManifestRequest,
    ) -> Result<ParseStreamingManifestResponse> {
        self.call("ParseStreamingManifest", req).await
    }
}

/// Decodes an API 3.0 envelope: the `Response` object, or its `Error` as [`Error::Api`].
fn decode<Resp: DeserializeOwned>(action: &str, bytes: &[u8]) -> Result<Resp> {
    let protocol = |detail: String| Error::Protocol {
        what: action.to_owned(),
        detail,
    };
    let mut envelope: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| protocol(format!("not JSON: {e}")))?;
    let response = envelope
        .get_mut("Response")
        .map(serde_json::Value::take)
        .ok_or_else(|| protocol("no `Response` object".into()))?;
    if let Some(error) = response.get("Error") {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        return Err(Error::Api {
            action: action.to_owned(),
            code: text(&error["Code"]),
            message: text(&error["Message"]),
            request_id: text(&response["RequestId"]),
        });
    }
    serde_json::from_value(response).map_err(|e| protocol(format!("unexpected shape: {e}")))
}

/// The `Host` header value reqwest sends for `url` (with the port when it is not the default).
pub(crate) fn host_header(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_the_envelope_become_api_errors() {
        let body = br#"{"Response":{"Error":{"Code":"InvalidParameterValue.MediaType","Message":"m"},"RequestId":"r-1"}}"#;
        match decode::<ApplyUploadResponse>("ApplyUpload", body) {
            Err(Error::Api {
                code, request_id, ..
            }) => {
                assert_eq!(code, "InvalidParameterValue.MediaType");
                assert_eq!(request_id, "r-1");
            }
            other => panic!("expected an API error, got {other:?}"),
        }
        assert!(matches!(
            decode::<ApplyUploadResponse>("ApplyUpload", b"<html>"),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn host_header_keeps_explicit_ports_only() {
        let u = |s| reqwest::Url::parse(s).ok();
        assert_eq!(
            u("https://vod.tencentcloudapi.com/")
                .and_then(|u| host_header(&u))
                .as_deref(),
            Some("vod.tencentcloudapi.com")
        );
        assert_eq!(
            u("http://127.0.0.1:9266")
                .and_then(|u| host_header(&u))
                .as_deref(),
            Some("127.0.0.1:9266")
        );
    }
}
