//! Writing an evaluation: `scores.csv` (one row per case, window and
//! supplier group), `cases.csv` (one per case and window), `skill.csv`
//! (per window and baseline), `summary.txt` (the same in words), a picture
//! per case and an overview of skill, and `manifest.json`; all or nothing,
//! through [`crate::files`].

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::evaluate::baseline::Baseline;
use crate::evaluate::case::WindowKind;
use crate::evaluate::zero_years::{self, ZeroYearSummary};
use crate::evaluate::{CaseScore, Evaluation, Mode};
#[cfg(feature = "plots")]
use crate::output::plot::{
    self, Axis, Bar, BarGroup, Caption, Format, ObservedCell, ObservedChart, ObservedSeries,
    PlotMeta, Quantiles, RankedBars, observed_vs_simulated, ranked_bars,
};
use crate::output::{OutputError, write_file};

/// Header of `scores.csv`.
pub const SCORES_HEADER: &str = "case,window,first_year,last_year,supplier,observed_share,\
observed_tiv,model_p05,model_p25,model_median,model_p75,model_p95,model_runs,model_tiv_p05,\
model_tiv_median,model_tiv_p95,persistence,last_year,installed_base,shock_adjusted,abs_error,\
crps,crps_persistence,crps_last_year,crps_installed_base,crps_shock_adjusted,covered_50,covered_90";

/// The settings fingerprint of an evaluation ([`crate::files::SETTINGS_KEY`]):
/// the cases' resolved scenarios, the mode, the timeline, the runs, the
/// leave-one-case-out fit (parameters, settings) and whether pictures are
/// drawn. The output rule ([`crate::files::place`]) replaces a directory only
/// with a result of the same settings.
pub fn evaluation_settings(
    case_hashes: &[(String, String)],
    mode: Mode,
    timeline: crate::evaluate::Timeline,
    runs: u64,
    fit: Option<(&[String], &crate::evaluate::fit::FitSettings)>,
    plots: bool,
) -> String {
    crate::files::settings_fingerprint(&serde_json::json!({
        "kind": "evaluation",
        "cases": case_hashes,
        "mode": mode.name(),
        "timeline": timeline.name(),
        "runs": runs,
        "fit": fit.map(|(paths, s)| serde_json::json!({
            "parameters": paths,
            "seed": s.seed,
            "population": s.population,
            "generations": s.generations,
            "max_simulations": s.max_simulations,
            "runs_per_case": s.runs_per_case,
            "scale": s.scale,
        })),
        "plots": plots,
    }))
}

/// What an evaluation's directory records besides the results.
#[derive(Debug, Clone)]
pub struct EvaluationReport<'a> {
    /// The results.
    pub evaluation: &'a Evaluation,
    /// Each case's scenario file and its resolved scenario's hash.
    pub sources: Vec<(String, String)>,
    /// Threads used.
    pub threads: usize,
    /// Wall time, seconds.
    pub elapsed_seconds: f64,
    /// Whether to draw the pictures.
    pub plots: bool,
    /// The command line.
    pub command_line: &'a [String],
    /// Its settings' fingerprint ([`evaluation_settings`]).
    pub settings: String,
}

fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
    } else {
        String::new()
    }
}

/// Writes `scores.csv`.
///
/// # Errors
/// The writer's.
pub fn write_scores_csv<W: Write>(w: &mut W, e: &Evaluation) -> io::Result<()> {
    writeln!(w, "{SCORES_HEADER}")?;
    for r in &e.rows {
        let crps_base: Vec<String> = r
            .baselines
            .iter()
            .map(|b| number((b - r.observed).abs()))
            .collect();
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.case,
            r.window.name(),
            r.years.first(),
            r.years.last(),
            csv_text(&r.supplier),
            number(r.observed),
            number(r.observed_tiv),
            r.model.map(number).join(","),
            r.model_runs,
            number(r.model_tiv[0]),
            number(r.model_tiv[1]),
            number(r.model_tiv[2]),
            number(r.baselines[0]),
            number(r.baselines[1]),
            number(r.baselines[2]),
            number(r.baselines[3]),
            number(r.abs_error),
            number(r.crps),
            crps_base[0],
            crps_base[1],
            crps_base[2],
            crps_base[3],
            u8::from(r.covered50),
            u8::from(r.covered90),
        )?;
    }
    Ok(())
}

