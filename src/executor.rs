//! The executor: how every command's simulations get threads, and how
//! indexed runs are spread over them in rounds.
//!
//! Two things live here and nowhere else:
//! - **The thread policy.** [`pool`] is the only place a worker pool is
//!   built: it refuses more than [`max_threads`] (four per core, at most
//!   [`MAX_THREADS`]) and reports a pool that cannot start as one
//!   [`ExecutorError`]. Studies, comparisons, design points, calibrations,
//!   evaluations and the page all get their threads from it.
//! - **Rounds of indexed runs** ([`Rounds`]). A [`Job`] runs index `k` into
//!   a per-thread worker (a recorder, a pair of simulators) and merges a
//!   worker into a total. `Rounds` runs a range of indices in rounds: rayon
//!   spreads each round's chunks over the pool, and between rounds it
//!   reports progress, notices a cancel flag and lets the caller look at the
//!   merged total (to checkpoint, or to show a snapshot). Workers are merged
//!   only when someone asks, before any one worker could hold more than the
//!   job's capacity, and at the end. Round sizes adapt to take about 250 ms (or are
//!   fixed), and none of this changes a result: a job whose runs depend only
//!   on their index and whose merge is exact gives the same bits whatever
//!   the threads, the rounds or where a cancel fell. A `Study`, a
//!   `Comparison`, a block of design points and a calibration's forecast
//!   are such jobs; [`map_indexed`] makes one of any function of the index
//!   (an ABC candidate, a particle's runs, a chunk of a case's runs), its
//!   results in index order. No other module spreads simulations over
//!   threads.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use thread_local::ThreadLocal;

/// The most worker threads any command may use, whatever the machine.
pub const MAX_THREADS: usize = 1024;

/// Most runs per thread per adaptive round.
const ROUND_PER_THREAD: u64 = 2048;
/// What an adaptive round should take: rounds start at one chunk per thread
/// and grow (or shrink) towards this, so a cancel flag is noticed within
/// about this long even when runs are slow.
const ROUND_TARGET: Duration = Duration::from_millis(250);

/// The most worker threads a command may use on this machine: four per core
/// (more only costs memory, a worker per thread), at most [`MAX_THREADS`].
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (4 * cores).clamp(4, MAX_THREADS)
}

/// The threads a command asked for `threads` will use (0: every core).
pub fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}

/// Why the executor could not give a command its threads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutorError {
    /// More threads were asked for than [`max_threads`] allows.
    #[error("{threads} worker threads asked for; at most {max} on this machine (4 per core)")]
    TooManyThreads {
        /// Threads asked for.
        threads: usize,
        /// The most allowed.
        max: usize,
    },
    /// The worker thread pool could not be built.
    #[error("cannot start {threads} worker threads: {source}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// Why.
        source: rayon::ThreadPoolBuildError,
    },
}

/// A pool of `threads` workers (0: one per core), at most [`max_threads`].
///
/// # Errors
/// [`ExecutorError::TooManyThreads`] above the cap, [`ExecutorError::ThreadPool`]
/// if the operating system will not start them.
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, ExecutorError> {
    if threads > max_threads() {
        return Err(ExecutorError::TooManyThreads {
            threads,
            max: max_threads(),
        });
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| ExecutorError::ThreadPool { threads, source })
}

/// Indexed work with a worker per thread and an exact merge.
pub trait Job: Sync {
    /// What each thread accumulates its runs into.
    type Worker: Send;
    /// What the workers are merged into.
    type Total;
    /// Indices per rayon task: small enough to balance the threads, large
    /// enough that finding the thread's worker costs nothing.
    const CHUNK: u64 = 64;
    /// A fresh worker.
    fn worker(&self) -> Self::Worker;
    /// Runs index `k` into `worker`.
    fn run(&self, worker: &mut Self::Worker, k: u64);
    /// Runs indices `k` and `k + 1` into `worker`, with the same result as
    /// [`Job::run`] on each in turn; a job may override it to run the two
    /// together, faster.
    fn run_two(&self, worker: &mut Self::Worker, k: u64) {
        self.run(worker, k);
        self.run(worker, k + 1);
    }
    /// Moves what `worker` holds into `total`, leaving it empty.
    fn merge(&self, total: &mut Self::Total, worker: &mut Self::Worker);
}

/// How many indices a round runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundSize {
    /// Sized to take about 250 ms, from one chunk per thread to 2,048 runs
    /// per thread (and at most half the capacity).
    Adaptive,
    /// This many indices (at least one, and at most half the capacity).
    Fixed(u64),
}

