//! Plotting toolkit: data-driven chart primitives that each return a
//! [`Figure`] (SVG text, rasterised to PNG on demand), and the study plots
//! built from them ([`draw_all`]).
//!
//! Primitives take plain data, never a `Summary`: [`fan_chart`] and
//! [`difference_chart`] ([`FanChart`]: [`Series`] of [`Band`]s over decimal
//! years, event [`Marker`]s, a greyed reference), [`sweep_chart`]
//! ([`SweepChart`], an outcome against a parameter), [`heat_map`]
//! ([`HeatMap`], a parameter pair), [`ranked_bars`] ([`RankedBars`],
//! sensitivity indices with intervals), [`pair_plot`] ([`PairPlot`], weighted
//! samples) and [`observed_vs_simulated`] ([`ObservedChart`]). Every one
//! takes a [`PlotMeta`] (title, subtitle, [`Caption`] with seed, runs,
//! version and overrides) and lays out the same frame: wrapped title, legend
//! in its own right-hand margin explaining the bands, caption line.
//!
//! Figures are drawn once, as SVG, with plotters; the PNG is that SVG
//! rasterised by resvg, which shapes text with a real shaper (kerning
//! included) in the bundled DejaVu Sans. So PNG and SVG show the same
//! picture, PNG text is evenly spaced, and nothing depends on system fonts.
//! Same data give the same SVG bytes and the same PNG bytes.

mod bars;
mod cartesian;
mod fan;
mod frame;
mod heatmap;
mod observed;
mod pairs;
mod raster;
pub mod study;
mod sweep;
mod text;
mod ticks;

use std::fs;
use std::path::{Path, PathBuf};

use plotters::prelude::RGBColor;

pub use bars::{Bar, BarGroup, RankedBars, ranked_bars};
pub use fan::{FanChart, difference_chart, fan_chart};
pub use heatmap::{HeatMap, heat_map};
pub use observed::{ObservedCell, ObservedChart, ObservedSeries, observed_vs_simulated};
pub use pairs::{PairPlot, pair_plot};
pub(crate) use study::study_chart;
pub use study::{PLOTS, PlotSpec, draw_all, draw_study, study_caption};
pub use sweep::{SweepChart, sweep_chart};

/// Why a figure could not be drawn, rendered or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The drawing library refused an operation.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The SVG could not be rasterised.
    #[error("cannot rasterise the SVG: {0}")]
    Render(String),
    /// The PNG could not be encoded.
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
    /// The PNG would be larger than [`MAX_PNG_SIDE`] pixels on a side.
    #[error("a {width}x{height} PNG is too large (at most {MAX_PNG_SIDE} pixels a side)")]
    TooLarge {
        /// PNG width (canvas width times scale).
        width: u64,
        /// PNG height.
        height: u64,
    },
    /// The canvas is too small to hold a frame and a chart.
    #[error("a {width}x{height} canvas is too small (at least {MIN_WIDTH}x{MIN_HEIGHT})")]
    TooSmall {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// Data of the wrong shape: `what` should have `expected` items.
    #[error("{what}: expected {expected} values, found {found}")]
    Shape {
        /// Which data.
        what: &'static str,
        /// How many it should have.
        expected: usize,
        /// How many it has.
        found: usize,
    },
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>>
    for PlotError
{
    fn from(err: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(err.to_string())
    }
}

/// Smallest canvas a figure accepts.
pub const MIN_WIDTH: u32 = 480;
/// Smallest canvas a figure accepts.
pub const MIN_HEIGHT: u32 = 320;
/// Largest PNG side (canvas side times [`PlotMeta::png_scale`]).
pub const MAX_PNG_SIDE: u64 = 16384;

/// Text colour.
pub(crate) const INK: RGBColor = RGBColor(30, 30, 30);
/// Secondary text (subtitle, caption, legend notes).
pub(crate) const MUTED: RGBColor = RGBColor(95, 95, 95);
/// Reference series and neutral keys.
pub(crate) const GREY: RGBColor = RGBColor(120, 120, 120);

/// Colour-blind-safe qualitative palette (Okabe-Ito, black left out: it is
/// the text and zero-line colour), indexed by [`Series::colour`] modulo 7.
pub const PALETTE: [(u8, u8, u8); 7] = [
    (213, 94, 0),
    (0, 114, 178),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (240, 228, 66),
];

pub(crate) fn palette(index: usize) -> RGBColor {
    let (r, g, b) = PALETTE[index % PALETTE.len()];
    RGBColor(r, g, b)
}

/// The five percentiles a band is drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    /// 5th percentile (light band's lower edge).
    pub p05: f64,
    /// 25th percentile (dark band's lower edge).
    pub p25: f64,
    /// Median (the line).
    pub p50: f64,
    /// 75th percentile (dark band's upper edge).
    pub p75: f64,
    /// 95th percentile (light band's upper edge).
    pub p95: f64,
}

impl Quantiles {
    /// From `[p05, p25, p50, p75, p95]` (the order of `Stat::percentiles`).
    pub fn new(p: [f64; 5]) -> Quantiles {
        Quantiles {
            p05: p[0],
            p25: p[1],
            p50: p[2],
            p75: p[3],
            p95: p[4],
        }
    }

