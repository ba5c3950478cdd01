//! An evaluation's lifecycle, as [`crate::runner::Runner`] is a study's.
//!
//! [`Evaluator`] places the output directory first (the rule every command
//! follows: `--out` claimed, or `output/evaluate-MODE...` named; a directory
//! armsim did not write is refused before anything runs), gets its threads
//! from the executor, fits the folds of a leave-one-case-out evaluation
//! with each complete generation saved beside the directory
//! (`.NAME.folds/fold-CASE.pop`, continued with `resume`), forecasts and
//! scores every case, writes the directory all or nothing, and only then
//! removes the saved folds. Interrupted, it writes nothing and says what it
//! kept ([`EvaluateFinished::Interrupted`]). The binary parses, finds the
//! cases and prints.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::case::Case;
use super::fit::{self, FitError, FitSettings, JointFit, SharedParam};
use super::report::{EvaluationReport, evaluation_settings, write_evaluation};
use super::{EvaluateError, Evaluation, LeaveOneOut, Mode, Timeline};
use crate::calibrate::population::{Population, is_population_file};
use crate::executor::{self, ExecutorError};
use crate::files::{FileError, Placement};
use crate::lifecycle::{self, Notice, NoticeFn};
use crate::output::OutputError;

/// Why an evaluation could not be run or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluatorError {
    /// The output directory was refused (before anything ran).
    #[error(transparent)]
    Place(#[from] FileError),
    /// The executor could not give it its threads.
    #[error(transparent)]
    Threads(#[from] ExecutorError),
    /// The directory of saved folds could not be made.
    #[error("cannot create {}: {source}", path.display())]
    Folds {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A fold's saved population cannot be written where it belongs:
    /// something armsim did not write is there (said before any fold is
    /// fitted).
    #[error(transparent)]
    FoldFile(#[from] crate::calibrate::population::PopulationFileError),
    /// A shared parameter, or a fold's fit, failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// The forecasts or scores failed.
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
    /// The results could not be written.
    #[error(transparent)]
    Write(#[from] OutputError),
}

/// An evaluation written to its directory.
#[derive(Debug)]
pub struct EvaluateDone {
    /// The directory.
    pub dir: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The results.
    pub evaluation: Evaluation,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
}

/// An evaluation stopped by its cancel flag: nothing was written.
#[derive(Debug)]
pub struct EvaluateInterrupted {
    /// The directory it would have written.
    pub dir: PathBuf,
    /// The saved folds, continued by `resume` (leave one case out only).
    pub kept: Option<PathBuf>,
}

/// How an evaluation ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum EvaluateFinished {
    /// The directory was written.
    Done(EvaluateDone),
    /// The cancel flag stopped it; nothing was written.
    Interrupted(EvaluateInterrupted),
}

/// A fold's progress: the fold (from 0), its case and its latest complete
/// generation.
pub type FoldProgressFn<'a> = dyn FnMut(usize, &str, &Population) + Send + 'a;

/// An evaluation's whole lifecycle; see the module documentation.
pub struct Evaluator<'a> {
    cases: &'a [Case],
    mode: Mode,
    timeline: Timeline,
    runs: u64,
    fit_paths: Vec<String>,
    settings: FitSettings,
    name: String,
    out: Option<PathBuf>,
    root: PathBuf,
    resume: bool,
    threads: usize,
    plots: bool,
    cancel: Option<&'a AtomicBool>,
    on_generation: Option<&'a mut FoldProgressFn<'a>>,
    notice: Option<&'a mut NoticeFn<'a>>,
    command_line: Vec<String>,
}

impl<'a> Evaluator<'a> {
    /// An evaluation of `cases` in `mode`: the whole timeline, 1,000 runs a
    /// case, the default shared parameters and the standard fit, written
    /// under `output/` as `evaluate-defaults` or `evaluate-loo`.
    pub fn new(cases: &'a [Case], mode: Mode) -> Self {
        Evaluator {
            cases,
            mode,
            timeline: Timeline::Full,
            runs: 1000,
            fit_paths: fit::default_shared(lowest_model(cases)),
            settings: FitSettings::standard(20_260_101),
            name: format!("evaluate-{}", mode_stem(mode)),
            out: None,
            root: PathBuf::from("output"),
            resume: false,
            threads: 0,
            plots: true,
            cancel: None,
            on_generation: None,
            notice: None,
            command_line: Vec::new(),
        }
    }

    /// How much of each case's timeline its forecast knows.
    pub fn timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = timeline;
        self
    }

    /// Runs of each case's forecast.
    pub fn runs(mut self, runs: u64) -> Self {
        self.runs = runs;
        self
    }

    /// The shared parameters a leave-one-case-out evaluation fits.
    pub fn fit(mut self, paths: Vec<String>) -> Self {
        self.fit_paths = paths;
        self
    }

    /// The leave-one-case-out fit's settings.
    pub fn fit_settings(mut self, settings: FitSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The directory's name under the output root when no `out` is given.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Writes to exactly this directory (`--out`).
    pub fn out(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out = Some(dir.into());
        self
    }

    /// Where a directory is named when no `out` is given (`output/`).
    pub fn output_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Continues from the folds an interrupted evaluation saved.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Worker threads; 0 uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Whether to draw the pictures.
    pub fn plots(mut self, plots: bool) -> Self {
        self.plots = plots;
        self
    }

    /// Stops at the next batch once `flag` is set, writing nothing.
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called with each fold's complete generations.
    pub fn on_generation(mut self, progress: &'a mut FoldProgressFn<'a>) -> Self {
        self.on_generation = Some(progress);
        self
    }

    /// Called with what the evaluation does with the folds an earlier,
    /// interrupted one saved: the [`Notice`]s every command's lifecycle
    /// gives, folds counting as its units.
    pub fn on_notice(mut self, notice: &'a mut NoticeFn<'a>) -> Self {
        self.notice = Some(notice);
        self
    }

    /// The command line, for the manifest.
    pub fn command_line(mut self, args: Vec<String>) -> Self {
        self.command_line = args;
        self
    }

    /// Each case's scenario file and its resolved scenario's hash.
    fn sources(&self) -> Vec<(String, String)> {
        self.cases
            .iter()
            .map(|c| (c.path.display().to_string(), c.loaded.hash.clone()))
            .collect()
    }

    /// The settings fingerprint the output rule compares.
    fn fingerprint(&self) -> String {
        evaluation_settings(
            &self.sources(),
            self.mode,
            self.timeline,
            self.runs,
            (self.mode == Mode::LeaveOneOut).then_some((&self.fit_paths[..], &self.settings)),
            self.plots,
        )
    }

    /// Where the evaluation will write, checked before anything runs.
    ///
    /// # Errors
    /// [`EvaluatorError::Place`] if the directory holds what armsim did not
    /// write, or another evaluation's results.
    pub fn placement(&self) -> Result<Placement, EvaluatorError> {
        self.place(&self.fingerprint())
    }

    /// The directory the output rule gives a result of these settings.
    fn place(&self, fingerprint: &str) -> Result<Placement, EvaluatorError> {
        Ok(match &self.out {
            Some(dir) => crate::files::claim(dir, fingerprint)?,
            None => crate::files::place(&self.root, &self.name, "", fingerprint)?,
        })
    }

    /// The forecasters: each case at its scenario's values, or (leaving one
    /// case out) fitted fold by fold, the folds saved in `folds` and
    /// continued or replaced as every command's checkpoints are. `None` if
    /// cancelled while fitting.
    ///
    /// # Errors
    /// [`EvaluatorError`]: a shared parameter that cannot be fitted, a fold
    /// file armsim did not write, or a failed fit.
    fn forecasters(
        &mut self,
        pool: &rayon::ThreadPool,
        folds: &Path,
    ) -> Result<Option<Vec<super::Forecaster>>, EvaluatorError> {
        if self.mode == Mode::Defaults {
            return Ok(Some(super::at_defaults(self.cases, self.timeline)));
        }
        let shared = self
            .fit_paths
            .iter()
            .map(|p| SharedParam::over_range(p))
            .collect::<Result<Vec<_>, _>>()?;
        // A fold file that is not a population (empty, or another
        // program's) would be read as absent, refitted, and then refused
        // when saved: refuse it now, before any fold is fitted or a saved
        // one replaced.
        for c in self.cases {
            Population::check_replaceable(&fold_path(folds, c.id()))?;
        }
        let notice = &mut self.notice;
        open_folds(self.cases, folds, self.resume, &mut |n: Notice<'_>| {
            crate::lifecycle::tell(notice, n)
        });
        let plan = LeaveOneOut {
            shared,
            settings: self.settings,
            timeline: self.timeline,
            runs: self.runs,
        };
        let (cases, cancel) = (self.cases, self.cancel);
        let on_generation = self.on_generation.as_deref_mut();
        match pool.install(|| fit_folds(cases, &plan, folds, cancel, on_generation)) {
            Ok(f) => Ok(Some(f)),
            Err(_) if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Places, runs and writes the evaluation, telling `placed` where it
    /// will write before anything runs; see the module documentation.
    ///
    /// # Errors
    /// [`EvaluatorError`].
    pub fn run_placed(
        mut self,
        placed: &mut dyn FnMut(&Placement),
    ) -> Result<EvaluateFinished, EvaluatorError> {
        super::check_runs(self.runs)?;
        let fingerprint = self.fingerprint();
        let placement = self.place(&fingerprint)?;
        let sources = self.sources();
        placed(&placement);
        let dir = placement.dir;
        let pool = executor::pool(executor::resolve_threads(self.threads))?;
        let threads = pool.current_num_threads();
        let started = Instant::now();
        let folds = folds_dir(&dir);
        let Some(forecasters) = self.forecasters(&pool, &folds)? else {
            return Ok(EvaluateFinished::Interrupted(EvaluateInterrupted {
                dir,
                kept: Some(folds),
            }));
        };
        let Evaluator {
            cases,
            mode,
            timeline,
            runs,
            plots,
            cancel,
            mut notice,
            command_line,
            ..
        } = self;
        let mut tell = |n: Notice<'_>| crate::lifecycle::tell(&mut notice, n);
        let evaluation = match pool
            .install(|| super::evaluate(cases, &forecasters, mode, timeline, runs, cancel))
        {
            Ok(e) => e,
            Err(EvaluateError::Cancelled) => {
                return Ok(EvaluateFinished::Interrupted(EvaluateInterrupted {
                    dir,
                    kept: (mode == Mode::LeaveOneOut).then_some(folds),
                }));
            }
            Err(e) => return Err(e.into()),
        };
        let elapsed_seconds = started.elapsed().as_secs_f64();
        let files = write_evaluation(
            &dir,
            &EvaluationReport {
                evaluation: &evaluation,
                sources,
                threads,
                elapsed_seconds,
                plots,
                command_line: &command_line,
                settings: fingerprint,
            },
        )?;
        if mode == Mode::LeaveOneOut {
            remove_folds(cases, &folds, &mut tell);
        }
        Ok(EvaluateFinished::Done(EvaluateDone {
            dir,
            files,
            evaluation,
            threads,
            elapsed_seconds,
        }))
    }
}

/// A joint calibration written to its directory.
#[derive(Debug)]
pub struct JointDone {
    /// The directory.
    pub dir: PathBuf,
    /// The fit in words, as `summary.txt` holds it.
    pub text: String,
    /// The fit.
    pub fit: JointFit,
}

/// How a joint calibration ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum JointFinished {
    /// The directory was written.
    Done(Box<JointDone>),
    /// The cancel flag stopped it; nothing was written or kept.
    Interrupted(EvaluateInterrupted),
}

/// `armsim calibrate DIR`'s lifecycle: the shared parameters fitted on
/// every case at once (nothing left out), the directory placed and checked
/// first and written all or nothing, as [`Evaluator`] does.
pub struct JointCalibrator<'a> {
    cases: &'a [Case],
    fit_paths: Vec<String>,
    settings: FitSettings,
    name: String,
    out: Option<PathBuf>,
    root: PathBuf,
    threads: usize,
    cancel: Option<&'a AtomicBool>,
    on_generation: Option<&'a mut GenerationFn<'a>>,
    command_line: Vec<String>,
}

/// A joint calibration's progress: its latest complete generation.
pub type GenerationFn<'a> = dyn FnMut(&Population) + Send + 'a;

impl<'a> JointCalibrator<'a> {
    /// A joint calibration of `cases` (the default shared parameters, the
    /// standard fit), written under `output/` as `NAME_calibration`.
    pub fn new(cases: &'a [Case], name: &str) -> Self {
        JointCalibrator {
            cases,
            fit_paths: fit::default_shared(lowest_model(cases)),
            settings: FitSettings::standard(20_260_101),
            name: crate::files::path_component(&format!("{name}_calibration")),
            out: None,
            root: PathBuf::from("output"),
            threads: 0,
            cancel: None,
            on_generation: None,
            command_line: Vec::new(),
        }
    }

    /// The shared parameters to fit.
    pub fn fit(mut self, paths: Vec<String>) -> Self {
        self.fit_paths = paths;
        self
    }

    /// Writes to exactly this directory.
    pub fn out(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out = Some(dir.into());
        self
    }

    /// Where a directory is named when no `out` is given (`output/`).
    pub fn output_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Worker threads; 0 uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Stops at the next batch once `flag` is set, writing nothing.
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called with each complete generation.
    pub fn on_generation(mut self, progress: &'a mut GenerationFn<'a>) -> Self {
        self.on_generation = Some(progress);
        self
    }

    /// The command line, for the manifest.
    pub fn command_line(mut self, args: Vec<String>) -> Self {
        self.command_line = args;
        self
    }

    /// Places, fits and writes, telling `placed` where it will write before
    /// anything runs.
    ///
    /// # Errors
    /// [`EvaluatorError`]: a bad parameter path or a refused directory
    /// (before anything runs), threads that cannot start, a failed fit or
    /// write.
    pub fn run_placed(
        self,
        placed: &mut dyn FnMut(&Placement),
    ) -> Result<JointFinished, EvaluatorError> {
        let JointCalibrator {
            cases,
            fit_paths,
            settings,
            name,
            out,
            root,
            threads,
            cancel,
            mut on_generation,
            command_line,
        } = self;
        let shared = fit_paths
            .iter()
            .map(|p| SharedParam::over_range(p))
            .collect::<Result<Vec<_>, _>>()?;
        let fingerprint = crate::files::settings_fingerprint(&serde_json::json!({
            "kind": "joint calibration",
            "cases": cases.iter().map(|c| &c.loaded.hash).collect::<Vec<_>>(),
            "parameters": fit_paths,
            "seed": settings.seed,
            "population": settings.population,
            "generations": settings.generations,
            "max_simulations": settings.max_simulations,
        }));
        let placement = match &out {
            Some(dir) => crate::files::claim(dir, &fingerprint)?,
            None => crate::files::place(&root, &name, "", &fingerprint)?,
        };
        placed(&placement);
        let dir = placement.dir;
        let pool = executor::pool(executor::resolve_threads(threads))?;
        let started = Instant::now();
        let refs: Vec<&Case> = cases.iter().collect();
        let mut progress = |p: &Population| {
            if let Some(tell) = on_generation.as_mut() {
                tell(p);
            }
            Ok(())
        };
        let fitted =
            pool.install(|| fit::fit(&refs, &shared, settings, cancel, None, &mut progress));
        let cancelled = cancel.is_some_and(|c| c.load(Ordering::SeqCst));
        let fit = match fitted {
            Ok(f) if f.stop != crate::calibrate::abc::Stop::Cancelled => f,
            Err(e) if !cancelled => return Err(e.into()),
            _ => {
                return Ok(JointFinished::Interrupted(EvaluateInterrupted {
                    dir,
                    kept: None,
                }));
            }
        };
        let text = super::report::write_joint_fit(
            &dir,
            &super::report::JointFitReport {
                fit: &fit,
                cases,
                elapsed_seconds: started.elapsed().as_secs_f64(),
                threads: pool.current_num_threads(),
                command_line: &command_line,
                settings: fingerprint,
            },
        )?;
        Ok(JointFinished::Done(Box::new(JointDone { dir, text, fit })))
    }
}

/// The model version the cases share (the oldest, where they differ: a
/// parameter only a newer version has cannot be fitted across them all).
fn lowest_model(cases: &[Case]) -> crate::model::ModelVersion {
    cases
        .iter()
        .map(|c| c.loaded.scenario.model())
        .min()
        .unwrap_or(crate::model::ModelVersion::V2)
}

/// Every fold of a leave-one-case-out evaluation fitted, each complete
/// generation saved in `folds` (and told to `on_generation`), a fold saved
/// by an earlier, interrupted evaluation continued from its file.
fn fit_folds(
    cases: &[Case],
    plan: &LeaveOneOut,
    folds: &Path,
    cancel: Option<&AtomicBool>,
    mut on_generation: Option<&mut FoldProgressFn<'_>>,
) -> Result<Vec<super::Forecaster>, EvaluatorError> {
    std::fs::create_dir_all(folds).map_err(|source| EvaluatorError::Folds {
        path: folds.to_path_buf(),
        source,
    })?;
    let ids: Vec<&str> = cases.iter().map(Case::id).collect();
    let mut load = |k: usize| Population::load(&fold_path(folds, ids[k])).ok();
    let mut save = |k: usize, p: &Population| {
        if let Some(tell) = on_generation.as_mut() {
            tell(k, ids[k], p);
        }
        p.save(&fold_path(folds, ids[k]))
            .map_err(|e| std::io::Error::other(e.to_string()))
    };
    Ok(super::leave_one_out(
        cases, plan, cancel, &mut load, &mut save,
    )?)
}

/// Says, before any fold is fitted, what becomes of the folds an earlier
/// evaluation saved in `folds`: continued with `resume` (a saved fold of
/// other settings is fitted again), replaced without it.
fn open_folds(cases: &[Case], folds: &Path, resume: bool, tell: &mut NoticeFn<'_>) {
    let saved = cases
        .iter()
        .filter(|c| is_population_file(&fold_path(folds, c.id())))
        .count() as u64;
    match (saved, resume) {
        (0, true) => tell(Notice::NoCheckpoint { checkpoint: folds }),
        (0, false) => {}
        (done, true) => tell(Notice::Resuming {
            checkpoint: folds,
            done,
            total: cases.len() as u64,
        }),
        (_, false) => {
            tell(Notice::ReplacingCheckpoint { checkpoint: folds });
            remove_folds(cases, folds, tell);
        }
    }
}

/// Removes the fold files of `cases` (only populations), then `folds` if
/// that left it empty: nothing armsim did not write goes. A file that
/// cannot be removed is said ([`Notice::StaleCheckpoint`]).
fn remove_folds(cases: &[Case], folds: &Path, tell: &mut NoticeFn<'_>) {
    for c in cases {
        lifecycle::remove_checkpoint(&fold_path(folds, c.id()), is_population_file, tell);
    }
    // Fails, harmlessly, if anything else is left.
    let _ = std::fs::remove_dir(folds);
}

/// `defaults` or `loo`: a default directory name's mode.
fn mode_stem(mode: Mode) -> &'static str {
    match mode {
        Mode::Defaults => "defaults",
        Mode::LeaveOneOut => "loo",
    }
}

