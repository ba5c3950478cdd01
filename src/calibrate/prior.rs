//! Prior distributions of calibrated parameters: [`Prior`] (uniform,
//! log-uniform, truncated normal) with validated constructors, densities and
//! sampling from an explicit RNG.
//!
//! The truncated normal is sampled exactly by rejection, choosing the proposal
//! by the truncation interval as in Robert (1995), "Simulation of truncated
//! normal variables", Statistics and Computing 5: a plain normal when the
//! interval holds much of the mass, a uniform over a short interval, and a
//! translated exponential for a tail. Each proposal is accepted with
//! probability above 0.04 in every case, so sampling ends after a few draws.

use rand::Rng;
use rand_distr::StandardNormal;

/// Truncated normals whose interval holds less mass than this are refused:
/// such a prior (more than about 6.4 standard deviations into a tail) is
/// almost surely a mistake, and its density's normalisation would lose
/// precision.
pub const MIN_TRUNCATED_MASS: f64 = 1e-10;

/// Why a prior could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PriorError {
    /// A parameter that must be finite is not.
    #[error("{what} is {value}, not a finite number")]
    NotFinite {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// The interval is empty (`hi <= lo`, or NaN bounds).
    #[error("the interval [{lo}, {hi}] is empty")]
    EmptyInterval {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// A log-uniform prior's lower bound is not positive.
    #[error("a log-uniform prior needs a positive lower bound, not {lo}")]
    NonPositiveLowerBound {
        /// Lower bound.
        lo: f64,
    },
    /// A normal's standard deviation is not positive.
    #[error("standard deviation {sd} is not positive")]
    NonPositiveSd {
        /// The standard deviation.
        sd: f64,
    },
    /// The truncation interval holds (almost) none of the normal's mass.
    #[error("[{lo}, {hi}] holds {mass:e} of the normal's mass, less than {MIN_TRUNCATED_MASS:e}")]
    NegligibleMass {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
        /// The mass it holds.
        mass: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Uniform {
        lo: f64,
        hi: f64,
    },
    LogUniform {
        lo: f64,
        hi: f64,
        ln_lo: f64,
        ln_hi: f64,
    },
    TruncatedNormal {
        mean: f64,
        sd: f64,
        lo: f64,
        hi: f64,
        /// Standardised bounds.
        a: f64,
        b: f64,
        /// The interval's mass, `Phi(b) - Phi(a)`.
        mass: f64,
    },
}

/// A prior distribution of one real parameter. Build it with
/// [`Prior::uniform`], [`Prior::log_uniform`] or [`Prior::truncated_normal`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    kind: Kind,
}

/// A named parameter and its prior.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorParam {
    /// The parameter's name (for the lead's CLI, a scenario path such as
    /// `buyer.beta_price`).
    pub name: String,
    /// Its prior.
    pub prior: Prior,
}

impl PriorParam {
    /// A parameter `name` with prior `prior`.
    pub fn new(name: impl Into<String>, prior: Prior) -> PriorParam {
        PriorParam {
            name: name.into(),
            prior,
        }
    }
}

fn finite(what: &'static str, value: f64) -> Result<(), PriorError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(PriorError::NotFinite { what, value })
    }
}

