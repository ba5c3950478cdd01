//! The engine: one Monte Carlo run of the reference model (MODEL.md sections 2-7).
//!
//! [`Simulator`] owns one run's mutable state and reuses its buffers from run
//! to run; [`Simulator::run`] steps it quarter by quarter and hands each
//! quarter's results to an [`Observer`] as a borrowed [`QuarterView`]. The
//! scenario's model version chooses the implementation: [`v1`] (kept so that
//! earlier studies replay to the same bits) or [`v2`], which runs model v2
//! and model v3 (v3 is v2's order book with the mechanisms docs/model.md
//! adds, switched on by the version; a v2 scenario runs v2's arithmetic bit
//! for bit). Both fill the same [`QuarterView`], so everything downstream (the metric
//! catalogue, summaries, outputs) is shared. The engine does no I/O, holds no
//! global RNG (the caller passes one, see [`run_rng`]) and never fails: it
//! runs only validated [`Scenario`]s.

/// `pub(crate) fn $name(x: f64) -> f64`, running `$algorithm` (written
/// with `mul_add`) compiled with fused multiply-add where the processor has
/// it, and as compiled elsewhere, where `mul_add` calls the platform's
/// correctly rounded `fma`: slower, the same bits.
macro_rules! fused {
    ($(#[$doc:meta])* $name:ident = $algorithm:ident) => {
        $(#[$doc])*
        #[inline]
        pub(crate) fn $name(x: f64) -> f64 {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "fma")]
                fn fma(x: f64) -> f64 {
                    $algorithm(x)
                }
                if std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the processor fuses multiply-add (checked above).
                    return unsafe { fma(x) };
                }
            }
            $algorithm(x)
        }
    };
}

mod exp;
mod tanh;

/// What the tests of [`exp`] and [`tanh`] check them against.
#[cfg(test)]
mod libm_check {
    use std::ops::Range;

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Whether the platform's maths library is glibc's FMA build, whose bits
    /// armsim's functions reproduce (glibc picks it where the processor has
    /// FMA and AVX2; its other builds round differently).
    pub(super) fn glibc_fma_build() -> bool {
        #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
        return std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("avx2");
        #[allow(unreachable_code)]
        false
    }

    /// `edges`, then 400,000 inputs drawn from `seed`: a quarter uniform in
    /// each of `ranges` and a quarter of random bit patterns.
    pub(super) fn inputs(
        edges: Vec<f64>,
        seed: u64,
        ranges: [Range<f64>; 3],
    ) -> impl Iterator<Item = f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let random = (0..400_000).map(move |k| match k % 4 {
            3 => f64::from_bits(rng.random::<u64>()),
            r => rng.random_range(ranges[r].clone()),
        });
        edges.into_iter().chain(random)
    }

    /// Asserts that `ours` and `reference`, two results of `name(x)`, are
    /// the same bits (or both NaN).
    pub(super) fn assert_same(name: &str, x: f64, ours: f64, reference: f64) {
        assert!(
            ours.to_bits() == reference.to_bits() || (ours.is_nan() && reference.is_nan()),
            "{name}({x:e}) = {ours:e}, the platform's {reference:e}"
        );
    }
}
pub mod v1;
pub mod v2;

pub(crate) use exp::exp;
pub(crate) use tanh::tanh;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{ModelVersion, Scenario};

/// Quarters in the rolling share window (SIPRI's five years).
pub const ROLLING_QUARTERS: usize = 20;

/// The random stream of run `run_index` of a study seeded with `seed`.
///
/// ChaCha8 keyed by the master seed, with the run index as its stream: every
/// run has its own independent stream, so a run's results depend only on
/// `(seed, run_index)` and never on threads, batches or shards, and any run
/// can be replayed alone. Two scenarios run with the same seed use the same
/// streams run for run: common random numbers.
pub fn run_rng(seed: u64, run_index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(run_index);
    rng
}

