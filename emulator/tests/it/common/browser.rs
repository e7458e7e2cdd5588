//! A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
//! installed by [`super::apt`] when missing: the dashboard tests never skip).
//!
//! WebDriver is plain JSON over HTTP, so the few commands the tests need (open a URL, run a
//! script, click, screenshot, read the console) are written here over reqwest, which the tests
//! already use, rather than pulling in a WebDriver crate and its TLS stack. Chromium resolves
//! no host but loopback (`--host-resolver-rules`), uses no proxy, and its background services
//! are off: nothing a page does can leave the machine.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use super::apt::{self, Runtime};

static CHROMIUM: Runtime = Runtime {
    name: "Chromium and its WebDriver",
    packages: &["chromium", "chromium-driver"],
    check: &["chromedriver", "--version"],
};

/// How long a page may take to reach a state a test waits for.
const WAIT: Duration = Duration::from_secs(30);

/// One Chromium session; the browser and its driver end when it is dropped.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session.
    pub async fn start() -> Self {
        apt::ensure(&CHROMIUM).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}");
        // The driver listens within moments; its status answers once it does.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--window-size=1100,800".to_owned(),
            "--no-proxy-server".to_owned(),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--autoplay-policy=no-user-gesture-required".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"script": WAIT.as_millis()},
        }}});
        let created = send(http.post(format!("{base}/session")), &caps).await;
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Self {
            http,
            session: format!("{base}/session/{session}"),
            _driver: driver,
            _profile: profile,
        }
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let resp = send(self.http.post(format!("{}/{path}", self.session)), &body).await;
        if resp["value"]["error"].is_string() {
            panic!("webdriver {path}: {}", resp["value"]);
        }
        resp["value"].clone()
    }

    /// Opens `url` and waits for its load.
    pub async fn open(&self, url: &str) {
        self.command("url", json!({ "url": url })).await;
    }

    /// Runs `body` (a function body using `arguments`) in the page; returns its value.
    pub async fn run(&self, body: &str, args: Value) -> Value {
        self.command("execute/sync", json!({ "script": body, "args": args }))
            .await
    }

    /// Waits until the JavaScript expression `condition` is truthy in the page (it is
    /// re-checked every 50 ms in the page) and returns its value; panics after [`WAIT`].
    pub async fn wait_for(&self, condition: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const check = () => {{
               let value = null;
               try {{ value = ({condition}); }} catch (e) {{ value = null; }}
               if (value) done(value); else setTimeout(check, 50);
             }};
             check();"
        );
        let resp = send(
            self.http.post(format!("{}/execute/async", self.session)),
            &json!({ "script": script, "args": [] }),
        )
        .await;
        if resp["value"]["error"].is_string() {
            let page = self.run("return document.body.innerText", json!([])).await;
            panic!(
                "waiting for `{condition}`: {}\n--- page ---\n{}\n--- console errors ---\n{:#?}",
                resp["value"]["error"],
                page.as_str().unwrap_or_default(),
                self.console_errors().await
            );
        }
        resp["value"].clone()
    }

    /// Clicks the first element matching the CSS `selector`.
    pub async fn click(&self, selector: &str) {
        self.wait_for(&format!("document.querySelector({selector:?})"))
            .await;
        self.run(
            "document.querySelector(arguments[0]).click()",
            json!([selector]),
        )
        .await;
    }

    /// Sets the value of the form field matching `selector`.
    pub async fn fill(&self, selector: &str, value: &str) {
        self.wait_for(&format!("document.querySelector({selector:?})"))
            .await;
        self.run(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1];",
            json!([selector, value]),
        )
        .await;
    }

    /// Saves a PNG of the window as `<target>/dashboard/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let resp = send(
            self.http.get(format!("{}/screenshot", self.session)),
            &Value::Null,
        )
        .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(resp["value"].as_str().expect("base64 png"))
            .expect("decode png");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// The console messages at level SEVERE (errors, failed loads) since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self.command("se/log", json!({ "type": "browser" })).await;
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["level"] == "SEVERE")
            .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Every URL the page loaded (documents, scripts, media, fetches), for origin checks.
    pub async fn loaded_urls(&self) -> Vec<String> {
        let urls = self
            .run(
                "return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]",
                json!([]),
            )
            .await;
        urls.as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Browser {
    /// Ends the session, and with it the browser, before the driver is killed
    /// (`kill_on_drop`): a blocking `DELETE` on loopback, also when a test panics.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let Some(rest) = self.session.strip_prefix("http://") else {
            return;
        };
        let Some((host, path)) = rest.split_once('/') else {
            return;
        };
        if let Ok(mut stream) = std::net::TcpStream::connect(host) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
    }
}

/// Sends a WebDriver command (a JSON body unless `Null`) and returns the JSON answer.
async fn send(request: reqwest::RequestBuilder, body: &Value) -> Value {
    let request = if body.is_null() {
        request
    } else {
        request
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let resp = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("webdriver: {e}"));
    let bytes = resp
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("webdriver answer: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "webdriver answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// Where screenshots go: `<target>/dashboard`, beside cargo's `tmp`.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")))
        .join("dashboard")
}
