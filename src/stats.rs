//! Streaming, exactly mergeable statistics: the building blocks of a summary.
//!
//! Everything here is integer-valued state (counts, fixed-point sums) or exact
//! `min`/`max`, so merging two partial results is exact, commutative and
//! associative. That is what makes a study's summary the same bits whatever
//! the thread count, the batch size, the shards or a resume from a checkpoint.
//!
//! - [`Moments`]: count, fixed-point sum and sum of squares (an exact mean
//!   and variance of values truncated to multiples of 2^-48, and squares to
//!   multiples of 2^-56 or 2^-30), minimum and maximum.
//! - [`Binning`]: how a value is histogrammed. `Unit`: 1001 bins of width
//!   0.001 centred on multiples of 0.001, for quantities in [0, 1] (a
//!   percentile read from them is within 0.0005 of the exact one).
//!   `Positive`: a log-linear (HDR-style) sketch for non-negative quantities,
//!   an exact zero bin then 64 linear sub-bins per power of two from 2^-16 to
//!   2^32 (within 1/128 = 0.78% relative error in that range). `SignedUnit`
//!   and `SignedPositive` mirror them for differences, which can be negative.
//!
//! Exact over the whole domain: a binning clamps what it records into its
//! range ([`Binning::limits`]) and a summary holds at most
//! [`crate::model::MAX_RUNS`] runs, so no sum can overflow; validation bounds
//! every parameter so that recorded values stay far inside those ranges.
//!
//! "Exact percentile" means the nearest-rank order statistic: the p-quantile of
//! `n` values is the `ceil(p n)`-th smallest (the smallest for `p n < 1`).

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Fractional bits of [`Moments::sum`]: values are truncated to multiples of 2^-48.
const FRACTION_BITS: u32 = 48;
const FIXED_SCALE: f64 = (1u64 << FRACTION_BITS) as f64;

/// `x` in fixed point (units of 2^-48), truncated toward zero. Exact integer
/// work only: the whole part and the fraction are converted separately, so no
/// libm rounding call or software float-to-i128 conversion is needed. `|x|`
/// must be below 2^62 (every binning's limits are far below).
#[inline]
pub fn to_fixed(x: f64) -> i128 {
    let whole = x as i64;
    let fraction = ((x - whole as f64) * FIXED_SCALE) as i64;
    ((whole as i128) << FRACTION_BITS) + fraction as i128
}

/// How a metric's values are histogrammed (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binning {
    /// Quantities in [0, 1].
    Unit,
    /// Differences of quantities in [0, 1], in [-1, 1].
    SignedUnit,
    /// Non-negative quantities up to 2^32.
    Positive,
    /// Differences of non-negative quantities, in [-2^32, 2^32].
    SignedPositive,
}

/// Number of unit bins.
pub const UNIT_BINS: usize = 1001;
/// Width of a unit bin.
pub const UNIT_BIN_WIDTH: f64 = 0.001;
/// Linear sub-bins per power of two in the positive sketch.
const SUB_BITS: u32 = 6;
const SUB_BINS: usize = 1 << SUB_BITS;
/// Smallest and one past the largest binary exponent with bins of their own.
const MIN_EXP: i64 = -16;
const MAX_EXP: i64 = 32;
/// Number of positive bins: zero, then `SUB_BINS` per exponent.
pub const POSITIVE_BINS: usize = 1 + (MAX_EXP - MIN_EXP) as usize * SUB_BINS;
/// `positive_bin(x) = (x.to_bits() >> 46) - POSITIVE_BIN_OFFSET` for `x` in
/// the sketch's range: the exponent and the top [`SUB_BITS`] mantissa bits
/// read as one number, less the smallest exponent's, plus one for the zero bin.
const POSITIVE_BIN_OFFSET: i64 = (1023 + MIN_EXP) * SUB_BINS as i64 - 1;
/// Relative error bound of a percentile read from positive bins.
pub const POSITIVE_RELATIVE_ERROR: f64 = 1.0 / (2 * SUB_BINS) as f64;
/// Smallest value with a positive bin of its own (2^-16): the percentiles of
/// smaller positive values are read from the first bin, within
/// `POSITIVE_FLOOR * (1 + POSITIVE_RELATIVE_ERROR)` of the truth rather than
/// within the relative bound.
pub const POSITIVE_FLOOR: f64 = 1.0 / (1u64 << -MIN_EXP) as f64;
/// Largest value a positive binning records: larger values count as this.
pub const POSITIVE_LIMIT: f64 = (1u64 << MAX_EXP) as f64;

impl Binning {
    /// Number of bins.
    pub const fn bins(self) -> usize {
        match self {
            Binning::Unit => UNIT_BINS,
            Binning::SignedUnit => 2 * UNIT_BINS - 1,
            Binning::Positive => POSITIVE_BINS,
            Binning::SignedPositive => 2 * POSITIVE_BINS - 1,
        }
    }

    /// The smallest and largest value recorded; values outside are clamped.
    pub const fn limits(self) -> (f64, f64) {
        match self {
            Binning::Unit => (0.0, 1.0),
            Binning::SignedUnit => (-1.0, 1.0),
            Binning::Positive => (0.0, POSITIVE_LIMIT),
            Binning::SignedPositive => (-POSITIVE_LIMIT, POSITIVE_LIMIT),
        }
    }

