//! Helpers shared by the integration tests.

pub mod api;
pub mod apt;
pub mod browser;
pub mod exec;
pub mod install;
pub mod node;
pub mod python;
pub mod release;

/// The string `field` of a program's JSON report, or a panic that shows the report.
pub fn text<'a>(out: &'a serde_json::Value, field: &str) -> &'a str {
    out[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {out:#}"))
}

/// Panics unless an SDK transport program's upload report names a VOD FileId (19 digits), the
/// ETag of `bytes`, and a MediaUrl that served the bytes back.
pub fn assert_uploaded(out: &serde_json::Value, bytes: &[u8]) {
    use md5::{Digest, Md5};
    let file_id = text(out, "FileId");
    assert!(
        file_id.len() == 19 && file_id.bytes().all(|b| b.is_ascii_digit()),
        "{out:#}"
    );
    assert_eq!(
        text(out, "ETag"),
        format!("\"{}\"", hex::encode(Md5::digest(bytes)))
    );
    assert_eq!(out["BytesMatch"], true, "{out:#}");
}
pub mod receiver;

/// What a test upload left behind.
pub struct Uploaded {
    pub file_id: String,
    pub media_url: String,
}

/// Uploads `data` as an mp4 with `source_context` to the emulator at `endpoint` (its default
/// key pair), signed as the SDKs sign: ApplyUpload, PUT, CommitUpload.
pub async fn upload(endpoint: &str, data: &[u8], source_context: &str) -> Uploaded {
    let done = api::Api::at(endpoint)
        .upload(
            serde_json::json!({"MediaType": "mp4", "SourceContext": source_context}),
            data.to_vec(),
        )
        .await;
    let text = |name: &str| done[name].as_str().expect(name).to_owned();
    Uploaded {
        file_id: text("FileId"),
        media_url: text("MediaUrl"),
    }
}
