//! Parameter sweeps and global sensitivity analyses over a scenario.
//!
//! A [`Vary`] names a parameter of the scenario (its `--set` path) and the
//! range to explore, written `PATH=FROM:TO:STEPS`, `PATH=FROM:TO` or just
//! `PATH` (its documented range). A [`Plan`] puts a design over the varied
//! parameters: the full grid, a Latin hypercube, or a Saltelli or Morris
//! design for sensitivity indices ([`super::design`]); each design point is the
//! base scenario with those values set through [`Scenario::set_param`], so a
//! point is checked exactly as a `--set` would be. [`Plan::builder`] feeds the
//! [`super::points::PointRunner`] that runs every point's Monte Carlo study
//! in one pool, and [`Plan::sensitivity`] reads indices back from the points'
//! means.

use std::sync::atomic::AtomicBool;

use super::design::{self, Design, DesignError, MorrisDesign, ParamRange, SaltelliDesign};
use super::outcome::Outcome;
use super::points::PointResult;
use super::sensitivity::{
    BootstrapConfig, MorrisIndices, SensitivityError, SobolIndices, morris_indices_until,
    sobol_indices_until,
};
use crate::model::{ParamError, Scenario, Target};

/// Steps of a grid axis when a `--vary` gives none.
pub const DEFAULT_STEPS: usize = 5;

/// Why a sweep or sensitivity analysis cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// A `--vary` specification is malformed or names no parameter.
    #[error("--vary {spec}: {reason}")]
    Vary {
        /// The specification as given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// The design could not be built.
    #[error(transparent)]
    Design(#[from] DesignError),
    /// The design would have more points than [`MAX_POINTS`]; refused
    /// before it is built, since building it is what would not fit.
    #[error("{} design points: at most 10 million", points.map_or_else(|| "over 2^64".to_string(), |p| p.to_string()))]
    TooManyPoints {
        /// The design's points (None past `u64`).
        points: Option<u64>,
    },
    /// Sensitivity indices could not be computed for an outcome.
    #[error("{outcome}: {source}")]
    Sensitivity {
        /// The outcome.
        outcome: String,
        /// Why.
        source: SensitivityError,
    },
}

/// One varied parameter: its path, target and range (and grid steps).
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    /// The `--set` path, such as `buyer.support_weight`.
    pub path: String,
    /// The parameter.
    pub target: Target,
    /// Lower and upper bound.
    pub range: ParamRange,
    /// Points on a grid axis (used by [`Layout::Grid`]).
    pub steps: usize,
}

impl Vary {
    /// Parses `PATH=FROM:TO:STEPS`, `PATH=FROM:TO` or `PATH` (the
    /// parameter's documented range) against `scenario`. Both bounds must
    /// lie in the parameter's domain and belong to the scenario's model.
    ///
    /// # Errors
    /// [`SweepError::Vary`] saying what is wrong.
    pub fn parse(spec: &str, scenario: &Scenario) -> Result<Vary, SweepError> {
        let fail = |reason: String| SweepError::Vary {
            spec: spec.to_string(),
            reason,
        };
        let (path, range) = match spec.split_once('=') {
            Some((p, r)) => (p.trim(), Some(r.trim())),
            None => (spec.trim(), None),
        };
        let target = scenario.target(path).ok_or_else(|| {
            fail(format!(
                "no parameter `{path}`; paths are world.KEY, buyer.KEY or suppliers.NAME.KEY \
                 (`armsim params` lists them)"
            ))
        })?;
        if !target.models().includes(scenario.model()) {
            return Err(fail(format!(
                "`{path}` is not a parameter of model {}",
                scenario.model()
            )));
        }
        let number = |s: &str, what: &str| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| fail(format!("{what} `{s}` is not a number")))
        };
        let (lo, hi, steps) = match range {
            None => {
                let (lo, hi) = target.range();
                (lo, hi, DEFAULT_STEPS)
            }
            Some(r) => {
                let parts: Vec<&str> = r.split(':').collect();
                match parts.as_slice() {
                    [lo, hi] => (number(lo, "FROM")?, number(hi, "TO")?, DEFAULT_STEPS),
                    [lo, hi, steps] => (
                        number(lo, "FROM")?,
                        number(hi, "TO")?,
                        steps
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .filter(|&s| s >= 1)
                            .ok_or_else(|| {
                                fail(format!(
                                    "STEPS `{steps}` is not a whole number 1 or greater"
                                ))
                            })?,
                    ),
                    _ => {
                        return Err(fail(
                            "expected PATH=FROM:TO:STEPS, PATH=FROM:TO or PATH".into(),
                        ));
                    }
                }
            }
        };
        let domain = target.domain();
        for x in [lo, hi] {
            if !domain.contains(x) {
                return Err(fail(format!(
                    "{x} is outside `{path}`'s domain: {}",
                    domain.describe()
                )));
            }
        }
        let range = ParamRange::new(path, lo, hi).map_err(|e| fail(e.to_string()))?;
        Ok(Vary {
            path: path.to_string(),
            target,
            range,
            steps,
        })
    }
}

