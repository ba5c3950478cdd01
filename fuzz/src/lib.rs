//! What each fuzz target checks, as plain functions of the input bytes. The
//! targets in `fuzz_targets/` call them on libFuzzer's inputs; `cargo test`
//! calls them on generated inputs (`tests/integration/fuzzing.rs`), so the
//! checks also run where there is no nightly compiler for cargo-fuzz. Each
//! returns normally for an input handled correctly (accepted, or refused
//! with an error) and panics on a fault.

use std::sync::OnceLock;

use armsim::calibrate::abc::{Population, Problem, Smc, SmcConfig};
use armsim::calibrate::prior::{Prior, PriorParam};
use armsim::engine::{QuarterView, Simulator, run_rng};
use armsim::experiment::comparing::ComparisonState;
use armsim::experiment::outcome::Outcome;
use armsim::scenario::{Loaded, load_baseline};
use armsim::state::StudyState;
use armsim::summary::Summary;

/// Any text as a scenario file: the loader returns a scenario or located
/// diagnostics, and a scenario it accepts runs a few quarters without
/// panicking, hanging or producing non-finite outputs.
pub fn scenario_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) =
        armsim::scenario::load_str(text, "fuzz", "fuzz.toml", &["run.quarters=8".into()])
    else {
        return;
    };
    Simulator::new(&loaded.scenario).run(&mut run_rng(1, 0), &mut |v: &QuarterView<'_>| {
        assert!(v.budget.is_finite() && v.orders.iter().all(|x| x.is_finite()));
    });
}

/// Any `--set PATH=VALUE` arguments (a line each, up to 8) on the built-in
/// baseline: an error that names the argument, or a valid scenario.
pub fn set_override(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = text.lines().take(8).map(String::from).collect();
    let _ = armsim::scenario::load_baseline(&args);
}

/// Any bytes as an encoded summary (the payload of checkpoints and shard
/// states): a summary that is internally consistent and survives encoding
/// and decoding unchanged, or an error. Never a panic, and never an
/// allocation out of proportion to the input (the decoder checks that the
/// input holds every cell before it allocates the histogram).
pub fn summary_bytes(data: &[u8]) {
    if let Ok(summary) = Summary::decode(&mut &data[..]) {
        summary
            .check_consistency()
            .expect("decode checks consistency");
        let mut again = Vec::new();
        summary.encode(&mut again);
        let back = Summary::decode(&mut &again[..]).expect("an encoded summary decodes");
        // Compared as bytes: a float field may be NaN, which is not equal
        // to itself.
        let mut third = Vec::new();
        back.encode(&mut third);
        assert_eq!(third, again, "encode then decode");
    }
}

/// Any bytes as a state file's payload, framed with a valid checksum, so
/// that the fuzzer reaches the payload's decoder (a fuzzer cannot forge a
/// SHA-256 checksum, so raw bytes would only ever test the header): a
/// state whose sizes, scenario and counts all check out, or an error.
pub fn state_bytes(data: &[u8]) {
    state_file(&StudyState::frame(data));
}

/// Any bytes as a whole state file (header and checksum included).
pub fn state_file(data: &[u8]) {
    if let Ok(state) = StudyState::decode(data) {
        assert!(state.range.start <= state.done && state.done <= state.range.end);
        assert!(state.range.end <= state.total_runs);
        assert_eq!(state.summary.runs(), state.done - state.range.start);
        let bytes = state.encode();
        let back = StudyState::decode(&bytes).expect("an encoded state decodes");
        assert_eq!(back.encode(), bytes, "encode then decode");
    }
}

/// The comparison whose checkpoints the comparison targets decode: the
/// built-in baseline (40 pairs of 8 quarters) against Russia's support at 0.
pub struct Comparison {
    /// Scenario A, whose shape the checkpoint's summaries must have.
    pub a: Loaded,
    /// Its default outcomes.
    pub outcomes: Vec<Outcome>,
    /// The comparison's identity.
    pub identity: String,
}

