//! The across-runs summary of a study: every metric, every quarter, streamed.
//!
//! A [`Recorder`] is the [`Observer`] that folds each run's quarters into a
//! [`Summary`] of exactly mergeable statistics (see [`crate::stats`]), so no
//! run's trajectory is kept and memory does not grow with the number of runs. Two summaries
//! of disjoint runs [`merge`](Summary::merge) into the summary of their union,
//! bit for bit, in any order. [`Summary::metrics`] lists what it measures and
//! [`Summary::stat`] reads a metric's mean and percentiles at a quarter.

use crate::engine::{Observer, QuarterView};
use crate::model::Scenario;
use crate::stats::{
    Moments, POSITIVE_BINS, UNIT_BINS, binned_percentile, event_percentile, fold_positive,
    fold_unit, positive_value, unit_value,
};

/// The percentiles reported for every metric.
pub const PERCENTILES: [u32; 5] = [5, 25, 50, 75, 95];

/// How a metric is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A quantity in [0, 1]: unit bins, percentiles within 0.0005.
    Unit,
    /// A non-negative unbounded quantity: log-linear bins, 0.78% relative error.
    Positive,
    /// A yes/no outcome: exact counts; the mean is its probability.
    Event,
}

/// Whose metric it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// The world (unrest, pressure, embargo).
    World,
    /// The buyer (budget, concentration).
    Buyer,
    /// The supplier at this index.
    Supplier(usize),
    /// An ordered pair of suppliers `(a, b)`, written `a>b`.
    Pair(usize, usize),
}

/// One summarised metric: its entity, name, kind and storage slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// Whose it is.
    pub entity: Entity,
    /// Its name in `summary.csv`.
    pub name: &'static str,
    /// How it is summarised.
    pub kind: Kind,
    slot: usize,
}

/// Mean and percentiles of one metric at one quarter, across runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Runs in which the metric was defined this quarter.
    pub count: u64,
    /// Mean across those runs (for an event, its probability).
    pub mean: f64,
    /// The percentiles of [`PERCENTILES`], in order.
    pub percentiles: [f64; 5],
}

impl Stat {
    /// The 5th percentile.
    pub fn p05(&self) -> f64 {
        self.percentiles[0]
    }
    /// The median.
    pub fn p50(&self) -> f64 {
        self.percentiles[2]
    }
    /// The 95th percentile.
    pub fn p95(&self) -> f64 {
        self.percentiles[4]
    }
}

/// Per-supplier metrics, in output order, with their kinds.
pub const SUPPLIER_METRICS: [(&str, Kind); 7] = [
    ("purchases", Kind::Positive),
    ("purchase_share", Kind::Unit),
    ("rolling_share", Kind::Unit),
    ("base_share", Kind::Unit),
    ("support", Kind::Unit),
    ("discount", Kind::Unit),
    ("influence", Kind::Unit),
];

/// Supplier `i`'s value of each of [`SUPPLIER_METRICS`] in one quarter, in
/// that order; NaN where undefined. Shares of a quarter (or window) without
/// purchases are undefined, and such a run is left out of that quarter's
/// share statistics. The one definition of the per-supplier outputs, used by
/// the summary and by `runs.csv`.
#[inline(always)]
pub fn supplier_metrics(v: &QuarterView<'_>, i: usize) -> [f64; 7] {
    let per_purchase = if v.total_purchases > 0.0 {
        1.0 / v.total_purchases
    } else {
        f64::NAN
    };
    [
        v.purchases[i],
        v.purchases[i] * per_purchase,
        if v.rolling_defined {
            v.rolling_share[i]
        } else {
            f64::NAN
        },
        v.base_share[i],
        v.support[i],
        v.discount[i],
        v.base_share[i] * v.support[i],
    ]
}

/// Streaming summary of a study's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    quarters: usize,
    suppliers: usize,
    pairs: Vec<(usize, usize)>,
    runs: u64,
    unit_bins: Vec<u64>,
    unit_moments: Vec<Moments>,
    positive_bins: Vec<u64>,
    positive_moments: Vec<Moments>,
    events: Vec<u64>,
}

// Slot arithmetic: unit slots are unrest, pressure, hhi, then six per supplier;
// positive slots are budget, then purchases per supplier; event slots are
// embargo, then ahead and ever_ahead per pair.
const UNIT_FIXED: usize = 3;
const UNIT_PER_SUPPLIER: usize = 6;

