//! Integration tests of `vod-client`: one test binary, an in-process emulator per test.
//!
//! Modules:
//! - `vectors` — both signers against the published known-answer vectors.
//! - `upload` — the `Uploader` library against the emulator.
//! - `cli` — the `vod-upload` binary, black box: results, errors, exit codes, resume after kill.

mod cli;
mod common;
mod upload;
mod vectors;
