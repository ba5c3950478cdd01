//! The batch folds of [`super::fold`] four values at a time, with AVX2:
//! the same bins and the same bits as the scalar folds, for the recording,
//! which took a third of a run's instructions (docs/performance.md).
//!
//! Exactness without a packed float-to-integer conversion (AVX2 has none
//! for 64-bit integers): every truncation is `vroundpd` toward zero, which
//! is exact, and every truncated value is summed in `f64` lanes only while
//! the lane's sum stays an integer below 2^53, so each addition is exact
//! and the lanes' sums, converted once at the end, are the scalar folds'
//! integer sums. A batch holds at most 64 values, so a lane sums at most 16:
//! values below 2^48 (unit sums, fractions) sum below 2^52, and values that
//! can reach 2^56 (squares) are split at 2^28 first. The histogram
//! increments stay scalar; the bins are computed in the vector lanes with
//! the same arithmetic as the scalar folds.
//!
//! Minimum and maximum are order-free, and so the same bits, except between
//! the two zeros, which `vminpd` and `vmaxpd` do not order: a batch holding
//! `-0.0` takes its minimum and maximum from a scalar loop that does (`-0.0`
//! below `0.0`, as the scalar fold).

use std::arch::x86_64::*;

use super::{
    Binning, FIXED_SCALE, FRACTION_BITS, Moments, POSITIVE_BINS, POSITIVE_LIMIT, UNIT_BINS,
};

/// Whether this processor runs the folds here (checked once, then cached).
#[inline]
pub(super) fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Lanes of a vector.
const LANES: usize = 4;

const TWO_TO_26: f64 = (1u64 << 26) as f64;
const TWO_TO_28: f64 = (1u64 << 28) as f64;
const TWO_TO_30: f64 = (1u64 << 30) as f64;
const TWO_TO_56: f64 = (1u64 << 56) as f64;
const TWO_TO_MINUS_26: f64 = 1.0 / TWO_TO_26;
const TWO_TO_MINUS_28: f64 = 1.0 / TWO_TO_28;
/// Truncation toward zero, without raising exceptions.
const TO_ZERO: i32 = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;

/// What a fold reads: a row of values, or the paired differences of two
/// rows, subtracted four at a time as they are read (so a comparison's
/// differences are never written out).
pub(super) trait Batch: Copy {
    /// Number of values.
    fn len(self) -> usize;
    /// The four values from the `k`th.
    ///
    /// # Safety
    /// `k + 4 <= self.len()`, and the processor runs AVX2.
    unsafe fn four(self, k: usize) -> __m256d;
    /// The `k`th value (`k < self.len()`).
    fn value(self, k: usize) -> f64;
}

impl Batch for &[f64] {
    #[inline(always)]
    fn len(self) -> usize {
        <[f64]>::len(self)
    }

    #[inline(always)]
    unsafe fn four(self, k: usize) -> __m256d {
        debug_assert!(k + LANES <= <[f64]>::len(self));
        // SAFETY: the caller's bound: four f64 inside the slice.
        unsafe { _mm256_loadu_pd(self.as_ptr().add(k)) }
    }

    #[inline(always)]
    fn value(self, k: usize) -> f64 {
        self[k]
    }
}

/// `b[k] - a[k]` over the shorter of the two rows.
#[derive(Clone, Copy)]
pub(super) struct Differences<'a> {
    pub(super) a: &'a [f64],
    pub(super) b: &'a [f64],
}

impl Batch for Differences<'_> {
    #[inline(always)]
    fn len(self) -> usize {
        self.a.len().min(self.b.len())
    }

    #[inline(always)]
    unsafe fn four(self, k: usize) -> __m256d {
        // SAFETY: the caller's bounds; a packed subtraction rounds each
        // lane as the scalar one does.
        unsafe { _mm256_sub_pd(self.b.four(k), self.a.four(k)) }
    }

    #[inline(always)]
    fn value(self, k: usize) -> f64 {
        self.b[k] - self.a[k]
    }
}

