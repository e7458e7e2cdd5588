//! The suite against the in-process emulator with a fixed seed, as part of `cargo test`.

use vod_conformance::runner::{self, RunConfig, Verdict};
use vod_conformance::target::Target;
use vod_conformance::{divergences, properties, report};

/// Every property holds for the emulator (known divergences aside), and the JUnit report
/// lists each of them.
#[test]
fn the_emulator_conforms() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let target = runtime.block_on(Target::emulator()).expect("emulator");
    let config = RunConfig {
        cases: 24,
        seed: 20_261_124,
        filter: None,
        divergences: divergences::builtin("emulator"),
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let summary = report::human("emulator", config.seed, config.cases, &outcomes);
    println!("{summary}");
    assert_eq!(outcomes.len(), properties::ALL.len());
    assert!(report::Totals::of(&outcomes).ok(), "{summary}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.verdict, Verdict::Passed)),
        "{summary}"
    );
    let junit = report::junit("emulator", &outcomes);
    for p in properties::ALL {
        assert!(junit.contains(&format!("name=\"{}\"", p.name)), "{junit}");
    }
}
