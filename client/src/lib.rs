//! `vod-client`: the one home of the Tencent Cloud VOD upload protocol in this workspace, and
//! a reference client that does the whole upload flow correctly and fast.
//!
//! The emulator verifies requests with the same signers and speaks the same wire types that
//! the client sends, so the protocol is written down exactly once and pinned by known-answer
//! vectors (see `fixtures/vectors/`).
//!
//! ```no_run
//! # async fn demo() -> vod_client::Result<()> {
//! use vod_client::{CosEndpoint, Credentials, Uploader, VodClient};
//! let http = reqwest::Client::new();
//! let creds = Credentials::from_env().expect("TENCENTCLOUD_SECRET_ID/KEY");
//! let vod = VodClient::new(http.clone(), vod_client::vod::DEFAULT_ENDPOINT, creds, "ap-guangzhou")?;
//! let done = Uploader::new(vod, http, CosEndpoint::Cloud)
//!     .upload(std::path::Path::new("movie.mp4"))
//!     .await?;
//! println!("{} {}", done.file_id, done.media_url);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`wire`]: serde types for the VOD API 3.0 JSON and the COS XML bodies.
//! - [`sign`]: TC3-HMAC-SHA256 (VOD API) and the COS `q-sign-algorithm=sha1` scheme.
//! - [`checksum`]: CRC-64/XZ (`x-cos-hash-crc64ecma`), its combine, and COS ETags.
//! - [`vod`], [`cos`]: async API clients on one shared connection pool.
//! - [`upload`]: the [`Uploader`] orchestrating the flow; [`checkpoint`]: resume state;
//!   [`retry`]: the backoff policy; [`clock`]: clock-skew correction; [`credentials`];
//!   [`error`].

pub mod checkpoint;
pub mod checksum;
pub mod clock;
pub mod cos;
pub mod credentials;
pub mod error;
pub mod retry;
pub mod sign;
pub mod upload;
pub mod vod;
pub mod wire;

pub use cos::{CosClient, CosEndpoint};
pub use credentials::Credentials;
pub use error::{Error, Result};
pub use retry::RetryPolicy;
pub use upload::{Progress, UploadOptions, UploadOutcome, Uploader};
pub use vod::VodClient;
