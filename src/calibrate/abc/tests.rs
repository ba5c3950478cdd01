//! Tests of ABC against models with a known posterior, and of its
//! reproducibility, resumption and stopping rules.

use std::convert::Infallible;
use std::sync::atomic::AtomicBool;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::*;
use crate::calibrate::population::{CHECKSUM, HEADER};
use crate::calibrate::prior::Prior;
use crate::state::FrameError;

/// Observations per simulated data set.
const K: usize = 10;
/// The observed mean.
const OBSERVED: f64 = 1.3;

/// Standard deviation of the mean of K unit-variance normals: 1/sqrt(10).
fn s() -> f64 {
    (1.0 / K as f64).sqrt()
}

fn model_rng(stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    rng.set_stream(stream);
    rng
}

/// The mean of K draws from N(theta, 1): a sufficient statistic.
fn mean_of_normals(theta: &[f64], stream: u64) -> Result<Vec<f64>, Infallible> {
    let mut rng = model_rng(stream);
    let sum: f64 = (0..K)
        .map(|_| theta[0] + rng.sample::<f64, _>(StandardNormal))
        .sum();
    Ok(vec![sum / K as f64])
}

type ModelFn = fn(&[f64], u64) -> Result<Vec<f64>, Infallible>;

fn gaussian_problem() -> Problem<ModelFn> {
    // Uniform(-10, 10) is flat over the posterior's support (1.3 +- 2), so
    // the posterior is N(1.3, 1/10) up to a truncation of order e^-600.
    let params = vec![PriorParam::new(
        "theta",
        Prior::uniform(-10.0, 10.0).unwrap(),
    )];
    Problem::new(
        params,
        vec![OBSERVED],
        vec![1.0],
        mean_of_normals as ModelFn,
    )
    .unwrap()
}

/// The exact ABC posterior sd at tolerance `eps` under a flat prior: the
/// accepted theta is the observation plus a Uniform(-eps, eps) offset plus
/// N(0, s^2) noise, so its variance is s^2 + eps^2 / 3.
fn abc_sd(eps: f64) -> f64 {
    (s() * s() + eps * eps / 3.0).sqrt()
}

/// Checks a 1-D population against the analytic ABC posterior, with
/// tolerances of 4 standard errors at the population's effective size: the
/// mean's standard error is sd / sqrt(ESS), the sd's relative standard
/// error about 1 / sqrt(2 ESS).
fn assert_matches_gaussian_posterior(p: &Population) {
    let post = p.posterior();
    let ess = post.ess;
    let sd = abc_sd(p.epsilon());
    assert!(
        (post.mean[0] - OBSERVED).abs() < 4.0 * sd / ess.sqrt(),
        "mean {} vs {OBSERVED} (ess {ess})",
        post.mean[0]
    );
    assert!(
        (post.sd[0] / sd - 1.0).abs() < 4.0 / (2.0 * ess).sqrt(),
        "sd {} vs {sd} (eps {}, ess {ess})",
        post.sd[0],
        p.epsilon()
    );
    // The 90% interval covers the analytic posterior mean.
    assert!(post.q05[0] < OBSERVED && OBSERVED < post.q95[0]);
    assert!(p.distances().iter().all(|d| *d <= p.epsilon()));
}

const BUDGET: u64 = 20_000;

