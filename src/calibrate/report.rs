//! What a calibration writes: the posterior and its summaries, the fit, the
//! forecast across the posterior, and the calibrated scenario files.
//!
//! [`write()`] fills an output directory all or nothing, replacing only an
//! earlier armsim directory ([`crate::files`]; so the directory is flat and
//! `manifest.json` lists every file):
//!
//! - `posterior.csv`: every particle of the final population with its
//!   weight, distance, parameters and simulated statistics;
//!   `rejection.csv`: the same for generation 0, the rejection baseline;
//! - `posterior_summary.csv`: per parameter its prior, the rejection
//!   baseline's and the posterior's mean, sd and 5/50/95% quantiles, the
//!   calibrated value, the ratio of posterior to prior sd and what it says
//!   about identification ([`identification`]); `correlations.csv`: the
//!   posterior's correlations; `generations.csv`: tolerance, simulations,
//!   acceptance and effective sample size of each generation;
//! - `fit.csv`: per statistic the observed value, its scale, the posterior
//!   predictive distribution and the calibrated scenario's;
//! - `forecast.csv`: per outcome of the forecast scenario, its distribution
//!   over particles and runs, the spread of the particles' means, and its
//!   value at the calibrated values; `forecast_summary.csv`: every run of
//!   the forecast, as a study's `summary.csv`;
//! - plots, each as `.png` and `.svg`: `pairs` (the posterior),
//!   `fit_shares`, `fit_lumpiness`, `fit_totals` (observed against the
//!   posterior predictive bands), `forecast_shares`, `forecast_support`,
//!   `forecast_influence` (fan charts across the posterior);
//! - `calibrated.toml` (the forecast scenario) and, when the calibration
//!   scenario is another, `calibrated_history.toml`: the scenario files with
//!   the calibrated values written in ([`calibrated_text`]);
//! - `generation-000.abcpop` and the final generation's file, to resume or
//!   extend the calibration;
//! - `summary.txt`: all of it in words and tables ([`summary_text`]);
//!   `manifest.json`: provenance, settings, timings and the file list.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

use super::abc::{Population, Stop};
use super::posterior::Posterior;
use super::run::{CalibrationError, Fit, generation_file};
use super::spec::ParamSpec;
#[cfg(feature = "plots")]
use super::spec::TargetKind;
#[cfg(feature = "plots")]
use crate::output::plot::{
    Axis, Caption, Figure, Format, ObservedCell, ObservedChart, ObservedSeries, PLOTS, PairPlot,
    PlotError, PlotMeta, Quantiles, fan_chart, observed_vs_simulated, pair_plot, study_chart,
    titled,
};
use crate::output::{OutputError, write_atomically, write_file};

/// Where a calibrated value comes from, for the calibrated file's comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The calibration scenario.
    pub scenario: String,
    /// Its calibration seed.
    pub seed: u64,
    /// Particles.
    pub population: usize,
    /// Generations, generation 0 included.
    pub generations: u32,
    /// The final tolerance.
    pub epsilon: f64,
    /// ABC-SMC simulations.
    pub simulations: u64,
}

/// Column at which value comments start in the shipped scenario files.
const COMMENT_COLUMN: usize = 28;
/// What starts the calibration note in a value's comment.
const NOTE: &str = "; posterior median, 90% interval";
/// What starts the note of a parameter the data do not identify.
const UNIDENTIFIED: &str = "; not identified by calibration";
/// What starts the calibration block at the top of a calibrated file.
const HEADER: &str = "# Calibrated:";

/// How far the data pin a parameter down, from the ratio of its posterior
/// to its prior standard deviation: below 0.5 `identified`, below 0.8
/// `weakly identified`, otherwise `not identified` (the posterior is about
/// as wide as the prior).
pub fn identification(sd_ratio: f64) -> &'static str {
    if sd_ratio < 0.5 {
        "identified"
    } else if sd_ratio < 0.8 {
        "weakly identified"
    } else {
        "not identified"
    }
}

