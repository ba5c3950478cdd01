//! Observed versus simulated: per category (a five-year SIPRI window) and
//! series (a supplier), the simulated predictive distribution as a box of
//! its 50% and 90% ranges with the median marked, and the observed value
//! as a diamond on it; a diamond outside the light box is a miss.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::cartesian::{self, Chart, Plane};
use super::frame::{self, Area, DARK, Key, LIGHT, Legend, diamond};
use super::text::{self, size};
use super::{Axis, Figure, Format, GREY, INK, PlotError, PlotMeta, Quantiles, palette, ticks};

/// One category of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservedCell {
    /// The simulated distribution, if simulated.
    pub simulated: Option<Quantiles>,
    /// The observation, if observed.
    pub observed: Option<f64>,
    /// A reference forecast to compare with (a naive baseline), drawn as a
    /// black bar across the box.
    pub reference: Option<f64>,
}

/// One series (a supplier) across the categories.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSeries {
    /// Legend name.
    pub name: String,
    /// Index into the palette.
    pub colour: usize,
    /// One cell per category, in category order.
    pub cells: Vec<ObservedCell>,
}

/// An observed-versus-simulated chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedChart {
    /// Category labels, left to right ("2016-20"); wrapped to fit.
    pub categories: Vec<String>,
    /// The series.
    pub series: Vec<ObservedSeries>,
    /// What the categories are ("five-year window").
    pub x_label: String,
    /// The value axis.
    pub y: Axis,
    /// What the observations are, for the legend ("observed (SIPRI)").
    pub observed_label: String,
    /// What the boxes are quantiles of ("runs").
    pub across: String,
    /// What the reference bars are, for the legend (none without references).
    pub reference_label: Option<String>,
}

/// Draws an observed-versus-simulated chart.
///
/// # Errors
/// [`PlotError::Shape`] if a series has not one cell per category;
/// otherwise as other figures.
pub fn observed_vs_simulated(meta: &PlotMeta, chart: &ObservedChart) -> Result<Figure, PlotError> {
    let n = chart.categories.len();
    if let Some(s) = chart.series.iter().find(|s| s.cells.len() != n) {
        return Err(PlotError::Shape {
            what: "cells of a series (one per category)",
            expected: n,
            found: s.cells.len(),
        });
    }
    let y = value_range(chart);
    let legend = observed_legend(chart);
    let x_axis = Axis::new(chart.x_label.as_str());
    let m = chart.series.len().max(1);
    frame::figure(meta, &legend, |area| {
        let mut plot = cartesian::plane(
            area,
            &Plane {
                x: (0.0, n.max(1) as f64),
                y,
                x_axis: &x_axis,
                y_axis: &chart.y,
                x_ticks: false,
                y_ticks: true,
                y_label_extra: 0,
                y_signed: false,
            },
            &[],
        )?;
        let slots = Slots::new(m);
        draw_separators(&mut plot, n, y)?;
        draw_boxes(&mut plot, chart, &slots, y)?;
        draw_references(&mut plot, chart, &slots, y)?;
        draw_observations(&plot, area, chart, &slots, y)?;
        draw_categories(&plot, area, chart, y)
    })
}

/// The value axis's range: the one given, or one that holds every box,
/// observation and reference (a share's within [0, 1]).
fn value_range(chart: &ObservedChart) -> (f64, f64) {
    let values = chart.series.iter().flat_map(|s| &s.cells).flat_map(|c| {
        let q = c.simulated.filter(Quantiles::is_finite);
        [q.map(|q| q.p05), q.map(|q| q.p95), c.observed, c.reference]
            .into_iter()
            .flatten()
    });
    chart.y.fixed_range().unwrap_or_else(|| {
        let (lo, hi) = ticks::extent(values).unwrap_or((0.0, 1.0));
        if chart.y.format == Format::Percent || (lo >= 0.0 && hi <= 1.0) {
            ticks::unit_range(lo, hi)
        } else {
            ticks::padded(lo.min(0.0), hi, 0.05)
        }
    })
}

/// The legend: the series, then how to read a diamond, a box and a
/// reference bar.
fn observed_legend(chart: &ObservedChart) -> Legend {
    let mut legend = Legend::default();
    for s in &chart.series {
        legend.item(Key::Fan(palette(s.colour)), s.name.as_str());
    }
    legend
        .gap()
        .note(Key::Diamond(GREY), chart.observed_label.as_str())
        .note(Key::Line(GREY, 3), "bar: simulated median")
        .note(
            Key::Patch(GREY, DARK + LIGHT),
            format!("dark box: middle 50% of {}", chart.across),
        )
        .note(
            Key::Patch(GREY, LIGHT),
            format!("light box: middle 90% of {}", chart.across),
        );
    if let Some(label) = &chart.reference_label {
        legend.note(Key::Line(INK, 2), label.as_str());
    }
    legend
}

