//! Helpers shared by the integration tests.

pub mod api;
pub mod apt;
pub mod exec;
pub mod install;
pub mod node;
pub mod python;

/// Uploads `data` through the reference client to the emulator at `endpoint`.
pub async fn upload(
    endpoint: &str,
    data: &[u8],
    source_context: &str,
) -> vod_client::UploadOutcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("v.mp4");
    std::fs::write(&file, data).expect("write");
    let creds = vod_client::Credentials::new(
        vod_emulator::config::DEFAULT_SECRET_ID,
        vod_emulator::config::DEFAULT_SECRET_KEY,
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let vod =
        vod_client::VodClient::new(http.clone(), endpoint, creds, "ap-guangzhou").expect("vod");
    vod_client::Uploader::new(
        vod,
        http,
        vod_client::CosEndpoint::PathStyle(endpoint.to_owned()),
    )
    .with_options(vod_client::UploadOptions {
        source_context: Some(source_context.to_owned()),
        resume: false,
        ..Default::default()
    })
    .upload(&file)
    .await
    .expect("upload")
}
