//! `armsim calibrate`: a small calibration end to end through the binary,
//! and a broken [calibration] section refused with located errors.

use super::{armsim, ok, root, text};

/// The Myanmar history scenario with a tiny calibration section whose paths
/// are absolute, so the file can live anywhere.
fn tiny(extra: &str) -> String {
    let history = std::fs::read_to_string(root().join("scenarios/myanmar_history.toml")).unwrap();
    let model = &history[..history.find("\n[calibration]\n").unwrap()];
    format!(
        r#"{model}
[calibration]
data = "{data}"
others = "Others"
forecast = "{forecast}"
population = 50
initial_draws = 200
pilot_draws = 50
max_generations = 3
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
    // Again, into the same directory: an armsim directory is replaced.
    ok(armsim(dir.path(), &["calibrate", "tiny.toml", "--quiet"]));
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
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine/notes.txt")).unwrap(),
        "keep"
    );
}
