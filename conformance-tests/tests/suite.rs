//! The suite against the in-process emulator with a fixed seed, as part of `cargo test`.

use std::io::Write;
use vod_conformance::runner::{self, RunConfig, Verdict};
use vod_conformance::target::Target;
use vod_conformance::{divergences, properties, report};

/// Every property holds for the emulator (known divergences aside) at the suite's default
/// strength (every property × [`runner::DEFAULT_CASES`] cases, the fixed seed printed in the
/// summary), and the JUnit report lists each of them.
#[test]
fn the_emulator_conforms() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let target = runtime.block_on(Target::emulator()).expect("emulator");
    let config = RunConfig {
        cases: runner::DEFAULT_CASES,
        seed: 20_261_124,
        filter: Vec::new(),
        divergences: divergences::builtin("emulator"),
        scenario: None,
        regressions: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/regressions").into()),
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let run = report::Run {
        kind: report::Kind::Conformance,
        target: "emulator".into(),
        seed: config.seed,
        cases: config.cases,
    };
    let summary = report::human(&run, &outcomes);
    // Straight to the process's stderr, past the test harness's capture: every run's log
    // shows the seed and the strength it ran at.
    let _ = writeln!(std::io::stderr(), "{summary}");
    assert_eq!(outcomes.len(), properties::ALL.len());
    assert!(report::Totals::of(&outcomes).ok(), "{summary}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.verdict, Verdict::Passed)),
        "{summary}"
    );
    let junit = report::junit(&run, &outcomes);
    for p in properties::ALL {
        assert!(junit.contains(&format!("name=\"{}\"", p.name)), "{junit}");
    }
}

/// Pointed at an emulator by URL, the suite finds its admin API (`/_emulator/health`) and runs
/// every property, the clock-driven ones included, through it; every media the run created is
/// deleted afterwards.
#[test]
fn url_targets_of_an_emulator_run_every_property_and_clean_up() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emu = runtime
        .block_on(Target::emulator_builder().start())
        .expect("emulator");
    let credentials = vod_client::Credentials::new(
        emu.config().secret_id.clone(),
        emu.config().secret_key.clone(),
    );
    let target = runtime.block_on(Target::endpoint(
        &emu.endpoint(),
        credentials,
        "ap-guangzhou",
        None,
    ));
    assert!(
        target.admin().is_some(),
        "the emulator's admin API was not found"
    );
    let config = RunConfig {
        cases: 4,
        seed: 7,
        filter: Vec::new(),
        divergences: divergences::builtin("endpoint"),
        scenario: None,
        regressions: None,
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let run = report::Run {
        kind: report::Kind::Conformance,
        target: emu.endpoint(),
        seed: config.seed,
        cases: config.cases,
    };
    let summary = report::human(&run, &outcomes);
    assert!(
        outcomes.iter().all(|o| o.verdict == Verdict::Passed),
        "{summary}"
    );
    let created = target.created_ids();
    assert!(!created.is_empty());
    assert!(runtime.block_on(target.delete_created()).is_empty());
    let vod = target.vod().expect("vod");
    let described = runtime
        .block_on(
            vod.describe_media_infos(&vod_client::wire::media::DescribeMediaInfosRequest {
                file_ids: Some(created.iter().take(20).cloned().collect()),
                ..Default::default()
            }),
        )
        .expect("describe");
    assert!(described.media_info_set.is_empty(), "media left behind");
}

/// The suite can fail: an emulator that corrupts the ETag of every PutObject breaks
/// `round_trip`, and the report says which rule, why, the minimal case and how to reproduce it.
#[test]
fn a_misbehaving_endpoint_fails_with_a_readable_report() {
    use vod_emulator::faults::{Checksum, Effect, Rule, Service};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emu = runtime
        .block_on(
            Target::emulator_builder()
                .fault(Rule::new(
                    Service::Cos,
                    "PutObject",
                    Effect::Corrupt {
                        field: Checksum::Etag,
                    },
                ))
                .start(),
        )
        .expect("emulator");
    let target = Target::with_emulator(emu).expect("target");
    let config = RunConfig {
        cases: 16,
        seed: 3,
        filter: vec!["round_trip".into()],
        divergences: Vec::new(),
        scenario: None,
        regressions: None,
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let run = report::Run {
        kind: report::Kind::Conformance,
        target: "emulator".into(),
        seed: 3,
        cases: 16,
    };
    let summary = report::human(&run, &outcomes);
    let Verdict::Failed(failure) = &outcomes[0].verdict else {
        panic!("round_trip should fail: {summary}");
    };
    assert!(failure.message.contains("integrity"), "{summary}");
    assert!(summary.contains("FAIL  round_trip"), "{summary}");
    assert!(summary.contains("minimal case"), "{summary}");
    assert!(
        summary.contains("reproduce: vod-conformance run --seed 3 --cases 16 --filter round_trip"),
        "{summary}"
    );
    let junit = report::junit(&run, &outcomes);
    assert!(junit.contains("<failure message="), "{junit}");
    assert!(
        junit.contains("reproduce: vod-conformance run --seed 3 --cases 16 --filter round_trip"),
        "{junit}"
    );
}

/// A run with injected faults is titled and filed apart from conformance evidence; its
/// reproduce line names the target, the strength and the scenario, and a failure says whether
/// the scenario's class expects it.
#[test]
fn fault_runs_are_reported_apart_and_reproduced_whole() {
    use vod_emulator::faults::ScenarioClass;
    let run = |class| report::Run {
        kind: report::Kind::ClientUnderFaults {
            path: "fixtures/faults/flaky-cos-5xx.toml".into(),
            class,
        },
        target: "emulator".into(),
        seed: 1,
        cases: 8,
    };
    let text = report::human(&run(Some(ScenarioClass::RideOut)), &[]);
    assert!(
        text.contains("not evidence of endpoint conformance"),
        "{text}"
    );
    assert!(report::junit(&run(None), &[]).contains("client-under-faults"));
    assert_eq!(
        run(None).reproduce("round_trip"),
        "vod-conformance run --seed 1 --cases 8 --faults fixtures/faults/flaky-cos-5xx.toml --filter round_trip"
    );
    let remote = report::Run {
        kind: report::Kind::Conformance,
        target: "http://127.0.0.1:9266".into(),
        seed: 2,
        cases: 4,
    };
    assert_eq!(
        remote.reproduce("header_names"),
        "vod-conformance run --target http://127.0.0.1:9266 --seed 2 --cases 4 --filter header_names"
    );
    let failure = runner::Outcome {
        property: properties::ALL[0],
        verdict: Verdict::Failed(runner::Failure {
            message: "m".into(),
            minimal_case: String::new(),
        }),
        duration: std::time::Duration::ZERO,
    };
    let expected = report::human(
        &run(Some(ScenarioClass::BreaksProtocol)),
        std::slice::from_ref(&failure),
    );
    assert!(
        expected.contains("under these faults: expected"),
        "{expected}"
    );
    let unexpected = report::human(&run(Some(ScenarioClass::RideOut)), &[failure]);
    assert!(
        unexpected.contains("under these faults: unexpected"),
        "{unexpected}"
    );
}
