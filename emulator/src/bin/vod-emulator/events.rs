//! `vod-emulator events …`: webhook developer tools that talk to a running emulator's admin
//! API (never to the cloud): `tail` streams events and deliveries as they happen, `list`
//! prints every event with its delivery state, `resend ID` delivers one again, `trigger
//! NewFileUpload --file-id …` sends a synthetic event through the configured mode.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `vod-emulator events`. The flags are global: they may follow the subcommand
/// (`events tail --json`) or precede it (`events --json tail`).
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The emulator to talk to.
    #[arg(
        long,
        env = "VOD_EMULATOR_ENDPOINT",
        default_value = "http://127.0.0.1:9266",
        value_name = "URL",
        global = true
    )]
    endpoint: String,
    /// Print JSON, one object a line: the feed's lines, the events, the admin API's answers.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: EventsCommand,
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Follow the live feed: events created, pulled, confirmed, pushed, retried, given up.
    Tail,
    /// Print every event with its delivery state.
    List,
    /// Deliver an event again (pull: pullable now; push: a fresh round of tries).
    Resend {
        /// Event id (from `list` or `tail`).
        id: i64,
    },
    /// Send a synthetic event to the configured callback (or pull queue).
    Trigger {
        /// Event type; only NewFileUpload.
        event_type: String,
        /// FileId the event names.
        #[arg(long)]
        file_id: String,
        /// VOD application whose configuration delivers it.
        #[arg(long, default_value_t = 0)]
        sub_app_id: u64,
    },
}

/// Runs an `events` subcommand. Output goes to standard output through fallible writes, so a
/// reader that goes away (`| head -1`) ends the command with a broken-pipe error.
///
/// # Errors
/// The emulator cannot be reached or refuses, or standard output is closed.
pub async fn run(args: &EventsArgs) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let base = format!("{}/_emulator", args.endpoint.trim_end_matches('/'));
    let mut out = std::io::stdout();
    match &args.command {
        EventsCommand::Tail => {
            let resp = client
                .get(format!("{base}/events/stream"))
                .send()
                .await
                .with_context(|| format!("cannot reach {}", args.endpoint))?;
            if !resp.status().is_success() {
                bail!("the emulator answered HTTP {}", resp.status());
            }
            let mut body = resp.bytes_stream();
            let mut pending = Vec::new();
            while let Some(chunk) = body.next().await {
                pending.extend_from_slice(&chunk.context("the feed broke off")?);
                while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=i).collect();
                    print_feed_line(&mut out, &String::from_utf8_lossy(&line), args.json)?;
                }
            }
            eprintln!("vod-emulator events: the emulator ended the feed (it is stopping)");
        }
        EventsCommand::List => {
            let v = call(client.get(format!("{base}/events"))).await?;
            for event in v["events"].as_array().into_iter().flatten() {
                print_event(&mut out, "", event, args.json)?;
            }
        }
        EventsCommand::Resend { id } => {
            let v = call(client.post(format!("{base}/events/{id}/resend"))).await?;
            if args.json {
                writeln!(out, "{v}")?;
            } else {
                writeln!(out, "event {id} will be delivered again")?;
            }
        }
        EventsCommand::Trigger {
            event_type,
            file_id,
            sub_app_id,
        } => {
            let v = call(client.post(format!("{base}/events/trigger")).query(&[
                ("type", event_type.as_str()),
                ("fileId", file_id.as_str()),
                ("subAppId", &sub_app_id.to_string()),
            ]))
            .await?;
            if args.json {
                writeln!(out, "{v}")?;
            } else {
                writeln!(
                    out,
                    "triggered {event_type} for {file_id}: event {}",
                    v["ids"]
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn call(req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let resp = req.send().await.context("cannot reach the emulator")?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .context("the emulator's answer broke off")?;
    let body: Value =
        serde_json::from_slice(&bytes).context("the emulator's answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "HTTP {status}: {}",
            body["error"].as_str().unwrap_or_default()
        );
    }
    Ok(body)
}

fn print_feed_line(out: &mut impl Write, line: &str, json: bool) -> std::io::Result<()> {
    let line = line.trim();
    if json {
        return writeln!(out, "{line}");
    }
    match serde_json::from_str::<Value>(line) {
        Ok(v) => print_event(
            out,
            v["what"].as_str().unwrap_or_default(),
            &v["event"],
            false,
        ),
        Err(_) => writeln!(out, "{line}"),
    }
}

fn print_event(out: &mut impl Write, what: &str, e: &Value, json: bool) -> std::io::Result<()> {
    if json {
        return writeln!(out, "{e}");
    }
    let error = e["lastError"]
        .as_str()
        .map(|s| format!("  ({s})"))
        .unwrap_or_default();
    writeln!(
        out,
        "{what:<10} #{:<5} {:<22} file {:<20} {} {:<9} tries {}{error}",
        e["id"],
        e["eventType"].as_str().unwrap_or_default(),
        e["fileId"].as_str().unwrap_or("-"),
        e["delivery"].as_str().unwrap_or_default(),
        e["state"].as_str().unwrap_or_default(),
        e["attempts"],
    )
}
