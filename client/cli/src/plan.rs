//! Flags → a validated plan, before any I/O: endpoints, credentials, region, options.

use crate::args::{Args, Command, EventsCommand, Global, MediaCommand, UploadArgs};
use anyhow::{bail, Context};
use std::path::PathBuf;
use vod_client::retry::RetryPolicy;
use vod_client::upload::MIN_PART_SIZE;
use vod_client::wire::events::{ConfirmEventsRequest, PullEventsRequest};
use vod_client::wire::media::{DeleteMediaRequest, DescribeMediaInfosRequest};
use vod_client::wire::vod::REGIONS;
use vod_client::{CosEndpoint, Credentials, UploadOptions};

/// A mistake in the command line: exit code 2, as clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Returns a [`Usage`] error built like `format!`.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(Usage(format!($($arg)*)).into())
    };
}

/// What to do.
#[derive(Debug)]
pub enum Action {
    /// Upload a file.
    Upload(PathBuf, Box<UploadOptions>),
    /// PullEvents.
    Pull(PullEventsRequest),
    /// ConfirmEvents.
    Confirm(ConfirmEventsRequest),
    /// DescribeMediaInfos.
    Describe(DescribeMediaInfosRequest),
    /// DeleteMedia.
    Delete(DeleteMediaRequest),
}

/// A validated invocation.
#[derive(Debug)]
pub struct Plan {
    pub vod_endpoint: String,
    pub cos_endpoint: CosEndpoint,
    pub credentials: Credentials,
    pub region: String,
    pub json: bool,
    pub quiet: bool,
    pub action: Action,
}

impl Plan {
    pub fn from_args(args: Args) -> anyhow::Result<Self> {
        let g = &args.global;
        if !REGIONS.contains(&g.region.as_str()) {
            usage!(
                "unknown region `{}`; VOD regions are: {}",
                g.region,
                REGIONS.join(", ")
            );
        }
        let (vod_endpoint, cos_endpoint) = match endpoint(g) {
            Some(url) => (url.clone(), CosEndpoint::PathStyle(url)),
            None => (
                vod_client::vod::DEFAULT_ENDPOINT.to_owned(),
                CosEndpoint::Cloud,
            ),
        };
        let action = match args.command {
            Some(Command::Events(EventsCommand::Pull)) => Action::Pull(PullEventsRequest {
                sub_app_id: g.sub_app_id,
                ..Default::default()
            }),
            Some(Command::Events(EventsCommand::Confirm { handles })) => {
                Action::Confirm(ConfirmEventsRequest {
                    event_handles: Some(handles),
                    sub_app_id: g.sub_app_id,
                    ..Default::default()
                })
            }
            Some(Command::Media(MediaCommand::Describe { file_ids })) => {
                Action::Describe(DescribeMediaInfosRequest {
                    file_ids: Some(file_ids),
                    sub_app_id: g.sub_app_id,
                    ..Default::default()
                })
            }
            Some(Command::Media(MediaCommand::Delete { file_id })) => {
                Action::Delete(DeleteMediaRequest {
                    file_id: Some(file_id),
                    sub_app_id: g.sub_app_id,
                    ..Default::default()
                })
            }
            None => {
                let file = args.file.context("no file to upload")?;
                if file.is_dir() {
                    usage!(
                        "`{}` is a directory: give one media file (an HLS or DASH manifest brings its segments along)",
                        file.display()
                    );
                }
                let extension = file.extension().filter(|e| !e.is_empty());
                if extension.is_none() && args.upload.media_type.is_none() {
                    usage!(
                        "`{}` has no extension: name its media type with --media-type (mp4, mov, m3u8, …)",
                        file.display()
                    );
                }
                Action::Upload(file, Box::new(upload_options(&args.upload, g)?))
            }
        };
        Ok(Self {
            vod_endpoint,
            cos_endpoint,
            credentials: credentials(g)?,
            region: g.region.clone(),
            json: g.json,
            quiet: g.quiet,
            action,
        })
    }
}

fn endpoint(g: &Global) -> Option<String> {
    g.endpoint
        .clone()
        .or_else(|| std::env::var("VOD_EMULATOR_ENDPOINT").ok())
        .filter(|e| !e.is_empty())
}

fn credentials(g: &Global) -> anyhow::Result<Credentials> {
    if let (Some(id), Some(key)) = (&g.secret_id, &g.secret_key) {
        return Ok(Credentials {
            secret_id: id.clone(),
            secret_key: key.clone(),
            token: g.token.clone(),
        });
    }
    match Credentials::default_profile_file().filter(|p| p.exists()) {
        Some(path) => Ok(Credentials::from_profile_file(&path, &g.profile)?),
        None => bail!(
            "no credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, pass --secret-id/--secret-key, or write ~/.tencentcloud/credentials"
        ),
    }
}

fn upload_options(u: &UploadArgs, g: &Global) -> anyhow::Result<UploadOptions> {
    if u.part_size == 0 || u.part_size > 5 * 1024 {
        usage!("--part-size must be between 1 and 5120 MiB");
    }
    if u.concurrency == 0 {
        usage!("--concurrency must be at least 1");
    }
    if let Some(r) = &u.storage_region {
        if !REGIONS.contains(&r.as_str()) {
            usage!(
                "unknown storage region `{r}`; VOD regions are: {}",
                REGIONS.join(", ")
            );
        }
    }
    let part_size = u.part_size * MIN_PART_SIZE;
    Ok(UploadOptions {
        media_type: u.media_type.clone(),
        media_name: u.media_name.clone(),
        cover: u.cover.clone(),
        procedure: u.procedure.clone(),
        source_context: u.source_context.clone(),
        session_context: u.session_context.clone(),
        class_id: u.class_id,
        storage_region: u.storage_region.clone(),
        sub_app_id: g.sub_app_id,
        part_size,
        concurrency: u.concurrency,
        multipart_threshold: part_size,
        resume: !u.no_resume,
        retry: RetryPolicy {
            max_attempts: u.attempts.max(1),
            ..RetryPolicy::default()
        },
    })
}
