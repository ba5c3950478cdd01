//! Paired comparisons with common random numbers.
//!
//! A [`Comparison`] runs two scenarios, A and B, run for run: run `k` of A
//! and run `k` of B draw from the same random stream (`run_rng(seed, k)`),
//! so they share their unrest shocks, budgets and contract draws as far as
//! the two models allow, and the difference between them is the mechanism,
//! not noise. It folds A's runs, B's runs and the per-run differences B - A
//! into three [`Summary`]s, and per outcome ([`super::outcome`]) the exact
//! moments of A, B and B - A, from which [`OutcomeComparison`] gives the
//! paired confidence interval of the difference and, for contrast, the wider
//! interval that independent runs would give.
//!
//! Like a study, a comparison runs through the [`crate::executor`]
//! in rounds, each worker thread folding its pairs into recorders of its own
//! that merge exactly, so results are the same bits whatever the thread
//! count; after each round a callback
//! sees the merged results so far (the web page streams them), and a cancel
//! flag stops it within one pair of runs, keeping the whole rounds before
//! (or, [`Comparison::stop_at_round_end`], at the round's end, keeping it).
//! It can continue from earlier results ([`Comparison::resume`]) and hand
//! its results to a checkpoint between rounds ([`Comparison::checkpoint`]);
//! the `compare` command's lifecycle around it is [`super::comparing`].

use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::outcome::{Outcome, OutcomeSet};
use crate::engine::{Simulator, run_rng};
use crate::executor::{self, CancelAt, ExecutorError, Job, RoundSize, Rounds};
use crate::model::Scenario;
use crate::stats::{Binning, Moments};
use crate::summary::{PairRecorder, Summary};

/// Why a comparison cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// The two scenarios do not describe the same market, so their metrics
    /// cannot be paired.
    #[error("A and B cannot be compared: {0}")]
    Incompatible(String),
    /// The executor could not give it its threads.
    #[error(transparent)]
    Threads(#[from] ExecutorError),
}

/// The exact moments of one outcome in A, in B and of the paired difference.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedMoments {
    /// The outcome.
    pub outcome: Outcome,
    /// Its values in A's runs.
    pub a: Moments,
    /// Its values in B's runs.
    pub b: Moments,
    /// B - A, over runs where both are defined.
    pub difference: Moments,
}

impl PairedMoments {
    fn new(outcome: Outcome) -> Self {
        PairedMoments {
            outcome,
            a: Moments::default(),
            b: Moments::default(),
            difference: Moments::default(),
        }
    }

    fn merge(&mut self, other: &PairedMoments) {
        self.a.merge(&other.a);
        self.b.merge(&other.b);
        self.difference.merge(&other.difference);
    }

    /// Adds a pair's values; `binning` is the outcome's (worked out once
    /// per worker, not per pair).
    fn add(&mut self, a: f64, b: f64, binning: Binning) {
        debug_assert_eq!(binning, self.outcome.binning());
        if !a.is_nan() {
            self.a.add(a, binning);
        }
        if !b.is_nan() {
            self.b.add(b, binning);
        }
        if !a.is_nan() && !b.is_nan() {
            self.difference.add(b - a, binning.signed());
        }
    }

    /// Means, the paired difference and its confidence interval at `level`
    /// (normal approximation, fine for the hundreds of runs or more a
    /// comparison has), and the interval independent runs would give.
    pub fn compare(&self, level: f64) -> OutcomeComparison {
        let z = crate::stats::normal_quantile(0.5 + level / 2.0);
        let binning = self.outcome.binning();
        let half = |sd: Option<f64>, n: u64| sd.map(|sd| z * sd / (n as f64).sqrt());
        let diff = self.difference.mean();
        let paired = half(self.difference.sd(binning.signed()), self.difference.count);
        let independent = match (self.a.sd(binning), self.b.sd(binning)) {
            (Some(sa), Some(sb)) if self.a.count > 1 && self.b.count > 1 => {
                Some(z * (sa * sa / self.a.count as f64 + sb * sb / self.b.count as f64).sqrt())
            }
            _ => None,
        };
        OutcomeComparison {
            a: self.a.mean(),
            b: self.b.mean(),
            n_a: self.a.count,
            n_b: self.b.count,
            n_pairs: self.difference.count,
            difference: diff,
            paired_half_width: paired,
            independent_half_width: independent,
        }
    }
}

