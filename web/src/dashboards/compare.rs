//! `GET /dashboard/compare` and its JSON twin: two periods side by side.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use schema::EntityKind;
use schema::aggregate::Day;

use crate::dashboards::context::{Ctx, api_view, context, meta};
use crate::dashboards::shareable::{Shareable, share_link};
use crate::dashboards::widgets::{controls, entry_link};
use crate::error::{ApiError, AppError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{fmt_hours, fmt_int};
use engine::{Content, DayRange, RangeChoice};

/// The two periods of a comparison: the range, and `vs` or the period just before it
/// (`None` when there is none: all time, or a history without listening).
fn periods(c: &Ctx) -> (DayRange, Option<DayRange>) {
    let before = match c.q.vs {
        Some(vs) => Some(vs.days(c.prepared.span())),
        None => engine::selection::period_before(c.days),
    };
    (c.days, before)
}

/// What a comparison says when there is nothing to compare with.
const NOTHING_BEFORE: &str = "All time has nothing before it: choose a year or a range (the last 4 weeks, 6 months, from and to) to compare it with the one before, or a period to compare with.";

pub(crate) fn comparison(c: &Ctx) -> Arc<engine::compare::Comparison> {
    let (a, b) = periods(c);
    let p = c.prepared.clone();
    let content = c.q.content;
    let key = format!("compare|{}|{a:?}|{b:?}", content.as_str());
    c.prepared.memo(key, move || {
        let sa = p.stats(content, a);
        let sb = match b {
            Some(b) => p.stats(content, b),
            None => Arc::new(schema::Stats::build(&[], p.settings)),
        };
        let labels = (
            engine::selection::period_label(a),
            b.map_or_else(
                || "nothing before it".to_string(),
                engine::selection::period_label,
            ),
        );
        let mut cmp =
            engine::compare::compare(&sa, &sb, &p.strings, (&labels.0, &labels.1), fmt_hours);
        if b.is_none() {
            cmp.summary = NOTHING_BEFORE.to_string();
        }
        cmp
    })
}

/// `GET /dashboard/compare`: the range against the period before it (or `vs_range`,
/// `vs_from`, `vs_to`).
pub async fn compare_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let (title, body) = compare_body(&c)?;
    Ok(crate::ui::layout(&title, &nav(&state, &v), body).into_response())
}

