//! The binary as users run it: shipped scenarios end to end, outputs, overrides.

use super::*;

const SCENARIOS: [&str; 5] = [
    "myanmar_2021",
    "myanmar_2021_article_shares",
    "myanmar_2021_no_coup",
    "myanmar_2021_un_embargo",
    "myanmar_2021_v1",
];

#[test]
fn every_shipped_scenario_runs_and_writes_its_study() {
    let tmp = tempfile::tempdir().unwrap();
    for id in SCENARIOS {
        let file = repo_path(&format!("scenarios/{id}.toml"));
        let out = ok(armsim(
            tmp.path(),
            &["run", &file, "--runs", "300", "--threads", "2"],
        ));
        let (stdout, _) = text(&out);
        assert!(
            stdout.contains("5-year rolling share") && stdout.contains("Russia"),
            "{stdout}"
        );
        assert!(
            stdout.contains("P(UN arms embargo in force at 2030Q4)"),
            "{stdout}"
        );
        let dir = tmp.path().join("output").join(id);
        for file in [
            "summary.csv",
            "manifest.json",
            "shares.png",
            "shares.svg",
            "support.png",
            "support.svg",
            "influence.png",
            "influence.svg",
        ] {
            let path = dir.join(file);
            assert!(
                path.metadata().map(|m| m.len() > 1000).unwrap_or(false),
                "{} missing or empty",
                path.display()
            );
        }
        let png = std::fs::read(dir.join("shares.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(dir.join("shares.svg")).unwrap();
        assert!(
            svg.contains("Russia") && svg.contains("2025"),
            "the SVG carries its legend and dated axis"
        );
    }
    // Nothing but the studies is left in output/: no temporary directories.
    let mut left: Vec<String> = std::fs::read_dir(tmp.path().join("output"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, SCENARIOS.map(String::from).to_vec());
}

#[test]
fn the_baseline_runs_with_no_file_from_any_directory() {
    let tmp = tempfile::tempdir().unwrap();
    ok(armsim(tmp.path(), &["run", "--runs", "200", "--no-plots"]));
    let summary =
        std::fs::read_to_string(tmp.path().join("output/myanmar_2021/summary.csv")).unwrap();
    let mut lines = summary.lines();
    assert_eq!(
        lines.next(),
        Some("quarter,label,entity,metric,n,mean,sd,p05,p25,p50,p75,p95")
    );
    let rows: Vec<&str> = lines.collect();
    // 40 quarters x (7 world/buyer + 4 suppliers x 9 + 3 pairs x 2) metrics.
    assert_eq!(rows.len(), 40 * (7 + 36 + 6));
    assert!(
        rows.iter()
            .any(|r| r.starts_with("39,2030Q4,Russia,rolling_share,"))
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("0,2021Q1,world,embargo,200,0,"))
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("5,2022Q2,Russia>China,ever_ahead,"))
    );
}

#[test]
fn the_manifest_records_what_is_needed_to_replay_the_study() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("study");
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "150",
            "--seed",
            "9",
            "--set",
            "suppliers.Russia.support=0.2",
            "--out",
            out_dir.to_str().unwrap(),
            "--no-plots",
        ],
    ));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["seed"], 9);
    assert_eq!(manifest["runs"], 150);
    assert_eq!(manifest["armsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["overrides"][0], "suppliers.Russia.support=0.2");
    assert_eq!(manifest["scenario_sha256"].as_str().unwrap().len(), 64);
    assert!(manifest["elapsed_seconds"].as_f64().unwrap() >= 0.0);
    assert!(manifest["threads"].as_u64().unwrap() >= 1);
    let resolved = manifest["resolved_scenario_toml"].as_str().unwrap();
    assert!(
        resolved.contains("support = 0.2"),
        "the override is resolved into the scenario"
    );

    // Feeding the resolved scenario back replays the study bit for bit.
    let replay_file = tmp.path().join("replay.toml");
    std::fs::write(&replay_file, resolved).unwrap();
    let replay_dir = tmp.path().join("replay");
    ok(armsim(
        tmp.path(),
        &[
            "run",
            replay_file.to_str().unwrap(),
            "--out",
            replay_dir.to_str().unwrap(),
            "--no-plots",
        ],
    ));
    assert_eq!(
        std::fs::read(out_dir.join("summary.csv")).unwrap(),
        std::fs::read(replay_dir.join("summary.csv")).unwrap()
    );
}

#[test]
fn overrides_change_the_result_and_unknown_paths_list_the_valid_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let out = armsim(tmp.path(), &["run", "--set", "suppliers.Russia.suport=0.2"]);
    assert!(!out.status.success());
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("did you mean `support`?") && stderr.contains("stance_speed"),
        "{stderr}"
    );
    let out = armsim(tmp.path(), &["run", "--set", "suppliers.Rusia.support=0.2"]);
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("did you mean `Russia`?") && stderr.contains("China"),
        "{stderr}"
    );
    let out = armsim(
        tmp.path(),
        &["run", "--set", "suppliers.Russia.support=1.5"],
    );
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("suppliers[0].support: found 1.5, expected a number from 0 to 1")
            && stderr.contains("value from --set suppliers.Russia.support=1.5"),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("output").exists(),
        "a rejected override writes nothing"
    );
}

