//! The legacy API 3.0 signature ("signature v1", `HmacSHA1` / `HmacSHA256`),
//! docs/protocol/vod-api.md §1.4.
//!
//! tencentcloud-sdk-nodejs 3.x — what vod-node-sdk uses — signs every call this way by
//! default: all parameters (the action's, flattened to `Key.0.Field`, plus `Action`, `Version`,
//! `Region`, `Timestamp`, `Nonce`, `SecretId`, `SignatureMethod`, …) travel in an
//! `application/x-www-form-urlencoded` body, and `Signature` is
//! `base64(HMAC(SecretKey, METHOD + host + path + "?" + k=v&… sorted by key, values raw))`.

use base64::Engine;
use hmac::{Hmac, Mac};

/// The two digest algorithms `SignatureMethod` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `HmacSHA1` (the default when `SignatureMethod` is absent).
    HmacSha1,
    /// `HmacSHA256`.
    HmacSha256,
}

impl Method {
    /// Parses a `SignatureMethod` value; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "HmacSHA1" => Some(Method::HmacSha1),
            "HmacSHA256" => Some(Method::HmacSha256),
            _ => None,
        }
    }
}

/// `METHOD + host + path + "?" + k=v&…`: the parameters (without `Signature`) sorted by key,
/// values not URL-encoded.
pub fn string_to_sign<'a>(
    http_method: &str,
    host: &str,
    path: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut params: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, _)| *k != "Signature")
        .collect();
    params.sort_unstable();
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}{host}{path}?{}",
        http_method.to_ascii_uppercase(),
        query.join("&")
    )
}

/// `base64(HMAC_<method>(secret_key, string_to_sign))`.
pub fn signature(method: Method, secret_key: &str, string_to_sign: &str) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    match method {
        Method::HmacSha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret_key.as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(string_to_sign.as_bytes());
            engine.encode(mac.finalize().into_bytes())
        }
        Method::HmacSha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret_key.as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(string_to_sign.as_bytes());
            engine.encode(mac.finalize().into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known answers of the legacy signature documentation (docs/protocol/vod-api.md §1.4).
    #[test]
    fn documented_vectors() {
        let params = [
            ("Action", "DescribeInstances"),
            ("InstanceIds.0", "ins-09dx96dg"),
            ("Nonce", "11886"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"),
            ("SignatureMethod", "HmacSHA256"),
            ("Timestamp", "1465185768"),
            ("Signature", "ignored"),
        ];
        let s = string_to_sign("GET", "cvm.api.qcloud.com", "/v2/index.php", params);
        assert_eq!(
            s,
            "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Nonce=11886&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&SignatureMethod=HmacSHA256&Timestamp=1465185768"
        );
        let key = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";
        assert_eq!(
            signature(Method::HmacSha256, key, &s),
            "0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s="
        );
        let s1 = s.replace("HmacSHA256", "HmacSHA1");
        assert_eq!(
            signature(Method::HmacSha1, key, &s1),
            "nPVnY6njQmwQ8ciqbPl5Qe+Oru4="
        );
    }
}