impl Summary {
    /// An empty summary for `scenario`'s quarters, suppliers and compared pairs.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with_shape(
            scenario.quarters as usize,
            scenario.suppliers.len(),
            scenario.compare.clone(),
        )
    }

    fn with_shape(quarters: usize, suppliers: usize, pairs: Vec<(usize, usize)>) -> Self {
        let mut summary = Self::unbinned(quarters, suppliers, pairs);
        summary.ensure_bins();
        summary
    }

    /// A summary whose histogram bins are not allocated yet: a [`Recorder`]'s,
    /// whose counts live in its own counters until they are spilled.
    fn unbinned(quarters: usize, suppliers: usize, pairs: Vec<(usize, usize)>) -> Self {
        let units = UNIT_FIXED + UNIT_PER_SUPPLIER * suppliers;
        let positives = 1 + suppliers;
        let events = 1 + 2 * pairs.len();
        Summary {
            quarters,
            suppliers,
            runs: 0,
            unit_bins: Vec::new(),
            unit_moments: vec![Moments::default(); quarters * units],
            positive_bins: Vec::new(),
            positive_moments: vec![Moments::default(); quarters * positives],
            events: vec![0; quarters * events],
            pairs,
        }
    }

    fn unit_bin_count(&self) -> usize {
        self.unit_moments.len() * UNIT_BINS
    }

    fn positive_bin_count(&self) -> usize {
        self.positive_moments.len() * POSITIVE_BINS
    }

    /// Allocates the histogram bins if they are not yet.
    fn ensure_bins(&mut self) {
        if self.unit_bins.is_empty() {
            self.unit_bins = vec![0; self.unit_bin_count()];
            self.positive_bins = vec![0; self.positive_bin_count()];
        }
    }

    fn units_per_quarter(&self) -> usize {
        UNIT_FIXED + UNIT_PER_SUPPLIER * self.suppliers
    }

    fn positives_per_quarter(&self) -> usize {
        1 + self.suppliers
    }

    fn events_per_quarter(&self) -> usize {
        1 + 2 * self.pairs.len()
    }

    /// Number of runs folded in.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Number of quarters.
    pub fn quarters(&self) -> usize {
        self.quarters
    }

    /// Whether `other` summarises the same quarters, suppliers and pairs.
    pub fn same_shape(&self, other: &Summary) -> bool {
        self.quarters == other.quarters
            && self.suppliers == other.suppliers
            && self.pairs == other.pairs
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
        add_counts(&mut self.unit_bins, &other.unit_bins);
        add_counts(&mut self.positive_bins, &other.positive_bins);
        add_counts(&mut self.events, &other.events);
        for (a, b) in self.unit_moments.iter_mut().zip(&other.unit_moments) {
            a.merge(b);
        }
        for (a, b) in self
            .positive_moments
            .iter_mut()
            .zip(&other.positive_moments)
        {
            a.merge(b);
        }
    }

    /// Empties the summary, keeping its shape and memory.
    pub fn clear(&mut self) {
        self.runs = 0;
        self.unit_bins.fill(0);
        self.positive_bins.fill(0);
        self.events.fill(0);
        self.unit_moments.fill(Moments::default());
        self.positive_moments.fill(Moments::default());
    }

    /// Every metric, in output order: world, buyer, each supplier, each pair.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut out = vec![
            Metric {
                entity: Entity::World,
                name: "unrest",
                kind: Kind::Unit,
                slot: 0,
            },
            Metric {
                entity: Entity::World,
                name: "pressure",
                kind: Kind::Unit,
                slot: 1,
            },
            Metric {
                entity: Entity::World,
                name: "embargo",
                kind: Kind::Event,
                slot: 0,
            },
            Metric {
                entity: Entity::Buyer,
                name: "budget",
                kind: Kind::Positive,
                slot: 0,
            },
            Metric {
                entity: Entity::Buyer,
                name: "hhi",
                kind: Kind::Unit,
                slot: 2,
            },
        ];
        for i in 0..self.suppliers {
            let mut unit = UNIT_FIXED + UNIT_PER_SUPPLIER * i;
            for (name, kind) in SUPPLIER_METRICS {
                let slot = match kind {
                    Kind::Positive => 1 + i,
                    _ => {
                        unit += 1;
                        unit - 1
                    }
                };
                out.push(Metric {
                    entity: Entity::Supplier(i),
                    name,
                    kind,
                    slot,
                });
            }
        }
        for (j, &(a, b)) in self.pairs.iter().enumerate() {
            let entity = Entity::Pair(a, b);
            out.push(Metric {
                entity,
                name: "ahead",
                kind: Kind::Event,
                slot: 1 + 2 * j,
            });
            out.push(Metric {
                entity,
                name: "ever_ahead",
                kind: Kind::Event,
                slot: 2 + 2 * j,
            });
        }
        out
    }

    /// Finds a metric by entity and name.
    pub fn metric(&self, entity: Entity, name: &str) -> Option<Metric> {
        self.metrics()
            .into_iter()
            .find(|m| m.entity == entity && m.name == name)
    }

    /// Mean and percentiles of `metric` at quarter `q`, or `None` if it was
    /// defined in no run (such as a purchase share in a quarter nobody bought).
    pub fn stat(&self, q: usize, metric: &Metric) -> Option<Stat> {
        match metric.kind {
            Kind::Event => {
                let ones = self.events[q * self.events_per_quarter() + metric.slot];
                let n = self.runs;
                let mean = (n > 0).then(|| ones as f64 / n as f64)?;
                let percentiles =
                    PERCENTILES.map(|p| event_percentile(ones, n, p).unwrap_or(f64::NAN));
                Some(Stat {
                    count: n,
                    mean,
                    percentiles,
                })
            }
            Kind::Unit | Kind::Positive => {
                let (bins, moments, width, value_of): (&[u64], _, _, fn(usize) -> f64) =
                    match metric.kind {
                        Kind::Unit => (&self.unit_bins, &self.unit_moments, UNIT_BINS, unit_value),
                        _ => (
                            &self.positive_bins,
                            &self.positive_moments,
                            POSITIVE_BINS,
                            positive_value,
                        ),
                    };
                let per_quarter = moments.len() / self.quarters;
                let index = q * per_quarter + metric.slot;
                let moments = &moments[index];
                let bins = &bins[index * width..(index + 1) * width];
                let mean = moments.mean()?;
                let percentiles = PERCENTILES
                    .map(|p| binned_percentile(bins, moments, p, value_of).unwrap_or(f64::NAN));
                Some(Stat {
                    count: moments.count,
                    mean,
                    percentiles,
                })
            }
        }
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
/// runs, laid out by quarter and metric, and folded in one histogram at a
/// time. And histograms are first counted in 16-bit counters (a quarter of
/// the memory), which [`Recorder::drain_into`] adds straight into a study's
/// merged summary, skipping the many that are zero; a recorder drained at
/// least every [`RECORDER_CAPACITY`] runs never holds 64-bit bins of its own
/// (one that is not allocates them, once, to spill into). Neither can change
/// results: every count is exact and every statistic merges exactly.
#[derive(Debug, Clone)]
pub struct Recorder {
    summary: Summary,
    /// Complete runs in the buffers.
    filled: usize,
    /// Runs counted in `unit_counts`/`positive_counts` since they were spilled.
    unspilled: usize,
    /// 16-bit bin counts, laid out like the summary's bins.
    unit_counts: Vec<u16>,
    positive_counts: Vec<u16>,
    /// `unit[(q * units + slot) * RECORDER_BATCH + run]`; NaN where undefined.
    unit: Vec<f64>,
    /// `positive[(q * positives + slot) * RECORDER_BATCH + run]`.
    positive: Vec<f64>,
    /// Per run: whether `a` has been ahead of `b` yet, for each pair.
    ever_ahead: Vec<bool>,
}

impl Recorder {
    /// A recorder of `scenario`'s runs, starting from an empty summary.
    pub fn new(scenario: &Scenario) -> Self {
        let summary = Summary::unbinned(
            scenario.quarters as usize,
            scenario.suppliers.len(),
            scenario.compare.clone(),
        );
        let q = summary.quarters;
        Recorder {
            unit: vec![f64::NAN; q * summary.units_per_quarter() * RECORDER_BATCH],
            positive: vec![0.0; q * summary.positives_per_quarter() * RECORDER_BATCH],
            ever_ahead: vec![false; summary.pairs.len()],
            filled: 0,
            unspilled: 0,
            unit_counts: vec![0; summary.unit_bin_count()],
            positive_counts: vec![0; summary.positive_bin_count()],
            summary,
        }
    }

    /// Folds the buffered runs in; the summary then holds every run observed.
    pub fn flush(&mut self) {
        let runs = self.filled;
        if runs == 0 {
            return;
        }
        if self.unspilled + runs > SPILL_EVERY {
            self.spill();
        }
        let s = &mut self.summary;
        for (index, moments) in s.unit_moments.iter_mut().enumerate() {
            let values = &self.unit[index * RECORDER_BATCH..][..runs];
            let counts = &mut self.unit_counts[index * UNIT_BINS..][..UNIT_BINS];
            moments.merge(&fold_unit(values, counts));
        }
        for (index, moments) in s.positive_moments.iter_mut().enumerate() {
            let values = &self.positive[index * RECORDER_BATCH..][..runs];
            let counts = &mut self.positive_counts[index * POSITIVE_BINS..][..POSITIVE_BINS];
            moments.merge(&fold_positive(values, counts));
        }
        s.runs += runs as u64;
        self.unspilled += runs;
        self.filled = 0;
    }

    /// Adds the 16-bit counters into the recorder's own summary's counts
    /// (allocating them the first time) and zeroes them.
    fn spill(&mut self) {
        self.summary.ensure_bins();
        self.spill_into_bins_of(None);
    }

    /// Adds the 16-bit counters into `total`'s bins, or the recorder's own
    /// summary's if `None`, and zeroes them.
    fn spill_into_bins_of(&mut self, total: Option<&mut Summary>) {
        let target = total.unwrap_or(&mut self.summary);
        spill(&mut self.unit_counts, &mut target.unit_bins);
        spill(&mut self.positive_counts, &mut target.positive_bins);
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
        self.spill_into_bins_of(Some(total));
        // Moments, events, runs, and any bins the recorder had to allocate.
        total.merge(&self.summary);
        self.summary.clear();
    }
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
    fn observe(&mut self, v: &QuarterView<'_>) {
        let q = v.quarter as usize;
        let s = &mut self.summary;
        if q == 0 {
            self.ever_ahead.fill(false);
        }
        let run = self.filled;
        let units = s.units_per_quarter();
        let unit = |slot: usize| (q * units + slot) * RECORDER_BATCH + run;
        self.unit[unit(0)] = v.unrest;
        self.unit[unit(1)] = v.pressure;
        self.unit[unit(2)] = v.hhi;
        let positives = s.positives_per_quarter();
        let positive = |slot: usize| (q * positives + slot) * RECORDER_BATCH + run;
        self.positive[positive(0)] = v.budget;

        for i in 0..s.suppliers {
            // SUPPLIER_METRICS order: purchases, then the six unit metrics.
            let [purchases, units @ ..] = supplier_metrics(v, i);
            self.positive[positive(1 + i)] = purchases;
            let base = UNIT_FIXED + UNIT_PER_SUPPLIER * i;
            for (k, x) in units.into_iter().enumerate() {
                self.unit[unit(base + k)] = x;
            }
        }

        let event0 = q * s.events_per_quarter();
        s.events[event0] += v.embargo as u64;
        for (j, &(a, b)) in s.pairs.iter().enumerate() {
            let ahead = v.rolling_share[a] > v.rolling_share[b];
            self.ever_ahead[j] |= ahead;
            s.events[event0 + 1 + 2 * j] += ahead as u64;
            s.events[event0 + 2 + 2 * j] += self.ever_ahead[j] as u64;
        }

        if q + 1 == s.quarters {
            self.filled += 1;
            if self.filled == RECORDER_BATCH {
                self.flush();
            }
        }
    }
}

/// Binary encoding of a summary, for checkpoints and shard states: shape,
/// then every statistic, with histogram bins stored sparsely. Little-endian.
impl Summary {
    /// Appends the encoding of this summary to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let put = |out: &mut Vec<u8>, x: u64| out.extend_from_slice(&x.to_le_bytes());
        put(out, self.quarters as u64);
        put(out, self.suppliers as u64);
        put(out, self.pairs.len() as u64);
        for &(a, b) in &self.pairs {
            put(out, a as u64);
            put(out, b as u64);
        }
        put(out, self.runs);
        for bins in [&self.unit_bins, &self.positive_bins] {
            let nonzero = bins.iter().filter(|&&c| c != 0).count();
            put(out, nonzero as u64);
            for (i, &c) in bins.iter().enumerate().filter(|(_, c)| **c != 0) {
                put(out, i as u64);
                put(out, c);
            }
        }
        for moments in [&self.unit_moments, &self.positive_moments] {
            for m in moments.iter() {
                put(out, m.count);
                out.extend_from_slice(&m.sum.to_le_bytes());
                put(out, m.min.to_bits());
                put(out, m.max.to_bits());
            }
        }
        for &e in &self.events {
            put(out, e);
        }
    }

    /// Decodes a summary written by [`Summary::encode`] from the front of
    /// `input`, advancing it.
    ///
    /// # Errors
    /// A description of what is malformed.
    pub fn decode(input: &mut &[u8]) -> Result<Summary, String> {
        fn take<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], String> {
            if input.len() < N {
                return Err("truncated summary".into());
            }
            let (head, rest) = input.split_at(N);
            *input = rest;
            Ok(head.try_into().expect("length checked"))
        }
        let get = |input: &mut &[u8]| take::<8>(input).map(u64::from_le_bytes);
        let quarters = get(input)? as usize;
        let suppliers = get(input)? as usize;
        let pair_count = get(input)? as usize;
        // Bound the allocation a corrupt file could ask for: a scenario's
        // quarters and suppliers are bounded by validation long before this.
        let bins = (quarters as u128)
            * (suppliers as u128 + 1)
            * (UNIT_PER_SUPPLIER * UNIT_BINS + POSITIVE_BINS) as u128;
        if quarters > 1_000_000 || pair_count > 1_000_000 || bins > 1 << 34 {
            return Err("implausible summary shape".into());
        }
        let mut pairs = Vec::with_capacity(pair_count);
        for _ in 0..pair_count {
            pairs.push((get(input)? as usize, get(input)? as usize));
        }
        let mut summary = Summary::with_shape(quarters, suppliers, pairs);
        summary.runs = get(input)?;
        for which in 0..2 {
            let bins = if which == 0 {
                &mut summary.unit_bins
            } else {
                &mut summary.positive_bins
            };
            let nonzero = get(input)?;
            for _ in 0..nonzero {
                let i = get(input)? as usize;
                let count = get(input)?;
                *bins.get_mut(i).ok_or("bin index out of range")? = count;
            }
        }
        for which in 0..2 {
            let moments = if which == 0 {
                &mut summary.unit_moments
            } else {
                &mut summary.positive_moments
            };
            for m in moments.iter_mut() {
                m.count = get(input)?;
                m.sum = i128::from_le_bytes(take::<16>(input)?);
                m.min = f64::from_bits(get(input)?);
                m.max = f64::from_bits(get(input)?);
            }
        }
        for e in summary.events.iter_mut() {
            *e = get(input)?;
        }
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
        let moments = self.unit_moments.iter().chain(&self.positive_moments);
        if let Some(m) = moments.into_iter().find(|m| m.count > runs) {
            return Err(format!(
                "a statistic counts {} runs of a summary of {runs}",
                m.count
            ));
        }
        if let Some(e) = self.events.iter().find(|&&e| e > runs) {
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

    #[test]
    fn a_recorder_used_alone_past_its_capacity_equals_a_study() {
        // A recorder never drained must spill into bins of its own: run it past
        // its 16-bit capacity and compare with a study, which drains in time.
        let runs = RECORDER_CAPACITY + 700;
        let text = include_str!("../tests/fixtures/minimal.toml");
        let overrides = [format!("run.runs={runs}"), "run.quarters=4".to_string()];
        let scenario = load_str(text, "t", "t", &overrides).unwrap().scenario;
        let mut recorder = Recorder::new(&scenario);
        let mut simulator = Simulator::new(&scenario);
        for k in 0..runs {
            simulator.run(&mut run_rng(scenario.seed, k), &mut recorder);
        }
        assert_eq!(recorder.summary().runs(), runs);
        let alone = recorder.finish();
        let study = Study::new(&scenario).threads(2).run().unwrap().summary;
        assert_eq!(alone, study);
    }
}
