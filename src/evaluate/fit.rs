//! Fitting the parameters cases share, on several cases at once: the
//! calibration behind leave-one-case-out.
//!
//! A [`JointModel`] is an ABC [`Model`] (the one calibrator,
//! [`crate::calibrate::abc`], runs it): a parameter vector sets each shared
//! parameter in every case that has it, and a simulation returns every
//! case's window shares, case after case. A shared parameter is written as
//! a path:
//!
//! - `buyer.KEY` or `world.KEY`: that parameter in every case;
//! - `profile.NAME.KEY`: trait `KEY` of every supplier whose profile is
//!   `NAME` ([`crate::scenario::profiles`]), in the cases that have one.
//!
//! The statistics are each scored window's group shares, pooled over
//! [`FitSettings::runs_per_case`] runs (a window in which no run delivered
//! anything gives every group an equal share, so that a quiet case cannot
//! make a particle infinitely far). Each is compared with the record's
//! share on the scale [`FitSettings::scale`].
//!
//! [`posterior_variants`] turns the posterior into a forecast's runs: the
//! particles are resampled systematically (no random draw) into one
//! scenario per run, so the bands carry the parameters' uncertainty.

use std::sync::atomic::AtomicBool;

use super::case::{Case, Window};
use super::forecast::{self, Variants};
use crate::calibrate::abc::{AbcError, Model, Problem, Smc, SmcConfig, Stop};
use crate::calibrate::population::Population;
use crate::calibrate::prior::{Prior, PriorError, PriorParam};
use crate::model::{Param as _, ParamError, Scenario, SupplierParam, Target};

/// Why a joint fit could not be set up or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// A shared parameter's path names nothing.
    #[error(
        "shared parameter `{path}`: expected buyer.KEY, world.KEY or profile.NAME.KEY naming a \
         parameter of the cases"
    )]
    Path {
        /// The path.
        path: String,
    },
    /// A shared parameter is in none of the training cases.
    #[error("shared parameter `{path}` is in none of the cases it would be fitted on")]
    Unused {
        /// The path.
        path: String,
    },
    /// No training case has a scored window.
    #[error("no case to fit on has an observed window")]
    NoStatistics,
    /// A prior is invalid.
    #[error("shared parameter `{path}`: {source}")]
    Prior {
        /// The path.
        path: String,
        /// Why.
        source: PriorError,
    },
    /// The calibration failed.
    #[error(transparent)]
    Abc(#[from] AbcError),
    /// A value could not be set in a case (out of its domain).
    #[error("shared parameter `{path}`: {source}")]
    Set {
        /// The path.
        path: String,
        /// Why.
        source: ParamError,
    },
    /// The zero-year check behind a fold's contracts a quarter failed.
    #[error("fitting the contracts a quarter to zero years: {0}")]
    ZeroYears(#[source] Box<super::EvaluateError>),
}

/// One shared parameter and its prior.
#[derive(Debug, Clone)]
pub struct SharedParam {
    /// Its path (`buyer.support_weight`, `profile.China.quality`).
    pub path: String,
    /// Its prior.
    pub prior: Prior,
}

impl SharedParam {
    /// A uniform prior over the parameter's documented range (what sweeps
    /// and sensitivity analyses vary), for `path`.
    ///
    /// # Errors
    /// [`FitError::Path`] if `path` names no parameter.
    pub fn over_range(path: &str) -> Result<SharedParam, FitError> {
        let err = || FitError::Path { path: path.into() };
        let parts: Vec<&str> = path.split('.').collect();
        let (lo, hi) = match parts.as_slice() {
            ["buyer", key] => crate::model::BuyerParam::from_name(key)
                .ok_or_else(err)?
                .range(),
            ["world", key] => crate::model::WorldParam::from_name(key)
                .ok_or_else(err)?
                .range(),
            ["profile", _, key] => SupplierParam::from_name(key).ok_or_else(err)?.range(),
            _ => return Err(err()),
        };
        let prior = Prior::uniform(lo, hi).map_err(|source| FitError::Prior {
            path: path.into(),
            source,
        })?;
        Ok(SharedParam {
            path: path.into(),
            prior,
        })
    }
}

/// The buyer's preferences that every case shares and the leave-one-case-out
/// evaluation fits by default. The contracts' number a quarter is not among
/// them: shares over five-year windows do not identify it (their fit pushed
/// it to smooth deliveries, 81 years without a delivery expected where the
/// record shows 122). Leave one case out, each fold fits it instead to the
/// other cases' zero years ([`super::zero_years`], docs/model.md 14.1).
pub const DEFAULT_SHARED: &[&str] = &[
    "buyer.support_weight",
    "buyer.lock_in_weight",
    "buyer.dependence_weight",
    "buyer.quality_weight",
];

/// What model v3 adds to [`DEFAULT_SHARED`]: the share of the steady order
/// book still undelivered at a shock, which the record cannot give per case.
pub const V3_SHARED: &[&str] = &["buyer.carryover"];

/// The shared parameters fitted by default for cases of `model`.
pub fn default_shared(model: crate::model::ModelVersion) -> Vec<String> {
    let extra = if model == crate::model::ModelVersion::V3 {
        V3_SHARED
    } else {
        &[]
    };
    DEFAULT_SHARED
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// Settings of a joint fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitSettings {
    /// Master seed of the calibration.
    pub seed: u64,
    /// ABC-SMC particles.
    pub population: usize,
    /// Generations, the first included.
    pub generations: u32,
    /// Simulations at most.
    pub max_simulations: u64,
    /// Runs of each case per simulation, pooled.
    pub runs_per_case: u32,
    /// The scale of a share's distance (0.1: ten percentage points count 1).
    pub scale: f64,
}

impl FitSettings {
    /// The settings of the shipped evaluation.
    pub fn standard(seed: u64) -> FitSettings {
        FitSettings {
            seed,
            population: 200,
            generations: 5,
            max_simulations: 6_000,
            runs_per_case: 2,
            scale: 0.1,
        }
    }

    /// A small fit, for tests and a first look.
    pub fn quick(seed: u64) -> FitSettings {
        FitSettings {
            seed,
            population: 40,
            generations: 2,
            max_simulations: 200,
            runs_per_case: 1,
            scale: 0.1,
        }
    }
}

/// One case inside a joint model.
#[derive(Debug, Clone)]
struct Member {
    scenario: Scenario,
    windows: Vec<Window>,
    /// Per shared parameter, the targets it sets in this case.
    targets: Vec<Vec<Target>>,
    groups: usize,
}

/// Several cases as one ABC model; see the module documentation.
#[derive(Debug, Clone)]
pub struct JointModel {
    members: Vec<Member>,
    runs: u32,
}

/// The targets `path` names in `scenario`.
fn resolve(path: &str, scenario: &Scenario) -> Result<Vec<Target>, FitError> {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["buyer" | "world", _] => scenario
            .target(path)
            .map(|t| vec![t])
            .ok_or_else(|| FitError::Path { path: path.into() }),
        ["profile", name, key] => {
            let p = SupplierParam::from_name(key)
                .ok_or_else(|| FitError::Path { path: path.into() })?;
            Ok(scenario
                .suppliers()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.profile() == Some(name))
                .map(|(i, _)| Target::Supplier(i, p))
                .collect())
        }
        _ => Err(FitError::Path { path: path.into() }),
    }
}

