//! The COS XML v5 request signature (`q-sign-algorithm=sha1`).
//!
//! COS does not use TC3: uploads to the bucket that ApplyUpload hands out are signed with
//! this older HMAC-SHA1 scheme (`docs/protocol/cos-api.md §2`, COS doc 436/7778):
//!
//! ```text
//! KeyTime      = "<start>;<end>"
//! SignKey      = hex(HMAC-SHA1(SecretKey, KeyTime))
//! HttpString   = lower(method) \n decoded-path \n HttpParameters \n HttpHeaders \n
//! StringToSign = "sha1" \n KeyTime \n hex(SHA1(HttpString)) \n
//! Signature    = hex(HMAC-SHA1(key = SignKey's 40 ASCII hex chars, StringToSign))
//! ```
//!
//! `HttpParameters` and `HttpHeaders` are `lower(encode(name))=encode(value)` pairs sorted by
//! the encoded name and joined by `&`. The signature travels either in the `Authorization`
//! header or as `q-*` query parameters of a presigned URL; [`CosAuthorization`] parses both.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::{Digest, Sha1};

use super::{Result, SignError};

/// The only value of `q-sign-algorithm` the SDKs produce.
pub const ALGORITHM: &str = "sha1";

/// Everything except the RFC 3986 unreserved characters `A-Z a-z 0-9 - _ . ~`.
const COS_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

type HmacSha1 = Hmac<Sha1>;

/// Percent-encoding as COS signs it: unreserved A-Z a-z 0-9 - _ . ~ kept, everything else
/// %XX uppercase (space => %20).
///
/// This is Python's `quote(v, safe='-_.~')` and Node's `encodeURIComponent` plus `!'()*`.
pub fn cos_encode(s: &str) -> String {
    utf8_percent_encode(s, COS_ENCODE_SET).to_string()
}

/// An object key as a URL path (without the leading `/`): each segment [`cos_encode`]d, and
/// every `./` written `.%2F`, as the Python COS SDK does, so no segment is `.` or `..` (which
/// URL parsers resolve away, `%2E%2E` included) and the path sent is the one signed. A key whose
/// last segment is exactly `.` or `..` cannot be addressed through such parsers.
pub fn encode_key(key: &str) -> String {
    key.split('/')
        .map(cos_encode)
        .collect::<Vec<_>>()
        .join("/")
        .replace("./", ".%2F")
}

/// The parts of a COS request that the signature covers.
///
/// The client fills it from the request it builds; the emulator from the request it
/// received, keeping only the params and headers named in `q-url-param-list` and
/// `q-header-list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CosSignInput<'a> {
    /// HTTP method in any case; lower-cased by the signer.
    pub method: &'a str,
    /// The DECODED path starting with `/`, e.g. `/exampleobject(腾讯云)`; `/` for
    /// bucket-level requests.
    pub path: &'a str,
    /// DECODED query `(name, value)` pairs to sign; a valueless param (`?uploads`) has
    /// value `""`.
    pub params: &'a [(&'a str, &'a str)],
    /// Headers to sign: name in any case, value as sent (COS does not trim).
    pub headers: &'a [(&'a str, &'a str)],
}

fn hmac_sha1_hex(key: &[u8], message: &[u8]) -> String {
    let Ok(mut mac) = HmacSha1::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// `(lower(encode(name)), encode(value))` pairs, sorted by encoded name (bytewise), then by
/// value so the result does not depend on input order.
fn encoded_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(name, value)| (cos_encode(name).to_ascii_lowercase(), cos_encode(value)))
        .collect();
    encoded.sort();
    encoded
}

