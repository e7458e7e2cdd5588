//! Reports: a human summary (a line per property, failures with their minimal case and the
//! seed that reproduces them) and JUnit XML for CI.

use crate::runner::{Outcome, Verdict};
use std::fmt::Write;

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
    /// How the client copes with these injected faults: never evidence that a target conforms.
    ClientUnderFaults(String),
}

impl Kind {
    fn title(&self, target: &str) -> String {
        match self {
            Kind::Conformance => format!("vod-conformance against {target}"),
            Kind::ClientUnderFaults(faults) => format!(
                "vod-conformance CLIENT RESILIENCE run against {target} with injected faults ({faults}): not evidence of endpoint conformance"
            ),
        }
    }

    fn suite(&self, target: &str) -> String {
        match self {
            Kind::Conformance => format!("vod-conformance.{target}"),
            Kind::ClientUnderFaults(_) => format!("vod-conformance.client-under-faults.{target}"),
        }
    }
}

/// The human summary.
pub fn human(kind: &Kind, target: &str, seed: u64, cases: u32, outcomes: &[Outcome]) -> String {
    let mut out = format!(
        "{} (seed {seed}, {cases} cases per property)\n\n",
        kind.title(target)
    );
    for o in outcomes {
        let secs = o.duration.as_secs_f64();
        let (mark, extra) = match &o.verdict {
            Verdict::Passed => ("PASS", String::new()),
            Verdict::Failed(f) => (
                "FAIL",
                format!(
                    "\n    rule: {}\n    failure: {}\n    minimal case: {}\n    reproduce: vod-conformance run --seed {seed} --filter {}",
                    o.property.rule,
                    f.message,
                    f.minimal_case.replace('\n', "\n      "),
                    o.property.name
                ),
            ),
            Verdict::ExpectedFailure(f) => ("XFAIL", format!("  (known divergence: {})", f.message)),
            Verdict::UnexpectedPass => ("XPASS", "  (listed as a divergence but passes: remove it from the list)".to_owned()),
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
/// message, so CI sees them apart from real failures.
pub fn junit(kind: &Kind, target: &str, outcomes: &[Outcome]) -> String {
    let t = Totals::of(outcomes);
    let total: f64 = outcomes.iter().map(|o| o.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{total:.3}\">",
        escape(&kind.suite(target)),
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
                        "rule: {}\nminimal case: {}",
                        o.property.rule, f.minimal_case
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
