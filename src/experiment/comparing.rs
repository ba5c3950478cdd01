//! A comparison's lifecycle, as [`crate::runner::Runner`] is a study's.
//!
//! [`CompareRunner`] places the output directory first (by the rule every
//! command follows: `--out` claimed, or a fresh name under the output root;
//! a directory armsim did not write is refused before a single pair runs),
//! then runs the pairs through [`Comparison`] (the executor: threads,
//! rounds, progress, cancel), then writes the directory all or nothing. An
//! interrupted comparison writes nothing and says how far it got
//! ([`CompareFinished::Interrupted`]); it keeps no checkpoint, so running it
//! again starts afresh. The binary only parses, shows progress and prints.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::compare::{CompareError, Comparison, Paired};
use super::outcome::Outcome;
use super::report::{ComparisonReport, comparison_placement, write_comparison};
use crate::files::{FileError, Placement};
use crate::output::OutputError;
use crate::scenario::Loaded;

/// Why a comparison could not be run or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareRunError {
    /// The output directory was refused (before any pair ran).
    #[error(transparent)]
    Place(#[from] FileError),
    /// The scenarios cannot be compared, or the threads cannot start.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// The results could not be written.
    #[error(transparent)]
    Write(#[from] OutputError),
}

/// A comparison written to its directory.
#[derive(Debug)]
pub struct CompareDone {
    /// The directory.
    pub dir: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The results.
    pub paired: Paired,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
}

/// A comparison stopped by its cancel flag: nothing was written.
#[derive(Debug)]
pub struct CompareInterrupted {
    /// The directory it would have written.
    pub dir: PathBuf,
    /// Pairs run before it stopped.
    pub done: u64,
    /// Pairs asked for.
    pub total: u64,
}

/// How a comparison ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum CompareFinished {
    /// The directory was written (boxed: it holds three summaries).
    Done(Box<CompareDone>),
    /// The cancel flag stopped it; nothing was written.
    Interrupted(CompareInterrupted),
}

/// A comparison's whole lifecycle; see the module documentation.
pub struct CompareRunner<'a> {
    a: &'a Loaded,
    b: &'a Loaded,
    outcomes: Vec<Outcome>,
    level: f64,
    plots: bool,
    out: Option<PathBuf>,
    root: PathBuf,
    threads: usize,
    cancel: Option<&'a AtomicBool>,
    progress: Option<&'a mut dyn FnMut(u64)>,
    command_line: Vec<String>,
}

impl<'a> CompareRunner<'a> {
    /// A comparison of `a` and `b` (A's runs and seed) with A's default
    /// outcomes, 95% intervals and plots, written under `output/`.
    pub fn new(a: &'a Loaded, b: &'a Loaded) -> Self {
        CompareRunner {
            a,
            b,
            outcomes: Outcome::defaults(&a.scenario),
            level: 0.95,
            plots: true,
            out: None,
            root: PathBuf::from("output"),
            threads: 0,
            cancel: None,
            progress: None,
            command_line: Vec::new(),
        }
    }

    /// The outcomes to compare.
    pub fn outcomes(mut self, outcomes: Vec<Outcome>) -> Self {
        self.outcomes = outcomes;
        self
    }

