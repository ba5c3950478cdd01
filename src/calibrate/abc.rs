//! Approximate Bayesian computation (ABC): rejection sampling and ABC-SMC,
//! parallel and reproducible bit for bit, resumable between generations.
//!
//! **The problem.** A [`Problem`] holds the parameters and their priors
//! ([`PriorParam`]), the observed summary statistics, one scale per statistic and
//! a [`Model`]. The model maps a parameter vector and a random stream index
//! to simulated summary statistics (the same statistics, in the same order,
//! as the observed ones); its randomness must come only from that stream
//! (for armsim, `engine::run_rng(seed, stream)`), so a candidate's result
//! depends on nothing but its parameters and its index. The distance between
//! simulated statistics `s` and observed `o` is the weighted Euclidean
//! distance `d = sqrt(sum_k ((s_k - o_k) / scale_k)^2)`: a scale is the size
//! of a difference in that statistic that matters as much as a difference of
//! one scale in any other (a target's tolerance, or the statistic's spread
//! under the prior, see [`mad_scales`]). Statistics that are not finite give
//! an infinite distance: such a candidate is never accepted.
//!
//! **Rejection ABC** ([`Rejection`], Pritchard et al. 1999): draw parameters
//! from the prior, simulate, and keep the `n` closest of `m` draws
//! ([`Keep::Best`], the tolerance being the `n`-th smallest distance) or every
//! draw within a tolerance ([`Keep::Within`]).
//!
//! **ABC-SMC** ([`Smc`]): the sequential Monte Carlo sampler of Toni et al.
//! (2009, J. R. Soc. Interface 6) with the importance weights and kernel of
//! Beaumont et al. (2009, Biometrika 96). Generation 0 is a rejection step
//! keeping the best `population` of `initial_draws` prior draws. Generation
//! `t` then:
//! 1. sets its tolerance to the weighted `alpha`-quantile of the previous
//!    population's distances (adaptive tolerances as in Drovandi & Pettitt
//!    2011, Biometrics 67, and Del Moral et al. 2012, Stat. Comput. 22; the
//!    quantile is pyabc's `QuantileEpsilon`), never below the target;
//! 2. proposes each candidate by picking a previous particle `j` with
//!    probability `w_j` and moving it by a multivariate normal with twice the
//!    previous population's weighted covariance (Beaumont et al.'s optimal
//!    choice for a Gaussian kernel), drawing particle and move again until
//!    the candidate is inside the prior's support (a truncation by rejection:
//!    re-drawing the particle as well as the move makes the proposal density
//!    the untruncated mixture times a constant, so the weights below need no
//!    per-particle normalisation);
//! 3. accepts candidates with distance `<= epsilon` until the population is
//!    full, and weighs each accepted `theta` by
//!    `pi(theta) / sum_j w_j K(theta | theta_j)` (normalised to sum to 1; the
//!    kernel's normalising constant is common to all and cancels).
//!
//! It stops when a population reaches the target tolerance, after
//! `max_generations` generations, when a generation needs more than
//! `population / min_acceptance_rate` simulations (pyabc's rule), when the
//! total number of simulations reaches `max_simulations`, when the tolerance
//! stops falling ([`Stop::Stalled`]), or when the cancel flag is set. A
//! generation interrupted by any of these is discarded; the outcome is the
//! last complete population.
//!
//! **Reproducibility.** Candidates are numbered within a generation and
//! evaluated in fixed batches of `batch` candidates; rayon spreads a batch
//! over the current thread pool. Candidate `c` of generation `g` has stream
//! index [`stream_index`]`(g, c) = g * 2^40 + c`: its proposal comes from a
//! ChaCha8 generator keyed by the master seed (through SHA-256, so it shares
//! nothing with the model's generators of the same seed) on that stream, and
//! the model receives the same index. Candidates are accepted in index order,
//! so the populations, weights and counts are the same bits whatever the
//! thread count or scheduling. Weights are computed per particle, each sum in
//! a fixed order.
//!
//! **Resuming.** Every complete generation is a [`Population`]: particles,
//! weights, distances, statistics, tolerance, simulation counts and the
//! history of earlier generations, with a fingerprint of the problem and of
//! the settings that shape the populations (seed, population size, initial
//! draws, alpha, batch). [`Population::encode`] writes it in the state
//! files' one frame ([`crate::state`]: magic, format, length, payload,
//! SHA-256); [`Population::decode`] refuses corrupt bytes with a typed
//! [`DecodeError`] and bounds every declared size by the bytes present before
//! allocating. [`Smc::resume`] continues from a population and gives the same
//! bits as the uninterrupted run; the stopping rules may differ (to extend a
//! run), the fingerprinted settings may not.

use std::sync::atomic::{AtomicBool, Ordering};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

pub use super::population::{DecodeError, GenerationStats, Population, PopulationFileError};
use super::posterior::{effective_sample_size, weighted_quantile};
use super::prior::{PriorError, PriorParam};
use crate::executor;

/// Bits of a stream index that number candidates within a generation.
pub const CANDIDATE_BITS: u32 = 40;
/// Most parameters a problem may have.
pub const MAX_PARAMS: usize = 1024;
/// Most summary statistics a problem may have.
pub const MAX_STATISTICS: usize = 1 << 16;
/// Most generations (the stream index holds `g * 2^40`).
pub const MAX_GENERATIONS: u32 = 1 << 23;
/// Most simulations in a run (candidate numbers must fit in 40 bits).
pub const MAX_SIMULATIONS: u64 = 1 << CANDIDATE_BITS;
/// Largest batch.
pub const MAX_BATCH: u64 = 1 << 20;
/// Largest population (weights cost `population^2` kernel evaluations).
pub const MAX_POPULATION: usize = 1 << 20;
/// Proposals tried for one candidate before giving up: only a kernel almost
/// entirely outside the prior's support gets there.
const MAX_PROPOSAL_TRIES: u32 = 100_000;

