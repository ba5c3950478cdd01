//! The hyperbolic tangent, bit for bit as glibc 2.36 computes it on x86-64
//! with FMA and AVX2: fdlibm's `tanh` (Sun Microsystems; glibc's generic
//! build, whose own arithmetic is unfused) over fdlibm's `expm1` as glibc
//! carries it (Naohiko Shimizu's regrouped polynomial), with the
//! multiply-adds that GCC fused in glibc's FMA build of `expm1` (Debian
//! 12's) fused here too and the rest left apart. Checked against that
//! build's machine code and, in the tests below, against its results.
//!
//! Why the engine does not call `f64::tanh`: as with [`super::exp`], glibc
//! picks one of several builds of `expm1` by processor and the unfused ones
//! round differently, so a run's bits could depend on the machine. Here they
//! depend only on IEEE arithmetic and a correctly rounded `mul_add`. On the
//! machines armsim's golden values come from (x86-64, glibc) the bits are
//! glibc's, so no golden value moves; the call also skips glibc's two calls
//! (`tanh`, then `expm1` through the PLT).
//!
//! `tanh x = sign(x) (1 - 2 / (expm1(2|x|) + 2))` for `|x| >= 1` and
//! `sign(x) (-t / (t + 2))` with `t = expm1(-2|x|)` below; `expm1` reduces
//! `x = k ln2 + r` and approximates `expm1(r)` by a rational function of a
//! degree-5 polynomial in `r^2 / 2` (fdlibm's `s_expm1.c` explains it).

/// `ln 2`, split into a head whose products with small integers are exact
/// and a tail.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// `1 / ln 2`.
const INV_LN2: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
/// Largest argument whose `expm1` is finite.
const O_THRESHOLD: f64 = f64::from_bits(0x4086_2e42_fefa_39ef);
/// fdlibm's `tiny` (1e-300): `TINY - 1.0` is -1 with the inexact flag.
const TINY: f64 = 1.0e-300;
/// The polynomial's scaled coefficients `Q1` to `Q5`.
const Q1: f64 = f64::from_bits(0xbfa1_1111_1111_10f4);
const Q2: f64 = f64::from_bits(0x3f5a_01a0_19fe_5585);
const Q3: f64 = f64::from_bits(0xbf14_ce19_9eaa_dbb7);
const Q4: f64 = f64::from_bits(0x3ed0_cfca_86e6_5239);
const Q5: f64 = f64::from_bits(0xbe8a_fdb7_6e09_c32d);

fused! {
    /// `tanh x`, as glibc 2.36 returns it on x86-64 with FMA and AVX2, bit
    /// for bit.
    tanh = tanh_with_mul_add
}

/// fdlibm's `tanh`; its own arithmetic is unfused, as in glibc's build.
#[inline(always)]
pub(super) fn tanh_with_mul_add(x: f64) -> f64 {
    let bits = x.to_bits();
    let high = (bits >> 32) as u32;
    let negative = high >> 31 == 1;
    let ix = high & 0x7fff_ffff;
    if ix >= 0x7ff0_0000 {
        // tanh(+-inf) = +-1; NaN propagates.
        return if negative {
            1.0 / x - 1.0
        } else {
            1.0 / x + 1.0
        };
    }
    let z = if ix < 0x4036_0000 {
        // |x| < 22.
        if bits << 1 == 0 {
            return x; // +-0
        }
        if ix < 0x3c80_0000 {
            // |x| < 2^-55: x (1 + x) rounds as tanh x does.
            return x * (1.0 + x);
        }
        let a = x.abs();
        if ix >= 0x3ff0_0000 {
            let t = expm1_with_mul_add(a + a);
            1.0 - 2.0 / (t + 2.0)
        } else {
            let t = expm1_with_mul_add(-2.0 * a);
            -t / (t + 2.0)
        }
    } else {
        // |x| >= 22: 1, rounded (and inexact).
        1.0 - TINY
    };
    if negative { -z } else { z }
}

