//! Text for plots: the bundled font, text widths, wrapping, ellipsis and
//! sanitising.
//!
//! Every string a plot shows passes through here. Widths are measured with the
//! same font the rasteriser draws with (DejaVu Sans, compiled in), at the size
//! the SVG states, so titles wrap and long names are ellipsised before they
//! reach an edge instead of being clipped by it.

use std::sync::{Once, OnceLock};

use ab_glyph::{Font, FontRef};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform, IntoFont, RGBColor, TextStyle};

/// DejaVu Sans (see `assets/fonts/LICENSE-DejaVu.txt`).
pub(crate) static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The family written into SVG `font-family`: the bundled font first, so the
/// rasteriser (which knows only it) and viewers that have it agree, then a
/// generic fallback for viewers that do not. Registered under this exact
/// name with plotters, whose layout estimates use it.
pub(crate) const FAMILY: &str = "DejaVu Sans, sans-serif";

/// The font's own family name, as the rasteriser's font database knows it.
pub(crate) const FONT_NAME: &str = "DejaVu Sans";

/// plotters writes `font-size = size / 1.24` into SVG; sizes here are the
/// SVG's (CSS pixels per em), converted once in [`style`].
const PLOTTERS_SIZE_FACTOR: f64 = 1.24;

static REGISTER: Once = Once::new();

/// Registers the bundled font with plotters (for its text layout estimates).
pub(crate) fn register() {
    REGISTER.call_once(|| {
        // The font is compiled in and parses (tested), so this cannot fail.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn font() -> Option<&'static FontRef<'static>> {
    static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    PARSED
        .get_or_init(|| FontRef::try_from_slice(FONT).ok())
        .as_ref()
}

/// Text sizes in pixels (SVG `font-size`), one place for the whole toolkit.
pub(crate) mod size {
    pub const TITLE: f64 = 22.0;
    pub const SUBTITLE: f64 = 15.0;
    pub const AXIS: f64 = 15.0;
    pub const TICK: f64 = 13.0;
    pub const LEGEND: f64 = 14.0;
    pub const NOTE: f64 = 13.0;
    pub const CAPTION: f64 = 12.0;
    pub const SMALL: f64 = 12.0;
}

/// Width in pixels of `text` set at `px` pixels per em: the sum of the
/// glyphs' advances plus pair kerning from the font's `kern` table. The
/// rasteriser's shaper also applies GPOS kerning, which only tightens text,
/// so this never underestimates what is drawn by more than rounding.
pub(crate) fn width(text: &str, px: f64) -> f64 {
    let Some(font) = font() else {
        // Unreachable with the bundled font; a generous estimate keeps
        // layout conservative rather than failing.
        return text.chars().count() as f64 * px * 0.62;
    };
    let upem = f64::from(font.units_per_em().unwrap_or(2048.0));
    let mut units = 0.0f64;
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        units += f64::from(font.h_advance_unscaled(id));
        if let Some(p) = prev {
            units += f64::from(font.kern_unscaled(p, id));
        }
        prev = Some(id);
    }
    units * px / upem
}

/// Replaces what cannot appear in an SVG text node or on one line: control
/// characters (including newlines and tabs) become spaces, and the two
/// Unicode non-characters XML forbids become U+FFFD. Runs of spaces stay,
/// so a name keeps its look; XML escaping of `<`, `&` and quotes is done by
/// the SVG writer.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// `text` shortened with a trailing ellipsis to fit `max_width` pixels at
/// `px`; unchanged if it fits. Returns just "…" (or nothing) when even one
/// character does not fit.
pub(crate) fn ellipsize(text: &str, px: f64, max_width: f64) -> String {
    let text = clean(text);
    if width(&text, px) <= max_width {
        return text;
    }
    let chars: Vec<char> = text.chars().collect();
    // Binary search for the longest prefix that fits with the ellipsis.
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().collect::<String>() + "…";
        if width(&candidate, px) <= max_width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let prefix: String = chars[..lo].iter().collect();
    let prefix = prefix.trim_end();
    if prefix.is_empty() {
        if width("…", px) <= max_width {
            "…".into()
        } else {
            String::new()
        }
    } else {
        format!("{prefix}…")
    }
}

/// Greedy word wrap of `text` into lines of at most `max_width` pixels at
/// `px`, at most `max_lines` lines; the last line is ellipsised if text is
/// left over, and a word wider than a line is ellipsised on its own line.
pub(crate) fn wrap(text: &str, px: f64, max_width: f64, max_lines: usize) -> Vec<String> {
    let text = clean(text);
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, word) in words.iter().enumerate() {
        let candidate = if current.is_empty() {
            (*word).to_string()
        } else {
            format!("{current} {word}")
        };
        if width(&candidate, px) <= max_width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if lines.len() == max_lines {
            // Out of lines: the last one takes the rest, ellipsised.
            let rest = words[i..].join(" ");
            if let Some(last) = lines.last_mut() {
                *last = ellipsize(&format!("{last} {rest}"), px, max_width);
            }
            return lines;
        }
        current = if width(word, px) <= max_width {
            (*word).to_string()
        } else {
            ellipsize(word, px, max_width)
        };
    }
    if !current.is_empty() {
        if lines.len() == max_lines {
            if let Some(last) = lines.last_mut() {
                *last = ellipsize(&format!("{last} {current}"), px, max_width);
            }
        } else {
            lines.push(current);
        }
    }
    lines
}