/// A number with `digits` significant digits, for tables and comments.
fn num(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// The item at `path` (`world.KEY`, `buyer.KEY`, `suppliers.NAME.KEY`) of a
/// scenario document, created if the file leaves it to its default.
fn item_mut<'d>(doc: &'d mut DocumentMut, path: &str) -> Option<&'d mut Item> {
    let segments: Vec<&str> = path.split('.').collect();
    match segments.as_slice() {
        [section @ ("world" | "buyer"), key] => {
            let table = doc.get_mut(section)?.as_table_mut()?;
            if !table.contains_key(key) {
                table.insert(key, Item::Value(Value::from(0.0)));
            }
            table.get_mut(key)
        }
        ["suppliers", name, key] => {
            let list = doc.get_mut("suppliers")?.as_array_of_tables_mut()?;
            let table = list
                .iter_mut()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(*name))?;
            if !table.contains_key(key) {
                table.insert(key, Item::Value(Value::from(0.0)));
            }
            table.get_mut(key)
        }
        _ => None,
    }
}

/// The tags of a comment's last `[...]` group (`beta_support: ... [A, C]`),
/// the text before it and after it.
fn split_tags(comment: &str) -> (String, Vec<String>, String) {
    match (comment.rfind('['), comment.rfind(']')) {
        (Some(open), Some(close)) if open < close => {
            let inside = &comment[open + 1..close];
            let tags: Vec<String> = inside.split(',').map(|t| t.trim().to_string()).collect();
            if tags
                .iter()
                .all(|t| ["A", "S", "J", "C"].contains(&t.as_str()))
            {
                return (
                    comment[..open].trim_end().to_string(),
                    tags,
                    comment[close + 1..].to_string(),
                );
            }
            (comment.to_string(), Vec::new(), String::new())
        }
        _ => (comment.to_string(), Vec::new(), String::new()),
    }
}

/// `text` (a scenario file) with each calibrated parameter set to its
/// calibrated value and its comment kept, its source tags updated and a
/// note added: for a parameter the data identify, `[..., C]` and its 90%
/// posterior interval; for one they do not, `[..., J]`, the interval and
/// that the value is kept. A block at the top says which posterior the
/// values come from. Applied to a file it wrote before, it replaces its own
/// notes.
///
/// # Errors
/// [`CalibrationError::Calibrated`] if the text does not parse or lacks a
/// parameter's table.
#[allow(clippy::too_many_arguments)]
pub fn calibrated_text(
    text: &str,
    params: &[ParamSpec],
    values: &[f64],
    identified: &[bool],
    priors: &[super::prior::PriorParam],
    posterior: &Posterior,
    source: &Provenance,
) -> Result<String, CalibrationError> {
    let fail = |path: &str| CalibrationError::Calibrated {
        path: path.to_string(),
    };
    let mut doc: DocumentMut = without_calibration_block(text)
        .parse()
        .map_err(|_| fail("the scenario"))?;
    for (k, p) in params.iter().enumerate() {
        let item = item_mut(&mut doc, &p.path).ok_or_else(|| fail(&p.path))?;
        let old = item
            .as_value()
            .and_then(|v| v.decor().suffix())
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .trim()
            .trim_start_matches('#')
            .trim()
            .to_string();
        let interval = format!(
            "[{}, {}]",
            num(posterior.q05[k], 3),
            num(posterior.q95[k], 3)
        );
        let note = if identified[k] {
            format!("{NOTE} {interval}")
        } else {
            let ratio = posterior.sd[k] / priors[k].prior.variance().sqrt();
            format!(
                "{UNIDENTIFIED} (posterior sd {ratio:.2} of the prior's, 90% {interval}): value kept"
            )
        };
        let comment = calibrated_comment(&old, identified[k], &note);
        let mut value = Value::from(values[k]);
        let shown = value.to_string();
        let key = p.path.rsplit('.').next().unwrap_or(&p.path);
        let used = key.len() + 3 + shown.trim().len();
        let pad = " ".repeat(COMMENT_COLUMN.saturating_sub(used).max(1));
        value.decor_mut().set_prefix(" ");
        value.decor_mut().set_suffix(format!("{pad}# {comment}"));
        *item = Item::Value(value);
    }
    let header = format!(
        "{HEADER} the [C] values are posterior medians from `armsim calibrate {}`\n\
         #   (ABC-SMC, seed {}, {} particles, {} generations, final tolerance {}, {} simulations);\n\
         #   each gives its 90% posterior interval. Parameters the data do not identify keep\n\
         #   their value and say so. docs/calibration.md says how and how well.\n\n",
        source.scenario,
        source.seed,
        source.population,
        source.generations,
        num(source.epsilon, 3),
        source.simulations
    );
    Ok(header + &doc.to_string())
}

