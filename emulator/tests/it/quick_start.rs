//! The README's quick start, run as written: the block after the `quick-start` marker, with
//! its two `cargo install` lines replaced by putting this build's binaries on PATH (the test
//! must not install into the user's ~/.cargo/bin).

use std::path::Path;
use std::process::Command;

use crate::common::exec::{shared_ca_dir, BIN};

/// The quick start's commands, from the README.
fn quick_start() -> Vec<String> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(readme).expect("README.md");
    let after = text
        .split("<!-- quick-start:")
        .nth(1)
        .expect("a quick-start marker in the README");
    let block = after
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a sh block after the marker");
    block.lines().map(str::to_owned).collect()
}

/// A newcomer's first commands work from a clean checkout: the sample video and its cover
/// upload to a fresh emulator, and the NewFileUpload event comes back.
#[test]
fn the_readme_quick_start_works_as_written() {
    let lines = quick_start();
    let (install, run): (Vec<_>, Vec<_>) =
        lines.iter().partition(|l| l.starts_with("cargo install"));
    assert_eq!(
        install.len(),
        2,
        "the quick start installs the two binaries: {lines:?}"
    );
    let bin_dir = Path::new(BIN).parent().expect("the binaries' directory");
    let upload = bin_dir.join("vod-upload");
    assert!(
        upload.is_file(),
        "{} is missing: `cargo test --workspace` builds it beside vod-emulator",
        upload.display()
    );
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .args([
            "-euo",
            "pipefail",
            "-c",
            &run.iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("PATH", path)
        .env("VOD_EMULATOR_CA_DIR", shared_ca_dir());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("VOD_EMULATOR_") && name != "VOD_EMULATOR_CA_DIR"
            || name.starts_with("TENCENTCLOUD_")
            || name.starts_with("VOD_UPLOAD_")
        {
            command.env_remove(name);
        }
    }
    let out = command.output().expect("run the quick start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    for expected in [
        "FileId ",
        "MediaUrl http://127.0.0.1:",
        "CoverUrl http://127.0.0.1:",
        "NewFileUpload",
    ] {
        assert!(stdout.contains(expected), "no `{expected}` in\n{stdout}");
    }
}
