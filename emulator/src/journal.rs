//! The request journal: every request the emulator answered (or reset), and every CONNECT its
//! proxy refused, with what a test or a
//! developer needs to see what happened — route, action, status, error code, latency, bytes,
//! signature verdict, the faults applied, and the request fields no handler read.
//!
//! Bounded in memory (oldest entries dropped first), queryable with a [`Filter`], streamed live
//! to subscribers, optionally appended to a JSON-lines file, and logged with `tracing` at info,
//! one line per request.

use crate::glob::glob_matches;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::broadcast;

/// Entries kept in memory unless configured otherwise.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// What the emulator made of a request's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signature {
    /// Verified.
    Valid,
    /// Checked and refused (missing, malformed, wrong, expired).
    Invalid,
    /// Not checked: `--auth none`, a media URL, or the request failed before the check.
    #[default]
    Unchecked,
}

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the journal, from 1 (restarts on reset).
    pub seq: u64,
    /// Emulator time the request arrived, ms since the epoch.
    pub time_ms: i64,
    /// Client address.
    pub client: String,
    /// HTTP method.
    pub method: String,
    /// Request path (without the query).
    pub path: String,
    /// `vod`, `cos` or `media`; absent when nothing serves the path.
    pub service: Option<String>,
    /// VOD action or COS/media operation, when the request could be classified.
    pub action: Option<String>,
    /// COS bucket.
    pub bucket: Option<String>,
    /// COS key.
    pub key: Option<String>,
    /// COS part number.
    pub part_number: Option<u32>,
    /// The request id sent back (`RequestId` / `x-cos-request-id`).
    pub request_id: Option<String>,
    /// HTTP status; absent when the connection was reset instead.
    pub status: Option<u16>,
    /// VOD `Error.Code` or COS `<Code>` of an error answer.
    pub error_code: Option<String>,
    /// Milliseconds from arrival to the response head (including injected latency).
    pub latency_ms: u64,
    /// Request body bytes read.
    pub bytes_in: u64,
    /// Response body bytes sent (as announced; less when a fault cut the body short).
    pub bytes_out: u64,
    /// The signature verdict.
    pub signature: Signature,
    /// The fault rules applied, as `rule-id:effect`.
    pub faults: Vec<String>,
    /// Request fields no handler read: JSON keys (VOD), query parameters and `x-cos-*`
    /// headers (COS). A misspelt or unsupported parameter shows up here.
    pub unread: Vec<String>,
}

impl Entry {
    /// A CONNECT the proxy refused: `path` is the `host:port` asked for, nothing else is known.
    pub fn refused_tunnel(
        time_ms: i64,
        client: std::net::SocketAddr,
        target: &str,
        status: u16,
    ) -> Self {
        Self {
            seq: 0,
            time_ms,
            client: client.to_string(),
            method: "CONNECT".to_owned(),
            path: target.to_owned(),
            service: None,
            action: None,
            bucket: None,
            key: None,
            part_number: None,
            request_id: None,
            status: Some(status),
            error_code: None,
            latency_ms: 0,
            bytes_in: 0,
            bytes_out: 0,
            signature: Signature::Unchecked,
            faults: Vec::new(),
            unread: Vec::new(),
        }
    }
}

/// Which entries to return; every field given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Service (`vod`, `cos`, `media`).
    pub service: Option<String>,
    /// Action or operation.
    pub action: Option<String>,
    /// Bucket.
    pub bucket: Option<String>,
    /// Key glob (`*`, `?`).
    pub key: Option<String>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Error code.
    pub error_code: Option<String>,
    /// Only entries with (`true`) or without (`false`) applied faults.
    pub faulted: Option<bool>,
    /// Only entries where this rule fired.
    pub rule: Option<String>,
    /// Only entries after this sequence number.
    pub since: Option<u64>,
    /// At most this many entries (the most recent ones).
    pub limit: Option<usize>,
}

impl Filter {
    /// Only this service.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Only this action or operation.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Only keys matching this glob.
    pub fn key(mut self, glob: impl Into<String>) -> Self {
        self.key = Some(glob.into());
        self
    }

    /// Only this HTTP status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Only entries with (or without) faults.
    pub fn faulted(mut self, faulted: bool) -> Self {
        self.faulted = Some(faulted);
        self
    }

    /// Only entries where this rule fired.
    pub fn rule(mut self, id: impl Into<String>) -> Self {
        self.rule = Some(id.into());
        self
    }