/// `text` without the calibration block an earlier calibration wrote at
/// its top (its header line, its `#   ` lines and one blank line).
fn without_calibration_block(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(start) = lines.iter().position(|l| l.starts_with(HEADER)) {
        let mut end = start + 1;
        while end < lines.len() && lines[end].starts_with("#   ") {
            end += 1;
        }
        if end < lines.len() && lines[end].trim().is_empty() {
            end += 1;
        }
        lines.drain(start..end);
    }
    lines.join("\n") + "\n"
}

/// A calibrated parameter's comment, from its `old` one: what the author
/// wrote is kept, an earlier calibration's note dropped, the source tag
/// set to `[C]` (identified) or `[J]` (not), and `note` appended.
fn calibrated_comment(old: &str, identified: bool, note: &str) -> String {
    let kept = old
        .split(NOTE)
        .next()
        .unwrap_or("")
        .split(UNIDENTIFIED)
        .next()
        .unwrap_or("")
        .trim_end()
        .to_string();
    let (before, mut tags, after) = split_tags(&kept);
    tags.retain(|t| t != "C" && !(identified && t == "J"));
    tags.push(if identified { "C" } else { "J" }.to_string());
    tags.dedup();
    let lead = if before.is_empty() {
        String::new()
    } else {
        format!("{before} ")
    };
    format!("{lead}[{}]{after}{note}", tags.join(", "))
}

/// Writes the outputs listed in the module documentation into `dir`, all or
/// nothing, replacing only an earlier armsim directory; `command_line` goes
/// into the manifest. Returns the files written, relative to `dir`.
///
/// # Errors
/// [`OutputError`] if a file or plot cannot be written, or `dir` holds
/// something armsim did not write (it is then untouched).
pub fn write(dir: &Path, fit: &Fit, command_line: &[String]) -> Result<Vec<PathBuf>, OutputError> {
    let mut files = Vec::new();
    write_atomically(dir, |tmp| {
        files = write_files(tmp, fit, command_line)?;
        Ok(())
    })?;
    Ok(files.into_iter().map(PathBuf::from).collect())
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn population_csv(path: &Path, fit: &Fit, population: &Population) -> Result<(), OutputError> {
    write_file(path, |w| {
        let mut header = vec!["particle".to_string(), "weight".into(), "distance".into()];
        header.extend(fit.priors.iter().map(|p| csv_escape(&p.name)));
        header.extend(fit.statistics.iter().map(|s| csv_escape(&s.outcome)));
        writeln!(w, "{}", header.join(","))?;
        let d = population.dim();
        for i in 0..population.len() {
            let mut row = vec![
                i.to_string(),
                population.weights()[i].to_string(),
                population.distances()[i].to_string(),
            ];
            row.extend(
                population.particles()[i * d..(i + 1) * d]
                    .iter()
                    .map(f64::to_string),
            );
            row.extend(
                population
                    .statistics(i)
                    .unwrap_or(&[])
                    .iter()
                    .map(f64::to_string),
            );
            writeln!(w, "{}", row.join(","))?;
        }
        Ok(())
    })
}

/// Writes a figure as `stem.png` and `stem.svg` into `dir`.
#[cfg(feature = "plots")]
fn figure(
    dir: &Path,
    stem: &str,
    drawn: Result<Figure, PlotError>,
    files: &mut Vec<String>,
) -> Result<(), OutputError> {
    let fail = |message: String| OutputError::Plot {
        path: dir.join(format!("{stem}.png")),
        message,
    };
    let figure = drawn.map_err(|e| fail(e.to_string()))?;
    match figure.write(dir, stem) {
        Ok(_) => {
            files.push(format!("{stem}.svg"));
            files.push(format!("{stem}.png"));
            Ok(())
        }
        Err(PlotError::Io { path, source }) => Err(OutputError::Plot {
            path,
            message: source.to_string(),
        }),
        Err(e) => Err(fail(e.to_string())),
    }
}

#[cfg(feature = "plots")]
fn caption(fit: &Fit, runs: Option<u64>) -> Caption {
    Caption {
        seed: Some(fit.spec.settings.seed),
        runs,
        overrides: Vec::new(),
        note: Some(format!("armsim calibrate {}", fit.origin)),
    }
}

/// The pair plot of the posterior, on the priors' supports, marking the
/// values the forecast scenario had before calibration.
#[cfg(feature = "plots")]
fn pairs_figure(fit: &Fit) -> Result<Figure, PlotError> {
    let p = &fit.smc.population;
    let d = p.dim();
    let short = |name: &str| name.rsplit('.').next().unwrap_or(name).to_string();
    let names: Vec<String> = fit
        .priors
        .iter()
        .map(|q| {
            let parts: Vec<&str> = q.name.split('.').collect();
            match parts.as_slice() {
                ["suppliers", who, key] => format!("{who} {key}"),
                _ => short(&q.name),
            }
        })
        .collect();
    let plot = PairPlot {
        names,
        samples: p.particles().chunks(d).map(<[f64]>::to_vec).collect(),
        weights: p.weights().to_vec(),
        ranges: fit.priors.iter().map(|q| Some(q.prior.support())).collect(),
        reference: Some(fit.before.clone()),
        reference_label: "value before calibration".into(),
        colour: 1,
    };
    let side = (300 * d as u32 + 400).clamp(1280, 3200);
    let meta = PlotMeta::new(titled(&fit.id, "posterior of the calibrated parameters"))
        .subtitle(format!(
            "ABC-SMC, {} weighted particles (effective {:.0}); histograms on the diagonal, \
             correlations above it",
            p.len(),
            p.ess()
        ))
        .caption(caption(fit, None))
        .size(side, side);
    pair_plot(&meta, &plot)
}

/// Observed against simulated, one chart per kind of target.
#[cfg(feature = "plots")]
fn fit_figures(fit: &Fit, dir: &Path, files: &mut Vec<String>) -> Result<(), OutputError> {
    let runs = fit.bands.first().map(|b| b.predictive.n);
    for (kind, stem, what, axis) in [
        (
            TargetKind::Shares,
            "fit_shares",
            "five-year delivery shares",
            Axis::new("share of the window's deliveries").format(Format::Percent),
        ),
        (
            TargetKind::Lumpiness,
            "fit_lumpiness",
            "year-to-year lumpiness of deliveries",
            Axis::new("coefficient of variation of annual deliveries"),
        ),
        (
            TargetKind::Total,
            "fit_totals",
            "total deliveries",
            Axis::new("deliveries over the window, TIV millions").format(Format::Integer),
        ),
    ] {
        let windows: Vec<usize> = fit
            .spec
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == kind)
            .map(|(i, _)| i)
            .collect();
        if windows.is_empty() {
            continue;
        }
        let categories: Vec<String> = windows
            .iter()
            .map(|&t| window_label(fit.spec.targets[t].years))
            .collect();
        let series = fit_series(fit, kind, &windows);
        let chart = ObservedChart {
            categories,
            series,
            x_label: "SIPRI window".into(),
            y: axis,
            observed_label: "observed (SIPRI)".into(),
            across: "single runs at posterior particles".into(),
            reference_label: None,
        };
        let meta = PlotMeta::new(titled(&fit.id, &format!("{what}, observed and simulated")))
            .subtitle(
                "posterior predictive: median, middle 50% and 90% of single runs at particles \
                 drawn from the posterior",
            )
            .caption(caption(fit, runs));
        figure(dir, stem, observed_vs_simulated(&meta, &chart), files)?;
    }
    Ok(())
}

