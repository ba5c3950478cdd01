//! A whole calibration of a scenario, from its `[calibration]` section to a
//! posterior, its fit and its forecast: the [`Calibration`] builder.
//!
//! [`Calibration::run`] owns the lifecycle, in this order:
//!
//! 1. **Targets.** The observed statistics from SIPRI's record
//!    ([`Spec::observed`]) and the model that simulates them
//!    ([`ScenarioModel`]).
//! 2. **History matching** (optional, [`super::history`]): one wave of prior
//!    draws with replicates rules out the implausible region and narrows each
//!    prior to the box that remains.
//! 3. **Scales.** Each statistic's scale in the distance: a fixed number from
//!    the spec, or (`mad`) its median absolute deviation over a pilot of prior
//!    draws, falling back to the standard deviation where the MAD is 0.
//! 4. **ABC-SMC** ([`super::abc::Smc`]): generation 0 keeps the best
//!    `population` of `initial_draws` prior draws, which is the rejection-ABC
//!    baseline (Pritchard et al. 1999) on exactly those draws; later
//!    generations shrink the tolerance adaptively. Every complete generation
//!    is saved to the checkpoint directory, if one is given, and a resumed
//!    calibration continues from the latest and ends with the same bits.
//! 5. **Calibrated values.** A parameter the data identify (its posterior
//!    standard deviation under [`IDENTIFIED`] times its prior's) takes its
//!    posterior median, rounded to four significant digits; one they do not
//!    keeps the scenario's value, since the median of a posterior as wide as
//!    its prior is only the prior's centre.
//! 6. **Posterior predictive check.** Particles resampled from the posterior,
//!    each simulated `predictive_runs` times: the band within which the model
//!    puts each observed statistic, and the statistics of the calibrated
//!    scenario (the calibrated values, as written to the calibrated file).
//! 7. **Forecast across the posterior.** The forecast scenario (the spec's
//!    `forecast`, by default the calibration scenario) run at resampled
//!    particles: each outcome's distribution pooled over particles and runs,
//!    the spread of the particles' means (what parameter uncertainty alone
//!    does), the outcome at the calibrated values, and a merged
//!    [`Summary`] of every run for fan charts.
//!
//! Everything is a function of the scenario, the spec and its seed: every
//! random draw comes from a ChaCha8 stream keyed by a seed derived from the
//! master seed and the stage (SHA-256 of a tag and the seed), so no two
//! stages share streams and the thread count changes nothing. The library
//! writes nothing but checkpoints; [`super::report`] writes the outputs.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::abc::{
    self, AbcError, Keep, Model, Population, PopulationFileError, Problem, Rejection,
    RejectionConfig, Smc, SmcConfig, SmcOutcome,
};
use super::history::{WaveConfig, history_match};
use super::population::is_population_file;
use super::posterior::{Posterior, weighted_quantile};
use super::prior::PriorParam;
use super::report;
use super::sim::{ModelError, ScenarioModel};
use super::spec::{Scale, Spec, SpecError, Statistic, WaveSpec};
use crate::engine::{Observer, PairObserver, QuarterView, Simulator, run_rng};
use crate::executor::{self, Job, Rounds};
use crate::experiment::outcome::{Outcome, OutcomeError, ScenarioWorker};
use crate::experiment::points::OutcomeStats;
use crate::lifecycle::{Notice, Start, tell};
use crate::model::{ParamError, Scenario, Target};
use crate::scenario::{Loaded, ScenarioError, load_file};
use crate::summary::{RECORDER_CAPACITY, Recorder, Summary};

/// A parameter is identified when its posterior standard deviation is below
/// this fraction of its prior's; see [`super::report::identification`].
pub const IDENTIFIED: f64 = 0.8;

/// Candidates per parallel batch of the ABC stages (part of the populations'
/// fingerprint: changing it changes the bits).
pub const BATCH: u64 = 256;

/// Why a calibration could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalibrationError {
    /// The `[calibration]` section is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The forecast scenario could not be loaded.
    #[error("forecast scenario: {0}")]
    Forecast(#[source] ScenarioError),
    /// A calibrated parameter is not a parameter of the forecast scenario.
    #[error("the forecast scenario {scenario} has no parameter `{path}`")]
    ForecastParam {
        /// The forecast scenario.
        scenario: String,
        /// The parameter's path.
        path: String,
    },
    /// An outcome of the forecast does not fit its scenario.
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
    /// The model could not be built.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A parameter value was refused.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// ABC failed.
    #[error(transparent)]
    Abc(#[from] AbcError),
    /// A statistic does not vary under the prior, so it cannot be scaled.
    #[error(
        "statistic `{statistic}` takes the same value at every pilot draw: give its target a fixed scale"
    )]
    ConstantStatistic {
        /// The statistic.
        statistic: String,
    },
    /// History matching ruled out every point.
    #[error(
        "history matching ruled out all {points} points (implausibility above {cutoff}); widen the priors or drop the wave"
    )]
    EverythingImplausible {
        /// Points evaluated.
        points: u64,
        /// The cutoff.
        cutoff: f64,
    },
    /// A checkpoint could not be written or read.
    #[error(transparent)]
    Checkpoint(#[from] PopulationFileError),
    /// The checkpoint directory could not be listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A resume found later generations but not generation 0.
    #[error("{}: no generation-000 file to resume the rejection baseline from", path.display())]
    ResumeIncomplete {
        /// The checkpoint directory.
        path: PathBuf,
    },
    /// The executor could not give it its threads.
    #[error(transparent)]
    Threads(#[from] crate::executor::ExecutorError),
    /// The calibrated scenario file could not be written: its text lacks
    /// the table of a parameter.
    #[error("cannot write the calibrated value of {path} into the scenario's text")]
    Calibrated {
        /// The parameter's path.
        path: String,
    },
    /// A checkpoint file could not be removed, or is not armsim's; or the
    /// output directory holds something armsim did not write.
    #[error(transparent)]
    Files(#[from] crate::files::FileError),
    /// Another command's checkpoint is where this calibration would keep
    /// its generations.
    #[error(transparent)]
    AnotherCommands(#[from] crate::lifecycle::AnotherCommands),
    /// The outputs could not be written.
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    /// The cancel flag was set.
    #[error("cancelled")]
    Cancelled,
}

/// A stage of a calibration, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The history-matching wave.
    HistoryMatching,
    /// The pilot draws that set the `mad` scales.
    Pilot,
    /// ABC-SMC (generation 0 is the rejection baseline).
    Smc,
    /// The posterior predictive check of the targets.
    Predictive,
    /// The forecast across the posterior.
    Forecast,
}

impl Stage {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::HistoryMatching => "history matching",
            Stage::Pilot => "pilot (scales)",
            Stage::Smc => "ABC-SMC",
            Stage::Predictive => "posterior predictive check",
            Stage::Forecast => "forecast",
        }
    }
}

/// What a calibration reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum CalibrationProgress {
    /// A stage starts; `work` is its number of simulations or runs where
    /// known in advance (0 where not: ABC-SMC stops by its own rules).
    Start {
        /// The stage.
        stage: Stage,
        /// Simulations or runs it will do.
        work: u64,
    },
    /// ABC progress within the pilot or ABC-SMC, after every batch.
    Abc {
        /// The stage.
        stage: Stage,
        /// The progress.
        progress: abc::SmcProgress,
    },
    /// Runs done in the predictive check or the forecast.
    Runs {
        /// The stage.
        stage: Stage,
        /// Runs done.
        done: u64,
        /// Runs in all.
        total: u64,
    },
}

