//! The frame every figure shares: wrapped title and subtitle on top, the
//! chart, a legend in its own right-hand margin, the caption at the bottom.
//!
//! [`figure`] lays the frame out on an SVG canvas and hands the chart's
//! area to the primitive; [`Legend`] is what the primitive wants explained
//! ([`Key`]s with text, and optionally a [`ColourBar`]). Legend text wraps
//! within the margin and never overlaps the chart.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::text::{self, size};
use super::{
    Figure, Format, INK, MAX_PNG_SIDE, MIN_HEIGHT, MIN_WIDTH, MUTED, PlotError, PlotMeta, ticks,
};

/// The drawing area of an SVG figure.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Outer margin, pixels.
pub(crate) const MARGIN: i32 = 20;
/// Legend line height, pixels.
const LEGEND_LINE: i32 = 18;
/// Width of a legend key, pixels.
const KEY_WIDTH: i32 = 30;

/// Opacity of the light (90%) band.
pub(crate) const LIGHT: f64 = 0.16;
/// Opacity of the dark (50%) band.
pub(crate) const DARK: f64 = 0.34;

/// The mark a legend entry explains.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key {
    /// A series as drawn: light band, dark band, median line.
    Fan(RGBColor),
    /// A solid line of this width.
    Line(RGBColor, u32),
    /// A dashed line (event markers).
    Dashed(RGBColor),
    /// A filled patch at this opacity.
    Patch(RGBColor, f64),
    /// A dot.
    Dot(RGBColor),
    /// A ring (a highlighted point).
    Ring(RGBColor),
    /// A filled diamond with a dark outline (an observation).
    Diamond(RGBColor),
    /// An interval whisker.
    Whisker(RGBColor),
    /// No mark: a heading or note.
    None,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    key: Key,
    text: String,
    muted: bool,
}

/// A colour scale explained in the legend (heat maps).
pub(crate) struct ColourBar {
    /// What the colour measures.
    pub label: String,
    /// Value at the bottom of the bar.
    pub lo: f64,
    /// Value at the top.
    pub hi: f64,
    /// Tick format.
    pub format: Format,
    /// Colour of a value in `[lo, hi]`.
    pub colour: fn(f64) -> RGBColor,
}

/// What a figure's legend explains, top to bottom.
#[derive(Default)]
pub(crate) struct Legend {
    entries: Vec<Entry>,
    bar: Option<ColourBar>,
}

impl Legend {
    /// An entry in ink.
    pub fn item(&mut self, key: Key, text: impl Into<String>) -> &mut Self {
        self.entries.push(Entry {
            key,
            text: text.into(),
            muted: false,
        });
        self
    }

    /// An entry in the secondary colour (how to read the marks).
    pub fn note(&mut self, key: Key, text: impl Into<String>) -> &mut Self {
        self.entries.push(Entry {
            key,
            text: text.into(),
            muted: true,
        });
        self
    }

    /// A blank line between groups.
    pub fn gap(&mut self) -> &mut Self {
        if !self.entries.is_empty() {
            self.entries.push(Entry {
                key: Key::None,
                text: String::new(),
                muted: false,
            });
        }
        self
    }

    /// The three lines that say what a fan's marks mean (median, middle
    /// 50% and 90% of `what`), or for a chart of probabilities (`interval`
    /// says what its one band is) the two that say how to read the line and
    /// that band.
    pub fn bands_or_probability(&mut self, what: &str, interval: Option<&str>) -> &mut Self {
        if let Some(interval) = interval {
            return probability_legend(self, what, interval);
        }
        let grey = super::GREY;
        self.gap()
            .note(Key::Line(grey, 3), "line: median")
            .note(
                Key::Patch(grey, DARK + LIGHT),
                format!("dark band: middle 50% of {what}"),
            )
            .note(
                Key::Patch(grey, LIGHT),
                format!("light band: middle 90% of {what}"),
            )
    }

    /// Adds a colour bar below the entries.
    pub fn colour_bar(&mut self, bar: ColourBar) -> &mut Self {
        self.bar = Some(bar);
        self
    }
}

/// The legend margin's width for a canvas `width` pixels wide.
pub(crate) fn legend_width(width: u32) -> i32 {
    ((width as f64 * 0.22) as i32).clamp(180, 300)
}