/// `e^x - 1`, as glibc 2.36's FMA build of `expm1` returns it, bit for bit
/// (without its `errno`): fdlibm's algorithm with GCC's fusions.
#[inline(always)]
fn expm1_with_mul_add(x: f64) -> f64 {
    let bits = x.to_bits();
    let high = (bits >> 32) as u32;
    let negative = high >> 31 == 1;
    let hx = high & 0x7fff_ffff;
    if hx >= 0x4043_687a {
        // |x| >= 56 ln 2.
        if hx >= 0x4086_2e42 {
            if hx >= 0x7ff0_0000 {
                if (hx & 0xf_ffff) | bits as u32 != 0 {
                    return x + x; // NaN
                }
                return if negative { -1.0 } else { x }; // +-inf
            }
            if x > O_THRESHOLD {
                return f64::INFINITY; // overflow
            }
        }
        if negative {
            return TINY - 1.0; // -1, inexact
        }
    }
    // Argument reduction: x = k ln2 + r + c, |r| <= ln2 / 2.
    let (k, r, c) = if hx > 0x3fd6_2e42 {
        // |x| > ln2 / 2.
        let (k, hi, lo) = if hx < 0x3ff0_a2b2 {
            // and |x| < 1.5 ln2.
            if negative {
                (-1, x + LN2_HI, -LN2_LO)
            } else {
                (1, x - LN2_HI, LN2_LO)
            }
        } else {
            // Unfused in glibc's build: a product, then a sum.
            let half = if negative { -0.5 } else { 0.5 };
            let k = (INV_LN2 * x + half) as i32;
            let t = k as f64;
            (k, (-t).mul_add(LN2_HI, x), t * LN2_LO)
        };
        let r = hi - lo;
        (k, r, (hi - r) - lo)
    } else if hx < 0x3c90_0000 {
        return x; // |x| < 2^-54
    } else {
        (0, x, 0.0)
    };
    let x = r;
    let hfx = 0.5 * x;
    let hxs = x * hfx;
    let r1 = hxs.mul_add(Q1, 1.0);
    let h2 = hxs * hxs;
    let r2 = hxs.mul_add(Q3, Q2);
    let h4 = h2 * h2;
    let r3 = hxs.mul_add(Q5, Q4);
    let r1 = h4.mul_add(r3, h2.mul_add(r2, r1));
    let t = (-r1).mul_add(hfx, 3.0);
    let e = hxs * ((r1 - t) / (-x).mul_add(t, 6.0));
    if k == 0 {
        return x - e.mul_add(x, -hxs);
    }
    let e = (e - c).mul_add(x, -c) - hxs;
    match k {
        -1 => return (x - e).mul_add(0.5, -0.5),
        1 if x < -0.25 => return -2.0 * (e - (x + 0.5)),
        1 => return (x - e).mul_add(2.0, 1.0),
        _ => {}
    }
    // Adds k to y's binary exponent.
    let scale = |y: f64| {
        let high = ((y.to_bits() >> 32) as u32).wrapping_add((k as u32) << 20);
        f64::from_bits((u64::from(high) << 32) | (y.to_bits() & 0xffff_ffff))
    };
    if k <= -2 || k > 56 {
        return scale(1.0 - (e - x)) - 1.0;
    }
    if k < 20 {
        // 1 - 2^-k, less the error term.
        let t = f64::from_bits(u64::from(0x3ff0_0000u32 - (0x20_0000u32 >> k)) << 32);
        scale(t - (e - x))
    } else {
        let t = f64::from_bits(u64::from((0x3ff - k as u32) << 20) << 32); // 2^-k
        scale((x - (e + t)) + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::libm_check::assert_same;
    #[cfg(target_arch = "x86_64")]
    use super::super::libm_check::{glibc_fma_build, inputs};
    use super::*;

    /// Inputs at and around `expm1`'s branches (each range of `k`, the
    /// reduction's cut-offs, the tiny and huge ones) and `tanh`'s (zero,
    /// 2^-55, 1, 22), with infinities and NaN.
    fn edges() -> Vec<f64> {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            f64::from_bits(0x3c80_0000_0000_0000), // 2^-55
            f64::from_bits(0x3c7f_ffff_ffff_ffff),
            f64::from_bits(0x3c90_0000_0000_0000), // 2^-54
            f64::from_bits(0x3c8f_ffff_ffff_ffff),
            22.0,
            -22.0,
            21.999_999_999_999_996,
            38.816_242_111_356_935, // 56 ln 2
            -38.816_242_111_356_935,
            709.782_712_893_383_9,
            709.782_712_893_384,
            709.782_712_893_385,
            -709.8,
            -745.2,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        // Each k from -60 to 60, with r at both ends of its interval, and
        // the half and 1.5 ln 2 cut-offs.
        for k in -120..=120 {
            let x = k as f64 * std::f64::consts::LN_2 / 2.0;
            xs.extend([x, x.next_up(), x.next_down(), x + 0.01, x - 0.01]);
        }
        for x in [0.25f64, 0.5, 1.0, 2.0] {
            xs.extend([
                x,
                -x,
                x.next_up(),
                x.next_down(),
                -x.next_up(),
                -x.next_down(),
            ]);
        }
        xs
    }

    /// Bit for bit the platform's `tanh` and `expm1`, where `expm1` is
    /// glibc's FMA build.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn matches_glibc_bit_for_bit() {
        if !glibc_fma_build() {
            return;
        }
        for x in inputs(edges(), 23, [-1.0..1.0, -25.0..25.0, -60.0..720.0]) {
            assert_same("tanh", x, tanh(x), x.tanh());
            // SAFETY: the processor fuses multiply-add (checked above).
            assert_same("expm1", x, unsafe { expm1_fma(x) }, x.exp_m1());
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "fma")]
    unsafe fn expm1_fma(x: f64) -> f64 {
        expm1_with_mul_add(x)
    }

    /// The software path (`mul_add` emulated where the processor cannot
    /// fuse) rounds as the fused one, and values every platform must give,
    /// from glibc 2.36 on x86-64 with FMA: one in each of `tanh`'s and
    /// `expm1`'s branches, and four that an unfused `expm1` (glibc's
    /// build for processors without FMA) gets wrong by an ulp or two.
    #[test]
    fn fused_and_emulated_agree_and_known_values_hold() {
        for x in edges() {
            assert_same("tanh", x, tanh(x), tanh_with_mul_add(x));
        }
        let known: [(f64, u64); 16] = [
            (0.0, 0x0000_0000_0000_0000),
            (-0.0, 0x8000_0000_0000_0000),
            (1e-17, 0x3c67_0ef5_4646_d497),
            (0.1, 0x3fb9_83d7_795f_413a),
            (-0.3, 0xbfd2_a4dd_a7d9_14fa),
            (0.6, 0x3fe1_2f82_92d2_ccfc),
            (-0.9, 0xbfe6_ebe9_82d6_605d),
            (1.5, 0x3fec_f6f9_786d_f577),
            (-7.25, 0xbfef_fffd_e276_0a41),
            (21.9, 0x3ff0_0000_0000_0000),
            (30.0, 0x3ff0_0000_0000_0000),
            (f64::NEG_INFINITY, 0xbff0_0000_0000_0000),
            // Where an unfused expm1 rounds differently (k = 0, -1, 3).
            (-0.090_586_053_622_445_53, 0xbfb7_2076_5ccf_b337),
            (0.153_359_328_527_252_31, 0x3fc3_7a3f_bc0d_0c37),
            (-0.488_387_443_466_863_1, 0xbfdc_fce5_b94f_cc39),
            (-1.149_892_558_224_517_6, 0xbfea_2abf_f309_fb5a),
        ];
        for (x, bits) in known {
            assert_eq!(
                tanh(x).to_bits(),
                bits,
                "tanh({x}) = {:#x}",
                tanh(x).to_bits()
            );
        }
    }
}