/// A progress callback (Send: stages run in the calibration's worker pool).
pub type ProgressFn<'a> = dyn FnMut(&CalibrationProgress) + Send + 'a;

/// A [`Notice`] handler a calibration can carry into its pool.
pub type SendNoticeFn<'a> = dyn FnMut(Notice<'_>) + Send + 'a;

/// What the history-matching wave did.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveReport {
    /// Points evaluated.
    pub points: u64,
    /// Points kept (implausibility at most the cutoff).
    pub kept: usize,
    /// Simulations run.
    pub simulations: u64,
    /// The cutoff.
    pub cutoff: f64,
    /// Each parameter's support after the wave.
    pub bounds: Vec<(f64, f64)>,
}

/// The distribution of one statistic in the posterior predictive check.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictiveBand {
    /// The statistic.
    pub statistic: Statistic,
    /// Its observed value.
    pub observed: f64,
    /// Its scale in the distance.
    pub scale: f64,
    /// Over resampled particles and single runs: n, mean, sd, 5/25/50/75/95%.
    pub predictive: OutcomeStats,
    /// The calibrated scenario's (the calibrated values): the same
    /// statistics over as many runs.
    pub calibrated: OutcomeStats,
}

impl PredictiveBand {
    /// Whether `x` lies within the predictive 90% band.
    pub fn holds(&self, x: f64) -> bool {
        self.predictive
            .percentiles
            .is_some_and(|p| x >= p[0] && x <= p[4])
    }
}

/// The forecast across the posterior.
#[derive(Debug, Clone)]
pub struct Forecast {
    /// The forecast scenario at the calibrated values (what the calibrated
    /// file describes).
    pub scenario: Scenario,
    /// Where it came from.
    pub origin: String,
    /// The outcomes reported.
    pub outcomes: Vec<String>,
    /// Particles resampled from the posterior.
    pub particles: usize,
    /// Runs per particle.
    pub runs: u64,
    /// Each outcome over every particle and run: the predictive
    /// distribution, parameter and run-to-run uncertainty together.
    pub pooled: Vec<OutcomeStats>,
    /// Each outcome's particle means: what parameter uncertainty alone does.
    pub particle_means: Vec<OutcomeStats>,
    /// Each outcome at the calibrated values, over as many runs.
    pub at_median: Vec<OutcomeStats>,
    /// Every run of every particle, summarised (for fan charts).
    pub summary: Summary,
}

/// What a calibration produced; [`super::report::write`] writes it out.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The fingerprint of its settings ([`Calibration::fingerprint`]).
    pub settings: String,
    /// The calibration scenario's identifier.
    pub id: String,
    /// Where it came from.
    pub origin: String,
    /// The SHA-256 of its resolved form.
    pub hash: String,
    /// The spec.
    pub spec: Spec,
    /// The parameters with their priors as declared.
    pub priors: Vec<PriorParam>,
    /// The priors ABC-SMC ran with (narrowed by history matching, if any).
    pub fitted: Vec<PriorParam>,
    /// The statistics, in order.
    pub statistics: Vec<Statistic>,
    /// Their observed values.
    pub observed: Vec<f64>,
    /// Their scales.
    pub scales: Vec<f64>,
    /// The history-matching wave, if any.
    pub wave: Option<WaveReport>,
    /// Pilot simulations (0 with fixed scales).
    pub pilot_simulations: u64,
    /// Generation 0: the rejection baseline.
    pub rejection: Population,
    /// ABC-SMC's outcome; its population is the posterior.
    pub smc: SmcOutcome,
    /// The generation this run resumed from, if it did.
    pub resumed_from: Option<u32>,
    /// The posterior's summaries.
    pub posterior: Posterior,
    /// The rejection baseline's summaries.
    pub rejection_posterior: Posterior,
    /// The posterior medians, rounded to four significant digits.
    pub medians: Vec<f64>,
    /// Whether the data identify each parameter (posterior sd below
    /// [`IDENTIFIED`] times the prior's).
    pub identified: Vec<bool>,
    /// The calibrated values written to the forecast scenario: the median
    /// where identified, the scenario's own value elsewhere.
    pub calibrated: Vec<f64>,
    /// The forecast scenario's values before calibration.
    pub before: Vec<f64>,
    /// The posterior predictive check, one band per statistic.
    pub bands: Vec<PredictiveBand>,
    /// The forecast across the posterior.
    pub forecast: Forecast,
    /// The calibration scenario's text with the calibrated values written in.
    pub calibrated_history: String,
    /// The forecast scenario's text with the calibrated values written in.
    pub calibrated_forecast: String,
    /// The forecast scenario's identifier.
    pub forecast_id: String,
    /// Worker threads.
    pub threads: usize,
    /// Wall time of each stage.
    pub timings: Vec<(Stage, Duration)>,
}

impl Fit {
    /// Simulations of the ABC stages (wave, pilot, SMC).
    pub fn abc_simulations(&self) -> u64 {
        self.wave.as_ref().map_or(0, |w| w.simulations)
            + self.pilot_simulations
            + self.smc.total_simulations
    }

    /// Each parameter's posterior standard deviation over its prior's
    /// (as declared): near 1 the data say little about it.
    pub fn sd_ratio(&self) -> Vec<f64> {
        self.priors
            .iter()
            .zip(&self.posterior.sd)
            .map(|(p, sd)| sd / p.prior.variance().sqrt())
            .collect()
    }
}

/// A calibration of a scenario: a builder; see the module documentation.
pub struct Calibration<'a> {
    loaded: &'a Loaded,
    spec: Spec,
    forecast: Option<Loaded>,
    threads: usize,
    progress: Option<&'a mut ProgressFn<'a>>,
    notice: Option<&'a mut SendNoticeFn<'a>>,
    cancel: Option<&'a AtomicBool>,
    checkpoints: Option<PathBuf>,
    resume: bool,
    observed: Option<Vec<f64>>,
}

/// A seed for `stage`, derived from the master seed (within the 63 bits a
/// scenario's seed may have).
pub fn derived_seed(seed: u64, stage: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(b"armsim calibration ");
    h.update(stage.as_bytes());
    h.update(seed.to_le_bytes());
    let bytes: [u8; 32] = h.finalize().into();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(first) >> 1
}

/// `n` indices drawn from `weights` by systematic resampling (one uniform
/// offset, then evenly spaced): each particle appears about `n w_i` times,
/// with less noise than independent draws.
pub fn resample(weights: &[f64], n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    if weights.is_empty() || n == 0 || total.is_nan() || total <= 0.0 {
        return Vec::new();
    }
    let step = total / n as f64;
    let mut u = rng.random::<f64>() * step;
    let mut cumulative = 0.0;
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    for _ in 0..n {
        while i + 1 < weights.len() && cumulative + weights[i] < u {
            cumulative += weights[i];
            i += 1;
        }
        out.push(i);
        u += step;
    }
    out
}

/// Where `armsim calibrate` writes by default: `root/SLUG_calibration`
/// (the slug is the scenario's id and its model overrides, one path
/// component).
pub fn default_dir(root: &Path, loaded: &Loaded) -> PathBuf {
    root.join(format!(
        "{}_calibration",
        crate::files::path_component(&loaded.slug())
    ))
}