/// Folds `values` four at a time: `group` takes each group of four (NaN
/// past the end, and NaN is skipped) with its `movemask` of defined lanes.
/// A whole group of `+0.0` (a supplier without orders in four runs in a
/// row, a paired difference where B did not differ) is not passed to
/// `group` but counted: the return value, which [`Zeros::settle`] folds in
/// as the group would have been.
#[target_feature(enable = "avx2")]
#[inline]
fn for_each_group(values: impl Batch, mut group: impl FnMut(__m256d, __m256d, i32)) -> Zeros {
    let mut zeros = Zeros { groups: 0 };
    let len = values.len();
    let whole = len - len % LANES;
    for k in (0..whole).step_by(LANES) {
        // SAFETY: k + 4 <= whole <= len, and the processor runs AVX2.
        let raw = unsafe { values.four(k) };
        let bits = _mm256_castpd_si256(raw);
        if _mm256_testz_si256(bits, bits) == 1 {
            zeros.groups += 1;
            continue;
        }
        let defined = _mm256_cmp_pd::<_CMP_ORD_Q>(raw, raw);
        let mask = _mm256_movemask_pd(defined);
        if mask != 0 {
            group(raw, defined, mask);
        }
    }
    if whole < len {
        // Lane by lane: a copy of unknown length would become a `memcpy`
        // call, and every accumulator would spill around it.
        let mut padded = [f64::NAN; LANES];
        for (slot, k) in padded.iter_mut().zip(whole..len) {
            *slot = values.value(k);
        }
        // SAFETY: an unaligned load of a local array of four f64.
        let raw = unsafe { _mm256_loadu_pd(padded.as_ptr()) };
        let defined = _mm256_cmp_pd::<_CMP_ORD_Q>(raw, raw);
        group(raw, defined, _mm256_movemask_pd(defined));
    }
    zeros
}

/// Groups of four `+0.0` that [`for_each_group`] skipped.
struct Zeros {
    groups: u64,
}

impl Zeros {
    /// Folds the skipped groups in as `group` would have: four counts each
    /// in the bin of `0.0` (`zero_bin`) and in `m.count`, and `+0.0` once
    /// into the extremes (whose minimum and maximum do not depend on how
    /// often a value is seen). Zeros add nothing to any sum.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn settle(
        self,
        counts: &mut [u16],
        zero_bin: usize,
        m: &mut Moments,
        extremes: &mut Extremes,
        (lo, hi): (f64, f64),
    ) {
        if self.groups == 0 {
            return;
        }
        // At most 16 groups in a batch of 64: 64 counts fit a u16.
        let values = (LANES as u64 * self.groups) as u16;
        counts[zero_bin] += values;
        m.count += u64::from(values);
        let all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
        extremes.clamp(_mm256_setzero_pd(), all, lo, hi);
    }
}

/// The four lanes of `v`.
#[target_feature(enable = "avx2")]
#[inline]
fn lanes(v: __m256d) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    // SAFETY: an unaligned store into a local array of four f64.
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), v) };
    out
}

/// The sum of a vector's lanes, each an integer below 2^53 in magnitude.
#[target_feature(enable = "avx2")]
#[inline]
fn integer_sum(v: __m256d) -> i64 {
    // SAFETY: each lane is a finite integer below 2^53 in magnitude.
    lanes(v)
        .iter()
        .map(|&x| unsafe { x.to_int_unchecked::<i64>() })
        .sum()
}

/// Increments the bins of the lanes set in `defined` (a `movemask`).
///
/// # Safety
/// Every bin of a defined lane must be below `counts.len()`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn count(counts: &mut [u16], bins: [usize; LANES], defined: i32) {
    for (lane, bin) in bins.into_iter().enumerate() {
        if defined == 0b1111 || defined & (1 << lane) != 0 {
            debug_assert!(bin < counts.len());
            // SAFETY: the caller's bound.
            unsafe { *counts.get_unchecked_mut(bin) += 1 };
        }
    }
}

/// Running minimum and maximum of the defined values, and whether a `-0.0`
/// was among them.
struct Extremes {
    min: __m256d,
    max: __m256d,
    negative_zero: __m256i,
}

impl Extremes {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new() -> Self {
        Extremes {
            min: _mm256_set1_pd(f64::INFINITY),
            max: _mm256_set1_pd(f64::NEG_INFINITY),
            negative_zero: _mm256_setzero_si256(),
        }
    }

    /// Clamps the group `raw` into `[lo, hi]`, takes the clamped values
    /// into the extremes, watching for `-0.0`, and returns them with the
    /// undefined lanes zeroed. `vmaxpd(lo, raw)` keeps a NaN (its second
    /// operand), and `vminpd(x, min)` then keeps the minimum (likewise the
    /// maximum), so undefined lanes take no part.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn clamp(&mut self, raw: __m256d, defined: __m256d, lo: f64, hi: f64) -> __m256d {
        let x = _mm256_min_pd(_mm256_set1_pd(hi), _mm256_max_pd(_mm256_set1_pd(lo), raw));
        self.min = _mm256_min_pd(x, self.min);
        self.max = _mm256_max_pd(x, self.max);
        self.negative_zero = _mm256_or_si256(
            self.negative_zero,
            _mm256_cmpeq_epi64(_mm256_castpd_si256(raw), _mm256_set1_epi64x(i64::MIN)),
        );
        _mm256_and_pd(x, defined)
    }

    /// Writes the minimum and maximum into `m`; with a `-0.0` in the batch,
    /// as the scalar fold finds them, clamping `values` into `[lo, hi]`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn finish(self, m: &mut Moments, values: impl Batch, lo: f64, hi: f64) {
        if _mm256_testz_si256(self.negative_zero, self.negative_zero) == 0 {
            let values = (0..values.len()).map(|k| values.value(k));
            for x in values.filter(|x| !x.is_nan()) {
                let x = super::clamp_defined(x, lo, hi);
                m.min = super::lesser(x, m.min);
                m.max = super::greater(x, m.max);
            }
            return;
        }
        m.min = lanes(self.min).into_iter().fold(f64::INFINITY, f64::min);
        m.max = lanes(self.max)
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max);
    }
}

