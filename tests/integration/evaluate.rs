//! `armsim evaluate` as a user runs it: on the case library, at the cases'
//! values and leave one case out, with the same bits whatever the threads,
//! and refusing bad input without writing anything.

use std::fs;

use super::{armsim, root, text};

/// A few cases of the library (small and quick, different shock kinds).
const CASES: [&str; 3] = [
    "scenarios/cases/pakistan_1990.toml",
    "scenarios/cases/thailand_2014.toml",
    "scenarios/cases/myanmar_2021.toml",
];

fn run(args: &[&str]) -> (bool, String, String) {
    let out = armsim(&root(), args);
    let (o, e) = text(&out);
    (out.status.success(), o, e)
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn the_library_is_scored_against_the_baselines_with_every_file_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ev");
    let out_s = out.to_str().unwrap();
    let mut args = vec!["evaluate", "--runs", "200", "--out", out_s];
    args.extend(CASES);
    let (ok, stdout, stderr) = run(&args);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("skill CRPS"), "{stdout}");
    for f in [
        "scores.csv",
        "cases.csv",
        "skill.csv",
        "zero_years.csv",
        "summary.txt",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for c in ["pakistan_1990", "thailand_2014", "myanmar_2021"] {
        assert!(out.join(format!("case-{c}.png")).is_file());
    }
    assert!(out.join("skill-early.png").is_file());
    let scores = fs::read_to_string(out.join("scores.csv")).unwrap();
    let header: Vec<&str> = scores.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let table = rows(&scores);
    // Pakistan: 4 groups x 2 windows; Thailand: 4 x 2; Myanmar 2021: 4 x
    // the shock year only (nothing later is recorded).
    assert_eq!(table.len(), 8 + 8 + 4, "{scores}");
    let myanmar: Vec<_> = table.iter().filter(|r| r[0] == "myanmar_2021").collect();
    assert!(myanmar.iter().all(|r| r[1] == "+0" && r[2] == "2021"));
    // The record's 2021: China 50, Russia 0, Others 10 TIV.
    let tiv = |name: &str| {
        myanmar.iter().find(|r| r[4] == name).unwrap()[col("observed_tiv")]
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!((tiv("China"), tiv("Russia")), (50.0, 0.0));
    for r in &table {
        let get = |name: &str| r[col(name)].parse::<f64>().unwrap();
        // Quantiles in order, shares in [0, 1].
        let q: Vec<f64> = [
            "model_p05",
            "model_p25",
            "model_median",
            "model_p75",
            "model_p95",
        ]
        .iter()
        .map(|n| get(n))
        .collect();
        assert!(
            q.windows(2).all(|w| w[0] <= w[1]) && q[0] >= 0.0 && q[4] <= 1.0,
            "{r:?}"
        );
        // Absolute error of the median, and the baselines' CRPS is theirs.
        let y = get("observed_share");
        assert!((get("abs_error") - (q[2] - y).abs()).abs() < 2e-6);
        assert!((get("crps_persistence") - (get("persistence") - y).abs()).abs() < 2e-6);
        // An ensemble's CRPS is at most its mean absolute error, which is
        // at most the distance to its farthest member.
        let farthest = (q[0] - y).abs().max((q[4] - y).abs());
        assert!(
            get("crps") >= 0.0 && get("crps") <= farthest.max(1.0),
            "{r:?}"
        );
    }
    // Persistence is the five years before: Pakistan 1985-89 (US 49%).
    let us = table
        .iter()
        .find(|r| r[0] == "pakistan_1990" && r[4] == "United States")
        .unwrap();
    let persistence: f64 = us[col("persistence")].parse().unwrap();
    assert!((persistence - 293.0 / 603.8).abs() < 0.01, "{persistence}");
    let skill = fs::read_to_string(out.join("skill.csv")).unwrap();
    assert!(skill.contains("+1..+5,persistence,"), "{skill}");
    let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"written_by\": \"armsim\""));
}