    /// Confidence level of the outcome table's intervals.
    pub fn level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }

    /// Whether to draw the plots.
    pub fn plots(mut self, plots: bool) -> Self {
        self.plots = plots;
        self
    }

    /// Writes to exactly this directory (`--out`).
    pub fn out(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out = Some(dir.into());
        self
    }

    /// Where a directory is named when no `--out` is given (`output/`).
    pub fn output_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Worker threads; 0 uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Stops within one pair once `flag` is set, writing nothing.
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called after each round with the pairs run so far.
    pub fn on_progress(mut self, progress: &'a mut dyn FnMut(u64)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The command line, for the manifest.
    pub fn command_line(mut self, args: Vec<String>) -> Self {
        self.command_line = args;
        self
    }

    /// Where the comparison will write: a claimed or freshly named
    /// directory, checked before anything runs.
    ///
    /// # Errors
    /// [`CompareRunError::Place`] if the directory holds what armsim did
    /// not write, or another comparison's results.
    pub fn placement(&self) -> Result<Placement, CompareRunError> {
        Ok(comparison_placement(
            self.out.as_deref(),
            &self.root,
            self.a,
            self.b,
            &self.outcomes,
            self.level,
            self.plots,
        )?)
    }

    /// Places, runs and writes the comparison; see the module documentation.
    ///
    /// # Errors
    /// [`CompareRunError`]: a refused directory or incompatible scenarios
    /// (before any pair runs), threads that cannot start, or a failed write.
    pub fn run(self) -> Result<CompareFinished, CompareRunError> {
        self.run_placed(&mut |_| {})
    }

    /// As [`CompareRunner::run`], telling `placed` where it will write
    /// before the pairs run.
    ///
    /// # Errors
    /// As [`CompareRunner::run`].
    pub fn run_placed(
        self,
        placed: &mut dyn FnMut(&Placement),
    ) -> Result<CompareFinished, CompareRunError> {
        let placement = self.placement()?;
        let CompareRunner {
            a,
            b,
            outcomes,
            level,
            plots,
            threads,
            cancel,
            progress,
            command_line,
            ..
        } = self;
        let mut comparison = Comparison::new(&a.scenario, &b.scenario)?
            .outcomes(outcomes)
            .threads(threads);
        placed(&placement);
        if let Some(progress) = progress {
            comparison = comparison.on_progress(progress);
        }
        if let Some(flag) = cancel {
            comparison = comparison.cancel_flag(flag);
        }
        let done = comparison.run()?;
        if done.interrupted {
            return Ok(CompareFinished::Interrupted(CompareInterrupted {
                dir: placement.dir,
                done: done.completed,
                total: a.scenario.runs(),
            }));
        }
        let files = write_comparison(
            &placement.dir,
            &ComparisonReport {
                a,
                b,
                paired: &done.paired,
                seed: a.scenario.seed(),
                level,
                threads: done.threads,
                elapsed_seconds: done.elapsed.as_secs_f64(),
                plots,
                command_line: &command_line,
            },
        )?;
        Ok(CompareFinished::Done(Box::new(CompareDone {
            dir: placement.dir,
            files,
            paired: done.paired,
            threads: done.threads,
            elapsed_seconds: done.elapsed.as_secs_f64(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_baseline;
    use std::sync::atomic::Ordering;

    fn pair() -> (Loaded, Loaded) {
        let a = load_baseline(&["run.runs=120".into(), "run.quarters=8".into()]).unwrap();
        let b = load_baseline(&[
            "run.runs=120".into(),
            "run.quarters=8".into(),
            "suppliers.Russia.support=0".into(),
        ])
        .unwrap();
        (a, b)
    }

    #[test]
    fn a_comparison_is_written_whole_and_matches_the_comparison_it_ran() {
        let (a, b) = pair();
        let root = tempfile::tempdir().unwrap();
        let finished = CompareRunner::new(&a, &b)
            .plots(false)
            .threads(2)
            .output_root(root.path())
            .run()
            .unwrap();
        let CompareFinished::Done(done) = finished else {
            panic!("not done: {finished:?}");
        };
        assert!(done.dir.starts_with(root.path()));
        assert!(done.files.iter().all(|f| f.is_file()), "{:?}", done.files);
        let direct = Comparison::new(&a.scenario, &b.scenario)
            .unwrap()
            .threads(1)
            .run()
            .unwrap();
        assert_eq!(done.paired.difference, direct.paired.difference);
    }

    #[test]
    fn a_directory_armsim_did_not_write_is_refused_before_any_pair_runs() {
        let (a, b) = pair();
        let root = tempfile::tempdir().unwrap();
        let theirs = root.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
        let mut pairs = 0;
        let mut progress = |n: u64| pairs = n;
        let err = CompareRunner::new(&a, &b)
            .plots(false)
            .out(&theirs)
            .on_progress(&mut progress)
            .run()
            .unwrap_err();
        assert!(matches!(err, CompareRunError::Place(_)), "{err}");
        assert_eq!(pairs, 0);
        assert_eq!(
            std::fs::read_to_string(theirs.join("notes.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn an_interrupted_comparison_writes_nothing() {
        let (a, b) = pair();
        let root = tempfile::tempdir().unwrap();
        let flag = AtomicBool::new(true);
        let finished = CompareRunner::new(&a, &b)
            .plots(false)
            .output_root(root.path())
            .cancel(&flag)
            .run()
            .unwrap();
        let CompareFinished::Interrupted(stopped) = finished else {
            panic!("not interrupted: {finished:?}");
        };
        assert_eq!((stopped.done, stopped.total), (0, 120));
        assert!(!stopped.dir.exists());
        assert!(flag.load(Ordering::Relaxed));
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}
