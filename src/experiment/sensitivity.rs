//! Global sensitivity indices read back from the outputs measured at the
//! points of a design, with bootstrap confidence intervals.
//!
//! - [`sobol_indices`]: variance-based first-order and total Sobol' indices
//!   from a [`SaltelliDesign`]. First order uses the estimator of Saltelli et
//!   al. (2010, table 2 (b)), `S_j = mean(f(B) (f(A_B^(j)) - f(A))) / V`;
//!   total uses Jansen's (1999) estimator, `ST_j = mean((f(A) -
//!   f(A_B^(j)))^2) / (2 V)`, where `V` is the variance of the outputs at the
//!   points of A and B together. These are the estimators SALib's
//!   `sobol.analyze` uses.
//! - [`morris_indices`]: Morris's (1991) elementary-effects screening from a
//!   [`MorrisDesign`]: `mu` (mean effect), `mu*` (mean absolute effect,
//!   Campolongo et al. 2007, which cancellation of opposite signs cannot
//!   hide) and `sigma` (spread, a sign of interactions or non-linearity).
//!
//! Confidence intervals are percentile bootstrap intervals (Efron): the
//! estimator is recomputed on [`BootstrapConfig::resamples`] resamples, drawn
//! with replacement, of the design's independent units (the base samples of
//! a Saltelli design, the trajectories of a Morris design; one set of drawn
//! units serves every parameter), and the interval runs between the
//! `(1 - level) / 2` and `(1 + level) / 2` quantiles of the recomputed values
//! (linear interpolation between order statistics, Hyndman and Fan's type 7,
//! NumPy's default). SALib reports a normal approximation instead,
//! `value ± z sd(resamples)`; the percentile interval needs no normality and
//! stays asymmetric where the sampling distribution is. Resample `k` draws
//! from its own ChaCha8 stream of the seed, so intervals are reproducible.
//!
//! References:
//! - Saltelli, Annoni, Azzini, Campolongo, Ratto, Tarantola (2010), *Variance
//!   based sensitivity analysis of model output. Design and estimator for the
//!   total sensitivity index*, Comput. Phys. Commun. 181(2):259-270.
//! - Jansen (1999), *Analysis of variance designs for model output*, Comput.
//!   Phys. Commun. 117(1-2):35-43.
//! - Morris (1991), *Factorial sampling plans for preliminary computational
//!   experiments*, Technometrics 33(2):161-174.
//! - Campolongo, Cariboni, Saltelli (2007), *An effective screening design for
//!   sensitivity analysis of large models*, Environ. Model. Softw.
//!   22(10):1509-1518.
//! - Efron, Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 13.

use std::sync::atomic::{AtomicBool, Ordering};

use rand::Rng;

use super::design::{MorrisDesign, Purpose, SaltelliDesign, stream};

/// Why indices could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SensitivityError {
    /// The outputs are not one per design point.
    #[error("expected {expected} outputs, one per design point, got {got}")]
    OutputLength {
        /// Points in the design.
        expected: usize,
        /// Outputs given.
        got: usize,
    },
    /// An output is NaN or infinite.
    #[error("output {index} is {value}; every output must be finite")]
    NonFiniteOutput {
        /// Its position, which is also its design point's row.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The outputs at the points of A and B are all equal, so there is no
    /// variance to apportion and Sobol' indices are undefined (0 / 0).
    #[error("the output does not vary across the design, so Sobol indices are undefined")]
    ZeroVariance,
    /// The confidence level is not strictly between 0 and 1.
    #[error("confidence level {level} must be strictly between 0 and 1")]
    InvalidLevel {
        /// The level given.
        level: f64,
    },
    /// The bootstrap was asked for no resamples.
    #[error("the bootstrap needs at least 1 resample")]
    NoResamples,
    /// The bootstrap was asked for more than [`MAX_RESAMPLES`]: its
    /// replicates would not fit in memory, and its intervals gain nothing.
    #[error("{resamples} bootstrap resamples: at most {MAX_RESAMPLES}")]
    TooManyResamples {
        /// Resamples asked for.
        resamples: usize,
    },
    /// The cancel flag stopped the bootstrap.
    #[error("the bootstrap was cancelled")]
    Cancelled,
}

/// The most bootstrap resamples: far more than percentile intervals need
/// (their Monte Carlo error is below 0.1% of the level at 100,000), and few
/// enough that the replicates (one per resample and parameter) fit in memory.
pub const MAX_RESAMPLES: usize = 100_000;

/// Resamples between two looks at the cancel flag.
const CANCEL_EVERY: usize = 64;

fn cancelled(cancel: Option<&AtomicBool>) -> bool {
    cancel.is_some_and(|c| c.load(Ordering::Relaxed))
}

/// How to bootstrap confidence intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapConfig {
    /// Number of resamples (default 1000; at least 1).
    pub resamples: usize,
    /// Confidence level of the intervals, strictly between 0 and 1 (default
    /// 0.95).
    pub level: f64,
    /// Seed of the resampling streams (default 0).
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: 1000,
            level: 0.95,
            seed: 0,
        }
    }
}

