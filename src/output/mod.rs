//! Writing a study: `summary.csv`, `manifest.json`, the kept runs'
//! trajectories, and the plots, all or nothing.
//!
//! [`write_study`] and [`write_shard`] write every file into a temporary
//! directory beside the destination and put it in place only when all are
//! written, replacing only an earlier armsim study or an empty directory (the
//! policy lives in [`crate::files`]). The formatting helpers
//! ([`format_number`], [`headline`]) return strings; the library never prints.

#[cfg(feature = "plots")]
pub mod plot;
pub mod runs;

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::files::{self, FileError};
use crate::manifest::{self, Header};
use crate::metrics::{self, Entity, MetricId};
use crate::model::Scenario;
use crate::scenario::Loaded;
use crate::state::StudyState;
use crate::summary::{Stat, Summary};
pub use runs::{KeptRuns, RunsFormat};

/// Header of `summary.csv`.
pub const SUMMARY_HEADER: &str = "quarter,label,entity,metric,n,mean,sd,p05,p25,p50,p75,p95";

/// Why a study's files could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// A file or directory operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A plot could not be drawn.
    #[error("cannot draw {}: {message}", path.display())]
    Plot {
        /// The plot file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Plots were asked for from a library built without the `plots`
    /// feature.
    #[error("plots were asked for, but this armsim was built without its `plots` feature")]
    PlotsNotBuilt,
    /// The destination holds something armsim may not replace, or a
    /// directory could not be put in place.
    #[error(transparent)]
    Files(#[from] FileError),
    /// A shard's state could not be written.
    #[error(transparent)]
    State(#[from] Box<crate::state::StateError>),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The name of an entity in outputs: `world`, `buyer`, a supplier, or `a>b`.
pub fn entity_name(scenario: &Scenario, entity: Entity) -> String {
    match entity {
        Entity::World => "world".into(),
        Entity::Buyer => "buyer".into(),
        Entity::Supplier(i) => scenario.suppliers()[i].name().to_string(),
        Entity::Pair(a, b) => format!(
            "{}>{}",
            scenario.suppliers()[a].name(),
            scenario.suppliers()[b].name()
        ),
    }
}

/// Formats a number for CSV: up to 6 significant digits, no exponent, no
/// trailing zeros. Deterministic, so equal summaries give equal files.
pub fn format_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x.is_nan() {
            String::new()
        } else {
            "0".into()
        };
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(0, 17) as usize;
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// `1234567` as `1,234,567`, for people.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Writes `summary.csv` (long format, one row per quarter, entity and metric)
/// to `out`. `n` is the number of runs behind the row (a conditional metric
/// such as `order_share` counts only the runs where it is defined); a metric
/// undefined in every run at a quarter has `n` 0 and empty cells.
///
/// # Errors
/// Any write error of `out`.
pub fn write_summary_csv(
    out: impl Write,
    scenario: &Scenario,
    summary: &Summary,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SUMMARY_HEADER.split(','))?;
    let metrics = summary.metrics();
    let names: Vec<String> = metrics
        .iter()
        .map(|m| entity_name(scenario, m.entity))
        .collect();
    for q in 0..summary.quarters() {
        let quarter = q.to_string();
        let label = scenario.label(q as u32).to_string();
        for (metric, entity) in metrics.iter().zip(&names) {
            let mut row = vec![
                quarter.clone(),
                label.clone(),
                entity.clone(),
                metric.name().to_string(),
            ];
            match summary.stat(q, metric) {
                Some(stat) => {
                    row.push(stat.count.to_string());
                    row.push(format_number(stat.mean));
                    row.push(stat.sd.map(format_number).unwrap_or_default());
                    row.extend(stat.percentiles.iter().map(|&p| format_number(p)));
                }
                None => {
                    row.push("0".into());
                    row.extend(std::iter::repeat_n(String::new(), 7));
                }
            }
            w.write_record(&row)?;
        }
    }
    w.flush()
}

/// One shard of a merged study, as its manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyShardRecord {
    /// Run indices, `[start, end)`.
    pub runs: [u64; 2],
    /// Its worker threads.
    pub threads: u32,
    /// Its wall-clock seconds (summed over its sessions if it was resumed).
    pub elapsed_seconds: f64,
}

impl StudyShardRecord {
    /// The record of a shard's state.
    pub fn of(state: &StudyState) -> Self {
        StudyShardRecord {
            runs: [state.range.start, state.range.end],
            threads: state.threads,
            elapsed_seconds: state.elapsed_seconds,
        }
    }
}

/// What a study's `manifest.json` records after its [`Header`], so a
/// study can be cited and replayed.
#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    /// The model version the scenario runs (`v1` or `v2`).
    pub model: &'static str,
    /// Fingerprint of the metric catalogue the summary was recorded with.
    pub catalogue: String,
    /// The metrics in `summary.csv`: name, scope, kind, unit and meaning.
    pub metrics: Vec<MetricDoc>,
    /// Scenario identifier.
    pub scenario_id: &'a str,
    /// Scenario name.
    pub scenario_name: &'a str,
    /// The study's title: the name, and the overrides if any.
    pub title: String,
    /// Where the scenario came from.
    pub scenario_source: &'a str,
    /// SHA-256 of the resolved scenario's canonical TOML.
    pub scenario_sha256: &'a str,
    /// The `--set` overrides applied, as given.
    pub overrides: Vec<&'a str>,
    /// Master seed.
    pub seed: u64,
    /// Runs summarised.
    pub runs: u64,
    /// Run indices summarised, `[start, end)`.
    pub run_range: [u64; 2],
    /// Quarters per run.
    pub quarters: u32,
    /// Worker threads (does not affect results); for a merged study, the
    /// sum over its shards.
    pub threads: u64,
    /// Wall-clock seconds of the study, summed over resumed sessions; for a
    /// merged study, summed over its shards (see `shards` for each).
    pub elapsed_seconds: f64,
    /// The shards a merged study was made of (absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<StudyShardRecord>,
    /// How each run's random numbers are drawn.
    pub rng: &'static str,
    /// How percentiles are computed.
    pub percentiles: &'static str,
    /// The files written: every file in the directory.
    pub files: Vec<String>,
    /// The scenario as resolved, as TOML: feed it back to `armsim run` to replay.
    pub resolved_scenario_toml: &'a str,
    /// The same, as structured data.
    pub resolved_scenario: &'a crate::scenario::RawScenario,
}

