//! The experiment commands as users run them: compare, sweep, sensitivity,
//! outcomes and data, on the shipped scenarios; their files, their
//! reproducibility whatever the thread count, shards and merges.

use super::*;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn compare_writes_its_tables_and_plots_and_is_the_same_bits_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "3"] {
        let out = tmp.path().join(format!("c{threads}"));
        ok(armsim(
            tmp.path(),
            &[
                "compare",
                "--set-b",
                "suppliers.Russia.support=0",
                "--set-b",
                "suppliers.Russia.hold_support=true",
                "--runs",
                "400",
                "--threads",
                threads,
                "--out",
                out.to_str().unwrap(),
                "--no-plots",
            ],
        ));
        outputs.push((
            read(&out.join("outcomes.csv")),
            read(&out.join("difference.csv")),
        ));
    }
    assert_eq!(outputs[0], outputs[1]);
    // With plots, under the default directory, from the README's example.
    let (a, b) = (
        repo_path("scenarios/myanmar_2021.toml"),
        repo_path("scenarios/myanmar_2021_un_embargo.toml"),
    );
    let out = ok(armsim(tmp.path(), &["compare", &a, &b, "--runs", "300"]));
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("B - A") && stdout.contains("max:embargo:world"),
        "{stdout}"
    );
    let dir = tmp
        .path()
        .join("output/compare-myanmar_2021-vs-myanmar_2021_un_embargo");
    for file in [
        "outcomes.csv",
        "difference.csv",
        "shares.png",
        "shares_difference.svg",
        "manifest.json",
    ] {
        assert!(dir.join(file).exists(), "{file}");
    }
    // The forced embargo is in force in every run of B: its difference in
    // the embargo outcome is the share of A's runs without one.
    let rows = csv_rows(&dir.join("outcomes.csv"));
    let embargo = rows
        .iter()
        .find(|r| r[0].starts_with("max:embargo"))
        .unwrap();
    let (a, b): (f64, f64) = (embargo[2].parse().unwrap(), embargo[4].parse().unwrap());
    assert_eq!(b, 1.0);
    // (The table has six significant digits.)
    assert!((embargo[6].parse::<f64>().unwrap() - (b - a)).abs() < 1e-5);
}

#[test]
fn paired_intervals_are_narrower_than_independent_ones_for_a_small_change() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    ok(armsim(
        tmp.path(),
        &[
            "compare",
            "--set-b",
            // A small step from the calibrated baseline's 0.7136.
            "buyer.support_weight=0.8",
            "--runs",
            "500",
            "--outcome",
            "rolling_share:Russia@end",
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
        ],
    ));
    let rows = csv_rows(&out.join("outcomes.csv"));
    let r = &rows[0];
    let width = |lo: &str, hi: &str| hi.parse::<f64>().unwrap() - lo.parse::<f64>().unwrap();
    let (paired, independent) = (width(&r[7], &r[8]), width(&r[9], &r[10]));
    assert!(
        paired * 3.0 < independent,
        "paired {paired}, independent {independent}"
    );
}

