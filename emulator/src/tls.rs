//! The emulator's local certificate authority, and the TLS side of its one port.
//!
//! Unmodified SDKs reach the emulator through its CONNECT proxy (`proxy`) still believing they
//! talk to `https://vod.tencentcloudapi.com` or `https://<bucket>.cos.<region>.myqcloud.com`, so
//! the emulator must present certificates for those names that the SDK's runtime trusts. It
//! keeps one CA (an ECDSA P-256 key and a self-signed certificate) in its CA directory,
//! generated on first use and reused afterwards, so a user trusts it once; the leaf certificate
//! for each host name is minted in memory when a client first asks for it (wildcards cannot
//! cover `<bucket>.cos.<region>.myqcloud.com`, which has three labels under the domain).
//!
//! The CA is name-constrained to the emulated domains and loopback, so even a CA that someone
//! added to a system trust store cannot vouch for any other site.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// File name of the CA certificate (PEM), what clients are told to trust.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA's private key (PKCS#8 PEM, mode 0600).
pub const CA_KEY_FILE: &str = "ca-key.pem";

/// Domains the emulator answers for; a name under one of them gets a certificate and passes
/// the proxy.
pub const EMULATED_DOMAINS: [&str; 3] = ["tencentcloudapi.com", "myqcloud.com", "tencentcos.cn"];

/// Names a client reaching the emulator directly (`https://localhost:PORT`) may use.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Subject of the CA. Leaves are issued under this exact name, so changing it means a new CA.
const CA_COMMON_NAME: &str = "vod-emulator local CA (offline test double; not for the internet)";

/// How long a loser of a CA-creation race waits for the winner's certificate to appear.
const CREATION_WAIT: Duration = Duration::from_secs(10);

/// Why the CA could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing the CA directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Generating, parsing or signing a key or certificate failed.
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
    /// rustls refused the key or configuration.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    /// The directory holds a CA key but no certificate, and nobody is writing one.
    #[error(
        "{dir} has {CA_KEY_FILE} but no {CA_CERT_FILE} (an interrupted creation?): remove both \
         to make a new CA"
    )]
    Incomplete {
        /// The CA directory.
        dir: PathBuf,
    },
}

/// `name` (without port) is a host the emulator emulates: one of [`EMULATED_DOMAINS`] or a
/// name under it.
pub fn is_emulated_host(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    EMULATED_DOMAINS.iter().any(|domain| {
        name == *domain
            || name
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
    })
}

/// The local CA: issues (and caches) leaf certificates, and hands rustls the one for each
/// connection's SNI name.
pub struct LocalCa {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
    leaves: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").field("dir", &self.dir).finish()
    }
}

impl LocalCa {
    /// Loads the CA kept in `dir`, or creates it there (and `dir` itself) on first use.
    /// Concurrent emulators sharing `dir` agree on one CA.
    ///
    /// # Errors
    /// The directory cannot be read or written, or holds files that are not a CA of ours.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TlsError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        if !key_path.exists() {
            create(dir)?;
        }
        wait_for(&cert_path, dir)?;
        let key_pem = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
        let key = KeyPair::from_pem(&key_pem)?;
        let ca_der = CertificateDer::from_pem_file(&cert_path).map_err(|e| TlsError::Io {
            path: cert_path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            issuer: Issuer::new(ca_params()?, key),
            ca_der,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// Path of the CA certificate clients must trust.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    /// A rustls server configuration presenting, for each SNI name, a certificate from this CA
    /// (names outside the emulated domains and loopback get none: the handshake fails).
    ///
    /// # Errors
    /// rustls rejects the protocol versions of the provider (never with ring's defaults).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SniResolver(self.clone())));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The certificate for `name`, minted on first use. `None` for names the CA does not cover.
    fn leaf(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if !is_emulated_host(&name) && !LOOPBACK_NAMES.contains(&name.as_str()) {
            return None;
        }
        let mut leaves = self
            .leaves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(leaf) = leaves.get(&name) {
            return Some(leaf.clone());
        }
        match self.mint(&name) {
            Ok(leaf) => {
                let leaf = Arc::new(leaf);
                leaves.insert(name, leaf.clone());
                Some(leaf)
            }
            Err(err) => {
                tracing::error!(%name, error = %err, "cannot issue a certificate");
                None
            }
        }
    }

    /// Issues a one-year server certificate for `name` (plus the loopback names when `name` is
    /// one of them, so `https://127.0.0.1:PORT` and `https://localhost:PORT` share one).
    fn mint(&self, name: &str) -> Result<CertifiedKey, TlsError> {
        let names: Vec<String> = if LOOPBACK_NAMES.contains(&name) {
            LOOPBACK_NAMES.iter().map(|n| (*n).to_owned()).collect()
        } else {
            vec![name.to_owned()]
        };
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing_key = self.provider.key_provider.load_private_key(der)?;
        Ok(CertifiedKey::new(
            vec![cert.der().clone(), self.ca_der.clone()],
            signing_key,
        ))
    }
}

/// Hands rustls the leaf for the client's SNI name, or the loopback one when it sent none (a
/// connection to an IP address).
#[derive(Debug)]
struct SniResolver(Arc<LocalCa>);

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.leaf(hello.server_name().unwrap_or("localhost"))
    }
}