/// What one quarter of one run produced, handed to an [`Observer`].
///
/// Supplier slices follow the scenario's supplier order. Values that can be
/// undefined in a quarter say so (`NaN` or a `*_defined` flag); the metric
/// catalogue ([`crate::metrics`]) turns this view into recorded outputs.
#[derive(Debug)]
pub struct QuarterView<'a> {
    /// 0-based quarter.
    pub quarter: u32,
    /// Unrest `u_t` in (0, 1).
    pub unrest: f64,
    /// International pressure `p_t` in [0, 1].
    pub pressure: f64,
    /// Whether an embargo was in force this quarter.
    pub embargo: bool,
    /// The buyer's budget `B_t` this quarter.
    pub budget: f64,
    /// Orders placed with each supplier this quarter (TIV).
    pub orders: &'a [f64],
    /// Sum of `orders`.
    pub total_orders: f64,
    /// Deliveries from each supplier this quarter (TIV).
    pub deliveries: &'a [f64],
    /// Sum of `deliveries`: the buyer's arms imports this quarter.
    pub imports: f64,
    /// Each supplier's order book at the end of the quarter: ordered, not yet delivered.
    pub backlog: &'a [f64],
    /// The outside option's share of what was awarded this quarter (NaN if
    /// nothing was awarded; 0 in v1, which has no outside option).
    pub outside: f64,
    /// Share of each supplier in the last 20 quarters' deliveries (see `rolling_defined`).
    pub rolling_share: &'a [f64],
    /// Whether the rolling window holds any deliveries at all.
    pub rolling_defined: bool,
    /// Installed stock of each supplier at the end of the quarter.
    pub stocks: &'a [f64],
    /// Share of each supplier in the installed stock (see `base_defined`).
    pub base_share: &'a [f64],
    /// Whether any stock is installed (otherwise shares of it are undefined).
    pub base_defined: bool,
    /// Concentration (Herfindahl-Hirschman index) of the installed stock.
    pub hhi: f64,
    /// Support stances after this quarter's adaptation.
    pub support: &'a [f64],
    /// Discounts after this quarter's adaptation.
    pub discount: &'a [f64],
}

/// Receives each quarter of a run, in order; quarter 0 starts a new run.
pub trait Observer {
    /// Called once per simulated quarter.
    fn observe(&mut self, view: &QuarterView<'_>);
}

impl<F: FnMut(&QuarterView<'_>)> Observer for F {
    fn observe(&mut self, view: &QuarterView<'_>) {
        self(view)
    }
}

/// Receives the quarters of two runs stepped together
/// ([`Simulator::run_two`]): each call hands over the same quarter of both.
pub trait PairObserver {
    /// Called once per simulated quarter of the pair.
    fn observe_pair(&mut self, a: &QuarterView<'_>, b: &QuarterView<'_>);
}

impl<F: FnMut(&QuarterView<'_>, &QuarterView<'_>)> PairObserver for F {
    fn observe_pair(&mut self, a: &QuarterView<'_>, b: &QuarterView<'_>) {
        self(a, b)
    }
}

/// One run's state and scratch buffers, reusable across runs of a scenario.
#[derive(Debug, Clone)]
pub struct Simulator<'s> {
    inner: Inner<'s>,
}

