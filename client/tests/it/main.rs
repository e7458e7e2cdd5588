//! Integration tests of `vod-client`: one test binary, an in-process emulator per test.
//!
//! Modules:
//! - `vectors` — both signers against the published known-answer vectors.
//! - `upload` — the `Uploader` library against the emulator.
//! - `faults` — the client under injected faults: retries, give-up and abort, integrity.

mod common;
mod faults;
mod upload;
mod vectors;
