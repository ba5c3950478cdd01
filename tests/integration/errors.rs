//! Broken scenarios: each gives its clear error, a non-zero exit, and no output.

use super::*;

/// Each broken fixture and what its error must say (field and explanation).
const CASES: [(&str, &[&str]); 16] = [
    (
        "support_out_of_range",
        &[":59:11: suppliers[1].support: found 1.4, expected a number from 0 to 1"],
    ),
    (
        "shares_do_not_sum",
        &[
            "suppliers[0].share: found shares summing to 0.9",
            "expected initial shares summing to 1",
        ],
    ),
    (
        "unknown_supplier_field",
        &[
            ":59:1",
            "suppliers[1].suport: found unknown field `suport`",
            "did you mean `support`?",
        ],
    ),
    (
        "event_unknown_supplier",
        &[
            ":77:10: events[0].entity: found \"Betta\"",
            "did you mean `Beta`?",
        ],
    ),
    (
        "event_outside_horizon",
        &[
            ":76:11: events[0].quarter: found \"2023Q1\"",
            "2020Q1 to 2021Q4",
        ],
    ),
    (
        "event_unknown_param",
        &[
            "events[0].param: found \"availabilty\"",
            "did you mean `availability`?",
        ],
    ),
    (
        "event_two_operations",
        &["events[0]: found 2 of set/scale/add, expected exactly one of"],
    ),
    ("syntax_error", &["syntax_error.toml:4:"]),
    (
        "wrong_type",
        &[":7:8: run.runs: found invalid type: string \"many\", expected a whole number"],
    ),
    (
        "duplicate_supplier",
        &["suppliers[1].name: found a second supplier named \"Alpha\""],
    ),
    (
        "missing_world_field",
        &["world.unrest_persistence: found nothing, expected `unrest_persistence`"],
    ),
    (
        "unknown_run_key",
        &[":9:1: run.seeds: found unknown field `seeds`"],
    ),
    (
        "bad_start_quarter",
        &[":5:9: run.start: found \"2020Q5\", expected a quarter such as"],
    ),
    (
        "negative_budget",
        &[":22:10: buyer.budget: found -10, expected a number greater than 0"],
    ),
    (
        "discount_above_max",
        &[
            "suppliers[1].discount: found 0.5, expected a discount no larger than max_discount (0.2)",
        ],
    ),
    (
        "one_supplier",
        &["suppliers: found 1 supplier(s), expected from 2 to 64 [[suppliers]]"],
    ),
];

#[test]
fn every_broken_scenario_is_rejected_with_its_reason_and_writes_nothing() {
    let listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    let mut fixtures: Vec<String> = std::fs::read_dir(root().join("tests/fixtures/broken"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    fixtures.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(fixtures, sorted, "every broken fixture has a case here");

    for (name, expected) in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let file = root().join(format!("tests/fixtures/broken/{name}.toml"));
        let out = armsim(tmp.path(), &["run", file.to_str().unwrap()]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: exit status\n{stderr}");
        assert!(stdout.is_empty(), "{name}: nothing on stdout");
        assert!(
            stderr.contains(&format!("{name}.toml")),
            "{name}: names the file\n{stderr}"
        );
        for needle in expected {
            assert!(
                stderr.contains(needle),
                "{name}: expected {needle:?} in\n{stderr}"
            );
        }
        assert!(
            !tmp.path().join("output").exists(),
            "{name}: no output directory"
        );
        let validated = armsim(tmp.path(), &["validate", file.to_str().unwrap()]);
        assert_eq!(
            validated.status.code(),
            Some(1),
            "{name}: validate fails too"
        );
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = armsim(tmp.path(), &["run", "no_such.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("cannot read scenario no_such.toml"),
        "{stderr}"
    );
    assert!(!tmp.path().join("output").exists());
}

#[test]
fn a_failed_write_leaves_the_previous_study_intact() {
    let tmp = tempfile::tempdir().unwrap();
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "20", "--no-plots", "--out", "study"],
    ));
    let before = std::fs::read(tmp.path().join("study/summary.csv")).unwrap();
    // A file where the parent directory should be makes the next write fail.
    let out = armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "30",
            "--no-plots",
            "--out",
            "study/summary.csv/x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read(tmp.path().join("study/summary.csv")).unwrap(),
        before
    );
}