impl BootstrapConfig {
    fn check(&self) -> Result<(), SensitivityError> {
        // Written so that NaN fails too.
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(SensitivityError::InvalidLevel { level: self.level });
        }
        if self.resamples == 0 {
            return Err(SensitivityError::NoResamples);
        }
        if self.resamples > MAX_RESAMPLES {
            return Err(SensitivityError::TooManyResamples {
                resamples: self.resamples,
            });
        }
        Ok(())
    }
}

/// A point estimate with its bootstrap confidence interval `[low, high]`.
///
/// `value` is computed from the whole sample, so with a biased estimator or a
/// skewed sampling distribution it need not be centred in the interval (and
/// in rare degenerate cases, such as very few resamples, may lie outside it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate from the whole sample.
    pub value: f64,
    /// Lower end of the confidence interval.
    pub low: f64,
    /// Upper end of the confidence interval.
    pub high: f64,
}

/// First-order and total Sobol' indices of one parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SobolIndex {
    /// The parameter's name, from its [`super::design::ParamRange`].
    pub name: String,
    /// First-order index `S_j`: the share of the output's variance explained
    /// by this parameter alone.
    pub first: Estimate,
    /// Total index `ST_j`: the share of variance that would remain if every
    /// other parameter were fixed, interactions included; `ST_j - S_j` is
    /// the share due to interactions.
    pub total: Estimate,
}

/// Sobol' indices of every parameter, in the design's parameter order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SobolIndices {
    /// One entry per parameter, in the order of the design's ranges.
    pub params: Vec<SobolIndex>,
    /// Population variance of the outputs at the points of A and B, the `V`
    /// the indices are shares of (infinite if it exceeds `f64::MAX`, for
    /// outputs spread beyond about 1e154; the indices are still computed).
    pub variance: f64,
    /// Number of base samples `n`.
    pub base: usize,
    /// The bootstrap that produced the intervals.
    pub bootstrap: BootstrapConfig,
    /// Resamples in which the outputs at A and B happened to be all equal
    /// (possible when the output is nearly constant, e.g. a rare event's
    /// indicator). Like SALib, such a resample counts as index 0 for every
    /// parameter; if this is a sizeable share of `bootstrap.resamples`, the
    /// intervals are unreliable and `n` should grow.
    pub degenerate_resamples: usize,
}

impl SobolIndices {
    /// The parameters, most influential first by total index (ties keep
    /// parameter order).
    pub fn ranked_by_total(&self) -> Vec<&SobolIndex> {
        let mut ranked: Vec<&SobolIndex> = self.params.iter().collect();
        ranked.sort_by(|a, b| b.total.value.total_cmp(&a.total.value));
        ranked
    }
}

/// Morris screening measures of one parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MorrisIndex {
    /// The parameter's name, from its [`super::design::ParamRange`].
    pub name: String,
    /// Mean elementary effect; effects of opposite signs cancel in it.
    pub mu: f64,
    /// Mean absolute elementary effect, with its bootstrap interval: the
    /// measure to rank parameters by.
    pub mu_star: Estimate,
    /// Standard deviation of the elementary effects (denominator `r - 1`):
    /// large when the effect depends on where it is measured, through
    /// interactions or non-linearity.
    pub sigma: f64,
}

/// Morris screening measures of every parameter, in the design's parameter
/// order.
///
/// Elementary effects are in output units per *whole range* of the parameter:
/// `EE_j = (f(x after the move) - f(x before)) / (± delta)`, with the step
/// `delta` a fraction of the range, signed by the move's direction. For a
/// linear `f = sum c_j x_j` this is exactly `c_j (upper_j - lower_j)`, so
/// effects of parameters in different units are comparable (as in SALib,
/// which works in the unit cube).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MorrisIndices {
    /// One entry per parameter, in the order of the design's ranges.
    pub params: Vec<MorrisIndex>,
    /// Number of trajectories `r` (elementary effects per parameter).
    pub trajectories: usize,
    /// The step as a fraction of each range.
    pub delta: f64,
    /// The bootstrap that produced the intervals.
    pub bootstrap: BootstrapConfig,
}

impl MorrisIndices {
    /// The parameters, most influential first by `mu*` (ties keep parameter
    /// order).
    pub fn ranked_by_mu_star(&self) -> Vec<&MorrisIndex> {
        let mut ranked: Vec<&MorrisIndex> = self.params.iter().collect();
        ranked.sort_by(|a, b| b.mu_star.value.total_cmp(&a.mu_star.value));
        ranked
    }
}

