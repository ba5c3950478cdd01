//! Integration tests, one binary with a module per concern; shared helpers here.

mod cli;
mod errors;
mod golden;
mod properties;
mod reproducibility;
#[cfg(feature = "serve")]
mod serve;
mod shards;

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
