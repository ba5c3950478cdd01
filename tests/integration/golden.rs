//! Golden values: exact results for fixed seeds, so that a dependency upgrade
//! (rand, rand_chacha, rand_distr) or a refactor that changes results is seen,
//! not silent. If a change is intended, update the values and say why in the
//! commit message.
//!
//! Model v1's values are those pinned before model v2 existed: a v1 study
//! replays to the same bits. (Its summary.csv's hash is pinned anew: the file
//! gained the n and sd columns and the v2 catalogue's metrics.)
//!
//! Model v3's values are the baseline's since v3 became the default. They
//! were re-pinned when the contracts' number a quarter went from the judged
//! 1.5 to the case library's 0.95 (fitted to its zero years, docs/model.md
//! 3.1); with `--set buyer.contracts_per_quarter=1.5` the earlier values are
//! still reproduced bit for bit (a test below).
//!
//! Model v2's values are the calibrated v2 baseline's
//! (`scenarios/myanmar_2021_v2.toml`, the baseline before v3 became the
//! default; the same values as then, bit for bit) (`support_weight` 0.7136,
//! docs/calibration.md). They were re-pinned when that value replaced the
//! judged 1.5; with `--set buyer.support_weight=1.5` the earlier values
//! (run zero 0.35418985062100145, 0.898891232680789; study 0.4298459203701677,
//! 0.402, summary.csv 5d362dad...) are still reproduced bit for bit.

use armsim::engine::{QuarterView, Simulator, run_rng};
use armsim::metrics::{Entity, MetricId};
use armsim::output::write_summary_csv;
use armsim::scenario::{Loaded, load_baseline, load_file};
use armsim::study::Study;
use sha2::{Digest, Sha256};

fn v1(overrides: &[String]) -> Loaded {
    shipped("myanmar_2021_v1.toml", overrides)
}

/// The baseline as model v2 ran it (the baseline itself runs v3 since v3
/// became the default; this file keeps v2's values).
fn v2(overrides: &[String]) -> Loaded {
    shipped("myanmar_2021_v2.toml", overrides)
}

fn shipped(file: &str, overrides: &[String]) -> Loaded {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    load_file(&path, overrides).unwrap()
}

/// Run 0's last quarter: Russia's rolling share, China's support, the budget.
fn run_zero(loaded: &Loaded) -> (f64, f64, f64) {
    let mut last = (0.0, 0.0, 0.0);
    Simulator::new(&loaded.scenario).run(
        &mut run_rng(loaded.scenario.seed(), 0),
        &mut |v: &QuarterView<'_>| {
            last = (v.rolling_share[0], v.support[1], v.budget);
        },
    );
    last
}

/// A 500-run study's Russian rolling share at the horizon (mean, median)
/// and the SHA-256 of its summary.csv.
fn small_study(loaded: &Loaded) -> ((f64, f64), String) {
    let summary = Study::new(&loaded.scenario)
        .threads(2)
        .run()
        .unwrap()
        .summary;
    let russia = summary
        .metric(Entity::Supplier(0), MetricId::RollingShare)
        .unwrap();
    let stat = summary.stat(39, &russia).unwrap();
    let mut csv = Vec::new();
    write_summary_csv(&mut csv, &loaded.scenario, &summary).unwrap();
    let hash: String = Sha256::digest(&csv)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ((stat.mean, stat.p50()), hash)
}

#[test]
fn the_first_draws_of_a_run_stream_are_pinned() {
    use rand::RngCore;
    let mut rng = run_rng(20210201, 3);
    let draws: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
    assert_eq!(draws, GOLDEN_DRAWS);
}

#[test]
fn run_zero_of_the_v1_baseline_is_pinned() {
    assert_eq!(run_zero(&v1(&[])), GOLDEN_V1_RUN_ZERO);
}

#[test]
fn a_small_v1_study_is_pinned() {
    let (russia, hash) = small_study(&v1(&["run.runs=500".into(), "run.seed=7".into()]));
    assert_eq!(russia, GOLDEN_V1_STUDY_RUSSIA);
    assert_eq!(hash, GOLDEN_V1_STUDY_CSV_SHA256);
}

#[test]
fn run_zero_of_the_v2_baseline_is_pinned() {
    assert_eq!(run_zero(&v2(&[])), GOLDEN_V2_RUN_ZERO);
}

#[test]
fn a_small_v2_study_is_pinned() {
    let (russia, hash) = small_study(&v2(&["run.runs=500".into(), "run.seed=7".into()]));
    assert_eq!(russia, GOLDEN_V2_STUDY_RUSSIA);
    assert_eq!(hash, GOLDEN_V2_STUDY_CSV_SHA256);
}

#[test]
fn run_zero_of_the_v3_baseline_is_pinned() {
    assert_eq!(run_zero(&load_baseline(&[]).unwrap()), GOLDEN_V3_RUN_ZERO);
}

#[test]
fn a_small_v3_study_is_pinned() {
    let loaded = load_baseline(&["run.runs=500".into(), "run.seed=7".into()]).unwrap();
    let (russia, hash) = small_study(&loaded);
    assert_eq!(russia, GOLDEN_V3_STUDY_RUSSIA);
    assert_eq!(hash, GOLDEN_V3_STUDY_CSV_SHA256);
}

#[test]
fn the_v3_baseline_before_the_zero_year_fit_still_replays() {
    let before = ["buyer.contracts_per_quarter=1.5".to_string()];
    assert_eq!(
        run_zero(&load_baseline(&before).unwrap()),
        (0.31924828747018624, 1.0, 59.898851820800004)
    );
    let mut small = before.to_vec();
    small.extend(["run.runs=500".into(), "run.seed=7".into()]);
    let (russia, hash) = small_study(&load_baseline(&small).unwrap());
    assert_eq!(russia, (0.31709191120844527, 0.31));
    assert_eq!(
        hash,
        "3c7e37e433b89771aa9eb6140b320aff8e188e27bc477ccbf1bb63889569f2c4"
    );
}

const GOLDEN_DRAWS: [u64; 3] = [
    9387407392391828420,
    6585644525947758002,
    17362200743149521808,
];
const GOLDEN_V1_RUN_ZERO: (f64, f64, f64) =
    (0.684380869715679, 0.2827480541840164, 60.01805226881954);
const GOLDEN_V1_STUDY_RUSSIA: (f64, f64) = (0.7138222087307061, 0.721);
const GOLDEN_V1_STUDY_CSV_SHA256: &str =
    "f85fd8b24d1225ed90dc7a2d82929c5b9408c9376d9b864d09629cabe086341c";
const GOLDEN_V2_RUN_ZERO: (f64, f64, f64) =
    (0.6292501556840332, 0.5784930595176755, 59.898851820800004);
const GOLDEN_V2_STUDY_RUSSIA: (f64, f64) = (0.411908363344878, 0.403);
const GOLDEN_V2_STUDY_CSV_SHA256: &str =
    "84ecbd82a945909155d27e3f1592341cd2b1b6a4f991061300c6a1ef6295aea7";
const GOLDEN_V3_RUN_ZERO: (f64, f64, f64) = (0.3365283151001287, 1.0, 59.898851820800004);
const GOLDEN_V3_STUDY_RUSSIA: (f64, f64) = (0.33381177909153054, 0.329);
const GOLDEN_V3_STUDY_CSV_SHA256: &str =
    "a8f3d2ff6e1f29fca357e38af89a30f99387c0ccbd0a55d5ce110410be0940f8";