/// The stream index of candidate `candidate` of generation `generation`:
/// `generation * 2^40 + candidate`. The model receives it, and should draw
/// its randomness from that stream alone.
pub fn stream_index(generation: u32, candidate: u64) -> u64 {
    (u64::from(generation) << CANDIDATE_BITS) | candidate
}

/// A stochastic model to calibrate: summary statistics from parameters.
///
/// Implemented for every `Fn(&[f64], u64) -> Result<Vec<f64>, E> + Sync`.
pub trait Model: Sync {
    /// Why a simulation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Simulates at `params` (in the problem's parameter order), drawing all
    /// randomness from stream `stream`, and returns the summary statistics,
    /// as many and in the same order as the observed ones.
    ///
    /// # Errors
    /// Whatever the model reports; it stops the calibration.
    fn simulate(&self, params: &[f64], stream: u64) -> Result<Vec<f64>, Self::Error>;
}

impl<F, E> Model for F
where
    F: Fn(&[f64], u64) -> Result<Vec<f64>, E> + Sync,
    E: std::error::Error + Send + Sync + 'static,
{
    type Error = E;

    fn simulate(&self, params: &[f64], stream: u64) -> Result<Vec<f64>, E> {
        self(params, stream)
    }
}

/// Why a calibration could not be set up or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AbcError {
    /// No parameters, or more than [`MAX_PARAMS`].
    #[error("a problem needs 1 to {MAX_PARAMS} parameters, not {count}")]
    ParameterCount {
        /// How many were given.
        count: usize,
    },
    /// A parameter's name is empty.
    #[error("parameter {index} has an empty name")]
    EmptyName {
        /// Its position.
        index: usize,
    },
    /// Two parameters have the same name.
    #[error("parameter `{name}` is named twice")]
    DuplicateParameter {
        /// The name.
        name: String,
    },
    /// No observed statistics, or more than [`MAX_STATISTICS`].
    #[error("a problem needs 1 to {MAX_STATISTICS} statistics, not {count}")]
    StatisticCount {
        /// How many were given.
        count: usize,
    },
    /// As many scales as statistics are needed.
    #[error("{statistics} observed statistics but {scales} scales")]
    ScalesLength {
        /// Observed statistics.
        statistics: usize,
        /// Scales given.
        scales: usize,
    },
    /// An observed statistic is not finite.
    #[error("observed statistic {index} is {value}")]
    BadObserved {
        /// Its position.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A scale is not finite and positive.
    #[error("scale {index} is {value}, not a positive number")]
    BadScale {
        /// Its position.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A setting is out of range.
    #[error("{field}: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What it must be.
        reason: &'static str,
    },
    /// The model failed.
    #[error("generation {generation}, candidate {candidate}: the model failed: {source}")]
    Simulation {
        /// The generation.
        generation: u32,
        /// The candidate.
        candidate: u64,
        /// The model's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The model returned the wrong number of statistics.
    #[error(
        "generation {generation}, candidate {candidate}: the model returned {found} statistics, not {expected}"
    )]
    StatisticsLength {
        /// The generation.
        generation: u32,
        /// The candidate.
        candidate: u64,
        /// Observed statistics.
        expected: usize,
        /// Returned.
        found: usize,
    },
    /// No proposal inside the prior's support was found.
    #[error(
        "generation {generation}, candidate {candidate}: no proposal inside the prior's support in {MAX_PROPOSAL_TRIES} tries"
    )]
    ProposalOutsideSupport {
        /// The generation.
        generation: u32,
        /// The candidate.
        candidate: u64,
    },
    /// Fewer draws than needed had a finite distance.
    #[error("only {found} of the draws gave finite statistics, {needed} are needed")]
    TooFewFinite {
        /// Needed.
        needed: usize,
        /// Found.
        found: usize,
    },
    /// No draw was within the tolerance.
    #[error("no draw within tolerance {epsilon}")]
    NothingAccepted {
        /// The tolerance.
        epsilon: f64,
    },
    /// The cancel flag was set before a first population was complete.
    #[error("cancelled before a first population was complete")]
    Cancelled,
    /// The population to resume from is not of this problem and settings.
    #[error("cannot resume: {reason}")]
    ResumeMismatch {
        /// What differs.
        reason: &'static str,
    },
    /// A prior could not be restricted (history matching).
    #[error("parameter `{name}`: {source}")]
    Prior {
        /// The parameter.
        name: String,
        /// Why.
        source: PriorError,
    },
    /// The checkpoint callback failed.
    #[error("cannot write checkpoint: {0}")]
    Checkpoint(#[source] std::io::Error),
}

/// What a calibration compares: parameters with priors, observed statistics,
/// their scales, and the model.
pub struct Problem<M> {
    params: Vec<PriorParam>,
    observed: Vec<f64>,
    scales: Vec<f64>,
    model: M,
}

