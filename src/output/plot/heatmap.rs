//! Heat maps: an outcome over a 2-D grid of a parameter pair, coloured with
//! viridis (perceptually uniform, colour-blind safe, readable in grey),
//! with a colour bar in the legend and values written in cells big enough
//! to hold them.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::cartesian::{self, Chart, Plane};
use super::frame::{self, ColourBar, Key, Legend};
use super::text::{self, size};
use super::{Axis, Figure, INK, PlotError, PlotMeta, ticks};

/// A heat map's data.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// The first parameter (columns).
    pub x: Axis,
    /// The second parameter (rows).
    pub y: Axis,
    /// Column centres, in any order.
    pub x_values: Vec<f64>,
    /// Row centres, in any order.
    pub y_values: Vec<f64>,
    /// The outcome, row by row: `z[j * x_values.len() + i]` is at
    /// `(x_values[i], y_values[j])`. Non-finite cells are shown as missing.
    pub z: Vec<f64>,
    /// The outcome's label, tick format and optional colour range.
    pub z_axis: Axis,
    /// A point to ring, with its legend text (the baseline parameters).
    pub highlight: Option<(f64, f64, String)>,
}

/// Viridis (van der Walt and Smith, matplotlib's default map): `t` in
/// [0, 1] from dark purple to yellow, interpolated between nine samples of
/// the published map (R's `viridis(9)`).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (0x44, 0x01, 0x54),
        (0x47, 0x2D, 0x7B),
        (0x3B, 0x52, 0x8B),
        (0x2C, 0x72, 0x8E),
        (0x21, 0x90, 0x8C),
        (0x27, 0xAD, 0x81),
        (0x5D, 0xC8, 0x63),
        (0xAA, 0xDC, 0x32),
        (0xFD, 0xE7, 0x25),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

const MISSING: RGBColor = RGBColor(215, 215, 215);

/// Cell edges around sorted, finite centres: midpoints inside, half a step
/// outside.
fn edges(centres: &[f64]) -> Vec<f64> {
    match centres {
        [] => vec![0.0, 1.0],
        [c] => {
            let half = if *c == 0.0 { 0.5 } else { c.abs() * 0.1 };
            vec![c - half, c + half]
        }
        _ => {
            let n = centres.len();
            let mut e = Vec::with_capacity(n + 1);
            e.push(centres[0] - (centres[1] - centres[0]) / 2.0);
            e.extend(centres.windows(2).map(|w| (w[0] + w[1]) / 2.0));
            e.push(centres[n - 1] + (centres[n - 1] - centres[n - 2]) / 2.0);
            e
        }
    }
}

/// Indices of `values` in increasing order (non-finite ones dropped).
fn order(values: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    idx
}

/// Draws a heat map.
///
/// # Errors
/// [`PlotError::Shape`] if `z` is not `x_values.len() * y_values.len()`
/// long; otherwise as other figures.
pub fn heat_map(meta: &PlotMeta, map: &HeatMap) -> Result<Figure, PlotError> {
    let (nx, ny) = (map.x_values.len(), map.y_values.len());
    if map.z.len() != nx * ny {
        return Err(PlotError::Shape {
            what: "heat map cells (columns x rows)",
            expected: nx * ny,
            found: map.z.len(),
        });
    }
    let grid = Grid::new(map);
    let scale = Scale::new(map);
    let missing = map.z.iter().any(|v| !v.is_finite());
    let legend = heat_legend(map, &scale, missing);
    let x_range = (grid.xe[0], grid.xe[grid.xe.len() - 1]);
    let y_range = (grid.ye[0], grid.ye[grid.ye.len() - 1]);
    frame::figure(meta, &legend, |area| {
        let mut plot = cartesian::plane(
            area,
            &Plane {
                x: x_range,
                y: y_range,
                x_axis: &map.x,
                y_axis: &map.y,
                x_ticks: true,
                y_ticks: true,
                y_label_extra: 0,
                y_signed: false,
            },
            &[],
        )?;
        draw_cells(&mut plot, map, &grid, &scale)?;
        let cell = grid.cell_size(&plot);
        draw_values(&mut plot, map, &grid, &scale, cell)?;
        draw_highlight(&mut plot, map, cell)
    })
}