/// A CSV field: quoted if it holds a comma or quote.
fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `cases.csv`: per case and window, mean scores and skill.
///
/// # Errors
/// The writer's.
pub fn write_cases_csv<W: Write>(w: &mut W, e: &Evaluation) -> io::Result<()> {
    writeln!(
        w,
        "case,window,first_year,last_year,volume_tiv,groups,crps,abs_error,crps_persistence,\
         crps_last_year,crps_installed_base,crps_shock_adjusted,skill_persistence,\
         skill_last_year,skill_installed_base,skill_shock_adjusted,covered_50,covered_90"
    )?;
    for s in &e.scores {
        let skills: Vec<String> = s
            .baseline
            .iter()
            .map(|&b| number(crate::evaluate::score::skill(s.crps, b)))
            .collect();
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            s.case,
            s.window.name(),
            s.years.first(),
            s.years.last(),
            number(s.volume),
            s.groups,
            number(s.crps),
            number(s.abs_error),
            number(s.baseline[0]),
            number(s.baseline[1]),
            number(s.baseline[2]),
            number(s.baseline[3]),
            skills[0],
            skills[1],
            skills[2],
            skills[3],
            s.covered.0,
            s.covered.1,
        )?;
    }
    Ok(())
}

/// Writes `skill.csv`.
///
/// # Errors
/// The writer's.
pub fn write_skill_csv<W: Write>(w: &mut W, e: &Evaluation) -> io::Result<()> {
    writeln!(
        w,
        "window,baseline,skill_crps,skill_crps_weighted,skill_abs_error,\
         skill_abs_error_weighted,cases_beaten,cases"
    )?;
    for s in &e.skill {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{}",
            s.window.name(),
            s.baseline.name(),
            number(s.crps),
            number(s.crps_weighted),
            number(s.abs_error),
            number(s.abs_error_weighted),
            s.beaten,
            s.cases
        )?;
    }
    Ok(())
}

/// Writes `zero_years.csv`: the zero-year check's rows
/// ([`crate::evaluate::zero_years`]).
///
/// # Errors
/// The writer's.
pub fn write_zero_years_csv<W: Write>(w: &mut W, e: &Evaluation) -> io::Result<()> {
    writeln!(
        w,
        "case,year,supplier,observed_zero,model_chance_of_zero,before_share_of_zero_years"
    )?;
    for r in &e.zero_years {
        writeln!(
            w,
            "{},{},{},{},{},{}",
            r.case,
            r.year,
            csv_text(&r.supplier),
            u8::from(r.observed_zero),
            number(r.model),
            number(r.before)
        )?;
    }
    Ok(())
}

/// The zero-year check in words (nothing if no row was checked).
fn zero_years_text(e: &Evaluation) -> Option<String> {
    let s = ZeroYearSummary::of(&e.zero_years)?;
    Some(format!(
        "Zero years (is the model as lumpy as the record?): of {} years in which a supplier group \
         active before its shock could deliver (the shock year to +{}), the record shows nothing \
         in {} and the model expected {:.1}. Brier score of the model's chance of nothing {:.4}, \
         of the share of such years before the shock {:.4} (skill {}).",
        s.rows,
        zero_years::LAST_OFFSET,
        s.observed,
        s.expected,
        s.brier,
        s.brier_before,
        signed(s.skill())
    ))
}

fn three(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "  n/a".into()
    }
}

fn signed(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.2}", x)
    } else {
        "n/a".into()
    }
}

/// The evaluation in words: what was scored, skill per window and baseline,
/// where the model wins and where it loses, coverage.
pub fn summary_text(e: &Evaluation) -> String {
    let mut out = String::new();
    intro(&mut out, e);
    skill_table(&mut out, e);
    coverage(&mut out, e);
    per_case(&mut out, e);
    out
}

/// Appends `s` and a newline to `out`.
fn line(out: &mut String, s: &str) {
    out.push_str(s);
    out.push('\n');
}

/// What was evaluated, how, and what the forecasts knew.
fn intro(out: &mut String, e: &Evaluation) {
    let scored_cases = e
        .cases
        .iter()
        .filter(|c| e.scores.iter().any(|s| s.case == c.id))
        .count();
    let how = match e.mode {
        Mode::Defaults => "each at its scenario's own values, nothing refitted",
        Mode::LeaveOneOut => {
            "leave one case out: each forecast from the parameters fitted on the other cases"
        }
    };
    line(
        out,
        &format!(
            "Evaluation of {} cases ({} with an observed window), {how} ({} runs a case).",
            e.cases.len(),
            scored_cases,
            e.runs
        ),
    );
    line(
        out,
        &format!("The forecasts knew the {} of each case.", e.timeline.name()),
    );
    line(out, "");
}