/// Where the series' boxes sit within a category (one unit wide): side by
/// side in its middle 80%.
struct Slots {
    /// Width of one series' slot.
    slot: f64,
    /// Half a box's width.
    half: f64,
}

impl Slots {
    /// Slots for `m` series.
    fn new(m: usize) -> Slots {
        let slot = 0.8 / m as f64;
        Slots {
            slot,
            half: slot * 0.36,
        }
    }

    /// The x of series `s`'s box in category `c`.
    fn centre(&self, c: usize, s: usize) -> f64 {
        c as f64 + 0.1 + self.slot * (s as f64 + 0.5)
    }
}

/// Separators between the `n` categories.
fn draw_separators(plot: &mut Chart<'_, '_>, n: usize, y: (f64, f64)) -> Result<(), PlotError> {
    plot.draw_series((1..n).map(|c| {
        PathElement::new(
            vec![(c as f64, y.0), (c as f64, y.1)],
            RGBColor(200, 200, 200).stroke_width(1),
        )
    }))?;
    Ok(())
}

/// Each simulated distribution: light and dark boxes (clamped to the
/// axis), then its median bar.
fn draw_boxes(
    plot: &mut Chart<'_, '_>,
    chart: &ObservedChart,
    slots: &Slots,
    y: (f64, f64),
) -> Result<(), PlotError> {
    let half = slots.half;
    let clamp = |v: f64| v.clamp(y.0, y.1);
    for (s, series) in chart.series.iter().enumerate() {
        let colour = palette(series.colour);
        for (c, cell) in series.cells.iter().enumerate() {
            let Some(q) = cell.simulated.filter(Quantiles::is_finite) else {
                continue;
            };
            let x = slots.centre(c, s);
            plot.draw_series([
                Rectangle::new(
                    [(x - half, clamp(q.p05)), (x + half, clamp(q.p95))],
                    colour.mix(LIGHT).filled(),
                ),
                Rectangle::new(
                    [(x - half, clamp(q.p25)), (x + half, clamp(q.p75))],
                    colour.mix(DARK).filled(),
                ),
            ])?;
            plot.draw_series(std::iter::once(PathElement::new(
                vec![(x - half, q.p50), (x + half, q.p50)],
                colour.stroke_width(3),
            )))?;
        }
    }
    Ok(())
}

/// The reference forecasts on the axis, as black bars wider than a box.
fn draw_references(
    plot: &mut Chart<'_, '_>,
    chart: &ObservedChart,
    slots: &Slots,
    y: (f64, f64),
) -> Result<(), PlotError> {
    let half = slots.half;
    for (s, series) in chart.series.iter().enumerate() {
        for (c, cell) in series.cells.iter().enumerate() {
            if let Some(v) = cell
                .reference
                .filter(|v| v.is_finite() && *v >= y.0 && *v <= y.1)
            {
                let x = slots.centre(c, s);
                plot.draw_series(std::iter::once(PathElement::new(
                    vec![(x - 1.4 * half, v), (x + 1.4 * half, v)],
                    INK.stroke_width(2),
                )))?;
            }
        }
    }
    Ok(())
}

/// The observations on the axis, as diamonds in their series' colour.
fn draw_observations(
    plot: &Chart<'_, '_>,
    area: &Area<'_>,
    chart: &ObservedChart,
    slots: &Slots,
    y: (f64, f64),
) -> Result<(), PlotError> {
    let base = area.get_base_pixel();
    for (s, series) in chart.series.iter().enumerate() {
        let colour = palette(series.colour);
        for (c, cell) in series.cells.iter().enumerate() {
            if let Some(v) = cell
                .observed
                .filter(|v| v.is_finite() && *v >= y.0 && *v <= y.1)
            {
                let (px, py) = plot.backend_coord(&(slots.centre(c, s), v));
                diamond(area, (px - base.0, py - base.1), 7, colour)?;
            }
        }
    }
    Ok(())
}

/// Category labels under the axis, wrapped to the category's width.
fn draw_categories(
    plot: &Chart<'_, '_>,
    area: &Area<'_>,
    chart: &ObservedChart,
    y: (f64, f64),
) -> Result<(), PlotError> {
    let n = chart.categories.len();
    let base = area.get_base_pixel();
    let (cw, _) = plot.plotting_area().dim_in_pixel();
    let width = cw as f64 / n.max(1) as f64 - 8.0;
    for (c, label) in chart.categories.iter().enumerate() {
        let (px, py) = plot.backend_coord(&(c as f64 + 0.5, y.0));
        for (i, line) in text::wrap(label, size::TICK, width, 2)
            .into_iter()
            .enumerate()
        {
            let style = text::style(size::TICK, INK, HPos::Center, VPos::Top);
            area.draw(&Text::new(
                line,
                (px - base.0, py - base.1 + 6 + i as i32 * 15),
                style,
            ))?;
        }
    }
    Ok(())
}
