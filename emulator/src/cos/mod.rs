//! The COS XML API subset the upload SDKs use (docs/protocol/cos-api.md §3).
//!
//! A request is classified into an [`Operation`], authorized (signature, temporary-credential
//! scope), then handled. Every response carries `x-cos-request-id` and `Server: tencent-cos`;
//! errors are XML documents with the code's HTTP status.

mod auth;
mod chunks;
pub(crate) mod ingest;
pub(crate) mod md5_lanes;
mod multipart;
pub mod object;

use crate::body::Body;
use crate::error::{cos_error_response, CosCode, CosError};
use crate::faults::{Service, Subject};
use crate::journal::Signature;
use crate::request::{header_names, Described};
use crate::router::CosAddress;
use crate::state::AppState;
use crate::store::SessionRef;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response};
use percent_encoding::percent_decode_str;
use vod_protocol::sign::cos::CosAuthorization;
use vod_protocol::wire::vocabulary;
use vod_protocol::wire::vod::region_of_bucket;

/// Longest object key COS accepts, in UTF-8 bytes.
const MAX_KEY_BYTES: usize = 850;

/// A COS operation, as the credential policy and the fault engine name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `PUT /{key}`.
    PutObject,
    /// `GET /{key}`.
    GetObject,
    /// `HEAD /{key}`.
    HeadObject,
    /// `DELETE /{key}`.
    DeleteObject,
    /// `HEAD /`.
    HeadBucket,
    /// `POST /{key}?uploads`.
    InitiateMultipartUpload,
    /// `PUT /{key}?partNumber&uploadId`.
    UploadPart {
        /// 1..=10000.
        part_number: u32,
        /// The upload.
        upload_id: String,
    },
    /// `POST /{key}?uploadId`.
    CompleteMultipartUpload {
        /// The upload.
        upload_id: String,
    },
    /// `DELETE /{key}?uploadId`.
    AbortMultipartUpload {
        /// The upload.
        upload_id: String,
    },
    /// `GET /{key}?uploadId`.
    ListParts {
        /// The upload.
        upload_id: String,
    },
    /// `GET /?uploads`.
    ListMultipartUploads,
}

/// Query parameters every operation reads: the signature in query form and the token.
const SIGNATURE_PARAMS: &[&str] = &[
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
    "x-cos-security-token",
];

/// `response-*` overrides GetObject and HeadObject read.
const RESPONSE_PARAMS: &[&str] = &[
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
];

