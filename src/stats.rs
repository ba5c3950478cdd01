//! Streaming, exactly mergeable statistics: the building blocks of a summary.
//!
//! Everything here is integer-valued state (counts, fixed-point sums) or exact
//! `min`/`max`, so merging two partial results is exact, commutative and
//! associative. That is what makes a study's summary the same bits whatever the
//! thread count, the batch size, the shards or a resume from a checkpoint.
//!
//! - [`Moments`]: count, fixed-point sum (an exact mean of values truncated
//!   to multiples of 2^-48), minimum and maximum.
//! - Unit bins ([`unit_bin`]): 1001 bins of width 0.001 (0.1 percentage point)
//!   centred on multiples of 0.001, for quantities in [0, 1]. A percentile read
//!   from them is within 0.0005 of the exact one.
//! - Positive bins ([`positive_bin`]): a log-linear (HDR-style) sketch for
//!   unbounded non-negative quantities: an exact zero bin, then 64 linear
//!   sub-bins per power of two from 2^-16 to 2^32 (about 1.5e-5 to 4.3e9). A percentile read from it is
//!   within 1/128 (0.78%) relative error of the exact one inside that range.
//!
//! "Exact percentile" means the nearest-rank order statistic: the p-quantile of
//! `n` values is the `ceil(p n)`-th smallest (the smallest for `p n < 1`).

/// Fractional bits of [`Moments::sum`]: values are truncated to multiples of 2^-48.
const FRACTION_BITS: u32 = 48;
const FIXED_SCALE: f64 = (1u64 << FRACTION_BITS) as f64;

/// `x` in fixed point (units of 2^-48), truncated toward zero. Exact integer
/// work only: the whole part and the fraction are converted separately, so no
/// libm rounding call or software float-to-i128 conversion is needed.
#[inline]
pub fn to_fixed(x: f64) -> i128 {
    let whole = x as i64;
    let fraction = ((x - whole as f64) * FIXED_SCALE) as i64;
    ((whole as i128) << FRACTION_BITS) + fraction as i128
}

/// Count, exact fixed-point sum, minimum and maximum of a stream of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Sum of the values, each truncated to a multiple of 2^-48, in units of 2^-48.
    pub sum: i128,
    /// Smallest value (`+inf` when empty).
    pub min: f64,
    /// Largest value (`-inf` when empty).
    pub max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            count: 0,
            sum: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    /// Adds one value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.count += 1;
        self.sum += to_fixed(x);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Adds another stream's moments (exact).
    pub fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The mean, or `None` for an empty stream.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / FIXED_SCALE / self.count as f64)
    }
}

/// Folds a batch of values in [0, 1] (NaN meaning "undefined in that run",
/// skipped) into 16-bit unit-bin `counts`, returning the batch's moments.
///
/// Equal to adding each value with [`Moments::add`] and incrementing its
/// [`unit_bin`], but cheaper: below 2^14 a value's fixed-point form is one
/// truncating conversion, and a batch of at most 2^14 such values sums
/// within an `i64`.
#[inline]
pub fn fold_unit(values: &[f64], counts: &mut [u16]) -> Moments {
    debug_assert!(values.len() <= 1 << 14 && counts.len() == UNIT_BINS);
    let mut m = Moments::default();
    let mut sum: i64 = 0;
    for &x in values {
        if x.is_nan() {
            continue;
        }
        debug_assert!(x.abs() < (1 << 14) as f64);
        counts[unit_bin(x)] += 1;
        sum += (x * FIXED_SCALE) as i64;
        m.count += 1;
        // NaN is skipped above, so plain comparisons do (one instruction each).
        m.min = if x < m.min { x } else { m.min };
        m.max = if x > m.max { x } else { m.max };
    }
    m.sum = sum as i128;
    m
}

/// Folds a batch of non-negative values into 16-bit positive-bin `counts`,
/// returning the batch's moments (as [`Moments::add`] and [`positive_bin`]).
#[inline]
pub fn fold_positive(values: &[f64], counts: &mut [u16]) -> Moments {
    debug_assert_eq!(counts.len(), POSITIVE_BINS);
    let mut m = Moments::default();
    for &x in values {
        counts[positive_bin(x)] += 1;
        m.add(x);
    }
    m
}

/// Number of unit bins.
pub const UNIT_BINS: usize = 1001;
/// Width of a unit bin.
pub const UNIT_BIN_WIDTH: f64 = 0.001;