/// A sum of truncated values that may reach 2^56, in two lane sums exact
/// for 16 values a lane: whole multiples of 2^28, and the rest.
struct Split {
    high: __m256d,
    low: __m256d,
}

impl Split {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn new() -> Self {
        Split {
            high: _mm256_setzero_pd(),
            low: _mm256_setzero_pd(),
        }
    }

    /// Adds `trunc(x)` for `0 <= x < 2^56` (or up to 2^56 inclusive, whose
    /// low part is 0): `high = trunc(x / 2^28)`, and `x - high 2^28` is
    /// exact (both are multiples of `x`'s unit in the last place, and their
    /// difference is below 2^28), so its truncation is `trunc(x)`'s rest.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn add(&mut self, x: __m256d) {
        let high = _mm256_round_pd::<TO_ZERO>(_mm256_mul_pd(x, _mm256_set1_pd(TWO_TO_MINUS_28)));
        let low = _mm256_round_pd::<TO_ZERO>(_mm256_sub_pd(
            x,
            _mm256_mul_pd(high, _mm256_set1_pd(TWO_TO_28)),
        ));
        self.high = _mm256_add_pd(self.high, high);
        self.low = _mm256_add_pd(self.low, low);
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn total(self) -> i64 {
        (integer_sum(self.high) << 28) + integer_sum(self.low)
    }
}

/// [`super::fold`] of `values` (a row or the paired differences of two),
/// four at a time, by `binning`.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) fn fold(values: impl Batch, counts: &mut [u16], binning: Binning) -> Moments {
    match binning {
        Binning::Unit => fold_unit::<false>(values, counts),
        Binning::SignedUnit => fold_unit::<true>(values, counts),
        Binning::Positive => fold_positive::<false>(values, counts),
        Binning::SignedPositive => fold_positive::<true>(values, counts),
    }
}

/// [`super::fold_unit`], four values at a time.
#[target_feature(enable = "avx2")]
fn fold_unit<const SIGNED: bool>(values: impl Batch, counts: &mut [u16]) -> Moments {
    let lo = if SIGNED { -1.0 } else { 0.0 };
    let mut sums = _mm256_setzero_pd();
    let mut squares = Split::new();
    let mut extremes = Extremes::new();
    let mut m = Moments::default();
    let zeros = for_each_group(
        values,
        #[inline(always)]
        |raw, defined, mask| {
            m.count += mask.count_ones() as u64;
            let x = extremes.clamp(raw, defined, lo, 1.0);
            // The bin: `trunc(|x| 1000 + 0.5)` (at most 1000) with x's sign,
            // the same bits as the scalar's since rounding is symmetric in sign,
            // about the middle bin when signed.
            let half = if SIGNED {
                _mm256_or_pd(_mm256_and_pd(x, _mm256_set1_pd(-0.0)), _mm256_set1_pd(0.5))
            } else {
                _mm256_set1_pd(0.5)
            };
            let magnitude = _mm256_cvttpd_epi32(_mm256_add_pd(
                _mm256_mul_pd(x, _mm256_set1_pd(1000.0)),
                half,
            ));
            let bins = if SIGNED {
                _mm_add_epi32(magnitude, _mm_set1_epi32(UNIT_BINS as i32 - 1))
            } else {
                magnitude
            };
            let mut lanes = [0i32; LANES];
            // SAFETY: an unaligned store into a local array of four i32.
            unsafe { _mm_storeu_si128(lanes.as_mut_ptr().cast(), bins) };
            // SAFETY: |x| <= 1, so every bin is at most 2 (UNIT_BINS - 1), and
            // at most UNIT_BINS - 1 unsigned.
            unsafe { count(counts, lanes.map(|bin| bin as usize), mask) };
            sums = _mm256_add_pd(
                sums,
                _mm256_round_pd::<TO_ZERO>(_mm256_mul_pd(x, _mm256_set1_pd(FIXED_SCALE))),
            );
            squares.add(_mm256_mul_pd(
                _mm256_mul_pd(x, x),
                _mm256_set1_pd(TWO_TO_56),
            ));
        },
    );
    // The bin of 0.0: the first, or the middle one when signed.
    let zero_bin = if SIGNED { UNIT_BINS - 1 } else { 0 };
    zeros.settle(counts, zero_bin, &mut m, &mut extremes, (lo, 1.0));
    m.sum = integer_sum(sums) as i128;
    m.sum_squares = squares.total() as u128;
    extremes.finish(&mut m, values, lo, 1.0);
    m
}

