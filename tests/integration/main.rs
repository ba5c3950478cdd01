//! Integration tests, one binary with a module per concern; shared helpers here.

mod architecture;
mod calibrate;
mod cases;
mod cli;
mod errors;
mod evaluate;
mod experiments;
mod fuzzing;
mod golden;
mod history;
mod keep_runs;
mod keeping;
mod mechanisms;
mod messages;
mod naming;
mod plots;
mod properties;
mod quickstart;
mod reproducibility;
mod robustness;
mod safety;
#[cfg(feature = "serve")]
mod serve;
mod shards;
mod signals;
mod state_files;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `scenarios/` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `armsim` binary with `args` in `cwd`, stdin closed.
pub fn armsim(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_armsim"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the armsim binary runs")
}

/// stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts the command succeeded, showing its output if not.
pub fn ok(out: Output) -> Output {
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "armsim failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    out
}

/// A path inside the repository, as a string argument.
pub fn repo_path(relative: &str) -> String {
    root().join(relative).display().to_string()
}

/// The minimal two-supplier fixture's text.
pub fn minimal() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/minimal.toml")).unwrap()
}

/// Starts the `armsim` binary with `args` in `cwd`, output piped.
pub fn spawn(cwd: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_armsim"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the armsim binary starts")
}

/// Sends `signal` (such as `-INT`) to process `pid` with kill(1).
pub fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// Waits up to two minutes for `cond`, polling every few milliseconds.
pub fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A study directory's manifest.
pub fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}