    /// Fractional bits of the fixed-point sum of squares: values of a unit
    /// binning square to at most 1 (2^-56 resolution: 64 of them sum within
    /// a `u64`), values of a positive one to at most 2^64 (2^-30 resolution:
    /// 2^32 of them sum within a `u128`).
    pub const fn square_bits(self) -> u32 {
        match self {
            Binning::Unit | Binning::SignedUnit => 56,
            Binning::Positive | Binning::SignedPositive => 30,
        }
    }

    /// The binning of differences of values of this binning.
    pub const fn signed(self) -> Binning {
        match self {
            Binning::Unit | Binning::SignedUnit => Binning::SignedUnit,
            Binning::Positive | Binning::SignedPositive => Binning::SignedPositive,
        }
    }

    /// The bin of `x` (already clamped to [`Binning::limits`]).
    #[inline]
    pub fn bin(self, x: f64) -> usize {
        match self {
            Binning::Unit => unit_bin(x),
            Binning::SignedUnit => {
                // Round half away from zero, symmetric about 0.
                let magnitude = unit_bin(x.abs());
                if x < 0.0 {
                    UNIT_BINS - 1 - magnitude
                } else {
                    UNIT_BINS - 1 + magnitude
                }
            }
            Binning::Positive => positive_bin(x),
            Binning::SignedPositive => {
                let magnitude = positive_bin(x.abs());
                if x < 0.0 {
                    POSITIVE_BINS - 1 - magnitude
                } else {
                    POSITIVE_BINS - 1 + magnitude
                }
            }
        }
    }

    /// The value a bin stands for.
    pub fn value(self, bin: usize) -> f64 {
        match self {
            Binning::Unit => unit_value(bin),
            Binning::SignedUnit => {
                let zero = UNIT_BINS - 1;
                if bin >= zero {
                    unit_value(bin - zero)
                } else {
                    -unit_value(zero - bin)
                }
            }
            Binning::Positive => positive_value(bin),
            Binning::SignedPositive => {
                let zero = POSITIVE_BINS - 1;
                if bin >= zero {
                    positive_value(bin - zero)
                } else {
                    -positive_value(zero - bin)
                }
            }
        }
    }
}

/// Count, exact fixed-point sums, minimum and maximum of a stream of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Sum of the values, each truncated to a multiple of 2^-48, in units of 2^-48.
    pub sum: i128,
    /// Sum of the squares, each truncated to a multiple of
    /// 2^-[`Binning::square_bits`], in those units.
    pub sum_squares: u128,
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
            sum_squares: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

/// `x * x` in units of 2^-`bits`, truncated.
///
/// A square below 2^63 (every unit value's, most positive ones') is
/// truncated by one `i64` conversion: `as u128` is a call to a software
/// conversion, and a pair of a comparison adds three squares per outcome.
/// Both truncate exactly, so the bits are the same.
#[inline]
fn square_fixed(x: f64, bits: u32) -> u128 {
    const BELOW: f64 = (1u64 << 63) as f64;
    let scaled = x * x * (1u64 << bits) as f64;
    if scaled < BELOW {
        scaled as i64 as u128
    } else {
        scaled as u128
    }
}

impl Moments {
    /// Bytes of [`Moments::encode`]: count, sum, sum of squares, min, max.
    pub const ENCODED_BYTES: usize = 8 + 16 + 16 + 8 + 8;