fn join_pairs(pairs: &[(&str, &str)]) -> String {
    encoded_pairs(pairs)
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn join_names(pairs: &[(&str, &str)]) -> String {
    encoded_pairs(pairs)
        .into_iter()
        .map(|(name, _)| name)
        .collect::<Vec<_>>()
        .join(";")
}

/// The `SignKey`: lowercase hex HMAC-SHA1 of `key_time` under the SecretKey.
pub fn sign_key(secret_key: &str, key_time: &str) -> String {
    hmac_sha1_hex(secret_key.as_bytes(), key_time.as_bytes())
}

/// `HttpParameters`: the signed query pairs, encoded, sorted and `&`-joined (`""` if none).
pub fn http_parameters(input: &CosSignInput) -> String {
    join_pairs(input.params)
}

/// `HttpHeaders`: the signed headers, encoded, sorted and `&`-joined (`""` if none).
pub fn http_headers(input: &CosSignInput) -> String {
    join_pairs(input.headers)
}

/// The `HttpString`: `lower(method)\npath\nHttpParameters\nHttpHeaders\n`.
pub fn http_string(input: &CosSignInput) -> String {
    format!(
        "{}\n{}\n{}\n{}\n",
        input.method.to_ascii_lowercase(),
        input.path,
        http_parameters(input),
        http_headers(input)
    )
}

/// The `StringToSign`: `sha1\n<key_time>\n<hex sha1(http_string)>\n`.
pub fn string_to_sign(key_time: &str, http_string: &str) -> String {
    format!(
        "{ALGORITHM}\n{key_time}\n{}\n",
        hex::encode(Sha1::digest(http_string.as_bytes()))
    )
}

/// The lowercase hex `q-signature` of `input` for the validity window `key_time`
/// (`"<start>;<end>"`).
pub fn signature(secret_key: &str, key_time: &str, input: &CosSignInput) -> String {
    let key = sign_key(secret_key, key_time);
    hmac_sha1_hex(
        key.as_bytes(),
        string_to_sign(key_time, &http_string(input)).as_bytes(),
    )
}

/// `q-header-list`: the sorted, encoded, lower-cased header names joined by `;`
/// (`content-length;host`).
pub fn header_list(input: &CosSignInput) -> String {
    join_names(input.headers)
}

/// `q-url-param-list`: the sorted, encoded, lower-cased param names joined by `;`.
pub fn url_param_list(input: &CosSignInput) -> String {
    join_names(input.params)
}

/// Full `Authorization` header value exactly as the official SDKs format it
/// (q-sign-algorithm, q-ak, q-sign-time, q-key-time, q-header-list, q-url-param-list,
/// q-signature, in that order, '&'-joined).
///
/// `start` and `end` are Unix seconds; both `q-sign-time` and `q-key-time` are
/// `"<start>;<end>"`, as in both SDKs.
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    start: i64,
    end: i64,
    input: &CosSignInput,
) -> String {
    let key_time = format!("{start};{end}");
    format!(
        "q-sign-algorithm={ALGORITHM}&q-ak={secret_id}&q-sign-time={key_time}&q-key-time={key_time}&q-header-list={}&q-url-param-list={}&q-signature={}",
        header_list(input),
        url_param_list(input),
        signature(secret_key, &key_time, input)
    )
}

/// A parsed COS authorization, from the header or from presigned-URL query params.
///
/// Parsing checks shape only; the verifier decides whether `algorithm` is `sha1`, whether
/// now lies within `sign_time`, and whether the signature matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosAuthorization {
    /// `q-sign-algorithm`; `sha1` for anything the SDKs send.
    pub algorithm: String,
    /// `q-ak`: the SecretId (or temporary TmpSecretId) used to look up the key.
    pub access_key: String,
    /// `q-sign-time` as `(start, end)` Unix seconds: the window in which the request is
    /// valid. Not checked for `start <= end`.
    pub sign_time: (i64, i64),
    /// `q-key-time` verbatim: the string the SignKey was derived from and that the string to
    /// sign contains.
    pub key_time: String,
    /// `q-header-list`: lower-cased encoded header names, in the order listed (empty when
    /// absent, as in COS's RTMP signature).
    pub header_list: Vec<String>,
    /// `q-url-param-list`: lower-cased encoded param names, in the order listed (empty when
    /// absent).
    pub url_param_list: Vec<String>,
    /// `q-signature` as sent.
    pub signature: String,
}

/// The seven `q-*` names, with where each value goes while parsing.
#[derive(Default)]
struct Fields<'a> {
    algorithm: Option<Cow<'a, str>>,
    access_key: Option<Cow<'a, str>>,
    sign_time: Option<Cow<'a, str>>,
    key_time: Option<Cow<'a, str>>,
    header_list: Option<Cow<'a, str>>,
    url_param_list: Option<Cow<'a, str>>,
    signature: Option<Cow<'a, str>>,
}

impl<'a> Fields<'a> {
    /// Stores `value` under `name`; `Ok(false)` when `name` is not a `q-*` field.
    fn set(&mut self, name: &str, value: Cow<'a, str>) -> Result<bool> {
        let (slot, field) = match name {
            "q-sign-algorithm" => (&mut self.algorithm, "q-sign-algorithm"),
            "q-ak" => (&mut self.access_key, "q-ak"),
            "q-sign-time" => (&mut self.sign_time, "q-sign-time"),
            "q-key-time" => (&mut self.key_time, "q-key-time"),
            "q-header-list" => (&mut self.header_list, "q-header-list"),
            "q-url-param-list" => (&mut self.url_param_list, "q-url-param-list"),
            "q-signature" => (&mut self.signature, "q-signature"),
            _ => return Ok(false),
        };
        if slot.replace(value).is_some() {
            return Err(SignError::DuplicateField(field));
        }
        Ok(true)
    }