/// First-order and total Sobol' indices from the outputs `y` of a Saltelli
/// design, `y[i]` measured at point `i` (see [`SaltelliDesign`] for the
/// layout), with bootstrap intervals that resample the base samples.
///
/// The outputs are centred on their mean first (as SALib does), which
/// leaves the estimators' expectations unchanged and spares the first-order
/// estimator the cancellation a large mean would cause. Estimates can fall
/// slightly outside `[0, 1]`, or `S_j` slightly above `ST_j`, through sampling
/// error; they are reported as estimated, not clipped.
///
/// # Errors
///
/// [`SensitivityError::InvalidLevel`] or [`SensitivityError::NoResamples`]
/// for a bad `bootstrap`, [`SensitivityError::OutputLength`] unless there is
/// one output per point, [`SensitivityError::NonFiniteOutput`] for a NaN or
/// infinite output, and [`SensitivityError::ZeroVariance`] if the outputs at
/// the points of A and B are all equal.
pub fn sobol_indices(
    design: &SaltelliDesign,
    y: &[f64],
    bootstrap: &BootstrapConfig,
) -> Result<SobolIndices, SensitivityError> {
    sobol_indices_until(design, y, bootstrap, None)
}

/// [`sobol_indices`] that stops with [`SensitivityError::Cancelled`] soon
/// after `cancel` is set: a large bootstrap takes minutes, and an
/// interrupted command must not sit through it.
///
/// # Errors
/// Those of [`sobol_indices`], and [`SensitivityError::Cancelled`].
pub fn sobol_indices_until(
    design: &SaltelliDesign,
    y: &[f64],
    bootstrap: &BootstrapConfig,
    cancel: Option<&AtomicBool>,
) -> Result<SobolIndices, SensitivityError> {
    bootstrap.check()?;
    check_outputs(design.len(), y)?;
    let dim = design.dim();
    let n = design.base();
    let outputs = SaltelliOutputs::new(y, dim);

    let all: Vec<usize> = (0..n).collect();
    let mut first = vec![0.0; dim];
    let mut total = vec![0.0; dim];
    let variance = outputs
        .estimate(&all, &mut first, &mut total)
        .ok_or(SensitivityError::ZeroVariance)?
        * outputs.scale
        * outputs.scale;

    // Replicates, parameter-major: replicate k of parameter j at j * B + k.
    let resamples = bootstrap.resamples;
    let mut first_reps = vec![0.0; dim * resamples];
    let mut total_reps = vec![0.0; dim * resamples];
    let mut degenerate_resamples = 0;
    let mut rows = vec![0usize; n];
    let mut f = vec![0.0; dim];
    let mut t = vec![0.0; dim];
    for k in 0..resamples {
        if k % CANCEL_EVERY == 0 && cancelled(cancel) {
            return Err(SensitivityError::Cancelled);
        }
        draw_indices(bootstrap.seed, Purpose::SobolBootstrap, k, n, &mut rows);
        if outputs.estimate(&rows, &mut f, &mut t).is_none() {
            degenerate_resamples += 1;
            f.fill(0.0);
            t.fill(0.0);
        }
        for j in 0..dim {
            first_reps[j * resamples + k] = f[j];
            total_reps[j * resamples + k] = t[j];
        }
    }

    let params = design
        .design()
        .ranges()
        .iter()
        .enumerate()
        .map(|(j, range)| {
            let reps = j * resamples..(j + 1) * resamples;
            SobolIndex {
                name: range.name().to_owned(),
                first: interval(first[j], &mut first_reps[reps.clone()], bootstrap.level),
                total: interval(total[j], &mut total_reps[reps], bootstrap.level),
            }
        })
        .collect();
    Ok(SobolIndices {
        params,
        variance,
        base: n,
        bootstrap: *bootstrap,
        degenerate_resamples,
    })
}

/// The outputs of a Saltelli design, block by block.
struct SaltelliOutputs<'a> {
    /// The outputs as given (for the exact test of no variance).
    raw: &'a [f64],
    /// The outputs minus their mean, divided by `scale`.
    centred: Vec<f64>,
    /// The largest deviation from the mean (1 if there is none).
    scale: f64,
    dim: usize,
}

impl<'a> SaltelliOutputs<'a> {
    fn new(raw: &'a [f64], dim: usize) -> Self {
        // Dividing each term keeps the mean finite for any finite outputs.
        let count = raw.len() as f64;
        let mean = raw.iter().map(|v| v / count).sum::<f64>();
        let mut centred: Vec<f64> = raw.iter().map(|v| v - mean).collect();
        // The indices are ratios, so scale does not matter to them; scaling
        // to at most 1 in magnitude keeps squares from overflowing (outputs
        // near 1e154 and beyond) or underflowing (near 1e-154 and below).
        let largest = centred.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let scale = if largest > 0.0 && largest.is_finite() {
            largest
        } else {
            1.0
        };
        centred.iter_mut().for_each(|v| *v /= scale);
        SaltelliOutputs {
            raw,
            centred,
            scale,
            dim,
        }
    }

