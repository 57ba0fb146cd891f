//! Chart renderers for the dashboards: data in, inline SVG out, as `Markup`. Pure functions,
//! no I/O.
//!
//! Every chart is a `<figure class="chart">` holding an `<svg role="img">` whose `<title>` and
//! `<desc>` name it and sum it up in words, then a legend where colours need one, then
//! (unless [`Chart::with_table`] turns it off) a `<details>` with the numbers as a table, for
//! screen readers, for visitors without JavaScript and for anyone who wants the figures.
//!
//! The SVG scales to its container (`viewBox` and `width="100%"`, no pixel width); its text is
//! sized in the SVG's own units to stay readable on a phone, and the wide calendar scrolls
//! sideways there instead of shrinking. Marks that carry a value (`.mark`) are focusable and
//! hold a `<title>`: the browser shows it on hover, and `app.js` shows it on focus too and
//! moves between marks with the arrow keys. Nothing is styled inline (the Content-Security-
//! Policy forbids it): colours are SVG presentation attributes, everything else is in
//! `app.css`. Every name goes through maud's escaping.
//!
//! Colours: the sequential scale is one hue in 7 steps ([`SEQUENTIAL`], light for low values),
//! the categorical one Okabe–Ito ([`CATEGORICAL`]); both stay distinguishable with the common
//! colour-vision deficiencies and in greyscale (the sequential one by lightness).
//!
//! Values are `f64` in the caller's unit (`"h"`, `"plays"`, …); non-finite and negative values
//! are drawn as zero. Numbers are formatted deterministically (`1,234`, `12.5`, `0.25`).
//! Empty input renders "No data in this range." instead of an empty chart.

use maud::{Markup, html};

mod bars;
mod grids;
mod lines;
#[cfg(test)]
mod tests;

pub use bars::{bars, hbars, share_bar, stacked_share};
pub use grids::{calendar, heatmap};
pub use lines::{line, ridgeline};

/// The sequential scale, low to high: one hue (ColorBrewer's Blues), pale for little and dark
/// for much, so that quiet cells stay quiet and the eye goes to the busy ones.
pub const SEQUENTIAL: [&str; 7] = [
    "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b",
];

/// Categorical colours (Okabe–Ito), in the order series get them. Past eight series colours
/// repeat: merge the smallest series into an "Other" one first.
pub const CATEGORICAL: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// Text colour readable on each [`CATEGORICAL`] colour (contrast ≥ 4.5:1).
const INK_ON: [&str; 8] = [
    "#fff", "#000", "#000", "#000", "#000", "#000", "#000", "#fff",
];

/// The attributes of a name drawn as a link inside a chart, and of the same name drawn as
/// plain text: a shared view (the shares' `freeze`) swaps the one for the other.
pub(crate) fn link_text_attributes() -> (String, String) {
    (
        format!(" fill=\"{LINK}\" text-decoration=\"underline\""),
        format!(" fill=\"{INK}\""),
    )
}

/// What the page shows instead of a chart with nothing in it.
pub const NO_DATA: &str = "No data in this range.";

/// Fill of a calendar day without a value.
const EMPTY: &str = "#ebebe6";
const INK: &str = "#1b1b1f";
const MUTED: &str = "#55565e";
/// Link text, the stylesheet's link colour.
const LINK: &str = "#1d6b4f";
const GRID: &str = "#d9d9d2";
const BAR: &str = "#0072B2";
const RIDGE_FILL: &str = "#bfe0f5";
const GAP: &str = "#fff";

/// Width of every chart's coordinate system; the SVG scales it to its container.
const W: f64 = 420.0;
/// Text size, in the chart's units.
const FONT: f64 = 14.0;
/// Height of the charts with a value axis.
const AXIS_H: f64 = 240.0;
/// Line charts with more points than this get no focusable mark per point.
pub const MAX_POINT_MARKS: usize = 400;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// What every chart needs besides its data: a unique id, a title, a summary.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// Unique on the page; reduced to `[a-z0-9-]` (see [`sanitize_id`]). The figure gets it,
    /// the SVG's title and description `ID-title` and `ID-desc`.
    pub id: &'a str,
    /// What the chart shows ("Hours per month"): the SVG's accessible name.
    pub title: &'a str,
    /// The data in words ("Most listening: March 2021, 41 h."). Empty: the chart writes one
    /// from its data (extremes, range, total).
    pub desc: &'a str,
    /// Header of the data table's label column ("Month", "Artist"). Empty: a generic one.
    pub label_name: &'a str,
    /// Render the data table under the chart (on by default).
    pub table: bool,
}

