//! Sweep charts: outcomes against a numeric parameter, each a median line
//! with dots at the swept values inside its 50% and 90% bands, with
//! optional markers (the baseline value of the parameter).

use plotters::prelude::*;

use super::cartesian::{self, Plane};
use super::fan::{band, median, runs};
use super::frame::{self, DARK, Key, LIGHT, Legend};
use super::{Axis, Figure, GREY, Marker, PlotError, PlotMeta, Series, palette, ticks};

/// A sweep chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepChart {
    /// One series per outcome; a [`Band`](super::Band)'s x is the parameter.
    pub series: Vec<Series>,
    /// Markers on the parameter axis ("baseline").
    pub markers: Vec<Marker>,
    /// The parameter.
    pub x: Axis,
    /// The outcome.
    pub y: Axis,
    /// What the bands are quantiles of, for the legend ("runs").
    pub across: String,
    /// For a yes/no outcome, what its one band is ("90% interval"): each
    /// [`Band`](super::Band) is then a [`Band::probability`](super::Band::probability),
    /// drawn as the probability's line in its interval. `None`: medians in
    /// 50% and 90% bands.
    pub probability: Option<String>,
}

impl SweepChart {
    /// A sweep of `series` over parameter axis `x`, outcome axis `y`.
    pub fn new(series: Vec<Series>, x: Axis, y: Axis) -> SweepChart {
        SweepChart {
            series,
            markers: Vec::new(),
            x,
            y,
            across: "runs".into(),
            probability: None,
        }
    }
}

/// Draws a sweep chart.
///
/// # Errors
/// [`PlotError`] if the canvas is too small or drawing fails.
pub fn sweep_chart(meta: &PlotMeta, chart: &SweepChart) -> Result<Figure, PlotError> {
    let points = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|b| b.x.is_finite() && b.q.is_finite())
    };
    let x = chart.x.fixed_range().unwrap_or_else(|| {
        let (lo, hi) = ticks::extent(points().map(|b| b.x)).unwrap_or((0.0, 1.0));
        ticks::padded(lo, hi, 0.03)
    });
    let y = chart.y.fixed_range().unwrap_or_else(|| {
        let (lo, hi) =
            ticks::extent(points().flat_map(|b| [b.q.p05, b.q.p95])).unwrap_or((0.0, 1.0));
        if chart.probability.is_some() {
            // From 0 to just above the highest interval: a rare event's
            // 1% to 2% must not be a flat line at the foot of a 0-10% axis.
            ticks::padded(lo.min(0.0), hi.max(1e-3), 0.05)
        } else if lo >= 0.0 && hi <= 1.0 {
            ticks::unit_range(lo, hi)
        } else {
            ticks::padded(lo, hi, 0.05)
        }
    });
    let mut legend = Legend::default();
    for s in &chart.series {
        legend.item(Key::Fan(palette(s.colour)), s.name.as_str());
    }
    legend
        .bands_or_probability(&chart.across, chart.probability.as_deref())
        .note(Key::Dot(GREY), "dots: values simulated");
    if chart.markers.iter().any(|m| m.x.is_finite()) {
        legend.note(Key::Dashed(GREY), "dashed: reference values");
    }
    frame::figure(meta, &legend, |area| {
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
                y_signed: false,
            },
            &chart.markers,
        )?;
        for s in &chart.series {
            band(&mut plot, s, palette(s.colour), LIGHT, |b| {
                (b.q.p05, b.q.p95)
            })?;
        }
        // A probability's interval is one band; quantiles have two.
        for s in chart.series.iter().filter(|_| chart.probability.is_none()) {
            band(&mut plot, s, palette(s.colour), DARK, |b| {
                (b.q.p25, b.q.p75)
            })?;
        }
        for s in &chart.series {
            let colour = palette(s.colour);
            median(&mut plot, s, colour)?;
            let dots = runs(&s.points)
                .into_iter()
                .flatten()
                .map(|b| Circle::new((b.x, b.q.p50), 4, colour.filled()));
            plot.draw_series(dots)?;
        }
        Ok(())
    })
}
