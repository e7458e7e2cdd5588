//! The emulator against the S3 servers a user would pick instead, in one run:
//! `cargo bench -p vod-emulator --bench peers`.
//!
//! Every server gets the same unsigned path-style client ([`s3`]), the same file and the same
//! figures: start-up to healthy, single-stream PUT of 256 MiB and 1 GiB, parallel multipart of
//! 1 GiB (8 MiB parts, 4 and 8 in flight), GET of it, CompleteMultipartUpload latency for 8 and
//! 512 parts of 8 MiB, and peak RSS. Bounds frame them: MD5 alone (`md-5`, and the
//! emulator's own kernel) and coreutils `md5sum` over the same bytes (a simple PUT must
//! return the MD5 ETag), a server that
//! discards what it reads ([`ceiling`]), and the sequential `O_DIRECT` write rate of the
//! disk the data goes to (`dd`); for the emulator, where the CPU went during each transfer
//! ([`cpu`]). The emulator is its release binary with `--auth none`, as the peers check no
//! signatures; full signed flows per second ([`flows`]) run against a second one that verifies.
//! The peers are installed by the bench itself ([`install`]); one that cannot be installed or
//! started is reported as such. [`report`] prints the table, the ratios and the issue's
//! targets with PASS/MISS.
//!
//! The figures are one run on a shared machine: compare ratios within a run, not across runs.
//! Naming servers after `--` (`-- vod-emulator s3s-fs`) measures only those, besides the
//! bounds: quicker when working on one of them.

mod ceiling;
mod cpu;
mod flows;
mod install;
mod report;
mod s3;
mod server;

use anyhow::{bail, Result};
use bytes::Bytes;
use md5::{Digest, Md5};
use report::{Figures, Flows, Report, Row};
use server::Recipe;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use vod_protocol::checksum::md5 as kernel;

const MIB: u64 = 1024 * 1024;
/// The big object.
const GIB: u64 = 1024 * MIB;
/// The small single-stream object.
const SMALL: u64 = 256 * MIB;
/// Multipart part size.
const PART: u64 = 8 * MIB;
/// What the emulator holds at the end of its run: two PUTs, two multipart objects, and the
/// 8- and 512-part objects of the Complete figures.
const STORED: u64 = SMALL + 3 * GIB + 520 * PART;
/// Disk the run needs at its peak: the file and what the emulator stores.
const NEEDED_GIB: f64 = 9.0;
/// Start-ups timed per server (the median is reported).
const STARTS: usize = 7;
/// How long each small-flow concurrency level runs.
const FLOW_WINDOW: Duration = Duration::from_secs(4);
/// The emulator's default bucket (AppId 1250000000, region ap-guangzhou).
const EMULATOR_BUCKET: &str = "vod-ap-guangzhou-1250000000";
/// The bucket the bench creates on each peer.
const PEER_BUCKET: &str = "bench";
const EMULATOR: &str = env!("CARGO_BIN_EXE_vod-emulator");

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("peers bench: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("peers bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let began = Instant::now();
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| named.is_empty() || named.iter().any(|n| n == name);
    let root = install::root();
    let peers: [(&str, &str, install::Installer); 3] = [
        ("s3s-fs", install::S3S_FS, install::s3s_fs),
        ("s3rver", install::S3RVER, install::s3rver),
        ("moto", install::MOTO, install::moto),
    ];
    let dir = tempfile::Builder::new().prefix("vod-bench-").tempdir()?;
    if let Some(free) = free_gib(dir.path()).filter(|f| *f < NEEDED_GIB) {
        eprintln!(
            "WARNING: {free:.1} GiB free in {}; the run needs about {NEEDED_GIB} GiB",
            dir.path().display()
        );
    }
    let file = dir.path().join("object.bin");
    eprintln!("writing a 1 GiB file into {}", dir.path().display());
    write_random(&file, GIB)?;
    let crc = crc64_of(&file)?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let mut report = Report {
        rows: Vec::new(),
        flows: Flows::default(),
        stored: STORED,
        disk: None,
    };
    eprintln!("measuring: O_DIRECT write rate of {}", dir.path().display());
    let mut disk = vec![direct_write_rate(dir.path())];

    eprintln!("measuring: loopback ceiling");
    let ceiling = format!("http://{}", ceiling::start()?);
    let s3 = s3::S3::new(http.clone(), &ceiling, "ceiling");
    let mut figures = Figures::default();
    let outcome = transfer(&s3, &file, crc, Scope::Ceiling, None, &mut figures).await;
    let what = "in-process hyper, best of 2";
    let mut ceiling_row = Row::new(report::CEILING, what, figures, outcome);

    let emulator = Recipe {
        name: report::EMULATOR,
        program: EMULATOR.into(),
        args: |_, _| args(&["--auth", "none", "--port", "0"]),
        health: "/_emulator/health",
        announces: true,
    };
    let what = "release, --auth none";
    if wanted(report::EMULATOR) {
        let row = measure(
            &emulator,
            Scope::Emulator,
            what,
            &http,
            dir.path(),
            &file,
            crc,
        )
        .await;
        report.rows.push(row);
    }

    for (name, pin, install) in peers.into_iter().filter(|(name, ..)| wanted(name)) {
        let row = match install(&root) {
            Ok(program) => {
                let recipe = Recipe {
                    name,
                    program,
                    args: peer_args(name),
                    health: "/",
                    announces: false,
                };
                measure(&recipe, Scope::Peer, pin, &http, dir.path(), &file, crc).await
            }
            Err(err) => {
                let err = Err(err.context("not installed"));
                Row::new(name, pin, Figures::default(), err)
            }
        };
        report.rows.push(row);
    }

    eprintln!("measuring: loopback ceiling again");
    let mut figures = Figures::default();
    let outcome = transfer(&s3, &file, crc, Scope::Ceiling, None, &mut figures).await;
    ceiling_row.keep_best(figures, outcome);
    report.rows.insert(0, ceiling_row);
    eprintln!("measuring: O_DIRECT write rate again");
    disk.push(direct_write_rate(dir.path()));
    report.disk = disk.into_iter().flatten().reduce(f64::max);

    if wanted(report::EMULATOR) {
        report.flows = small_flows(&http, dir.path()).await;
    }
    report.print();
    eprintln!("total bench time {:.0} s", began.elapsed().as_secs_f64());
    Ok(())
}