/// A SIPRI window's label: `2016-20`, or `2016` for one year.
#[cfg(feature = "plots")]
fn window_label(y: crate::data::Years) -> String {
    if y.first() == y.last() {
        y.first().to_string()
    } else {
        format!("{}-{:02}", y.first(), y.last().rem_euclid(100))
    }
}

/// One series per supplier (or all suppliers) with a statistic of `kind`:
/// its observed value and posterior predictive band in each window.
#[cfg(feature = "plots")]
fn fit_series(fit: &Fit, kind: TargetKind, windows: &[usize]) -> Vec<ObservedSeries> {
    let mut names: Vec<(Option<usize>, String)> = Vec::new();
    for b in &fit.bands {
        if fit.spec.targets[b.statistic.target].kind == kind
            && !names.iter().any(|(s, _)| *s == b.statistic.supplier)
        {
            let name = match b.statistic.supplier {
                Some(i) => fit.forecast.scenario.suppliers()[i].name().to_string(),
                None => "all suppliers".into(),
            };
            names.push((b.statistic.supplier, name));
        }
    }
    let cell = |t: usize, supplier: Option<usize>| {
        let band = fit
            .bands
            .iter()
            .find(|b| b.statistic.target == t && b.statistic.supplier == supplier);
        ObservedCell {
            simulated: band
                .and_then(|b| b.predictive.percentiles)
                .map(Quantiles::new),
            observed: band.map(|b| b.observed),
            reference: None,
        }
    };
    names
        .iter()
        .enumerate()
        .map(|(n, (supplier, name))| ObservedSeries {
            name: name.clone(),
            colour: supplier.unwrap_or(n),
            cells: windows.iter().map(|&t| cell(t, *supplier)).collect(),
        })
        .collect()
}

