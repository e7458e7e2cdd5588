//! The dashboard, in a real headless Chromium ([`crate::common::browser`]): it is served to
//! browsers only, updates live as the official Python SDK uploads, plays what was uploaded,
//! resends events, adds faults from its form, shows the journal and moves the clock, with no
//! console error and no request leaving loopback. Every page is saved as a screenshot under
//! `<target>/dashboard/` (the README shows copies from docs/images/).

use serde_json::{json, Value};
use vod_emulator::Emulator;

use crate::common::api::Api;
use crate::common::browser::Browser;
use crate::common::python::run_sdk_flow;
use crate::common::receiver::{push_to, Receiver};

fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/media")
        .join(name)
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

/// Nothing went wrong in the page and nothing it loaded came from beyond the emulator.
async fn assert_clean(browser: &Browser, emu: &Emulator) {
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    for url in browser.loaded_urls().await {
        assert!(
            url.starts_with(&emu.endpoint()),
            "{url} is not on the emulator ({})",
            emu.endpoint()
        );
    }
}

/// Opens a page of the dashboard by its navigation link, as a person would.
async fn visit(browser: &Browser, page: &str) {
    browser.click(&format!("nav a[href='#{page}']")).await;
    browser
        .wait_for(&format!("location.hash === '#{page}'"))
        .await;
}

/// A browser's `GET /` is sent to the page; API clients' `GET /` still reaches the VOD API;
/// the assets carry a same-origin Content-Security-Policy.
#[tokio::test]
async fn the_dashboard_is_served_to_browsers_and_api_clients_are_unaffected() {
    let emu = Emulator::builder().start().await.expect("start");
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let home = http
        .get(format!("{}/", emu.endpoint()))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("GET /");
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/_emulator/ui/");
    let api = http
        .get(format!("{}/", emu.endpoint()))
        .send()
        .await
        .expect("GET / as an API client");
    let body: Value = serde_json::from_slice(&api.bytes().await.expect("body"))
        .expect("the VOD API's JSON envelope");
    assert!(body["Response"]["Error"]["Code"].is_string(), "{body}");
    let page = http
        .get(format!("{}/_emulator/ui/", emu.endpoint()))
        .send()
        .await
        .expect("GET the page");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(page.text().await.expect("html").contains("app.js"));
}

/// An upload made with the official Python SDK appears on Media without a reload; its MP4
/// plays (readyState >= 2, the duration read at commit) and its cover loads; the NewFileUpload
/// event shows up live, and "Resend" makes a second delivery to the push receiver.
#[tokio::test]
async fn an_sdk_upload_appears_live_plays_and_its_event_can_be_resent() {
    let receiver = Receiver::start(0).await;
    let emu = Emulator::builder()
        .events(push_to(&receiver.url, None, false))
        .start()
        .await
        .expect("start");
    let browser = Browser::start().await;
    browser.open(&format!("{}/", emu.endpoint())).await;
    browser
        .wait_for(&format!(
            "document.querySelector('dl') && document.querySelector('dl').innerText.includes('{}')",
            emu.config().app_id
        ))
        .await;
    browser.screenshot("overview").await;

    visit(&browser, "media").await;
    browser
        .wait_for("document.querySelector('#data p.muted')")
        .await;
    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".to_owned(),
            fixture("sample.mp4"),
            "--cover".to_owned(),
            fixture("sample-cover.jpg"),
        ],
    )
    .await;
    let file_id = out["FileId"].as_str().expect("FileId").to_owned();
    let duration = browser
        .wait_for(&format!(
            "(() => {{ const v = document.querySelector(\"article[data-file-id='{file_id}'] video\");
                 return v && v.readyState >= 2 && v.duration; }})()"
        ))
        .await;
    let (_, media) = Api::new(&emu).admin_get("media").await;
    let expected = media["media"][0]["metaData"]["Duration"]
        .as_f64()
        .expect("Duration read at commit");
    let played = duration.as_f64().expect("duration");
    assert!(expected > 0.0, "{media}");
    assert!(
        (played - expected).abs() < 0.1,
        "the video plays {played} s, the media is {expected} s"
    );
    browser
        .wait_for("(() => { const i = document.querySelector('img.cover'); return i && i.complete && i.naturalWidth > 0; })()")
        .await;
    browser.screenshot("media").await;

    visit(&browser, "events").await;
    let delivered = "(document.querySelector('tr[data-event-id] .history') || {}).innerText || ''";
    browser
        .wait_for(&format!(
            "{delivered}.includes('delivered via push, try 1, HTTP 200 in ')"
        ))
        .await;
    assert_eq!(receiver.bodies().len(), 1);
    browser.click("tr[data-event-id] button.resend").await;
    browser
        .wait_for(&format!("{delivered}.split('delivered').length === 3"))
        .await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    assert_eq!(bodies[0], bodies[1]);
    browser
        .run(
            "document.querySelector('tr[data-event-id] + tr details').open = true",
            json!([]),
        )
        .await;
    browser
        .wait_for("document.querySelector('tr[data-event-id] + tr details[open]')")
        .await;
    browser.screenshot("events").await;
    assert_clean(&browser, &emu).await;
}