/// Each peer's command line: loopback only, data under the bench's temp dir.
fn peer_args(name: &str) -> fn(u16, &Path) -> Vec<OsString> {
    match name {
        "s3s-fs" => |port, data| {
            let mut a = args(&["--host", "127.0.0.1", "--port", &port.to_string()]);
            a.push(data.into());
            a
        },
        "s3rver" => |port, data| {
            let mut a = args(&[
                "--silent",
                "--address",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--directory",
            ]);
            a.push(data.into());
            a
        },
        _ => |port, _| args(&["-H", "127.0.0.1", "-p", &port.to_string()]),
    }
}

fn args(a: &[&str]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

/// Which figures a server gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// PUT and multipart only: the ceiling keeps nothing to GET or complete.
    Ceiling,
    /// Every figure; the bucket exists.
    Emulator,
    /// Every figure but the 512-part Complete, in a bucket the bench creates. The peers copy
    /// the parts on Complete: 4 GiB took them 19-40 s here, and moto 17.6 GiB of memory.
    Peer,
}

/// Start-up (median of [`STARTS`]), then the transfer figures and the peak RSS of one server;
/// its data is removed afterwards.
async fn measure(
    recipe: &Recipe,
    scope: Scope,
    what: &str,
    http: &reqwest::Client,
    dir: &Path,
    file: &Path,
    crc: u64,
) -> Row {
    eprintln!("measuring: {}", recipe.name);
    let mut figures = Figures::default();
    let data = dir.join(recipe.name);
    let outcome = async {
        let mut startups = Vec::new();
        for i in 0..STARTS {
            let server = recipe.start(http, &data.join(format!("start-{i}"))).await?;
            startups.push(server.startup);
            server.stop().await;
        }
        startups.sort();
        figures.startup = Some(startups[STARTS / 2]);
        figures.startup_min = Some(startups[0]);
        let server = recipe.start(http, &data.join("run")).await?;
        let result = async {
            let s3 = match scope {
                Scope::Peer => {
                    let s3 = s3::S3::new(http.clone(), &server.base, PEER_BUCKET);
                    s3.create_bucket().await?;
                    s3
                }
                Scope::Emulator | Scope::Ceiling => {
                    s3::S3::new(http.clone(), &server.base, EMULATOR_BUCKET)
                }
            };
            let pid = (scope == Scope::Emulator).then(|| server.pid()).flatten();
            transfer(&s3, file, crc, scope, pid, &mut figures).await
        }
        .await;
        figures.rss = server.peak_rss_mib();
        server.stop().await;
        result
    }
    .await
    .map_err(|e| match free_gib(dir) {
        Some(free) => e.context(format!("{free:.1} GiB free in {} now", dir.display())),
        None => e,
    });
    let _ = std::fs::remove_dir_all(&data);
    Row::new(recipe.name, what, figures, outcome)
}

