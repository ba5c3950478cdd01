//! The lifecycle of a study on disk: where it goes, checkpoints, resuming,
//! shards, interruptions and merging, for every command that runs studies.
//!
//! [`Runner`] is a builder in the shape of an executor: give it a loaded
//! scenario and choose, as needed, the output directory, a shard, resuming,
//! a checkpoint period, a cancel flag, callbacks for progress and notices,
//! the runs to keep; then [`Runner::run`] does the rest:
//!
//! - the destination is chosen and checked first, so a refused `--out`
//!   costs no work: the output rule ([`files::place`]) replaces an earlier
//!   study in the default directory only if it has the same settings, and
//!   otherwise writes beside it (`NAME-2`), saying so ([`Notice::Placed`]);
//!   `--out` may replace an earlier armsim study ([`files::claim`]);
//!   nothing else is ever replaced ([`crate::files`]);
//! - with `resume`, the checkpoint beside the destination (`.NAME.checkpoint`)
//!   is loaded if it belongs to this study, and the study continues from it;
//! - checkpoints are saved every period; one that cannot be saved is
//!   reported ([`Notice::CheckpointFailed`]) and the study carries on;
//! - once the cancel flag is set the study stops at the end of the current
//!   round and saves one consistent checkpoint ([`Finished::Interrupted`]);
//! - a shard writes its state and manifest ([`Finished::Shard`]), a whole
//!   study its CSV, manifest, plots and kept runs ([`Finished::Study`]); the
//!   checkpoint is then removed.
//!
//! [`Merge`] combines shard directories into the whole study, under the
//! same rules. The library never prints: what a person should hear comes
//! back as [`Notice`]s and results.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::files;
pub use crate::lifecycle::Notice;
use crate::lifecycle::{self, NoticeFn, Start};
use crate::output::{self, KeptRuns, OutputError, RunsFormat, SHARD_STATE, StudyShardRecord};
use crate::scenario::{Loaded, ScenarioError};
use crate::state::{self, MergeError, StateError, StudyState, Unsaved};
use crate::study::{Study, StudyError, replay, shard_range};
use crate::summary::Summary;

/// Where studies go unless told otherwise (relative to the working directory).
pub const OUTPUT_ROOT: &str = "output";

/// Shard `index` of `count` (0-based) of a study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard.
    pub index: u64,
    /// Of how many.
    pub count: u64,
}

impl Shard {
    /// Shard `index` of `count`, if `index < count`.
    pub fn new(index: u64, count: u64) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }
}

/// The default directory of a study under `root`: `root/SLUG` (see
/// [`Loaded::slug`]: the scenario's id and its model overrides), or
/// `root/SLUG.shard-I-of-N` for a shard. Nothing a file says can make it
/// leave `root`: the slug is made a single path component.
pub fn default_dir(root: &Path, loaded: &Loaded, shard: Option<Shard>) -> PathBuf {
    let (stem, tail) = default_name(loaded, shard);
    root.join(stem + &tail)
}

/// The default directory's name as [`files::place`] takes it: the stem
/// (numbered `-2`, `-3`, ... beside earlier results of other settings) and
/// the shard's tail, kept last so `NAME.shard-*-of-N` still globs a study's
/// shards.
fn default_name(loaded: &Loaded, shard: Option<Shard>) -> (String, String) {
    let stem = files::path_component(&loaded.slug());
    let tail = shard.map_or_else(String::new, |s| {
        format!(".shard-{}-of-{}", s.index, s.count)
    });
    (stem, tail)
}

/// Where a study directory's checkpoint lives: hidden, beside it.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "study".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.checkpoint"))
}

