//! Scoring rules: how far a forecast is from what happened.
//!
//! A model forecast is an *ensemble*, one value per Monte Carlo run; a naive
//! baseline is a single value. Both are scored by the continuous ranked
//! probability score (CRPS), which for a point forecast is its absolute
//! error, so model and baselines are on one scale:
//!
//! ```text
//! CRPS(F, y) = ∫ (F(z) - 1{z >= y})² dz = E|X - y| - ½ E|X - X'|
//! ```
//!
//! with `X, X'` independent draws from `F`; for an ensemble, `F` is its
//! empirical distribution (the estimator of Gneiting and Raftery 2007, as
//! `properscoring.crps_ensemble` computes it). [`Ensemble`] sorts the runs
//! once and computes it in O(n). Lower is better; 0 is a perfect, certain
//! forecast. [`skill`] turns two scores into `1 - model / baseline`.

/// A forecast as the sorted values of its runs (runs where the forecast
/// quantity is undefined, NaN, are left out).
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    sorted: Vec<f64>,
}

impl Ensemble {
    /// The ensemble of `values`, NaNs dropped.
    pub fn new(values: impl IntoIterator<Item = f64>) -> Ensemble {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        Ensemble { sorted }
    }

    /// Runs in the ensemble.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether no run defined the quantity.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The `p`-quantile (0 to 1), linearly interpolated between order
    /// statistics (Hyndman and Fan's type 7, R's and numpy's default); NaN
    /// for an empty ensemble.
    pub fn quantile(&self, p: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return f64::NAN;
        }
        let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        self.sorted[lo] + (h - lo as f64) * (self.sorted[hi] - self.sorted[lo])
    }

    /// The median.
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// The central interval holding `mass` of the ensemble (0.5 gives the
    /// 25th to 75th percentiles).
    pub fn interval(&self, mass: f64) -> (f64, f64) {
        let tail = (1.0 - mass) / 2.0;
        (self.quantile(tail), self.quantile(1.0 - tail))
    }

    /// Whether `y` lies within the central interval holding `mass`
    /// (bounds included).
    pub fn covers(&self, mass: f64, y: f64) -> bool {
        let (lo, hi) = self.interval(mass);
        lo <= y && y <= hi
    }

    /// The CRPS of the ensemble's empirical distribution at observation
    /// `y`; NaN for an empty ensemble.
    pub fn crps(&self, y: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return f64::NAN;
        }
        let nf = n as f64;
        let mut to_y = 0.0;
        // Sum over pairs of |x_i - x_j| = 2 sum_i (2i - n - 1) x_(i), i from 1.
        let mut spread = 0.0;
        for (i, &x) in self.sorted.iter().enumerate() {
            to_y += (x - y).abs();
            spread += (2.0 * (i as f64 + 1.0) - nf - 1.0) * x;
        }
        to_y / nf - spread / (nf * nf)
    }
}

/// The CRPS of a point forecast `x` (a distribution certain of `x`): the
/// absolute error.
pub fn crps_point(x: f64, y: f64) -> f64 {
    (x - y).abs()
}