/// The skill against each baseline, by window.
fn skill_table(out: &mut String, e: &Evaluation) {
    line(
        out,
        "Skill = 1 - model score / baseline score (1 perfect, 0 no better than the baseline, \
         below 0 worse); scores are the CRPS of each supplier group's share, averaged over a \
         case's groups, then over cases (weighted alike, or by the window's deliveries).",
    );
    line(out, "");
    line(
        out,
        &format!(
            "{:<8} {:<15} {:>11} {:>11} {:>11} {:>11} {:>8}",
            "window", "baseline", "skill CRPS", "weighted", "skill |err|", "weighted", "beaten"
        ),
    );
    for s in &e.skill {
        line(
            out,
            &format!(
                "{:<8} {:<15} {:>11} {:>11} {:>11} {:>11} {:>8}",
                s.window.name(),
                s.baseline.name(),
                signed(s.crps),
                signed(s.crps_weighted),
                signed(s.abs_error),
                signed(s.abs_error_weighted),
                format!("{}/{}", s.beaten, s.cases)
            ),
        );
    }
    line(out, "");
}

/// How often the observed shares lie in the model's bands, and the zero
/// years.
fn coverage(out: &mut String, e: &Evaluation) {
    let rows = e.rows.len().max(1) as f64;
    let c50 = e.rows.iter().filter(|r| r.covered50).count() as f64 / rows;
    let c90 = e.rows.iter().filter(|r| r.covered90).count() as f64 / rows;
    line(
        out,
        &format!(
            "Coverage: the observed share lies in the model's 50% band for {:.0}% and in its 90% \
             band for {:.0}% of {} case-window-supplier cells (calibrated bands would give 50% \
             and 90%).",
            100.0 * c50,
            100.0 * c90,
            e.rows.len()
        ),
    );
    if let Some(text) = zero_years_text(e) {
        line(out, &text);
    }
    line(out, "");
}

/// Each case and window's scores against both persistence rules, and the
/// windows not scored.
fn per_case(out: &mut String, e: &Evaluation) {
    line(
        out,
        "Per case and window, the CRPS of the model and of persistence and of the shock-adjusted \
         persistence, and the model's skill against each:",
    );
    let skill = crate::evaluate::score::skill;
    for s in &e.scores {
        line(
            out,
            &format!(
                "  {:<18} {:<7} {}-{}  model {}  persistence {} ({:>6})  shock-adjusted {} ({:>6})  {}",
                s.case,
                s.window.name(),
                s.years.first(),
                s.years.last(),
                three(s.crps),
                three(s.baseline[0]),
                signed(skill(s.crps, s.baseline[0])),
                three(s.baseline[3]),
                signed(skill(s.crps, s.baseline[3])),
                verdict(s)
            ),
        );
    }
    for c in &e.cases {
        if !c.unscored.is_empty() {
            let years: Vec<String> = c
                .unscored
                .iter()
                .map(|y| format!("{}-{}", y.first(), y.last()))
                .collect();
            line(
                out,
                &format!(
                    "  {}: not scored in {} (nothing delivered in the record)",
                    c.id,
                    years.join(", ")
                ),
            );
        }
    }
}

/// Whether the model beats both persistence rules, one, or neither.
fn verdict(s: &CaseScore) -> &'static str {
    let beats = |b: f64| s.crps.is_finite() && b.is_finite() && s.crps < b;
    match (beats(s.baseline[0]), beats(s.baseline[3])) {
        (true, true) => "beats both",
        (true, false) => "beats persistence only",
        (false, true) => "beats shock-adjusted only",
        (false, false) => "loses to both",
    }
}

