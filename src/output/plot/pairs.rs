//! Pair plots of weighted samples (posterior samples of a few parameters):
//! weighted histograms on the diagonal, scatter plots below it with heavier
//! samples darker, and the weighted correlation above it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::frame::{self, Area, Key, Legend};
use super::text::{self, size};
use super::{Figure, INK, PlotError, PlotMeta, palette, ticks};

/// A pair plot's data.
#[derive(Debug, Clone, PartialEq)]
pub struct PairPlot {
    /// Parameter names (axis labels), one per dimension.
    pub names: Vec<String>,
    /// Samples; each holds one value per parameter.
    pub samples: Vec<Vec<f64>>,
    /// One weight per sample, or empty for equal weights. Negative and
    /// non-finite weights count as zero.
    pub weights: Vec<f64>,
    /// Per parameter, a fixed axis range (the prior's support), or empty.
    pub ranges: Vec<Option<(f64, f64)>>,
    /// Values to mark (the baseline or a known truth), one per parameter.
    pub reference: Option<Vec<f64>>,
    /// What the reference is, for the legend.
    pub reference_label: String,
    /// Index into the palette for points and bars.
    pub colour: usize,
}

/// Most points drawn per panel; more are thinned by a fixed stride (after
/// sorting by weight), so the picture and the SVG stay light and
/// deterministic.
const MAX_POINTS: usize = 2000;

/// Histogram bins on the diagonal.
const BINS: usize = 20;

/// Gap between panels, pixels.
const GAP: i32 = 10;

/// Weighted Pearson correlation of `x` and `y`; `None` if undefined.
fn correlation(x: &[f64], y: &[f64], w: &[f64]) -> Option<f64> {
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mx = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / total;
    let my = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / total;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for ((a, b), wi) in x.iter().zip(y).zip(w) {
        sxy += wi * (a - mx) * (b - my);
        sxx += wi * (a - mx) * (a - mx);
        syy += wi * (b - my) * (b - my);
    }
    let r = sxy / (sxx * syy).sqrt();
    r.is_finite().then_some(r.clamp(-1.0, 1.0))
}

/// Draws a pair plot.
///
/// # Errors
/// [`PlotError::Shape`] if a sample, the weights, the ranges or the
/// reference do not match the parameters; otherwise as other figures.
pub fn pair_plot(meta: &PlotMeta, plot: &PairPlot) -> Result<Figure, PlotError> {
    check_shapes(plot)?;
    let prep = prepare(plot);
    let colour = palette(plot.colour);
    let legend = pair_legend(plot, colour, prep.kept.len(), prep.stride);
    frame::figure(meta, &legend, |area| draw_grid(area, plot, &prep, colour))
}

/// Refuses samples, weights, ranges or a reference that do not have one
/// value per parameter (or per sample).
fn check_shapes(plot: &PairPlot) -> Result<(), PlotError> {
    let k = plot.names.len();
    let shape = |what, expected, found| {
        Err(PlotError::Shape {
            what,
            expected,
            found,
        })
    };
    if let Some(s) = plot.samples.iter().find(|s| s.len() != k) {
        return shape("values of a sample (one per parameter)", k, s.len());
    }
    if !plot.weights.is_empty() && plot.weights.len() != plot.samples.len() {
        return shape(
            "weights (one per sample)",
            plot.samples.len(),
            plot.weights.len(),
        );
    }
    if !plot.ranges.is_empty() && plot.ranges.len() != k {
        return shape("ranges (one per parameter)", k, plot.ranges.len());
    }
    if let Some(r) = plot.reference.as_ref().filter(|r| r.len() != k) {
        return shape("reference values (one per parameter)", k, r.len());
    }
    Ok(())
}

/// A pair plot's samples made ready to draw.
struct Prepared {
    /// Indices of the samples kept: every value finite, a usable weight.
    kept: Vec<usize>,
    /// Their weights.
    weights: Vec<f64>,
    /// The largest of them.
    w_max: f64,
    /// Per parameter, the axis range.
    ranges: Vec<(f64, f64)>,
    /// Positions in `kept` drawn as points, lightest first.
    shown: Vec<usize>,
    /// One in how many points is drawn.
    stride: usize,
}

