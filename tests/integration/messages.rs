//! Messages and edge cases a new user meets: no panics, usage errors that
//! blame the right argument, errors said once, names that cannot break
//! paths, files or plots, and `validate` and `bench` output people can use.

use super::*;

fn fails(args: &[&str], code: i32, needles: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = armsim(tmp.path(), args);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\n{stdout}\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: expected {n:?} in\n{stderr}");
    }
    assert!(!tmp.path().join("output").exists());
    stderr
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    for args in [&["params"][..], &["validate"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_armsim"))
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
}

#[test]
fn bad_run_options_are_usage_errors_that_name_the_option() {
    for bad in ["inf", "NaN", "-1", "1e300"] {
        fails(
            &["run", "--checkpoint-every", bad],
            2,
            &["--checkpoint-every", "a number of seconds, 0 or more"],
        );
    }
    fails(
        &["run", "--threads", "18446744073709551615"],
        2,
        &["--threads", "too many", "4 per core"],
    );
    fails(&["run", "--threads", "1025"], 2, &["too many"]);
    let cores = std::thread::available_parallelism().unwrap().get();
    if 4 * cores < 1000 {
        fails(&["run", "--threads", "1000"], 2, &["too many"]);
    }
    let stderr = fails(
        &["run", "--runs", "0"],
        2,
        &["--runs", "a whole number 1 or greater"],
    );
    assert!(!stderr.contains("--set"), "{stderr}");
    fails(
        &["bench", "--repeat", "0"],
        2,
        &["--repeat", "a whole number 1 or greater"],
    );
    fails(
        &["run", "--keep-runs-format", "parquet"],
        2,
        &["--keep-runs-format", "csv", "arrow"],
    );
}

#[test]
fn scenario_mistakes_say_what_is_expected() {
    fails(
        &["run", "--set", "run.runs=0"],
        1,
        &["run.runs: found 0, expected a whole number from 1"],
    );
    fails(
        &["run", "--set", "suppliers.Russia.veto=2"],
        1,
        &["suppliers[0].veto: found 2, expected true or false"],
    );
    fails(
        &["run", "--set", "run.compare=[[\"Rusia\", \"China\"]]"],
        1,
        &["run.compare[0]", "did you mean `Russia`?"],
    );
    // quarters = 0 is one error, not also every event outside the horizon.
    let stderr = fails(
        &["run", "--set", "run.quarters=0"],
        1,
        &["run.quarters: found 0, expected a whole number from 1 to 4000"],
    );
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    // `.5` is a number.
    let tmp = tempfile::tempdir().unwrap();
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "20",
            "--no-plots",
            "--set",
            "suppliers.Russia.support=.5",
        ],
    ));
}

#[test]
fn supplier_names_cannot_be_ambiguous_or_break_outputs() {
    let file = repo_path("tests/fixtures/minimal.toml");
    fails(
        &["run", &file, "--set", "suppliers.0.name=\"0\""],
        1,
        &[
            "suppliers[0].name: found \"0\", expected a name that is not a number",
            "ambiguous",
        ],
    );
    fails(
        &["run", &file, "--set", "suppliers.0.name=\"Al\\u0007pha\""],
        1,
        &["suppliers[0].name", "without control characters"],
    );
    fails(
        &["run", &file, "--set", "run.name=\"x\\ny\""],
        1,
        &["run.name", "without control characters"],
    );
    for name in ["U.S.", "A<B", "R&D", "a=b"] {
        fails(
            &[
                "run",
                &file,
                "--set",
                &format!("suppliers.1.name=\"{name}\""),
            ],
            1,
            &[
                "suppliers[1].name",
                "a name of at most 40 characters without any of",
            ],
        );
    }
    // Indices keep working.
    let tmp = tempfile::tempdir().unwrap();
    ok(armsim(
        tmp.path(),
        &[
            "run",
            &file,
            "--runs",
            "10",
            "--no-plots",
            "--set",
            "suppliers.1.support=0.3",
        ],
    ));
}

#[test]
fn os_errors_are_said_once() {
    let stderr = fails(
        &["run", "no_such.toml"],
        1,
        &["cannot read scenario no_such.toml"],
    );
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
    let stderr = fails(&["merge", "no_such_dir"], 1, &["no_such_dir"]);
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
}

#[test]
fn validate_numbers_events_as_set_counts_them() {
    let (stdout, _) = text(&ok(armsim(
        &root(),
        &["validate", "scenarios/myanmar_2021_un_embargo.toml"],
    )));
    assert!(
        stdout.contains("events.4   2021Q3  world.embargo set 1"),
        "{stdout}"
    );
    // The index shown is the one --set changes.
    let (stdout, _) = text(&ok(armsim(
        &root(),
        &[
            "validate",
            "scenarios/myanmar_2021_un_embargo.toml",
            "--set",
            "events.4.set=0",
        ],
    )));
    assert!(
        stdout.contains("events.4   2021Q3  world.embargo set 0"),
        "{stdout}"
    );
}

#[test]
fn bench_prints_its_header_first_and_json_for_machines() {
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, _) = text(&ok(armsim(
        tmp.path(),
        &["bench", "--runs", "2000", "--threads", "1", "--repeat", "2"],
    )));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("myanmar_2021: 2,000 runs x 40 quarters")
            && lines[0].ends_with(", 1 thread"),
        "{stdout}"
    );
    assert!(lines[1].starts_with("run 1: 2,000 runs in "), "{stdout}");
    assert!(lines[3].starts_with("median: "), "{stdout}");
    let (stdout, _) = text(&ok(armsim(
        tmp.path(),
        &["bench", "--runs", "500", "--threads", "1", "--json"],
    )));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["runs"], 500);
    assert_eq!(json["threads"], 1);
    assert!(json["median_runs_per_second"].as_f64().unwrap() > 0.0);
    assert!(names(tmp.path()).is_empty(), "bench writes nothing");
}