/// Where the checkpoints of a calibration written to `out` live: a hidden
/// directory beside it, `.NAME.checkpoint`.
pub fn checkpoint_dir(out: &Path) -> PathBuf {
    let name = out.file_name().map_or_else(
        || "calibration".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    out.with_file_name(format!(".{name}.checkpoint"))
}

/// What [`Calibration::run_into`] produced.
#[derive(Debug)]
pub struct CalibrationWritten {
    /// The calibration.
    pub fit: Fit,
    /// The output directory.
    pub dir: PathBuf,
    /// The files written, relative to it.
    pub files: Vec<PathBuf>,
}

/// `x` rounded to `digits` significant digits.
pub fn significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let factor = 10f64.powi(digits - 1 - magnitude);
    (x * factor).round() / factor
}

/// The file name of generation `g`'s checkpoint.
pub fn generation_file(g: u32) -> String {
    format!("generation-{g:03}.abcpop")
}

/// Removes the checkpoints of a calibration from `dir`: the files named
/// like [`generation_file`] that are populations (anything else there,
/// whatever its name, is left alone), then `dir` itself if that leaves it
/// empty.
///
/// # Errors
/// [`crate::files::FileError`] if `dir` cannot be listed or a population
/// cannot be removed.
pub fn remove_checkpoints(dir: &Path) -> Result<(), crate::files::FileError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(crate::files::FileError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with("generation-") && name.ends_with(".abcpop") && is_population_file(&path)
        {
            crate::files::remove_file_if_ours(&path, is_population_file)?;
        }
    }
    // Fails, harmlessly, if anything else is left.
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

/// The latest generation saved in `dir`, if any: a population file named
/// `generation-NNN.abcpop` (a file of that name holding anything else is
/// not counted, and never removed).
fn latest_generation(dir: &Path) -> Result<Option<u32>, CalibrationError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CalibrationError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut latest = None;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(g) = name
            .strip_prefix("generation-")
            .and_then(|r| r.strip_suffix(".abcpop"))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|_| is_population_file(&entry.path()))
        {
            latest = latest.max(Some(g));
        }
    }
    Ok(latest)
}

/// The posterior medians to four significant digits, and whether the data
/// identify each parameter (its posterior sd is below [`IDENTIFIED`] of its
/// prior's).
fn identify(priors: &[PriorParam], posterior: &Posterior) -> (Vec<f64>, Vec<bool>) {
    let medians = posterior.q50.iter().map(|&x| significant(x, 4)).collect();
    let identified = priors
        .iter()
        .zip(&posterior.sd)
        .map(|(p, sd)| sd / p.prior.variance().sqrt() < IDENTIFIED)
        .collect();
    (medians, identified)
}

fn cancelled(flag: Option<&AtomicBool>) -> bool {
    flag.is_some_and(|f| f.load(Ordering::Relaxed))
}

/// The default forecast outcomes of `scenario`: each supplier's rolling
/// share five years before the horizon and at it, its support at the
/// horizon, and whether an embargo was ever in force.
pub fn default_forecast_outcomes(scenario: &Scenario) -> Vec<String> {
    let last = scenario.quarters() - 1;
    let mut out = Vec::new();
    for s in scenario.suppliers() {
        if last >= 20 {
            out.push(format!(
                "rolling_share:{}@{}",
                s.name(),
                scenario.label(last - 20)
            ));
        }
        out.push(format!("rolling_share:{}@end", s.name()));
    }
    for s in scenario.suppliers() {
        out.push(format!("support:{}@end", s.name()));
    }
    out.push("max:embargo:world@start..end".into());
    out
}

