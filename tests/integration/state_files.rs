//! State files as merge and resume read them: a damaged byte is refused by
//! the checksum, a crafted file cannot make armsim allocate what its
//! scenario does not need, and a merged study reports its shards' real
//! threads and wall time.

use super::*;

fn shard(cwd: &Path, i: usize, n: usize) {
    let s = format!("{i}/{n}");
    ok(armsim(
        cwd,
        &[
            "run",
            "--runs",
            "400",
            "--seed",
            "8",
            "--threads",
            "1",
            "--shard",
            &s,
            "--out",
            &format!("s{i}"),
        ],
    ));
}

#[test]
fn a_flipped_byte_is_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    shard(tmp.path(), 0, 1);
    let file = tmp.path().join("s0/state.armsim");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let out = armsim(tmp.path(), &["merge", "s0", "--out", "merged"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("s0/state.armsim: not a usable armsim state file (checksum mismatch"),
        "{stderr}"
    );
    assert!(!tmp.path().join("merged").exists());
}

#[test]
fn a_crafted_123_byte_file_is_refused_without_allocating() {
    use sha2::Digest;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("crafted")).unwrap();
    // A valid frame and checksum around a payload whose every size is a lie.
    let mut payload = vec![0xff_u8; 123 - 52];
    payload[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut file = b"ARMSIMST".to_vec();
    file.extend_from_slice(&2u32.to_le_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&payload);
    file.extend_from_slice(&sha2::Sha256::digest(&payload));
    assert_eq!(file.len(), 123);
    std::fs::write(tmp.path().join("crafted/state.armsim"), &file).unwrap();
    // Under a 1 GB address-space limit, an attempt to allocate gigabytes
    // would abort the process instead of ending in an error.
    let bin = env!("CARGO_BIN_EXE_armsim");
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -v 1000000 && exec {bin} merge crafted --out m"),
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not a usable armsim state file"),
        "{stderr}"
    );
    assert!(!stderr.contains("memory allocation"), "{stderr}");
}

#[test]
fn a_merged_study_reports_its_shards_threads_and_wall_time() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..3 {
        shard(tmp.path(), i, 3);
    }
    let shard_manifests: Vec<serde_json::Value> = (0..3)
        .map(|i| manifest(&tmp.path().join(format!("s{i}"))))
        .collect();
    for m in &shard_manifests {
        assert_eq!(m["written_by"], "armsim");
        assert_eq!(m["threads"], 1);
    }
    let out = ok(armsim(
        tmp.path(),
        &["merge", "s0", "s1", "s2", "--out", "merged", "--no-plots"],
    ));
    let (stdout, _) = text(&out);
    assert!(stdout.contains("merged 3 shards (400 runs)"), "{stdout}");
    assert!(stdout.contains("3 threads in all"), "{stdout}");
    assert!(!stdout.contains("1 thread)"), "{stdout}");
    let m = manifest(&tmp.path().join("merged"));
    assert_eq!(m["threads"], 3);
    let shards = m["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    let mut total = 0.0;
    for (record, own) in shards.iter().zip(&shard_manifests) {
        assert_eq!(record["threads"], 1);
        assert_eq!(record["runs"], own["run_range"]);
        assert_eq!(record["elapsed_seconds"], own["elapsed_seconds"]);
        total += own["elapsed_seconds"].as_f64().unwrap();
    }
    assert!(total > 0.0);
    assert!((m["elapsed_seconds"].as_f64().unwrap() - total).abs() < 1e-9);
}

#[test]
fn merge_says_when_a_directory_is_not_a_shard() {
    let tmp = tempfile::tempdir().unwrap();
    ok(armsim(
        tmp.path(),
        &["run", "--runs", "20", "--no-plots", "--out", "study"],
    ));
    let out = armsim(tmp.path(), &["merge", "study"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("study is not a shard directory: it has no state.armsim"),
        "{stderr}"
    );
}