/// Where a plan's points lie. Serialisable: a campaign's state and
/// manifest record it as `{"design": "grid" | "lhs" | "sobol" | "morris", ...}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "design", rename_all = "lowercase")]
pub enum Layout {
    /// The full grid of every varied parameter's steps.
    Grid,
    /// A Latin hypercube of this many samples.
    Lhs {
        /// Points.
        samples: usize,
    },
    /// Saltelli's design for Sobol indices, `samples` base samples.
    Sobol {
        /// Base samples N (the design has N (D + 2) points).
        samples: usize,
    },
    /// Morris trajectories.
    Morris {
        /// Trajectories r.
        trajectories: usize,
        /// Grid levels p (even).
        levels: usize,
    },
}

/// The most design points a sweep or sensitivity analysis may have. Ten
/// million points already take hundreds of megabytes of design and results,
/// and even one run per point is days of computing.
pub const MAX_POINTS: usize = 10_000_000;

impl Layout {
    /// The points this layout makes over `vary`, counted without building
    /// the design: the product of the grid's steps, the samples of a Latin
    /// hypercube, `N (D + 2)` for Saltelli's, `r (D + 1)` for Morris's.
    /// None if the count overflows a `u64`.
    pub fn points(&self, vary: &[Vary]) -> Option<u64> {
        let dim = vary.len() as u64;
        match *self {
            Layout::Grid => vary
                .iter()
                .try_fold(1u64, |acc, v| acc.checked_mul(v.steps as u64)),
            Layout::Lhs { samples } => Some(samples as u64),
            Layout::Sobol { samples } => (samples as u64).checked_mul(dim + 2),
            Layout::Morris { trajectories, .. } => (trajectories as u64).checked_mul(dim + 1),
        }
    }
}

/// The design of a sweep or sensitivity analysis over a scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    base: Scenario,
    vary: Vec<Vary>,
    layout: Layout,
    design: PlanDesign,
}

#[derive(Debug, Clone)]
enum PlanDesign {
    Plain(Design),
    Sobol(SaltelliDesign),
    Morris(MorrisDesign),
}

impl PlanDesign {
    fn design(&self) -> &Design {
        match self {
            PlanDesign::Plain(d) => d,
            PlanDesign::Sobol(d) => d.design(),
            PlanDesign::Morris(d) => d.design(),
        }
    }
}

