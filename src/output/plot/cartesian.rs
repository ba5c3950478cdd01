//! The x-y plane every chart but the pair plot draws on: axes over the
//! ranges given, tick labels from [`ticks`](super::ticks), axis titles that
//! fit, and labelled vertical markers whose labels sit in a strip above the
//! plot, in rows, never on the data, on each other or across a marker line.

use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::frame::Area;
use super::text::{self, size};
use super::{Axis, Format, GREY, INK, MUTED, Marker, PlotError, ticks};

/// A chart on an f64 x f64 plane drawn into an SVG figure.
pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Height of a row of marker labels.
const MARKER_ROW: i32 = 17;
/// Most rows of marker labels.
const MARKER_ROWS: usize = 4;
/// Room for the x axis: tick labels and the axis title.
const X_LABEL_AREA: i32 = 50;

/// How a plane is set up.
pub(crate) struct Plane<'x> {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub x_axis: &'x Axis,
    pub y_axis: &'x Axis,
    /// Whether to write x tick labels (categorical charts write their own).
    pub x_ticks: bool,
    /// Whether to write y tick labels.
    pub y_ticks: bool,
    /// Extra room on the left for labels the chart writes itself.
    pub y_label_extra: i32,
    /// Whether y labels carry a plus sign when positive (differences).
    pub y_signed: bool,
}

/// Marker labels laid out: text, pixel x of the marker, row, left or right
/// of the line.
struct Placed {
    x: f64,
    text: String,
    row: usize,
    right: bool,
}

fn y_tick_count(height: i32) -> usize {
    ((height / 55) as usize).clamp(3, 11)
}

fn x_tick_count(width: i32, format: Format) -> usize {
    let per = if format == Format::Year { 48 } else { 90 };
    ((width / per) as usize).clamp(3, 24)
}

/// Widest y tick label, pixels.
fn y_labels_width(plane: &Plane<'_>, count: usize) -> f64 {
    if !plane.y_ticks {
        return 0.0;
    }
    let (lo, hi) = plane.y;
    let step = ticks::step(lo, hi, count);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last.min(first + 100))
        .map(|k| {
            text::width(
                &ticks::signed_label(k as f64 * step, step, plane.y_axis.format),
                size::TICK,
            )
        })
        .fold(0.0, f64::max)
}

/// Builds the plane on `area`, draws its grid, axes and axis titles, and
/// draws `markers` (dashed lines, labels in a strip above the plot).
pub(crate) fn plane<'a, 'b>(
    area: &'a Area<'b>,
    plane: &Plane<'_>,
    markers: &[Marker],
) -> Result<Chart<'a, 'b>, PlotError> {
    let (w, h) = area.dim_in_pixel();
    let y_count = y_tick_count(h as i32);
    let y_area = (y_labels_width(plane, y_count) + 12.0 + size::AXIS * 1.5 + 6.0).ceil() as i32
        + plane.y_label_extra;
    let x_count = x_tick_count(w as i32 - y_area, plane.x_axis.format);
    let build = |top: i32| -> Result<Chart<'a, 'b>, PlotError> {
        Ok(ChartBuilder::on(area)
            .margin_top(8 + top)
            .margin_right(18)
            .margin_left(4)
            .margin_bottom(2)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(y_area)
            .build_cartesian_2d(plane.x.0..plane.x.1, plane.y.0..plane.y.1)?)
    };
    // The x mapping does not depend on the top margin, so lay the marker
    // labels out on a first build, then build again with room for them.
    let probe = build(0)?;
    let placed = place_markers(&probe, area, markers, plane.x);
    let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(0) as i32;
    let strip = if rows > 0 { rows * MARKER_ROW + 4 } else { 0 };
    let mut chart = build(strip)?;

    let (x_step, y_step) = (
        ticks::step(plane.x.0, plane.x.1, x_count),
        ticks::step(plane.y.0, plane.y.1, y_count),
    );
    let (x_format, y_format) = (plane.x_axis.format, plane.y_axis.format);
    let x_fmt = move |v: &f64| ticks::label(*v, x_step, x_format);
    let y_signed = plane.y_signed;
    let y_fmt = move |v: &f64| {
        if y_signed {
            ticks::signed_label(*v, y_step, y_format)
        } else {
            ticks::label(*v, y_step, y_format)
        }
    };
    let (plot_w, plot_h) = chart.plotting_area().dim_in_pixel();
    let x_desc = text::ellipsize(&plane.x_axis.label, size::AXIS, plot_w as f64);
    let y_desc = text::ellipsize(&plane.y_axis.label, size::AXIS, plot_h as f64);
    let mut mesh = chart.configure_mesh();
    if !x_desc.is_empty() {
        mesh.x_desc(x_desc);
    }
    if !y_desc.is_empty() {
        mesh.y_desc(y_desc);
    }
    mesh.x_labels(if plane.x_ticks { x_count } else { 0 })
        .y_labels(if plane.y_ticks { y_count } else { 0 })
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text::style(size::TICK, INK, HPos::Center, VPos::Center))
        .axis_desc_style(text::style(size::AXIS, INK, HPos::Center, VPos::Center))
        .max_light_lines(0)
        .bold_line_style(RGBColor(226, 226, 226).stroke_width(1))
        .axis_style(RGBColor(110, 110, 110).stroke_width(1))
        .draw()?;

    draw_markers(&chart, area, &placed, plane.y)?;
    Ok(chart)
}

