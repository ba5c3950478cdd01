//! Campaigns: the Monte Carlo studies at every point of a sweep or a
//! sensitivity design, with a study's lifecycle.
//!
//! A [`CampaignSpec`] says what to run (the varied parameters, the design,
//! runs per point, outcomes, the bootstrap); a [`Campaign`] is a spec
//! checked against a scenario, with its [`Plan`] and parsed outcomes and a
//! fingerprint of all of it. [`CampaignRunner`] owns the lifecycle, as
//! [`crate::runner::Runner`] does for a study: the output directory (never
//! replacing what armsim did not write, [`crate::files`]), checkpoints
//! beside it and `--resume`, shards (a contiguous range of points each) and
//! their merge, progress, a cancel flag. Results go to `sweep.csv` (every
//! point and outcome), for sensitivity analyses `indices.csv`, the plots, and
//! a manifest. The state of a campaign (checkpoint or shard) is one
//! checksummed file ([`CampaignState`]) that carries the scenario and the
//! spec, so `armsim merge` rebuilds a campaign from its shards alone.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::outcome::{Outcome, OutcomeError};
use super::points::{PointError, PointResult, PointRunner};
use super::sensitivity::{self, BootstrapConfig, SensitivityError};
use super::sweep::{Indices, Layout, Plan, SweepError, Vary};
use crate::files::{self, FileError};
use crate::lifecycle::{self, Notice, Start};
use crate::manifest;
use crate::metrics;
use crate::output::{self, OutputError};
use crate::runner::{Shard, checkpoint_path};
use crate::scenario::{Loaded, ScenarioError};
use crate::state::{self, CAMPAIGN_MAGIC, StateError, Unsaved};

const VERSION: u32 = 1;
/// The file a campaign shard's directory holds its state in.
pub const CAMPAIGN_STATE: &str = "campaign.armsim";

/// What kind of campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignKind {
    /// A sweep: a grid or Latin hypercube, outcomes per point.
    Sweep,
    /// A global sensitivity analysis: Sobol or Morris indices.
    Sensitivity,
}

impl CampaignKind {
    /// Its name, as the manifest and the checkpoint record it.
    pub fn name(self) -> &'static str {
        match self {
            CampaignKind::Sweep => "sweep",
            CampaignKind::Sensitivity => "sensitivity",
        }
    }
}

/// What a campaign runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSpec {
    /// Sweep or sensitivity analysis.
    pub kind: CampaignKind,
    /// The varied parameters, `PATH=FROM:TO:STEPS` (or shorter, see [`Vary`]).
    pub vary: Vec<String>,
    /// The design.
    pub layout: Layout,
    /// Seed of a random design (never shared with the runs' streams).
    pub design_seed: u64,
    /// Monte Carlo runs per point.
    pub runs: u64,
    /// Master seed of the runs: run `k` of every point uses stream `k`.
    pub seed: u64,
    /// Outcomes, as text.
    pub outcomes: Vec<String>,
    /// Bootstrap resamples of the sensitivity indices.
    pub resamples: usize,
    /// Confidence level of their intervals.
    pub level: f64,
}