/// Writes an evaluation's directory; returns the files written.
///
/// # Errors
/// [`OutputError`]; `dir` is left as it was on error.
pub fn write_evaluation(
    dir: &Path,
    report: &EvaluationReport<'_>,
) -> Result<Vec<PathBuf>, OutputError> {
    let e = report.evaluation;
    if report.plots && cfg!(not(feature = "plots")) {
        return Err(OutputError::PlotsNotBuilt);
    }
    let files = evaluation_files(e, report.plots);
    crate::files::write_dir_atomically(dir, |tmp| -> Result<(), OutputError> {
        write_file(&tmp.join("scores.csv"), |w| write_scores_csv(w, e))?;
        write_file(&tmp.join("cases.csv"), |w| write_cases_csv(w, e))?;
        write_file(&tmp.join("skill.csv"), |w| write_skill_csv(w, e))?;
        write_file(&tmp.join("zero_years.csv"), |w| write_zero_years_csv(w, e))?;
        write_file(&tmp.join("summary.txt"), |w| {
            w.write_all(summary_text(e).as_bytes())
        })?;
        #[cfg(feature = "plots")]
        if report.plots {
            evaluation_plots(tmp, e)?;
        }
        let header = crate::manifest::Header::new(
            "evaluation",
            report.settings.clone(),
            report.command_line,
        );
        let body = evaluation_manifest(report, &files);
        write_file(&tmp.join(crate::files::MANIFEST), |w| {
            crate::manifest::write(w, &header, &body)
        })
    })?;
    Ok(files.iter().map(|f| dir.join(f)).collect())
}