/// One outcome compared between A and B.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutcomeComparison {
    /// Mean in A (None if never defined).
    pub a: Option<f64>,
    /// Mean in B.
    pub b: Option<f64>,
    /// Runs of A where it is defined.
    pub n_a: u64,
    /// Runs of B where it is defined.
    pub n_b: u64,
    /// Runs where both are defined (the pairs).
    pub n_pairs: u64,
    /// Mean paired difference B - A.
    pub difference: Option<f64>,
    /// Half-width of the paired confidence interval of the mean difference.
    pub paired_half_width: Option<f64>,
    /// Half-width the interval would have with independent runs of A and B.
    pub independent_half_width: Option<f64>,
}

/// What a comparison has produced so far (or in all).
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    /// Summary of A's runs.
    pub a: Summary,
    /// Summary of B's runs.
    pub b: Summary,
    /// Summary of the per-run differences B - A.
    pub difference: Summary,
    /// Per outcome, the moments of A, B and B - A.
    pub outcomes: Vec<PairedMoments>,
    /// Runs completed (pairs).
    pub runs: u64,
}

impl Paired {
    /// Empty results of a comparison shaped like `a`, with these outcomes.
    pub fn new(a: &Scenario, outcomes: &[Outcome]) -> Self {
        Paired {
            a: Summary::new(a),
            b: Summary::new(a),
            difference: Summary::difference(a),
            outcomes: outcomes.iter().cloned().map(PairedMoments::new).collect(),
            runs: 0,
        }
    }

    /// Whether these results could be merged with `other`'s: the same
    /// summaries' shapes and the same outcomes, in order, and each of its
    /// summaries holding its `runs`.
    pub fn fits(&self, other: &Paired) -> bool {
        [&self.a, &self.b, &self.difference]
            .iter()
            .all(|s| s.runs() == self.runs)
            && self.a.same_shape(&other.a)
            && self.b.same_shape(&other.b)
            && self.difference.same_shape(&other.difference)
            && self.outcomes.len() == other.outcomes.len()
            && self
                .outcomes
                .iter()
                .zip(&other.outcomes)
                .all(|(x, y)| x.outcome == y.outcome)
    }
}

/// What a finished (or cancelled) comparison returns.
#[derive(Debug)]
pub struct CompareOutcome {
    /// The results. A cancelled comparison's hold whole rounds only: every
    /// round finished before the cancel when it came between rounds or
    /// with [`Comparison::on_round`], otherwise those merged before the
    /// round it interrupted (see `completed`).
    pub paired: Paired,
    /// Pairs run in whole rounds before it ended; `paired.runs` unless a
    /// cancel dropped rounds that were not merged yet.
    pub completed: u64,
    /// Whether the cancel flag stopped it early.
    pub interrupted: bool,
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// A comparison of two scenarios with common random numbers; see the module
/// documentation.
pub struct Comparison<'a> {
    a: &'a Scenario,
    b: &'a Scenario,
    seed: u64,
    range: Range<u64>,
    threads: usize,
    round: u64,
    outcomes: Vec<Outcome>,
    on_round: Option<&'a mut dyn FnMut(&Paired)>,
    on_progress: Option<&'a mut dyn FnMut(u64)>,
    cancel: Option<&'a AtomicBool>,
    cancel_at: CancelAt,
    resume: Option<Paired>,
    checkpoint: Option<(Duration, &'a mut SaveFn<'a>)>,
}

/// What a comparison hands its results to between rounds, to checkpoint.
pub type SaveFn<'a> = dyn FnMut(&Paired) + 'a;

/// One worker's simulators and accumulators.
struct Worker<'s> {
    sim_a: Simulator<'s>,
    sim_b: Simulator<'s>,
    recorder: PairRecorder,
    out_a: OutcomeSet,
    out_b: OutcomeSet,
    moments: Vec<PairedMoments>,
    /// Each outcome's binning.
    binnings: Vec<Binning>,
    /// Pairs run since the last merge.
    pairs: u64,
}

