//! History matching: a first wave that rules out implausible parameter
//! values and narrows the prior box before ABC.
//!
//! Following Vernon, Goldstein & Bower (2010, Bayesian Analysis 5, "Galaxy
//! formation: a Bayesian uncertainty analysis") and, for stochastic models,
//! Andrianakis et al. (2015, PLoS Comput. Biol. 11), a parameter point `x` is
//! implausible if the model's expected output is too far from the observation
//! given the uncertainties. With no emulator (the simulator is run directly),
//! the expected output is the mean of `R` replicate simulations and the model
//! variance their sample variance (the ensemble variability). For statistic
//! `k`:
//!
//! `I_k(x) = |o_k - mean_k(x)| / sqrt(var_obs_k + var_model_k(x))`,
//!
//! and `I(x) = max_k I_k(x)`; points with `I(x) > cutoff` (3, by Pukelsheim's
//! three-sigma rule, as Vernon et al.) are ruled out. [`history_match`]
//! evaluates a wave of prior draws; [`Wave::restrict`] shrinks each prior to
//! the box around the points kept, widened by a margin because a sample's
//! bounding box underestimates the region. The box is a simplification: the
//! non-implausible region need not be a box, and the priors that result are
//! the original families truncated to it. ABC-SMC then runs on the narrowed
//! problem.
//!
//! Points and streams are fixed by the seed and the wave number, so a wave is
//! the same bits whatever the thread count: point `i`'s parameters come from
//! a ChaCha8 generator keyed by the seed and wave (through SHA-256) on stream
//! `i`, and its replicate `r` simulates on model stream
//! [`stream_index`]`(MAX_GENERATIONS + wave, i * R + r)`, a range no ABC
//! generation uses.

use std::sync::atomic::{AtomicBool, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::abc::{
    AbcError, MAX_BATCH, MAX_GENERATIONS, MAX_SIMULATIONS, Model, Problem, stream_index,
};
use super::prior::PriorParam;
use crate::executor;

/// Settings of a history-matching wave. [`WaveConfig::new`] gives defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveConfig {
    /// Master seed of the points.
    pub seed: u64,
    /// Wave number (0 for the first): separates the streams of successive
    /// waves.
    pub wave: u32,
    /// Prior draws evaluated.
    pub points: u64,
    /// Replicate simulations per point (at least 2; default 5).
    pub replicates: u32,
    /// Implausibility above which a point is ruled out (default 3).
    pub cutoff: f64,
    /// Observation-error variance of each statistic (default 0).
    pub observation_variance: Vec<f64>,
    /// Each side of the kept box is moved out by this fraction of its width
    /// (default 0.1).
    pub margin: f64,
    /// Points per parallel batch (default 64); does not change the result.
    pub batch: u64,
}

impl WaveConfig {
    /// Defaults for `points` points of a problem with `statistics` statistics.
    pub fn new(seed: u64, points: u64, statistics: usize) -> WaveConfig {
        WaveConfig {
            seed,
            wave: 0,
            points,
            replicates: 5,
            cutoff: 3.0,
            observation_variance: vec![0.0; statistics],
            margin: 0.1,
            batch: 64,
        }
    }
}

/// The result of a wave.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave {
    /// Parameters per point.
    pub dim: usize,
    /// The points, row-major, in draw order.
    pub points: Vec<f64>,
    /// Each point's implausibility `I(x)` (infinite if a statistic was not
    /// finite).
    pub implausibility: Vec<f64>,
    /// Indices of the points with `I(x) <= cutoff`.
    pub kept: Vec<usize>,
    /// The margin to widen the kept box by.
    pub margin: f64,
    /// Simulations run (`points * replicates`).
    pub simulations: u64,
}