/// Sets shared parameter `path` (as [`SharedParam::path`]) to `value` in
/// `scenario`.
///
/// # Errors
/// [`FitError::Path`] if it names nothing, [`FitError::Set`] if the value
/// is outside its domain.
pub fn set_shared(scenario: &mut Scenario, path: &str, value: f64) -> Result<(), FitError> {
    let targets = resolve(path, scenario)?;
    apply(scenario, &[targets], &[value]).map_err(|source| FitError::Set {
        path: path.into(),
        source,
    })
}

/// Sets shared parameter values in a scenario through its targets.
fn apply(
    scenario: &mut Scenario,
    targets: &[Vec<Target>],
    values: &[f64],
) -> Result<(), ParamError> {
    for (ts, &x) in targets.iter().zip(values) {
        for &t in ts {
            scenario.set_param(t, x)?;
        }
    }
    Ok(())
}

impl JointModel {
    /// The cases `cases` with `shared` parameters; returns the model and the
    /// observed statistics it is fitted to.
    ///
    /// # Errors
    /// [`FitError::Path`], [`FitError::Unused`] or [`FitError::NoStatistics`].
    pub fn new(
        cases: &[&Case],
        shared: &[SharedParam],
        runs_per_case: u32,
    ) -> Result<(JointModel, Vec<f64>), FitError> {
        let mut members = Vec::new();
        let mut observed = Vec::new();
        let mut used = vec![false; shared.len()];
        for case in cases {
            let scenario = &case.loaded.scenario;
            let windows: Vec<Window> = case
                .windows()
                .into_iter()
                .filter(|w| case.record.shares(w.years).is_ok())
                .collect();
            if windows.is_empty() {
                continue;
            }
            let targets = shared
                .iter()
                .map(|p| resolve(&p.path, scenario))
                .collect::<Result<Vec<_>, _>>()?;
            for (u, t) in used.iter_mut().zip(&targets) {
                *u |= !t.is_empty();
            }
            for w in &windows {
                observed.extend(case.record.shares(w.years).expect("filtered above").shares);
            }
            // Simulate only as far as the last window needs.
            let last = windows
                .iter()
                .map(|w| forecast::window_quarters(scenario, w).end)
                .max()
                .unwrap_or(1)
                .max(1);
            let scenario = scenario
                .truncated(last)
                .unwrap_or_else(|_| scenario.clone());
            members.push(Member {
                groups: scenario.suppliers().len(),
                scenario,
                windows,
                targets,
            });
        }
        if members.is_empty() {
            return Err(FitError::NoStatistics);
        }
        if let Some(k) = used.iter().position(|u| !u) {
            return Err(FitError::Unused {
                path: shared[k].path.clone(),
            });
        }
        Ok((
            JointModel {
                members,
                runs: runs_per_case.max(1),
            },
            observed,
        ))
    }

