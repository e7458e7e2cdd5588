//! The crates' layering, read from their manifests: the protocol does no I/O, and the
//! emulator's and the client's libraries do not depend on each other (each speaks the
//! protocol through `vod-protocol`).

use std::path::Path;

/// The names of a manifest's `[dependencies]` (not dev- or build-dependencies).
fn dependencies(manifest: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    value
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// Crates that do I/O: a runtime, an HTTP client or server, TLS, a database, the file system
/// beyond `std`, a CLI or a terminal.
const IO_CRATES: &[&str] = &[
    "tokio",
    "hyper",
    "hyper-util",
    "reqwest",
    "rustls",
    "tokio-rustls",
    "rusqlite",
    "tempfile",
    "rustix",
    "clap",
    "indicatif",
    "tracing-subscriber",
];

/// The protocol crate depends on no crate that does I/O.
#[test]
fn the_protocol_does_no_io() {
    let deps = dependencies("Cargo.toml");
    let io: Vec<&String> = deps
        .iter()
        .filter(|d| IO_CRATES.contains(&d.as_str()))
        .collect();
    assert!(io.is_empty(), "vod-protocol depends on I/O crates: {io:?}");
}

/// The emulator's library speaks the protocol through `vod-protocol`, not through the client;
/// the client's library does not depend on the emulator.
#[test]
fn the_emulator_and_the_client_do_not_depend_on_each_other() {
    let emulator = dependencies("../../emulator/Cargo.toml");
    assert!(
        emulator.contains(&"vod-protocol".to_owned()),
        "{emulator:?}"
    );
    assert!(!emulator.contains(&"vod-client".to_owned()), "{emulator:?}");
    let client = dependencies("../Cargo.toml");
    assert!(client.contains(&"vod-protocol".to_owned()), "{client:?}");
    assert!(!client.contains(&"vod-emulator".to_owned()), "{client:?}");
}

/// The client library compiles no command-line crate: those belong to `vod-upload`.
#[test]
fn the_client_library_has_no_cli_dependencies() {
    let client = dependencies("../Cargo.toml");
    let cli: Vec<&String> = client
        .iter()
        .filter(|d| ["clap", "indicatif", "tracing-subscriber", "anyhow"].contains(&d.as_str()))
        .collect();
    assert!(cli.is_empty(), "vod-client depends on CLI crates: {cli:?}");
}

/// The emulator's command-line dependencies are optional, behind its `cli` feature, so an
/// in-process user compiles none of them.
#[test]
fn the_emulator_library_takes_its_cli_dependencies_only_for_the_binary() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../emulator/Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for name in ["clap", "anyhow", "tracing-subscriber"] {
        let optional = value["dependencies"][name]
            .get("optional")
            .and_then(toml::Value::as_bool);
        assert_eq!(
            optional,
            Some(true),
            "{name} must be optional in vod-emulator"
        );
    }
}