/// Why a campaign cannot be set up, run, written or merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CampaignError {
    /// Another command's checkpoint is where the campaign keeps its own.
    #[error(transparent)]
    AnotherCommands(#[from] lifecycle::AnotherCommands),
    /// The scenario is invalid (a merged state's, say).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A varied parameter or the design is invalid.
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// An outcome is invalid.
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
    /// The studies could not run.
    #[error(transparent)]
    Points(#[from] PointError),
    /// The outputs could not be written or the destination is refused.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A file could not be written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A state file is unreadable, damaged or of another campaign.
    #[error("{}: {reason}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The shards do not make one whole campaign.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// Settings that do not fit together.
    #[error("{0}")]
    Settings(String),
    /// A checkpoint could not be written.
    #[error(transparent)]
    Checkpoint(#[from] StateError),
    /// The campaign was interrupted and its completed points could not be
    /// saved (in the words every command uses: [`Unsaved`]).
    #[error(transparent)]
    Unsaved(#[from] Unsaved),
    /// The cancel flag stopped the sensitivity indices' bootstrap.
    #[error("cancelled while computing the sensitivity indices")]
    Cancelled,
}

/// A campaign spec checked against its scenario.
#[derive(Debug, Clone)]
pub struct Campaign {
    loaded: Loaded,
    spec: CampaignSpec,
    plan: Plan,
    outcomes: Vec<Outcome>,
}

impl Campaign {
    /// Checks `spec` against `loaded`'s scenario and builds the design.
    ///
    /// # Errors
    /// [`CampaignError`] naming the bad `--vary`, outcome or setting.
    pub fn new(loaded: Loaded, spec: CampaignSpec) -> Result<Campaign, CampaignError> {
        let scenario = &loaded.scenario;
        if spec.vary.is_empty() {
            return Err(CampaignError::Settings(
                "nothing to vary: give at least one parameter (--vary PATH=FROM:TO:STEPS, or \
                 --param PATH)"
                    .into(),
            ));
        }
        if spec.runs == 0 || spec.runs > 1_000_000 {
            return Err(CampaignError::Settings(format!(
                "{} runs per point: expected 1 to 1,000,000",
                spec.runs
            )));
        }
        // Written so that a NaN level fails too.
        let level_ok = spec.level > 0.0 && spec.level < 1.0;
        if !level_ok || !(1..=sensitivity::MAX_RESAMPLES).contains(&spec.resamples) {
            return Err(CampaignError::Settings(format!(
                "the bootstrap needs 1 to {} resamples and a level strictly between 0 and 1",
                sensitivity::MAX_RESAMPLES
            )));
        }
        let vary = spec
            .vary
            .iter()
            .map(|v| Vary::parse(v, scenario))
            .collect::<Result<Vec<_>, _>>()?;
        let outcomes = if spec.outcomes.is_empty() {
            Outcome::defaults(scenario)
        } else {
            spec.outcomes
                .iter()
                .map(|o| Outcome::parse(o, scenario))
                .collect::<Result<Vec<_>, _>>()?
        };
        match (&spec.kind, &spec.layout) {
            (CampaignKind::Sweep, Layout::Grid | Layout::Lhs { .. })
            | (CampaignKind::Sensitivity, Layout::Sobol { .. } | Layout::Morris { .. }) => {}
            _ => {
                return Err(CampaignError::Settings(
                    "a sweep uses a grid or a Latin hypercube; a sensitivity analysis Sobol or Morris"
                        .into(),
                ));
            }
        }
        // Plan::new counts the points before it builds the design.
        let plan = Plan::new(scenario, vary, spec.layout.clone(), spec.design_seed)?;
        let mut spec = spec;
        spec.outcomes = outcomes.iter().map(|o| o.to_string()).collect();
        Ok(Campaign {
            loaded,
            spec,
            plan,
            outcomes,
        })
    }

    /// The spec, with the outcomes as resolved (defaults filled in).
    pub fn spec(&self) -> &CampaignSpec {
        &self.spec
    }

    /// The base scenario as loaded.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The design.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The outcomes measured at every point.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// Design points.
    pub fn points(&self) -> usize {
        self.plan.points()
    }

    /// Runs in all (points times runs per point).
    pub fn total_runs(&self) -> u64 {
        self.points() as u64 * self.spec.runs
    }

    /// A fingerprint of everything that determines the results: the
    /// resolved scenario, the spec and the metric catalogue.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.loaded.resolved_toml.as_bytes());
        hash.update(serde_json::to_vec(&self.spec).expect("a spec serialises"));
        hash.update(metrics::fingerprint().as_bytes());
        hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The default output directory under `root`: the study's slug, the kind
    /// (and a sensitivity analysis's method) and the varied parameters' names
    /// (`myanmar_2021.sweep-support_weight`,
    /// `myanmar_2021.sensitivity-morris-support_weight-isolation_weight-and-7-more`),
    /// or `...-of-N` suffixed for a shard. [`CampaignRunner::placement`]
    /// numbers it (`-2`, ...) beside an earlier campaign of other settings.
    pub fn default_dir(&self, root: &Path, shard: Option<Shard>) -> PathBuf {
        let (stem, tail) = self.default_name(shard);
        root.join(stem + &tail)
    }

    /// The default directory's name as [`files::place`] takes it: a
    /// readable stem, and the shard's tail.
    fn default_name(&self, shard: Option<Shard>) -> (String, String) {
        let kind = match (self.spec.kind, &self.plan.layout()) {
            (CampaignKind::Sweep, _) => "sweep",
            (CampaignKind::Sensitivity, Layout::Morris { .. }) => "sensitivity-morris",
            (CampaignKind::Sensitivity, _) => "sensitivity-sobol",
        };
        let names: Vec<&str> = self
            .plan
            .vary()
            .iter()
            .map(|v| v.path.rsplit('.').next().unwrap_or(&v.path))
            .collect();
        let head = format!("{}.{kind}", self.loaded.slug());
        // Parameters' names while they fit; the rest counted, never hashed.
        let mut name = head.clone();
        for (i, n) in names.iter().enumerate() {
            let rest = names.len() - i - 1;
            let more = if rest > 0 {
                format!("-and-{rest}-more")
            } else {
                String::new()
            };
            if name.len() + 1 + n.len() + more.len() > 100 && i > 0 {
                name += &format!("-and-{}-more", names.len() - i);
                break;
            }
            name += "-";
            name += n;
        }
        let tail = shard.map_or_else(String::new, |s| {
            format!(".shard-{}-of-{}", s.index, s.count)
        });
        (files::path_component(&name), tail)
    }

    /// The settings fingerprint of the campaign's directory
    /// ([`files::SETTINGS_KEY`]): [`Campaign::fingerprint`] (scenario,
    /// design, runs, seed, outcomes), whether it has plots, and a shard's
    /// points.
    pub fn settings(&self, plots: bool, shard: Option<&Range<usize>>) -> String {
        files::settings_fingerprint(&serde_json::json!({
            "kind": if shard.is_some() { "campaign shard" } else { "campaign" },
            "fingerprint": self.fingerprint(),
            "plots": plots && shard.is_none(),
            "points": shard.map(|r| [r.start, r.end]),
        }))
    }

    /// Sensitivity indices of every outcome from complete results (None for a sweep).
    ///
    /// # Errors
    /// [`CampaignError::Sweep`] for an outcome undefined at a point or constant.
    pub fn indices(&self, results: &[PointResult]) -> Option<Result<Vec<Indices>, CampaignError>> {
        self.indices_until(results, None)
    }

    /// [`Campaign::indices`], stopping soon after `cancel` is set.
    ///
    /// # Errors
    /// Those of [`Campaign::indices`]; [`CampaignError::Cancelled`] once
    /// `cancel` is set.
    pub fn indices_until(
        &self,
        results: &[PointResult],
        cancel: Option<&AtomicBool>,
    ) -> Option<Result<Vec<Indices>, CampaignError>> {
        let bootstrap = BootstrapConfig {
            resamples: self.spec.resamples,
            level: self.spec.level,
            seed: self.spec.design_seed,
        };
        let indices = self
            .plan
            .sensitivity(&self.outcomes, results, &bootstrap, cancel)?;
        Some(match indices {
            Err(SweepError::Sensitivity {
                source: SensitivityError::Cancelled,
                ..
            }) => Err(CampaignError::Cancelled),
            other => other.map_err(CampaignError::from),
        })
    }
}

/// The state of a campaign, or of one shard of it: a checkpoint or a shard's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignState {
    /// The campaign's fingerprint.
    pub fingerprint: String,
    /// The scenario's identifier (a label, never a path).
    pub scenario_id: String,
    /// The resolved scenario, canonical TOML.
    pub scenario_toml: String,
    /// The override labels that made it.
    pub overrides: Vec<String>,
    /// The spec.
    pub spec: CampaignSpec,
    /// Points in the whole campaign.
    pub points: usize,
    /// The points this state is responsible for.
    pub range: Range<usize>,
    /// Finished points, in design order.
    pub results: Vec<PointResult>,
    /// Wall-clock seconds so far.
    pub elapsed_seconds: f64,
    /// Worker threads (most used by a session; summed over merged shards).
    pub threads: usize,
}

impl CampaignState {
    fn new(
        campaign: &Campaign,
        range: Range<usize>,
        results: &[PointResult],
        elapsed: f64,
        threads: usize,
    ) -> Self {
        CampaignState {
            fingerprint: campaign.fingerprint(),
            scenario_id: campaign.loaded.scenario.id().to_string(),
            scenario_toml: campaign.loaded.resolved_toml.clone(),
            overrides: campaign
                .loaded
                .overrides
                .iter()
                .map(|o| o.label.clone())
                .collect(),
            spec: campaign.spec.clone(),
            points: campaign.points(),
            range,
            results: results.to_vec(),
            elapsed_seconds: elapsed,
            threads,
        }
    }

    /// The bytes of a state file: the frame every armsim state file has
    /// ([`crate::state`]: magic, version, payload length, payload,
    /// SHA-256), around a JSON payload.
    pub fn encode(&self) -> Vec<u8> {
        let payload = serde_json::to_vec(self).expect("a state serialises");
        state::frame(CAMPAIGN_MAGIC, VERSION, &payload)
    }

    /// Reads [`CampaignState::encode`]'s bytes, checking the checksum, the
    /// sizes and that the results agree with the range.
    ///
    /// # Errors
    /// What is wrong, in words.
    pub fn decode(bytes: &[u8]) -> Result<CampaignState, String> {
        let payload = state::unframe(CAMPAIGN_MAGIC, VERSION, bytes)
            .map_err(|e| format!("not a usable campaign state file ({e})"))?;
        let state: CampaignState =
            serde_json::from_slice(payload).map_err(|e| format!("malformed state: {e}"))?;
        if state.range.start > state.range.end || state.range.end > state.points {
            return Err("inconsistent point range".into());
        }
        let mut seen = BTreeSet::new();
        for r in &state.results {
            if !state.range.contains(&r.point) || !seen.insert(r.point) {
                return Err(format!("point {} is outside its range or twice", r.point));
            }
            if r.outcomes.len() != state.spec.outcomes.len() {
                return Err(format!(
                    "point {} has the wrong number of outcomes",
                    r.point
                ));
            }
        }
        if !(state.elapsed_seconds.is_finite() && state.elapsed_seconds >= 0.0) {
            return Err("invalid elapsed time".into());
        }
        Ok(state)
    }

    /// Whether `path` starts like a campaign state file.
    pub fn is_state_file(path: &Path) -> bool {
        files::starts_with(path, CAMPAIGN_MAGIC)
    }

    fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = self.encode();
        files::write_file_atomically(path, Self::is_state_file, |w| w.write_all(&bytes))?;
        Ok(())
    }

    /// Reads a state file.
    ///
    /// # Errors
    /// [`CampaignError::State`].
    pub fn load(path: &Path) -> Result<CampaignState, CampaignError> {
        let fail = |reason: String| CampaignError::State {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        CampaignState::decode(&bytes).map_err(fail)
    }

    /// The campaign this state is of, rebuilt from its scenario and spec.
    ///
    /// # Errors
    /// [`CampaignError`] if this armsim does not accept them, or they do not
    /// give the fingerprint the state records.
    pub fn campaign(&self) -> Result<Campaign, CampaignError> {
        let mut loaded = crate::scenario::load_str(
            &self.scenario_toml,
            &self.scenario_id,
            "campaign state",
            &[],
        )?;
        loaded.overrides = self
            .overrides
            .iter()
            .map(|label| crate::scenario::Override::from_label(label))
            .collect();
        let campaign = Campaign::new(loaded, self.spec.clone())?;
        if campaign.fingerprint() != self.fingerprint {
            return Err(CampaignError::Merge(
                "the state's scenario and spec do not give the campaign it records (written by \
                 another armsim?)"
                    .into(),
            ));
        }
        Ok(campaign)
    }
}

/// How a campaign run ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum CampaignFinished {
    /// Every point ran and the outputs were written.
    Written(CampaignWritten),
    /// A shard ran; its state is in `dir`.
    Shard {
        /// The shard's directory.
        dir: PathBuf,
        /// Its points.
        range: Range<usize>,
        /// Wall-clock seconds.
        elapsed_seconds: f64,
    },
    /// The cancel flag stopped it; finished points are in the checkpoint.
    Interrupted {
        /// Points done.
        done: usize,
        /// Points in the range.
        total: usize,
        /// Where they are kept.
        checkpoint: PathBuf,
    },
}

/// A written campaign.
#[derive(Debug)]
pub struct CampaignWritten {
    /// Its directory.
    pub dir: PathBuf,
    /// The files in it.
    pub files: Vec<PathBuf>,
    /// Every point's results, in design order.
    pub results: Vec<PointResult>,
    /// The indices of a sensitivity analysis, per outcome (an outcome whose
    /// indices could not be computed has the reason).
    pub indices: Vec<Result<Indices, String>>,
    /// Wall-clock seconds (all sessions).
    pub elapsed_seconds: f64,
    /// Worker threads.
    pub threads: usize,
}

/// Runs a campaign with a study's lifecycle; see the module documentation.
pub struct CampaignRunner<'a> {
    campaign: &'a Campaign,
    out: Option<PathBuf>,
    root: PathBuf,
    shard: Option<Shard>,
    resume: bool,
    checkpoint_every: Duration,
    threads: usize,
    cancel: Option<&'a AtomicBool>,
    progress: Option<&'a mut dyn FnMut(usize, usize)>,
    notice: Option<&'a mut dyn FnMut(Notice<'_>)>,
    plots: bool,
    command_line: Vec<String>,
}

