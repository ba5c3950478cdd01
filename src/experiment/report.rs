//! What experiments write: a comparison's outcomes, a sweep's points, a
//! sensitivity analysis's indices, as CSV that pandas, polars and R read
//! directly (each writer takes any `Write` and returns its I/O errors); a
//! campaign's plots; and a comparison's whole directory (its placement
//! under the output rule, tables, plots and manifest, all or nothing).

use std::io::{self, Write};

use crate::experiment::compare::PairedMoments;
use crate::experiment::outcome::Outcome;
use crate::experiment::points::PointResult;
use crate::experiment::sweep::{Indices, Plan};
use crate::output::format_number;

fn number(x: Option<f64>) -> String {
    x.map(format_number).unwrap_or_default()
}

/// Header of a comparison's `outcomes.csv`.
pub const COMPARE_HEADER: &str = "outcome,n_a,mean_a,n_b,mean_b,n_pairs,difference,ci_low,ci_high,independent_ci_low,independent_ci_high,level";

/// Writes a comparison's outcome table: per outcome the means in A and B,
/// the mean paired difference B - A with its confidence interval at `level`,
/// and the interval independent runs would have given.
///
/// # Errors
/// Any write error of `out`.
pub fn write_compare_csv(
    out: impl Write,
    outcomes: &[PairedMoments],
    level: f64,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COMPARE_HEADER.split(','))?;
    for m in outcomes {
        let c = m.compare(level);
        let interval = |half: Option<f64>| match (c.difference, half) {
            (Some(d), Some(h)) => (Some(d - h), Some(d + h)),
            _ => (None, None),
        };
        let (lo, hi) = interval(c.paired_half_width);
        let (ilo, ihi) = interval(c.independent_half_width);
        w.write_record([
            m.outcome.to_string(),
            c.n_a.to_string(),
            number(c.a),
            c.n_b.to_string(),
            number(c.b),
            c.n_pairs.to_string(),
            number(c.difference),
            number(lo),
            number(hi),
            number(ilo),
            number(ihi),
            format_number(level),
        ])?;
    }
    w.flush()
}

