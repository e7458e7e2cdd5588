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
        filter: None,
        divergences: divergences::builtin("emulator"),
        scenario: None,
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let summary = report::human(
        &report::Kind::Conformance,
        "emulator",
        config.seed,
        config.cases,
        &outcomes,
    );
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
    let junit = report::junit(&report::Kind::Conformance, "emulator", &outcomes);
    for p in properties::ALL {
        assert!(junit.contains(&format!("name=\"{}\"", p.name)), "{junit}");
    }
}

/// Pointed at an endpoint by URL (here, an emulator reached only through its URL), properties
/// that need the admin API are skipped with a reason, and every media the run created is
/// deleted afterwards.
#[test]
fn url_targets_skip_admin_properties_and_clean_up() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emu = runtime
        .block_on(vod_emulator::Emulator::builder().start())
        .expect("emulator");
    let credentials = vod_client::Credentials::new(
        emu.config().secret_id.clone(),
        emu.config().secret_key.clone(),
    );
    let target = Target::endpoint(&emu.endpoint(), credentials, "ap-guangzhou");
    let config = RunConfig {
        cases: 4,
        seed: 7,
        filter: None,
        divergences: divergences::builtin("endpoint"),
        scenario: None,
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let summary = report::human(
        &report::Kind::Conformance,
        "endpoint",
        config.seed,
        config.cases,
        &outcomes,
    );
    for o in &outcomes {
        let admin = o.property.needs == runner::Needs::Admin;
        match &o.verdict {
            Verdict::Skipped(why) => assert!(admin && why.contains("admin"), "{summary}"),
            Verdict::Passed => assert!(!admin, "{summary}"),
            other => panic!("{}: {other:?}\n{summary}", o.property.name),
        }
    }
    assert!(summary.contains("SKIP"), "{summary}");
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
        filter: Some("round_trip".into()),
        divergences: Vec::new(),
        scenario: None,
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let summary = report::human(&report::Kind::Conformance, "emulator", 3, 16, &outcomes);
    let Verdict::Failed(failure) = &outcomes[0].verdict else {
        panic!("round_trip should fail: {summary}");
    };
    assert!(failure.message.contains("integrity"), "{summary}");
    assert!(summary.contains("FAIL  round_trip"), "{summary}");
    assert!(summary.contains("minimal case"), "{summary}");
    assert!(
        summary.contains("reproduce: vod-conformance run --seed 3 --filter round_trip"),
        "{summary}"
    );
    let junit = report::junit(&report::Kind::Conformance, "emulator", &outcomes);
    assert!(junit.contains("<failure message="), "{junit}");
}

/// A run with injected faults is titled and filed apart from conformance evidence.
#[test]
fn fault_runs_are_reported_apart() {
    let kind = report::Kind::ClientUnderFaults("flaky-cos-5xx.toml".into());
    let text = report::human(&kind, "emulator", 1, 1, &[]);
    assert!(
        text.contains("not evidence of endpoint conformance"),
        "{text}"
    );
    assert!(report::junit(&kind, "emulator", &[]).contains("client-under-faults"));
}