#[derive(Debug, Clone)]
enum Inner<'s> {
    V1(Box<v1::Simulator<'s>>),
    V2(Box<v2::Simulator<'s>>),
}

impl<'s> Simulator<'s> {
    /// A simulator for `scenario`, of its model version; call
    /// [`Simulator::run`] once per run.
    pub fn new(scenario: &'s Scenario) -> Self {
        let inner = match scenario.model() {
            ModelVersion::V1 => Inner::V1(Box::new(v1::Simulator::new(scenario))),
            ModelVersion::V2 | ModelVersion::V3 => {
                Inner::V2(Box::new(v2::Simulator::new(scenario)))
            }
        };
        Simulator { inner }
    }

    /// The scenario this simulator runs.
    pub fn scenario(&self) -> &'s Scenario {
        match &self.inner {
            Inner::V1(s) => s.scenario(),
            Inner::V2(s) => s.scenario(),
        }
    }

    /// Simulates one run from the initial state, drawing only from `rng`.
    pub fn run<R: Rng + ?Sized, O: Observer + ?Sized>(&mut self, rng: &mut R, observer: &mut O) {
        let quarters = self.scenario().quarters();
        match &mut self.inner {
            Inner::V1(s) => {
                s.reset();
                for _ in 0..quarters {
                    observer.observe(&s.step(rng));
                }
            }
            Inner::V2(s) => {
                s.reset(rng);
                for _ in 0..quarters {
                    observer.observe(&s.step());
                }
            }
        }
    }

    /// Simulates one run on each of `a` and `b`, drawing from `rng_a` and
    /// `rng_b`, with the same results, to the bit, as [`Simulator::run`] on
    /// each; their quarters are stepped together ([`Simulator::step_two`])
    /// and handed to `observer` together. The two simulators' scenarios
    /// must have the same horizon.
    pub fn run_two<R: Rng + ?Sized, O: PairObserver + ?Sized>(
        a: &mut Self,
        b: &mut Self,
        rng_a: &mut R,
        rng_b: &mut R,
        observer: &mut O,
    ) {
        let quarters = a.scenario().quarters();
        debug_assert_eq!(quarters, b.scenario().quarters());
        a.reset(rng_a);
        b.reset(rng_b);
        for _ in 0..quarters {
            let (va, vb) = Self::step_two(a, b, rng_a, rng_b);
            observer.observe_pair(&va, &vb);
        }
    }

    /// Simulates the next quarter of `a`'s run and of `b`'s, with the same
    /// results, to the bit, as [`Simulator::step`] on each. Models v2 and v3
    /// interleave the two quarters ([`v2::Simulator::step_pair`]), which is
    /// faster than stepping them in turn.
    pub fn step_two<'a, R: Rng + ?Sized>(
        a: &'a mut Self,
        b: &'a mut Self,
        rng_a: &mut R,
        rng_b: &mut R,
    ) -> (QuarterView<'a>, QuarterView<'a>) {
        match (&mut a.inner, &mut b.inner) {
            (Inner::V2(a), Inner::V2(b)) => v2::Simulator::step_pair(a, b),
            (a, b) => (Self::step_inner(a, rng_a), Self::step_inner(b, rng_b)),
        }
    }

    /// Puts the simulator in the initial state of a run drawing from `rng`,
    /// ready for [`Simulator::step`].
    pub fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        match &mut self.inner {
            Inner::V1(s) => s.reset(),
            Inner::V2(s) => s.reset(rng),
        }
    }

    /// Simulates the next quarter (MODEL.md section 3) and returns its
    /// outputs. v1 draws from `rng` as it goes; v2 drew its sub-streams' keys
    /// from it at [`Simulator::reset`] and ignores it here. Stepping past the
    /// scenario's horizon is allowed; no events apply there.
    pub fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> QuarterView<'_> {
        Self::step_inner(&mut self.inner, rng)
    }

    fn step_inner<'a, R: Rng + ?Sized>(inner: &'a mut Inner<'_>, rng: &mut R) -> QuarterView<'a> {
        match inner {
            Inner::V1(s) => s.step(rng),
            Inner::V2(s) => s.step(),
        }
    }
}

/// A divisor fixed for a while (a temperature, a stance's scale), with the
/// reciprocal to multiply by instead where that gives the same bits: where
/// the divisor is a power of two whose reciprocal is a normal number, `x *
/// (1 / d)` and `x / d` are both the correctly rounded value of the same
/// real number, so they are equal for every `x` (zeros, infinities and NaN
/// included). A division's latency is several multiplications', and these
/// sit on the chain of each quarter's dependent operations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Divisor {
    by: f64,
    /// `1 / by` where multiplying by it is exact; otherwise NaN, unused.
    reciprocal: f64,
    exact: bool,
}

impl Divisor {
    pub(crate) fn new(by: f64) -> Self {
        let reciprocal = 1.0 / by;
        // A power of two has no mantissa bits; its reciprocal must be normal
        // (not subnormal, zero or infinite) to be a power of two as well.
        let power_of_two = by.is_normal() && by.to_bits() & ((1 << 52) - 1) == 0;
        let exact = power_of_two && reciprocal.is_normal();
        Divisor {
            by,
            reciprocal: if exact { reciprocal } else { f64::NAN },
            exact,
        }
    }

    /// `x / by`, to the bit.
    #[inline(always)]
    pub(crate) fn divide(self, x: f64) -> f64 {
        if self.exact {
            x * self.reciprocal
        } else {
            x / self.by
        }
    }
}

/// `1 / (1 + e^-z)`.
#[inline]
pub(crate) fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + exp(-z))
}