/// Writes `sweep.csv`: one row per design point and outcome, with the
/// point's parameter values (one column per varied parameter, named by its
/// path) and the outcome's runs, mean, sd and percentiles.
///
/// # Errors
/// Any write error of `out`.
pub fn write_sweep_csv(
    out: impl Write,
    plan: &Plan,
    outcomes: &[Outcome],
    results: &[PointResult],
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["point".to_string()];
    header.extend(plan.vary().iter().map(|v| v.path.clone()));
    header.extend(
        [
            "outcome", "n", "mean", "sd", "p05", "p25", "p50", "p75", "p95",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    for r in results {
        let values = plan.design().point(r.point).unwrap_or_default();
        for (outcome, stats) in outcomes.iter().zip(&r.outcomes) {
            let mut row = vec![r.point.to_string()];
            row.extend(values.iter().map(|&x| format_number(x)));
            row.push(outcome.to_string());
            row.push(stats.n.to_string());
            row.push(number(stats.mean));
            row.push(number(stats.sd));
            match stats.percentiles {
                Some(p) => row.extend(p.iter().map(|&x| format_number(x))),
                None => row.extend(std::iter::repeat_n(String::new(), 5)),
            }
            w.write_record(&row)?;
        }
    }
    w.flush()
}

/// Header of a sensitivity analysis's `indices.csv`.
pub const INDICES_HEADER: &str = "outcome,parameter,index,value,ci_low,ci_high";

/// Writes a sensitivity analysis's indices: per outcome and parameter,
/// Sobol `S1` and `ST`, or Morris `mu_star` (with its interval), `mu` and
/// `sigma`.
///
/// # Errors
/// Any write error of `out`.
pub fn write_indices_csv(
    out: impl Write,
    outcomes: &[Outcome],
    indices: &[Indices],
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(INDICES_HEADER.split(','))?;
    for (outcome, indices) in outcomes.iter().zip(indices) {
        let o = outcome.to_string();
        match indices {
            Indices::Sobol(s) => {
                for p in &s.params {
                    for (name, e) in [("S1", &p.first), ("ST", &p.total)] {
                        w.write_record([
                            o.clone(),
                            p.name.clone(),
                            name.to_string(),
                            format_number(e.value),
                            format_number(e.low),
                            format_number(e.high),
                        ])?;
                    }
                }
            }
            Indices::Morris(m) => {
                for p in &m.params {
                    w.write_record([
                        o.clone(),
                        p.name.clone(),
                        "mu_star".into(),
                        format_number(p.mu_star.value),
                        format_number(p.mu_star.low),
                        format_number(p.mu_star.high),
                    ])?;
                    for (name, x) in [("mu", p.mu), ("sigma", p.sigma)] {
                        w.write_record([
                            o.clone(),
                            p.name.clone(),
                            name.to_string(),
                            format_number(x),
                            String::new(),
                            String::new(),
                        ])?;
                    }
                }
            }
        }
    }
    w.flush()
}

/// An outcome's text split into its family (the outcome with its entity
/// left out: `rolling_share:*@end`) and its entity (`Russia`), so outcomes
/// that differ only in whose they are share a chart.
#[cfg(feature = "plots")]
fn family(outcome: &Outcome) -> (String, String) {
    let text = outcome.to_string();
    if let Some(pair) = text.strip_prefix("first_ahead:") {
        return ("first_ahead".into(), pair.to_string());
    }
    let (what, when) = text.split_once('@').unwrap_or((text.as_str(), ""));
    match what.rsplit_once(':') {
        Some((metric, entity)) => (format!("{metric}@{when}"), entity.to_string()),
        None => (text.clone(), String::new()),
    }
}

/// The plots of a finished campaign, written into `dir`; returns their file
/// names. A sweep of one parameter draws each outcome family (an outcome for
/// every supplier, say) against the parameter with its 90% band; a grid of
/// two parameters draws a heat map of each outcome's mean; other sweeps
/// draw nothing (their table is the result). A sensitivity analysis draws a
/// ranked bar chart of each outcome's indices.
///
/// # Errors
/// [`crate::output::OutputError::Plot`] naming the file that could not be drawn.
#[cfg(feature = "plots")]
pub fn campaign_plots(
    dir: &std::path::Path,
    campaign: &crate::experiment::campaign::Campaign,
    results: &[PointResult],
    indices: &[Result<Indices, String>],
) -> Result<Vec<String>, crate::output::OutputError> {
    use crate::experiment::sweep::Layout;
    let loaded = campaign.loaded();
    let mut figures = Figures {
        dir,
        written: Vec::new(),
        title: loaded.title(),
        caption: crate::output::plot::Caption {
            seed: Some(campaign.spec().seed),
            runs: Some(campaign.total_runs()),
            overrides: loaded.model_overrides().map(|o| o.label.clone()).collect(),
            note: Some(format!(
                "{} points x {} runs, common random numbers",
                crate::output::thousands(campaign.points() as u64),
                crate::output::thousands(campaign.spec().runs)
            )),
        },
    };
    let plan = campaign.plan();
    if !indices.is_empty() {
        indices_plots(&mut figures, campaign, indices)?;
    } else {
        match (plan.layout(), plan.vary().len()) {
            (_, 1) => sweep_plots(&mut figures, campaign, results)?,
            (Layout::Grid, 2) => heat_maps(&mut figures, campaign, results)?,
            _ => {}
        }
    }
    Ok(figures.written)
}

/// Where a campaign's figures go, what they are captioned, and the files
/// written so far.
#[cfg(feature = "plots")]
struct Figures<'a> {
    dir: &'a std::path::Path,
    written: Vec<String>,
    title: String,
    caption: crate::output::plot::Caption,
}

#[cfg(feature = "plots")]
impl Figures<'_> {
    /// Writes `figure` as `stem.png` and `stem.svg`, naming the PNG in any error.
    fn save(
        &mut self,
        figure: Result<crate::output::plot::Figure, crate::output::plot::PlotError>,
        stem: String,
    ) -> Result<(), crate::output::OutputError> {
        let failed = |e: crate::output::plot::PlotError| crate::output::OutputError::Plot {
            path: self.dir.join(format!("{stem}.png")),
            message: e.to_string(),
        };
        figure
            .map_err(failed)?
            .write(self.dir, &stem)
            .map_err(failed)?;
        self.written.push(format!("{stem}.png"));
        self.written.push(format!("{stem}.svg"));
        Ok(())
    }

    fn meta(&self, what: &str) -> crate::output::plot::PlotMeta {
        crate::output::plot::PlotMeta::new(crate::output::plot::titled(&self.title, what))
            .caption(self.caption.clone())
    }
}

