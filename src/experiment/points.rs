//! Monte Carlo studies at many design points, in one pool: the engine of
//! sweeps and sensitivity analyses.
//!
//! A [`PointRunner`] takes a design (one scenario per point, built on demand
//! by a closure, so a Sobol design of thousands of points never holds
//! thousands of scenarios), a number of runs per point and a list of
//! outcomes, and returns per point the exact statistics of each outcome
//! ([`OutcomeStats`]). Points use common random numbers: run `k` of every
//! point draws from `run_rng(seed, k)`, so differences between points are
//! the parameters' effect, not noise.
//!
//! Points are processed in blocks sized to a memory budget. A block is a
//! [`Job`] of the executor ([`crate::executor::Rounds`]): index `k` is run
//! `k % runs` of the block's point `k / runs`, so a sweep of many small
//! points uses every core, in the executor's rounds, threads and cancel.
//! Each run's outcome values land in a slot of their own, and each point's
//! statistics are computed from all its values sorted, so results are the
//! same bits whatever the thread count. After each block a callback sees
//! the finished points (to checkpoint or report progress). A cancel flag
//! stops the runner at the end of the executor's current round (a fraction
//! of a second), dropping the block it interrupted: only whole blocks'
//! points are done. Points already done (a resumed study) or outside a
//! shard are skipped.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::outcome::{Outcome, OutcomeSet, ScenarioWorker};
use crate::engine::{QuarterView, Simulator, run_rng};
use crate::executor::{CancelAt, Job, Rounds};
use crate::model::{ParamError, Scenario};
use crate::stats::{Binning, Moments, nearest_rank};
use crate::summary::PERCENTILES;

/// Runs per rayon task.
const CHUNK: u64 = 32;
/// The most runs a thread's worker holds before they are copied into the
/// block (its outcome values, `width` floats a run).
const WORKER_RUNS: u64 = 1 << 16;
/// Memory for one block's raw outcome values.
const BLOCK_BYTES: usize = 64 << 20;

/// The statistics of one outcome at one point, over its runs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutcomeStats {
    /// Runs in which the outcome was defined.
    pub n: u64,
    /// Mean over those runs (exact: fixed-point sums).
    pub mean: Option<f64>,
    /// Sample standard deviation.
    pub sd: Option<f64>,
    /// Exact nearest-rank percentiles ([`PERCENTILES`]).
    pub percentiles: Option<[f64; 5]>,
}

impl OutcomeStats {
    /// The statistics of `values` (NaN = undefined), histogrammed as `binning`
    /// for the moments' sums of squares.
    pub fn of(values: &mut [f64], binning: Binning) -> OutcomeStats {
        let mut moments = Moments::default();
        let mut defined: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        for &x in &defined {
            moments.add(x, binning);
        }
        defined.sort_by(f64::total_cmp);
        let n = defined.len() as u64;
        let percentiles =
            (n > 0).then(|| PERCENTILES.map(|p| defined[nearest_rank(p, n) as usize - 1]));
        OutcomeStats {
            n,
            mean: moments.mean(),
            sd: moments.sd(binning),
            percentiles,
        }
    }
}

/// One finished design point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PointResult {
    /// Its index in the design.
    pub point: usize,
    /// Per outcome, in order.
    pub outcomes: Vec<OutcomeStats>,
}

/// Why a point study could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PointError {
    /// A design point's parameter values do not make a valid scenario.
    #[error("design point {point}: {source}")]
    Point {
        /// Which point.
        point: usize,
        /// Why.
        source: ParamError,
    },
    /// The executor could not give it its threads.
    #[error(transparent)]
    Threads(#[from] crate::executor::ExecutorError),
    /// The block callback failed (a checkpoint could not be written).
    #[error("{0}")]
    Callback(String),
}

/// Builds the scenario of design point `p`.
pub type BuildFn<'a> = dyn Fn(usize) -> Result<Scenario, ParamError> + Sync + 'a;
/// Called after each block with the points it finished.
pub type BlockFn<'a> = dyn FnMut(&[PointResult]) -> Result<(), String> + 'a;

/// Monte Carlo studies at the points of a design; see the module documentation.
pub struct PointRunner<'a> {
    build: &'a BuildFn<'a>,
    outcomes: Vec<Outcome>,
    runs: u64,
    seed: u64,
    threads: usize,
    range: Range<usize>,
    skip: Vec<bool>,
    on_block: Option<&'a mut BlockFn<'a>>,
    cancel: Option<&'a AtomicBool>,
}

