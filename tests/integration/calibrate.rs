//! `armsim calibrate`: a small calibration end to end through the binary:
//! its help, its outputs, the same bits whatever the threads or however it
//! was interrupted and resumed, and every broken input refused where it is
//! written, before anything runs or is written. Each calibration here takes
//! about a second.

use std::path::Path;

use super::{armsim, ok, root, send, spawn, text, wait_for};

/// The Myanmar history scenario with a tiny calibration section whose paths
/// are absolute, so the file can live anywhere.
fn tiny(extra: &str) -> String {
    tiny_sized(
        extra,
        "population = 50\ninitial_draws = 200\nmax_generations = 3",
    )
}

/// As [`tiny`], with the ABC settings `abc`.
fn tiny_sized(extra: &str, abc: &str) -> String {
    let history = std::fs::read_to_string(root().join("scenarios/myanmar_history.toml")).unwrap();
    let model = &history[..history.find("\n[calibration]\n").unwrap()];
    format!(
        r#"{model}
[calibration]
data = "{data}"
others = "Others"
forecast = "{forecast}"
{abc}
pilot_draws = 50
predictive_particles = 5
predictive_runs = 2
forecast_particles = 2
forecast_runs = 3
{extra}

[calibration.groups]
Russia = ["Russia", "Soviet Union"]
China = ["China"]
India = ["India"]

[[calibration.params]]
path = "buyer.support_weight"

[[calibration.targets]]
kind = "shares"
years = "2016..2020"
scale = 0.05
"#,
        data = root().join("data/myanmar_imports_sipri_tiv.csv").display(),
        forecast = root().join("scenarios/myanmar_2021.toml").display(),
    )
}

#[test]
fn calibrate_writes_its_outputs_and_removes_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), tiny("")).unwrap();
    let out = ok(armsim(
        dir.path(),
        &["calibrate", "tiny.toml", "--threads", "2"],
    ));
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("Calibration of tiny.toml (tiny)"),
        "{stdout}"
    );
    assert!(stdout.contains("buyer.support_weight"), "{stdout}");
    assert!(
        stdout.contains("wrote output/tiny_calibration/:"),
        "{stdout}"
    );
    let written = dir.path().join("output/tiny_calibration");
    for f in [
        "posterior.csv",
        "calibrated.toml",
        "fit_shares.png",
        "manifest.json",
    ] {
        assert!(written.join(f).exists(), "{f}");
    }
    assert!(
        !dir.path()
            .join("output/.tiny_calibration.checkpoint")
            .exists()
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(written.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["kind"], "calibration");
    let settings = manifest["settings_sha256"].as_str().unwrap().to_string();
    // Again, with the same settings: the same bits, in the same directory
    // (the output rule every command follows).
    let first = std::fs::read(written.join("posterior.csv")).unwrap();
    let again = ok(armsim(dir.path(), &["calibrate", "tiny.toml"]));
    let (_, stderr) = text(&again);
    assert!(!stderr.contains("tiny_calibration-2"), "{stderr}");
    assert!(!dir.path().join("output/tiny_calibration-2").exists());
    assert_eq!(
        std::fs::read(written.join("posterior.csv")).unwrap(),
        first,
        "the same settings, the same bits"
    );
    // With other settings (another seed), the earlier calibration is kept
    // and the new one goes beside it, with a note saying where.
    std::fs::write(dir.path().join("tiny.toml"), tiny("seed = 99")).unwrap();
    let other = ok(armsim(dir.path(), &["calibrate", "tiny.toml"]));
    let (stdout, stderr) = text(&other);
    assert!(
        stderr.contains("keeping it, and writing this one to output/tiny_calibration-2"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(std::fs::read(written.join("posterior.csv")).unwrap(), first);
    let second: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("output/tiny_calibration-2/manifest.json"))
            .unwrap(),
    )
    .unwrap();
    assert_ne!(second["settings_sha256"], settings.as_str());
    // The calibrated scenario runs.
    ok(armsim(
        dir.path(),
        &[
            "run",
            "output/tiny_calibration/calibrated.toml",
            "--runs",
            "50",
            "--no-plots",
            "--quiet",
            "--out",
            "study",
        ],
    ));
}

