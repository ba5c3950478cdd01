//! Ranked horizontal bar charts with interval whiskers: sensitivity indices
//! per parameter (Sobol S1 and ST side by side, or Morris mu* and sigma),
//! most important at the top.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::cartesian::{self, Chart, Plane};
use super::frame::{self, Area, Key, Legend};
use super::text::{self, size};
use super::{Axis, Figure, INK, PlotError, PlotMeta, palette, ticks};

/// One bar: a value and an optional interval (a confidence interval).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// The estimate.
    pub value: f64,
    /// `(low, high)` drawn as a whisker.
    pub interval: Option<(f64, f64)>,
}

impl Bar {
    /// A bar with an interval.
    pub fn new(value: f64, low: f64, high: f64) -> Bar {
        Bar {
            value,
            interval: Some((low, high)),
        }
    }
}

/// One parameter's bars, one per measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// The parameter's name (ellipsised to fit).
    pub name: String,
    /// `bars[k]` measures `measures[k]` of [`RankedBars`].
    pub bars: Vec<Bar>,
}

/// A ranked bar chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedBars {
    /// Measure names, in bar order within a group ("S1 (first order)", "ST (total)").
    pub measures: Vec<String>,
    /// The parameters.
    pub groups: Vec<BarGroup>,
    /// Which measure ranks the groups (largest at the top).
    pub rank_by: usize,
    /// The value axis.
    pub x: Axis,
    /// What the whiskers are, for the legend ("95% bootstrap interval").
    pub interval_label: String,
}

/// Draws a ranked bar chart.
///
/// # Errors
/// [`PlotError::Shape`] if a group has not one bar per measure; otherwise
/// as other figures.
pub fn ranked_bars(meta: &PlotMeta, chart: &RankedBars) -> Result<Figure, PlotError> {
    let m = chart.measures.len();
    if let Some(g) = chart.groups.iter().find(|g| g.bars.len() != m) {
        return Err(PlotError::Shape {
            what: "bars of a parameter (one per measure)",
            expected: m,
            found: g.bars.len(),
        });
    }
    let rank_by = chart.rank_by.min(m.saturating_sub(1));
    let ranked = rank(chart, rank_by);
    let n = ranked.len().max(1);
    let x = value_range(chart);
    let legend = bars_legend(chart, rank_by);
    let (names, widest) = parameter_names(meta, &ranked);
    let y_axis = Axis::new("");
    frame::figure(meta, &legend, |area| {
        let mut plot = cartesian::plane(
            area,
            &Plane {
                x,
                y: (0.0, n as f64),
                x_axis: &chart.x,
                y_axis: &y_axis,
                x_ticks: true,
                y_ticks: false,
                y_label_extra: widest.ceil() as i32 + 4,
                y_signed: false,
            },
            &[],
        )?;
        let slot = 0.8 / m.max(1) as f64;
        let thickness = slot * 0.85;
        for (rank, group) in ranked.iter().enumerate() {
            let top = n as f64 - rank as f64 - 0.1;
            draw_group(&mut plot, group, top, (slot, thickness))?;
        }
        if x.0 < 0.0 {
            plot.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (0.0, n as f64)],
                INK.stroke_width(1),
            )))?;
        }
        draw_names(&plot, area, names, (n, x.0))
    })
}

/// The groups, largest `rank_by` measure first (non-finite ones last).
fn rank(chart: &RankedBars, rank_by: usize) -> Vec<&BarGroup> {
    let key = |g: &BarGroup| {
        g.bars
            .get(rank_by)
            .map(|b| b.value)
            .filter(|v| v.is_finite())
            .unwrap_or(f64::NEG_INFINITY)
    };
    let mut ranked: Vec<&BarGroup> = chart.groups.iter().collect();
    // Stable: ties keep the caller's order.
    ranked.sort_by(|a, b| key(b).total_cmp(&key(a)));
    ranked
}