impl<'a> CampaignRunner<'a> {
    /// A runner of `campaign` writing under `output/`.
    pub fn new(campaign: &'a Campaign) -> Self {
        CampaignRunner {
            campaign,
            out: None,
            root: PathBuf::from("output"),
            shard: None,
            resume: false,
            checkpoint_every: Duration::from_secs(60),
            threads: 0,
            cancel: None,
            progress: None,
            notice: None,
            plots: true,
            command_line: Vec::new(),
        }
    }

    /// Write into `dir` instead of the default directory.
    pub fn out(mut self, dir: Option<PathBuf>) -> Self {
        self.out = dir;
        self
    }

    /// Only shard `shard` of the points.
    pub fn shard(mut self, shard: Option<Shard>) -> Self {
        self.shard = shard;
        self
    }

    /// Continue from the checkpoint, if there is one.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Checkpoint at most this often (at a block's end).
    pub fn checkpoint_every(mut self, every: Duration) -> Self {
        self.checkpoint_every = every;
        self
    }

    /// Worker threads; 0 uses every core.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Stops at a block's end once `flag` is set, keeping a checkpoint.
    pub fn cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called with (points done, points in the range) as blocks finish.
    pub fn on_progress(mut self, progress: &'a mut dyn FnMut(usize, usize)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Called with what the lifecycle says on the way, as a study's and a
    /// comparison's runners say it: resuming (or no checkpoint to resume),
    /// replacing an interrupted campaign's checkpoint, a checkpoint that
    /// could not be saved (the campaign carries on) or removed.
    pub fn on_notice(mut self, notice: &'a mut dyn FnMut(Notice<'_>)) -> Self {
        self.notice = Some(notice);
        self
    }

    /// Whether to draw the plots.
    pub fn plots(mut self, plots: bool) -> Self {
        self.plots = plots;
        self
    }

    /// The command line, for the manifest.
    pub fn command_line(mut self, args: Vec<String>) -> Self {
        self.command_line = args;
        self
    }

    /// The design points this runner runs (a shard's, or all).
    fn range(&self) -> Range<usize> {
        let points = self.campaign.points();
        match self.shard {
            Some(s) => {
                let r = crate::study::shard_range(points as u64, s.index, s.count);
                r.start as usize..r.end as usize
            }
            None => 0..points,
        }
    }