    /// Appends the little-endian encoding (for state files).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.sum.to_le_bytes());
        out.extend_from_slice(&self.sum_squares.to_le_bytes());
        out.extend_from_slice(&self.min.to_bits().to_le_bytes());
        out.extend_from_slice(&self.max.to_bits().to_le_bytes());
    }

    /// Decodes [`Moments::encode`]'s output from the front of `input`,
    /// advancing it; `None` if it is too short.
    pub fn decode(input: &mut &[u8]) -> Option<Moments> {
        let (bytes, rest) = input.split_first_chunk::<{ Moments::ENCODED_BYTES }>()?;
        *input = rest;
        let (count, bytes) = bytes.split_first_chunk::<8>()?;
        let (sum, bytes) = bytes.split_first_chunk::<16>()?;
        let (sum_squares, bytes) = bytes.split_first_chunk::<16>()?;
        let (min, max) = bytes.split_first_chunk::<8>()?;
        Some(Moments {
            count: u64::from_le_bytes(*count),
            sum: i128::from_le_bytes(*sum),
            sum_squares: u128::from_le_bytes(*sum_squares),
            min: f64::from_bits(u64::from_le_bytes(*min)),
            max: f64::from_bits(u64::from_le_bytes(max.try_into().ok()?)),
        })
    }

    /// Checks that these could be the moments of values of `binning`: no
    /// sums without a count; otherwise a minimum and maximum within the
    /// binning's limits, a mean between them, and a mean square between the
    /// mean's square and the largest square. What a state file's moments
    /// must pass before they are believed (or merged: a forged sum could
    /// overflow).
    ///
    /// # Errors
    /// What is impossible, in words ("has minimum ..."), to follow a name.
    pub fn check(&self, binning: Binning) -> Result<(), String> {
        let (lo, hi) = binning.limits();
        if self.count == 0 {
            if self.sum != 0 || self.sum_squares != 0 {
                return Err("sums values it has not counted".into());
            }
            return Ok(());
        }
        let mean = self.mean().unwrap_or(f64::NAN);
        let within = lo <= self.min && self.min <= self.max && self.max <= hi;
        if !within || !(self.min - 1e-9..=self.max + 1e-9).contains(&mean) {
            return Err(format!(
                "has minimum {}, maximum {} and mean {mean}",
                self.min, self.max
            ));
        }
        // The mean square lies between the square of the mean (else the
        // variance would be negative, and read as 0) and the largest square.
        // The slack covers the fixed-point truncation, far below it.
        let mean_square =
            self.sum_squares as f64 / (1u64 << binning.square_bits()) as f64 / self.count as f64;
        let largest = self.min.abs().max(self.max.abs());
        let slack = 1e-8 * largest.max(1.0).powi(2);
        if !(mean * mean - slack..=largest * largest + slack).contains(&mean_square) {
            return Err(format!(
                "has mean {mean} but mean square {mean_square}, impossible for values from {} to {}",
                self.min, self.max
            ));
        }
        Ok(())
    }

    /// Adds one value of a metric histogrammed with `binning`, clamped into
    /// its limits (NaN is "undefined" and must be skipped by the caller).
    #[inline]
    pub fn add(&mut self, x: f64, binning: Binning) {
        let (lo, hi) = binning.limits();
        let x = x.clamp(lo, hi);
        self.count += 1;
        self.sum += to_fixed(x);
        self.sum_squares += square_fixed(x, binning.square_bits());
        self.min = lesser(x, self.min);
        self.max = greater(x, self.max);
    }

    /// Adds another stream's moments (exact).
    pub fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_squares += other.sum_squares;
        self.min = lesser(other.min, self.min);
        self.max = greater(other.max, self.max);
    }

    /// The mean, or `None` for an empty stream.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / FIXED_SCALE / self.count as f64)
    }

    /// The sample standard deviation (with `n - 1`), or `None` for fewer than
    /// two values. `binning` is the one the values were added with.
    pub fn sd(&self, binning: Binning) -> Option<f64> {
        if self.count < 2 {
            return None;
        }
        let n = self.count as f64;
        let mean = self.sum as f64 / FIXED_SCALE / n;
        let mean_square = self.sum_squares as f64 / (1u64 << binning.square_bits()) as f64 / n;
        let variance = (mean_square - mean * mean).max(0.0) * n / (n - 1.0);
        Some(variance.sqrt())
    }
}

/// Folds a batch of values of `binning` (NaN meaning "undefined in that
/// run", skipped) into its 16-bit bin `counts`, returning the batch's moments.
///
/// Equal to adding each value with [`Moments::add`] and incrementing its
/// bin, but cheaper: one loop per binning, with no float-to-128-bit
/// conversion (a batch of at most 64 unit values sums, and sums its squares,
/// within 64-bit integers; a positive value's square is split into two
/// 64-bit halves).
#[inline]
pub fn fold(values: &[f64], counts: &mut [u16], binning: Binning) -> Moments {
    // Checked in every build: the vector folds index `counts` unchecked and
    // keep their sums exact only for batches of at most 64 (once a batch).
    assert!(
        values.len() <= 64 && counts.len() == binning.bins(),
        "a batch of {} values folded into {} bins of a {binning:?} binning",
        values.len(),
        counts.len()
    );
    if all_positive_zeros(values) {
        // Common where nothing happened (no orders from a supplier, no
        // difference between two scenarios' runs): the fold's result
        // without its arithmetic.
        let zero_bin = binning.bin(0.0);
        counts[zero_bin] += values.len() as u16;
        return Moments {
            count: values.len() as u64,
            sum: 0,
            sum_squares: 0,
            min: if values.is_empty() {
                f64::INFINITY
            } else {
                0.0
            },
            max: if values.is_empty() {
                f64::NEG_INFINITY
            } else {
                0.0
            },
        };
    }
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the processor runs AVX2 (checked above).
        return unsafe { avx2::fold(values, counts, binning) };
    }
    scalar_fold(values, counts, binning)
}

/// [`fold`] of `n` values all equal to `x` (not NaN), without the batch:
/// the fold of a tally, for values that take few distinct values (a pair's
/// event differences, -1, 0 or +1). The same bins and bits as folding the
/// values one by one, since every sum is exact.
pub fn fold_repeated(x: f64, n: u16, counts: &mut [u16], binning: Binning) -> Moments {
    debug_assert!(!x.is_nan(), "a repeated value must be defined");
    if n == 0 {
        return Moments::default();
    }
    let (lo, hi) = binning.limits();
    let x = clamp_defined(x, lo, hi);
    let mut one = Moments::default();
    one.add(x, binning);
    counts[binning.bin(x)] += n;
    Moments {
        count: u64::from(n),
        sum: one.sum * i128::from(n),
        sum_squares: one.sum_squares * u128::from(n),
        ..one
    }
}