impl<'a> Chart<'a> {
    /// A chart with a generated description and a data table.
    pub fn new(id: &'a str, title: &'a str) -> Chart<'a> {
        Chart {
            id,
            title,
            desc: "",
            label_name: "",
            table: true,
        }
    }

    /// With a description written by the caller.
    pub fn with_desc(mut self, desc: &'a str) -> Chart<'a> {
        self.desc = desc;
        self
    }

    /// With a header for the data table's label column.
    pub fn with_label_name(mut self, name: &'a str) -> Chart<'a> {
        self.label_name = name;
        self
    }

    /// With or without the data table.
    pub fn with_table(mut self, table: bool) -> Chart<'a> {
        self.table = table;
        self
    }

    /// The id the elements get.
    pub fn element_id(&self) -> String {
        sanitize_id(self.id)
    }

    fn label_name_or(&self, default: &'a str) -> &'a str {
        if self.label_name.is_empty() {
            default
        } else {
            self.label_name
        }
    }
}

/// One bar: a label on the category axis, a value, and the text its tooltip shows (empty:
/// `label: value unit`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category or period ("Mar 2021", an artist).
    pub label: String,
    /// Value in the chart's unit.
    pub value: f64,
    /// Tooltip and `<title>` text; empty for the default.
    pub tooltip: String,
    /// The page of what the bar stands for (an artist's, a track's): its name links there.
    pub link: Option<String>,
}

impl Bar {
    /// A bar with the default tooltip.
    pub fn new(label: impl Into<String>, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            tooltip: String::new(),
            link: None,
        }
    }

    /// With its name a link to `href`.
    pub fn with_link(mut self, href: impl Into<String>) -> Bar {
        self.link = Some(href.into());
        self
    }

    /// With its own tooltip text.
    pub fn with_tooltip(mut self, tooltip: impl Into<String>) -> Bar {
        self.tooltip = tooltip.into();
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// `12345` → `"12,345"`.
pub fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A duration in milliseconds for people: `"45 min"` under an hour, `"12.5 h"` under a
/// hundred hours, `"1,234 h"` above.
pub fn fmt_hours(ms: u64) -> String {
    let minutes = ms.saturating_add(30_000) / 60_000;
    if minutes < 60 {
        return if ms > 0 && minutes == 0 {
            "<1 min".to_owned()
        } else {
            format!("{minutes} min")
        };
    }
    let tenths = ms.saturating_add(180_000) / 360_000;
    if tenths < 1000 {
        return match tenths % 10 {
            0 => format!("{} h", tenths / 10),
            d => format!("{}.{d} h", tenths / 10),
        };
    }
    format!("{} h", fmt_int(ms.saturating_add(1_800_000) / 3_600_000))
}

/// An RFC 3339 UTC instant as every page writes one: to the minute, with its zone
/// (`2024-05-01T12:00:59Z` → `"2024-05-01 12:00 UTC"`).
pub fn fmt_instant(rfc3339: &str) -> String {
    format!("{} UTC", rfc3339[..16.min(rfc3339.len())].replace('T', " "))
}

/// A count and its noun, singular for one: `"1 day"`, `"12,345 plays"`. The plural adds an
/// `s` (every noun the pages count takes one).
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", fmt_int(n))
    }
}

/// A value with as many decimals as it deserves: `1,234`, `41.3`, `7.5`, `0.25`.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let a = v.abs();
    let s = if a >= 99.95 {
        fmt_int(a.round() as u64)
    } else if a >= 0.995 {
        trim_zeros(format!("{a:.1}"))
    } else {
        trim_zeros(format!("{a:.2}"))
    };
    if v < 0.0 && s != "0" {
        format!("-{s}")
    } else {
        s
    }
}

/// A value and its unit: `"41 h"`, `"12,345 plays"`, `"7.5"`. Hours follow the pages' one
/// rule for durations ([`fmt_hours`]: `"26 min"` under an hour, never `"0.43 h"`).
pub fn fmt_value(v: f64, unit: &str) -> String {
    if unit == "h" && v.is_finite() {
        return fmt_hours((v.max(0.0) * 3_600_000.0).round() as u64);
    }
    if unit.is_empty() {
        fmt_num(v)
    } else {
        format!("{} {unit}", fmt_num(v))
    }
}