    fn finish(self) -> Result<CosAuthorization> {
        let algorithm = require(self.algorithm, "q-sign-algorithm")?;
        let access_key = require(self.access_key, "q-ak")?;
        let sign_time = require(self.sign_time, "q-sign-time")?;
        let key_time = require(self.key_time, "q-key-time")?;
        let signature = require(self.signature, "q-signature")?;
        if algorithm.is_empty() {
            return Err(malformed("q-sign-algorithm", "empty"));
        }
        if access_key.is_empty() {
            return Err(malformed("q-ak", "empty"));
        }
        if key_time.is_empty() {
            return Err(malformed("q-key-time", "empty"));
        }
        if signature.is_empty() || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("q-signature", "expected hex digits"));
        }
        Ok(CosAuthorization {
            algorithm: algorithm.into_owned(),
            access_key: access_key.into_owned(),
            sign_time: parse_sign_time(&sign_time)?,
            key_time: key_time.into_owned(),
            header_list: parse_list(self.header_list.as_deref(), "q-header-list")?,
            url_param_list: parse_list(self.url_param_list.as_deref(), "q-url-param-list")?,
            signature: signature.into_owned(),
        })
    }
}

fn require<'a>(value: Option<Cow<'a, str>>, field: &'static str) -> Result<Cow<'a, str>> {
    value.ok_or(SignError::MissingField(field))
}

fn malformed(field: &'static str, reason: &'static str) -> SignError {
    SignError::Malformed { field, reason }
}

fn parse_sign_time(value: &str) -> Result<(i64, i64)> {
    const REASON: &str = "expected `<start>;<end>` Unix seconds";
    let (start, end) = value
        .split_once(';')
        .ok_or(malformed("q-sign-time", REASON))?;
    let parse = |s: &str| {
        // `i64::from_str` accepts a leading `+`; the wire never has one, so insist on digits.
        if s.is_empty()
            || !s
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
        {
            return Err(malformed("q-sign-time", REASON));
        }
        s.parse::<i64>()
            .map_err(|_| malformed("q-sign-time", REASON))
    };
    Ok((parse(start)?, parse(end)?))
}

fn parse_list(value: Option<&str>, field: &'static str) -> Result<Vec<String>> {
    match value {
        None | Some("") => Ok(Vec::new()),
        Some(list) => list
            .split(';')
            .map(|name| {
                if name.is_empty() {
                    Err(malformed(field, "empty name in list"))
                } else {
                    Ok(name.to_ascii_lowercase())
                }
            })
            .collect(),
    }
}

fn decode<'a>(s: &'a str, field: &'static str) -> Result<Cow<'a, str>> {
    percent_decode_str(s)
        .decode_utf8()
        .map_err(|_| malformed(field, "percent-encoding is not UTF-8"))
}

impl CosAuthorization {
    /// Parses an `Authorization` header value: `&`-separated `q-*=value` pairs in any
    /// order; values (and names) may be percent-encoded (`%3B`) and are decoded.
    ///
    /// `q-header-list` and `q-url-param-list` may be absent (treated as empty lists; COS's
    /// own RTMP variant omits them); the other five are required.
    ///
    /// # Errors
    ///
    /// [`SignError::Empty`] for an empty value (an anonymous request);
    /// [`SignError::MissingField`] when a required `q-*` pair is absent;
    /// [`SignError::DuplicateField`] when one repeats; [`SignError::UnexpectedPart`] for a
    /// name that is not one of the seven; [`SignError::Malformed`] when a part is not
    /// `name=value`, decodes to invalid UTF-8, `q-sign-time` is not `<int>;<int>`, a list has
    /// an empty entry, a required value is empty, or the signature is not hex.
    pub fn parse(header: &str) -> Result<Self> {
        let header = header.trim();
        if header.is_empty() {
            return Err(SignError::Empty);
        }
        let mut fields = Fields::default();
        for part in header.split('&') {
            let Some((name, value)) = part.split_once('=') else {
                return Err(malformed("Authorization", "part is not `name=value`"));
            };
            let name = decode(name.trim(), "Authorization")?;
            let value = decode(value.trim(), "Authorization")?;
            if !fields.set(&name, value)? {
                return Err(SignError::UnexpectedPart(name.into_owned()));
            }
        }
        fields.finish()
    }

