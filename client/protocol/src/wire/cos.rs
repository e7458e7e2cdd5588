//! COS XML API bodies used by the upload SDKs (docs/protocol/cos-api.md §3, §5).
//!
//! Responses carry no XML namespace (the Python SDK strips the known ones and accepts none).
//! Use [`to_xml`] to render a body with the XML declaration COS sends.

use serde::{Deserialize, Serialize};

/// Highest part number of a multipart upload.
pub const MAX_PARTS: u32 = 10_000;
/// Smallest size of any part but the last, checked on Complete (COS doc 436/7750).
pub const MIN_PART_BYTES: u64 = 1024 * 1024;
/// Largest single PUT or part: 5 GiB.
pub const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The COS error codes a client acts on (docs/protocol/cos-api.md §6): the rest it reports.
pub mod codes {
    /// The temporary credentials' token has expired: apply for a new upload session.
    pub const EXPIRED_TOKEN: &str = "ExpiredToken";
    /// The multipart upload is unknown (completed, aborted, or never started).
    pub const NO_SUCH_UPLOAD: &str = "NoSuchUpload";
    /// The request's time is too far from the server's: correct the clock and sign again.
    pub const REQUEST_TIME_TOO_SKEWED: &str = "RequestTimeTooSkewed";
    /// Refused; with an "expired" message it means an expired signature or token.
    pub const ACCESS_DENIED: &str = "AccessDenied";
}

/// Renders a response body as COS does: an XML declaration, then the element.
///
/// # Errors
/// Fails only if `value` cannot be represented as XML (a bug in the type, not in input).
pub fn to_xml<T: Serialize>(value: &T) -> Result<String, quick_xml::SeError> {
    let body = quick_xml::se::to_string(value)?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"
    ))
}

/// Whether XML 1.0 can carry `c` at all (its `Char` production), escaped or not: C0 controls
/// other than tab, line feed and carriage return, and U+FFFE / U+FFFF, cannot appear in a
/// well-formed document, not even as character references. Text that may hold them must be
/// refused or encoded (`encoding-type=url`) before it is rendered.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Parses a request body such as `CompleteMultipartUpload`.
///
/// # Errors
/// Malformed XML or a shape that does not match `T`.
pub fn from_xml<T: for<'de> Deserialize<'de>>(xml: &str) -> Result<T, quick_xml::DeError> {
    quick_xml::de::from_str(xml)
}

/// The error document of every failed COS request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Error", rename_all = "PascalCase")]
pub struct ErrorDocument {
    /// S3-style error code, e.g. `NoSuchUpload`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Host and path of the request (no scheme).
    pub resource: String,
    /// Same value as the `x-cos-request-id` header.
    pub request_id: String,
    /// Opaque trace id.
    pub trace_id: String,
}

/// `InitiateMultipartUpload` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "InitiateMultipartUploadResult", rename_all = "PascalCase")]
pub struct InitiateMultipartUploadResult {
    /// Bucket, long name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Id of the new upload.
    pub upload_id: String,
}

/// One `<Part>` of a `CompleteMultipartUpload` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompletePart {
    /// Part number, 1..=10000.
    pub part_number: u32,
    /// The ETag UploadPart returned (quotes optional).
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// `CompleteMultipartUpload` request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "CompleteMultipartUpload")]
pub struct CompleteMultipartUpload {
    /// The parts, in the order the client lists them.
    #[serde(rename = "Part", default)]
    pub parts: Vec<CompletePart>,
}

/// `CompleteMultipartUpload` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "CompleteMultipartUploadResult", rename_all = "PascalCase")]
pub struct CompleteMultipartUploadResult {
    /// Host and key of the object, no scheme.
    pub location: String,
    /// Bucket, long name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Multipart ETag of the object.
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// Owner / initiator of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Principal {
    /// CAM id, `qcs::cam::uin/<uin>:uin/<uin>`.
    #[serde(rename = "ID")]
    pub id: String,
    /// Display name (the uin).
    pub display_name: String,
}

/// One part in a `ListParts` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedPart {
    /// Part number.
    pub part_number: u32,
    /// ISO 8601 time with milliseconds.
    pub last_modified: String,
    /// Quoted lowercase hex MD5 of the part.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
}