#[test]
fn keep_runs_writes_the_first_runs_trajectories() {
    let tmp = tempfile::tempdir().unwrap();
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "50", "--keep-runs", "3", "--no-plots"],
    ));
    let runs = std::fs::read_to_string(tmp.path().join("output/myanmar_2021/runs.csv")).unwrap();
    let mut lines = runs.lines();
    assert_eq!(lines.next(), Some("run,quarter,label,entity,metric,value"));
    let rows: Vec<&str> = lines.collect();
    // Every metric of the catalogue: 7 world and buyer, 9 per supplier, 2 per pair.
    assert_eq!(rows.len(), 3 * 40 * (7 + 4 * 9 + 3 * 2));
    assert!(
        rows.last()
            .unwrap()
            .starts_with("2,39,2030Q4,India>China,ever_ahead,")
    );
}

#[test]
fn validate_describes_what_would_run() {
    let out = ok(armsim(
        &root(),
        &["validate", "scenarios/myanmar_2021_un_embargo.toml"],
    ));
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("valid") && stdout.contains("2021Q3  world.embargo set 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("would write: output/myanmar_2021_un_embargo/"),
        "{stdout}"
    );
}

#[test]
fn help_teaches_the_commands() {
    let (stdout, _) = text(&ok(armsim(&root(), &["--help"])));
    for word in [
        "run",
        "validate",
        "bench",
        "merge",
        "--set suppliers.Russia.support=0.2",
    ] {
        assert!(stdout.contains(word), "--help mentions {word}:\n{stdout}");
    }
    let (stdout, _) = text(&ok(armsim(&root(), &["run", "--help"])));
    for word in [
        "--runs",
        "--seed",
        "--threads",
        "--out",
        "--set",
        "--keep-runs",
        "--shard",
        "--resume",
    ] {
        assert!(stdout.contains(word), "run --help mentions {word}");
    }
}