/// Why a study could not be run, written or merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The runs could not be made.
    #[error(transparent)]
    Study(#[from] StudyError),
    /// The outputs could not be written, or the destination is refused.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A state file could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// Another command's checkpoint is where the study keeps its own.
    #[error(transparent)]
    AnotherCommands(#[from] lifecycle::AnotherCommands),
    /// The checkpoint to resume from is of another study.
    #[error(
        "{} is a checkpoint of another study (its scenario, seed or runs differ); \
         remove it, or run without resuming to replace it",
        path.display()
    )]
    OtherCheckpoint {
        /// The checkpoint.
        path: PathBuf,
    },
    /// The checkpoint was written by another model version.
    #[error(
        "{} was written by model {saved}, and this study runs model {current}; \
         remove it, or run without resuming to replace it",
        path.display()
    )]
    OtherModel {
        /// The checkpoint.
        path: PathBuf,
        /// Its model.
        saved: crate::model::ModelVersion,
        /// This study's.
        current: crate::model::ModelVersion,
    },
    /// The kept runs' file would be larger than allowed.
    #[error(
        "{file} for {runs} runs would be about {}, over the limit of {}; keep fewer runs, \
         use the Arrow format (about a quarter of the CSV size), or confirm the size",
        human_bytes(*estimated),
        human_bytes(*limit)
    )]
    RunsTooLarge {
        /// The file.
        file: &'static str,
        /// Runs kept.
        runs: u64,
        /// Its estimated size in bytes.
        estimated: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The study was interrupted and its completed runs could not be saved.
    #[error(transparent)]
    Unsaved(#[from] Unsaved),
    /// A path given to merge is not a shard directory.
    #[error(
        "{} is not a shard directory: it has no {SHARD_STATE} (shards are written by \
         `armsim run --shard I/N`)",
        path.display()
    )]
    NotAShard {
        /// The path.
        path: PathBuf,
    },
    /// The shards do not make one study.
    #[error("{message}")]
    Merge {
        /// What is wrong, naming the shards by their paths.
        message: String,
        /// The underlying error.
        source: MergeError,
    },
}

/// Bytes for people: `5.3 GB`, `820 MB`, `12 kB`.
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.0} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{bytes} bytes")
    }
}

/// A study written to its directory.
#[derive(Debug)]
pub struct StudyDone {
    /// The directory.
    pub dir: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The summary of every run.
    pub summary: Summary,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds, including resumed sessions.
    pub elapsed_seconds: f64,
}

/// A shard's state written to its directory.
#[derive(Debug)]
pub struct ShardDone {
    /// The directory.
    pub dir: PathBuf,
    /// The state file in it.
    pub state_file: PathBuf,
    /// The shard's runs.
    pub range: Range<u64>,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds, including resumed sessions.
    pub elapsed_seconds: f64,
}

/// A study stopped by its cancel flag, its completed runs saved.
#[derive(Debug)]
pub struct Interrupted {
    /// The checkpoint holding them.
    pub checkpoint: PathBuf,
    /// The directory the study would have written (nothing was written there).
    pub dir: PathBuf,
    /// Runs done in the range.
    pub done: u64,
    /// Runs in the range.
    pub total: u64,
}

/// How a run ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Finished {
    /// A whole study was written.
    Study(StudyDone),
    /// A shard was written.
    Shard(ShardDone),
    /// The study was interrupted and checkpointed.
    Interrupted(Interrupted),
}

/// What a runner will do, known before any run is made.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyPlan {
    /// The output directory.
    pub dir: PathBuf,
    /// The checkpoint beside it.
    pub checkpoint: PathBuf,
    /// The runs to make.
    pub range: Range<u64>,
    /// The kept runs' file and its estimated size, if runs are kept.
    pub kept_runs: Option<(&'static str, u64)>,
}

/// Size above which a kept runs' file is announced ([`Notice::LargeRuns`]).
pub const RUNS_WARN_BYTES: u64 = 1_000_000_000;
/// Size above which a kept runs' file is refused unless allowed.
pub const RUNS_LIMIT_BYTES: u64 = 5_000_000_000;

/// A study's whole lifecycle; see the module documentation.
pub struct Runner<'a> {
    loaded: &'a Loaded,
    out: Option<PathBuf>,
    root: PathBuf,
    shard: Option<Shard>,
    resume: bool,
    threads: usize,
    every: Duration,
    cancel: Option<&'a AtomicBool>,
    progress: Option<&'a mut dyn FnMut(u64)>,
    notice: Option<&'a mut NoticeFn<'a>>,
    keep: Option<(u64, RunsFormat)>,
    runs_limit: Option<u64>,
    plots: bool,
    command_line: Vec<String>,
}

impl<'a> Runner<'a> {
    /// A runner of `loaded`'s whole study into its default directory, on
    /// every core, checkpointing every minute, with plots.
    pub fn new(loaded: &'a Loaded) -> Self {
        Runner {
            loaded,
            out: None,
            root: PathBuf::from(OUTPUT_ROOT),
            shard: None,
            resume: false,
            threads: 0,
            every: Duration::from_secs(60),
            cancel: None,
            progress: None,
            notice: None,
            keep: None,
            runs_limit: Some(RUNS_LIMIT_BYTES),
            plots: true,
            command_line: Vec::new(),
        }
    }