impl<M: Model> Problem<M> {
    /// A problem: `params` (names unique), `observed` statistics, one positive
    /// `scales` entry per statistic, and `model`.
    ///
    /// # Errors
    /// [`AbcError::ParameterCount`], [`AbcError::EmptyName`],
    /// [`AbcError::DuplicateParameter`], [`AbcError::StatisticCount`],
    /// [`AbcError::ScalesLength`], [`AbcError::BadObserved`] or
    /// [`AbcError::BadScale`].
    pub fn new(
        params: Vec<PriorParam>,
        observed: Vec<f64>,
        scales: Vec<f64>,
        model: M,
    ) -> Result<Problem<M>, AbcError> {
        if params.is_empty() || params.len() > MAX_PARAMS {
            return Err(AbcError::ParameterCount {
                count: params.len(),
            });
        }
        for (index, p) in params.iter().enumerate() {
            if p.name.is_empty() {
                return Err(AbcError::EmptyName { index });
            }
            if params[..index].iter().any(|q| q.name == p.name) {
                return Err(AbcError::DuplicateParameter {
                    name: p.name.clone(),
                });
            }
        }
        if observed.is_empty() || observed.len() > MAX_STATISTICS {
            return Err(AbcError::StatisticCount {
                count: observed.len(),
            });
        }
        if scales.len() != observed.len() {
            return Err(AbcError::ScalesLength {
                statistics: observed.len(),
                scales: scales.len(),
            });
        }
        if let Some((index, &value)) = observed.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(AbcError::BadObserved { index, value });
        }
        if let Some((index, &value)) = scales
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return Err(AbcError::BadScale { index, value });
        }
        Ok(Problem {
            params,
            observed,
            scales,
            model,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &[PriorParam] {
        &self.params
    }

    /// The observed statistics.
    pub fn observed(&self) -> &[f64] {
        &self.observed
    }

    /// The scales.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The weighted Euclidean distance of `stats` from the observed
    /// statistics; infinite if any is not finite or the length differs.
    pub fn distance(&self, stats: &[f64]) -> f64 {
        if stats.len() != self.observed.len() {
            return f64::INFINITY;
        }
        let mut sum = 0.0;
        for ((s, o), scale) in stats.iter().zip(&self.observed).zip(&self.scales) {
            let z = (s - o) / scale;
            sum += z * z;
        }
        if sum.is_finite() {
            sum.sqrt()
        } else {
            f64::INFINITY
        }
    }

    fn in_support(&self, theta: &[f64]) -> bool {
        self.params
            .iter()
            .zip(theta)
            .all(|(p, &x)| p.prior.contains(x))
    }

    fn ln_prior(&self, theta: &[f64]) -> f64 {
        self.params
            .iter()
            .zip(theta)
            .map(|(p, &x)| p.prior.ln_pdf(x))
            .sum()
    }

    fn prior_draw(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        self.params.iter().map(|p| p.prior.sample(rng)).collect()
    }

    /// Simulates one candidate.
    fn evaluate(
        &self,
        generation: u32,
        candidate: u64,
        theta: Vec<f64>,
    ) -> Result<Candidate, AbcError> {
        let stats = self
            .model
            .simulate(&theta, stream_index(generation, candidate))
            .map_err(|e| AbcError::Simulation {
                generation,
                candidate,
                source: Box::new(e),
            })?;
        if stats.len() != self.observed.len() {
            return Err(AbcError::StatisticsLength {
                generation,
                candidate,
                expected: self.observed.len(),
                found: stats.len(),
            });
        }
        let distance = self.distance(&stats);
        Ok(Candidate {
            index: candidate,
            theta,
            stats,
            distance,
        })
    }

    /// Proposes (with `propose`) and simulates candidates `range` of
    /// `generation` in parallel; results in index order, the first error in
    /// index order if any failed.
    fn batch<P>(
        &self,
        key: &[u8; 32],
        generation: u32,
        start: u64,
        len: u64,
        propose: &P,
    ) -> Result<Vec<Candidate>, AbcError>
    where
        P: Fn(&mut ChaCha8Rng, u64) -> Result<Vec<f64>, AbcError> + Sync,
    {
        // One round: the batch is what a cancel waits for.
        executor::map_indexed(start..start + len, |k| {
            let mut rng = ChaCha8Rng::from_seed(*key);
            rng.set_stream(stream_index(generation, k));
            propose(&mut rng, k).and_then(|theta| self.evaluate(generation, k, theta))
        })
        .into_iter()
        .collect()
    }

    /// SHA-256 of what determines a run's populations: the problem and
    /// `settings` (tagged by `tag`).
    fn fingerprint(&self, tag: &str, settings: &[u64]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((tag.len() as u64).to_le_bytes());
        h.update(tag.as_bytes());
        h.update((self.params.len() as u64).to_le_bytes());
        for p in &self.params {
            h.update((p.name.len() as u64).to_le_bytes());
            h.update(p.name.as_bytes());
            // The prior's Debug form names its kind and every parameter.
            let prior = format!("{:?}", p.prior);
            h.update((prior.len() as u64).to_le_bytes());
            h.update(prior.as_bytes());
        }
        h.update((self.observed.len() as u64).to_le_bytes());
        for x in self.observed.iter().chain(&self.scales) {
            h.update(x.to_bits().to_le_bytes());
        }
        for s in settings {
            h.update(s.to_le_bytes());
        }
        h.finalize().into()
    }
}

/// The robust scale of each statistic over `samples` (rows of statistics,
/// e.g. simulated at prior draws): the median absolute deviation from the
/// median, as pyabc's adaptive distances use. Pass it to [`Problem::new`] so
/// that each statistic counts by its spread under the prior.
///
/// # Errors
/// [`AbcError::StatisticCount`] if `samples` is empty or its rows differ in
/// length; [`AbcError::BadScale`] if a statistic's MAD is 0 or not finite.
pub fn mad_scales(samples: &[Vec<f64>]) -> Result<Vec<f64>, AbcError> {
    let k = samples.first().map_or(0, Vec::len);
    if k == 0 || samples.iter().any(|s| s.len() != k) {
        return Err(AbcError::StatisticCount { count: k });
    }
    let ones = vec![1.0; samples.len()];
    (0..k)
        .map(|index| {
            let column: Vec<f64> = samples.iter().map(|s| s[index]).collect();
            let median = weighted_quantile(&column, &ones, 0.5);
            let deviations: Vec<f64> = column.iter().map(|x| (x - median).abs()).collect();
            let mad = weighted_quantile(&deviations, &ones, 0.5);
            if mad.is_finite() && mad > 0.0 {
                Ok(mad)
            } else {
                Err(AbcError::BadScale { index, value: mad })
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Candidate {
    index: u64,
    theta: Vec<f64>,
    stats: Vec<f64>,
    distance: f64,
}

/// The key of the proposal generators: SHA-256 of a tag and the seed, so the
/// proposal streams share nothing with a model seeded with the same seed.
fn proposal_key(seed: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"armsim abc proposals");
    h.update(seed.to_le_bytes());
    h.finalize().into()
}

/// A population from its accepted candidates (in acceptance order).
#[allow(clippy::too_many_arguments)]
fn population_from(
    fingerprint: [u8; 32],
    names: Vec<String>,
    generation: u32,
    epsilon: f64,
    accepted: Vec<Candidate>,
    weights: Vec<f64>,
    simulations: u64,
    total_simulations: u64,
    mut history: Vec<GenerationStats>,
) -> Population {
    let statistics_len = accepted.first().map_or(0, |c| c.stats.len());
    let mut particles = Vec::with_capacity(accepted.len() * names.len());
    let mut statistics = Vec::with_capacity(accepted.len() * statistics_len);
    let mut distances = Vec::with_capacity(accepted.len());
    for c in &accepted {
        particles.extend_from_slice(&c.theta);
        statistics.extend_from_slice(&c.stats);
        distances.push(c.distance);
    }
    history.push(GenerationStats {
        generation,
        epsilon,
        simulations,
        acceptance_rate: accepted.len() as f64 / simulations as f64,
        ess: effective_sample_size(&weights),
    });
    Population {
        fingerprint,
        names,
        generation,
        epsilon,
        statistics_len,
        particles,
        weights,
        distances,
        statistics,
        simulations,
        total_simulations,
        history,
    }
}

/// Progress within a generation, reported after every batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmcProgress {
    /// The generation.
    pub generation: u32,
    /// Its tolerance (for rejection with [`Keep::Best`], the worst distance
    /// kept so far; infinite until the population is full).
    pub epsilon: f64,
    /// Candidates accepted (or kept) so far.
    pub accepted: usize,
    /// The population size sought.
    pub population: usize,
    /// Candidates simulated in this generation.
    pub simulations: u64,
    /// `accepted / simulations`.
    pub acceptance_rate: f64,
    /// Simulations in the whole run so far.
    pub total_simulations: u64,
}

/// Which draws rejection ABC keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keep {
    /// The `n` closest (ties by candidate index); the tolerance is the
    /// largest distance kept.
    Best(usize),
    /// Every draw with distance at most this tolerance.
    Within(f64),
}

/// Settings of rejection ABC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RejectionConfig {
    /// Master seed of the proposals.
    pub seed: u64,
    /// Prior draws simulated.
    pub draws: u64,
    /// Which to keep.
    pub keep: Keep,
    /// Candidates per parallel batch (the cancel flag is read between
    /// batches); does not change the result.
    pub batch: u64,
}

/// Rejection ABC (see the module documentation): a builder.
pub struct Rejection<'a, M> {
    problem: &'a Problem<M>,
    config: RejectionConfig,
    progress: Option<&'a mut dyn FnMut(&SmcProgress)>,
    cancel: Option<&'a AtomicBool>,
}

