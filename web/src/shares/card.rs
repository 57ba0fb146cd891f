//! Share cards: the picture a chat app shows beside a shared link (Open Graph's `og:image`),
//! and what its owner can download. It is drawn as SVG around one of the page's own charts
//! (the same SVG the page shows, from [`crate::ui::charts`]) and rasterised on the server by resvg,
//! with the DejaVu fonts bundled in the binary (no system fonts, nothing fetched).

use std::sync::{Arc, OnceLock};

use maud::{PreEscaped, html};
use resvg::{tiny_skia, usvg};

use crate::error::AppError;
use crate::shares::view::CardFacts;

/// The card's size: Open Graph's usual 1.91:1.
pub const WIDTH: u32 = 1200;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 630;

const FONT_FAMILY: &str = "DejaVu Sans";
const INK: &str = "#1b1b1f";
const MUTED: &str = "#55565e";
const ACCENT: &str = "#1d6b4f";
const PAPER: &str = "#fbfbf8";

fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_font_data(include_bytes!("../../assets/fonts/DejaVuSans.ttf").to_vec());
            db.load_font_data(include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf").to_vec());
            Arc::new(db)
        })
        .clone()
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let kept: String = text.chars().take(max - 1).collect();
        format!("{}…", kept.trim_end())
    }
}

/// The page's chart as a nested `<svg>` placed at `x, y` in a `w × h` box, top left (its own
/// `viewBox` keeps its proportions); `None` when the chart drew nothing.
fn placed_chart(chart: &str, (x, y, w, h): (u32, u32, u32, u32)) -> Option<String> {
    let start = chart.find("<svg xmlns=")?;
    let end = chart[start..].find("</svg>")? + start + "</svg>".len();
    let svg = &chart[start..end];
    Some(svg.replacen(
        "width=\"100%\"",
        &format!(
            "x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"xMinYMin meet\""
        ),
        1,
    ))
}

/// The card's SVG: who shares, what, the period, up to three figures, and the chart.
pub fn svg(shared_by: &str, facts: &CardFacts) -> String {
    // The chart's names are links on the page; on a picture they are plain text.
    let (linked, plain) = crate::ui::charts::link_text_attributes();
    let chart = placed_chart(
        &facts.chart.0.replace(&linked, &plain),
        (640, 150, 500, 420),
    );
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } font-family=(FONT_FAMILY) {
            rect width=(WIDTH) height=(HEIGHT) fill=(PAPER) {}
            rect width=(WIDTH) height="14" fill=(ACCENT) {}
            text x="64" y="92" font-size="26" fill=(MUTED) { "Backspin · shared by " (cut(shared_by, 40)) }
            text x="64" y="160" font-size="52" font-weight="bold" fill=(INK) { (cut(&facts.title, 22)) }
            text x="64" y="210" font-size="28" fill=(MUTED) { (cut(&facts.period, 34)) }
            @for (i, (label, value)) in facts.figures.iter().take(3).enumerate() {
                @let y = 300 + 100 * i as u32;
                text x="64" y=(y) font-size="22" fill=(MUTED) { (cut(label, 36)) }
                text x="64" y=(y + 46) font-size="40" font-weight="bold" fill=(INK) { (cut(value, 24)) }
            }
            @if let Some(c) = &chart {
                text x="640" y="130" font-size="24" fill=(MUTED) { (cut(&chart_title(&facts.chart.0), 36)) }
                (PreEscaped(c))
            } @else {
                text x="640" y="300" font-size="28" fill=(MUTED) { "No listening in this period." }
            }
        }
    }
    .into_string()
}

/// The chart's title (its `figcaption`).
fn chart_title(chart: &str) -> String {
    let open = "<figcaption class=\"chart-title\"";
    chart
        .find(open)
        .and_then(|i| {
            let from = i + chart[i..].find('>')? + 1;
            let to = from + chart[from..].find("</figcaption>")?;
            Some(chart[from..to].to_string())
        })
        .map(|t| {
            t.replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
        })
        .unwrap_or_default()
}

/// The card as a PNG of [`WIDTH`] × [`HEIGHT`].
pub fn png(shared_by: &str, facts: &CardFacts) -> Result<Vec<u8>, AppError> {
    let options = usvg::Options {
        fontdb: fonts(),
        font_family: FONT_FAMILY.into(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(&svg(shared_by, facts), &options)
        .map_err(|e| AppError::Internal(format!("a share card's SVG: {e}")))?;
    let mut pixmap = tiny_skia::Pixmap::new(WIDTH, HEIGHT)
        .ok_or_else(|| AppError::Internal("a share card's canvas".into()))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| AppError::Internal(format!("a share card's PNG: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::charts::{self, Bar, Chart};

    fn facts() -> CardFacts {
        CardFacts {
            title: "2024 in music".into(),
            period: "2024".into(),
            figures: vec![
                ("Listening time".into(), "412 h".into()),
                ("Plays".into(), "9,876".into()),
                ("Artist of the year".into(), "Ada & the <Lovelaces>".into()),
            ],
            chart: charts::hbars(
                &Chart::new("card-artists", "Top artists"),
                &[
                    Bar::new("Ada & the <Lovelaces>", 20.0),
                    Bar::new("Grace", 10.0),
                ],
                "h",
            ),
        }
    }

    #[test]
    fn the_card_is_a_png_of_the_open_graph_size_with_ink_on_it() {
        let png = png("Ana", &facts()).expect("a card");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, right after the signature and chunk header.
        let w = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
        let h = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let pixmap = tiny_skia::Pixmap::decode_png(&png).expect("decodes");
        let ink = pixmap
            .pixels()
            .iter()
            .filter(|p| p.red() < 0x40 && p.green() < 0x40 && p.blue() < 0x40)
            .count();
        // The title and figures are drawn in dark ink (the fonts were found): thousands of
        // pixels; a card without text would have none.
        assert!(ink > 2_000, "{ink} dark pixels");
        let bar = pixmap
            .pixels()
            .iter()
            .filter(|p| (p.red(), p.green(), p.blue()) == (0x00, 0x72, 0xB2))
            .count();
        assert!(bar > 5_000, "the chart's bars are drawn: {bar} pixels");
    }

    #[test]
    fn names_are_escaped_and_the_chart_is_the_pages_own() {
        let svg = svg("Ana & <Bo>", &facts());
        assert!(svg.contains("shared by Ana &amp; &lt;Bo&gt;"), "{svg}");
        assert!(svg.contains("Ada &amp; the &lt;Lovelaces&gt;"));
        assert!(
            svg.contains("x=\"640\" y=\"150\" width=\"500\" height=\"420\""),
            "{svg}"
        );
        assert!(svg.contains(">Top artists</text>"));
    }
}
