//! The `vod-emulator` binary, black box: start-up banner, ready line, health, graceful
//! shutdown on SIGTERM, and `exec` (the `events` tools are in `events_cli`).

use crate::common::api::Api;
use crate::common::exec::spawn_ready;
use crate::common::upload;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::exec::emulator_command;

/// `vod-emulator --port 0` prints its endpoint and credentials, a ready line on stdout, answers
/// health, and exits cleanly on SIGTERM, removing its temporary storage.
#[tokio::test]
async fn serve_prints_ready_line_and_stops_on_sigterm() {
    let mut child = emulator_command()
        .args(["--port", "0", "--app-id", "1300000001"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let stdout = child.stdout.take().expect("stdout");
    let endpoint = vod_testkit::wait_ready(stdout, Duration::from_secs(20)).expect("ready line");
    let health = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{endpoint}/_emulator/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&health.bytes().await.expect("body")).expect("json");
    assert_eq!(body["appId"], 1300000001);
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.status.success(), "exit status {:?}", status.status);
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("SecretId"),
        "banner names the credentials: {stderr}"
    );
    assert!(
        stderr.contains("1300000001"),
        "banner names the AppId: {stderr}"
    );
    assert!(
        stderr.contains(&format!("dashboard    {endpoint}/_emulator/ui/")),
        "banner names the dashboard's URL: {stderr}"
    );
}

/// `exec` runs the command with the emulator's endpoint and credentials in its environment and
/// exits with the command's status.
#[tokio::test]
async fn exec_runs_the_command_against_a_fresh_emulator() {
    let script = r#"python3 -c "import os,urllib.request as u; u.urlopen(os.environ['VOD_EMULATOR_ENDPOINT']+'/_emulator/health')" || exit 90
test -n "$TENCENTCLOUD_SECRET_ID" -a -n "$TENCENTCLOUD_SECRET_KEY" || exit 91
test "$VOD_EMULATOR_REGION" = ap-guangzhou || exit 92
echo "port=$VOD_EMULATOR_PORT"
exit 7"#;
    let out = tokio::task::spawn_blocking(move || {
        emulator_command()
            .args(["exec", "--", "sh", "-c", script])
            .env("NO_PROXY", "*")
            .output()
    })
    .await
    .expect("join")
    .expect("run exec");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout {stdout} stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port: u16 = stdout
        .trim()
        .strip_prefix("port=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {stdout:?}"));
    assert_ne!(port, 0);
}

/// `--auth none` is announced loudly at start-up.
#[tokio::test]
async fn auth_none_is_announced() {
    let out = tokio::task::spawn_blocking(move || {
        emulator_command()
            .args(["--auth", "none", "exec", "--", "true"])
            .output()
    })
    .await
    .expect("join")
    .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WARNING: --auth none"));
}

/// An empty admin token, given as `--admin-token ""` or as an empty
/// `VOD_EMULATOR_ADMIN_TOKEN`, stops start-up with exit code 2 and a message naming the flag,
/// instead of starting with a token anyone could present as `Authorization: Bearer `.
#[tokio::test]
async fn an_empty_admin_token_is_refused() {
    for (args, env) in [
        (&["--admin-token", "", "exec", "--", "true"][..], None),
        (&["exec", "--", "true"][..], Some("")),
    ] {
        let out = tokio::task::spawn_blocking(move || {
            let mut command = emulator_command();
            command.args(args).env_remove("VOD_EMULATOR_PORT");
            match env {
                Some(value) => command.env("VOD_EMULATOR_ADMIN_TOKEN", value),
                None => command.env_remove("VOD_EMULATOR_ADMIN_TOKEN"),
            };
            command.output()
        })
        .await
        .expect("join")
        .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(
            stderr.contains("--admin-token") && stderr.contains("empty"),
            "{stderr}"
        );
    }
}

