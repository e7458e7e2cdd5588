//! The crates' layering, read from their manifests: the protocol does no I/O, and the
//! emulator's and the client's libraries do not depend on each other (each speaks the
//! protocol through `vod-protocol`).

use std::path::Path;

/// The names of a manifest's `[dependencies]` (not dev- or build-dependencies).
fn dependencies(manifest: &str) -> Vec<String> {
    table(manifest, "dependencies")
}

/// The names in one dependency table of a manifest.
fn table(manifest: &str, name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    value
        .get(name)
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
    // The client's tests run against the emulator; the emulator's tests and benches sign their
    // own requests, so no dev-dependency cycle joins the two.
    let emulator_dev = table("../../emulator/Cargo.toml", "dev-dependencies");
    assert!(
        !emulator_dev.contains(&"vod-client".to_owned()),
        "{emulator_dev:?}"
    );
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

/// The modules (files and folders) of the emulator under `emulator/src` that a module's
/// source names, as `crate::<module>`; comments are skipped.
fn emulator_imports(module: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../emulator/src");
    let path = root.join(module);
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut all = Vec::new();
        let mut stack = vec![path];
        while let Some(dir) = stack.pop() {
            for entry in
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            {
                let p = entry.expect("dir entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "rs") {
                    all.push(p);
                }
            }
        }
        all
    } else {
        vec![root.join(format!("{module}.rs"))]
    };
    let mut found = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found.push((file.display().to_string(), name));
            }
            for http in ["use http", "use hyper", "http::", "hyper::", "reqwest::"] {
                if line.trim_start().starts_with(http) || line.contains(&format!(" {http}")) {
                    found.push((
                        file.display().to_string(),
                        http.trim_start_matches("use ")
                            .trim_end_matches("::")
                            .to_owned(),
                    ));
                }
            }
        }
    }
    found
}

/// The emulator's layers, bottom up: the store and the domain (task flows, clock, event hub,
/// ids, globs) know no HTTP and no service; the event services sit below the VOD API, and COS
/// does not reach into the VOD API; the dashboard is a client of the admin API and nothing
/// below imports it. A forbidden import fails here with its file.
#[test]
fn the_emulator_layers_import_only_downwards() {
    const SERVICES: &[&str] = &[
        "vod",
        "cos",
        "events",
        "admin",
        "inventory",
        "dashboard",
        "media",
        "server",
        "router",
        "proxy",
        "state",
    ];
    const HTTP: &[&str] = &["http", "hyper", "reqwest"];
    let rules: &[(&str, &[&[&str]])] = &[
        ("store", &[SERVICES, HTTP]),
        ("task_flows", &[SERVICES, HTTP]),
        ("clock", &[SERVICES, HTTP]),
        ("glob", &[SERVICES, HTTP]),
        ("ids", &[SERVICES, HTTP]),
        ("hub", &[SERVICES, HTTP]),
        (
            "events",
            &[&[
                "vod",
                "cos",
                "admin",
                "inventory",
                "dashboard",
                "server",
                "router",
            ]],
        ),
        (
            "cos",
            &[&["vod", "admin", "inventory", "dashboard", "server"]],
        ),
        ("vod", &[&["admin", "inventory", "dashboard", "server"]]),
        // The dashboard is a client of the admin API: neither the API nor what it lists
        // knows the page.
        ("admin", &[&["dashboard", "server"]]),
        ("inventory", &[&["admin", "dashboard", "server"]]),
        (
            "dashboard",
            &[&["admin", "inventory", "store", "vod", "cos", "events"]],
        ),
    ];
    let mut broken = Vec::new();
    for (module, forbidden) in rules {
        for (file, name) in emulator_imports(module) {
            if forbidden.iter().any(|list| list.contains(&name.as_str())) {
                broken.push(format!("{file} imports {name}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layering:\n{}",
        broken.join("\n")
    );
}
