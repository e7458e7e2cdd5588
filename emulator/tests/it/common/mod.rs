//! Helpers shared by the integration tests.

pub mod api;
pub mod apt;
pub mod browser;
pub mod exec;
pub mod install;
pub mod node;
pub mod python;
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
