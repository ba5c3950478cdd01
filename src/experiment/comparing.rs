//! A comparison's lifecycle, as [`crate::runner::Runner`] is a study's.
//!
//! [`CompareRunner`] places the output directory first (by the rule every
//! command follows: `--out` claimed, or a fresh name under the output root;
//! a directory armsim did not write is refused before a single pair runs),
//! then runs the pairs through [`Comparison`] (the executor: threads,
//! rounds, progress, cancel), then writes the directory all or nothing.
//!
//! Checkpoints follow a study's rules ([`crate::runner`]): saved beside the
//! directory (`.NAME.checkpoint`) every period and when the cancel flag
//! stops the comparison at a round's end ([`CompareFinished::Interrupted`]:
//! nothing is written to the directory); with `resume`, a checkpoint of the
//! same comparison is continued, one of another is refused; after the
//! directory is written the checkpoint is removed. A checkpoint is a
//! [`ComparisonState`], in the frame every armsim state file has
//! ([`crate::state`]). What a person should hear comes back as
//! [`Notice`]s. The binary only parses, shows progress and prints.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::compare::{CompareError, Comparison, Paired, PairedMoments};
use super::outcome::Outcome;
use super::report::{ComparisonReport, comparison_placement, write_comparison};
use crate::files::{self, FileError, Placement};
use crate::lifecycle::{self, Notice, Start};
use crate::output::OutputError;
use crate::runner::checkpoint_path;
use crate::scenario::Loaded;
use crate::state::{self, COMPARISON_MAGIC, Reader, StateError, Unsaved, put_str};
use crate::stats::Moments;
use crate::summary::Summary;

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
    /// The checkpoint could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The comparison was interrupted and its completed pairs could not be
    /// saved (in the words every command uses: [`Unsaved`]).
    #[error(transparent)]
    Unsaved(#[from] Unsaved),
    /// The checkpoint to resume from is of another comparison.
    #[error(
        "{} is a checkpoint of another comparison (its scenarios, seed, runs or outcomes \
         differ); remove it, or run without --resume to replace it",
        path.display()
    )]
    OtherCheckpoint {
        /// The checkpoint.
        path: PathBuf,
    },
    /// Another command's checkpoint is where the comparison keeps its own.
    #[error(transparent)]
    AnotherCommands(#[from] lifecycle::AnotherCommands),
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

/// A comparison stopped by its cancel flag: nothing was written to its
/// directory, and the pairs done are in its checkpoint.
#[derive(Debug)]
pub struct CompareInterrupted {
    /// The directory it would have written.
    pub dir: PathBuf,
    /// The checkpoint holding the pairs done (`None` if none were).
    pub checkpoint: Option<PathBuf>,
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
    notice: Option<&'a mut dyn FnMut(Notice<'_>)>,
    resume: bool,
    every: Duration,
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
            notice: None,
            resume: false,
            every: Duration::from_secs(60),
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

    /// Stops at the end of the round under way once `flag` is set (rounds
    /// adapt to take about a quarter of a second), checkpointing and writing
    /// nothing.
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Continue from the checkpoint if there is one of this comparison.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Save a checkpoint at most this often (at a round's end).
    pub fn checkpoint_every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }

    /// Called with what a person should hear: resuming, a checkpoint that
    /// cannot be saved, and the like.
    pub fn on_notice(mut self, notice: &'a mut dyn FnMut(Notice<'_>)) -> Self {
        self.notice = Some(notice);
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
        let checkpoint = checkpoint_path(&placement.dir);
        let CompareRunner {
            a,
            b,
            outcomes,
            cancel,
            progress,
            mut notice,
            ..
        } = self;
        let mut tell = |n: Notice<'_>| crate::lifecycle::tell(&mut notice, n);
        let total = a.scenario.runs();
        let identity = ComparisonState::identity(a, b, &outcomes);
        let mut comparison = Comparison::new(&a.scenario, &b.scenario)?
            .outcomes(outcomes.clone())
            .threads(self.threads)
            .stop_at_round_end();
        let resumed = resume_from(&checkpoint, self.resume, &identity, a, &outcomes, &mut tell)?;
        let resumed_seconds = resumed.as_ref().map_or(0.0, |r| r.elapsed_seconds);
        if let Some(saved) = resumed {
            comparison = comparison.resume(saved.paired);
        }
        placed(&placement);
        if let Some(progress) = progress {
            comparison = comparison.on_progress(progress);
        }
        if let Some(flag) = cancel {
            comparison = comparison.cancel_flag(flag);
        }
        let started = std::time::Instant::now();
        let state_of = |paired: &Paired| ComparisonState {
            identity: identity.clone(),
            elapsed_seconds: resumed_seconds + started.elapsed().as_secs_f64(),
            paired: paired.clone(),
        };
        let mut save = |paired: &Paired| {
            if let Err(error) = state_of(paired).save(&checkpoint) {
                tell(Notice::CheckpointFailed {
                    checkpoint: &checkpoint,
                    error: &error,
                });
            }
        };
        let done = comparison.checkpoint(self.every, &mut save).run()?;
        let elapsed_seconds = resumed_seconds + done.elapsed.as_secs_f64();
        if done.interrupted {
            return keep_interrupted(placement.dir, checkpoint, state_of(&done.paired), total);
        }
        let files = write_comparison(
            &placement.dir,
            &ComparisonReport {
                a,
                b,
                paired: &done.paired,
                seed: a.scenario.seed(),
                level: self.level,
                threads: done.threads,
                elapsed_seconds,
                plots: self.plots,
                command_line: &self.command_line,
            },
        )?;
        lifecycle::remove_checkpoint(&checkpoint, ComparisonState::is_state_file, &mut tell);
        Ok(CompareFinished::Done(Box::new(CompareDone {
            dir: placement.dir,
            files,
            paired: done.paired,
            threads: done.threads,
            elapsed_seconds,
        })))
    }
}