/// Keeps the usable samples, fixes each parameter's axis range (the one
/// given, or the data's, padded), and picks the points to draw.
fn prepare(plot: &PairPlot) -> Prepared {
    let k = plot.names.len();
    // Samples with every value finite and a usable weight.
    let weight = |i: usize| {
        let w = plot.weights.get(i).copied().unwrap_or(1.0);
        if w.is_finite() && w > 0.0 { w } else { 0.0 }
    };
    let kept: Vec<usize> = (0..plot.samples.len())
        .filter(|&i| weight(i) > 0.0 && plot.samples[i].iter().all(|v| v.is_finite()))
        .collect();
    let weights: Vec<f64> = kept.iter().map(|&i| weight(i)).collect();
    let w_max = weights.iter().copied().fold(0.0, f64::max);
    let ranges: Vec<(f64, f64)> = (0..k)
        .map(|p| {
            plot.ranges
                .get(p)
                .copied()
                .flatten()
                .filter(|(a, b)| a.is_finite() && b.is_finite() && b > a)
                .unwrap_or_else(|| {
                    let (lo, hi) = ticks::extent(column(plot, &kept, p)).unwrap_or((0.0, 1.0));
                    ticks::padded(lo, hi, 0.05)
                })
        })
        .collect();
    // Draw light samples first so heavy ones are on top; thin by stride.
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by(|&a, &b| weights[a].total_cmp(&weights[b]));
    let stride = order.len().div_ceil(MAX_POINTS).max(1);
    let shown: Vec<usize> = order.into_iter().step_by(stride).collect();
    Prepared {
        kept,
        weights,
        w_max,
        ranges,
        shown,
        stride,
    }
}

/// Parameter `p`'s values in the samples `kept`.
fn column(plot: &PairPlot, kept: &[usize], p: usize) -> Vec<f64> {
    kept.iter().map(|&i| plot.samples[i][p]).collect()
}

/// The legend: what the diagonal, the points, the upper panels and the
/// reference show, and how many samples (`kept`, one in `stride` drawn).
fn pair_legend(plot: &PairPlot, colour: RGBColor, kept: usize, stride: usize) -> Legend {
    let mut legend = Legend::default();
    legend
        .item(Key::Patch(colour, 0.6), "diagonal: weighted histogram")
        .item(Key::Dot(colour), "points: samples, darker = more weight")
        .note(Key::None, "above the diagonal: weighted correlation ρ");
    if plot.reference.is_some() {
        legend.item(
            Key::Line(INK, 1),
            format!("line and ring: {}", plot.reference_label),
        );
    }
    legend.gap().note(
        Key::None,
        format!(
            "{} samples{}",
            super::super::thousands(kept as u64),
            if stride > 1 {
                format!(", 1 in {stride} drawn")
            } else {
                String::new()
            }
        ),
    );
    legend
}

/// What the panels of a pair plot are drawn from.
struct Panels<'a> {
    plot: &'a PairPlot,
    prep: &'a Prepared,
    /// Per parameter, the kept samples' values.
    cols: Vec<Vec<f64>>,
    colour: RGBColor,
}

/// One panel's place in the grid: its row and column, its top-left pixel
/// and its size.
#[derive(Clone, Copy)]
struct Cell {
    row: usize,
    col: usize,
    x0: i32,
    y0: i32,
    pw: i32,
    ph: i32,
}

/// Lays the grid of panels out on `area` and draws each panel with the
/// tick labels and names outside it.
fn draw_grid(
    area: &Area<'_>,
    plot: &PairPlot,
    prep: &Prepared,
    colour: RGBColor,
) -> Result<(), PlotError> {
    let k = plot.names.len();
    if k == 0 {
        return Ok(());
    }
    let (w, h) = area.dim_in_pixel();
    let (left, bottom, top, right) = (64, 54, 8, 12);
    let pw = ((w as i32 - left - right - GAP * (k as i32 - 1)) / k as i32).max(10);
    let ph = ((h as i32 - top - bottom - GAP * (k as i32 - 1)) / k as i32).max(10);
    let panels = Panels {
        plot,
        prep,
        cols: (0..k).map(|p| column(plot, &prep.kept, p)).collect(),
        colour,
    };
    for row in 0..k {
        for col in 0..k {
            let x0 = left + col as i32 * (pw + GAP);
            let y0 = top + row as i32 * (ph + GAP);
            let panel = area.clone().shrink((x0, y0), (pw, ph));
            let cell = Cell {
                row,
                col,
                x0,
                y0,
                pw,
                ph,
            };
            draw_panel(&panel, &panels, cell)?;
            outer_labels(area, plot, &prep.ranges, cell)?;
        }
    }
    Ok(())
}