/// One metric of the catalogue, as the manifest documents it.
#[derive(Debug, Serialize)]
pub struct MetricDoc {
    /// Its name in `summary.csv`.
    pub name: &'static str,
    /// `world`, `buyer`, `supplier` or `pair`.
    pub scope: &'static str,
    /// `unit` (in [0, 1]), `positive` or `event`.
    pub kind: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// What it means.
    pub description: &'static str,
}

/// The catalogue of metrics, for manifests.
pub fn metric_docs() -> Vec<MetricDoc> {
    MetricId::ALL
        .iter()
        .map(|m| MetricDoc {
            name: m.name(),
            scope: match m.scope() {
                metrics::Scope::World => "world",
                metrics::Scope::Buyer => "buyer",
                metrics::Scope::Supplier => "supplier",
                metrics::Scope::Pair => "pair",
            },
            kind: match m.kind() {
                metrics::Kind::Unit => "unit",
                metrics::Kind::Positive => "positive",
                metrics::Kind::Event => "event",
            },
            unit: m.unit(),
            description: m.description(),
        })
        .collect()
}

/// What a study directory is written from.
pub struct StudyReport<'a> {
    /// The scenario as loaded.
    pub loaded: &'a Loaded,
    /// The summary of its runs.
    pub summary: &'a Summary,
    /// Run indices summarised.
    pub run_range: std::ops::Range<u64>,
    /// Worker threads used (summed over shards for a merged study).
    pub threads: u64,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
    /// The shards of a merged study (empty otherwise).
    pub shards: Vec<StudyShardRecord>,
    /// The runs whose trajectories are written, if any.
    pub kept: Option<KeptRuns<'a>>,
    /// Whether to draw the plots.
    pub plots: bool,
    /// The command line, for the manifest.
    pub command_line: &'a [String],
}

const RNG: &str = "ChaCha8 (rand_chacha 0.9) seeded with seed_from_u64(seed), stream = run index";
const PERCENTILES: &str = "nearest-rank; [0,1] metrics from 0.001-wide bins (within 0.0005), \
                           TIV metrics from log-linear bins (within 0.78% relative), events exact";