/// The implausibility of one point: `max_k |o_k - mean_k| / sqrt(var_obs_k +
/// var_k)` over the replicates' statistics (`replicates[r][k]`), with the
/// replicates' sample variance (divisor `R - 1`). A statistic with zero
/// variance on both sides counts 0 if matched exactly and infinity if not;
/// any non-finite value, fewer than two replicates, or a replicate or
/// variance list of the wrong length gives infinity (the point is ruled out).
pub fn implausibility(
    observed: &[f64],
    observation_variance: &[f64],
    replicates: &[Vec<f64>],
) -> f64 {
    let k_len = observed.len();
    if replicates.len() < 2
        || observation_variance.len() != k_len
        || replicates.iter().any(|s| s.len() != k_len)
    {
        return f64::INFINITY;
    }
    let r = replicates.len() as f64;
    let mut worst: f64 = 0.0;
    for (k, (&o, &v_obs)) in observed.iter().zip(observation_variance).enumerate() {
        let mean = replicates.iter().map(|s| s[k]).sum::<f64>() / r;
        let var = replicates
            .iter()
            .map(|s| (s[k] - mean) * (s[k] - mean))
            .sum::<f64>()
            / (r - 1.0);
        let gap = (o - mean).abs();
        let scale = (v_obs + var).sqrt();
        let i = if gap == 0.0 { 0.0 } else { gap / scale };
        if i.is_nan() {
            return f64::INFINITY;
        }
        worst = worst.max(i);
    }
    worst
}

impl Wave {
    /// The fraction of points kept.
    pub fn kept_fraction(&self) -> f64 {
        self.kept.len() as f64 / self.implausibility.len() as f64
    }

    /// The box around the kept points, each side moved out by `margin` times
    /// its width; `None` if no point was kept.
    pub fn bounds(&self) -> Option<Vec<(f64, f64)>> {
        if self.kept.is_empty() {
            return None;
        }
        Some(
            (0..self.dim)
                .map(|k| {
                    let values = self.kept.iter().map(|&i| self.points[i * self.dim + k]);
                    let lo = values.clone().fold(f64::INFINITY, f64::min);
                    let hi = values.fold(f64::NEG_INFINITY, f64::max);
                    let pad = self.margin * (hi - lo);
                    (lo - pad, hi + pad)
                })
                .collect(),
        )
    }

    /// `params` with each prior restricted to the kept box (see
    /// [`super::prior::Prior::restrict`]).
    ///
    /// # Errors
    /// [`AbcError::NothingAccepted`] if no point was kept;
    /// [`AbcError::Prior`] if a restriction is empty (a box of zero width,
    /// from a single kept point and no margin).
    pub fn restrict(&self, params: &[PriorParam]) -> Result<Vec<PriorParam>, AbcError> {
        let bounds = self
            .bounds()
            .ok_or(AbcError::NothingAccepted { epsilon: f64::NAN })?;
        params
            .iter()
            .zip(bounds)
            .map(|(p, (lo, hi))| {
                let prior = p.prior.restrict(lo, hi).map_err(|source| AbcError::Prior {
                    name: p.name.clone(),
                    source,
                })?;
                Ok(PriorParam::new(p.name.clone(), prior))
            })
            .collect()
    }
}

impl WaveConfig {
    /// Checks the settings against a problem of `statistics` statistics.
    ///
    /// # Errors
    /// [`AbcError::InvalidConfig`], naming the first setting out of range.
    fn check(&self, statistics: usize) -> Result<(), AbcError> {
        let invalid = |field, reason| Err(AbcError::InvalidConfig { field, reason });
        if self.points == 0
            || self.points.saturating_mul(u64::from(self.replicates)) > MAX_SIMULATIONS
        {
            return invalid("points", "points * replicates must be 1 to 2^40");
        }
        if self.replicates < 2 {
            return invalid("replicates", "at least 2 are needed for a variance");
        }
        if self.wave >= MAX_GENERATIONS {
            return invalid("wave", "must be below 2^23");
        }
        if self.cutoff.is_nan() || self.cutoff <= 0.0 {
            return invalid("cutoff", "must be positive");
        }
        if self.observation_variance.len() != statistics
            || self
                .observation_variance
                .iter()
                .any(|v| !(v.is_finite() && *v >= 0.0))
        {
            return invalid(
                "observation_variance",
                "needs one finite value >= 0 per statistic",
            );
        }
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return invalid("margin", "must be finite and >= 0");
        }
        if !(1..=MAX_BATCH).contains(&self.batch) {
            return invalid("batch", "must be 1 to 2^20");
        }
        Ok(())
    }
}

