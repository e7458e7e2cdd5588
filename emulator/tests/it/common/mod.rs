//! Helpers shared by the integration tests.

pub mod api;
pub mod exec;
pub mod install;
pub mod node;
pub mod python;
