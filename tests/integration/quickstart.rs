//! The README's quick start, as written: `armsim` with no arguments, in an
//! empty directory, runs the built-in baseline and writes its study.

use super::*;

#[test]
fn armsim_with_no_arguments_runs_the_baseline_study() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(armsim(tmp.path(), &[]));
    let (stdout, _) = text(&out);
    assert!(
        stdout.starts_with("Myanmar after the 2021 coup (100,000 runs, model v3): at 2030Q4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("wrote output/myanmar_2021/: summary.csv, manifest.json"),
        "{stdout}"
    );
    let dir = tmp.path().join("output/myanmar_2021");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    // The baseline file's own settings: nothing overridden.
    assert_eq!(manifest["runs"], 100_000);
    assert_eq!(manifest["seed"], 20_210_201);
    assert_eq!(manifest["overrides"], serde_json::json!([]));
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    // 40 quarters x (7 world/buyer + 4 suppliers x 9 + 3 pairs x 2) metrics, and a header.
    assert_eq!(summary.lines().count(), 1 + 40 * (7 + 36 + 6));
    // Every run is a run of the study: the embargo probability at the end is a
    // count out of 100,000.
    let embargo = summary
        .lines()
        .find(|l| l.starts_with("39,2030Q4,world,embargo,"))
        .unwrap();
    let mean: f64 = embargo.split(',').nth(5).unwrap().parse().unwrap();
    assert!(
        ((mean * 100_000.0).round() - mean * 100_000.0).abs() < 1e-6,
        "{embargo}"
    );
    for file in ["shares.png", "shares.svg", "support.png", "support.svg"] {
        assert!(dir.join(file).metadata().unwrap().len() > 1000, "{file}");
    }
    // The same study as `armsim run`, bit for bit.
    ok(armsim(tmp.path(), &["run", "--out", "again", "--no-plots"]));
    assert_eq!(
        std::fs::read(tmp.path().join("again/summary.csv")).unwrap(),
        summary.as_bytes()
    );
}
