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

#[test]
fn a_profile_that_is_not_in_the_profiles_file_is_named_with_its_place_and_the_nearest() {
    // A case names its profiles; a name the file does not list, a name that
    // is not a string, and a section the file should not have are each
    // refused where they are written, and nothing runs.
    let tmp = tempfile::tempdir().unwrap();
    let cases = root().join("scenarios/cases");
    let profiles = std::fs::read_to_string(cases.join("profiles.toml")).unwrap();
    let case = std::fs::read_to_string(cases.join("pakistan_1990.toml")).unwrap();
    let misspelt = case.replacen(
        "profile = \"United States\"",
        "profile = \"United Sates\"",
        1,
    );
    assert_ne!(misspelt, case);
    std::fs::write(tmp.path().join("profiles.toml"), &profiles).unwrap();
    std::fs::write(tmp.path().join("case.toml"), &misspelt).unwrap();
    let out = armsim(tmp.path(), &["validate", "case.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = misspelt
        .lines()
        .position(|l| l.contains("United Sates"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!("case.toml:{line}:"))
            && stderr.contains("found \"United Sates\"")
            && stderr.contains("expected a profile of")
            && stderr.contains("did you mean `United States`?"),
        "{stderr}"
    );

    let numbered = case.replacen("profile = \"United States\"", "profile = 3", 1);
    std::fs::write(tmp.path().join("case.toml"), &numbered).unwrap();
    let out = armsim(tmp.path(), &["validate", "case.toml"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("found 3, expected a profile's name (a string)"),
        "{stderr}"
    );

    std::fs::write(
        tmp.path().join("profiles.toml"),
        format!("{profiles}\n[suplliers.Extra]\nsupport = 0.5\n"),
    )
    .unwrap();
    std::fs::write(tmp.path().join("case.toml"), &case).unwrap();
    let out = armsim(
        tmp.path(),
        &["run", "case.toml", "--runs", "10", "--no-plots"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("profiles.toml:")
            && stderr.contains("found a section `suplliers`")
            && stderr.contains("did you mean `suppliers`?"),
        "{stderr}"
    );
    assert!(!tmp.path().join("output").exists());
}
