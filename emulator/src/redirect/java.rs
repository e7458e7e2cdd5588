//! Java under `exec`: the JVM reads neither `HTTPS_PROXY` nor `SSL_CERT_FILE`, so the
//! environment carries system properties in `JAVA_TOOL_OPTIONS` instead, and the emulator
//! writes the trust store they name.
//!
//! - `https.proxyHost`/`https.proxyPort` (and the `http.` pair) send OkHttp (the VOD API calls
//!   of tencentcloud-sdk-java) and `HttpURLConnection` through the emulator's proxy;
//!   `http.nonProxyHosts` keeps loopback and the public-url host direct.
//! - `javax.net.ssl.trustStore` names a JKS file holding the emulator CA alone: Java 17 cannot
//!   read a PEM file as a trust store, and the emulator must start without a JDK, so the file
//!   is written here. JKS rather than PKCS12 because a PKCS12 trust anchor needs a
//!   Java-specific attribute and a MAC; JKS is a flat list with one SHA-1 digest.
//!
//! The COS SDK's Apache HttpClient ignores the proxy properties (cos_api never calls
//! `useSystemProperties()`): it is routed by the one line the README documents, an
//! `HttpProfile` proxy read from `HTTPS_PROXY`.

use sha1::{Digest, Sha1};

/// The trust store's file name in `<ca-dir>/java`.
pub const TRUSTSTORE_NAME: &str = "truststore.jks";

/// The trust store's password (the JDK's own default, so `keytool` users need not be told).
pub const TRUSTSTORE_PASSWORD: &str = "changeit";

/// JKS file magic and version.
const JKS_MAGIC: u32 = 0xFEED_FEED;
const JKS_VERSION: u32 = 2;
/// Entry tag of a trusted certificate.
const TRUSTED_CERT: u32 = 2;
/// The salt `sun.security.provider.JavaKeyStore` mixes into its integrity digest.
const DIGEST_SALT: &[u8] = b"Mighty Aphrodite";
/// The CA's alias in the store.
const ALIAS: &str = "vod-emulator-ca";

/// A JKS key store holding `ca_der` as its one trusted certificate, protected by
/// [`TRUSTSTORE_PASSWORD`]. Deterministic (creation date 0), so an unchanged CA gives an
/// unchanged file.
pub fn truststore(ca_der: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ca_der.len() + 128);
    out.extend_from_slice(&JKS_MAGIC.to_be_bytes());
    out.extend_from_slice(&JKS_VERSION.to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&TRUSTED_CERT.to_be_bytes());
    write_utf(&mut out, ALIAS);
    out.extend_from_slice(&0u64.to_be_bytes());
    write_utf(&mut out, "X.509");
    // A certificate over 4 GiB cannot come from the local CA.
    let len = u32::try_from(ca_der.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(ca_der);
    let mut digest = Sha1::new();
    for unit in TRUSTSTORE_PASSWORD.encode_utf16() {
        digest.update(unit.to_be_bytes());
    }
    digest.update(DIGEST_SALT);
    digest.update(&out);
    out.extend_from_slice(&digest.finalize());
    out
}

/// `DataOutputStream.writeUTF` for ASCII text (all this module writes).
fn write_utf(out: &mut Vec<u8>, text: &str) {
    let len = u16::try_from(text.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// `JAVA_TOOL_OPTIONS`: the caller's options, then the proxy at `host:port` for http and
/// https, `direct` hosts bypassing it, and `truststore` as the only trust store.
pub fn tool_options(
    host: &str,
    port: &str,
    direct: &[String],
    truststore: &str,
    inherited: Option<&str>,
) -> String {
    let non_proxy: Vec<String> = direct
        .iter()
        .map(|h| {
            if h.contains(':') {
                format!("[{h}]")
            } else {
                h.clone()
            }
        })
        .collect();
    let ours = [
        format!("-Dhttps.proxyHost={host}"),
        format!("-Dhttps.proxyPort={port}"),
        format!("-Dhttp.proxyHost={host}"),
        format!("-Dhttp.proxyPort={port}"),
        format!("-Dhttp.nonProxyHosts={}", non_proxy.join("|")),
        format!("-Djavax.net.ssl.trustStore={truststore}"),
        "-Djavax.net.ssl.trustStoreType=JKS".to_owned(),
        format!("-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}"),
    ]
    .into_iter()
    .map(|option| quoted(&option));
    inherited
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .into_iter()
        .chain(ours)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An option as the JVM splits `JAVA_TOOL_OPTIONS` (on whitespace, honouring double quotes
/// since JDK 9): quoted only when it holds whitespace.
fn quoted(option: &str) -> String {
    if option.contains(char::is_whitespace) {
        format!("\"{option}\"")
    } else {
        option.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_truststore_is_one_trusted_certificate_with_its_digest() {
        let der = b"\x30\x03\x02\x01\x01";
        let store = truststore(der);
        assert_eq!(&store[..12], b"\xfe\xed\xfe\xed\0\0\0\x02\0\0\0\x01");
        assert_eq!(&store[12..16], &TRUSTED_CERT.to_be_bytes());
        let alias_end = 18 + ALIAS.len();
        assert_eq!(&store[18..alias_end], ALIAS.as_bytes());
        let body = &store[..store.len() - 20];
        assert!(body.ends_with(der));
        // The digest covers the password: another password gives another digest.
        let mut other = Sha1::new();
        other.update(b"\0x");
        other.update(DIGEST_SALT);
        other.update(body);
        assert_ne!(&store[store.len() - 20..], other.finalize().as_slice());
        assert_eq!(store, truststore(der), "deterministic");
    }

    #[test]
    fn options_follow_the_callers_and_quote_paths_with_spaces() {
        let direct = [
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
            "media.test".to_owned(),
        ];
        let options = tool_options("127.0.0.1", "4242", &direct, "/a b/t.jks", Some("-Xmx1g"));
        assert!(options.starts_with("-Xmx1g -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=4242 "));
        assert!(options.contains(" -Dhttp.nonProxyHosts=127.0.0.1|[::1]|media.test "));
        assert!(options.contains(" \"-Djavax.net.ssl.trustStore=/a b/t.jks\" "));
        assert!(options.ends_with(" -Djavax.net.ssl.trustStorePassword=changeit"));
        assert!(tool_options("h", "1", &direct, "/t", None).starts_with("-Dhttps.proxyHost=h "));
    }
}
