//! The across-runs summary of a study: every metric, every quarter, streamed.
//!
//! A [`Summary`] holds, for each quarter and each cell (a metric of the
//! catalogue, [`crate::metrics`], for one entity), exactly mergeable
//! statistics (see [`crate::stats`]): moments and a histogram for binned
//! metrics, a count for events. Its layout is assigned from the catalogue,
//! so every consumer finds a metric by its typed [`MetricId`] and entity.
//! A [`Recorder`] is the [`Observer`] that folds each run's quarters into a
//! summary, so no run's trajectory is kept and memory does not grow with the
//! number of runs; two summaries of disjoint runs
//! [`merge`](Summary::merge) into the summary of their union, bit for bit, in
//! any order. A summary of differences ([`Summary::difference`]) holds, per
//! cell, the paired difference B - A of two scenarios run with common random
//! numbers, with signed binnings.

use crate::engine::{Observer, PairObserver, QuarterView};
use crate::metrics::{Entity, Kind, MetricId, ever_flags, for_each_value, scope};
use crate::model::{MAX_QUARTERS, MAX_SUPPLIERS, Scenario};
use crate::stats::{
    Binning, Moments, UNIT_BINS, binned_percentile, event_percentile, fold, fold_difference,
    fold_repeated,
};

/// Most memory a study's summary may need; a scenario needing more is
/// refused before anything runs (with the figure, by the scenario's
/// validation).
pub const MAX_SUMMARY_BYTES: u64 = 8 << 30;

/// The percentiles reported for every metric.
pub const PERCENTILES: [u32; 5] = [5, 25, 50, 75, 95];

/// Why a summary could not be decoded, or is not internally consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// The encoding ends early.
    #[error("truncated summary")]
    Truncated,
    /// The declared shape is impossible or too large to hold.
    #[error("implausible summary shape: {0}")]
    Shape(String),
    /// The statistics contradict each other or the run count.
    #[error("inconsistent summary: {0}")]
    Inconsistent(String),
}

/// Mean, spread and percentiles of one metric at one quarter, across runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Runs in which the metric was defined this quarter.
    pub count: u64,
    /// Mean across those runs (for an event, its probability).
    pub mean: f64,
    /// Sample standard deviation across those runs (`None` for fewer than two).
    pub sd: Option<f64>,
    /// The percentiles of [`PERCENTILES`], in order.
    pub percentiles: [f64; 5],
}

impl Stat {
    /// The 5th percentile.
    pub fn p05(&self) -> f64 {
        self.percentiles[0]
    }
    /// The 25th percentile.
    pub fn p25(&self) -> f64 {
        self.percentiles[1]
    }
    /// The median.
    pub fn p50(&self) -> f64 {
        self.percentiles[2]
    }
    /// The 75th percentile.
    pub fn p75(&self) -> f64 {
        self.percentiles[3]
    }
    /// The 95th percentile.
    pub fn p95(&self) -> f64 {
        self.percentiles[4]
    }
}

/// How one cell is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    /// Moments and a histogram: the cell's index among a quarter's binned
    /// cells, and its histogram's offset among a quarter's bins.
    Binned {
        binning: Binning,
        index: usize,
        offset: usize,
    },
    /// A count of ones: the cell's index among a quarter's counted cells.
    Count { index: usize },
}

/// A metric of one entity, as a summary stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Which metric.
    pub id: MetricId,
    /// Whose.
    pub entity: Entity,
    store: Store,
}

impl Metric {
    /// How the metric itself is summarised (a difference of it is binned).
    pub fn kind(&self) -> Kind {
        self.id.kind()
    }

    /// The metric's name in files.
    pub fn name(&self) -> &'static str {
        self.id.name()
    }
}

/// What a summary covers: quarters, suppliers, compared pairs, and whether
/// it holds paired differences.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    quarters: usize,
    suppliers: usize,
    pairs: Vec<(usize, usize)>,
    difference: bool,
}

/// A quarter's cells and their sizes, derived from a shape and the catalogue.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    cells: Vec<Metric>,
    /// The binned cells' `(index, offset, binning)`, in index order.
    binned_cells: Vec<(usize, usize, Binning)>,
    binned: usize,
    bins: usize,
    counted: usize,
}

impl Layout {
    fn of(shape: &Shape) -> Layout {
        let mut layout = Layout {
            cells: Vec::new(),
            binned_cells: Vec::new(),
            binned: 0,
            bins: 0,
            counted: 0,
        };
        let mut add = |id: MetricId, entity: Entity| {
            let binning = match (id.kind().binning(), shape.difference) {
                (Some(b), false) => Some(b),
                (Some(b), true) => Some(b.signed()),
                (None, true) => Some(Binning::SignedUnit),
                (None, false) => None,
            };
            let store = match binning {
                Some(binning) => {
                    let store = Store::Binned {
                        binning,
                        index: layout.binned,
                        offset: layout.bins,
                    };
                    layout
                        .binned_cells
                        .push((layout.binned, layout.bins, binning));
                    layout.binned += 1;
                    layout.bins += binning.bins();
                    store
                }
                None => {
                    layout.counted += 1;
                    Store::Count {
                        index: layout.counted - 1,
                    }
                }
            };
            layout.cells.push(Metric { id, entity, store });
        };
        for &m in scope::World {
            add(m, Entity::World);
        }
        for &m in scope::Buyer {
            add(m, Entity::Buyer);
        }
        for i in 0..shape.suppliers {
            for &m in scope::Supplier {
                add(m, Entity::Supplier(i));
            }
        }
        for &(a, b) in &shape.pairs {
            for &m in scope::Pair {
                add(m, Entity::Pair(a, b));
            }
        }
        layout
    }
}

/// Streaming summary of a study's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    shape: Shape,
    layout: Layout,
    runs: u64,
    /// `moments[q * layout.binned + index]`.
    moments: Vec<Moments>,
    /// `bins[q * layout.bins + offset + bin]`; empty until allocated.
    bins: Vec<u64>,
    /// `counts[q * layout.counted + index]`.
    counts: Vec<u64>,
}