impl<'a> Calibration<'a> {
    /// A calibration of `loaded` by its `[calibration]` section, with
    /// relative paths resolved against `base` (the scenario file's
    /// directory). Reads the data and the forecast scenario now, so that
    /// every problem is reported before anything runs.
    ///
    /// # Errors
    /// [`CalibrationError::Spec`], [`CalibrationError::Forecast`],
    /// [`CalibrationError::ForecastParam`] or [`CalibrationError::Outcome`].
    pub fn new(loaded: &'a Loaded, base: &Path) -> Result<Calibration<'a>, CalibrationError> {
        let spec = Spec::read(loaded, base)?;
        let forecast = match &spec.forecast {
            Some(path) => Some(load_file(path, &[]).map_err(CalibrationError::Forecast)?),
            None => None,
        };
        let f = forecast.as_ref().map_or(&loaded.scenario, |l| &l.scenario);
        for p in &spec.params {
            if f.target(&p.path).is_none() {
                return Err(CalibrationError::ForecastParam {
                    scenario: f.id().to_string(),
                    path: p.path.clone(),
                });
            }
        }
        let outcomes = spec
            .forecast_outcomes
            .clone()
            .unwrap_or_else(|| default_forecast_outcomes(f));
        for o in &outcomes {
            Outcome::parse(o, f)?;
        }
        Ok(Calibration {
            loaded,
            spec,
            forecast,
            threads: 0,
            progress: None,
            notice: None,
            cancel: None,
            checkpoints: None,
            resume: false,
            observed: None,
        })
    }

    /// The fingerprint of what this calibration's results depend on: the
    /// scenario as resolved, its `[calibration]` section and the settings
    /// read from it (as changed by [`Calibration::settings`]), the forecast
    /// scenario, the data file's
    /// bytes, and statistics given in place of the data's. Its manifest
    /// records it, and a later calibration replaces this one in its default
    /// directory only if they match.
    pub fn fingerprint(&self) -> String {
        let data = std::fs::read(&self.spec.data)
            .ok()
            .map(|bytes| crate::files::sha256_hex(&bytes));
        crate::files::settings_fingerprint(&serde_json::json!({
            "kind": "calibration",
            "scenario": self.loaded.hash,
            "calibration": self.loaded.sections.calibration.as_ref().map(ToString::to_string),
            "settings": format!("{:?}", self.spec.settings),
            "forecast": self.forecast.as_ref().map(|f| &f.hash),
            "data": data,
            "observed": self.observed,
        }))
    }

    /// Where this calibration writes, by the rule every command follows:
    /// `out` claimed if given; otherwise [`default_dir`] under `root`,
    /// replaced if it holds a calibration of the same
    /// [`Calibration::fingerprint`], kept with this one going beside it if
    /// it holds another result. An interrupted calibration wrote nothing
    /// to its directory, so the rule gives the same one again and
    /// `resume` finds its checkpoints beside it.
    ///
    /// # Errors
    /// [`crate::files::FileError`] if the directory holds what armsim did
    /// not write.
    pub fn placement(
        &self,
        out: Option<&Path>,
        root: &Path,
    ) -> Result<crate::files::Placement, crate::files::FileError> {
        let settings = self.fingerprint();
        match out {
            Some(dir) => crate::files::claim(dir, &settings),
            None => {
                let default = default_dir(root, self.loaded);
                let parent = default.parent().unwrap_or(Path::new("."));
                let stem = default.file_name().map_or_else(
                    || "calibration".into(),
                    |n| n.to_string_lossy().into_owned(),
                );
                crate::files::place(parent, &stem, "", &settings)
            }
        }
    }

    /// Fits these statistics instead of the data's (in the order of
    /// [`Spec::statistics`]): for tests on known truth, with statistics from
    /// [`Calibration::synthetic`].
    ///
    /// # Errors
    /// [`CalibrationError::Abc`] if their number is not the spec's.
    pub fn observed(mut self, observed: Vec<f64>) -> Result<Self, CalibrationError> {
        let expected = self.spec.statistics(&self.loaded.scenario).len();
        if observed.len() != expected {
            return Err(AbcError::ScalesLength {
                statistics: expected,
                scales: observed.len(),
            }
            .into());
        }
        self.observed = Some(observed);
        Ok(self)
    }

    /// The statistics of one run of the calibration scenario with the
    /// calibrated parameters at `truth` (in the spec's order), drawn from
    /// `run_rng(seed, 0)`: synthetic data whose parameters are known.
    ///
    /// # Errors
    /// [`CalibrationError::Model`] or [`CalibrationError::Param`].
    pub fn synthetic(&self, truth: &[f64], seed: u64) -> Result<Vec<f64>, CalibrationError> {
        let scenario = &self.loaded.scenario;
        let outcomes: Vec<String> = self
            .spec
            .statistics(scenario)
            .into_iter()
            .map(|s| s.outcome)
            .collect();
        let targets = self.spec.params.iter().map(|p| p.target).collect();
        let model = ScenarioModel::new(scenario, targets, &outcomes, 1, seed)?;
        Ok(model.simulate(truth, 0)?)
    }

    /// The validated spec.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Overrides the spec's settings (for tests and quick looks: `--set` on
    /// the file is the user's way).
    pub fn settings(mut self, f: impl FnOnce(&mut super::spec::Settings)) -> Self {
        f(&mut self.spec.settings);
        self
    }

    /// Worker threads; 0 (the default) uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Calls `f` as stages start and progress.
    pub fn progress(mut self, f: &'a mut ProgressFn<'a>) -> Self {
        self.progress = Some(f);
        self
    }

    /// Calls `f` with what [`Calibration::run_into`] does with the
    /// checkpoints of an earlier calibration: the [`Notice`]s every
    /// command's lifecycle gives, generations counting as its units.
    pub fn on_notice(mut self, f: &'a mut SendNoticeFn<'a>) -> Self {
        self.notice = Some(f);
        self
    }

    /// Stops between batches once `flag` is set ([`CalibrationError::Cancelled`];
    /// complete generations are in the checkpoint directory).
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Saves every complete ABC-SMC generation in `dir`.
    pub fn checkpoints(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoints = Some(dir.into());
        self
    }

    /// Continues from the latest generation in the checkpoint directory, if
    /// there is one (a fresh start otherwise).
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// The whole lifecycle of `armsim calibrate`: checks that `dir` may be
    /// written (new, empty, or an earlier armsim directory) before any
    /// work; checkpoints into [`checkpoint_dir`]`(dir)` (continuing from it
    /// with [`Calibration::resume`], replacing an interrupted calibration
    /// there otherwise); runs; writes the outputs all or nothing
    /// ([`super::report::write`], `command_line` into the manifest); and
    /// removes the checkpoints. A cancelled calibration keeps them.
    ///
    /// # Errors
    /// [`CalibrationError::Files`] if `dir` holds something armsim did not
    /// write, and every error of [`Calibration::run`] and
    /// [`super::report::write`].
    pub fn run_into(
        mut self,
        dir: &Path,
        command_line: &[String],
    ) -> Result<CalibrationWritten, CalibrationError> {
        crate::files::check_destination(dir)?;
        let checkpoints = checkpoint_dir(dir);
        let mut notice = self.notice.take();
        let mut say = |n: Notice<'_>| tell(&mut notice, n);
        // The rule every command follows: this command's checkpoint is
        // continued with `resume` and replaced without; another command's
        // state at the path is refused before anything runs.
        let start =
            crate::lifecycle::open_checkpoint(&checkpoints, "calibration", self.resume, &mut say)?;
        match (start, latest_generation(&checkpoints)?) {
            (Start::Resume, Some(generation)) => {
                // Said once the checkpoint is known to be whole (the first
                // generation is there); its populations are read later.
                if !is_population_file(&checkpoints.join(generation_file(0))) {
                    return Err(CalibrationError::ResumeIncomplete { path: checkpoints });
                }
                let done = u64::from(generation) + 1;
                say(Notice::Resuming {
                    checkpoint: &checkpoints,
                    done,
                    total: u64::from(self.spec.settings.max_generations).max(done),
                });
            }
            (Start::Afresh, Some(_)) => remove_checkpoints(&checkpoints)?,
            (_, None) => {}
        }
        self.checkpoints = Some(checkpoints.clone());
        let fit = self.run_telling(notice.as_deref_mut())?;
        let files = report::write(dir, &fit, command_line)?;
        // The outputs are written: a checkpoint that cannot be removed is
        // stale, which is said, not an error.
        if let Err(error) = remove_checkpoints(&checkpoints) {
            tell(
                &mut notice,
                Notice::StaleCheckpoint {
                    checkpoint: &checkpoints,
                    error: &error,
                },
            );
        }
        Ok(CalibrationWritten {
            fit,
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Runs the calibration.
    ///
    /// # Errors
    /// Any [`CalibrationError`]; [`CalibrationError::Cancelled`] if the
    /// cancel flag stopped it.
    pub fn run(mut self) -> Result<Fit, CalibrationError> {
        let notice = self.notice.take();
        self.run_telling(notice)
    }

    /// [`Calibration::run`], saying what happens to its checkpoints to
    /// `notice`.
    fn run_telling(
        mut self,
        notice: Option<&mut SendNoticeFn<'a>>,
    ) -> Result<Fit, CalibrationError> {
        let pool = crate::executor::pool(self.threads)?;
        let threads = pool.current_num_threads();
        let progress = self.progress.take();
        let mut fit = pool.install(move || self.stages(progress, notice))?;
        fit.threads = threads;
        Ok(fit)
    }

    /// The stages in order (history matching, scales, ABC-SMC, the
    /// posterior predictive check, the forecast), then the calibrated files:
    /// the policy of a calibration, each stage's mechanism in its own method.
    fn stages(
        self,
        mut progress: Option<&'a mut ProgressFn<'a>>,
        notice: Option<&mut SendNoticeFn<'a>>,
    ) -> Result<Fit, CalibrationError> {
        let mut report = |p: CalibrationProgress| progress.iter_mut().for_each(|f| f(&p));
        let mut timings = Vec::new();
        let setup = self.setup()?;
        let AbcStages {
            fitted,
            wave,
            scales,
            pilot_simulations,
            smc,
        } = self.abc_stages(&setup, &mut report, notice, &mut timings)?;
        let (statistics, observed, priors) = (setup.statistics, setup.observed, setup.priors);
        let outcome = smc.outcome;
        let posterior = outcome.population.posterior();
        let rejection_posterior = smc.rejection.posterior();
        let (medians, identified) = identify(&priors, &posterior);
        let scenario = &self.loaded.scenario;
        let calibrated_history_values =
            calibrated_in(scenario, &setup.targets, &identified, &medians);
        let started = Instant::now();
        let bands = self.predictive_check(
            &outcome.population,
            &statistics,
            &observed,
            &scales,
            &calibrated_history_values,
            &mut report,
        )?;
        timings.push((Stage::Predictive, started.elapsed()));
        let started = Instant::now();
        let forecast =
            self.forecast_stage(&outcome.population, &identified, &medians, &mut report)?;
        timings.push((Stage::Forecast, started.elapsed()));
        let (calibrated_history, calibrated_forecast) = self.calibrated_files(
            &outcome,
            &Identified {
                priors: &priors,
                posterior: &posterior,
                identified: &identified,
            },
            &calibrated_history_values,
            &forecast,
        )?;
        Ok(Fit {
            settings: self.fingerprint(),
            id: scenario.id().to_string(),
            origin: self.loaded.origin.clone(),
            hash: self.loaded.hash.clone(),
            spec: self.spec.clone(),
            priors,
            fitted,
            statistics,
            observed,
            scales,
            wave,
            pilot_simulations,
            rejection: smc.rejection,
            smc: outcome,
            resumed_from: smc.resumed_from,
            posterior,
            rejection_posterior,
            medians,
            identified,
            calibrated: forecast.calibrated,
            before: forecast.before,
            bands,
            forecast: forecast.runs,
            calibrated_history,
            calibrated_forecast,
            forecast_id: forecast.loaded.scenario.id().to_string(),
            threads: 0,
            timings,
        })
    }

    /// The stages that fit: history matching (if asked for), the scales
    /// (a pilot run if they are not fixed) and ABC-SMC, each timed into
    /// `timings`.
    fn abc_stages(
        &self,
        setup: &Setup,
        report: &mut dyn FnMut(CalibrationProgress),
        notice: Option<&mut SendNoticeFn<'a>>,
        timings: &mut Vec<(Stage, Duration)>,
    ) -> Result<AbcStages, CalibrationError> {
        let Setup {
            statistics,
            observed,
            priors,
            model,
            ..
        } = setup;
        let started = Instant::now();
        let (fitted, wave) = match self.spec.history_matching {
            Some(w) => {
                let (fitted, wave) = self.history_matching(w, priors, observed, model, report)?;
                timings.push((Stage::HistoryMatching, started.elapsed()));
                (fitted, Some(wave))
            }
            None => (priors.clone(), None),
        };

        let started = Instant::now();
        let (scales, pilot) = self.scales(statistics, &fitted, observed, model, report)?;
        if pilot.is_some() {
            timings.push((Stage::Pilot, started.elapsed()));
        }

        let started = Instant::now();
        let smc = self.smc(&fitted, observed, &scales, model, report, notice)?;
        timings.push((Stage::Smc, started.elapsed()));
        Ok(AbcStages {
            fitted,
            wave,
            scales,
            pilot_simulations: pilot.unwrap_or(0),
            smc,
        })
    }

    /// The calibration scenario's and the forecast scenario's texts with
    /// the calibrated values written in, each with the calibration's
    /// provenance.
    fn calibrated_files(
        &self,
        outcome: &SmcOutcome,
        identified: &Identified<'_>,
        history_values: &[f64],
        forecast: &ForecastStage<'_>,
    ) -> Result<(String, String), CalibrationError> {
        let provenance = report::Provenance {
            scenario: self.loaded.origin.clone(),
            seed: self.spec.settings.seed,
            population: self.spec.settings.population,
            generations: outcome.population.generation() + 1,
            epsilon: outcome.population.epsilon(),
            simulations: outcome.total_simulations,
        };
        let file = |loaded: &Loaded, values: &[f64]| {
            report::calibrated_text(
                &loaded.text,
                &self.spec.params,
                values,
                identified.identified,
                identified.priors,
                identified.posterior,
                &provenance,
            )
        };
        Ok((
            file(self.loaded, history_values)?,
            file(forecast.loaded, &forecast.calibrated)?,
        ))
    }

    /// What every stage works on: the statistics and their observed values
    /// (the data's, or those given by [`Calibration::observed`]), the fitted
    /// parameters' targets and priors, and the model that simulates them.
    fn setup(&self) -> Result<Setup, CalibrationError> {
        let spec = &self.spec;
        let s = spec.settings;
        let scenario = &self.loaded.scenario;
        let statistics = spec.statistics(scenario);
        let outcomes: Vec<String> = statistics.iter().map(|x| x.outcome.clone()).collect();
        let observed = self
            .observed
            .clone()
            .unwrap_or_else(|| spec.observed(scenario));
        let targets: Vec<Target> = spec.params.iter().map(|p| p.target).collect();
        let model = ScenarioModel::new(
            scenario,
            targets.clone(),
            &outcomes,
            s.runs_per_simulation,
            s.seed,
        )?;
        let priors: Vec<PriorParam> = spec
            .params
            .iter()
            .map(|p| PriorParam::new(p.path.clone(), p.prior))
            .collect();
        Ok(Setup {
            statistics,
            observed,
            targets,
            priors,
            model,
        })
    }

    /// The forecast stage: the forecast scenario (the calibration scenario
    /// itself if none is named) at its own values and at the calibrated
    /// ones (the posterior medians of the identified parameters), run
    /// across the posterior.
    fn forecast_stage(
        &self,
        posterior: &Population,
        identified: &[bool],
        medians: &[f64],
        report: &mut dyn FnMut(CalibrationProgress),
    ) -> Result<ForecastStage<'_>, CalibrationError> {
        let loaded = self.forecast.as_ref().unwrap_or(self.loaded);
        let scenario = &loaded.scenario;
        let targets: Vec<Target> = self
            .spec
            .params
            .iter()
            .map(|p| scenario.target(&p.path).expect("checked in new"))
            .collect();
        let calibrated = calibrated_in(scenario, &targets, identified, medians);
        let before: Vec<f64> = targets.iter().map(|&t| scenario.param(t)).collect();
        let runs =
            self.forecast_across_the_posterior(posterior, loaded, &targets, &calibrated, report)?;
        Ok(ForecastStage {
            loaded,
            calibrated,
            before,
            runs,
        })
    }

    /// One wave of history matching: the priors narrowed to the region not
    /// implausible.
    fn history_matching(
        &self,
        w: WaveSpec,
        priors: &[PriorParam],
        observed: &[f64],
        model: &ScenarioModel,
        report: &mut dyn FnMut(CalibrationProgress),
    ) -> Result<(Vec<PriorParam>, WaveReport), CalibrationError> {
        let s = self.spec.settings;
        let simulate = |theta: &[f64], stream: u64| model.simulate(theta, stream);
        report(CalibrationProgress::Start {
            stage: Stage::HistoryMatching,
            work: w.points * u64::from(w.replicates),
        });
        let unit = vec![1.0; observed.len()];
        let problem = Problem::new(priors.to_vec(), observed.to_vec(), unit, simulate)?;
        let mut config = WaveConfig::new(
            derived_seed(s.seed, "history matching"),
            w.points,
            observed.len(),
        );
        config.replicates = w.replicates;
        config.cutoff = w.cutoff;
        config.batch = 64;
        let result = history_match(&problem, &config, self.cancel).map_err(abc_error)?;
        if result.kept.is_empty() {
            return Err(CalibrationError::EverythingImplausible {
                points: w.points,
                cutoff: w.cutoff,
            });
        }
        let fitted = result.restrict(priors)?;
        let wave = WaveReport {
            points: w.points,
            kept: result.kept.len(),
            simulations: result.simulations,
            cutoff: w.cutoff,
            bounds: fitted.iter().map(|p| p.prior.support()).collect(),
        };
        Ok((fitted, wave))
    }

    /// Each statistic's scale: as the spec fixes it, or the robust spread
    /// of a pilot rejection run where the spec asks for one. Returns the
    /// scales and the pilot's simulations (`None` without a pilot).
    fn scales(
        &self,
        statistics: &[Statistic],
        fitted: &[PriorParam],
        observed: &[f64],
        model: &ScenarioModel,
        report: &mut dyn FnMut(CalibrationProgress),
    ) -> Result<(Vec<f64>, Option<u64>), CalibrationError> {
        let spec = &self.spec;
        let s = spec.settings;
        let simulate = |theta: &[f64], stream: u64| model.simulate(theta, stream);
        let needs_pilot = spec.targets.iter().any(|t| t.scale == Scale::Mad);
        let mut pilot_simulations = None;
        let pilot_scales = if needs_pilot {
            report(CalibrationProgress::Start {
                stage: Stage::Pilot,
                work: s.pilot_draws,
            });
            let unit = vec![1.0; observed.len()];
            let problem = Problem::new(fitted.to_vec(), observed.to_vec(), unit, simulate)?;
            let config = RejectionConfig {
                seed: derived_seed(s.seed, "pilot"),
                draws: s.pilot_draws,
                // Every draw, finite or not: a draw whose statistics are
                // undefined (nothing delivered in a window) tells us about
                // the prior's reach, and is left out of the scales below.
                keep: Keep::Within(f64::INFINITY),
                batch: BATCH,
            };
            let mut on_batch = |p: &abc::SmcProgress| {
                report(CalibrationProgress::Abc {
                    stage: Stage::Pilot,
                    progress: *p,
                })
            };
            let mut rejection = Rejection::new(&problem, config).progress(&mut on_batch);
            if let Some(flag) = self.cancel {
                rejection = rejection.cancel(flag);
            }
            let pilot = rejection.run().map_err(abc_error)?;
            pilot_simulations = Some(pilot.simulations());
            let rows: Vec<Vec<f64>> = (0..pilot.len())
                .filter_map(|i| pilot.statistics(i).map(<[f64]>::to_vec))
                .collect();
            Some(robust_scales(&rows, statistics)?)
        } else {
            None
        };
        let scales = statistics
            .iter()
            .enumerate()
            .map(|(k, st)| match spec.targets[st.target].scale {
                Scale::Fixed(x) => x,
                Scale::Mad => pilot_scales.as_ref().expect("a pilot ran")[k],
            })
            .collect();
        Ok((scales, pilot_simulations))
    }

    /// ABC-SMC from the fitted priors, checkpointing every generation and
    /// resuming from the latest where asked.
    fn smc(
        &self,
        fitted: &[PriorParam],
        observed: &[f64],
        scales: &[f64],
        model: &ScenarioModel,
        report: &mut dyn FnMut(CalibrationProgress),
        notice: Option<&mut SendNoticeFn<'a>>,
    ) -> Result<SmcStage, CalibrationError> {
        let s = self.spec.settings;
        let simulate = |theta: &[f64], stream: u64| model.simulate(theta, stream);
        report(CalibrationProgress::Start {
            stage: Stage::Smc,
            work: 0,
        });
        let problem = Problem::new(
            fitted.to_vec(),
            observed.to_vec(),
            scales.to_vec(),
            simulate,
        )?;
        let config = SmcConfig {
            seed: s.seed,
            population: s.population,
            initial_draws: s.initial_draws,
            alpha: s.alpha,
            batch: BATCH,
            target_epsilon: 0.0,
            max_generations: s.max_generations,
            min_acceptance_rate: s.min_acceptance_rate,
            max_simulations: s.max_simulations,
        };
        let resumed = self.resumed()?;
        let mut saver = GenerationSaver {
            dir: self.checkpoints.clone(),
            first: None,
            notice,
        };
        let mut save = |p: &Population| -> std::io::Result<()> {
            saver.save(p);
            Ok(())
        };
        let mut on_batch = |p: &abc::SmcProgress| {
            report(CalibrationProgress::Abc {
                stage: Stage::Smc,
                progress: *p,
            })
        };
        let mut smc = Smc::new(&problem, config)
            .progress(&mut on_batch)
            .checkpoint(&mut save);
        if let Some(flag) = self.cancel {
            smc = smc.cancel(flag);
        }
        let resumed_from = resumed.as_ref().map(|r| r.generation);
        let mut rejection_saved = None;
        if let Some(r) = resumed {
            smc = smc.resume(r.latest);
            rejection_saved = Some(r.rejection);
        }
        let outcome = smc.run().map_err(abc_error)?;
        if outcome.stop == abc::Stop::Cancelled || cancelled(self.cancel) {
            return Err(CalibrationError::Cancelled);
        }
        let rejection = saver
            .first
            .or(rejection_saved)
            .expect("generation 0 is saved or resumed from");
        Ok(SmcStage {
            outcome,
            rejection,
            resumed_from,
        })
    }

    /// The saved generations a resumed calibration continues from; `None`
    /// when it does not resume or nothing is saved.
    ///
    /// # Errors
    /// [`CalibrationError::ResumeIncomplete`] without generation 0, and
    /// what reading a population returns.
    fn resumed(&self) -> Result<Option<Resumed>, CalibrationError> {
        let Some(dir) = self.checkpoints.as_ref().filter(|_| self.resume) else {
            return Ok(None);
        };
        let Some(generation) = latest_generation(dir)? else {
            return Ok(None);
        };
        let zero = dir.join(generation_file(0));
        if !zero.exists() {
            return Err(CalibrationError::ResumeIncomplete { path: dir.clone() });
        }
        Ok(Some(Resumed {
            generation,
            rejection: Population::load(&zero)?,
            latest: Population::load(&dir.join(generation_file(generation)))?,
        }))
    }

    /// The posterior predictive check: the statistics over runs of
    /// particles resampled from the posterior, beside those of the
    /// calibrated values, on streams of their own.
    fn predictive_check(
        &self,
        population: &Population,
        statistics: &[Statistic],
        observed: &[f64],
        scales: &[f64],
        calibrated_values: &[f64],
        report: &mut dyn FnMut(CalibrationProgress),
    ) -> Result<Vec<PredictiveBand>, CalibrationError> {
        let s = self.spec.settings;
        let scenario = &self.loaded.scenario;
        let targets: Vec<Target> = self.spec.params.iter().map(|p| p.target).collect();
        let outcomes: Vec<String> = statistics.iter().map(|x| x.outcome.clone()).collect();
        let particles = s.predictive_particles;
        let runs = s.predictive_runs;
        report(CalibrationProgress::Start {
            stage: Stage::Predictive,
            work: 2 * particles as u64 * runs,
        });
        let picked = resample(
            population.weights(),
            particles,
            &mut ChaCha8Rng::seed_from_u64(derived_seed(s.seed, "predictive resampling")),
        );
        let predictive_seed = derived_seed(s.seed, "predictive");
        let check = ScenarioModel::new(scenario, targets.clone(), &outcomes, 1, predictive_seed)?;
        let predictive_rows = particle_rows(&check, particles, runs, |j| {
            particle(population, picked[j as usize])
        })?;
        if cancelled(self.cancel) {
            return Err(CalibrationError::Cancelled);
        }
        report(CalibrationProgress::Runs {
            stage: Stage::Predictive,
            done: particles as u64 * runs,
            total: 2 * particles as u64 * runs,
        });
        // The calibrated scenario, on streams of its own.
        let centre_model = ScenarioModel::new(
            scenario,
            targets,
            &outcomes,
            1,
            derived_seed(s.seed, "calibrated"),
        )?;
        let centre_rows = particle_rows(&centre_model, particles, runs, |_| calibrated_values)?;
        let column =
            |rows: &[Vec<f64>], k: usize| -> Vec<f64> { rows.iter().map(|r| r[k]).collect() };
        let bands = statistics
            .iter()
            .enumerate()
            .map(|(k, st)| PredictiveBand {
                statistic: st.clone(),
                observed: observed[k],
                scale: scales[k],
                predictive: OutcomeStats::of(
                    &mut column(&predictive_rows, k),
                    crate::stats::Binning::Positive,
                ),
                calibrated: OutcomeStats::of(
                    &mut column(&centre_rows, k),
                    crate::stats::Binning::Positive,
                ),
            })
            .collect();
        report(CalibrationProgress::Runs {
            stage: Stage::Predictive,
            done: 2 * particles as u64 * runs,
            total: 2 * particles as u64 * runs,
        });
        Ok(bands)
    }

    /// The forecast scenario run across particles resampled from the
    /// posterior, and at the calibrated values, over as many runs.
    fn forecast_across_the_posterior(
        &self,
        population: &Population,
        f_loaded: &Loaded,
        f_targets: &[Target],
        calibrated: &[f64],
        report: &mut dyn FnMut(CalibrationProgress),
    ) -> Result<Forecast, CalibrationError> {
        let s = self.spec.settings;
        let f_scenario = &f_loaded.scenario;
        let f_outcomes_text = self
            .spec
            .forecast_outcomes
            .clone()
            .unwrap_or_else(|| default_forecast_outcomes(f_scenario));
        let f_outcomes: Vec<Outcome> = f_outcomes_text
            .iter()
            .map(|o| Outcome::parse(o, f_scenario))
            .collect::<Result<_, _>>()?;
        let with = |theta: &[f64]| -> Result<Scenario, ParamError> {
            let mut sc = f_scenario.clone();
            for (&t, &x) in f_targets.iter().zip(theta) {
                sc.set_param(t, x)?;
            }
            Ok(sc)
        };
        let k = s.forecast_particles;
        let m = s.forecast_runs;
        report(CalibrationProgress::Start {
            stage: Stage::Forecast,
            work: 2 * k as u64 * m,
        });
        let picked = resample(
            population.weights(),
            k,
            &mut ChaCha8Rng::seed_from_u64(derived_seed(s.seed, "forecast resampling")),
        );
        let mut scenarios = Vec::with_capacity(k);
        for &i in &picked {
            scenarios.push(with(particle(population, i))?);
        }
        let forecast_seed = derived_seed(s.seed, "forecast");
        let (summary, values) = forecast_runs(&scenarios, &f_outcomes, m, forecast_seed);
        if cancelled(self.cancel) {
            return Err(CalibrationError::Cancelled);
        }
        report(CalibrationProgress::Runs {
            stage: Stage::Forecast,
            done: k as u64 * m,
            total: 2 * k as u64 * m,
        });
        let at_median_scenario = with(calibrated)?;
        let medians_copies = vec![at_median_scenario.clone(); k];
        let (_, median_values) = forecast_runs(
            &medians_copies,
            &f_outcomes,
            m,
            derived_seed(s.seed, "forecast at the calibrated values"),
        );
        let pooled = column_stats(&values, &f_outcomes);
        let at_median = column_stats(&median_values, &f_outcomes);
        let particle_means = particle_mean_stats(&values, m as usize, &f_outcomes);
        report(CalibrationProgress::Runs {
            stage: Stage::Forecast,
            done: 2 * k as u64 * m,
            total: 2 * k as u64 * m,
        });
        Ok(Forecast {
            scenario: at_median_scenario,
            origin: f_loaded.origin.clone(),
            outcomes: f_outcomes_text,
            particles: k,
            runs: m,
            pooled,
            particle_means,
            at_median,
            summary,
        })
    }
}

/// The statistics of each outcome over `values`, runs' rows of one value
/// per outcome.
fn column_stats(values: &[f64], outcomes: &[Outcome]) -> Vec<OutcomeStats> {
    let width = outcomes.len();
    (0..width)
        .map(|o| {
            let mut column: Vec<f64> = values.iter().skip(o).step_by(width).copied().collect();
            OutcomeStats::of(&mut column, outcomes[o].binning())
        })
        .collect()
}

/// The statistics of each outcome's per-particle means: `values` holds
/// `runs` rows (one value per outcome) for each particle in turn; a
/// particle's mean is over its defined (not NaN) values, NaN if none.
fn particle_mean_stats(values: &[f64], runs: usize, outcomes: &[Outcome]) -> Vec<OutcomeStats> {
    let width = outcomes.len();
    let mean_of_defined = |chunk: &[f64], o: usize| {
        let defined: Vec<f64> = chunk
            .iter()
            .skip(o)
            .step_by(width)
            .copied()
            .filter(|x| !x.is_nan())
            .collect();
        if defined.is_empty() {
            f64::NAN
        } else {
            defined.iter().sum::<f64>() / defined.len() as f64
        }
    };
    (0..width)
        .map(|o| {
            let mut means: Vec<f64> = values
                .chunks(runs * width)
                .map(|chunk| mean_of_defined(chunk, o))
                .collect();
            OutcomeStats::of(&mut means, outcomes[o].binning())
        })
        .collect()
}

/// What the ABC-SMC stage hands on.
/// What every stage of a calibration works on ([`Calibration::setup`]).
struct Setup {
    statistics: Vec<Statistic>,
    observed: Vec<f64>,
    targets: Vec<Target>,
    priors: Vec<PriorParam>,
    model: ScenarioModel,
}

/// What the fitting stages found ([`Calibration::abc_stages`]).
struct AbcStages {
    /// The priors ABC-SMC ran with (narrowed by history matching, if any).
    fitted: Vec<PriorParam>,
    /// The history-matching wave, if any.
    wave: Option<WaveReport>,
    /// The statistics' scales.
    scales: Vec<f64>,
    /// Pilot simulations (0 with fixed scales).
    pilot_simulations: u64,
    /// ABC-SMC's outcome and generation 0.
    smc: SmcStage,
}

/// The posterior and what it identifies, for the calibrated files.
struct Identified<'f> {
    priors: &'f [PriorParam],
    posterior: &'f Posterior,
    identified: &'f [bool],
}

/// The forecast stage's results ([`Calibration::forecast_stage`]).
struct ForecastStage<'s> {
    /// The forecast scenario.
    loaded: &'s Loaded,
    /// Its parameters at their calibrated values.
    calibrated: Vec<f64>,
    /// The same parameters at the scenario's own values.
    before: Vec<f64>,
    /// The forecast across the posterior.
    runs: Forecast,
}

/// The saved generations a calibration resumes from
/// ([`Calibration::resumed`]).
struct Resumed {
    /// The latest generation's number.
    generation: u32,
    /// Generation 0, the rejection baseline.
    rejection: Population,
    /// The latest generation, which ABC-SMC continues.
    latest: Population,
}

/// Saves each generation of a calibration into its checkpoint directory
/// and keeps generation 0 for the report. A generation that cannot be saved
/// is said, and no more are saved (every command's rule): the generations
/// saved before it still resume.
struct GenerationSaver<'n, 'a> {
    /// Where generations are saved; `None` once one could not be.
    dir: Option<PathBuf>,
    /// Generation 0, once run.
    first: Option<Population>,
    /// Where a failure is said.
    notice: Option<&'n mut SendNoticeFn<'a>>,
}

impl GenerationSaver<'_, '_> {
    fn save(&mut self, p: &Population) {
        if p.generation() == 0 {
            self.first = Some(p.clone());
        }
        let Some(dir) = &self.dir else {
            return;
        };
        let path = dir.join(generation_file(p.generation()));
        if let Err(e) = p.save(&path) {
            let error = match e {
                PopulationFileError::Write(f) => crate::state::StateError::Write(f),
                other => crate::state::StateError::Io {
                    path,
                    source: std::io::Error::other(other.to_string()),
                },
            };
            tell(
                &mut self.notice,
                Notice::CheckpointFailed {
                    checkpoint: dir,
                    error: &error,
                },
            );
            self.dir = None;
        }
    }
}

struct SmcStage {
    outcome: SmcOutcome,
    /// Generation 0 (the rejection step), run or resumed from.
    rejection: Population,
    resumed_from: Option<u32>,
}

/// The statistics of `runs` runs of `model` at each of `particles`
/// parameter vectors (`theta(j)` for particle `j`, run on its own
/// streams), row by row in particle order.
fn particle_rows<'t>(
    model: &ScenarioModel,
    particles: usize,
    runs: u64,
    theta: impl Fn(u64) -> &'t [f64] + Sync,
) -> Result<Vec<Vec<f64>>, CalibrationError> {
    let rows = executor::map_indexed(0..particles as u64, |j| {
        model.each_run(theta(j), j, runs as u32)
    });
    let mut all = Vec::with_capacity(particles * runs as usize);
    for r in rows {
        all.extend(r?);
    }
    Ok(all)
}

