//! Runs properties with proptest's runner: a seed per run (and per property, derived from its
//! name) so a failure is reproducible, shrinking to a minimal case, and a verdict per property
//! that takes the target's known divergences into account.

use crate::target::{Target, TargetKind};
use proptest::test_runner::{
    Config, FailurePersistence, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError,
    TestRng, TestRunner,
};
use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};
use vod_emulator::faults::ScenarioClass;

/// Cases per property of a run at the suite's default strength (`vod-conformance run` and
/// `cargo test` alike).
pub const DEFAULT_CASES: u32 = 256;

/// What a property needs beyond the protocol itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: runs against any target.
    Protocol,
    /// The emulator's admin side (clock, faults): skipped elsewhere.
    Admin,
    /// A plain-HTTP endpoint, for checks on a raw socket ([`crate::raw`]): skipped over TLS.
    PlainHttp,
}

/// What a property drives, which decides whether it runs under a ride-out fault scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drives {
    /// The reference client, end to end: it must ride out every fault the protocol allows.
    Client,
    /// The protocol, request by request: a fault the protocol allows (a 5xx, a reset) is, to
    /// it, a different answer, so it does not run under ride-out scenarios.
    Protocol,
}

/// A named rule an endpoint must follow.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// Stable name (for `--filter`, divergence lists, reports).
    pub name: &'static str,
    /// The rule, in one sentence, with where it comes from.
    pub rule: &'static str,
    /// What it needs.
    pub needs: Needs,
    /// What it drives.
    pub drives: Drives,
    /// Checks the rule over generated cases.
    pub check: fn(&Ctx, &mut TestRunner) -> Result<(), Failure>,
}

/// Why a property failed: the reason and the minimal (shrunk) case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was wrong.
    pub message: String,
    /// The shrunk case, printed.
    pub minimal_case: String,
}

/// The verdict on one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every case held.
    Passed,
    /// A case broke the rule.
    Failed(Failure),
    /// A known divergence of this target: failed as expected.
    ExpectedFailure(Failure),
    /// Listed as a known divergence but passed: the list should shrink.
    UnexpectedPass,
    /// Not run, and why.
    Skipped(String),
}

/// One property's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The property.
    pub property: Property,
    /// The verdict.
    pub verdict: Verdict,
    /// Time spent.
    pub duration: Duration,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Cases per property.
    pub cases: u32,
    /// Seed of the run.
    pub seed: u64,
    /// Only properties whose name contains one of these (all when empty).
    pub filter: Vec<String>,
    /// Property names this target is known to break.
    pub divergences: Vec<String>,
    /// The class of the fault scenario the target runs under, if any: under any class but
    /// [`ScenarioClass::BreaksProtocol`] only properties that drive the reference client run.
    pub scenario: Option<ScenarioClass>,
    /// Where failing cases are kept, one file a property (`<dir>/<property>.txt`, proptest's
    /// regressions format); each property replays its kept cases before new ones. `None`
    /// keeps nothing.
    pub regressions: Option<std::path::PathBuf>,
}

/// What a property sees: the target and a way to run async code from proptest's closures.
pub struct Ctx<'a> {
    /// The target.
    pub target: &'a Target,
    runtime: &'a tokio::runtime::Runtime,
}

impl Ctx<'_> {
    /// Runs a future to completion on the suite's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

/// Runs every selected property against `target`, in order.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    target: &Target,
    properties: &[Property],
    config: &RunConfig,
) -> Vec<Outcome> {
    let ctx = Ctx { target, runtime };
    properties
        .iter()
        .filter(|p| config.filter.is_empty() || config.filter.iter().any(|f| p.name.contains(f.as_str())))
        .map(|p| {
            let started = Instant::now();
            let expected_to_fail = config.divergences.iter().any(|d| d == p.name);
            let verdict = if let Some(why) = unmet(p.needs, target) {
                Verdict::Skipped(why)
            } else if config.scenario.is_some_and(|c| c != ScenarioClass::BreaksProtocol)
                && p.drives == Drives::Protocol
            {
                Verdict::Skipped(
                    "speaks the protocol request by request; under a ride-out or refusing fault scenario only properties that drive the reference client run".into(),
                )
            } else {
                let mut runner = runner_for(p.name, config);
                match ((p.check)(&ctx, &mut runner), expected_to_fail) {
                    (Ok(()), false) => Verdict::Passed,
                    (Ok(()), true) => Verdict::UnexpectedPass,
                    (Err(f), false) => Verdict::Failed(f),
                    (Err(f), true) => Verdict::ExpectedFailure(f),
                }
            };
            Outcome {
                property: *p,
                verdict,
                duration: started.elapsed(),
            }
        })
        .collect()
}