    /// Where this runner writes under the output rule: the directory given
    /// ([`files::claim`]) or the default one, numbered beside an earlier
    /// campaign of other settings ([`files::place`]). A command prints
    /// [`files::Placement::kept`] and [`files::Placement::replaced_other`].
    ///
    /// # Errors
    /// A refused destination.
    pub fn placement(&self) -> Result<files::Placement, CampaignError> {
        let range = self.range();
        let settings = self
            .campaign
            .settings(self.plots, self.shard.map(|_| &range));
        Ok(match &self.out {
            Some(dir) => files::claim(dir, &settings)?,
            None => {
                let (stem, tail) = self.campaign.default_name(self.shard);
                files::place(&self.root, &stem, &tail, &settings)?
            }
        })
    }

    /// The directory this runner writes (see [`CampaignRunner::placement`];
    /// the default directory if the destination is refused).
    pub fn dir(&self) -> PathBuf {
        self.placement().map_or_else(
            |_| {
                self.out
                    .clone()
                    .unwrap_or_else(|| self.campaign.default_dir(&self.root, self.shard))
            },
            |p| p.dir,
        )
    }

    /// Runs the campaign (or its shard) and writes its outputs.
    ///
    /// # Errors
    /// [`CampaignError`]; a refused destination is refused before any run.
    pub fn run(mut self) -> Result<CampaignFinished, CampaignError> {
        let started = Instant::now();
        let campaign = self.campaign;
        let dir = self.placement()?.dir;
        let checkpoint = checkpoint_path(&dir);
        let range = self.range();
        let mut notice = self.notice.take();
        let mut tell = |n: Notice<'_>| crate::lifecycle::tell(&mut notice, n);
        let (resumed, resumed_seconds) = self.resumed_points(&checkpoint, &range, &mut tell)?;
        let elapsed = || resumed_seconds + started.elapsed().as_secs_f64();
        let ran = self.run_points(resumed, &checkpoint, &range, &elapsed, &mut tell)?;
        let (results, threads, total) = (ran.results, ran.threads, range.len());
        let elapsed = elapsed();
        let state = || CampaignState::new(campaign, range.clone(), &results, elapsed, threads);
        if ran.interrupted {
            state().save(&checkpoint).map_err(|e| Unsaved {
                done: results.len() as u64,
                total: total as u64,
                unit: "points",
                path: checkpoint.clone(),
                source: Box::new(e),
            })?;
            return Ok(CampaignFinished::Interrupted {
                done: results.len(),
                total,
                checkpoint,
            });
        }
        if let Some(shard) = self.shard {
            let settings = campaign.settings(false, Some(&range));
            write_shard(&dir, &state(), shard, &settings, &self.command_line)?;
            remove_checkpoint(&checkpoint, &mut tell);
            return Ok(CampaignFinished::Shard {
                dir,
                range,
                elapsed_seconds: elapsed,
            });
        }
        // Every point is done; what remains (a sensitivity analysis's
        // bootstrap, the plots) can take minutes and cannot be resumed, so
        // the points are kept first: an interruption now loses nothing. A
        // checkpoint that cannot be saved is said, and the campaign goes on
        // to write its outputs: only an interruption would need it.
        let mut unkept = None;
        if self.cancel.is_some()
            && let Err(error) = state().save(&checkpoint)
        {
            tell(Notice::CheckpointFailed {
                checkpoint: &checkpoint,
                error: &error,
            });
            unkept = Some(error);
        }
        let written = write_campaign(
            &dir,
            campaign,
            results,
            elapsed,
            threads,
            self.plots,
            &self.command_line,
            &[],
            self.cancel,
        );
        finish_written(written, unkept, total, checkpoint, &mut tell)
    }

    /// The points an interrupted campaign saved at `checkpoint`, and the
    /// seconds it had run, when `resume` finds this campaign's checkpoint
    /// there; none otherwise. What is done with the checkpoint is decided
    /// and said by the one lifecycle rule ([`lifecycle::open_checkpoint`]).
    fn resumed_points(
        &self,
        checkpoint: &Path,
        range: &Range<usize>,
        tell: &mut lifecycle::NoticeFn<'_>,
    ) -> Result<(Vec<PointResult>, f64), CampaignError> {
        if lifecycle::open_checkpoint(checkpoint, "campaign", self.resume, tell)? == Start::Afresh {
            return Ok((Vec::new(), 0.0));
        }
        let saved = CampaignState::load(checkpoint)?;
        if saved.fingerprint != self.campaign.fingerprint() || &saved.range != range {
            return Err(CampaignError::State {
                path: checkpoint.to_path_buf(),
                reason: "a checkpoint of another campaign (scenario, design, runs or outcomes \
                         differ); remove it or run without --resume"
                    .into(),
            });
        }
        tell(Notice::Resuming {
            checkpoint,
            done: saved.results.len() as u64,
            total: range.len() as u64,
        });
        Ok((saved.results, saved.elapsed_seconds))
    }

    /// Runs the points of `range` not in `resumed`, checkpointing every
    /// period (a failure is said and the points go on) and reporting
    /// progress after each block; `elapsed` is the campaign's time so far.
    fn run_points(
        &mut self,
        resumed: Vec<PointResult>,
        checkpoint: &Path,
        range: &Range<usize>,
        elapsed: &dyn Fn() -> f64,
        tell: &mut lifecycle::NoticeFn<'_>,
    ) -> Result<RanPoints, CampaignError> {
        let campaign = self.campaign;
        let done: Vec<usize> = resumed.iter().map(|r| r.point).collect();
        let build = campaign.plan.builder();
        let total = range.len();
        let every = self.checkpoint_every;
        let mut last_save = Instant::now();
        let mut so_far = resumed;
        let mut progress = self.progress.take();
        let threads_hint = self.threads;
        let mut on_block = |finished: &[PointResult]| -> Result<(), String> {
            so_far.extend_from_slice(finished);
            if let Some(p) = progress.as_mut() {
                p(so_far.len(), total);
            }
            if last_save.elapsed() >= every && so_far.len() < total {
                let mut sorted = so_far.clone();
                sorted.sort_by_key(|r| r.point);
                let state =
                    CampaignState::new(campaign, range.clone(), &sorted, elapsed(), threads_hint);
                if let Err(error) = state.save(checkpoint) {
                    // Said now; the runs go on.
                    tell(Notice::CheckpointFailed {
                        checkpoint,
                        error: &error,
                    });
                }
                last_save = Instant::now();
            }
            Ok(())
        };
        let mut runner = PointRunner::new(
            campaign.points(),
            &build,
            campaign.outcomes.clone(),
            campaign.spec.runs,
            campaign.spec.seed,
        )
        .threads(self.threads)
        .points(range.clone())
        .skip(done)
        .on_block(&mut on_block);
        if let Some(flag) = self.cancel {
            runner = runner.cancel_flag(flag);
        }
        let outcome = runner.run()?;
        let mut results = so_far;
        results.sort_by_key(|r| r.point);
        Ok(RanPoints {
            results,
            threads: outcome.threads,
            interrupted: outcome.interrupted,
        })
    }
}

