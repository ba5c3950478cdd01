//! Fan charts: named series over time, each a median line in its 50% and
//! 90% bands, with dated event markers and an optional greyed reference
//! (a baseline behind a counterfactual); and difference charts, the same
//! for B - A with a zero line.
//!
//! Every band of every series is drawn before any median line, so no
//! median disappears under another series' band.

use plotters::prelude::*;

use super::cartesian::{self, Chart, Plane};
use super::frame::{self, DARK, Key, LIGHT, Legend};
use super::{
    Axis, Band, Figure, Format, GREY, INK, Marker, PlotError, PlotMeta, Series, palette, ticks,
};

/// A fan chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct FanChart {
    /// The series, drawn in colour.
    pub series: Vec<Series>,
    /// Reference series drawn behind the others: their bands in grey, their
    /// medians dashed in their own colour (a supplier's baseline in the
    /// supplier's colour, so crossing baselines can be told apart); empty
    /// for none.
    pub reference: Vec<Series>,
    /// What the reference is, for the legend ("baseline").
    pub reference_label: String,
    /// Event markers (decimal years).
    pub markers: Vec<Marker>,
    /// The x axis ([`Format::Year`] for decimal years).
    pub x: Axis,
    /// The y axis.
    pub y: Axis,
    /// What the bands are quantiles of, for the legend ("runs").
    pub across: String,
    /// For a yes/no metric, what its one band is ("90% interval"): each
    /// [`Band`] is then a [`Band::probability`], drawn as the probability's
    /// line in its interval. `None`: medians in 50% and 90% bands.
    pub probability: Option<String>,
}

impl FanChart {
    /// A chart of `series` over decimal years with y axis `y`, no markers
    /// and no reference.
    pub fn new(series: Vec<Series>, y: Axis) -> FanChart {
        FanChart {
            series,
            reference: Vec::new(),
            reference_label: "reference".into(),
            markers: Vec::new(),
            x: Axis::new("year").format(Format::Year),
            y,
            across: "runs".into(),
            probability: None,
        }
    }
}

/// Draws a fan chart.
///
/// # Errors
/// [`PlotError`] if the canvas is too small or drawing fails.
pub fn fan_chart(meta: &PlotMeta, chart: &FanChart) -> Result<Figure, PlotError> {
    draw(meta, chart, false)
}

/// Draws a difference chart (series are B - A differences): a fan chart
/// with a zero line and a y range symmetric about zero when the data go
/// both ways.
///
/// # Errors
/// [`PlotError`] if the canvas is too small or drawing fails.
pub fn difference_chart(meta: &PlotMeta, chart: &FanChart) -> Result<Figure, PlotError> {
    draw(meta, chart, true)
}

fn finite(points: &[Band]) -> impl Iterator<Item = &Band> + Clone {
    points.iter().filter(|b| b.x.is_finite() && b.q.is_finite())
}

fn all_points(chart: &FanChart) -> impl Iterator<Item = &Band> + Clone {
    chart
        .series
        .iter()
        .chain(&chart.reference)
        .flat_map(|s| finite(&s.points))
}

fn x_range(chart: &FanChart) -> (f64, f64) {
    if let Some(r) = chart.x.fixed_range() {
        return r;
    }
    match ticks::extent(all_points(chart).map(|b| b.x)) {
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((lo, _)) => (lo - 0.5, lo + 0.5),
        None => (0.0, 1.0),
    }
}

fn y_range(chart: &FanChart, difference: bool) -> (f64, f64) {
    if let Some(r) = chart.y.fixed_range() {
        return r;
    }
    let ext = ticks::extent(all_points(chart).flat_map(|b| [b.q.p05, b.q.p95]));
    let (lo, hi) = ext.unwrap_or((0.0, 1.0));
    if difference {
        return symmetric(lo, hi);
    }
    if chart.y.format == Format::Percent || (lo >= 0.0 && hi <= 1.0) {
        ticks::unit_range(lo, hi)
    } else {
        ticks::padded(lo.min(0.0), hi, 0.05)
    }
}

/// A y range for differences: always shows zero; symmetric about it when
/// the smaller side is at least a third of the larger, so gains and losses
/// read at the same scale; otherwise the data with some room past zero.
fn symmetric(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let big = lo.abs().max(hi.abs());
    if big == 0.0 {
        return (-1.0, 1.0);
    }
    let small = lo.abs().min(hi.abs());
    if small >= big / 3.0 {
        ticks::padded(-big, big, 0.05)
    } else {
        let room = big * 0.1;
        ticks::padded(lo.min(-room), hi.max(room), 0.05)
    }
}

fn legend(chart: &FanChart, difference: bool) -> Legend {
    let mut legend = Legend::default();
    for s in &chart.series {
        legend.item(Key::Fan(palette(s.colour)), s.name.as_str());
    }
    if !chart.reference.is_empty() {
        legend.gap().item(
            Key::Fan(GREY),
            format!("grey, dashed: {}", chart.reference_label),
        );
        for s in &chart.reference {
            legend.item(Key::Dashed(palette(s.colour)), s.name.as_str());
        }
    }
    legend.bands_or_probability(&chart.across, chart.probability.as_deref());
    if difference {
        legend.note(Key::Line(INK, 1), "zero: no difference");
    }
    if chart.markers.iter().any(|m| m.x.is_finite()) {
        legend.note(Key::Dashed(GREY), "dashed: events");
    }
    legend
}