/// The CA's parameters. Leaves are issued with an [`Issuer`] rebuilt from these, so they must
/// stay exactly what the stored certificate was made from (rcgen cannot read it back without a
/// full X.509 parser): the subject name, key-id method and key usages.
fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "vod-emulator");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut permitted: Vec<GeneralSubtree> = EMULATED_DOMAINS
        .iter()
        .map(|d| GeneralSubtree::DnsName((*d).to_owned()))
        .collect();
    permitted.push(GeneralSubtree::DnsName("localhost".to_owned()));
    permitted.push(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        32,
    )));
    permitted.push(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        128,
    )));
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    Ok(params)
}

/// Generates a CA into `dir`. The key is published first with a hard link, which fails if a
/// key is already there: exactly one of several racing emulators wins, and the others use its
/// CA once its certificate appears.
fn create(dir: &Path) -> Result<(), TlsError> {
    let key = KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let staging = |name: &str| dir.join(format!(".{name}.{}-{nanos}", std::process::id()));
    let (key_tmp, cert_tmp) = (staging(CA_KEY_FILE), staging(CA_CERT_FILE));
    let result = (|| {
        write_private(&key_tmp, key.serialize_pem().as_bytes())?;
        std::fs::write(&cert_tmp, cert.pem()).map_err(|source| TlsError::Io {
            path: cert_tmp.clone(),
            source,
        })?;
        let key_path = dir.join(CA_KEY_FILE);
        match std::fs::hard_link(&key_tmp, &key_path) {
            Ok(()) => {
                std::fs::rename(&cert_tmp, dir.join(CA_CERT_FILE)).map_err(|source| TlsError::Io {
                    path: dir.join(CA_CERT_FILE),
                    source,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(source) => Err(TlsError::Io {
                path: key_path,
                source,
            }),
        }
    })();
    let _ = std::fs::remove_file(&key_tmp);
    let _ = std::fs::remove_file(&cert_tmp);
    if result.is_ok() {
        tracing::info!(dir = %dir.display(), "created the local CA");
    }
    result
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Waits (briefly, blocking: this runs once at start-up) for another process's certificate.
fn wait_for(cert_path: &Path, dir: &Path) -> Result<(), TlsError> {
    let deadline = std::time::Instant::now() + CREATION_WAIT;
    while !cert_path.exists() {
        if std::time::Instant::now() > deadline {
            return Err(TlsError::Incomplete {
                dir: dir.to_path_buf(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{ServerName, UnixTime};

    fn verify(ca: &LocalCa, name: &str) -> Result<(), rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.ca_der.clone()).unwrap();
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), ca.provider.clone())
                .build()
                .unwrap();
        let leaf = ca
            .leaf(name)
            .ok_or(rustls::Error::General("no leaf".into()))?;
        verifier
            .verify_server_cert(
                &leaf.cert[0],
                &leaf.cert[1..],
                &ServerName::try_from(name.to_owned()).unwrap(),
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
    }

    #[test]
    fn emulated_hosts_are_the_cloud_domains_and_names_under_them() {
        assert!(is_emulated_host("vod.tencentcloudapi.com"));
        assert!(is_emulated_host("VOD.TencentCloudAPI.com."));
        assert!(is_emulated_host(
            "vod-1250000000.cos.ap-guangzhou.myqcloud.com"
        ));
        assert!(is_emulated_host("b-1.cos.ap-beijing.tencentcos.cn"));
        assert!(!is_emulated_host("example.com"));
        assert!(!is_emulated_host("evilmyqcloud.com"));
        assert!(!is_emulated_host("myqcloud.com.evil.net"));
        assert!(!is_emulated_host(".myqcloud.com"));
    }

    #[test]
    fn a_reloaded_ca_issues_leaves_that_verify_against_the_stored_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalCa::load_or_create(dir.path()).unwrap();
        let stored = std::fs::read(first.cert_path()).unwrap();
        drop(first);
        let again = LocalCa::load_or_create(dir.path()).unwrap();
        assert_eq!(std::fs::read(again.cert_path()).unwrap(), stored);
        for name in [
            "vod.tencentcloudapi.com",
            "vod-1250000000.cos.ap-guangzhou.myqcloud.com",
            "localhost",
        ] {
            verify(&again, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the CA key is readable by others");
        }
    }

    #[test]
    fn no_certificate_for_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        assert!(ca.leaf("example.com").is_none());
        assert!(ca.leaf("myqcloud.com.evil.net").is_none());
    }

    #[test]
    fn racing_emulators_agree_on_one_ca() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || LocalCa::load_or_create(&path).unwrap())
            })
            .collect();
        let cas: Vec<LocalCa> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for ca in &cas {
            verify(ca, "vod.tencentcloudapi.com").unwrap();
        }
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "only ca.pem and ca-key.pem remain");
    }
}