/// Merges markers at the same x, drops those outside `x`, and assigns each
/// label a row so that no two overlap.
fn place_markers(
    chart: &Chart<'_, '_>,
    area: &Area<'_>,
    markers: &[Marker],
    x: (f64, f64),
) -> Vec<Placed> {
    let merged = merge_markers(markers, x);
    let base = area.get_base_pixel();
    let (px_range, _) = chart.plotting_area().get_pixel_range();
    let (left, right) = (
        (px_range.start - base.0) as f64,
        (px_range.end - base.0) as f64,
    );
    let mut taken = Taken::default();
    let mut placed = Vec::new();
    for (mx, texts) in merged {
        let px = (chart.backend_coord(&(mx, 0.0)).0 - base.0) as f64;
        let full = texts.join(" · ");
        let room_right = right - px - 4.0;
        let room_left = px - left - 4.0;
        let natural = text::width(&full, size::SMALL);
        let right_side = natural <= room_right || room_right >= room_left;
        let room = if right_side { room_right } else { room_left };
        let label = text::ellipsize(&full, size::SMALL, room.max(0.0));
        let width = text::width(&label, size::SMALL);
        let span = if right_side {
            (px - 1.0, px + 4.0 + width)
        } else {
            (px - 4.0 - width, px + 1.0)
        };
        let row = (0..MARKER_ROWS)
            .find(|&r| taken.clear(r, span, px))
            .unwrap_or(MARKER_ROWS - 1);
        taken.labels.push((row, span.0, span.1));
        taken.lines.push((row, px));
        placed.push(Placed {
            x: mx,
            text: label,
            row,
            right: right_side,
        });
    }
    placed
}

/// The markers inside `x`, in increasing x, those at the same x merged
/// into one with their distinct non-empty labels.
fn merge_markers(markers: &[Marker], x: (f64, f64)) -> Vec<(f64, Vec<String>)> {
    let mut merged: Vec<(f64, Vec<String>)> = Vec::new();
    let mut sorted: Vec<&Marker> = markers
        .iter()
        .filter(|m| m.x.is_finite() && m.x >= x.0 && m.x <= x.1)
        .collect();
    sorted.sort_by(|a, b| a.x.total_cmp(&b.x));
    for m in sorted {
        let label = text::clean(&m.label).trim().to_string();
        match merged.last_mut() {
            Some((at, labels)) if (*at - m.x).abs() <= 1e-9 * at.abs().max(1.0) => {
                if !label.is_empty() && !labels.contains(&label) {
                    labels.push(label);
                }
            }
            _ => merged.push((
                m.x,
                if label.is_empty() {
                    vec![]
                } else {
                    vec![label]
                },
            )),
        }
    }
    merged
}

/// What the marker labels placed so far take up, in pixels.
#[derive(Default)]
struct Taken {
    /// (row, left, right) of each label.
    labels: Vec<(usize, f64, f64)>,
    /// (row, x) of each marker line.
    lines: Vec<(usize, f64)>,
}