/// A fault added with the form makes the next SDK upload fail with that error; its hit links
/// to the journal, which shows the refused request.
#[tokio::test]
async fn a_fault_added_in_the_form_fails_the_next_upload_and_the_journal_shows_it() {
    let emu = Emulator::builder().start().await.expect("start");
    let browser = Browser::start().await;
    browser
        .open(&format!("{}/_emulator/ui/#faults", emu.endpoint()))
        .await;
    browser.fill("#fault-form [name=id]", "refuse-apply").await;
    browser
        .fill("#fault-form [name=action]", "ApplyUpload")
        .await;
    browser
        .fill("#fault-form [name=code]", "FailedOperation")
        .await;
    browser.click("#fault-form button").await;
    browser
        .wait_for("document.querySelector(\"tr[data-rule='refuse-apply']\")")
        .await;

    let out = run_sdk_flow(
        &emu,
        [
            "upload".to_owned(),
            "--media".to_owned(),
            fixture("sample.mp4"),
            "--expect-failure".to_owned(),
        ],
    )
    .await;
    assert_eq!(out["Error"]["Code"], "FailedOperation", "{out:#}");
    browser
        .wait_for(
            "document.querySelector(\"tr[data-rule='refuse-apply'] a\").innerText.startsWith('1 ')",
        )
        .await;
    browser.screenshot("faults").await;

    browser.click("tr[data-rule='refuse-apply'] a").await;
    browser
        .wait_for("location.hash === '#journal?rule=refuse-apply' && document.querySelector('tr.bad[data-seq]')")
        .await;
    let row = browser
        .run(
            "return document.querySelector('tr.bad[data-seq]').innerText",
            json!([]),
        )
        .await;
    let row = row.as_str().expect("row text");
    assert!(
        row.contains("ApplyUpload")
            && row.contains("FailedOperation")
            && row.contains("refuse-apply"),
        "{row}"
    );
    browser.click("tr.bad[data-seq]").await;
    let detail = browser
        .wait_for("(document.querySelector('tr.detail:not([hidden]) h3') || {}).innerText === 'Request headers' && document.querySelector('tr.detail').innerText")
        .await;
    let detail = detail.as_str().expect("detail text");
    assert!(
        detail.contains("x-tc-action") && detail.contains("FailedOperation"),
        "{detail}"
    );
    browser.screenshot("journal").await;
    assert_clean(&browser, &emu).await;
}

/// Advancing the emulator clock from the Clock page expires an open upload session on the
/// Uploads page.
#[tokio::test]
async fn advancing_the_clock_expires_an_upload_session_on_the_page() {
    let emu = Emulator::builder().start().await.expect("start");
    let apply = Api::new(&emu).apply(false).await;
    assert!(apply["VodSessionKey"].is_string(), "{apply}");
    let browser = Browser::start().await;
    browser
        .open(&format!("{}/_emulator/ui/#uploads", emu.endpoint()))
        .await;
    let state = "(document.querySelector('tr[data-file-id] td:last-child') || {}).innerText";
    browser.wait_for(&format!("{state} === 'open'")).await;
    browser.screenshot("uploads").await;

    visit(&browser, "clock").await;
    browser.fill("[name=advance]", "2d").await;
    browser.click("#advance").await;
    browser
        .wait_for("document.querySelector('.message.ok') && document.querySelector('.message.ok').innerText === 'clock moved'")
        .await;
    browser.screenshot("clock").await;
    visit(&browser, "uploads").await;
    browser.wait_for(&format!("{state} === 'expired'")).await;
    assert_clean(&browser, &emu).await;
}
