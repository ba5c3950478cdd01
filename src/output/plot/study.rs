//! The plots every study draws: for each supplier metric of [`PLOTS`], a fan
//! chart of every supplier over the scenario's quarters, with the
//! scenario's events marked. This is the only part of the toolkit that
//! reads a `Summary`; it turns one into [`Series`] and hands them to
//! [`fan_chart`].

use std::path::{Path, PathBuf};

use super::{Axis, Band, Caption, FanChart, Format, Marker, PlotMeta, Series, fan_chart, titled};
use crate::metrics::{Entity, MetricId};
use crate::model::Scenario;
use crate::output::{OutputError, thousands};
use crate::summary::Summary;

/// One study plot: which supplier metric it shows and how it is labelled.
#[derive(Debug, Clone, Copy)]
pub struct PlotSpec {
    /// File stem (`shares` gives `shares.png` and `shares.svg`).
    pub stem: &'static str,
    /// The supplier metric plotted.
    pub metric: MetricId,
    /// Title, after the scenario's name.
    pub title: &'static str,
    /// Y axis label, with its unit.
    pub y_label: &'static str,
    /// Whether the axis is in percent.
    pub percent: bool,
}

/// The plots every study draws.
pub const PLOTS: [PlotSpec; 3] = [
    PlotSpec {
        stem: "shares",
        metric: MetricId::RollingShare,
        title: "five-year rolling share of arms imports",
        y_label: "share of imports over the last 20 quarters",
        percent: true,
    },
    PlotSpec {
        stem: "support",
        metric: MetricId::Support,
        title: "suppliers' support for the regime",
        y_label: "stance: 0 = condemns, 1 = unconditional support",
        percent: false,
    },
    PlotSpec {
        stem: "influence",
        metric: MetricId::Influence,
        title: "influence (installed share × support)",
        y_label: "influence: installed share × support, 0-1",
        percent: false,
    },
];

/// The caption of a study's plots: seed, runs, version and `overrides`.
pub fn study_caption(scenario: &Scenario, summary: &Summary, overrides: &[String]) -> Caption {
    Caption {
        seed: Some(scenario.seed()),
        runs: Some(summary.runs()),
        overrides: overrides.to_vec(),
        note: None,
    }
}

/// Draws every plot of [`PLOTS`] into `dir` as `.png` and `.svg`, with a
/// caption naming the seed and runs but no overrides; see [`draw_study`].
///
/// # Errors
/// [`OutputError::Plot`] naming the file that could not be drawn.
pub fn draw_all(dir: &Path, scenario: &Scenario, summary: &Summary) -> Result<(), OutputError> {
    draw_study(
        dir,
        scenario,
        scenario.name(),
        summary,
        &study_caption(scenario, summary, &[]),
    )
    .map(|_| ())
}

/// Draws every plot of [`PLOTS`] into `dir` as `.png` and `.svg`, titled
/// `title` (the study's display name, which names its overrides) with
/// `caption`; returns the files written.
///
/// # Errors
/// [`OutputError::Plot`] naming the file that could not be drawn.
pub fn draw_study(
    dir: &Path,
    scenario: &Scenario,
    title: &str,
    summary: &Summary,
    caption: &Caption,
) -> Result<Vec<PathBuf>, OutputError> {
    let mut files = Vec::new();
    for spec in &PLOTS {
        let meta = PlotMeta::new(titled(title, &capitalised(spec.title)))
            .subtitle(format!(
                "each supplier's median with the middle 50% and 90% of {} Monte Carlo runs",
                thousands(summary.runs())
            ))
            .caption(caption.clone());
        let chart = study_chart(scenario, summary, spec);
        let fail = |message: String| OutputError::Plot {
            path: dir.join(format!("{}.png", spec.stem)),
            message,
        };
        let figure = fan_chart(&meta, &chart).map_err(|e| fail(e.to_string()))?;
        match figure.write(dir, spec.stem) {
            Ok(paths) => files.extend(paths),
            Err(super::PlotError::Io { path, source }) => {
                return Err(OutputError::Plot {
                    path,
                    message: source.to_string(),
                });
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    Ok(files)
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Decimal year of quarter `t`'s start: 2021Q1 is 2021.0, 2021Q3 is 2021.5.
fn decimal_year(scenario: &Scenario, t: u32) -> f64 {
    scenario.label(t).decimal_year()
}

/// The fan chart of `spec`'s metric for every supplier, with the
/// scenario's events as markers (their notes, or the quarter, as labels).
pub fn study_chart(scenario: &Scenario, summary: &Summary, spec: &PlotSpec) -> FanChart {
    let series = scenario
        .suppliers
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let metric = summary.metric(Entity::Supplier(i), spec.metric)?;
            let points = (0..summary.quarters())
                .filter_map(|q| {
                    let stat = summary.stat(q, &metric)?;
                    Some(Band::new(
                        decimal_year(scenario, q as u32),
                        stat.percentiles,
                    ))
                })
                .collect();
            Some(Series::new(s.name().to_string(), i, points))
        })
        .collect();
    let markers = scenario
        .events
        .iter()
        .map(|e| {
            let label = if e.note.trim().is_empty() {
                scenario.label(e.quarter).to_string()
            } else {
                e.note.clone()
            };
            Marker::new(decimal_year(scenario, e.quarter), label)
        })
        .collect();
    let y = Axis::new(spec.y_label).format(if spec.percent {
        Format::Percent
    } else {
        Format::Auto
    });
    let mut chart = FanChart::new(series, y);
    chart.markers = markers;
    let x_end = decimal_year(scenario, scenario.quarters().saturating_sub(1))
        .max(decimal_year(scenario, 0) + 0.25);
    chart.x = chart.x.range(decimal_year(scenario, 0), x_end);
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Kind;

    /// Study and comparison plots draw medians in bands, which say nothing
    /// for a yes/no metric (its median is 0 or 1): such a metric is drawn
    /// as a probability with its interval (`Band::probability`, as sweeps
    /// draw yes/no outcomes), never added here as a fan.
    #[test]
    fn study_plots_draw_no_yes_no_metric_as_a_fan() {
        for spec in &PLOTS {
            assert_ne!(spec.metric.kind(), Kind::Event, "{}", spec.stem);
        }
    }
}