/// The zero-year check's expected count and its Brier scores, read back
/// from `zero_years.csv`: (rows, observed zeros, expected zeros).
fn zero_years(dir: &std::path::Path) -> (usize, usize, f64) {
    let csv = fs::read_to_string(dir.join("zero_years.csv")).unwrap();
    assert!(csv.starts_with("case,year,supplier,observed_zero,model_chance_of_zero,"));
    let table = rows(&csv);
    let observed = table.iter().filter(|r| r[3] == "1").count();
    let expected = table.iter().map(|r| r[4].parse::<f64>().unwrap()).sum();
    (table.len(), observed, expected)
}

#[test]
fn set_changes_every_case_and_fewer_contracts_mean_more_years_without_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let mut checks = Vec::new();
    for lambda in ["0.5", "4"] {
        let out = dir.path().join(format!("ev{lambda}"));
        let set = format!("buyer.contracts_per_quarter={lambda}");
        let mut args = vec!["evaluate", "--runs", "200", "--no-plots", "--set", &set];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(CASES);
        let (ok, stdout, stderr) = run(&args);
        assert!(ok, "{stderr}");
        assert!(stdout.contains("Zero years"), "{stdout}");
        let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
        assert!(manifest.contains(&set), "the command line is recorded");
        checks.push(zero_years(&out));
    }
    let ((rows_few, observed, few), (rows_many, observed_again, many)) = (checks[0], checks[1]);
    // The record is the same: Pakistan 1990-97 and Thailand 2014-21 for
    // their active groups, Myanmar's 2021 (Russia and India delivered
    // nothing that year).
    assert_eq!((rows_few, observed), (rows_many, observed_again));
    assert!(observed >= 2, "{observed}");
    // Fewer, larger contracts leave more years empty.
    assert!(few > many + 5.0, "0.5 a quarter: {few}, 4: {many}");
    // A bad value is refused, naming it, and nothing is written.
    let out = dir.path().join("bad");
    let (ok, _, stderr) = run(&[
        "evaluate",
        "--set",
        "buyer.contracts_per_quarter=-1",
        "--out",
        out.to_str().unwrap(),
        CASES[0],
    ]);
    assert!(!ok);
    assert!(stderr.contains("contracts_per_quarter"), "{stderr}");
    assert!(!out.exists());
    // A value that would be silently undone is refused: the model (that is
    // --model's) and, leave one case out, what the folds fit.
    for (args, expected) in [
        (&["--set", "run.model=v2"][..], "use --model"),
        (
            &["--loo", "--set", "buyer.support_weight=1"],
            "each fold fits",
        ),
        (
            &["--loo", "--set", "buyer.contracts_per_quarter=1"],
            "zero years",
        ),
    ] {
        let mut all = vec!["evaluate", "--out", out.to_str().unwrap()];
        all.extend(args);
        all.push(CASES[0]);
        let (ok, _, stderr) = run(&all);
        assert!(!ok && stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn the_same_bits_whatever_the_threads_and_leave_one_out_fits_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("loo{threads}"));
        let mut args = vec![
            "evaluate",
            "--loo",
            "--quick-fit",
            "--runs",
            "100",
            "--no-plots",
            "--quiet",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(CASES);
        let (ok, _, stderr) = run(&args);
        assert!(ok, "{stderr}");
        outputs.push(fs::read_to_string(out.join("scores.csv")).unwrap());
        // The folds' checkpoints are gone once the results are written.
        assert!(!dir.path().join(format!(".loo{threads}.folds")).exists());
        let manifest = fs::read_to_string(out.join("manifest.json")).unwrap();
        assert!(manifest.contains("leave-one-case-out"));
        assert!(
            manifest.contains("buyer.support_weight"),
            "fitted medians recorded"
        );
        // Each fold's contracts a quarter, from the other cases' zero years.
        assert!(
            manifest.contains("buyer.contracts_per_quarter (zero years)"),
            "{manifest}"
        );
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn forecasts_ex_ante_drop_the_events_after_the_shock() {
    let dir = tempfile::tempdir().unwrap();
    let mut scores = Vec::new();
    for ex_ante in [false, true] {
        let out = dir.path().join(format!("e{ex_ante}"));
        let mut args = vec![
            "evaluate",
            "--runs",
            "300",
            "--no-plots",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            // Its US hold is lifted in 1996, after the shock.
            "scenarios/cases/pakistan_1990.toml",
        ];
        if ex_ante {
            args.push("--ex-ante");
        }
        let (ok, _, stderr) = run(&args);
        assert!(ok, "{stderr}");
        scores.push(fs::read_to_string(out.join("scores.csv")).unwrap());
    }
    // Without the 1996 release the United States delivers less in 1993-97.
    let us_late = |csv: &str| -> f64 {
        csv.lines()
            .find(|l| l.contains(",+3..+7,") && l.contains(",United States,"))
            .unwrap()
            .split(',')
            .nth(14)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(us_late(&scores[1]) < us_late(&scores[0]), "{:?}", scores);
}

#[test]
fn bad_cases_are_refused_with_where_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    fs::create_dir(&cases).unwrap();
    fs::copy(
        root().join("scenarios/cases/profiles.toml"),
        cases.join("profiles.toml"),
    )
    .unwrap();
    let text = fs::read_to_string(root().join("scenarios/cases/pakistan_1990.toml")).unwrap();
    // A shock outside the scenario's first year.
    let bad = text.replace("shock = \"1990Q4\"", "shock = \"1993Q1\"");
    fs::write(cases.join("bad.toml"), bad).unwrap();
    let out = dir.path().join("out");
    let (ok, _, stderr) = run(&[
        "evaluate",
        cases.join("bad.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("bad.toml:") && stderr.contains("case.shock"),
        "{stderr}"
    );
    assert!(!out.exists());
    // Runs beyond the bound on memory are refused before anything runs.
    let (ok, _, stderr) = run(&[
        "evaluate",
        "--runs",
        "100001",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("100000"), "{stderr}");
    assert!(!out.exists());
    // A scenario that is no case.
    let (ok, _, stderr) = run(&[
        "evaluate",
        "scenarios/myanmar_2021_no_coup.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("[case]"), "{stderr}");
    // An unknown profile names the profiles it could have been.
    let bad = text.replace("profile = \"China\"", "profile = \"Chna\"");
    fs::write(cases.join("typo.toml"), bad).unwrap();
    let (ok, _, stderr) = run(&["evaluate", cases.join("typo.toml").to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("suppliers[1].profile") && stderr.contains("China"),
        "{stderr}"
    );
    // A bad value in the profiles is reported where it is written.
    let profiles = fs::read_to_string(cases.join("profiles.toml")).unwrap();
    let at = profiles.find("[suppliers.China]").unwrap();
    let (head, tail) = profiles.split_at(at);
    let tail = tail.replacen("\nprice = ", "\nprice = -", 1);
    fs::write(cases.join("profiles.toml"), format!("{head}{tail}")).unwrap();
    fs::write(cases.join("good.toml"), &text).unwrap();
    let (ok, _, stderr) = run(&["evaluate", cases.join("good.toml").to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("profiles.toml:") && stderr.contains("suppliers.China.price"),
        "{stderr}"
    );
    // A destination armsim did not write is left alone.
    fs::create_dir(&out).unwrap();
    fs::write(out.join("thesis.tex"), "mine").unwrap();
    let (ok, _, stderr) = run(&[
        "evaluate",
        "scenarios/cases/pakistan_1990.toml",
        "--runs",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok, "{stderr}");
    assert_eq!(fs::read_to_string(out.join("thesis.tex")).unwrap(), "mine");
}

#[test]
fn calibrate_fits_the_shared_parameters_on_a_directory_of_cases() {
    // Three cases laid out as in the repository: they name their data as
    // ../../data/sipri_imports_cases.csv.
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("scenarios/cases");
    fs::create_dir_all(&deep).unwrap();
    for f in [
        "profiles.toml",
        "pakistan_1990.toml",
        "thailand_2014.toml",
        "ethiopia_1977.toml",
    ] {
        fs::copy(root().join("scenarios/cases").join(f), deep.join(f)).unwrap();
    }
    fs::create_dir(dir.path().join("data")).unwrap();
    fs::copy(
        root().join("data/sipri_imports_cases.csv"),
        dir.path().join("data/sipri_imports_cases.csv"),
    )
    .unwrap();
    let out = dir.path().join("fit");
    let (ok, stdout, stderr) = run(&[
        "calibrate",
        deep.to_str().unwrap(),
        "--fit",
        "buyer.support_weight",
        "--fit",
        "profile.China.quality",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.is_empty());
    let summary = fs::read_to_string(out.join("posterior_summary.csv")).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 3, "{summary}");
    assert!(
        lines[2].starts_with("profile.China.quality,0.3,1.2,"),
        "{summary}"
    );
    // Every median lies in its prior's range.
    for l in &lines[1..] {
        let f: Vec<f64> = l.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
        assert!(f[0] <= f[5] && f[5] <= f[1], "{l}");
    }
    // A profile no case names is refused, before anything runs.
    let (ok, _, stderr) = run(&[
        "calibrate",
        deep.to_str().unwrap(),
        "--fit",
        "profile.Atlantis.quality",
    ]);
    assert!(!ok);
    assert!(stderr.contains("profile.Atlantis.quality"), "{stderr}");
    // --fit belongs to a directory of cases.
    let (ok, _, stderr) = run(&[
        "calibrate",
        "scenarios/myanmar_history.toml",
        "--fit",
        "buyer.support_weight",
    ]);
    assert!(!ok);
    assert!(stderr.contains("--fit"), "{stderr}");
}

#[test]
fn the_library_replays_under_v2_leaving_out_what_v2_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v2");
    let (ok, stdout, stderr) = run(&[
        "evaluate",
        "--model",
        "v2",
        "--runs",
        "100",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
        "scenarios/cases/pakistan_1990.toml",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("skill CRPS"), "{stdout}");
    // Pakistan 1990's holds are v3's: named, left out, nothing else.
    assert!(
        stderr.contains("events.1: 1990Q4 United States.suspension (deliveries held) is left out: model v2 does not read it"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("is left out").count(), 2, "{stderr}");
    // Under its own model nothing is left out.
    let (ok, _, stderr) = run(&[
        "evaluate",
        "--runs",
        "100",
        "--no-plots",
        "--out",
        dir.path().join("v3").to_str().unwrap(),
        "scenarios/cases/pakistan_1990.toml",
    ]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("left out"), "{stderr}");
}

#[test]
fn every_command_names_what_a_replay_leaves_out_and_calibrate_refuses_it() {
    let case = "scenarios/cases/pakistan_1990.toml";
    let (ok, _, stderr) = run(&["validate", case, "--set", "run.model=v2"]);
    assert!(ok, "{stderr}");
    assert_eq!(stderr.matches("is left out").count(), 2, "{stderr}");
    // Under the model it names, or set to that same model, nothing is.
    let (ok, _, stderr) = run(&["validate", case, "--set", "run.model=v3"]);
    assert!(ok && !stderr.contains("left out"), "{stderr}");
    // A calibrated file would name a model that cannot read the events.
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run(&[
        "calibrate",
        case,
        "--set",
        "run.model=v2",
        "--out",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("model v2 does not read events.1: 1990Q4 United States.suspension"),
        "{stderr}"
    );
    assert!(!dir.path().join("c").exists());
}