impl<'a> Comparison<'a> {
    /// A comparison of `a` and `b` with `a`'s runs and seed, on all cores.
    ///
    /// # Errors
    /// [`CompareError::Incompatible`] unless both have the same start,
    /// quarters, suppliers (by name, in order) and compared pairs.
    pub fn new(a: &'a Scenario, b: &'a Scenario) -> Result<Self, CompareError> {
        let names = |s: &Scenario| -> Vec<String> {
            s.suppliers().iter().map(|x| x.name().to_string()).collect()
        };
        let mismatch = if a.start() != b.start() || a.quarters() != b.quarters() {
            Some(format!(
                "A runs {} quarters from {}, B {} from {}",
                a.quarters(),
                a.start(),
                b.quarters(),
                b.start()
            ))
        } else if names(a) != names(b) {
            Some(format!(
                "A's suppliers are {}, B's {}",
                names(a).join(", "),
                names(b).join(", ")
            ))
        } else if a.compare() != b.compare() {
            Some("their [run] compare pairs differ".into())
        } else {
            None
        };
        if let Some(reason) = mismatch {
            return Err(CompareError::Incompatible(reason));
        }
        Ok(Comparison {
            a,
            b,
            seed: a.seed(),
            range: 0..a.runs(),
            threads: 0,
            round: 0,
            outcomes: Outcome::defaults(a),
            on_round: None,
            on_progress: None,
            cancel: None,
            cancel_at: CancelAt::NextIndex,
            resume: None,
            checkpoint: None,
        })
    }

    /// The master seed both scenarios' runs draw from.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Only the runs with these indices.
    pub fn runs(mut self, range: Range<u64>) -> Self {
        self.range = range;
        self
    }

    /// Worker threads; 0 (the default) uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Pairs of runs per round (0, the default, sizes rounds to take about a
    /// quarter of a second): how often the callbacks see results.
    pub fn round_size(mut self, runs: u64) -> Self {
        self.round = runs;
        self
    }

    /// The outcomes to compare (by default [`Outcome::defaults`]).
    pub fn outcomes(mut self, outcomes: Vec<Outcome>) -> Self {
        self.outcomes = outcomes;
        self
    }

    /// Called after each round with the merged results so far. Merging
    /// every worker's summaries is not free (it reads all their
    /// histograms), so a caller that only reports progress should use
    /// [`Comparison::on_progress`], which merges only when it must.
    pub fn on_round(mut self, callback: &'a mut dyn FnMut(&Paired)) -> Self {
        self.on_round = Some(callback);
        self
    }

    /// Called after each round with the number of pairs run so far.
    pub fn on_progress(mut self, callback: &'a mut dyn FnMut(u64)) -> Self {
        self.on_progress = Some(callback);
        self
    }

