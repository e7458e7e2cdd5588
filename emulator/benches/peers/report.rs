//! The printed result: one table of figures, the ratios that matter, and the targets
//! with PASS or MISS next to what was measured.

use crate::cpu;
use std::time::Duration;

/// Name of the row that is the emulator under test.
pub const EMULATOR: &str = "vod-emulator";
/// Name of the loopback-ceiling row.
pub const CEILING: &str = "ceiling";

/// One server's figures; `None` where not measured (not applicable, or the run stopped).
#[derive(Debug, Default)]
pub struct Figures {
    /// MD5 alone (RustCrypto `md-5`) over 256 MiB of the file, right before this server's
    /// PUTs, MiB/s.
    pub md5: Option<f64>,
    /// The emulator's MD5 kernel (`vod_protocol::checksum::md5`, `md5-many`'s single
    /// stream) over the same bytes, right after `md5`, MiB/s: the bound of a single-stream
    /// PUT on this CPU, which must hash every byte in order.
    pub kernel: Option<f64>,
    /// coreutils `md5sum` over the whole 1 GiB file (in the page cache), right after `md5`,
    /// MiB/s.
    pub md5sum: Option<f64>,
    /// Spawn to first successful request (median).
    pub startup: Option<Duration>,
    /// The fastest of those start-ups.
    pub startup_min: Option<Duration>,
    /// Single-stream PUT of 256 MiB, MiB/s.
    pub put_small: Option<f64>,
    /// Single-stream PUT of 1 GiB, MiB/s.
    pub put_big: Option<f64>,
    /// Multipart of 1 GiB, 8 MiB parts, 4 in flight, MiB/s.
    pub multipart_4: Option<f64>,
    /// The same, 8 in flight.
    pub multipart_8: Option<f64>,
    /// GET of the multipart object, MiB/s.
    pub get: Option<f64>,
    /// CompleteMultipartUpload of 8 parts of 8 MiB.
    pub complete_8: Option<Duration>,
    /// CompleteMultipartUpload of 512 parts of 8 MiB (4 GiB).
    pub complete_512: Option<Duration>,
    /// Peak RSS over the server's run, MiB.
    pub rss: Option<f64>,
    /// Where the CPU went during the big transfers (the emulator only), by transfer.
    pub cpu: Vec<(&'static str, Option<cpu::Split>)>,
}

/// A server's line in the report.
#[derive(Debug)]
pub struct Row {
    name: &'static str,
    what: String,
    figures: Figures,
    error: Option<String>,
}

impl Row {
    /// `figures` of server `name` (`what` it is: version, flags), and why its run stopped.
    pub fn new(
        name: &'static str,
        what: &str,
        figures: Figures,
        outcome: anyhow::Result<()>,
    ) -> Self {
        Self {
            name,
            what: what.to_owned(),
            figures,
            error: outcome.err().map(|e| format!("{e:#}")),
        }
    }
}

impl Row {
    /// Keeps the better of each figure of this row and of a second run of the same server.
    pub fn keep_best(&mut self, again: Figures, outcome: anyhow::Result<()>) {
        let best = |a: &mut Option<f64>, b: Option<f64>| {
            *a = match (*a, b) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
        };
        let f = &mut self.figures;
        best(&mut f.md5, again.md5);
        best(&mut f.kernel, again.kernel);
        best(&mut f.md5sum, again.md5sum);
        best(&mut f.put_small, again.put_small);
        best(&mut f.put_big, again.put_big);
        best(&mut f.multipart_4, again.multipart_4);
        best(&mut f.multipart_8, again.multipart_8);
        if let Err(e) = outcome {
            self.error.get_or_insert(format!("{e:#}"));
        }
    }
}

/// Small signed flows per second, by number of concurrent clients.
#[derive(Debug, Default)]
pub struct Flows {
    /// (clients, flows per second or why not).
    pub rates: Vec<(usize, Result<f64, String>)>,
    /// Peak RSS of the verifying emulator, MiB.
    pub rss: Option<f64>,
    /// Why the flows could not run at all.
    pub error: Option<String>,
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Report {
    /// The servers, ceiling first.
    pub rows: Vec<Row>,
    /// The signed small flows.
    pub flows: Flows,
    /// Bytes the emulator held at the end of its run.
    pub stored: u64,
    /// Sequential `O_DIRECT` write rate of the data's file system (best of a run at the start
    /// and one at the end), MiB/s: with the loopback ceiling, the physical bound of multipart.
    pub disk: Option<f64>,
}

impl Report {
    /// Prints the report on stdout.
    pub fn print(&self) {
        println!();
        println!("vod-emulator vs peers, one run (throughput in MiB/s; same client, same file)");
        println!(
            "MD5: md-5 alone over 256 MiB of the same bytes, sampled before each server's PUTs;"
        );
        println!("kernel: the emulator's MD5 (md5-many, one stream) over them: a PUT's bound;");
        println!("md5sum: coreutils md5sum over the 1 GiB file, sampled right after.");
        println!("MP: multipart of 1 GiB in 8 MiB parts, 4 or 8 in flight; GET: of that object.");
        println!(
            "Complete: CompleteMultipartUpload of 8 and 512 parts of 8 MiB (512 for the emulator"
        );
        println!(
            "only: the peers copy the parts, which for 4 GiB took them 19-40 s and moto 17.6 GiB)."
        );
        println!();
        table_line(&[
            "server",
            "start-up",
            "(min)",
            "MD5",
            "kernel",
            "md5sum",
            "PUT 256M",
            "PUT 1G",
            "MP x4",
            "MP x8",
            "GET 1G",
            "Complete 8/512 pt",
            "peak RSS",
        ]);
        for r in &self.rows {
            let f = &r.figures;
            let complete = match (f.complete_8, f.complete_512) {
                (Some(a), Some(b)) => format!("{} / {}", ms(Some(a)), ms(Some(b))),
                (Some(a), None) => format!("{} / -", ms(Some(a))),
                _ => "-".into(),
            };
            table_line(&[
                r.name,
                &ms(f.startup),
                &ms(f.startup_min),
                &mibs(f.md5),
                &mibs(f.kernel),
                &mibs(f.md5sum),
                &mibs(f.put_small),
                &mibs(f.put_big),
                &mibs(f.multipart_4),
                &mibs(f.multipart_8),
                &mibs(f.get),
                &complete,
                &f.rss.map_or("-".into(), |m| format!("{m:.0} MiB")),
            ]);
        }
        println!(
            "{:<14} sequential O_DIRECT write {} MiB/s (dd bs=8M, 1 GiB, best of 2)",
            "disk",
            mibs(self.disk)
        );
        println!();
        for r in &self.rows {
            let status = match &r.error {
                Some(e) => format!("NOT MEASURED (fully): {e}"),
                None => "ok".into(),
            };
            println!("  {:<14} {:<28} {status}", r.name, r.what);
        }
        println!();
        self.print_ratios();
        println!();
        self.print_cpu();
        println!();
        self.print_flows();
        println!();
        self.print_targets();
    }

