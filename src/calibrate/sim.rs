//! The simulator as an ABC [`Model`]: a scenario whose calibrated parameters
//! are set from a parameter vector, run, and read through outcomes.
//!
//! [`ScenarioModel`] holds the calibration scenario cut at the last quarter a
//! statistic needs ([`Scenario::truncated`]: the quarters it keeps are the
//! same bits as the full run's), the parameters' targets, and the outcomes
//! that compute the statistics ([`crate::experiment::outcome`]). A
//! simulation sets each parameter through [`Scenario::set_param`] (so a value
//! is checked as `--set` would check it), then runs `runs` runs drawing from
//! the one random stream `run_rng(seed, stream)` it is given, one after the
//! other, and returns the mean of each statistic over the runs where it is
//! defined (NaN where it is defined in none, which ABC treats as infinitely
//! far). With one run a simulation is a draw of the statistics themselves,
//! what plain ABC needs; docs/calibration.md says why the shipped
//! calibrations use one.

use super::abc::Model;
use crate::engine::{Simulator, run_rng};
use crate::experiment::outcome::{Outcome, OutcomeError, OutcomeSet};
use crate::model::{ParamError, Scenario, Target};

/// Why a [`ScenarioModel`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A statistic's outcome does not fit the scenario.
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
    /// The scenario could not be cut at the last quarter needed.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// No statistics, or no runs per simulation.
    #[error("a model needs at least one statistic and one run per simulation")]
    Empty,
}

/// A scenario as an ABC model; see the module documentation.
#[derive(Debug, Clone)]
pub struct ScenarioModel {
    scenario: Scenario,
    targets: Vec<Target>,
    outcomes: Vec<Outcome>,
    runs: u32,
    seed: u64,
}

impl ScenarioModel {
    /// `scenario` with `targets` set from each parameter vector, measuring
    /// `outcomes` (texts, such as `share:deliveries:China@2016..2020`) as the
    /// mean of `runs` runs; run randomness from `run_rng(seed, stream)`.
    ///
    /// # Errors
    /// [`ModelError`] if an outcome does not parse for `scenario`, or there
    /// are no outcomes or runs.
    pub fn new(
        scenario: &Scenario,
        targets: Vec<Target>,
        outcomes: &[String],
        runs: u32,
        seed: u64,
    ) -> Result<ScenarioModel, ModelError> {
        if outcomes.is_empty() || runs == 0 {
            return Err(ModelError::Empty);
        }
        let parsed = outcomes
            .iter()
            .map(|t| Outcome::parse(t, scenario))
            .collect::<Result<Vec<_>, _>>()?;
        let last = parsed
            .iter()
            .map(|o| match o.measure() {
                crate::experiment::outcome::Measure::Metric { to, .. } => to,
                crate::experiment::outcome::Measure::FirstAhead { .. } => scenario.quarters() - 1,
            })
            .max()
            .unwrap_or(scenario.quarters() - 1);
        let cut = scenario.truncated(last + 1)?;
        let outcomes = outcomes
            .iter()
            .map(|t| Outcome::parse(t, &cut))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ScenarioModel {
            scenario: cut,
            targets,
            outcomes,
            runs,
            seed,
        })
    }

    /// The scenario simulated (cut at the last quarter a statistic needs).
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The scenario with `params` set, each in order of the targets.
    ///
    /// # Errors
    /// [`ParamError`] for a value the parameter does not accept.
    pub fn with_params(&self, params: &[f64]) -> Result<Scenario, ParamError> {
        let mut s = self.scenario.clone();
        for (&target, &x) in self.targets.iter().zip(params) {
            s.set_param(target, x)?;
        }
        Ok(s)
    }

    /// Each run's statistics, `runs` runs from `run_rng(seed, stream)`, row
    /// by row: what [`Model::simulate`] averages.
    ///
    /// # Errors
    /// [`ParamError`] for a value the parameter does not accept.
    pub fn each_run(
        &self,
        params: &[f64],
        stream: u64,
        runs: u32,
    ) -> Result<Vec<Vec<f64>>, ParamError> {
        let s = self.with_params(params)?;
        let mut sim = Simulator::new(&s);
        let mut set = OutcomeSet::new(self.outcomes.clone(), &s);
        let mut rng = run_rng(self.seed, stream);
        Ok((0..runs)
            .map(|_| {
                sim.run(&mut rng, &mut set);
                set.values().to_vec()
            })
            .collect())
    }
}