/// Moves every stroke of odd whole width by half a pixel.
///
/// plotters puts strokes on whole coordinates, so a 1-pixel line straddles
/// two pixel rows and is drawn as a blurred 2-pixel grey band, in browsers
/// and in the PNG alike. Shifted by half a pixel it covers whole rows.
/// Fills (bands, bars, cells) stay where they are: their edges are on pixel
/// boundaries, and shifting them would leave seams between neighbours.
/// plotters writes one element per line, so this edits whole lines.
fn crisp_strokes(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len() + 4096);
    for line in svg.split_inclusive('\n') {
        let stroked = line.starts_with("<line ")
            || line.starts_with("<polyline ")
            || (line.starts_with("<rect ") && line.contains("fill=\"none\""));
        let odd = line
            .split_once("stroke-width=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .and_then(|(w, _)| w.parse::<u32>().ok())
            .is_some_and(|w| w % 2 == 1);
        match line.split_once(' ') {
            Some((tag, rest)) if stroked && odd => {
                out.push_str(tag);
                out.push_str(" transform=\"translate(0.5 0.5)\" ");
                out.push_str(rest);
            }
            _ if line.starts_with("<text ") => out.push_str(&round_font_size(line)),
            _ => out.push_str(line),
        }
    }
    out
}

/// plotters writes `font-size` as its size divided by 1.24, which leaves
/// float noise ("13.000000000000002"); two decimals say the same.
fn round_font_size(line: &str) -> String {
    const KEY: &str = "font-size=\"";
    let Some(start) = line.find(KEY).map(|i| i + KEY.len()) else {
        return line.to_string();
    };
    let Some(len) = line[start..].find('"') else {
        return line.to_string();
    };
    match line[start..start + len].parse::<f64>() {
        Ok(size) => {
            let rounded = format!("{:.2}", size);
            let rounded = rounded.trim_end_matches('0').trim_end_matches('.');
            format!("{}{}{}", &line[..start], rounded, &line[start + len..])
        }
        Err(_) => line.to_string(),
    }
}

/// Draws the frame of `meta` with `legend`, then the chart by `body` in the
/// area left for it, and returns the figure.
pub(crate) fn figure(
    meta: &PlotMeta,
    legend: &Legend,
    body: impl FnOnce(&Area<'_>) -> Result<(), PlotError>,
) -> Result<Figure, PlotError> {
    let scale = png_scale(meta)?;
    text::register();
    let (w, h) = (meta.width as i32, meta.height as i32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (meta.width, meta.height)).into_drawing_area();
        root.fill(&WHITE)?;
        let inner = (w - 2 * MARGIN) as f64;
        let header = draw_header(&root, meta, inner)?;
        let footer = draw_footer(&root, meta, inner)?;

        let lw = legend_width(meta.width);
        if h - header - footer < 120 {
            return Err(PlotError::TooSmall {
                width: meta.width,
                height: meta.height,
            });
        }
        let chart = root.margin(header, footer, MARGIN / 2, lw);
        body(&chart)?;
        draw_legend(
            &root,
            legend,
            (w - lw + 10, header + 12),
            (lw - 10 - MARGIN, h - footer - header - 12),
        )?;
        root.present()?;
    }
    Ok(Figure {
        svg: crisp_strokes(&svg),
        width: meta.width,
        height: meta.height,
        png_scale: scale,
    })
}

/// The PNG scale of `meta` (clamped to 1 to 4), once its canvas is known to
/// be neither too small for a figure nor too large as a PNG.
fn png_scale(meta: &PlotMeta) -> Result<u32, PlotError> {
    if meta.width < MIN_WIDTH || meta.height < MIN_HEIGHT {
        return Err(PlotError::TooSmall {
            width: meta.width,
            height: meta.height,
        });
    }
    let scale = meta.png_scale.clamp(1, 4);
    let png = (
        u64::from(meta.width) * u64::from(scale),
        u64::from(meta.height) * u64::from(scale),
    );
    if png.0 > MAX_PNG_SIDE || png.1 > MAX_PNG_SIDE {
        return Err(PlotError::TooLarge {
            width: png.0,
            height: png.1,
        });
    }
    Ok(scale)
}

/// Draws the header (the title, then the subtitle, each wrapped to `inner`
/// pixels) and returns the height it takes from the top.
fn draw_header(root: &Area<'_>, meta: &PlotMeta, inner: f64) -> Result<i32, PlotError> {
    let mut y = MARGIN - 4;
    for line in text::wrap(&meta.title, size::TITLE, inner, 3) {
        let style = text::style(size::TITLE, INK, HPos::Left, VPos::Top);
        root.draw(&Text::new(line, (MARGIN, y), style))?;
        y += (size::TITLE * 1.3) as i32;
    }
    if let Some(subtitle) = &meta.subtitle {
        for line in text::wrap(subtitle, size::SUBTITLE, inner, 2) {
            let style = text::style(size::SUBTITLE, MUTED, HPos::Left, VPos::Top);
            root.draw(&Text::new(line, (MARGIN, y), style))?;
            y += (size::SUBTITLE * 1.4) as i32;
        }
    }
    Ok(y + 6)
}