impl Plan {
    /// A plan varying `vary` over `base` with `layout`; random designs draw
    /// from `seed` (their own streams, never the runs').
    ///
    /// # Errors
    /// [`SweepError::TooManyPoints`] beyond [`MAX_POINTS`] (checked before
    /// anything is built), [`SweepError::Design`] if the design cannot be
    /// built.
    pub fn new(
        base: &Scenario,
        vary: Vec<Vary>,
        layout: Layout,
        seed: u64,
    ) -> Result<Plan, SweepError> {
        match layout.points(&vary) {
            Some(points) if points <= MAX_POINTS as u64 => {}
            points => return Err(SweepError::TooManyPoints { points }),
        }
        let ranges: Vec<ParamRange> = vary.iter().map(|v| v.range.clone()).collect();
        let design = match &layout {
            Layout::Grid => {
                let steps: Vec<usize> = vary.iter().map(|v| v.steps).collect();
                PlanDesign::Plain(design::grid(&ranges, &steps)?)
            }
            Layout::Lhs { samples } => {
                PlanDesign::Plain(design::latin_hypercube(&ranges, *samples, seed)?)
            }
            Layout::Sobol { samples } => {
                PlanDesign::Sobol(design::saltelli(&ranges, *samples, seed)?)
            }
            Layout::Morris {
                trajectories,
                levels,
            } => PlanDesign::Morris(design::morris(&ranges, *trajectories, *levels, seed)?),
        };
        Ok(Plan {
            base: base.clone(),
            vary,
            layout,
            design,
        })
    }

    /// The base scenario.
    pub fn base(&self) -> &Scenario {
        &self.base
    }

    /// The varied parameters.
    pub fn vary(&self) -> &[Vary] {
        &self.vary
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The design: one row per point, one column per varied parameter.
    pub fn design(&self) -> &Design {
        self.design.design()
    }

    /// Number of design points.
    pub fn points(&self) -> usize {
        self.design().len()
    }

    /// The scenario of design point `p`: the base with the point's values set.
    ///
    /// # Errors
    /// [`ParamError`] if a value does not fit the scenario (a discount above
    /// its maximum, say).
    pub fn scenario(&self, p: usize) -> Result<Scenario, ParamError> {
        let mut s = self.base.clone();
        if let Some(values) = self.design().point(p) {
            for (v, &x) in self.vary.iter().zip(values) {
                // Whole-number parameters take the nearest whole value.
                let x = if v.target.domain().is_integer() {
                    x.round()
                } else {
                    x
                };
                s.set_param(v.target, x)?;
            }
        }
        Ok(s)
    }

    /// The closure a [`super::points::PointRunner`] builds points with.
    pub fn builder(&self) -> impl Fn(usize) -> Result<Scenario, ParamError> + Sync + '_ {
        move |p| self.scenario(p)
    }

    /// Sobol or Morris indices of each outcome, from every point's mean
    /// (`results` in design order, complete). `None` for a plain sweep.
    ///
    /// The bootstrap stops soon after `cancel` is set, with
    /// [`SensitivityError::Cancelled`].
    ///
    /// # Errors
    /// [`SweepError::Sensitivity`] for an outcome undefined at some point or
    /// that does not vary.
    pub fn sensitivity(
        &self,
        outcomes: &[Outcome],
        results: &[PointResult],
        bootstrap: &BootstrapConfig,
        cancel: Option<&AtomicBool>,
    ) -> Option<Result<Vec<Indices>, SweepError>> {
        let indices = |o: usize| -> Result<Indices, SweepError> {
            let y: Vec<f64> = results
                .iter()
                .map(|r| r.outcomes[o].mean.unwrap_or(f64::NAN))
                .collect();
            let wrap = |source| SweepError::Sensitivity {
                outcome: outcomes[o].to_string(),
                source,
            };
            Ok(match &self.design {
                PlanDesign::Sobol(d) => {
                    Indices::Sobol(sobol_indices_until(d, &y, bootstrap, cancel).map_err(wrap)?)
                }
                PlanDesign::Morris(d) => {
                    Indices::Morris(morris_indices_until(d, &y, bootstrap, cancel).map_err(wrap)?)
                }
                PlanDesign::Plain(_) => unreachable!("checked below"),
            })
        };
        match self.design {
            PlanDesign::Plain(_) => None,
            _ => Some((0..outcomes.len()).map(indices).collect()),
        }
    }
}