#[test]
fn the_shipped_variants_differ_from_the_baseline_only_where_documented() {
    use armsim::model::{Param, SupplierParam, Target, WorldParam};
    let load = |id: &str| {
        armsim::scenario::load_file(&root().join(format!("scenarios/{id}.toml")), &[])
            .unwrap()
            .scenario
    };
    let base = load("myanmar_2021");
    let embargo = load("myanmar_2021_un_embargo");
    assert_eq!(embargo.suppliers(), base.suppliers());
    assert_eq!(embargo.backlog(), base.backlog());
    assert_eq!(
        (embargo.world(), embargo.buyer()),
        (base.world(), base.buyer())
    );
    let n = base.events().len();
    assert_eq!(embargo.events().len(), n + 1);
    let added = embargo
        .events()
        .iter()
        .find(|e| e.target == Target::World(WorldParam::Embargo))
        .unwrap();
    assert_eq!(embargo.label(added.quarter).to_string(), "2021Q3");

    let control = load("myanmar_2021_no_coup");
    assert_eq!(control.suppliers(), base.suppliers());
    assert_eq!(
        (control.world(), control.buyer()),
        (base.world(), base.buyer())
    );
    assert_eq!(control.backlog(), base.backlog());
    let kept: Vec<_> = base.events().iter().filter(|e| e.quarter > 0).collect();
    assert_eq!(
        control.events().len(),
        kept.len(),
        "only the coup's events go"
    );
    for (a, b) in control.events().iter().zip(kept) {
        assert_eq!(
            (a.quarter, a.target, a.op, a.value),
            (b.quarter, b.target, b.op, b.value)
        );
    }

    let article = load("myanmar_2021_article_shares");
    assert_eq!(article.events(), base.events());
    let total = |s: &armsim::model::Scenario, p| -> f64 {
        s.suppliers().iter().map(|x| x.params()[p]).sum()
    };
    for p in [SupplierParam::Stock, SupplierParam::RecentDeliveries] {
        assert!((total(&article, p) - total(&base, p)).abs() < 0.05 * total(&base, p));
    }
    for (a, b) in article.suppliers().iter().zip(base.suppliers()) {
        for &p in SupplierParam::ALL {
            if !matches!(p, SupplierParam::Stock | SupplierParam::RecentDeliveries) {
                assert_eq!(a.params()[p], b.params()[p], "{} {p:?}", a.name());
            }
        }
    }
}

#[test]
fn the_manifest_records_when_how_and_by_which_build() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "run",
        "--runs",
        "20",
        "--no-plots",
        "--set",
        "buyer.budget=60",
        "--out",
        "s",
    ];
    let before = std::time::SystemTime::now();
    ok(armsim(tmp.path(), &args));
    let m = manifest(&tmp.path().join("s"));
    assert_eq!(m["written_by"], "armsim");
    // UTC, to the second, within the run.
    let created = m["created_utc"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    let at = humantime::parse_rfc3339(created).unwrap();
    let slack = std::time::Duration::from_secs(2);
    assert!(
        at + slack >= before && at <= std::time::SystemTime::now() + slack,
        "{created}"
    );
    // The command line as given, program first.
    let line: Vec<&str> = m["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(line[0], env!("CARGO_BIN_EXE_armsim"));
    assert_eq!(line[1..], args);
    assert_eq!(m["build"]["version"], env!("CARGO_PKG_VERSION"));
    // The commit, where the build had git to ask.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(head) => assert_eq!(m["build"]["git_commit"], head.as_str()),
        None => assert!(m["build"]["git_commit"].is_null()),
    }
}

/// `params` shows, beside the values `--set` allows, the documented range a
/// sweep or sensitivity analysis explores when given none: the sweep docs
/// send readers here for it. Checked against the model's table.
#[test]
fn params_shows_the_range_a_sweep_explores_by_default() {
    use armsim::model::{BuyerParam, Param};
    let (stdout, _) = text(&ok(armsim(&root(), &["params"])));
    let (lo, hi) = BuyerParam::SupportWeight.range();
    assert_eq!((lo, hi), (0.0, 4.0));
    assert!(
        stdout.contains(&format!(
            "buyer.support_weight = 0.7136   [fixed; allowed [-100, 100]; sweeps {lo} to {hi}]"
        )),
        "{stdout}"
    );
    // A yes/no flag has no range to sweep.
    let flag = stdout
        .lines()
        .find(|l| l.contains("suppliers.NAME.hold_support = "))
        .unwrap();
    assert!(!flag.contains("sweeps"), "{flag}");
}