impl Operation {
    /// Every operation name, for listings and fault rules.
    pub const NAMES: &'static [&'static str] = &[
        "PutObject",
        "GetObject",
        "HeadObject",
        "DeleteObject",
        "HeadBucket",
        "InitiateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
        "ListMultipartUploads",
    ];

    /// The query parameters the operation reads, besides the signature ones.
    fn params(&self) -> &'static [&'static str] {
        match self {
            Operation::GetObject | Operation::HeadObject => RESPONSE_PARAMS,
            Operation::PutObject | Operation::DeleteObject | Operation::HeadBucket => &[],
            Operation::InitiateMultipartUpload => &["uploads"],
            Operation::UploadPart { .. } => &["partNumber", "uploadId"],
            Operation::CompleteMultipartUpload { .. } | Operation::AbortMultipartUpload { .. } => {
                &["uploadId"]
            }
            Operation::ListParts { .. } => &[
                "uploadId",
                "max-parts",
                "encoding-type",
                "part-number-marker",
            ],
            Operation::ListMultipartUploads => &[
                "uploads",
                "prefix",
                "delimiter",
                "key-marker",
                "upload-id-marker",
                "max-uploads",
                "encoding-type",
            ],
        }
    }

    /// Whether the operation reads this `x-cos-*` header.
    fn reads_header(&self, name: &str) -> bool {
        // `x-cos-sdk-retry` only marks an SDK retry; it asks nothing of the server.
        name == "x-cos-security-token"
            || name == "x-cos-sdk-retry"
            || (matches!(
                self,
                Operation::PutObject | Operation::InitiateMultipartUpload
            ) && (name.starts_with("x-cos-meta-") || name == "x-cos-storage-class"))
    }

    /// The query parameters and `x-cos-*` headers of a request this operation does not read.
    fn unread(&self, query: &Query, headers: &http::HeaderMap) -> Vec<String> {
        let mut out: Vec<String> = self.unread_params(query).cloned().collect();
        out.extend(self.unread_headers(headers).map(str::to_owned));
        out.dedup();
        out
    }

    /// The unread fields of a request that no official SDK sends ([`vocabulary`]): what
    /// `--strict` refuses. Fields the SDKs send but the emulator ignores (ACLs, encryption,
    /// retry markers) pass, and stay listed as unread in the journal.
    fn unknown(&self, query: &Query, headers: &http::HeaderMap) -> Vec<String> {
        let params = self
            .unread_params(query)
            .filter(|p| !vocabulary::is_sdk_param(p))
            .cloned();
        let headers = self
            .unread_headers(headers)
            .filter(|h| !vocabulary::is_sdk_header(h))
            .map(str::to_owned);
        params.chain(headers).collect()
    }

    fn unread_params<'q>(&self, query: &'q Query) -> impl Iterator<Item = &'q String> {
        let params = self.params();
        query.pairs().iter().map(|(k, _)| k).filter(move |k| {
            !params.contains(&k.as_str()) && !SIGNATURE_PARAMS.contains(&k.as_str())
        })
    }

    fn unread_headers<'h>(
        &self,
        headers: &'h http::HeaderMap,
    ) -> impl Iterator<Item = &'h str> + use<'_, 'h> {
        headers
            .keys()
            .map(http::HeaderName::as_str)
            .filter(move |h| h.starts_with("x-cos-") && !self.reads_header(h))
    }

    /// The operation's name.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::PutObject => "PutObject",
            Operation::GetObject => "GetObject",
            Operation::HeadObject => "HeadObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::HeadBucket => "HeadBucket",
            Operation::InitiateMultipartUpload => "InitiateMultipartUpload",
            Operation::UploadPart { .. } => "UploadPart",
            Operation::CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            Operation::AbortMultipartUpload { .. } => "AbortMultipartUpload",
            Operation::ListParts { .. } => "ListParts",
            Operation::ListMultipartUploads => "ListMultipartUploads",
        }
    }

    /// Classifies a request by method, key and sub-resources.
    fn classify(method: &Method, key: &str, query: &Query) -> Result<Self, CosError> {
        let upload_id = query.get("uploadId").map(str::to_owned);
        if key.is_empty() {
            return match *method {
                Method::GET if query.has("uploads") => Ok(Operation::ListMultipartUploads),
                Method::HEAD => Ok(Operation::HeadBucket),
                Method::GET => Err(CosError::with_message(
                    CosCode::NotImplemented,
                    "the emulator does not serve bucket listings (GET Bucket)",
                )),
                _ => Err(CosError::new(CosCode::MethodNotAllowed)),
            };
        }
        match (method, upload_id) {
            (&Method::PUT, Some(upload_id)) => {
                let part_number = query
                    .get("partNumber")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| (1..=multipart::MAX_PARTS).contains(n))
                    .ok_or_else(|| {
                        CosError::with_message(
                            CosCode::InvalidArgument,
                            "partNumber must be an integer from 1 to 10000",
                        )
                    })?;
                Ok(Operation::UploadPart {
                    part_number,
                    upload_id,
                })
            }
            (&Method::PUT, None) if query.has("partNumber") => Err(CosError::with_message(
                CosCode::InvalidArgument,
                "partNumber requires uploadId",
            )),
            (&Method::PUT, None) => Ok(Operation::PutObject),
            (&Method::POST, None) if query.has("uploads") => Ok(Operation::InitiateMultipartUpload),
            (&Method::POST, Some(upload_id)) => {
                Ok(Operation::CompleteMultipartUpload { upload_id })
            }
            (&Method::DELETE, Some(upload_id)) => Ok(Operation::AbortMultipartUpload { upload_id }),
            (&Method::DELETE, None) => Ok(Operation::DeleteObject),
            (&Method::GET, Some(upload_id)) => Ok(Operation::ListParts { upload_id }),
            (&Method::GET, None) => Ok(Operation::GetObject),
            (&Method::HEAD, _) => Ok(Operation::HeadObject),
            _ => Err(CosError::new(CosCode::MethodNotAllowed)),
        }
    }
}

