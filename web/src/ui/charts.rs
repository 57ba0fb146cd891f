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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use maud::{Markup, html};

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

/// A coordinate with one decimal at most.
fn c(v: f64) -> String {
    let s = trim_zeros(format!("{v:.1}"));
    if s == "-0" { "0".to_owned() } else { s }
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

/// A vertical bar chart over a category or time axis, with a value axis of nice ticks.
pub fn bars(chart: &Chart, points: &[Bar], y_unit: &str) -> Markup {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return no_data(chart);
    };
    let values: Vec<f64> = points.iter().map(|p| clean(p.value)).collect();
    let plot = Plot::new(nice_ticks(max_of(values.iter().copied())), fmt_tick);
    let band = plot.width() / points.len() as f64;
    let width = if band > 3.0 { band * 0.8 } else { band };
    let body = html! {
        (plot.axes(y_unit))
        g.marks {
            @for (i, p) in points.iter().enumerate() {
                @let y = plot.y(values[i]);
                rect.mark tabindex="0" x=(c(plot.left + band * i as f64 + (band - width) / 2.0)) y=(c(y))
                    width=(c(width)) height=(c(plot.base - y)) fill=(BAR) {
                    title { (tooltip(p, values[i], y_unit)) }
                }
            }
        }
        (category_labels(&points.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
            |i| plot.left + band * (i as f64 + 0.5), band, plot.base + 18.0, Thin::Every))
    };
    let desc = format!(
        "{} {}",
        span_words(&first.label, &last.label, points.len(), "bar"),
        extremes(points.iter().map(|p| (p.label.as_str(), p.value)), y_unit)
    );
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[chart.label_name_or("Label").to_owned(), "Value".to_owned()],
            points
                .iter()
                .map(|p| (p.label.clone(), vec![fmt_value(clean(p.value), y_unit)]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "bars",
            w: W,
            h: AXIS_H,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: None,
            table,
        },
    )
}

fn tooltip(bar: &Bar, value: f64, unit: &str) -> String {
    if bar.tooltip.is_empty() {
        format!("{}: {}", bar.label, fmt_value(value, unit))
    } else {
        bar.tooltip.clone()
    }
}

/// Horizontal ranked bars (a top list): rank and name above each bar, the value at its end.
pub fn hbars(chart: &Chart, rows: &[Bar], unit: &str) -> Markup {
    if rows.is_empty() {
        return no_data(chart);
    }
    const ROW: f64 = 38.0;
    const NAME_CHARS: usize = 47;
    let values: Vec<f64> = rows.iter().map(|r| clean(r.value)).collect();
    let labels: Vec<String> = values.iter().map(|v| fmt_value(*v, unit)).collect();
    let max = max_of(values.iter().copied());
    let room = W - labels.iter().map(|s| text_w(s, FONT)).fold(0.0, f64::max) - 8.0;
    let h = rows.len() as f64 * ROW + 4.0;
    let body = html! {
        @for (i, r) in rows.iter().enumerate() {
            @let y0 = 4.0 + ROW * i as f64;
            @let width = if max > 0.0 { values[i] / max * room } else { 0.0 };
            @if let Some(href) = &r.link {
                a.name href=(href) {
                    text x="0" y=(c(y0 + 14.0)) fill=(LINK) text-decoration="underline" { (i + 1) ". " (truncate(&r.label, NAME_CHARS)) }
                }
            } @else {
                text x="0" y=(c(y0 + 14.0)) fill=(INK) { (i + 1) ". " (truncate(&r.label, NAME_CHARS)) }
            }
            rect.mark tabindex="0" x="0" y=(c(y0 + 19.0)) width=(c(width)) height="12" fill=(BAR) {
                title { (i + 1) ". " (tooltip(r, values[i], unit)) }
            }
            text x=(c(width + 6.0)) y=(c(y0 + 30.0)) fill=(MUTED) { (labels[i]) }
        }
    };
    let desc = match rows.first() {
        Some(top) if rows.len() > 1 => format!(
            "{} entries. First: {}, {}. Last: {}, {}.",
            rows.len(),
            top.label,
            labels[0],
            rows[rows.len() - 1].label,
            labels[rows.len() - 1]
        ),
        _ => format!("{}: {}.", rows[0].label, labels[0]),
    };
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[
                "Rank".to_owned(),
                chart.label_name_or("Name").to_owned(),
                "Value".to_owned(),
            ],
            rows.iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        (i + 1).to_string(),
                        vec![r.label.clone(), labels[i].clone()],
                    )
                })
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "hbars",
            w: W,
            h,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: None,
            table,
        },
    )
}

/// A filled line over time, drawn as one `<path>` however long the series; each point gets an
/// invisible focusable column only up to [`MAX_POINT_MARKS`] points.
pub fn line(chart: &Chart, points: &[(String, f64)], y_unit: &str) -> Markup {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return no_data(chart);
    };
    let n = points.len();
    let values: Vec<f64> = points.iter().map(|p| clean(p.1)).collect();
    let plot = Plot::new(nice_ticks(max_of(values.iter().copied())), fmt_tick);
    let step = if n > 1 {
        plot.width() / (n - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| {
        if n > 1 {
            plot.left + step * i as f64
        } else {
            plot.left + plot.width() / 2.0
        }
    };
    let mut d = String::with_capacity(n * 12 + 32);
    let _ = write!(d, "M{},{}", c(x(0)), c(plot.base));
    for (i, v) in values.iter().enumerate() {
        let _ = write!(d, "L{},{}", c(x(i)), c(plot.y(*v)));
    }
    let _ = write!(d, "L{},{}Z", c(x(n - 1)), c(plot.base));
    let band = if n > 1 { step } else { plot.width() };
    let body = html! {
        (plot.axes(y_unit))
        path.series d=(d) fill=(BAR) fill-opacity="0.2" stroke=(BAR) stroke-width="1.5" stroke-linejoin="round" {}
        @if n <= MAX_POINT_MARKS {
            g.marks {
                @for (i, (label, _)) in points.iter().enumerate() {
                    rect.mark.hit tabindex="0" x=(c(x(i) - band / 2.0)) y=(c(plot.top)) width=(c(band))
                        height=(c(plot.base - plot.top)) fill="transparent" {
                        title { (label) ": " (fmt_value(values[i], y_unit)) }
                    }
                }
            }
        }
        (category_labels(&points.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), x, band, plot.base + 18.0, Thin::Spread))
    };
    let mean = values.iter().sum::<f64>() / n as f64;
    let hi = points
        .iter()
        .zip(&values)
        .fold((first.0.as_str(), 0.0), |acc, (p, v)| {
            if *v > acc.1 { (p.0.as_str(), *v) } else { acc }
        });
    let desc = format!(
        "{} Highest: {}, {}. Average: {}.",
        span_words(&first.0, &last.0, n, "value"),
        hi.0,
        fmt_value(hi.1, y_unit),
        fmt_value(mean, y_unit)
    );
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[chart.label_name_or("Label").to_owned(), "Value".to_owned()],
            points
                .iter()
                .zip(&values)
                .map(|(p, v)| (p.0.clone(), vec![fmt_value(*v, y_unit)]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "line",
            w: W,
            h: AXIS_H,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: None,
            table,
        },
    )
}

