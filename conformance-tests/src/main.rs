//! `vod-conformance run`: check an endpoint against the suite and report.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use vod_client::Credentials;
use vod_conformance::runner::{self, RunConfig};
use vod_conformance::target::Target;
use vod_conformance::{divergences, properties, report};

/// Property-based conformance suite for Tencent Cloud VOD server-side upload endpoints.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once, at start-up
enum Command {
    /// Run the properties and report.
    Run {
        /// `emulator` (in-process, default), `cloud` (real Tencent Cloud: needs --allow-cost),
        /// or the URL of an endpoint (VOD API there, COS path style there).
        #[arg(long, default_value = "emulator")]
        target: String,
        /// Cases per property (at least 1).
        #[arg(long, default_value_t = runner::DEFAULT_CASES, value_parser = clap::value_parser!(u32).range(1..))]
        cases: u32,
        /// Seed (a failure report names the seed that reproduces it).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only properties whose name contains this (repeatable: any of them); a filter that
        /// selects nothing is an error.
        #[arg(long)]
        filter: Vec<String>,
        /// Write JUnit XML here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Known-divergence list to use instead of the built-in one for the target.
        #[arg(long, value_name = "FILE")]
        divergences: Option<PathBuf>,
        /// Region for a URL or cloud target.
        #[arg(long, env = "TENCENTCLOUD_REGION", default_value = "ap-guangzhou")]
        region: String,
        /// Required for `--target cloud`: the run creates (and deletes) real media.
        #[arg(long)]
        allow_cost: bool,
        /// Bearer token of a URL target's admin API (an emulator started with
        /// `--admin-token`), so the properties that need its clock run.
        #[arg(long, env = "VOD_EMULATOR_ADMIN_TOKEN")]
        admin_token: Option<String>,
        /// Start the emulator with this fault scenario (TOML/JSON, see fixtures/faults/): the
        /// run then tests the client's resilience and is reported apart, never as conformance.
        #[arg(long, value_name = "FILE")]
        faults: Option<PathBuf>,
        /// Keep failing cases in this directory (one file a property) and replay them first
        /// on every later run with the same flag.
        #[arg(long, value_name = "DIR")]
        regressions: Option<PathBuf>,
    },
    /// List the properties and their rules.
    List,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("vod-conformance: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Command::Run {
        target,
        cases,
        seed,
        filter,
        junit,
        divergences: list,
        region,
        allow_cost,
        admin_token,
        faults,
        regressions,
    } = cli.command
    else {
        for p in properties::ALL {
            println!("{}\n    {}\n", p.name, p.rule);
        }
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(unmatched) = filter
        .iter()
        .find(|f| !properties::ALL.iter().any(|p| p.name.contains(f.as_str())))
    {
        bail!("--filter {unmatched} selects no property (`vod-conformance list` names them)");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    if faults.is_some() && target != "emulator" {
        bail!("--faults needs --target emulator: only the emulator can inject faults");
    }
    let scenario = faults
        .as_deref()
        .map(vod_emulator::faults::Scenario::from_file)
        .transpose()?;
    let class = scenario.as_ref().and_then(|s| s.class);
    let kind = match &faults {
        Some(path) => report::Kind::ClientUnderFaults {
            path: path.display().to_string(),
            class,
        },
        None => report::Kind::Conformance,
    };
    let subject = match target.as_str() {
        "emulator" => {
            let mut builder = Target::emulator_builder();
            if let Some(scenario) = scenario {
                builder = builder.scenario(scenario);
            }
            Target::with_emulator(runtime.block_on(builder.start())?)?
        }
        "cloud" => {
            if !allow_cost {
                bail!("--target cloud creates real media on your account: add --allow-cost to proceed");
            }
            Target::cloud(env_credentials()?, &region)
        }
        url if url.starts_with("http://") || url.starts_with("https://") => {
            let credentials = env_credentials()?;
            eprintln!(
                "vod-conformance: VOD API at {url}, COS path style at {url}/<bucket>/<key>, region {region}, SecretId {} (TENCENTCLOUD_SECRET_ID/KEY)",
                credentials.secret_id
            );
            runtime.block_on(Target::endpoint(url, credentials, &region, admin_token))
        }
        other => bail!("unknown target `{other}`: use emulator, cloud or an http(s) URL"),
    };
    let name = subject.kind().name();
    let divergences = match list {
        Some(path) => divergences::parse(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        ),
        None => divergences::builtin(name),
    };
    let config = RunConfig {
        cases,
        seed,
        filter,
        divergences,
        scenario: class,
        regressions,
    };
    let outcomes = runner::run(&runtime, &subject, properties::ALL, &config);
    let run = report::Run {
        kind,
        target,
        seed,
        cases,
    };
    print!("{}", report::human(&run, &outcomes));
    for (file_id, why) in runtime.block_on(subject.delete_created()) {
        eprintln!("vod-conformance: could not delete media {file_id} created by the run: {why}");
    }
    if let Some(path) = junit {
        std::fs::write(&path, report::junit(&run, &outcomes))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if report::Totals::of(&outcomes).ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn env_credentials() -> anyhow::Result<Credentials> {
    Credentials::from_env().context("set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY")
}
