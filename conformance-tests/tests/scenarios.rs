//! The shipped fault scenarios (`fixtures/faults/`) against the suite: each says what it makes
//! of the endpoint, and a run under it proves it. A scenario that breaks the protocol fails at
//! least one property; one a correct client rides out fails none of the properties that drive
//! the reference client (the others do not run under it); one that refuses makes such a
//! property fail, naming the refusal's code.

use std::path::{Path, PathBuf};
use vod_conformance::runner::{self, Drives, RunConfig, Verdict};
use vod_conformance::target::Target;
use vod_conformance::{properties, report};
use vod_emulator::faults::{Effect, Scenario, ScenarioClass};

/// Cases per property: enough for every shipped scenario's rules to fire.
const CASES: u32 = 8;
const SEED: u64 = 3;

fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/faults");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/faults")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    files
}

/// Runs the suite under one scenario; `Err` says how the scenario broke its class.
fn holds_its_class(path: &Path) -> Result<(), String> {
    let name = path.display();
    let scenario = Scenario::from_file(path).map_err(|e| e.to_string())?;
    let class = scenario
        .class
        .ok_or_else(|| format!("{name}: no `class` (breaks-protocol or ride-out)"))?;
    let described = scenario
        .description
        .as_deref()
        .is_some_and(|d| d.contains("Class: "));
    if !described {
        return Err(format!("{name}: the description does not state its class"));
    }
    let codes: Vec<String> = scenario
        .rules
        .iter()
        .filter_map(|rule| match &rule.effect {
            Effect::Error { code, .. } => Some(code.clone()),
            _ => None,
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let emu = runtime
        .block_on(Target::emulator_builder().scenario(scenario).start())
        .map_err(|e| e.to_string())?;
    let target = Target::with_emulator(emu).map_err(|e| e.to_string())?;
    let config = RunConfig {
        cases: CASES,
        seed: SEED,
        filter: Vec::new(),
        divergences: Vec::new(),
        scenario: Some(class),
        regressions: None,
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let run = report::Run {
        kind: report::Kind::ClientUnderFaults {
            path: name.to_string(),
            class: Some(class),
        },
        target: "emulator".into(),
        seed: SEED,
        cases: CASES,
    };
    let summary = report::human(&run, &outcomes);
    let failed = |o: &runner::Outcome| matches!(o.verdict, Verdict::Failed(_));
    let names_a_refusal = |o: &runner::Outcome| match &o.verdict {
        Verdict::Failed(f) => codes.iter().any(|code| f.message.contains(code.as_str())),
        _ => false,
    };
    match class {
        ScenarioClass::Refuses
            if !outcomes
                .iter()
                .any(|o| o.property.drives == Drives::Client && names_a_refusal(o)) =>
        {
            Err(format!(
                "{name} refuses, but no property that drives the reference client failed naming {codes:?}:\n{summary}"
            ))
        }
        ScenarioClass::BreaksProtocol if !outcomes.iter().any(failed) => Err(format!(
            "{name} breaks the protocol, but no property failed:\n{summary}"
        )),
        ScenarioClass::RideOut if outcomes.iter().any(failed) => Err(format!(
            "{name} is one a correct client rides out, but a property failed:\n{summary}"
        )),
        ScenarioClass::RideOut
            if !outcomes.iter().any(|o| {
                o.property.drives == Drives::Client && matches!(o.verdict, Verdict::Passed)
            }) =>
        {
            Err(format!(
                "{name}: no property that drives the reference client ran:\n{summary}"
            ))
        }
        _ => Ok(()),
    }
}

/// Every shipped scenario is classified, says so in its description, and holds its class
/// (scenarios run side by side, each with its own emulator; `stalled-complete` waits 40 s).
#[test]
fn every_shipped_scenario_holds_its_class() {
    let files = shipped();
    assert!(files.len() >= 18, "{files:?}");
    let broken: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = files
            .iter()
            .map(|f| scope.spawn(move || holds_its_class(f)))
            .collect();
        runs.into_iter()
            .filter_map(|run| match run.join() {
                Ok(result) => result.err(),
                Err(_) => Some("a scenario run panicked".to_owned()),
            })
            .collect()
    });
    assert!(broken.is_empty(), "{}", broken.join("\n\n"));
}