    /// Extracts the signature from a presigned URL's already-decoded query pairs; other
    /// params are ignored.
    ///
    /// Returns `Ok(None)` when there is no `q-sign-algorithm` (the URL is not presigned).
    ///
    /// # Errors
    ///
    /// As [`CosAuthorization::parse`] (except `Empty` and `UnexpectedPart`), once
    /// `q-sign-algorithm` is present.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Option<Self>> {
        if !pairs.iter().any(|(name, _)| name == "q-sign-algorithm") {
            return Ok(None);
        }
        let mut fields = Fields::default();
        for (name, value) in pairs {
            fields.set(name, Cow::Borrowed(value.as_str()))?;
        }
        fields.finish().map(Some)
    }

    /// The header value in the SDKs' field order (values not percent-encoded).
    pub fn to_header(&self) -> String {
        format!(
            "q-sign-algorithm={}&q-ak={}&q-sign-time={};{}&q-key-time={}&q-header-list={}&q-url-param-list={}&q-signature={}",
            self.algorithm,
            self.access_key,
            self.sign_time.0,
            self.sign_time.1,
            self.key_time,
            self.header_list.join(";"),
            self.url_param_list.join(";"),
            self.signature
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn no_segment_is_a_dot_segment() {
        assert_eq!(encode_key("a/../b c/./d"), "a/..%2Fb%20c/.%2Fd");
        assert_eq!(encode_key("../../x"), "..%2F..%2Fx");
        assert_eq!(encode_key("x..y/.z"), "x..y/.z");
    }

    const SID: &str = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q";
    const SK: &str = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz";
    const KAT3_AUTH: &str = "q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&q-sign-time=1417773892;1417853898&q-key-time=1417773892;1417853898&q-header-list=host;range&q-url-param-list=&q-signature=4b6cbab14ce01381c29032423481ebffd514e8be";

    #[test]
    fn encode_keeps_only_unreserved() {
        assert_eq!(cos_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(cos_encode("a b+c/d;e=f&g"), "a%20b%2Bc%2Fd%3Be%3Df%26g");
        assert_eq!(cos_encode("!'()*:,"), "%21%27%28%29%2A%3A%2C");
        assert_eq!(cos_encode("腾"), "%E8%85%BE");
    }

    #[test]
    fn kat3_signs() {
        let headers = [
            ("Host", "bucket1-1254000000.cos.ap-beijing.myqcloud.com"),
            ("Range", "bytes=0-3"),
        ];
        let input = CosSignInput {
            method: "GET",
            path: "/testfile",
            params: &[],
            headers: &headers,
        };
        assert_eq!(
            authorization(SID, SK, 1_417_773_892, 1_417_853_898, &input),
            KAT3_AUTH
        );
    }

    #[test]
    fn params_sort_by_encoded_lowercase_name() {
        let params = [("uploadId", "x y"), ("partNumber", "2"), ("uploads", "")];
        let input = CosSignInput {
            method: "PUT",
            path: "/",
            params: &params,
            headers: &[],
        };
        assert_eq!(
            http_parameters(&input),
            "partnumber=2&uploadid=x%20y&uploads="
        );
        assert_eq!(url_param_list(&input), "partnumber;uploadid;uploads");
        assert_eq!(
            http_string(&input),
            "put\n/\npartnumber=2&uploadid=x%20y&uploads=\n\n"
        );
    }

    #[test]
    fn parse_round_trips_and_decodes() {
        let parsed = CosAuthorization::parse(KAT3_AUTH).unwrap();
        assert_eq!(parsed.algorithm, "sha1");
        assert_eq!(parsed.access_key, SID);
        assert_eq!(parsed.sign_time, (1_417_773_892, 1_417_853_898));
        assert_eq!(parsed.key_time, "1417773892;1417853898");
        assert_eq!(parsed.header_list, ["host", "range"]);
        assert!(parsed.url_param_list.is_empty());
        assert_eq!(parsed.to_header(), KAT3_AUTH);

        let encoded = KAT3_AUTH.replace(';', "%3B");
        assert_eq!(CosAuthorization::parse(&encoded).unwrap(), parsed);

        // Order-independent.
        let mut parts: Vec<&str> = KAT3_AUTH.split('&').collect();
        parts.reverse();
        assert_eq!(CosAuthorization::parse(&parts.join("&")).unwrap(), parsed);

        // The RTMP-style form without lists.
        let short = "q-sign-algorithm=sha1&q-ak=A&q-sign-time=1;2&q-key-time=1;2&q-signature=ab";
        let parsed = CosAuthorization::parse(short).unwrap();
        assert!(parsed.header_list.is_empty() && parsed.url_param_list.is_empty());
    }

    #[test]
    fn from_query_reads_presigned_params() {
        let pairs: Vec<(String, String)> = [
            ("response-content-type", "text/plain"),
            ("q-sign-algorithm", "sha1"),
            ("q-ak", SID),
            ("q-sign-time", "1557989753;1557996953"),
            ("q-key-time", "1557989753;1557996953"),
            ("q-header-list", "host"),
            ("q-url-param-list", "response-content-type"),
            ("q-signature", "01681b8c9d798a678e43b685a9f1bba0f6c0e012"),
            ("x-cos-security-token", "t%3B"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let parsed = CosAuthorization::from_query(&pairs).unwrap().unwrap();
        assert_eq!(parsed.sign_time, (1_557_989_753, 1_557_996_953));
        assert_eq!(parsed.url_param_list, ["response-content-type"]);

        assert_eq!(CosAuthorization::from_query(&pairs[..1]).unwrap(), None);
        assert_eq!(CosAuthorization::from_query(&[]).unwrap(), None);
        assert_eq!(
            CosAuthorization::from_query(&pairs[..2]).unwrap_err(),
            SignError::MissingField("q-ak")
        );
        let mut doubled = pairs.clone();
        doubled.push(("q-ak".into(), "other".into()));
        assert_eq!(
            CosAuthorization::from_query(&doubled).unwrap_err(),
            SignError::DuplicateField("q-ak")
        );
    }

    #[test]
    fn parse_rejects_malformed_headers() {
        let with = |from: &str, to: &str| KAT3_AUTH.replace(from, to);
        assert_eq!(CosAuthorization::parse("").unwrap_err(), SignError::Empty);
        assert_eq!(CosAuthorization::parse("  ").unwrap_err(), SignError::Empty);
        assert_eq!(
            CosAuthorization::parse("garbage").unwrap_err(),
            malformed("Authorization", "part is not `name=value`")
        );
        assert_eq!(
            CosAuthorization::parse(&with("q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&", ""))
                .unwrap_err(),
            SignError::MissingField("q-ak")
        );
        assert_eq!(
            CosAuthorization::parse(&with("q-signature=", "q-signature=ab&q-signature="))
                .unwrap_err(),
            SignError::DuplicateField("q-signature")
        );
        assert_eq!(
            CosAuthorization::parse(&format!("{KAT3_AUTH}&q-extra=1")).unwrap_err(),
            SignError::UnexpectedPart("q-extra".into())
        );
        assert_eq!(
            CosAuthorization::parse(&format!("{KAT3_AUTH}&")).unwrap_err(),
            malformed("Authorization", "part is not `name=value`")
        );
        for bad_time in [
            "1417773892",
            "a;b",
            "1;",
            ";2",
            "1;2;3",
            "+1;2",
            "1 ;2",
            "99999999999999999999;1",
        ] {
            assert!(
                matches!(
                    CosAuthorization::parse(&with(
                        "q-sign-time=1417773892;1417853898",
                        &format!("q-sign-time={bad_time}")
                    )),
                    Err(SignError::Malformed {
                        field: "q-sign-time",
                        ..
                    })
                ),
                "{bad_time:?}"
            );
        }
        assert!(matches!(
            CosAuthorization::parse(&with("host;range", "host;;range")),
            Err(SignError::Malformed {
                field: "q-header-list",
                ..
            })
        ));
        assert!(matches!(
            CosAuthorization::parse(&with("4b6cbab1", "zz")),
            Err(SignError::Malformed {
                field: "q-signature",
                ..
            })
        ));
        assert!(matches!(
            CosAuthorization::parse(&with("q-ak=", "q-ak=%FF")),
            Err(SignError::Malformed {
                field: "Authorization",
                ..
            })
        ));
    }

    /// Garbage built from the characters the parser splits on (plus multi-byte UTF-8 and
    /// broken escapes) must come back as `Err` or `Ok`, never a panic.
    #[test]
    fn parse_never_panics_on_garbage() {
        const ALPHABET: &[&str] = &[
            "q-sign-algorithm",
            "q-ak",
            "q-sign-time",
            "q-key-time",
            "q-header-list",
            "q-url-param-list",
            "q-signature",
            "=",
            "&",
            ";",
            "%",
            "%3B",
            "%F",
            "%FF",
            "1",
            "-",
            "sha1",
            "ab",
            "é",
            "腾",
            " ",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5_000 {
            let mut header = String::new();
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let len = (state >> 59) as usize;
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                header.push_str(ALPHABET[(state >> 33) as usize % ALPHABET.len()]);
            }
            let _ = CosAuthorization::parse(&header);
            let pairs: Vec<(String, String)> = header
                .split('&')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            let _ = CosAuthorization::from_query(&pairs);
        }
    }
}