/// How a quarter's step evaluates `exp` and `tanh`. Both ways give the
/// same bits (glibc's FMA build's, see [`exp`] and [`tanh`]); they differ
/// only in speed. [`Portable`] asks at each call whether the processor
/// fuses multiply-add and calls the build that suits it; [`Fused`] runs
/// the algorithm in place, which is fast where it is inlined into code
/// compiled with FMA (a step compiled twice, see [`has_fma`]) and, anywhere
/// else, calls libm's `fma` for each multiply-add: the same bits, slower.
pub(crate) trait Maths {
    /// `e^x`.
    fn exp(x: f64) -> f64;
    /// `tanh x`.
    fn tanh(x: f64) -> f64;
    /// `1 / (1 + e^-z)`.
    #[inline(always)]
    fn logistic(z: f64) -> f64 {
        1.0 / (1.0 + Self::exp(-z))
    }
}

/// [`Maths`] that checks for FMA at each call: right in any code.
pub(crate) enum Portable {}

impl Maths for Portable {
    #[inline(always)]
    fn exp(x: f64) -> f64 {
        exp(x)
    }
    #[inline(always)]
    fn tanh(x: f64) -> f64 {
        tanh(x)
    }
}

/// [`Maths`] inlined as fused multiply-adds: for code compiled with FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) enum Fused {}

#[cfg(target_arch = "x86_64")]
impl Maths for Fused {
    #[inline(always)]
    fn exp(x: f64) -> f64 {
        exp::exp_with_mul_add(x)
    }
    #[inline(always)]
    fn tanh(x: f64) -> f64 {
        tanh::tanh_with_mul_add(x)
    }
}

/// Whether the processor fuses multiply-add, so that a step compiled with
/// FMA (`#[target_feature(enable = "fma")]`, calling [`Fused`]) may run:
/// there `exp` and `tanh` inline, where [`Portable`] calls them through
/// their check, saving every live vector register around each call.
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("fma");
    #[allow(unreachable_code)]
    false
}

/// `ln(u / (1 - u))`.
#[inline]
pub(crate) fn logit(u: f64) -> f64 {
    (u / (1.0 - u)).ln()
}

/// Shares of `values` in `shares` (each over their total); returns whether
/// the total was positive. With a zero total the shares are left at 0 and
/// the caller treats them as undefined.
#[inline]
pub(crate) fn shares_of(values: &[f64], shares: &mut [f64]) -> bool {
    let total: f64 = values.iter().sum();
    // A subnormal total (a budget of 5e-324, say) has no reciprocal: 1 /
    // total overflows to infinity and the shares would not sum to 1. Such
    // amounts are no deliveries at all, so they define no shares. Normal
    // totals take the same path as always, bit for bit.
    if total >= f64::MIN_POSITIVE {
        let inverse = 1.0 / total;
        for (share, &x) in shares.iter_mut().zip(values) {
            *share = x * inverse;
        }
        true
    } else {
        shares.fill(0.0);
        false
    }
}

// `RollingWindow::push` marks suppliers in a `u64`.
const _: () = assert!(crate::model::MAX_SUPPLIERS <= 64);

/// The rolling window of the last [`ROLLING_QUARTERS`] quarters' deliveries
/// per supplier, and each supplier's share of it.
///
/// Running sums are updated as quarters enter and leave and re-added from
/// scratch once per window, so they never drift, and for one supplier at
/// once whenever a subtraction cancels most of its sum; a count of each supplier's
/// non-zero quarters makes a window of zeros sum to exactly zero (no
/// rounding residue), so a supplier that delivered nothing for twenty
/// quarters has a share of exactly 0, and a window with no deliveries at all
/// has no shares.
/// A running sum that falls below this fraction of the value just removed
/// has lost most of its significant digits to cancellation.
const CANCELLATION: f64 = 1e-6;

#[derive(Debug, Clone)]
pub(crate) struct RollingWindow {
    suppliers: usize,
    /// Ring buffer, quarter-major: `window[slot * suppliers + i]`.
    window: Vec<f64>,
    position: usize,
    sums: Vec<f64>,
    /// Quarters in the window in which each supplier delivered something.
    nonzero: Vec<u8>,
    shares: Vec<f64>,
    defined: bool,
}