/// An interrupted comparison: its pairs so far (`state`) saved at
/// `checkpoint` for `--resume`, if there are any.
///
/// # Errors
/// [`Unsaved`] if they could not be saved.
fn keep_interrupted(
    dir: PathBuf,
    checkpoint: PathBuf,
    state: ComparisonState,
    total: u64,
) -> Result<CompareFinished, CompareRunError> {
    let done = state.paired.runs;
    let kept = if done > 0 {
        if let Err(source) = state.save(&checkpoint) {
            return Err(Unsaved {
                done,
                total,
                unit: "pairs",
                path: checkpoint,
                source: Box::new(source),
            }
            .into());
        }
        Some(checkpoint)
    } else {
        None
    };
    Ok(CompareFinished::Interrupted(CompareInterrupted {
        dir,
        checkpoint: kept,
        done,
        total,
    }))
}

/// With `resume`, the checkpoint at `checkpoint` if it is this comparison's
/// (refusing another comparison's); says what happened to the checkpoint
/// either way. Another command's checkpoint there (a study's, a
/// campaign's) is refused before anything runs, resuming or not: it is not
/// this command's to replace.
fn resume_from(
    checkpoint: &Path,
    resume: bool,
    identity: &str,
    a: &Loaded,
    outcomes: &[Outcome],
    tell: &mut dyn FnMut(Notice<'_>),
) -> Result<Option<ComparisonState>, CompareRunError> {
    match lifecycle::open_checkpoint(checkpoint, "comparison", resume, tell)? {
        Start::Resume => match ComparisonState::load(checkpoint, identity, a, outcomes)? {
            Some(saved) => {
                tell(Notice::Resuming {
                    checkpoint,
                    done: saved.paired.runs,
                    total: a.scenario.runs(),
                });
                Ok(Some(saved))
            }
            None => Err(CompareRunError::OtherCheckpoint {
                path: checkpoint.to_path_buf(),
            }),
        },
        Start::Afresh => Ok(None),
    }
}

/// The format of a comparison's checkpoint.
const STATE_VERSION: u32 = 1;

/// A comparison's checkpoint: the results of its first pairs.
///
/// The payload, inside the frame of every state file
/// ([`COMPARISON_MAGIC`]): the writer's version, the comparison's identity
/// (a fingerprint of both scenarios, the seed, the runs, the outcomes and
/// the catalogue of metrics), the seconds spent, the pairs done, the three
/// summaries (A, B, B - A) and each outcome's three moments. It is read
/// only to resume the same comparison, so the identity is checked before
/// anything else in it is believed, and every summary is checked against
/// the shape the comparison's own scenario gives.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonState {
    /// Which comparison it belongs to ([`ComparisonState::identity`]).
    pub identity: String,
    /// Wall-clock seconds spent so far.
    pub elapsed_seconds: f64,
    /// The results of the pairs done.
    pub paired: Paired,
}

