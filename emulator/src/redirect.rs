//! Zero-code redirection: the environment that makes an unmodified program using the official
//! SDKs talk to the emulator, for `vod-emulator exec` (set for the command only) and
//! `vod-emulator env` (printed for a shell to `eval`).
//!
//! The mechanism per runtime (README, "Zero-code redirection", has the table):
//! - **Routing**: `HTTPS_PROXY`/`https_proxy`/`HTTP_PROXY`/`http_proxy` name the emulator,
//!   whose port is also a CONNECT proxy for the cloud hosts (`proxy`). Python's `requests`
//!   (both Python SDKs, tccli) and the Node SDKs (`https-proxy-agent` on `http_proxy` in
//!   tencentcloud-sdk-nodejs, `request`'s tunnel in cos-nodejs-sdk-v5) all honour them.
//!   `NO_PROXY` keeps loopback (MediaUrl, the admin API) direct.
//! - **Trust**: the local CA's certificate is named in `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`,
//!   `CURL_CA_BUNDLE` and `NODE_EXTRA_CA_CERTS`. `SSL_CERT_DIR` names an empty directory beside
//!   it: Go and OpenSSL read the system CA directory besides `SSL_CERT_FILE` unless told
//!   otherwise, and the emulator CA must be their only root. tencentcloud-sdk-python passes certifi's
//!   bundle explicitly, so a `sitecustomize` shim on `PYTHONPATH` (written next to the CA)
//!   points certifi at the CA — the one place the environment alone cannot reach.
//! - **PHP**: PHP's `https://` stream wrapper reads no proxy variable, so an ini file beside
//!   the CA, appended to `PHP_INI_SCAN_DIR`, turns it off and names the CA for cURL and
//!   OpenSSL ([`php`]).
//! - **Java**: the JVM reads no proxy or CA variable: `JAVA_TOOL_OPTIONS` carries the proxy
//!   system properties and a JKS trust store of the CA written beside it ([`java`]).
//! - **Credentials**: `TENCENTCLOUD_SECRET_ID`/`_KEY`/`TENCENTCLOUD_REGION`, the names the
//!   SDKs' and tccli's credential chains read.

mod java;
mod php;

use std::io;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::config::Config;

/// The directory `SSL_CERT_DIR` names, under the CA directory: kept empty.
const NO_CERT_DIR: &str = "no-system-roots";

/// The Python shim, written to `<ca-dir>/python/sitecustomize.py`.
const SITECUSTOMIZE: &str = include_str!("redirect/sitecustomize.py");

/// Hosts that always bypass the proxy: the emulator's own URLs (MediaUrl, CoverUrl, admin).
const NO_PROXY: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// A shell syntax for `vod-emulator env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// POSIX sh, bash, zsh: `export NAME='value'`.
    Sh,
    /// fish: `set -gx NAME 'value'`.
    Fish,
    /// PowerShell: `$env:NAME = 'value'`.
    PowerShell,
}

/// The caller's values of the variables the environment extends rather than replaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inherited {
    /// `PYTHONPATH`: kept after the shim's directory.
    pub pythonpath: Option<String>,
    /// `PHP_INI_SCAN_DIR`: kept before the emulator's ini directory.
    pub php_ini_scan_dir: Option<String>,
    /// `JAVA_TOOL_OPTIONS`: kept before the emulator's options.
    pub java_tool_options: Option<String>,
}

impl Inherited {
    /// The values in this process's environment.
    pub fn from_env() -> Self {
        Self {
            pythonpath: std::env::var("PYTHONPATH").ok(),
            php_ini_scan_dir: std::env::var("PHP_INI_SCAN_DIR").ok(),
            java_tool_options: std::env::var("JAVA_TOOL_OPTIONS").ok(),
        }
    }
}