impl RollingWindow {
    pub(crate) fn new(suppliers: usize) -> Self {
        RollingWindow {
            suppliers,
            window: vec![0.0; suppliers * ROLLING_QUARTERS],
            position: 0,
            sums: vec![0.0; suppliers],
            nonzero: vec![0; suppliers],
            shares: vec![0.0; suppliers],
            defined: false,
        }
    }

    /// Fills every slot with `per_quarter` (supplier by supplier).
    pub(crate) fn fill(&mut self, per_quarter: impl Fn(usize) -> f64) {
        self.position = 0;
        for i in 0..self.suppliers {
            let x = per_quarter(i);
            for slot in 0..ROLLING_QUARTERS {
                self.window[slot * self.suppliers + i] = x;
            }
            self.sums[i] = x * ROLLING_QUARTERS as f64;
            self.nonzero[i] = if x != 0.0 { ROLLING_QUARTERS as u8 } else { 0 };
        }
        self.refresh_shares();
    }

    /// Replaces the oldest quarter by `latest` and recomputes the shares.
    pub(crate) fn push(&mut self, latest: &[f64]) {
        let n = self.suppliers;
        let start = self.position * n;
        // Suppliers whose sum cancelled (rare), re-added once the quarter
        // is in place: bit `i` for supplier `i` (at most 64 suppliers).
        let mut cancelled = 0u64;
        let quarter = &mut self.window[start..start + n];
        for (i, (((slot, &new), count), sum)) in quarter
            .iter_mut()
            .zip(latest)
            .zip(&mut self.nonzero)
            .zip(&mut self.sums)
            .enumerate()
        {
            let old = std::mem::replace(slot, new);
            *count = *count + u8::from(new != 0.0) - u8::from(old != 0.0);
            *sum += new - old;
            if *count == 0 {
                *sum = 0.0;
            } else if *sum < old * CANCELLATION {
                // Most of the sum just left the window: what remains is
                // smaller than the rounding error of the subtraction, so add
                // the supplier's column again rather than keep the residue
                // (which may even be negative).
                cancelled |= 1 << i;
            }
        }
        while cancelled != 0 {
            let i = cancelled.trailing_zeros() as usize;
            cancelled &= cancelled - 1;
            self.sums[i] = self.window[i..].iter().step_by(n).sum();
        }
        self.position += 1;
        if self.position == ROLLING_QUARTERS {
            self.position = 0;
            // Re-add from scratch once per window so running sums never drift.
            self.sums.fill(0.0);
            for quarter in self.window.chunks_exact(n) {
                for (sum, &x) in self.sums.iter_mut().zip(quarter) {
                    *sum += x;
                }
            }
        }
        self.refresh_shares();
    }

    fn refresh_shares(&mut self) {
        self.defined = shares_of(&self.sums, &mut self.shares);
        for share in &mut self.shares {
            *share = share.max(0.0);
        }
    }

    pub(crate) fn shares(&self) -> &[f64] {
        &self.shares
    }

    pub(crate) fn defined(&self) -> bool {
        self.defined
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::Divisor;

    #[test]
    fn a_divisor_divides_to_the_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        xs.extend((0..20_000).map(|k| match k % 2 {
            0 => rng.random_range(-50.0..50.0),
            _ => f64::from_bits(rng.random::<u64>()),
        }));
        let divisors = [
            1.0,
            0.5,
            2.0,
            0.25,
            4.0,
            -1.0,
            1024.0,
            2f64.powi(-1021),
            2f64.powi(1022),
            // A power of two without a normal reciprocal, a subnormal one,
            // and others.
            2f64.powi(1023),
            2f64.powi(-1023),
            0.7,
            0.3,
            1.5,
            3.0,
            0.1,
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NAN,
        ];
        let mut exact = 0;
        for by in divisors {
            let d = Divisor::new(by);
            exact += usize::from(d.exact);
            for &x in &xs {
                let (ours, plain) = (d.divide(x), x / by);
                assert!(
                    ours.to_bits() == plain.to_bits() || (ours.is_nan() && plain.is_nan()),
                    "{x:e} / {by:e}: {ours:e} against {plain:e}"
                );
            }
        }
        // The fast path is taken where it can be: the first nine.
        assert_eq!(exact, 9);
    }
}