fn cancelled(flag: Option<&AtomicBool>) -> bool {
    flag.is_some_and(|f| f.load(Ordering::Relaxed))
}

fn check(ok: bool, field: &'static str, reason: &'static str) -> Result<(), AbcError> {
    if ok {
        Ok(())
    } else {
        Err(AbcError::InvalidConfig { field, reason })
    }
}

impl<'a, M: Model> Rejection<'a, M> {
    /// Rejection ABC of `problem` with `config`.
    pub fn new(problem: &'a Problem<M>, config: RejectionConfig) -> Self {
        Rejection {
            problem,
            config,
            progress: None,
            cancel: None,
        }
    }

    /// Calls `f` after every batch.
    pub fn progress(mut self, f: &'a mut dyn FnMut(&SmcProgress)) -> Self {
        self.progress = Some(f);
        self
    }

    /// Stops between batches once `flag` is set ([`AbcError::Cancelled`]).
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Runs it. The result is generation 0 with equal weights; its
    /// `epsilon()` is the tolerance.
    ///
    /// # Errors
    /// [`AbcError::InvalidConfig`], [`AbcError::Cancelled`],
    /// [`AbcError::TooFewFinite`], [`AbcError::NothingAccepted`] or a model
    /// failure.
    pub fn run(mut self) -> Result<Population, AbcError> {
        let c = self.config;
        check(
            (1..=MAX_SIMULATIONS).contains(&c.draws),
            "draws",
            "must be 1 to 2^40",
        )?;
        check(
            (1..=MAX_BATCH).contains(&c.batch),
            "batch",
            "must be 1 to 2^20",
        )?;
        match c.keep {
            Keep::Best(n) => check(
                (1..=MAX_POPULATION).contains(&n) && n as u64 <= c.draws,
                "keep",
                "must keep 1 to min(draws, 2^20) draws",
            )?,
            Keep::Within(eps) => check(
                eps >= 0.0 && !eps.is_nan(),
                "keep",
                "tolerance must be >= 0",
            )?,
        }
        let (tag, keep_bits) = match c.keep {
            Keep::Best(n) => ("rejection best", n as u64),
            Keep::Within(eps) => ("rejection within", eps.to_bits()),
        };
        let fingerprint = self
            .problem
            .fingerprint(tag, &[c.seed, c.draws, keep_bits, c.batch]);
        let key = proposal_key(c.seed);
        let (kept, simulations) = sample_prior(
            self.problem,
            &key,
            c.draws,
            c.keep,
            c.batch,
            0,
            self.cancel,
            &mut self.progress,
        )?
        .ok_or(AbcError::Cancelled)?;
        let epsilon = match c.keep {
            Keep::Best(_) => kept.last().map_or(f64::INFINITY, |k| k.distance),
            Keep::Within(eps) => eps,
        };
        let n = kept.len();
        Ok(population_from(
            fingerprint,
            self.problem.params.iter().map(|p| p.name.clone()).collect(),
            0,
            epsilon,
            kept,
            vec![1.0 / n as f64; n],
            simulations,
            simulations,
            Vec::new(),
        ))
    }
}