/// The cells in order: the sorted rows and columns with their edges.
struct Grid {
    /// Indices into `x_values`, increasing.
    xi: Vec<usize>,
    /// Indices into `y_values`, increasing.
    yi: Vec<usize>,
    /// Column centres, increasing.
    xs: Vec<f64>,
    /// Row centres, increasing.
    ys: Vec<f64>,
    /// Column edges.
    xe: Vec<f64>,
    /// Row edges.
    ye: Vec<f64>,
}

impl Grid {
    /// The grid of `map`'s finite column and row centres.
    fn new(map: &HeatMap) -> Grid {
        let (xi, yi) = (order(&map.x_values), order(&map.y_values));
        let xs: Vec<f64> = xi.iter().map(|&i| map.x_values[i]).collect();
        let ys: Vec<f64> = yi.iter().map(|&j| map.y_values[j]).collect();
        let (xe, ye) = (edges(&xs), edges(&ys));
        Grid {
            xi,
            yi,
            xs,
            ys,
            xe,
            ye,
        }
    }

    /// A cell's width and height in pixels on `plot`.
    fn cell_size(&self, plot: &Chart<'_, '_>) -> (f64, f64) {
        let (w, h) = plot.plotting_area().dim_in_pixel();
        (
            w as f64 / self.xs.len().max(1) as f64,
            h as f64 / self.ys.len().max(1) as f64,
        )
    }
}

/// The colour scale: the outcome's range, and where a value falls in it.
struct Scale {
    lo: f64,
    hi: f64,
}

impl Scale {
    /// The scale of `map`: the z axis's range, or the data's (widened to a
    /// unit around a single value).
    fn new(map: &HeatMap) -> Scale {
        let (lo, hi) = map.z_axis.fixed_range().unwrap_or_else(|| {
            let (lo, hi) = ticks::extent(map.z.iter().copied()).unwrap_or((0.0, 1.0));
            if hi > lo {
                (lo, hi)
            } else {
                (lo - 0.5, lo + 0.5)
            }
        });
        Scale { lo, hi }
    }

    /// Where `v` falls on the scale, 0 at the bottom and 1 at the top.
    fn t(&self, v: f64) -> f64 {
        if self.hi > self.lo {
            (v - self.lo) / (self.hi - self.lo)
        } else {
            0.5
        }
    }
}

/// The legend: the highlighted point, grey for missing cells, and the
/// colour bar.
fn heat_legend(map: &HeatMap, scale: &Scale, missing: bool) -> Legend {
    let mut legend = Legend::default();
    if let Some((_, _, label)) = &map.highlight {
        legend.item(Key::Ring(INK), label.as_str());
    }
    if missing {
        legend.note(Key::Patch(MISSING, 1.0), "grey: no data");
    }
    legend.colour_bar(ColourBar {
        label: map.z_axis.label.clone(),
        lo: scale.lo,
        hi: scale.hi,
        format: map.z_axis.format,
        colour: viridis,
    });
    legend
}

/// Every cell, filled with its value's colour (grey where missing).
fn draw_cells(
    plot: &mut Chart<'_, '_>,
    map: &HeatMap,
    grid: &Grid,
    scale: &Scale,
) -> Result<(), PlotError> {
    let (nx, ny) = (map.x_values.len(), map.y_values.len());
    let (xe, ye) = (&grid.xe, &grid.ye);
    let mut cells = Vec::with_capacity(nx * ny);
    for (row, &j) in grid.yi.iter().enumerate() {
        for (col, &i) in grid.xi.iter().enumerate() {
            let v = map.z[j * nx + i];
            let colour = if v.is_finite() {
                viridis(scale.t(v))
            } else {
                MISSING
            };
            cells.push(Rectangle::new(
                [(xe[col], ye[row]), (xe[col + 1], ye[row + 1])],
                colour.filled(),
            ));
        }
    }
    plot.draw_series(cells)?;
    Ok(())
}

