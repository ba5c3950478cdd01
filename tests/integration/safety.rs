//! Nothing of the user's is ever deleted: `--out` and `merge --out` replace
//! only an earlier armsim study or an empty directory; a state file never
//! chooses where anything is written; concurrent writers both succeed;
//! what a killed writer left is swept, and nothing else; permissions follow
//! the umask.

use super::*;

fn refused(out: &Output, needle: &str) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refusing to write to") && stderr.contains(needle),
        "{stderr}"
    );
}

#[test]
fn a_directory_of_the_users_files_survives_and_the_run_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let thesis = tmp.path().join("thesis");
    std::fs::create_dir(&thesis).unwrap();
    std::fs::write(thesis.join("chapter1.tex"), "precious").unwrap();
    for args in [
        &["run", "--runs", "50", "--no-plots", "--out", "thesis"][..],
        &["run", "--out", "thesis"][..],
    ] {
        let out = armsim(tmp.path(), args);
        refused(&out, "it holds files armsim did not write (chapter1.tex)");
        assert!(text(&out).1.contains("Choose another directory"));
    }
    assert_eq!(
        std::fs::read_to_string(thesis.join("chapter1.tex")).unwrap(),
        "precious"
    );
    assert_eq!(names(tmp.path()), ["thesis"], "nothing left beside it");
    assert_eq!(names(&thesis), ["chapter1.tex"]);

    // A study the user added a file to is theirs now, in part: refused too.
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "30", "--no-plots", "--out", "study"],
    ));
    std::fs::write(tmp.path().join("study/notes.txt"), "mine").unwrap();
    refused(
        &armsim(
            tmp.path(),
            &["run", "--runs", "30", "--no-plots", "--out", "study"],
        ),
        "notes.txt",
    );
    assert!(tmp.path().join("study/notes.txt").exists());

    // An empty directory and an earlier study are replaced.
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "30", "--no-plots", "--out", "empty"],
    ));
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "40", "--no-plots", "--out", "empty"],
    ));
    assert_eq!(manifest(&tmp.path().join("empty"))["runs"], 40);
}

#[test]
fn files_devices_and_links_are_refused_and_left_as_they_were() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n);
    std::fs::write(p("afile"), "precious").unwrap();
    refused(
        &armsim(tmp.path(), &["run", "--runs", "20", "--out", "afile"]),
        "it is a regular file, not a directory",
    );
    assert_eq!(std::fs::read_to_string(p("afile")).unwrap(), "precious");

    // A FIFO stands in for a device such as /dev/null, safely.
    assert!(
        Command::new("mkfifo")
            .arg(p("fifo"))
            .status()
            .unwrap()
            .success()
    );
    refused(
        &armsim(tmp.path(), &["run", "--runs", "20", "--out", "fifo"]),
        "it is a device, FIFO or socket",
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(p("fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );

    // A link to /dev/null: the link itself is refused, nothing is renamed.
    std::os::unix::fs::symlink("/dev/null", p("devnull")).unwrap();
    refused(
        &armsim(tmp.path(), &["run", "--runs", "20", "--out", "devnull"]),
        "symbolic link",
    );
    assert_eq!(
        std::fs::read_link(p("devnull")).unwrap(),
        Path::new("/dev/null")
    );

    // `.` names no directory of its own.
    refused(
        &armsim(tmp.path(), &["run", "--runs", "20", "--out", "."]),
        "names no directory",
    );
    assert_eq!(names(tmp.path()), ["afile", "devnull", "fifo"]);

    // merge --out follows the same rule.
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "20", "--shard", "0/1", "--out", "shard"],
    ));
    std::fs::create_dir(p("thesis")).unwrap();
    std::fs::write(p("thesis/chapter1.tex"), "precious").unwrap();
    refused(
        &armsim(tmp.path(), &["merge", "shard", "--out", "thesis"]),
        "chapter1.tex",
    );
    refused(
        &armsim(tmp.path(), &["merge", "shard", "--out", "afile"]),
        "regular file",
    );
    assert_eq!(names(&p("thesis")), ["chapter1.tex"]);
}

