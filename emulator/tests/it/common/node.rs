//! Installs the pinned official Node SDKs (`examples/node/package.json` and its
//! `package-lock.json`) with `npm ci` into `<target>/tmp/sdk-node`, once, through
//! [`super::install`]; the examples find them through `NODE_PATH`. A failed install fails the
//! tests with npm's output: they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use md5::{Digest, Md5};

use super::install::{install_once, run};

/// What must load for the tree to count as usable.
const REQUIRE_CHECK: &str =
    "require('vod-node-sdk'); require('tencentcloud-sdk-nodejs-vod'); require('cos-nodejs-sdk-v5')";

fn manifest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/node")
}

/// The stamp: the lock file's digest and the Node version.
fn expected_stamp() -> Result<String, String> {
    let lock = manifest_dir().join("package-lock.json");
    let bytes = std::fs::read(&lock).map_err(|e| format!("reading {}: {e}", lock.display()))?;
    let node = run(Command::new("node").arg("--version"), "node --version")
        .map_err(|e| format!("{e}\n(node and npm must be on PATH to run the Node SDK tests)"))?;
    Ok(format!(
        "package-lock.json md5 {}\nnode {}\n",
        hex::encode(Md5::digest(&bytes)),
        String::from_utf8_lossy(&node.stdout).trim()
    ))
}

fn loads(dir: &Path) -> Result<(), String> {
    run(
        Command::new("node")
            .args(["-e", REQUIRE_CHECK])
            .current_dir(dir),
        "require check of the installed SDKs",
    )
    .map(drop)
}

fn build(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(manifest_dir().join(file), dir.join(file))
            .map_err(|e| format!("copying {file}: {e}"))?;
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(dir),
        "npm ci",
    )?;
    loads(dir)
}

/// The `node_modules` directory with the pinned SDKs, installing them on first use; panics
/// with npm's output when they cannot be installed.
pub async fn node_modules() -> PathBuf {
    static TREE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let prepared = tokio::task::spawn_blocking(|| {
        TREE.get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-node");
            let stamp = expected_stamp()?;
            install_once(&dir, &stamp, |d| loads(d).is_ok(), build)?;
            Ok(dir.join("node_modules"))
        })
        .clone()
    })
    .await
    .expect("installing the Node SDKs panicked");
    prepared.unwrap_or_else(|message| panic!("cannot install the pinned Node SDKs: {message}"))
}