/// The axis of an outcome: percent for shares.
#[cfg(feature = "plots")]
fn outcome_axis(o: &Outcome, label: String) -> crate::output::plot::Axis {
    use crate::output::plot::{Axis, Format};
    let format = if o.is_share() {
        Format::Percent
    } else {
        Format::Auto
    };
    Axis::new(label).format(format)
}

/// A sensitivity analysis: a ranked bar chart of each outcome's indices.
#[cfg(feature = "plots")]
fn indices_plots(
    figures: &mut Figures<'_>,
    campaign: &crate::experiment::campaign::Campaign,
    indices: &[Result<Indices, String>],
) -> Result<(), crate::output::OutputError> {
    use crate::output::plot::{Axis, Bar, BarGroup, RankedBars, ranked_bars};
    let vary = campaign.plan().vary();
    for (outcome, result) in campaign.outcomes().iter().zip(indices) {
        let Ok(indices) = result else { continue };
        let stem = format!(
            "indices-{}",
            crate::files::path_component(&outcome.to_string())
        );
        let (measures, groups, rank_by, label, x) = match indices {
            Indices::Sobol(s) => (
                vec!["S1 (first order)".to_string(), "ST (total)".to_string()],
                s.params
                    .iter()
                    .map(|p| BarGroup {
                        name: p.name.clone(),
                        bars: vec![
                            Bar::new(p.first.value, p.first.low, p.first.high),
                            Bar::new(p.total.value, p.total.low, p.total.high),
                        ],
                    })
                    .collect::<Vec<_>>(),
                1,
                "Sobol indices",
                Axis::new("share of the outcome's variance").range(0.0, 1.0),
            ),
            Indices::Morris(m) => (
                vec![
                    "mu* (mean |effect|)".to_string(),
                    "sigma (spread of effects)".to_string(),
                ],
                m.params
                    .iter()
                    .map(|p| BarGroup {
                        name: p.name.clone(),
                        bars: vec![
                            Bar::new(p.mu_star.value, p.mu_star.low, p.mu_star.high),
                            Bar {
                                value: p.sigma,
                                interval: None,
                            },
                        ],
                    })
                    .collect::<Vec<_>>(),
                0,
                "Morris elementary effects",
                Axis::new(format!(
                    "change in {outcome} over each parameter's whole range"
                )),
            ),
        };
        let meta = figures
            .meta(&format!("what drives {outcome}"))
            .subtitle(format!(
                "{label} of {} parameters, ranked; whiskers: {:.0}% bootstrap intervals",
                vary.len(),
                100.0 * campaign.spec().level
            ));
        let chart = RankedBars {
            measures,
            groups,
            rank_by,
            x,
            interval_label: format!("{:.0}% bootstrap interval", 100.0 * campaign.spec().level),
        };
        figures.save(ranked_bars(&meta, &chart), stem)?;
    }
    Ok(())
}

/// The outcomes grouped by family (one chart each), in order of first
/// appearance: each family's name and its outcomes' indices.
#[cfg(feature = "plots")]
fn families(outcomes: &[Outcome]) -> Vec<(String, Vec<usize>)> {
    let mut families: Vec<(String, Vec<usize>)> = Vec::new();
    for (o, outcome) in outcomes.iter().enumerate() {
        let (fam, _) = family(outcome);
        match families.iter_mut().find(|(f, _)| *f == fam) {
            Some((_, members)) => members.push(o),
            None => families.push((fam, vec![o])),
        }
    }
    families
}