/// What [`CampaignRunner::run_points`] leaves: every point done (resumed
/// ones included), in point order.
struct RanPoints {
    results: Vec<PointResult>,
    threads: usize,
    interrupted: bool,
}

/// Removes a finished campaign's checkpoint (only a campaign's).
fn remove_checkpoint(checkpoint: &Path, tell: &mut lifecycle::NoticeFn<'_>) {
    lifecycle::remove_checkpoint(checkpoint, CampaignState::is_state_file, tell);
}

/// How a campaign whose `total` points all ran ends, once its outputs were
/// written (or not): written, its checkpoint removed; interrupted during
/// the bootstrap or the plots, its points kept at `checkpoint`; or, if they
/// could not be kept there (`unkept`), [`CampaignError::Unsaved`].
fn finish_written(
    written: Result<CampaignWritten, CampaignError>,
    unkept: Option<StateError>,
    total: usize,
    checkpoint: PathBuf,
    tell: &mut lifecycle::NoticeFn<'_>,
) -> Result<CampaignFinished, CampaignError> {
    match (written, unkept) {
        (Err(CampaignError::Cancelled), None) => Ok(CampaignFinished::Interrupted {
            done: total,
            total,
            checkpoint,
        }),
        (Err(CampaignError::Cancelled), Some(error)) => Err(CampaignError::Unsaved(Unsaved {
            done: total as u64,
            total: total as u64,
            unit: "points",
            path: checkpoint,
            source: Box::new(error),
        })),
        (written, _) => {
            let written = written?;
            remove_checkpoint(&checkpoint, tell);
            Ok(CampaignFinished::Written(written))
        }
    }
}

/// One shard of a merged campaign, as the manifest records it.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignShardRecord {
    /// Its points, `[start, end)`.
    pub points: [usize; 2],
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
}

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(skip)]
    header: manifest::Header<'a>,
    model: &'static str,
    catalogue: String,
    fingerprint: String,
    scenario_id: &'a str,
    title: String,
    overrides: Vec<&'a str>,
    spec: &'a CampaignSpec,
    points: usize,
    runs_per_point: u64,
    total_runs: u64,
    varied: Vec<(&'a str, f64, f64)>,
    threads: usize,
    elapsed_seconds: f64,
    shards: &'a [CampaignShardRecord],
    rng: &'static str,
    files: Vec<String>,
    resolved_scenario_toml: &'a str,
}

fn write_shard(
    dir: &Path,
    state: &CampaignState,
    shard: Shard,
    settings: &str,
    command_line: &[String],
) -> Result<(), CampaignError> {
    files::write_dir_atomically(dir, |tmp| -> Result<(), CampaignError> {
        state.save(&tmp.join(CAMPAIGN_STATE))?;
        let header = manifest::Header::new("campaign shard", settings.into(), command_line);
        let body = serde_json::json!({
            "shard": [shard.index, shard.count],
            "points": [state.range.start, state.range.end],
            "fingerprint": state.fingerprint,
            "files": [CAMPAIGN_STATE],
        });
        output::write_file(&tmp.join(files::MANIFEST), |w| {
            manifest::write(w, &header, &body)
        })?;
        Ok(())
    })
}

/// A sensitivity analysis's indices, one per outcome: all at once, or
/// where that fails, outcome by outcome (an outcome whose indices cannot be
/// computed keeps why, and does not cost the others theirs). Empty for a
/// sweep.
///
/// # Errors
/// [`CampaignError::Cancelled`] if `cancel` stopped the bootstrap.
fn indices_by_outcome(
    campaign: &Campaign,
    results: &[PointResult],
    cancel: Option<&AtomicBool>,
) -> Result<Vec<Result<Indices, String>>, CampaignError> {
    Ok(match campaign.indices_until(results, cancel) {
        None => Vec::new(),
        Some(Ok(all)) => all.into_iter().map(Ok).collect(),
        Some(Err(CampaignError::Cancelled)) => return Err(CampaignError::Cancelled),
        Some(Err(_)) => campaign
            .outcomes
            .iter()
            .enumerate()
            .map(|(o, _)| {
                let single = Campaign {
                    outcomes: vec![campaign.outcomes[o].clone()],
                    ..campaign.clone()
                };
                let column: Vec<PointResult> = results
                    .iter()
                    .map(|r| PointResult {
                        point: r.point,
                        outcomes: vec![r.outcomes[o]],
                    })
                    .collect();
                match single.indices_until(&column, cancel) {
                    Some(Ok(mut v)) => Ok(v.remove(0)),
                    Some(Err(e)) => Err(e.to_string()),
                    None => Err("no indices".into()),
                }
            })
            .collect(),
    })
}

impl<'a> Manifest<'a> {
    /// The manifest of `campaign`'s directory, listing `files`;
    /// `(threads, elapsed_seconds)` as it ran.
    fn of(
        campaign: &'a Campaign,
        plots: bool,
        command_line: &'a [String],
        (threads, elapsed_seconds): (usize, f64),
        shards: &'a [CampaignShardRecord],
        files: Vec<String>,
    ) -> Self {
        let loaded = &campaign.loaded;
        Manifest {
            header: manifest::Header::new(
                campaign.spec.kind.name(),
                campaign.settings(plots, None),
                command_line,
            ),
            model: loaded.scenario.model().name(),
            catalogue: metrics::fingerprint(),
            fingerprint: campaign.fingerprint(),
            scenario_id: loaded.scenario.id(),
            title: loaded.title(),
            overrides: loaded.overrides.iter().map(|o| o.label.as_str()).collect(),
            spec: &campaign.spec,
            points: campaign.points(),
            runs_per_point: campaign.spec.runs,
            total_runs: campaign.total_runs(),
            varied: campaign
                .plan
                .vary()
                .iter()
                .map(|v| (v.path.as_str(), v.range.lower(), v.range.upper()))
                .collect(),
            threads,
            elapsed_seconds,
            shards,
            rng: "ChaCha8 (rand_chacha 0.9) seeded with seed_from_u64(seed), stream = run index, \
                  the same streams at every point (common random numbers)",
            files,
            resolved_scenario_toml: &loaded.resolved_toml,
        }
    }
}