#[test]
fn a_sweep_is_the_same_bits_whatever_the_threads_or_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let common = [
        "sweep",
        "--vary",
        "buyer.support_weight=0:3:4",
        "--vary",
        "suppliers.Russia.stance_speed=0:0.4:2",
        "--runs-per-point",
        "60",
        "--set",
        "run.quarters=16",
        "--outcome",
        "rolling_share:Russia@end",
        "--outcome",
        "support:China@end",
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = common.to_vec();
        args.extend_from_slice(extra);
        ok(armsim(tmp.path(), &args))
    };
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    run(&["--threads", "1", "--out", one.to_str().unwrap()]);
    let out = run(&["--threads", "2", "--out", two.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("8 design points x 60 runs"), "{stdout}");
    assert_eq!(read(&one.join("sweep.csv")), read(&two.join("sweep.csv")));
    let rows = csv_rows(&one.join("sweep.csv"));
    assert_eq!(rows.len(), 8 * 2, "points x outcomes");
    assert!(one.join("heatmap-rolling_share_Russia@end.png").exists());
    // Three shards, merged, give the same table.
    let mut dirs = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("s{i}"));
        run(&["--shard", &format!("{i}/3"), "--out", dir.to_str().unwrap()]);
        dirs.push(dir.to_str().unwrap().to_string());
    }
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap(), "--no-plots"]);
    ok(armsim(tmp.path(), &args));
    assert_eq!(
        read(&one.join("sweep.csv")),
        read(&merged.join("sweep.csv"))
    );
    // A shard of another sweep is refused.
    let other = tmp.path().join("other");
    ok(armsim(
        tmp.path(),
        &[
            "sweep",
            "--vary",
            "buyer.support_weight=0:3:4",
            "--runs-per-point",
            "10",
            "--set",
            "run.quarters=16",
            "--outcome",
            "rolling_share:Russia@end",
            "--shard",
            "0/3",
            "--out",
            other.to_str().unwrap(),
        ],
    ));
    let refused = armsim(
        tmp.path(),
        &["merge", other.to_str().unwrap(), &dirs[1], &dirs[2]],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).1.contains("another campaign"),
        "{}",
        text(&refused).1
    );
}