/// [`fold`] of the paired differences `b[k] - a[k]` of two batches of
/// the same length, without writing them out where the processor has AVX2
/// (they are subtracted four at a time as the fold reads them): a
/// comparison's recorder folds each cell's differences so.
pub fn fold_difference(a: &[f64], b: &[f64], counts: &mut [u16], binning: Binning) -> Moments {
    assert!(
        a.len() == b.len() && a.len() <= 64 && counts.len() == binning.bins(),
        "batches of {} and {} values folded into {} bins of a {binning:?} binning",
        a.len(),
        b.len(),
        counts.len()
    );
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the processor runs AVX2 (checked above).
        return unsafe { avx2::fold(avx2::Differences { a, b }, counts, binning) };
    }
    let mut row = [0.0; 64];
    let row = &mut row[..a.len()];
    for ((d, &x), &y) in row.iter_mut().zip(a).zip(b) {
        *d = y - x;
    }
    fold(row, counts, binning)
}

/// Whether every value is `+0.0` (bit for bit), checked eight at a time.
#[inline]
fn all_positive_zeros(values: &[f64]) -> bool {
    let mut groups = values.chunks_exact(8);
    for group in &mut groups {
        if group.iter().fold(0, |bits, x| bits | x.to_bits()) != 0 {
            return false;
        }
    }
    groups.remainder().iter().all(|x| x.to_bits() == 0)
}

/// [`fold`] one value at a time, on any processor.
#[inline]
fn scalar_fold(values: &[f64], counts: &mut [u16], binning: Binning) -> Moments {
    match binning {
        Binning::Unit => fold_unit::<false>(values, counts),
        Binning::SignedUnit => fold_unit::<true>(values, counts),
        Binning::Positive => fold_positive::<false>(values, counts),
        Binning::SignedPositive => fold_positive::<true>(values, counts),
    }
}

/// `x` truncated toward zero, in one instruction.
///
/// `x as i64` saturates: it checks for NaN and for values beyond `i64`'s
/// range, five more instructions per conversion, which were a third of a
/// fold's cost (callgrind). The folds below convert only values that they
/// have checked are not NaN, clamped into their binning's limits and scaled
/// by at most 2^56, so every argument is finite and below 2^62 in
/// magnitude: far inside `i64`, where the two conversions agree.
#[inline(always)]
fn truncate(x: f64) -> i64 {
    const BOUND: f64 = (1u64 << 62) as f64;
    debug_assert!(x.abs() < BOUND, "{x} is not a clamped, scaled value");
    // SAFETY: `x` is finite and |x| < 2^62 (see above), so it is
    // representable in `i64` after truncation.
    unsafe { x.to_int_unchecked::<i64>() }
}

/// The smaller of two values that are not NaN, with `-0.0` below `0.0`
/// (the order of `f64::total_cmp`): a minimum that depends neither on the
/// order in which values, batches or partial summaries arrive nor,
/// therefore, on the threads. (`f64::min`, and "keep the first of equals", leave the
/// sign of a zero minimum to the order.)
#[inline(always)]
pub(crate) fn lesser(x: f64, y: f64) -> f64 {
    if x < y || (x == y && x.is_sign_negative()) {
        x
    } else {
        y
    }
}

/// The larger of two values that are not NaN, with `0.0` above `-0.0`.
#[inline(always)]
pub(crate) fn greater(x: f64, y: f64) -> f64 {
    if x > y || (x == y && x.is_sign_positive()) {
        x
    } else {
        y
    }
}

/// `x` (not NaN) clamped into `[lo, hi]` as `maxsd` and `minsd` do it, one
/// instruction each with no assertion: `-0.0` against a bound of `0.0`
/// becomes `0.0`, the bound (`f64::max` leaves that choice to the compiler).
/// The vector folds clamp the same way.
#[inline(always)]
pub(crate) fn clamp_defined(x: f64, lo: f64, hi: f64) -> f64 {
    let x = if x > lo { x } else { lo };
    if x < hi { x } else { hi }
}

#[inline(always)]
fn fold_unit<const SIGNED: bool>(values: &[f64], counts: &mut [u16]) -> Moments {
    let lo = if SIGNED { -1.0 } else { 0.0 };
    let square_scale = (1u64 << Binning::Unit.square_bits()) as f64;
    let mut m = Moments::default();
    let mut sum: i64 = 0;
    let mut squares: i64 = 0;
    for &x in values {
        if x.is_nan() {
            continue;
        }
        let x = clamp_defined(x, lo, 1.0);
        // `Binning::bin`, knowing |x| <= 1: round half away from zero to
        // 0.001, so the magnitude is at most 1000 and needs no clamp.
        let magnitude = truncate(x.abs() * 1000.0 + 0.5) as usize;
        let bin = match (SIGNED, x < 0.0) {
            (false, _) => magnitude,
            (true, true) => UNIT_BINS - 1 - magnitude,
            (true, false) => UNIT_BINS - 1 + magnitude,
        };
        counts[bin] += 1;
        sum += truncate(x * FIXED_SCALE);
        squares += truncate(x * x * square_scale);
        m.count += 1;
        // NaN is skipped above, so plain comparisons do (one instruction each).
        m.min = lesser(x, m.min);
        m.max = greater(x, m.max);
    }
    m.sum = sum as i128;
    m.sum_squares = squares as u128;
    m
}