/// `ListParts` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ListPartsResult", rename_all = "PascalCase")]
pub struct ListPartsResult {
    /// Bucket, long name.
    pub bucket: String,
    /// `url` when the request asked for URL-encoded keys.
    #[serde(
        rename = "Encoding-Type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub encoding_type: Option<String>,
    /// Object key (URL-encoded when `encoding_type` is `url`).
    pub key: String,
    /// The upload listed.
    pub upload_id: String,
    /// Who started the upload.
    pub initiator: Principal,
    /// Who owns the object.
    pub owner: Principal,
    /// Storage class of the future object.
    pub storage_class: String,
    /// The marker the request gave.
    pub part_number_marker: u32,
    /// Marker for the next page: the last part number listed.
    pub next_part_number_marker: u32,
    /// Page size.
    pub max_parts: u32,
    /// `true` when more parts follow.
    pub is_truncated: bool,
    /// The parts, ascending by number.
    #[serde(rename = "Part", default)]
    pub parts: Vec<ListedPart>,
}

/// One upload in a `ListMultipartUploads` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedUpload {
    /// Object key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Storage class of the future object.
    pub storage_class: String,
    /// Who started the upload.
    pub initiator: Principal,
    /// Who owns the object.
    pub owner: Principal,
    /// ISO 8601 time with milliseconds.
    pub initiated: String,
}

/// A `<CommonPrefixes>` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommonPrefix {
    /// The shared prefix, up to and including the delimiter.
    pub prefix: String,
}

/// `ListMultipartUploads` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ListMultipartUploadsResult", rename_all = "PascalCase")]
pub struct ListMultipartUploadsResult {
    /// Bucket, long name.
    pub bucket: String,
    /// `url` when the request asked for URL-encoded keys.
    #[serde(
        rename = "Encoding-Type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub encoding_type: Option<String>,
    /// The key marker the request gave.
    pub key_marker: String,
    /// The upload-id marker the request gave.
    pub upload_id_marker: String,
    /// Key marker for the next page.
    pub next_key_marker: String,
    /// Upload-id marker for the next page.
    pub next_upload_id_marker: String,
    /// Page size.
    pub max_uploads: u32,
    /// `true` when more uploads follow.
    pub is_truncated: bool,
    /// The prefix the request gave.
    pub prefix: String,
    /// The delimiter the request gave.
    pub delimiter: String,
    /// Uploads, by key then initiation time.
    #[serde(rename = "Upload", default)]
    pub uploads: Vec<ListedUpload>,
    /// Keys grouped by the delimiter.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn xml_chars_exclude_c0_controls_but_tab_and_newlines_and_the_two_nonchars() {
        for c in [
            '\0', '\u{1b}', '\u{b}', '\u{c}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ] {
            assert!(!is_xml_char(c), "{c:?}");
        }
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            'a',
            '\u{7f}',
            '腾',
            '\u{fffd}',
            '\u{10000}',
        ] {
            assert!(is_xml_char(c), "{c:?}");
        }
    }

    #[test]
    fn complete_request_parses_python_sdk_body() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CompleteMultipartUpload>\
            <Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>\
            <Part><PartNumber>2</PartNumber><ETag>\"bb\"</ETag></Part></CompleteMultipartUpload>";
        let body: CompleteMultipartUpload = from_xml(xml).unwrap();
        assert_eq!(body.parts.len(), 2);
        assert_eq!(body.parts[1].part_number, 2);
        assert_eq!(body.parts[1].etag, "\"bb\"");
    }

    #[test]
    fn error_document_renders_all_fields_the_python_sdk_requires() {
        let xml = to_xml(&ErrorDocument {
            code: "NoSuchKey".into(),
            message: "m".into(),
            resource: "b-1.cos.ap-guangzhou.myqcloud.com/k".into(),
            request_id: "r".into(),
            trace_id: "t".into(),
        })
        .unwrap();
        assert!(xml.starts_with("<?xml"));
        assert!(xml.contains("<Code>NoSuchKey</Code><Message>m</Message>"));
        assert!(xml.contains("<RequestId>r</RequestId>"));
    }

    #[test]
    fn list_parts_renders_repeated_parts_and_booleans() {
        let p = Principal {
            id: "i".into(),
            display_name: "d".into(),
        };
        let xml = to_xml(&ListPartsResult {
            bucket: "b-1".into(),
            encoding_type: None,
            key: "k".into(),
            upload_id: "u".into(),
            initiator: p.clone(),
            owner: p,
            storage_class: "STANDARD".into(),
            part_number_marker: 0,
            next_part_number_marker: 2,
            max_parts: 1000,
            is_truncated: false,
            parts: vec![
                ListedPart {
                    part_number: 1,
                    last_modified: "t".into(),
                    etag: "\"e\"".into(),
                    size: 1,
                },
                ListedPart {
                    part_number: 2,
                    last_modified: "t".into(),
                    etag: "\"f\"".into(),
                    size: 2,
                },
            ],
        })
        .unwrap();
        assert!(xml.contains("<IsTruncated>false</IsTruncated>"));
        assert_eq!(xml.matches("<Part>").count(), 2);
        assert!(!xml.contains("Encoding-Type"));
    }
}