/// The standard normal density.
fn phi(x: f64) -> f64 {
    if x.is_infinite() {
        return 0.0;
    }
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// `Phi(b) - Phi(a)` for `a < b`, computed from the nearer tail so that far
/// tails keep their precision.
fn normal_mass(a: f64, b: f64) -> f64 {
    let r = std::f64::consts::FRAC_1_SQRT_2;
    if a > 0.0 {
        0.5 * (libm::erfc(a * r) - libm::erfc(b * r))
    } else if b < 0.0 {
        0.5 * (libm::erfc(-b * r) - libm::erfc(-a * r))
    } else {
        1.0 - 0.5 * (libm::erfc(-a * r) + libm::erfc(b * r))
    }
}

impl Prior {
    /// Uniform on `[lo, hi]`.
    ///
    /// # Errors
    /// [`PriorError::NotFinite`] or [`PriorError::EmptyInterval`].
    pub fn uniform(lo: f64, hi: f64) -> Result<Prior, PriorError> {
        finite("lower bound", lo)?;
        finite("upper bound", hi)?;
        if hi <= lo || !(hi - lo).is_finite() {
            return Err(PriorError::EmptyInterval { lo, hi });
        }
        Ok(Prior {
            kind: Kind::Uniform { lo, hi },
        })
    }

    /// Log-uniform on `[lo, hi]`: `ln x` uniform on `[ln lo, ln hi]`, density
    /// `1 / (x ln(hi / lo))`. For a positive parameter whose order of
    /// magnitude is unknown.
    ///
    /// # Errors
    /// [`PriorError::NotFinite`], [`PriorError::NonPositiveLowerBound`] or
    /// [`PriorError::EmptyInterval`].
    pub fn log_uniform(lo: f64, hi: f64) -> Result<Prior, PriorError> {
        finite("lower bound", lo)?;
        finite("upper bound", hi)?;
        if lo <= 0.0 {
            return Err(PriorError::NonPositiveLowerBound { lo });
        }
        if hi <= lo {
            return Err(PriorError::EmptyInterval { lo, hi });
        }
        Ok(Prior {
            kind: Kind::LogUniform {
                lo,
                hi,
                ln_lo: lo.ln(),
                ln_hi: hi.ln(),
            },
        })
    }

    /// A normal of `mean` and `sd` truncated to `[lo, hi]`; either bound may
    /// be infinite (`f64::NEG_INFINITY..f64::INFINITY` is the plain normal).
    ///
    /// # Errors
    /// [`PriorError::NotFinite`] (mean or sd), [`PriorError::NonPositiveSd`],
    /// [`PriorError::EmptyInterval`] or [`PriorError::NegligibleMass`] when
    /// the interval holds less than [`MIN_TRUNCATED_MASS`] of the normal.
    pub fn truncated_normal(mean: f64, sd: f64, lo: f64, hi: f64) -> Result<Prior, PriorError> {
        finite("mean", mean)?;
        finite("standard deviation", sd)?;
        if sd <= 0.0 {
            return Err(PriorError::NonPositiveSd { sd });
        }
        if lo.is_nan() || hi.is_nan() || hi <= lo || lo == f64::INFINITY || hi == f64::NEG_INFINITY
        {
            return Err(PriorError::EmptyInterval { lo, hi });
        }
        let (a, b) = ((lo - mean) / sd, (hi - mean) / sd);
        let mass = normal_mass(a, b);
        if mass.is_nan() || mass < MIN_TRUNCATED_MASS {
            return Err(PriorError::NegligibleMass { lo, hi, mass });
        }
        Ok(Prior {
            kind: Kind::TruncatedNormal {
                mean,
                sd,
                lo,
                hi,
                a,
                b,
                mass,
            },
        })
    }

    /// This prior restricted to `[lo, hi]` (intersected with its support)
    /// and renormalised: the same family on the narrower interval. History
    /// matching uses it to shrink a prior to the non-implausible box.
    ///
    /// # Errors
    /// Those of the family's constructor for the narrower interval
    /// ([`PriorError::EmptyInterval`] when it misses the support).
    pub fn restrict(&self, lo: f64, hi: f64) -> Result<Prior, PriorError> {
        let (old_lo, old_hi) = self.support();
        let (lo, hi) = (lo.max(old_lo), hi.min(old_hi));
        match self.kind {
            Kind::Uniform { .. } => Prior::uniform(lo, hi),
            Kind::LogUniform { .. } => Prior::log_uniform(lo, hi),
            Kind::TruncatedNormal { mean, sd, .. } => Prior::truncated_normal(mean, sd, lo, hi),
        }
    }

    /// The support's bounds (possibly infinite for a truncated normal).
    pub fn support(&self) -> (f64, f64) {
        match self.kind {
            Kind::Uniform { lo, hi }
            | Kind::LogUniform { lo, hi, .. }
            | Kind::TruncatedNormal { lo, hi, .. } => (lo, hi),
        }
    }

    /// Whether `x` is in the support (a finite number within the bounds).
    pub fn contains(&self, x: f64) -> bool {
        let (lo, hi) = self.support();
        x.is_finite() && lo <= x && x <= hi
    }

    /// The natural log of the density at `x`; `-inf` outside the support.
    pub fn ln_pdf(&self, x: f64) -> f64 {
        if !self.contains(x) {
            return f64::NEG_INFINITY;
        }
        match self.kind {
            Kind::Uniform { lo, hi } => -(hi - lo).ln(),
            Kind::LogUniform { ln_lo, ln_hi, .. } => -x.ln() - (ln_hi - ln_lo).ln(),
            Kind::TruncatedNormal { mean, sd, mass, .. } => {
                let z = (x - mean) / sd;
                -0.5 * z * z - (sd * (2.0 * std::f64::consts::PI).sqrt()).ln() - mass.ln()
            }
        }
    }

    /// The density at `x`; 0 outside the support.
    pub fn pdf(&self, x: f64) -> f64 {
        self.ln_pdf(x).exp()
    }

    /// The prior's mean.
    pub fn mean(&self) -> f64 {
        match self.kind {
            Kind::Uniform { lo, hi } => 0.5 * (lo + hi),
            Kind::LogUniform {
                lo,
                hi,
                ln_lo,
                ln_hi,
            } => (hi - lo) / (ln_hi - ln_lo),
            Kind::TruncatedNormal {
                mean,
                sd,
                a,
                b,
                mass,
                ..
            } => mean + sd * (phi(a) - phi(b)) / mass,
        }
    }

    /// The prior's variance.
    pub fn variance(&self) -> f64 {
        match self.kind {
            Kind::Uniform { lo, hi } => (hi - lo) * (hi - lo) / 12.0,
            Kind::LogUniform {
                lo,
                hi,
                ln_lo,
                ln_hi,
            } => {
                let l = ln_hi - ln_lo;
                let m = (hi - lo) / l;
                (hi * hi - lo * lo) / (2.0 * l) - m * m
            }
            Kind::TruncatedNormal { sd, a, b, mass, .. } => {
                // a phi(a) is 0 at an infinite bound.
                let aphi = if a.is_finite() { a * phi(a) } else { 0.0 };
                let bphi = if b.is_finite() { b * phi(b) } else { 0.0 };
                let shift = (phi(a) - phi(b)) / mass;
                sd * sd * (1.0 + (aphi - bphi) / mass - shift * shift)
            }
        }
    }

    /// One draw from the prior, using only `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self.kind {
            Kind::Uniform { lo, hi } => {
                let u: f64 = rng.random();
                (lo + (hi - lo) * u).clamp(lo, hi)
            }
            Kind::LogUniform {
                lo,
                hi,
                ln_lo,
                ln_hi,
            } => {
                let u: f64 = rng.random();
                // exp can round just past a bound.
                (ln_lo + (ln_hi - ln_lo) * u).exp().clamp(lo, hi)
            }
            Kind::TruncatedNormal {
                mean,
                sd,
                lo,
                hi,
                a,
                b,
                ..
            } => (mean + sd * standard_truncated(a, b, rng)).clamp(lo, hi),
        }
    }
}