    /// Whether an entry passes (ignoring `limit`).
    pub fn accepts(&self, e: &Entry) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        eq(&self.service, &e.service)
            && eq(&self.action, &e.action)
            && eq(&self.bucket, &e.bucket)
            && eq(&self.error_code, &e.error_code)
            && self
                .key
                .as_ref()
                .is_none_or(|g| e.key.as_deref().is_some_and(|k| glob_matches(g, k)))
            && self.status.is_none_or(|s| e.status == Some(s))
            && self.faulted.is_none_or(|f| f != e.faults.is_empty())
            && self.rule.as_ref().is_none_or(|r| {
                e.faults
                    .iter()
                    .any(|label| label.split_once(':').is_some_and(|(id, _)| id == r))
            })
            && self.since.is_none_or(|s| e.seq > s)
    }
}

/// How many of the latest requests keep their [`Detail`]: headers and body previews are for
/// reading one recent request, and would multiply the journal's memory if kept for all.
pub const DETAIL_CAPACITY: usize = 500;

/// Longest request body preview kept, in bytes (the VOD API's JSON bodies are small).
pub const BODY_PREVIEW: usize = 2048;

/// What the journal keeps of a recent request beyond its [`Entry`], for a person reading it:
/// the request's headers and a preview of its body when the emulator read it whole (VOD API
/// calls), and the response's headers. Never streamed, never written to the journal file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    /// Request headers, in order, values as (lossy) text.
    pub request_headers: Vec<(String, String)>,
    /// The first [`BODY_PREVIEW`] bytes of the request body, as (lossy) text.
    pub request_body: Option<String>,
    /// Response headers, in order (empty when the connection was reset).
    pub response_headers: Vec<(String, String)>,
}

impl Detail {
    /// Headers as name/value text pairs.
    pub fn headers(map: &http::HeaderMap) -> Vec<(String, String)> {
        map.iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect()
    }

    /// The start of a body, as text.
    pub fn preview(body: &[u8]) -> String {
        String::from_utf8_lossy(&body[..body.len().min(BODY_PREVIEW)]).into_owned()
    }
}

/// Cheap-to-clone handle to the journal.
#[derive(Debug, Clone)]
pub struct Journal {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    // A std mutex: pushes and reads are short and never cross an `.await`.
    ring: Mutex<Ring>,
    capacity: usize,
    live: broadcast::Sender<Entry>,
    file: Option<Mutex<LineWriter<std::fs::File>>>,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Entry>,
    /// The latest [`DETAIL_CAPACITY`] requests' details, by `seq`.
    details: VecDeque<(u64, Detail)>,
    next_seq: u64,
}

