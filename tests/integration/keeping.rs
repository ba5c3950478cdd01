//! The output rule: a command never silently loses an earlier result. In its
//! own default directory it replaces only a result of the same settings (the
//! same bits); a result of other settings is kept and the new one goes
//! beside it as `NAME-2`, with a line saying where. A directory given with
//! `--out` is replaced, and the command says it replaced other settings.
//! Every command follows it: run, merge, compare, sweep, sensitivity.

use super::*;

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_smaller_run_goes_beside_the_big_one_and_a_rerun_replaces_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let run = |args: &[&str]| text(&ok(armsim(tmp.path(), args)));
    run(&["run", "--runs", "300", "--threads", "1", "--no-plots"]);
    let big = out.join("myanmar_2021");
    let summary = read(&big.join("summary.csv"));
    let settings = manifest(&big)["settings_sha256"].clone();
    assert!(
        settings.as_str().is_some_and(|s| s.len() == 64),
        "{settings}"
    );

    // Fewer runs: other settings, so the 300-run study is kept.
    let (stdout, stderr) = run(&["run", "--runs", "100", "--no-plots"]);
    assert!(
        stderr.contains(
            "note: output/myanmar_2021 holds an earlier result of other settings; keeping it, \
             and writing this one to output/myanmar_2021-2"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("wrote output/myanmar_2021-2/"), "{stdout}");
    assert_eq!(read(&big.join("summary.csv")), summary);
    assert_eq!(manifest(&big)["runs"], 300);
    assert_eq!(manifest(&out.join("myanmar_2021-2"))["runs"], 100);

    // Plots are files too: the same runs with plots do not replace a study
    // without them, nor the other way round.
    let (_, stderr) = run(&["run", "--runs", "100", "--threads", "1"]);
    assert!(
        stderr.contains("writing this one to output/myanmar_2021-3"),
        "{stderr}"
    );
    assert!(out.join("myanmar_2021-3/shares.png").is_file());

    // The same settings (threads change no bit) replace their own study,
    // silently, with the same bytes.
    let (stdout, stderr) = run(&["run", "--runs", "300", "--threads", "2", "--no-plots"]);
    assert!(!stderr.contains("note:"), "{stderr}");
    assert!(stdout.contains("wrote output/myanmar_2021/"), "{stdout}");
    assert_eq!(read(&big.join("summary.csv")), summary);
    let (stdout, _) = run(&["run", "--runs", "100", "--no-plots"]);
    assert!(stdout.contains("wrote output/myanmar_2021-2/"), "{stdout}");
    assert_eq!(
        names(&out),
        ["myanmar_2021", "myanmar_2021-2", "myanmar_2021-3"]
    );

    // --out names the directory: it is replaced, and the command says so.
    let (_, stderr) = run(&[
        "run",
        "--runs",
        "50",
        "--no-plots",
        "--out",
        "output/myanmar_2021-3",
    ]);
    assert!(
        stderr.contains(
            "note: output/myanmar_2021-3 holds an earlier result of other settings; \
             replacing it, as --out names it"
        ),
        "{stderr}"
    );
    assert_eq!(manifest(&out.join("myanmar_2021-3"))["runs"], 50);
    assert!(!out.join("myanmar_2021-3/shares.png").exists());

    // A study written before the rule (no settings in its manifest) is kept.
    let old = out.join("myanmar_2021-2/manifest.json");
    let mut m = manifest(&out.join("myanmar_2021-2"));
    m.as_object_mut().unwrap().remove("settings_sha256");
    std::fs::write(&old, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let (stdout, _) = run(&["run", "--runs", "100", "--no-plots"]);
    assert!(stdout.contains("wrote output/myanmar_2021-4/"), "{stdout}");

    // Merged shards are the same study as one process: same settings.
    run(&["run", "--runs", "300", "--shard", "0/2", "--quiet"]);
    run(&["run", "--runs", "300", "--shard", "1/2", "--quiet"]);
    let (stdout, stderr) = run(&[
        "merge",
        "output/myanmar_2021.shard-0-of-2",
        "output/myanmar_2021.shard-1-of-2",
        "--no-plots",
    ]);
    assert!(!stderr.contains("note:"), "{stderr}");
    assert!(stdout.contains("wrote output/myanmar_2021/"), "{stdout}");
    assert_eq!(read(&big.join("summary.csv")), summary);
}

#[test]
fn a_second_sweep_of_other_ranges_and_a_comparison_are_kept_beside_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let sweep = |range: &str| {
        text(&ok(armsim(
            tmp.path(),
            &[
                "sweep",
                "--vary",
                &format!("buyer.support_weight={range}"),
                "--runs-per-point",
                "10",
                "--outcome",
                "rolling_share:Russia@end",
                "--no-plots",
            ],
        )))
    };
    let first = "myanmar_2021.sweep-support_weight";
    sweep("0:1:2");
    let csv = read(&out.join(first).join("sweep.csv"));
    let (_, stderr) = sweep("0:2:3");
    assert!(
        stderr.contains(&format!(
            "note: output/{first} holds an earlier result of other settings; keeping it, \
             and writing this one to output/{first}-2"
        )),
        "{stderr}"
    );
    assert_eq!(read(&out.join(first).join("sweep.csv")), csv);
    // The first sweep again: its own directory, the same bytes.
    let (_, stderr) = sweep("0:1:2");
    assert!(!stderr.contains("note:"), "{stderr}");
    assert_eq!(read(&out.join(first).join("sweep.csv")), csv);

    let compare = |runs: &str| {
        text(&ok(armsim(
            tmp.path(),
            &[
                "compare",
                "--set-b",
                "suppliers.Russia.support=0",
                "--runs",
                runs,
                "--no-plots",
            ],
        )))
    };
    compare("40");
    let (_, stderr) = compare("20");
    assert!(
        stderr.contains("writing this one to output/compare-"),
        "{stderr}"
    );
    let compares: Vec<String> = names(&out)
        .into_iter()
        .filter(|n| n.starts_with("compare-"))
        .collect();
    assert_eq!(compares.len(), 2, "{compares:?}");
    assert!(compares[1].ends_with("-2"), "{compares:?}");
}

#[test]
fn sensitivity_directories_are_named_by_method_and_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, _) = text(&ok(armsim(
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
            "2",
            "--runs-per-point",
            "5",
            "--outcome",
            "rolling_share:Russia@end",
            "--no-plots",
        ],
    )));
    let name = "myanmar_2021.sensitivity-morris-support_weight-cancel_held";
    assert!(
        stdout.contains(&format!("wrote output/{name}/")),
        "{stdout}"
    );
    assert!(tmp.path().join("output").join(name).is_dir());
}