/// The plots: the posterior's pairs, observed against simulated, and the
/// forecast's fan charts (with the `plots` feature; a library built without
/// it writes the tables only, and lists only them in the manifest).
#[cfg(feature = "plots")]
fn plots(dir: &Path, fit: &Fit, files: &mut Vec<String>) -> Result<(), OutputError> {
    figure(dir, "pairs", pairs_figure(fit), files)?;
    fit_figures(fit, dir, files)?;
    let f = &fit.forecast;
    let caption = caption(fit, Some(f.summary.runs()));
    for spec in &PLOTS {
        let chart = study_chart(&f.scenario, &f.summary, spec);
        let meta = PlotMeta::new(titled(
            f.scenario.name(),
            &format!("{} across the posterior", spec.title),
        ))
        .subtitle(format!(
            "median, middle 50% and 90% of {} runs at {} particles drawn from the posterior",
            f.runs, f.particles
        ))
        .caption(caption.clone());
        figure(
            dir,
            &format!("forecast_{}", spec.stem),
            fan_chart(&meta, &chart),
            files,
        )?;
    }
    Ok(())
}

fn write_files(dir: &Path, fit: &Fit, command_line: &[String]) -> Result<Vec<String>, OutputError> {
    let mut files: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        files.push(name.to_string());
        dir.join(name)
    };
    population_csv(&add("posterior.csv"), fit, &fit.smc.population)?;
    population_csv(&add("rejection.csv"), fit, &fit.rejection)?;

    write_file(&add("posterior_summary.csv"), |w| {
        posterior_summary_csv(w, fit)
    })?;
    write_file(&add("correlations.csv"), |w| correlations_csv(w, fit))?;
    write_file(&add("generations.csv"), |w| generations_csv(w, fit))?;
    write_file(&add("fit.csv"), |w| fit_csv(w, fit))?;
    let f = &fit.forecast;
    write_file(&add("forecast.csv"), |w| forecast_csv(w, fit))?;
    write_file(&add("forecast_summary.csv"), |w| {
        crate::output::write_summary_csv(w, &f.scenario, &f.summary)
    })?;
    write_file(&add("calibrated.toml"), |w| {
        w.write_all(fit.calibrated_forecast.as_bytes())
    })?;
    if fit.forecast_id != fit.id {
        write_file(&add("calibrated_history.toml"), |w| {
            w.write_all(fit.calibrated_history.as_bytes())
        })?;
    }
    for p in [&fit.rejection, &fit.smc.population] {
        let name = generation_file(p.generation());
        if !files.contains(&name) {
            write_file(&dir.join(&name), |w| w.write_all(&p.encode()))?;
            files.push(name);
        }
    }
    let text = summary_text(fit);
    write_file(&dir.join("summary.txt"), |w| w.write_all(text.as_bytes()))?;
    files.push("summary.txt".into());

    #[cfg(feature = "plots")]
    plots(dir, fit, &mut files)?;

    files.push(crate::files::MANIFEST.to_string());
    let header = crate::manifest::Header::new("calibration", fit.settings.clone(), command_line);
    let body = manifest_body(fit, &files);
    write_file(&dir.join(crate::files::MANIFEST), |w| {
        crate::manifest::write(w, &header, &body)
    })?;
    Ok(files)
}

/// `posterior_summary.csv`: Each parameter's prior, rejection and SMC posteriors, calibrated value and identification.
fn posterior_summary_csv(w: &mut dyn std::io::Write, fit: &Fit) -> std::io::Result<()> {
    let ratios = fit.sd_ratio();
    writeln!(
        w,
        "parameter,prior,prior_lo,prior_hi,prior_mean,prior_sd,fitted_lo,fitted_hi,\
         rejection_mean,rejection_sd,rejection_q05,rejection_q50,rejection_q95,\
         mean,sd,q05,q50,q95,calibrated_value,sd_ratio,identification"
    )?;
    for (k, p) in fit.priors.iter().enumerate() {
        let (lo, hi) = p.prior.support();
        let (flo, fhi) = fit.fitted[k].prior.support();
        let r = &fit.rejection_posterior;
        let q = &fit.posterior;
        writeln!(
            w,
            "{},{},{lo},{hi},{},{},{flo},{fhi},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_escape(&p.name),
            prior_kind(&fit.spec.params[k]),
            p.prior.mean(),
            p.prior.variance().sqrt(),
            r.mean[k],
            r.sd[k],
            r.q05[k],
            r.q50[k],
            r.q95[k],
            q.mean[k],
            q.sd[k],
            q.q05[k],
            q.q50[k],
            q.q95[k],
            fit.calibrated[k],
            ratios[k],
            identification(ratios[k])
        )?;
    }
    Ok(())
}

