//! Where the CPU went during a transfer, from `/proc`: how many cores the machine kept busy,
//! the bench's own share (the client, and nothing else of the bench runs meanwhile), and the
//! server's, by thread name.
//!
//! The bench's client and the server share the machine's cores. A transfer that keeps them
//! all busy is bound by the CPU, whatever the disk and the loopback could take; the split
//! shows what the server spends its share on (for the emulator: `md5-lanes` is the MD5
//! service, `ingest-*` the CRC-64 and disk writers, `tokio-rt-worker` the receiving and
//! everything else). Threads that ended during the transfer (a body's disk writer ends with
//! its body) are gone from `/proc` by the end; the process's total still counts them, and the
//! split shows that remainder as `(ended threads)`. Linux only; elsewhere the figures are
//! absent.

use std::collections::BTreeMap;
use std::time::Instant;
use vod_testkit::cpu::{stat, TICKS_PER_SECOND};

/// The counters at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    machine_busy: u64,
    client: u64,
    server: u64,
    /// Thread id: (name, ticks).
    threads: BTreeMap<String, (String, u64)>,
}

/// CPU used between two samples, in cores (CPU seconds per second).
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// The machine's cores busy (not idle, not waiting for I/O).
    pub busy: f64,
    /// The bench process: the client.
    pub client: f64,
    /// The server process, by thread name, largest first.
    pub server: Vec<(String, f64)>,
}

impl Split {
    /// The server's total.
    pub fn server_total(&self) -> f64 {
        self.server.iter().map(|(_, c)| c).sum()
    }
}

impl Sample {
    /// The counters now, with the threads of process `server`; `None` without `/proc`.
    pub fn take(server: u32) -> Option<Self> {
        Some(Self {
            at: Instant::now(),
            machine_busy: machine_busy()?,
            client: stat("/proc/self/stat")?.ticks,
            server: stat(&format!("/proc/{server}/stat"))?.ticks,
            threads: threads(server)?,
        })
    }

    /// What was used from this sample to `later`.
    pub fn until(&self, later: &Sample) -> Split {
        let seconds = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds;
        let mut by_name: BTreeMap<&str, u64> = BTreeMap::new();
        let mut live = 0;
        for (tid, (name, ticks)) in &later.threads {
            let before = self.threads.get(tid).map_or(0, |(_, t)| *t);
            let used = ticks.saturating_sub(before);
            live += used;
            *by_name.entry(name).or_insert(0) += used;
        }
        let ended = later
            .server
            .saturating_sub(self.server)
            .saturating_sub(live);
        let mut server: Vec<(String, f64)> = by_name
            .into_iter()
            .map(|(name, t)| (name.to_owned(), cores(t)))
            .chain([("(ended threads)".to_owned(), cores(ended))])
            .filter(|(_, c)| *c > 0.0)
            .collect();
        server.sort_by(|a, b| b.1.total_cmp(&a.1));
        Split {
            busy: cores(later.machine_busy.saturating_sub(self.machine_busy)),
            client: cores(later.client.saturating_sub(self.client)),
            server,
        }
    }
}

/// Busy ticks of all cores: the first line of `/proc/stat` without idle and iowait.
fn machine_busy() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is counted in user already)
    let total: u64 = fields.iter().take(8).sum();
    Some(total - fields.get(3)? - fields.get(4)?)
}

/// `(name, ticks)` of every live thread of `pid`, by thread id.
fn threads(pid: u32) -> Option<BTreeMap<String, (String, u64)>> {
    let mut threads = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let path = entry.path().join("stat");
        if let Some(s) = path.to_str().and_then(stat) {
            threads.insert(
                entry.file_name().to_string_lossy().into_owned(),
                (s.name, s.ticks),
            );
        }
    }
    Some(threads)
}