impl Model for ScenarioModel {
    type Error = ParamError;

    fn simulate(&self, params: &[f64], stream: u64) -> Result<Vec<f64>, ParamError> {
        let rows = self.each_run(params, stream, self.runs)?;
        let k = self.outcomes.len();
        let mut sums = vec![0.0; k];
        let mut counts = vec![0u32; k];
        for row in &rows {
            for ((sum, count), &x) in sums.iter_mut().zip(&mut counts).zip(row) {
                if !x.is_nan() {
                    *sum += x;
                    *count += 1;
                }
            }
        }
        Ok(sums
            .iter()
            .zip(&counts)
            .map(|(&s, &c)| if c > 0 { s / f64::from(c) } else { f64::NAN })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::QuarterView;
    use crate::model::BuyerParam;
    use crate::scenario::load_shipped;

    fn history() -> Scenario {
        load_shipped("myanmar_history", &[])
            .unwrap()
            .unwrap()
            .scenario
    }

    #[test]
    fn a_simulation_is_the_full_scenarios_runs_with_the_parameters_set() {
        let s = history();
        let outcomes = vec![
            "share:deliveries:China@2011..2015".to_string(),
            "cv:imports:buyer@2016..2020".to_string(),
        ];
        let targets = vec![Target::Buyer(BuyerParam::SupportWeight)];
        let model = ScenarioModel::new(&s, targets, &outcomes, 3, 42).unwrap();
        // Cut at 2020Q4, the last quarter a statistic needs.
        assert_eq!(model.scenario().quarters(), 64);
        assert_eq!(s.quarters(), 104);
        let stats = model.simulate(&[0.7], 9).unwrap();
        // By hand: the full 2005-2030 scenario with support_weight 0.7, three
        // runs from stream 9 one after the other, China's deliveries over
        // 2011-15 (quarters 24 to 43) and annual imports 2016-20.
        let mut full = s.clone();
        full.set_param(Target::Buyer(BuyerParam::SupportWeight), 0.7)
            .unwrap();
        let mut sim = Simulator::new(&full);
        let mut rng = run_rng(42, 9);
        let (mut share, mut cv) = (0.0, 0.0);
        for _ in 0..3 {
            let mut china = 0.0;
            let mut all = 0.0;
            let mut years = [0.0; 5];
            sim.run(&mut rng, &mut |v: &QuarterView<'_>| {
                let t = v.quarter as usize;
                if (24..44).contains(&t) {
                    china += v.deliveries[1];
                    all += v.deliveries.iter().sum::<f64>();
                }
                if (44..64).contains(&t) {
                    years[(t - 44) / 4] += v.imports;
                }
            });
            share += china / all / 3.0;
            let mean = years.iter().sum::<f64>() / 5.0;
            let var = years.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / 5.0;
            cv += var.sqrt() / mean / 3.0;
        }
        assert!((stats[0] - share).abs() < 1e-12, "{stats:?} vs {share}");
        assert!((stats[1] - cv).abs() < 1e-12, "{stats:?} vs {cv}");
        // The same stream gives the same bits; another stream differs.
        assert_eq!(model.simulate(&[0.7], 9).unwrap(), stats);
        assert_ne!(model.simulate(&[0.7], 10).unwrap(), stats);
    }

    #[test]
    fn a_value_out_of_domain_is_refused_not_clamped() {
        let s = history();
        let model = ScenarioModel::new(
            &s,
            vec![Target::Buyer(BuyerParam::ContractsPerQuarter)],
            &["cv:imports:buyer@2016..2020".to_string()],
            1,
            1,
        )
        .unwrap();
        assert!(matches!(
            model.simulate(&[-1.0], 0),
            Err(ParamError::OutOfDomain { .. })
        ));
        assert!(matches!(
            ScenarioModel::new(&s, vec![], &[], 1, 1),
            Err(ModelError::Empty)
        ));
        assert!(matches!(
            ScenarioModel::new(&s, vec![], &["cv:imports:buyer@2040".into()], 1, 1),
            Err(ModelError::Outcome(_))
        ));
    }
}
