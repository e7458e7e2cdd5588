//! Where push callbacks may go, and how the emulator recognises its own.
//!
//! A NotificationUrl is an absolute `http://` or `https://` URL with a host, at most
//! [`MAX_URL_BYTES`] long, without spaces or control characters.
//!
//! A push callback is a POST the emulator makes on behalf of whoever holds the VOD key, from
//! the emulator's own host. Aimed at the emulator itself, it would reach the admin API as a
//! loopback client: one upload could reset the store, and a NotificationUrl of
//! `/_emulator/events/trigger` would make every event create the next. Two rules keep it out:
//!
//! 1. ModifyEventConfig (and `--notification-url`) refuse a URL that names the emulator's own
//!    listener ([`check`]): its port on a loopback address, `localhost` or `*.localhost`, an
//!    unspecified address (`0.0.0.0`, `::`), the address it is bound to, any address of this
//!    host when it is bound to all of them, and the host and port of `--public-url`.
//! 2. A URL that reaches the emulator anyway (a host name other than `localhost` that resolves
//!    here, a port forward) still gets no admin rights: every callback carries
//!    [`CALLBACK_MARKER`], and the admin API refuses requests that carry it. Callbacks do not
//!    follow redirects either.

use std::net::{IpAddr, SocketAddr};

/// Header every push callback carries; the admin API never answers a request carrying it.
pub const CALLBACK_MARKER: &str = "x-vod-emulator-callback";

/// Longest NotificationUrl accepted, in bytes: the real API documents no limit for it, and
/// 1024 characters is the one it documents for the other URLs it is configured with.
pub const MAX_URL_BYTES: usize = 1024;

/// Why a NotificationUrl is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackUrlError {
    /// Not an absolute URL with a host, or a URL holding spaces or control characters.
    #[error(
        "NotificationUrl must be an absolute URL with a host, without spaces or control characters"
    )]
    Malformed,
    /// Longer than [`MAX_URL_BYTES`].
    #[error("NotificationUrl must be at most {MAX_URL_BYTES} bytes long")]
    TooLong,
    /// A scheme other than `http` and `https`.
    #[error("NotificationUrl must be an http:// or https:// URL")]
    Scheme,
    /// The URL names the emulator's own listener.
    #[error(
        "NotificationUrl must not point at the emulator itself ({0}): callbacks never reach its own API"
    )]
    OwnListener(String),
}

/// The addresses the emulator answers on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The bound address (its IP may be unspecified: every address of the host).
    pub addr: SocketAddr,
    /// Host and port of `--public-url`, when one is set.
    pub public: Option<(String, u16)>,
}

impl Listener {
    /// The listener bound at `addr`, also reached through `public_url`.
    pub fn new(addr: SocketAddr, public_url: Option<&str>) -> Self {
        let public = public_url
            .and_then(|u| reqwest::Url::parse(u).ok())
            .and_then(|u| {
                Some((
                    u.host_str()?.to_ascii_lowercase(),
                    u.port_or_known_default()?,
                ))
            });
        Self { addr, public }
    }
}

/// Checks a NotificationUrl (an empty one clears the setting and is always accepted).
/// `is_local` says whether an address belongs to this host (used when the emulator is bound
/// to every address).
///
/// # Errors
/// The URL is too long, not an absolute http(s) URL with a host, holds spaces or control
/// characters, or names the emulator's own listener.
pub fn check(
    url: &str,
    own: &Listener,
    is_local: impl Fn(IpAddr) -> bool,
) -> Result<(), CallbackUrlError> {
    if url.is_empty() {
        return Ok(());
    }
    if url.len() > MAX_URL_BYTES {
        return Err(CallbackUrlError::TooLong);
    }
    // The URL parser would quietly drop or encode these; a URL as configured has none.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CallbackUrlError::Malformed);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| CallbackUrlError::Malformed)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CallbackUrlError::Scheme);
    }
    // The URL standard reads `http:host`, `https:///host` and `http:\\host` as `http://host`;
    // a URL as configured spells its authority out.
    let authority = ["http://", "https://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .and_then(|_| url.get(scheme.len()..))
    });
    if authority.is_none_or(|rest| rest.starts_with(['/', '\\'])) {
        return Err(CallbackUrlError::Malformed);
    }
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return Err(CallbackUrlError::Malformed);
    };
    let host = host.to_ascii_lowercase();
    if reaches_listener(&host, port, own, is_local) {
        return Err(CallbackUrlError::OwnListener(format!("{host}:{port}")));
    }
    Ok(())
}

