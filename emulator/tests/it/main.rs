//! Integration tests of the emulator: one test binary (STYLE habit 7), helpers in `common/`.
//! Every test starts its own emulator in-process on port 0.
//!
//! Modules:
//! - `reliability` — containment, start-up clean-up, limits, load, crash safety under kill -9.
//! - `hostile` — arbitrary input to every parser and over HTTP: no panic, protocol errors.
//! - `admin` — the admin API over HTTP, checked against openapi/admin.json.
//! - `dashboard` — the dashboard in a headless Chromium: live updates, playback, actions.
//! - `cli` — the binary: banner, ready line, SIGTERM, `exec`.
//! - `events_cli` — `vod-emulator events`: flags, help, list, trigger, tail, stopping together.
//! - `vod_api` — envelope, TC3 verification, ApplyUpload validation.
//! - `upload_flow` — ApplyUpload → COS → CommitUpload, and CommitUpload's refusals.
//! - `cos_objects` — PutObject / GetObject / HeadObject / DeleteObject, checksums, errors.
//! - `cos_multipart` — multipart uploads and their refusals.
//! - `error_codes` — every documented error code reproduced or injected; docs/error-codes.md.
//! - `cos_auth` — COS signatures and temporary-credential scope.
//! - `events_pull` — NewFileUpload, PullEvents / ConfirmEvents, event config, durability.
//! - `events_push` — push callbacks, retries, task flows, DeleteMedia's event, admin API.
//! - `task_flows` — preset task flows, user task flows (builder, admin API), unknown names.
//! - `faults` — every fault effect and schedule, end to end; the shipped scenarios.
//! - `journal` — unread fields and `--strict`, signature verdicts, JSON lines, determinism.
//! - `quick_start` — the README's quick start, run as written.
//! - `packages` — the Python wheel (pytest plugin) and the npm package (global setup), built
//!   from this checkout's release binary, installed and used with the official SDKs.
//! - `python` — the official Python SDKs, unmodified, against an in-process emulator.
//! - `go` — the Go SDKs' transport (net/http) under `exec`: one CA only, contained.
//! - `java` — the Java SDKs' transport (OkHttp, Apache HttpClient) under `exec`, contained.
//! - `php` — the PHP SDKs' transport (Guzzle: stream wrapper, cURL) under `exec`, contained.
//! - `wire` — refusals delivered to clients that write first, `--strict` and the SDKs.
//! - `redirect` — unmodified example programs under `vod-emulator exec` (proxy, CA, shim),
//!   the proxy's refusals, `env` and `ca`.

mod admin;
mod cli;
mod common;
mod cos_auth;
mod cos_multipart;
mod cos_objects;
mod dashboard;
mod error_codes;
mod events_cli;
mod events_pull;
mod events_push;
mod faults;
mod go;
mod hostile;
mod java;
mod journal;
mod packages;
mod php;
mod python;
mod quick_start;
mod redirect;
mod reliability;
mod task_flows;
mod upload_flow;
mod vod_api;
mod wire;