/// Writes a finished campaign into `dir` (all or nothing): `sweep.csv`, for
/// a sensitivity analysis `indices.csv`, the plots, and `manifest.json`.
///
/// # Errors
/// [`CampaignError::Output`] or a refused destination.
#[allow(clippy::too_many_arguments)]
pub fn write_campaign(
    dir: &Path,
    campaign: &Campaign,
    results: Vec<PointResult>,
    elapsed_seconds: f64,
    threads: usize,
    plots: bool,
    command_line: &[String],
    shards: &[CampaignShardRecord],
    cancel: Option<&AtomicBool>,
) -> Result<CampaignWritten, CampaignError> {
    let indices = indices_by_outcome(campaign, &results, cancel)?;
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Err(CampaignError::Cancelled);
    }
    let mut names: Vec<String> = vec!["sweep.csv".into()];
    if campaign.spec.kind == CampaignKind::Sensitivity {
        names.push("indices.csv".into());
    }
    #[cfg_attr(not(feature = "plots"), allow(unused_mut))]
    let mut written_plots: Vec<String> = Vec::new();
    files::write_dir_atomically(dir, |tmp| -> Result<(), CampaignError> {
        output::write_file(&tmp.join("sweep.csv"), |w| {
            crate::experiment::report::write_sweep_csv(
                w,
                &campaign.plan,
                &campaign.outcomes,
                &results,
            )
        })?;
        if campaign.spec.kind == CampaignKind::Sensitivity {
            let (outcomes, ok): (Vec<Outcome>, Vec<Indices>) = campaign
                .outcomes
                .iter()
                .zip(&indices)
                .filter_map(|(o, i)| i.as_ref().ok().map(|i| (o.clone(), i.clone())))
                .unzip();
            output::write_file(&tmp.join("indices.csv"), |w| {
                crate::experiment::report::write_indices_csv(w, &outcomes, &ok)
            })?;
        }
        if plots {
            #[cfg(feature = "plots")]
            {
                written_plots =
                    crate::experiment::report::campaign_plots(tmp, campaign, &results, &indices)?;
            }
            #[cfg(not(feature = "plots"))]
            return Err(OutputError::PlotsNotBuilt.into());
        }
        let mut all = names.clone();
        all.extend(written_plots.iter().cloned());
        all.push(files::MANIFEST.into());
        let document = Manifest::of(
            campaign,
            plots,
            command_line,
            (threads, elapsed_seconds),
            shards,
            all,
        );
        output::write_file(&tmp.join(files::MANIFEST), |w| {
            manifest::write(w, &document.header, &document)
        })?;
        Ok(())
    })?;
    let mut files: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    files.extend(written_plots.iter().map(|n| dir.join(n)));
    files.push(dir.join(files::MANIFEST));
    Ok(CampaignWritten {
        dir: dir.to_path_buf(),
        files,
        results,
        indices,
        elapsed_seconds,
        threads,
    })
}

/// Merges the states of a campaign's shards and writes the whole campaign
/// into `out` (or its default directory under `output/`).
///
/// # Errors
/// [`CampaignError::Merge`] if the shards are of different campaigns or do
/// not cover every point once; others as [`write_campaign`].
pub fn merge(
    states: &[CampaignState],
    out: Option<PathBuf>,
    plots: bool,
    command_line: &[String],
) -> Result<CampaignWritten, CampaignError> {
    merge_placed(states, out, plots, command_line, &mut |_| {})
}

/// As [`merge`], telling `placed` where the output rule put the campaign
/// when earlier results were kept beside it or replaced.
///
/// # Errors
/// As [`merge`].
pub fn merge_placed(
    states: &[CampaignState],
    out: Option<PathBuf>,
    plots: bool,
    command_line: &[String],
    placed: &mut dyn FnMut(&files::Placement),
) -> Result<CampaignWritten, CampaignError> {
    let first = states
        .first()
        .ok_or_else(|| CampaignError::Merge("no shards to merge".into()))?;
    if let Some(other) = states
        .iter()
        .position(|s| s.fingerprint != first.fingerprint)
    {
        return Err(CampaignError::Merge(format!(
            "shard {other} is of another campaign than shard 0 (scenario, design, runs or outcomes differ)"
        )));
    }
    let mut ranges: Vec<Range<usize>> = states.iter().map(|s| s.range.clone()).collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut covered = 0;
    for r in ranges
        .iter()
        .chain(std::iter::once(&(first.points..first.points)))
    {
        if r.start != covered {
            return Err(CampaignError::Merge(format!(
                "the shards do not cover points 0..{} exactly once (at point {covered})",
                first.points
            )));
        }
        covered = r.end;
    }
    if let Some(s) = states.iter().find(|s| s.results.len() != s.range.len()) {
        return Err(CampaignError::Merge(format!(
            "the shard of points {}..{} is incomplete ({} done): finish it with --resume",
            s.range.start,
            s.range.end,
            s.results.len()
        )));
    }
    let campaign = first.campaign()?;
    let mut results: Vec<PointResult> = states
        .iter()
        .flat_map(|s| s.results.iter().cloned())
        .collect();
    results.sort_by_key(|r| r.point);
    let shards: Vec<CampaignShardRecord> = states
        .iter()
        .map(|s| CampaignShardRecord {
            points: [s.range.start, s.range.end],
            threads: s.threads,
            elapsed_seconds: s.elapsed_seconds,
        })
        .collect();
    let settings = campaign.settings(plots, None);
    let placement = match &out {
        Some(dir) => files::claim(dir, &settings)?,
        None => {
            let (stem, tail) = campaign.default_name(None);
            files::place(Path::new("output"), &stem, &tail, &settings)?
        }
    };
    if !placement.kept.is_empty() || placement.replaced_other() {
        placed(&placement);
    }
    let dir = placement.dir;
    write_campaign(
        &dir,
        &campaign,
        results,
        states.iter().map(|s| s.elapsed_seconds).sum(),
        states.iter().map(|s| s.threads).sum(),
        plots,
        command_line,
        &shards,
        None,
    )
}

/// Reads a campaign shard's state from its directory (or the file itself).
///
/// # Errors
/// [`CampaignError::State`] if there is no readable campaign state.
pub fn load_shard(path: &Path) -> Result<CampaignState, CampaignError> {
    let file = if path.is_dir() {
        path.join(CAMPAIGN_STATE)
    } else {
        path.to_path_buf()
    };
    CampaignState::load(&file)
}