/// Why a target cannot run a property with these needs, if it cannot.
fn unmet(needs: Needs, target: &Target) -> Option<String> {
    match needs {
        Needs::Protocol => None,
        Needs::Admin => target.admin().is_none().then(|| match target.kind() {
            TargetKind::Cloud => "needs an emulator's admin API; the cloud has none".to_owned(),
            _ => format!(
                "needs an emulator's admin API, and {}/_emulator/health did not answer (give --admin-token for a protected one)",
                target.vod_endpoint()
            ),
        }),
        Needs::PlainHttp => (!target.vod_endpoint().starts_with("http://")).then(|| {
            format!(
                "checks the raw wire, which needs a plain-HTTP endpoint; target is {}",
                target.vod_endpoint()
            )
        }),
    }
}

/// A runner whose random stream depends only on the run's seed and the property's name.
fn runner_for(name: &str, config: &RunConfig) -> TestRunner {
    use md5::{Digest, Md5};
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&config.seed.to_le_bytes());
    seed[8..24].copy_from_slice(&Md5::digest(name.as_bytes()));
    // proptest names a persistence file by a `&'static str`: one short path a property a
    // run is leaked, a bounded cost for replaying every kept failure first.
    let failure_persistence = config.regressions.as_ref().map(|dir| {
        let path: &'static str = Box::leak(
            dir.join(format!("{name}.txt"))
                .display()
                .to_string()
                .into_boxed_str(),
        );
        Box::new(FileFailurePersistence::Direct(path)) as Box<dyn FailurePersistence>
    });
    let proptest_config = Config {
        cases: config.cases,
        max_shrink_iters: 256,
        failure_persistence,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        proptest_config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    )
}

/// Checks `test` over values of `strategy`; a failure comes back shrunk, and a run that tried
/// fewer cases than configured fails.
///
/// # Errors
/// The first failing case, minimised.
pub fn check<S>(
    runner: &mut TestRunner,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), String>,
) -> Result<(), Failure>
where
    S: proptest::strategy::Strategy,
    S::Value: Debug,
{
    let tried = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |value| {
            tried.set(tried.get() + 1);
            test(value).map_err(TestCaseError::fail)
        })
        .map_err(|err| match err {
            TestError::Fail(reason, value) => Failure {
                message: reason.to_string(),
                minimal_case: format!("{value:#?}"),
            },
            TestError::Abort(reason) => Failure {
                message: format!("aborted: {reason}"),
                minimal_case: String::new(),
            },
        })?;
    // proptest counts a runner's successes across `run` calls: a runner used twice would
    // pass its second property without trying a case. Nothing passes untried.
    let cases = runner.config().cases;
    if tried.get() < cases {
        return Err(Failure {
            message: format!("tried {} of {cases} cases", tried.get()),
            minimal_case: String::new(),
        });
    }
    Ok(())
}

/// Turns "expected X, got Y" comparisons into readable failures.
pub fn expect_eq<T: PartialEq + Debug>(what: &str, expected: T, actual: T) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

/// The service's error code of a result, or `"ok"`.
pub fn outcome_code<T>(result: &vod_client::Result<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => e
            .code()
            .map_or_else(|| format!("transport/other: {e}"), str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn config(seed: u64, dir: &std::path::Path) -> RunConfig {
        RunConfig {
            cases: 256,
            seed,
            filter: Vec::new(),
            divergences: Vec::new(),
            scenario: None,
            regressions: Some(dir.to_path_buf()),
        }
    }

    /// A rare failure (1 value in 97) found once is kept in the property's file and is the
    /// first case tried by a later run on another seed.
    #[test]
    fn a_failing_case_is_kept_and_replayed_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rare = |v: u32| {
            if v % 97 == 13 {
                Err(format!("{v} is rare"))
            } else {
                Ok(())
            }
        };
        let found = check(
            &mut runner_for("rare", &config(5, dir.path())),
            0u32..1_000_000,
            rare,
        );
        assert!(found.is_err(), "seed 5 finds a rare value");
        let kept = std::fs::read_to_string(dir.path().join("rare.txt")).expect("kept file");
        assert!(kept.lines().any(|l| l.starts_with("cc ")), "{kept}");

        let first = Cell::new(None);
        let again = check(
            &mut runner_for("rare", &config(6, dir.path())),
            0u32..1_000_000,
            |v| {
                first.set(first.get().or(Some(v)));
                rare(v)
            },
        );
        assert!(again.is_err());
        assert_eq!(first.get().map(|v| v % 97), Some(13), "replayed first");
    }

    /// A property that passes has tried exactly the configured cases, and a runner already
    /// used up does not pass a second property untried.
    #[test]
    fn a_spent_runner_fails_instead_of_passing_untried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut runner = runner_for("spent", &config(1, dir.path()));
        let tried = Cell::new(0);
        let counted = |_: u32| {
            tried.set(tried.get() + 1);
            Ok(())
        };
        check(&mut runner, 0u32..10, counted).expect("passes");
        assert_eq!(tried.get(), 256);
        let again = check(&mut runner, 0u32..10, |_| Ok(()));
        assert!(
            again.is_err_and(|f| f.message.contains("tried 0 of 256")),
            "a spent runner is refused"
        );
    }
}
