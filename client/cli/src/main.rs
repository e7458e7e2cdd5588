//! `vod-upload`: upload media to VOD (cloud or emulator) with the reference client, and call
//! the other upload-related actions.
//!
//! flags ([`args`]) → validated plan ([`plan`]) → run → output ([`output`]).

mod args;
mod output;
mod plan;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use plan::{Action, Plan};
use std::io::IsTerminal;
use std::process::ExitCode;
use vod_client::{Progress, Uploader, VodClient};

/// Prints an API response (compact JSON with `--json`, indented otherwise).
fn print<T: serde::Serialize>(json: bool, response: &T) -> anyhow::Result<()> {
    let value = serde_json::to_value(response)?;
    output::success(json, &value, &serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn main() -> ExitCode {
    let args = args::Args::parse();
    let json = args.global.json;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => return output::failure(json, &err.into()),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => output::failure(json, &err),
    }
}

async fn run(args: args::Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("VOD_UPLOAD_LOG"))
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs())
        .init();
    let plan = Plan::from_args(args)?;
    let http =
        trusting_ssl_cert_file(reqwest::Client::builder().pool_max_idle_per_host(32))?.build()?;
    let vod = VodClient::new(
        http.clone(),
        &plan.vod_endpoint,
        plan.credentials.clone(),
        plan.region.clone(),
    )?;
    match plan.action {
        Action::Pull(req) => print(plan.json, &vod.pull_events(&req).await?)?,
        Action::Confirm(req) => print(plan.json, &vod.confirm_events(&req).await?)?,
        Action::Describe(req) => print(plan.json, &vod.describe_media_infos(&req).await?)?,
        Action::Delete(req) => print(plan.json, &vod.delete_media(&req).await?)?,
        Action::Upload(file, options) => {
            let bar = (!plan.quiet && !plan.json && std::io::stderr().is_terminal()).then(|| {
                let bar = ProgressBar::new(0);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} eta {eta} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar
            });
            let shown = bar.clone();
            let cover = options.cover.clone();
            let uploader = Uploader::new(vod, http, plan.cos_endpoint)
                .with_options(*options)
                .on_progress(move |p| {
                    let Some(bar) = &shown else { return };
                    match p {
                        Progress::Planned { total_bytes } => bar.set_length(total_bytes),
                        Progress::Bytes { done } => bar.set_position(done),
                        Progress::Retry { error, attempt } => {
                            bar.set_message(format!("retry {attempt}: {error}"))
                        }
                        Progress::Reapply => bar.set_message("credentials expired, applying again"),
                        Progress::Session { resumed: true } => bar.set_message("resuming"),
                        Progress::Session { .. }
                        | Progress::Part { .. }
                        | Progress::Committed { .. } => {}
                    }
                });
            let outcome = tokio::select! {
                outcome = uploader.upload(&file) => Some(outcome),
                _ = tokio::signal::ctrl_c() => None,
            };
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let checkpoint = vod_client::checkpoint::path_for(&file);
            let outcome = outcome
                .ok_or_else(|| Interrupted(checkpoint.exists().then_some(checkpoint)))?
                .map_err(|err| name_the_cover(err, cover.as_deref()))?;
            let value = serde_json::to_value(&outcome)?;
            let human = match &outcome.cover_url {
                Some(cover) => format!(
                    "FileId {}\nMediaUrl {}\nCoverUrl {cover}",
                    outcome.file_id, outcome.media_url
                ),
                None => format!("FileId {}\nMediaUrl {}", outcome.file_id, outcome.media_url),
            };
            output::success(plan.json, &value, &human);
        }
    }
    Ok(())
}

/// Ctrl-C during an upload: exit code 130, and where the checkpoint that resumes it is.
#[derive(Debug, thiserror::Error)]
#[error("interrupted{}", match .0 {
    Some(path) => format!("; the checkpoint {} is kept: run the same command again to resume", path.display()),
    None => String::new(),
})]
pub struct Interrupted(Option<std::path::PathBuf>);

/// Adds the certificates of `SSL_CERT_FILE` (what `vod-emulator exec` sets to its local CA) to
/// the trusted roots, so `--endpoint https://127.0.0.1:PORT` works as it does for OpenSSL
/// clients.
fn trusting_ssl_cert_file(
    builder: reqwest::ClientBuilder,
) -> anyhow::Result<reqwest::ClientBuilder> {
    use anyhow::Context;
    let Some(path) = std::env::var_os("SSL_CERT_FILE") else {
        return Ok(builder);
    };
    let pem = std::fs::read(&path)
        .with_context(|| format!("reading SSL_CERT_FILE {}", path.to_string_lossy()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).with_context(|| {
        format!(
            "SSL_CERT_FILE {} holds no PEM certificate",
            path.to_string_lossy()
        )
    })?;
    Ok(certs
        .into_iter()
        .fold(builder, reqwest::ClientBuilder::add_root_certificate))
}

/// An upload error about the cover file, said to be about the cover: the client's error names
/// only the path.
fn name_the_cover(err: vod_client::Error, cover: Option<&std::path::Path>) -> anyhow::Error {
    match &err {
        vod_client::Error::File { path, .. } if Some(path.as_path()) == cover => {
            anyhow::Error::new(err).context("cannot read the cover")
        }
        _ => err.into(),
    }
}

/// Log lines are coloured only on a terminal, and never when `NO_COLOR` is set (non-empty,
/// no-color.org): escape codes in a pipe or a CI log are noise.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
