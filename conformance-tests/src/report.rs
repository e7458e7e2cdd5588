//! Reports: a human summary (a line per property, failures with their minimal case and the
//! seed that reproduces them) and JUnit XML for CI.

use crate::runner::{Outcome, Verdict};
use std::fmt::Write;
use vod_emulator::faults::ScenarioClass;

/// Counts of a run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Properties that held.
    pub passed: usize,
    /// Properties that failed (not expected).
    pub failed: usize,
    /// Known divergences that failed as expected.
    pub expected_failures: usize,
    /// Known divergences that passed.
    pub unexpected_passes: usize,
    /// Properties not run.
    pub skipped: usize,
}

impl Totals {
    /// Tallies outcomes.
    pub fn of(outcomes: &[Outcome]) -> Self {
        let mut t = Totals::default();
        for o in outcomes {
            match o.verdict {
                Verdict::Passed => t.passed += 1,
                Verdict::Failed(_) => t.failed += 1,
                Verdict::ExpectedFailure(_) => t.expected_failures += 1,
                Verdict::UnexpectedPass => t.unexpected_passes += 1,
                Verdict::Skipped(_) => t.skipped += 1,
            }
        }
        t
    }

    /// Whether the target conforms (known divergences aside).
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// What a run is evidence of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Whether the target conforms.
    Conformance,
    /// How the client copes with the injected faults of this scenario file: never evidence
    /// that a target conforms.
    ClientUnderFaults {
        /// The scenario file.
        path: String,
        /// What the scenario says it makes of the endpoint, if it says.
        class: Option<ScenarioClass>,
    },
}

/// One run, as the command line that reproduces it names it.
#[derive(Debug, Clone)]
pub struct Run {
    /// What the run is evidence of.
    pub kind: Kind,
    /// `--target` as given: `emulator`, `cloud` or a URL.
    pub target: String,
    /// The run's seed.
    pub seed: u64,
    /// Cases per property.
    pub cases: u32,
}

impl Run {
    fn title(&self) -> String {
        let target = &self.target;
        match &self.kind {
            Kind::Conformance => format!("vod-conformance against {target}"),
            Kind::ClientUnderFaults { path, .. } => format!(
                "vod-conformance CLIENT RESILIENCE run against {target} with injected faults ({path}): not evidence of endpoint conformance"
            ),
        }
    }

    fn suite(&self) -> String {
        let target = &self.target;
        match self.kind {
            Kind::Conformance => format!("vod-conformance.{target}"),
            Kind::ClientUnderFaults { .. } => {
                format!("vod-conformance.client-under-faults.{target}")
            }
        }
    }

    /// The command that runs `property` again exactly as this run did.
    pub fn reproduce(&self, property: &str) -> String {
        let mut line = String::from("vod-conformance run");
        if self.target != "emulator" {
            let _ = write!(line, " --target {}", self.target);
            if self.target == "cloud" {
                line.push_str(" --allow-cost");
            }
        }
        let _ = write!(line, " --seed {} --cases {}", self.seed, self.cases);
        if let Kind::ClientUnderFaults { path, .. } = &self.kind {
            let _ = write!(line, " --faults {path}");
        }
        let _ = write!(line, " --filter {property}");
        line
    }

    /// What a failure means under this run's fault scenario, if it runs under one.
    fn expectation(&self) -> Option<&'static str> {
        let Kind::ClientUnderFaults { class, .. } = &self.kind else {
            return None;
        };
        Some(match class {
            Some(ScenarioClass::BreaksProtocol) => {
                "expected: the scenario breaks the protocol, and the suite caught it"
            }
            Some(ScenarioClass::RideOut) => "unexpected: a correct client rides this scenario out",
            Some(ScenarioClass::Refuses) => {
                "expected if it names the scenario's refusal: a correct client reports it"
            }
            None => "the scenario does not say whether the endpoint keeps the protocol under it",
        })
    }
}

/// The human summary.
pub fn human(run: &Run, outcomes: &[Outcome]) -> String {
    let mut out = format!(
        "{} (seed {}, {} cases per property)\n\n",
        run.title(),
        run.seed,
        run.cases
    );
    for o in outcomes {
        let secs = o.duration.as_secs_f64();
        let (mark, extra) = match &o.verdict {
            Verdict::Passed => ("PASS", String::new()),
            Verdict::Failed(f) => {
                let mut extra = format!(
                    "\n    rule: {}\n    failure: {}\n    minimal case: {}\n    reproduce: {}",
                    o.property.rule,
                    f.message,
                    f.minimal_case.replace('\n', "\n      "),
                    run.reproduce(o.property.name)
                );
                if let Some(expectation) = run.expectation() {
                    let _ = write!(extra, "\n    under these faults: {expectation}");
                }
                ("FAIL", extra)
            }
            Verdict::ExpectedFailure(f) => {
                ("XFAIL", format!("  (known divergence: {})", f.message))
            }
            Verdict::UnexpectedPass => (
                "XPASS",
                "  (listed as a divergence but passes: remove it from the list)".to_owned(),
            ),
            Verdict::Skipped(why) => ("SKIP", format!("  ({why})")),
        };
        let _ = writeln!(
            out,
            "{mark:>5}  {:<34} {secs:>7.2}s{extra}",
            o.property.name
        );
    }
    let t = Totals::of(outcomes);
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} skipped ({} known divergences failed as expected, {} passed unexpectedly)",
        t.passed, t.failed, t.skipped, t.expected_failures, t.unexpected_passes
    );
    out
}

/// JUnit XML: one test case per property; known divergences are reported as skipped with a
/// message, so CI sees them apart from real failures. A failure carries its rule, minimal case
/// and the command that reproduces it.
pub fn junit(run: &Run, outcomes: &[Outcome]) -> String {
    let t = Totals::of(outcomes);
    let total: f64 = outcomes.iter().map(|o| o.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{total:.3}\">",
        escape(&run.suite()),
        outcomes.len(),
        t.failed,
        t.skipped + t.expected_failures + t.unexpected_passes
    );
    for o in outcomes {
        let _ = write!(
            out,
            "  <testcase classname=\"vod-conformance\" name=\"{}\" time=\"{:.3}\">",
            o.property.name,
            o.duration.as_secs_f64()
        );
        match &o.verdict {
            Verdict::Passed => {}
            Verdict::Failed(f) => {
                let _ = write!(
                    out,
                    "<failure message=\"{}\">{}</failure>",
                    escape(&f.message),
                    escape(&format!(
                        "rule: {}\nminimal case: {}\nreproduce: {}",
                        o.property.rule,
                        f.minimal_case,
                        run.reproduce(o.property.name)
                    ))
                );
            }
            Verdict::ExpectedFailure(f) => {
                let _ = write!(
                    out,
                    "<skipped message=\"known divergence: {}\"/>",
                    escape(&f.message)
                );
            }
            Verdict::UnexpectedPass => {
                let _ = write!(
                    out,
                    "<skipped message=\"listed as a divergence but passes\"/>"
                );
            }
            Verdict::Skipped(why) => {
                let _ = write!(out, "<skipped message=\"{}\"/>", escape(why));
            }
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite></testsuites>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
