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