/// When a cancel flag stops the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAt {
    /// At a round's end: the total keeps every round begun.
    RoundEnd,
    /// Before the next index (or the next pair of indices, where a job runs
    /// two at a time): threads and memory are freed at once, and the total
    /// keeps only what was merged before the interrupted round.
    NextIndex,
}

/// Where a [`Rounds::run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    /// Indices `start..next` ran in whole rounds.
    pub next: u64,
    /// Indices `start..merged` are in the total: `next` unless a cancel at
    /// [`CancelAt::NextIndex`] dropped rounds not merged yet.
    pub merged: u64,
    /// Whether the cancel flag stopped the work before the range's end.
    pub interrupted: bool,
}

/// The state between two rounds, handed to the caller's hook.
pub struct Between<'r, J: Job> {
    job: &'r J,
    total: &'r mut J::Total,
    workers: &'r mut Workers<J::Worker>,
    merged: &'r mut u64,
    next: u64,
    end: u64,
}

impl<J: Job> Between<'_, J> {
    /// Indices before this one have run.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Whether the range is done.
    pub fn finished(&self) -> bool {
        self.next >= self.end
    }

    /// The total of every index run so far (merging the workers, which reads
    /// all they hold: ask only when it is needed).
    pub fn merged(&mut self) -> &J::Total {
        merge_all(self.job, self.total, self.workers);
        *self.merged = self.next;
        self.total
    }
}

/// Runs a range of indices of a [`Job`] in rounds over a pool; see the
/// module documentation.
pub struct Rounds<'a, J: Job> {
    job: &'a J,
    /// The pool, or `None` for the pool the caller runs in (a stage of a
    /// command that installed its pool once, as a calibration does).
    pool: Option<&'a rayon::ThreadPool>,
    size: RoundSize,
    capacity: u64,
    cancel: Option<&'a AtomicBool>,
    cancel_at: CancelAt,
}

impl<'a, J: Job> Rounds<'a, J> {
    /// Rounds of `job` on `pool`, adaptive, with no cancel flag and no limit
    /// on what a worker holds.
    pub fn new(job: &'a J, pool: &'a rayon::ThreadPool) -> Self {
        Self::on(job, Some(pool))
    }

    /// Rounds of `job` on the pool the caller is running in (the one a
    /// command installed from [`pool`]; rayon's global pool outside any),
    /// as [`Rounds::new`] otherwise.
    pub fn in_current_pool(job: &'a J) -> Self {
        Self::on(job, None)
    }

    fn on(job: &'a J, pool: Option<&'a rayon::ThreadPool>) -> Self {
        Rounds {
            job,
            pool,
            size: RoundSize::Adaptive,
            capacity: u64::MAX,
            cancel: None,
            cancel_at: CancelAt::RoundEnd,
        }
    }

    /// How many indices a round runs.
    pub fn size(mut self, size: RoundSize) -> Self {
        self.size = size;
        self
    }

    /// The most indices one worker may hold unmerged (a recorder's 16-bit
    /// counters, say). Each worker counts what it holds, and the workers are
    /// merged before a round in which any one of them could exceed it (as
    /// if it ran the whole round). Counting per worker, not in total, is
    /// what keeps merges rare on many threads: with 16 threads, merging
    /// whenever the pool as a whole had run a worker's capacity meant a
    /// serial merge every round.
    pub fn capacity(mut self, runs: u64) -> Self {
        self.capacity = runs.max(1);
        self
    }

    /// Stops once `flag` is set, at `at`.
    pub fn cancel_flag(mut self, flag: Option<&'a AtomicBool>, at: CancelAt) -> Self {
        self.cancel = flag;
        self.cancel_at = at;
        self
    }

