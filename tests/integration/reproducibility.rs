//! Same scenario and seed, same bits: whatever the threads or the split of runs.

use super::*;
use armsim::scenario::load_baseline;
use armsim::study::{Study, shard_range};
use armsim::summary::Summary;

#[test]
fn summary_files_are_identical_for_1_2_and_4_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = repo_path("scenarios/myanmar_2021.toml");
    let mut files = Vec::new();
    for threads in ["1", "2", "4"] {
        let dir = tmp.path().join(format!("t{threads}"));
        ok(armsim(
            tmp.path(),
            &[
                "run",
                &scenario,
                "--runs",
                "2000",
                "--seed",
                "7",
                "--threads",
                threads,
                "--out",
                dir.to_str().unwrap(),
                "--no-plots",
            ],
        ));
        files.push(std::fs::read(dir.join("summary.csv")).unwrap());
    }
    assert!(files[0].len() > 10_000);
    assert_eq!(files[0], files[1], "1 vs 2 threads");
    assert_eq!(files[0], files[2], "1 vs 4 threads");
}

#[test]
fn a_study_split_into_any_ranges_merges_to_the_same_summary() {
    let scenario = load_baseline(&["run.runs=700".into()]).unwrap().scenario;
    let whole = Study::new(&scenario).threads(3).run().unwrap().summary;
    for parts in [2, 3, 7] {
        let mut merged = Summary::new(&scenario);
        // Merge in reverse order: order must not matter either.
        for i in (0..parts).rev() {
            let part = Study::new(&scenario)
                .threads(1)
                .runs(shard_range(700, i, parts))
                .run()
                .unwrap();
            merged.merge(&part.summary);
        }
        assert_eq!(merged, whole, "{parts} parts");
    }
}

#[test]
fn different_seeds_give_different_studies() {
    let a = load_baseline(&["run.runs=200".into(), "run.seed=1".into()])
        .unwrap()
        .scenario;
    let b = load_baseline(&["run.runs=200".into(), "run.seed=2".into()])
        .unwrap()
        .scenario;
    assert_ne!(
        Study::new(&a).run().unwrap().summary,
        Study::new(&b).run().unwrap().summary
    );
}

#[test]
fn shard_ranges_partition_the_runs() {
    for (runs, count) in [(10, 3), (7, 7), (5, 8), (1_000_003, 16)] {
        let mut next = 0;
        for i in 0..count {
            let r = shard_range(runs, i, count);
            assert_eq!(r.start, next);
            next = r.end;
        }
        assert_eq!(next, runs);
    }
}

/// The streamed percentiles of a real study are within the documented bounds of
/// the exact nearest-rank percentiles of every run's value, sorted.
#[test]
fn streamed_percentiles_match_exact_ones_within_their_bounds() {
    use armsim::engine::{QuarterView, Simulator, run_rng};
    use armsim::metrics::{Entity, MetricId};
    use armsim::stats::{POSITIVE_FLOOR, POSITIVE_RELATIVE_ERROR, UNIT_BIN_WIDTH, nearest_rank};
    use armsim::summary::PERCENTILES;

    let scenario = load_baseline(&["run.runs=3000".into()]).unwrap().scenario;
    let summary = Study::new(&scenario).threads(2).run().unwrap().summary;
    let quarter = 12;
    // (entity, metric, value in a quarter view, relative bound?)
    type Pick = fn(&QuarterView<'_>) -> Option<f64>;
    let picks: [(Entity, MetricId, Pick, bool); 6] = [
        (
            Entity::Supplier(0),
            MetricId::RollingShare,
            |v| Some(v.rolling_share[0]),
            false,
        ),
        (
            Entity::Supplier(1),
            MetricId::Support,
            |v| Some(v.support[1]),
            false,
        ),
        (Entity::World, MetricId::Unrest, |v| Some(v.unrest), false),
        (Entity::Buyer, MetricId::Budget, |v| Some(v.budget), true),
        (
            Entity::Supplier(0),
            MetricId::OrderShare,
            |v| (v.total_orders > 0.0).then(|| v.orders[0] / v.total_orders),
            false,
        ),
        (
            Entity::Supplier(1),
            MetricId::Backlog,
            |v| Some(v.backlog[1]),
            true,
        ),
    ];
    for (entity, id, pick, relative) in picks {
        let name = id.name();
        let mut exact = Vec::new();
        let mut sim = Simulator::new(&scenario);
        for k in 0..scenario.runs() {
            sim.run(&mut run_rng(scenario.seed(), k), &mut |v: &QuarterView<
                '_,
            >| {
                if v.quarter == quarter {
                    exact.extend(pick(v));
                }
            });
        }
        exact.sort_by(f64::total_cmp);
        let stat = summary
            .stat(quarter as usize, &summary.metric(entity, id).unwrap())
            .unwrap();
        assert_eq!(stat.count, exact.len() as u64, "{name}");
        let mean = exact.iter().sum::<f64>() / exact.len() as f64;
        assert!(
            (stat.mean - mean).abs() < 1e-9 * mean.abs().max(1.0),
            "{name} mean"
        );
        for (p, &streamed) in PERCENTILES.iter().zip(&stat.percentiles) {
            let truth = exact[nearest_rank(*p, exact.len() as u64) as usize - 1];
            let error = (streamed - truth).abs();
            if relative {
                // Below the sketch's floor (a backlog's rounding residue of
                // 1e-14, say) the first bin's bound is absolute.
                let bound = if truth < POSITIVE_FLOOR {
                    POSITIVE_FLOOR * (1.0 + POSITIVE_RELATIVE_ERROR)
                } else {
                    POSITIVE_RELATIVE_ERROR * truth
                };
                assert!(error <= bound, "{name} p{p}: {streamed} vs {truth}");
            } else {
                assert!(
                    error <= UNIT_BIN_WIDTH / 2.0 + 1e-12,
                    "{name} p{p}: {streamed} vs {truth}"
                );
            }
        }
    }
}