/// Draws tried before giving up; each is accepted with probability above
/// 0.04, so reaching this has probability below 0.96^10000 (about 1e-177).
const MAX_TRIES: u32 = 10_000;

/// A standard normal truncated to `[a, b]`, by rejection (Robert 1995).
fn standard_truncated<R: Rng + ?Sized>(a: f64, b: f64, rng: &mut R) -> f64 {
    if a > 0.0 {
        tail(a, b, rng)
    } else if b < 0.0 {
        -tail(-b, -a, rng)
    } else if b - a >= 2.5 {
        // The interval holds 0 and at least 2.5 sd: over 49% acceptance.
        for _ in 0..MAX_TRIES {
            let z: f64 = rng.sample(StandardNormal);
            if a <= z && z <= b {
                return z;
            }
        }
        0.0
    } else {
        // Short interval holding 0: uniform proposal, accepted with
        // probability exp(-z^2 / 2) >= exp(-2.5^2 / 2) > 0.04.
        for _ in 0..MAX_TRIES {
            let z = a + (b - a) * rng.random::<f64>();
            if rng.random::<f64>() <= (-0.5 * z * z).exp() {
                return z;
            }
        }
        0.0
    }
}

/// A standard normal truncated to `[a, b]` with `0 < a < b <= inf`.
fn tail<R: Rng + ?Sized>(a: f64, b: f64, rng: &mut R) -> f64 {
    // Robert's optimal rate for an exponential proposal shifted to a.
    let rate = 0.5 * (a + (a * a + 4.0).sqrt());
    if (b - a) * rate >= 1.0 {
        // Translated exponential; accepted with probability
        // exp(-(z - rate)^2 / 2) (over 0.6 on average) and z <= b with
        // probability 1 - exp(-rate (b - a)) >= 0.63.
        for _ in 0..MAX_TRIES {
            let z = a - (1.0 - rng.random::<f64>()).ln() / rate;
            let accept = (-0.5 * (z - rate) * (z - rate)).exp();
            if z <= b && rng.random::<f64>() <= accept {
                return z;
            }
        }
    } else {
        // Short interval in a tail: uniform proposal accepted with
        // probability exp((a^2 - z^2) / 2) >= exp(-1.5), since
        // (b - a)(b + a) < 1 / rate^2 + 2 a / rate <= 3.
        for _ in 0..MAX_TRIES {
            let z = a + (b - a) * rng.random::<f64>();
            if rng.random::<f64>() <= (0.5 * (a * a - z * z)).exp() {
                return z;
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn sample_moments(prior: &Prior, n: usize) -> (f64, f64, f64, f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let xs: Vec<f64> = (0..n).map(|_| prior.sample(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (mean, var, min, max)
    }

    /// Midpoint-rule integral of the density over [lo, hi].
    fn integral(prior: &Prior, lo: f64, hi: f64) -> f64 {
        let n = 200_000;
        let h = (hi - lo) / n as f64;
        (0..n)
            .map(|i| prior.pdf(lo + (i as f64 + 0.5) * h) * h)
            .sum()
    }

    #[test]
    fn truncated_normal_moments_match_published_values() {
        // Half-normal: mean sqrt(2/pi) = 0.797885, variance 1 - 2/pi.
        let half = Prior::truncated_normal(0.0, 1.0, 0.0, f64::INFINITY).unwrap();
        assert!((half.mean() - 0.7978845608).abs() < 1e-9);
        assert!((half.variance() - (1.0 - 2.0 / std::f64::consts::PI)).abs() < 1e-9);
        // [1, 2]: (phi(1) - phi(2)) / (Phi(2) - Phi(1)) = 0.18797976 / 0.13590512
        // (normal tables).
        let band = Prior::truncated_normal(0.0, 1.0, 1.0, 2.0).unwrap();
        assert!((band.mean() - 0.18797976 / 0.13590512).abs() < 1e-6);
        // Tail beyond 3: phi(3) / (1 - Phi(3)) = 0.0044318484 / 0.0013498980.
        let tail = Prior::truncated_normal(0.0, 1.0, 3.0, f64::INFINITY).unwrap();
        assert!((tail.mean() - 0.0044318484 / 0.0013498980).abs() < 1e-6);
        // Samples agree with those moments; with n = 100_000 the standard
        // error of a mean is sd / 316, and 5 of them is the tolerance.
        let n = 100_000;
        for prior in [half, band, tail] {
            let (mean, var, min, max) = sample_moments(&prior, n);
            let se = prior.variance().sqrt() / (n as f64).sqrt();
            assert!(
                (mean - prior.mean()).abs() < 5.0 * se,
                "{mean} vs {}",
                prior.mean()
            );
            assert!((var / prior.variance() - 1.0).abs() < 0.03, "{var}");
            let (lo, hi) = prior.support();
            assert!(lo <= min && max <= hi);
        }
        // Shifted and scaled, including a far tail on the left and a short
        // interval inside a tail (the uniform branch).
        for (mean, sd, lo, hi) in [
            (10.0, 2.0, 11.0, 11.5),
            (-1.0, 0.5, f64::NEG_INFINITY, -3.5),
            (0.0, 1.0, -0.5, 0.7),
            (0.0, 1.0, 0.2, 0.4),
        ] {
            let prior = Prior::truncated_normal(mean, sd, lo, hi).unwrap();
            let (m, v, min, max) = sample_moments(&prior, n);
            let se = prior.variance().sqrt() / (n as f64).sqrt();
            assert!(
                (m - prior.mean()).abs() < 5.0 * se,
                "{m} vs {}",
                prior.mean()
            );
            assert!((v / prior.variance() - 1.0).abs() < 0.03);
            assert!(lo <= min && max <= hi);
        }
    }

    #[test]
    fn densities_integrate_to_one() {
        let cases = [
            (Prior::uniform(-2.0, 3.0).unwrap(), -2.0, 3.0),
            (Prior::log_uniform(0.01, 10.0).unwrap(), 0.01, 10.0),
            (
                Prior::truncated_normal(1.0, 2.0, -1.0, 4.0).unwrap(),
                -1.0,
                4.0,
            ),
            (
                Prior::truncated_normal(1.0, 0.5, 0.0, f64::INFINITY).unwrap(),
                0.0,
                8.0,
            ),
        ];
        for (prior, lo, hi) in cases {
            let total = integral(&prior, lo, hi);
            assert!((total - 1.0).abs() < 2e-3, "{prior:?}: {total}");
            assert_eq!(prior.pdf(lo - 1.0), 0.0);
            assert_eq!(prior.ln_pdf(f64::NAN), f64::NEG_INFINITY);
        }
        // Closed forms: uniform 1/5; log-uniform 1 / (x ln 1000).
        assert!((Prior::uniform(-2.0, 3.0).unwrap().pdf(0.0) - 0.2).abs() < 1e-15);
        let lu = Prior::log_uniform(0.01, 10.0).unwrap();
        assert!((lu.pdf(2.0) - 1.0 / (2.0 * 1000f64.ln())).abs() < 1e-15);
    }

    #[test]
    fn log_uniform_is_uniform_in_the_log() {
        let prior = Prior::log_uniform(0.1, 1000.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 40_000;
        // P(x < 1) = ln(10) / ln(10^4) = 1/4; binomial sd sqrt(n p (1-p)) = 86.6.
        let below = (0..n).filter(|_| prior.sample(&mut rng) < 1.0).count();
        assert!((below as f64 - 10_000.0).abs() < 5.0 * 86.6, "{below}");
        // Mean (hi - lo) / ln(hi / lo) = 999.9 / ln(10^4) = 108.56.
        assert!((prior.mean() - 999.9 / 10_000f64.ln()).abs() < 1e-9);
    }

    #[test]
    fn constructors_refuse_invalid_priors() {
        assert_eq!(
            Prior::uniform(1.0, 1.0),
            Err(PriorError::EmptyInterval { lo: 1.0, hi: 1.0 })
        );
        assert!(matches!(
            Prior::uniform(f64::NAN, 1.0),
            Err(PriorError::NotFinite { .. })
        ));
        assert!(matches!(
            Prior::uniform(-f64::MAX, f64::MAX),
            Err(PriorError::EmptyInterval { .. })
        ));
        assert_eq!(
            Prior::log_uniform(0.0, 1.0),
            Err(PriorError::NonPositiveLowerBound { lo: 0.0 })
        );
        assert_eq!(
            Prior::truncated_normal(0.0, 0.0, -1.0, 1.0),
            Err(PriorError::NonPositiveSd { sd: 0.0 })
        );
        assert!(matches!(
            Prior::truncated_normal(0.0, 1.0, 2.0, 1.0),
            Err(PriorError::EmptyInterval { .. })
        ));
        assert!(matches!(
            Prior::truncated_normal(0.0, 1.0, 40.0, f64::INFINITY),
            Err(PriorError::NegligibleMass { .. })
        ));
        assert!(Prior::truncated_normal(0.0, 1.0, f64::NEG_INFINITY, f64::INFINITY).is_ok());
    }

    #[test]
    fn restriction_keeps_the_family_and_intersects_the_support() {
        let u = Prior::uniform(0.0, 10.0).unwrap();
        assert_eq!(
            u.restrict(2.0, 20.0).unwrap(),
            Prior::uniform(2.0, 10.0).unwrap()
        );
        let lu = Prior::log_uniform(0.1, 10.0).unwrap();
        assert_eq!(
            lu.restrict(-1.0, 1.0).unwrap(),
            Prior::log_uniform(0.1, 1.0).unwrap()
        );
        let tn = Prior::truncated_normal(0.0, 1.0, f64::NEG_INFINITY, 5.0).unwrap();
        assert_eq!(tn.restrict(-1.0, 1.0).unwrap().support(), (-1.0, 1.0));
        assert!(matches!(
            u.restrict(11.0, 12.0),
            Err(PriorError::EmptyInterval { .. })
        ));
    }
}