    /// Runs indices `range` into `total`, calling `between` after every
    /// round (the last included) until it returns an error.
    ///
    /// # Errors
    /// The first error `between` returns; the total then holds whatever was
    /// merged when it was returned.
    pub fn run<E>(
        self,
        total: &mut J::Total,
        range: Range<u64>,
        mut between: impl FnMut(&mut Between<'_, J>) -> Result<(), E>,
    ) -> Result<Ran, E> {
        let Rounds {
            job,
            pool,
            size,
            capacity,
            cancel,
            cancel_at,
        } = self;
        let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        let threads =
            pool.map_or_else(rayon::current_num_threads, |p| p.current_num_threads()) as u64;
        let install = |work: &(dyn Fn() + Sync)| match pool {
            Some(pool) => pool.install(work),
            None => work(),
        };
        let mut rounds = RoundSizes::new(size, J::CHUNK * threads, threads, capacity);
        let mut workers: Workers<J::Worker> = ThreadLocal::new();
        let (mut next, mut merged) = (range.start, range.start);
        let mut interrupted = false;
        while next < range.end {
            if cancelled() {
                interrupted = true;
                break;
            }
            let end = (next + rounds.round).min(range.end);
            let most_held = workers
                .iter_mut()
                .flat_map(|cell| cell.get_mut().iter().map(|h| h.held))
                .max();
            if most_held.unwrap_or(0) + (end - next) > capacity {
                merge_all(job, total, &mut workers);
                merged = next;
            }
            let chunks = (end - next).div_ceil(J::CHUNK);
            let round_started = Instant::now();
            let stop = || cancel_at == CancelAt::NextIndex && cancelled();
            install(&|| {
                (0..chunks).into_par_iter().for_each(|c| {
                    let first = next + c * J::CHUNK;
                    run_chunk(job, &workers, first..(first + J::CHUNK).min(end), stop);
                });
            });
            if cancel_at == CancelAt::NextIndex && cancelled() {
                // The round may be partial: it is dropped with the workers
                // (and any rounds before it not merged yet).
                return Ok(Ran {
                    next,
                    merged,
                    interrupted: true,
                });
            }
            next = end;
            rounds.after(round_started.elapsed());
            between(&mut Between {
                job,
                total,
                workers: &mut workers,
                merged: &mut merged,
                next,
                end: range.end,
            })?;
        }
        merge_all(job, total, &mut workers);
        Ok(Ran {
            next,
            merged: next,
            interrupted,
        })
    }
}

/// Runs indices `ks` (one chunk of a round) on a worker of this thread, two
/// at a time ([`Job::run_two`]), until `stop` says to (asked before each
/// pair). The worker is taken out of the thread's cell for
/// the chunk, not borrowed through it: a job whose work uses rayon itself
/// may have this thread steal another chunk of the round while it waits,
/// and that chunk then takes a worker of its own.
fn run_chunk<J: Job>(
    job: &J,
    workers: &Workers<J::Worker>,
    ks: Range<u64>,
    stop: impl Fn() -> bool,
) {
    let cell = workers.get_or(|| RefCell::new(Vec::new()));
    let taken = cell.borrow_mut().pop();
    let mut held = taken.unwrap_or_else(|| Held {
        worker: job.worker(),
        held: 0,
    });
    // Two indices at a time, and a lone last one.
    let mut k = ks.start;
    while k < ks.end && !stop() {
        if k + 1 < ks.end {
            job.run_two(&mut held.worker, k);
            held.held += 2;
            k += 2;
        } else {
            job.run(&mut held.worker, k);
            held.held += 1;
            k += 1;
        }
    }
    cell.borrow_mut().push(held);
}

/// How many indices the next round runs: a fixed number, or (adaptive)
/// from a chunk a thread, doubled while rounds take under half of
/// [`ROUND_TARGET`] and halved while they take over twice it; never more
/// than half a worker's capacity, which leaves it room for several rounds
/// between merges.
struct RoundSizes {
    round: u64,
    fewest: u64,
    most: u64,
    adaptive: bool,
}

impl RoundSizes {
    fn new(size: RoundSize, chunk_per_thread: u64, threads: u64, capacity: u64) -> Self {
        let (fewest, most) = match size {
            RoundSize::Adaptive => (chunk_per_thread, ROUND_PER_THREAD * threads),
            RoundSize::Fixed(n) => (n.max(1), n.max(1)),
        };
        let largest = (capacity / 2).max(1);
        let (fewest, most) = (fewest.min(largest), most.min(largest));
        RoundSizes {
            round: fewest,
            fewest,
            most,
            adaptive: size == RoundSize::Adaptive,
        }
    }

