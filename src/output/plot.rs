//! Trajectory plots: each supplier's median with 50% and 90% bands over time,
//! as PNG and SVG.
//!
//! Text is drawn with a bundled font (DejaVu Sans, registered once with
//! plotters' `ab_glyph` feature), so plots render on machines without system
//! fonts or fontconfig.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::OutputError;
use crate::metrics::{Entity, MetricId};
use crate::model::Scenario;
use crate::summary::Summary;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();
const FAMILY: &str = "sans-serif";

/// One plot: which supplier metric it shows and how it is titled.
#[derive(Debug, Clone, Copy)]
pub struct PlotSpec {
    /// File stem (`shares` gives `shares.png` and `shares.svg`).
    pub stem: &'static str,
    /// The supplier metric plotted.
    pub metric: MetricId,
    /// Title.
    pub title: &'static str,
    /// Y axis label.
    pub y_label: &'static str,
    /// Whether the axis is in percent.
    pub percent: bool,
}

/// The plots every study draws.
pub const PLOTS: [PlotSpec; 3] = [
    PlotSpec {
        stem: "shares",
        metric: MetricId::RollingShare,
        title: "Five-year rolling share of arms imports",
        y_label: "share of imports, last 20 quarters",
        percent: true,
    },
    PlotSpec {
        stem: "support",
        metric: MetricId::Support,
        title: "Suppliers' support for the regime",
        y_label: "stance (0 conditions, 1 unconditional)",
        percent: false,
    },
    PlotSpec {
        stem: "influence",
        metric: MetricId::Influence,
        title: "Influence: installed share x support",
        y_label: "influence",
        percent: false,
    },
];

/// Colour-blind-friendly palette (Okabe-Ito), cycled over suppliers.
const PALETTE: [RGBColor; 8] = [
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

const SIZE: (u32, u32) = (1280, 720);
/// Width of the margin on the right that holds the legend, in pixels.
const LEGEND_WIDTH: u32 = 170;

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and known to be valid.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Draws every plot of [`PLOTS`] into `dir`, as `.png` and `.svg`.
///
/// # Errors
/// [`OutputError::Plot`] naming the file that could not be drawn.
pub fn draw_all(dir: &Path, scenario: &Scenario, summary: &Summary) -> Result<(), OutputError> {
    register_font();
    for spec in &PLOTS {
        let png = dir.join(format!("{}.png", spec.stem));
        let svg = dir.join(format!("{}.svg", spec.stem));
        let fail = |path: &Path| {
            let path = path.to_path_buf();
            move |message: String| OutputError::Plot { path, message }
        };
        draw(
            BitMapBackend::new(&png, SIZE).into_drawing_area(),
            spec,
            scenario,
            summary,
        )
        .map_err(fail(&png))?;
        draw(
            SVGBackend::new(&svg, SIZE).into_drawing_area(),
            spec,
            scenario,
            summary,
        )
        .map_err(fail(&svg))?;
    }
    Ok(())
}

/// Decimal year of quarter `t`'s start: 2021Q1 is 2021.0, 2021Q3 is 2021.5.
fn decimal_year(scenario: &Scenario, t: usize) -> f64 {
    scenario.label(t as u32).decimal_year()
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    spec: &PlotSpec,
    scenario: &Scenario,
    summary: &Summary,
) -> Result<(), String> {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    root.fill(&WHITE).map_err(e)?;
    let quarters = summary.quarters();
    let series: Vec<(String, Vec<(f64, crate::summary::Stat)>)> = scenario
        .suppliers()
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let metric = summary.metric(Entity::Supplier(i), spec.metric)?;
            let points = (0..quarters)
                .filter_map(|q| {
                    summary
                        .stat(q, &metric)
                        .map(|st| (decimal_year(scenario, q), st))
                })
                .collect();
            Some((s.name().to_string(), points))
        })
        .collect();
    let top = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|(_, s)| s.p95()))
        .fold(0.0f64, f64::max);
    let y_max = ((top * 1.12 / 0.05).ceil() * 0.05).clamp(0.05, 1.0);
    let x_min = decimal_year(scenario, 0);
    let x_max = decimal_year(scenario, quarters.saturating_sub(1)).max(x_min + 0.25);

    let titled = root
        .titled(
            &format!("{}: {}", scenario.name(), spec.title),
            (FAMILY, 26),
        )
        .map_err(e)?;
    // The legend gets a margin of its own, so it never covers a band.
    let (width, _) = titled.dim_in_pixel();
    let (plot_area, legend_area) = titled.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(
            format!(
                "median with 50% and 90% bands across {} Monte Carlo runs",
                super::thousands(summary.runs())
            ),
            (FAMILY, 17).into_font().color(&RGBColor(90, 90, 90)),
        )
        .margin(18)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x_min..x_max, 0.0..y_max)
        .map_err(e)?;
    let percent = spec.percent;
    chart
        .configure_mesh()
        .x_desc("year")
        .y_desc(spec.y_label)
        .x_labels(((x_max - x_min).ceil() as usize + 1).min(24))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{:.0}", x)
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| {
            if percent {
                format!("{:.0}%", y * 100.0)
            } else {
                format!("{y:.2}")
            }
        })
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 16))
        .max_light_lines(4)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(e)?;

    for (i, (_, points)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let band = |lo: usize, hi: usize| -> Vec<(f64, f64)> {
            let upper = points.iter().map(|(x, s)| (*x, s.percentiles[hi]));
            let lower = points.iter().rev().map(|(x, s)| (*x, s.percentiles[lo]));
            upper.chain(lower).collect()
        };
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(0, 4),
                colour.mix(0.13).filled(),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(1, 3),
                colour.mix(0.28).filled(),
            )))
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, s)| (*x, s.p50())),
                colour.stroke_width(3),
            ))
            .map_err(e)?;
    }
    for (i, (name, _)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let y = 70 + 28 * i as i32;
        legend_area
            .draw(&PathElement::new(
                vec![(8, y), (34, y)],
                colour.stroke_width(4),
            ))
            .map_err(e)?;
        legend_area
            .draw(&Text::new(name.as_str(), (42, y - 9), (FAMILY, 16)))
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}