    /// The cases' scenarios with `values` set.
    ///
    /// # Errors
    /// [`ParamError`] for a value a parameter does not accept.
    fn scenarios(&self, values: &[f64]) -> Result<Vec<Scenario>, ParamError> {
        self.members
            .iter()
            .map(|m| {
                let mut s = m.scenario.clone();
                apply(&mut s, &m.targets, values)?;
                Ok(s)
            })
            .collect()
    }
}

impl Model for JointModel {
    type Error = ParamError;

    fn simulate(&self, params: &[f64], stream: u64) -> Result<Vec<f64>, ParamError> {
        let scenarios = self.scenarios(params)?;
        let mut stats = Vec::new();
        for (m, scenario) in self.members.iter().zip(scenarios) {
            // Runs `stream * runs ..` of the case's own seed: each
            // candidate's draws are its own, and the same on every replay.
            let first = stream.wrapping_mul(u64::from(self.runs));
            let seed = scenario.seed();
            let runs = forecast::simulate(
                &Variants::One(Box::new(scenario)),
                &m.windows,
                seed,
                first..first + u64::from(self.runs),
            );
            for w in 0..m.windows.len() {
                let mut pooled = vec![0.0; m.groups];
                for run in &runs {
                    for (p, d) in pooled.iter_mut().zip(&run[w]) {
                        *p += d;
                    }
                }
                let shares = forecast::shares(&pooled);
                stats.extend(shares.iter().map(|s| {
                    if s.is_nan() {
                        1.0 / m.groups as f64
                    } else {
                        *s
                    }
                }));
            }
        }
        Ok(stats)
    }
}

/// A finished joint fit.
#[derive(Debug, Clone)]
pub struct JointFit {
    /// The shared parameters, in the particles' column order.
    pub shared: Vec<SharedParam>,
    /// The last population.
    pub population: Population,
    /// Why the calibration stopped.
    pub stop: Stop,
}

impl JointFit {
    /// Each shared parameter's weighted median, with its path.
    pub fn medians(&self) -> Vec<(String, f64)> {
        let posterior = self.population.posterior();
        self.shared
            .iter()
            .zip(posterior.q50)
            .map(|(p, m)| (p.path.clone(), m))
            .collect()
    }
}

/// Fits `shared` on `cases` by ABC-SMC, continuing from `resume` (a
/// population saved by `checkpoint`, which is given each complete
/// generation) if given; a saved population of another problem or other
/// settings is refused ([`AbcError::ResumeMismatch`]).
///
/// # Errors
/// [`FitError`].
pub fn fit(
    cases: &[&Case],
    shared: &[SharedParam],
    settings: FitSettings,
    cancel: Option<&AtomicBool>,
    resume: Option<Population>,
    checkpoint: &mut dyn FnMut(&Population) -> std::io::Result<()>,
) -> Result<JointFit, FitError> {
    let (model, observed) = JointModel::new(cases, shared, settings.runs_per_case)?;
    let params: Vec<PriorParam> = shared
        .iter()
        .map(|p| PriorParam::new(p.path.clone(), p.prior))
        .collect();
    let scales = vec![settings.scale; observed.len()];
    let problem = Problem::new(params, observed, scales, model)?;
    let mut config = SmcConfig::new(settings.seed, settings.population);
    config.max_generations = settings.generations;
    config.max_simulations = settings.max_simulations.max(config.initial_draws);
    let mut smc = Smc::new(&problem, config).checkpoint(checkpoint);
    if let Some(flag) = cancel {
        smc = smc.cancel(flag);
    }
    if let Some(population) = resume {
        smc = smc.resume(population);
    }
    let outcome = smc.run()?;
    Ok(JointFit {
        shared: shared.to_vec(),
        population: outcome.population,
        stop: outcome.stop,
    })
}

/// A case's `scenario` once per run, `runs` runs, with the fit's particles
/// resampled systematically by weight (run `k` takes the particle whose
/// cumulative weight first reaches `(k + 1/2) / runs`).
///
/// # Errors
/// [`FitError::Path`] if a shared parameter's path does not resolve in the
/// case; [`ParamError`]s surface as [`FitError::Path`] too.
pub fn posterior_variants(
    fit: &JointFit,
    scenario: &Scenario,
    runs: u64,
) -> Result<Variants, FitError> {
    let targets = fit
        .shared
        .iter()
        .map(|p| resolve(&p.path, scenario))
        .collect::<Result<Vec<_>, _>>()?;
    let pop = &fit.population;
    let d = pop.dim();
    let weights = pop.weights();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in weights {
        acc += w / total;
        cumulative.push(acc);
    }
    let mut variants = Vec::with_capacity(runs as usize);
    let mut i = 0;
    for k in 0..runs {
        let u = (k as f64 + 0.5) / runs as f64;
        while i + 1 < cumulative.len() && cumulative[i] < u {
            i += 1;
        }
        let particle = &pop.particles()[i * d..(i + 1) * d];
        let mut s = scenario.clone();
        apply(&mut s, &targets, particle).map_err(|e| FitError::Path {
            path: e.to_string(),
        })?;
        variants.push(s);
    }
    Ok(Variants::PerRun(variants))
}
