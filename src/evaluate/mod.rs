//! Evaluation: how far armsim's forecasts deserve trust, measured on a
//! library of past shocks against naive baselines.
//!
//! A [`case::Case`] is a scenario that starts in a shock's year from the
//! record before it, with the SIPRI record of what followed. The evaluation
//! forecasts each case's supplier shares over windows after the shock
//! ([`forecast`]), computes the naive forecasts a reviewer would try first
//! ([`baseline`]), and scores both against the record ([`score`]): the
//! absolute error of the median share, the CRPS of the forecast
//! distribution, the coverage of its 50% and 90% bands, and the skill
//! `1 - model / baseline` per case and averaged over cases.
//!
//! Two modes ([`Mode`]): at the scenarios' own values (quick: nothing is
//! fitted), or leave one case out, where the parameters the cases share are
//! fitted on every other case's record ([`fit`]) and the
//! left-out case is forecast from its pre-shock record alone, with the
//! posterior's spread in its bands.
//!
//! [`run::Evaluator`] is the `evaluate` command's lifecycle around this
//! (output directory, saved folds, resume, writing).
//!
//! Every simulation runs in one pool, through the executor
//! ([`executor::map_indexed_or_cancel`]); run `k` of a case draws from stream `k`
//! of the case's seed, so the scores are the same bits whatever the thread
//! count.

pub mod baseline;
pub mod case;
pub mod fit;
pub mod forecast;
pub mod report;
pub mod run;
pub mod score;
pub mod zero_years;

use std::sync::atomic::AtomicBool;

use crate::data::Years;
use crate::executor;
use baseline::Baseline;
use case::{Case, WindowKind};
use forecast::{Variants, shares};
use score::{Ensemble, crps_point, skill};

/// Runs a job of the pool simulates at a time: small enough to spread a
/// case over the threads, large enough to reuse a simulator's buffers.
const CHUNK: u64 = 64;

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluateError {
    /// No cases to evaluate.
    #[error("no cases to evaluate")]
    NoCases,
    /// Two cases share an id (their outputs would collide).
    #[error("two cases are called {0}: case ids (file stems) must be unique")]
    DuplicateCase(String),
    /// A runs count outside 1 to [`MAX_RUNS`].
    #[error("runs per case {0}: expected a whole number from 1 to {MAX_RUNS}")]
    Runs(u64),
    /// The thread pool could not be built.
    #[error("cannot start {threads} threads: {message}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// Why.
        message: String,
    },
    /// Interrupted.
    #[error("interrupted")]
    Cancelled,
}

/// One case's forecast parameters: what the model ran with.
#[derive(Debug, Clone)]
pub struct Forecaster {
    /// The scenarios of its runs.
    pub variants: Variants,
    /// How they were obtained, in words ("the scenario's values", "fitted
    /// on 16 other cases").
    pub how: String,
    /// The fitted parameters' medians, if any were fitted: (path, value).
    pub fitted: Vec<(String, f64)>,
}

/// How the forecasts' parameters are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every case at its scenario's values.
    Defaults,
    /// Each case with the parameters fitted on all the others.
    LeaveOneOut,
}

impl Mode {
    /// The name files and tables use.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Defaults => "defaults",
            Mode::LeaveOneOut => "leave-one-case-out",
        }
    }
}

/// Which of a case's timeline a forecast knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeline {
    /// Every event of the case's sourced timeline, later ones included (a
    /// sanction's lifting, a war): a forecast conditional on the political
    /// events, asking how the market answers them.
    Full,
    /// Only the events up to the shock's quarter: what a forecaster knew on
    /// the day (ex ante).
    AtShock,
}

impl Timeline {
    /// The name files and tables use.
    pub fn name(self) -> &'static str {
        match self {
            Timeline::Full => "full timeline",
            Timeline::AtShock => "timeline up to the shock (ex ante)",
        }
    }

    /// A case's scenario with this much of its timeline.
    pub fn scenario(self, case: &Case) -> crate::model::Scenario {
        match self {
            Timeline::Full => case.loaded.scenario.clone(),
            Timeline::AtShock => case.ex_ante(),
        }
    }
}