#[test]
fn a_broken_calibration_section_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let text_in = tiny("").replace("kind = \"shares\"", "kind = \"share\"");
    std::fs::write(dir.path().join("broken.toml"), text_in).unwrap();
    let out = armsim(dir.path(), &["calibrate", "broken.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("error: broken.toml:")
            && stderr.contains("calibration.targets[0].kind: found \"share\"")
            && stderr.contains("did you mean `shares`?"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was run or written"), "{stderr}");
    assert!(!dir.path().join("output").exists());
    // A file without the section says so.
    let out = armsim(
        dir.path(),
        &[
            "calibrate",
            &root()
                .join("scenarios/myanmar_2021.toml")
                .display()
                .to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("a [calibration] section"));
}

#[test]
fn calibrate_refuses_a_directory_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), tiny("")).unwrap();
    std::fs::create_dir(dir.path().join("mine")).unwrap();
    std::fs::write(dir.path().join("mine/notes.txt"), "keep").unwrap();
    let out = armsim(dir.path(), &["calibrate", "tiny.toml", "--out", "mine"]);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(
        stderr
            .contains("refusing to write to mine: it holds files armsim did not write (notes.txt)"),
        "{stderr}"
    );
    // Refused before any work: no checkpoint was started either.
    assert!(!dir.path().join(".mine.checkpoint").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine/notes.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn help_explains_the_method_the_outputs_and_resuming() {
    let dir = tempfile::tempdir().unwrap();
    let (long, _) = text(&ok(armsim(dir.path(), &["calibrate", "--help"])));
    for needle in [
        "[calibration] section",
        "ABC-SMC",
        "rejection baseline",
        "history-matching",
        "posterior median",
        "calibrated.toml",
        "summary.txt",
        "whatever --threads",
        "Ctrl-C",
        "--resume",
        "docs/calibration.md",
        "armsim calibrate scenarios/myanmar_history.toml",
    ] {
        assert!(long.contains(needle), "--help lacks {needle:?}:\n{long}");
    }
    let (short, _) = text(&ok(armsim(dir.path(), &["calibrate", "-h"])));
    assert!(
        short.contains("Examples:") && short.len() < long.len(),
        "{short}"
    );
    // The top-level help lists the command.
    let (top, _) = text(&ok(armsim(dir.path(), &["--help"])));
    assert!(top.contains("calibrate"), "{top}");
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the file"));
    text[..at].matches('\n').count() + 1
}

#[test]
fn every_broken_input_is_refused_where_it_is_written_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let good = tiny("");
    let support = "path = \"buyer.support_weight\"";
    let data = format!(
        "data = \"{}\"",
        root().join("data/myanmar_imports_sipri_tiv.csv").display()
    );
    // (what, from, to, the text the error points at, what it must say)
    let cases: Vec<(&str, String, String, &str, Vec<String>)> = vec![
        (
            "a missing data file",
            data.clone(),
            "data = \"no/such/imports.csv\"".into(),
            "data = ",
            vec![
                "calibration.data: found \"no/such/imports.csv\"".into(),
                "expected a readable SIPRI import extract".into(),
                // Resolved against the scenario file's directory.
                format!(
                    "cannot read {}",
                    Path::new(".").join("no/such/imports.csv").display()
                ),
            ],
        ),
        (
            "an unknown prior",
            support.into(),
            format!("{support}\nprior = \"unifrom\""),
            "prior = ",
            vec![
                "calibration.params[0].prior: found \"unifrom\"".into(),
                "expected uniform, log_uniform or normal".into(),
                "did you mean `uniform`?".into(),
            ],
        ),
        (
            "an empty prior interval",
            support.into(),
            format!("{support}\nlo = 3\nhi = 1"),
            "[[calibration.params]]",
            vec![
                "calibration.params[0]: found prior = \"uniform\", lo = 3, hi = 1".into(),
                "(the interval [3, 1] is empty)".into(),
            ],
        ),
        (
            "a log-uniform prior from 0",
            support.into(),
            format!("{support}\nprior = \"log_uniform\"\nlo = 0"),
            "[[calibration.params]]",
            vec!["a log-uniform prior needs a positive lower bound, not 0".into()],
        ),
        (
            "a normal prior without its sd",
            support.into(),
            format!("{support}\nprior = \"normal\"\nmean = 1"),
            "[[calibration.params]]",
            vec!["a normal prior without mean or sd".into()],
        ),
        (
            "an unknown parameter",
            support.into(),
            "path = \"buyer.lockin_weight\"".into(),
            "path = \"buyer.lockin",
            vec![
                "calibration.params[0].path: found \"buyer.lockin_weight\"".into(),
                "no buyer parameter `lockin_weight`; did you mean `lock_in_weight`?".into(),
            ],
        ),
        (
            "an unknown supplier",
            support.into(),
            "path = \"suppliers.Rusia.price\"".into(),
            "path = \"suppliers",
            vec!["no supplier `Rusia`; did you mean `Russia`?".into()],
        ),
        (
            "a parameter that cannot be fitted",
            support.into(),
            "path = \"suppliers.Russia.veto\"".into(),
            "path = \"suppliers",
            vec!["takes yes/no or whole values".into()],
        ),
        (
            "an unknown setting",
            "pilot_draws = 50".into(),
            "pilot_drawz = 50".into(),
            "pilot_drawz",
            vec![
                "calibration.pilot_drawz: found unknown field `pilot_drawz`".into(),
                "did you mean `pilot_draws`?".into(),
            ],
        ),
        (
            "a window outside the run",
            "years = \"2016..2020\"".into(),
            "years = \"2001..2005\"".into(),
            "years = ",
            vec!["the run covers the whole years 2005 to 2030".into()],
        ),
    ];
    for (what, from, to, at, says) in cases {
        assert!(good.contains(&from), "{what}: {from:?} not in the file");
        let broken = good.replacen(&from, &to, 1);
        std::fs::write(dir.path().join("broken.toml"), &broken).unwrap();
        let out = armsim(dir.path(), &["calibrate", "broken.toml"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stdout.is_empty(), "{what}: {stdout}");
        let line = line_of(&broken, at);
        assert!(
            stderr.contains(&format!("error: broken.toml:{line}:")),
            "{what}: not located at line {line}: {stderr}"
        );
        for s in says {
            assert!(stderr.contains(&s), "{what}: lacks {s:?}: {stderr}");
        }
        assert!(
            stderr.contains("nothing was run or written"),
            "{what}: {stderr}"
        );
        assert!(!dir.path().join("output").exists(), "{what}");
    }
    // A scenario file that is not there.
    let out = armsim(dir.path(), &["calibrate", "absent.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("cannot read scenario absent.toml"));
}

/// posterior.csv and posterior_summary.csv of a calibration's directory.
fn posterior(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(dir.join("posterior.csv")).unwrap(),
        std::fs::read(dir.join("posterior_summary.csv")).unwrap(),
    )
}

#[test]
fn resuming_from_a_saved_generation_gives_the_same_bits_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::write(cwd.join("tiny.toml"), tiny("")).unwrap();
    ok(armsim(
        cwd,
        &[
            "calibrate",
            "tiny.toml",
            "--threads",
            "2",
            "--out",
            "first",
            "-q",
        ],
    ));
    let reference = posterior(&cwd.join("first"));
    // The output keeps generation 0; put it where an interrupted calibration
    // into `second` would have left it, and resume on one thread.
    let saved = cwd.join("first/generation-000.abcpop");
    std::fs::create_dir(cwd.join(".second.checkpoint")).unwrap();
    std::fs::copy(&saved, cwd.join(".second.checkpoint/generation-000.abcpop")).unwrap();
    let out = ok(armsim(
        cwd,
        &[
            "calibrate",
            "tiny.toml",
            "--threads",
            "1",
            "--out",
            "second",
            "--resume",
        ],
    ));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("resuming from .second.checkpoint: 1 of"),
        "{stderr}"
    );
    assert_eq!(posterior(&cwd.join("second")), reference);
    assert!(!cwd.join(".second.checkpoint").exists());
    // Without --resume, an interrupted calibration's generations are
    // replaced, and the note says so.
    std::fs::create_dir(cwd.join(".third.checkpoint")).unwrap();
    std::fs::copy(&saved, cwd.join(".third.checkpoint/generation-000.abcpop")).unwrap();
    let (_, stderr) = text(&ok(armsim(
        cwd,
        &["calibrate", "tiny.toml", "--out", "third"],
    )));
    assert!(
        stderr.contains(
            ".third.checkpoint holds an interrupted calibration; this run starts afresh and \
             replaces it (--resume would continue it)"
        ),
        "{stderr}"
    );
    assert_eq!(posterior(&cwd.join("third")), reference);
    // --resume with nothing to resume starts from the beginning, and says so.
    let (_, stderr) = text(&ok(armsim(
        cwd,
        &["calibrate", "tiny.toml", "--out", "fourth", "--resume"],
    )));
    assert!(
        stderr.contains("no checkpoint at .fourth.checkpoint: starting from the beginning"),
        "{stderr}"
    );
    assert_eq!(posterior(&cwd.join("fourth")), reference);
    // Another command's checkpoint where the generations would go (a
    // study's state file) is refused by name before anything runs, and kept.
    ok(armsim(
        cwd,
        &[
            "run",
            "--runs",
            "20",
            "--set",
            "run.quarters=8",
            "--shard",
            "0/2",
            "--out",
            "shard",
            "-q",
        ],
    ));
    let study_state = std::fs::read(cwd.join("shard/state.armsim")).unwrap();
    std::fs::write(cwd.join(".fifth.checkpoint"), &study_state).unwrap();
    for resume in [false, true] {
        let mut args = vec!["calibrate", "tiny.toml", "--out", "fifth"];
        if resume {
            args.push("--resume");
        }
        let out = armsim(cwd, &args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(
                ".fifth.checkpoint is the checkpoint of an interrupted study, not of a calibration"
            ),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read(cwd.join(".fifth.checkpoint")).unwrap(),
            study_state
        );
        assert!(!cwd.join("fifth").exists());
    }
    // A file named like a generation that is not a population is not taken
    // for a checkpoint: --resume finds nothing to continue. When that
    // generation comes, it cannot be saved there, which is said, and the
    // calibration carries on (every command's rule); the file is left as
    // it was.
    std::fs::create_dir(cwd.join(".sixth.checkpoint")).unwrap();
    let notes = cwd.join(".sixth.checkpoint/generation-001.abcpop");
    std::fs::write(&notes, "my notes").unwrap();
    let (_, stderr) = text(&ok(armsim(
        cwd,
        &["calibrate", "tiny.toml", "--out", "sixth", "--resume"],
    )));
    assert!(
        stderr.contains("no checkpoint at .sixth.checkpoint: starting from the beginning")
            && stderr.contains("warning: cannot save a checkpoint")
            && stderr.contains("carrying on without one"),
        "{stderr}"
    );
    assert_eq!(posterior(&cwd.join("sixth")), reference);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
}

#[test]
fn ctrl_c_keeps_complete_generations_and_resume_finishes_the_same_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    // About two seconds on one thread: long enough to interrupt after the
    // third generation with most of the work still to do.
    let slow = tiny_sized(
        "",
        "population = 100\ninitial_draws = 400\nmax_generations = 12\n\
         min_acceptance_rate = 0.001\nmax_simulations = 40000",
    );
    std::fs::write(cwd.join("slow.toml"), slow).unwrap();
    ok(armsim(
        cwd,
        &["calibrate", "slow.toml", "--out", "reference", "-q"],
    ));
    let reference = posterior(&cwd.join("reference"));
    let child = spawn(
        cwd,
        &[
            "calibrate",
            "slow.toml",
            "--threads",
            "1",
            "--out",
            "stopped",
        ],
    );
    let third = cwd.join(".stopped.checkpoint/generation-002.abcpop");
    wait_for("the third generation", || third.exists());
    send("-INT", child.id());
    let out = child.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(
            "interrupted; kept the complete generations in .stopped.checkpoint \
             and wrote nothing to stopped."
        ) && stderr.contains("Continue with the same command and --resume."),
        "{stderr}"
    );
    assert!(!cwd.join("stopped").exists());
    assert!(third.exists());
    let (_, stderr) = text(&ok(armsim(
        cwd,
        &["calibrate", "slow.toml", "--out", "stopped", "--resume"],
    )));
    assert!(
        stderr.contains("resuming from .stopped.checkpoint:")
            && stderr.contains("generations already done"),
        "{stderr}"
    );
    assert_eq!(posterior(&cwd.join("stopped")), reference);
    assert!(!cwd.join(".stopped.checkpoint").exists());
}