/// What a point study returns.
#[derive(Debug)]
pub struct PointsOutcome {
    /// The points finished by this invocation, in design order.
    pub results: Vec<PointResult>,
    /// Whether the cancel flag stopped it early.
    pub interrupted: bool,
    /// Worker threads used.
    pub threads: usize,
}

impl<'a> PointRunner<'a> {
    /// Studies of `points` design points, each built by `build`, measuring
    /// `outcomes` over `runs` runs per point with master seed `seed`.
    pub fn new(
        points: usize,
        build: &'a BuildFn<'a>,
        outcomes: Vec<Outcome>,
        runs: u64,
        seed: u64,
    ) -> Self {
        PointRunner {
            build,
            outcomes,
            runs,
            seed,
            threads: 0,
            range: 0..points,
            skip: vec![false; points],
            on_block: None,
            cancel: None,
        }
    }

    /// Worker threads; 0 (the default) uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Only the points with these indices (a shard).
    pub fn points(mut self, range: Range<usize>) -> Self {
        self.range = range;
        self
    }

    /// Skips the points already done (resuming).
    pub fn skip(mut self, done: impl IntoIterator<Item = usize>) -> Self {
        for p in done {
            if let Some(s) = self.skip.get_mut(p) {
                *s = true;
            }
        }
        self
    }

    /// Called after each block with the points it finished; an error stops
    /// the study ([`PointError::Callback`]).
    pub fn on_block(mut self, callback: &'a mut BlockFn<'a>) -> Self {
        self.on_block = Some(callback);
        self
    }

    /// Stops at the end of the current block once `flag` is set.
    pub fn cancel_flag(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Checks every point of the range builds a valid scenario, before any
    /// run: a bad point is reported at once, not hours in.
    ///
    /// # Errors
    /// [`PointError::Point`] for the first bad point.
    pub fn check(&self) -> Result<(), PointError> {
        for point in self.range.clone() {
            (self.build)(point).map_err(|source| PointError::Point { point, source })?;
        }
        Ok(())
    }

    /// Runs the studies.
    ///
    /// # Errors
    /// [`PointError`] for a bad point, a pool that cannot start or a failed callback.
    pub fn run(self) -> Result<PointsOutcome, PointError> {
        self.check()?;
        let PointRunner {
            build,
            outcomes,
            runs,
            seed,
            threads,
            range,
            skip,
            mut on_block,
            cancel,
        } = self;
        let pool = crate::executor::pool(threads)?;
        let threads = pool.current_num_threads();
        let todo: Vec<usize> = range.filter(|&p| !skip[p]).collect();
        let width = outcomes.len().max(1);
        let per_point = runs as usize * width * 8;
        let block = (BLOCK_BYTES / per_point.max(1)).clamp(1, 4096);
        let binnings: Vec<Binning> = outcomes.iter().map(Outcome::binning).collect();
        let mut results = Vec::with_capacity(todo.len());
        let mut interrupted = false;
        let mut buffer = Vec::new();
        for points in todo.chunks(block) {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                interrupted = true;
                break;
            }
            let scenarios = points
                .iter()
                .map(|&point| build(point).map_err(|source| PointError::Point { point, source }))
                .collect::<Result<Vec<_>, _>>()?;
            buffer.clear();
            buffer.resize(points.len() * runs as usize * width, f64::NAN);
            let job = Block {
                scenarios: &scenarios,
                outcomes: &outcomes,
                runs,
                seed,
                width,
            };
            let ran = Rounds::new(&job, &pool)
                .capacity(WORKER_RUNS)
                .cancel_flag(cancel, CancelAt::RoundEnd)
                .run(&mut buffer, 0..points.len() as u64 * runs, |_| {
                    Ok::<_, std::convert::Infallible>(())
                })
                .unwrap_or_else(|never| match never {});
            if ran.interrupted {
                // The block is partial: its points are not done.
                interrupted = true;
                break;
            }
            let finished: Vec<PointResult> = points
                .iter()
                .zip(buffer.chunks(runs as usize * width))
                .map(|(&point, values)| PointResult {
                    point,
                    outcomes: point_stats(values, &binnings),
                })
                .collect();
            if let Some(callback) = on_block.as_mut() {
                callback(&finished).map_err(PointError::Callback)?;
            }
            results.extend(finished);
        }
        Ok(PointsOutcome {
            results,
            interrupted,
            threads,
        })
    }
}