/// The one [`Comparison`] (made once: a fuzzer calls the check millions of
/// times).
pub fn comparison() -> &'static Comparison {
    static COMPARISON: OnceLock<Comparison> = OnceLock::new();
    COMPARISON.get_or_init(|| {
        let small = ["run.runs=40".to_string(), "run.quarters=8".to_string()];
        let a = load_baseline(&small).expect("the baseline loads");
        let b =
            load_baseline(&[small.to_vec(), vec!["suppliers.Russia.support=0".into()]].concat())
                .expect("the baseline loads");
        let outcomes = Outcome::defaults(&a.scenario);
        let identity = ComparisonState::identity(&a, &b, &outcomes);
        Comparison {
            a,
            outcomes,
            identity,
        }
    })
}

/// Any bytes as a comparison checkpoint's payload, framed with a valid
/// checksum (as [`state_bytes`] does for a study's): a checkpoint whose
/// identity, shapes and counts check out, or an error.
pub fn comparison_state_bytes(data: &[u8]) {
    comparison_state_file(&ComparisonState::frame(data));
}

/// Any bytes as a whole comparison checkpoint.
pub fn comparison_state_file(data: &[u8]) {
    let c = comparison();
    if let Ok(Some(state)) = ComparisonState::decode(data, &c.identity, &c.a, &c.outcomes) {
        let runs = state.paired.runs;
        assert!(runs <= c.a.scenario.runs());
        for summary in [&state.paired.a, &state.paired.b, &state.paired.difference] {
            assert_eq!(summary.runs(), runs);
        }
        let bytes = state.encode();
        let back = ComparisonState::decode(&bytes, &c.identity, &c.a, &c.outcomes)
            .expect("an encoded checkpoint decodes")
            .expect("of the same comparison");
        assert_eq!(back.encode(), bytes, "encode then decode");
    }
}

/// A small, valid ABC population (made once): two generations of ABC-SMC
/// on a one-parameter model, the kind of file a calibration checkpoints and
/// an evaluation's folds keep.
pub fn population() -> &'static Population {
    static POPULATION: OnceLock<Population> = OnceLock::new();
    POPULATION.get_or_init(|| {
        let model = |theta: &[f64], stream: u64| -> Result<Vec<f64>, std::convert::Infallible> {
            Ok(vec![theta[0] + (stream % 17) as f64 / 8.0 - 1.0])
        };
        let prior = Prior::uniform(-5.0, 5.0).expect("a valid prior");
        let params = vec![PriorParam::new("theta", prior)];
        let problem = Problem::new(params, vec![0.5], vec![1.0], model).expect("a valid problem");
        let mut config = SmcConfig::new(7, 20);
        config.initial_draws = 60;
        config.batch = 16;
        config.max_generations = 2;
        Smc::new(&problem, config)
            .run()
            .expect("ABC runs")
            .population
    })
}

/// Any bytes as an ABC population's payload, framed with a valid checksum
/// (as [`state_bytes`] does for a study's): a population whose sizes,
/// weights, distances and history check out, or an error.
pub fn population_bytes(data: &[u8]) {
    population_file(&Population::frame(data));
}

/// Any bytes as a whole population file. A population that decodes is
/// consistent, summarises without a fault and survives encoding unchanged.
pub fn population_file(data: &[u8]) {
    if let Ok(p) = Population::decode(data) {
        assert_eq!(p.particles().len(), p.len() * p.dim());
        assert_eq!(p.weights().len(), p.len());
        let total: f64 = p.weights().iter().sum();
        assert!((total - 1.0).abs() <= 1e-9, "weights sum to {total}");
        assert!(p.distances().iter().all(|d| *d <= p.epsilon()));
        assert_eq!(
            p.history().last().map(|h| h.generation),
            Some(p.generation())
        );
        let _ = p.posterior();
        let _ = p.ess();
        let bytes = p.encode();
        let back = Population::decode(&bytes).expect("an encoded population decodes");
        assert_eq!(back.encode(), bytes, "encode then decode");
    }
}