impl Summary {
    /// An empty summary for `scenario`'s quarters, suppliers and compared pairs.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with_shape(Self::shape_of(scenario, false))
    }

    /// An empty summary of the paired differences B - A between two runs of
    /// scenarios shaped like `scenario` (events become differences of 0/1).
    pub fn difference(scenario: &Scenario) -> Self {
        Self::with_shape(Self::shape_of(scenario, true))
    }

    fn shape_of(scenario: &Scenario, difference: bool) -> Shape {
        Shape {
            quarters: scenario.quarters() as usize,
            suppliers: scenario.suppliers().len(),
            pairs: scenario.compare().to_vec(),
            difference,
        }
    }

    fn with_shape(shape: Shape) -> Self {
        let mut summary = Self::unbinned(shape);
        summary.ensure_bins();
        summary
    }

    /// A summary whose histogram bins are not allocated yet: a [`Recorder`]'s,
    /// whose counts live in its own counters until they are spilled.
    fn unbinned(shape: Shape) -> Self {
        let layout = Layout::of(&shape);
        let q = shape.quarters;
        Summary {
            moments: vec![Moments::default(); q * layout.binned],
            bins: Vec::new(),
            counts: vec![0; q * layout.counted],
            runs: 0,
            layout,
            shape,
        }
    }

    /// Memory, in bytes, that a study of this shape needs for its summary and
    /// two workers' recorders (what validation checks before anything runs).
    pub fn estimated_bytes(quarters: usize, suppliers: usize, pairs: usize) -> u64 {
        let binned = |m: &&MetricId| m.kind() != Kind::Event;
        let count = |list: &[MetricId], times: usize| {
            let cells = list.iter().filter(binned);
            let bins: usize = cells
                .clone()
                .map(|m| m.kind().binning().unwrap().bins())
                .sum();
            ((cells.count() * times) as u64, (bins * times) as u64)
        };
        let parts = [
            count(scope::World, 1),
            count(scope::Buyer, 1),
            count(scope::Supplier, suppliers),
            count(scope::Pair, pairs),
        ];
        let (cells, bins): (u64, u64) = parts.iter().fold((0, 0), |(c, b), &(x, y)| (c + x, b + y));
        let summary = bins * 8 + cells * std::mem::size_of::<Moments>() as u64;
        let recorder = bins * 2 + cells * (RECORDER_BATCH as u64 * 8);
        quarters as u64 * (summary + 2 * recorder)
    }

    fn bin_count(&self) -> usize {
        self.shape.quarters * self.layout.bins
    }

    /// Allocates the histogram bins if they are not yet.
    fn ensure_bins(&mut self) {
        if self.bins.is_empty() {
            self.bins = vec![0; self.bin_count()];
        }
    }

    /// Number of runs folded in.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Number of quarters.
    pub fn quarters(&self) -> usize {
        self.shape.quarters
    }

    /// Whether this summary holds paired differences.
    pub fn is_difference(&self) -> bool {
        self.shape.difference
    }

    /// Whether `other` summarises the same quarters, suppliers and pairs, alike.
    pub fn same_shape(&self, other: &Summary) -> bool {
        self.shape == other.shape
    }

    /// Folds in another summary of disjoint runs. Exact: the result does not
    /// depend on the order of merges.
    ///
    /// # Panics
    /// If the two summaries have different shapes (see [`Summary::same_shape`]).
    pub fn merge(&mut self, other: &Summary) {
        assert!(
            self.same_shape(other),
            "merging summaries of different shapes"
        );
        self.runs += other.runs;
        if !other.bins.is_empty() {
            self.ensure_bins();
            add_counts(&mut self.bins, &other.bins);
        }
        add_counts(&mut self.counts, &other.counts);
        for (a, b) in self.moments.iter_mut().zip(&other.moments) {
            a.merge(b);
        }
    }

    /// Empties the summary, keeping its shape and memory.
    pub fn clear(&mut self) {
        self.runs = 0;
        self.bins.fill(0);
        self.counts.fill(0);
        self.moments.fill(Moments::default());
    }

    /// Every metric, in output order: world, buyer, each supplier, each pair.
    pub fn metrics(&self) -> &[Metric] {
        &self.layout.cells
    }

    /// Finds a metric by entity and id.
    pub fn metric(&self, entity: Entity, id: MetricId) -> Option<Metric> {
        self.layout
            .cells
            .iter()
            .find(|m| m.entity == entity && m.id == id)
            .copied()
    }

    /// Mean, spread and percentiles of `metric` at quarter `q`, or `None` if
    /// it was defined in no run (such as an order share in a quarter nobody
    /// ordered). `metric` must come from a summary of the same shape.
    pub fn stat(&self, q: usize, metric: &Metric) -> Option<Stat> {
        match metric.store {
            Store::Count { index } => {
                let ones = self.counts[q * self.layout.counted + index];
                let n = self.runs;
                let mean = (n > 0).then(|| ones as f64 / n as f64)?;
                let sd = (n > 1).then(|| (mean * (1.0 - mean) * n as f64 / (n - 1) as f64).sqrt());
                let percentiles =
                    PERCENTILES.map(|p| event_percentile(ones, n, p).unwrap_or(f64::NAN));
                Some(Stat {
                    count: n,
                    mean,
                    sd,
                    percentiles,
                })
            }
            Store::Binned {
                binning,
                index,
                offset,
            } => {
                let moments = &self.moments[q * self.layout.binned + index];
                let mean = moments.mean()?;
                let start = q * self.layout.bins + offset;
                let bins = &self.bins[start..start + binning.bins()];
                let percentiles = PERCENTILES
                    .map(|p| binned_percentile(bins, moments, p, binning).unwrap_or(f64::NAN));
                Some(Stat {
                    count: moments.count,
                    mean,
                    sd: moments.sd(binning),
                    percentiles,
                })
            }
        }
    }

    /// Checks that the statistics agree with each other and with the run
    /// count: every histogram holds as many values as its moments count, no
    /// cell counts more values than there are runs, and minima, maxima and
    /// sums lie within the binning's range. A merged or resumed state that
    /// fails this is corrupt.
    ///
    /// # Errors
    /// [`SummaryError::Inconsistent`] naming the first disagreement.
    pub fn check_consistency(&self) -> Result<(), SummaryError> {
        let bad = |what: String| Err(SummaryError::Inconsistent(what));
        for q in 0..self.shape.quarters {
            // Some metrics (unrest, budget) are defined in every run.
            let most = self.moments[q * self.layout.binned..(q + 1) * self.layout.binned]
                .iter()
                .map(|m| m.count)
                .max()
                .unwrap_or(self.runs);
            if most != self.runs {
                return bad(format!(
                    "quarter {q}: {} runs, but no metric was recorded in more than {most}",
                    self.runs
                ));
            }
            for cell in &self.layout.cells {
                match cell.store {
                    Store::Count { index } => {
                        let ones = self.counts[q * self.layout.counted + index];
                        if ones > self.runs {
                            return bad(format!(
                                "quarter {q}: {} counts {ones} of {} runs",
                                cell.id.name(),
                                self.runs
                            ));
                        }
                    }
                    Store::Binned {
                        binning,
                        index,
                        offset,
                    } => {
                        let m = &self.moments[q * self.layout.binned + index];
                        let start = q * self.layout.bins + offset;
                        let binned: u128 = self.bins[start..start + binning.bins()]
                            .iter()
                            .map(|&c| c as u128)
                            .sum();
                        let name = cell.id.name();
                        if binned != m.count as u128 || m.count > self.runs {
                            return bad(format!(
                                "quarter {q}: {name} holds {binned} binned values, {} counted, of {} runs",
                                m.count, self.runs
                            ));
                        }
                        if let Err(what) = m.check(binning) {
                            return bad(format!("quarter {q}: {name} {what}"));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn add_counts(into: &mut [u64], from: &[u64]) {
    for (a, &b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// Runs buffered by a [`Recorder`] before they are folded into its counters.
pub const RECORDER_BATCH: usize = 64;
/// Runs a [`Recorder`]'s 16-bit counters can take before they must be
/// spilled: each histogram gains at most one count per run.
const SPILL_EVERY: usize = u16::MAX as usize;
/// Runs a [`Recorder`] can take between two [`Recorder::drain_into`] without
/// ever allocating 64-bit bins of its own.
pub const RECORDER_CAPACITY: u64 = SPILL_EVERY as u64;

/// Folds runs into a [`Summary`]: the [`Observer`] a study's workers use.
///
/// A run touches over a thousand histograms, and with 64-bit counts they
/// outgrow the processor's caches, so recording would cost more than
/// simulating. Two things keep it cheap. Values are buffered for a batch of
/// runs, laid out by quarter and cell, and folded in one histogram at a
/// time. And histograms are first counted in 16-bit counters (a quarter of
/// the memory), which [`Recorder::drain_into`] adds straight into a study's
/// merged summary, skipping the many that are zero; a recorder drained at
/// least every [`RECORDER_CAPACITY`] runs never holds 64-bit bins of its own
/// (one that is not allocates them, once, to spill into). Neither can change
/// results: every count is exact and every statistic merges exactly.
#[derive(Debug, Clone)]
pub struct Recorder {
    summary: Summary,
    /// Complete runs in the batch (a difference recorder's: pairs whose
    /// values wait in A's and B's buffers and the event tally).
    filled: usize,
    /// Runs counted in `counters` since they were spilled.
    unspilled: usize,
    /// 16-bit bin counts, laid out like the summary's bins.
    counters: Vec<u16>,
    /// `values[(q * binned + index) * RECORDER_BATCH + run]`; NaN where
    /// undefined. Empty in a difference recorder, which has no buffer.
    values: Vec<f64>,
    /// The last quarter's events (1 if it happened, else 0), in cell order
    /// and padded with 0 to whole words of 8: what a [`PairRecorder`]
    /// differences, a word at a time.
    events: Vec<u8>,
    /// The "ever so far" flags of the runs being observed: of one run, then
    /// of the second of a pair observed together ([`PairObserver::observe_pair`]).
    ever: Vec<bool>,
}

impl Recorder {
    /// A recorder of `scenario`'s runs, starting from an empty summary.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with_summary(Summary::unbinned(Summary::shape_of(scenario, false)), true)
    }

    /// A recorder of the paired differences B - A of runs of two scenarios
    /// shaped like `scenario`, filled by a [`PairRecorder`].
    /// It keeps no batch buffer: the pair recorder folds the differences
    /// straight from A's and B's.
    fn difference(scenario: &Scenario) -> Self {
        Self::with_summary(Summary::unbinned(Summary::shape_of(scenario, true)), false)
    }

    /// A recorder into `summary`, with a batch buffer if `buffered`.
    fn with_summary(summary: Summary, buffered: bool) -> Self {
        let q = summary.shape.quarters;
        let flags = ever_flags(summary.shape.pairs.len());
        let buffer = if buffered {
            q * summary.layout.binned * RECORDER_BATCH
        } else {
            0
        };
        Recorder {
            values: vec![f64::NAN; buffer],
            events: vec![0; summary.layout.counted.div_ceil(8) * 8],
            ever: vec![false; 2 * flags],
            filled: 0,
            unspilled: 0,
            counters: vec![0; summary.bin_count()],
            summary,
        }
    }

    /// Folds the buffered runs in; the summary then holds every run observed.
    pub fn flush(&mut self) {
        let runs = self.filled;
        if runs == 0 {
            return;
        }
        debug_assert!(
            !self.values.is_empty(),
            "a difference recorder's batch is folded by its PairRecorder"
        );
        // Taken out for the fold (no copy), so the summary can be borrowed.
        let values = std::mem::take(&mut self.values);
        let binned = self.summary.layout.binned;
        self.fold_batch(
            runs,
            |q, index, counts, binning| {
                let slot = q * binned + index;
                fold(&values[slot * RECORDER_BATCH..][..runs], counts, binning)
            },
            Some(|q, index| values[(q * binned + index) * RECORDER_BATCH]),
        );
        self.values = values;
    }

    /// Folds a batch of `runs` runs into the counters and moments, and
    /// empties the batch. `fold_cell(q, index, counts, binning)` counts the
    /// batch's values of binned cell `index` in quarter `q` into `counts`
    /// and returns their moments. With `typical`, the next histogram is
    /// prefetched as each is folded, aimed by `typical(q, index)`, one of
    /// the batch's values of that cell ([`prefetch_histogram`]).
    fn fold_batch(
        &mut self,
        runs: usize,
        mut fold_cell: impl FnMut(usize, usize, &mut [u16], Binning) -> Moments,
        typical: Option<impl Fn(usize, usize) -> f64>,
    ) {
        if self.unspilled + runs > SPILL_EVERY {
            self.spill();
        }
        let s = &mut self.summary;
        let quarters = s.shape.quarters;
        let cells = &s.layout.binned_cells;
        for q in 0..quarters {
            for (k, &(index, offset, binning)) in cells.iter().enumerate() {
                let slot = q * s.layout.binned + index;
                let start = q * s.layout.bins + offset;
                let end = start + binning.bins();
                // The next histogram (the next quarter's first, after the
                // last) begins where this one ends.
                let (next_q, &(next_index, _, next)) = match cells.get(k + 1) {
                    Some(cell) => (q, cell),
                    None => (q + 1, &cells[0]),
                };
                if let Some(typical) = &typical
                    && next_q < quarters
                {
                    let histogram = &self.counters[end..end + next.bins()];
                    prefetch_histogram(histogram, next, || typical(next_q, next_index));
                }
                let counts = &mut self.counters[start..end];
                s.moments[slot].merge(&fold_cell(q, index, counts, binning));
            }
        }
        s.runs += runs as u64;
        self.unspilled += runs;
        self.filled = 0;
    }

    /// Adds the 16-bit counters into the recorder's own summary's bins
    /// (allocating them the first time) and zeroes them.
    fn spill(&mut self) {
        self.summary.ensure_bins();
        spill(&mut self.counters, &mut self.summary.bins);
        self.unspilled = 0;
    }

    /// Folds in everything buffered or counted, so the summary is complete.
    fn complete(&mut self) {
        self.flush();
        self.spill();
    }

    /// The summary of every run observed so far.
    pub fn summary(&mut self) -> &Summary {
        self.complete();
        &self.summary
    }

    /// The summary of every run observed.
    pub fn finish(mut self) -> Summary {
        self.complete();
        self.summary
    }

    /// Merges the summary of every run observed into `total` and empties the
    /// recorder, keeping its memory for more runs. The 16-bit counters go
    /// straight into `total`'s bins.
    ///
    /// # Panics
    /// If `total` summarises another shape of study.
    pub fn drain_into(&mut self, total: &mut Summary) {
        self.flush();
        assert!(
            self.summary.same_shape(total),
            "draining into a summary of another shape"
        );
        total.ensure_bins();
        spill(&mut self.counters, &mut total.bins);
        self.unspilled = 0;
        // Moments, counts, runs, and any bins the recorder had to allocate.
        total.merge(&self.summary);
        self.summary.clear();
    }

    /// Ends quarter `q` of the `runs` runs being observed: after their last
    /// quarter they are complete, and a full batch is folded.
    fn end_quarter(&mut self, q: usize, runs: usize) {
        if q + 1 == self.summary.shape.quarters {
            self.filled += runs;
            if self.filled == RECORDER_BATCH {
                self.flush();
            }
        }
    }
}

/// Folds pairs of runs, A and B run for run on common random numbers, into
/// A's summary, B's, and the summary of their differences B - A: the
/// recorder of a comparison ([`crate::experiment::compare`]).
///
/// The differences are neither read from the quarters a second time nor
/// buffered: a pair's values already sit in A's and B's batch buffers, laid
/// out alike, so at the end of a batch each binned cell's differences are
/// folded from two contiguous rows, subtracted as the fold reads them
/// ([`fold_difference`]). Events (0 or 1 in each run) differ by -1, 0 or
/// +1, so their differences are tallied as each quarter is observed, only
/// where A and B differ, and folded from the tally. A metric undefined
/// (NaN) in either run is undefined in the difference.
#[derive(Debug, Clone)]
pub struct PairRecorder {
    a: Recorder,
    b: Recorder,
    /// The differences' recorder: its counters and summary (every cell
    /// binned, in cell order), without a batch buffer of its own.
    difference: Recorder,
    /// Where each of the difference's cells comes from, by its index.
    sources: Vec<Source>,
    /// `event_tally[q * counted + c]`: the runs of the batch in which B's
    /// event `c` (in A's order of counted cells) minus A's was -1, and in
    /// which it was +1, in quarter `q` (in the other runs it was 0).
    event_tally: Vec<[u16; 2]>,
}

/// What a cell of a [`PairRecorder`]'s differences is the difference of.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A's and B's binned cell of this index.
    Binned(usize),
    /// A's and B's event (counted cell) of this index.
    Event(usize),
}

impl PairRecorder {
    /// A recorder of pairs of runs of two scenarios shaped like `scenario`
    /// (same quarters, suppliers and compared pairs).
    pub fn new(scenario: &Scenario) -> Self {
        let a = Recorder::new(scenario);
        let layout = &a.summary.layout;
        let sources = layout
            .cells
            .iter()
            .map(|metric| match metric.store {
                Store::Binned { index, .. } => Source::Binned(index),
                Store::Count { index } => Source::Event(index),
            })
            .collect();
        PairRecorder {
            b: a.clone(),
            event_tally: vec![[0; 2]; a.summary.shape.quarters * layout.counted],
            difference: Recorder::difference(scenario),
            a,
            sources,
        }
    }

    /// Records the same quarter of run k of A (`a`) and of B (`b`).
    ///
    /// # Panics
    /// If the views do not fit the recorder's shape.
    pub fn observe(&mut self, a: &QuarterView<'_>, b: &QuarterView<'_>) {
        debug_assert_eq!(a.quarter, b.quarter, "quarters of a pair differ");
        // A's and B's recorders fold their own batches when full; their
        // buffers keep the values, which the difference's fold reads.
        self.a.observe(a);
        self.b.observe(b);
        let q = a.quarter as usize;
        let counted = self.a.summary.layout.counted;
        let tally = &mut self.event_tally[q * counted..][..counted];
        // Eight events at a time, tallying only those where A and B differ
        // (most agree): each is a byte 0 or 1, so a differing one is one bit.
        for (w, (x, y)) in self
            .a
            .events
            .chunks_exact(8)
            .zip(self.b.events.chunks_exact(8))
            .enumerate()
        {
            let x = u64::from_le_bytes(x.try_into().expect("chunks of 8"));
            let y = u64::from_le_bytes(y.try_into().expect("chunks of 8"));
            let mut differ = x ^ y;
            while differ != 0 {
                let bit = differ.trailing_zeros();
                tally[w * 8 + bit as usize / 8][((y >> bit) & 1) as usize] += 1;
                differ &= differ - 1;
            }
        }
        if q + 1 == self.difference.summary.shape.quarters {
            self.difference.filled += 1;
            if self.difference.filled == RECORDER_BATCH {
                self.fold_differences();
            }
        }
    }

    /// Folds the differences of the pairs in A's and B's batches (those
    /// the difference recorder counts as filled) into its counters and
    /// moments, and empties the tallies.
    fn fold_differences(&mut self) {
        let runs = self.difference.filled;
        if runs == 0 {
            return;
        }
        let (a, b) = (&self.a, &self.b);
        let (binned, counted) = (a.summary.layout.binned, a.summary.layout.counted);
        let (sources, tally) = (&self.sources, &self.event_tally);
        self.difference.fold_batch(
            runs,
            |q, cell, counts, binning| match sources[cell] {
                Source::Binned(index) => {
                    let from = (q * binned + index) * RECORDER_BATCH;
                    let (xs, ys) = (&a.values[from..][..runs], &b.values[from..][..runs]);
                    fold_difference(xs, ys, counts, binning)
                }
                Source::Event(c) => {
                    let [minus, plus] = tally[q * counted + c];
                    debug_assert!(
                        usize::from(minus + plus) <= runs,
                        "a quarter tallied in more pairs than the batch holds"
                    );
                    let zero = runs as u16 - minus - plus;
                    let mut m = fold_repeated(-1.0, minus, counts, binning);
                    m.merge(&fold_repeated(0.0, zero, counts, binning));
                    m.merge(&fold_repeated(1.0, plus, counts, binning));
                    m
                }
            },
            // Not prefetched: it costs instructions a pair cannot spare.
            None::<fn(usize, usize) -> f64>,
        );
        self.event_tally.fill([0; 2]);
    }

    /// Merges every pair observed into A's, B's and the differences'
    /// summaries, and empties the recorder, keeping its memory.
    ///
    /// # Panics
    /// If a summary is of another shape than the recorder's.
    pub fn drain_into(&mut self, a: &mut Summary, b: &mut Summary, difference: &mut Summary) {
        self.fold_differences();
        self.a.drain_into(a);
        self.b.drain_into(b);
        self.difference.drain_into(difference);
    }

    /// The summaries of A's runs, B's runs and their differences B - A.
    pub fn finish(mut self) -> (Summary, Summary, Summary) {
        self.fold_differences();
        (self.a.finish(), self.b.finish(), self.difference.finish())
    }
}

/// Asks the processor to fetch the lines of a histogram of `binning` that a
/// batch's increments are likely to land on, while the histogram before
/// it is folded: all of a unit histogram (2 KB), and of a larger one the
/// zero bin's line and the lines about the bin of `typical()`, a value of
/// the batch (a run's values of one cell differ little, and many are 0).
/// The increments land on lines the 16-bit counters (megabytes in all)
/// have let fall out of the caches, and a miss there was where the folds
/// spent their time. A hint only: it changes no value.
#[inline(always)]
fn prefetch_histogram(counts: &[u16], binning: Binning, typical: impl FnOnce() -> f64) {
    if counts.len() <= UNIT_BINS {
        prefetch(counts);
        return;
    }
    let zero = binning.bin(0.0);
    prefetch(&counts[zero..zero + 1]);
    let x = typical();
    if !x.is_nan() {
        let at = binning.bin(x);
        prefetch(&counts[at.saturating_sub(64)..(at + 64).min(counts.len())]);
    }
}

/// Asks the processor to fetch every cache line `counts` touches (from the
/// line its first bin is in, so the last line is not missed).
#[inline(always)]
fn prefetch(counts: &[u16]) {
    #[cfg(target_arch = "x86_64")]
    {
        let into_line = counts.as_ptr() as usize % 64;
        let start = counts.as_ptr().cast::<i8>().wrapping_sub(into_line);
        for offset in (0..into_line + std::mem::size_of_val(counts)).step_by(64) {
            // SAFETY: a prefetch is a hint: it reads nothing architecturally
            // and cannot fault (every address is in a line the slice
            // touches anyway).
            unsafe {
                std::arch::x86_64::_mm_prefetch(
                    start.wrapping_add(offset),
                    std::arch::x86_64::_MM_HINT_T0,
                )
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = counts;
}

/// Adds 16-bit `counts` into `bins` and zeroes them, skipping zero chunks
/// (most bins of most histograms are never hit).
fn spill(counts: &mut [u16], bins: &mut [u64]) {
    const CHUNK: usize = 16;
    for (counts, bins) in counts.chunks_mut(CHUNK).zip(bins.chunks_mut(CHUNK)) {
        if counts.iter().all(|&c| c == 0) {
            continue;
        }
        for (bin, count) in bins.iter_mut().zip(counts.iter_mut()) {
            *bin += *count as u64;
            *count = 0;
        }
    }
}

impl Observer for Recorder {
    #[inline]
    fn observe(&mut self, v: &QuarterView<'_>) {
        self.write_quarter(v, 0);
        self.end_quarter(v.quarter as usize, 1);
    }
}

impl PairObserver for Recorder {
    /// Observes the same quarter of two runs of the recorder's scenario,
    /// stepped together ([`crate::engine::Simulator::run_two`]): `a`'s run
    /// goes into the batch first, as if the two had been observed one after
    /// the other.
    #[inline]
    fn observe_pair(&mut self, a: &QuarterView<'_>, b: &QuarterView<'_>) {
        debug_assert_eq!(
            a.quarter, b.quarter,
            "a pair's quarters are stepped together"
        );
        if a.quarter == 0 && self.filled + 2 > RECORDER_BATCH {
            // Only after a lone run: the batch has one row left.
            self.flush();
        }
        self.write_quarter(a, 0);
        self.write_quarter(b, 1);
        self.end_quarter(a.quarter as usize, 2);
    }
}

impl Recorder {
    /// Writes quarter `v` of the batch's run `filled + second` into the
    /// batch buffer and its events into the counts; `second` (0 or 1) also
    /// picks the run's "ever" flags.
    #[inline(always)]
    fn write_quarter(&mut self, v: &QuarterView<'_>, second: usize) {
        debug_assert!(
            !self.summary.shape.difference,
            "differences are recorded by a PairRecorder"
        );
        let q = v.quarter as usize;
        let s = &mut self.summary;
        let run = self.filled + second;
        let binned = s.layout.binned;
        let counted = s.layout.counted;
        let (mut b, mut c) = (0, 0);
        // This quarter's slices, so the writes below index within them.
        let values = &mut self.values[q * binned * RECORDER_BATCH..][..binned * RECORDER_BATCH];
        let counts = &mut s.counts[q * counted..][..counted];
        let events = &mut self.events;
        let flags = self.ever.len() / 2;
        let ever = &mut self.ever[second * flags..][..flags];
        for_each_value(v, &s.shape.pairs, ever, |m, _, x| {
            if m.kind() == Kind::Event {
                debug_assert!(x == 0.0 || x == 1.0, "event {} read {x}", m.name());
                let happened = x == 1.0;
                counts[c] += happened as u64;
                events[c] = happened as u8;
                c += 1;
            } else {
                values[b * RECORDER_BATCH + run] = x;
                b += 1;
            }
        });
    }
}

/// Binary encoding of a summary, for checkpoints and shard states: shape,
/// then every statistic, with histogram bins stored sparsely. Little-endian.
impl Summary {
    /// Appends the encoding of this summary to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let put = |out: &mut Vec<u8>, x: u64| out.extend_from_slice(&x.to_le_bytes());
        put(out, self.shape.quarters as u64);
        put(out, self.shape.suppliers as u64);
        put(out, self.shape.pairs.len() as u64);
        for &(a, b) in &self.shape.pairs {
            put(out, a as u64);
            put(out, b as u64);
        }
        put(out, self.shape.difference as u64);
        put(out, self.runs);
        let nonzero = self.bins.iter().filter(|&&c| c != 0).count();
        put(out, nonzero as u64);
        for (i, &c) in self.bins.iter().enumerate().filter(|(_, c)| **c != 0) {
            put(out, i as u64);
            put(out, c);
        }
        for m in &self.moments {
            m.encode(out);
        }
        for &e in &self.counts {
            put(out, e);
        }
    }

    /// Decodes a summary written by [`Summary::encode`] from the front of
    /// `input`, advancing it. Every declared size is checked against the
    /// limits validation puts on scenarios before anything is allocated,
    /// and the result is checked for consistency.
    ///
    /// # Errors
    /// [`SummaryError`] saying what is malformed.
    pub fn decode(input: &mut &[u8]) -> Result<Summary, SummaryError> {
        const MOMENTS_BYTES: u64 = Moments::ENCODED_BYTES as u64;
        fn take<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], SummaryError> {
            let (head, rest) = input
                .split_first_chunk::<N>()
                .ok_or(SummaryError::Truncated)?;
            *input = rest;
            Ok(*head)
        }
        let get = |input: &mut &[u8]| take::<8>(input).map(u64::from_le_bytes);
        let shape_error = |what: String| SummaryError::Shape(what);
        let quarters = get(input)?;
        let suppliers = get(input)?;
        let pair_count = get(input)?;
        if !(1..=MAX_QUARTERS as u64).contains(&quarters)
            || !(1..=MAX_SUPPLIERS as u64).contains(&suppliers)
            || pair_count > suppliers * suppliers
        {
            return Err(shape_error(format!(
                "{quarters} quarters, {suppliers} suppliers, {pair_count} pairs"
            )));
        }
        let (quarters, suppliers) = (quarters as usize, suppliers as usize);
        // Each pair is 16 bytes of input: a count the input cannot hold is
        // refused before anything is reserved for it.
        if pair_count > (input.len() / 16) as u64 {
            return Err(SummaryError::Truncated);
        }
        let mut pairs = Vec::with_capacity(pair_count as usize);
        for _ in 0..pair_count {
            let (a, b) = (get(input)?, get(input)?);
            if a >= suppliers as u64 || b >= suppliers as u64 || a == b {
                return Err(shape_error(format!("pair ({a}, {b})")));
            }
            pairs.push((a as usize, b as usize));
        }
        let difference = match get(input)? {
            0 => false,
            1 => true,
            other => return Err(shape_error(format!("difference flag {other}"))),
        };
        let bytes = Self::estimated_bytes(quarters, suppliers, pairs.len());
        if bytes > MAX_SUMMARY_BYTES {
            return Err(shape_error(format!("{bytes} bytes")));
        }
        let shape = Shape {
            quarters,
            suppliers,
            pairs,
            difference,
        };
        // The moments and event counts are written for every cell, so the
        // input must hold them all before the (larger) histogram is
        // allocated: a few header bytes cannot make the decoder reserve
        // gigabytes.
        let layout = Layout::of(&shape);
        let dense = (quarters as u64)
            .saturating_mul(layout.binned as u64 * MOMENTS_BYTES + layout.counted as u64 * 8);
        if (input.len() as u64) < dense.saturating_add(16) {
            return Err(SummaryError::Truncated);
        }
        let mut summary = Summary::with_shape(shape);
        summary.runs = get(input)?;
        let nonzero = get(input)?;
        if nonzero > summary.bins.len() as u64 {
            return Err(shape_error(format!("{nonzero} non-zero bins")));
        }
        let mut last = None;
        for _ in 0..nonzero {
            let i = get(input)?;
            let count = get(input)?;
            if last.is_some_and(|l| i <= l) || i >= summary.bins.len() as u64 {
                return Err(SummaryError::Inconsistent(format!("bin index {i}")));
            }
            last = Some(i);
            summary.bins[i as usize] = count;
        }
        for m in summary.moments.iter_mut() {
            *m = Moments::decode(input).ok_or(SummaryError::Truncated)?;
        }
        for e in summary.counts.iter_mut() {
            *e = get(input)?;
        }
        summary.check_consistency()?;
        Ok(summary)
    }
}

impl Summary {
    /// Checks that the summary's counts agree with its number of runs: no
    /// statistic counts more runs than were folded in. Used on every
    /// summary read from a state file, so a damaged or crafted count is
    /// refused instead of read as results.
    ///
    /// # Errors
    /// What disagrees.
    pub fn check_counts(&self) -> Result<(), String> {
        let runs = self.runs;
        if let Some(m) = self.moments.iter().find(|m| m.count > runs) {
            return Err(format!(
                "a statistic counts {} runs of a summary of {runs}",
                m.count
            ));
        }
        if let Some(e) = self.counts.iter().find(|&&e| e > runs) {
            return Err(format!("an event counts {e} runs of a summary of {runs}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Simulator, run_rng};
    use crate::scenario::load_str;
    use crate::study::Study;

    fn minimal(overrides: &[String]) -> Scenario {
        let text = include_str!("../tests/fixtures/minimal_v2.toml");
        load_str(text, "t", "t", overrides).unwrap().scenario
    }

    #[test]
    fn a_recorder_used_alone_past_its_capacity_equals_a_study() {
        // A recorder never drained must spill into bins of its own: run it past
        // its 16-bit capacity and compare with a study, which drains in time.
        let runs = RECORDER_CAPACITY + 700;
        let scenario = minimal(&[format!("run.runs={runs}"), "run.quarters=4".to_string()]);
        let mut recorder = Recorder::new(&scenario);
        let mut simulator = Simulator::new(&scenario);
        for k in 0..runs {
            simulator.run(&mut run_rng(scenario.seed(), k), &mut recorder);
        }
        assert_eq!(recorder.summary().runs(), runs);
        let alone = recorder.finish();
        let study = Study::new(&scenario).threads(2).run().unwrap().summary;
        assert_eq!(alone, study);
    }

    #[test]
    fn a_recorder_fed_runs_in_pairs_equals_one_fed_runs_in_turn() {
        let fixtures = [
            include_str!("../tests/fixtures/minimal.toml"),
            include_str!("../tests/fixtures/minimal_v2.toml"),
            include_str!("../tests/fixtures/minimal_v3.toml"),
            // Its pairs' "ever ahead" differs from run to run.
            include_str!("../scenarios/myanmar_2021_v2.toml"),
        ];
        for text in fixtures {
            let scenario = load_str(text, "t", "t", &["run.quarters=12".into()])
                .unwrap()
                .scenario;
            let rng = |k| run_rng(scenario.seed(), k);
            let runs = 2 * RECORDER_BATCH as u64 + 9;
            let mut in_turn = Recorder::new(&scenario);
            let mut sim = Simulator::new(&scenario);
            for k in 0..runs {
                sim.run(&mut rng(k), &mut in_turn);
            }
            // A lone run first, so that a pair meets a batch with one row left.
            let mut paired = Recorder::new(&scenario);
            let mut other = Simulator::new(&scenario);
            sim.run(&mut rng(0), &mut paired);
            for k in (1..runs).step_by(2) {
                Simulator::run_two(
                    &mut sim,
                    &mut other,
                    &mut rng(k),
                    &mut rng(k + 1),
                    &mut paired,
                );
            }
            assert_eq!(paired.finish(), in_turn.finish(), "{}", scenario.name());
        }
    }

    #[test]
    fn every_metric_of_the_catalogue_has_a_cell_and_a_statistic() {
        let scenario = minimal(&["run.runs=70".into()]);
        let summary = Study::new(&scenario).threads(1).run().unwrap().summary;
        let expected = scope::World.len()
            + scope::Buyer.len()
            + 2 * scope::Supplier.len()
            + scenario.compare().len() * scope::Pair.len();
        assert_eq!(summary.metrics().len(), expected);
        for m in summary.metrics() {
            assert_eq!(summary.metric(m.entity, m.id), Some(*m));
            if let Some(stat) = summary.stat(3, m) {
                assert!(stat.count <= 70);
                assert!(
                    stat.p05() <= stat.p50() && stat.p50() <= stat.p95(),
                    "{m:?}"
                );
            }
        }
        summary.check_consistency().unwrap();
    }

    #[test]
    fn encoding_round_trips_and_corruption_is_refused() {
        let scenario = minimal(&["run.runs=100".into()]);
        let summary = Study::new(&scenario).threads(1).run().unwrap().summary;
        let mut bytes = Vec::new();
        summary.encode(&mut bytes);
        assert_eq!(Summary::decode(&mut bytes.as_slice()).unwrap(), summary);
        for cut in [0, 5, 40, bytes.len() / 2, bytes.len() - 1] {
            assert!(Summary::decode(&mut &bytes[..cut]).is_err(), "cut at {cut}");
        }
        // A bumped run count no longer agrees with the histograms' contents.
        let mut bumped = bytes.clone();
        let runs_at = 8 * 3 + 16 * scenario.compare().len() + 8;
        bumped[runs_at] = bumped[runs_at].wrapping_add(1);
        assert!(matches!(
            Summary::decode(&mut bumped.as_slice()),
            Err(SummaryError::Inconsistent(_))
        ));
        // A huge declared shape is refused before anything is allocated.
        let mut huge = Vec::new();
        for x in [4000u64, 64, 0, 0] {
            huge.extend_from_slice(&x.to_le_bytes());
        }
        assert!(matches!(
            Summary::decode(&mut huge.as_slice()),
            Err(SummaryError::Shape(_) | SummaryError::Truncated)
        ));
        let mut absurd = Vec::new();
        for x in [u64::MAX, 3, 0] {
            absurd.extend_from_slice(&x.to_le_bytes());
        }
        assert!(matches!(
            Summary::decode(&mut absurd.as_slice()),
            Err(SummaryError::Shape(_))
        ));
    }

    #[test]
    fn inconsistent_counts_are_caught() {
        let scenario = minimal(&["run.runs=20".into()]);
        let mut summary = Study::new(&scenario).threads(1).run().unwrap().summary;
        summary.runs = 1000;
        summary.check_consistency().unwrap_err();
        summary.runs = 20;
        summary.counts[0] = 21;
        assert!(summary.check_consistency().is_err());
        summary.counts[0] = 0;
        summary.moments[3].count += 1;
        assert!(summary.check_consistency().is_err());
    }

    /// Runs `runs` pairs of `a` and `b` through a [`PairRecorder`].
    fn record_pairs(a: &Scenario, b: &Scenario, runs: u64) -> (Summary, Summary, Summary) {
        let mut recorder = PairRecorder::new(a);
        let (mut sim_a, mut sim_b) = (Simulator::new(a), Simulator::new(b));
        for k in 0..runs {
            let (mut ra, mut rb) = (run_rng(1, k), run_rng(1, k));
            sim_a.reset(&mut ra);
            sim_b.reset(&mut rb);
            for _ in 0..a.quarters() {
                let va = sim_a.step(&mut ra);
                let vb = sim_b.step(&mut rb);
                recorder.observe(&va, &vb);
            }
        }
        recorder.finish()
    }

    #[test]
    fn paired_differences_of_a_scenario_with_itself_are_zero() {
        let scenario = minimal(&["run.runs=10".into()]);
        let (a, b, summary) = record_pairs(&scenario, &scenario, 10);
        assert_eq!(a, b);
        assert_eq!(summary.runs(), 10);
        for m in summary.metrics() {
            if let Some(stat) = summary.stat(5, m) {
                assert_eq!(
                    (stat.mean, stat.p05(), stat.p95()),
                    (0.0, 0.0, 0.0),
                    "{m:?}"
                );
            }
        }
    }

    #[test]
    fn a_forged_sum_of_squares_is_refused() {
        // A state file whose sums of squares were zeroed (its checksum
        // recomputed) used to merge and report sd 0.
        let s = minimal(&["run.runs=50".into()]);
        let mut summary = Study::new(&s).threads(1).run().unwrap().summary;
        let i = summary
            .moments
            .iter()
            .position(|m| m.count > 1 && m.mean().is_some_and(|x| x.abs() > 1e-3))
            .unwrap();
        summary.moments[i].sum_squares = 0;
        let mut bytes = Vec::new();
        summary.encode(&mut bytes);
        let err = Summary::decode(&mut &bytes[..]).unwrap_err();
        assert!(matches!(err, SummaryError::Inconsistent(_)), "{err}");
        assert!(err.to_string().contains("mean square"), "{err}");
    }

    /// The summary of `runs` pairs' differences B - A, built value by value
    /// from each quarter's catalogue values (the one traversal) with
    /// `Moments::add` and `Binning::bin`, and how many event differences
    /// were not 0.
    fn differences_value_by_value(a: &Scenario, b: &Scenario, runs: u64) -> (Summary, usize) {
        let mut expected = Summary::difference(a);
        let pairs = a.compare().to_vec();
        let (mut sim_a, mut sim_b) = (Simulator::new(a), Simulator::new(b));
        let flags = ever_flags(pairs.len());
        let (mut ever_a, mut ever_b) = (vec![false; flags], vec![false; flags]);
        let mut events_differing = 0;
        for k in 0..runs {
            let (mut ra, mut rb) = (run_rng(1, k), run_rng(1, k));
            sim_a.reset(&mut ra);
            sim_b.reset(&mut rb);
            for q in 0..a.quarters() as usize {
                let (mut xs, mut ys) = (Vec::new(), Vec::new());
                for_each_value(&sim_a.step(&mut ra), &pairs, &mut ever_a, |_, _, x| {
                    xs.push(x)
                });
                for_each_value(&sim_b.step(&mut rb), &pairs, &mut ever_b, |_, _, y| {
                    ys.push(y)
                });
                let layout = expected.layout.clone();
                for (cell, metric) in layout.cells.iter().enumerate() {
                    let Store::Binned {
                        binning,
                        index,
                        offset,
                    } = metric.store
                    else {
                        panic!("every cell of a difference summary is binned");
                    };
                    let delta = ys[cell] - xs[cell];
                    if delta.is_nan() {
                        continue;
                    }
                    if metric.kind() == Kind::Event && delta != 0.0 {
                        events_differing += 1;
                    }
                    expected.moments[q * layout.binned + index].add(delta, binning);
                    let (lo, hi) = binning.limits();
                    expected.bins[q * layout.bins + offset + binning.bin(delta.clamp(lo, hi))] += 1;
                }
            }
        }
        expected.runs = runs;
        (expected, events_differing)
    }

    #[test]
    fn paired_differences_equal_differences_of_the_runs_values() {
        // 150 pairs: two full batches and a part, so both the batch-end and
        // the finishing paths fold the differences.
        let a = minimal(&["run.quarters=6".into()]);
        let b = minimal(&[
            "run.quarters=6".into(),
            "suppliers.Alpha.support=0".into(),
            "suppliers.Alpha.hold_support=true".into(),
        ]);
        let runs = 150;
        let (summary_a, summary_b, difference) = record_pairs(&a, &b, runs);
        let (expected, _) = differences_value_by_value(&a, &b, runs);
        assert_eq!(difference, expected);
        assert!(
            difference
                .moments
                .iter()
                .any(|m| m.count > 0 && m.min < 0.0)
        );
        // A's and B's summaries are those of their own studies.
        let study = |s: &Scenario| {
            let mut recorder = Recorder::new(s);
            let mut sim = Simulator::new(s);
            for k in 0..runs {
                sim.run(&mut run_rng(1, k), &mut recorder);
            }
            recorder.finish()
        };
        assert_eq!(summary_a, study(&a));
        assert_eq!(summary_b, study(&b));
    }

    /// The baseline (4 suppliers) comparing every ordered pair: 25 events,
    /// so the pair recorder compares A's and B's in four words.
    fn baseline_with_every_pair(overrides: &[&str]) -> Scenario {
        let text = include_str!("../scenarios/myanmar_2021.toml");
        let line = r#"compare = [["Russia", "China"], ["Russia", "India"], ["India", "China"]]"#;
        assert!(text.contains(line), "the baseline's compared pairs moved");
        let names = ["Russia", "China", "India", "Others"];
        let pairs: Vec<String> = names
            .iter()
            .flat_map(|a| names.iter().map(move |b| (a, b)))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!(r#"["{a}", "{b}"]"#))
            .collect();
        let text = text.replace(line, &format!("compare = [{}]", pairs.join(", ")));
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        load_str(&text, "t", "t", &overrides).unwrap().scenario
    }

    #[test]
    fn paired_differences_drained_at_any_run_equal_the_runs_differences() {
        // Drained after irregular numbers of pairs (partial batches, a
        // batch split across drains) and with events in several words,
        // many of which differ between A and B.
        let a = baseline_with_every_pair(&["run.quarters=24"]);
        let b = baseline_with_every_pair(&[
            "run.quarters=24",
            "suppliers.Russia.support=0",
            "suppliers.Russia.hold_support=true",
        ]);
        assert_eq!(a.compare().len(), 12);
        let runs = 300;
        let mut recorder = PairRecorder::new(&a);
        let mut totals = (Summary::new(&a), Summary::new(&b), Summary::difference(&a));
        let (mut sim_a, mut sim_b) = (Simulator::new(&a), Simulator::new(&b));
        for k in 0..runs {
            let (mut ra, mut rb) = (run_rng(1, k), run_rng(1, k));
            sim_a.reset(&mut ra);
            sim_b.reset(&mut rb);
            for _ in 0..a.quarters() {
                recorder.observe(&sim_a.step(&mut ra), &sim_b.step(&mut rb));
            }
            if k % 37 == 36 || k % 101 == 100 {
                recorder.drain_into(&mut totals.0, &mut totals.1, &mut totals.2);
            }
        }
        recorder.drain_into(&mut totals.0, &mut totals.1, &mut totals.2);
        let (expected, events_differing) = differences_value_by_value(&a, &b, runs);
        assert!(
            events_differing > 100,
            "{events_differing} event differences"
        );
        assert_eq!(totals.2, expected);
    }
}