    /// Write into `dir` instead of the default directory.
    pub fn out(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out = Some(dir.into());
        self
    }

    /// The directory default directories are made in (default `output`).
    pub fn output_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Run only this shard and write its state for [`Merge`].
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Continue from the checkpoint if there is one of this study.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Worker threads; 0 (the default) uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Save a checkpoint at most this often (at a round's end).
    pub fn checkpoint_every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }

    /// Stop and checkpoint once `flag` is set.
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called after each round with the runs done so far in the range
    /// (resumed ones included).
    pub fn on_progress(mut self, progress: &'a mut dyn FnMut(u64)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Called with each [`Notice`].
    pub fn on_notice(mut self, notice: &'a mut NoticeFn<'a>) -> Self {
        self.notice = Some(notice);
        self
    }

    /// Keep the trajectories of runs `0..count` in `format` (0 for none).
    pub fn keep_runs(mut self, count: u64, format: RunsFormat) -> Self {
        self.keep = (count > 0).then_some((count, format));
        self
    }

    /// Refuse a kept runs' file estimated above `limit` bytes (`None`: no
    /// limit). Default [`RUNS_LIMIT_BYTES`].
    pub fn runs_size_limit(mut self, limit: Option<u64>) -> Self {
        self.runs_limit = limit;
        self
    }

    /// Draw the plots (default yes).
    pub fn plots(mut self, plots: bool) -> Self {
        self.plots = plots;
        self
    }

    /// The command line to record in manifests.
    pub fn command_line(mut self, args: Vec<String>) -> Self {
        self.command_line = args;
        self
    }

    fn range(&self) -> Range<u64> {
        let runs = self.loaded.scenario.runs();
        match self.shard {
            Some(s) => shard_range(runs, s.index, s.count),
            None => 0..runs,
        }
    }

    /// What the run will do: directory, checkpoint, runs, kept runs' size.
    pub fn plan(&self) -> StudyPlan {
        let dir = self
            .out
            .clone()
            .unwrap_or_else(|| default_dir(&self.root, self.loaded, self.shard));
        let scenario = &self.loaded.scenario;
        let replay = |k: u64, o: &mut dyn crate::engine::Observer| replay(scenario, k, o);
        let kept_runs = self
            .keep
            .filter(|_| self.shard.is_none())
            .map(|(count, format)| {
                let kept = KeptRuns {
                    count,
                    format,
                    replay: &replay,
                };
                (
                    format.file_name(),
                    output::runs::estimate_bytes(scenario, &kept),
                )
            });
        StudyPlan {
            checkpoint: checkpoint_path(&dir),
            dir,
            range: self.range(),
            kept_runs,
        }
    }

    /// The settings fingerprint this study's manifest records
    /// ([`files::SETTINGS_KEY`]).
    pub fn settings(&self) -> String {
        let range = self.range();
        match self.shard {
            Some(_) => output::shard_settings(self.loaded, &range),
            None => output::study_settings(self.loaded, &range, self.plots, self.keep),
        }
    }

    /// Where the study will be written under the output rule
    /// ([`files::place`] for the default directory, [`files::claim`] for
    /// [`Runner::out`]): [`Runner::plan`]'s directory, or a numbered sibling
    /// of it when that holds a result of other settings.
    ///
    /// # Errors
    /// A refused destination.
    pub fn placement(&self) -> Result<files::Placement, RunError> {
        let settings = self.settings();
        let placed = match &self.out {
            Some(dir) => files::claim(dir, &settings),
            None => {
                let (stem, tail) = default_name(self.loaded, self.shard);
                files::place(&self.root, &stem, &tail, &settings)
            }
        };
        Ok(placed.map_err(OutputError::from)?)
    }

    /// Runs the study; see the module documentation.
    ///
    /// # Errors
    /// [`RunError`]: a refused destination or oversized kept runs (before any
    /// run), a checkpoint of another study, a failure of the runs, or of
    /// writing the outputs.
    pub fn run(mut self) -> Result<Finished, RunError> {
        let placement = self.placement()?;
        let mut plan = self.plan();
        plan.checkpoint = checkpoint_path(&placement.dir);
        plan.dir = placement.dir.clone();
        let mut notice = self.notice.take();
        let mut tell = |n: Notice<'_>| crate::lifecycle::tell(&mut notice, n);
        let StudyPlan {
            dir,
            checkpoint,
            range,
            kept_runs,
        } = plan;
        if !placement.kept.is_empty() || placement.replaced_other() {
            tell(Notice::Placed {
                placement: &placement,
            });
        }
        if let Some((file, estimated)) = kept_runs {
            let runs = self
                .keep
                .map_or(0, |k| k.0.min(self.loaded.scenario.runs()));
            check_kept_runs(file, runs, estimated, self.runs_limit, &mut tell)?;
        }
        let ran = self.run_study(&range, &checkpoint, &mut tell)?;
        let (state, threads, elapsed_seconds) = (ran.state, ran.threads, ran.elapsed_seconds);
        if ran.interrupted {
            let done = state.done - range.start;
            let total = range.end - range.start;
            state.save(&checkpoint).map_err(|e| Unsaved {
                done,
                total,
                unit: "runs",
                path: checkpoint.clone(),
                source: Box::new(e),
            })?;
            return Ok(Finished::Interrupted(Interrupted {
                checkpoint,
                dir,
                done,
                total,
            }));
        }
        let finished = write_finished(
            Ending {
                loaded: self.loaded,
                dir,
                range,
                shard: self.shard.is_some(),
                keep: self.keep,
                plots: self.plots,
                command_line: &self.command_line,
            },
            state,
            threads,
            elapsed_seconds,
        )?;
        lifecycle::remove_checkpoint(&checkpoint, state::is_state_file, &mut tell);
        Ok(finished)
    }

    /// Runs the study's `range`, continuing the checkpoint at `checkpoint`
    /// when resuming ([`lifecycle::open_checkpoint`] decides and says),
    /// saving it every period (a failure is said and the runs go on), until
    /// the end or the cancel flag. The state it ends in counts the time
    /// and threads of earlier sessions.
    fn run_study(
        &mut self,
        range: &Range<u64>,
        checkpoint: &Path,
        tell: &mut NoticeFn<'_>,
    ) -> Result<RanStudy, RunError> {
        let loaded = self.loaded;
        let study = Study::new(&loaded.scenario)
            .threads(self.threads)
            .runs(range.clone());
        let (study, resumed) =
            resume_from_checkpoint(study, loaded, range, checkpoint, self.resume, tell)?;
        let (resumed_seconds, resumed_threads) = resumed.unwrap_or((0.0, 0));
        let started = std::time::Instant::now();
        let study_threads = crate::executor::resolve_threads(self.threads);
        let mut save = |summary: &Summary, done: u64| -> std::io::Result<()> {
            let state = StudyState::new(
                loaded,
                range.clone(),
                done,
                resumed_seconds + started.elapsed().as_secs_f64(),
                study_threads.max(resumed_threads as usize),
                summary.clone(),
            );
            if let Err(error) = state.save(checkpoint) {
                tell(Notice::CheckpointFailed {
                    checkpoint,
                    error: &error,
                });
            }
            Ok(())
        };
        let mut progress = self.progress.take();
        let mut report = |done: u64| {
            if let Some(p) = progress.as_mut() {
                p(done);
            }
        };
        let mut study = study
            .on_progress(&mut report)
            .checkpoint(self.every, &mut save);
        if let Some(flag) = self.cancel {
            study = study.cancel_flag(flag);
        }
        let outcome = study.run()?;
        let threads = outcome.threads.max(resumed_threads as usize);
        let elapsed_seconds = resumed_seconds + outcome.elapsed.as_secs_f64();
        Ok(RanStudy {
            state: StudyState::new(
                loaded,
                range.clone(),
                outcome.completed.end,
                elapsed_seconds,
                threads,
                outcome.summary,
            ),
            threads,
            elapsed_seconds,
            interrupted: outcome.interrupted,
        })
    }
}

/// What [`Runner::run_study`] leaves.
struct RanStudy {
    state: StudyState,
    threads: usize,
    elapsed_seconds: f64,
    interrupted: bool,
}

/// What a finished study writes, and where.
struct Ending<'a> {
    loaded: &'a Loaded,
    dir: PathBuf,
    range: Range<u64>,
    /// A shard writes its state and manifest, a whole study its outputs.
    shard: bool,
    keep: Option<(u64, RunsFormat)>,
    plots: bool,
    command_line: &'a [String],
}