/// A sweep of one parameter: each family of outcomes (one per supplier,
/// say) against the parameter, with its bands.
#[cfg(feature = "plots")]
fn sweep_plots(
    figures: &mut Figures<'_>,
    campaign: &crate::experiment::campaign::Campaign,
    results: &[PointResult],
) -> Result<(), crate::output::OutputError> {
    use crate::output::plot::{Axis, Band, Format, Series, SweepChart, sweep_chart};
    let (plan, outcomes) = (campaign.plan(), campaign.outcomes());
    let vary = plan.vary();
    let mut order: Vec<&PointResult> = results.iter().collect();
    let x_of = |r: &PointResult| plan.design().point(r.point).map_or(f64::NAN, |p| p[0]);
    order.sort_by(|a, b| x_of(a).total_cmp(&x_of(b)));
    let level = campaign.spec().level;
    for (fam, members) in families(outcomes) {
        // A yes/no outcome (an embargo ever in force) is 0 or 1 in
        // each run: its median is 0 or 1, so draw its probability
        // (the mean) with the Wilson interval at the campaign's level.
        let probability = outcomes[members[0]].is_probability();
        let series: Vec<Series> = members
            .iter()
            .enumerate()
            .map(|(colour, &o)| {
                let points = order
                    .iter()
                    .filter_map(|r| {
                        let stats = &r.outcomes[o];
                        if probability {
                            let p = stats.mean?;
                            let interval = crate::output::plot::wilson_interval(p, stats.n, level)?;
                            Some(Band::probability(x_of(r), p, interval))
                        } else {
                            stats.percentiles.map(|p| Band::new(x_of(r), p))
                        }
                    })
                    .collect();
                let (_, entity) = family(&outcomes[o]);
                Series::new(
                    if entity.is_empty() {
                        outcomes[o].to_string()
                    } else {
                        entity
                    },
                    colour,
                    points,
                )
            })
            .collect();
        let first = &outcomes[members[0]];
        let mut chart = SweepChart::new(
            series,
            Axis::new(vary[0].path.clone()),
            outcome_axis(first, fam.replace('*', "supplier")),
        );
        let stem = format!(
            "sweep-{}",
            crate::files::path_component(&fam.replace(":*", ""))
        );
        let subtitle = if probability {
            let interval = format!("{:.0}% interval (Wilson)", 100.0 * level);
            let text = format!(
                "probability (share of runs where it holds) at each point, with its {interval}"
            );
            chart.probability = Some(interval);
            chart.y = chart.y.clone().format(Format::Percent);
            text
        } else {
            "median and the middle 50% and 90% of runs at each point".to_string()
        };
        let meta = figures
            .meta(&format!("{fam} against {}", vary[0].path))
            .subtitle(subtitle);
        figures.save(sweep_chart(&meta, &chart), stem)?;
    }
    Ok(())
}