/// `correlations.csv`: The posterior's correlation matrix.
fn correlations_csv(w: &mut dyn std::io::Write, fit: &Fit) -> std::io::Result<()> {
    let names: Vec<String> = fit.priors.iter().map(|p| csv_escape(&p.name)).collect();
    writeln!(w, "parameter,{}", names.join(","))?;
    for (k, row) in fit.posterior.correlation.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:.4}")).collect();
        writeln!(w, "{},{}", names[k], cells.join(","))?;
    }
    Ok(())
}

/// `generations.csv`: One row per SMC generation: tolerance, simulations, acceptance, ESS.
fn generations_csv(w: &mut dyn std::io::Write, fit: &Fit) -> std::io::Result<()> {
    writeln!(w, "generation,epsilon,simulations,acceptance_rate,ess")?;
    for g in fit.smc.population.history() {
        writeln!(
            w,
            "{},{},{},{},{}",
            g.generation, g.epsilon, g.simulations, g.acceptance_rate, g.ess
        )?;
    }
    Ok(())
}

/// `fit.csv`: Each target statistic against its posterior predictive and calibrated bands.
fn fit_csv(w: &mut dyn std::io::Write, fit: &Fit) -> std::io::Result<()> {
    writeln!(
        w,
        "statistic,observed,scale,predictive_mean,predictive_p05,predictive_p25,\
         predictive_p50,predictive_p75,predictive_p95,calibrated_mean,calibrated_p05,\
         calibrated_p50,calibrated_p95,observed_in_band,calibrated_in_band"
    )?;
    for b in &fit.bands {
        let p = b.predictive.percentiles.unwrap_or([f64::NAN; 5]);
        let c = b.calibrated.percentiles.unwrap_or([f64::NAN; 5]);
        let cm = b.calibrated.mean.unwrap_or(f64::NAN);
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_escape(&b.statistic.outcome),
            b.observed,
            b.scale,
            b.predictive.mean.unwrap_or(f64::NAN),
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            cm,
            c[0],
            c[2],
            c[4],
            b.holds(b.observed),
            b.holds(cm)
        )?;
    }
    Ok(())
}

/// `forecast.csv`: The forecast's outcomes, pooled over particles and at the calibrated values.
fn forecast_csv(w: &mut dyn std::io::Write, fit: &Fit) -> std::io::Result<()> {
    let f = &fit.forecast;
    writeln!(
        w,
        "outcome,n,mean,sd,p05,p25,p50,p75,p95,particle_mean_p05,particle_mean_p50,\
         particle_mean_p95,calibrated_mean,calibrated_p05,calibrated_p50,calibrated_p95"
    )?;
    for (o, text) in f.outcomes.iter().enumerate() {
        let s = &f.pooled[o];
        let p = s.percentiles.unwrap_or([f64::NAN; 5]);
        let m = f.particle_means[o].percentiles.unwrap_or([f64::NAN; 5]);
        let a = &f.at_median[o];
        let ap = a.percentiles.unwrap_or([f64::NAN; 5]);
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_escape(text),
            s.n,
            s.mean.unwrap_or(f64::NAN),
            s.sd.unwrap_or(f64::NAN),
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            m[0],
            m[2],
            m[4],
            a.mean.unwrap_or(f64::NAN),
            ap[0],
            ap[2],
            ap[4]
        )?;
    }
    Ok(())
}

