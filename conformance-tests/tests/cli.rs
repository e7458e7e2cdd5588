//! The `vod-conformance` binary, black box: usage errors, repeatable filters, reproduce lines
//! that rerun the same run, no temporary files left behind.

use std::path::Path;
use std::process::{Command, Output};

fn conformance(args: &[&str], tmp: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vod-conformance"))
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("VOD_EMULATOR_ADMIN_TOKEN")
        .output()
        .expect("run vod-conformance")
}

/// A filter that selects nothing and zero cases are usage errors (exit 2), not green runs.
#[test]
fn empty_selections_are_usage_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nothing = conformance(&["run", "--filter", "nomatch"], tmp.path());
    assert_eq!(nothing.status.code(), Some(2), "{nothing:?}");
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("--filter nomatch selects no property")
    );
    let zero = conformance(&["run", "--cases", "0"], tmp.path());
    assert_eq!(zero.status.code(), Some(2), "{zero:?}");
}

/// `--filter` repeats (any of them selects), and a failing run under faults prints a reproduce
/// line with the strength and the scenario, says the failure is expected, and leaves nothing
/// in the temporary directory.
#[test]
fn failing_runs_reproduce_whole_and_leave_no_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let both = conformance(
        &[
            "run", "--filter", "context", "--filter", "header", "--cases", "2",
        ],
        tmp.path(),
    );
    let text = String::from_utf8_lossy(&both.stdout);
    assert!(both.status.success(), "{both:?}");
    assert!(
        text.contains("context_limits") && text.contains("header_names"),
        "{text}"
    );
    assert!(!text.contains("round_trip"), "{text}");

    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/faults/lost-write.toml");
    let scenario = scenario.to_str().expect("utf-8 path");
    let failed = conformance(
        &[
            "run",
            "--faults",
            scenario,
            "--filter",
            "round_trip",
            "--cases",
            "4",
            "--seed",
            "5",
        ],
        tmp.path(),
    );
    let text = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    assert!(
        text.contains(&format!(
            "reproduce: vod-conformance run --seed 5 --cases 4 --faults {scenario} --filter round_trip"
        )),
        "{text}"
    );
    assert!(text.contains("under these faults: expected"), "{text}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read tmp")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
