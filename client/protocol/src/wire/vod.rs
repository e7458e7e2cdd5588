//! VOD API 3.0 (version 2018-07-17) request and response bodies used by the upload flow.
//!
//! Requests are flat JSON objects of PascalCase parameters; responses are wrapped in
//! `{"Response": {...}}` with a `RequestId`, errors as `{"Response": {"Error": {..}, "RequestId"}}`
//! (docs/protocol/vod-api.md §2.1).

use serde::{Deserialize, Serialize};

/// The API version every upload action is served under.
pub const VERSION: &str = "2018-07-17";

/// The service name that appears in the TC3 credential scope and the default host.
pub const SERVICE: &str = "vod";

/// Media types the service accepts, lowercase (VOD FAQ 266/2846: video, audio, manifests, and
/// the image category newer accounts may upload).
pub const MEDIA_TYPES: &[&str] = &[
    "wmv", "rm", "mov", "mpeg", "mp4", "3gp", "flv", "avi", "rmvb", "ts", "asf", "mpg", "webm",
    "mkv", "m3u8", "wm", "asx", "ram", "mpe", "vob", "dat", "mp4v", "m4v", "f4v", "mxf", "qt",
    "ogg", "mpd", "mp3", "m4a", "flac", "wav", "ra", "aac", "amr", "jpg", "jpeg", "png", "gif",
    "bmp", "tiff", "tif", "heif", "webp",
];

/// Cover types the service accepts, lowercase.
pub const COVER_TYPES: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "tiff", "ai", "cdr", "eps", "tif", "heif",
];

/// VOD regions (API and storage).
pub const REGIONS: &[&str] = &[
    "ap-guangzhou",
    "ap-shanghai",
    "ap-nanjing",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-hongkong",
    "ap-singapore",
    "ap-mumbai",
    "ap-seoul",
    "ap-bangkok",
    "ap-tokyo",
    "ap-jakarta",
    "na-siliconvalley",
    "na-ashburn",
    "na-toronto",
    "sa-saopaulo",
    "eu-frankfurt",
    "eu-moscow",
];

/// The VOD bucket of a storage region for an account: `vod-<region>-<AppId>`, the bucket
/// ApplyUpload's `StorageBucket` names.
pub fn bucket_for(region: &str, app_id: u64) -> String {
    format!("vod-{region}-{app_id}")
}

/// The region whose VOD bucket `bucket` is for the account, if it is one.
pub fn region_of_bucket(bucket: &str, app_id: u64) -> Option<&'static str> {
    REGIONS
        .iter()
        .copied()
        .find(|r| bucket_for(r, app_id) == bucket)
}

/// `ApplyUpload` parameters (docs/protocol/vod-api.md §3.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplyUploadRequest {
    /// Media file extension without the dot, e.g. `mp4`. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// VOD application; absent means the account's primary application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
    /// Display name of the media.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_name: Option<String>,
    /// Cover file extension; when present a cover storage path is reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_type: Option<String>,
    /// Task-flow template to run after the upload is committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// Media expiry, ISO 8601 UTC (`2030-01-01T00:00:00Z`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// Forces the storage region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_region: Option<String>,
    /// Category id; 0 is "other".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_id: Option<i64>,
    /// Pass-through echoed in the NewFileUpload event (at most 250 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_context: Option<String>,
    /// Pass-through echoed in ProcedureStateChanged (at most 1000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<String>,
    /// Reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_info: Option<String>,
    /// Caller-chosen storage path (FileID + Path mode), starting with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_storage_path: Option<String>,
}

impl ApplyUploadRequest {
    /// The parameter names this action accepts, for unknown-parameter checks.
    pub const FIELDS: &'static [&'static str] = &[
        "MediaType",
        "SubAppId",
        "MediaName",
        "CoverType",
        "Procedure",
        "ExpireTime",
        "StorageRegion",
        "ClassId",
        "SourceContext",
        "SessionContext",
        "ExtInfo",
        "MediaStoragePath",
    ];
}

/// Temporary COS credentials scoped to one upload session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TempCertificate {
    /// Temporary SecretId, sent as `q-ak` in COS signatures.
    pub secret_id: String,
    /// Temporary SecretKey that signs COS requests.
    pub secret_key: String,
    /// Session token, sent as `x-cos-security-token`.
    pub token: String,
    /// Unix seconds at which the credentials stop working.
    pub expired_time: i64,
}

/// `ApplyUpload` response (docs/protocol/vod-api.md §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplyUploadResponse {
    /// COS bucket, including the `-<AppId>` suffix.
    pub storage_bucket: String,
    /// COS region of the bucket.
    pub storage_region: String,
    /// Opaque key to pass to CommitUpload.
    pub vod_session_key: String,
    /// Object key of the media, with a leading `/`.
    pub media_storage_path: String,
    /// Object key of the cover, with a leading `/`; only when a CoverType was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover_storage_path: Option<String>,
    /// Credentials for the COS upload.
    #[serde(default)]
    pub temp_certificate: Option<TempCertificate>,
    /// Unique id of this API call.
    pub request_id: String,
}

/// `CommitUpload` parameters (docs/protocol/vod-api.md §4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommitUploadRequest {
    /// The key ApplyUpload returned. Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vod_session_key: Option<String>,
    /// Must match the SubAppId the session was applied for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_app_id: Option<u64>,
}

impl CommitUploadRequest {
    /// The parameter names this action accepts, for unknown-parameter checks.
    pub const FIELDS: &'static [&'static str] = &["VodSessionKey", "SubAppId"];
}

/// `CommitUpload` response (docs/protocol/vod-api.md §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommitUploadResponse {
    /// The new media's id: a decimal string.
    pub file_id: String,
    /// Playback URL of the uploaded media.
    pub media_url: String,
    /// URL of the uploaded cover, when one was applied for; the service writes `""` without
    /// one.
    #[serde(default, with = "empty_is_none")]
    pub cover_url: Option<String>,
    /// Unique id of this API call.
    pub request_id: String,
}

/// `Response.Error` of a failed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiError {
    /// Dotted error code, e.g. `InvalidParameterValue.VodSessionKey`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// The body of a failed call: `{"Response": {"Error": {...}, "RequestId": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ApiError,
    /// Unique id of this API call.
    pub request_id: String,
}

/// The API 3.0 envelope around every response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The action's response (or an [`ErrorResponse`]).
    #[serde(rename = "Response")]
    pub response: T,
}

/// An optional string the service writes as `""` when there is none.
mod empty_is_none {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_deref().unwrap_or_default())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let value = Option::<String>::deserialize(d)?;
        Ok(value.filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn buckets_map_back_to_their_region() {
        let b = bucket_for("ap-shanghai", 125);
        assert_eq!(b, "vod-ap-shanghai-125");
        assert_eq!(region_of_bucket(&b, 125), Some("ap-shanghai"));
        assert_eq!(region_of_bucket(&b, 126), None);
        assert_eq!(region_of_bucket("vod-xx-central-125", 125), None);
    }

    #[test]
    fn apply_upload_request_omits_absent_fields() {
        let req = ApplyUploadRequest {
            media_type: Some("mp4".into()),
            media_name: Some("demo".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"MediaType":"mp4","MediaName":"demo"}"#
        );
    }

    #[test]
    fn error_envelope_has_the_api3_shape() {
        let body = Envelope {
            response: ErrorResponse {
                error: ApiError {
                    code: "InvalidAction".into(),
                    message: "m".into(),
                },
                request_id: "r".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"Response":{"Error":{"Code":"InvalidAction","Message":"m"},"RequestId":"r"}}"#
        );
    }
}