/// The value axis's range: the one given, or one from zero that holds
/// every bar and whisker, with a little room at the ends.
fn value_range(chart: &RankedBars) -> (f64, f64) {
    let values = chart.groups.iter().flat_map(|g| {
        g.bars.iter().flat_map(|b| {
            let (lo, hi) = b.interval.unwrap_or((b.value, b.value));
            [b.value, lo, hi]
        })
    });
    chart.x.fixed_range().unwrap_or_else(|| {
        let (lo, hi) = ticks::extent(values).unwrap_or((0.0, 1.0));
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let span = (hi - lo).max(1e-12);
        (
            if lo < 0.0 { lo - span * 0.04 } else { 0.0 },
            hi + span * 0.04,
        )
    })
}

/// The legend: the measures, what the whiskers are (if any are drawn),
/// and which measure ranks the parameters.
fn bars_legend(chart: &RankedBars, rank_by: usize) -> Legend {
    let mut legend = Legend::default();
    for (k, name) in chart.measures.iter().enumerate() {
        legend.item(Key::Patch(palette(k), 0.85), name.as_str());
    }
    legend.gap();
    if chart
        .groups
        .iter()
        .flat_map(|g| &g.bars)
        .any(|b| b.interval.is_some())
    {
        legend.note(
            Key::Whisker(INK),
            format!("whiskers: {}", chart.interval_label),
        );
    }
    if let Some(measure) = chart.measures.get(rank_by) {
        legend.note(Key::None, format!("ranked by {measure}, largest first"));
    }
    legend
}

/// The parameters' names in rank order, ellipsised to a share of the
/// canvas, and the widest one's width in pixels.
fn parameter_names(meta: &PlotMeta, ranked: &[&BarGroup]) -> (Vec<String>, f64) {
    let name_width = (meta.width as f64 * 0.22).clamp(100.0, 280.0);
    let names: Vec<String> = ranked
        .iter()
        .map(|g| text::ellipsize(&g.name, size::TICK, name_width))
        .collect();
    let widest = names
        .iter()
        .map(|s| text::width(s, size::TICK))
        .fold(0.0, f64::max);
    (names, widest)
}

/// One parameter's bars, one per measure, down from `top`, each `slot`
/// apart and `thickness` thick, with their whiskers.
fn draw_group(
    plot: &mut Chart<'_, '_>,
    group: &BarGroup,
    top: f64,
    (slot, thickness): (f64, f64),
) -> Result<(), PlotError> {
    for (k, bar) in group.bars.iter().enumerate() {
        let y1 = top - k as f64 * slot;
        let y0 = y1 - thickness;
        let colour = palette(k);
        if bar.value.is_finite() {
            plot.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y0), (bar.value, y1)],
                colour.mix(0.85).filled(),
            )))?;
        }
        if let Some((lo, hi)) = bar.interval.filter(|(a, b)| a.is_finite() && b.is_finite()) {
            let mid = (y0 + y1) / 2.0;
            let cap = thickness * 0.3;
            plot.draw_series([
                PathElement::new(vec![(lo, mid), (hi, mid)], INK.stroke_width(1)),
                PathElement::new(vec![(lo, mid - cap), (lo, mid + cap)], INK.stroke_width(1)),
                PathElement::new(vec![(hi, mid - cap), (hi, mid + cap)], INK.stroke_width(1)),
            ])?;
        }
    }
    Ok(())
}

/// Parameter names, right-aligned against the plot's left edge, each
/// centred on its group's row (`n` rows; `x0` is the axis's left end).
fn draw_names(
    plot: &Chart<'_, '_>,
    area: &Area<'_>,
    names: Vec<String>,
    (n, x0): (usize, f64),
) -> Result<(), PlotError> {
    let base = area.get_base_pixel();
    let left = plot.plotting_area().get_pixel_range().0.start - base.0;
    for (rank, name) in names.into_iter().enumerate() {
        let centre = n as f64 - rank as f64 - 0.5;
        let (_, py) = plot.backend_coord(&(x0, centre));
        let style = text::style(size::TICK, INK, HPos::Right, VPos::Center);
        area.draw(&Text::new(name, (left - 8, py - base.1), style))?;
    }
    Ok(())
}
