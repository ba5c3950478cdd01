//! The fuzz targets' checks (`fuzz/src/lib.rs`, shared with the cargo-fuzz
//! targets) run on generated inputs, so they hold without a nightly
//! compiler: random bytes, and valid encodings with bytes changed, cut or
//! added, which reach far deeper into the decoders than random bytes do.
//! The state-file checks fuzz the payload behind a valid checksum. Also the
//! decoders' regressions found by fuzzing: a 33-byte summary that made the
//! decoder reserve gigabytes, and a forged sum of squares read as sd 0.

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::time::{Duration, Instant};

use armsim::scenario::load_str;
use armsim::state::StudyState;
use armsim::study::Study;
use armsim::summary::{Summary, SummaryError};
use proptest::prelude::*;

/// A small but real study state: the v2 fixture, 40 runs of 8 quarters.
fn state() -> StudyState {
    let text =
        std::fs::read_to_string(super::root().join("tests/fixtures/minimal_v2.toml")).unwrap();
    let loaded = load_str(&text, "fuzz", "fuzz.toml", &["run.runs=40".into()]).unwrap();
    let summary = Study::new(&loaded.scenario)
        .threads(1)
        .run()
        .unwrap()
        .summary;
    StudyState::new(&loaded, 0..40, 40, 0.5, 1, summary)
}

/// A state file's payload: what lies between the 20-byte header and the
/// 32-byte checksum.
fn payload(file: &[u8]) -> Vec<u8> {
    file[20..file.len() - 32].to_vec()
}

fn encoded_summary() -> Vec<u8> {
    let mut out = Vec::new();
    state().summary.encode(&mut out);
    out
}

/// Edits to a valid encoding: bytes overwritten, then cut or extended.
#[derive(Debug, Clone)]
struct Mutation {
    writes: Vec<(usize, u8)>,
    cut: Option<usize>,
    extra: Vec<u8>,
}

impl Mutation {
    fn apply(&self, valid: &[u8]) -> Vec<u8> {
        let mut bytes = valid.to_vec();
        for &(at, byte) in &self.writes {
            let n = bytes.len();
            bytes[at % n] = byte;
        }
        if let Some(cut) = self.cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        bytes.extend_from_slice(&self.extra);
        bytes
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::weighted(0.2, any::<usize>()),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(writes, cut, extra)| Mutation { writes, cut, extra })
}

#[test]
fn the_state_target_reaches_the_payload_decoder() {
    // A valid payload framed by the target decodes: the checksum no longer
    // stops the fuzzer at the header, as it did when the target fed raw
    // bytes to `StudyState::decode`.
    let file = state().encode();
    let framed = StudyState::frame(&payload(&file));
    assert_eq!(framed, file);
    assert!(StudyState::decode(&framed).is_ok());
    checks::state_bytes(&payload(&file));
    checks::state_file(&file);
}

/// A valid comparison checkpoint's payload, of the fuzz checks' comparison.
fn comparison_payload() -> Vec<u8> {
    use armsim::experiment::compare::Comparison;
    use armsim::experiment::comparing::ComparisonState;
    let c = checks::comparison();
    let b = armsim::scenario::load_baseline(&[
        "run.runs=40".into(),
        "run.quarters=8".into(),
        "suppliers.Russia.support=0".into(),
    ])
    .unwrap();
    let paired = Comparison::new(&c.a.scenario, &b.scenario)
        .unwrap()
        .runs(0..25)
        .threads(1)
        .run()
        .unwrap()
        .paired;
    let state = ComparisonState {
        identity: c.identity.clone(),
        elapsed_seconds: 0.25,
        paired,
    };
    payload(&state.encode())
}

#[test]
fn the_comparison_state_target_reaches_the_payload_decoder() {
    use armsim::experiment::comparing::ComparisonState;
    let c = checks::comparison();
    let framed = ComparisonState::frame(&comparison_payload());
    let state = ComparisonState::decode(&framed, &c.identity, &c.a, &c.outcomes).unwrap();
    assert_eq!(state.map(|s| s.paired.runs), Some(25));
    checks::comparison_state_bytes(&comparison_payload());
}

/// A population file's payload (the frame is the state files').
fn population_payload() -> Vec<u8> {
    payload(&checks::population().encode())
}

