//! Interruptions: SIGINT (twice, 50 ms apart, as terminals and GNU timeout
//! send it) and SIGTERM (Slurm, Docker, kill) each save one consistent
//! checkpoint and exit 130 or 143, and `--resume` ends with the same bits as
//! an uninterrupted study; a checkpoint that cannot be written is reported
//! and the study carries on.

use super::*;
use std::time::Duration;

const RUNS: &str = "60000";

fn study(cwd: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--runs", RUNS, "--no-plots", "--out", out];
    args.extend(extra);
    armsim(cwd, &args)
}

/// Starts a study that checkpoints after every round, waits for its first
/// checkpoint, then sends it `signals` with `gap` between them.
fn interrupt(cwd: &Path, out: &str, signals: &[&str], gap: Duration) -> Output {
    let child = spawn(
        cwd,
        &[
            "run",
            "--runs",
            RUNS,
            "--no-plots",
            "--threads",
            "1",
            "--checkpoint-every",
            "0",
            "--out",
            out,
        ],
    );
    let checkpoint = cwd.join(format!(".{out}.checkpoint"));
    wait_for("the first checkpoint", || checkpoint.exists());
    for (i, signal) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(gap);
        }
        send(signal, child.id());
    }
    child.wait_with_output().unwrap()
}

fn summary(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("summary.csv")).unwrap()
}

#[test]
fn two_sigints_and_a_sigterm_each_save_a_checkpoint_that_resumes_to_the_same_bits() {
    let tmp = tempfile::tempdir().unwrap();
    ok(study(tmp.path(), "reference", &[]));
    let reference = summary(&tmp.path().join("reference"));

    for (out, signals, code) in [
        ("twice", &["-INT", "-INT"][..], 130),
        ("term", &["-TERM"][..], 143),
    ] {
        let stopped = interrupt(tmp.path(), out, signals, Duration::from_millis(50));
        let (_, stderr) = text(&stopped);
        assert_eq!(stopped.status.code(), Some(code), "{out}: {stderr}");
        assert!(
            stderr.contains("interrupted after") && stderr.contains("of 60,000 runs; kept them in"),
            "{out}: {stderr}"
        );
        assert!(!stderr.contains("stopped at once"), "{stderr}");
        assert!(!tmp.path().join(out).exists(), "nothing written to {out}");
        // The checkpoint is complete and consistent: it resumes.
        let (_, stderr) = text(&ok(study(tmp.path(), out, &["--resume", "--threads", "2"])));
        assert!(stderr.contains("resuming from"), "{stderr}");
        assert_eq!(summary(&tmp.path().join(out)), reference, "{out}");
        assert!(!tmp.path().join(format!(".{out}.checkpoint")).exists());
    }
}

#[test]
fn a_checkpoint_that_cannot_be_written_is_reported_and_the_study_carries_on() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory of the user's where the checkpoint would go.
    let blocker = tmp.path().join(".study.checkpoint");
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(blocker.join("keep.txt"), "mine").unwrap();
    let out = ok(study(
        tmp.path(),
        "study",
        &["--checkpoint-every", "0", "--threads", "1"],
    ));
    let (_, stderr) = text(&out);
    assert_eq!(
        stderr.matches("warning: cannot save a checkpoint").count(),
        1,
        "reported once: {stderr}"
    );
    assert_eq!(manifest(&tmp.path().join("study"))["runs"], 60000);
    assert_eq!(names(&blocker), ["keep.txt"], "left alone");
}

/// A comparison, like a study: SIGINT saves a checkpoint beside the
/// directory, writes nothing, and `--resume` ends with the same files.
#[test]
fn an_interrupted_comparison_resumes_to_the_same_files() {
    const PAIRS: &str = "40000";
    let tmp = tempfile::tempdir().unwrap();
    let compare = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "compare",
            "--runs",
            PAIRS,
            "--no-plots",
            "--set-b",
            "suppliers.Russia.support=0",
            "--out",
            out,
        ];
        args.extend(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        armsim(tmp.path(), &args)
    };
    ok(run(compare("reference", &[])));

    let args = compare("stopped", &["--threads", "1", "--checkpoint-every", "0"]);
    let child = spawn(
        tmp.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let checkpoint = tmp.path().join(".stopped.checkpoint");
    wait_for("the comparison's first checkpoint", || checkpoint.exists());
    send("-INT", child.id());
    let stopped = child.wait_with_output().unwrap();
    let (_, stderr) = text(&stopped);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("of 40,000 pairs of runs; kept them in"),
        "{stderr}"
    );
    assert!(!tmp.path().join("stopped").exists(), "nothing written");

    let (_, stderr) = text(&ok(run(compare(
        "stopped",
        &["--resume", "--threads", "2"],
    ))));
    assert!(stderr.contains("resuming from"), "{stderr}");
    for file in [
        "outcomes.csv",
        "difference.csv",
        "summary_a.csv",
        "summary_b.csv",
    ] {
        assert_eq!(
            std::fs::read(tmp.path().join("stopped").join(file)).unwrap(),
            std::fs::read(tmp.path().join("reference").join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(
        !checkpoint.exists(),
        "removed once the comparison is written"
    );
}
