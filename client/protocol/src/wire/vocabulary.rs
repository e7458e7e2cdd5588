//! What the official COS SDKs put on the wire beyond what an operation needs: every `x-cos-*`
//! request header and query parameter they send on the upload path's operations, by default or
//! on a documented option.
//!
//! A server that refuses unknown fields (the emulator's `--strict`) must accept all of these,
//! even where it ignores them, and still catch names no SDK sends. Read from the SDKs' sources:
//! cos-python-sdk-v5 1.9.44 (`cos_client.py`, `cos_comm.py`), cos-nodejs-sdk-v5 3.0.0
//! (`sdk/base.js`, `util.js`, `advance.js`), cos_api 5.6.8 for Java (`COSClient.java`,
//! `DefaultCosHttpClient.java`: `x-cos-sdk-log-debug` on every request), cos-php-sdk-v5 2.6
//! (`Service.php`, `Client.php`) and cos-go-sdk-v5 0.7 (`object.go`, `cos.go`).

/// `x-cos-*` request headers the SDKs send (user metadata: [`COS_META_PREFIX`]).
pub const COS_REQUEST_HEADERS: &[&str] = &[
    "x-cos-security-token",
    // retry markers (Python, Node, Go) and the Java SDK's log switch (every request)
    "x-cos-sdk-retry",
    "x-cos-sdk-log-debug",
    "x-cos-acl",
    "x-cos-grant-read",
    "x-cos-grant-write",
    "x-cos-grant-full-control",
    "x-cos-grant-read-acp",
    "x-cos-grant-write-acp",
    "x-cos-storage-class",
    "x-cos-tagging",
    "x-cos-traffic-limit",
    "x-cos-mime-limit",
    "x-cos-content-sha1",
    "x-cos-website-redirect-location",
    "x-cos-request-payer",
    "x-cos-channel-id",
    "x-cos-mfa",
    "x-cos-callback",
    "x-cos-callback-var",
    "x-cos-server-side-encryption",
    "x-cos-server-side-encryption-cos-kms-key-id",
    "x-cos-server-side-encryption-aws-kms-key-id",
    "x-cos-server-side-encryption-context",
    "x-cos-server-side-encryption-customer-algorithm",
    "x-cos-server-side-encryption-customer-key",
    "x-cos-server-side-encryption-customer-key-md5",
];

/// The prefix of user metadata headers (`x-cos-meta-<name>`), sent by every SDK.
pub const COS_META_PREFIX: &str = "x-cos-meta-";

/// Query parameters the SDKs send on object and multipart operations. cos-go-sdk-v5 spells
/// DeleteObject's version `VersionId`.
pub const COS_QUERY_PARAMS: &[&str] = &[
    "uploads",
    "uploadId",
    "partNumber",
    "max-parts",
    "part-number-marker",
    "prefix",
    "delimiter",
    "key-marker",
    "upload-id-marker",
    "max-uploads",
    "encoding-type",
    "versionId",
    "VersionId",
    "ci-process",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
];

/// Whether an SDK may send this (lower-case) `x-cos-*` header.
pub fn is_sdk_header(name: &str) -> bool {
    name.starts_with(COS_META_PREFIX) || COS_REQUEST_HEADERS.contains(&name)
}

/// Whether an SDK may send this query parameter.
pub fn is_sdk_param(name: &str) -> bool {
    COS_QUERY_PARAMS.contains(&name)
}
