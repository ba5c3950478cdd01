//! Monte Carlo studies: many runs of a scenario, in parallel, reproducibly.
//!
//! [`Study`] is a builder: choose threads, the range of run indices (a shard),
//! a progress callback, a cancel flag, a checkpoint callback or a state to
//! resume from, then [`Study::run`]. Runs are processed in rounds; within a
//! round rayon spreads fixed chunks of runs over the pool, each worker thread
//! folding its runs into its own [`Recorder`]. Because each run draws only from
//! its own stream ([`run_rng`]) and summaries merge exactly, the result is the
//! same bits whatever the thread count, the round size, the shards or where a
//! resumed study was interrupted. Memory is one merged summary plus a
//! recorder per thread (16-bit counters, drained into the summary before they
//! could overflow), independent of the number of runs.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use thread_local::ThreadLocal;

use crate::engine::{Observer, Simulator, run_rng};
use crate::model::Scenario;
use crate::summary::{RECORDER_CAPACITY, Recorder, Summary};

/// Runs per rayon task: small enough to balance, large enough that looking up
/// the worker's summary costs nothing.
const CHUNK: u64 = 64;
/// Most runs per thread per round: rounds are when progress is reported, a
/// cancel flag is noticed and a checkpoint may be written.
const ROUND_PER_THREAD: u64 = 2048;
/// What a round should take: rounds start at one chunk per thread and grow
/// (or shrink) towards this, so a cancel flag is noticed within about this
/// long even when runs are slow. Round sizes never change results.
const ROUND_TARGET: Duration = Duration::from_millis(250);

/// The most worker threads any study may use, whatever the machine.
pub const MAX_THREADS: usize = 1024;

/// The most worker threads a study may use on this machine: four per core
/// (more only costs memory, a recorder per thread), at most [`MAX_THREADS`].
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (4 * cores).clamp(4, MAX_THREADS)
}

/// The threads a study asked for `threads` will use (0: every core).
pub fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}

/// Why a study could not run to its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudyError {
    /// The worker thread pool could not be built.
    #[error("cannot start {threads} worker threads: {source}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// Why.
        source: rayon::ThreadPoolBuildError,
    },
    /// More threads were asked for than [`max_threads`] allows.
    #[error("{threads} worker threads asked for; at most {max} on this machine (4 per core)")]
    TooManyThreads {
        /// Threads asked for.
        threads: usize,
        /// The most allowed.
        max: usize,
    },
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

    /// Worker threads; 0 (the default) uses every core. At most [`max_threads`].
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
        if threads > max_threads() {
            return Err(StudyError::TooManyThreads {
                threads,
                max: max_threads(),
            });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|source| StudyError::ThreadPool { threads, source })?;
        let threads = pool.current_num_threads();
        let (mut total, mut next) = match resume {
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
        let mut workers: ThreadLocal<RefCell<(Simulator<'_>, Recorder)>> = ThreadLocal::new();
        let most = ROUND_PER_THREAD * threads as u64;
        let fewest = CHUNK * threads as u64;
        let mut round = fewest;
        let mut last_checkpoint = Instant::now();
        let mut interrupted = false;
        // Runs since the workers were last drained: a worker may have done all
        // of them, and its 16-bit counters hold RECORDER_CAPACITY at most.
        let mut undrained = 0;
        while next < range.end {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                interrupted = true;
                break;
            }
            let end = (next + round).min(range.end);
            if undrained + (end - next) > RECORDER_CAPACITY {
                fold_workers(&mut total, &mut workers);
                undrained = 0;
            }
            undrained += end - next;
            let chunks = (end - next).div_ceil(CHUNK);
            let round_started = Instant::now();
            pool.install(|| {
                (0..chunks).into_par_iter().for_each(|c| {
                    let cell = workers.get_or(|| {
                        RefCell::new((Simulator::new(scenario), Recorder::new(scenario)))
                    });
                    let (simulator, recorder) = &mut *cell.borrow_mut();
                    let first = next + c * CHUNK;
                    for k in first..(first + CHUNK).min(end) {
                        simulator.run(&mut run_rng(scenario.seed(), k), recorder);
                    }
                });
            });
            next = end;
            let took = round_started.elapsed();
            if took < ROUND_TARGET / 2 {
                round = (round * 2).min(most);
            } else if took > ROUND_TARGET * 2 {
                round = (round / 2).max(fewest);
            }
            if let Some(report) = progress.as_mut() {
                report(next - range.start);
            }
            if let Some((every, save)) = checkpoint.as_mut()
                && last_checkpoint.elapsed() >= *every
                && next < range.end
            {
                fold_workers(&mut total, &mut workers);
                undrained = 0;
                save(&total, next).map_err(StudyError::Checkpoint)?;
                last_checkpoint = Instant::now();
            }
        }
        fold_workers(&mut total, &mut workers);
        Ok(StudyResult {
            summary: total,
            completed: range.start..next,
            interrupted,
            threads,
            elapsed: started.elapsed(),
        })
    }
}

/// Merges every worker's runs into `total` and empties the workers.
fn fold_workers(
    total: &mut Summary,
    workers: &mut ThreadLocal<RefCell<(Simulator<'_>, Recorder)>>,
) {
    for cell in workers.iter_mut() {
        cell.get_mut().1.drain_into(total);
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