/// Particle `i` of `population`, an index [`resample`] drew from it.
fn particle(population: &Population, i: usize) -> &[f64] {
    population
        .particle(i)
        .expect("resampled indices are particles")
}

/// An ABC error as a calibration's, cancellation as [`CalibrationError::Cancelled`].
fn abc_error(e: AbcError) -> CalibrationError {
    match e {
        AbcError::Cancelled => CalibrationError::Cancelled,
        e => e.into(),
    }
}

/// Runs `runs` runs of each scenario (run `r` of scenario `j` draws from
/// `run_rng(seed, j * runs + r)`), returning the summary of every run and
/// each run's outcome values, scenario by scenario. The runs are a [`Job`]
/// of the executor in the calibration's pool: as in a study, each worker
/// thread records into its own [`Recorder`], merged into the total before
/// it holds [`RECORDER_CAPACITY`] runs; summaries merge exactly and each
/// run's values land in a slot of their own, so the result is the same
/// bits whatever the threads, in memory that does not grow with the
/// particles.
fn forecast_runs(
    scenarios: &[Scenario],
    outcomes: &[Outcome],
    runs: u64,
    seed: u64,
) -> (Summary, Vec<f64>) {
    let job = ForecastRuns {
        scenarios,
        outcomes,
        runs,
        seed,
    };
    let all = scenarios.len() as u64 * runs;
    let mut total = (
        Summary::new(&scenarios[0]),
        vec![f64::NAN; all as usize * outcomes.len()],
    );
    Rounds::in_current_pool(&job)
        .capacity(RECORDER_CAPACITY)
        .run(&mut total, 0..all, |_| Ok::<_, Infallible>(()))
        .unwrap_or_else(|never| match never {});
    total
}