    fn row(&self, name: &str) -> Option<&Figures> {
        self.rows
            .iter()
            .find(|r| r.name == name)
            .map(|r| &r.figures)
    }

    fn peers(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.name != EMULATOR && r.name != CEILING)
    }

    fn print_ratios(&self) {
        let ceiling = self.row(CEILING);
        let ceil = |pick: fn(&Figures) -> Option<f64>| ceiling.and_then(pick);
        println!(
            "{:<14} {:>14} {:>17} {:>15} {:>14} {:>16} {:>16}",
            "ratios",
            "PUT 1G / MD5",
            "PUT 1G / kernel",
            "PUT 1G / md5sum",
            "PUT 1G / ceil",
            "MP x4 / bound",
            "MP x8 / bound"
        );
        for r in self.rows.iter().filter(|r| r.name != CEILING) {
            let f = &r.figures;
            println!(
                "{:<14} {:>14} {:>17} {:>15} {:>14} {:>16} {:>16}",
                r.name,
                times(ratio(f.put_big, f.md5)),
                times(ratio(f.put_big, f.kernel)),
                times(ratio(f.put_big, f.md5sum)),
                times(ratio(f.put_big, ceil(|c| c.put_big))),
                times(ratio(f.multipart_4, self.bound(|c| c.multipart_4))),
                times(ratio(f.multipart_8, self.bound(|c| c.multipart_8))),
            );
        }
        println!(
            "  (bound: the lower of the loopback ceiling at that parallelism and the disk's \
             O_DIRECT write rate)"
        );
    }

    /// The physical bound of a transfer: the lower of the loopback ceiling's `pick` figure
    /// and the disk's sequential write rate.
    fn bound(&self, pick: fn(&Figures) -> Option<f64>) -> Option<f64> {
        let ceiling = self.row(CEILING).and_then(pick);
        match (ceiling, self.disk) {
            (Some(c), Some(d)) => Some(c.min(d)),
            (c, d) => c.or(d),
        }
    }

    fn print_cpu(&self) {
        let Some(emu) = self.row(EMULATOR) else {
            return;
        };
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "CPU during the emulator's transfers, in cores busy of {cores} (/proc; client = this bench):"
        );
        if emu.cpu.is_empty() {
            println!("  NOT MEASURED (no /proc)");
        }
        for (transfer, split) in &emu.cpu {
            let Some(split) = split else { continue };
            let threads: Vec<String> = split
                .server
                .iter()
                .map(|(name, c)| format!("{name} {c:.2}"))
                .collect();
            println!(
                "  {transfer:<7} machine {:.2} | client {:.2} | emulator {:.2}: {}",
                split.busy,
                split.client,
                split.server_total(),
                threads.join(", ")
            );
        }
    }

