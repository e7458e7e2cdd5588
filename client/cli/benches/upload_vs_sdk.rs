//! `vod-upload` against the official Python upload SDK, same emulator, same files, one run.
//!
//! `cargo bench -p vod-client --bench upload_vs_sdk` prints, for 64 MiB and 1 GiB, the throughput
//! of both and their ratio; the peak RSS of `vod-upload` for a 1 GiB file; and a sweep of part
//! size × concurrency that the client's defaults were chosen from. Timings are ratios within
//! one run: the machine is shared and noisy. The Python SDK's time is measured around
//! `VodUploadClient.upload` only (interpreter start excluded); `vod-upload`'s is the whole
//! process. For each size it also prints the CPU seconds of each client process (the Python
//! one with its interpreter's start) and of the in-process emulator while it served that
//! client: both share the machine's cores, so the emulator's share bounds every client.
//!
//! The pinned SDKs come from the venv the emulator's tests build (`target/tmp/sdk-venv`); if it
//! is missing, this bench builds it the same way (requirements.txt, then vod-python-sdk
//! `--no-deps`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vod_emulator::Emulator;

const MIB: u64 = 1024 * 1024;
const BIN: &str = env!("CARGO_BIN_EXE_vod-upload");

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../emulator/tests/sdk/python")
}

/// The venv's python, built if missing.
fn python() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp");
    let venv = target.join("sdk-venv");
    let python = venv.join("bin/python");
    if python.exists() {
        return python;
    }
    let build = target.join("sdk-venv.bench-build");
    let _ = std::fs::remove_dir_all(&build);
    let steps: [(&str, Vec<String>); 3] = [
        (
            "python3",
            vec!["-m".into(), "venv".into(), build.display().to_string()],
        ),
        (
            "pip",
            vec![
                "install".into(),
                "-q".into(),
                "-r".into(),
                sdk_dir().join("requirements.txt").display().to_string(),
            ],
        ),
        (
            "pip",
            vec![
                "install".into(),
                "-q".into(),
                "--no-deps".into(),
                "vod-python-sdk==1.4.4".into(),
            ],
        ),
    ];
    for (program, args) in steps {
        let program = if program == "pip" {
            build.join("bin/pip")
        } else {
            PathBuf::from(program)
        };
        let status = Command::new(&program)
            .args(&args)
            .status()
            .expect("run installer");
        assert!(status.success(), "{} {args:?} failed", program.display());
    }
    std::fs::create_dir_all(&target).expect("target dir");
    std::fs::rename(&build, &venv).expect("venv into place");
    python
}

fn write_file(dir: &Path, name: &str, size: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let n = left.min(MIB) as usize;
        f.write_all(&block[..n]).expect("write");
        left -= n as u64;
    }
    path
}

/// Runs `vod-upload` and returns (seconds, peak RSS in KiB as last seen in /proc).
fn vod_upload(emu: &Emulator, file: &Path, extra: &[&str]) -> (f64, u64) {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .envs(emu.exec_env())
        .arg(file)
        .args(["--quiet", "--no-resume"])
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn vod-upload");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "vod-upload failed");
            return (started.elapsed().as_secs_f64(), peak);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs the official SDK's upload and returns the seconds it took.
fn python_sdk(emu: &Emulator, python: &Path, file: &Path) -> f64 {
    let out = Command::new(python)
        .arg(sdk_dir().join("sdk_flow.py"))
        .args(["upload", "--media"])
        .arg(file)
        .envs(emu.exec_env())
        // sdk_flow.py redirects the SDKs itself (plain HTTP): no proxy, like the tests.
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python SDK failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["UploadSeconds"].as_f64().expect("UploadSeconds")
}

/// CPU seconds so far of this process (the bench and its in-process emulator) and of its
/// children that have exited (the clients).
fn cpu_seconds() -> (f64, f64) {
    let s = vod_testkit::cpu::stat("/proc/self/stat").map_or((0, 0), |s| (s.ticks, s.children));
    let secs = |t: u64| t as f64 / vod_testkit::cpu::TICKS_PER_SECOND;
    (secs(s.0), secs(s.1))
}

/// Runs `f` and returns its result with the CPU seconds it cost (client, emulator).
fn with_cpu<T>(f: impl FnOnce() -> T) -> (T, (f64, f64)) {
    let (own, children) = cpu_seconds();
    let out = f();
    let (own_after, children_after) = cpu_seconds();
    (out, (children_after - children, own_after - own))
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let emu = rt.block_on(Emulator::builder().start()).expect("emulator");
    let python = python();
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "vod-upload vs vod-python-sdk 1.4.4 (same emulator, same files; MiB/s, higher is better)"
    );
    println!(
        "{:>10} {:>12} {:>12} {:>8}",
        "size", "vod-upload", "python SDK", "ratio"
    );
    let mut peak_1g = None;
    let mut cpu = Vec::new();
    for (name, size) in [("64 MiB", 64 * MIB), ("1 GiB", 1024 * MIB)] {
        let file = write_file(dir.path(), &format!("f{size}.mp4"), size);
        let mib = size as f64 / MIB as f64;
        let ((ours, peak), ours_cpu) = with_cpu(|| vod_upload(&emu, &file, &[]));
        if size == 1024 * MIB {
            peak_1g = Some(peak);
        }
        let (theirs, theirs_cpu) = with_cpu(|| python_sdk(&emu, &python, &file));
        println!(
            "{name:>10} {:>12.1} {:>12.1} {:>7.2}x",
            mib / ours,
            mib / theirs,
            theirs / ours
        );
        cpu.push((name, ours, ours_cpu, theirs, theirs_cpu));
        std::fs::remove_file(&file).expect("remove");
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("\nCPU seconds per upload: client + the emulator serving it (of {cores} cores)");
    for (name, ours, (client, emu), theirs, (sdk, emu_sdk)) in cpu {
        println!(
            "{name:>10}  vod-upload {client:.2} + {emu:.2} in {ours:.2} s   \
             python SDK {sdk:.2} + {emu_sdk:.2} in {theirs:.2} s (CPU with interpreter start)"
        );
    }
    if let Some(peak) = peak_1g {
        println!(
            "\n1 GiB with defaults: vod-upload peak RSS {:.1} MiB",
            peak as f64 / 1024.0
        );
    }

    let file = write_file(dir.path(), "s.mp4", 256 * MIB);
    println!("\npart size x concurrency, 256 MiB (MiB/s, peak RSS MiB)");
    for part in ["4", "8", "16"] {
        let mut row = format!("{part:>3} MiB:");
        for conc in ["2", "4", "8"] {
            let (secs, peak) =
                vod_upload(&emu, &file, &["--part-size", part, "--concurrency", conc]);
            row.push_str(&format!(
                "  c{conc} {:>6.1} ({:>4.0})",
                256.0 / secs,
                peak as f64 / 1024.0
            ));
        }
        println!("{row}");
    }
    rt.block_on(emu.shutdown());
}
