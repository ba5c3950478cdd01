//! `--keep-runs`: the size is estimated before running, large files are
//! refused unless confirmed, and Arrow IPC (Feather v2) is offered.

use super::*;

#[test]
fn arrow_keeps_the_runs_in_a_file_arrow_readers_open() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "50",
            "--keep-runs",
            "3",
            "--keep-runs-format",
            "arrow",
            "--no-plots",
        ],
    ));
    let (stdout, _) = text(&out);
    assert!(stdout.contains("runs.arrow"), "{stdout}");
    let dir = tmp.path().join("output/myanmar_2021");
    assert!(
        manifest(&dir)["files"]
            .as_array()
            .unwrap()
            .contains(&"runs.arrow".into())
    );
    let file = std::fs::File::open(dir.join("runs.arrow")).unwrap();
    let reader = arrow_ipc::reader::FileReader::try_new(file, None).unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3 * 40);
}

#[test]
fn a_huge_runs_file_is_refused_before_any_run_unless_confirmed() {
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = armsim(tmp.path(), &["run", "--keep-runs", "100000", "--no-plots"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // 100,000 baseline runs wrote 5.3 GB of CSV (model v1; v2 has more metrics).
    assert!(
        stderr.contains("runs.csv for 100000 runs would be about ")
            && stderr.contains("GB, over the limit of 5.0 GB")
            && stderr.contains("Arrow"),
        "{stderr}"
    );
    assert!(!tmp.path().join("output").exists());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused before running 100,000 runs"
    );
    // Arrow's estimate for the same runs is under the limit: it would run.
    let out = armsim(tmp.path(), &["validate", "--set", "run.runs=100000"]);
    ok(out);
}