/// The statistics of `theta`'s replicate runs, candidates `candidates` of
/// the wave's `generation` (each on its own stream).
///
/// # Errors
/// A model failure, or statistics of the wrong length.
fn replicates<M: Model>(
    problem: &Problem<M>,
    theta: &[f64],
    generation: u32,
    candidates: std::ops::Range<u64>,
) -> Result<Vec<Vec<f64>>, AbcError> {
    let mut outputs = Vec::with_capacity((candidates.end - candidates.start) as usize);
    for candidate in candidates {
        let stats = problem
            .model()
            .simulate(theta, stream_index(generation, candidate))
            .map_err(|e| AbcError::Simulation {
                generation,
                candidate,
                source: Box::new(e),
            })?;
        if stats.len() != problem.observed().len() {
            return Err(AbcError::StatisticsLength {
                generation,
                candidate,
                expected: problem.observed().len(),
                found: stats.len(),
            });
        }
        outputs.push(stats);
    }
    Ok(outputs)
}

/// Runs one wave of history matching on `problem` (see the module
/// documentation). The problem's scales are not used; `cancel` is read
/// between batches.
///
/// # Errors
/// [`AbcError::InvalidConfig`], [`AbcError::Cancelled`] or a model failure
/// (the first in point order).
pub fn history_match<M: Model>(
    problem: &Problem<M>,
    config: &WaveConfig,
    cancel: Option<&AtomicBool>,
) -> Result<Wave, AbcError> {
    let c = config;
    c.check(problem.observed().len())?;
    let mut h = Sha256::new();
    h.update(b"armsim history matching");
    h.update(c.seed.to_le_bytes());
    h.update(c.wave.to_le_bytes());
    let key: [u8; 32] = h.finalize().into();
    let generation = MAX_GENERATIONS + c.wave;
    let dim = problem.params().len();
    let reps = u64::from(c.replicates);
    let mut points = Vec::with_capacity(c.points.min(1 << 20) as usize * dim);
    let mut implausibilities = Vec::new();
    let mut done = 0;
    while done < c.points {
        if cancel.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(AbcError::Cancelled);
        }
        let len = c.batch.min(c.points - done);
        // One round a batch: the batch is what a cancel waits for.
        let results = executor::map_indexed(done..done + len, |point| {
            let mut rng = ChaCha8Rng::from_seed(key);
            rng.set_stream(point);
            let theta: Vec<f64> = problem
                .params()
                .iter()
                .map(|p| p.prior.sample(&mut rng))
                .collect();
            let outputs = replicates(
                problem,
                &theta,
                generation,
                point * reps..(point + 1) * reps,
            )?;
            let i = implausibility(problem.observed(), &c.observation_variance, &outputs);
            Ok::<_, AbcError>((theta, i))
        });
        for result in results {
            let (theta, i) = result?;
            points.extend(theta);
            implausibilities.push(i);
        }
        done += len;
    }
    let kept = (0..implausibilities.len())
        .filter(|&i| implausibilities[i] <= c.cutoff)
        .collect();
    Ok(Wave {
        dim,
        points,
        implausibility: implausibilities,
        kept,
        margin: c.margin,
        simulations: c.points * reps,
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use rand::Rng;
    use rand_distr::StandardNormal;

    use super::*;
    use crate::calibrate::abc::{Smc, SmcConfig};
    use crate::calibrate::prior::Prior;

    #[test]
    fn implausibility_by_hand() {
        // Replicates 1, 2, 3: mean 2, sample variance 1. Observed 5 with
        // observation variance 3: |5 - 2| / sqrt(3 + 1) = 1.5.
        let reps = vec![vec![1.0, 0.0], vec![2.0, 0.0], vec![3.0, 0.0]];
        assert_eq!(implausibility(&[5.0, 0.0], &[3.0, 0.0], &reps), 1.5);
        // The second statistic is matched exactly with no variance: 0; missed
        // with no variance: infinite.
        assert_eq!(
            implausibility(&[5.0, 1.0], &[3.0, 0.0], &reps),
            f64::INFINITY
        );
        let nan = vec![vec![f64::NAN], vec![1.0]];
        assert_eq!(implausibility(&[1.0], &[1.0], &nan), f64::INFINITY);
        assert_eq!(implausibility(&[1.0], &[1.0], &nan[1..]), f64::INFINITY);
        assert_eq!(implausibility(&[1.0, 2.0], &[1.0], &reps), f64::INFINITY);
    }

    fn noisy_mean(theta: &[f64], stream: u64) -> Result<Vec<f64>, Infallible> {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        rng.set_stream(stream);
        let sum: f64 = (0..10)
            .map(|_| theta[0] + rng.sample::<f64, _>(StandardNormal))
            .sum();
        Ok(vec![sum / 10.0, theta[1]])
    }

    type ModelFn = fn(&[f64], u64) -> Result<Vec<f64>, Infallible>;

    fn problem() -> Problem<ModelFn> {
        // Statistic 1: mean of 10 N(a, 1) (sd 0.316), observed 1.3.
        // Statistic 2: b itself, observed 4, with observation variance 1.
        let params = vec![
            PriorParam::new("a", Prior::uniform(-10.0, 10.0).unwrap()),
            PriorParam::new("b", Prior::log_uniform(0.1, 100.0).unwrap()),
        ];
        Problem::new(
            params,
            vec![1.3, 4.0],
            vec![1.0, 1.0],
            noisy_mean as ModelFn,
        )
        .unwrap()
    }

    #[test]
    fn a_wave_narrows_the_box_around_the_truth() {
        let problem = problem();
        let mut config = WaveConfig::new(3, 2000, 2);
        config.observation_variance = vec![0.0, 1.0];
        let wave = history_match(&problem, &config, None).unwrap();
        assert_eq!(wave.simulations, 10_000);
        // For b the implausibility is exactly |4 - b| (no model variance):
        // every kept b is within [1, 7].
        for &i in &wave.kept {
            let b = wave.points[i * 2 + 1];
            assert!((1.0..=7.0).contains(&b), "{b}");
        }
        // For a, |1.3 - mean| / sd with sd about 0.316 keeps roughly
        // |a - 1.3| < 0.95, plus noise: the box must hold the posterior's
        // bulk (1.3 +- 2 sd) and be far narrower than the prior's 20.
        let bounds = wave.bounds().unwrap();
        let (lo, hi) = bounds[0];
        assert!(lo < 1.3 - 0.63 && 1.3 + 0.63 < hi, "{bounds:?}");
        assert!(hi - lo < 4.0, "{bounds:?}");
        assert!(bounds[1].0 < 2.0 && 6.0 < bounds[1].1, "{bounds:?}");
        // Every point ruled out really is implausible, every point kept not.
        let kept: std::collections::BTreeSet<usize> = wave.kept.iter().copied().collect();
        for (i, &imp) in wave.implausibility.iter().enumerate() {
            assert_eq!(kept.contains(&i), imp <= 3.0);
        }
        // The restricted priors keep their families and feed ABC-SMC.
        let narrowed = wave.restrict(problem.params()).unwrap();
        assert_eq!(narrowed[0].prior.support(), bounds[0]);
        let b_support = narrowed[1].prior.support();
        assert!(b_support.0 >= 0.1 && b_support.1 <= 100.0);
        let narrowed = Problem::new(
            narrowed,
            vec![1.3, 4.0],
            vec![1.0, 1.0],
            noisy_mean as ModelFn,
        )
        .unwrap();
        let mut smc = SmcConfig::new(1, 200);
        smc.max_generations = 3;
        let out = Smc::new(&narrowed, smc).run().unwrap();
        assert!((out.population.posterior().mean[0] - 1.3).abs() < 0.3);
    }

    #[test]
    fn waves_are_the_same_bits_whatever_the_thread_count() {
        let problem = problem();
        let config = WaveConfig::new(9, 300, 2);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| history_match(&problem, &config, None).unwrap())
        };
        assert_eq!(run(1), run(3));
        let mut next = config.clone();
        next.wave = 1;
        assert_ne!(
            history_match(&problem, &next, None).unwrap().points,
            run(2).points
        );
        let mut bad = config.clone();
        bad.replicates = 1;
        assert!(matches!(
            history_match(&problem, &bad, None),
            Err(AbcError::InvalidConfig { .. })
        ));
        let stop = AtomicBool::new(true);
        assert!(matches!(
            history_match(&problem, &config, Some(&stop)),
            Err(AbcError::Cancelled)
        ));
    }
}