/// Committed media and their unconfirmed events survive `kill -9` with `--data-dir`.
#[tokio::test]
async fn media_and_events_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().to_str().expect("utf-8 path").to_owned();
    let (mut child, endpoint) = tokio::task::spawn_blocking({
        let d = data_dir.clone();
        move || spawn_ready(&["--port", "0", "--data-dir", &d])
    })
    .await
    .expect("join");
    let data = b"durable bytes".repeat(1000);
    let done = upload(&endpoint, &data, "kept").await;
    child.kill();

    let (mut child, endpoint) =
        tokio::task::spawn_blocking(move || spawn_ready(&["--port", "0", "--data-dir", &data_dir]))
            .await
            .expect("join");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let path = &done.media_url[done.media_url.find("/media/").expect("media path")..];
    let body = http
        .get(format!("{endpoint}{path}"))
        .send()
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body.as_ref(), data.as_slice());
    let events = Api::ok(Api::at(&endpoint).vod("PullEvents", json!({})).await);
    let event = &events["EventSet"][0];
    assert_eq!(
        event["EventType"], "NewFileUpload",
        "the unconfirmed event is still there"
    );
    let upload = &event["FileUploadEvent"];
    assert_eq!(upload["FileId"], done.file_id.as_str());
    assert_eq!(
        upload["MediaBasicInfo"]["SourceInfo"]["SourceContext"],
        "kept"
    );
    child.kill();
}

/// `--faults FILE --seed N` installs the scenario's rules and seeds the emulator before the
/// command runs; the banner reports both.
#[tokio::test]
async fn exec_installs_a_fault_scenario_and_a_seed() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/faults/flaky-cos-5xx.toml"
    );
    let script = "import json, os, urllib.request as u\n\
        base = os.environ['VOD_EMULATOR_ENDPOINT']\n\
        faults = json.load(u.urlopen(base + '/_emulator/faults'))\n\
        health = json.load(u.urlopen(base + '/_emulator/health'))\n\
        print(json.dumps({'ids': [r['id'] for r in faults['rules']], 'seed': health['seed']}))";
    let out = tokio::task::spawn_blocking(move || {
        emulator_command()
            .args([
                "--faults", scenario, "--seed", "4242", "exec", "--", "python3", "-c", script,
            ])
            .env("NO_PROXY", "127.0.0.1")
            .output()
            .expect("run exec")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(
        got,
        serde_json::json!({"ids": ["flaky-upload-part", "flaky-put-object"], "seed": 4242})
    );
    assert!(stderr.contains("seed         4242"), "{stderr}");
    assert!(stderr.contains("2 rule(s)"), "{stderr}");
}

/// `--task-flows FILE` registers the file's task flows before the command runs: the admin
/// API lists them as custom beside the presets, and the banner names them.
#[tokio::test]
async fn exec_registers_task_flows_from_a_file() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/task-flows/custom.toml"
    );
    let script = "import json, os, urllib.request as u\n\
        base = os.environ['VOD_EMULATOR_ENDPOINT']\n\
        flows = json.load(u.urlopen(base + '/_emulator/task-flows'))['taskFlows']\n\
        print(json.dumps([f['Name'] for f in flows if f['Type'] == 'Custom']))";
    let out = tokio::task::spawn_blocking(move || {
        emulator_command()
            .args(["--task-flows", file, "exec", "--", "python3", "-c", script])
            .env_remove("VOD_EMULATOR_PORT")
            .env("NO_PROXY", "127.0.0.1")
            .output()
            .expect("run exec")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(got, serde_json::json!(["HlsWithSprites", "ShortVideo720"]));
    assert!(
        stderr.contains("task flows   ShortVideo720, HlsWithSprites"),
        "{stderr}"
    );
}

/// A scenario naming an operation the emulator does not serve stops start-up with a message
/// listing the valid names.
#[tokio::test]
async fn an_invalid_scenario_is_refused_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[rules]]\nmatch = { service = \"cos\", action = \"PostObject\" }\neffect = { type = \"drop\" }\n",
    )
    .expect("write scenario");
    let out = tokio::task::spawn_blocking(move || {
        emulator_command()
            .args([
                "--faults".as_ref(),
                path.as_os_str(),
                "exec".as_ref(),
                "--".as_ref(),
                "true".as_ref(),
            ])
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("PostObject") && stderr.contains("UploadPart"),
        "{stderr}"
    );
}