/// A share of a whole (0 to 1) as a whole percentage; `"<1 %"` for a sliver.
pub fn fmt_pct(share: f64) -> String {
    let p = clean(share) * 100.0;
    if p > 0.0 && p < 0.5 {
        "<1 %".to_owned()
    } else {
        format!("{} %", p.round() as u64)
    }
}

/// An axis tick: compact above ten thousand (`25k`, `1.5M`).
fn fmt_tick(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", fmt_num(v / 1e6))
    } else if v >= 1e4 {
        format!("{}k", fmt_num(v / 1e3))
    } else {
        fmt_num(v)
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// "Nice" ticks for a value axis from zero: 4 to 6 evenly spaced multiples of 1, 2, 2.5 or 5
/// times a power of ten, the last one at or above `max`. A `max` of zero (or less, or not a
/// number) gets the ticks of 1.
pub fn nice_ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let exp = (max / 5.0).log10().floor() as i32;
    let tick = |i: usize, m: f64| {
        let k = i as f64 * m;
        if exp < 0 {
            k / 10f64.powi(-exp)
        } else {
            k * 10f64.powi(exp)
        }
    };
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        let n = (max / tick(1, m) - 1e-9).ceil().max(1.0) as usize;
        if n <= 5 {
            return (0..=n).map(|i| tick(i, m)).collect();
        }
    }
    vec![0.0, max / 2.0, max]
}

