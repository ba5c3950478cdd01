//! Summaries of a weighted sample of parameter vectors (an ABC population):
//! [`Posterior`] (weighted means, standard deviations, 5/50/95% quantiles,
//! correlation matrix), [`weighted_quantile`] and
//! [`effective_sample_size`].
//!
//! Weights are importance weights normalised to sum to 1. Moments are the
//! weighted sample moments `sum w x` and `sum w (x - mean)^2` (no small-sample
//! correction: a population's effective size is reported beside them, and is
//! what to judge their precision by). Quantiles interpolate linearly between
//! the sorted values placed at the midpoints of their cumulative weights, the
//! convention of pyabc's `weighted_quantile` (for equal weights and `n`
//! values, the `k`-th smallest sits at `(k - 1/2) / n`), so the median of an
//! even number of equally weighted values is the mean of the middle two.

/// The `alpha`-quantile of `values` weighted by `weights` (see the module
/// documentation for the convention). `alpha` outside `[0, 1]` is clamped.
/// Returns NaN for an empty input or weights that do not sum to a positive
/// number.
pub fn weighted_quantile(values: &[f64], weights: &[f64], alpha: f64) -> f64 {
    let n = values.len().min(weights.len());
    let total: f64 = weights[..n].iter().sum();
    if n == 0 || total.is_nan() || total <= 0.0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..n).collect();
    // A stable sort on a total order: ties keep their input order, so the
    // result does not depend on anything but the inputs.
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let alpha = alpha.clamp(0.0, 1.0);
    let mut cumulative = 0.0;
    let mut previous: Option<(f64, f64)> = None; // (position, value)
    for &i in &order {
        let w = weights[i] / total;
        let position = cumulative + 0.5 * w;
        cumulative += w;
        if alpha <= position {
            return match previous {
                None => values[i],
                Some((p0, v0)) if position > p0 => {
                    v0 + (values[i] - v0) * (alpha - p0) / (position - p0)
                }
                Some(_) => values[i],
            };
        }
        previous = Some((position, values[i]));
    }
    values[order[n - 1]]
}

/// Kish's effective sample size `(sum w)^2 / sum w^2`: `n` for equal weights,
/// 1 when one particle carries all the weight.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let sum: f64 = weights.iter().sum();
    let sum_sq: f64 = weights.iter().map(|w| w * w).sum();
    if sum_sq > 0.0 {
        sum * sum / sum_sq
    } else {
        0.0
    }
}

/// Weighted summaries of a population, one entry per parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// Parameter names.
    pub names: Vec<String>,
    /// Weighted means.
    pub mean: Vec<f64>,
    /// Weighted standard deviations.
    pub sd: Vec<f64>,
    /// 5% quantiles.
    pub q05: Vec<f64>,
    /// Medians.
    pub q50: Vec<f64>,
    /// 95% quantiles.
    pub q95: Vec<f64>,
    /// Weighted correlation matrix, `correlation[k][l]`; 1 on the diagonal,
    /// and 0 off it for a parameter whose standard deviation is 0.
    pub correlation: Vec<Vec<f64>>,
    /// Effective sample size of the weights.
    pub ess: f64,
}