/// A grid of two parameters: a heat map of each outcome's mean.
#[cfg(feature = "plots")]
fn heat_maps(
    figures: &mut Figures<'_>,
    campaign: &crate::experiment::campaign::Campaign,
    results: &[PointResult],
) -> Result<(), crate::output::OutputError> {
    use crate::output::plot::{Axis, HeatMap, heat_map};
    let plan = campaign.plan();
    let vary = plan.vary();
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    for r in results {
        let p = plan.design().point(r.point).unwrap_or(&[]);
        if p.len() == 2 {
            if !xs.contains(&p[0]) {
                xs.push(p[0]);
            }
            if !ys.contains(&p[1]) {
                ys.push(p[1]);
            }
        }
    }
    let base = &campaign.loaded().scenario;
    let highlight = Some((
        base.param(vary[0].target),
        base.param(vary[1].target),
        "the scenario's values".to_string(),
    ));
    for (o, outcome) in campaign.outcomes().iter().enumerate() {
        let mut z = vec![f64::NAN; xs.len() * ys.len()];
        for r in results {
            let p = plan.design().point(r.point).unwrap_or(&[]);
            if let (Some(i), Some(j)) = (
                xs.iter().position(|&x| x == p[0]),
                ys.iter().position(|&y| y == p[1]),
            ) {
                z[j * xs.len() + i] = r.outcomes[o].mean.unwrap_or(f64::NAN);
            }
        }
        let map = HeatMap {
            x: Axis::new(vary[0].path.clone()),
            y: Axis::new(vary[1].path.clone()),
            x_values: xs.clone(),
            y_values: ys.clone(),
            z,
            z_axis: outcome_axis(
                outcome,
                if outcome.is_probability() {
                    format!("probability of {outcome} (share of runs)")
                } else {
                    format!("mean of {outcome}")
                },
            ),
            highlight: highlight.clone(),
        };
        let stem = format!(
            "heatmap-{}",
            crate::files::path_component(&outcome.to_string())
        );
        let meta = figures
            .meta(&format!("{outcome} over two parameters"))
            .subtitle("mean over each point's runs");
        figures.save(heat_map(&meta, &map), stem)?;
    }
    Ok(())
}

/// What a comparison's directory is written from.
pub struct ComparisonReport<'a> {
    /// Scenario A, as loaded.
    pub a: &'a crate::scenario::Loaded,
    /// Scenario B.
    pub b: &'a crate::scenario::Loaded,
    /// The results.
    pub paired: &'a crate::experiment::compare::Paired,
    /// The master seed both drew from.
    pub seed: u64,
    /// Confidence level of the outcome table's intervals.
    pub level: f64,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
    /// Whether to draw the plots.
    pub plots: bool,
    /// The command line, for the manifest.
    pub command_line: &'a [String],
}

/// The settings fingerprint of a comparison ([`crate::files::SETTINGS_KEY`]):
/// both resolved scenarios (runs and seed included), the outcomes, the
/// interval's level and whether it has plots.
pub fn comparison_settings(
    a: &crate::scenario::Loaded,
    b: &crate::scenario::Loaded,
    outcomes: &[Outcome],
    level: f64,
    plots: bool,
) -> String {
    crate::files::settings_fingerprint(&serde_json::json!({
        "kind": "comparison",
        "a": a.hash,
        "b": b.hash,
        "seed": a.scenario.seed(),
        "runs": a.scenario.runs(),
        "outcomes": outcomes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "level": level,
        "plots": plots,
        "catalogue": crate::metrics::fingerprint(),
    }))
}

/// Where a comparison goes under the output rule ([`crate::files::place`]):
/// `out` if given ([`crate::files::claim`]), otherwise
/// `root/compare-A-vs-B`, numbered beside an earlier comparison of other
/// settings. Known before any run, so a refused destination costs none.
///
/// # Errors
/// A refused destination.
pub fn comparison_placement(
    out: Option<&std::path::Path>,
    root: &std::path::Path,
    a: &crate::scenario::Loaded,
    b: &crate::scenario::Loaded,
    outcomes: &[Outcome],
    level: f64,
    plots: bool,
) -> Result<crate::files::Placement, crate::files::FileError> {
    let settings = comparison_settings(a, b, outcomes, level, plots);
    match out {
        Some(dir) => crate::files::claim(dir, &settings),
        None => {
            let stem =
                crate::files::path_component(&format!("compare-{}-vs-{}", a.slug(), b.slug()));
            crate::files::place(root, &stem, "", &settings)
        }
    }
}

/// The files of a comparison directory (plots included when drawn).
#[cfg_attr(not(feature = "plots"), allow(unused_variables))]
fn comparison_files(plots: bool) -> Vec<String> {
    let mut files: Vec<String> = [
        "outcomes.csv",
        "difference.csv",
        "summary_a.csv",
        "summary_b.csv",
    ]
    .map(String::from)
    .to_vec();
    #[cfg(feature = "plots")]
    if plots {
        for spec in &crate::output::plot::PLOTS {
            for suffix in ["", "_difference"] {
                files.push(format!("{}{suffix}.png", spec.stem));
                files.push(format!("{}{suffix}.svg", spec.stem));
            }
        }
    }
    files.push(crate::files::MANIFEST.into());
    files
}