/// Log lines carry colour codes on a terminal only, and not even there with `NO_COLOR`: a pipe
/// or a CI log gets plain text. The terminal is `script`'s pseudo-terminal.
#[tokio::test]
async fn logs_are_coloured_only_on_a_terminal_without_no_color() {
    // One VOD call from bash, so the emulator logs a request line.
    let call = r#"exec 3<>/dev/tcp/127.0.0.1/$VOD_EMULATOR_PORT; printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' >&3; cat <&3 >/dev/null"#;
    let dir = tempfile::tempdir().expect("temp dir");
    let script_file = dir.path().join("call.sh");
    std::fs::write(&script_file, call).expect("write the call");
    let emulator = format!(
        "{} --log debug --port 0 exec -- bash {}",
        crate::common::exec::BIN,
        script_file.display()
    );
    let run = move |terminal: bool, no_color: bool| {
        let mut command = if terminal {
            let mut script = Command::new("script");
            script.args(["-qec", &emulator, "/dev/null"]);
            script
        } else {
            let mut bash = Command::new("bash");
            bash.args(["-c", &emulator]);
            bash
        };
        command
            .env("VOD_EMULATOR_CA_DIR", crate::common::exec::shared_ca_dir())
            .env_remove("VOD_EMULATOR_LISTEN_PORT")
            .env_remove("NO_COLOR");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let out = command.output().expect("run the emulator");
        assert!(out.status.success(), "{out:?}");
        // `script` copies the terminal to stdout; a pipe keeps stderr apart.
        let text = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&text).into_owned();
        assert!(text.contains("POST /"), "no request line logged: {text}");
        text.contains('\u{1b}')
    };
    let (on_terminal, with_no_color, in_pipe) =
        tokio::task::spawn_blocking(move || (run(true, false), run(true, true), run(false, false)))
            .await
            .expect("join");
    assert!(on_terminal, "a terminal gets coloured log lines");
    assert!(!with_no_color, "NO_COLOR turns colour off");
    assert!(!in_pipe, "a pipe gets plain log lines");
}

/// The variables `env` prints for clients are never read back as the server's flags: in a
/// shell that evaluated `env` for an emulator already listening (`VOD_EMULATOR_PORT` names a
/// taken port), `exec` still starts one of its own on a free port.
#[tokio::test]
async fn exec_after_eval_env_starts_on_a_free_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let printed = emulator_command()
            .args(["--port", &port, "env"])
            .output()
            .expect("run env");
        assert!(printed.status.success(), "{printed:?}");
        let script = format!(
            "{}\n'{}' exec -- sh -c 'echo \"$VOD_EMULATOR_PORT\"'",
            String::from_utf8_lossy(&printed.stdout),
            crate::common::exec::BIN
        );
        let out = Command::new("sh")
            .args(["-c", &script])
            .env("VOD_EMULATOR_CA_DIR", crate::common::exec::shared_ca_dir())
            .env_remove("VOD_EMULATOR_LISTEN_PORT")
            .output()
            .expect("run exec");
        (port, out)
    });
    let (port, out) = out.await.expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let seen = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        !seen.is_empty() && seen != port,
        "exec ran on {seen}, env named {port}"
    );
    drop(taken);
}

/// Start-up errors are one line naming the path or address, with the cause once and a hint
/// when there is one: `--data-dir` naming a file, a port in use, an invalid or unparsable
/// `--faults` file.
#[tokio::test]
async fn start_up_errors_are_one_line_with_the_path_and_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let bad_rule = dir.path().join("bad-rule.toml");
    std::fs::write(
        &bad_rule,
        "[[rules]]\nmatch = { service = \"cos\", action = \"PostObject\" }\neffect = { type = \"drop\" }\n",
    )
    .expect("write");
    let unparsable = dir.path().join("unparsable.toml");
    std::fs::write(&unparsable, "rules = [\n").expect("write");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();
    let cases = [
        (
            vec!["--data-dir".to_owned(), path(&file)],
            path(&file),
            None,
        ),
        (
            vec!["--port".to_owned(), port.clone()],
            format!("127.0.0.1:{port}"),
            Some("--port 0"),
        ),
        (
            vec!["--faults".to_owned(), path(&bad_rule)],
            path(&bad_rule),
            None,
        ),
        (
            vec!["--faults".to_owned(), path(&unparsable)],
            path(&unparsable),
            None,
        ),
    ];
    for (flags, named, hint) in cases {
        let out = tokio::task::spawn_blocking({
            let flags = flags.clone();
            move || {
                emulator_command()
                    .args(&flags)
                    .args(["exec", "--", "true"])
                    .output()
                    .expect("run")
            }
        })
        .await
        .expect("join");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("vod-emulator:"))
            .collect();
        assert_eq!(errors.len(), 1, "{flags:?}: {stderr}");
        let error = errors[0];
        assert!(error.contains(&named), "{flags:?}: {stderr}");
        let cause = error.rsplit(": ").next().expect("a cause");
        assert_eq!(error.matches(cause).count(), 1, "{flags:?}: {stderr}");
        let hints: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.trim().strip_prefix("hint: "))
            .collect();
        match hint {
            Some(hint) => assert!(
                hints.len() == 1 && hints[0].contains(hint),
                "{flags:?}: {stderr}"
            ),
            None => assert!(hints.is_empty(), "{flags:?}: {stderr}"),
        }
        assert_eq!(
            stderr.lines().count(),
            1 + hints.len(),
            "{flags:?}: {stderr}"
        );
    }
    drop(taken);
}