/// The files an evaluation writes, in order, the manifest last.
fn evaluation_files(e: &Evaluation, plots: bool) -> Vec<String> {
    let mut files: Vec<String> = [
        "scores.csv",
        "cases.csv",
        "skill.csv",
        "zero_years.csv",
        "summary.txt",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if plots {
        for c in &e.cases {
            files.push(format!("case-{}.png", c.id));
            files.push(format!("case-{}.svg", c.id));
        }
        for kind in windows_of(e) {
            files.push(format!("skill{}.png", stem_suffix(kind)));
            files.push(format!("skill{}.svg", stem_suffix(kind)));
        }
    }
    files.push(crate::files::MANIFEST.to_string());
    files
}

/// An evaluation's figures: one per case, one of skill per window kind.
#[cfg(feature = "plots")]
fn evaluation_plots(tmp: &Path, e: &Evaluation) -> Result<(), OutputError> {
    let caption = Caption {
        seed: None,
        runs: Some(e.runs),
        overrides: Vec::new(),
        note: Some(format!(
            "armsim evaluate, {}, {}",
            e.mode.name(),
            e.timeline.name()
        )),
    };
    let fail = |stem: String| {
        move |err: plot::PlotError| OutputError::Plot {
            path: tmp.join(format!("{stem}.png")),
            message: err.to_string(),
        }
    };
    for c in &e.cases {
        let stem = format!("case-{}", c.id);
        case_figure(e, c, &caption)
            .and_then(|f| f.write(tmp, &stem).map(|_| ()))
            .map_err(fail(stem.clone()))?;
    }
    for kind in windows_of(e) {
        let stem = format!("skill{}", stem_suffix(kind));
        skill_figure(e, kind, &caption)
            .and_then(|f| f.write(tmp, &stem).map(|_| ()))
            .map_err(fail(stem.clone()))?;
    }
    Ok(())
}

/// An evaluation's manifest after its header: the settings, each case's
/// source and forecast, the baselines and the files.
fn evaluation_manifest(report: &EvaluationReport<'_>, files: &[String]) -> serde_json::Value {
    let e = report.evaluation;
    let case = |c: &super::CaseInfo, (source, hash): &(String, String)| {
        serde_json::json!({
            "id": c.id,
            "name": c.name,
            "shock": c.shock,
            "kind": c.kind,
            "source": source,
            "sha256": hash,
            "forecast": c.how,
            "fitted_medians": c.fitted.iter().map(|(p, v)| serde_json::json!({"path": p, "median": v})).collect::<Vec<_>>(),
        })
    };
    serde_json::json!({
        "mode": e.mode.name(),
        "timeline": e.timeline.name(),
        "runs_per_case": e.runs,
        "threads": report.threads,
        "elapsed_seconds": report.elapsed_seconds,
        "cases": e.cases.iter().zip(&report.sources).map(|(c, s)| case(c, s)).collect::<Vec<_>>(),
        "baselines": Baseline::ALL.iter().map(|b| serde_json::json!({"name": b.name(), "rule": b.describe()})).collect::<Vec<_>>(),
        "rng": "run k of a case draws from ChaCha8 stream k of the case's seed",
        "files": files,
    })
}

/// The window kinds scored, in order.
fn windows_of(e: &Evaluation) -> Vec<WindowKind> {
    let mut kinds: Vec<WindowKind> = e.scores.iter().map(|s| s.window).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

fn stem_suffix(kind: WindowKind) -> &'static str {
    match kind {
        WindowKind::ShockYear => "-shock-year",
        WindowKind::Early => "-early",
        WindowKind::Late => "-late",
    }
}

/// One case: the five years before (observed), then each window's
/// forecast box, observed diamond and persistence bar.
#[cfg(feature = "plots")]
fn case_figure(
    e: &Evaluation,
    c: &crate::evaluate::CaseInfo,
    caption: &Caption,
) -> Result<plot::Figure, plot::PlotError> {
    let rows: Vec<_> = e.rows.iter().filter(|r| r.case == c.id).collect();
    let mut windows: Vec<(WindowKind, crate::data::Years)> =
        rows.iter().map(|r| (r.window, r.years)).collect();
    windows.sort_by_key(|w| w.0);
    windows.dedup();
    let mut categories = vec![format!(
        "before: {}-{} (observed)",
        c.before.0.first(),
        c.before.0.last()
    )];
    categories.extend(
        windows
            .iter()
            .map(|(k, y)| format!("{} ({}-{})", k.name(), y.first(), y.last())),
    );
    let series = c
        .groups
        .iter()
        .enumerate()
        .map(|(g, name)| ObservedSeries {
            name: name.clone(),
            colour: g,
            cells: std::iter::once(ObservedCell {
                simulated: None,
                observed: Some(c.before.1[g]),
                reference: None,
            })
            .chain(windows.iter().map(|(k, _)| {
                let r = rows
                    .iter()
                    .find(|r| r.window == *k && r.supplier == *name)
                    .expect("a row per group and window");
                ObservedCell {
                    simulated: Some(Quantiles::new(r.model)),
                    observed: Some(r.observed),
                    reference: Some(r.baselines[0]).filter(|v| v.is_finite()),
                }
            }))
            .collect(),
        })
        .collect();
    let chart = ObservedChart {
        categories,
        series,
        x_label: "years after the shock".into(),
        y: Axis::new("share of the window's arms deliveries").format(Format::Percent),
        observed_label: "diamond: observed (SIPRI TIV)".into(),
        across: format!("{} runs", e.runs),
        reference_label: Some("black bar: persistence (the five years before)".into()),
    };
    let meta = PlotMeta::new(format!("{}: forecast against what happened", c.name))
        .subtitle(format!(
            "shock {} ({}); forecast from {}",
            c.shock, c.kind, c.how
        ))
        .caption(caption.clone());
    observed_vs_simulated(&meta, &chart)
}

/// Skill against each baseline per case, for one window kind.
#[cfg(feature = "plots")]
fn skill_figure(
    e: &Evaluation,
    kind: WindowKind,
    caption: &Caption,
) -> Result<plot::Figure, plot::PlotError> {
    let scores: Vec<&CaseScore> = e.scores.iter().filter(|s| s.window == kind).collect();
    let clip = |x: f64| if x.is_finite() { x.max(-2.0) } else { 0.0 };
    let groups = scores
        .iter()
        .map(|s| BarGroup {
            name: s.case.clone(),
            bars: s
                .baseline
                .iter()
                .map(|&b| Bar {
                    value: clip(crate::evaluate::score::skill(s.crps, b)),
                    interval: None,
                })
                .collect(),
        })
        .collect();
    let chart = RankedBars {
        measures: Baseline::ALL
            .iter()
            .map(|b| format!("against {}", b.name().replace('_', " ")))
            .collect(),
        groups,
        rank_by: 0,
        x: Axis::new(
            "skill: 1 - model CRPS / baseline CRPS (right of 0: the model is better; clipped at -2)",
        ),
        interval_label: String::new(),
    };
    let meta = PlotMeta::new(format!(
        "Skill of armsim's forecasts, window {} after the shock",
        kind.name()
    ))
    .subtitle(format!("{} cases, {}", scores.len(), e.mode.name()))
    .caption(caption.clone());
    ranked_bars(&meta, &chart)
}

/// What a joint calibration's directory records.
#[derive(Debug, Clone)]
pub struct JointFitReport<'a> {
    /// The fit.
    pub fit: &'a crate::evaluate::fit::JointFit,
    /// The cases it was fitted on.
    pub cases: &'a [crate::evaluate::case::Case],
    /// Wall time, seconds.
    pub elapsed_seconds: f64,
    /// Threads used.
    pub threads: usize,
    /// The command line.
    pub command_line: &'a [String],
    /// Its settings' fingerprint (the cases, the parameters, the fit's
    /// settings), for the output rule.
    pub settings: String,
}