/// Values in cells, when every cell (`cw` x `ch` pixels) can hold one:
/// white on dark cells, ink on light ones.
fn draw_values(
    plot: &mut Chart<'_, '_>,
    map: &HeatMap,
    grid: &Grid,
    scale: &Scale,
    (cw, ch): (f64, f64),
) -> Result<(), PlotError> {
    let nx = map.x_values.len();
    let (xe, ye) = (&grid.xe, &grid.ye);
    let step = ticks::step(scale.lo, scale.hi, 6) / 10.0;
    let labels: Vec<(f64, f64, String, f64)> = grid
        .yi
        .iter()
        .enumerate()
        .flat_map(|(row, &j)| {
            grid.xi
                .iter()
                .enumerate()
                .map(move |(col, &i)| (row, j, col, i))
        })
        .filter_map(|(row, j, col, i)| {
            let v = map.z[j * nx + i];
            v.is_finite().then(|| {
                let x = (xe[col] + xe[col + 1]) / 2.0;
                let y = (ye[row] + ye[row + 1]) / 2.0;
                (x, y, ticks::label(v, step, map.z_axis.format), scale.t(v))
            })
        })
        .collect();
    let fits = ch >= size::SMALL * 1.6
        && labels
            .iter()
            .all(|(_, _, s, _)| text::width(s, size::SMALL) + 6.0 <= cw);
    if fits {
        for (x, y, s, tv) in labels {
            let colour = if tv < 0.6 { WHITE } else { INK };
            let style = text::style(size::SMALL, colour, HPos::Center, VPos::Center);
            plot.draw_series(std::iter::once(Text::new(s, (x, y), style)))?;
        }
    }
    Ok(())
}

/// The ring around the highlighted point, sized to a cell (`cw` x `ch`
/// pixels): it encloses a cell's value rather than covering it.
fn draw_highlight(
    plot: &mut Chart<'_, '_>,
    map: &HeatMap,
    (cw, ch): (f64, f64),
) -> Result<(), PlotError> {
    if let Some((hx, hy, _)) = map
        .highlight
        .as_ref()
        .filter(|(x, y, _)| x.is_finite() && y.is_finite())
    {
        let r = (cw.min(ch) * 0.42).clamp(8.0, 40.0) as i32;
        plot.draw_series([
            Circle::new((*hx, *hy), r, WHITE.stroke_width(5)),
            Circle::new((*hx, *hy), r, INK.stroke_width(2)),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_matches_its_published_ends_and_middle() {
        assert_eq!(viridis(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(0.5), RGBColor(0x21, 0x90, 0x8C));
        assert_eq!(viridis(1.0), RGBColor(0xFD, 0xE7, 0x25));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
    }

    #[test]
    fn viridis_gets_lighter_monotonically() {
        // Perceived lightness (Rec. 709 luma) rises along the map: what makes
        // it readable in grey and for colour-blind readers.
        let luma = |c: RGBColor| {
            0.2126 * f64::from(c.0) + 0.7152 * f64::from(c.1) + 0.0722 * f64::from(c.2)
        };
        let mut last = -1.0;
        for i in 0..=100 {
            let l = luma(viridis(i as f64 / 100.0));
            assert!(l > last, "at {i}");
            last = l;
        }
    }

    #[test]
    fn cell_edges_are_midpoints() {
        assert_eq!(edges(&[0.0, 1.0, 3.0]), vec![-0.5, 0.5, 2.0, 4.0]);
        assert_eq!(edges(&[2.0]), vec![1.8, 2.2]);
        assert_eq!(order(&[3.0, f64::NAN, 1.0, 2.0]), vec![2, 3, 0]);
    }
}