/// Draws one panel: a histogram on the diagonal, a scatter plot below it,
/// the correlation above it.
fn draw_panel(panel: &Area<'_>, panels: &Panels<'_>, cell: Cell) -> Result<(), PlotError> {
    let Panels {
        plot,
        prep,
        cols,
        colour,
    } = panels;
    let (row, col) = (cell.row, cell.col);
    if row == col {
        histogram(
            panel,
            &cols[col],
            &prep.weights,
            prep.ranges[col],
            *colour,
            plot.reference.as_ref().map(|r| r[col]),
        )?;
    } else if row > col {
        scatter(
            panel,
            (&cols[col], &cols[row]),
            (prep.ranges[col], prep.ranges[row]),
            &prep.weights,
            prep.w_max,
            &prep.shown,
            *colour,
            plot.reference.as_ref().map(|r| (r[col], r[row])),
        )?;
    } else {
        correlation_text(panel, (&cols[col], &cols[row]), &prep.weights, cell)?;
    }
    Ok(())
}

/// Writes the weighted correlation of `xs` and `ys` in the middle of the
/// panel, larger the stronger it is.
fn correlation_text(
    panel: &Area<'_>,
    (xs, ys): (&[f64], &[f64]),
    weights: &[f64],
    cell: Cell,
) -> Result<(), PlotError> {
    let (pw, ph) = (cell.pw, cell.ph);
    let r = correlation(xs, ys, weights);
    let label = r.map_or("ρ undefined".to_string(), |r| {
        format!("ρ = {r:.2}").replacen('-', "\u{2212}", 1)
    });
    let px = (size::SUBTITLE * (1.0 + r.map_or(0.0, f64::abs))).min(ph as f64 / 3.0);
    let style = text::style(px, INK, HPos::Center, VPos::Center);
    panel.draw(&Text::new(label, (pw / 2, ph / 2), style))?;
    Ok(())
}

/// Outer tick labels and names: under the panels of the bottom row, and
/// left of those of the first column below the top.
fn outer_labels(
    area: &Area<'_>,
    plot: &PairPlot,
    ranges: &[(f64, f64)],
    cell: Cell,
) -> Result<(), PlotError> {
    let Cell {
        row,
        col,
        x0,
        y0,
        pw,
        ph,
    } = cell;
    if row == plot.names.len() - 1 {
        axis_ticks(area, ranges[col], (x0, y0 + ph), pw, true)?;
        let name = text::ellipsize(&plot.names[col], size::AXIS, pw as f64);
        let style = text::style(size::AXIS, INK, HPos::Center, VPos::Top);
        area.draw(&Text::new(name, (x0 + pw / 2, y0 + ph + 24), style))?;
    }
    if col == 0 && row > 0 {
        axis_ticks(area, ranges[row], (x0, y0 + ph), ph, false)?;
        let name = text::ellipsize(&plot.names[row], size::AXIS, ph as f64);
        let style = text::vertical(size::AXIS, INK);
        area.draw(&Text::new(name, (12, y0 + ph / 2), style))?;
    }
    Ok(())
}

/// Tick labels for `range` along a panel edge starting at pixel `origin`
/// (its bottom-left corner), `length` long: below it if `horizontal`, to
/// its left otherwise.
fn axis_ticks(
    area: &Area<'_>,
    range: (f64, f64),
    origin: (i32, i32),
    length: i32,
    horizontal: bool,
) -> Result<(), PlotError> {
    let (lo, hi) = range;
    let step = ticks::step(lo, hi, 4);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    for i in first..=last.min(first + 20) {
        let v = i as f64 * step;
        let offset = ((v - lo) / (hi - lo) * length as f64).round() as i32;
        // A label at the far end would run into the next panel's first one.
        if offset > length - 14 {
            continue;
        }
        let label = ticks::label(v, step, super::Format::Auto);
        if horizontal {
            let style = text::style(size::SMALL, INK, HPos::Center, VPos::Top);
            area.draw(&Text::new(label, (origin.0 + offset, origin.1 + 4), style))?;
        } else {
            let style = text::style(size::SMALL, INK, HPos::Right, VPos::Center);
            area.draw(&Text::new(label, (origin.0 - 4, origin.1 - offset), style))?;
        }
    }
    Ok(())
}