    /// Stops within one pair of runs once `flag` is set; the results keep
    /// whole rounds only ([`CompareOutcome::paired`] says which).
    pub fn cancel_flag(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Stops at the end of the round under way once the cancel flag is
    /// set, keeping it (for a checkpoint), instead of before the next pair.
    pub fn stop_at_round_end(mut self) -> Self {
        self.cancel_at = CancelAt::RoundEnd;
        self
    }

    /// Continues from `done`, the results of the range's first `done.runs`
    /// pairs (a checkpoint's): the rest of the range is run into them.
    pub fn resume(mut self, done: Paired) -> Self {
        self.resume = Some(done);
        self
    }

    /// Hands the merged results so far to `save` at a round's end, at most
    /// once per `every` (and never after the last round): a checkpoint.
    pub fn checkpoint(mut self, every: Duration, save: &'a mut SaveFn<'a>) -> Self {
        self.checkpoint = Some((every, save));
        self
    }

    /// Runs the comparison.
    ///
    /// # Errors
    /// [`CompareError::Threads`] if the executor cannot give it its threads;
    /// [`CompareError::Incompatible`] if the results it resumes from are not
    /// of these scenarios' shape or outcomes.
    pub fn run(self) -> Result<CompareOutcome, CompareError> {
        let started = Instant::now();
        let Comparison {
            a,
            b,
            seed,
            range,
            threads,
            round,
            outcomes,
            mut on_round,
            mut on_progress,
            cancel,
            cancel_at,
            resume,
            mut checkpoint,
        } = self;
        let pool = executor::pool(threads)?;
        let fresh = Paired::new(a, &outcomes);
        let mut total = match resume {
            Some(done) if !done.fits(&fresh) || done.runs > range.end - range.start => {
                return Err(CompareError::Incompatible(
                    "the results to resume from are of another shape, outcomes or run count".into(),
                ));
            }
            Some(done) => done,
            None => fresh,
        };
        let first = range.start + total.runs;
        let mut last_checkpoint = Instant::now();
        let job = Pairs {
            a,
            b,
            seed,
            outcomes: &outcomes,
        };
        let size = match round {
            0 => RoundSize::Adaptive,
            n => RoundSize::Fixed(n),
        };
        // Merging reads every histogram of every worker, about as much as
        // recording a thousand pairs, so the workers are merged only when a
        // round's results are asked for (and, by the executor, before their
        // 16-bit counters could fill, and at the end); where it happens never
        // changes the results.
        let ran = Rounds::new(&job, &pool)
            .size(size)
            .capacity(crate::summary::RECORDER_CAPACITY)
            // Checked before every pair, not only between rounds: a round of
            // a large scenario takes minutes, and a cancelled comparison (a
            // page that went away) should free its threads and memory at once.
            .cancel_flag(cancel, cancel_at)
            .run(&mut total, first..range.end, |between| {
                if let Some(callback) = on_round.as_mut() {
                    callback(between.merged());
                }
                if let Some(callback) = on_progress.as_mut() {
                    callback(between.next() - range.start);
                }
                if let Some((every, save)) = checkpoint.as_mut()
                    && last_checkpoint.elapsed() >= *every
                    && !between.finished()
                {
                    save(between.merged());
                    last_checkpoint = Instant::now();
                }
                Ok::<_, std::convert::Infallible>(())
            });
        let Ok(ran) = ran;
        Ok(CompareOutcome {
            paired: total,
            completed: ran.next - range.start,
            interrupted: ran.interrupted,
            threads: pool.current_num_threads(),
            elapsed: started.elapsed(),
        })
    }
}

/// A comparison's pairs as the executor's job.
struct Pairs<'s> {
    a: &'s Scenario,
    b: &'s Scenario,
    seed: u64,
    outcomes: &'s [Outcome],
}

impl<'s> Job for Pairs<'s> {
    type Worker = Worker<'s>;
    type Total = Paired;
    const CHUNK: u64 = 32;

    fn worker(&self) -> Worker<'s> {
        // A's and B's outcomes read the same quarters (the two scenarios
        // have the same horizon, `Comparison::new` checks), so B's set is
        // A's twin and the two observe each pair's quarter together.
        debug_assert_eq!(self.a.quarters(), self.b.quarters());
        let out_a = OutcomeSet::new(self.outcomes.to_vec(), self.a);
        Worker {
            sim_a: Simulator::new(self.a),
            sim_b: Simulator::new(self.b),
            recorder: PairRecorder::new(self.a),
            out_b: out_a.twin(),
            out_a,
            moments: self
                .outcomes
                .iter()
                .cloned()
                .map(PairedMoments::new)
                .collect(),
            binnings: self.outcomes.iter().map(Outcome::binning).collect(),
            pairs: 0,
        }
    }

    fn run(&self, worker: &mut Worker<'s>, k: u64) {
        worker.run_pair(self.seed, k, self.a.quarters());
    }

    fn merge(&self, total: &mut Paired, w: &mut Worker<'s>) {
        w.recorder
            .drain_into(&mut total.a, &mut total.b, &mut total.difference);
        for (t, m) in total.outcomes.iter_mut().zip(&mut w.moments) {
            t.merge(m);
            *m = PairedMoments::new(m.outcome.clone());
        }
        total.runs += std::mem::take(&mut w.pairs);
    }
}

impl Worker<'_> {
    /// Run `k` of A and of B, quarter by quarter, from the same stream.
    fn run_pair(&mut self, seed: u64, k: u64, quarters: u32) {
        let (mut rng_a, mut rng_b) = (run_rng(seed, k), run_rng(seed, k));
        self.sim_a.reset(&mut rng_a);
        self.sim_b.reset(&mut rng_b);
        for _ in 0..quarters {
            let (va, vb) =
                Simulator::step_two(&mut self.sim_a, &mut self.sim_b, &mut rng_a, &mut rng_b);
            self.recorder.observe(&va, &vb);
            self.out_a.observe_two(&mut self.out_b, &va, &vb);
        }
        for (((m, &x), &y), &binning) in self
            .moments
            .iter_mut()
            .zip(self.out_a.values())
            .zip(self.out_b.values())
            .zip(&self.binnings)
        {
            m.add(x, y, binning);
        }
        self.pairs += 1;
    }
}

