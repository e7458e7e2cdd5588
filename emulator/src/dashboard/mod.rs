//! The dashboard: a page for people, served by the emulator itself at `/_emulator/ui/` (and
//! to a browser's `GET /`), with the admin API's access rule.
//!
//! It is three hand-written static files compiled into the binary (`assets/`): the page is a
//! client of the admin API, which it reads with `fetch` and follows live through the journal's
//! and the event system's NDJSON streams. No templates, no build step, no framework: the
//! server side is this table of assets, and the page works offline (no CDN, no web fonts).
//! The Content-Security-Policy keeps every load on the emulator's own origin.

use crate::body::{self, Body};
use http::{header, HeaderValue, Response, StatusCode};

/// The page, its script and its style: name, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
];

/// Only the emulator's own origin: the page loads nothing from elsewhere, and a media URL
/// naming another host (`--public-url`) is played through the same origin by the page.
const CSP: &str = "default-src 'self'; img-src 'self' data:; media-src 'self'; \
                   style-src 'self'; script-src 'self'; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Serves `/_emulator/ui/<name>`; `index.html` is the page too.
pub fn asset(name: &str) -> Response<Body> {
    let name = if name == "index.html" { "" } else { name };
    let Some((_, content_type, text)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        let mut resp = Response::new(body::full("not found\n"));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        return resp;
    };
    let mut resp = Response::new(body::full(*text));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change with the binary: revalidation is cheap on loopback.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// A browser's `GET /`: sent on to the page, whose relative asset URLs then resolve.
pub fn home() -> Response<Body> {
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_static(crate::router::DASHBOARD_PREFIX),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every asset is served with its type and the same-origin policy; others are 404.
    #[test]
    fn assets_are_served_with_their_type_and_policy() {
        for (name, content_type) in [
            ("", "text/html; charset=utf-8"),
            ("index.html", "text/html; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
        ] {
            let resp = asset(name);
            assert_eq!(resp.status(), StatusCode::OK, "{name}");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], content_type);
            assert_eq!(resp.headers()[header::CONTENT_SECURITY_POLICY], CSP);
        }
        assert_eq!(asset("../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }

    /// The page names only its own assets: nothing is fetched from another origin.
    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for (name, _, text) in ASSETS {
            assert!(!text.contains("//cdn"), "{name}");
            assert!(!text.contains("https://"), "{name}");
            assert!(!text.contains("@import"), "{name}");
        }
    }
}