/// The unit bin of `x` (values outside [0, 1] fall in the end bins).
#[inline]
pub fn unit_bin(x: f64) -> usize {
    // Round half up without a libm call; converting through i64 (one native
    // instruction) is cheaper than straight to usize, and clamping keeps
    // stray values in the end bins.
    ((x * 1000.0 + 0.5) as i64).clamp(0, UNIT_BINS as i64 - 1) as usize
}

/// The value a unit bin stands for: its centre.
pub fn unit_value(bin: usize) -> f64 {
    bin as f64 / 1000.0
}

/// Linear sub-bins per power of two in the positive sketch.
const SUB_BITS: u32 = 6;
const SUB_BINS: usize = 1 << SUB_BITS;
/// Smallest and one past the largest binary exponent with bins of their own.
const MIN_EXP: i64 = -16;
const MAX_EXP: i64 = 32;
/// Number of positive bins: zero, then `SUB_BINS` per exponent.
pub const POSITIVE_BINS: usize = 1 + (MAX_EXP - MIN_EXP) as usize * SUB_BINS;
/// Relative error bound of a percentile read from positive bins.
pub const POSITIVE_RELATIVE_ERROR: f64 = 1.0 / (2 * SUB_BINS) as f64;

/// The positive bin of `x >= 0`: read straight off the float's exponent and top
/// mantissa bits, so no logarithm is taken. Values below 2^-16 share the first
/// non-zero bin and values from 2^32 up share the last.
#[inline]
pub fn positive_bin(x: f64) -> usize {
    if x <= 0.0 {
        return 0;
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    if exponent < MIN_EXP {
        return 1;
    }
    if exponent >= MAX_EXP {
        return POSITIVE_BINS - 1;
    }
    let sub = ((bits >> (52 - SUB_BITS)) & (SUB_BINS as u64 - 1)) as usize;
    1 + (exponent - MIN_EXP) as usize * SUB_BINS + sub
}

/// The value a positive bin stands for: the centre of its interval.
pub fn positive_value(bin: usize) -> f64 {
    if bin == 0 {
        return 0.0;
    }
    let k = bin - 1;
    let exponent = MIN_EXP + (k / SUB_BINS) as i64;
    let sub = (k % SUB_BINS) as f64;
    2f64.powi(exponent as i32) * (1.0 + (sub + 0.5) / SUB_BINS as f64)
}

/// The 1-based nearest rank of the `percent`-th percentile of `n` values.
pub fn nearest_rank(percent: u32, n: u64) -> u64 {
    ((percent as u128 * n as u128).div_ceil(100) as u64).max(1)
}

/// The `percent`-th percentile of the values binned in `bins`, read as the value
/// of the bin holding the nearest-rank order statistic, kept within the exact
/// `[min, max]` of the stream (which only moves it closer to the exact value).
pub fn binned_percentile(
    bins: &[u64],
    moments: &Moments,
    percent: u32,
    value_of: impl Fn(usize) -> f64,
) -> Option<f64> {
    if moments.count == 0 {
        return None;
    }
    let rank = nearest_rank(percent, moments.count);
    let mut seen = 0;
    for (bin, &count) in bins.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(value_of(bin).clamp(moments.min, moments.max));
        }
    }
    Some(moments.max)
}