/// The directory of a leave-one-case-out evaluation's saved folds: beside
/// the output, hidden.
pub fn folds_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "evaluate".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.folds"))
}

/// Fold `case`'s saved population.
fn fold_path(folds: &Path, case: &str) -> PathBuf {
    folds.join(format!("fold-{}.pop", crate::files::path_component(case)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases() -> Vec<Case> {
        ["thailand_2006", "thailand_2014"]
            .iter()
            .map(|c| Case::load(Path::new(&format!("scenarios/cases/{c}.toml"))).unwrap())
            .collect()
    }

    #[test]
    fn an_evaluation_is_written_whole_and_a_cancelled_one_writes_nothing() {
        let cases = cases();
        let root = tempfile::tempdir().unwrap();
        let finished = Evaluator::new(&cases, Mode::Defaults)
            .runs(50)
            .plots(false)
            .threads(2)
            .output_root(root.path())
            .run_placed(&mut |_| {})
            .unwrap();
        let EvaluateFinished::Done(done) = finished else {
            panic!("not done: {finished:?}");
        };
        assert_eq!(done.dir, root.path().join("evaluate-defaults"));
        assert!(done.files.iter().all(|f| f.is_file()), "{:?}", done.files);
        assert_eq!(done.evaluation.cases.len(), 2);

        let flag = AtomicBool::new(true);
        let other = tempfile::tempdir().unwrap();
        let finished = Evaluator::new(&cases, Mode::Defaults)
            .runs(50)
            .plots(false)
            .output_root(other.path())
            .cancel(&flag)
            .run_placed(&mut |_| {})
            .unwrap();
        let EvaluateFinished::Interrupted(stopped) = finished else {
            panic!("not interrupted: {finished:?}");
        };
        assert_eq!(stopped.kept, None);
        assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0);
    }

    #[test]
    fn saved_folds_are_continued_or_replaced_as_said_and_foreign_files_are_kept() {
        // Folds follow every command's checkpoint rule: --resume continues
        // them, a fresh start replaces them (only the populations), and
        // each is said.
        let cases = cases();
        let root = tempfile::tempdir().unwrap();
        let folds = folds_dir(&root.path().join("evaluate-loo"));
        std::fs::create_dir(&folds).unwrap();
        std::fs::write(folds.join("fold-x.pop"), "saved").unwrap();
        let population = fold_path(&folds, cases[0].id());
        let run = |resume: bool| {
            std::fs::write(&population, crate::state::POPULATION_MAGIC).unwrap();
            let stop = AtomicBool::new(true);
            let mut said = Vec::new();
            let mut note = |n: Notice<'_>| said.push(format!("{n:?}"));
            let finished = Evaluator::new(&cases, Mode::LeaveOneOut)
                .plots(false)
                .resume(resume)
                .output_root(root.path())
                .cancel(&stop)
                .on_notice(&mut note)
                .run_placed(&mut |_| {})
                .unwrap();
            assert!(
                matches!(finished, EvaluateFinished::Interrupted(_)),
                "{finished:?}"
            );
            said
        };
        let said = run(true);
        assert!(said[0].starts_with("Resuming"), "{said:?}");
        assert!(said[0].contains("done: 1, total: 2"), "{said:?}");
        assert!(population.exists());
        let said = run(false);
        assert!(said[0].starts_with("ReplacingCheckpoint"), "{said:?}");
        assert!(!population.exists());
        assert_eq!(
            std::fs::read_to_string(folds.join("fold-x.pop")).unwrap(),
            "saved"
        );

        let theirs = root.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
        let mut placed = false;
        let err = Evaluator::new(&cases, Mode::Defaults)
            .out(&theirs)
            .run_placed(&mut |_| placed = true)
            .unwrap_err();
        assert!(matches!(err, EvaluatorError::Place(_)), "{err}");
        assert!(!placed);
    }

    #[test]
    fn a_fold_file_armsim_did_not_write_is_refused_before_any_fold_is_fitted() {
        // An empty fold file was read as absent, its fold fitted again, and
        // only then its save refused: the fit was lost.
        let cases = cases();
        let root = tempfile::tempdir().unwrap();
        let folds = folds_dir(&root.path().join("evaluate-loo"));
        std::fs::create_dir(&folds).unwrap();
        let empty = fold_path(&folds, cases[1].id());
        std::fs::write(&empty, b"").unwrap();
        let started = Instant::now();
        let err = Evaluator::new(&cases, Mode::LeaveOneOut)
            .plots(false)
            .resume(true)
            .output_root(root.path())
            .run_placed(&mut |_| {})
            .unwrap_err();
        assert!(matches!(err, EvaluatorError::FoldFile(_)), "{err}");
        let message = err.to_string();
        assert!(message.contains("fold-thailand_2014.pop"), "{message}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(std::fs::read(&empty).unwrap(), b"");
        // Without --resume too, and before a saved fold is replaced.
        let saved = fold_path(&folds, cases[0].id());
        std::fs::write(&saved, crate::state::POPULATION_MAGIC).unwrap();
        let err = Evaluator::new(&cases, Mode::LeaveOneOut)
            .plots(false)
            .output_root(root.path())
            .run_placed(&mut |_| {})
            .unwrap_err();
        assert!(matches!(err, EvaluatorError::FoldFile(_)), "{err}");
        assert!(saved.exists());
        assert_eq!(std::fs::read(&empty).unwrap(), b"");
    }

    #[test]
    fn a_joint_calibration_is_written_whole_and_a_cancelled_one_writes_nothing() {
        let cases = cases();
        let root = tempfile::tempdir().unwrap();
        let mut generations = 0;
        let mut count = |_: &Population| generations += 1;
        let finished = JointCalibrator::new(&cases, "thai")
            .threads(2)
            .output_root(root.path())
            .on_generation(&mut count)
            .run_placed(&mut |_| {})
            .unwrap();
        let JointFinished::Done(done) = finished else {
            panic!("not done: {finished:?}");
        };
        assert_eq!(done.dir, root.path().join("thai_calibration"));
        assert!(done.dir.join("posterior.csv").is_file());
        assert!(done.text.contains("buyer."), "{}", done.text);
        assert!(generations > 0);

        let flag = AtomicBool::new(true);
        let other = tempfile::tempdir().unwrap();
        let finished = JointCalibrator::new(&cases, "thai")
            .output_root(other.path())
            .cancel(&flag)
            .run_placed(&mut |_| {})
            .unwrap();
        assert!(
            matches!(finished, JointFinished::Interrupted(_)),
            "{finished:?}"
        );
        assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0);
    }
}