/// Simulates `draws` prior draws of generation 0 and keeps them per `keep`;
/// `None` if cancelled.
#[allow(clippy::too_many_arguments)]
fn sample_prior<M: Model>(
    problem: &Problem<M>,
    key: &[u8; 32],
    draws: u64,
    keep: Keep,
    batch: u64,
    total_before: u64,
    cancel: Option<&AtomicBool>,
    progress: &mut Option<&mut dyn FnMut(&SmcProgress)>,
) -> Result<Option<(Vec<Candidate>, u64)>, AbcError> {
    let propose = |rng: &mut ChaCha8Rng, _: u64| Ok(problem.prior_draw(rng));
    let target = match keep {
        Keep::Best(n) => n,
        Keep::Within(_) => 0,
    };
    let mut kept: Vec<Candidate> = Vec::new();
    let mut done = 0;
    while done < draws {
        if cancelled(cancel) {
            return Ok(None);
        }
        let len = batch.min(draws - done);
        let batch = problem.batch(key, 0, done, len, &propose)?;
        done += len;
        match keep {
            Keep::Best(n) => {
                kept.extend(batch);
                // Sorting by (distance, index) makes the kept set the n
                // smallest, ties to the earlier candidate, whatever the batch.
                kept.sort_by(|a, b| {
                    a.distance
                        .total_cmp(&b.distance)
                        .then(a.index.cmp(&b.index))
                });
                kept.truncate(n);
            }
            Keep::Within(eps) => kept.extend(batch.into_iter().filter(|c| c.distance <= eps)),
        }
        if let Some(f) = progress.as_mut() {
            let epsilon = match keep {
                Keep::Best(n) if kept.len() == n => kept[n - 1].distance,
                Keep::Best(_) => f64::INFINITY,
                Keep::Within(eps) => eps,
            };
            f(&SmcProgress {
                generation: 0,
                epsilon,
                accepted: kept.len(),
                population: if target > 0 { target } else { kept.len() },
                simulations: done,
                acceptance_rate: kept.len() as f64 / done as f64,
                total_simulations: total_before + done,
            });
        }
    }
    match keep {
        Keep::Best(n) => {
            let found = kept.iter().filter(|c| c.distance.is_finite()).count();
            if found < n {
                return Err(AbcError::TooFewFinite { needed: n, found });
            }
        }
        Keep::Within(epsilon) => {
            if kept.is_empty() {
                return Err(AbcError::NothingAccepted { epsilon });
            }
        }
    }
    Ok(Some((kept, draws)))
}

/// Settings of ABC-SMC. [`SmcConfig::new`] gives the defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmcConfig {
    /// Master seed of the proposals.
    pub seed: u64,
    /// Particles per generation (at least 2).
    pub population: usize,
    /// Prior draws of generation 0, which keeps the best `population`
    /// (default twice the population).
    pub initial_draws: u64,
    /// The next tolerance is this quantile of the current distances, in
    /// (0, 1) (default 0.5).
    pub alpha: f64,
    /// Candidates per parallel batch (default 256). A generation's last
    /// batch may simulate candidates beyond the one that fills the
    /// population; they count as simulations.
    pub batch: u64,
    /// Stop once a generation's tolerance is at most this (default 0).
    pub target_epsilon: f64,
    /// Stop after this many generations, generation 0 included (default 20).
    pub max_generations: u32,
    /// Stop when a generation would need more than `population /
    /// min_acceptance_rate` simulations (default 0: never).
    pub min_acceptance_rate: f64,
    /// Stop when the run's simulations reach this (default 2^40).
    pub max_simulations: u64,
}

impl SmcConfig {
    /// The defaults for `population` particles and master seed `seed`.
    pub fn new(seed: u64, population: usize) -> SmcConfig {
        SmcConfig {
            seed,
            population,
            initial_draws: 2 * population as u64,
            alpha: 0.5,
            batch: 256,
            target_epsilon: 0.0,
            max_generations: 20,
            min_acceptance_rate: 0.0,
            max_simulations: MAX_SIMULATIONS,
        }
    }