    /// `[p05, p25, p50, p75, p95]`.
    pub fn to_array(self) -> [f64; 5] {
        [self.p05, self.p25, self.p50, self.p75, self.p95]
    }

    /// Whether all five are finite (others are not drawn).
    pub fn is_finite(&self) -> bool {
        self.to_array().iter().all(|v| v.is_finite())
    }
}

impl From<[f64; 5]> for Quantiles {
    fn from(p: [f64; 5]) -> Quantiles {
        Quantiles::new(p)
    }
}

/// Percentiles of an outcome at one x (a decimal year, a parameter value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Where.
    pub x: f64,
    /// The distribution there.
    pub q: Quantiles,
}

impl Band {
    /// A band point at `x` from `[p05, p25, p50, p75, p95]` or [`Quantiles`].
    pub fn new(x: f64, q: impl Into<Quantiles>) -> Band {
        Band { x, q: q.into() }
    }

    /// A probability at `x` with its interval `(low, high)`, for a yes/no
    /// outcome: a median of 0/1 values is 0 or 1 and hides the probability,
    /// so its line is the probability and its one band the interval (the
    /// median slot holds `p`, both band edges the interval). Draw it in a
    /// chart whose `probability` says what the interval is.
    pub fn probability(x: f64, p: f64, (low, high): (f64, f64)) -> Band {
        Band {
            x,
            q: Quantiles {
                p05: low,
                p25: low,
                p50: p,
                p75: high,
                p95: high,
            },
        }
    }
}

/// The Wilson score interval of a probability estimated as the share `p` of
/// `n` runs, at confidence `level` (0.9 for 90%); `None` without runs.
/// Unlike `p ± z·sd` it stays inside [0, 1] and is not zero-width at 0 or 1,
/// which matters for rare events such as an embargo in 2% of runs.
pub fn wilson_interval(p: f64, n: u64, level: f64) -> Option<(f64, f64)> {
    if n == 0 || !p.is_finite() {
        return None;
    }
    let z = crate::stats::normal_quantile(0.5 + level.clamp(0.0, 0.999_999) / 2.0);
    let (n, z2) = (n as f64, z * z);
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// One named outcome drawn as a median line in 50% and 90% bands.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name (any text; ellipsised to fit the legend).
    pub name: String,
    /// Index into [`PALETTE`]: keep a supplier's index across figures so it
    /// keeps its colour.
    pub colour: usize,
    /// Points in increasing x; non-finite points are skipped.
    pub points: Vec<Band>,
}

impl Series {
    /// A series.
    pub fn new(name: impl Into<String>, colour: usize, points: Vec<Band>) -> Series {
        Series {
            name: name.into(),
            colour,
            points,
        }
    }
}

/// A labelled vertical line: a dated event, a baseline parameter value.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Where, in the chart's x units.
    pub x: f64,
    /// A short label ("coup", "embargo"); long ones are ellipsised.
    pub label: String,
}

impl Marker {
    /// A marker.
    pub fn new(x: f64, label: impl Into<String>) -> Marker {
        Marker {
            x,
            label: label.into(),
        }
    }
}

/// How an axis writes its tick labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// As many decimals as the tick spacing needs.
    #[default]
    Auto,
    /// A fraction written as a percentage (0.25 is "25%").
    Percent,
    /// Whole numbers with thousands separators.
    Integer,
    /// Calendar years (whole years only), for decimal-year axes.
    Year,
}

/// An axis: its label, tick format and optional fixed range.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// What it measures, with its unit.
    pub label: String,
    /// Tick labels.
    pub format: Format,
    /// Fixed `(min, max)`; from the data if `None`.
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// An axis labelled `label`, auto format and range.
    pub fn new(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            format: Format::Auto,
            range: None,
        }
    }

    /// The same with tick format `format`.
    pub fn format(mut self, format: Format) -> Axis {
        self.format = format;
        self
    }

    /// The same with a fixed range.
    pub fn range(mut self, min: f64, max: f64) -> Axis {
        self.range = Some((min, max));
        self
    }

    /// The fixed range if it is usable (finite, min below max); charts
    /// fall back to the data's range otherwise.
    pub(crate) fn fixed_range(&self) -> Option<(f64, f64)> {
        self.range
            .filter(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo < hi)
    }
}

/// The provenance line under every figure: "seed 20210201 · 100,000 runs ·
/// armsim 0.1.0 · overrides: suppliers.Russia.support=0.2".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Caption {
    /// Master seed.
    pub seed: Option<u64>,
    /// Monte Carlo runs summarised.
    pub runs: Option<u64>,
    /// `--set` overrides, as given.
    pub overrides: Vec<String>,
    /// Anything else worth citing (data source, scenario file), first.
    pub note: Option<String>,
}

