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
    };
    let outcomes = runner::run(&runtime, &target, properties::ALL, &config);
    let summary = report::human("endpoint", config.seed, config.cases, &outcomes);
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