/// The `percent`-th percentile of a 0/1 stream with `ones` ones among `n`: exact.
pub fn event_percentile(ones: u64, n: u64, percent: u32) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let zeros = n - ones;
    Some(if nearest_rank(percent, n) <= zeros {
        0.0
    } else {
        1.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_percentile(values: &mut [f64], percent: u32) -> f64 {
        values.sort_by(f64::total_cmp);
        values[nearest_rank(percent, values.len() as u64) as usize - 1]
    }

    #[test]
    fn moments_merge_exactly_in_any_order() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 997.0)
            .collect();
        let mut whole = Moments::default();
        xs.iter().for_each(|&x| whole.add(x));
        let (mut a, mut b) = (Moments::default(), Moments::default());
        xs.iter().rev().take(300).for_each(|&x| a.add(x));
        xs.iter().rev().skip(300).for_each(|&x| b.add(x));
        b.merge(&a);
        assert_eq!(whole, b);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((whole.mean().unwrap() - mean).abs() < 1e-12);
    }

    #[test]
    fn fixed_point_is_exact_to_its_resolution() {
        for &x in &[0.0, 1.0, 0.5, 0.1, 0.123456789, 57.25, 4.0e9, 1e-15] {
            let back = to_fixed(x) as f64 / FIXED_SCALE;
            assert!((back - x).abs() <= 1.0 / FIXED_SCALE * x.max(1.0), "{x}");
        }
        assert_eq!(to_fixed(0.75), 3 << 46);
        assert_eq!(to_fixed(2.5), 5 << 47);
    }

    #[test]
    fn batch_folds_equal_value_by_value_adds() {
        let values = [
            0.0,
            1.0,
            0.25,
            f64::NAN,
            0.3333333333333333,
            0.999999999,
            1e-17,
        ];
        let mut counts = vec![0u16; UNIT_BINS];
        let folded = fold_unit(&values, &mut counts);
        let mut one_by_one = Moments::default();
        let mut expected = vec![0u16; UNIT_BINS];
        for &x in values.iter().filter(|x| !x.is_nan()) {
            one_by_one.add(x);
            expected[unit_bin(x)] += 1;
        }
        assert_eq!(folded, one_by_one);
        assert_eq!(counts, expected);
        let big = [0.0, 3.5, 12345.678, 4.0e9];
        let mut counts = vec![0u16; POSITIVE_BINS];
        let folded = fold_positive(&big, &mut counts);
        let mut one_by_one = Moments::default();
        big.iter().for_each(|&x| one_by_one.add(x));
        assert_eq!(folded, one_by_one);
        assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), big.len());
    }

    #[test]
    fn unit_bins_cover_the_unit_interval() {
        assert_eq!(unit_bin(0.0), 0);
        assert_eq!(unit_bin(1.0), 1000);
        assert_eq!(unit_bin(0.00049), 0);
        assert_eq!(unit_bin(0.5), 500);
        assert_eq!(unit_value(500), 0.5);
        assert_eq!(unit_bin(1.0000001), 1000);
    }

    #[test]
    fn positive_bins_hold_their_values_within_the_bound() {
        for &x in &[2e-5, 0.003, 0.5, 1.0, 1.5, 37.2, 50.0, 1234.5, 4.0e9] {
            let v = positive_value(positive_bin(x));
            assert!((v - x).abs() / x <= POSITIVE_RELATIVE_ERROR, "{x} -> {v}");
        }
        assert_eq!(positive_bin(0.0), 0);
        assert_eq!(positive_value(0), 0.0);
        let mut last = 0;
        for i in 1..2000 {
            let b = positive_bin(i as f64 * 0.37);
            assert!(b >= last, "bins are monotone");
            last = b;
        }
    }

    #[test]
    fn percentiles_of_events_are_exact() {
        assert_eq!(event_percentile(0, 10, 95), Some(0.0));
        assert_eq!(event_percentile(1, 10, 95), Some(1.0));
        assert_eq!(event_percentile(1, 10, 50), Some(0.0));
        assert_eq!(event_percentile(6, 10, 50), Some(1.0));
        assert_eq!(event_percentile(0, 0, 50), None);
    }

    #[test]
    fn binned_percentiles_are_within_the_stated_bound_of_exact_ones() {
        // Skewed values in [0, 1] and log-normal-ish positive values.
        let mut unit: Vec<f64> = (0..5000)
            .map(|i| ((i as f64 * 0.618034) % 1.0).powi(3))
            .collect();
        let mut positive: Vec<f64> = (0..5000)
            .map(|i| (((i as f64 * 0.414213) % 1.0) * 9.0).exp())
            .collect();
        let mut unit_bins = vec![0u64; UNIT_BINS];
        let mut positive_bins = vec![0u64; POSITIVE_BINS];
        let (mut mu, mut mp) = (Moments::default(), Moments::default());
        for &x in &unit {
            unit_bins[unit_bin(x)] += 1;
            mu.add(x);
        }
        for &x in &positive {
            positive_bins[positive_bin(x)] += 1;
            mp.add(x);
        }
        for percent in [1, 5, 25, 50, 75, 95, 99, 100] {
            let exact = exact_percentile(&mut unit, percent);
            let sketch = binned_percentile(&unit_bins, &mu, percent, unit_value).unwrap();
            assert!(
                (sketch - exact).abs() <= UNIT_BIN_WIDTH / 2.0 + 1e-12,
                "p{percent}"
            );
            let exact = exact_percentile(&mut positive, percent);
            let sketch = binned_percentile(&positive_bins, &mp, percent, positive_value).unwrap();
            assert!(
                (sketch - exact).abs() / exact <= POSITIVE_RELATIVE_ERROR,
                "p{percent}"
            );
        }
    }
}
