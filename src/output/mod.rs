//! Writing a study: `summary.csv`, `manifest.json`, optional `runs.csv`, and
//! the plots, all or nothing.
//!
//! [`write_study`] writes every file into a temporary directory beside the
//! destination and renames it into place only when all are written, so a
//! failed or interrupted study never leaves a half-written directory. The
//! formatting helpers ([`format_number`], [`headline`]) return strings; the
//! library never prints.

pub mod experiment;
pub mod plot;

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{Observer, QuarterView};
use crate::metrics::{self, Entity, MetricId};
use crate::model::Scenario;
use crate::scenario::Loaded;
use crate::study::replay;
use crate::summary::{Stat, Summary};

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

/// Writes `runs.csv`: the full trajectories of runs `0..keep`, replayed one by
/// one from their own streams (columns `run,quarter,label,entity,metric,value`).
///
/// # Errors
/// Any write error of `out`.
pub fn write_runs_csv(out: impl Write, scenario: &Scenario, keep: u64) -> io::Result<()> {
    struct Rows<'a, W: Write> {
        w: csv::Writer<W>,
        scenario: &'a Scenario,
        run: u64,
        ever: Vec<bool>,
        error: Option<io::Error>,
    }
    impl<W: Write> Observer for Rows<'_, W> {
        fn observe(&mut self, v: &QuarterView<'_>) {
            if self.error.is_some() {
                return;
            }
            let label = self.scenario.label(v.quarter).to_string();
            let mut rows: Vec<(String, &str, f64)> = Vec::new();
            metrics::for_each_value(v, self.scenario.compare(), &mut self.ever, |m, e, x| {
                rows.push((entity_name(self.scenario, e), m.name(), x))
            });
            for (entity, metric, value) in rows {
                let record = [
                    self.run.to_string(),
                    v.quarter.to_string(),
                    label.clone(),
                    entity,
                    metric.to_string(),
                    format_number(value),
                ];
                if let Err(e) = self.w.write_record(&record) {
                    self.error = Some(e.into());
                    return;
                }
            }
        }
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["run", "quarter", "label", "entity", "metric", "value"])?;
    let mut rows = Rows {
        w,
        scenario,
        run: 0,
        ever: vec![false; metrics::ever_flags(scenario.compare().len())],
        error: None,
    };
    for run in 0..keep.min(scenario.runs()) {
        rows.run = run;
        replay(scenario, run, &mut rows);
        if let Some(e) = rows.error.take() {
            return Err(e);
        }
    }
    rows.w.flush()
}

/// Everything `manifest.json` records, so a study can be cited and replayed.
#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    /// armsim's version.
    pub armsim_version: &'static str,
    /// The model version the scenario runs (`v1` or `v2`).
    pub model: &'static str,
    /// Fingerprint of the metric catalogue the summary was recorded with.
    pub catalogue: String,
    /// The metrics in `summary.csv`: name, scope, kind, unit and meaning.
    pub metrics: Vec<MetricDoc>,
    /// Scenario identifier (output directory name).
    pub scenario_id: &'a str,
    /// Scenario name.
    pub scenario_name: &'a str,
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
    /// Worker threads (does not affect results).
    pub threads: usize,
    /// Wall-clock seconds of the study.
    pub elapsed_seconds: f64,
    /// How each run's random numbers are drawn.
    pub rng: &'static str,
    /// How percentiles are computed.
    pub percentiles: &'static str,
    /// The files written.
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
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
    /// Runs whose trajectories go to `runs.csv` (0 for none).
    pub keep_runs: u64,
    /// Whether to draw the plots.
    pub plots: bool,
}