    fn print_flows(&self) {
        println!(
            "full small flows (ApplyUpload + 64 KiB PUT + CommitUpload, signed as the SDKs sign):"
        );
        if let Some(e) = &self.flows.error {
            println!("  NOT MEASURED: {e}");
        }
        for (clients, rate) in &self.flows.rates {
            match rate {
                Ok(r) => println!("  {clients:>3} concurrent clients: {r:>7.0} flows/s"),
                Err(e) => println!("  {clients:>3} concurrent clients: FAILED: {e}"),
            }
        }
        if let Some(rss) = self.flows.rss {
            println!("  peak RSS of that emulator: {rss:.0} MiB");
        }
    }

    fn print_targets(&self) {
        let emu = self.row(EMULATOR);
        let pick = |p: fn(&Figures) -> Option<f64>| emu.and_then(p);
        println!("targets (issues 8 and 19)");
        let fastest_start = self
            .peers()
            .filter_map(|r| r.figures.startup.map(|s| (s, r.name)))
            .min();
        let emu_start = emu.and_then(|e| e.startup);
        target(
            &format!(
                "start-up <= fastest peer ({})",
                fastest_start.map_or("none".into(), |(s, n)| format!("{n} {}", ms(Some(s))))
            ),
            ms(emu_start),
            match (emu_start, fastest_start) {
                (Some(e), Some((p, _))) => Some(e <= p),
                _ => None,
            },
        );
        for (label, p) in [
            (
                "PUT 256 MiB",
                (|f: &Figures| f.put_small) as fn(&Figures) -> Option<f64>,
            ),
            ("PUT 1 GiB", |f: &Figures| f.put_big),
        ] {
            let r = ratio(pick(p), pick(|f| f.md5sum));
            target(
                &format!("{label} >= 1.2x coreutils md5sum"),
                times(r),
                r.map(|r| r >= 1.2),
            );
            let best = self
                .peers()
                .filter_map(|row| p(&row.figures).map(|v| (v, row.name)))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let r = ratio(pick(p), best.map(|b| b.0));
            target(
                &format!(
                    "{label} >= 1.5x fastest peer ({})",
                    best.map_or("none", |b| b.1)
                ),
                times(r),
                r.map(|r| r >= 1.5),
            );
        }
        if let Some(e) = emu {
            println!(
                "  {:<48} {:>34}",
                "  (bound: the MD5 kernel alone vs md5sum)",
                times(ratio(e.kernel, e.md5sum))
            );
        }
        for (label, p) in [
            (
                "multipart x4",
                (|f: &Figures| f.multipart_4) as fn(&Figures) -> Option<f64>,
            ),
            ("multipart x8", |f: &Figures| f.multipart_8),
        ] {
            let r = ratio(pick(p), self.bound(p));
            target(
                &format!("{label} >= 0.8x physical bound"),
                times(r),
                r.map(|r| r >= 0.8),
            );
        }
        let c512 = emu.and_then(|e| e.complete_512);
        let flat = match (emu.and_then(|e| e.complete_8), c512) {
            (Some(a), Some(b)) => format!(
                "{} -> {} ({:.1}x for 64x the bytes)",
                ms(Some(a)),
                ms(Some(b)),
                b.as_secs_f64() / a.as_secs_f64().max(1e-6)
            ),
            _ => "-".into(),
        };
        target(
            "Complete of 4 GiB (512 parts) < 100 ms: no copy",
            flat,
            c512.map(|d| d < Duration::from_millis(100)),
        );
        let rss = [emu.and_then(|e| e.rss), self.flows.rss]
            .into_iter()
            .flatten()
            .reduce(f64::max);
        target(
            &format!(
                "peak RSS < 64 MiB (storing {:.1} GiB)",
                self.stored as f64 / (1u64 << 30) as f64
            ),
            rss.map_or("-".into(), |r| format!("{r:.0} MiB")),
            rss.map(|r| r < 64.0),
        );
    }
}

/// One line of the main table: the name left-aligned, the figures right-aligned.
fn table_line(cells: &[&str; 13]) {
    const WIDTHS: [usize; 13] = [14, 10, 9, 6, 7, 7, 9, 8, 8, 8, 8, 22, 9];
    let mut line = format!("{:<w$}", cells[0], w = WIDTHS[0]);
    for (cell, w) in cells.iter().zip(WIDTHS).skip(1) {
        line.push_str(&format!(" {cell:>w$}"));
    }
    println!("{line}");
}

fn target(label: &str, measured: String, ok: Option<bool>) {
    let verdict = match ok {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "n/a",
    };
    println!("  {label:<48} {measured:>34}  {verdict}");
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b.filter(|b| *b > 0.0)?)
}

fn times(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}x"))
}

fn mibs(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}"))
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    })
}
