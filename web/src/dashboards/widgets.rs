//! Pieces every dashboard page draws: the range and content controls, ranked bars, cards,
//! links to an entry's page.

use maud::{Markup, html};
use schema::{EntityKind, RankBy};

use crate::dashboards::context::Meta;
use crate::dashboards::query::{BoardQuery, DEFAULT_GAP_MINUTES, kind_param};
use crate::ui::charts::{self, Bar, Chart, fmt_hours, fmt_int, fmt_pct};
use engine::{Content, panels};

pub(crate) fn hours(ms: u64) -> f64 {
    ms as f64 / 3_600_000.0
}

// -------------------------------------------------------------------------------------------
// Pages

/// Pages whose content has no ranking order to choose.
const UNRANKED: [&str; 4] = [
    "/dashboard/skips",
    "/dashboard/overlaps",
    "/dashboard/chapters",
    "/dashboard/moments",
];

pub(crate) fn controls(q: &BoardQuery, m: &Meta, path: &str) -> Markup {
    let presets: Vec<(String, String)> = {
        let mut v = vec![
            ("4w".to_string(), "Last 4 weeks".to_string()),
            ("6m".to_string(), "Last 6 months".to_string()),
            ("year".to_string(), "Latest year".to_string()),
        ];
        for y in m.years.iter().rev() {
            v.push((y.to_string(), y.to_string()));
        }
        v.push(("all".to_string(), "All time".to_string()));
        v
    };
    let current = q.range.param();
    html! {
        nav.controls aria-label="Range and content" {
            ul.presets {
                @for (param, label) in &presets {
                    li { a href=(q.link(path, &[("range", param), ("from", ""), ("to", "")]))
                        aria-current=[(current == *param).then_some("true")] { (label) } }
                }
            }
            ul.presets {
                @for (c, label) in [("all", "All"), ("music", "Music"), ("podcasts", "Podcasts"), ("audiobooks", "Audiobooks")] {
                    li { a href=(q.link(path, &[("content", if c == "all" { "" } else { c })]))
                        aria-current=[(q.content.as_str() == c).then_some("true")] { (label) } }
                }
            }
            // Only where something is ranked.
            @if !UNRANKED.contains(&path) {
                ul.presets {
                    li { a href=(q.link(path, &[("by", "")])) aria-current=[(q.by == RankBy::Time).then_some("true")] { "Rank by time" } }
                    li { a href=(q.link(path, &[("by", "plays")])) aria-current=[(q.by == RankBy::Plays).then_some("true")] { "Rank by plays" } }
                }
            }
            form.range method="get" action=(path) {
                @for id in &q.uploads { input type="hidden" name="u" value=(id); }
                input type="hidden" name="range" value="custom";
                @if q.content != Content::All { input type="hidden" name="content" value=(q.content.as_str()); }
                @if q.by == RankBy::Plays { input type="hidden" name="by" value="plays"; }
                @if q.gap_minutes != DEFAULT_GAP_MINUTES { input type="hidden" name="gap" value=(q.gap_minutes); }
                @if q.kind != EntityKind::Artist { input type="hidden" name="kind" value=(kind_param(q.kind)); }
                @if let Some(name) = &q.name { input type="hidden" name="name" value=(name); }
                @if let Some(artist) = &q.artist { input type="hidden" name="artist" value=(artist); }
                label for="from" { "From" } input id="from" name="from" type="date" value=[m.from.as_deref()];
                label for="to" { "To" } input id="to" name="to" type="date" value=[m.to.as_deref()];
                button type="submit" { "Show" }
            }
            p.hint {
                @if m.upload_names.is_empty() { "No ready uploads yet. " a href="/uploads" { "Upload your data" } "." }
                @else { "From " (m.upload_names.join(", ")) ". " }
                @if let (Some(f), Some(t)) = (&m.from, &m.to) { "Showing " (f) " to " (t) ". " }
                @else if let Some(f) = &m.from { "Showing from " (f) ". " }
                @else if let Some(t) = &m.to { "Showing to " (t) ". " }
                "Times in " (m.tz) "; a play is " (m.min_play_seconds) " s or more. "
                a href="/settings" { "Change" }
            }
        }
    }
}

pub(crate) fn card(title: &str, stat: &str, value: String) -> Markup {
    html! { div.card { h2 { (title) } p.big data-stat=(stat) { (value) } } }
}

/// The page of a ranked entry of `kind` (its name and, for tracks, albums and episodes, the
/// artist or show it belongs to), keeping the dashboard's choices; `None` for audiobooks.
pub fn entry_link(
    q: &BoardQuery,
    kind: EntityKind,
    name: &str,
    by: Option<&str>,
) -> Option<String> {
    let by = by.unwrap_or("");
    Some(match kind {
        EntityKind::Artist => q.link("/dashboard/artist", &[("name", name), ("artist", "")]),
        EntityKind::Track => q.link("/dashboard/track", &[("artist", by), ("name", name)]),
        EntityKind::Album => q.link("/dashboard/album", &[("artist", by), ("name", name)]),
        EntityKind::Show => q.link("/dashboard/show", &[("name", name), ("artist", "")]),
        EntityKind::Episode => q.link("/dashboard/show", &[("name", by), ("artist", "")]),
        EntityKind::Audiobook => return None,
    })
}

pub(crate) fn ranked_bars(
    q: &BoardQuery,
    kind: EntityKind,
    (id, title): (&str, &str),
    list: &[panels::RankedEntry],
    by: RankBy,
) -> Markup {
    let bars: Vec<Bar> = list
        .iter()
        .map(|e| {
            let label = match &e.by {
                Some(b) => format!("{} — {b}", e.name),
                None => e.name.clone(),
            };
            let tip = format!(
                "{label}: {} · {} plays",
                fmt_hours(e.ms_played),
                fmt_int(e.plays)
            );
            let value = if by == RankBy::Time {
                hours(e.ms_played)
            } else {
                e.plays as f64
            };
            let bar = Bar::new(label, value).with_tooltip(tip);
            match entry_link(q, kind, &e.name, e.by.as_deref()) {
                Some(href) => bar.with_link(href),
                None => bar,
            }
        })
        .collect();
    charts::hbars(
        &Chart::new(id, title).with_label_name("Name"),
        &bars,
        if by == RankBy::Time { "h" } else { "plays" },
    )
}

pub(crate) fn reasons(title: &str, list: &[panels::ReasonCount], start: bool) -> Markup {
    html! {
        div {
            h3 { (title) }
            table {
                thead { tr { th scope="col" { "Reason" } th scope="col" { "Streams" } th scope="col" { "Share" } } }
                tbody { @for r in list.iter().take(8) {
                    tr { th scope="row" { (crate::ui::words::reason(r.reason.as_deref().unwrap_or(""), start)) } td { (fmt_int(r.streams)) } td { (r.share.map_or("–".into(), fmt_pct)) } }
                } }
            }
        }
    }
}

/// `2024-03` → `"March 2024"`.
pub(crate) fn month_name(label: &str) -> String {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let mut it = label.splitn(2, '-');
    match (it.next(), it.next().and_then(|m| m.parse::<usize>().ok())) {
        (Some(y), Some(m)) if (1..=12).contains(&m) => format!("{} {y}", NAMES[m - 1]),
        _ => label.to_string(),
    }
}

// -------------------------------------------------------------------------------------------
// JSON twins