/// Writes a comparison into `dir`, all or nothing: `outcomes.csv` (the
/// outcomes in A and B and their paired difference with its interval, and
/// the interval independent runs would give), `difference.csv` (B - A over
/// time, per supplier and metric, in `summary.csv`'s format), the two
/// scenarios' summaries, the plots (B's fan charts over A's in grey, and
/// the difference) and `manifest.json`. Returns the files written.
///
/// # Errors
/// [`crate::output::OutputError`] if anything cannot be written or the destination
/// holds what armsim did not write.
pub fn write_comparison(
    dir: &std::path::Path,
    report: &ComparisonReport<'_>,
) -> Result<Vec<std::path::PathBuf>, crate::output::OutputError> {
    if report.plots && cfg!(not(feature = "plots")) {
        return Err(crate::output::OutputError::PlotsNotBuilt);
    }
    let (a, b) = (&report.a.scenario, &report.b.scenario);
    let files = comparison_files(report.plots);
    crate::files::write_dir_atomically(dir, |tmp| -> Result<(), crate::output::OutputError> {
        crate::output::write_file(&tmp.join("outcomes.csv"), |w| {
            write_compare_csv(w, &report.paired.outcomes, report.level)
        })?;
        crate::output::write_file(&tmp.join("difference.csv"), |w| {
            crate::output::write_summary_csv(w, b, &report.paired.difference)
        })?;
        crate::output::write_file(&tmp.join("summary_a.csv"), |w| {
            crate::output::write_summary_csv(w, a, &report.paired.a)
        })?;
        crate::output::write_file(&tmp.join("summary_b.csv"), |w| {
            crate::output::write_summary_csv(w, b, &report.paired.b)
        })?;
        #[cfg(feature = "plots")]
        if report.plots {
            comparison_plots(tmp, report)?;
        }
        let (header, body) = comparison_manifest(report, &files);
        crate::output::write_file(&tmp.join(crate::files::MANIFEST), |w| {
            crate::manifest::write(w, &header, &body)
        })
    })?;
    Ok(files.iter().map(|f| dir.join(f)).collect())
}

/// A comparison's plots: for each study plot, B against A and the paired
/// difference B - A.
#[cfg(feature = "plots")]
fn comparison_plots(
    tmp: &std::path::Path,
    report: &ComparisonReport<'_>,
) -> Result<(), crate::output::OutputError> {
    use crate::output::plot::{self, Caption, PlotMeta, difference_chart, fan_chart, titled};
    let (a, b) = (&report.a.scenario, &report.b.scenario);
    let caption = Caption {
        seed: Some(report.seed),
        runs: Some(report.paired.runs),
        overrides: report
            .b
            .model_overrides()
            .map(|o| o.label.clone())
            .collect(),
        note: Some("common random numbers: run k of A and of B share stream k".into()),
    };
    let (title_a, title_b) = (report.a.title(), report.b.title());
    let runs = crate::output::thousands(report.paired.runs);
    let fail = |stem: String| {
        move |e: plot::PlotError| crate::output::OutputError::Plot {
            path: tmp.join(format!("{stem}.png")),
            message: e.to_string(),
        }
    };
    for spec in &plot::PLOTS {
        let mut chart = plot::study::study_chart(b, &report.paired.b, spec);
        chart.reference = plot::study::study_chart(a, &report.paired.a, spec).series;
        chart.reference_label = format!("A: {title_a}");
        let meta = PlotMeta::new(titled(&title_b, &format!("{} against A", spec.title)))
            .subtitle(format!(
                "B in colour, A in grey with its medians dashed: medians with the middle 50% and 90% of {runs} runs each"
            ))
            .caption(caption.clone());
        fan_chart(&meta, &chart)
            .and_then(|f| f.write(tmp, spec.stem))
            .map_err(fail(spec.stem.to_string()))?;
        let mut diff = plot::study::study_chart(b, &report.paired.difference, spec);
        diff.y = plot::Axis::new(format!("B - A: {}", spec.y_label)).format(diff.y.format);
        let meta = PlotMeta::new(titled(&title_b, &format!("{} minus A", spec.title)))
            .subtitle(format!(
                "paired difference B - A, run by run: median with the middle 50% and 90% of {runs} pairs"
            ))
            .caption(caption.clone());
        let stem = format!("{}_difference", spec.stem);
        difference_chart(&meta, &diff)
            .and_then(|f| f.write(tmp, &stem))
            .map_err(fail(stem.clone()))?;
    }
    Ok(())
}