/// Draws the footer (the caption, wrapped to `inner` pixels, bottom-aligned)
/// and returns the height it takes from the bottom.
fn draw_footer(root: &Area<'_>, meta: &PlotMeta, inner: f64) -> Result<i32, PlotError> {
    let h = meta.height as i32;
    let caption = text::wrap(&meta.caption.text(), size::CAPTION, inner, 3);
    let line = (size::CAPTION * 1.4) as i32;
    let footer = MARGIN / 2 + line * caption.len() as i32 + 6;
    let mut y = h - MARGIN / 2 - line * caption.len() as i32;
    for text_line in caption {
        let style = text::style(size::CAPTION, MUTED, HPos::Left, VPos::Top);
        root.draw(&Text::new(text_line, (MARGIN, y), style))?;
        y += line;
    }
    Ok(footer)
}

fn draw_legend(
    root: &Area<'_>,
    legend: &Legend,
    (x, y0): (i32, i32),
    (width, height): (i32, i32),
) -> Result<(), PlotError> {
    let text_x = x + KEY_WIDTH + 8;
    let text_width = (width - KEY_WIDTH - 8) as f64;
    let bottom = y0 + height;
    let mut y = y0;
    for entry in &legend.entries {
        if entry.text.is_empty() {
            y += LEGEND_LINE / 2;
            continue;
        }
        let (text_x, text_width) = match entry.key {
            Key::None => (x, width as f64),
            _ => (text_x, text_width),
        };
        // Names get two lines, notes three: a long name is ellipsised
        // rather than crowding out the rest of the legend.
        let (max_lines, px) = if entry.muted {
            (3, size::NOTE)
        } else {
            (2, size::LEGEND)
        };
        let lines = text::wrap(&entry.text, px, text_width, max_lines);
        let needed = LEGEND_LINE * lines.len() as i32;
        if y + needed > bottom {
            break;
        }
        draw_key(root, entry.key, (x, y + LEGEND_LINE / 2))?;
        let colour = if entry.muted { MUTED } else { INK };
        for (i, line) in lines.into_iter().enumerate() {
            let style = text::style(px, colour, HPos::Left, VPos::Center);
            root.draw(&Text::new(
                line,
                (text_x, y + LEGEND_LINE / 2 + LEGEND_LINE * i as i32),
                style,
            ))?;
        }
        y += needed + 4;
    }
    if let Some(bar) = &legend.bar {
        draw_colour_bar(root, bar, (x, y + 8), (width, bottom - y - 8))?;
    }
    Ok(())
}

/// Draws `key` with its vertical centre at `y`, starting at `x`.
fn draw_key(root: &Area<'_>, key: Key, (x, y): (i32, i32)) -> Result<(), PlotError> {
    let w = KEY_WIDTH;
    match key {
        Key::Fan(c) => {
            root.draw(&Rectangle::new(
                [(x, y - 8), (x + w, y + 8)],
                c.mix(LIGHT).filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x, y - 4), (x + w, y + 4)],
                c.mix(DARK).filled(),
            ))?;
            root.draw(&Rectangle::new([(x, y - 1), (x + w, y + 2)], c.filled()))?;
        }
        Key::Line(c, width) => {
            let half = width as i32 / 2;
            root.draw(&Rectangle::new(
                [(x, y - half), (x + w, y - half + width as i32)],
                c.filled(),
            ))?;
        }
        Key::Dashed(c) => {
            for i in 0..4 {
                let x0 = x + i * 8;
                root.draw(&Rectangle::new([(x0, y - 1), (x0 + 5, y + 1)], c.filled()))?;
            }
        }
        Key::Patch(c, alpha) => {
            root.draw(&Rectangle::new(
                [(x, y - 7), (x + w, y + 7)],
                c.mix(alpha).filled(),
            ))?;
        }
        Key::Dot(c) => {
            root.draw(&Circle::new((x + w / 2, y), 4, c.filled()))?;
        }
        Key::Ring(c) => {
            root.draw(&Circle::new((x + w / 2, y), 7, c.stroke_width(2)))?;
        }
        Key::Diamond(c) => {
            diamond(root, (x + w / 2, y), 6, c)?;
        }
        Key::Whisker(c) => {
            root.draw(&Rectangle::new(
                [(x + 2, y), (x + w - 2, y + 1)],
                c.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x + 2, y - 5), (x + 3, y + 6)],
                c.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x + w - 3, y - 5), (x + w - 2, y + 6)],
                c.filled(),
            ))?;
        }
        Key::None => {}
    }
    Ok(())
}