#[inline(always)]
fn fold_positive<const SIGNED: bool>(values: &[f64], counts: &mut [u16]) -> Moments {
    let lo = if SIGNED { -POSITIVE_LIMIT } else { 0.0 };
    // Fixed-point sums in two 64-bit halves each, combined once per batch:
    // `to_fixed(x) = whole << 48 + fraction` with |whole| <= 2^32 and
    // |fraction| < 2^48, and a square in units of 2^-30 is
    // `high << 56 + low` with high <= 2^38 and low < 2^56; 64 of each fit.
    const SPLIT: f64 = (1u64 << 26) as f64;
    const LOW_SCALE: f64 = (1u64 << 30) as f64;
    let (mut wholes, mut fractions) = (0i64, 0i64);
    let (mut highs, mut lows) = (0i64, 0i64);
    let mut m = Moments::default();
    for &x in values {
        if x.is_nan() {
            continue;
        }
        let x = clamp_defined(x, lo, POSITIVE_LIMIT);
        let magnitude = positive_bin(x.abs());
        let bin = match (SIGNED, x < 0.0) {
            (false, _) => magnitude,
            (true, true) => POSITIVE_BINS - 1 - magnitude,
            (true, false) => POSITIVE_BINS - 1 + magnitude,
        };
        counts[bin] += 1;
        m.count += 1;
        let whole = truncate(x);
        wholes += whole;
        fractions += truncate((x - whole as f64) * FIXED_SCALE);
        let square = x * x;
        // Exact: `high` is below 2^38, and `square - high * SPLIT` is the
        // square's bits below 2^26, representable as they are.
        let high = truncate(square / SPLIT);
        highs += high;
        lows += truncate((square - high as f64 * SPLIT) * LOW_SCALE);
        m.min = lesser(x, m.min);
        m.max = greater(x, m.max);
    }
    m.sum = ((wholes as i128) << FRACTION_BITS) + fractions as i128;
    m.sum_squares = ((highs as u128) << 56) + lows as u128;
    debug_assert!(highs >= 0 && lows >= 0);
    m
}

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