/// The binning a paired difference of an outcome uses.
pub fn difference_binning(outcome: &Outcome) -> Binning {
    outcome.binning().signed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Entity, MetricId};
    use crate::scenario::load_baseline;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_scenario_compared_with_itself_differs_by_exactly_nothing() {
        let s = load_baseline(&["run.runs=300".into()]).unwrap().scenario;
        let out = Comparison::new(&s, &s).unwrap().threads(2).run().unwrap();
        assert_eq!(out.paired.a, out.paired.b);
        for m in &out.paired.outcomes {
            let c = m.compare(0.95);
            assert!(c.difference.is_none_or(|d| d == 0.0), "{}", m.outcome);
            assert!(c.paired_half_width.is_none_or(|h| h == 0.0));
        }
        let russia = out
            .paired
            .difference
            .metric(Entity::Supplier(0), MetricId::RollingShare)
            .unwrap();
        let stat = out.paired.difference.stat(39, &russia).unwrap();
        assert_eq!((stat.mean, stat.p05(), stat.p95()), (0.0, 0.0, 0.0));
    }

    #[test]
    fn paired_results_are_the_same_bits_whatever_the_threads_and_rounds() {
        let a = load_baseline(&["run.runs=400".into()]).unwrap().scenario;
        let b = load_baseline(&[
            "run.runs=400".into(),
            "suppliers.Russia.support=0".into(),
            "suppliers.Russia.hold_support=true".into(),
        ])
        .unwrap()
        .scenario;
        let one = Comparison::new(&a, &b)
            .unwrap()
            .threads(1)
            .round_size(1000)
            .run()
            .unwrap();
        let mut rounds = 0;
        let mut count = |_: &Paired| rounds += 1;
        let three = Comparison::new(&a, &b)
            .unwrap()
            .threads(3)
            .round_size(64)
            .on_round(&mut count)
            .run()
            .unwrap();
        assert_eq!(rounds, 7);
        assert_eq!(one.paired.difference, three.paired.difference);
        assert_eq!(one.paired.outcomes, three.paired.outcomes);
        // Progress alone merges the workers only at the end: same bits.
        let mut reported = Vec::new();
        let mut progress = |pairs: u64| reported.push(pairs);
        let two = Comparison::new(&a, &b)
            .unwrap()
            .threads(2)
            .round_size(64)
            .on_progress(&mut progress)
            .run()
            .unwrap();
        assert_eq!(reported, [64, 128, 192, 256, 320, 384, 400]);
        // A cancel between rounds keeps the rounds run, merged or not.
        let stop = AtomicBool::new(false);
        let mut stop_after_two = |pairs: u64| stop.store(pairs >= 128, Ordering::Relaxed);
        let cancelled = Comparison::new(&a, &b)
            .unwrap()
            .threads(2)
            .round_size(64)
            .on_progress(&mut stop_after_two)
            .cancel_flag(&stop)
            .run()
            .unwrap();
        assert!(cancelled.interrupted);
        assert_eq!((cancelled.completed, cancelled.paired.runs), (128, 128));
        assert_eq!((two.completed, two.paired.runs), (400, 400));
        assert_eq!(one.paired.a, two.paired.a);
        assert_eq!(one.paired.b, two.paired.b);
        assert_eq!(one.paired.difference, two.paired.difference);
        assert_eq!(one.paired.outcomes, two.paired.outcomes);
        // Russia condemning the coup lowers its share, and common random
        // numbers make the paired interval narrower than independent runs'.
        let share = one.paired.outcomes[0].compare(0.9);
        assert!(share.difference.unwrap() < -0.05, "{share:?}");
        assert!(share.paired_half_width.unwrap() < share.independent_half_width.unwrap());
    }

    #[test]
    fn incompatible_scenarios_are_refused() {
        let a = load_baseline(&[]).unwrap().scenario;
        let b = load_baseline(&["run.quarters=20".into()]).unwrap().scenario;
        assert!(matches!(
            Comparison::new(&a, &b),
            Err(CompareError::Incompatible(_))
        ));
    }
}