/// A plotters text style in the bundled font at `px` SVG pixels.
pub(crate) fn style(px: f64, colour: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FAMILY, px * PLOTTERS_SIZE_FACTOR)
        .into_font()
        .color(&colour)
        .pos(Pos::new(h, v))
}

/// The same, rotated to read bottom to top (a y-axis label).
pub(crate) fn vertical(px: f64, colour: RGBColor) -> TextStyle<'static> {
    style(px, colour, HPos::Center, VPos::Center).transform(FontTransform::Rotate270)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_parses_and_measures() {
        assert!(font().is_some());
        // DejaVu Sans: "M" advances 1767 of 2048 units (its hmtx table), so
        // ten of them at 20.48 px are 176.7 px wide.
        let w = width("MMMMMMMMMM", 20.48);
        assert!((w - 176.7).abs() < 0.01, "{w}");
        assert_eq!(width("", 14.0), 0.0);
        assert!(width("Monte Carlo", 14.0) > width("Monte", 14.0));
    }

    #[test]
    fn wrapping_respects_the_width_and_keeps_every_word() {
        let text = "Myanmar after the 2021 coup, UN embargo from 2021Q3: suppliers' support for the regime";
        let lines = wrap(text, 22.0, 400.0, 5);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(width(line, 22.0) <= 400.0, "{line}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn wrapping_ellipsises_what_does_not_fit_in_the_lines_allowed() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(text, 14.0, 90.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'), "{lines:?}");
        for line in &lines {
            assert!(width(line, 14.0) <= 90.0, "{line}");
        }
        // A single word longer than a line is cut, not overflowing.
        let lines = wrap("Supercalifragilisticexpialidocious", 14.0, 60.0, 3);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with('…') && width(&lines[0], 14.0) <= 60.0);
    }

    #[test]
    fn ellipsis_only_when_needed() {
        assert_eq!(ellipsize("India", 14.0, 200.0), "India");
        let cut = ellipsize("Democratic People's Republic of Korea", 14.0, 120.0);
        assert!(cut.ends_with('…') && width(&cut, 14.0) <= 120.0, "{cut}");
        assert!(cut.starts_with("Democratic"));
        assert_eq!(ellipsize("India", 14.0, 1.0), "");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(clean("a\nb\tc\u{7}d\u{FFFF}"), "a b c d\u{FFFD}");
        assert_eq!(clean("<&\"'é>"), "<&\"'é>");
    }
}