/// The joint fit in words: each shared parameter's prior range and
/// posterior, and how the calibration went.
pub fn joint_fit_text(report: &JointFitReport<'_>) -> String {
    let fit = report.fit;
    let pop = &fit.population;
    let post = pop.posterior();
    let mut out = format!(
        "Shared parameters fitted on {} cases at once (ABC-SMC: {} particles, generation {}, \
         tolerance {:.3}, {} simulations; stopped: {:?}).\n\n{:<32} {:>15} {:>9} {:>9} {:>20}\n",
        report.cases.len(),
        pop.len(),
        pop.generation(),
        pop.epsilon(),
        pop.total_simulations(),
        fit.stop,
        "parameter",
        "prior",
        "median",
        "sd",
        "90% interval"
    );
    for (k, p) in fit.shared.iter().enumerate() {
        let (lo, hi) = p.prior.support();
        out.push_str(&format!(
            "{:<32} {:>15} {:>9.3} {:>9.3} {:>20}\n",
            p.path,
            format!("[{lo}, {hi}]"),
            post.q50[k],
            post.sd[k],
            format!("[{:.3}, {:.3}]", post.q05[k], post.q95[k])
        ));
    }
    out
}

/// Writes a joint calibration's directory (`posterior.csv`,
/// `posterior_summary.csv`, `summary.txt`, `manifest.json`) and returns its
/// summary text.
///
/// # Errors
/// [`OutputError`]; `dir` is left as it was on error.
pub fn write_joint_fit(dir: &Path, report: &JointFitReport<'_>) -> Result<String, OutputError> {
    let fit = report.fit;
    let pop = &fit.population;
    let post = pop.posterior();
    let text = joint_fit_text(report);
    let files = [
        "posterior.csv",
        "posterior_summary.csv",
        "summary.txt",
        crate::files::MANIFEST,
    ];
    crate::files::write_dir_atomically(dir, |tmp| -> Result<(), OutputError> {
        write_file(&tmp.join("posterior.csv"), |w| {
            let names: Vec<String> = fit.shared.iter().map(|p| csv_text(&p.path)).collect();
            writeln!(w, "particle,weight,distance,{}", names.join(","))?;
            let d = pop.dim();
            for i in 0..pop.len() {
                let values: Vec<String> = pop.particles()[i * d..(i + 1) * d]
                    .iter()
                    .map(|v| v.to_string())
                    .collect();
                writeln!(
                    w,
                    "{i},{},{},{}",
                    pop.weights()[i],
                    pop.distances()[i],
                    values.join(",")
                )?;
            }
            Ok(())
        })?;
        write_file(&tmp.join("posterior_summary.csv"), |w| {
            writeln!(w, "parameter,prior_low,prior_high,mean,sd,q05,median,q95")?;
            for (k, p) in fit.shared.iter().enumerate() {
                let (lo, hi) = p.prior.support();
                writeln!(
                    w,
                    "{},{lo},{hi},{},{},{},{},{}",
                    csv_text(&p.path),
                    post.mean[k],
                    post.sd[k],
                    post.q05[k],
                    post.q50[k],
                    post.q95[k]
                )?;
            }
            Ok(())
        })?;
        write_file(&tmp.join("summary.txt"), |w| w.write_all(text.as_bytes()))?;
        let header = crate::manifest::Header::new(
            "joint calibration",
            report.settings.clone(),
            report.command_line,
        );
        let body = serde_json::json!({
            "threads": report.threads,
            "elapsed_seconds": report.elapsed_seconds,
            "cases": report.cases.iter().map(|c| serde_json::json!({
                "id": c.id(),
                "source": c.path.display().to_string(),
                "sha256": c.loaded.hash,
            })).collect::<Vec<_>>(),
            "files": files,
        });
        write_file(&tmp.join(crate::files::MANIFEST), |w| {
            crate::manifest::write(w, &header, &body)
        })
    })?;
    Ok(text)
}