/// Decoded query parameters in request order; valueless parameters have value `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string. `+` stays `+`: COS clients encode spaces as `%20`.
    pub fn parse(raw: Option<&str>) -> Self {
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        Query(
            raw.unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// The first value of `name` (case-sensitive, as COS sub-resources are).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `name`: the Python SDK sends unset list options as `k=`.
    pub fn get_nonempty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// All pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Describes a COS request: operation, bucket, key, part number, the fields the operation does
/// not read, and the temporary credentials it signs with.
pub fn describe(parts: &Parts, addr: &CosAddress) -> Described {
    let query = Query::parse(parts.uri.query());
    let op = Operation::classify(&parts.method, &addr.key, &query).ok();
    let part_number = match &op {
        Some(Operation::UploadPart { part_number, .. }) => Some(*part_number),
        _ => None,
    };
    let access_key = match parts.headers.get(http::header::AUTHORIZATION) {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| CosAuthorization::parse(v).ok()),
        None => CosAuthorization::from_query(query.pairs()).ok().flatten(),
    }
    .map(|a| a.access_key);
    Described {
        subject: Subject {
            service: Some(Service::Cos),
            action: op.as_ref().map(|o| o.name().to_owned()),
            bucket: Some(addr.bucket.clone()),
            key: (!addr.key.is_empty()).then(|| addr.key.clone()),
            part_number,
            headers: header_names(&parts.headers),
            ..Subject::default()
        },
        unread: op
            .as_ref()
            .map(|o| o.unread(&query, &parts.headers))
            .unwrap_or_default(),
        session: access_key.map(SessionRef::SecretId),
    }
}

/// Serves one COS request. With `lose_write`, a write is acknowledged but not kept. The
/// response carries the signature verdict as an extension.
pub async fn handle(
    state: &AppState,
    req: Request<Body>,
    addr: CosAddress,
    request_id: &str,
    lose_write: bool,
) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    let resource = resource(req.headers(), req.uri());
    let mut verdict = Signature::Unchecked;
    let resp = match serve(state, req, &addr, lose_write, &mut verdict).await {
        Ok(resp) => resp,
        Err(err) => cos_error_response(&err, &resource, request_id, head),
    };
    let mut resp = finish(resp, request_id);
    resp.extensions_mut().insert(verdict);
    resp
}

/// The `<Resource>` of an error document: host without port, then the path.
pub fn resource(headers: &http::HeaderMap, uri: &http::Uri) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    format!("{}{}", crate::router::strip_port(host), uri.path())
}

/// Adds the headers every COS response carries: `x-cos-request-id` and `Server`.
pub fn finish(mut resp: Response<Body>, request_id: &str) -> Response<Body> {
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-cos-request-id", v);
    }
    headers.insert(
        http::header::SERVER,
        HeaderValue::from_static("tencent-cos"),
    );
    resp
}