impl ComparisonState {
    /// The fingerprint of what decides a comparison's results: its two
    /// scenarios (with their seed and runs), its outcomes and the metrics'
    /// catalogue. Not the level or the plots, which only its report reads.
    pub fn identity(a: &Loaded, b: &Loaded, outcomes: &[Outcome]) -> String {
        files::settings_fingerprint(&serde_json::json!({
            "kind": "comparison checkpoint",
            "a": a.hash,
            "b": b.hash,
            "seed": a.scenario.seed(),
            "runs": a.scenario.runs(),
            "outcomes": outcomes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "catalogue": crate::metrics::fingerprint(),
        }))
    }

    /// `payload` framed as a comparison's checkpoint (magic bytes, format,
    /// length, payload, SHA-256): how the fuzz target reaches the payload's
    /// decoder behind a valid checksum.
    pub fn frame(payload: &[u8]) -> Vec<u8> {
        state::frame(COMPARISON_MAGIC, STATE_VERSION, payload)
    }

    /// The framed binary encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        put_str(&mut payload, env!("CARGO_PKG_VERSION"));
        put_str(&mut payload, &self.identity);
        payload.extend_from_slice(&self.elapsed_seconds.to_bits().to_le_bytes());
        payload.extend_from_slice(&self.paired.runs.to_le_bytes());
        for summary in [&self.paired.a, &self.paired.b, &self.paired.difference] {
            summary.encode(&mut payload);
        }
        payload.extend_from_slice(&(self.paired.outcomes.len() as u64).to_le_bytes());
        for o in &self.paired.outcomes {
            for m in [&o.a, &o.b, &o.difference] {
                m.encode(&mut payload);
            }
        }
        Self::frame(&payload)
    }

    /// Decodes [`ComparisonState::encode`]'s output if it is the checkpoint
    /// of the comparison `identity` names (of `a`'s shape, with
    /// `outcomes`); `Ok(None)` if it is another comparison's.
    ///
    /// # Errors
    /// What is wrong with a damaged, truncated or inconsistent file.
    pub fn decode(
        bytes: &[u8],
        identity: &str,
        a: &Loaded,
        outcomes: &[Outcome],
    ) -> Result<Option<ComparisonState>, String> {
        let mut reader = Reader {
            input: state::unframe(COMPARISON_MAGIC, STATE_VERSION, bytes)?,
        };
        let _writer_version = reader.string()?;
        if reader.string()? != identity {
            return Ok(None);
        }
        let elapsed_seconds = f64::from_bits(reader.u64()?);
        if !(elapsed_seconds.is_finite() && elapsed_seconds >= 0.0) {
            return Err("invalid elapsed time".into());
        }
        let runs = reader.u64()?;
        if runs > a.scenario.runs() {
            return Err(format!(
                "it holds {runs} pairs of a comparison of {}",
                a.scenario.runs()
            ));
        }
        let mut expected = Paired::new(&a.scenario, outcomes);
        for (name, slot) in [
            ("A's", &mut expected.a),
            ("B's", &mut expected.b),
            ("the differences'", &mut expected.difference),
        ] {
            // The shape is known: a summary declaring another is refused
            // before the decoder allocates what it declares.
            let mut header = Vec::new();
            slot.encode(&mut header);
            // Quarters, suppliers, the pairs' count, each pair, the flag.
            let pairs = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
            let shape_bytes = 8 * (4 + 2 * pairs as usize);
            if reader.input.get(..shape_bytes) != Some(&header[..shape_bytes]) {
                return Err(format!("{name} summary does not fit the comparison"));
            }
            let summary =
                Summary::decode(&mut reader.input).map_err(|e| format!("{name} summary: {e}"))?;
            if !summary.same_shape(slot) || summary.runs() != runs {
                return Err(format!("{name} summary does not fit the comparison"));
            }
            summary.check_counts()?;
            *slot = summary;
        }
        if reader.u64()? != outcomes.len() as u64 {
            return Err("its outcomes are not the comparison's".into());
        }
        for o in expected.outcomes.iter_mut() {
            let mut next = || Moments::decode(&mut reader.input).ok_or("truncated outcome moments");
            let (ma, mb, md) = (next()?, next()?, next()?);
            if [&ma, &mb, &md].iter().any(|m| m.count > runs) || md.count > ma.count.min(mb.count) {
                return Err("an outcome counts more pairs than were run".into());
            }
            let binning = o.outcome.binning();
            for (m, binning) in [(&ma, binning), (&mb, binning), (&md, binning.signed())] {
                m.check(binning)
                    .map_err(|what| format!("outcome {} {what}", o.outcome))?;
            }
            *o = PairedMoments {
                outcome: o.outcome.clone(),
                a: ma,
                b: mb,
                difference: md,
            };
        }
        if !reader.input.is_empty() {
            return Err("trailing bytes".into());
        }
        expected.runs = runs;
        Ok(Some(ComparisonState {
            identity: identity.to_string(),
            elapsed_seconds,
            paired: expected,
        }))
    }

    /// Whether `path` holds a comparison's checkpoint (by its magic bytes):
    /// the only kind of file a comparison may replace or remove.
    pub fn is_state_file(path: &Path) -> bool {
        files::starts_with(path, COMPARISON_MAGIC)
    }

    /// Writes the checkpoint atomically, replacing only a comparison's
    /// checkpoint.
    ///
    /// # Errors
    /// [`StateError::Write`].
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = self.encode();
        files::write_file_atomically(path, Self::is_state_file, |w| {
            std::io::Write::write_all(w, &bytes)
        })?;
        Ok(())
    }

    /// Reads the checkpoint at `path` if it is of the comparison `identity`
    /// names; `Ok(None)` if it is another's.
    ///
    /// # Errors
    /// [`StateError::Io`] or [`StateError::Malformed`].
    pub fn load(
        path: &Path,
        identity: &str,
        a: &Loaded,
        outcomes: &[Outcome],
    ) -> Result<Option<ComparisonState>, StateError> {
        let bytes = std::fs::read(path).map_err(|source| StateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::decode(&bytes, identity, a, outcomes).map_err(|reason| StateError::Malformed {
            path: path.to_path_buf(),
            reason,
        })
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

    /// Runs the comparison into `root/out`, interrupting it once `stop_at`
    /// pairs are done (if given).
    fn run_into(
        a: &Loaded,
        b: &Loaded,
        root: &Path,
        resume: bool,
        stop_at: Option<u64>,
        notices: &mut Vec<String>,
    ) -> Result<CompareFinished, CompareRunError> {
        let flag = AtomicBool::new(false);
        let mut progress = |pairs: u64| {
            if stop_at.is_some_and(|n| pairs >= n) {
                flag.store(true, Ordering::Relaxed);
            }
        };
        let mut notice = |n: Notice<'_>| notices.push(format!("{n:?}"));
        CompareRunner::new(a, b)
            .plots(false)
            .threads(1)
            .out(root.join("out"))
            .resume(resume)
            .cancel(&flag)
            .on_progress(&mut progress)
            .on_notice(&mut notice)
            .run()
    }

    #[test]
    fn an_interruption_whose_checkpoint_cannot_be_saved_says_what_was_done() {
        let (a, b) = pair();
        let root = tempfile::tempdir().unwrap();
        let parent = root.path().join("gone");
        std::fs::create_dir(&parent).unwrap();
        let flag = AtomicBool::new(false);
        // Once pairs are done, a file takes the place of the checkpoint's
        // directory and the comparison is interrupted.
        let mut progress = |pairs: u64| {
            if pairs >= 1 && !flag.load(Ordering::Relaxed) {
                std::fs::remove_dir_all(&parent).unwrap();
                std::fs::write(&parent, b"in the way").unwrap();
                flag.store(true, Ordering::Relaxed);
            }
        };
        let result = CompareRunner::new(&a, &b)
            .plots(false)
            .threads(1)
            .out(parent.join("out"))
            .cancel(&flag)
            .on_progress(&mut progress)
            .run();
        let Err(error) = result else {
            panic!("saved: {result:?}");
        };
        let CompareRunError::Unsaved(Unsaved {
            done, total, path, ..
        }) = &error
        else {
            panic!("{error}");
        };
        assert!(*done > 0 && *done < *total, "{error}");
        assert_eq!(path, &parent.join(".out.checkpoint"));
        let message = error.to_string();
        assert!(message.starts_with("interrupted after"), "{message}");
        assert!(message.contains("could not be saved"), "{message}");
    }

    #[test]
    fn an_interrupted_comparison_resumes_to_the_same_results() {
        let (a, b) = pair();
        let root = tempfile::tempdir().unwrap();
        let mut notices = Vec::new();
        let stopped = run_into(&a, &b, root.path(), false, Some(1), &mut notices).unwrap();
        let CompareFinished::Interrupted(stopped) = stopped else {
            panic!("not interrupted: {stopped:?}");
        };
        assert!(stopped.done > 0 && stopped.done < 120, "{stopped:?}");
        let checkpoint = stopped.checkpoint.expect("a checkpoint");
        assert_eq!(checkpoint, root.path().join(".out.checkpoint"));
        assert!(ComparisonState::is_state_file(&checkpoint));
        assert!(!root.path().join("out").exists(), "nothing written");

        let resumed = run_into(&a, &b, root.path(), true, None, &mut notices).unwrap();
        let CompareFinished::Done(done) = resumed else {
            panic!("not done: {resumed:?}");
        };
        assert!(
            notices.iter().any(|n| n.starts_with("Resuming")),
            "{notices:?}"
        );
        let direct = Comparison::new(&a.scenario, &b.scenario)
            .unwrap()
            .threads(2)
            .run()
            .unwrap();
        assert_eq!(done.paired, direct.paired);
        assert!(
            !checkpoint.exists(),
            "the checkpoint is removed once written"
        );
    }

    #[test]
    fn a_checkpoint_of_another_comparison_is_refused_on_resume_and_replaced_without() {
        let (a, b) = pair();
        let root = tempfile::tempdir().unwrap();
        let mut notices = Vec::new();
        let stopped = run_into(&a, &b, root.path(), false, Some(1), &mut notices).unwrap();
        assert!(matches!(stopped, CompareFinished::Interrupted(_)));
        let other = load_baseline(&[
            "run.runs=120".into(),
            "run.quarters=8".into(),
            "suppliers.China.support=0".into(),
        ])
        .unwrap();
        let err = run_into(&a, &other, root.path(), true, None, &mut notices).unwrap_err();
        assert!(
            matches!(err, CompareRunError::OtherCheckpoint { .. }),
            "{err}"
        );
        assert!(root.path().join(".out.checkpoint").exists(), "left alone");
        // Without --resume it starts afresh and, once written, removes it.
        notices.clear();
        let done = run_into(&a, &other, root.path(), false, None, &mut notices).unwrap();
        assert!(matches!(done, CompareFinished::Done(_)));
        assert!(notices[0].starts_with("ReplacingCheckpoint"), "{notices:?}");
        assert!(!root.path().join(".out.checkpoint").exists());
    }

    #[test]
    fn a_damaged_or_truncated_checkpoint_is_refused_never_believed() {
        let (a, b) = pair();
        let outcomes = Outcome::defaults(&a.scenario);
        let done = Comparison::new(&a.scenario, &b.scenario)
            .unwrap()
            .runs(0..50)
            .threads(1)
            .run()
            .unwrap();
        let identity = ComparisonState::identity(&a, &b, &outcomes);
        let saved = ComparisonState {
            identity: identity.clone(),
            elapsed_seconds: 1.5,
            paired: done.paired,
        };
        let bytes = saved.encode();
        let decoded = ComparisonState::decode(&bytes, &identity, &a, &outcomes).unwrap();
        assert_eq!(decoded, Some(saved.clone()));
        // Another comparison's: not this one's, and not an error.
        let other = ComparisonState::identity(&a, &a, &outcomes);
        assert_eq!(
            ComparisonState::decode(&bytes, &other, &a, &outcomes),
            Ok(None)
        );
        for cut in (0..bytes.len()).step_by(97) {
            assert!(ComparisonState::decode(&bytes[..cut], &identity, &a, &outcomes).is_err());
        }
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 1;
        let err = ComparisonState::decode(&flipped, &identity, &a, &outcomes).unwrap_err();
        assert!(err.contains("checksum"), "{err}");
        // A payload forged behind a valid checksum is checked too: an
        // outcome's sum that would overflow when merged, a mean outside
        // its minimum and maximum, a difference counted more than its sides.
        for forge in [
            |m: &mut PairedMoments| m.a.sum = i128::MAX,
            |m: &mut PairedMoments| m.b.max = -1.0,
            |m: &mut PairedMoments| m.difference.count = m.a.count + 1,
        ] {
            let mut forged = saved.clone();
            forge(&mut forged.paired.outcomes[0]);
            let err =
                ComparisonState::decode(&forged.encode(), &identity, &a, &outcomes).unwrap_err();
            assert!(err.contains("outcome"), "{err}");
        }
        // ... and a summary's run count.
        let mut forged = saved;
        forged.paired.a = Summary::new(&a.scenario);
        let err = ComparisonState::decode(&forged.encode(), &identity, &a, &outcomes).unwrap_err();
        assert!(err.contains("does not fit"), "{err}");
    }

    #[test]
    fn another_commands_checkpoint_is_refused_and_left_alone() {
        let (a, b) = pair();
        let root = tempfile::tempdir().unwrap();
        let checkpoint = root.path().join(".out.checkpoint");
        let study = crate::state::StudyState::new(&a, 0..120, 0, 0.0, 1, Summary::new(&a.scenario));
        study.save(&checkpoint).unwrap();
        let before = std::fs::read(&checkpoint).unwrap();
        for resume in [true, false] {
            let mut notices = Vec::new();
            let err = run_into(&a, &b, root.path(), resume, None, &mut notices).unwrap_err();
            assert!(
                matches!(
                    &err,
                    CompareRunError::AnotherCommands(lifecycle::AnotherCommands {
                        theirs: "study",
                        ..
                    })
                ),
                "{err}"
            );
            assert_eq!(std::fs::read(&checkpoint).unwrap(), before, "left alone");
            assert!(!root.path().join("out").exists());
        }
    }
}