/// The forecast's runs as a [`Job`]: index `k` is run `k % runs` of
/// scenario `k / runs`, on stream `k`.
struct ForecastRuns<'s> {
    scenarios: &'s [Scenario],
    outcomes: &'s [Outcome],
    runs: u64,
    seed: u64,
}

/// A thread's recorder, its simulator and outcome set (for the scenario it
/// ran last), and the outcome values of the runs it holds.
struct ForecastWorker<'s> {
    recorder: Recorder,
    current: ScenarioWorker<'s>,
    indices: Vec<u64>,
    values: Vec<f64>,
}

impl<'s> Job for ForecastRuns<'s> {
    type Worker = ForecastWorker<'s>;
    type Total = (Summary, Vec<f64>);
    const CHUNK: u64 = 32;

    fn worker(&self) -> ForecastWorker<'s> {
        ForecastWorker {
            recorder: Recorder::new(&self.scenarios[0]),
            current: ScenarioWorker::default(),
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    fn run(&self, worker: &mut ForecastWorker<'s>, k: u64) {
        let j = (k / self.runs) as usize;
        let (sim, set) = worker.current.at(j, self.scenarios, self.outcomes);
        let recorder = &mut worker.recorder;
        sim.run(&mut run_rng(self.seed, k), &mut |v: &QuarterView<'_>| {
            recorder.observe(v);
            set.observe(v);
        });
        worker.indices.push(k);
        worker.values.extend_from_slice(set.values());
    }