/// Writes a finished study's shard (its state and manifest) or its
/// outputs (CSV, manifest, plots, kept runs, replayed from their seeds).
fn write_finished(
    ending: Ending<'_>,
    state: StudyState,
    threads: usize,
    elapsed_seconds: f64,
) -> Result<Finished, RunError> {
    let Ending {
        loaded,
        dir,
        range,
        shard,
        keep,
        plots,
        command_line,
    } = ending;
    if shard {
        let state_file = output::write_shard(&dir, loaded, &state, command_line)?;
        return Ok(Finished::Shard(ShardDone {
            dir,
            state_file,
            range,
            threads,
            elapsed_seconds,
        }));
    }
    let scenario = &loaded.scenario;
    let replay = |k: u64, o: &mut dyn crate::engine::Observer| replay(scenario, k, o);
    let report = output::StudyReport {
        loaded,
        summary: &state.summary,
        run_range: range,
        threads: threads as u64,
        elapsed_seconds,
        shards: Vec::new(),
        kept: keep.map(|(count, format)| KeptRuns {
            count,
            format,
            replay: &replay,
        }),
        plots,
        command_line,
    };
    let files = output::write_study(&dir, &report)?;
    Ok(Finished::Study(StudyDone {
        dir,
        files,
        summary: state.summary,
        threads,
        elapsed_seconds,
    }))
}

