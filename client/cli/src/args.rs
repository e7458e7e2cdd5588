//! Raw command-line flags, as clap parses them.

use clap::{Args as ClapArgs, Parser, Subcommand};
use std::path::PathBuf;

/// Upload media to Tencent Cloud VOD (or a local vod-emulator) the way it should be done:
/// parallel multipart, checksums, retries, resume.
///
/// Exit codes: 0 success; 1 local problem (missing file, no credentials); 2 usage;
/// 3 the service refused (its error code and request id are printed); 4 the service could not
/// be reached; 5 an integrity check failed.
#[derive(Debug, Parser)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(flatten)]
    pub upload: UploadArgs,
    /// The media file to upload.
    #[arg(required = true)]
    pub file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes.
#[derive(Debug, ClapArgs)]
pub struct Global {
    /// VOD API endpoint; COS is then addressed path style at the same URL. Default: the real
    /// cloud. Under `vod-emulator exec`, VOD_EMULATOR_ENDPOINT is used.
    #[arg(long, global = true, env = "VOD_UPLOAD_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region of the API calls.
    #[arg(
        long,
        global = true,
        env = "TENCENTCLOUD_REGION",
        default_value = "ap-guangzhou"
    )]
    pub region: String,
    /// SecretId (default: TENCENTCLOUD_SECRET_ID, then the profile file).
    #[arg(
        long,
        global = true,
        env = "TENCENTCLOUD_SECRET_ID",
        hide_env_values = true
    )]
    pub secret_id: Option<String>,
    /// SecretKey (default: TENCENTCLOUD_SECRET_KEY, then the profile file).
    #[arg(
        long,
        global = true,
        env = "TENCENTCLOUD_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// Session token of temporary credentials.
    #[arg(
        long,
        global = true,
        env = "TENCENTCLOUD_SESSION_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Profile in ~/.tencentcloud/credentials (or TENCENTCLOUD_CREDENTIALS_FILE).
    #[arg(long, global = true, default_value = "default")]
    pub profile: String,
    /// VOD application (SubAppId).
    #[arg(long, global = true)]
    pub sub_app_id: Option<u64>,
    /// Print the result as one JSON object.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// Flags of an upload.
#[derive(Debug, ClapArgs)]
pub struct UploadArgs {
    /// Cover image to upload with the media.
    #[arg(long, value_name = "IMG")]
    pub cover: Option<PathBuf>,
    /// Task flow to run after the upload, e.g. `QCVB_SimpleProcessFile(1,1)`.
    #[arg(long)]
    pub procedure: Option<String>,
    /// Passed back in the NewFileUpload event (at most 250 bytes).
    #[arg(long)]
    pub source_context: Option<String>,
    /// Passed back in the ProcedureStateChanged event (at most 1000 bytes).
    #[arg(long)]
    pub session_context: Option<String>,
    /// Category id.
    #[arg(long)]
    pub class_id: Option<i64>,
    /// Storage region to force.
    #[arg(long, value_name = "REGION")]
    pub storage_region: Option<String>,
    /// Media type (default: the file's extension).
    #[arg(long)]
    pub media_type: Option<String>,
    /// Media name (default: the file name without extension).
    #[arg(long)]
    pub media_name: Option<String>,
    /// Multipart part size, MiB.
    #[arg(long, default_value_t = 4, value_name = "MIB")]
    pub part_size: u64,
    /// Parts in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Attempts per request (1 = no retry).
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// Start over instead of resuming from a checkpoint.
    #[arg(long)]
    pub no_resume: bool,
}

/// The other actions.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Event notifications (reliable pull mode).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Media management.
    #[command(subcommand)]
    Media(MediaCommand),
}

/// `events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// PullEvents: fetch unconfirmed events (waits up to a few seconds when there are none).
    Pull,
    /// ConfirmEvents: acknowledge events by their EventHandle.
    Confirm {
        /// EventHandles (at most 16).
        #[arg(required = true)]
        handles: Vec<String>,
    },
}

/// `media …`
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// DescribeMediaInfos.
    Describe {
        /// FileIds (at most 20).
        #[arg(required = true)]
        file_ids: Vec<String>,
    },
    /// DeleteMedia.
    Delete {
        /// FileId.
        file_id: String,
    },
}