impl Journal {
    /// A journal keeping `capacity` entries, also appending JSON lines to `file` when given.
    ///
    /// # Errors
    /// The file cannot be opened for appending.
    pub fn new(capacity: usize, file: Option<&Path>) -> std::io::Result<Self> {
        let file = match file {
            Some(path) => Some(Mutex::new(LineWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ))),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Shared {
                ring: Mutex::new(Ring {
                    next_seq: 1,
                    ..Ring::default()
                }),
                capacity: capacity.max(1),
                live: broadcast::channel(1024).0,
                file,
            }),
        })
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.inner
            .ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an entry (its `seq` is assigned here), logs it and streams it to subscribers.
    pub fn record(&self, entry: Entry) {
        self.record_detailed(entry, None);
    }

    /// [`Journal::record`], keeping the request's [`Detail`] too while it is recent.
    pub fn record_detailed(&self, mut entry: Entry, detail: Option<Detail>) {
        {
            let mut ring = self.ring();
            entry.seq = ring.next_seq;
            ring.next_seq += 1;
            if ring.entries.len() == self.inner.capacity {
                ring.entries.pop_front();
            }
            ring.entries.push_back(entry.clone());
            if let Some(detail) = detail {
                if ring.details.len() == DETAIL_CAPACITY.min(self.inner.capacity) {
                    ring.details.pop_front();
                }
                ring.details.push_back((entry.seq, detail));
            }
        }
        tracing::info!(
            service = entry.service.as_deref().unwrap_or("-"),
            action = entry.action.as_deref().unwrap_or("-"),
            status = entry.status.unwrap_or(0),
            error = entry.error_code.as_deref().unwrap_or(""),
            latency_ms = entry.latency_ms,
            bytes_in = entry.bytes_in,
            bytes_out = entry.bytes_out,
            faults = %entry.faults.join(","),
            unread = %entry.unread.join(","),
            "{} {}",
            entry.method,
            entry.path
        );
        if let Some(file) = &self.inner.file {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            let written = serde_json::to_vec(&entry)
                .map_err(std::io::Error::from)
                .and_then(|line| file.write_all(&line).and_then(|()| file.write_all(b"\n")));
            if let Err(err) = written {
                tracing::warn!(error = %err, "cannot append to the journal file");
            }
        }
        let _ = self.inner.live.send(entry);
    }

    /// The entries passing `filter`, oldest first (the most recent `limit` when given).
    pub fn requests(&self, filter: &Filter) -> Vec<Entry> {
        let ring = self.ring();
        let mut out: Vec<Entry> = ring
            .entries
            .iter()
            .filter(|e| filter.accepts(e))
            .cloned()
            .collect();
        if let Some(limit) = filter.limit {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        out
    }

    /// Entry `seq` and its detail, while both are kept.
    pub fn detail(&self, seq: u64) -> Option<(Entry, Detail)> {
        let ring = self.ring();
        let detail = ring
            .details
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, d)| d.clone())?;
        let entry = ring.entries.iter().find(|e| e.seq == seq)?.clone();
        Some((entry, detail))
    }

    /// Every entry, oldest first.
    pub fn all(&self) -> Vec<Entry> {
        self.requests(&Filter::default())
    }

    /// A live stream of entries recorded from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Entry> {
        self.inner.live.subscribe()
    }

    /// Forgets every entry and restarts the sequence at 1 (the file is kept).
    pub fn clear(&self) {
        let mut ring = self.ring();
        ring.entries.clear();
        ring.details.clear();
        ring.next_seq = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, faults: &[&str]) -> Entry {
        Entry {
            seq: 0,
            time_ms: 0,
            client: "127.0.0.1:1".into(),
            method: "PUT".into(),
            path: "/k".into(),
            service: Some("cos".into()),
            action: Some(action.into()),
            bucket: Some("b-1".into()),
            key: Some("a/f0.mp4".into()),
            part_number: None,
            request_id: None,
            status: Some(200),
            error_code: None,
            latency_ms: 0,
            bytes_in: 0,
            bytes_out: 0,
            signature: Signature::Valid,
            faults: faults.iter().map(|s| (*s).to_owned()).collect(),
            unread: vec![],
        }
    }

    #[test]
    fn the_journal_is_bounded_and_numbers_entries() {
        let j = Journal::new(2, None).expect("journal");
        for a in ["A", "B", "C"] {
            j.record(entry(a, &[]));
        }
        let all = j.all();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].seq, all[1].seq), (2, 3));
        j.clear();
        j.record(entry("D", &[]));
        assert_eq!(j.all()[0].seq, 1);
    }

    #[test]
    fn details_are_kept_for_the_latest_requests_only() {
        let j = Journal::new(DETAIL_CAPACITY + 10, None).expect("journal");
        let detail = |n: usize| Detail {
            request_body: Some(n.to_string()),
            ..Detail::default()
        };
        for n in 0..DETAIL_CAPACITY + 5 {
            j.record_detailed(entry("A", &[]), Some(detail(n)));
        }
        j.record(entry("B", &[]));
        assert!(j.detail(1).is_none(), "the oldest detail was dropped");
        let last = u64::try_from(DETAIL_CAPACITY + 5).unwrap_or(u64::MAX);
        let (e, d) = j.detail(last).expect("the latest detail");
        assert_eq!((e.seq, d), (last, detail(DETAIL_CAPACITY + 4)));
        assert!(j.detail(last + 1).is_none(), "recorded without detail");
        assert_eq!(
            Detail::preview(&[b'x'; BODY_PREVIEW + 1]).len(),
            BODY_PREVIEW
        );
    }

    #[test]
    fn filters_select_by_action_fault_rule_key_and_limit() {
        let j = Journal::new(10, None).expect("journal");
        j.record(entry("UploadPart", &["flaky:error"]));
        j.record(entry("UploadPart", &[]));
        j.record(entry("PutObject", &[]));
        let f = Filter::default().action("UploadPart");
        assert_eq!(j.requests(&f).len(), 2);
        assert_eq!(j.requests(&f.clone().faulted(true)).len(), 1);
        assert_eq!(j.requests(&Filter::default().rule("flaky")).len(), 1);
        assert_eq!(j.requests(&Filter::default().rule("flak")).len(), 0);
        assert_eq!(j.requests(&Filter::default().key("*.mp4")).len(), 3);
        let last = j.requests(&Filter {
            limit: Some(1),
            ..Filter::default()
        });
        assert_eq!(last[0].action.as_deref(), Some("PutObject"));
    }

    #[test]
    fn entries_are_appended_to_the_file_as_json_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal.jsonl");
        let j = Journal::new(10, Some(&path)).expect("journal");
        j.record(entry("PutObject", &[]));
        j.record(entry("UploadPart", &[]));
        let text = std::fs::read_to_string(&path).expect("file");
        let lines: Vec<Entry> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].seq, 2);
    }
}