/// The calibration's `manifest.json` after its header: what ran, with
/// which settings, how it went and which files it wrote.
fn manifest_body(fit: &Fit, files: &[String]) -> serde_json::Value {
    let s = &fit.spec.settings;
    serde_json::json!({
        "scenario_id": fit.id,
        "scenario_source": fit.origin,
        "scenario_sha256": fit.hash,
        "data": fit.spec.data.display().to_string(),
        "recipient": fit.spec.recipient,
        "forecast_scenario": fit.forecast.origin,
        "seed": s.seed,
        "settings": {
            "runs_per_simulation": s.runs_per_simulation,
            "pilot_draws": s.pilot_draws,
            "population": s.population,
            "initial_draws": s.initial_draws,
            "alpha": s.alpha,
            "max_generations": s.max_generations,
            "min_acceptance_rate": s.min_acceptance_rate,
            "max_simulations": s.max_simulations,
            "predictive_particles": s.predictive_particles,
            "predictive_runs": s.predictive_runs,
            "forecast_particles": s.forecast_particles,
            "forecast_runs": s.forecast_runs,
        },
        "parameters": fit.priors.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "statistics": fit.statistics.iter().map(|s| &s.outcome).collect::<Vec<_>>(),
        "observed": fit.observed,
        "scales": fit.scales,
        "generations": fit.smc.population.generation() + 1,
        "final_epsilon": fit.smc.population.epsilon(),
        "stop": format!("{:?}", fit.smc.stop),
        "simulations": fit.abc_simulations(),
        "resumed_from_generation": fit.resumed_from,
        "threads": fit.threads,
        "elapsed_seconds": fit.timings.iter().map(|(_, d)| d.as_secs_f64()).sum::<f64>(),
        "stage_seconds": fit
            .timings
            .iter()
            .map(|(stage, d)| (stage.name().to_string(), d.as_secs_f64()))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "files": files,
    })
}

fn prior_kind(p: &ParamSpec) -> String {
    let text = format!("{:?}", p.prior);
    if text.contains("LogUniform") {
        "log_uniform".into()
    } else if text.contains("TruncatedNormal") {
        "normal".into()
    } else {
        "uniform".into()
    }
}

fn stop_words(stop: Stop) -> &'static str {
    match stop {
        Stop::TargetEpsilon => "it reached the target tolerance",
        Stop::MaxGenerations => "it reached the most generations allowed",
        Stop::MinAcceptanceRate => "the acceptance rate fell below the minimum",
        Stop::SimulationBudget => "it used its simulation budget",
        Stop::Stalled => "the tolerance stopped falling",
        Stop::Cancelled => "it was cancelled",
    }
}

/// The calibration in words and tables (`summary.txt`).
pub fn summary_text(fit: &Fit) -> String {
    let mut t = String::new();
    summary_head(&mut t, fit);
    summary_parameters(&mut t, fit);
    summary_fit(&mut t, fit);
    summary_forecast(&mut t, fit);
    t
}

/// The summary's head: data, seed, history matching and the ABC-SMC run.
fn summary_head(t: &mut String, fit: &Fit) {
    let s = &fit.spec.settings;
    let pop = &fit.smc.population;
    let _ = writeln!(t, "Calibration of {} ({})", fit.origin, fit.id);
    let _ = writeln!(
        t,
        "data: {}{}",
        fit.spec.data.display(),
        fit.spec
            .recipient
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        t,
        "seed {}, {} run(s) per simulation, {} worker threads\n",
        s.seed, s.runs_per_simulation, fit.threads
    );
    if let Some(w) = &fit.wave {
        let _ = writeln!(
            t,
            "History matching: {} of {} points kept (implausibility <= {}), {} simulations.",
            w.kept, w.points, w.cutoff, w.simulations
        );
    }
    let _ = writeln!(
        t,
        "ABC-SMC: {} particles, generation 0 keeps the best of {} prior draws (the rejection \
         baseline); {} generations; it stopped because {}; final tolerance {}; {} simulations \
         ({} in all with the pilot{}).",
        s.population,
        s.initial_draws,
        pop.generation() + 1,
        stop_words(fit.smc.stop),
        num(pop.epsilon(), 4),
        fit.smc.total_simulations,
        fit.abc_simulations(),
        if fit.wave.is_some() {
            " and history matching"
        } else {
            ""
        }
    );
    if let Some(g) = fit.resumed_from {
        let _ = writeln!(t, "(resumed from generation {g})");
    }
    let _ = writeln!(
        t,
        "\n{:>10} {:>12} {:>12} {:>12} {:>10}",
        "generation", "tolerance", "simulations", "acceptance", "ESS"
    );
    for g in pop.history() {
        let _ = writeln!(
            t,
            "{:>10} {:>12} {:>12} {:>12} {:>10.0}",
            g.generation,
            num(g.epsilon, 4),
            g.simulations,
            format!("{:.4}", g.acceptance_rate),
            g.ess
        );
    }
}

