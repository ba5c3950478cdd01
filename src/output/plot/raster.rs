//! SVG to PNG: resvg renders the figure's own SVG with the bundled font.
//!
//! plotters' bitmap text engine places each glyph without its left side
//! bearing and at a truncated whole-pixel pen position, so letter gaps vary
//! with the glyphs ("Fi ve-year", "Mo nte Carlo"). resvg lays text out with
//! a shaper (harfrust: advances, GPOS and `kern` kerning, sub-pixel pen
//! positions) and anti-aliases outlines, so the PNG's text is set as a
//! browser would set the SVG. Its font database holds only the bundled
//! DejaVu Sans: no system fonts, no fontconfig, identical on every machine.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use super::PlotError;
use super::text::{FONT, FONT_NAME};

fn fonts() -> Arc<fontdb::Database> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_font_source(fontdb::Source::Binary(Arc::new(FONT)));
        // Generic families resolve to the one font we have.
        db.set_sans_serif_family(FONT_NAME);
        db.set_serif_family(FONT_NAME);
        db.set_monospace_family(FONT_NAME);
        Arc::new(db)
    })
    .clone()
}

/// Rasterises `svg` into a `size` PNG, `scale` device pixels per SVG pixel.
/// (Strokes are already on pixel centres: see `frame::crisp_strokes`.)
pub(crate) fn png(svg: &str, size: (u32, u32), scale: u32) -> Result<Vec<u8>, PlotError> {
    let options = usvg::Options {
        fontdb: fonts(),
        font_family: FONT_NAME.into(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| PlotError::Render(e.to_string()))?;
    let mut pixmap = Pixmap::new(size.0, size.1).ok_or(PlotError::Render(format!(
        "cannot allocate a {}x{} image",
        size.0, size.1
    )))?;
    pixmap.fill(Color::WHITE);
    let s = scale.max(1) as f32;
    let transform = Transform::from_scale(s, s);
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| PlotError::Encode(e.to_string()))
}