/// A comparison's title and content.
pub(crate) fn compare_body(c: &Ctx) -> Result<(String, Markup), AppError> {
    let cmp = comparison(c);
    let m = meta(c);
    let q = &c.q;
    let (a, b) = (&cmp.a, &cmp.b);
    let vs = periods(c).1.unwrap_or((None, None));
    let change = |x: u64, y: u64| -> String {
        match (x, y) {
            (_, 0) => "–".into(),
            (x, y) if x >= y => format!("+{}", fmt_int(x - y)),
            (x, y) => format!("−{}", fmt_int(y - x)),
        }
    };
    let hours_change = |x: u64, y: u64| -> String {
        if x >= y {
            format!("+{}", fmt_hours(x - y))
        } else {
            format!("−{}", fmt_hours(y - x))
        }
    };
    let rows: [(&str, String, String, String); 5] = [
        (
            "Listening time",
            fmt_hours(a.total.ms_played),
            fmt_hours(b.total.ms_played),
            hours_change(a.total.ms_played, b.total.ms_played),
        ),
        (
            "Plays",
            fmt_int(a.total.plays),
            fmt_int(b.total.plays),
            change(a.total.plays, b.total.plays),
        ),
        (
            "Days listened",
            fmt_int(a.days_listened as u64),
            fmt_int(b.days_listened as u64),
            change(a.days_listened as u64, b.days_listened as u64),
        ),
        (
            "Artists",
            fmt_int(a.artists as u64),
            fmt_int(b.artists as u64),
            change(a.artists as u64, b.artists as u64),
        ),
        (
            "Tracks",
            fmt_int(a.tracks as u64),
            fmt_int(b.tracks as u64),
            change(a.tracks as u64, b.tracks as u64),
        ),
    ];
    let movers = |kind: EntityKind, title: &str, list: &engine::compare::Movers| {
        let rank = |r: Option<usize>| r.map_or("–".to_string(), |r| format!("#{r}"));
        let item = |mv: &engine::compare::Mover, what: &str| {
            html! {
                li {
                    a href=(entry_link(q, kind, &mv.name, mv.by.as_deref()).unwrap_or_default()) { (mv.name) }
                    @if let Some(by) = &mv.by { " — " (by) }
                    " " span.value { (what) }
                }
            }
        };
        let parts: [(String, &[engine::compare::Mover], bool); 4] = [
            ("Climbed (rank then → now)".to_string(), &list.climbed, true),
            ("Fell (rank then → now)".to_string(), &list.fell, true),
            (format!("New in {}", a.label), &list.arrived, false),
            (format!("Not heard in {}", a.label), &list.left, false),
        ];
        html! {
            section.movers {
                h3 { (title) }
                @if parts.iter().all(|(_, l, _)| l.is_empty()) {
                    p.hint { "Nothing to compare: none heard in these periods." }
                } @else {
                    div.two {
                        @for (heading, l, ranked) in &parts {
                            @if !l.is_empty() {
                                div { h4 { (heading) }
                                    ol { @for mv in l.iter() {
                                        @if *ranked { (item(mv, &format!("{} → {}", rank(mv.rank_b), rank(mv.rank_a)))) }
                                        @else if mv.ms_a > 0 { (item(mv, &fmt_hours(mv.ms_a))) }
                                        @else { (item(mv, &format!("{} in {}", fmt_hours(mv.ms_b), b.label))) }
                                    } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let slot = |s: &engine::compare::SlotChange| {
        html! {
            li { (s.weekday) " " (s.hour) ":00 " span.value { (fmt_hours(s.ms_a)) " against " (fmt_hours(s.ms_b)) } }
        }
    };
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { (a.label) " against " (b.label) }
        (share_link(q, Shareable::Compare))
        (controls(q, &m, "/dashboard/compare"))
        form.range method="get" action="/dashboard/compare" aria-label="The period to compare with" {
            @for id in &q.uploads { input type="hidden" name="u" value=(id); }
            @if q.range != RangeChoice::All { input type="hidden" name="range" value=(q.range.param()); }
            @if let RangeChoice::Custom(f, t) = q.range {
                @if let Some(f) = f { input type="hidden" name="from" value=(f.label()); }
                @if let Some(t) = t { input type="hidden" name="to" value=(t.label()); }
            }
            @if q.content != Content::All { input type="hidden" name="content" value=(q.content.as_str()); }
            input type="hidden" name="vs_range" value="custom";
            label for="vs_from" { "Compare with: from" }
            input id="vs_from" name="vs_from" type="date" value=[vs.0.map(Day::label)];
            label for="vs_to" { "to" }
            input id="vs_to" name="vs_to" type="date" value=[vs.1.map(Day::label)];
            button type="submit" { "Compare" }
        }
        p.lead data-finding="comparison" { (cmp.summary) }
        table.compare {
            caption.visually-hidden { "The two periods in numbers" }
            thead { tr { th scope="col" { span.visually-hidden { "What" } } th scope="col" { (a.label) } th scope="col" { (b.label) } th scope="col" { "Change" } } }
            tbody { @for (what, x, y, d) in &rows { tr { th scope="row" { (what) } td { (x) } td { (y) } td { (d) } } } }
        }
        (movers(EntityKind::Artist, "Artists", &cmp.artists))
        (movers(EntityKind::Track, "Tracks", &cmp.tracks))
        (movers(EntityKind::Album, "Albums", &cmp.albums))
        section {
            h3 { "When in the week" }
            div.two {
                div { h4 { "More listening in " (a.label) } @if cmp.more_at.is_empty() { p.hint { "None." } } ol { @for s in &cmp.more_at { (slot(s)) } } }
                div { h4 { "Less listening in " (a.label) } @if cmp.less_at.is_empty() { p.hint { "None." } } ol { @for s in &cmp.less_at { (slot(s)) } } }
            }
        }
    };
    Ok((format!("{} against {}", a.label, b.label), body))
}

/// `GET /api/v1/dashboard/compare`.
#[utoipa::path(
    get,
    path = "/dashboard/compare",
    operation_id = "getDashboardCompare",
    tag = "dashboard",
    summary = "Two periods compared: totals, movers, the hours of the week, a sentence",
    description = "The range (`range`, `from`, `to`) against `vs_range`/`vs_from`/`vs_to`, or against the period just before it. All time has nothing before it: the second period is then empty and the summary says to choose a period.",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
        crate::dashboards::query::ContentParam,
        crate::dashboards::query::VersusParams,
    ),
    responses(
        (status = 200, description = "The comparison.", body = engine::compare::Comparison),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_compare(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<engine::compare::Comparison>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(comparison(c).as_ref().clone())
    })
    .await
}