impl Posterior {
    /// Summarises `particles` (row-major, `weights.len()` rows of
    /// `names.len()` values) weighted by `weights`. Rows beyond the shorter
    /// of the two are ignored; with none, the summaries are NaN.
    pub fn new(names: &[String], particles: &[f64], weights: &[f64]) -> Posterior {
        let d = names.len();
        let n = particles
            .len()
            .checked_div(d)
            .map_or(0, |rows| rows.min(weights.len()));
        let weights = &weights[..n];
        let total: f64 = weights.iter().sum();
        let w: Vec<f64> = weights.iter().map(|x| x / total).collect();
        let column = |k: usize| -> Vec<f64> { (0..n).map(|i| particles[i * d + k]).collect() };
        let mean: Vec<f64> = (0..d)
            .map(|k| (0..n).map(|i| w[i] * particles[i * d + k]).sum())
            .collect();
        let mut cov = vec![vec![0.0; d]; d];
        for (k, row) in cov.iter_mut().enumerate() {
            for (l, c) in row.iter_mut().enumerate() {
                *c = (0..n)
                    .map(|i| {
                        w[i] * (particles[i * d + k] - mean[k]) * (particles[i * d + l] - mean[l])
                    })
                    .sum();
            }
        }
        let sd: Vec<f64> = (0..d).map(|k| cov[k][k].max(0.0).sqrt()).collect();
        let correlation = (0..d)
            .map(|k| {
                (0..d)
                    .map(|l| {
                        if k == l {
                            1.0
                        } else if sd[k] > 0.0 && sd[l] > 0.0 {
                            (cov[k][l] / (sd[k] * sd[l])).clamp(-1.0, 1.0)
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let quantile = |alpha: f64| -> Vec<f64> {
            (0..d)
                .map(|k| weighted_quantile(&column(k), &w, alpha))
                .collect()
        };
        Posterior {
            names: names.to_vec(),
            q05: quantile(0.05),
            q50: quantile(0.5),
            q95: quantile(0.95),
            mean,
            sd,
            correlation,
            ess: effective_sample_size(&w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_midpoint_convention() {
        let v = [3.0, 1.0, 4.0, 2.0];
        let eq = [1.0; 4];
        // Sorted 1, 2, 3, 4 at positions 1/8, 3/8, 5/8, 7/8.
        assert_eq!(weighted_quantile(&v, &eq, 0.5), 2.5);
        assert_eq!(weighted_quantile(&v, &eq, 0.05), 1.0);
        assert_eq!(weighted_quantile(&v, &eq, 0.25), 1.5);
        assert_eq!(weighted_quantile(&v, &eq, 0.99), 4.0);
        // Weights 1/4 and 3/4: positions 1/8 and 5/8, so the median is
        // 1 + (0.5 - 0.125) / 0.5 = 1.75.
        assert_eq!(weighted_quantile(&[2.0, 1.0], &[3.0, 1.0], 0.5), 1.75);
        assert!(weighted_quantile(&[], &[], 0.5).is_nan());
        assert!(weighted_quantile(&[1.0], &[0.0], 0.5).is_nan());
    }

    #[test]
    fn moments_and_correlation_of_a_small_weighted_sample() {
        // Points (0, 0) w 1/2, (2, 2) w 1/4, (2, -2) w 1/4: mean (1, 0);
        // var x = 1/2 + 1/4 + 1/4 = 1; var y = 0 + 1 + 1 = 2; cov = 0 + 1/2
        // - 1/2 = 0.
        let names = vec!["x".to_string(), "y".to_string()];
        let p = [0.0, 0.0, 2.0, 2.0, 2.0, -2.0];
        let post = Posterior::new(&names, &p, &[2.0, 1.0, 1.0]);
        assert_eq!(post.mean, [1.0, 0.0]);
        assert_eq!(post.sd, [1.0, 2f64.sqrt()]);
        assert_eq!(post.correlation, [[1.0, 0.0], [0.0, 1.0]]);
        assert_eq!(post.ess, 1.0 / (0.25 + 0.0625 + 0.0625));
        // Perfectly correlated points.
        let p = [0.0, 1.0, 1.0, 3.0, 2.0, 5.0];
        let post = Posterior::new(&names, &p, &[1.0, 1.0, 1.0]);
        assert!((post.correlation[0][1] - 1.0).abs() < 1e-12);
        assert_eq!((post.q50[0], post.q50[1]), (1.0, 3.0));
        // A constant parameter has no correlation with anything.
        let p = [0.0, 7.0, 1.0, 7.0];
        let post = Posterior::new(&names, &p, &[1.0, 1.0]);
        assert_eq!(post.correlation[0][1], 0.0);
        assert_eq!(effective_sample_size(&[0.5, 0.5]), 2.0);
    }
}