fn draw(meta: &PlotMeta, chart: &FanChart, difference: bool) -> Result<Figure, PlotError> {
    let x = x_range(chart);
    let y = y_range(chart, difference);
    frame::figure(meta, &legend(chart, difference), |area| {
        let mut plot = cartesian::plane(
            area,
            &Plane {
                x,
                y,
                x_axis: &chart.x,
                y_axis: &chart.y,
                x_ticks: true,
                y_ticks: true,
                y_label_extra: 0,
                y_signed: difference,
            },
            &chart.markers,
        )?;
        let grey: Vec<(&Series, RGBColor)> = chart.reference.iter().map(|s| (s, GREY)).collect();
        let coloured: Vec<(&Series, RGBColor)> = chart
            .series
            .iter()
            .map(|s| (s, palette(s.colour)))
            .collect();
        let layers: Vec<(&Series, RGBColor)> = grey.into_iter().chain(coloured).collect();
        // All light bands, then all dark bands, then every median on top.
        for (series, colour) in &layers {
            band(&mut plot, series, *colour, LIGHT, |b| (b.q.p05, b.q.p95))?;
        }
        // A probability's interval is one band; quantiles have two.
        for (series, colour) in layers.iter().filter(|_| chart.probability.is_none()) {
            band(&mut plot, series, *colour, DARK, |b| (b.q.p25, b.q.p75))?;
        }
        if difference && y.0 < 0.0 && y.1 > 0.0 {
            plot.draw_series(LineSeries::new(
                [(x.0, 0.0), (x.1, 0.0)],
                INK.stroke_width(1),
            ))?;
        }
        for series in &chart.reference {
            dashed_median(&mut plot, series, palette(series.colour))?;
        }
        for (series, colour) in layers.iter().skip(chart.reference.len()) {
            median(&mut plot, series, *colour)?;
        }
        Ok(())
    })
}

/// Fills the band between `edges` of `series`' points. Gaps (non-finite
/// points) split the band.
pub(crate) fn band(
    plot: &mut Chart<'_, '_>,
    series: &Series,
    colour: RGBColor,
    alpha: f64,
    edges: impl Fn(&Band) -> (f64, f64),
) -> Result<(), PlotError> {
    for run in runs(&series.points) {
        if run.len() < 2 {
            continue;
        }
        let upper = run.iter().map(|b| (b.x, edges(b).1));
        let lower = run.iter().rev().map(|b| (b.x, edges(b).0));
        let polygon: Vec<(f64, f64)> = upper.chain(lower).collect();
        plot.draw_series(std::iter::once(Polygon::new(
            polygon,
            colour.mix(alpha).filled(),
        )))?;
    }
    Ok(())
}

/// Draws `series`' median line (3 px, the width the legend shows).
pub(crate) fn median(
    plot: &mut Chart<'_, '_>,
    series: &Series,
    colour: RGBColor,
) -> Result<(), PlotError> {
    for run in runs(&series.points) {
        if run.len() == 1 {
            plot.draw_series(std::iter::once(Circle::new(
                (run[0].x, run[0].q.p50),
                3,
                colour.filled(),
            )))?;
            continue;
        }
        plot.draw_series(LineSeries::new(
            run.iter().map(|b| (b.x, b.q.p50)),
            colour.stroke_width(3),
        ))?;
    }
    Ok(())
}

/// Draws a reference series' median as a dashed line in its own colour
/// (2 px: under the coloured series' 3 px medians, but still readable).
fn dashed_median(
    plot: &mut Chart<'_, '_>,
    series: &Series,
    colour: RGBColor,
) -> Result<(), PlotError> {
    for run in runs(&series.points) {
        plot.draw_series(DashedLineSeries::new(
            run.iter().map(|b| (b.x, b.q.p50)),
            7,
            4,
            colour.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// Maximal runs of consecutive finite points.
pub(crate) fn runs(points: &[Band]) -> Vec<&[Band]> {
    points
        .split(|b| !(b.x.is_finite() && b.q.is_finite()))
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difference_ranges_show_zero_and_are_symmetric_when_both_sides_matter() {
        let (lo, hi) = symmetric(-0.2, 0.3);
        assert!((lo + hi).abs() < 1e-12 && hi >= 0.3, "{lo} {hi}");
        let (lo, hi) = symmetric(0.05, 0.4);
        assert!(lo < 0.0 && lo > -0.1 && hi > 0.4, "{lo} {hi}");
        let (lo, hi) = symmetric(-0.5, -0.1);
        assert!(lo < -0.5 && hi > 0.0, "{lo} {hi}");
        assert_eq!(symmetric(0.0, 0.0), (-1.0, 1.0));
    }

    #[test]
    fn gaps_split_a_series() {
        let b = |x: f64, v: f64| Band::new(x, [v; 5]);
        let points = [b(0.0, 1.0), b(1.0, f64::NAN), b(2.0, 1.0), b(3.0, 1.0)];
        let r = runs(&points);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].len(), r[1].len()), (1, 2));
    }
}