    /// The next round's size, after one that took `took`.
    fn after(&mut self, took: Duration) {
        if !self.adaptive {
            return;
        }
        if took < ROUND_TARGET / 2 {
            self.round = (self.round * 2).min(self.most);
        } else if took > ROUND_TARGET * 2 {
            self.round = (self.round / 2).max(self.fewest);
        }
    }
}

/// `f(k)` for every index `k` of `range`, in index order: for work whose
/// result per index is all there is (an ABC candidate, a particle's runs,
/// a history-matching point, a chunk of a case's runs), run as a [`Job`]
/// of one index a task, in one round on the pool the caller runs in (no
/// barrier between indices: a slow index holds up no other). The results
/// are the same whatever the threads when `f(k)` depends only on `k`.
pub fn map_indexed<T, F>(range: Range<u64>, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(u64) -> T + Sync,
{
    map_indexed_until(range, None, f).0
}

/// [`map_indexed`], stopping before the next index once `cancel` is set:
/// `None` then, and also when it was set as the last indices ran (the work
/// is done, but the caller asked to stop, and is told it stopped).
pub fn map_indexed_or_cancel<T, F>(
    range: Range<u64>,
    cancel: Option<&AtomicBool>,
    f: F,
) -> Option<Vec<T>>
where
    T: Send,
    F: Fn(u64) -> T + Sync,
{
    let (results, interrupted) = map_indexed_until(range, cancel, f);
    let cancelled = cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    (!interrupted && !cancelled).then_some(results)
}

/// The results of the indices run, in index order, and whether `cancel`
/// stopped the work first (the results are then partial).
fn map_indexed_until<T, F>(range: Range<u64>, cancel: Option<&AtomicBool>, f: F) -> (Vec<T>, bool)
where
    T: Send,
    F: Fn(u64) -> T + Sync,
{
    let job = IndexedMap {
        f,
        _result: std::marker::PhantomData,
    };
    let len = range.end.saturating_sub(range.start);
    let mut results = Vec::with_capacity(len as usize);
    let ran = Rounds::in_current_pool(&job)
        .size(RoundSize::Fixed(len.max(1)))
        .cancel_flag(cancel, CancelAt::NextIndex)
        .run(&mut results, range, |_| {
            Ok::<_, std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
    results.sort_unstable_by_key(|(k, _)| *k);
    (
        results.into_iter().map(|(_, result)| result).collect(),
        ran.interrupted,
    )
}

/// [`map_indexed`]'s job: each worker keeps its results with their indices.
struct IndexedMap<F, T> {
    f: F,
    _result: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send, F: Fn(u64) -> T + Sync> Job for IndexedMap<F, T> {
    type Worker = Vec<(u64, T)>;
    type Total = Vec<(u64, T)>;
    const CHUNK: u64 = 1;

    fn worker(&self) -> Vec<(u64, T)> {
        Vec::new()
    }

    fn run(&self, worker: &mut Vec<(u64, T)>, k: u64) {
        worker.push((k, (self.f)(k)));
    }

    fn merge(&self, total: &mut Vec<(u64, T)>, worker: &mut Vec<(u64, T)>) {
        total.append(worker);
    }
}

/// A thread's worker and how many indices it holds unmerged.
struct Held<W> {
    worker: W,
    held: u64,
}

/// The workers of a run of rounds, kept by the pool thread that made
/// them: one a thread, or more where a job's own rayon work had the thread
/// take another chunk while its worker was in use.
type Workers<W> = ThreadLocal<RefCell<Vec<Held<W>>>>;

/// Merges every worker into `total`, emptying them.
fn merge_all<J: Job>(job: &J, total: &mut J::Total, workers: &mut Workers<J::Worker>) {
    for held in workers
        .iter_mut()
        .flat_map(|cell| cell.get_mut().iter_mut())
    {
        job.merge(total, &mut held.worker);
        held.held = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums of `f(k)` and counts, per worker and in total: an exact merge.
    struct SumOf(fn(u64) -> u64);

    impl Job for SumOf {
        type Worker = (u64, u64);
        type Total = (u64, u64);
        const CHUNK: u64 = 8;
        fn worker(&self) -> (u64, u64) {
            (0, 0)
        }
        fn run(&self, worker: &mut (u64, u64), k: u64) {
            worker.0 += (self.0)(k);
            worker.1 += 1;
        }
        fn merge(&self, total: &mut (u64, u64), worker: &mut (u64, u64)) {
            total.0 += std::mem::take(&mut worker.0);
            total.1 += std::mem::take(&mut worker.1);
        }
    }

    fn square(k: u64) -> u64 {
        k * k
    }

    #[test]
    fn every_index_runs_once_whatever_the_threads_rounds_and_capacity() {
        let want: u64 = (10..1_000).map(square).sum();
        for threads in [1, 3] {
            let pool = pool(threads).unwrap();
            for size in [
                RoundSize::Adaptive,
                RoundSize::Fixed(1),
                RoundSize::Fixed(77),
            ] {
                for capacity in [1, 50, u64::MAX] {
                    let mut total = (0, 0);
                    let mut seen = Vec::new();
                    let ran = Rounds::new(&SumOf(square), &pool)
                        .size(size)
                        .capacity(capacity)
                        .run(&mut total, 10..1_000, |b| {
                            seen.push(b.next());
                            Ok::<_, ()>(())
                        })
                        .unwrap();
                    assert_eq!(total, (want, 990), "{threads} {size:?} {capacity}");
                    assert_eq!(
                        ran,
                        Ran {
                            next: 1_000,
                            merged: 1_000,
                            interrupted: false
                        }
                    );
                    assert!(seen.windows(2).all(|w| w[0] < w[1]) && seen.last() == Some(&1_000));
                }
            }
        }
    }

    #[test]
    fn an_indexed_map_is_in_index_order_whatever_the_threads_and_stops_when_cancelled() {
        let want: Vec<u64> = (5..500).map(square).collect();
        for threads in [1, 3] {
            let pool = pool(threads).unwrap();
            let got = pool.install(|| map_indexed(5..500, square));
            assert_eq!(got, want, "{threads}");
            assert_eq!(
                pool.install(|| map_indexed(7..7, square)),
                Vec::<u64>::new()
            );
            // A flag set by the first index stops the map long before the
            // others have run (each thread sees it before its next index).
            let flag = AtomicBool::new(false);
            let ran = std::sync::atomic::AtomicU64::new(0);
            let stopped = pool.install(|| {
                map_indexed_or_cancel(0..1_000, Some(&flag), |k| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    flag.store(true, Ordering::Relaxed);
                    k
                })
            });
            assert_eq!(stopped, None);
            assert!(ran.load(Ordering::Relaxed) < 500, "{ran:?}");
            // So does one set by the last index: the caller asked to stop.
            let late = AtomicBool::new(false);
            let stopped = pool.install(|| {
                map_indexed_or_cancel(0..100, Some(&late), |k| {
                    if k == 99 {
                        late.store(true, Ordering::Relaxed);
                    }
                    k
                })
            });
            assert_eq!(stopped, None);
            let unset = AtomicBool::new(false);
            let whole = pool.install(|| map_indexed_or_cancel(0..100, Some(&unset), |k| k));
            assert_eq!(whole, Some((0..100).collect()));
        }
    }

    /// Counts what each worker holds, and the most any one ever held.
    struct Counted;

    impl Job for Counted {
        type Worker = u64;
        type Total = (u64, u64);
        const CHUNK: u64 = 4;
        fn worker(&self) -> u64 {
            0
        }
        fn run(&self, worker: &mut u64, _: u64) {
            *worker += 1;
        }
        fn merge(&self, (runs, most): &mut (u64, u64), worker: &mut u64) {
            *runs += *worker;
            *most = (*most).max(std::mem::take(worker));
        }
    }

    #[test]
    fn no_worker_holds_more_than_the_capacity() {
        for (threads, capacity) in [(1, 10), (3, 10), (3, 1_000), (4, 7)] {
            let pool = pool(threads).unwrap();
            for size in [RoundSize::Adaptive, RoundSize::Fixed(9)] {
                let mut total = (0, 0);
                Rounds::new(&Counted, &pool)
                    .size(size)
                    .capacity(capacity)
                    .run(&mut total, 0..20_000, |_| Ok::<_, ()>(()))
                    .unwrap();
                assert_eq!(total.0, 20_000);
                assert!(
                    total.1 <= capacity,
                    "{threads} threads, {size:?}: a worker held {} > {capacity}",
                    total.1
                );
            }
        }
    }

    #[test]
    fn the_total_asked_for_between_rounds_holds_every_index_so_far() {
        let pool = pool(2).unwrap();
        let mut total = (0, 0);
        Rounds::new(&SumOf(square), &pool)
            .size(RoundSize::Fixed(100))
            .run(&mut total, 0..450, |b| {
                let next = b.next();
                let merged = *b.merged();
                assert_eq!(merged, ((0..next).map(square).sum(), next));
                Ok::<_, ()>(())
            })
            .unwrap();
    }

    #[test]
    fn a_cancel_at_a_round_end_keeps_whole_rounds() {
        let pool = pool(2).unwrap();
        let flag = AtomicBool::new(false);
        let mut total = (0, 0);
        let ran = Rounds::new(&SumOf(square), &pool)
            .size(RoundSize::Fixed(100))
            .cancel_flag(Some(&flag), CancelAt::RoundEnd)
            .run(&mut total, 0..1_000, |b| {
                if b.next() == 300 {
                    flag.store(true, Ordering::Relaxed);
                }
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(
            ran,
            Ran {
                next: 300,
                merged: 300,
                interrupted: true
            }
        );
        assert_eq!(total, ((0..300).map(square).sum(), 300));
    }

    /// Counts indices, and sets `flag` when it runs index `at`.
    struct StopAt<'f> {
        flag: &'f AtomicBool,
        at: u64,
    }

    impl Job for StopAt<'_> {
        type Worker = u64;
        type Total = u64;
        const CHUNK: u64 = 1;
        fn worker(&self) -> u64 {
            0
        }
        fn run(&self, worker: &mut u64, k: u64) {
            if k == self.at {
                self.flag.store(true, Ordering::Relaxed);
            }
            *worker += 1;
        }
        fn merge(&self, total: &mut u64, worker: &mut u64) {
            *total += std::mem::take(worker);
        }
    }

    #[test]
    fn a_cancel_within_a_round_drops_what_was_not_merged() {
        let pool = pool(2).unwrap();
        let flag = AtomicBool::new(false);
        let job = StopAt {
            flag: &flag,
            at: 250,
        };
        let mut total = 0;
        let ran = Rounds::new(&job, &pool)
            .size(RoundSize::Fixed(100))
            .cancel_flag(Some(&flag), CancelAt::NextIndex)
            .run(&mut total, 0..1_000, |b| {
                if b.next() == 100 {
                    b.merged();
                }
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(
            ran,
            Ran {
                next: 200,
                merged: 100,
                interrupted: true
            }
        );
        assert_eq!(total, 100);
        // At a round's end instead, the interrupted round is finished and kept.
        flag.store(false, Ordering::Relaxed);
        let mut total = 0;
        let ran = Rounds::new(&job, &pool)
            .size(RoundSize::Fixed(100))
            .cancel_flag(Some(&flag), CancelAt::RoundEnd)
            .run(&mut total, 0..1_000, |_| Ok::<_, ()>(()))
            .unwrap();
        assert_eq!(
            ran,
            Ran {
                next: 300,
                merged: 300,
                interrupted: true
            }
        );
        assert_eq!(total, 300);
    }

    #[test]
    fn an_error_between_rounds_stops_the_work() {
        let pool = pool(1).unwrap();
        let mut total = (0, 0);
        let err = Rounds::new(&SumOf(square), &pool)
            .size(RoundSize::Fixed(10))
            .run(&mut total, 0..100, |b| {
                if b.next() >= 30 {
                    Err(b.next())
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert_eq!(err, 30);
    }

    /// A job whose own work is a rayon map, as a user's parallel ABC model
    /// may be: its thread can steal another chunk of the round while it
    /// waits.
    struct NestedSum;

    impl Job for NestedSum {
        type Worker = (u64, u64);
        type Total = (u64, u64);
        const CHUNK: u64 = 1;
        fn worker(&self) -> (u64, u64) {
            (0, 0)
        }
        fn run(&self, worker: &mut (u64, u64), k: u64) {
            // A pause in each half keeps the other half out long enough
            // for this thread to go stealing.
            worker.0 += (0..8u64)
                .into_par_iter()
                .map(|i| {
                    std::thread::sleep(std::time::Duration::from_micros(100));
                    square(k + i)
                })
                .sum::<u64>();
            worker.1 += 1;
        }
        fn merge(&self, total: &mut (u64, u64), worker: &mut (u64, u64)) {
            SumOf(square).merge(total, worker);
        }
    }

    #[test]
    fn a_job_that_uses_rayon_itself_runs_without_a_clash_of_workers() {
        let want: u64 = (0..400u64)
            .map(|k| (0..8).map(|i| square(k + i)).sum::<u64>())
            .sum();
        for threads in [2, 4] {
            let pool = pool(threads).unwrap();
            let mut total = (0, 0);
            Rounds::new(&NestedSum, &pool)
                .size(RoundSize::Fixed(100))
                .run(&mut total, 0..400, |_| Ok::<_, ()>(()))
                .unwrap();
            assert_eq!(total, (want, 400), "{threads} threads");
        }
    }

    #[test]
    fn too_many_threads_are_refused() {
        let err = pool(max_threads() + 1).unwrap_err();
        assert!(matches!(err, ExecutorError::TooManyThreads { .. }), "{err}");
    }
}