/// Sensitivity indices of one outcome.
#[derive(Debug, Clone)]
pub enum Indices {
    /// First-order and total Sobol indices.
    Sobol(SobolIndices),
    /// Morris elementary effects.
    Morris(MorrisIndices),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::points::PointRunner;
    use crate::scenario::load_baseline;

    fn base() -> Scenario {
        load_baseline(&["run.quarters=12".into()]).unwrap().scenario
    }

    #[test]
    fn vary_specifications_parse_and_refuse_with_reasons() {
        let s = base();
        let v = Vary::parse("buyer.support_weight=0.5:3:6", &s).unwrap();
        assert_eq!((v.range.lower(), v.range.upper(), v.steps), (0.5, 3.0, 6));
        let v = Vary::parse("suppliers.Russia.stance_speed", &s).unwrap();
        assert_eq!((v.range.lower(), v.range.upper()), (0.0, 0.5));
        for (bad, says) in [
            ("buyer.suport_weight=0:1", "no parameter"),
            ("buyer.support_weight=0:x", "TO `x` is not a number"),
            ("buyer.support_weight=0:1:0", "STEPS `0`"),
            ("suppliers.Russia.support=0:1.5", "outside"),
            (
                "buyer.diversification_weight=0:1",
                "not a parameter of model v3",
            ),
            ("buyer.support_weight=1:1", "below upper bound"),
        ] {
            let err = Vary::parse(bad, &s).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn grid_points_set_their_values_and_integers_round() {
        let s = base();
        let vary = vec![
            Vary::parse("buyer.support_weight=0:2:3", &s).unwrap(),
            Vary::parse("suppliers.China.delivery_quarters=1:4:2", &s).unwrap(),
        ];
        let plan = Plan::new(&s, vary, Layout::Grid, 1).unwrap();
        assert_eq!(plan.points(), 6);
        let p = plan.scenario(5).unwrap();
        assert_eq!(p.buyer()[crate::model::BuyerParam::SupportWeight], 2.0);
        assert_eq!(
            p.suppliers()[1].params()[crate::model::SupplierParam::DeliveryQuarters],
            4.0
        );
        let lhs = Plan::new(
            &s,
            vec![Vary::parse("suppliers.China.delivery_quarters=1:12", &s).unwrap()],
            Layout::Lhs { samples: 7 },
            3,
        )
        .unwrap();
        for p in 0..7 {
            let x = lhs.scenario(p).unwrap().suppliers()[1].params()
                [crate::model::SupplierParam::DeliveryQuarters];
            assert_eq!(x.fract(), 0.0);
        }
    }

    #[test]
    fn sobol_indices_of_the_model_rank_a_live_parameter_above_an_inert_one() {
        // Russia's share of held deliveries cancelled is inert at the
        // baseline (nothing of Russia's is ever held: docs/model.md section
        // 10); the weight of support is not.
        let s = base();
        let vary = vec![
            Vary::parse("buyer.support_weight", &s).unwrap(),
            Vary::parse("suppliers.Russia.cancel_held", &s).unwrap(),
        ];
        let plan = Plan::new(&s, vary, Layout::Sobol { samples: 32 }, 5).unwrap();
        let outcomes = vec![Outcome::parse("rolling_share:Russia@end", &s).unwrap()];
        let build = plan.builder();
        let results = PointRunner::new(plan.points(), &build, outcomes.clone(), 20, 1)
            .threads(2)
            .run()
            .unwrap()
            .results;
        let indices = plan
            .sensitivity(&outcomes, &results, &BootstrapConfig::default(), None)
            .unwrap()
            .unwrap();
        let Indices::Sobol(sobol) = &indices[0] else {
            panic!()
        };
        assert_eq!(sobol.ranked_by_total()[0].name, "buyer.support_weight");
        assert_eq!(
            sobol.params[1].total.value, 0.0,
            "an inert parameter explains nothing"
        );
    }
}