fn panel_chart<'a, 'b>(
    panel: &'a DrawingArea<SVGBackend<'b>, Shift>,
    x: (f64, f64),
    y: (f64, f64),
) -> Result<super::cartesian::Chart<'a, 'b>, PlotError> {
    let mut chart = ChartBuilder::on(panel).build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    chart
        .configure_mesh()
        .x_labels(4)
        .y_labels(4)
        .max_light_lines(0)
        .bold_line_style(RGBColor(232, 232, 232).stroke_width(1))
        .draw()?;
    panel.draw(&Rectangle::new(
        [
            (0, 0),
            (
                panel.dim_in_pixel().0 as i32 - 1,
                panel.dim_in_pixel().1 as i32 - 1,
            ),
        ],
        RGBColor(150, 150, 150).stroke_width(1),
    ))?;
    Ok(chart)
}

fn histogram(
    panel: &DrawingArea<SVGBackend<'_>, Shift>,
    values: &[f64],
    weights: &[f64],
    range: (f64, f64),
    colour: RGBColor,
    reference: Option<f64>,
) -> Result<(), PlotError> {
    let (lo, hi) = range;
    let width = (hi - lo) / BINS as f64;
    let mut bins = [0.0f64; BINS];
    for (v, w) in values.iter().zip(weights) {
        if *v >= lo && *v <= hi {
            let b = (((v - lo) / width) as usize).min(BINS - 1);
            bins[b] += w;
        }
    }
    let top = bins.iter().copied().fold(0.0, f64::max);
    let scale = if top > 0.0 { 1.0 / top } else { 0.0 };
    let mut chart = panel_chart(panel, range, (0.0, 1.08))?;
    chart.draw_series(
        bins.iter()
            .enumerate()
            .filter(|(_, b)| **b > 0.0)
            .map(|(i, b)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width, b * scale)],
                    colour.mix(0.6).filled(),
                )
            }),
    )?;
    if let Some(r) = reference.filter(|r| r.is_finite() && *r >= lo && *r <= hi) {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(r, 0.0), (r, 1.08)],
            INK.stroke_width(1),
        )))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn scatter(
    panel: &DrawingArea<SVGBackend<'_>, Shift>,
    (xs, ys): (&[f64], &[f64]),
    (xr, yr): ((f64, f64), (f64, f64)),
    weights: &[f64],
    w_max: f64,
    shown: &[usize],
    colour: RGBColor,
    reference: Option<(f64, f64)>,
) -> Result<(), PlotError> {
    let mut chart = panel_chart(panel, xr, yr)?;
    let inside = |x: f64, y: f64| x >= xr.0 && x <= xr.1 && y >= yr.0 && y <= yr.1;
    chart.draw_series(shown.iter().filter(|&&i| inside(xs[i], ys[i])).map(|&i| {
        // Rounded to hundredths: indistinguishable, and a lighter SVG.
        let alpha = if w_max > 0.0 {
            0.06 + 0.5 * weights[i] / w_max
        } else {
            0.3
        };
        let alpha = (alpha * 100.0).round() / 100.0;
        Circle::new((xs[i], ys[i]), 2, colour.mix(alpha).filled())
    }))?;
    if let Some((x, y)) = reference.filter(|(x, y)| inside(*x, *y)) {
        chart.draw_series([
            Circle::new((x, y), 6, WHITE.stroke_width(4)),
            Circle::new((x, y), 6, INK.stroke_width(2)),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_correlation_matches_hand_values() {
        // y = 2x exactly: r = 1; y = -x: r = -1, whatever the weights.
        let x = [1.0, 2.0, 3.0, 4.0];
        let w = [1.0, 3.0, 0.5, 2.0];
        assert!((correlation(&x, &[2.0, 4.0, 6.0, 8.0], &w).unwrap() - 1.0).abs() < 1e-12);
        assert!((correlation(&x, &[-1.0, -2.0, -3.0, -4.0], &w).unwrap() + 1.0).abs() < 1e-12);
        // Equal weights, x = (1,2,3), y = (1,3,2): r = 0.5 by hand
        // (sxy = 1, sxx = syy = 2).
        let r = correlation(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0], &[1.0; 3]).unwrap();
        assert!((r - 0.5).abs() < 1e-12, "{r}");
        // Integer weights act as repeated samples: weight 2 on (3,2) equals
        // listing it twice.
        let a = correlation(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0], &[1.0, 1.0, 2.0]).unwrap();
        let b = correlation(&[1.0, 2.0, 3.0, 3.0], &[1.0, 3.0, 2.0, 2.0], &[1.0; 4]).unwrap();
        assert!((a - b).abs() < 1e-12);
        assert_eq!(correlation(&[1.0, 1.0], &[2.0, 3.0], &[1.0, 1.0]), None);
        assert_eq!(correlation(&[1.0], &[2.0], &[0.0]), None);
    }
}