/// Refuses a kept runs' file estimated above `limit`, or announces one
/// above [`RUNS_WARN_BYTES`].
fn check_kept_runs(
    file: &'static str,
    runs: u64,
    estimated: u64,
    limit: Option<u64>,
    tell: &mut NoticeFn<'_>,
) -> Result<(), RunError> {
    if let Some(limit) = limit
        && estimated > limit
    {
        return Err(RunError::RunsTooLarge {
            file,
            runs,
            estimated,
            limit,
        });
    }
    if estimated > RUNS_WARN_BYTES {
        tell(Notice::LargeRuns { file, estimated });
    }
    Ok(())
}

/// With `resume`, continues `study` from the checkpoint at `checkpoint` if
/// it is this study's (refusing another model's or another study's), and
/// returns the time and threads it had taken; says what happened to the
/// checkpoint either way.
fn resume_from_checkpoint<'s>(
    study: Study<'s>,
    loaded: &Loaded,
    range: &Range<u64>,
    checkpoint: &Path,
    resume: bool,
    tell: &mut NoticeFn<'_>,
) -> Result<(Study<'s>, Option<(f64, u32)>), RunError> {
    if lifecycle::open_checkpoint(checkpoint, "study", resume, tell)? == Start::Resume {
        let saved = StudyState::load(checkpoint)?;
        if saved.model != loaded.scenario.model() {
            return Err(RunError::OtherModel {
                path: checkpoint.to_path_buf(),
                saved: saved.model,
                current: loaded.scenario.model(),
            });
        }
        if !saved.belongs_to(loaded, range) {
            return Err(RunError::OtherCheckpoint {
                path: checkpoint.to_path_buf(),
            });
        }
        tell(Notice::Resuming {
            checkpoint,
            done: saved.done - range.start,
            total: range.end - range.start,
        });
        let resumed = (saved.elapsed_seconds, saved.threads);
        return Ok((study.resume(saved.summary, saved.done), Some(resumed)));
    }
    Ok((study, None))
}

/// A merged study, written.
#[derive(Debug)]
pub struct Merged {
    /// The directory.
    pub dir: PathBuf,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The scenario, with the overrides' labels the shards recorded.
    pub loaded: Loaded,
    /// The summary of every run.
    pub summary: Summary,
    /// Each shard, in the order given.
    pub shards: Vec<StudyShardRecord>,
    /// Worker threads, summed over the shards.
    pub threads: u64,
    /// Wall-clock seconds, summed over the shards.
    pub elapsed_seconds: f64,
}

/// Combines shard directories (or state files) into the whole study: a
/// builder like [`Runner`].
pub struct Merge<'a> {
    shards: &'a [PathBuf],
    out: Option<PathBuf>,
    root: PathBuf,
    plots: bool,
    command_line: Vec<String>,
}

impl<'a> Merge<'a> {
    /// A merge of `shards` (directories written by a shard run, or their
    /// state files) into the study's default directory, with plots.
    pub fn new(shards: &'a [PathBuf]) -> Self {
        Merge {
            shards,
            out: None,
            root: PathBuf::from(OUTPUT_ROOT),
            plots: true,
            command_line: Vec::new(),
        }
    }