/// An element id from any text: lower-case ASCII letters, digits and `-`; anything else
/// becomes `-`. Never empty (`"chart"`).
pub fn sanitize_id(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|ch| {
            let ch = ch.to_ascii_lowercase();
            if ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' {
                ch
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-');
    if s.is_empty() {
        "chart".to_owned()
    } else {
        s.to_owned()
    }
}

/// A value fit to draw: finite and not below zero.
fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

/// A coordinate with one decimal at most, in tenths rounded half away from zero. Counted in
/// integers: a chart has thousands, and the float formatter's exact decimals cost several
/// times more.
fn c(v: f64) -> String {
    let tenths = (v * 10.0).round();
    if !tenths.is_finite() || tenths.abs() >= 1e15 {
        return "0".to_owned();
    }
    let t = tenths as i64;
    let sign = if t < 0 { "-" } else { "" };
    let t = t.unsigned_abs();
    if t.is_multiple_of(10) {
        format!("{sign}{}", t / 10)
    } else {
        format!("{sign}{}.{}", t / 10, t % 10)
    }
}

/// Rough width of a text in the chart's units.
fn text_w(s: &str, font: f64) -> f64 {
    s.chars().count() as f64 * font * 0.62
}

/// At most `max` characters, with an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Index into [`SEQUENTIAL`] for `v` on a `lo`–`hi` scale: `lo` gets the first colour, `hi`
/// the last.
fn scale_index(v: f64, lo: f64, hi: f64) -> usize {
    let n = SEQUENTIAL.len();
    if hi <= lo {
        return if v > 0.0 { n - 1 } else { 0 };
    }
    let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    ((t * n as f64).floor() as usize).min(n - 1)
}

fn max_of(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().map(clean).fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------------
// Frame, axes, legends, tables

/// A rendered chart's parts.
struct Figure {
    kind: &'static str,
    w: f64,
    h: f64,
    font: f64,
    /// Scrolls sideways on narrow screens rather than shrinking.
    wide: bool,
    /// The generated description (used when the caller gave none).
    desc: String,
    body: Markup,
    legend: Option<Markup>,
    table: Option<Markup>,
}

fn render(chart: &Chart, f: Figure) -> Markup {
    let id = chart.element_id();
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let desc = if chart.desc.trim().is_empty() {
        f.desc
    } else {
        chart.desc.to_owned()
    };
    html! {
        figure class={ "chart chart-" (f.kind) } id=(id) {
            // The visible title; screen readers hear the SVG's own (the same words) once.
            figcaption.chart-title aria-hidden="true" { (chart.title) }
            div.chart-scroll {
                svg xmlns="http://www.w3.org/2000/svg" class=[f.wide.then_some("wide")]
                    viewBox={ "0 0 " (c(f.w)) " " (c(f.h)) } width="100%"
                    role="img" aria-labelledby={ (title_id) " " (desc_id) } font-size=(c(f.font)) {
                    title id=(title_id) { (chart.title) }
                    desc id=(desc_id) { (desc) }
                    (f.body)
                }
            }
            @if let Some(legend) = f.legend { (legend) }
            @if let Some(table) = f.table { (table) }
        }
    }
}

/// A chart with nothing to draw: its title, and a line saying so.
fn no_data(chart: &Chart) -> Markup {
    html! {
        figure.chart.chart-none id=(chart.element_id()) {
            figcaption.chart-title { (chart.title) }
            p.chart-empty { (NO_DATA) }
        }
    }
}

/// The data table under a chart: a header row, then one row per label.
fn data_table(chart: &Chart, head: &[String], rows: Vec<(String, Vec<String>)>) -> Markup {
    html! {
        details.chart-data {
            summary { "Data" span.visually-hidden { ": " (chart.title) } }
            div.table-scroll {
                table {
                    caption.visually-hidden { (chart.title) }
                    thead { tr { @for h in head { th scope="col" { (h) } } } }
                    tbody {
                        @for (label, cells) in &rows {
                            tr {
                                th scope="row" { (label) }
                                @for cell in cells { td { (cell) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn swatch(colour: &str) -> Markup {
    html! {
        svg.swatch viewBox="0 0 10 10" width="12" height="12" aria-hidden="true" {
            rect width="10" height="10" fill=(colour) {}
        }
    }
}

/// The sequential scale from `lo` to `hi`, optionally after a swatch for "nothing".
fn scale_legend(lo: &str, hi: &str, empty: Option<&str>) -> Markup {
    let n = SEQUENTIAL.len();
    html! {
        div.chart-legend {
            @if let Some(label) = empty {
                span.key { (swatch(EMPTY)) (label) }
            }
            span.key {
                (lo)
                svg.scale viewBox={ "0 0 " (n * 10) " 10" } width=(n * 10) height="10" aria-hidden="true" {
                    @for (i, colour) in SEQUENTIAL.iter().enumerate() {
                        rect x=(i * 10) width="10" height="10" fill=(colour) {}
                    }
                }
                (hi)
            }
        }
    }
}

fn categorical_legend<'s>(keys: impl IntoIterator<Item = (usize, &'s str, String)>) -> Markup {
    html! {
        div.chart-legend {
            @for (i, name, extra) in keys {
                span.key {
                    (swatch(CATEGORICAL[i % CATEGORICAL.len()]))
                    (name)
                    @if !extra.is_empty() { " " span.value { (extra) } }
                }
            }
        }
    }
}

/// A value axis on the left and the plotting area right of it.
struct Plot {
    left: f64,
    right: f64,
    top: f64,
    base: f64,
    top_value: f64,
    ticks: Vec<(f64, String)>,
}

impl Plot {
    fn new(ticks: Vec<f64>, label: fn(f64) -> String) -> Plot {
        let mut ticks: Vec<(f64, String)> = ticks.into_iter().map(|t| (t, label(t))).collect();
        // Small steps can round to one label twice ("0.01", "0.01"): as many decimals as it
        // takes to tell the ticks apart.
        let mut decimals = 2;
        while decimals < 6 && ticks.windows(2).any(|w| w[0].1 == w[1].1) {
            decimals += 1;
            for (t, l) in &mut ticks {
                *l = trim_zeros(format!("{:.*}", decimals, t));
            }
        }
        let widest = ticks
            .iter()
            .map(|(_, s)| text_w(s, FONT))
            .fold(0.0, f64::max);
        let top_value = ticks.last().map_or(1.0, |t| t.0);
        Plot {
            left: (widest + 10.0).max(24.0).ceil(),
            right: W - 6.0,
            top: 24.0,
            base: AXIS_H - 28.0,
            top_value: if top_value > 0.0 { top_value } else { 1.0 },
            ticks,
        }
    }

    fn width(&self) -> f64 {
        self.right - self.left
    }

    fn y(&self, v: f64) -> f64 {
        self.base - (clean(v) / self.top_value).min(1.0) * (self.base - self.top)
    }

    /// Grid lines, tick labels, the unit above them and the base line.
    fn axes(&self, unit: &str) -> Markup {
        html! {
            g.axis {
                @if !unit.is_empty() {
                    text x="0" y="14" fill=(MUTED) { (unit) }
                }
                @for (t, label) in &self.ticks {
                    @let y = c(self.y(*t));
                    line x1=(c(self.left)) x2=(c(self.right)) y1=(y) y2=(y) stroke=(GRID) stroke-width="1" {}
                    text x=(c(self.left - 6.0)) y=(c(self.y(*t) + 4.5)) text-anchor="end" fill=(MUTED) { (label) }
                }
                line x1=(c(self.left)) x2=(c(self.right)) y1=(c(self.base)) y2=(c(self.base)) stroke=(MUTED) stroke-width="1" {}
            }
        }
    }
}

/// How labels along an axis are thinned.
#[derive(Clone, Copy)]
enum Thin {
    /// Every k-th label from the first (categories, bars).
    Every,
    /// A few spread evenly from the first to the last (a continuous time axis).
    Spread,
}

/// Labels along a category axis, thinned so that they don't overlap (and kept inside the
/// chart: one pushed in from an edge drops its neighbour if they would touch).
fn category_labels<S: AsRef<str>>(
    labels: &[S],
    x_of: impl Fn(usize) -> f64,
    band: f64,
    y: f64,
    thin: Thin,
) -> Markup {
    const PAD: f64 = 10.0;
    let n = labels.len();
    let shown: Vec<String> = labels.iter().map(|l| truncate(l.as_ref(), 12)).collect();
    let widest = shown.iter().map(|s| text_w(s, FONT)).fold(0.0, f64::max);
    let indices: Vec<usize> = match thin {
        Thin::Spread if n > 1 => {
            // Evenly spread over the room the labels have (the ends are pushed in by half a
            // label), each at the point nearest its place.
            let (x0, x1) = (x_of(0), x_of(n - 1));
            let (a, b) = (x0.max(widest / 2.0), x1.min(W - widest / 2.0));
            let count = (((b - a) / (widest + PAD)).floor().max(0.0) as usize + 1).min(n);
            (0..count)
                .map(|j| {
                    let t = if count > 1 {
                        a + (b - a) * j as f64 / (count - 1) as f64
                    } else {
                        a
                    };
                    (((t - x0) / (x1 - x0)).clamp(0.0, 1.0) * (n - 1) as f64).round() as usize
                })
                .collect()
        }
        _ => {
            let every = ((widest + PAD) / band.max(0.01)).ceil().max(1.0) as usize;
            (0..n).step_by(every).collect()
        }
    };
    let mut placed: Vec<(f64, &str)> = Vec::new();
    let mut right_edge = f64::NEG_INFINITY;
    for i in indices {
        let half = text_w(&shown[i], FONT) / 2.0;
        let x = x_of(i).clamp(half, W - half);
        if x - half >= right_edge + PAD {
            placed.push((x, &shown[i]));
            right_edge = x + half;
        }
    }
    html! {
        g.labels {
            @for (x, label) in placed {
                text x=(c(x)) y=(c(y)) text-anchor="middle" fill=(MUTED) { (label) }
            }
        }
    }
}

/// The label and value of the highest and lowest entries, in words.
fn extremes<'s>(items: impl Iterator<Item = (&'s str, f64)>, unit: &str) -> String {
    let mut hi: Option<(&str, f64)> = None;
    let mut lo: Option<(&str, f64)> = None;
    for (label, v) in items {
        let v = clean(v);
        if hi.is_none_or(|(_, h)| v > h) {
            hi = Some((label, v));
        }
        if lo.is_none_or(|(_, l)| v < l) {
            lo = Some((label, v));
        }
    }
    match (hi, lo) {
        (Some((hl, hv)), Some((ll, lv))) => format!(
            "Highest: {hl}, {}. Lowest: {ll}, {}.",
            fmt_value(hv, unit),
            fmt_value(lv, unit)
        ),
        _ => String::new(),
    }
}

fn span_words(first: &str, last: &str, n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}: {first}.")
    } else {
        format!("{n} {what}s from {first} to {last}.")
    }
}

// ---------------------------------------------------------------------------------------------
// Charts