/// Whether `path` is a campaign shard's directory (or state file).
pub fn is_campaign_shard(path: &Path) -> bool {
    let file = if path.is_dir() {
        path.join(CAMPAIGN_STATE)
    } else {
        path.to_path_buf()
    };
    CampaignState::is_state_file(&file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_baseline;

    fn spec(kind: CampaignKind, vary: &[&str], layout: Layout) -> CampaignSpec {
        CampaignSpec {
            kind,
            vary: vary.iter().map(|s| s.to_string()).collect(),
            layout,
            design_seed: 3,
            runs: 20,
            seed: 11,
            outcomes: vec![
                "rolling_share:Russia@end".into(),
                "support:China@end".into(),
            ],
            resamples: 100,
            level: 0.95,
        }
    }

    fn loaded() -> Loaded {
        load_baseline(&["run.quarters=12".into()]).unwrap()
    }

    #[test]
    fn a_campaign_split_into_shards_merges_to_the_whole_one() {
        let root = tempfile::tempdir().unwrap();
        let c = Campaign::new(
            loaded(),
            spec(
                CampaignKind::Sweep,
                &["buyer.support_weight=0:3:5"],
                Layout::Grid,
            ),
        )
        .unwrap();
        let whole = root.path().join("whole");
        let CampaignFinished::Written(w) = CampaignRunner::new(&c)
            .out(Some(whole.clone()))
            .threads(2)
            .plots(false)
            .run()
            .unwrap()
        else {
            panic!()
        };
        let mut states = Vec::new();
        for i in [2, 0, 1] {
            let dir = root.path().join(format!("s{i}"));
            let done = CampaignRunner::new(&c)
                .out(Some(dir.clone()))
                .shard(Shard::new(i, 3))
                .threads(1)
                .run()
                .unwrap();
            assert!(matches!(done, CampaignFinished::Shard { .. }));
            states.push(load_shard(&dir).unwrap());
        }
        let merged = merge(&states, Some(root.path().join("merged")), false, &[]).unwrap();
        assert_eq!(merged.results, w.results);
        assert_eq!(
            std::fs::read(whole.join("sweep.csv")).unwrap(),
            std::fs::read(root.path().join("merged/sweep.csv")).unwrap()
        );
        // Missing or foreign shards are refused.
        assert!(merge(&states[..2], None, false, &[]).is_err());
        let mut other = states[0].clone();
        other.fingerprint = "x".into();
        assert!(
            merge(
                &[other, states[1].clone(), states[2].clone()],
                None,
                false,
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn an_interruption_during_the_bootstrap_keeps_every_point_and_resumes() {
        // SIGINT during a large bootstrap used to be ignored: the indices
        // were computed to the end and the command exited 0. Now the flag
        // stops the bootstrap, every point is in the checkpoint, and a
        // resume writes what an uninterrupted run writes.
        let root = tempfile::tempdir().unwrap();
        let c = Campaign::new(
            loaded(),
            spec(
                CampaignKind::Sensitivity,
                &["buyer.support_weight=0:3", "buyer.lock_in_weight=0:2"],
                Layout::Morris {
                    trajectories: 4,
                    levels: 4,
                },
            ),
        )
        .unwrap();
        let flag = AtomicBool::new(false);
        let total = c.points();
        // Set as the last point finishes: what remains is the bootstrap.
        let mut progress = |done: usize, _: usize| {
            if done == total {
                flag.store(true, Ordering::Relaxed);
            }
        };
        let dir = root.path().join("c");
        let stopped = CampaignRunner::new(&c)
            .out(Some(dir.clone()))
            .threads(1)
            .plots(false)
            .cancel(&flag)
            .on_progress(&mut progress)
            .run()
            .unwrap();
        let CampaignFinished::Interrupted {
            done, checkpoint, ..
        } = stopped
        else {
            panic!("{stopped:?}")
        };
        assert_eq!(done, total);
        assert!(checkpoint.exists() && !dir.exists());
        let CampaignFinished::Written(resumed) = CampaignRunner::new(&c)
            .out(Some(dir.clone()))
            .threads(1)
            .plots(false)
            .resume(true)
            .run()
            .unwrap()
        else {
            panic!()
        };
        let whole = root.path().join("whole");
        let CampaignFinished::Written(straight) = CampaignRunner::new(&c)
            .out(Some(whole.clone()))
            .threads(2)
            .plots(false)
            .run()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(resumed.results, straight.results);
        assert_eq!(
            std::fs::read(dir.join("indices.csv")).unwrap(),
            std::fs::read(whole.join("indices.csv")).unwrap()
        );
        assert!(!checkpoint.exists());
    }

    #[test]
    fn a_design_too_large_is_refused_before_it_is_built() {
        // A grid of 10^9 points was built in memory (24 GB) before the
        // 10-million-point limit was checked; huge bootstraps aborted.
        let started = Instant::now();
        let err = Campaign::new(
            loaded(),
            spec(
                CampaignKind::Sweep,
                &[
                    "buyer.support_weight=0:3:1000",
                    "buyer.lock_in_weight=0:2:1000",
                    "buyer.price_weight=0:2:1000",
                ],
                Layout::Grid,
            ),
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            err.to_string()
                .contains("1000000000 design points: at most 10 million"),
            "{err}"
        );
        let mut huge = spec(
            CampaignKind::Sensitivity,
            &["buyer.support_weight=0:3"],
            Layout::Sobol { samples: 8 },
        );
        huge.resamples = usize::MAX;
        let err = Campaign::new(loaded(), huge).unwrap_err();
        assert!(err.to_string().contains("1 to 100000 resamples"), "{err}");
    }

    #[test]
    fn an_interrupted_campaign_resumes_to_the_same_results() {
        let root = tempfile::tempdir().unwrap();
        let c = Campaign::new(
            loaded(),
            spec(
                CampaignKind::Sweep,
                &["buyer.support_weight=0:3:4", "buyer.lock_in_weight=0:2:2"],
                Layout::Grid,
            ),
        )
        .unwrap();
        let dir = root.path().join("c");
        let flag = AtomicBool::new(true);
        let stopped = CampaignRunner::new(&c)
            .out(Some(dir.clone()))
            .cancel(&flag)
            .checkpoint_every(Duration::ZERO)
            .plots(false)
            .run()
            .unwrap();
        let CampaignFinished::Interrupted { checkpoint, .. } = stopped else {
            panic!("{stopped:?}")
        };
        assert!(checkpoint.exists());
        let CampaignFinished::Written(resumed) = CampaignRunner::new(&c)
            .out(Some(dir.clone()))
            .resume(true)
            .plots(false)
            .run()
            .unwrap()
        else {
            panic!()
        };
        assert!(
            !checkpoint.exists(),
            "the checkpoint goes once the campaign is written"
        );
        let other = root.path().join("d");
        let CampaignFinished::Written(direct) = CampaignRunner::new(&c)
            .out(Some(other))
            .plots(false)
            .run()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(resumed.results, direct.results);
    }

    #[test]
    fn an_interruption_whose_checkpoint_cannot_be_saved_says_what_was_done() {
        // As a study and a comparison say it: the points done, the total
        // and where they could not be kept.
        let root = tempfile::tempdir().unwrap();
        // A block holds at most 4,096 points: one more makes two blocks,
        // and the interruption comes between them.
        let mut one_run = spec(
            CampaignKind::Sweep,
            &["buyer.support_weight=0:3:4097"],
            Layout::Grid,
        );
        one_run.runs = 1;
        let c = Campaign::new(loaded(), one_run).unwrap();
        let parent = root.path().join("gone");
        std::fs::create_dir(&parent).unwrap();
        let flag = AtomicBool::new(false);
        // Once points are done, a file takes the place of the checkpoint's
        // directory and the campaign is interrupted.
        let mut progress = |done: usize, _: usize| {
            if done >= 1 && !flag.load(Ordering::Relaxed) {
                std::fs::remove_dir_all(&parent).unwrap();
                std::fs::write(&parent, b"in the way").unwrap();
                flag.store(true, Ordering::Relaxed);
            }
        };
        let result = CampaignRunner::new(&c)
            .out(Some(parent.join("out")))
            .threads(1)
            .plots(false)
            .cancel(&flag)
            .on_progress(&mut progress)
            .run();
        let Err(error) = result else {
            panic!("saved: {result:?}");
        };
        let CampaignError::Unsaved(Unsaved {
            done,
            total,
            unit,
            path,
            ..
        }) = &error
        else {
            panic!("{error}");
        };
        assert!(*done > 0 && *done < *total, "{error}");
        assert_eq!(*unit, "points");
        assert_eq!(path, &parent.join(".out.checkpoint"));
        let message = error.to_string();
        assert!(message.starts_with("interrupted after"), "{message}");
        assert!(
            message.contains("points, but they could not be saved"),
            "{message}"
        );
    }

    #[test]
    fn a_checkpoint_that_cannot_be_kept_before_the_bootstrap_loses_no_campaign() {
        // Once every point is done the campaign saves them before its
        // bootstrap. A file armsim did not write at the checkpoint's path
        // made that save fatal, and the whole campaign was lost; now it is
        // said, the file is left alone, and the outputs are written.
        let root = tempfile::tempdir().unwrap();
        let c = Campaign::new(
            loaded(),
            spec(
                CampaignKind::Sweep,
                &["buyer.support_weight=0:3:3"],
                Layout::Grid,
            ),
        )
        .unwrap();
        let dir = root.path().join("c");
        let theirs = b"someone's notes, not a checkpoint".to_vec();
        std::fs::write(checkpoint_path(&dir), &theirs).unwrap();
        let never = AtomicBool::new(false);
        let mut notices = Vec::new();
        let mut note = |n: Notice<'_>| notices.push(format!("{n:?}"));
        let finished = CampaignRunner::new(&c)
            .out(Some(dir.clone()))
            .threads(1)
            .plots(false)
            .cancel(&never)
            .on_notice(&mut note)
            .run();
        assert!(
            matches!(finished, Ok(CampaignFinished::Written(_))),
            "{finished:?}"
        );
        assert!(dir.join("sweep.csv").exists());
        assert!(
            notices.iter().any(|n| n.starts_with("CheckpointFailed")),
            "{notices:?}"
        );
        assert_eq!(std::fs::read(checkpoint_path(&dir)).unwrap(), theirs);
    }

    #[test]
    fn the_lifecycle_says_what_a_study_says_and_leaves_another_commands_checkpoint() {
        let root = tempfile::tempdir().unwrap();
        let c = Campaign::new(
            loaded(),
            spec(
                CampaignKind::Sweep,
                &["buyer.support_weight=0:3:4"],
                Layout::Grid,
            ),
        )
        .unwrap();
        let dir = root.path().join("c");
        let stop = AtomicBool::new(true);
        let run = |resume: bool, cancel: Option<&AtomicBool>| {
            let mut notices = Vec::new();
            let mut note = |n: Notice<'_>| notices.push(format!("{n:?}"));
            let mut runner = CampaignRunner::new(&c)
                .out(Some(dir.clone()))
                .resume(resume)
                .plots(false)
                .on_notice(&mut note);
            if let Some(flag) = cancel {
                runner = runner.cancel(flag);
            }
            let finished = runner.run();
            (finished, notices)
        };
        // --resume with nothing to resume starts afresh, and says so.
        let (finished, notices) = run(true, Some(&stop));
        assert!(matches!(finished, Ok(CampaignFinished::Interrupted { .. })));
        assert!(notices[0].starts_with("NoCheckpoint"), "{notices:?}");
        // Without --resume, an interrupted campaign's checkpoint is replaced,
        // and that is said.
        let (finished, notices) = run(false, Some(&stop));
        assert!(matches!(finished, Ok(CampaignFinished::Interrupted { .. })));
        assert!(notices[0].starts_with("ReplacingCheckpoint"), "{notices:?}");
        // --resume continues it, and says from where.
        let (finished, notices) = run(true, None);
        assert!(matches!(finished, Ok(CampaignFinished::Written(_))));
        assert!(notices[0].starts_with("Resuming"), "{notices:?}");
        assert!(!checkpoint_path(&dir).exists());
        // Another command's checkpoint at the path is refused before any
        // point runs, and left as it was.
        let study = crate::state::frame(b"ARMSIMST", 2, b"a study's");
        std::fs::write(checkpoint_path(&dir), &study).unwrap();
        let started = Instant::now();
        let (finished, _) = run(true, None);
        let error = finished.unwrap_err().to_string();
        assert!(
            error.contains("checkpoint of an interrupted study, not of a campaign"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(std::fs::read(checkpoint_path(&dir)).unwrap(), study);
    }

    #[test]
    fn states_round_trip_and_corruption_is_refused() {
        let c = Campaign::new(
            loaded(),
            spec(CampaignKind::Sweep, &["buyer.budget=20:60:3"], Layout::Grid),
        )
        .unwrap();
        let results = PointRunner::new(3, &c.plan.builder(), c.outcomes.clone(), 5, 1)
            .run()
            .unwrap()
            .results;
        let state = CampaignState::new(&c, 0..3, &results, 1.0, 2);
        let bytes = state.encode();
        assert_eq!(CampaignState::decode(&bytes).unwrap(), state);
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(
            CampaignState::decode(&flipped)
                .unwrap_err()
                .contains("checksum")
        );
        assert!(CampaignState::decode(&bytes[..bytes.len() - 3]).is_err());
        assert_eq!(state.campaign().unwrap().fingerprint(), c.fingerprint());
    }

    #[test]
    fn settings_that_do_not_fit_are_refused() {
        let l = loaded();
        assert!(Campaign::new(l.clone(), spec(CampaignKind::Sweep, &[], Layout::Grid)).is_err());
        assert!(
            Campaign::new(
                l.clone(),
                spec(
                    CampaignKind::Sweep,
                    &["buyer.budget"],
                    Layout::Sobol { samples: 8 }
                )
            )
            .is_err()
        );
        let mut s = spec(CampaignKind::Sweep, &["buyer.budget"], Layout::Grid);
        s.outcomes = vec!["rolling_share:Rusia@end".into()];
        assert!(matches!(
            Campaign::new(l, s),
            Err(CampaignError::Outcome(_))
        ));
    }
}