/// A grid of cells coloured on the sequential scale (weekday × hour, weekday × part of day),
/// with a legend from the smallest to the largest value. `values[r][c]` is row `r`, column
/// `c`; missing cells are left blank. `tooltips` has the same shape and may be empty (the
/// default is `row, column: value unit`).
pub fn heatmap(
    chart: &Chart,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
    tooltips: &[Vec<String>],
    unit: &str,
) -> Markup {
    let cells: Vec<(usize, usize, f64)> = values
        .iter()
        .take(rows.len())
        .enumerate()
        .flat_map(|(r, row)| {
            row.iter()
                .take(cols.len())
                .enumerate()
                .map(move |(c, v)| (r, c, clean(*v)))
        })
        .collect();
    if cells.is_empty() {
        return no_data(chart);
    }
    let lo = cells.iter().map(|x| x.2).fold(f64::INFINITY, f64::min);
    let hi = cells.iter().map(|x| x.2).fold(0.0, f64::max);
    let left = rows
        .iter()
        .map(|r| text_w(&truncate(r, 10), FONT))
        .fold(0.0, f64::max)
        + 10.0;
    let top = 22.0;
    let cw = (W - left - 2.0) / cols.len() as f64;
    let ch = cw.clamp(16.0, 30.0);
    let h = top + ch * rows.len() as f64 + 2.0;
    let tip = |r: usize, col: usize, v: f64| match tooltips.get(r).and_then(|t| t.get(col)) {
        Some(t) if !t.is_empty() => t.clone(),
        _ => format!("{}, {}: {}", rows[r], cols[col], fmt_value(v, unit)),
    };
    let body = html! {
        (category_labels(cols, |j| left + cw * (j as f64 + 0.5), cw, top - 7.0, Thin::Every))
        g.labels {
            @for (r, name) in rows.iter().enumerate() {
                text x=(c(left - 6.0)) y=(c(top + ch * (r as f64 + 0.5) + 4.5)) text-anchor="end" fill=(MUTED) { (truncate(name, 10)) }
            }
        }
        g.marks {
            @for (r, col, v) in &cells {
                rect.mark tabindex="0" x=(c(left + cw * *col as f64)) y=(c(top + ch * *r as f64))
                    width=(c(cw)) height=(c(ch)) fill=(if *v > 0.0 { SEQUENTIAL[scale_index(*v, lo, hi)] } else { EMPTY })
                    stroke=(GAP) stroke-width="1" {
                    title { (tip(*r, *col, *v)) }
                }
            }
        }
    };
    let named = |r: usize, col: usize| format!("{} {}", rows[r], cols[col]);
    let max_cell = cells
        .iter()
        .fold(cells[0], |a, x| if x.2 > a.2 { *x } else { a });
    let min_cell = cells
        .iter()
        .fold(cells[0], |a, x| if x.2 < a.2 { *x } else { a });
    let desc = format!(
        "{} rows by {} columns. Highest: {}, {}. Lowest: {}, {}.",
        rows.len(),
        cols.len(),
        named(max_cell.0, max_cell.1),
        fmt_value(max_cell.2, unit),
        named(min_cell.0, min_cell.1),
        fmt_value(min_cell.2, unit)
    );
    let legend = scale_legend(&fmt_value(lo, unit), &fmt_value(hi, unit), None);
    let table = chart.table.then(|| {
        let mut head = vec![chart.label_name.to_owned()];
        head.extend(cols.iter().cloned());
        let body = rows
            .iter()
            .enumerate()
            .map(|(r, name)| {
                let row = values.get(r);
                let cells = (0..cols.len())
                    .map(|col| {
                        row.and_then(|row| row.get(col))
                            .map_or_else(String::new, |v| fmt_value(clean(*v), unit))
                    })
                    .collect();
                (name.clone(), cells)
            })
            .collect();
        data_table(chart, &head, body)
    });
    render(
        chart,
        Figure {
            kind: "heatmap",
            w: W,
            h,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (proleptic Gregorian).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// 0 for Monday … 6 for Sunday.
fn weekday(y: i32, m: u32, d: u32) -> usize {
    (days_from_civil(y, m, d) + 3).rem_euclid(7) as usize
}

/// A calendar heatmap: one block per year, a column per week, a row per weekday (Monday on
/// top), month names above. Days are `(year, month, day, value)`; a day given twice counts
/// the sum, impossible dates are ignored. Days without a value are drawn empty.
pub fn calendar(chart: &Chart, days: &[(i32, u32, u32, f64)], unit: &str) -> Markup {
    const CELL: f64 = 11.0;
    const STEP: f64 = 13.0;
    const LEFT: f64 = 34.0;
    const HEAD: f64 = 16.0;
    const BLOCK: f64 = HEAD + 7.0 * STEP + 12.0;
    const SMALL: f64 = 11.0;
    let mut map: BTreeMap<(i32, u32, u32), f64> = BTreeMap::new();
    for &(y, m, d, v) in days {
        if (1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d) {
            *map.entry((y, m, d)).or_default() += clean(v);
        }
    }
    let (Some((&first, _)), Some((&last, _))) = (map.first_key_value(), map.last_key_value())
    else {
        return no_data(chart);
    };
    let years: BTreeSet<i32> = map.keys().map(|k| k.0).collect();
    let positive = map.values().copied().filter(|v| *v > 0.0);
    let lo = positive.clone().fold(f64::INFINITY, f64::min);
    let hi = positive.fold(0.0, f64::max);
    let colour = |v: f64| {
        if v > 0.0 {
            SEQUENTIAL[scale_index(v, lo, hi)]
        } else {
            EMPTY
        }
    };
    let w = LEFT + 54.0 * STEP;
    let h = BLOCK * years.len() as f64 - 10.0;
    let date_words = |(y, m, d): (i32, u32, u32)| {
        format!(
            "{} {d} {} {y}",
            WEEKDAYS[weekday(y, m, d)],
            MONTHS[m as usize - 1]
        )
    };
    let body = html! {
        @for (b, &year) in years.iter().enumerate() {
            @let y0 = BLOCK * b as f64;
            @let jan1 = weekday(year, 1, 1);
            g.year {
                text x="0" y=(c(y0 + 11.0)) fill=(INK) font-weight="600" { (year) }
                @for m in 1..=12u32 {
                    @let col = (jan1 + (days_from_civil(year, m, 1) - days_from_civil(year, 1, 1)) as usize) / 7;
                    text x=(c(LEFT + STEP * col as f64)) y=(c(y0 + 11.0)) fill=(MUTED) { (MONTHS[m as usize - 1]) }
                }
                @for (row, name) in WEEKDAYS.iter().enumerate().step_by(2).take(3) {
                    text x="0" y=(c(y0 + HEAD + STEP * row as f64 + 9.5)) fill=(MUTED) { (name) }
                }
                @for m in 1..=12u32 {
                    @for d in 1..=days_in_month(year, m) {
                        @let slot = jan1 + (days_from_civil(year, m, d) - days_from_civil(year, 1, 1)) as usize;
                        @let x = c(LEFT + STEP * (slot / 7) as f64);
                        @let y = c(y0 + HEAD + STEP * (slot % 7) as f64);
                        @if let Some(v) = map.get(&(year, m, d)) {
                            rect.mark tabindex="0" x=(x) y=(y) width=(CELL) height=(CELL) fill=(colour(*v)) {
                                title { (date_words((year, m, d))) ": " (fmt_value(*v, unit)) }
                            }
                        } @else {
                            rect x=(x) y=(y) width=(CELL) height=(CELL) fill=(EMPTY) {}
                        }
                    }
                }
            }
        }
    };
    let iso = |(y, m, d): (i32, u32, u32)| format!("{y:04}-{m:02}-{d:02}");
    let total: f64 = map.values().sum();
    let busiest = map.iter().fold(
        (first, 0.0),
        |a, (k, v)| if *v > a.1 { (*k, *v) } else { a },
    );
    let desc = format!(
        "{} Busiest: {}, {}. Total: {}.",
        span_words(&iso(first), &iso(last), map.len(), "day"),
        date_words(busiest.0),
        fmt_value(busiest.1, unit),
        fmt_value(total, unit)
    );
    let legend = if hi > 0.0 {
        // The smallest day can round to nothing ("0 h"), which reads like the empty days.
        let least = match fmt_num(lo).as_str() {
            "0" => "less".to_owned(),
            _ => fmt_value(lo, unit),
        };
        scale_legend(&least, &fmt_value(hi, unit), Some("none"))
    } else {
        html! { div.chart-legend { span.key { (swatch(EMPTY)) (fmt_value(0.0, unit)) } } }
    };
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[chart.label_name_or("Date").to_owned(), "Value".to_owned()],
            map.iter()
                .map(|(k, v)| (iso(*k), vec![fmt_value(*v, unit)]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "calendar",
            w,
            h,
            font: SMALL,
            wide: true,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}

/// Overlapping filled curves, one per row (a month, by day of month), all on one scale, the
/// row labels on the left and `x_labels` along the bottom. Each ridge is one focusable mark
/// whose title gives its peak and total.
pub fn ridgeline(
    chart: &Chart,
    ridges: &[(String, Vec<f64>)],
    x_labels: &[String],
    unit: &str,
) -> Markup {
    const SPACING: f64 = 20.0;
    const AMPLITUDE: f64 = 44.0;
    const TOP: f64 = 6.0;
    let m = ridges
        .iter()
        .map(|r| r.1.len())
        .max()
        .unwrap_or(0)
        .max(x_labels.len());
    if ridges.is_empty() || ridges.iter().all(|r| r.1.is_empty()) {
        return no_data(chart);
    }
    let max = max_of(ridges.iter().flat_map(|r| r.1.iter().copied()));
    let scale = if max > 0.0 { max } else { 1.0 };
    let left = ridges
        .iter()
        .map(|r| text_w(&truncate(&r.0, 12), FONT))
        .fold(0.0, f64::max)
        + 10.0;
    let right = W - 6.0;
    let pw = right - left;
    let x = |j: usize| {
        if m > 1 {
            left + pw * j as f64 / (m - 1) as f64
        } else {
            left + pw / 2.0
        }
    };
    let base = |i: usize| TOP + AMPLITUDE + SPACING * i as f64;
    let h = base(ridges.len() - 1) + 28.0;
    let names: Vec<String> = (0..m)
        .map(|j| {
            x_labels
                .get(j)
                .cloned()
                .unwrap_or_else(|| (j + 1).to_string())
        })
        .collect();
    let summary = |(label, vals): &(String, Vec<f64>)| {
        let (peak_at, peak) = vals.iter().enumerate().fold((0, 0.0), |a, (j, v)| {
            if clean(*v) > a.1 { (j, clean(*v)) } else { a }
        });
        let total: f64 = vals.iter().copied().map(clean).sum();
        if vals.is_empty() {
            format!("{label}: no data")
        } else {
            format!(
                "{label}: peak {} at {}, total {}",
                fmt_value(peak, unit),
                names[peak_at],
                fmt_value(total, unit)
            )
        }
    };
    let path = |i: usize, vals: &[f64]| {
        let b = base(i);
        let mut d = format!("M{},{}", c(x(0)), c(b));
        for (j, v) in vals.iter().enumerate() {
            let _ = write!(d, "L{},{}", c(x(j)), c(b - clean(*v) / scale * AMPLITUDE));
        }
        let _ = write!(d, "L{},{}Z", c(x(vals.len().saturating_sub(1))), c(b));
        d
    };
    let body = html! {
        g.marks {
            @for (i, ridge) in ridges.iter().enumerate() {
                text x=(c(left - 6.0)) y=(c(base(i) - 3.0)) text-anchor="end" fill=(MUTED) { (truncate(&ridge.0, 12)) }
                @if !ridge.1.is_empty() {
                    path.mark tabindex="0" d=(path(i, &ridge.1)) fill=(RIDGE_FILL) stroke=(BAR)
                        stroke-width="1.2" stroke-linejoin="round" {
                        title { (summary(ridge)) }
                    }
                }
            }
        }
        (category_labels(&names, x, pw / m.max(1) as f64, h - 8.0, Thin::Every))
    };
    let peak = ridges
        .iter()
        .flat_map(|(label, vals)| {
            vals.iter()
                .enumerate()
                .map(move |(j, v)| (label.as_str(), j, clean(*v)))
        })
        .fold(("", 0, -1.0), |a, x| if x.2 > a.2 { x } else { a });
    let desc = format!(
        "{} Highest peak: {}, {}, {}.",
        span_words(
            &ridges[0].0,
            &ridges[ridges.len() - 1].0,
            ridges.len(),
            "row"
        ),
        peak.0,
        names[peak.1],
        fmt_value(peak.2, unit)
    );
    let legend = html! {
        div.chart-legend { span.key { "Height of the tallest peak: " (fmt_value(max, unit)) } }
    };
    let table = chart.table.then(|| {
        let mut head = vec![chart.label_name.to_owned()];
        head.extend(names.iter().cloned());
        data_table(
            chart,
            &head,
            ridges
                .iter()
                .map(|(label, vals)| {
                    (
                        label.clone(),
                        (0..m)
                            .map(|j| {
                                vals.get(j)
                                    .map_or_else(String::new, |v| fmt_value(clean(*v), unit))
                            })
                            .collect(),
                    )
                })
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "ridgeline",
            w: W,
            h,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}

/// Bars of 100 %, one per period, split into the series' shares (platforms, countries over
/// time), with a legend. `periods[p].1[s]` is series `s` in period `p`, in `unit`.
pub fn stacked_share(
    chart: &Chart,
    series_names: &[String],
    periods: &[(String, Vec<f64>)],
    unit: &str,
) -> Markup {
    let k = series_names.len();
    let totals: Vec<f64> = periods
        .iter()
        .map(|p| p.1.iter().take(k).copied().map(clean).sum())
        .collect();
    if k == 0 || totals.iter().all(|t| *t <= 0.0) {
        return no_data(chart);
    }
    let plot = Plot::new(vec![0.0, 25.0, 50.0, 75.0, 100.0], |t| {
        format!("{} %", fmt_num(t))
    });
    let band = plot.width() / periods.len() as f64;
    let width = if band > 3.0 { band * 0.8 } else { band };
    let gap = (width > 6.0).then_some(GAP);
    let segments: Vec<Vec<(usize, f64, f64, f64)>> = periods
        .iter()
        .zip(&totals)
        .map(|((_, vals), total)| {
            let mut acc = 0.0;
            let mut out = Vec::new();
            for (s, v) in vals.iter().take(k).copied().map(clean).enumerate() {
                if v > 0.0 {
                    out.push((s, v, acc / total, (acc + v) / total));
                    acc += v;
                }
            }
            out
        })
        .collect();
    let body = html! {
        (plot.axes(""))
        g.marks {
            @for (p, (label, _)) in periods.iter().enumerate() {
                @for &(s, v, from, to) in &segments[p] {
                    @let y = plot.y(to * 100.0);
                    rect.mark tabindex="0" x=(c(plot.left + band * p as f64 + (band - width) / 2.0)) y=(c(y))
                        width=(c(width)) height=(c(plot.y(from * 100.0) - y)) fill=(CATEGORICAL[s % CATEGORICAL.len()])
                        stroke=[gap] stroke-width=[gap.map(|_| "1")] {
                        title { (label) " · " (series_names[s]) ": " (fmt_value(v, unit)) " (" (fmt_pct(to - from)) ")" }
                    }
                }
            }
        }
        (category_labels(&periods.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
            |i| plot.left + band * (i as f64 + 0.5), band, plot.base + 18.0, Thin::Every))
    };
    let grand: f64 = totals.iter().sum();
    let overall: Vec<f64> = (0..k)
        .map(|s| {
            periods
                .iter()
                .map(|p| p.1.get(s).copied().map_or(0.0, clean))
                .sum()
        })
        .collect();
    let mut ranked: Vec<usize> = (0..k).collect();
    ranked.sort_by(|a, b| overall[*b].total_cmp(&overall[*a]));
    let desc = format!(
        "Share of {k} series in {} Overall: {}.",
        span_words(
            &periods[0].0,
            &periods[periods.len() - 1].0,
            periods.len(),
            "period"
        ),
        ranked
            .iter()
            .take(3)
            .map(|s| format!("{} {}", series_names[*s], fmt_pct(overall[*s] / grand)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let legend = categorical_legend(
        series_names
            .iter()
            .enumerate()
            .map(|(s, name)| (s, name.as_str(), fmt_pct(overall[s] / grand))),
    );
    let table = chart.table.then(|| {
        let mut head = vec![chart.label_name_or("Period").to_owned()];
        head.extend(series_names.iter().cloned());
        data_table(
            chart,
            &head,
            periods
                .iter()
                .zip(&totals)
                .map(|((label, vals), total)| {
                    let cells = (0..k)
                        .map(|s| {
                            let v = vals.get(s).copied().map_or(0.0, clean);
                            let share = if *total > 0.0 { v / total } else { 0.0 };
                            format!("{} ({})", fmt_value(v, unit), fmt_pct(share))
                        })
                        .collect();
                    (label.clone(), cells)
                })
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "stacked",
            w: W,
            h: AXIS_H,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}

/// One bar of 100 % split into labelled parts (new vs known, shuffle on vs off), with the
/// shares written in the parts that have room and in the legend.
pub fn share_bar(chart: &Chart, parts: &[(String, f64)], unit: &str) -> Markup {
    const H: f64 = 28.0;
    let total: f64 = parts.iter().map(|p| clean(p.1)).sum();
    if total <= 0.0 {
        return no_data(chart);
    }
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (i, (label, v)) in parts.iter().enumerate() {
        let v = clean(*v);
        let w = v / total * W;
        segments.push((i, label.as_str(), v, x, w, fmt_pct(v / total)));
        x += w;
    }
    let body = html! {
        g.marks {
            @for (i, label, v, x, w, pct) in &segments {
                @if *w > 0.0 {
                    rect.mark tabindex="0" x=(c(*x)) y="0" width=(c(*w)) height=(H)
                        fill=(CATEGORICAL[i % CATEGORICAL.len()]) stroke=(GAP) stroke-width="1" {
                        title { (label) ": " (pct) " (" (fmt_value(*v, unit)) ")" }
                    }
                }
            }
        }
        g.labels {
            @for (i, label, _, x, w, pct) in &segments {
                @let text = format!("{label} {pct}");
                @if text_w(&text, FONT) + 8.0 < *w {
                    text x=(c(x + w / 2.0)) y="18.5" text-anchor="middle" fill=(INK_ON[i % INK_ON.len()]) { (text) }
                }
            }
        }
    };
    let desc = format!(
        "{}.",
        segments
            .iter()
            .map(|s| format!("{}: {}", s.1, s.5))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let legend = categorical_legend(segments.iter().map(|s| (s.0, s.1, s.5.clone())));
    let table = chart.table.then(|| {
        data_table(
            chart,
            &[
                chart.label_name_or("Part").to_owned(),
                "Value".to_owned(),
                "Share".to_owned(),
            ],
            segments
                .iter()
                .map(|s| (s.1.to_owned(), vec![fmt_value(s.2, unit), s.5.clone()]))
                .collect(),
        )
    });
    render(
        chart,
        Figure {
            kind: "share",
            w: W,
            h: H,
            font: FONT,
            wide: false,
            desc,
            body,
            legend: Some(legend),
            table,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(id: &str) -> Chart<'_> {
        Chart::new(id, "A chart")
    }

    /// The opening tags (with their `<title>` text, if any) of every element with class
    /// `mark`.
    fn marks(html: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(at) = rest.find('<') {
            rest = &rest[at..];
            let end = rest.find('>').unwrap() + 1;
            let tag = &rest[..end];
            if tag.contains("class=\"mark\"") || tag.contains("class=\"mark ") {
                let after = &rest[end..];
                let title = after
                    .strip_prefix("<title>")
                    .and_then(|t| t.split_once("</title>"))
                    .map_or(String::new(), |t| t.0.to_owned());
                out.push((tag.to_owned(), title));
            }
            rest = &rest[end..];
        }
        out
    }

    fn attr(tag: &str, name: &str) -> Option<String> {
        let key = format!(" {name}=\"");
        let start = tag.find(&key)? + key.len();
        Some(tag[start..].split('"').next()?.to_owned())
    }

    fn num(tag: &str, name: &str) -> f64 {
        attr(tag, name).unwrap().parse().unwrap()
    }

    /// Every chart kind with some data, for the checks that hold for all of them.
    fn all_charts(label: &str) -> Vec<String> {
        let names = vec![label.to_owned(), "b".to_owned()];
        vec![
            bars(
                &chart("b"),
                &[Bar::new(label, 3.0), Bar::new("x", 1.0)],
                "h",
            ),
            hbars(&chart("hb"), &[Bar::new(label, 3.0)], "plays"),
            line(
                &chart("l"),
                &[(label.to_owned(), 1.0), ("y".to_owned(), 2.0)],
                "h",
            ),
            heatmap(
                &chart("hm"),
                &names,
                &names,
                &[vec![1.0, 2.0], vec![3.0, 4.0]],
                &[],
                "h",
            ),
            calendar(&chart("cal"), &[(2021, 3, 1, 2.0), (2021, 3, 2, 0.0)], "h"),
            ridgeline(
                &chart("r"),
                &[(label.to_owned(), vec![1.0, 2.0, 0.5])],
                &names,
                "h",
            ),
            stacked_share(
                &chart("s"),
                &names,
                &[(label.to_owned(), vec![1.0, 3.0])],
                "h",
            ),
            share_bar(
                &chart("sh"),
                &[(label.to_owned(), 1.0), ("b".to_owned(), 3.0)],
                "h",
            ),
        ]
        .into_iter()
        .map(|m| m.into_string())
        .collect()
    }

    #[test]
    fn a_bar_chart_has_a_focusable_mark_per_value_the_tallest_for_the_max() {
        let html = bars(
            &chart("per-month"),
            &[
                Bar::new("Jan 2021", 12.5),
                Bar::new("Feb 2021", 41.0),
                Bar::new("Mar 2021", 1234.0),
            ],
            "h",
        )
        .into_string();
        let marks = marks(&html);
        assert_eq!(marks.len(), 3);
        assert!(marks.iter().all(|(tag, _)| tag.contains("tabindex=\"0\"")));
        let titles: Vec<&str> = marks.iter().map(|m| m.1.as_str()).collect();
        assert_eq!(
            titles,
            ["Jan 2021: 12.5 h", "Feb 2021: 41 h", "Mar 2021: 1,234 h"]
        );
        let heights: Vec<f64> = marks.iter().map(|m| num(&m.0, "height")).collect();
        assert!(heights[2] > heights[1] && heights[1] > heights[0]);
        // The axis has the unit and tops out at a nice tick just above the max.
        assert!(html.contains(">h</text>"));
        assert!(html.contains(">1,250</text>"));
        assert!(html.contains("Highest: Mar 2021, 1,234 h."));
    }

    #[test]
    fn custom_tooltips_replace_the_default() {
        let html = bars(
            &chart("t"),
            &[Bar::new("Mar", 2.0).with_tooltip("March: 2 h, 31 plays")],
            "h",
        )
        .into_string();
        assert_eq!(marks(&html)[0].1, "March: 2 h, 31 plays");
    }

    #[test]
    fn every_svg_is_an_image_labelled_by_its_own_title_and_description() {
        for html in all_charts("a") {
            let svg = &html[html.find("<svg").unwrap()..];
            let svg_tag = &svg[..svg.find('>').unwrap()];
            assert!(svg_tag.contains("role=\"img\""), "{svg_tag}");
            assert!(svg_tag.contains("width=\"100%\""));
            assert!(svg_tag.contains("viewBox=\"0 0 "));
            let ids = attr(svg_tag, "aria-labelledby").unwrap();
            let ids: Vec<&str> = ids.split(' ').collect();
            assert_eq!(ids.len(), 2);
            assert!(svg.contains(&format!("<title id=\"{}\">A chart</title>", ids[0])));
            let desc = format!("<desc id=\"{}\">", ids[1]);
            let at = svg.find(&desc).expect("desc") + desc.len();
            assert!(
                !svg[at..].starts_with("</desc>"),
                "empty description in {html}"
            );
            // Each kind has its data table and focusable marks with a title.
            assert!(html.contains("<details class=\"chart-data\"><summary>Data"));
            let marks = marks(&html);
            assert!(!marks.is_empty());
            assert!(
                marks
                    .iter()
                    .all(|(tag, title)| tag.contains("tabindex=\"0\"") && !title.is_empty())
            );
        }
    }

    #[test]
    fn the_caller_description_wins_and_the_table_is_optional() {
        let c = Chart::new("x", "Hours")
            .with_desc("Most listening: March 2021, 41 h")
            .with_table(false);
        let html = bars(&c, &[Bar::new("Mar 2021", 41.0)], "h").into_string();
        assert!(html.contains("<desc id=\"x-desc\">Most listening: March 2021, 41 h</desc>"));
        assert!(!html.contains("<details"));
        let html = bars(
            &Chart::new("x", "Hours").with_label_name("Month"),
            &[Bar::new("Mar 2021", 41.0)],
            "h",
        )
        .into_string();
        assert!(html.contains("<th scope=\"col\">Month</th><th scope=\"col\">Value</th>"));
        assert!(html.contains("<th scope=\"row\">Mar 2021</th><td>41 h</td>"));
    }

    #[test]
    fn hostile_labels_are_escaped_and_ids_sanitized() {
        let hostile = "<script>alert(1)</script>\"onload=alert(1)";
        for html in all_charts(hostile) {
            assert!(!html.contains("<script"), "{html}");
            assert!(!html.contains("\"onload="), "{html}");
            assert!(html.contains("&lt;script&gt;") || html.contains("chart-calendar"));
        }
        let html = bars(
            &Chart::new("\"><script>Top Artists 2021", hostile),
            &[Bar::new("a", 1.0)],
            hostile,
        )
        .into_string();
        assert!(!html.contains("<script") && !html.contains("\"onload="));
        assert!(html.contains("id=\"script-top-artists-2021\""));
        assert_eq!(sanitize_id("Top <Artists> 2021"), "top--artists--2021");
        assert_eq!(sanitize_id("é!"), "chart");
    }

    #[test]
    fn no_chart_uses_inline_styles_or_scripts() {
        for html in all_charts("a") {
            assert!(!html.contains("style="), "{html}");
            assert!(!html.contains("<style"));
            assert!(!html.contains("<script"));
            assert!(
                !html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\"")
            );
            assert!(!html.contains("https://"));
        }
    }

    #[test]
    fn svg_elements_are_closed() {
        // Inside inline SVG an unclosed `<rect>` would swallow what follows.
        for html in all_charts("a") {
            for tag in ["rect", "line", "path", "text"] {
                assert_eq!(
                    html.matches(&format!("<{tag} ")).count(),
                    html.matches(&format!("</{tag}>")).count(),
                    "{tag} in {html}"
                );
            }
        }
    }

    #[test]
    fn nice_ticks_are_few_round_increasing_and_cover_the_max() {
        for max in [
            0.0,
            0.3,
            1.0,
            7.0,
            95.0,
            100.0,
            1234.0,
            1e6,
            0.0007,
            f64::NAN,
        ] {
            let ticks = nice_ticks(max);
            assert!((3..=6).contains(&ticks.len()), "{max}: {ticks:?}");
            assert_eq!(ticks[0], 0.0);
            assert!(ticks.windows(2).all(|w| w[1] > w[0]), "{max}: {ticks:?}");
            let last = *ticks.last().unwrap();
            if max.is_finite() {
                assert!(last >= max * (1.0 - 1e-12), "{max}: {ticks:?}");
                assert!(last < max * 2.0 || max == 0.0, "{max}: {ticks:?}");
            }
            let step = ticks[1];
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 2.5, 5.0]
                    .iter()
                    .any(|m| (m - mantissa).abs() < 1e-9),
                "{max}: {ticks:?}"
            );
            for (i, t) in ticks.iter().enumerate() {
                assert!(
                    (t - step * i as f64).abs() <= step * 1e-9,
                    "{max}: {ticks:?}"
                );
            }
        }
        assert_eq!(nice_ticks(7.0), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(0.3), [0.0, 0.1, 0.2, 0.3]);
        assert_eq!(nice_ticks(95.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(
            nice_ticks(1234.0),
            [0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0]
        );
        assert_eq!(nice_ticks(1e6).last(), Some(&1e6));
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(12_345), "12,345");
        assert_eq!(fmt_int(1_234_567), "1,234,567");
        assert_eq!(fmt_hours(0), "0 min");
        assert_eq!(fmt_hours(10_000), "<1 min");
        assert_eq!(fmt_hours(45 * 60_000), "45 min");
        assert_eq!(fmt_hours(3_570_000), "1 h");
        assert_eq!(fmt_hours(45_000_000), "12.5 h");
        assert_eq!(fmt_hours(12 * 3_600_000), "12 h");
        assert_eq!(fmt_hours(1234 * 3_600_000), "1,234 h");
        assert_eq!(fmt_hours(u64::MAX), "5,124,095,576,030 h");
        assert_eq!(fmt_num(1234.4), "1,234");
        assert_eq!(fmt_num(41.0), "41");
        assert_eq!(fmt_num(41.26), "41.3");
        assert_eq!(fmt_num(99.96), "100");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(-2.5), "-2.5");
        assert_eq!(fmt_num(f64::NAN), "0");
        assert_eq!(fmt_value(3.0, "plays"), "3 plays");
        assert_eq!(fmt_pct(0.004), "<1 %");
        assert_eq!(fmt_pct(0.625), "63 %");
        assert_eq!(fmt_tick(25_000.0), "25k");
        assert_eq!(fmt_tick(1_500_000.0), "1.5M");
    }

    #[test]
    fn the_heatmap_maps_the_min_to_the_first_colour_and_the_max_to_the_last() {
        let rows: Vec<String> = WEEKDAYS.iter().map(|d| d.to_string()).collect();
        let cols: Vec<String> = (0..24).map(|h| h.to_string()).collect();
        let values: Vec<Vec<f64>> = (0..7)
            .map(|r| (0..24).map(|c| 1.0 + (r * 24 + c) as f64).collect())
            .collect();
        let mut tips: Vec<Vec<String>> = vec![vec![String::new(); 24]; 7];
        tips[0][0] = "MIN".to_owned();
        tips[6][23] = "MAX".to_owned();
        let html = heatmap(&chart("hm"), &rows, &cols, &values, &tips, "h").into_string();
        let marks = marks(&html);
        assert_eq!(marks.len(), 7 * 24);
        let fill = |title: &str| {
            let m = marks.iter().find(|m| m.1 == title).unwrap();
            attr(&m.0, "fill").unwrap()
        };
        assert_eq!(fill("MIN"), SEQUENTIAL[0]);
        assert_eq!(fill("MAX"), SEQUENTIAL[SEQUENTIAL.len() - 1]);
        assert_eq!(fill("Tue, 5: 30 h"), SEQUENTIAL[1]);
        // The legend names the ends of the scale; hour labels are thinned.
        assert!(html.contains("1 h<svg class=\"scale\""));
        assert!(html.contains("168 h</span>"));
        assert!(html.contains(">0</text>") && !html.contains(">1</text>"));
        assert!(html.contains("Highest: Sun 23, 168 h. Lowest: Mon 0, 1 h."));
    }

    #[test]
    fn a_long_line_is_one_path_without_per_point_marks() {
        let points: Vec<(String, f64)> = (0..3000)
            .map(|i| (format!("day {i}"), (i % 17) as f64))
            .collect();
        let html = line(&chart("daily"), &points, "h").into_string();
        assert_eq!(html.matches("<path").count(), 1);
        assert!(marks(&html).is_empty());
        assert!(!html.contains("tabindex"));
        assert!(html.contains("3000 values from day 0 to day 2999."));
        // Only a few x labels.
        let svg = &html[..html.find("</svg>").unwrap()];
        let shown = svg.matches(">day ").count();
        assert!((3..=8).contains(&shown), "{shown}");

        let short: Vec<(String, f64)> = points[..MAX_POINT_MARKS].to_vec();
        let html = line(&chart("daily"), &short, "h").into_string();
        assert_eq!(html.matches("<path").count(), 1);
        let marks = marks(&html);
        assert_eq!(marks.len(), MAX_POINT_MARKS);
        assert_eq!(marks[16].1, "day 16: 16 h");
    }

    #[test]
    fn empty_input_says_so_instead_of_drawing() {
        let c = chart("e");
        let none: Vec<String> = Vec::new();
        let outputs = [
            bars(&c, &[], "h"),
            hbars(&c, &[], "h"),
            line(&c, &[], "h"),
            heatmap(&c, &none, &none, &[], &[], "h"),
            heatmap(
                &c,
                &["Mon".to_owned()],
                &["0".to_owned()],
                &[vec![]],
                &[],
                "h",
            ),
            calendar(&c, &[], "h"),
            calendar(&c, &[(2021, 2, 30, 1.0)], "h"),
            ridgeline(&c, &[], &none, "h"),
            ridgeline(&c, &[("Jan".to_owned(), vec![])], &none, "h"),
            stacked_share(&c, &none, &[], "h"),
            stacked_share(
                &c,
                &["a".to_owned()],
                &[("2021".to_owned(), vec![0.0])],
                "h",
            ),
            share_bar(&c, &[], "h"),
            share_bar(&c, &[("a".to_owned(), 0.0)], "h"),
        ];
        for m in outputs {
            // The chart's title stays, so that several empty charts say which is which.
            let html = m.into_string();
            assert_eq!(
                html,
                format!(
                    "<figure class=\"chart chart-none\" id=\"{}\"><figcaption class=\"chart-title\">{}</figcaption><p class=\"chart-empty\">No data in this range.</p></figure>",
                    c.element_id(),
                    c.title
                )
            );
        }
    }

    #[test]
    fn bad_values_draw_as_zero() {
        let html = bars(
            &chart("b"),
            &[
                Bar::new("a", f64::NAN),
                Bar::new("b", -3.0),
                Bar::new("c", f64::INFINITY),
            ],
            "h",
        )
        .into_string();
        assert!(!html.contains("NaN") && !html.contains("inf"));
        assert!(marks(&html).iter().all(|m| num(&m.0, "height") == 0.0));
    }

    #[test]
    fn many_bars_get_thinned_labels() {
        let points: Vec<Bar> = (0..120)
            .map(|i| Bar::new(format!("{} {}", MONTHS[i % 12], 2015 + i / 12), 1.0))
            .collect();
        let html = bars(&chart("m"), &points, "h").into_string();
        assert_eq!(marks(&html).len(), 120);
        let shown = html.matches("text-anchor=\"middle\"").count();
        assert!((3..=10).contains(&shown), "{shown}");
    }

    #[test]
    fn hbars_rank_names_and_print_values() {
        let rows = [
            Bar::new("Björk", 120.0),
            Bar::new("A very long artist name ".repeat(5), 60.0),
        ];
        let html = hbars(&chart("top"), &rows, "plays").into_string();
        let marks = marks(&html);
        assert_eq!(marks[0].1, "1. Björk: 120 plays");
        assert!(marks[1].1.starts_with("2. A very long artist name A very"));
        assert!(num(&marks[0].0, "width") > 1.9 * num(&marks[1].0, "width"));
        assert!(html.contains(">1. Björk</text>"));
        assert!(html.contains(">120 plays</text>"));
        assert!(html.contains("…</text>"));
    }

    #[test]
    fn calendar_days_sit_in_their_weekday_row_and_week_column() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(weekday(2024, 1, 1), 0); // a Monday
        assert_eq!(weekday(2023, 12, 31), 6); // a Sunday
        let days = [
            (2023, 12, 31, 1.0),
            (2024, 1, 1, 4.0),
            (2024, 1, 7, 2.0),
            (2024, 1, 8, 0.0),
            (2024, 1, 8, 0.5),  // counts with the line above
            (2024, 2, 30, 9.0), // no such day
        ];
        let html = calendar(&chart("cal"), &days, "h").into_string();
        assert!(html.contains("class=\"wide\""));
        assert!(html.contains(">2023</text>") && html.contains(">2024</text>"));
        // Every day of both years is drawn; only the given ones are marks.
        // (and the legend: a swatch for nothing, seven for the scale)
        assert_eq!(html.matches("<rect ").count(), 365 + 366 + 1 + 7);
        let marks = marks(&html);
        assert_eq!(marks.len(), 4);
        let at = |title: &str| {
            let m = marks.iter().find(|m| m.1 == title).unwrap();
            (num(&m.0, "x"), num(&m.0, "y"), attr(&m.0, "fill").unwrap())
        };
        let (x1, y1, f1) = at("Mon 1 Jan 2024: 4 h");
        let (x7, y7, _) = at("Sun 7 Jan 2024: 2 h");
        let (x8, y8, f8) = at("Mon 8 Jan 2024: 30 min");
        let (_, y31, f31) = at("Sun 31 Dec 2023: 1 h");
        assert_eq!((x1, x7), (x8 - 13.0, x1));
        assert_eq!(y1, y8);
        assert_eq!(y7 - y1, 6.0 * 13.0);
        assert!(y31 < y1); // 2023 is the block above
        assert_eq!(f1, SEQUENTIAL[6]);
        assert_eq!(f8, SEQUENTIAL[0]);
        assert_ne!(f31, EMPTY);
        assert!(html.contains("<th scope=\"row\">2024-01-08</th><td>30 min</td>"));
        assert!(html.contains("Busiest: Mon 1 Jan 2024, 4 h. Total: 7.5 h."));
        for m in ["Jan", "Jun", "Dec"] {
            assert_eq!(html.matches(&format!(">{m}</text>")).count(), 2);
        }
    }

    #[test]
    fn ridgelines_draw_one_mark_per_row_on_a_shared_scale() {
        let labels: Vec<String> = (1..=31).map(|d| d.to_string()).collect();
        let ridges = vec![
            ("Jan 2021".to_owned(), vec![1.0; 31]),
            (
                "Feb 2021".to_owned(),
                (0..28).map(|d| d as f64 / 9.0).collect(),
            ),
        ];
        let html = ridgeline(&chart("r"), &ridges, &labels, "h").into_string();
        let marks = marks(&html);
        assert_eq!(marks.len(), 2);
        assert!(
            marks[1]
                .1
                .starts_with("Feb 2021: peak 3 h at 28, total 42 h"),
            "{}",
            marks[1].1
        );
        assert!(html.contains("Highest peak: Feb 2021, 28, 3 h."));
        assert!(html.contains(">Jan 2021</text>"));
        assert!(html.contains("<th scope=\"row\">Feb 2021</th>"));
    }

    #[test]
    fn stacked_shares_add_up_per_period_with_okabe_ito_colours() {
        let series = vec!["Phone".to_owned(), "Desktop".to_owned(), "TV".to_owned()];
        let periods = vec![
            ("2020".to_owned(), vec![30.0, 10.0, 0.0]),
            ("2021".to_owned(), vec![10.0, 10.0, 20.0]),
            ("2022".to_owned(), vec![0.0, 0.0, 0.0]),
        ];
        let html = stacked_share(&chart("s"), &series, &periods, "h").into_string();
        let marks = marks(&html);
        assert_eq!(marks.len(), 5); // zero segments and empty periods draw nothing
        assert_eq!(marks[0].1, "2020 · Phone: 30 h (75 %)");
        assert_eq!(attr(&marks[0].0, "fill").unwrap(), CATEGORICAL[0]);
        assert_eq!(attr(&marks[4].0, "fill").unwrap(), CATEGORICAL[2]);
        let full = marks[..2].iter().map(|m| num(&m.0, "height")).sum::<f64>();
        let full2 = marks[2..].iter().map(|m| num(&m.0, "height")).sum::<f64>();
        assert!((full - full2).abs() < 0.2);
        assert!(html.contains(">100 %</text>"));
        assert!(
            html.contains("Overall: Phone 50 %, Desktop 25 %, TV 25 %."),
            "{html}"
        );
        assert!(html.contains("<td>0 min (0 %)</td>"));
    }

    #[test]
    fn a_share_bar_labels_its_parts() {
        let html = share_bar(
            &chart("new"),
            &[
                ("New".to_owned(), 30.0),
                ("Known".to_owned(), 70.0),
                ("x".to_owned(), 0.1),
            ],
            "h",
        )
        .into_string();
        let marks = marks(&html);
        assert_eq!(marks[0].1, "New: 30 % (30 h)");
        assert_eq!(marks[2].1, "x: <1 % (6 min)".replace('<', "&lt;"));
        assert!(html.contains(">New 30 %</text>") && html.contains(">Known 70 %</text>"));
        assert!(html.contains("<desc id=\"new-desc\">New: 30 %, Known: 70 %, x: &lt;1 %.</desc>"));
        let total: f64 = marks.iter().map(|m| num(&m.0, "width")).sum();
        assert!((total - W).abs() < 0.2);
    }
}
