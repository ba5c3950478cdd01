//! Golden values: exact results for fixed seeds, so that a dependency upgrade
//! (rand, rand_chacha, rand_distr) or a refactor that changes results is seen,
//! not silent. If a change is intended, update the values and say why in the
//! commit message.

use armsim::engine::{QuarterView, Simulator, run_rng};
use armsim::output::write_summary_csv;
use armsim::scenario::load_baseline;
use armsim::study::Study;
use armsim::summary::Entity;
use sha2::{Digest, Sha256};

#[test]
fn the_first_draws_of_a_run_stream_are_pinned() {
    use rand::RngCore;
    let mut rng = run_rng(20210201, 3);
    let draws: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
    assert_eq!(draws, GOLDEN_DRAWS);
}

#[test]
fn run_zero_of_the_baseline_is_pinned() {
    let loaded = load_baseline(&[]).unwrap();
    let mut last = (0.0, 0.0, 0.0);
    Simulator::new(&loaded.scenario).run(
        &mut run_rng(loaded.scenario.seed, 0),
        &mut |v: &QuarterView<'_>| {
            last = (v.rolling_share[0], v.support[1], v.budget);
        },
    );
    assert_eq!(last, GOLDEN_RUN_ZERO);
}

#[test]
fn a_small_baseline_study_is_pinned() {
    let loaded = load_baseline(&["run.runs=500".into(), "run.seed=7".into()]).unwrap();
    let summary = Study::new(&loaded.scenario)
        .threads(2)
        .run()
        .unwrap()
        .summary;
    let russia = summary
        .metric(Entity::Supplier(0), "rolling_share")
        .unwrap();
    let stat = summary.stat(39, &russia).unwrap();
    assert_eq!((stat.mean, stat.p50()), GOLDEN_STUDY_RUSSIA);
    let mut csv = Vec::new();
    write_summary_csv(&mut csv, &loaded.scenario, &summary).unwrap();
    let hash: String = Sha256::digest(&csv)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, GOLDEN_STUDY_CSV_SHA256);
}

const GOLDEN_DRAWS: [u64; 3] = [
    9387407392391828420,
    6585644525947758002,
    17362200743149521808,
];
const GOLDEN_RUN_ZERO: (f64, f64, f64) = (0.684380869715679, 0.2827480541840164, 60.01805226881954);
const GOLDEN_STUDY_RUSSIA: (f64, f64) = (0.7138222087307061, 0.721);
const GOLDEN_STUDY_CSV_SHA256: &str =
    "047569e0f7dd58cb6beeb73803cd7f67a2354fac11d91d96676ad6a998b72887";