    fn run_two(&self, worker: &mut ForecastWorker<'s>, k: u64) {
        let current = &mut worker.current;
        let Some([(sim_a, set_a), (sim_b, set_b)]) =
            current.two_at(k, self.runs, self.scenarios, self.outcomes)
        else {
            // The last run of a scenario and the first of the next.
            self.run(worker, k);
            self.run(worker, k + 1);
            return;
        };
        let recorder = &mut worker.recorder;
        Simulator::run_two(
            sim_a,
            sim_b,
            &mut run_rng(self.seed, k),
            &mut run_rng(self.seed, k + 1),
            &mut |a: &QuarterView<'_>, b: &QuarterView<'_>| {
                recorder.observe_pair(a, b);
                set_a.observe_two(set_b, a, b);
            },
        );
        worker.indices.extend([k, k + 1]);
        worker.values.extend_from_slice(set_a.values());
        worker.values.extend_from_slice(set_b.values());
    }

    fn merge(&self, total: &mut (Summary, Vec<f64>), worker: &mut ForecastWorker<'s>) {
        worker.recorder.drain_into(&mut total.0);
        let width = self.outcomes.len();
        if width > 0 {
            for (k, values) in worker.indices.iter().zip(worker.values.chunks_exact(width)) {
                let slot = *k as usize * width;
                total.1[slot..slot + width].copy_from_slice(values);
            }
        }
        worker.indices.clear();
        worker.values.clear();
    }
}