/// Bound to 0.0.0.0, the emulator advertises 127.0.0.1 (ready line, MediaUrl) rather than an
/// address no client can use, and warns that other machines need `--public-url` and that the
/// default key pair lets anyone who reaches the port in; with both set, it warns of neither.
#[tokio::test]
async fn bound_to_all_interfaces_it_advertises_loopback_and_warns() {
    let mut child = emulator_command()
        .args(["--bind", "0.0.0.0", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let stdout = child.stdout.take().expect("stdout");
    let endpoint = vod_testkit::wait_ready(stdout, Duration::from_secs(20)).expect("ready line");
    let done = upload(&endpoint, b"anywhere", "bind").await;
    child.kill().expect("kill");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(done.media_url.starts_with(&endpoint), "{}", done.media_url);
    assert!(stderr.contains("--public-url"), "{stderr}");
    assert!(stderr.contains("anyone who can reach"), "{stderr}");

    let out = tokio::task::spawn_blocking(|| {
        emulator_command()
            .args(["--bind", "0.0.0.0", "--public-url", "http://vod.test:9266"])
            .args(["--secret-id", "AKIDmine", "--secret-key", "mine"])
            .args(["exec", "--", "true"])
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("WARNING"), "{stderr}");
}

/// Under `exec` the emulator logs warnings only, so its request lines do not interleave with
/// the command's output; `--log` (or `VOD_EMULATOR_LOG`) given explicitly still applies.
#[tokio::test]
async fn exec_logs_quietly_unless_told_otherwise() {
    let call = r#"exec 3<>/dev/tcp/127.0.0.1/$VOD_EMULATOR_PORT; printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' >&3; cat <&3 >/dev/null"#;
    let run = |flags: &'static [&'static str], env: Option<&'static str>| {
        tokio::task::spawn_blocking(move || {
            let mut command = emulator_command();
            command
                .args(flags)
                .args(["exec", "--", "bash", "-c", call])
                .env_remove("VOD_EMULATOR_LOG");
            if let Some(filter) = env {
                command.env("VOD_EMULATOR_LOG", filter);
            }
            let out = command.output().expect("run");
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
    };
    let quiet = run(&[], None).await.expect("join");
    assert!(
        !quiet.contains("POST /") && !quiet.contains(" INFO "),
        "{quiet}"
    );
    let flag = run(&["--log", "info"], None).await.expect("join");
    assert!(flag.contains("POST /"), "{flag}");
    let env = run(&[], Some("info")).await.expect("join");
    assert!(env.contains("POST /"), "{env}");
}

/// `env` and `ca` into a pipe closed early end quietly with status 0, as `events` does.
#[tokio::test]
async fn env_and_ca_into_a_closed_pipe_end_quietly() {
    for subcommand in ["env", "ca"] {
        let out = tokio::task::spawn_blocking(move || {
            let mut child = emulator_command()
                .arg(subcommand)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            drop(child.stdout.take());
            child.wait_with_output().expect("wait")
        })
        .await
        .expect("join");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{subcommand}: {stderr}");
        assert!(!stderr.contains("panicked"), "{subcommand}: {stderr}");
    }
}