fn smc_config() -> SmcConfig {
    let mut c = SmcConfig::new(2024, 500);
    c.initial_draws = 1000;
    c.max_generations = 50;
    c.max_simulations = BUDGET;
    c
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

#[test]
fn rejection_recovers_the_gaussian_posterior() {
    let problem = gaussian_problem();
    let config = RejectionConfig {
        seed: 7,
        draws: BUDGET,
        keep: Keep::Best(500),
        batch: 1000,
    };
    let p = Rejection::new(&problem, config).run().unwrap();
    assert_eq!((p.len(), p.simulations(), p.generation()), (500, BUDGET, 0));
    // 500 of 20000 draws from a prior 20 wide: the tolerance is about
    // 500 / 20000 * 20 / 2 = 0.25.
    assert!((0.15..0.35).contains(&p.epsilon()), "{}", p.epsilon());
    assert!((p.ess() - 500.0).abs() < 1e-9);
    assert_matches_gaussian_posterior(&p);
    // Keeping every draw within that tolerance keeps the same draws (in
    // candidate order rather than by distance).
    let within = RejectionConfig {
        keep: Keep::Within(p.epsilon()),
        ..config
    };
    let q = Rejection::new(&problem, within).run().unwrap();
    assert_eq!(sorted(q.particles()), sorted(p.particles()));
    assert_eq!(q.epsilon(), p.epsilon());
    // The batch size does not change which draws are kept.
    let small_batches = RejectionConfig {
        batch: 37,
        ..config
    };
    let r = Rejection::new(&problem, small_batches).run().unwrap();
    assert_eq!(r.particles(), p.particles());
}

#[test]
fn smc_recovers_the_gaussian_posterior_and_beats_rejection_at_the_same_budget() {
    let problem = gaussian_problem();
    let outcome = Smc::new(&problem, smc_config()).run().unwrap();
    let p = &outcome.population;
    assert_eq!(outcome.stop, Stop::SimulationBudget);
    assert_eq!(outcome.total_simulations, BUDGET);
    assert!(p.generation() >= 3, "{:?}", p.history());
    // Tolerances fall generation by generation.
    let eps: Vec<f64> = p.history().iter().map(|h| h.epsilon).collect();
    assert!(eps.windows(2).all(|w| w[1] < w[0]), "{eps:?}");
    assert_eq!(p.history().len(), p.generation() as usize + 1);
    assert_eq!(p.particle(3), Some(&p.particles()[3..4]));
    assert_eq!(p.statistics(3).map(<[f64]>::len), Some(1));
    assert_eq!((p.particle(500), p.statistics(500)), (None, None));
    let sims: u64 = p.history().iter().map(|h| h.simulations).sum();
    assert_eq!(sims, p.total_simulations());
    assert!(p.ess() > 100.0, "{}", p.ess());
    assert!((p.weights().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_matches_gaussian_posterior(p);
    // At a small tolerance the ABC posterior is the true one: N(1.3, 0.316).
    assert!(abc_sd(p.epsilon()) / s() < 1.02, "{}", p.epsilon());

    let rejection = Rejection::new(
        &problem,
        RejectionConfig {
            seed: 7,
            draws: BUDGET,
            keep: Keep::Best(500),
            batch: 1000,
        },
    )
    .run()
    .unwrap();
    assert!(
        p.epsilon() < 0.5 * rejection.epsilon(),
        "smc {} vs rejection {}",
        p.epsilon(),
        rejection.epsilon()
    );
}

#[test]
fn smc_recovers_a_known_posterior_correlation() {
    // y1 ~ mean of K N(a, 1), y2 ~ mean of K N(a + b, 1), observed (0.5, 1.5),
    // flat priors. The posterior (exact or ABC, the tolerance ball being a
    // disk in (y1, y2)) is a = y1 - e1, b = y2 - y1 - e2 + e1 with e1, e2
    // i.i.d.: var a = v, var b = 2 v, cov = -v, so corr(a, b) = -1/sqrt(2)
    // whatever the tolerance; E[a] = 0.5, E[b] = 1.0.
    let model = |theta: &[f64], stream: u64| -> Result<Vec<f64>, Infallible> {
        let mut rng = model_rng(stream);
        let mut mean = |mu: f64| {
            (0..K)
                .map(|_| mu + rng.sample::<f64, _>(StandardNormal))
                .sum::<f64>()
                / K as f64
        };
        let y1 = mean(theta[0]);
        let y2 = mean(theta[0] + theta[1]);
        Ok(vec![y1, y2])
    };
    let params = vec![
        PriorParam::new("a", Prior::uniform(-8.0, 8.0).unwrap()),
        PriorParam::new("b", Prior::uniform(-8.0, 8.0).unwrap()),
    ];
    let problem = Problem::new(params, vec![0.5, 1.5], vec![1.0, 1.0], model).unwrap();
    let mut config = SmcConfig::new(5, 400);
    config.max_simulations = 30_000;
    config.max_generations = 50;
    let outcome = Smc::new(&problem, config).run().unwrap();
    let post = outcome.population.posterior();
    // Standard errors at ESS >= 300: a correlation's is about
    // (1 - rho^2) / sqrt(ESS) < 0.03, so 0.1 is over 3 of them; a mean's is
    // sd / sqrt(ESS); a ratio of sds' about 7%, so 0.3 is 3 of them.
    assert!(post.ess > 300.0, "{}", post.ess);
    assert!(
        (post.correlation[0][1] + 0.5f64.sqrt()).abs() < 0.1,
        "{:?}",
        post.correlation
    );
    assert!((post.mean[0] - 0.5).abs() < 4.0 * post.sd[0] / post.ess.sqrt());
    assert!((post.mean[1] - 1.0).abs() < 4.0 * post.sd[1] / post.ess.sqrt());
    // sd(b) / sd(a) = sqrt(2).
    assert!((post.sd[1] / post.sd[0] - 2f64.sqrt()).abs() < 0.3);
    assert_eq!(post.names, ["a", "b"]);
}

fn run_in_pool(threads: usize, problem: &Problem<ModelFn>, config: SmcConfig) -> SmcOutcome {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| Smc::new(problem, config).run().unwrap())
}

fn small_config() -> SmcConfig {
    let mut c = SmcConfig::new(77, 200);
    c.initial_draws = 400;
    c.batch = 64;
    c.max_generations = 5;
    c
}

#[test]
fn results_are_the_same_bits_whatever_the_thread_count() {
    let problem = gaussian_problem();
    let one = run_in_pool(1, &problem, small_config());
    let four = run_in_pool(4, &problem, small_config());
    assert_eq!(one.population.encode(), four.population.encode());
    assert_eq!(one, four);
    assert_eq!(one.stop, Stop::MaxGenerations);
    assert_eq!(one.population.generation(), 4);
    // And the seed matters: another seed gives another population.
    let mut other = small_config();
    other.seed += 1;
    let different = run_in_pool(2, &problem, other);
    assert_ne!(different.population.particles(), one.population.particles());
}

#[test]
fn smc_generation_zero_is_rejection_of_the_initial_draws() {
    let problem = gaussian_problem();
    let mut config = small_config();
    config.max_generations = 1;
    let smc = Smc::new(&problem, config).run().unwrap();
    assert_eq!(smc.stop, Stop::MaxGenerations);
    let rejection = Rejection::new(
        &problem,
        RejectionConfig {
            seed: config.seed,
            draws: config.initial_draws,
            keep: Keep::Best(config.population),
            batch: config.batch,
        },
    )
    .run()
    .unwrap();
    assert_eq!(smc.population.particles(), rejection.particles());
    assert_eq!(smc.population.epsilon(), rejection.epsilon());
}

#[test]
fn resuming_from_any_generation_gives_the_uninterrupted_run() {
    let problem = gaussian_problem();
    let mut saved: Vec<Vec<u8>> = Vec::new();
    let mut keep = |p: &Population| -> std::io::Result<()> {
        saved.push(p.encode());
        Ok(())
    };
    let whole = Smc::new(&problem, small_config())
        .checkpoint(&mut keep)
        .run()
        .unwrap();
    assert_eq!(saved.len(), 5);
    for (g, bytes) in saved.iter().enumerate() {
        let state = Population::decode(bytes).unwrap();
        assert_eq!(state.generation() as usize, g);
        let resumed = Smc::new(&problem, small_config())
            .resume(state)
            .run()
            .unwrap();
        assert_eq!(
            resumed.population.encode(),
            whole.population.encode(),
            "from {g}"
        );
        assert_eq!(resumed, whole);
    }
    // Stopping rules may change on resume: two more generations.
    let mut longer = small_config();
    longer.max_generations = 7;
    let extended = Smc::new(&problem, longer)
        .resume(whole.population.clone())
        .run()
        .unwrap();
    assert_eq!(extended.population.generation(), 6);
    let straight = Smc::new(&problem, longer).run().unwrap();
    assert_eq!(extended, straight);
    // Settings that shape the populations may not.
    let mut other = small_config();
    other.alpha = 0.3;
    let state = Population::decode(&saved[2]).unwrap();
    assert!(matches!(
        Smc::new(&problem, other).resume(state).run(),
        Err(AbcError::ResumeMismatch { .. })
    ));
}

#[test]
fn a_cancelled_run_resumes_to_the_same_result() {
    let problem = gaussian_problem();
    let flag = AtomicBool::new(false);
    let mut last: Option<Population> = None;
    let mut keep = |p: &Population| -> std::io::Result<()> {
        last = Some(p.clone());
        Ok(())
    };
    // Cancel in the middle of generation 3.
    let mut watch = |p: &SmcProgress| {
        if p.generation == 3 {
            flag.store(true, Ordering::Relaxed);
        }
    };
    let interrupted = Smc::new(&problem, small_config())
        .checkpoint(&mut keep)
        .progress(&mut watch)
        .cancel(&flag)
        .run()
        .unwrap();
    assert_eq!(interrupted.stop, Stop::Cancelled);
    assert_eq!(interrupted.population.generation(), 2);
    // The discarded part of generation 3 still counts as work done.
    assert!(interrupted.total_simulations > interrupted.population.total_simulations());
    let checkpoint = last.unwrap();
    assert_eq!(checkpoint, interrupted.population);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen2.abc");
    checkpoint.save(&path).unwrap();
    let resumed = Smc::new(&problem, small_config())
        .resume(Population::load(&path).unwrap())
        .run()
        .unwrap();
    let whole = Smc::new(&problem, small_config()).run().unwrap();
    assert_eq!(resumed, whole);
    // Cancelled before generation 0 is complete: nothing to return.
    let stop_now = AtomicBool::new(true);
    assert!(matches!(
        Smc::new(&problem, small_config()).cancel(&stop_now).run(),
        Err(AbcError::Cancelled)
    ));
}

#[test]
fn corrupt_populations_are_refused() {
    let problem = gaussian_problem();
    let bytes = Smc::new(&problem, small_config())
        .run()
        .unwrap()
        .population
        .encode();
    assert!(Population::decode(&bytes).is_ok());
    // Any flipped byte after the header is caught by the checksum.
    for at in [
        HEADER,
        HEADER + 40,
        bytes.len() / 2,
        bytes.len() - 40,
        bytes.len() - 1,
    ] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        assert_eq!(
            Population::decode(&bad),
            Err(DecodeError::Frame(FrameError::Checksum)),
            "byte {at}"
        );
    }
    for cut in [0, 7, 12, 19, 20, 100, bytes.len() - 1] {
        assert!(Population::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Population::decode(&longer),
        Err(DecodeError::Frame(FrameError::Length { .. }))
    ));
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert_eq!(
        Population::decode(&magic),
        Err(DecodeError::Frame(FrameError::Magic))
    );
    let mut version = bytes.clone();
    version[8] = 9;
    assert_eq!(
        Population::decode(&version),
        Err(DecodeError::Frame(FrameError::Version {
            found: 9,
            expected: 2
        }))
    );
    // A huge declared count behind a valid checksum (a forged or buggy
    // file) is refused before anything is allocated: here the particle
    // count, after the fingerprint, generation, epsilon, the one name and
    // the statistics count.
    let count_at = 32 + 4 + 8 + 8 + 8 + "theta".len() + 8;
    let mut payload = bytes[HEADER..bytes.len() - CHECKSUM].to_vec();
    assert_eq!(payload[count_at..count_at + 8], 200u64.to_le_bytes());
    payload[count_at..count_at + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert_eq!(
        Population::decode(&Population::frame(&payload)),
        Err(DecodeError::Malformed {
            what: "a declared size exceeds the contents"
        })
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.abc");
    std::fs::write(&path, &magic).unwrap();
    assert!(matches!(
        Population::load(&path),
        Err(PopulationFileError::Decode {
            source: DecodeError::Frame(FrameError::Magic),
            ..
        })
    ));
}

#[test]
fn stopping_rules() {
    let problem = gaussian_problem();
    // Target tolerance: stops at the first population at or below it.
    let mut c = small_config();
    c.max_generations = 50;
    c.target_epsilon = 0.05;
    let out = Smc::new(&problem, c).run().unwrap();
    assert_eq!(out.stop, Stop::TargetEpsilon);
    assert!(out.population.epsilon() <= 0.05);
    let before = &out.population.history()[out.population.history().len() - 2];
    assert!(before.epsilon > 0.05);
    // Minimum acceptance rate: a generation may use at most 200 / 0.3 = 667
    // simulations; rates fall as the tolerance shrinks, so one fails.
    let mut c = small_config();
    c.max_generations = 50;
    c.min_acceptance_rate = 0.3;
    let out = Smc::new(&problem, c).run().unwrap();
    assert_eq!(out.stop, Stop::MinAcceptanceRate);
    assert!(
        out.population
            .history()
            .iter()
            .skip(1)
            .all(|h| h.simulations <= 667)
    );
    assert_eq!(
        out.total_simulations - out.population.total_simulations(),
        667
    );
    // The budget is never exceeded.
    let mut c = small_config();
    c.max_generations = 50;
    c.max_simulations = 3000;
    let out = Smc::new(&problem, c).run().unwrap();
    assert_eq!(
        (out.stop, out.total_simulations),
        (Stop::SimulationBudget, 3000)
    );
    // A model whose statistic is constant stalls: every distance is equal.
    let constant = |_: &[f64], _: u64| -> Result<Vec<f64>, Infallible> { Ok(vec![2.0]) };
    let params = vec![PriorParam::new("theta", Prior::uniform(0.0, 1.0).unwrap())];
    let flat = Problem::new(params, vec![1.0], vec![1.0], constant).unwrap();
    let out = Smc::new(&flat, small_config()).run().unwrap();
    assert_eq!((out.stop, out.population.generation()), (Stop::Stalled, 0));
}

#[derive(Debug, thiserror::Error)]
#[error("the model broke at {0}")]
struct Broken(f64);

#[test]
fn model_failures_are_reported_for_the_first_failing_candidate() {
    let params = vec![PriorParam::new("theta", Prior::uniform(0.0, 1.0).unwrap())];
    // Fails for theta above 0.9: the first such candidate in index order is
    // reported, whatever the thread count.
    let failing = |theta: &[f64], _: u64| -> Result<Vec<f64>, Broken> {
        if theta[0] > 0.9 {
            Err(Broken(theta[0]))
        } else {
            Ok(vec![theta[0]])
        }
    };
    let problem = Problem::new(params.clone(), vec![0.5], vec![1.0], failing).unwrap();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Smc::new(&problem, small_config()).run())
    };
    let (a, b) = (run(1).unwrap_err(), run(3).unwrap_err());
    assert_eq!(a.to_string(), b.to_string());
    assert!(matches!(a, AbcError::Simulation { generation: 0, .. }));
    let wrong_length = |_: &[f64], _: u64| -> Result<Vec<f64>, Infallible> { Ok(vec![1.0, 2.0]) };
    let problem = Problem::new(params.clone(), vec![0.5], vec![1.0], wrong_length).unwrap();
    assert!(matches!(
        Smc::new(&problem, small_config()).run(),
        Err(AbcError::StatisticsLength {
            generation: 0,
            candidate: 0,
            expected: 1,
            found: 2
        })
    ));
    // Non-finite statistics are never accepted.
    let nan = |_: &[f64], _: u64| -> Result<Vec<f64>, Infallible> { Ok(vec![f64::NAN]) };
    let problem = Problem::new(params, vec![0.5], vec![1.0], nan).unwrap();
    assert!(matches!(
        Smc::new(&problem, small_config()).run(),
        Err(AbcError::TooFewFinite {
            needed: 200,
            found: 0
        })
    ));
}

#[test]
fn problems_and_settings_are_validated() {
    let prior = Prior::uniform(0.0, 1.0).unwrap();
    let model = mean_of_normals as ModelFn;
    let p = |name: &str| PriorParam::new(name, prior);
    assert!(matches!(
        Problem::new(vec![], vec![1.0], vec![1.0], model),
        Err(AbcError::ParameterCount { count: 0 })
    ));
    assert!(matches!(
        Problem::new(vec![p("a"), p("a")], vec![1.0], vec![1.0], model),
        Err(AbcError::DuplicateParameter { .. })
    ));
    assert!(matches!(
        Problem::new(vec![p("")], vec![1.0], vec![1.0], model),
        Err(AbcError::EmptyName { index: 0 })
    ));
    assert!(matches!(
        Problem::new(vec![p("a")], vec![1.0, 2.0], vec![1.0], model),
        Err(AbcError::ScalesLength { .. })
    ));
    assert!(matches!(
        Problem::new(vec![p("a")], vec![f64::NAN], vec![1.0], model),
        Err(AbcError::BadObserved { index: 0, .. })
    ));
    assert!(matches!(
        Problem::new(vec![p("a")], vec![1.0], vec![0.0], model),
        Err(AbcError::BadScale { index: 0, .. })
    ));
    let problem = Problem::new(vec![p("a")], vec![1.0], vec![2.0], model).unwrap();
    // (3 - 1) / 2 = 1; non-finite is infinitely far.
    assert_eq!(problem.distance(&[3.0]), 1.0);
    assert_eq!(problem.distance(&[f64::INFINITY]), f64::INFINITY);
    for broken in [
        SmcConfig {
            population: 1,
            ..small_config()
        },
        SmcConfig {
            initial_draws: 10,
            ..small_config()
        },
        SmcConfig {
            alpha: 1.0,
            ..small_config()
        },
        SmcConfig {
            batch: 0,
            ..small_config()
        },
        SmcConfig {
            max_generations: 0,
            ..small_config()
        },
        SmcConfig {
            min_acceptance_rate: 1.5,
            ..small_config()
        },
        SmcConfig {
            max_simulations: 100,
            ..small_config()
        },
        SmcConfig {
            target_epsilon: f64::NAN,
            ..small_config()
        },
    ] {
        assert!(
            matches!(
                Smc::new(&problem, broken).run(),
                Err(AbcError::InvalidConfig { .. })
            ),
            "{broken:?}"
        );
    }
    let rejection = |keep, draws| {
        Rejection::new(
            &problem,
            RejectionConfig {
                seed: 1,
                draws,
                keep,
                batch: 10,
            },
        )
        .run()
    };
    assert!(matches!(
        rejection(Keep::Best(20), 10),
        Err(AbcError::InvalidConfig { .. })
    ));
    assert!(matches!(
        rejection(Keep::Within(-1.0), 10),
        Err(AbcError::InvalidConfig { .. })
    ));
    assert!(matches!(
        rejection(Keep::Within(0.0), 10),
        Err(AbcError::NothingAccepted { .. })
    ));
}

#[test]
fn mad_scales_are_median_absolute_deviations() {
    // Column 1: 1, 2, 3, 4, 100: median 3, deviations 2, 1, 0, 1, 97, MAD 1.
    // Column 2: 10, 10, 20, 30, 30: median 20, deviations 10, 10, 0, 10, 10.
    let samples = vec![
        vec![1.0, 10.0],
        vec![2.0, 10.0],
        vec![3.0, 20.0],
        vec![4.0, 30.0],
        vec![100.0, 30.0],
    ];
    assert_eq!(mad_scales(&samples).unwrap(), [1.0, 10.0]);
    assert!(matches!(
        mad_scales(&[vec![1.0], vec![1.0]]),
        Err(AbcError::BadScale { index: 0, .. })
    ));
    assert!(mad_scales(&[]).is_err());
}

#[test]
fn stream_indices_separate_generations() {
    assert_eq!(stream_index(0, 5), 5);
    assert_eq!(stream_index(3, 7), 3 * (1 << 40) + 7);
}