async fn serve(
    state: &AppState,
    req: Request<Body>,
    addr: &CosAddress,
    lose_write: bool,
    verdict: &mut Signature,
) -> Result<Response<Body>, CosError> {
    plain_chunked_at_most(req.headers())?;
    let query = Query::parse(req.uri().query());
    let op = Operation::classify(req.method(), &addr.key, &query)?;
    let bucket_region = region_of_bucket(&addr.bucket, state.config().app_id);
    let region_matches = match (&addr.region, bucket_region) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(host_region), Some(region)) => host_region == region,
    };
    if !region_matches {
        return Err(CosError::with_message(
            CosCode::NoSuchBucket,
            format!(
                "the bucket `{}` does not exist in this region; ApplyUpload's StorageBucket and StorageRegion name the buckets the emulator serves",
                addr.bucket
            ),
        ));
    }
    if addr.key.len() > MAX_KEY_BYTES {
        return Err(CosError::new(CosCode::KeyTooLong));
    }
    if matches!(
        op,
        Operation::PutObject | Operation::InitiateMultipartUpload
    ) {
        xml_text("the object key", &addr.key)?;
    }
    let principal = auth::authorize(state, &req, addr, &op, &query, verdict).await?;
    if state.config().strict {
        if let Some(field) = op.unknown(&query, req.headers()).first() {
            return Err(CosError::with_message(
                CosCode::InvalidArgument,
                format!(
                    "{} does not support `{field}`: no official SDK sends it (the emulator runs with --strict)",
                    op.name()
                ),
            ));
        }
    }
    tracing::debug!(op = op.name(), bucket = %addr.bucket, key = %addr.key, "cos request");
    let (parts, body) = req.into_parts();
    match op {
        Operation::PutObject => {
            object::put_object(state, addr, &parts.headers, body, lose_write).await
        }
        Operation::GetObject => {
            object::get_object(state, addr, &parts.headers, &query, false).await
        }
        Operation::HeadObject => {
            object::get_object(state, addr, &parts.headers, &query, true).await
        }
        Operation::DeleteObject => object::delete_object(state, addr).await,
        Operation::HeadBucket => Ok(Response::new(crate::body::empty())),
        Operation::InitiateMultipartUpload => {
            multipart::initiate(state, addr, &parts.headers).await
        }
        Operation::UploadPart {
            part_number,
            upload_id,
        } => {
            let part = multipart::PartUpload {
                part_number,
                upload_id,
                lose_write,
            };
            multipart::upload_part(state, addr, &parts.headers, body, part).await
        }
        Operation::CompleteMultipartUpload { upload_id } => {
            multipart::complete(state, addr, body, upload_id, lose_write).await
        }
        Operation::AbortMultipartUpload { upload_id } => {
            multipart::abort(state, addr, upload_id).await
        }
        Operation::ListParts { upload_id } => {
            multipart::list_parts(state, addr, &query, upload_id).await
        }
        Operation::ListMultipartUploads => {
            multipart::list_uploads(state, addr, &query, &principal).await
        }
    }
}

/// Refuses a body sent in any transfer coding but plain `chunked`: hyper decodes only
/// `chunked`, so the body of `gzip, chunked` would otherwise be stored still gzipped. 501
/// `NotImplemented`, as S3 answers a header implying what it does not implement.
fn plain_chunked_at_most(headers: &http::HeaderMap) -> Result<(), CosError> {
    let codings: Vec<String> = headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    if codings.is_empty() || codings == ["chunked"] {
        return Ok(());
    }
    Err(CosError::with_message(
        CosCode::NotImplemented,
        format!(
            "Transfer-Encoding `{}` is not implemented: the only transfer coding accepted is `chunked`",
            codings.join(", ")
        ),
    ))
}

/// Refuses text an XML answer would have to carry verbatim but XML 1.0 cannot (NUL, ESC and
/// the other C0 controls but tab and newlines; U+FFFE, U+FFFF): 400 `InvalidArgument`.
///
/// S3 stores such keys and answers listings that hold them with documents XML parsers reject
/// (unless the client asks for `encoding-type=url`). The emulator keeps every answer
/// well-formed instead: PutObject and InitiateMultipartUpload refuse such keys, so no object or
/// upload has one and Initiate, Complete, ListParts and ListMultipartUploads never echo one;
/// list options are refused only where they would be echoed unencoded. `InvalidArgument` is
/// the code COS gives a request value it rejects, and no SDK retries a 4xx.
fn xml_text(what: &str, value: &str) -> Result<(), CosError> {
    match value
        .chars()
        .find(|&c| !vod_protocol::wire::cos::is_xml_char(c))
    {
        None => Ok(()),
        Some(c) => Err(CosError::with_message(
            CosCode::InvalidArgument,
            format!(
                "{what} contains U+{:04X}, which XML 1.0 cannot carry",
                u32::from(c)
            ),
        )),
    }
}

