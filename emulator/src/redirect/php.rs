//! PHP under `exec`: the one runtime whose official SDK the proxy variables alone cannot send
//! to the emulator.
//!
//! tencentcloud-sdk-php ≥ 3.0.1201 sends every call with the Guzzle options `stream => true`
//! and `proxy => null`. `stream` makes Guzzle use PHP's own `https://` stream wrapper, which
//! reads no `*_proxy` variable and trusts `SSL_CERT_FILE` and the system CA directory: the call
//! would go straight to the real cloud. cos-php-sdk-v5 (and older tencentcloud-sdk-php) use
//! libcurl, which honours `http_proxy`/`https_proxy` but reads its CA from PHP's `curl.cainfo`
//! ini setting, not from `SSL_CERT_FILE` or `CURL_CA_BUNDLE`.
//!
//! The mechanism is an ini file in a directory of its own, appended to `PHP_INI_SCAN_DIR`
//! (after the distribution's `conf.d`, which loads ext/curl, so its values win):
//! - `allow_url_fopen = Off`: Guzzle then always picks its cURL handler (`stream => true`
//!   included), which goes through the proxy; and no `fopen('https://…')` can open a direct
//!   connection past it. The price: `file_get_contents('http://…')` on a URL fails under
//!   `exec` (use cURL or Guzzle there).
//! - `curl.cainfo` and `openssl.cafile` = the emulator CA: cURL and any direct TLS socket
//!   (`stream_socket_client('tls://…')`) trust the emulator CA; an `openssl.cafile` replaces
//!   OpenSSL's default locations rather than adding to them.
//!
//! Rejected: an `auto_prepend_file` setting a default stream context with a proxy — Guzzle's
//! stream handler creates its own context, which does not inherit the default one.

use std::io;
use std::path::Path;

/// The ini file's name in its directory.
pub const INI_NAME: &str = "vod-emulator.ini";

/// Separator of `PHP_INI_SCAN_DIR` entries (PHP's `DEFAULT_DIR_SEPARATOR`).
const SCAN_DIR_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// The ini file naming `ca` as the CA to trust.
///
/// # Errors
/// `ca`'s path holds a character a double-quoted ini value cannot carry (`"`, `${`, a line
/// break).
pub fn ini(ca: &Path) -> io::Result<String> {
    let ca = ca.display().to_string();
    if ca.contains(['"', '\n', '\r']) || ca.contains("${") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the CA path {ca:?} cannot be written in a PHP ini file: choose another --ca-dir"
            ),
        ));
    }
    Ok(format!(
        "; Written by vod-emulator for `vod-emulator exec` and `env` (README, \"Zero-code\n\
         ; redirection\"). PHP's URL stream wrappers read no proxy variable: with them off,\n\
         ; Guzzle uses cURL, which goes through the emulator's proxy (http_proxy, https_proxy).\n\
         allow_url_fopen = Off\n\
         curl.cainfo = \"{ca}\"\n\
         openssl.cafile = \"{ca}\"\n"
    ))
}

/// `PHP_INI_SCAN_DIR` with `dir` appended to the caller's value, or to PHP's compiled-in
/// directory (the empty entry before the separator) when the caller has none.
pub fn scan_dir(dir: &Path, inherited: Option<&str>) -> String {
    let inherited = inherited.unwrap_or_default();
    format!("{inherited}{SCAN_DIR_SEPARATOR}{}", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn the_ini_directory_is_appended_to_the_scan_path() {
        let dir = Path::new("/c/php");
        assert_eq!(
            scan_dir(dir, None),
            ":/c/php",
            "keeps the compiled-in conf.d"
        );
        assert_eq!(scan_dir(dir, Some("")), ":/c/php");
        assert_eq!(scan_dir(dir, Some("/etc/mine")), "/etc/mine:/c/php");
        assert_eq!(scan_dir(dir, Some(":/etc/mine")), ":/etc/mine:/c/php");
    }

    #[test]
    fn the_ini_turns_url_wrappers_off_and_names_the_ca() {
        let text = ini(Path::new("/home/a b/ca.pem")).expect("ini");
        assert!(text.contains("\nallow_url_fopen = Off\n"), "{text}");
        assert!(
            text.contains("\ncurl.cainfo = \"/home/a b/ca.pem\"\n"),
            "{text}"
        );
        assert!(
            text.contains("\nopenssl.cafile = \"/home/a b/ca.pem\"\n"),
            "{text}"
        );
        for bad in ["/x\"y/ca.pem", "/${HOME}/ca.pem", "/a\nb/ca.pem"] {
            assert!(ini(Path::new(bad)).is_err(), "{bad:?}");
        }
    }
}