    fn validate(&self) -> Result<(), AbcError> {
        check(
            (2..=MAX_POPULATION).contains(&self.population),
            "population",
            "must be 2 to 2^20",
        )?;
        check(
            self.initial_draws >= self.population as u64,
            "initial_draws",
            "must be at least the population",
        )?;
        check(
            self.alpha > 0.0 && self.alpha < 1.0,
            "alpha",
            "must be in (0, 1)",
        )?;
        check(
            (1..=MAX_BATCH).contains(&self.batch),
            "batch",
            "must be 1 to 2^20",
        )?;
        check(
            self.target_epsilon >= 0.0 && self.target_epsilon.is_finite(),
            "target_epsilon",
            "must be finite and >= 0",
        )?;
        check(
            (1..=MAX_GENERATIONS).contains(&self.max_generations),
            "max_generations",
            "must be 1 to 2^23",
        )?;
        check(
            (0.0..=1.0).contains(&self.min_acceptance_rate),
            "min_acceptance_rate",
            "must be in [0, 1]",
        )?;
        check(
            self.max_simulations <= MAX_SIMULATIONS && self.max_simulations >= self.initial_draws,
            "max_simulations",
            "must be at least initial_draws and at most 2^40",
        )
    }
}

/// Why ABC-SMC stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// A population reached the target tolerance.
    TargetEpsilon,
    /// `max_generations` generations are done.
    MaxGenerations,
    /// A generation needed more than `population / min_acceptance_rate`
    /// simulations.
    MinAcceptanceRate,
    /// The run's simulations reached `max_simulations`.
    SimulationBudget,
    /// The next tolerance would not be below the current one (e.g. every
    /// distance is equal).
    Stalled,
    /// The cancel flag was set.
    Cancelled,
}

/// What ABC-SMC produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SmcOutcome {
    /// The last complete population; its `history()` lists every generation.
    pub population: Population,
    /// Why it stopped.
    pub stop: Stop,
    /// Simulations of the whole run (resumed work included), counting those
    /// of a discarded, interrupted generation.
    pub total_simulations: u64,
}

/// A checkpoint callback: receives each complete population.
pub type PopulationCheckpointFn<'a> = dyn FnMut(&Population) -> std::io::Result<()> + 'a;

/// ABC-SMC (see the module documentation): a builder.
///
/// ```
/// use armsim::calibrate::abc::{Problem, Smc, SmcConfig};
/// use armsim::calibrate::prior::{PriorParam, Prior};
///
/// // The mean of 10 draws from N(theta, 1); observed 0.5.
/// let model = |theta: &[f64], stream: u64| -> Result<Vec<f64>, std::convert::Infallible> {
///     let mut rng = armsim::engine::run_rng(7, stream);
///     let draws: f64 = (0..10).map(|_| theta[0] + rand::Rng::sample::<f64, _>(&mut rng, rand_distr::StandardNormal)).sum();
///     Ok(vec![draws / 10.0])
/// };
/// let params = vec![PriorParam::new("theta", Prior::uniform(-5.0, 5.0).unwrap())];
/// let problem = Problem::new(params, vec![0.5], vec![1.0], model).unwrap();
/// let mut config = SmcConfig::new(1, 200);
/// config.max_generations = 4;
/// let outcome = Smc::new(&problem, config).run().unwrap();
/// let posterior = outcome.population.posterior();
/// assert!((posterior.mean[0] - 0.5).abs() < 0.2);
/// ```
pub struct Smc<'a, M> {
    problem: &'a Problem<M>,
    config: SmcConfig,
    progress: Option<&'a mut dyn FnMut(&SmcProgress)>,
    cancel: Option<&'a AtomicBool>,
    checkpoint: Option<&'a mut PopulationCheckpointFn<'a>>,
    resume: Option<Population>,
}

/// The perturbation kernel of a generation: particle picking and a
/// multivariate normal move.
struct Kernel<'p> {
    previous: &'p Population,
    cumulative: Vec<f64>,
    /// Lower Cholesky factor of the move's covariance, row-major.
    chol: Vec<f64>,
}

/// Lower Cholesky factor of the symmetric `d x d` matrix `a`, or `None` if
/// it is not (numerically) positive definite.
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

