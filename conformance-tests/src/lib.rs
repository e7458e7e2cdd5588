//! `vod-conformance`: a property-based suite stating what a correct VOD + COS upload endpoint
//! does, runnable against the in-process emulator or any real endpoint.
//!
//! This crate is a skeleton for now: the properties, runner and reports arrive with the
//! conformance issue. The protocol itself lives in `vod-client`.