/// The variables a program needs to reach the emulator at `endpoint` (`http://host:port`)
/// unmodified, with `ca_cert` as the CA to trust. Writes the Python shim, the PHP ini
/// directory and the Java trust store into `ca_dir`.
///
/// # Errors
/// A file beside the CA cannot be written, the CA cannot be read, or its path cannot be named
/// in an ini file.
pub fn environment(
    endpoint: &str,
    public_url: &str,
    config: &Config,
    ca_dir: &Path,
    ca_cert: &Path,
    inherited: &Inherited,
) -> io::Result<Vec<(String, String)>> {
    let shim_dir = ca_dir.join("python");
    write_once(&shim_dir.join("sitecustomize.py"), SITECUSTOMIZE.as_bytes())?;
    let php_dir = ca_dir.join("php");
    write_once(&php_dir.join(php::INI_NAME), php::ini(ca_cert)?.as_bytes())?;
    let no_cert_dir = ca_dir.join(NO_CERT_DIR);
    std::fs::create_dir_all(&no_cert_dir)?;
    let ca_der = CertificateDer::from_pem_file(ca_cert).map_err(io::Error::other)?;
    let truststore = ca_dir.join("java").join(java::TRUSTSTORE_NAME);
    write_once(&truststore, &java::truststore(&ca_der))?;
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .trim_end_matches('/');
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut no_proxy: Vec<String> = NO_PROXY.iter().map(|h| (*h).to_owned()).collect();
    for extra in [host.to_owned(), url_host(public_url)] {
        if !extra.is_empty() && !no_proxy.contains(&extra) {
            no_proxy.push(extra);
        }
    }
    let java_tool_options = java::tool_options(
        host,
        port,
        &no_proxy,
        &truststore.display().to_string(),
        inherited.java_tool_options.as_deref(),
    );
    let no_proxy = no_proxy.join(",");
    let ca = ca_cert.display().to_string();
    let pythonpath = match inherited.pythonpath.as_deref().filter(|p| !p.is_empty()) {
        Some(rest) => std::env::join_paths([shim_dir.as_os_str(), rest.as_ref()])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
            .to_string_lossy()
            .into_owned(),
        None => shim_dir.display().to_string(),
    };
    let vars = [
        ("VOD_EMULATOR_ENDPOINT", endpoint.to_owned()),
        ("VOD_EMULATOR_HOST", host.to_owned()),
        ("VOD_EMULATOR_PORT", port.to_owned()),
        ("VOD_EMULATOR_APP_ID", config.app_id.to_string()),
        ("VOD_EMULATOR_REGION", config.region.clone()),
        ("VOD_EMULATOR_CA", ca.clone()),
        ("TENCENTCLOUD_SECRET_ID", config.secret_id.clone()),
        ("TENCENTCLOUD_SECRET_KEY", config.secret_key.clone()),
        ("TENCENTCLOUD_REGION", config.region.clone()),
        ("HTTPS_PROXY", endpoint.to_owned()),
        ("https_proxy", endpoint.to_owned()),
        ("HTTP_PROXY", endpoint.to_owned()),
        ("http_proxy", endpoint.to_owned()),
        ("NO_PROXY", no_proxy.clone()),
        ("no_proxy", no_proxy),
        ("REQUESTS_CA_BUNDLE", ca.clone()),
        ("SSL_CERT_FILE", ca.clone()),
        ("SSL_CERT_DIR", no_cert_dir.display().to_string()),
        ("CURL_CA_BUNDLE", ca.clone()),
        ("NODE_EXTRA_CA_CERTS", ca),
        ("PYTHONPATH", pythonpath),
        (
            "PHP_INI_SCAN_DIR",
            php::scan_dir(&php_dir, inherited.php_ini_scan_dir.as_deref()),
        ),
        ("JAVA_TOOL_OPTIONS", java_tool_options),
    ];
    Ok(vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Renders variables as commands for `shell`, one a line, values quoted.
pub fn render(vars: &[(String, String)], shell: Shell) -> String {
    vars.iter()
        .map(|(name, value)| match shell {
            Shell::Sh => format!("export {name}='{}'\n", value.replace('\'', r"'\''")),
            Shell::Fish => format!(
                "set -gx {name} '{}';\n",
                value.replace('\\', r"\\").replace('\'', r"\'")
            ),
            Shell::PowerShell => format!("$env:{name} = '{}'\n", value.replace('\'', "''")),
        })
        .collect()
}

/// Host of a URL (`http://host:port/...` → `host`), empty when there is none.
fn url_host(url: &str) -> String {
    url.parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(|h| h.trim_matches(['[', ']']).to_owned()))
        .unwrap_or_default()
}

/// Writes `bytes` to `path` (creating its directory) unless it already holds them, through a
/// temporary file and a rename so a concurrently starting program never reads half of it.
fn write_once(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if std::fs::read(path).is_ok_and(|have| have == bytes) {
        return Ok(());
    }
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "file path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp: PathBuf = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vars_in(dir: &Path) -> Vec<(String, String)> {
        environment(
            "http://127.0.0.1:40211",
            "http://media.test:8080",
            &Config::default(),
            dir,
            &crate::ensure_ca(dir).unwrap(),
            &Inherited {
                pythonpath: Some("/opt/lib".into()),
                php_ini_scan_dir: None,
                java_tool_options: None,
            },
        )
        .unwrap()
    }

    fn var<'a>(vars: &'a [(String, String)], name: &str) -> &'a str {
        &vars.iter().find(|(k, _)| k == name).unwrap().1
    }

    #[test]
    fn proxy_trust_and_shim_point_at_the_emulator() {
        let dir = tempfile::tempdir().unwrap();
        let vars = vars_in(dir.path());
        assert_eq!(var(&vars, "HTTPS_PROXY"), "http://127.0.0.1:40211");
        assert_eq!(var(&vars, "http_proxy"), "http://127.0.0.1:40211");
        assert_eq!(var(&vars, "VOD_EMULATOR_PORT"), "40211");
        assert_eq!(var(&vars, "NO_PROXY"), "127.0.0.1,localhost,::1,media.test");
        let ca = dir.path().join("ca.pem").display().to_string();
        assert_eq!(var(&vars, "NODE_EXTRA_CA_CERTS"), ca);
        assert_eq!(var(&vars, "REQUESTS_CA_BUNDLE"), ca);
        let shim = dir.path().join("python");
        assert!(var(&vars, "PYTHONPATH").starts_with(&shim.display().to_string()));
        assert!(var(&vars, "PYTHONPATH").ends_with("/opt/lib"));
        assert_eq!(
            std::fs::read_to_string(shim.join("sitecustomize.py")).unwrap(),
            SITECUSTOMIZE
        );
        let no_roots = dir.path().join(NO_CERT_DIR);
        assert_eq!(var(&vars, "SSL_CERT_DIR"), no_roots.display().to_string());
        assert!(no_roots.is_dir());
        let php = dir.path().join("php");
        assert_eq!(
            var(&vars, "PHP_INI_SCAN_DIR"),
            php::scan_dir(&php, None),
            "appended to PHP's own directory"
        );
        let ini = std::fs::read_to_string(php.join(php::INI_NAME)).unwrap();
        assert!(ini.contains(&format!("openssl.cafile = \"{ca}\"")), "{ini}");
        let store = dir.path().join("java").join(java::TRUSTSTORE_NAME);
        let ca_der = CertificateDer::from_pem_file(dir.path().join("ca.pem")).unwrap();
        assert_eq!(std::fs::read(&store).unwrap(), java::truststore(&ca_der));
        let java = var(&vars, "JAVA_TOOL_OPTIONS");
        assert!(java.contains("-Dhttps.proxyPort=40211 "), "{java}");
        assert!(
            java.contains("-Dhttp.nonProxyHosts=127.0.0.1|localhost|[::1]|media.test "),
            "{java}"
        );
        assert!(
            java.contains(&format!("-Djavax.net.ssl.trustStore={} ", store.display())),
            "{java}"
        );
    }

    #[test]
    fn values_are_quoted_for_each_shell() {
        let vars = vec![("A".to_owned(), r"it's C:\x".to_owned())];
        assert_eq!(render(&vars, Shell::Sh), "export A='it'\\''s C:\\x'\n");
        assert_eq!(render(&vars, Shell::Fish), "set -gx A 'it\\'s C:\\\\x';\n");
        assert_eq!(render(&vars, Shell::PowerShell), "$env:A = 'it''s C:\\x'\n");
    }
}