impl<'p> Kernel<'p> {
    fn fit<M: Model>(previous: &'p Population, problem: &Problem<M>) -> Kernel<'p> {
        let d = previous.dim();
        let n = previous.len();
        let w = &previous.weights;
        let x = &previous.particles;
        let mean: Vec<f64> = (0..d)
            .map(|k| (0..n).map(|i| w[i] * x[i * d + k]).sum())
            .collect();
        let mut cov = vec![0.0; d * d];
        for k in 0..d {
            for l in 0..=k {
                let c: f64 = (0..n)
                    .map(|i| w[i] * (x[i * d + k] - mean[k]) * (x[i * d + l] - mean[l]))
                    .sum();
                // Twice the weighted covariance (Beaumont et al. 2009).
                cov[k * d + l] = 2.0 * c;
                cov[l * d + k] = 2.0 * c;
            }
        }
        // A population collapsed in some direction has a singular covariance;
        // a ridge proportional to the prior's variance restores a proper
        // kernel, as small as will do.
        let mut chol = cholesky(&cov, d);
        let mut ridge = 1e-12;
        while chol.is_none() && ridge <= 1.0 {
            let mut jittered = cov.clone();
            for (k, p) in problem.params.iter().enumerate() {
                jittered[k * d + k] += ridge * p.prior.variance();
            }
            chol = cholesky(&jittered, d);
            ridge *= 100.0;
        }
        let chol = chol.unwrap_or_else(|| {
            let mut l = vec![0.0; d * d];
            for (k, p) in problem.params.iter().enumerate() {
                l[k * d + k] = p.prior.variance().sqrt();
            }
            l
        });
        let mut total = 0.0;
        let cumulative = w
            .iter()
            .map(|wi| {
                total += wi;
                total
            })
            .collect();
        Kernel {
            previous,
            cumulative,
            chol,
        }
    }

    /// A proposal inside the prior's support, or `None` after
    /// [`MAX_PROPOSAL_TRIES`].
    fn propose<M: Model>(&self, rng: &mut ChaCha8Rng, problem: &Problem<M>) -> Option<Vec<f64>> {
        let d = self.previous.dim();
        let n = self.previous.len();
        let total = self.cumulative[n - 1];
        let mut z = vec![0.0; d];
        let mut theta = vec![0.0; d];
        for _ in 0..MAX_PROPOSAL_TRIES {
            let u = rng.random::<f64>() * total;
            let j = self.cumulative.partition_point(|&c| c <= u).min(n - 1);
            for zk in z.iter_mut() {
                *zk = rng.sample(StandardNormal);
            }
            let base = &self.previous.particles[j * d..(j + 1) * d];
            for k in 0..d {
                let shift: f64 = (0..=k).map(|l| self.chol[k * d + l] * z[l]).sum();
                theta[k] = base[k] + shift;
            }
            if problem.in_support(&theta) {
                return Some(theta);
            }
        }
        None
    }

    /// `-1/2` times the squared Mahalanobis distance of `delta` under the
    /// kernel's covariance (the log kernel density up to a common constant).
    fn ln_kernel(&self, delta: &mut [f64]) -> f64 {
        let d = delta.len();
        // Forward substitution: solve L y = delta in place.
        for k in 0..d {
            let row = &self.chol[k * d..k * d + k];
            let known: f64 = row.iter().zip(&delta[..k]).map(|(l, y)| l * y).sum();
            delta[k] = (delta[k] - known) / self.chol[k * d + k];
        }
        -0.5 * delta.iter().map(|y| y * y).sum::<f64>()
    }

    /// Unnormalised log importance weight of `theta`: log prior minus the log
    /// of the mixture `sum_j w_j K(theta | theta_j)`.
    fn ln_weight<M: Model>(&self, theta: &[f64], problem: &Problem<M>) -> f64 {
        let d = theta.len();
        let prev = self.previous;
        let mut delta = vec![0.0; d];
        let terms: Vec<f64> = (0..prev.len())
            .map(|j| {
                let wj = prev.weights[j];
                if wj <= 0.0 {
                    return f64::NEG_INFINITY;
                }
                for (k, dk) in delta.iter_mut().enumerate() {
                    *dk = theta[k] - prev.particles[j * d + k];
                }
                wj.ln() + self.ln_kernel(&mut delta)
            })
            .collect();
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln();
        problem.ln_prior(theta) - lse
    }
}

/// Normalised weights from log weights, in a fixed order.
fn normalise_ln_weights(ln_w: &[f64]) -> Vec<f64> {
    let max = ln_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = ln_w.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    w.iter().map(|x| x / total).collect()
}

enum Step {
    Done(Box<Population>),
    Stopped(Stop, u64),
}

impl<'a, M: Model> Smc<'a, M> {
    /// ABC-SMC of `problem` with `config`.
    pub fn new(problem: &'a Problem<M>, config: SmcConfig) -> Self {
        Smc {
            problem,
            config,
            progress: None,
            cancel: None,
            checkpoint: None,
            resume: None,
        }
    }

    /// Calls `f` after every batch.
    pub fn progress(mut self, f: &'a mut dyn FnMut(&SmcProgress)) -> Self {
        self.progress = Some(f);
        self
    }

    /// Stops between batches once `flag` is set ([`Stop::Cancelled`]).
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Calls `f` with every complete population (generation 0 included),
    /// e.g. to save it for a resume.
    pub fn checkpoint(mut self, f: &'a mut PopulationCheckpointFn<'a>) -> Self {
        self.checkpoint = Some(f);
        self
    }

    /// Continues from `population`, a complete generation of a run of this
    /// problem with the same seed, population, initial draws, alpha and
    /// batch; the result is the same bits as the uninterrupted run.
    pub fn resume(mut self, population: Population) -> Self {
        self.resume = Some(population);
        self
    }

    fn fingerprint(&self) -> [u8; 32] {
        let c = &self.config;
        self.problem.fingerprint(
            "smc",
            &[
                c.seed,
                c.population as u64,
                c.initial_draws,
                c.alpha.to_bits(),
                c.batch,
            ],
        )
    }

    /// Runs until a stopping rule holds.
    ///
    /// # Errors
    /// [`AbcError::InvalidConfig`], [`AbcError::ResumeMismatch`],
    /// [`AbcError::Cancelled`] (before generation 0 is complete),
    /// [`AbcError::TooFewFinite`], [`AbcError::ProposalOutsideSupport`],
    /// [`AbcError::Checkpoint`] or a model failure.
    pub fn run(mut self) -> Result<SmcOutcome, AbcError> {
        self.config.validate()?;
        let c = self.config;
        let fingerprint = self.fingerprint();
        let key = proposal_key(c.seed);
        let mut population = match self.resume.take() {
            Some(p) => {
                self.check_resume(&p, &fingerprint)?;
                p
            }
            None => self.rejection(&key, fingerprint)?,
        };
        loop {
            let total = population.total_simulations;
            let stop = if population.epsilon <= c.target_epsilon {
                Some(Stop::TargetEpsilon)
            } else if population.generation + 1 >= c.max_generations {
                Some(Stop::MaxGenerations)
            } else if total >= c.max_simulations {
                Some(Stop::SimulationBudget)
            } else if cancelled(self.cancel) {
                Some(Stop::Cancelled)
            } else {
                None
            };
            if let Some(stop) = stop {
                return Ok(SmcOutcome {
                    population,
                    stop,
                    total_simulations: total,
                });
            }
            let quantile = weighted_quantile(&population.distances, &population.weights, c.alpha);
            let epsilon = quantile.max(c.target_epsilon);
            if epsilon.is_nan() || epsilon >= population.epsilon {
                return Ok(SmcOutcome {
                    population,
                    stop: Stop::Stalled,
                    total_simulations: total,
                });
            }
            match self.generation(&population, epsilon, &key, &fingerprint)? {
                Step::Done(next) => {
                    self.save(&next)?;
                    population = *next;
                }
                Step::Stopped(stop, sims) => {
                    return Ok(SmcOutcome {
                        population,
                        stop,
                        total_simulations: total + sims,
                    });
                }
            }
        }
    }