#[test]
fn sensitivity_ranks_parameters_and_writes_indices() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    let run = ok(armsim(
        tmp.path(),
        &[
            "sensitivity",
            "--method",
            "morris",
            "--param",
            "buyer.support_weight",
            "--param",
            "suppliers.Russia.cancel_held",
            "--trajectories",
            "6",
            "--runs-per-point",
            "40",
            "--outcome",
            "rolling_share:Russia@end",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let (stdout, _) = text(&run);
    assert!(stdout.contains("Morris elementary effects"), "{stdout}");
    let rows = csv_rows(&out.join("indices.csv"));
    let mu_star = |name: &str| -> f64 {
        rows.iter()
            .find(|r| &r[1] == name && &r[2] == "mu_star")
            .unwrap()[3]
            .parse()
            .unwrap()
    };
    // Cancelling held deliveries is inert at the baseline: nothing of
    // Russia's is ever held (docs/model.md section 10).
    assert!(mu_star("buyer.support_weight") > 0.01);
    assert_eq!(mu_star("suppliers.Russia.cancel_held"), 0.0);
    assert!(out.join("indices-rolling_share_Russia@end.png").exists());
    // The scenario's [sensitivity] section drives a run without options.
    let quick = tmp.path().join("q");
    ok(armsim(
        tmp.path(),
        &[
            "sensitivity",
            "--samples",
            "4",
            "--runs-per-point",
            "5",
            "--bootstrap",
            "50",
            "--out",
            quick.to_str().unwrap(),
            "--no-plots",
        ],
    ));
    let manifest = read(&quick.join("manifest.json"));
    assert!(
        manifest.contains("\"points\": 40") && manifest.contains("buyer.price_weight"),
        "{manifest}"
    );
}

#[test]
fn outcomes_lists_the_grammar_and_every_metric() {
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, _) = text(&ok(armsim(tmp.path(), &["outcomes"])));
    for m in armsim::metrics::MetricId::ALL {
        assert!(stdout.contains(m.name()), "{}", m.name());
    }
    assert!(stdout.contains("first_ahead:Russia>China"));
    let bad = armsim(
        tmp.path(),
        &[
            "compare",
            "--set-b",
            "buyer.budget=60",
            "--outcome",
            "rolling_share:Rusia@end",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad).1.contains("suppliers are Russia"),
        "{}",
        text(&bad).1
    );
}

#[test]
fn the_baselines_starting_values_are_what_armsim_data_computes_from_sipri() {
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, _) = text(&ok(armsim(
        tmp.path(),
        &[
            "data",
            "installed-base",
            &repo_path("data/myanmar_imports_sipri_tiv.csv"),
        ],
    )));
    let baseline = armsim::scenario::load_baseline(&[]).unwrap().scenario;
    for s in baseline.suppliers() {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(s.name()))
            .unwrap_or_else(|| panic!("{stdout}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        let stock: f64 = cells[1].parse().unwrap();
        let recent: f64 = cells[3].parse().unwrap();
        let p = s.params();
        assert_eq!(
            stock,
            p[armsim::model::SupplierParam::Stock],
            "{}",
            s.name()
        );
        assert_eq!(
            recent,
            p[armsim::model::SupplierParam::RecentDeliveries],
            "{}",
            s.name()
        );
    }
}

/// A yes/no outcome (Russia ahead of China at the end: 0 or 1 in each run)
/// is swept as a probability with its interval, in the table printed and in
/// the plot; a median of 0/1 values would read 0% or 100%.
#[test]
fn a_yes_no_outcome_is_swept_as_a_probability() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sw");
    let (stdout, _) = text(&ok(armsim(
        tmp.path(),
        &[
            "sweep",
            "--vary",
            "buyer.support_weight=0:2:3",
            "--runs-per-point",
            "200",
            "--set",
            "run.quarters=16",
            "--outcome",
            "ahead:Russia>China@end",
            "--out",
            dir.to_str().unwrap(),
        ],
    )));
    assert!(
        stdout.contains("ahead:Russia>China@end: probability [95% interval]"),
        "{stdout}"
    );
    let rows = csv_rows(&dir.join("sweep.csv"));
    assert_eq!(rows.len(), 3);
    let mut between = 0;
    for row in &rows {
        let mean: f64 = row[4].parse().unwrap();
        let x: f64 = row[1].parse().unwrap();
        // The printed value is the share of runs (sweep.csv's mean).
        let line = format!("{x:.4}   {:.1}% [", 100.0 * mean);
        assert!(stdout.contains(&line), "{line} in {stdout}");
        if mean > 0.0 && mean < 1.0 {
            between += 1;
        }
    }
    assert!(
        between > 0,
        "no probability strictly between 0 and 1: {rows:?}"
    );
    let plot = names(&dir)
        .into_iter()
        .find(|n| n.starts_with("sweep-ahead") && n.ends_with(".svg"))
        .expect("a sweep plot of the outcome");
    let svg = read(&dir.join(plot));
    // (The legend wraps its lines; the start of each is on one line.)
    assert!(svg.contains("line: probability (share of runs"), "{svg}");
    assert!(svg.contains("band: 95% interval (Wilson)"));
    assert!(!svg.contains("line: median"));
}

