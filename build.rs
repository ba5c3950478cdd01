//! Records the git commit armsim is built from (and whether tracked files had
//! uncommitted changes), for manifests: `ARMSIM_GIT_COMMIT`, `ARMSIM_GIT_DIRTY`.
//! Without git, or outside a checkout (a crates.io download), records nothing.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Rebuild the record when sources change (for the dirty flag) or HEAD moves.
    for path in [
        "build.rs",
        "src",
        "Cargo.toml",
        "Cargo.lock",
        "scenarios",
        "assets",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    let Some(commit) = git(&["rev-parse", "HEAD"]).filter(|c| c.len() == 40) else {
        return;
    };
    println!("cargo:rustc-env=ARMSIM_GIT_COMMIT={commit}");
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    println!("cargo:rustc-env=ARMSIM_GIT_DIRTY={dirty}");
    for reference in ["HEAD", "logs/HEAD"] {
        if let Some(path) = git(&["rev-parse", "--git-path", reference]) {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