/// A diamond of half-diagonal `r` at pixel `centre`, filled with `fill` and
/// outlined in ink (observations).
pub(crate) fn diamond<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (cx, cy): (i32, i32),
    r: i32,
    fill: RGBColor,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let points = vec![(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)];
    area.draw(&Polygon::new(points.clone(), fill.filled()))?;
    let mut outline = points;
    outline.push((cx, cy - r));
    area.draw(&PathElement::new(outline, INK.stroke_width(1)))?;
    Ok(())
}

fn draw_colour_bar(
    root: &Area<'_>,
    bar: &ColourBar,
    (x, y0): (i32, i32),
    (width, height): (i32, i32),
) -> Result<(), PlotError> {
    let lines = text::wrap(&bar.label, size::LEGEND, width as f64, 3);
    let mut y = y0;
    for line in &lines {
        let style = text::style(size::LEGEND, INK, HPos::Left, VPos::Top);
        root.draw(&Text::new(line.clone(), (x, y), style))?;
        y += LEGEND_LINE;
    }
    let top = y + 10;
    let bar_height = (height - (top - y0) - 10).min(320);
    if bar_height < 40 {
        return Ok(());
    }
    let bar_width = 22;
    // 64 steps, drawn bottom (lo) to top (hi).
    let steps = 64;
    for i in 0..steps {
        let t = (i as f64 + 0.5) / steps as f64;
        let y1 = top + bar_height - (bar_height * i) / steps;
        let y2 = top + bar_height - (bar_height * (i + 1)) / steps;
        root.draw(&Rectangle::new(
            [(x, y2), (x + bar_width, y1)],
            (bar.colour)(t).filled(),
        ))?;
    }
    root.draw(&Rectangle::new(
        [(x, top), (x + bar_width, top + bar_height)],
        INK.stroke_width(1),
    ))?;
    let (lo, hi) = if bar.hi > bar.lo {
        (bar.lo, bar.hi)
    } else {
        (bar.lo, bar.lo + 1.0)
    };
    let step = ticks::step(lo, hi, 6);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    for k in first..=last.min(first + 50) {
        let v = k as f64 * step;
        let ty = top + bar_height - (((v - lo) / (hi - lo)) * bar_height as f64).round() as i32;
        root.draw(&Rectangle::new(
            [(x + bar_width, ty), (x + bar_width + 5, ty + 1)],
            INK.filled(),
        ))?;
        let style = text::style(size::TICK, INK, HPos::Left, VPos::Center);
        root.draw(&Text::new(
            ticks::label(v, step, bar.format),
            (x + bar_width + 9, ty),
            style,
        ))?;
    }
    Ok(())
}

/// The legend notes of a chart of probabilities: the line is the share of
/// `what` in which the outcome holds, the band `interval`.
fn probability_legend<'l>(legend: &'l mut Legend, what: &str, interval: &str) -> &'l mut Legend {
    let grey = super::GREY;
    legend
        .gap()
        .note(
            Key::Line(grey, 3),
            format!("line: probability (share of {what} where it holds)"),
        )
        .note(Key::Patch(grey, LIGHT), format!("band: {interval}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_strokes_move_half_a_pixel_and_fills_stay() {
        let svg = "<svg>\n<line x1=\"0\" stroke-width=\"1\"/>\n<polyline fill=\"none\" stroke-width=\"3\" points=\"0,0 1,1\"/>\n\
                   <polyline fill=\"none\" stroke-width=\"2\" points=\"0,0\"/>\n<rect x=\"1\" fill=\"#FFF\" stroke=\"none\"/>\n\
                   <rect x=\"1\" fill=\"none\" stroke-width=\"1\"/>\n<polygon fill=\"#000\" points=\"0,0\"/>\n</svg>\n";
        let out = crisp_strokes(svg);
        let moved: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("translate(0.5 0.5)"))
            .collect();
        assert_eq!(moved.len(), 3, "{out}");
        assert!(moved[0].starts_with("<line transform"));
        assert!(moved[1].contains("stroke-width=\"3\""));
        assert!(moved[2].starts_with("<rect transform") && moved[2].contains("fill=\"none\""));
        assert_eq!(out.replace(" transform=\"translate(0.5 0.5)\"", ""), svg);
        assert_eq!(
            round_font_size("<text x=\"1\" font-size=\"13.000000000000002\" fill=\"#000\">"),
            "<text x=\"1\" font-size=\"13\" fill=\"#000\">"
        );
        assert_eq!(
            round_font_size("<text font-size=\"12.5\">"),
            "<text font-size=\"12.5\">"
        );
    }
}