/// The parameters' prior, rejection and posterior, and strong correlations.
fn summary_parameters(t: &mut String, fit: &Fit) {
    let _ = writeln!(
        t,
        "\nParameters: prior, rejection baseline and posterior (median [5%, 95%]), \
         posterior sd over prior sd"
    );
    let width = fit
        .priors
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let ratios = fit.sd_ratio();
    for (k, p) in fit.priors.iter().enumerate() {
        let (lo, hi) = p.prior.support();
        let r = &fit.rejection_posterior;
        let q = &fit.posterior;
        let _ = writeln!(
            t,
            "{:width$}  {:<12} [{}, {}]  rejection {} [{}, {}]  posterior {} [{}, {}]  sd ratio {:.2}: {} (calibrated value {})",
            p.name,
            prior_kind(&fit.spec.params[k]),
            num(lo, 3),
            num(hi, 3),
            num(r.q50[k], 3),
            num(r.q05[k], 3),
            num(r.q95[k], 3),
            num(q.q50[k], 3),
            num(q.q05[k], 3),
            num(q.q95[k], 3),
            ratios[k],
            identification(ratios[k]),
            num(fit.calibrated[k], 4)
        );
    }
    let mut strong = Vec::new();
    let c = &fit.posterior.correlation;
    for (k, row) in c.iter().enumerate() {
        for (l, r) in row.iter().enumerate().skip(k + 1) {
            if r.abs() >= 0.4 {
                strong.push(format!(
                    "{} ~ {}: {r:+.2}",
                    fit.priors[k].name, fit.priors[l].name
                ));
            }
        }
    }
    let _ = writeln!(
        t,
        "\nPosterior correlations of 0.4 or more: {}",
        if strong.is_empty() {
            "none".to_string()
        } else {
            strong.join("; ")
        }
    );
}

/// Each target statistic against its predictive band.
fn summary_fit(t: &mut String, fit: &Fit) {
    let _ = writeln!(
        t,
        "\nFit: observed, posterior predictive median [5%, 95%] (single runs at resampled \
         particles), and the calibrated scenario's mean"
    );
    let width = fit
        .bands
        .iter()
        .map(|b| b.statistic.outcome.len())
        .max()
        .unwrap_or(9);
    let mut outside = 0;
    for b in &fit.bands {
        let p = b.predictive.percentiles.unwrap_or([f64::NAN; 5]);
        let cm = b.calibrated.mean.unwrap_or(f64::NAN);
        if !b.holds(b.observed) {
            outside += 1;
        }
        let _ = writeln!(
            t,
            "{:width$}  observed {:>6.3}  predictive {:>6.3} [{:.3}, {:.3}]  calibrated {:>6.3}{}",
            b.statistic.outcome,
            b.observed,
            p[2],
            p[0],
            p[4],
            cm,
            if b.holds(b.observed) {
                ""
            } else {
                "  (observed outside the band)"
            }
        );
    }
    let _ = writeln!(
        t,
        "{} of {} observed statistics lie within their 90% predictive band.",
        fit.bands.len() - outside,
        fit.bands.len()
    );
}

/// The forecast's outcomes and the time each stage took.
fn summary_forecast(t: &mut String, fit: &Fit) {
    let f = &fit.forecast;
    let _ = writeln!(
        t,
        "\nForecast: {} ({} particles x {} runs): median [5%, 95%] over particles and runs; \
         5-95% of the particles' means; mean at the calibrated values",
        f.origin, f.particles, f.runs
    );
    let width = f.outcomes.iter().map(String::len).max().unwrap_or(9);
    for (o, text) in f.outcomes.iter().enumerate() {
        let p = f.pooled[o].percentiles.unwrap_or([f64::NAN; 5]);
        let m = f.particle_means[o].percentiles.unwrap_or([f64::NAN; 5]);
        let _ = writeln!(
            t,
            "{:width$}  {:>6.3} [{:.3}, {:.3}]  means {:.3} to {:.3}  calibrated {:.3}",
            text,
            p[2],
            p[0],
            p[4],
            m[0],
            m[4],
            f.at_median[o].mean.unwrap_or(f64::NAN)
        );
    }
    let _ = writeln!(t, "\nTime by stage:");
    for (stage, d) in &fit.timings {
        let _ = writeln!(t, "  {:<28} {:>8.1} s", stage.name(), d.as_secs_f64());
    }
}