/// [`super::fold_positive`], four values at a time.
#[target_feature(enable = "avx2")]
fn fold_positive<const SIGNED: bool>(values: impl Batch, counts: &mut [u16]) -> Moments {
    let lo = if SIGNED { -POSITIVE_LIMIT } else { 0.0 };
    let last = POSITIVE_BINS as i64 - 1;
    let (mut wholes, mut fractions) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let mut highs = _mm256_setzero_pd();
    let mut lows = Split::new();
    let mut extremes = Extremes::new();
    let mut m = Moments::default();
    let zeros = for_each_group(
        values,
        #[inline(always)]
        |raw, defined, mask| {
            m.count += mask.count_ones() as u64;
            let x = extremes.clamp(raw, defined, lo, POSITIVE_LIMIT);
            // The bin (`super::positive_bin` of |x|): exponent and top six
            // mantissa bits read as one number, clamped to the sketch, 0 for 0.
            let bits = _mm256_castpd_si256(_mm256_andnot_pd(_mm256_set1_pd(-0.0), x));
            let sketch = _mm256_sub_epi64(
                _mm256_srli_epi64::<46>(bits),
                _mm256_set1_epi64x(super::POSITIVE_BIN_OFFSET),
            );
            let one = _mm256_set1_epi64x(1);
            let sketch = _mm256_blendv_epi8(sketch, one, _mm256_cmpgt_epi64(one, sketch));
            let top = _mm256_set1_epi64x(last);
            let sketch = _mm256_blendv_epi8(sketch, top, _mm256_cmpgt_epi64(sketch, top));
            let magnitude =
                _mm256_andnot_si256(_mm256_cmpeq_epi64(bits, _mm256_setzero_si256()), sketch);
            let bins = if SIGNED {
                let negative =
                    _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_LT_OQ>(x, _mm256_setzero_pd()));
                _mm256_blendv_epi8(
                    _mm256_add_epi64(top, magnitude),
                    _mm256_sub_epi64(top, magnitude),
                    negative,
                )
            } else {
                magnitude
            };
            let mut lanes = [0i64; LANES];
            // SAFETY: an unaligned store into a local array of four i64.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), bins) };
            // SAFETY: magnitudes are clamped to `last`, so every bin is below
            // `POSITIVE_BINS` (2 `POSITIVE_BINS` - 1 when signed).
            unsafe { count(counts, lanes.map(|bin| bin as usize), mask) };
            // The sum: whole part (at most 2^32) and fraction in units of 2^-48.
            let whole = _mm256_round_pd::<TO_ZERO>(x);
            wholes = _mm256_add_pd(wholes, whole);
            fractions = _mm256_add_pd(
                fractions,
                _mm256_round_pd::<TO_ZERO>(_mm256_mul_pd(
                    _mm256_sub_pd(x, whole),
                    _mm256_set1_pd(FIXED_SCALE),
                )),
            );
            // The square: high part in units of 2^26 (at most 2^38) and the
            // rest in units of 2^-30 (below 2^56, so split again).
            let square = _mm256_mul_pd(x, x);
            let high =
                _mm256_round_pd::<TO_ZERO>(_mm256_mul_pd(square, _mm256_set1_pd(TWO_TO_MINUS_26)));
            highs = _mm256_add_pd(highs, high);
            lows.add(_mm256_mul_pd(
                _mm256_sub_pd(square, _mm256_mul_pd(high, _mm256_set1_pd(TWO_TO_26))),
                _mm256_set1_pd(TWO_TO_30),
            ));
        },
    );
    // The bin of 0.0: the zero bin, the middle one when signed.
    let zero_bin = if SIGNED { POSITIVE_BINS - 1 } else { 0 };
    zeros.settle(
        counts,
        zero_bin,
        &mut m,
        &mut extremes,
        (lo, POSITIVE_LIMIT),
    );
    m.sum = ((integer_sum(wholes) as i128) << FRACTION_BITS) + integer_sum(fractions) as i128;
    m.sum_squares = ((integer_sum(highs) as u128) << 56) + lows.total() as u128;
    extremes.finish(&mut m, values, lo, POSITIVE_LIMIT);
    m
}