/// One row of `scores.csv`: a case, a window, a supplier group.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The case's id.
    pub case: String,
    /// The window.
    pub window: WindowKind,
    /// Its years.
    pub years: Years,
    /// The supplier group.
    pub supplier: String,
    /// Its observed share of the window's deliveries.
    pub observed: f64,
    /// Its observed deliveries in the window, TIV millions.
    pub observed_tiv: f64,
    /// The model's share: 5th, 25th, 50th, 75th and 95th percentiles over runs.
    pub model: [f64; 5],
    /// Runs that delivered anything in the window (the share's ensemble).
    pub model_runs: usize,
    /// The model's deliveries in the window: 5th, 50th and 95th percentiles.
    pub model_tiv: [f64; 3],
    /// Each baseline's share ([`Baseline::ALL`] order; NaN where it has none).
    pub baselines: [f64; baseline::COUNT],
    /// `|median - observed|`.
    pub abs_error: f64,
    /// The CRPS of the model's ensemble.
    pub crps: f64,
    /// Whether the observed share is within the model's 50% band.
    pub covered50: bool,
    /// ... and within its 90% band.
    pub covered90: bool,
}

/// A case-window's scores: means over its supplier groups.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseScore {
    /// The case's id.
    pub case: String,
    /// The window.
    pub window: WindowKind,
    /// Its years.
    pub years: Years,
    /// The window's observed deliveries, all groups (the volume weight).
    pub volume: f64,
    /// Mean CRPS over groups, model.
    pub crps: f64,
    /// Mean absolute error of the median share, model.
    pub abs_error: f64,
    /// Mean CRPS (= absolute error) of each baseline.
    pub baseline: [f64; baseline::COUNT],
    /// Groups whose observed share is within the 50% and the 90% band.
    pub covered: (usize, usize),
    /// Groups scored.
    pub groups: usize,
}

/// Skill over cases of one window kind, against one baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    /// The window kind.
    pub window: WindowKind,
    /// The baseline.
    pub baseline: Baseline,
    /// `1 - mean model CRPS / mean baseline CRPS`, cases weighted alike.
    pub crps: f64,
    /// The same, cases weighted by their window's volume.
    pub crps_weighted: f64,
    /// The same with the median's absolute error for the model's score.
    pub abs_error: f64,
    /// ... volume-weighted.
    pub abs_error_weighted: f64,
    /// Cases where the model's CRPS is below the baseline's.
    pub beaten: usize,
    /// Cases scored.
    pub cases: usize,
}

/// A whole evaluation's results.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// How parameters were chosen.
    pub mode: Mode,
    /// How much of each case's timeline the forecasts knew.
    pub timeline: Timeline,
    /// Runs per case.
    pub runs: u64,
    /// Per case: id, name, shock, how its forecast was parameterised, and
    /// the windows it could not be scored on (no deliveries observed).
    pub cases: Vec<CaseInfo>,
    /// Every scored row.
    pub rows: Vec<ScoreRow>,
    /// Every scored case-window.
    pub scores: Vec<CaseScore>,
    /// Skill per window kind and baseline.
    pub skill: Vec<Skill>,
    /// The zero-year check ([`zero_years`]): each active group's chance of
    /// delivering nothing in each year from the shock to `+7`.
    pub zero_years: Vec<zero_years::ZeroYearRow>,
}

/// What the evaluation says about one case besides its scores.
#[derive(Debug, Clone)]
pub struct CaseInfo {
    /// The case's id.
    pub id: String,
    /// Its scenario's name.
    pub name: String,
    /// The shock's quarter.
    pub shock: String,
    /// Its kind.
    pub kind: String,
    /// Supplier groups.
    pub groups: Vec<String>,
    /// The five years before the shock year and each group's share then.
    pub before: (Years, Vec<f64>),
    /// How the forecast was parameterised.
    pub how: String,
    /// Fitted parameters' medians, if fitted.
    pub fitted: Vec<(String, f64)>,
    /// Windows without an observed delivery, not scored.
    pub unscored: Vec<Years>,
}

