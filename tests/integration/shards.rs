//! Scaling out: shards run as separate processes merge into the single-process
//! study, bit for bit; an interrupted study resumes to the same bits.

use super::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn summary_of(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("summary.csv")).unwrap()
}

#[test]
fn four_shards_in_separate_processes_merge_to_the_single_process_study() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = repo_path("scenarios/myanmar_2021.toml");
    let common = ["--runs", "1001", "--seed", "11", "--no-plots"];
    let single = tmp.path().join("single");
    let mut args = vec!["run", scenario.as_str(), "--out", single.to_str().unwrap()];
    args.extend(common);
    ok(armsim(tmp.path(), &args));

    // Start all four shards at once, as a cluster would.
    let children: Vec<_> = (0..4)
        .map(|i| {
            let shard = format!("{i}/4");
            Command::new(env!("CARGO_BIN_EXE_armsim"))
                .args([
                    "run",
                    &scenario,
                    "--shard",
                    &shard,
                    "--threads",
                    "1",
                    "--runs",
                    "1001",
                    "--seed",
                    "11",
                ])
                .current_dir(tmp.path())
                .stdin(Stdio::null())
                .output_wait_later()
        })
        .collect();
    for child in children {
        ok(child.wait_with_output().unwrap());
    }
    let shards: Vec<String> = (0..4)
        .map(|i| {
            tmp.path()
                .join(format!("output/myanmar_2021.shard-{i}-of-4"))
                .display()
                .to_string()
        })
        .collect();
    let merged = tmp.path().join("merged");
    // Shards given in any order.
    let mut args = vec![
        "merge",
        shards[2].as_str(),
        shards[0].as_str(),
        shards[3].as_str(),
        shards[1].as_str(),
    ];
    args.extend(["--out", merged.to_str().unwrap(), "--no-plots"]);
    let (stdout, _) = text(&ok(armsim(tmp.path(), &args)));
    assert!(stdout.contains("merged 4 shards (1,001 runs)"), "{stdout}");
    assert_eq!(summary_of(&single), summary_of(&merged));

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("manifest.json")).unwrap())
            .unwrap();
    let single_manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(single.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["scenario_sha256"],
        single_manifest["scenario_sha256"]
    );
    assert_eq!(manifest["runs"], 1001);

    // A missing shard is an error that says which runs are missing.
    let out = armsim(
        tmp.path(),
        &[
            "merge",
            &shards[0],
            &shards[1],
            &shards[3],
            "--out",
            "incomplete",
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("runs 500..750 are missing"), "{stderr}");
    assert!(!tmp.path().join("incomplete").exists());
    // So is a shard of another study.
    let other = tmp.path().join("other");
    ok(armsim(
        tmp.path(),
        &[
            "run",
            &scenario,
            "--runs",
            "1001",
            "--seed",
            "12",
            "--shard",
            "1/4",
            "--out",
            other.to_str().unwrap(),
        ],
    ));
    let out = armsim(
        tmp.path(),
        &[
            "merge",
            &shards[0],
            other.to_str().unwrap(),
            &shards[2],
            &shards[3],
        ],
    );
    assert!(
        text(&out).1.contains("is a shard of another study"),
        "{}",
        text(&out).1
    );
}

/// `Command::spawn` with piped output, to collect later.
trait SpawnPiped {
    fn output_wait_later(&mut self) -> std::process::Child;
}

impl SpawnPiped for Command {
    fn output_wait_later(&mut self) -> std::process::Child {
        self.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("armsim starts")
    }
}

/// Starts a study of `runs` runs that checkpoints after every round, waits
/// for its first checkpoint, and stops it with `signal`.
fn start_and_stop(cwd: &Path, out: &str, runs: &str, signal: &str) -> std::process::Output {
    let checkpoint = cwd.join(format!(".{out}.checkpoint"));
    let child = Command::new(env!("CARGO_BIN_EXE_armsim"))
        .args([
            "run",
            "--runs",
            runs,
            "--no-plots",
            "--threads",
            "1",
            "--checkpoint-every",
            "0",
            "--out",
            out,
        ])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output_wait_later();
    let started = Instant::now();
    while !checkpoint.exists() && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        checkpoint.exists(),
        "a checkpoint is written after the first round"
    );
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

#[test]
fn a_killed_study_resumes_from_its_checkpoint_to_the_same_bits() {
    let tmp = tempfile::tempdir().unwrap();
    // Rounds are 2048 runs a thread: this is six rounds, and the study is
    // stopped after the first.
    let runs = "12000";
    let reference = tmp.path().join("reference");
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            runs,
            "--no-plots",
            "--out",
            reference.to_str().unwrap(),
        ],
    ));

    // SIGKILL: no chance to clean up; the periodic checkpoint is what survives.
    let killed = start_and_stop(tmp.path(), "study", runs, "-KILL");
    assert!(!killed.status.success());
    assert!(
        !tmp.path().join("study").exists(),
        "the killed study wrote no output directory"
    );
    let resume = [
        "run",
        "--runs",
        runs,
        "--no-plots",
        "--threads",
        "2",
        "--out",
        "study",
        "--resume",
    ];
    let (_, stderr) = text(&ok(armsim(tmp.path(), &resume)));
    assert!(
        stderr.contains("resuming from") && stderr.contains("runs already done"),
        "{stderr}"
    );
    assert_eq!(
        summary_of(&reference),
        summary_of(&tmp.path().join("study"))
    );
    assert!(
        !tmp.path().join(".study.checkpoint").exists(),
        "the checkpoint is removed once the study is complete"
    );

    // Ctrl-C (SIGINT): a clean exit that says what was kept, then a resume.
    let interrupted = start_and_stop(tmp.path(), "again", runs, "-INT");
    let (_, stderr) = text(&interrupted);
    assert_eq!(interrupted.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted after") && stderr.contains("of 12,000 runs; kept them in"),
        "{stderr}"
    );
    assert!(!tmp.path().join("again").exists());
    let resume = [
        "run",
        "--runs",
        runs,
        "--no-plots",
        "--out",
        "again",
        "--resume",
    ];
    ok(armsim(tmp.path(), &resume));
    assert_eq!(
        summary_of(&reference),
        summary_of(&tmp.path().join("again"))
    );

    // A checkpoint of another study is refused, not silently used.
    start_and_stop(tmp.path(), "other", runs, "-KILL");
    let out = armsim(
        tmp.path(),
        &[
            "run", "--runs", runs, "--seed", "5", "--out", "other", "--resume",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("is a checkpoint of another study"),
        "{}",
        text(&out).1
    );
}
