//! Turns a request into a typed [`Endpoint`], routed like the cloud: admin calls by the
//! `/_emulator/` prefix, COS by a `{bucket}.cos.{region}.myqcloud.com` Host (or path style on the
//! emulator's own host), VOD API calls by `X-TC-Action`, media URLs by the `/media/` prefix,
//! the dashboard by `/_emulator/ui/` or a browser's `GET /` on the emulator's own host.
//! A proxied request (absolute-form URI) for any other host is [`Endpoint::Foreign`].

use http::{HeaderMap, Method, Uri};
use percent_encoding::percent_decode_str;

/// Prefix of the emulator's own control API.
pub const ADMIN_PREFIX: &str = "/_emulator/";
/// Prefix of the dashboard's pages and assets (inside the admin prefix: same access rule).
pub const DASHBOARD_PREFIX: &str = "/_emulator/ui/";
/// Prefix of the URLs MediaUrl and CoverUrl point at.
pub const MEDIA_PREFIX: &str = "/media/";

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/_emulator/ui/<asset>`; an empty asset is the page itself, and a browser's `GET /`
    /// on the emulator's own host is [`Endpoint::DashboardHome`].
    Dashboard(String),
    /// A browser asking for `/` of the emulator's own host: sent on to the dashboard.
    DashboardHome,
    /// `/_emulator/<path>`.
    Admin(String),
    /// A TC API 3.0 call.
    Vod,
    /// The COS XML API.
    Cos(CosAddress),
    /// A playback URL: an object served without signature, as a CDN would.
    Media {
        /// Bucket, long name.
        bucket: String,
        /// Object key.
        key: String,
    },
    /// A proxied request (absolute-form URI) for a host the emulator does not emulate: refused,
    /// never forwarded.
    Foreign(String),
    /// Nothing here.
    NotFound,
}

/// Bucket and key of a COS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosAddress {
    /// Bucket, long name (`name-appid`).
    pub bucket: String,
    /// Region named in the Host, when virtual-host addressed.
    pub region: Option<String>,
    /// Decoded object key; empty for bucket-level requests.
    pub key: String,
    /// The decoded request path, as the signature covers it.
    pub signed_path: String,
}

/// Routes a request by method, URI and headers.
pub fn route(method: &Method, uri: &Uri, headers: &HeaderMap) -> Endpoint {
    if let Some(target) = uri.host() {
        if !crate::tls::is_emulated_host(target) {
            return Endpoint::Foreign(target.to_owned());
        }
    }
    let path = uri.path();
    if let Some(rest) = path.strip_prefix(DASHBOARD_PREFIX) {
        return Endpoint::Dashboard(rest.to_owned());
    }
    if path == DASHBOARD_PREFIX.trim_end_matches('/') {
        return Endpoint::Dashboard(String::new());
    }
    if let Some(rest) = path.strip_prefix(ADMIN_PREFIX) {
        return Endpoint::Admin(rest.to_owned());
    }
    if path == ADMIN_PREFIX.trim_end_matches('/') {
        return Endpoint::Admin(String::new());
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let Some(decoded) = decode_path(path) else {
        return Endpoint::NotFound;
    };
    if let Some((bucket, region)) = cos_host(host) {
        return Endpoint::Cos(CosAddress {
            bucket,
            region,
            key: decoded.trim_start_matches('/').to_owned(),
            signed_path: decoded,
        });
    }
    if is_browser_home(method, uri, headers, host) {
        return Endpoint::DashboardHome;
    }
    // The API answers on `/` of any host, as `vod.tencentcloudapi.com/` does: a form-encoded
    // or GET call names its action in its parameters, not in `X-TC-Action`.
    if headers.contains_key("x-tc-action") || is_vod_host(host) || decoded == "/" {
        return Endpoint::Vod;
    }
    if matches!(*method, Method::GET | Method::HEAD) {
        if let Some(rest) = decoded.strip_prefix(MEDIA_PREFIX) {
            if let Some((bucket, key)) = rest.split_once('/') {
                return Endpoint::Media {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                };
            }
        }
    }
    let rest = decoded.trim_start_matches('/');
    let (first, key) = rest.split_once('/').unwrap_or((rest, ""));
    if is_bucket_name(first) {
        return Endpoint::Cos(CosAddress {
            bucket: first.to_owned(),
            region: None,
            key: key.to_owned(),
            signed_path: decoded.clone(),
        });
    }
    Endpoint::NotFound
}

/// Percent-decodes a path as UTF-8; `None` when it is not valid UTF-8.
fn decode_path(path: &str) -> Option<String> {
    percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// `{bucket}.cos.{region}.myqcloud.com` (and the `tencentcos.cn`, internal and accelerate
/// variants) → bucket and region; any port is ignored.
fn cos_host(host: &str) -> Option<(String, Option<String>)> {
    let name = strip_port(host).to_ascii_lowercase();
    let domain_ok = name.ends_with(".myqcloud.com") || name.ends_with(".tencentcos.cn");
    let labels: Vec<&str> = name.split('.').collect();
    if !domain_ok || labels.len() < 5 {
        return None;
    }
    if !(labels[1] == "cos" || labels[1] == "cos-internal") || !is_bucket_name(labels[0]) {
        return None;
    }
    let region = (labels[2] != "accelerate").then(|| labels[2].to_owned());
    Some((labels[0].to_owned(), region))
}

/// A page request for `/` of the emulator's own host: GET, no query (a GET API call names
/// its action there), no `X-TC-Action`, and `text/html` accepted, as browsers send on
/// navigation and API clients never do. Cloud hosts (VOD, COS) were routed before this.
fn is_browser_home(method: &Method, uri: &Uri, headers: &HeaderMap, host: &str) -> bool {
    let accepts_html = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/html")));
    *method == Method::GET
        && uri.path() == "/"
        && uri.query().is_none()
        && !headers.contains_key("x-tc-action")
        && !is_vod_host(host)
        && accepts_html
}

fn is_vod_host(host: &str) -> bool {
    let name = strip_port(host).to_ascii_lowercase();
    name.starts_with("vod.") && name.ends_with(".tencentcloudapi.com")
}

/// Strips a `:port` suffix (IPv6 literals keep their brackets).
pub fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i)
            if !host[i..].contains(']') && host[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            &host[..i]
        }
        _ => host,
    }
}

/// COS long bucket names: `name-appid`, lowercase letters, digits and hyphens.
pub fn is_bucket_name(s: &str) -> bool {
    let Some((name, app_id)) = s.rsplit_once('-') else {
        return false;
    };
    !name.is_empty()
        && !app_id.is_empty()
        && app_id.bytes().all(|b| b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn route_of(method: Method, uri: &str, host: &str, action: bool) -> Endpoint {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, host.parse().unwrap());
        if action {
            headers.insert("x-tc-action", "ApplyUpload".parse().unwrap());
        }
        route(&method, &uri.parse().unwrap(), &headers)
    }

    #[test]
    fn virtual_host_cos_requests_take_the_bucket_from_the_host() {
        let e = route_of(
            Method::PUT,
            "/dir/a%20b.mp4",
            "vod-1250000000.cos.ap-guangzhou.myqcloud.com",
            false,
        );
        assert_eq!(
            e,
            Endpoint::Cos(CosAddress {
                bucket: "vod-1250000000".into(),
                region: Some("ap-guangzhou".into()),
                key: "dir/a b.mp4".into(),
                signed_path: "/dir/a b.mp4".into(),
            })
        );
    }

    #[test]
    fn path_style_cos_requests_take_the_bucket_from_the_path() {
        let e = route_of(Method::GET, "/b-125/k/x", "127.0.0.1:9266", false);
        let Endpoint::Cos(addr) = e else {
            panic!("not cos: {e:?}")
        };
        assert_eq!(addr.bucket, "b-125");
        assert_eq!(addr.key, "k/x");
        assert_eq!(addr.signed_path, "/b-125/k/x");
    }

    #[test]
    fn tc_action_header_routes_to_vod_and_admin_prefix_wins() {
        assert_eq!(
            route_of(Method::POST, "/", "127.0.0.1:1", true),
            Endpoint::Vod
        );
        assert_eq!(
            route_of(Method::GET, "/_emulator/health", "127.0.0.1:1", true),
            Endpoint::Admin("health".into())
        );
        assert_eq!(
            route_of(Method::GET, "/nothing", "127.0.0.1:1", false),
            Endpoint::NotFound
        );
        assert_eq!(
            route_of(
                Method::GET,
                "/?Action=DescribeMediaInfos",
                "127.0.0.1:1",
                false
            ),
            Endpoint::Vod
        );
        assert_eq!(
            route_of(Method::POST, "/", "localhost:9266", false),
            Endpoint::Vod
        );
    }

    #[test]
    fn proxied_requests_for_foreign_hosts_are_refused() {
        assert_eq!(
            route_of(Method::GET, "http://example.com/x", "example.com", false),
            Endpoint::Foreign("example.com".into())
        );
        assert_eq!(
            route_of(
                Method::POST,
                "http://vod.tencentcloudapi.com/",
                "vod.tencentcloudapi.com",
                true
            ),
            Endpoint::Vod
        );
        // Not even loopback: the router cannot tell the emulator's own port from another.
        assert_eq!(
            route_of(
                Method::GET,
                "http://127.0.0.1:9/_emulator/health",
                "127.0.0.1:9",
                false
            ),
            Endpoint::Foreign("127.0.0.1".into())
        );
    }

    /// A browser's `GET /` on the emulator's host goes to the dashboard; API clients (no
    /// `text/html`, an action header, a query, the VOD host) and COS path style do not.
    #[test]
    fn browsers_asking_for_the_root_get_the_dashboard() {
        let with_accept = |uri: &str, host: &str, accept: &str, action: bool| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::HOST, host.parse().unwrap());
            headers.insert(http::header::ACCEPT, accept.parse().unwrap());
            if action {
                headers.insert("x-tc-action", "ApplyUpload".parse().unwrap());
            }
            route(&Method::GET, &uri.parse().unwrap(), &headers)
        };
        let html = "text/html,application/xhtml+xml,*/*;q=0.8";
        assert_eq!(
            with_accept("/", "127.0.0.1:9266", html, false),
            Endpoint::DashboardHome
        );
        assert_eq!(
            with_accept("/", "127.0.0.1:9266", "*/*", false),
            Endpoint::Vod
        );
        assert_eq!(
            with_accept("/", "127.0.0.1:9266", html, true),
            Endpoint::Vod
        );
        assert_eq!(
            with_accept("/?Action=DescribeMediaInfos", "127.0.0.1:9266", html, false),
            Endpoint::Vod
        );
        assert_eq!(
            with_accept("/", "vod.tencentcloudapi.com", html, false),
            Endpoint::Vod
        );
        assert!(matches!(
            with_accept("/", "b-125.cos.ap-guangzhou.myqcloud.com", html, false),
            Endpoint::Cos(_)
        ));
        assert_eq!(
            with_accept("/_emulator/ui/app.js", "127.0.0.1:9266", "*/*", false),
            Endpoint::Dashboard("app.js".into())
        );
        assert_eq!(
            with_accept("/_emulator/ui", "127.0.0.1:9266", html, false),
            Endpoint::Dashboard(String::new())
        );
    }

    #[test]
    fn media_urls_route_to_media() {
        assert_eq!(
            route_of(Method::GET, "/media/b-1/x/f0.mp4", "localhost", false),
            Endpoint::Media {
                bucket: "b-1".into(),
                key: "x/f0.mp4".into()
            }
        );
    }

    #[test]
    fn ports_are_stripped_but_ipv6_brackets_kept() {
        assert_eq!(strip_port("a.b:80"), "a.b");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("[::1]:9"), "[::1]");
    }
}