/// Simulates every case's runs in one pool (`threads`, or rayon's default)
/// and scores them. `forecasters[c]` says what case `c` runs.
///
/// # Errors
/// [`EvaluateError`].
pub fn evaluate(
    cases: &[Case],
    forecasters: &[Forecaster],
    mode: Mode,
    timeline: Timeline,
    runs: u64,
    cancel: Option<&AtomicBool>,
) -> Result<Evaluation, EvaluateError> {
    if cases.is_empty() {
        return Err(EvaluateError::NoCases);
    }
    check_runs(runs)?;
    for (i, c) in cases.iter().enumerate() {
        if cases[..i].iter().any(|d| d.id() == c.id()) {
            return Err(EvaluateError::DuplicateCase(c.id().to_string()));
        }
    }
    let windows: Vec<_> = cases.iter().map(Case::windows).collect();
    // Each run also records the single years the zero-year check reads,
    // after the scored windows.
    let simulated: Vec<Vec<case::Window>> = cases
        .iter()
        .zip(&windows)
        .map(|(case, w)| [w.clone(), zero_years::years(case)].concat())
        .collect();
    let per_case = simulate_cases(cases, forecasters, &simulated, runs, cancel)?;
    let mut out = Evaluation {
        mode,
        timeline,
        runs,
        cases: Vec::new(),
        rows: Vec::new(),
        scores: Vec::new(),
        skill: Vec::new(),
        zero_years: Vec::new(),
    };
    for (c, case) in cases.iter().enumerate() {
        let baselines: Vec<Option<Vec<f64>>> =
            Baseline::ALL.iter().map(|b| b.forecast(case)).collect();
        let mut info = CaseInfo {
            id: case.id().to_string(),
            name: case.loaded.scenario.name().to_string(),
            shock: case.shock.to_string(),
            kind: case.kind.clone(),
            groups: case.groups().to_vec(),
            before: (
                case.before(),
                baselines[0]
                    .clone()
                    .unwrap_or_else(|| vec![f64::NAN; case.groups().len()]),
            ),
            how: forecasters[c].how.clone(),
            fitted: forecasters[c].fitted.clone(),
            unscored: Vec::new(),
        };
        for (w, window) in windows[c].iter().enumerate() {
            match score_window(case, window, w, &per_case[c], &baselines) {
                Some((score, rows)) => {
                    out.rows.extend(rows);
                    out.scores.push(score);
                }
                None => info.unscored.push(window.years),
            }
        }
        let scored = windows[c].len();
        let years: Vec<&[Vec<f64>]> = per_case[c].iter().map(|run| &run[scored..]).collect();
        out.zero_years
            .extend(zero_years::rows(case, &simulated[c][scored..], &years));
        out.cases.push(info);
    }
    out.skill = skills(&out.scores);
    Ok(out)
}

/// Every case's runs, in chunks of [`CHUNK`] through the executor (run `k`
/// of a case on stream `k` of its seed), recording `simulated[c]`'s
/// windows; per case, its runs in order.
fn simulate_cases(
    cases: &[Case],
    forecasters: &[Forecaster],
    simulated: &[Vec<case::Window>],
    runs: u64,
    cancel: Option<&AtomicBool>,
) -> Result<Vec<Vec<forecast::RunDeliveries>>, EvaluateError> {
    let jobs: Vec<(usize, std::ops::Range<u64>)> = (0..cases.len())
        .flat_map(|c| {
            (0..runs.div_ceil(CHUNK)).map(move |j| (c, j * CHUNK..((j + 1) * CHUNK).min(runs)))
        })
        .collect();
    let results = executor::map_indexed_or_cancel(0..jobs.len() as u64, cancel, |j| {
        let (c, range) = &jobs[j as usize];
        let seed = cases[*c].loaded.scenario.seed();
        forecast::simulate(
            &forecasters[*c].variants,
            &simulated[*c],
            seed,
            range.clone(),
        )
    })
    .ok_or(EvaluateError::Cancelled)?;
    let mut per_case: Vec<Vec<forecast::RunDeliveries>> = vec![Vec::new(); cases.len()];
    for ((c, _), runs) in jobs.iter().zip(results) {
        per_case[*c].extend(runs);
    }
    Ok(per_case)
}

/// Window `w` of `case` scored: a row per supplier group (the model's
/// quantiles from `runs`, each baseline, errors, CRPS, coverage) and the
/// window's means over them; `None` if the record has no delivery in it.
fn score_window(
    case: &Case,
    window: &case::Window,
    w: usize,
    runs: &[forecast::RunDeliveries],
    baselines: &[Option<Vec<f64>>],
) -> Option<(CaseScore, Vec<ScoreRow>)> {
    let observed = case.record.shares(window.years).ok()?;
    let run_shares: Vec<Vec<f64>> = runs.iter().map(|run| shares(&run[w])).collect();
    let mut score = CaseScore {
        case: case.id().to_string(),
        window: window.kind,
        years: window.years,
        volume: observed.total,
        crps: 0.0,
        abs_error: 0.0,
        baseline: [0.0; baseline::COUNT],
        covered: (0, 0),
        groups: case.groups().len(),
    };
    let mut rows = Vec::with_capacity(case.groups().len());
    for (g, supplier) in case.groups().iter().enumerate() {
        let ensemble = Ensemble::new(run_shares.iter().map(|s| s[g]));
        let tiv = Ensemble::new(runs.iter().map(|run| run[w][g]));
        let y = observed.shares[g];
        let q = |p| ensemble.quantile(p);
        let base: [f64; baseline::COUNT] =
            std::array::from_fn(|b| baselines[b].as_ref().map_or(f64::NAN, |v| v[g]));
        let row = ScoreRow {
            case: case.id().to_string(),
            window: window.kind,
            years: window.years,
            supplier: supplier.clone(),
            observed: y,
            observed_tiv: observed.tiv[g],
            model: [q(0.05), q(0.25), q(0.5), q(0.75), q(0.95)],
            model_runs: ensemble.len(),
            model_tiv: [tiv.quantile(0.05), tiv.median(), tiv.quantile(0.95)],
            baselines: base,
            abs_error: (ensemble.median() - y).abs(),
            crps: ensemble.crps(y),
            covered50: ensemble.covers(0.5, y),
            covered90: ensemble.covers(0.9, y),
        };
        let n = case.groups().len() as f64;
        score.crps += row.crps / n;
        score.abs_error += row.abs_error / n;
        for (b, s) in score.baseline.iter_mut().enumerate() {
            *s += crps_point(base[b], y) / n;
        }
        score.covered.0 += usize::from(row.covered50);
        score.covered.1 += usize::from(row.covered90);
        rows.push(row);
    }
    Some((score, rows))
}