/// The transfer figures of `scope`, into `f` as they are measured; the GET must return the
/// file's bytes in order (its CRC-64 is `crc`). With the server's `pid`, where the CPU went
/// during the big transfers too.
async fn transfer(
    s3: &s3::S3,
    file: &Path,
    crc: u64,
    scope: Scope,
    pid: Option<u32>,
    f: &mut Figures,
) -> Result<()> {
    let path = file.to_path_buf();
    (f.md5, f.kernel) = tokio::task::spawn_blocking(move || {
        let md5 = hash_rate(&path, SMALL, Md5::new, |h, c| h.update(c))?;
        let kernel = hash_rate(&path, SMALL, kernel::Md5::new, |h, c| h.update(c))?;
        anyhow::Ok((Some(md5), Some(kernel)))
    })
    .await??;
    let path = file.to_path_buf();
    f.md5sum = tokio::task::spawn_blocking(move || md5sum_rate(&path)).await?;
    f.put_small = Some(rate(SMALL, s3.put_file("put-256m", file, SMALL)).await?);
    let cpu = cpu_from(pid);
    f.put_big = Some(rate(GIB, s3.put_file("put-1g", file, GIB)).await?);
    f.cpu.push(("PUT 1G", cpu.until_now()));
    let cpu = cpu_from(pid);
    f.multipart_4 = Some(rate(GIB, s3.multipart_file("mp-4", file, GIB, PART, 4)).await?);
    f.cpu.push(("MP x4", cpu.until_now()));
    let cpu = cpu_from(pid);
    f.multipart_8 = Some(rate(GIB, s3.multipart_file("mp-8", file, GIB, PART, 8)).await?);
    f.cpu.push(("MP x8", cpu.until_now()));
    f.cpu.retain(|(_, split)| split.is_some());
    if scope == Scope::Ceiling {
        return Ok(());
    }
    let started = Instant::now();
    let (len, got) = s3.get("mp-8").await?;
    f.get = Some(len as f64 / MIB as f64 / started.elapsed().as_secs_f64());
    if (len, got) != (GIB, crc) {
        bail!("GET of the multipart object returned other bytes ({len} bytes, CRC-64 {got:016x}; expected {GIB}, {crc:016x})");
    }
    let part = Bytes::from(vec![0x5a; usize::try_from(PART)?]);
    f.complete_8 = Some(
        s3.multipart_repeated("complete-8", part.clone(), 8, 8)
            .await?,
    );
    if scope == Scope::Emulator {
        f.complete_512 = Some(s3.multipart_repeated("complete-512", part, 512, 8).await?);
    }
    Ok(())
}

/// MiB/s of moving `bytes` with `op`.
async fn rate(bytes: u64, op: impl std::future::Future<Output = Result<()>>) -> Result<f64> {
    let started = Instant::now();
    op.await?;
    Ok(bytes as f64 / MIB as f64 / started.elapsed().as_secs_f64())
}