impl Taken {
    /// Whether a label spanning `span` can go in row `r` for a marker line
    /// at `px`. A label may not touch another label in its row, nor cross
    /// the line of a marker placed at or above its row (lines run down from
    /// their label); and this marker's line may not cross a label below it.
    fn clear(&self, r: usize, span: (f64, f64), px: f64) -> bool {
        self.labels
            .iter()
            .all(|&(lr, a, b)| lr != r || span.1 + 8.0 <= a || span.0 >= b + 8.0)
            && self
                .lines
                .iter()
                .all(|&(lr, x)| lr > r || x + 2.0 <= span.0 || x - 2.0 >= span.1)
            && self
                .labels
                .iter()
                .all(|&(lr, a, b)| lr <= r || px + 2.0 <= a || px - 2.0 >= b)
    }
}

fn draw_markers(
    chart: &Chart<'_, '_>,
    area: &Area<'_>,
    placed: &[Placed],
    y: (f64, f64),
) -> Result<(), PlotError> {
    let base = area.get_base_pixel();
    let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(0) as i32;
    for p in placed {
        let (px, top) = chart.backend_coord(&(p.x, y.1));
        let (_, bottom) = chart.backend_coord(&(p.x, y.0));
        let (px, top, bottom) = (px - base.0, top - base.1, bottom - base.1);
        // Label row r sits r rows above the plot's top edge, counting down
        // from the strip's top so row 0 is highest.
        let label_y = top - 4 - (rows - p.row as i32) * MARKER_ROW + MARKER_ROW / 2;
        area.draw(&DashedPathElement::new(
            vec![(px, label_y - 7), (px, bottom)],
            5,
            4,
            GREY.stroke_width(1),
        ))?;
        if p.text.is_empty() {
            continue;
        }
        let (tx, anchor) = if p.right {
            (px + 4, HPos::Left)
        } else {
            (px - 4, HPos::Right)
        };
        let style = text::style(size::SMALL, MUTED, anchor, VPos::Center);
        area.draw(&Text::new(p.text.clone(), (tx, label_y), style))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_labels_never_overlap_and_lines_never_cross_labels() {
        text::register();
        let mut svg = String::new();
        let area = SVGBackend::with_string(&mut svg, (900, 400)).into_drawing_area();
        let chart = ChartBuilder::on(&area)
            .y_label_area_size(60)
            .build_cartesian_2d(2021.0..2031.0, 0.0..1.0)
            .unwrap();
        // Crowded: several events a quarter apart, two on the same quarter,
        // one at the right edge (its label must turn left), one outside.
        let markers: Vec<Marker> = [
            (2021.0, "coup"),
            (2021.0, "sanctions"),
            (2021.25, "condemnation by ASEAN"),
            (2021.5, "UN arms embargo"),
            (2021.75, "ceasefire"),
            (2024.0, "elections"),
            (2030.9, "end of the horizon, a long note"),
            (2035.0, "outside"),
        ]
        .iter()
        .map(|&(x, l)| Marker::new(x, l))
        .collect();
        let placed = place_markers(&chart, &area, &markers, (2021.0, 2031.0));
        assert_eq!(placed.len(), 6, "merged and filtered");
        assert_eq!(placed[0].text, "coup · sanctions");
        let base = area.get_base_pixel();
        let boxes: Vec<(usize, f64, f64, f64)> = placed
            .iter()
            .map(|p| {
                let px = (chart.backend_coord(&(p.x, 0.0)).0 - base.0) as f64;
                let w = text::width(&p.text, size::SMALL);
                let (a, b) = if p.right {
                    (px + 4.0, px + 4.0 + w)
                } else {
                    (px - 4.0 - w, px - 4.0)
                };
                (p.row, a, b, px)
            })
            .collect();
        let (_, right_edge) = {
            let (r, _) = chart.plotting_area().get_pixel_range();
            (r.start - base.0, r.end - base.0)
        };
        assert!(!placed[5].right, "the last label turns left at the edge");
        for (i, &(ri, ai, bi, xi)) in boxes.iter().enumerate() {
            assert!(bi <= right_edge as f64 + 0.5, "label {i} runs off the plot");
            for (j, &(rj, aj, bj, _)) in boxes.iter().enumerate() {
                if i == j {
                    continue;
                }
                if ri == rj {
                    assert!(
                        bi <= aj || bj <= ai,
                        "labels {i} and {j} overlap in row {ri}"
                    );
                }
                // Marker i's line runs down from row ri: no label below it
                // may span its x.
                if rj > ri {
                    assert!(xi < aj || xi > bj, "line {i} crosses label {j}");
                }
            }
        }
    }
}