/// The statistics of each outcome over one point's runs: `values` holds a
/// row of one value per outcome (binned by `binnings`) for each run.
fn point_stats(values: &[f64], binnings: &[Binning]) -> Vec<OutcomeStats> {
    let width = binnings.len().max(1);
    binnings
        .iter()
        .enumerate()
        .map(|(o, &binning)| {
            let mut column: Vec<f64> = values.iter().skip(o).step_by(width).copied().collect();
            OutcomeStats::of(&mut column, binning)
        })
        .collect()
}

/// One block of design points as a [`Job`] of the executor: index `k` is
/// run `k % runs` of point `k / runs`, and its values go to slot `k` of the
/// block's buffer (`width` values a run).
struct Block<'s> {
    scenarios: &'s [Scenario],
    outcomes: &'s [Outcome],
    runs: u64,
    seed: u64,
    width: usize,
}

/// A thread's simulator and outcome set (for the point it ran last), and
/// the runs it holds: their indices and values.
struct BlockWorker<'s> {
    point: ScenarioWorker<'s>,
    indices: Vec<u64>,
    values: Vec<f64>,
}

impl<'s> Job for Block<'s> {
    type Worker = BlockWorker<'s>;
    type Total = Vec<f64>;
    const CHUNK: u64 = CHUNK;