/// A comparison's manifest: its header and body.
fn comparison_manifest<'r>(
    report: &'r ComparisonReport<'_>,
    files: &[String],
) -> (crate::manifest::Header<'r>, serde_json::Value) {
    let outcomes: Vec<Outcome> = report
        .paired
        .outcomes
        .iter()
        .map(|o| o.outcome.clone())
        .collect();
    let header = crate::manifest::Header::new(
        "comparison",
        comparison_settings(report.a, report.b, &outcomes, report.level, report.plots),
        report.command_line,
    );
    let scenario = |loaded: &crate::scenario::Loaded| {
        serde_json::json!({
            "title": loaded.title(),
            "scenario_id": loaded.scenario.id(),
            "source": loaded.origin,
            "model": loaded.scenario.model().name(),
            "sha256": loaded.hash,
            "resolved_scenario_toml": loaded.resolved_toml,
        })
    };
    let body = serde_json::json!({
        "catalogue": crate::metrics::fingerprint(),
        "a": scenario(report.a),
        "b": scenario(report.b),
        "seed": report.seed,
        "runs": report.paired.runs,
        "level": report.level,
        "threads": report.threads,
        "elapsed_seconds": report.elapsed_seconds,
        "outcomes": outcomes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "rng": "ChaCha8 (rand_chacha 0.9) seeded with seed_from_u64(seed), stream = run index; \
                run k of A and run k of B use the same stream (common random numbers)",
        "files": files,
    });
    (header, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::compare::Comparison;
    use crate::experiment::points::PointRunner;
    use crate::experiment::sweep::{Layout, Vary};
    use crate::scenario::load_baseline;

    #[test]
    fn tables_have_one_row_per_point_and_outcome_and_parse_back() {
        let s = load_baseline(&["run.quarters=8".into()]).unwrap().scenario;
        let plan = Plan::new(
            &s,
            vec![Vary::parse("buyer.support_weight=0:2:3", &s).unwrap()],
            Layout::Grid,
            1,
        )
        .unwrap();
        let outcomes = vec![
            Outcome::parse("rolling_share:Russia@end", &s).unwrap(),
            Outcome::parse("first_ahead:Russia>China", &s).unwrap(),
        ];
        let build = plan.builder();
        let results = PointRunner::new(3, &build, outcomes.clone(), 30, 1)
            .run()
            .unwrap()
            .results;
        let mut out = Vec::new();
        write_sweep_csv(&mut out, &plan, &outcomes, &results).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "point",
                "buyer.support_weight",
                "outcome",
                "n",
                "mean",
                "sd",
                "p05",
                "p25",
                "p50",
                "p75",
                "p95"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 6);
        assert_eq!(&rows[4][1], "2");

        let b = load_baseline(&["run.quarters=8".into(), "suppliers.Russia.support=0".into()])
            .unwrap()
            .scenario;
        let mut a = s.clone();
        a.set_runs(50).unwrap();
        let paired = Comparison::new(&a, &b)
            .unwrap()
            .threads(1)
            .run()
            .unwrap()
            .paired;
        let mut out = Vec::new();
        write_compare_csv(&mut out, &paired.outcomes, 0.9).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(COMPARE_HEADER));
        assert_eq!(text.lines().count(), 1 + paired.outcomes.len());
    }
}
