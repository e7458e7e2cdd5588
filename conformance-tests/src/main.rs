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
enum Command {
    /// Run the properties and report.
    Run {
        /// `emulator` (in-process, default), `cloud` (real Tencent Cloud: needs --allow-cost),
        /// or the URL of an endpoint (VOD API there, COS path style there).
        #[arg(long, default_value = "emulator")]
        target: String,
        /// Cases per property.
        #[arg(long, default_value_t = runner::DEFAULT_CASES)]
        cases: u32,
        /// Seed (a failure report names the seed that reproduces it).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only properties whose name contains this.
        #[arg(long)]
        filter: Option<String>,
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
        /// Start the emulator with this fault scenario (TOML/JSON, see fixtures/faults/): the
        /// run then tests the client's resilience and is reported apart, never as conformance.
        #[arg(long, value_name = "FILE")]
        faults: Option<PathBuf>,
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
        faults,
    } = cli.command
    else {
        for p in properties::ALL {
            println!("{}\n    {}\n", p.name, p.rule);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let runtime = tokio::runtime::Runtime::new()?;
    if faults.is_some() && target != "emulator" {
        bail!("--faults needs --target emulator: only the emulator can inject faults");
    }
    let kind = match &faults {
        Some(path) => report::Kind::ClientUnderFaults(path.display().to_string()),
        None => report::Kind::Conformance,
    };
    let scenario = faults
        .as_deref()
        .map(vod_emulator::faults::Scenario::from_file)
        .transpose()?;
    let class = scenario.as_ref().and_then(|s| s.class);
    let target = match target.as_str() {
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
            Target::endpoint(url, env_credentials()?, &region)
        }
        other => bail!("unknown target `{other}`: use emulator, cloud or an http(s) URL"),
    };
    let name = target.kind().name();
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
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    print!("{}", report::human(&kind, name, seed, cases, &outcomes));
    for (file_id, why) in runtime.block_on(target.delete_created()) {
        eprintln!("vod-conformance: could not delete media {file_id} created by the run: {why}");
    }
    if let Some(path) = junit {
        std::fs::write(&path, report::junit(&kind, name, &outcomes))
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