    /// Estimates from the base samples `rows` (repeats allowed) into `first`
    /// and `total`; returns the variance of the outputs at A and B in units of
    /// `scale^2`, or `None` (leaving `first` and `total` untouched) when those
    /// outputs are all equal.
    fn estimate(&self, rows: &[usize], first: &mut [f64], total: &mut [f64]) -> Option<f64> {
        let dim = self.dim;
        let block = dim + 2;
        let a = |i: usize| i * block;
        let b = |i: usize| i * block + dim + 1;

        // Exact equality on the raw outputs: a constant output has zero
        // variance even where its computed mean would round.
        let reference = self.raw[a(rows[0])];
        if rows
            .iter()
            .all(|&i| self.raw[a(i)] == reference && self.raw[b(i)] == reference)
        {
            return None;
        }

        let count = rows.len() as f64;
        let y = &self.centred;
        let mean = rows.iter().map(|&i| y[a(i)] + y[b(i)]).sum::<f64>() / (2.0 * count);
        // One pass over each resampled block, reading it contiguously.
        let mut squares = 0.0;
        first.fill(0.0);
        total.fill(0.0);
        for &i in rows {
            let outputs = &y[i * block..(i + 1) * block];
            let (ya, yb) = (outputs[0], outputs[dim + 1]);
            squares += (ya - mean).powi(2) + (yb - mean).powi(2);
            for ((yab, s), st) in outputs[1..=dim].iter().zip(&mut *first).zip(&mut *total) {
                *s += yb * (yab - ya);
                *st += (ya - yab).powi(2);
            }
        }
        let variance = squares / (2.0 * count);
        for (s, st) in first.iter_mut().zip(total.iter_mut()) {
            *s /= count * variance;
            *st /= 2.0 * count * variance;
        }
        Some(variance)
    }
}

/// Morris's `mu`, `mu*` and `sigma` from the outputs `y` of a Morris design,
/// `y[i]` measured at point `i`, with a bootstrap interval for `mu*` that
/// resamples whole trajectories. See [`MorrisIndices`] for the scaling of
/// the elementary effects.
///
/// # Errors
///
/// [`SensitivityError::InvalidLevel`] or [`SensitivityError::NoResamples`]
/// for a bad `bootstrap`, [`SensitivityError::OutputLength`] unless there is
/// one output per point, [`SensitivityError::NonFiniteOutput`] for a NaN or
/// infinite output.
pub fn morris_indices(
    design: &MorrisDesign,
    y: &[f64],
    bootstrap: &BootstrapConfig,
) -> Result<MorrisIndices, SensitivityError> {
    morris_indices_until(design, y, bootstrap, None)
}

/// [`morris_indices`] that stops with [`SensitivityError::Cancelled`] soon
/// after `cancel` is set.
///
/// # Errors
/// Those of [`morris_indices`], and [`SensitivityError::Cancelled`].
pub fn morris_indices_until(
    design: &MorrisDesign,
    y: &[f64],
    bootstrap: &BootstrapConfig,
    cancel: Option<&AtomicBool>,
) -> Result<MorrisIndices, SensitivityError> {
    bootstrap.check()?;
    check_outputs(design.len(), y)?;
    let dim = design.dim();
    let r = design.trajectories();
    let delta = design.delta();

    // Elementary effects, parameter-major: trajectory t of parameter j at
    // j * r + t. Each parameter moves exactly once per trajectory.
    let mut effects = vec![0.0; dim * r];
    for (s, step) in design.steps().iter().enumerate() {
        let (t, k) = (s / dim, s % dim);
        let row = t * (dim + 1) + k;
        let change = y[row + 1] - y[row];
        let signed = if step.increased { change } else { -change };
        effects[step.param * r + t] = signed / delta;
    }

    let resamples = bootstrap.resamples;
    let mut mu_star_reps = vec![0.0; dim * resamples];
    let mut picks = vec![0usize; r];
    for k in 0..resamples {
        if k % CANCEL_EVERY == 0 && cancelled(cancel) {
            return Err(SensitivityError::Cancelled);
        }
        draw_indices(bootstrap.seed, Purpose::MorrisBootstrap, k, r, &mut picks);
        for j in 0..dim {
            let ee = &effects[j * r..(j + 1) * r];
            mu_star_reps[j * resamples + k] =
                picks.iter().map(|&t| ee[t].abs()).sum::<f64>() / r as f64;
        }
    }

    let params = design
        .design()
        .ranges()
        .iter()
        .enumerate()
        .map(|(j, range)| {
            let ee = &effects[j * r..(j + 1) * r];
            let mu = ee.iter().sum::<f64>() / r as f64;
            let mu_star = ee.iter().map(|e| e.abs()).sum::<f64>() / r as f64;
            // r >= 2 is guaranteed by the design.
            let sigma = (ee.iter().map(|e| (e - mu).powi(2)).sum::<f64>() / (r - 1) as f64).sqrt();
            let reps = &mut mu_star_reps[j * resamples..(j + 1) * resamples];
            MorrisIndex {
                name: range.name().to_owned(),
                mu,
                mu_star: interval(mu_star, reps, bootstrap.level),
                sigma,
            }
        })
        .collect();
    Ok(MorrisIndices {
        params,
        trajectories: r,
        delta,
        bootstrap: *bootstrap,
    })
}

/// One output per point, all finite.
fn check_outputs(expected: usize, y: &[f64]) -> Result<(), SensitivityError> {
    if y.len() != expected {
        return Err(SensitivityError::OutputLength {
            expected,
            got: y.len(),
        });
    }
    if let Some((index, &value)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SensitivityError::NonFiniteOutput { index, value });
    }
    Ok(())
}