/// Writes a whole study into `dir`, replacing what was there, all or nothing.
/// Returns the files written.
///
/// # Errors
/// [`OutputError`] if anything cannot be written; `dir` is then untouched.
pub fn write_study(dir: &Path, report: &StudyReport<'_>) -> Result<Vec<PathBuf>, OutputError> {
    let scenario = &report.loaded.scenario;
    let mut files = vec!["summary.csv".to_string(), "manifest.json".to_string()];
    if report.keep_runs > 0 {
        files.push("runs.csv".into());
    }
    if report.plots {
        for stem in plot::PLOTS.iter().map(|p| p.stem) {
            files.push(format!("{stem}.png"));
            files.push(format!("{stem}.svg"));
        }
    }
    write_atomically(dir, |tmp| {
        write_file(&tmp.join("summary.csv"), |w| {
            write_summary_csv(w, scenario, report.summary)
        })?;
        if report.keep_runs > 0 {
            write_file(&tmp.join("runs.csv"), |w| {
                write_runs_csv(w, scenario, report.keep_runs)
            })?;
        }
        if report.plots {
            // Runs and seed are in the caption already; they are run
            // settings, not changes to the scenario.
            let overrides: Vec<String> = report
                .loaded
                .overrides
                .iter()
                .map(|o| o.arg.clone())
                .filter(|a| !a.starts_with("run.runs=") && !a.starts_with("run.seed="))
                .collect();
            let caption = plot::study_caption(scenario, report.summary, &overrides);
            plot::draw_study(tmp, scenario, report.summary, &caption)?;
        }
        let manifest = Manifest {
            armsim_version: env!("CARGO_PKG_VERSION"),
            model: scenario.model().name(),
            catalogue: metrics::fingerprint(),
            metrics: metric_docs(),
            scenario_id: scenario.id(),
            scenario_name: scenario.name(),
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
            rng: "ChaCha8 (rand_chacha 0.9) seeded with seed_from_u64(seed), stream = run index",
            percentiles: "nearest-rank; [0,1] metrics from 0.001-wide bins (within 0.0005), \
                          TIV metrics from log-linear bins (within 0.78% relative), events exact",
            files: files.clone(),
            resolved_scenario_toml: &report.loaded.resolved_toml,
            resolved_scenario: &report.loaded.raw,
        };
        write_file(&tmp.join("manifest.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &manifest)?;
            writeln!(w)
        })
    })?;
    Ok(files.iter().map(|f| dir.join(f)).collect())
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

/// Runs `fill` on a fresh temporary directory beside `dir`, then renames it to
/// `dir` (replacing any previous study there). On error the temporary
/// directory is removed and `dir` is left as it was.
///
/// # Errors
/// `fill`'s error, or the failure to create or rename the directories.
pub fn write_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .map_or_else(|| "study".into(), |n| n.to_string_lossy().into_owned());
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    fill(tmp.path())?;
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    let tmp_path = tmp.keep();
    if let Err(e) = fs::rename(&tmp_path, dir) {
        let _ = fs::remove_dir_all(&tmp_path);
        if had_old {
            let _ = fs::rename(&old, dir);
        }
        return Err(io_err(dir)(e));
    }
    if had_old {
        fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(())
}

/// The headline results as a small table: each supplier's final rolling share
/// and support with their 90% bands, the compared pairs, and the probability
/// that an embargo is in force at the end.
pub fn headline(scenario: &Scenario, summary: &Summary) -> String {
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
        "{} ({} runs, model {}): at {label}, median [90% band]\n\n{:<14} {:<24} {:<22}\n",
        scenario.name(),
        thousands(summary.runs()),
        scenario.model(),
        "supplier",
        "5-year rolling share",
        "support (0-1)"
    );
    for (i, s) in scenario.suppliers().iter().enumerate() {
        let entity = Entity::Supplier(i);
        out += &format!(
            "{:<14} {:<24} {:<22}\n",
            s.name(),
            band(stat(entity, MetricId::RollingShare), true),
            band(stat(entity, MetricId::Support), false)
        );
    }
    out.push('\n');
    for &(a, b) in scenario.compare() {
        if let Some(ever) = stat(Entity::Pair(a, b), MetricId::EverAhead) {
            out += &format!(
                "P({} ahead of {} at some quarter by {label}): {:.3}\n",
                scenario.suppliers()[a].name(),
                scenario.suppliers()[b].name(),
                ever.mean
            );
        }
    }
    if let Some(embargo) = stat(Entity::World, MetricId::Embargo) {
        out += &format!(
            "P(UN arms embargo in force at {label}): {:.4}\n",
            embargo.mean
        );
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
    fn atomic_write_leaves_nothing_on_failure() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("study");
        let result = write_atomically(&dir, |tmp| {
            fs::write(tmp.join("half.csv"), "x").unwrap();
            Err(OutputError::Plot {
                path: tmp.join("p.png"),
                message: "boom".into(),
            })
        });
        assert!(result.is_err());
        assert_eq!(
            fs::read_dir(root.path()).unwrap().count(),
            0,
            "nothing left behind"
        );
        write_atomically(&dir, |tmp| {
            fs::write(tmp.join("a"), "1").map_err(io_err(tmp))
        })
        .unwrap();
        write_atomically(&dir, |tmp| {
            fs::write(tmp.join("b"), "2").map_err(io_err(tmp))
        })
        .unwrap();
        assert!(
            !dir.join("a").exists() && dir.join("b").exists(),
            "a rerun replaces the study"
        );
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