/// Flows per second with 1, 8 and 64 clients against an emulator that verifies signatures,
/// and that emulator's peak RSS.
async fn small_flows(http: &reqwest::Client, dir: &Path) -> Flows {
    eprintln!("measuring: small signed flows");
    let verifying = Recipe {
        name: "vod-emulator (signed)",
        program: EMULATOR.into(),
        args: |_, _| args(&["--port", "0"]),
        health: "/_emulator/health",
        announces: true,
    };
    let media = dir.join("small.mp4");
    let server = async {
        write_random(&media, 64 * 1024)?;
        verifying.start(http, &dir.join("flows")).await
    }
    .await;
    let mut out = Flows::default();
    let server = match server {
        Ok(s) => s,
        Err(err) => {
            out.error = Some(format!("{err:#}"));
            return out;
        }
    };
    for clients in [1, 8, 64] {
        let r = flows::per_second(&server.base, &media, clients, FLOW_WINDOW).await;
        out.rates.push((clients, r.map_err(|e| format!("{e:#}"))));
    }
    out.rss = server.peak_rss_mib();
    server.stop().await;
    out
}

/// MiB/s of a hash over the first `len` bytes of the file as they are read (best of two):
/// with `md-5` and with the emulator's own MD5 kernel, the single-stream bound, sampled right
/// before each server's PUTs so that both see the same load on this shared machine.
fn hash_rate<H>(
    file: &Path,
    len: u64,
    new: impl Fn() -> H,
    update: impl Fn(&mut H, &[u8]),
) -> Result<f64> {
    let mut best: f64 = 0.0;
    for _ in 0..2 {
        let started = Instant::now();
        let mut hash = new();
        each_chunk(file, len, |c| update(&mut hash, c))?;
        std::hint::black_box(&hash);
        best = best.max(len as f64 / MIB as f64 / started.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Counts CPU from now, when the server's pid is known.
fn cpu_from(pid: Option<u32>) -> CpuSince {
    CpuSince(pid.and_then(|p| cpu::Sample::take(p).map(|s| (p, s))))
}

/// CPU counters from a moment on, for [`cpu_from`].
struct CpuSince(Option<(u32, cpu::Sample)>);

impl CpuSince {
    fn until_now(self) -> Option<cpu::Split> {
        let (pid, before) = self.0?;
        Some(before.until(&cpu::Sample::take(pid)?))
    }
}

/// MiB/s of coreutils `md5sum` over the whole file (the same bytes the PUTs send, in the page
/// cache), best of two; `None` without `md5sum`.
fn md5sum_rate(file: &Path) -> Option<f64> {
    let len = std::fs::metadata(file).ok()?.len();
    let mut best: Option<f64> = None;
    for _ in 0..2 {
        let started = Instant::now();
        let status = std::process::Command::new("md5sum")
            .arg(file)
            .stdout(std::process::Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        let r = len as f64 / MIB as f64 / started.elapsed().as_secs_f64();
        best = Some(best.map_or(r, |b: f64| b.max(r)));
    }
    best
}

/// MiB/s of writing 1 GiB sequentially with `O_DIRECT` into `dir` (`dd bs=8M oflag=direct`,
/// 128 blocks), the file removed afterwards; `None` if `dd` or the file system refuses.
fn direct_write_rate(dir: &Path) -> Option<f64> {
    let out = dir.join("dd-direct.bin");
    let started = Instant::now();
    let status = std::process::Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", out.display()))
        .args([
            "bs=8M",
            "count=128",
            "oflag=direct",
            "conv=fsync",
            "status=none",
        ])
        .status();
    let elapsed = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&out);
    status
        .ok()
        .filter(|s| s.success())
        .map(|_| GIB as f64 / MIB as f64 / elapsed)
}

fn crc64_of(file: &Path) -> Result<u64> {
    let mut crc = crc64fast::Digest::new();
    each_chunk(file, GIB, |c| crc.write(c))?;
    Ok(crc.sum64())
}

fn each_chunk(file: &Path, len: u64, mut f: impl FnMut(&[u8])) -> Result<()> {
    let mut r = std::fs::File::open(file)?.take(len);
    let mut buf = vec![0u8; MIB as usize];
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(()),
            n => f(&buf[..n]),
        }
    }
}

/// Free space where `dir` is, from `df` (a full disk shows up as 500s from every server).
fn free_gib(dir: &Path) -> Option<f64> {
    let out = std::process::Command::new("df")
        .arg("-Pk")
        .arg(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let kib: f64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib / (1024.0 * 1024.0))
}

/// `size` pseudo-random bytes (xorshift: incompressible, fast to make).
fn write_random(path: &Path, size: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(MIB);
        out.write_all(&block[..n as usize])?;
        left -= n;
    }
    out.flush()?;
    Ok(())
}