/// Fills `into` with draws, uniform with replacement, from `0..units`, using
/// resample `k`'s own stream. Draws are `u64` so they do not depend on the
/// target's pointer width.
fn draw_indices(seed: u64, purpose: Purpose, k: usize, units: usize, into: &mut [usize]) {
    let mut rng = stream(seed, purpose, k as u64);
    for i in into.iter_mut() {
        *i = rng.random_range(0..units as u64) as usize;
    }
}

/// The percentile interval of `replicates` (sorted in place) at `level`,
/// around the point estimate `value`.
fn interval(value: f64, replicates: &mut [f64], level: f64) -> Estimate {
    replicates.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Estimate {
        value,
        low: quantile(replicates, tail),
        high: quantile(replicates, 1.0 - tail),
    }
}

/// The `q`-quantile of sorted, non-empty `values`, interpolating linearly
/// between order statistics (Hyndman and Fan's type 7).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let below = h.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = h - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::design::{ParamRange, morris, saltelli};
    use std::f64::consts::PI;

    const A: f64 = 7.0;
    const B: f64 = 0.1;

    fn ishigami(x: &[f64]) -> f64 {
        x[0].sin() + A * x[1].sin().powi(2) + B * x[2].powi(4) * x[0].sin()
    }

    /// Ishigami's inputs, uniform on [-pi, pi], plus a dummy `x4` it ignores.
    fn ishigami_ranges() -> Vec<ParamRange> {
        ["x1", "x2", "x3", "x4"]
            .iter()
            .map(|n| ParamRange::new(*n, -PI, PI).unwrap())
            .collect()
    }

    /// Analytic first-order and total indices of the Ishigami function from
    /// its closed-form partial variances (Ishigami and Homma 1990; Sobol' and
    /// Levitan 1999), for x1, x2, x3 and the dummy x4.
    fn ishigami_analytic() -> ([f64; 4], [f64; 4]) {
        let pi4 = PI.powi(4);
        let pi8 = PI.powi(8);
        let v1 = 0.5 * (1.0 + B * pi4 / 5.0).powi(2);
        let v2 = A * A / 8.0;
        let v13 = B * B * pi8 * (1.0 / 18.0 - 1.0 / 50.0);
        let v = A * A / 8.0 + B * pi4 / 5.0 + B * B * pi8 / 18.0 + 0.5;
        // The partial variances add up to the total: the decomposition is
        // complete (x1, x2, x3 and x1-x3 are the only non-zero terms).
        assert!((v1 + v2 + v13 - v).abs() < 1e-12 * v);
        (
            [v1 / v, v2 / v, 0.0, 0.0],
            [(v1 + v13) / v, v2 / v, v13 / v, 0.0],
        )
    }

    #[test]
    fn ishigami_analytic_values_match_the_published_ones() {
        let (s1, st) = ishigami_analytic();
        let published_s1 = [0.3139, 0.4424, 0.0];
        let published_st = [0.5576, 0.4424, 0.2437];
        for j in 0..3 {
            assert!((s1[j] - published_s1[j]).abs() < 5e-5, "S1_{j} {}", s1[j]);
            assert!((st[j] - published_st[j]).abs() < 5e-5, "ST_{j} {}", st[j]);
        }
    }

    /// Sobol' indices of `f` from `n` base samples, with 500 resamples
    /// (enough for a 95% interval, and half the debug-build time of 1000).
    fn sobol_of(
        f: impl Fn(&[f64]) -> f64,
        ranges: &[ParamRange],
        n: usize,
        seed: u64,
    ) -> SobolIndices {
        let design = saltelli(ranges, n, seed).unwrap();
        let y: Vec<f64> = design.points().map(f).collect();
        let bootstrap = BootstrapConfig {
            seed,
            resamples: 500,
            ..BootstrapConfig::default()
        };
        sobol_indices(&design, &y, &bootstrap).unwrap()
    }

    #[test]
    fn sobol_indices_of_ishigami_match_the_analytic_values() {
        let (s1, st) = ishigami_analytic();
        // Two design seeds, not chosen: both must pass. At n = 1024 the
        // estimates of seeds 1 to 6 are all within 0.03 of the exact values.
        for seed in 1..=2 {
            let s = sobol_of(ishigami, &ishigami_ranges(), 1024, seed);
            assert_eq!(s.degenerate_resamples, 0);
            for (j, p) in s.params.iter().enumerate() {
                for (what, est, exact) in [("S1", p.first, s1[j]), ("ST", p.total, st[j])] {
                    assert!(
                        (est.value - exact).abs() < 0.05,
                        "seed {seed} {what}_{j}: {est:?} vs {exact}"
                    );
                    assert!(
                        est.low <= exact && exact <= est.high,
                        "seed {seed} {what}_{j}: {est:?} misses {exact}"
                    );
                    // Intervals are informative, not vacuous.
                    assert!(est.high - est.low < 0.3, "seed {seed} {what}_{j}: {est:?}");
                }
            }
            // The dummy x4 changes nothing, so A_B^(4) gives exactly f(A):
            // both its estimates are exactly zero (a check of the layout).
            let dummy = &s.params[3];
            assert_eq!((dummy.first.value, dummy.total.value), (0.0, 0.0));
            assert_eq!(
                s.ranked_by_total()
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>(),
                ["x1", "x2", "x3", "x4"]
            );
        }
    }

    #[test]
    fn sobol_indices_of_a_linear_function_are_its_variance_shares() {
        // f = sum c_j x_j with x_j uniform on [l_j, u_j]: additive, so
        // S_j = ST_j = c_j^2 (u_j - l_j)^2 / sum_k c_k^2 (u_k - l_k)^2. The
        // different widths check that points are mapped onto their ranges.
        let c = [2.0, -1.0, 0.5];
        let ranges = [
            ParamRange::new("a", 0.0, 1.0).unwrap(),
            ParamRange::new("b", 10.0, 13.0).unwrap(),
            ParamRange::new("c", -4.0, 4.0).unwrap(),
        ];
        let shares: Vec<f64> = c
            .iter()
            .zip(&ranges)
            .map(|(c, r)| (c * (r.upper() - r.lower())).powi(2))
            .collect();
        let sum: f64 = shares.iter().sum();
        let s = sobol_of(
            |x| c.iter().zip(x).map(|(c, x)| c * x).sum(),
            &ranges,
            512,
            4,
        );
        let v: f64 = shares.iter().sum::<f64>() / 12.0;
        assert!(
            (s.variance - v).abs() < 0.02 * v,
            "variance {} vs {v}",
            s.variance
        );
        for (p, share) in s.params.iter().zip(&shares) {
            let exact = share / sum;
            for est in [p.first, p.total] {
                assert!(
                    (est.value - exact).abs() < 0.02,
                    "{}: {est:?} vs {exact}",
                    p.name
                );
                assert!(
                    est.low <= exact && exact <= est.high,
                    "{}: {est:?} vs {exact}",
                    p.name
                );
            }
        }
    }

    #[test]
    fn sobol_indices_are_reproducible_and_the_seed_only_moves_intervals() {
        let ranges = ishigami_ranges();
        let design = saltelli(&ranges, 128, 8).unwrap();
        let y: Vec<f64> = design.points().map(ishigami).collect();
        let config = BootstrapConfig::default();
        let a = sobol_indices(&design, &y, &config).unwrap();
        let b = sobol_indices(&design, &y, &config).unwrap();
        assert_eq!(a, b);
        let other = BootstrapConfig { seed: 1, ..config };
        let c = sobol_indices(&design, &y, &other).unwrap();
        for (p, q) in a.params.iter().zip(&c.params) {
            assert_eq!(p.first.value, q.first.value);
            assert_eq!(p.total.value, q.total.value);
        }
        assert_ne!(a.params[0].first.low, c.params[0].first.low);
        // A wider level gives a wider interval from the same resamples.
        let wide = BootstrapConfig {
            level: 0.99,
            ..config
        };
        let w = sobol_indices(&design, &y, &wide).unwrap();
        for (p, q) in a.params.iter().zip(&w.params).take(3) {
            assert!(q.first.low < p.first.low && p.first.high < q.first.high);
        }
    }

    #[test]
    fn sobol_indices_reject_bad_outputs_and_configs() {
        let design = saltelli(&ishigami_ranges(), 16, 0).unwrap();
        let config = BootstrapConfig::default();
        let len = design.len();
        assert_eq!(
            sobol_indices(&design, &vec![1.0; len - 1], &config),
            Err(SensitivityError::OutputLength {
                expected: len,
                got: len - 1
            })
        );
        assert_eq!(
            sobol_indices(&design, &vec![0.1; len], &config),
            Err(SensitivityError::ZeroVariance)
        );
        let mut y: Vec<f64> = design.points().map(ishigami).collect();
        y[17] = f64::NAN;
        assert!(matches!(
            sobol_indices(&design, &y, &config),
            Err(SensitivityError::NonFiniteOutput { index: 17, .. })
        ));
        y[17] = f64::NEG_INFINITY;
        assert!(matches!(
            sobol_indices(&design, &y, &config),
            Err(SensitivityError::NonFiniteOutput { index: 17, .. })
        ));
        y[17] = 0.0;
        for level in [0.0, 1.0, -0.5, f64::NAN] {
            let bad = BootstrapConfig { level, ..config };
            assert!(matches!(
                sobol_indices(&design, &y, &bad),
                Err(SensitivityError::InvalidLevel { .. })
            ));
        }
        let none = BootstrapConfig {
            resamples: 0,
            ..config
        };
        assert_eq!(
            sobol_indices(&design, &y, &none),
            Err(SensitivityError::NoResamples)
        );
    }

    #[test]
    fn sobol_indices_count_resamples_without_variance() {
        // One base sample's A output differs from all the others. A resample
        // misses that sample with probability (1 - 1/n)^n; those resamples
        // have no variance and are counted, not propagated as NaN.
        let n = 8;
        let design = saltelli(&ishigami_ranges(), n, 0).unwrap();
        let mut y = vec![0.0; design.len()];
        y[0] = 1.0;
        let config = BootstrapConfig::default();
        let s = sobol_indices(&design, &y, &config).unwrap();
        let expected = (1.0 - 1.0 / n as f64).powi(n as i32);
        let share = s.degenerate_resamples as f64 / config.resamples as f64;
        // Binomial standard deviation at 1000 resamples is about 0.015.
        assert!((share - expected).abs() < 0.06, "{share} vs {expected}");
        for p in &s.params {
            for est in [p.first, p.total] {
                assert!(est.value.is_finite() && est.low.is_finite() && est.high.is_finite());
            }
        }
    }

    #[test]
    fn sobol_indices_survive_extreme_magnitudes() {
        // Squares of 1e200 overflow and of 1e-200 underflow; the indices are
        // scale-free, so both must give those of the unscaled function.
        let design = saltelli(&ishigami_ranges(), 64, 2).unwrap();
        let y: Vec<f64> = design.points().map(ishigami).collect();
        let config = BootstrapConfig {
            resamples: 50,
            ..BootstrapConfig::default()
        };
        let base = sobol_indices(&design, &y, &config).unwrap();
        for scale in [1e200, 1e-200] {
            let scaled: Vec<f64> = y.iter().map(|v| v * scale).collect();
            let s = sobol_indices(&design, &scaled, &config).unwrap();
            for (p, q) in base.params.iter().zip(&s.params) {
                assert!((p.first.value - q.first.value).abs() < 1e-9, "{scale}");
                assert!((p.total.value - q.total.value).abs() < 1e-9, "{scale}");
            }
        }
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.9]) == [1.75, 2.5, 3.7]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile(&v, 0.25) - 1.75).abs() < 1e-12);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile(&v, 0.9) - 3.7).abs() < 1e-12);
        assert_eq!((quantile(&v, 0.0), quantile(&v, 1.0)), (1.0, 4.0));
        assert_eq!(quantile(&[5.0], 0.3), 5.0);
    }

    /// Moments of one parameter's elementary effect under Morris sampling,
    /// by exhaustive enumeration rather than by sampling: the moving
    /// parameter starts at one of the lower `p / 2` levels and moves up by
    /// `p / 2` levels; at that moment every other parameter is, independently,
    /// at any of the `p` levels with equal probability (its base level is
    /// uniform on the lower half and a fair coin decides whether it sits
    /// there or `p / 2` higher). Returns (E[EE], E|EE|, Var|EE|).
    fn exact_effect_moments(
        f: impl Fn(&[f64]) -> f64,
        ranges: &[ParamRange],
        levels: usize,
        param: usize,
    ) -> (f64, f64, f64) {
        let dim = ranges.len();
        let value = |j: usize, k: usize| {
            let u = k as f64 / (levels - 1) as f64;
            ranges[j].lower() + u * (ranges[j].upper() - ranges[j].lower())
        };
        let delta = levels as f64 / (2.0 * (levels - 1) as f64);
        let mut effects = Vec::new();
        let combos = levels.pow(dim as u32 - 1);
        for base in 0..levels / 2 {
            for mut code in 0..combos {
                let mut x = vec![0.0; dim];
                for (j, xj) in x.iter_mut().enumerate() {
                    if j != param {
                        *xj = value(j, code % levels);
                        code /= levels;
                    }
                }
                x[param] = value(param, base);
                let low = f(&x);
                x[param] = value(param, base + levels / 2);
                effects.push((f(&x) - low) / delta);
            }
        }
        let count = effects.len() as f64;
        let mean = effects.iter().sum::<f64>() / count;
        let mean_abs = effects.iter().map(|e| e.abs()).sum::<f64>() / count;
        let var_abs = effects
            .iter()
            .map(|e| (e.abs() - mean_abs).powi(2))
            .sum::<f64>()
            / count;
        (mean, mean_abs, var_abs)
    }

    #[test]
    fn morris_on_ishigami_matches_the_exact_effect_distribution() {
        let ranges = ishigami_ranges();
        let (levels, r) = (6, 500);
        let design = morris(&ranges, r, levels, 21).unwrap();
        let y: Vec<f64> = design.points().map(ishigami).collect();
        let m = morris_indices(&design, &y, &BootstrapConfig::default()).unwrap();
        for (j, p) in m.params.iter().enumerate() {
            let (mean, mean_abs, var_abs) = exact_effect_moments(ishigami, &ranges, levels, j);
            // Standard error of mu*, a mean of r independent |EE|.
            let se = (var_abs / r as f64).sqrt();
            assert!(
                (p.mu_star.value - mean_abs).abs() <= 4.0 * se + 1e-12,
                "{}: mu* {} vs exact {mean_abs} (se {se})",
                p.name,
                p.mu_star.value
            );
            // The percentile interval's half-width is close to 1.96 se.
            let half = (p.mu_star.high - p.mu_star.low) / 2.0;
            assert!(
                half >= 0.8 * 1.96 * se && half <= 1.25 * 1.96 * se,
                "{}: half-width {half} vs 1.96 se {}",
                p.name,
                1.96 * se
            );
            // mu is a mean of the signed effects, whose spread is sigma.
            assert!(
                (p.mu - mean).abs() <= 4.0 * p.sigma / (r as f64).sqrt() + 1e-12,
                "{}: mu {} vs exact {mean}",
                p.name,
                p.mu
            );
        }
        let [x1, x2, x3, x4] = [&m.params[0], &m.params[1], &m.params[2], &m.params[3]];
        // x1's effect is positive wherever it is measured on this grid.
        assert_eq!(x1.mu, x1.mu_star.value);
        // x3 acts only through x3^4 sin(x1): effects of both signs cancel in
        // mu but not in mu*, and sigma is large.
        assert!(x3.mu.abs() < 0.2 * x3.mu_star.value, "{x3:?}");
        assert!(x3.mu_star.low > 0.5 * x3.mu_star.value && x3.sigma > x3.mu_star.value);
        // x2 acts alone, through sin^2(x2): its effects have both signs too.
        assert!(x2.mu.abs() < 0.2 * x2.mu_star.value, "{x2:?}");
        // The dummy has no effect at all, exactly, as its Sobol' indices.
        assert_eq!((x4.mu, x4.mu_star.value, x4.sigma), (0.0, 0.0, 0.0));
        assert_eq!((x4.mu_star.low, x4.mu_star.high), (0.0, 0.0));
        // Morris's ranking need not be the total indices' one: with the step
        // delta = 0.6 of the range (1.2 pi), sin^2(x2), of period pi, barely
        // changes, so x2 ranks below x3 here although ST_2 > ST_3. The exact
        // expectations above say so, and the estimate agrees.
        let order: Vec<&str> = m
            .ranked_by_mu_star()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(order, ["x1", "x3", "x2", "x4"]);
    }

    #[test]
    fn morris_effects_of_a_linear_function_are_exact() {
        // f = sum c_j x_j: every elementary effect is c_j (u_j - l_j), so
        // mu = c_j (u_j - l_j), mu* = |mu|, sigma = 0, wherever the
        // trajectories go.
        let c = [3.0, -2.0, 0.25, 0.0];
        let ranges = [
            ParamRange::new("a", 0.0, 1.0).unwrap(),
            ParamRange::new("b", -10.0, 30.0).unwrap(),
            ParamRange::new("c", 1e3, 2e3).unwrap(),
            ParamRange::new("d", 0.0, 5.0).unwrap(),
        ];
        let design = morris(&ranges, 20, 4, 3).unwrap();
        let y: Vec<f64> = design
            .points()
            .map(|x| c.iter().zip(x).map(|(c, x)| c * x).sum())
            .collect();
        let m = morris_indices(&design, &y, &BootstrapConfig::default()).unwrap();
        for ((p, c), r) in m.params.iter().zip(c).zip(&ranges) {
            let effect = c * (r.upper() - r.lower());
            let tol = 1e-9 * (1.0 + effect.abs());
            assert!(
                (p.mu - effect).abs() < tol,
                "{}: mu {} vs {effect}",
                p.name,
                p.mu
            );
            assert!((p.mu_star.value - effect.abs()).abs() < tol, "{}", p.name);
            assert!(p.sigma < tol, "{}: sigma {}", p.name, p.sigma);
            assert!((p.mu_star.high - p.mu_star.low) < tol, "{}", p.name);
        }
        assert_eq!(
            m.ranked_by_mu_star()
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["c", "b", "a", "d"]
        );
    }

    #[test]
    fn morris_indices_reject_bad_outputs_and_are_reproducible() {
        let design = morris(&ishigami_ranges(), 10, 4, 1).unwrap();
        let config = BootstrapConfig::default();
        assert_eq!(
            morris_indices(&design, &[0.0; 3], &config),
            Err(SensitivityError::OutputLength {
                expected: 50,
                got: 3
            })
        );
        let mut y: Vec<f64> = design.points().map(ishigami).collect();
        let a = morris_indices(&design, &y, &config).unwrap();
        assert_eq!(a, morris_indices(&design, &y, &config).unwrap());
        y[4] = f64::INFINITY;
        assert!(matches!(
            morris_indices(&design, &y, &config),
            Err(SensitivityError::NonFiniteOutput { index: 4, .. })
        ));
        y[4] = 0.0;
        let bad = BootstrapConfig {
            level: 1.5,
            ..config
        };
        assert!(matches!(
            morris_indices(&design, &y, &bad),
            Err(SensitivityError::InvalidLevel { .. })
        ));
        // A constant output is fine for Morris: no effects.
        let flat = morris_indices(&design, &[2.0; 50], &config).unwrap();
        assert!(
            flat.params
                .iter()
                .all(|p| p.mu_star.value == 0.0 && p.sigma == 0.0)
        );
    }
}