/// Writes a whole study into `dir`, all or nothing, replacing only an
/// earlier armsim study or an empty directory. Returns the files written.
///
/// # Errors
/// [`OutputError`] if anything cannot be written, or `dir` holds something
/// armsim did not write; `dir` is then untouched.
pub fn write_study(dir: &Path, report: &StudyReport<'_>) -> Result<Vec<PathBuf>, OutputError> {
    let scenario = &report.loaded.scenario;
    let mut files = vec!["summary.csv".to_string(), files::MANIFEST.to_string()];
    if let Some(kept) = &report.kept {
        files.push(kept.format.file_name().to_string());
    }
    if report.plots {
        #[cfg(not(feature = "plots"))]
        return Err(OutputError::PlotsNotBuilt);
        #[cfg(feature = "plots")]
        for stem in plot::PLOTS.iter().map(|p| p.stem) {
            files.push(format!("{stem}.png"));
            files.push(format!("{stem}.svg"));
        }
    }
    write_atomically(dir, |tmp| {
        write_file(&tmp.join("summary.csv"), |w| {
            write_summary_csv(w, scenario, report.summary)
        })?;
        if let Some(kept) = &report.kept {
            let path = tmp.join(kept.format.file_name());
            write_file(&path, |w| runs::write_runs(w, scenario, kept))?;
        }
        #[cfg(feature = "plots")]
        if report.plots {
            // Runs and seed are in the caption already; they are run
            // settings, not changes to the scenario.
            let overrides: Vec<String> = report
                .loaded
                .model_overrides()
                .map(|o| o.label.clone())
                .collect();
            let caption = plot::study_caption(scenario, report.summary, &overrides);
            let title = report.loaded.title();
            plot::draw_study(tmp, scenario, &title, report.summary, &caption)?;
        }
        let header = Header::new(
            "study",
            study_settings(
                report.loaded,
                &report.run_range,
                report.plots,
                report.kept.as_ref().map(|k| (k.count, k.format)),
            ),
            report.command_line,
        );
        let manifest = Manifest {
            model: scenario.model().name(),
            catalogue: metrics::fingerprint(),
            metrics: metric_docs(),
            scenario_id: scenario.id(),
            scenario_name: scenario.name(),
            title: report.loaded.title(),
            scenario_source: &report.loaded.origin,
            scenario_sha256: &report.loaded.hash,
            overrides: report
                .loaded
                .overrides
                .iter()
                .map(|o| o.arg.as_str())
                .collect(),
            seed: scenario.seed(),
            runs: report.summary.runs(),
            run_range: [report.run_range.start, report.run_range.end],
            quarters: scenario.quarters(),
            threads: report.threads,
            elapsed_seconds: report.elapsed_seconds,
            shards: report.shards.clone(),
            rng: RNG,
            percentiles: PERCENTILES,
            files: files.clone(),
            resolved_scenario_toml: &report.loaded.resolved_toml,
            resolved_scenario: &report.loaded.raw,
        };
        write_manifest(tmp, &header, &manifest)
    })?;
    Ok(files.iter().map(|f| dir.join(f)).collect())
}

/// The settings fingerprint of a study ([`files::SETTINGS_KEY`]): the
/// resolved scenario, seed, runs and catalogue decide its summary; plots
/// and kept runs decide its files. Threads and time do not count: they
/// change no bit. A study of the same settings replaces its predecessor in
/// its default directory; one of other settings goes beside it.
pub fn study_settings(
    loaded: &Loaded,
    run_range: &std::ops::Range<u64>,
    plots: bool,
    kept: Option<(u64, RunsFormat)>,
) -> String {
    files::settings_fingerprint(&serde_json::json!({
        "kind": "study",
        "scenario_sha256": loaded.hash,
        "seed": loaded.scenario.seed(),
        "run_range": [run_range.start, run_range.end],
        "catalogue": metrics::fingerprint(),
        "plots": plots,
        "kept_runs": kept.map(|(count, format)| (count, format.file_name())),
    }))
}