/// A scenario's values of `targets` after calibration: the posterior
/// median where identified, its own value where not.
fn calibrated_in(
    scenario: &Scenario,
    targets: &[Target],
    identified: &[bool],
    medians: &[f64],
) -> Vec<f64> {
    targets
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            if identified[k] {
                medians[k]
            } else {
                scenario.param(t)
            }
        })
        .collect()
}

/// Each statistic's scale from pilot rows: the median absolute deviation
/// from the median, or where that is 0 (a statistic that is mostly one
/// value), the standard deviation.
fn robust_scales(
    rows: &[Vec<f64>],
    statistics: &[Statistic],
) -> Result<Vec<f64>, CalibrationError> {
    statistics
        .iter()
        .enumerate()
        .map(|(k, st)| {
            let column: Vec<f64> = rows
                .iter()
                .map(|r| r[k])
                .filter(|x| x.is_finite())
                .collect();
            let ones = vec![1.0; column.len()];
            let median = weighted_quantile(&column, &ones, 0.5);
            let deviations: Vec<f64> = column.iter().map(|x| (x - median).abs()).collect();
            let mad = weighted_quantile(&deviations, &ones, 0.5);
            if mad.is_finite() && mad > 0.0 {
                return Ok(mad);
            }
            let n = column.len() as f64;
            let mean = column.iter().sum::<f64>() / n;
            let sd = (column.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            if sd.is_finite() && sd > 0.0 {
                Ok(sd)
            } else {
                Err(CalibrationError::ConstantStatistic {
                    statistic: st.outcome.clone(),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
