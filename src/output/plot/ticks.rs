//! Axis ranges and tick labels: padded "nice" ranges that keep lines at the
//! edge of the data visible, and labels with as many decimals as the tick
//! spacing needs (the same 1-2-5 spacing plotters chooses).

use super::Format;

/// The tick spacing plotters uses for `max_points` ticks over `[lo, hi]`:
/// the smallest of 1, 2 or 5 times a power of ten that gives at most
/// `max_points` ticks.
pub(crate) fn step(lo: f64, hi: f64, max_points: usize) -> f64 {
    let span = (hi - lo).abs();
    if !span.is_finite() || span <= 0.0 {
        return 1.0;
    }
    let max_points = max_points.max(2) as f64;
    let mut k = span.log10().ceil() as i32 + 1;
    let count = |s: f64| (hi / s).floor() - (lo / s).ceil() + 1.0;
    let mut best = 10f64.powi(k);
    // Walk down 5, 2, 1 x 10^(k-1) until the next step gives too many ticks.
    while k > -300 {
        for m in [5.0, 2.0, 1.0] {
            let s = m * 10f64.powi(k - 1);
            if count(s) > max_points {
                return best;
            }
            best = s;
        }
        k -= 1;
    }
    best
}

/// A whole number with thousands separators: -12345 is "-12,345".
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    if value < 0.0 && digits != "0" {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Decimals needed to write multiples of `step` exactly.
fn decimals(step: f64) -> usize {
    let mut d = 0;
    while d < 8 {
        let scaled = step * 10f64.powi(d as i32);
        if (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0) {
            break;
        }
        d += 1;
    }
    d
}

/// A tick label for `value` on an axis whose ticks are `step` apart, with a
/// typographic minus sign.
pub(crate) fn label(value: f64, step: f64, format: Format) -> String {
    // Avoid "-0".
    let value = if value.abs() < step * 1e-9 {
        0.0
    } else {
        value
    };
    plain(value, step, format).replacen('-', "\u{2212}", 1)
}

/// The same with a plus sign on positive values (differences).
pub(crate) fn signed_label(value: f64, step: f64, format: Format) -> String {
    let text = label(value, step, format);
    if value > step * 1e-9 && !text.is_empty() {
        format!("+{text}")
    } else {
        text
    }
}

fn plain(value: f64, step: f64, format: Format) -> String {
    match format {
        Format::Percent => {
            let d = decimals(step * 100.0);
            format!("{:.*}%", d, value * 100.0)
        }
        Format::Integer => grouped(value.round()),
        Format::Year => {
            if (value - value.round()).abs() < 1e-9 {
                format!("{:.0}", value)
            } else {
                String::new()
            }
        }
        Format::Auto => {
            let d = decimals(step);
            format!("{value:.d$}")
        }
    }
}

/// A range covering `[lo, hi]` padded by `pad` of its span on each side
/// (so a line on the edge is not cut in half), never degenerate, never
/// non-finite.
pub(crate) fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let (lo, hi) = match (lo.is_finite(), hi.is_finite()) {
        (true, true) if lo <= hi => (lo, hi),
        (true, true) => (hi, lo),
        (true, false) => (lo, lo),
        (false, true) => (hi, hi),
        (false, false) => (0.0, 1.0),
    };
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(1.0) {
        let half = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        return (lo - half, hi + half);
    }
    (lo - span * pad, hi + span * pad)
}

/// Minimum and maximum of the finite values, if any.
pub(crate) fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// The y range of a chart of shares, stances and other quantities that live
/// in [0, 1]: from 0 (or the data's minimum if below) to the data's maximum
/// rounded up to a tenth, at most 1, then padded.
pub(crate) fn unit_range(lo: f64, hi: f64) -> (f64, f64) {
    let top = ((hi * 1.05 / 0.1).ceil() * 0.1).clamp(0.1, 1.0).max(hi);
    let bottom = lo.min(0.0);
    padded(bottom, top, 0.02)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_one_two_five() {
        assert_eq!(step(0.0, 1.0, 11), 0.1);
        assert_eq!(step(0.0, 1.0, 6), 0.2);
        assert_eq!(step(0.0, 1.0, 3), 0.5);
        assert_eq!(step(2021.0, 2030.75, 11), 1.0);
        assert_eq!(step(0.0, 250.0, 6), 50.0);
        assert!((step(-0.03, 0.07, 11) - 0.01).abs() < 1e-15);
    }

    #[test]
    fn labels_carry_the_decimals_the_step_needs() {
        assert_eq!(label(0.3, 0.1, Format::Percent), "30%");
        assert_eq!(label(0.025, 0.005, Format::Percent), "2.5%");
        assert_eq!(label(0.30000000000000004, 0.1, Format::Auto), "0.3");
        assert_eq!(label(0.25, 0.05, Format::Auto), "0.25");
        assert_eq!(label(-1e-17, 0.1, Format::Auto), "0.0");
        assert_eq!(label(2025.0, 1.0, Format::Year), "2025");
        assert_eq!(label(2025.5, 0.5, Format::Year), "");
        assert_eq!(label(12345.4, 1000.0, Format::Integer), "12,345");
        assert_eq!(label(-1500.0, 500.0, Format::Integer), "\u{2212}1,500");
        assert_eq!(label(-0.1, 0.1, Format::Percent), "\u{2212}10%");
        assert_eq!(signed_label(0.1, 0.1, Format::Percent), "+10%");
        assert_eq!(signed_label(0.0, 0.1, Format::Percent), "0%");
    }

    #[test]
    fn ranges_are_padded_and_never_degenerate() {
        assert_eq!(padded(0.0, 1.0, 0.1), (-0.1, 1.1));
        let (lo, hi) = padded(2.0, 2.0, 0.1);
        assert!(lo < 2.0 && hi > 2.0);
        assert_eq!(padded(f64::NAN, f64::INFINITY, 0.1), (-0.1, 1.1));
        let (lo, hi) = unit_range(0.0, 1.0);
        assert!(lo < 0.0 && hi > 1.0 && hi < 1.05);
        let (_, hi) = unit_range(0.0, 0.42);
        assert!((hi - 0.51).abs() < 1e-9, "{hi}");
        assert_eq!(extent([f64::NAN, 3.0, -1.0]), Some((-1.0, 3.0)));
        assert_eq!(extent([f64::NAN]), None);
    }
}