/// Skill of a model's score against a baseline's, `1 - model / baseline`:
/// 1 for a perfect model, 0 for one no better than the baseline, negative
/// for a worse one; NaN when the baseline's score is 0 (a perfect baseline
/// leaves nothing to gain) or either is undefined.
pub fn skill(model: f64, baseline: f64) -> f64 {
    if baseline > 0.0 && model.is_finite() && baseline.is_finite() {
        1.0 - model / baseline
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{ContinuousCDF, Normal};

    /// CRPS of N(mu, sigma) at y, in closed form (Gneiting et al. 2005).
    fn crps_normal(mu: f64, sigma: f64, y: f64) -> f64 {
        let z = (y - mu) / sigma;
        let std = Normal::new(0.0, 1.0).unwrap();
        let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        sigma * (z * (2.0 * std.cdf(z) - 1.0) + 2.0 * pdf - 1.0 / std::f64::consts::PI.sqrt())
    }

    #[test]
    fn the_ensemble_crps_of_a_normal_forecast_is_the_closed_form() {
        // A large ensemble at the normal's quantiles (i - 1/2) / n is its
        // empirical distribution to within O(1/n).
        let (mu, sigma) = (0.3, 0.12);
        let normal = Normal::new(mu, sigma).unwrap();
        let n = 20_000;
        let ensemble =
            Ensemble::new((0..n).map(|i| normal.inverse_cdf((i as f64 + 0.5) / n as f64)));
        for y in [0.3, 0.35, 0.1, 0.8, -0.2] {
            let exact = crps_normal(mu, sigma, y);
            let got = ensemble.crps(y);
            assert!(
                (got - exact).abs() < 1e-4,
                "y {y}: {got} vs closed form {exact}"
            );
        }
    }

    #[test]
    fn the_ensemble_crps_is_the_integral_of_the_squared_cdf_difference() {
        // An independent route: integrate (F(z) - 1{z >= y})^2 numerically.
        let values = [0.05, 0.2, 0.2, 0.31, 0.6, 0.9];
        let ensemble = Ensemble::new(values);
        for y in [0.0, 0.25, 0.5, 1.2] {
            let (lo, hi, steps) = (-1.0, 2.0, 300_000);
            let dz = (hi - lo) / steps as f64;
            let integral: f64 = (0..steps)
                .map(|k| {
                    let z = lo + (k as f64 + 0.5) * dz;
                    let f = values.iter().filter(|&&x| x <= z).count() as f64 / values.len() as f64;
                    let step = if z >= y { 1.0 } else { 0.0 };
                    (f - step).powi(2) * dz
                })
                .sum();
            assert!((ensemble.crps(y) - integral).abs() < 1e-4, "y {y}");
        }
    }

    #[test]
    fn small_cases_by_hand() {
        // {0, 1} at 0.5: E|X - y| = 0.5, E|X - X'| = 0.5, CRPS 0.25.
        assert!((Ensemble::new([0.0, 1.0]).crps(0.5) - 0.25).abs() < 1e-15);
        // A one-member ensemble is a point forecast.
        assert_eq!(Ensemble::new([0.4]).crps(0.1), crps_point(0.4, 0.1));
        assert!((crps_point(0.4, 0.1) - 0.3).abs() < 1e-15);
        // NaNs are runs where the quantity is undefined.
        let e = Ensemble::new([f64::NAN, 2.0, 1.0, 3.0]);
        assert_eq!(e.len(), 3);
        assert_eq!(e.median(), 2.0);
        assert_eq!(e.quantile(0.25), 1.5);
        assert!(Ensemble::new([f64::NAN]).crps(0.0).is_nan());
    }

    #[test]
    fn the_crps_rewards_sharp_and_correct_forecasts() {
        let sharp = Ensemble::new([0.49, 0.5, 0.51]);
        let wide = Ensemble::new([0.1, 0.5, 0.9]);
        let wrong = Ensemble::new([0.79, 0.8, 0.81]);
        assert!(sharp.crps(0.5) < wide.crps(0.5));
        assert!(wide.crps(0.5) < wrong.crps(0.5));
    }

    #[test]
    fn intervals_and_coverage() {
        let e = Ensemble::new((0..=100).map(|i| i as f64 / 100.0));
        assert_eq!(e.interval(0.5), (0.25, 0.75));
        let (lo, hi) = e.interval(0.9);
        assert!((lo - 0.05).abs() < 1e-12 && (hi - 0.95).abs() < 1e-12);
        assert!(e.covers(0.5, 0.25) && e.covers(0.5, 0.75));
        assert!(!e.covers(0.5, 0.2) && e.covers(0.9, 0.2));
    }

    #[test]
    fn skill_against_a_baseline() {
        assert_eq!(skill(0.05, 0.1), 0.5);
        assert_eq!(skill(0.2, 0.1), -1.0);
        assert_eq!(skill(0.0, 0.1), 1.0);
        assert!(skill(0.1, 0.0).is_nan());
        assert!(skill(f64::NAN, 0.1).is_nan());
    }
}