/// Skill per window kind and baseline over the scored case-windows.
pub fn skills(scores: &[CaseScore]) -> Vec<Skill> {
    let mut out = Vec::new();
    for kind in [WindowKind::ShockYear, WindowKind::Early, WindowKind::Late] {
        let of_kind: Vec<&CaseScore> = scores.iter().filter(|s| s.window == kind).collect();
        for (b, &baseline) in Baseline::ALL.iter().enumerate() {
            let scored: Vec<&&CaseScore> = of_kind
                .iter()
                .filter(|s| s.baseline[b].is_finite() && s.crps.is_finite())
                .collect();
            if scored.is_empty() {
                continue;
            }
            let mean = |f: &dyn Fn(&CaseScore) -> f64, weighted: bool| {
                let (mut sum, mut weights) = (0.0, 0.0);
                for s in &scored {
                    let w = if weighted { s.volume } else { 1.0 };
                    sum += w * f(s);
                    weights += w;
                }
                sum / weights
            };
            let base = |s: &CaseScore| s.baseline[b];
            out.push(Skill {
                window: kind,
                baseline,
                crps: skill(mean(&|s| s.crps, false), mean(&base, false)),
                crps_weighted: skill(mean(&|s| s.crps, true), mean(&base, true)),
                abs_error: skill(mean(&|s| s.abs_error, false), mean(&base, false)),
                abs_error_weighted: skill(mean(&|s| s.abs_error, true), mean(&base, true)),
                beaten: scored.iter().filter(|s| s.crps < s.baseline[b]).count(),
                cases: scored.len(),
            });
        }
    }
    out
}

/// The most runs per case: an evaluation keeps every run's window
/// deliveries (a few hundred bytes a run) to score their distribution, so
/// this bounds its memory (about 30 MB a case: Pakistan 1990's peak memory
/// at 100,000 runs is 28 MB above its peak at 1,000, measured with GNU
/// time); the scores' sampling error is long negligible by then.
pub const MAX_RUNS: u64 = 100_000;

/// Checks a runs count.
///
/// # Errors
/// [`EvaluateError::Runs`] outside 1 to [`MAX_RUNS`].
pub fn check_runs(runs: u64) -> Result<(), EvaluateError> {
    if (1..=MAX_RUNS).contains(&runs) {
        Ok(())
    } else {
        Err(EvaluateError::Runs(runs))
    }
}

/// Each case at its own scenario's values, knowing `timeline`: the quick
/// mode's forecasters.
pub fn at_defaults(cases: &[Case], timeline: Timeline) -> Vec<Forecaster> {
    cases
        .iter()
        .map(|c| Forecaster {
            variants: Variants::One(Box::new(timeline.scenario(c))),
            how: "the scenario's values".into(),
            fitted: Vec::new(),
        })
        .collect()
}

/// What a leave-one-case-out evaluation fits and forecasts.
#[derive(Debug, Clone)]
pub struct LeaveOneOut {
    /// The parameters the cases share, fitted on all but one.
    pub shared: Vec<fit::SharedParam>,
    /// The calibration's settings; fold `k` uses seed `settings.seed + k`.
    pub settings: fit::FitSettings,
    /// How much of the left-out case's timeline its forecast knows.
    pub timeline: Timeline,
    /// Runs of each forecast.
    pub runs: u64,
}