    fn worker(&self) -> BlockWorker<'s> {
        BlockWorker {
            point: ScenarioWorker::default(),
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    fn run(&self, worker: &mut BlockWorker<'s>, k: u64) {
        let point = (k / self.runs) as usize;
        let (sim, set) = worker.point.at(point, self.scenarios, self.outcomes);
        sim.run(&mut run_rng(self.seed, k % self.runs), set);
        keep(&mut worker.indices, &mut worker.values, self.width, k, set);
    }

    fn run_two(&self, worker: &mut BlockWorker<'s>, k: u64) {
        let point = &mut worker.point;
        let Some([(sim_a, set_a), (sim_b, set_b)]) =
            point.two_at(k, self.runs, self.scenarios, self.outcomes)
        else {
            // The last run of a point and the first of the next.
            self.run(worker, k);
            self.run(worker, k + 1);
            return;
        };
        let run = k % self.runs;
        Simulator::run_two(
            sim_a,
            sim_b,
            &mut run_rng(self.seed, run),
            &mut run_rng(self.seed, run + 1),
            &mut |a: &QuarterView<'_>, b: &QuarterView<'_>| set_a.observe_two(set_b, a, b),
        );
        let (indices, values) = (&mut worker.indices, &mut worker.values);
        keep(indices, values, self.width, k, set_a);
        keep(indices, values, self.width, k + 1, set_b);
    }

    fn merge(&self, buffer: &mut Vec<f64>, worker: &mut BlockWorker<'s>) {
        for (k, values) in worker
            .indices
            .drain(..)
            .zip(worker.values.chunks_exact(self.width))
        {
            let slot = k as usize * self.width;
            buffer[slot..slot + self.width].copy_from_slice(values);
        }
        worker.values.clear();
    }
}

/// Keeps run `k`'s outcome values, padded with NaN to `width`.
fn keep(indices: &mut Vec<u64>, values: &mut Vec<f64>, width: usize, k: u64, set: &OutcomeSet) {
    indices.push(k);
    let start = values.len();
    values.resize(start + width, f64::NAN);
    values[start..start + set.values().len()].copy_from_slice(set.values());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Simulator;
    use crate::experiment::outcome::OutcomeSet;
    use crate::model::{BuyerParam, Target};
    use crate::scenario::load_baseline;

    #[test]
    fn exact_statistics_of_a_column() {
        let mut values = vec![3.0, f64::NAN, 1.0, 2.0, 4.0];
        let s = OutcomeStats::of(&mut values, Binning::Positive);
        assert_eq!(s.n, 4);
        assert_eq!(s.mean, Some(2.5));
        assert_eq!(s.percentiles, Some([1.0, 1.0, 2.0, 3.0, 4.0]));
        assert!((s.sd.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let none = OutcomeStats::of(&mut [f64::NAN], Binning::Unit);
        assert_eq!((none.n, none.mean, none.percentiles), (0, None, None));
    }

    #[test]
    fn a_cancel_stops_the_block_it_falls_in_and_keeps_no_partial_point() {
        // A block's points used to run to the block's end once started (a
        // block of 4,096 points can take minutes): the cancel is now the
        // executor's, noticed at its next round, and the partial block's
        // points are not reported done.
        let base = load_baseline(&["run.quarters=12".into()]).unwrap().scenario;
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let flag = AtomicBool::new(false);
        let build = |p: usize| {
            // `check` builds each of the 3 points once; the block's own
            // builds come next, as its runs are about to start.
            if calls.fetch_add(1, Ordering::Relaxed) >= 3 {
                flag.store(true, Ordering::Relaxed);
            }
            let mut s = base.clone();
            s.set_param(Target::Buyer(BuyerParam::SupportWeight), p as f64)?;
            Ok(s)
        };
        let outcomes = vec![Outcome::parse("rolling_share:Russia@end", &base).unwrap()];
        let stopped = PointRunner::new(3, &build, outcomes, 5_000, 9)
            .threads(1)
            .cancel_flag(&flag)
            .run()
            .unwrap();
        assert!(stopped.interrupted);
        assert!(stopped.results.is_empty(), "{:?}", stopped.results);
    }

    #[test]
    fn points_are_the_same_bits_whatever_the_threads_and_equal_single_studies() {
        let base = load_baseline(&["run.quarters=12".into()]).unwrap().scenario;
        let weights = [0.5, 1.5, 3.0];
        let build = |p: usize| {
            let mut s = base.clone();
            s.set_param(Target::Buyer(BuyerParam::SupportWeight), weights[p])?;
            Ok(s)
        };
        let outcomes = vec![
            Outcome::parse("rolling_share:Russia@end", &base).unwrap(),
            Outcome::parse("sum:orders:China@start..end", &base).unwrap(),
        ];
        let one = PointRunner::new(3, &build, outcomes.clone(), 71, 9)
            .threads(1)
            .run()
            .unwrap();
        let three = PointRunner::new(3, &build, outcomes.clone(), 71, 9)
            .threads(3)
            .run()
            .unwrap();
        assert_eq!(one.results, three.results);
        // Each point equals a direct evaluation of its 71 runs, one after
        // another (the runner steps them two at a time, and point 1 starts
        // at an odd index, so the pair (70, 71) straddles points 0 and 1).
        for p in 0..3 {
            let s = build(p).unwrap();
            let mut sim = Simulator::new(&s);
            let mut set = OutcomeSet::new(outcomes.clone(), &s);
            let mut column = Vec::new();
            for k in 0..71 {
                sim.run(&mut run_rng(9, k), &mut set);
                column.push(set.values()[0]);
            }
            assert_eq!(
                one.results[p].outcomes[0],
                OutcomeStats::of(&mut column, Binning::Unit)
            );
        }
        // Valuing support more raises Russia's share.
        let mean = |p: usize| one.results[p].outcomes[0].mean.unwrap();
        assert!(mean(0) < mean(2));
    }

    #[test]
    fn shards_skips_and_bad_points() {
        let base = load_baseline(&["run.quarters=12".into()]).unwrap().scenario;
        let build = |p: usize| {
            let mut s = base.clone();
            s.set_param(Target::Buyer(BuyerParam::Budget), 10.0 + p as f64)?;
            Ok(s)
        };
        let outcomes = vec![Outcome::parse("budget:buyer@end", &base).unwrap()];
        let all = PointRunner::new(6, &build, outcomes.clone(), 10, 1)
            .run()
            .unwrap();
        let part = PointRunner::new(6, &build, outcomes.clone(), 10, 1)
            .points(2..6)
            .skip([3])
            .run()
            .unwrap();
        let kept: Vec<usize> = part.results.iter().map(|r| r.point).collect();
        assert_eq!(kept, vec![2, 4, 5]);
        assert_eq!(part.results[1], all.results[4]);
        let bad = |p: usize| {
            let mut s = base.clone();
            s.set_param(
                Target::Buyer(BuyerParam::Budget),
                if p == 2 { -1.0 } else { 5.0 },
            )?;
            Ok(s)
        };
        let err = PointRunner::new(4, &bad, outcomes, 10, 1)
            .run()
            .unwrap_err();
        assert!(matches!(err, PointError::Point { point: 2, .. }), "{err}");
    }
}