/// Whether `host:port` (a URL's host, lower-case, IPv6 in brackets) is the emulator itself.
fn reaches_listener(
    host: &str,
    port: u16,
    own: &Listener,
    is_local: impl Fn(IpAddr) -> bool,
) -> bool {
    if own
        .public
        .as_ref()
        .is_some_and(|(h, p)| *p == port && h.trim_end_matches('.') == host.trim_end_matches('.'))
    {
        return true;
    }
    if port != own.addr.port() {
        return false;
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match literal.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        Ok(ip) => ip,
        Err(_) => {
            let name = host.trim_end_matches('.');
            return name == "localhost" || name.ends_with(".localhost");
        }
    };
    let bound = own.addr.ip();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip == bound
        || (bound.is_unspecified() && is_local(ip))
}

/// Whether `ip` is an address of this host: a socket can be bound to it.
pub fn is_local_address(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(addr: &str, public: Option<&str>) -> Listener {
        let addr = addr
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9266)));
        Listener::new(addr, public)
    }

    fn verdict(url: &str, own: &Listener) -> Result<(), CallbackUrlError> {
        check(url, own, |ip| ip == IpAddr::from([192, 0, 2, 7]))
    }

    /// The emulator's port on every loopback spelling, localhost, ::1 and 0.0.0.0 is refused.
    #[test]
    fn the_emulators_own_listener_is_refused_in_every_spelling() {
        let own = listener("127.0.0.1:9266", None);
        for url in [
            "http://127.0.0.1:9266/_emulator/reset",
            "http://127.9.8.7:9266/",
            "http://localhost:9266/cb",
            "http://LOCALHOST.:9266/cb",
            "http://app.localhost:9266/cb",
            "http://[::1]:9266/cb",
            "http://[::ffff:127.0.0.1]:9266/cb",
            "http://0.0.0.0:9266/cb",
            "http://[::]:9266/cb",
            "http://2130706433:9266/cb",
            "http://0x7f.1:9266/cb",
            "https://127.0.0.1:9266/cb",
        ] {
            assert!(
                matches!(verdict(url, &own), Err(CallbackUrlError::OwnListener(_))),
                "{url}"
            );
        }
    }

    /// Other ports, other hosts and an empty URL (which clears the setting) pass.
    #[test]
    fn other_ports_and_hosts_are_callbacks_like_any_other() {
        let own = listener("127.0.0.1:9266", None);
        for url in [
            "",
            "http://127.0.0.1:9267/cb",
            "HTTPS://Example.com/cb",
            "http://localhost/cb",
            "https://example.com:9266/cb",
            "http://192.0.2.7:9266/cb",
        ] {
            assert_eq!(verdict(url, &own), Ok(()), "{url}");
        }
    }

    /// A 0.0.0.0 bind covers every local address; `--public-url` covers its own host and port.
    #[test]
    fn a_wildcard_bind_covers_every_local_address_and_public_url_its_host() {
        let own = listener("0.0.0.0:9266", Some("http://emu.test:8080"));
        assert!(verdict("http://192.0.2.7:9266/cb", &own).is_err());
        assert_eq!(verdict("http://192.0.2.8:9266/cb", &own), Ok(()));
        assert!(verdict("http://EMU.test:8080/x", &own).is_err());
        assert_eq!(verdict("http://emu.test:8081/x", &own), Ok(()));
        let bound = listener("192.0.2.9:9266", None);
        assert!(verdict("http://192.0.2.9:9266/cb", &bound).is_err());
    }

    /// Other schemes, relative URLs, URLs without a host and URLs with spaces or controls are
    /// refused.
    #[test]
    fn only_absolute_http_and_https_urls_with_a_host_are_callbacks() {
        let own = listener("127.0.0.1:9266", None);
        for url in ["ftp://example.com/", "mailto:a@b", "file:///etc/passwd"] {
            assert_eq!(verdict(url, &own), Err(CallbackUrlError::Scheme), "{url}");
        }
        for url in [
            "http://",
            "https://:80/",
            "example.com/cb",
            "http://[::1/",
            "https:///example.com/",
            "http:example.com",
            "http:\\\\example.com",
            "http://\\example.com",
            "http://example.com/a b",
            " http://example.com/",
            "http://example.com/\t",
            "http://example.com/\u{7f}",
            "http://example.com/\u{a0}",
        ] {
            assert_eq!(
                verdict(url, &own),
                Err(CallbackUrlError::Malformed),
                "{url:?}"
            );
        }
    }

    /// A URL of up to 1024 bytes is accepted, a longer one refused before it is parsed.
    #[test]
    fn urls_are_at_most_1024_bytes() {
        let own = listener("127.0.0.1:9266", None);
        let base = "http://example.com/";
        let longest = format!("{base}{}", "a".repeat(MAX_URL_BYTES - base.len()));
        assert_eq!(verdict(&longest, &own), Ok(()));
        assert_eq!(
            verdict(&format!("{longest}a"), &own),
            Err(CallbackUrlError::TooLong)
        );
    }
}