    /// Generation 0, saved: the best `population` of `initial_draws`
    /// prior draws (the rejection baseline), equally weighted.
    fn rejection(&mut self, key: &[u8; 32], fingerprint: [u8; 32]) -> Result<Population, AbcError> {
        let c = self.config;
        let (kept, sims) = sample_prior(
            self.problem,
            key,
            c.initial_draws,
            Keep::Best(c.population),
            c.batch,
            0,
            self.cancel,
            &mut self.progress,
        )?
        .ok_or(AbcError::Cancelled)?;
        let epsilon = kept.last().map_or(f64::INFINITY, |k| k.distance);
        let p = population_from(
            fingerprint,
            self.names(),
            0,
            epsilon,
            kept,
            vec![1.0 / c.population as f64; c.population],
            sims,
            sims,
            Vec::new(),
        );
        self.save(&p)?;
        Ok(p)
    }

    fn names(&self) -> Vec<String> {
        self.problem.params.iter().map(|p| p.name.clone()).collect()
    }

    fn save(&mut self, population: &Population) -> Result<(), AbcError> {
        match self.checkpoint.as_mut() {
            Some(f) => f(population).map_err(AbcError::Checkpoint),
            None => Ok(()),
        }
    }

    fn check_resume(&self, p: &Population, fingerprint: &[u8; 32]) -> Result<(), AbcError> {
        let mismatch = |reason| Err(AbcError::ResumeMismatch { reason });
        if p.fingerprint != *fingerprint {
            return mismatch(
                "the population is of another problem, seed, population size, initial draws, alpha or batch",
            );
        }
        // A population that decoded with the right fingerprint should fit;
        // check its shapes anyway, since a checksum is no signature.
        if p.len() != self.config.population
            || p.names != self.names()
            || p.statistics_len != self.problem.observed.len()
            || p.generation >= MAX_GENERATIONS
        {
            return mismatch("the population's shape does not fit the problem");
        }
        if p.particles
            .chunks_exact(p.dim())
            .any(|x| !self.problem.in_support(x))
        {
            return mismatch("a particle is outside the prior's support");
        }
        Ok(())
    }

    /// One generation after `previous` at tolerance `epsilon`.
    fn generation(
        &mut self,
        previous: &Population,
        epsilon: f64,
        key: &[u8; 32],
        fingerprint: &[u8; 32],
    ) -> Result<Step, AbcError> {
        let c = self.config;
        let problem = self.problem;
        let generation = previous.generation + 1;
        let kernel = Kernel::fit(previous, problem);
        let propose = |rng: &mut ChaCha8Rng, candidate: u64| {
            kernel
                .propose(rng, problem)
                .ok_or(AbcError::ProposalOutsideSupport {
                    generation,
                    candidate,
                })
        };
        let n = c.population;
        let cap = if c.min_acceptance_rate > 0.0 {
            (n as f64 / c.min_acceptance_rate)
                .ceil()
                .min(MAX_SIMULATIONS as f64) as u64
        } else {
            u64::MAX
        };
        let total_before = previous.total_simulations;
        let mut accepted: Vec<Candidate> = Vec::with_capacity(n);
        let mut sims = 0u64;
        while accepted.len() < n {
            if cancelled(self.cancel) {
                return Ok(Step::Stopped(Stop::Cancelled, sims));
            }
            let budget = c.max_simulations.saturating_sub(total_before + sims);
            if budget == 0 {
                return Ok(Step::Stopped(Stop::SimulationBudget, sims));
            }
            if sims >= cap {
                return Ok(Step::Stopped(Stop::MinAcceptanceRate, sims));
            }
            let len = c.batch.min(budget).min(cap - sims);
            let batch = problem.batch(key, generation, sims, len, &propose)?;
            sims += len;
            for candidate in batch {
                if accepted.len() < n && candidate.distance <= epsilon {
                    accepted.push(candidate);
                }
            }
            if let Some(f) = self.progress.as_mut() {
                f(&SmcProgress {
                    generation,
                    epsilon,
                    accepted: accepted.len(),
                    population: n,
                    simulations: sims,
                    acceptance_rate: accepted.len() as f64 / sims as f64,
                    total_simulations: total_before + sims,
                });
            }
        }
        let ln_w: Vec<f64> = accepted
            .par_iter()
            .map(|cand| kernel.ln_weight(&cand.theta, problem))
            .collect();
        let weights = normalise_ln_weights(&ln_w);
        Ok(Step::Done(Box::new(population_from(
            *fingerprint,
            previous.names.clone(),
            generation,
            epsilon,
            accepted,
            weights,
            sims,
            total_before + sims,
            previous.history.clone(),
        ))))
    }
}

#[cfg(test)]
mod tests;
