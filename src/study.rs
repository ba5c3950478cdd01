//! Monte Carlo studies: many runs of a scenario, in parallel, reproducibly.
//!
//! [`Study`] is a builder: choose threads, the range of run indices (a shard),
//! a progress callback, a cancel flag, a checkpoint callback or a state to
//! resume from, then [`Study::run`]. The runs go through
//! [`crate::executor`] in rounds, each worker thread folding its
//! runs into its own [`Recorder`]. Because each run draws only from its own
//! stream ([`run_rng`]) and summaries merge exactly, the result is the same
//! bits whatever the thread count, the round size, the shards or where a
//! resumed study was interrupted. Memory is one merged summary plus a
//! recorder per thread (16-bit counters, drained into the summary before they
//! could overflow), independent of the number of runs.

use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::engine::{Observer, Simulator, run_rng};
use crate::executor::{self, CancelAt, ExecutorError, Job, Rounds};
use crate::model::Scenario;
use crate::summary::{RECORDER_CAPACITY, Recorder, Summary};

/// Why a study could not run to its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudyError {
    /// The executor could not give it its threads.
    #[error(transparent)]
    Threads(#[from] ExecutorError),
    /// The checkpoint callback failed.
    #[error("cannot write checkpoint: {0}")]
    Checkpoint(#[source] std::io::Error),
    /// The state to resume from does not fit the study.
    #[error("cannot resume: {0}")]
    Resume(String),
}

/// What a study produced.
#[derive(Debug)]
pub struct StudyResult {
    /// The summary of the completed runs.
    pub summary: Summary,
    /// Run indices completed, always a prefix of the requested range.
    pub completed: Range<u64>,
    /// Whether the cancel flag stopped the study before the end of its range.
    pub interrupted: bool,
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock time of this invocation (not counting resumed work).
    pub elapsed: Duration,
}

/// A checkpoint callback: receives the summary of runs `range.start..done`.
pub type SummaryCheckpointFn<'a> = dyn FnMut(&Summary, u64) -> std::io::Result<()> + 'a;

/// A Monte Carlo study of one scenario; see the module documentation.
pub struct Study<'a> {
    scenario: &'a Scenario,
    threads: usize,
    range: Range<u64>,
    progress: Option<&'a mut dyn FnMut(u64)>,
    cancel: Option<&'a AtomicBool>,
    checkpoint: Option<(Duration, &'a mut SummaryCheckpointFn<'a>)>,
    resume: Option<(Summary, u64)>,
}

impl<'a> Study<'a> {
    /// A study of all of `scenario.runs()` runs on all cores.
    pub fn new(scenario: &'a Scenario) -> Self {
        Study {
            scenario,
            threads: 0,
            range: 0..scenario.runs(),
            progress: None,
            cancel: None,
            checkpoint: None,
            resume: None,
        }
    }

    /// Worker threads; 0 (the default) uses every core. At most
    /// [`executor::max_threads`].
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Only the runs with these indices (a shard of the study).
    pub fn runs(mut self, range: Range<u64>) -> Self {
        self.range = range;
        self
    }

    /// Called after each round with the number of runs completed so far in the range.
    pub fn on_progress(mut self, progress: &'a mut dyn FnMut(u64)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Stops at the end of the current round once `flag` is set.
    pub fn cancel_flag(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Calls `save` with the merged state at most every `every`, at a round's end.
    pub fn checkpoint(mut self, every: Duration, save: &'a mut SummaryCheckpointFn<'a>) -> Self {
        self.checkpoint = Some((every, save));
        self
    }

    /// Continues from `summary`, the state of runs `range.start..done`.
    pub fn resume(mut self, summary: Summary, done: u64) -> Self {
        self.resume = Some((summary, done));
        self
    }

    /// Runs the study.
    ///
    /// # Errors
    /// [`StudyError`] if the pool cannot start, a resumed state does not fit, or
    /// a checkpoint cannot be saved.
    pub fn run(self) -> Result<StudyResult, StudyError> {
        let started = Instant::now();
        let Study {
            scenario,
            threads,
            range,
            mut progress,
            cancel,
            mut checkpoint,
            resume,
        } = self;
        let pool = executor::pool(threads)?;
        let (mut total, next) = match resume {
            Some((summary, done)) => {
                if !summary.same_shape(&Summary::new(scenario))
                    || !(range.start..=range.end).contains(&done)
                {
                    return Err(StudyError::Resume(
                        "the saved state is of another study".into(),
                    ));
                }
                if summary.runs() != done - range.start {
                    return Err(StudyError::Resume(format!(
                        "the saved state holds {} runs but says {} were done",
                        summary.runs(),
                        done - range.start
                    )));
                }
                (summary, done)
            }
            None => (Summary::new(scenario), range.start),
        };
        let mut last_checkpoint = Instant::now();
        let ran = Rounds::new(&Runs(scenario), &pool)
            .capacity(RECORDER_CAPACITY)
            .cancel_flag(cancel, CancelAt::RoundEnd)
            .run(&mut total, next..range.end, |between| {
                if let Some(report) = progress.as_mut() {
                    report(between.next() - range.start);
                }
                if let Some((every, save)) = checkpoint.as_mut()
                    && last_checkpoint.elapsed() >= *every
                    && !between.finished()
                {
                    let next = between.next();
                    save(between.merged(), next).map_err(StudyError::Checkpoint)?;
                    last_checkpoint = Instant::now();
                }
                Ok::<_, StudyError>(())
            })?;
        Ok(StudyResult {
            summary: total,
            completed: range.start..ran.next,
            interrupted: ran.interrupted,
            threads: pool.current_num_threads(),
            elapsed: started.elapsed(),
        })
    }
}

/// A study's runs as the executor's job: two simulators (runs are stepped
/// two at a time) and a recorder per thread, merged into one summary.
struct Runs<'s>(&'s Scenario);

impl<'s> Job for Runs<'s> {
    type Worker = ([Simulator<'s>; 2], Recorder);
    type Total = Summary;

    fn worker(&self) -> Self::Worker {
        (
            [Simulator::new(self.0), Simulator::new(self.0)],
            Recorder::new(self.0),
        )
    }

    fn run(&self, ([simulator, _], recorder): &mut Self::Worker, k: u64) {
        simulator.run(&mut run_rng(self.0.seed(), k), recorder);
    }

    fn run_two(&self, ([a, b], recorder): &mut Self::Worker, k: u64) {
        let seed = self.0.seed();
        Simulator::run_two(
            a,
            b,
            &mut run_rng(seed, k),
            &mut run_rng(seed, k + 1),
            recorder,
        );
    }

    fn merge(&self, total: &mut Summary, (_, recorder): &mut Self::Worker) {
        recorder.drain_into(total);
    }
}

/// Replays run `run_index` of `scenario` alone, handing its quarters to `observer`.
pub fn replay(scenario: &Scenario, run_index: u64, observer: &mut dyn Observer) {
    Simulator::new(scenario).run(&mut run_rng(scenario.seed(), run_index), observer);
}

/// The runs of shard `index` of `count` (0-based): a fixed, contiguous
/// partition of `0..runs` that covers every run exactly once.
pub fn shard_range(runs: u64, index: u64, count: u64) -> Range<u64> {
    let bound = |i: u64| (runs as u128 * i as u128 / count as u128) as u64;
    bound(index)..bound(index + 1)
}