/// Each case forecast from the shared parameters fitted on every other
/// case (leave one case out), knowing `timeline` of its own (the fit uses
/// the other cases' whole timelines: they are history). `load(k)` may return fold `k`'s population
/// saved by `save(k, population)` (which is given each complete generation),
/// to continue an interrupted evaluation; a fold already complete is then
/// not fitted again.
///
/// Fold `k`'s calibration seed is `settings.seed + k`, so a fold's fit is
/// the same whichever folds were resumed.
///
/// # Errors
/// [`fit::FitError`] from a fold's fit (cancellation included).
pub fn leave_one_out(
    cases: &[Case],
    plan: &LeaveOneOut,
    cancel: Option<&AtomicBool>,
    load: &mut dyn FnMut(usize) -> Option<crate::calibrate::population::Population>,
    save: &mut dyn FnMut(usize, &crate::calibrate::population::Population) -> std::io::Result<()>,
) -> Result<Vec<Forecaster>, fit::FitError> {
    let LeaveOneOut {
        shared,
        settings,
        timeline,
        runs,
    } = plan;
    let (settings, timeline, runs) = (*settings, *timeline, *runs);
    // The contracts a quarter, unless fitted from shares with the rest:
    // each fold's from the other cases' zero years.
    let contracts = if shared.iter().any(|p| p.path == zero_years::CONTRACTS_PATH) {
        None
    } else {
        Some(contracts_fit(cases, runs, cancel)?)
    };
    let mut out = Vec::with_capacity(cases.len());
    for k in 0..cases.len() {
        let chosen = contracts.as_ref().and_then(|f| f.best_without(Some(k)));
        let fold_cases: Vec<Case> = cases
            .iter()
            .map(|c| with_contracts(c, chosen))
            .collect::<Result<_, _>>()?;
        let case = &fold_cases[k];
        let others: Vec<&Case> = fold_cases
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, c)| c)
            .collect();
        let mut s = settings;
        s.seed = settings.seed.wrapping_add(k as u64);
        let fold = fit::fit(&others, shared, s, cancel, load(k), &mut |p| save(k, p))?;
        if fold.stop == crate::calibrate::abc::Stop::Cancelled {
            return Err(fit::FitError::Abc(
                crate::calibrate::abc::AbcError::Cancelled,
            ));
        }
        out.push(Forecaster {
            variants: fit::posterior_variants(&fold, &timeline.scenario(case), runs)?,
            how: format!(
                "the buyer's preferences fitted on the {} other cases",
                cases.len() - 1
            ),
            fitted: fold
                .medians()
                .into_iter()
                .chain(chosen.map(|v| (format!("{} (zero years)", zero_years::CONTRACTS_PATH), v)))
                .collect(),
        });
    }
    Ok(out)
}

/// `case` with its contracts a quarter set to `value`, if given.
fn with_contracts(case: &Case, value: Option<f64>) -> Result<Case, fit::FitError> {
    let mut case = case.clone();
    if let Some(v) = value {
        fit::set_shared(&mut case.loaded.scenario, zero_years::CONTRACTS_PATH, v)?;
    }
    Ok(case)
}

/// The zero-year check of every case (at its values, whole timeline) at
/// each value of [`zero_years::CONTRACTS_GRID`], `runs` runs a case: what
/// each fold of [`leave_one_out`] picks its contracts a quarter from.
///
/// # Errors
/// [`fit::FitError::ZeroYears`] (cancellation as [`fit::FitError::Abc`]).
pub fn contracts_fit(
    cases: &[Case],
    runs: u64,
    cancel: Option<&AtomicBool>,
) -> Result<zero_years::ContractsFit, fit::FitError> {
    let mut rows = Vec::new();
    for v in zero_years::CONTRACTS_GRID {
        let at_v: Vec<Case> = cases
            .iter()
            .map(|c| with_contracts(c, Some(v)))
            .collect::<Result<_, _>>()?;
        let forecasters = at_defaults(&at_v, Timeline::Full);
        match evaluate(
            &at_v,
            &forecasters,
            Mode::Defaults,
            Timeline::Full,
            runs,
            cancel,
        ) {
            Ok(e) => rows.push(e.zero_years),
            Err(EvaluateError::Cancelled) => {
                return Err(fit::FitError::Abc(
                    crate::calibrate::abc::AbcError::Cancelled,
                ));
            }
            Err(e) => return Err(fit::FitError::ZeroYears(Box::new(e))),
        }
    }
    let ids: Vec<&str> = cases.iter().map(Case::id).collect();
    Ok(zero_years::ContractsFit::new(
        zero_years::CONTRACTS_GRID.to_vec(),
        &ids,
        &rows,
    ))
}