impl Caption {
    /// The caption as one line; armsim's version is always included.
    pub fn text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(note) = &self.note {
            parts.push(note.clone());
        }
        if let Some(seed) = self.seed {
            parts.push(format!("seed {seed}"));
        }
        if let Some(runs) = self.runs {
            let unit = if runs == 1 { "run" } else { "runs" };
            parts.push(format!("{} {unit}", super::thousands(runs)));
        }
        parts.push(format!("armsim {}", env!("CARGO_PKG_VERSION")));
        if !self.overrides.is_empty() {
            parts.push(format!("overrides: {}", self.overrides.join(", ")));
        }
        parts.join(" · ")
    }
}

/// What every figure carries besides its data.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotMeta {
    /// Title; wraps onto up to three lines.
    pub title: String,
    /// Smaller line under the title (what is shown, across what).
    pub subtitle: Option<String>,
    /// Provenance at the bottom.
    pub caption: Caption,
    /// Canvas width in pixels (SVG user units).
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// PNG pixels per SVG pixel: 1, or 2 for high-density screens and
    /// print (values outside 1 to 4 are taken as the nearest of them).
    pub png_scale: u32,
}

impl PlotMeta {
    /// 1280x720, PNG at 1x, no subtitle, empty caption.
    pub fn new(title: impl Into<String>) -> PlotMeta {
        PlotMeta {
            title: title.into(),
            subtitle: None,
            caption: Caption::default(),
            width: 1280,
            height: 720,
            png_scale: 1,
        }
    }

    /// The same with a subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> PlotMeta {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// The same with a caption.
    pub fn caption(mut self, caption: Caption) -> PlotMeta {
        self.caption = caption;
        self
    }

    /// The same on a `width` x `height` canvas.
    pub fn size(mut self, width: u32, height: u32) -> PlotMeta {
        self.width = width;
        self.height = height;
        self
    }
}

/// "Name: topic", without doubling a colon the name already ends with.
pub fn titled(name: &str, topic: &str) -> String {
    let name = name.trim_end();
    if name.is_empty() {
        topic.to_string()
    } else if name.ends_with(':') {
        format!("{name} {topic}")
    } else {
        format!("{name}: {topic}")
    }
}

/// A drawn figure: its SVG, and the PNG rendered from it on request.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    svg: String,
    width: u32,
    height: u32,
    png_scale: u32,
}

impl Figure {
    /// The SVG document.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// Canvas size in SVG pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// PNG size in pixels: the canvas times the PNG scale.
    pub fn png_size(&self) -> (u32, u32) {
        (self.width * self.png_scale, self.height * self.png_scale)
    }

    /// The PNG bytes: the SVG rasterised with the bundled font.
    ///
    /// # Errors
    /// [`PlotError::Render`] or [`PlotError::Encode`].
    pub fn png(&self) -> Result<Vec<u8>, PlotError> {
        raster::png(&self.svg, self.png_size(), self.png_scale)
    }

    /// Writes `dir/stem.svg` and `dir/stem.png`; returns their paths.
    ///
    /// # Errors
    /// [`PlotError::Io`] naming the file, or a rendering error.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<[PathBuf; 2], PlotError> {
        let svg = dir.join(format!("{stem}.svg"));
        let png = dir.join(format!("{stem}.png"));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PlotError::Io { path, source }
        };
        fs::write(&svg, &self.svg).map_err(io(&svg))?;
        fs::write(&png, self.png()?).map_err(io(&png))?;
        Ok([svg, png])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_the_textbook() {
        // 50 of 100 at 95%: (0.4038, 0.5962); 0 of 100: (0, z²/(n + z²)).
        let (lo, hi) = wilson_interval(0.5, 100, 0.95).unwrap();
        assert!(
            (lo - 0.4038).abs() < 1e-4 && (hi - 0.5962).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0.0, 100, 0.95).unwrap();
        let z2 = 1.959964f64.powi(2);
        assert_eq!(lo, 0.0);
        assert!((hi - z2 / (100.0 + z2)).abs() < 1e-6, "{hi}");
        // 2% of 2,000 runs at 90%: a narrow interval around it, inside [0, 1].
        let (lo, hi) = wilson_interval(0.02, 2000, 0.9).unwrap();
        assert!(
            lo > 0.014 && lo < 0.02 && hi > 0.02 && hi < 0.026,
            "{lo} {hi}"
        );
        assert_eq!(wilson_interval(0.5, 0, 0.9), None);
    }

    #[test]
    fn titles_never_double_a_colon() {
        assert_eq!(titled("Baseline", "Shares"), "Baseline: Shares");
        assert_eq!(titled("Scenario A:", "Shares"), "Scenario A: Shares");
        assert_eq!(titled("Scenario A:  ", "Shares"), "Scenario A: Shares");
        assert_eq!(titled("", "Shares"), "Shares");
    }

    #[test]
    fn the_caption_names_seed_runs_version_and_overrides() {
        let caption = Caption {
            seed: Some(20210201),
            runs: Some(100_000),
            overrides: vec!["suppliers.Russia.support=0.2".into()],
            note: None,
        };
        assert_eq!(
            caption.text(),
            format!(
                "seed 20210201 · 100,000 runs · armsim {} · overrides: suppliers.Russia.support=0.2",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(
            Caption::default().text(),
            format!("armsim {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
