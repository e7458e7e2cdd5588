//! `vod-client`: a reference client that does the whole Tencent Cloud VOD upload flow
//! correctly and fast, against the cloud or the emulator.
//!
//! The protocol itself (wire types, signers, checksums) lives in `vod-protocol`, which the
//! emulator verifies with; it is re-exported here as [`wire`], [`sign`] and [`checksum`].
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
//! - [`wire`], [`sign`], [`checksum`]: the protocol, from `vod-protocol`.
//! - [`vod`], [`cos`]: async API clients on one shared connection pool.
//! - [`upload`]: the [`Uploader`] orchestrating the flow; [`checkpoint`]: resume state;
//!   [`retry`]: the backoff policy; [`clock`]: clock-skew correction; [`credentials`];
//!   [`error`].

pub mod checkpoint;
pub mod clock;
pub mod cos;
pub mod credentials;
pub mod error;
mod part_md5;
pub mod retry;
pub mod upload;
pub mod vod;

pub use cos::{CosClient, CosEndpoint};
pub use credentials::Credentials;
pub use error::{Error, Result};
pub use retry::RetryPolicy;
pub use upload::{Progress, UploadOptions, UploadOutcome, Uploader};
pub use vod::VodClient;
pub use vod_protocol::{checksum, sign, wire};