    /// Write into `dir` instead of the default directory.
    pub fn out(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out = Some(dir.into());
        self
    }

    /// The directory default directories are made in (default `output`).
    pub fn output_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Draw the plots (default yes).
    pub fn plots(mut self, plots: bool) -> Self {
        self.plots = plots;
        self
    }

    /// The command line to record in the manifest.
    pub fn command_line(mut self, args: Vec<String>) -> Self {
        self.command_line = args;
        self
    }

    /// Reads, checks and merges the shards and writes the study.
    ///
    /// # Errors
    /// [`RunError::NotAShard`], a state file's error, [`RunError::Merge`]
    /// naming the shards by path, or an output error.
    pub fn run(self) -> Result<Merged, RunError> {
        self.run_placed(&mut |_| {})
    }

    /// As [`Merge::run`], telling `placed` where the output rule put the
    /// study when earlier results were kept or replaced (see
    /// [`Notice::Placed`]).
    ///
    /// # Errors
    /// As [`Merge::run`].
    pub fn run_placed(self, placed: &mut dyn FnMut(&files::Placement)) -> Result<Merged, RunError> {
        if let Some(out) = &self.out {
            files::check_destination(out).map_err(OutputError::from)?;
        }
        let states = load_shards(self.shards)?;
        let merged = state::merge(&states).map_err(|source| RunError::Merge {
            message: merge_message(&source, self.shards, &states),
            source,
        })?;
        let loaded = merged.loaded("merged shards")?;
        let range = 0..merged.total_runs;
        let settings = output::study_settings(&loaded, &range, self.plots, None);
        let placement = match &self.out {
            Some(dir) => files::claim(dir, &settings),
            None => {
                let (stem, tail) = default_name(&loaded, None);
                files::place(&self.root, &stem, &tail, &settings)
            }
        }
        .map_err(OutputError::from)?;
        if !placement.kept.is_empty() || placement.replaced_other() {
            placed(&placement);
        }
        let dir = placement.dir;
        let shards: Vec<StudyShardRecord> = states.iter().map(StudyShardRecord::of).collect();
        let threads: u64 = states.iter().map(|s| u64::from(s.threads)).sum();
        let report = output::StudyReport {
            loaded: &loaded,
            summary: &merged.summary,
            run_range: range,
            threads,
            elapsed_seconds: merged.elapsed_seconds,
            shards: shards.clone(),
            kept: None,
            plots: self.plots,
            command_line: &self.command_line,
        };
        let files = output::write_study(&dir, &report)?;
        Ok(Merged {
            dir,
            files,
            summary: merged.summary,
            shards,
            threads,
            elapsed_seconds: merged.elapsed_seconds,
            loaded,
        })
    }
}

/// The states of the shards at `paths` (a shard directory or its state
/// file).
///
/// # Errors
/// [`RunError::NotAShard`] for a directory without a state, and what
/// loading a state returns.
fn load_shards(paths: &[PathBuf]) -> Result<Vec<StudyState>, RunError> {
    let mut states = Vec::new();
    for path in paths {
        let file = if path.is_dir() {
            path.join(SHARD_STATE)
        } else {
            path.clone()
        };
        if path.is_dir() && !file.exists() {
            return Err(RunError::NotAShard { path: path.clone() });
        }
        states.push(StudyState::load(&file)?);
    }
    Ok(states)
}

/// Why shards cannot be merged, naming them by the paths they were given
/// as.
fn merge_message(source: &MergeError, paths: &[PathBuf], states: &[StudyState]) -> String {
    let name = |i: usize| paths[i].display().to_string();
    match source {
        MergeError::OtherStudy { index } => {
            format!(
                "{} is a shard of another study than {}",
                name(*index),
                name(0)
            )
        }
        MergeError::Incomplete {
            index,
            done,
            start,
            end,
        } => format!(
            "{} is incomplete ({done} of runs {start}..{end} done): finish it with \
             `armsim run ... --shard I/N --resume`",
            name(*index)
        ),
        MergeError::Shape { index } => format!("{}: {source}", name(*index)),
        MergeError::OtherModel {
            index,
            model,
            first,
        } => format!(
            "{} ran model {model} and {} model {first}: shards of one study run one model",
            name(*index),
            name(0)
        ),
        other => format!(
            "the shards do not cover runs 0..{} exactly once: {other}",
            states.first().map_or(0, |s| s.total_runs)
        ),
    }
}