#[test]
fn a_state_files_scenario_id_is_a_label_never_a_path() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    // An earlier study the crafted id points at: armsim could replace it,
    // so only the id rule protects it.
    let victim = tmp.path().join("victim");
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "20",
            "--seed",
            "5",
            "--no-plots",
            "--out",
            victim.to_str().unwrap(),
        ],
    ));
    let before = std::fs::read(victim.join("summary.csv")).unwrap();
    ok(armsim(
        &work,
        &["run", "--runs", "20", "--shard", "0/1", "--out", "shard"],
    ));
    let file = work.join("shard/state.armsim");
    for (id, lands_in) in [
        (victim.display().to_string(), None),
        ("../escape".to_string(), Some("escape")),
        ("..".to_string(), Some("study")),
    ] {
        let mut state = armsim::state::StudyState::load(&file).unwrap();
        state.scenario_id = id.clone();
        state.save(&file).unwrap();
        let out = ok(armsim(&work, &["merge", "shard", "--no-plots"]));
        let (stdout, _) = text(&out);
        let dirs = names(&work.join("output"));
        let written = work.join("output").join(dirs.last().unwrap());
        assert!(
            stdout.contains(&format!(
                "wrote {}",
                Path::new("output").join(dirs.last().unwrap()).display()
            )),
            "{stdout}"
        );
        if let Some(name) = lands_in {
            assert!(work.join("output").join(name).is_dir(), "{id} -> {dirs:?}");
        }
        assert_eq!(manifest(&written)["scenario_id"], id.as_str());
        std::fs::remove_dir_all(work.join("output")).unwrap();
    }
    assert_eq!(std::fs::read(victim.join("summary.csv")).unwrap(), before);
    assert_eq!(names(tmp.path()), ["victim", "work"]);
    assert_eq!(names(&work), ["shard"]);
}

#[test]
fn concurrent_writers_of_one_directory_all_succeed_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let seed = i.to_string();
            spawn(
                tmp.path(),
                &[
                    "run",
                    "--runs",
                    "100",
                    "--seed",
                    &seed,
                    "--threads",
                    "1",
                    "--no-plots",
                    "--out",
                    "same",
                ],
            )
        })
        .collect();
    for child in children {
        ok(child.wait_with_output().unwrap());
    }
    assert_eq!(names(tmp.path()), ["same"], "no .old or .tmp leftovers");
    assert_eq!(
        names(&tmp.path().join("same")),
        ["manifest.json", "summary.csv"]
    );
    assert_eq!(manifest(&tmp.path().join("same"))["runs"], 100);
}

#[test]
fn what_a_killed_writer_left_is_swept_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    // Kill a study while it writes its files: enough kept runs that writing
    // takes a moment, during which its temporary directory exists.
    let child = spawn(
        tmp.path(),
        &[
            "run",
            "--runs",
            "3000",
            "--keep-runs",
            "3000",
            "--no-plots",
            "--out",
            "study",
        ],
    );
    let pid = child.id();
    let leftover = || {
        names(tmp.path())
            .into_iter()
            .find(|n| n.starts_with(".study.tmp-"))
    };
    wait_for("the temporary directory", || leftover().is_some());
    send("-KILL", pid);
    child.wait_with_output().unwrap();
    let left = leftover().expect("kill -9 leaves the temporary directory");
    assert!(
        left.contains(&format!("-{pid}-")),
        "{left}: names its writer"
    );
    assert!(!tmp.path().join("study").exists());
    // Files that are not ours, some looking alike, stay.
    let foreign = [
        ".tmpA1b2C3",
        ".study.tmp-x",
        ".study.tmp-otherhost-1-0",
        "notes.txt",
    ];
    for f in foreign {
        std::fs::write(tmp.path().join(f), "mine").unwrap();
    }
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "20", "--no-plots", "--out", "other"],
    ));
    let mut expected: Vec<String> = foreign.iter().map(|f| f.to_string()).collect();
    expected.push("other".into());
    expected.sort();
    assert_eq!(
        names(tmp.path()),
        expected,
        "the dead writer's directory is swept"
    );
}

#[test]
fn studies_and_state_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_armsim");
    let script = format!(
        "umask 027 && {bin} run --runs 30 --no-plots --out study && \
         {bin} run --runs 30 --shard 0/2 --out shard"
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    ok(out);
    let mode = |p: &str| {
        std::fs::metadata(tmp.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("study"), 0o750, "group may enter and read");
    assert_eq!(mode("study/summary.csv"), 0o640);
    assert_eq!(mode("study/manifest.json"), 0o640);
    assert_eq!(mode("shard"), 0o750);
    assert_eq!(
        mode("shard/state.armsim"),
        0o640,
        "collaborators can merge it"
    );
}