/// The settings fingerprint of a shard of a study: as [`study_settings`],
/// for its run range.
pub fn shard_settings(loaded: &Loaded, run_range: &std::ops::Range<u64>) -> String {
    files::settings_fingerprint(&serde_json::json!({
        "kind": "shard",
        "scenario_sha256": loaded.hash,
        "seed": loaded.scenario.seed(),
        "run_range": [run_range.start, run_range.end],
        "total_runs": loaded.scenario.runs(),
        "catalogue": metrics::fingerprint(),
    }))
}

fn write_manifest(
    dir: &Path,
    header: &Header<'_>,
    body: &impl Serialize,
) -> Result<(), OutputError> {
    write_file(&dir.join(files::MANIFEST), |w| {
        manifest::write(w, header, body)
    })
}

/// The file a shard directory keeps its state in.
pub const SHARD_STATE: &str = "state.armsim";

/// What a shard directory's `manifest.json` records.
#[derive(Debug, Serialize)]
struct ShardManifest<'a> {
    scenario_id: &'a str,
    title: String,
    scenario_sha256: &'a str,
    seed: u64,
    total_runs: u64,
    run_range: [u64; 2],
    threads: u32,
    elapsed_seconds: f64,
    files: [&'static str; 2],
}

/// Writes a shard directory: its state (for `armsim merge`) and a manifest
/// saying what it is, all or nothing, under the same rule as a study.
/// Returns the state file's path.
///
/// # Errors
/// As [`write_study`].
pub fn write_shard(
    dir: &Path,
    loaded: &Loaded,
    state: &StudyState,
    command_line: &[String],
) -> Result<PathBuf, OutputError> {
    write_atomically(dir, |tmp| {
        state
            .save(&tmp.join(SHARD_STATE))
            .map_err(|e| OutputError::State(Box::new(e)))?;
        write_manifest(
            tmp,
            &Header::new(
                "study shard",
                shard_settings(loaded, &state.range),
                command_line,
            ),
            &ShardManifest {
                scenario_id: &state.scenario_id,
                title: loaded.title(),
                scenario_sha256: &state.scenario_hash,
                seed: state.seed,
                total_runs: state.total_runs,
                run_range: [state.range.start, state.range.end],
                threads: state.threads,
                elapsed_seconds: state.elapsed_seconds,
                files: [files::MANIFEST, SHARD_STATE],
            },
        )
    })?;
    Ok(dir.join(SHARD_STATE))
}

/// Creates `path` and writes it through a buffer, reporting errors with the path.
pub fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<fs::File>) -> io::Result<()>,
) -> Result<(), OutputError> {
    let file = fs::File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::new(file);
    write(&mut w).map_err(io_err(path))?;
    w.into_inner()
        .map_err(|e| io_err(path)(e.into_error()))?
        .sync_all()
        .map_err(io_err(path))
}

/// Runs `fill` on a fresh temporary directory beside `dir`, then puts it in
/// `dir`'s place, replacing only an earlier armsim study or an empty
/// directory ([`files::write_dir_atomically`]). On error `dir` is left as it
/// was and nothing is left behind.
///
/// # Errors
/// `fill`'s error, a refusal, or the failure to create or rename the directories.
pub fn write_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    files::write_dir_atomically(dir, fill)
}