#[test]
fn the_population_target_reaches_the_payload_decoder() {
    use armsim::calibrate::abc::Population;
    let decoded = Population::decode(&Population::frame(&population_payload())).unwrap();
    assert_eq!(decoded.len(), 20);
    assert_eq!(decoded.generation(), 1);
    checks::population_bytes(&population_payload());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn populations_with_changed_bytes_are_decoded_or_refused(m in mutation()) {
        checks::population_bytes(&m.apply(&population_payload()));
    }

    #[test]
    fn comparison_checkpoints_with_changed_bytes_are_decoded_or_refused(m in mutation()) {
        checks::comparison_state_bytes(&m.apply(&comparison_payload()));
    }

    #[test]
    fn state_payloads_with_changed_bytes_are_decoded_or_refused(m in mutation()) {
        let valid = payload(&state().encode());
        checks::state_bytes(&m.apply(&valid));
    }

    #[test]
    fn summaries_with_changed_bytes_are_decoded_or_refused(m in mutation()) {
        checks::summary_bytes(&m.apply(&encoded_summary()));
    }

    #[test]
    fn random_bytes_are_refused_by_every_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..200)
    ) {
        checks::state_bytes(&bytes);
        checks::state_file(&bytes);
        checks::summary_bytes(&bytes);
        checks::comparison_state_bytes(&bytes);
        checks::comparison_state_file(&bytes);
        checks::population_bytes(&bytes);
        checks::population_file(&bytes);
    }

    #[test]
    fn random_scenario_texts_and_overrides_never_panic(text in "[ -~\n]{0,300}") {
        checks::scenario_text(text.as_bytes());
        checks::set_override(text.as_bytes());
    }
}

/// Peak resident memory of this process, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_33_byte_summary_is_refused_before_anything_large_is_allocated() {
    // Found by the summary_bytes target: the largest shape a header may
    // declare (within the size limit of scenarios), no pairs, then one
    // byte. The decoder used to reserve the whole summary (4.6 GB) before
    // finding the input too short.
    let suppliers = armsim::model::MAX_SUPPLIERS;
    let quarters = (1..=armsim::model::MAX_QUARTERS as usize)
        .rev()
        .find(|&q| Summary::estimated_bytes(q, suppliers, 0) <= armsim::summary::MAX_SUMMARY_BYTES)
        .unwrap();
    let mut bytes = Vec::new();
    for x in [quarters as u64, suppliers as u64, 0, 0] {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.push(0);
    assert_eq!(bytes.len(), 33);
    let before = peak_rss();
    let started = Instant::now();
    let err = Summary::decode(&mut &bytes[..]).unwrap_err();
    assert!(matches!(err, SummaryError::Truncated), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        // Other tests share this process; a gigabyte is far above what
        // they use and far below what the old decoder took.
        assert!(
            after - before < 1 << 30,
            "peak memory rose by {} MB",
            (after - before) >> 20
        );
    }
    checks::summary_bytes(&bytes);
}

/// A fuzz target's check.
type Check = fn(&[u8]);

/// Executions per target in a fixed time, for docs/performance.md:
/// `cargo test --test integration fuzzing::soak -- --ignored --nocapture`.
#[test]
#[ignore = "a timed soak of every check; run by hand to record executions"]
fn soak() {
    use rand::{Rng, SeedableRng};
    let seconds: u64 = std::env::var("ARMSIM_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let file = state().encode();
    let valid_payload = payload(&file);
    let valid_summary = encoded_summary();
    let scenario = std::fs::read(super::root().join("tests/fixtures/minimal_v2.toml")).unwrap();
    let overrides = b"buyer.budget=50\nsuppliers.Alpha.support=0.5".to_vec();
    let valid_comparison = comparison_payload();
    let valid_population = population_payload();
    let targets: [(&str, &[u8], Check); 6] = [
        ("scenario_text", &scenario, checks::scenario_text),
        ("set_override", &overrides, checks::set_override),
        ("summary_bytes", &valid_summary, checks::summary_bytes),
        ("state_bytes", &valid_payload, checks::state_bytes),
        (
            "comparison_state_bytes",
            &valid_comparison,
            checks::comparison_state_bytes,
        ),
        (
            "population_bytes",
            &valid_population,
            checks::population_bytes,
        ),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    for (name, seed, check) in targets {
        let started = Instant::now();
        let mut executions = 0u64;
        while started.elapsed() < Duration::from_secs(seconds) {
            let mut input = seed.to_vec();
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..input.len());
                input[at] = rng.random();
            }
            if rng.random_bool(0.1) {
                input.truncate(rng.random_range(0..=input.len()));
            }
            check(&input);
            executions += 1;
        }
        println!("{name}: {executions} executions in {seconds} s, no fault");
    }
}