/// An XML 200 response.
fn xml_response<T: serde::Serialize>(value: &T) -> Result<Response<Body>, CosError> {
    let xml = vod_protocol::wire::cos::to_xml(value).map_err(|e| {
        tracing::error!(error = %e, "xml serialisation failed");
        CosError::new(CosCode::InternalError)
    })?;
    let mut resp = Response::new(crate::body::full(xml));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    Ok(resp)
}

/// ISO 8601 with milliseconds, as COS XML bodies print times.
fn iso_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_valueless_params_and_decodes_percent_only() {
        let q = Query::parse(Some("uploads&prefix=a%2Fb+c&max-uploads=1000&delimiter="));
        assert!(q.has("uploads"));
        assert_eq!(q.get("uploads"), Some(""));
        assert_eq!(q.get("prefix"), Some("a/b+c"));
        assert_eq!(q.get_nonempty("delimiter"), None);
    }

    #[test]
    fn operations_are_classified_by_method_and_subresource() {
        let q = |s| Query::parse(Some(s));
        assert_eq!(
            Operation::classify(&Method::PUT, "k", &q("partNumber=2&uploadId=u")),
            Ok(Operation::UploadPart {
                part_number: 2,
                upload_id: "u".into()
            })
        );
        assert_eq!(
            Operation::classify(&Method::PUT, "k", &q("partNumber=10001&uploadId=u"))
                .map_err(|e| e.code),
            Err(CosCode::InvalidArgument)
        );
        assert_eq!(
            Operation::classify(&Method::GET, "", &q("uploads=&prefix=")),
            Ok(Operation::ListMultipartUploads)
        );
        assert_eq!(
            Operation::classify(&Method::POST, "k", &q("uploads")),
            Ok(Operation::InitiateMultipartUpload)
        );
        assert_eq!(
            Operation::classify(&Method::PATCH, "k", &q("")).map_err(|e| e.code),
            Err(CosCode::MethodNotAllowed)
        );
    }

    #[test]
    fn unread_fields_are_the_params_and_cos_headers_the_operation_ignores() {
        let q = Query::parse(Some("partNumber=1&uploadId=u&q-ak=x&prefx=a"));
        let mut h = http::HeaderMap::new();
        h.insert("x-cos-traffic-limit", HeaderValue::from_static("1"));
        h.insert("x-cos-security-token", HeaderValue::from_static("t"));
        h.insert("x-cos-meta-a", HeaderValue::from_static("1"));
        let op = Operation::UploadPart {
            part_number: 1,
            upload_id: "u".into(),
        };
        assert_eq!(
            op.unread(&q, &h),
            vec!["prefx", "x-cos-traffic-limit", "x-cos-meta-a"]
        );
        assert_eq!(
            Operation::PutObject.unread(&Query::default(), &h),
            vec!["x-cos-traffic-limit"]
        );
    }

    #[test]
    fn every_operation_is_named_in_the_catalog() {
        let q = Query::parse(Some("uploadId=u&partNumber=1"));
        for (m, k) in [
            (Method::PUT, "k"),
            (Method::GET, "k"),
            (Method::DELETE, "k"),
        ] {
            let op = Operation::classify(&m, k, &q).expect("classified");
            assert!(Operation::NAMES.contains(&op.name()));
        }
        assert_eq!(Operation::NAMES.len(), 11);
    }

    #[test]
    fn only_plain_chunked_transfer_coding_is_accepted() {
        let with = |values: &[&'static str]| {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append(http::header::TRANSFER_ENCODING, HeaderValue::from_static(v));
            }
            plain_chunked_at_most(&h).map_err(|e| e.code)
        };
        assert_eq!(with(&[]), Ok(()));
        assert_eq!(with(&["Chunked"]), Ok(()));
        for refused in [
            &["gzip, chunked"][..],
            &["gzip", "chunked"],
            &["chunked, chunked"],
        ] {
            assert_eq!(with(refused), Err(CosCode::NotImplemented), "{refused:?}");
        }
    }

    #[test]
    fn iso_times_have_milliseconds() {
        assert_eq!(iso_ms(1_557_989_151_123), "2019-05-16T06:45:51.123Z");
    }
}