/// The headline results as a small table under `title` (see
/// [`Loaded::title`]): each supplier's final rolling share and support with
/// their 90% bands, the compared pairs, and the probability that an embargo
/// is in force at the end.
pub fn headline(title: &str, scenario: &Scenario, summary: &Summary) -> String {
    let last = summary.quarters() - 1;
    let label = scenario.label(last as u32);
    let stat = |entity: Entity, id: MetricId| {
        summary
            .metric(entity, id)
            .and_then(|m| summary.stat(last, &m))
    };
    let band = |stat: Option<Stat>, percent: bool| match stat {
        Some(s) if percent => format!(
            "{:>5.1}%  [{:>5.1}, {:>5.1}]",
            100.0 * s.p50(),
            100.0 * s.p05(),
            100.0 * s.p95()
        ),
        Some(s) => format!("{:>6.2}  [{:.2}, {:.2}]", s.p50(), s.p05(), s.p95()),
        None => "n/a".into(),
    };
    let mut out = format!(
        "{} ({} runs, model {}): at {label}, median [90% band]\n\n{:<14} {:<24} {}\n",
        title,
        thousands(summary.runs()),
        scenario.model(),
        "supplier",
        "5-year rolling share",
        "support (0-1)"
    );
    for (i, s) in scenario.suppliers().iter().enumerate() {
        let entity = Entity::Supplier(i);
        out += &format!(
            "{:<14} {:<24} {}\n",
            s.name(),
            band(stat(entity, MetricId::RollingShare), true),
            band(stat(entity, MetricId::Support), false)
        );
    }
    out.push('\n');
    // Both readings of "ahead": at the horizon, and ever by then. The second
    // counts a run that was ahead for one quarter, so it is never smaller and
    // often far larger; printing it alone invites reading it as the first.
    let mut pairs = 0;
    for &(a, b) in scenario.compare() {
        let at = stat(Entity::Pair(a, b), MetricId::Ahead);
        let ever = stat(Entity::Pair(a, b), MetricId::EverAhead);
        if at.is_none() && ever.is_none() {
            continue;
        }
        let p = |s: Option<Stat>| s.map_or_else(|| "n/a".to_string(), |s| format!("{:.3}", s.mean));
        out += &format!(
            "P({} ahead of {} at {label}): {}   at some quarter by {label}: {}\n",
            scenario.suppliers()[a].name(),
            scenario.suppliers()[b].name(),
            p(at),
            p(ever)
        );
        pairs += 1;
    }
    if let Some(embargo) = stat(Entity::World, MetricId::Embargo) {
        out += &format!(
            "P(UN arms embargo in force at {label}): {:.4}\n",
            embargo.mean
        );
    }
    if pairs > 0 {
        out += "(ahead: a higher five-year rolling share; \"at some quarter\" counts every run \
                in which it happened at least once, however briefly)\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_compactly_and_deterministically() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(0.123456789), "0.123457");
        assert_eq!(format_number(52.34567), "52.3457");
        assert_eq!(format_number(0.00001234), "0.00001234");
        assert_eq!(format_number(1234567.0), "1234567");
        assert_eq!(format_number(-0.25), "-0.25");
        assert_eq!(format_number(f64::NAN), "");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn the_headline_gives_both_readings_of_ahead_and_says_what_they_mean() {
        let loaded = crate::scenario::load_baseline(&["run.runs=300".into()]).unwrap();
        let summary = crate::study::Study::new(&loaded.scenario)
            .threads(1)
            .run()
            .unwrap()
            .summary;
        let text = headline("Baseline", &loaded.scenario, &summary);
        let line = text
            .lines()
            .find(|l| l.starts_with("P(Russia ahead of China at 2030Q4): "))
            .unwrap_or_else(|| panic!("{text}"));
        let (at, ever) = line
            .strip_prefix("P(Russia ahead of China at 2030Q4): ")
            .and_then(|rest| rest.split_once("   at some quarter by 2030Q4: "))
            .unwrap_or_else(|| panic!("{line}"));
        let (at, ever): (f64, f64) = (at.parse().unwrap(), ever.parse().unwrap());
        // Ahead at the end implies ahead at some quarter: never the other way.
        assert!(at <= ever && (0.0..=1.0).contains(&at), "{line}");
        assert!(
            ever - at > 0.2,
            "the two readings differ a lot here: {line}"
        );
        assert!(
            text.contains("\"at some quarter\" counts every run"),
            "{text}"
        );
    }

    #[test]
    fn a_rerun_replaces_its_own_study() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("study");
        let loaded = crate::scenario::load_baseline(&["run.runs=20".into()]).unwrap();
        let summary = crate::study::Study::new(&loaded.scenario)
            .threads(1)
            .run()
            .unwrap()
            .summary;
        let report = StudyReport {
            loaded: &loaded,
            summary: &summary,
            run_range: 0..20,
            threads: 1,
            elapsed_seconds: 0.0,
            shards: Vec::new(),
            kept: None,
            plots: false,
            command_line: &[],
        };
        let written = write_study(&dir, &report).unwrap();
        assert_eq!(
            written,
            [dir.join("summary.csv"), dir.join("manifest.json")]
        );
        write_study(&dir, &report).unwrap();
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["written_by"], "armsim");
        assert_eq!(
            manifest["files"],
            serde_json::json!(["summary.csv", "manifest.json"])
        );
    }
}