/// The `percent`-th percentile of the values binned in `bins` with
/// `binning`, read as the value of the bin holding the nearest-rank order
/// statistic, kept within the exact `[min, max]` of the stream (which only
/// moves it closer to the exact value).
pub fn binned_percentile(
    bins: &[u64],
    moments: &Moments,
    percent: u32,
    binning: Binning,
) -> Option<f64> {
    if moments.count == 0 {
        return None;
    }
    let rank = nearest_rank(percent, moments.count);
    let mut seen = 0;
    for (bin, &count) in bins.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(binning.value(bin).clamp(moments.min, moments.max));
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

/// The standard normal quantile, for confidence levels (statrs).
pub fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(p.clamp(1e-300, 1.0 - 1e-16))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BINNINGS: [Binning; 4] = [
        Binning::Unit,
        Binning::SignedUnit,
        Binning::Positive,
        Binning::SignedPositive,
    ];

    /// That two folds gave the same moments to the bit (the zeros' signs
    /// included, which `==` does not see) and the same counts.
    fn assert_same_fold(x: (&Moments, &[u16]), y: (&Moments, &[u16]), what: &str) {
        let ((m, counts), (n, expected)) = (x, y);
        assert_eq!(
            (m.count, m.sum, m.sum_squares),
            (n.count, n.sum, n.sum_squares),
            "{what}"
        );
        assert_eq!(m.min.to_bits(), n.min.to_bits(), "{what}");
        assert_eq!(m.max.to_bits(), n.max.to_bits(), "{what}");
        assert_eq!(counts, expected, "{what}");
    }

    #[test]
    fn the_normal_quantile_is_accurate() {
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-8);
        assert!((normal_quantile(0.95) - 1.6448536269514722).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090232306167813).abs() < 1e-7);
    }

    fn exact_percentile(values: &mut [f64], percent: u32) -> f64 {
        values.sort_by(f64::total_cmp);
        values[nearest_rank(percent, values.len() as u64) as usize - 1]
    }

    #[test]
    fn moments_merge_exactly_in_any_order() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let mut whole = Moments::default();
        xs.iter().for_each(|&x| whole.add(x, Binning::Unit));
        let (mut a, mut b) = (Moments::default(), Moments::default());
        xs.iter()
            .rev()
            .take(300)
            .for_each(|&x| a.add(x, Binning::Unit));
        xs.iter()
            .rev()
            .skip(300)
            .for_each(|&x| b.add(x, Binning::Unit));
        b.merge(&a);
        assert_eq!(whole, b);
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        assert!((whole.mean().unwrap() - mean).abs() < 1e-12);
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((whole.sd(Binning::Unit).unwrap() - sd).abs() < 1e-9);
    }

    #[test]
    fn the_standard_deviation_of_large_values_is_right() {
        let xs = [48.0, 50.0, 52.0, 1.5e9, 3.0e9];
        let mut m = Moments::default();
        xs.iter().for_each(|&x| m.add(x, Binning::Positive));
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((m.sd(Binning::Positive).unwrap() - sd).abs() / sd < 1e-9);
        assert!((m.mean().unwrap() - mean).abs() / mean < 1e-12);
        assert_eq!(Moments::default().sd(Binning::Unit), None);
    }

    #[test]
    fn sums_stay_exact_at_the_limits_of_the_domain() {
        // The largest recorded value, as many times as a study may hold:
        // the sums must not overflow (they would wrap or saturate).
        let mut one = Moments::default();
        one.add(f64::MAX, Binning::Positive);
        assert_eq!(one.max, POSITIVE_LIMIT, "clamped into the binning's range");
        let mut total = Moments::default();
        for _ in 0..32 {
            total.merge(&one);
            let copy = total;
            total.merge(&copy);
        }
        assert!(total.count >= crate::model::MAX_RUNS);
        let mean = total.mean().unwrap();
        assert_eq!(mean, POSITIVE_LIMIT);
        let mut tiny = Moments::default();
        tiny.add(-5.0, Binning::Unit);
        assert_eq!(tiny.min, 0.0);
    }

    #[test]
    fn fixed_point_is_exact_to_its_resolution() {
        for &x in &[0.0, 1.0, 0.5, 0.1, 0.123456789, 57.25, 4.0e9, 1e-15, -0.75] {
            let back = to_fixed(x) as f64 / FIXED_SCALE;
            assert!(
                (back - x).abs() <= 1.0 / FIXED_SCALE * x.abs().max(1.0),
                "{x}"
            );
        }
        assert_eq!(to_fixed(0.75), 3 << 46);
        assert_eq!(to_fixed(2.5), 5 << 47);
        assert_eq!(to_fixed(-0.75), -(3 << 46));
    }

    #[test]
    fn squares_truncate_as_the_wide_conversion_does() {
        // The one-instruction path below 2^63 against `as u128`, on both
        // sides of 2^63 and across every binning's range.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
        let edge = (2f64.powi(63) / 2f64.powi(30)).sqrt();
        let mut xs = vec![0.0, -0.0, 1.0, -1.0, POSITIVE_LIMIT, edge, -edge];
        xs.extend((0..64).map(|k| f64::from_bits(edge.to_bits() - 32 + k)));
        xs.extend(
            (0..10_000).map(|_| rng.random_range(-1.0..=1.0) * POSITIVE_LIMIT.powf(rng.random())),
        );
        for x in xs {
            for bits in [56, 30] {
                let wide = (x * x * (1u64 << bits) as f64) as u128;
                assert_eq!(square_fixed(x, bits), wide, "{x} in units of 2^-{bits}");
            }
        }
    }

    #[test]
    fn batch_folds_equal_value_by_value_adds() {
        for binning in [Binning::Unit, Binning::SignedUnit] {
            let values = [
                0.0,
                1.0,
                0.25,
                f64::NAN,
                0.333333,
                0.999999999,
                1e-17,
                -0.4,
                1.3,
            ];
            let mut counts = vec![0u16; binning.bins()];
            let folded = fold(&values, &mut counts, binning);
            let mut one_by_one = Moments::default();
            let mut expected = vec![0u16; binning.bins()];
            let (lo, hi) = binning.limits();
            for &x in values.iter().filter(|x| !x.is_nan()) {
                one_by_one.add(x, binning);
                expected[binning.bin(x.clamp(lo, hi))] += 1;
            }
            assert_eq!(folded, one_by_one, "{binning:?}");
            assert_eq!(counts, expected);
        }
        let big = [0.0, 3.5, 12345.678, 4.0e9, f64::NAN];
        let mut counts = vec![0u16; POSITIVE_BINS];
        let folded = fold(&big, &mut counts, Binning::Positive);
        let mut one_by_one = Moments::default();
        big[..4]
            .iter()
            .for_each(|&x| one_by_one.add(x, Binning::Positive));
        assert_eq!(folded, one_by_one);
        assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), 4);
    }

    #[test]
    fn folds_of_random_batches_equal_value_by_value_adds() {
        // The folds' one-instruction conversions against `Moments::add` and
        // `Binning::bin` (saturating conversions), over every binning, with
        // values across and beyond each range, NaNs, zeros of both signs and
        // exact bin edges.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        for binning in BINNINGS {
            let (lo, hi) = binning.limits();
            for _ in 0..200 {
                let len = rng.random_range(0..=64);
                let values: Vec<f64> = (0..len)
                    .map(|_| match rng.random_range(0..8) {
                        0 => f64::NAN,
                        1 => [0.0, -0.0, lo, hi, 0.0005, -0.0015][rng.random_range(0..6)],
                        2 => rng.random_range(lo..=hi) * 1.5,
                        3 => hi * rng.random::<f64>().powi(40),
                        4 => lo * rng.random::<f64>().powi(7),
                        _ => rng.random_range(lo..=hi),
                    })
                    .collect();
                let mut counts = vec![0u16; binning.bins()];
                let folded = fold(&values, &mut counts, binning);
                let mut one_by_one = Moments::default();
                let mut expected = vec![0u16; binning.bins()];
                for &x in values.iter().filter(|x| !x.is_nan()) {
                    one_by_one.add(x, binning);
                    expected[binning.bin(x.clamp(lo, hi))] += 1;
                }
                assert_eq!(folded, one_by_one, "{binning:?} {values:?}");
                assert_eq!(counts, expected, "{binning:?} {values:?}");
            }
        }
    }

    #[test]
    fn a_repeated_value_folds_as_its_batch_does() {
        // The fold of a tally (a pair's event differences) against the fold
        // of the batch it stands for, for every binning, with values within,
        // at and beyond the limits, zeros of both signs, and every count.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
        for binning in BINNINGS {
            let (lo, hi) = binning.limits();
            let fixed = [-1.0, 0.0, 1.0, -0.0, lo, hi, 0.0005, 2.0 * hi];
            for k in 0..300 {
                let x = match fixed.get(k) {
                    Some(&x) => x,
                    None => rng.random_range(lo..=hi) * 1.2,
                };
                let n = if k < 65 {
                    k as u16
                } else {
                    rng.random_range(0..=64)
                };
                let mut counts = vec![0u16; binning.bins()];
                let repeated = fold_repeated(x, n, &mut counts, binning);
                let mut expected = vec![0u16; binning.bins()];
                let batch = fold(&vec![x; n as usize], &mut expected, binning);
                let what = format!("{binning:?} {x} x {n}");
                assert_same_fold((&repeated, &counts), (&batch, &expected), &what);
            }
        }
    }

    /// Batches that reach every branch of the folds: NaNs, zeros of both
    /// signs, the binnings' limits and bin edges, values beyond the limits,
    /// tiny and huge magnitudes, and every length up to 64.
    fn awkward_batches(binning: Binning) -> Vec<Vec<f64>> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        let (lo, hi) = binning.limits();
        // Groups of four `+0.0` (which the vector folds count without
        // arithmetic) beside a value of either sign, an undefined one, a
        // `-0.0`, and nothing.
        let fixed = [
            vec![0.0, 0.0, 0.0, 0.0, 0.5],
            vec![0.0, 0.0, 0.0, 0.0, -0.5],
            vec![0.0, 0.0, 0.0, 0.0, f64::NAN],
            vec![0.0, 0.0, 0.0, 0.0, -0.0],
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, f64::NAN],
            vec![0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ];
        // The last 500 random batches are mostly `+0.0`, in runs of every
        // length, so the skipped groups sit among the others.
        let random = (0..2500).map(|k| {
            let len = if k < 65 { k } else { rng.random_range(0..=64) };
            let zeros = rng.random_bool(0.1);
            let mostly_zeros = k >= 2000;
            (0..len)
                .map(|_| match rng.random_range(0..10) {
                    _ if mostly_zeros && rng.random_bool(0.8) => 0.0,
                    0 => f64::NAN,
                    1 if zeros => [0.0, -0.0][rng.random_range(0..2)],
                    1 => [lo, hi, 0.0005, -0.0015, 1.0, 0.5][rng.random_range(0..6)],
                    2 => rng.random_range(lo..=hi) * 1.5,
                    3 => hi * rng.random::<f64>().powi(40),
                    4 => lo * rng.random::<f64>().powi(7),
                    5 => f64::from_bits(rng.random_range(0..u64::MAX)),
                    6 => (rng.random_range(-1000..=1000) as f64 + 0.5) / 1000.0,
                    _ => rng.random_range(lo..=hi),
                })
                .collect::<Vec<f64>>()
        });
        fixed.into_iter().chain(random).collect()
    }

    #[test]
    fn zero_extremes_do_not_depend_on_order() {
        // Min and max of zeros of both signs, however the values arrive:
        // one by one, in a batch (either fold) or merged from parts.
        let binning = Binning::SignedUnit;
        let mut batches = Vec::new();
        for values in [[0.0, -0.0, 0.5], [-0.0, 0.0, 0.5], [0.5, -0.0, 0.0]] {
            let mut counts = vec![0u16; binning.bins()];
            batches.push(fold(&values, &mut counts, binning));
            let mut counts = vec![0u16; binning.bins()];
            batches.push(scalar_fold(&values, &mut counts, binning));
            let mut added = Moments::default();
            values.iter().for_each(|&x| added.add(x, binning));
            batches.push(added);
        }
        let negative = [-0.0, -0.0];
        let mut counts = vec![0u16; binning.bins()];
        let (mut left, mut right) = (fold(&negative, &mut counts, binning), Moments::default());
        right.add(0.0, binning);
        let right_first = {
            let mut m = right;
            m.merge(&left);
            m
        };
        left.merge(&right);
        batches.extend([left, right_first]);
        for m in &batches {
            assert_eq!(m.min.to_bits(), (-0.0f64).to_bits(), "{m:?}");
        }
        for m in &batches[..9] {
            assert_eq!(m.max, 0.5, "{m:?}");
        }
        for m in &batches[9..] {
            assert_eq!(m.max.to_bits(), 0.0f64.to_bits(), "{m:?}");
        }
    }

    #[test]
    fn batches_of_zeros_fold_like_any_other() {
        for binning in BINNINGS {
            for len in 0..=64 {
                // All +0.0 takes the shortcut; one -0.0 among them does not.
                let mut with_negative = vec![0.0; len];
                if let Some(first) = with_negative.first_mut() {
                    *first = -0.0;
                }
                for values in [vec![0.0; len], with_negative] {
                    let mut counts = vec![0u16; binning.bins()];
                    let folded = fold(&values, &mut counts, binning);
                    let mut expected_counts = vec![0u16; binning.bins()];
                    let expected = scalar_fold(&values, &mut expected_counts, binning);
                    let what = format!("{binning:?} {values:?}");
                    assert_same_fold((&folded, &counts), (&expected, &expected_counts), &what);
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_folds_give_the_scalar_folds_bits() {
        if !avx2::available() {
            eprintln!("no AVX2 here: the vector folds are not used, nothing to compare");
            return;
        }
        for binning in BINNINGS {
            for values in awkward_batches(binning) {
                let mut scalar_counts = vec![0u16; binning.bins()];
                let scalar = scalar_fold(&values, &mut scalar_counts, binning);
                let mut vector_counts = vec![0u16; binning.bins()];
                // `fold` chooses the vector fold on this processor.
                let vector = fold(&values, &mut vector_counts, binning);
                let what = format!("{binning:?} {values:?}");
                assert_same_fold((&vector, &vector_counts), (&scalar, &scalar_counts), &what);
            }
        }
    }

    #[test]
    fn folded_differences_equal_the_fold_of_the_subtracted_batch() {
        // The fused subtraction (AVX2 where there is one) against
        // subtracting first and folding the row, on pairs of awkward
        // batches (NaN, both zeros, limits, random bits) of every length.
        // 49 pairs of special values, each against each (70 in all, so
        // the remainder is reached), then pairs of awkward batches.
        let special = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-310,
            0.5,
        ];
        let a: Vec<f64> = (0..70).map(|k| special[k % 7]).collect();
        let b: Vec<f64> = (0..70).map(|k| special[(k / 7) % 7]).collect();
        let specials = [
            (a[..64].to_vec(), b[..64].to_vec()),
            (a[64..].to_vec(), b[64..].to_vec()),
        ];
        for binning in BINNINGS {
            let batches = awkward_batches(binning);
            let awkward = batches.iter().zip(batches.iter().skip(1));
            let pairs = specials.iter().map(|(a, b)| (a, b)).chain(awkward);
            for (a, b) in pairs {
                let len = a.len().min(b.len());
                let (a, b) = (&a[..len], &b[..len]);
                let mut fused_counts = vec![0u16; binning.bins()];
                let fused = fold_difference(a, b, &mut fused_counts, binning);
                let row: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
                let mut counts = vec![0u16; binning.bins()];
                let folded = scalar_fold(&row, &mut counts, binning);
                let what = format!("{binning:?} {a:?} {b:?}");
                assert_same_fold((&fused, &fused_counts), (&folded, &counts), &what);
            }
        }
    }

    #[test]
    fn positive_folds_at_the_limits_equal_value_by_value_adds() {
        let big = [POSITIVE_LIMIT; 64];
        let mut counts = vec![0u16; POSITIVE_BINS];
        let mut one_by_one = Moments::default();
        big.iter()
            .for_each(|&x| one_by_one.add(x, Binning::Positive));
        assert_eq!(fold(&big, &mut counts, Binning::Positive), one_by_one);
        let mixed: Vec<f64> = (0..64).map(|i| (i as f64 * 1.37).powi(5) - 3e4).collect();
        let mut counts = vec![0u16; Binning::SignedPositive.bins()];
        let mut one_by_one = Moments::default();
        mixed
            .iter()
            .for_each(|&x| one_by_one.add(x, Binning::SignedPositive));
        assert_eq!(
            fold(&mixed, &mut counts, Binning::SignedPositive),
            one_by_one
        );
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
    fn signed_bins_mirror_their_unsigned_ones() {
        for binning in [Binning::SignedUnit, Binning::SignedPositive] {
            let mut last = 0;
            for i in -2000..=2000 {
                let x = i as f64
                    * if binning == Binning::SignedUnit {
                        0.0005
                    } else {
                        7.3
                    };
                let b = binning.bin(x);
                assert!(b >= last, "{binning:?} bins are monotone at {x}");
                last = b;
                let v = binning.value(b);
                assert!(v.signum() * x.signum() >= 0.0, "{x} -> {v}");
                assert_eq!(binning.value(binning.bin(-x)), -v);
            }
            assert_eq!(binning.value(binning.bin(0.0)), 0.0);
            assert!(binning.bin(binning.limits().1) < binning.bins());
        }
        assert_eq!(
            Binning::SignedUnit.value(Binning::SignedUnit.bin(-0.23)),
            -0.23
        );
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
        // Skewed values in [0, 1], their differences, and log-normal-ish positive values.
        let unit: Vec<f64> = (0..5000)
            .map(|i| ((i as f64 * 0.618034) % 1.0).powi(3))
            .collect();
        let signed: Vec<f64> = unit.iter().map(|x| x - 0.3).collect();
        let positive: Vec<f64> = (0..5000)
            .map(|i| (((i as f64 * 0.414213) % 1.0) * 9.0).exp())
            .collect();
        let cases = [
            (unit, Binning::Unit),
            (signed, Binning::SignedUnit),
            (positive, Binning::Positive),
        ];
        for (mut values, binning) in cases {
            let mut bins = vec![0u64; binning.bins()];
            let mut m = Moments::default();
            for &x in &values {
                bins[binning.bin(x)] += 1;
                m.add(x, binning);
            }
            for percent in [1, 5, 25, 50, 75, 95, 99, 100] {
                let exact = exact_percentile(&mut values, percent);
                let sketch = binned_percentile(&bins, &m, percent, binning).unwrap();
                let error = (sketch - exact).abs();
                match binning {
                    Binning::Positive => {
                        assert!(error / exact <= POSITIVE_RELATIVE_ERROR, "p{percent}")
                    }
                    _ => assert!(
                        error <= UNIT_BIN_WIDTH / 2.0 + 1e-12,
                        "{binning:?} p{percent}"
                    ),
                }
            }
        }
    }
}