#[test]
fn every_command_says_what_its_checkpoint_does_and_leaves_another_commands_alone() {
    // A campaign's lifecycle speaks as a study's does: --resume with nothing
    // to resume says so; another command's checkpoint at its path is refused
    // before anything runs, and kept, by a sweep, a comparison and a study
    // alike.
    let tmp = tempfile::tempdir().unwrap();
    let sweep = |resume: bool| {
        let mut args = vec![
            "sweep",
            "--vary",
            "buyer.support_weight=0:3:3",
            "--runs-per-point",
            "10",
            "--set",
            "run.quarters=8",
            "--outcome",
            "rolling_share:Russia@end",
            "--out",
            "swept",
        ];
        if resume {
            args.push("--resume");
        }
        armsim(tmp.path(), &args)
    };
    let (_, stderr) = text(&ok(sweep(true)));
    assert!(
        stderr.contains("no checkpoint at") && stderr.contains("starting from the beginning"),
        "{stderr}"
    );
    // A study's state (a shard's) where the sweep's checkpoint would go.
    let shard = tmp.path().join("shard");
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "20",
            "--set",
            "run.quarters=8",
            "--shard",
            "0/2",
            "--out",
            shard.to_str().unwrap(),
            "--quiet",
        ],
    ));
    let bytes = std::fs::read(shard.join("state.armsim")).unwrap();
    let checkpoint = tmp.path().join(".swept.checkpoint");
    std::fs::write(&checkpoint, &bytes).unwrap();
    let out = sweep(true);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("checkpoint of an interrupted study, not of a campaign"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&checkpoint).unwrap(), bytes);
    // A comparison refuses it in the same words, before any pair runs...
    let out = armsim(
        tmp.path(),
        &[
            "compare",
            "--set-b",
            "buyer.support_weight=0",
            "--runs",
            "10",
            "--out",
            "swept",
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("checkpoint of an interrupted study, not of a comparison"),
        "{stderr}"
    );
    // ...and a study refuses a campaign's (by its magic bytes), resuming
    // or not.
    let campaigns = b"ARMSIMCP and what a campaign keeps".to_vec();
    std::fs::write(&checkpoint, &campaigns).unwrap();
    for resume in [false, true] {
        let mut args = vec!["run", "--runs", "10", "--out", "swept"];
        if resume {
            args.push("--resume");
        }
        let out = armsim(tmp.path(), &args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("checkpoint of an interrupted campaign, not of a study"),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read(&checkpoint).unwrap(), campaigns);
}

#[test]
fn every_command_s_manifest_opens_with_the_one_header() {
    // Every directory armsim writes says, in the same words, that armsim
    // wrote it, what it is, its settings' fingerprint, the build, the time
    // and the command line: one header, written by one function.
    let tmp = tempfile::tempdir().unwrap();
    let case = root().join("scenarios/cases/pakistan_1990.toml");
    let case = case.to_str().unwrap();
    let quick = ["--set", "run.quarters=8", "--quiet"];
    let commands: [(&str, Vec<&str>); 6] = [
        ("study", vec!["run", "--runs", "20", "--no-plots"]),
        ("study shard", vec!["run", "--runs", "20", "--shard", "0/2"]),
        (
            "comparison",
            vec![
                "compare",
                "--set-b",
                "buyer.support_weight=0",
                "--runs",
                "20",
                "--outcome",
                "rolling_share:Russia@end",
            ],
        ),
        (
            "sweep",
            vec![
                "sweep",
                "--vary",
                "buyer.support_weight=0:3:2",
                "--runs-per-point",
                "5",
                "--outcome",
                "rolling_share:Russia@end",
            ],
        ),
        (
            "campaign shard",
            vec![
                "sweep",
                "--vary",
                "buyer.support_weight=0:3:2",
                "--runs-per-point",
                "5",
                "--outcome",
                "rolling_share:Russia@end",
                "--shard",
                "1/2",
            ],
        ),
        (
            "evaluation",
            vec!["evaluate", "--runs", "20", "--no-plots", case],
        ),
    ];
    for (i, (kind, args)) in commands.iter().enumerate() {
        let out = format!("out{i}");
        let mut full = args.clone();
        if *kind != "evaluation" {
            full.extend(quick);
        } else {
            full.push("--quiet");
        }
        full.extend(["--out", &out]);
        let (_, stderr) = text(&ok(armsim(tmp.path(), &full)));
        let manifest: serde_json::Value =
            serde_json::from_str(&read(&tmp.path().join(&out).join("manifest.json")))
                .unwrap_or_else(|e| panic!("{kind}: {e}\n{stderr}"));
        assert_eq!(manifest["written_by"], "armsim", "{kind}");
        assert_eq!(manifest["kind"], *kind);
        assert_eq!(
            manifest["settings_sha256"].as_str().map(str::len),
            Some(64),
            "{kind}"
        );
        assert_eq!(manifest["armsim_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(manifest["build"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(manifest["created_utc"].as_str().unwrap().ends_with('Z'));
        assert_eq!(manifest["command_line"][1], args[0], "{kind}");
    }
}
