//! `GET /dashboard/recap/{year}` and its JSON twin: a year in music.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use schema::{EntityKind, RankBy};

use crate::dashboards::context::{Ctx, api_context, context};
use crate::dashboards::finished::finished;
use crate::dashboards::query::check_year;
use crate::dashboards::shareable::Shareable;
pub(crate) use crate::dashboards::shareable::share_link;
use crate::dashboards::widgets::{entry_link, month_name, ranked_bars};
use crate::error::{ApiError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{self, fmt_hours, fmt_pct, plural};
use engine::{RangeChoice, panels};

pub(crate) fn recap(c: &Ctx, year: i32) -> Arc<panels::Recap> {
    let p = c.prepared.clone();
    let content = c.q.content;
    c.prepared
        .memo(format!("recap|{}|{year}", content.as_str()), move || {
            let days = RangeChoice::Year(year).days(None);
            let year_stats = p.stats(content, days);
            let all = p.stats(content, (None, None));
            panels::recap(&year_stats, &all, &p.strings, year)
        })
}

/// `GET /dashboard/recap/{year}`: "Wrapped" for any year.
pub async fn recap_page(
    State(state): State<AppState>,
    v: Visitor,
    Path(year): Path<i32>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let year = check_year(year)?;
    let path = format!("/dashboard/recap/{year}");
    if let Some(r) = finished(&state, &v, &path, raw.as_deref()).await? {
        return Ok(r);
    }
    let c = context(&state, &v, raw.as_deref()).await?;
    let body = recap_body(&c, year);
    Ok(crate::ui::layout(&format!("{year} recap"), &nav(&state, &v), body).into_response())
}

/// How a year compares with the one before, in words that stay sane when either is nearly
/// empty ([`engine::compare::change_words`]).
pub fn year_comparison(year: i32, this_ms: u64, previous_ms: Option<u64>) -> Option<String> {
    engine::compare::change_words(
        &year.to_string(),
        this_ms,
        &(year - 1).to_string(),
        previous_ms?,
        fmt_hours,
    )
}

/// A local hour as people say it: `"14:00–15:00"`.
fn hour_span(label: &str) -> String {
    match label.parse::<u32>() {
        Ok(h) if h < 24 => format!("{h:02}:00–{:02}:00", (h + 1) % 24),
        _ => label.to_string(),
    }
}

/// The recap page's content: the year as a sequence of findings, each a short headline with
/// its evidence, then the year's top lists.
pub(crate) fn recap_body(c: &Ctx, year: i32) -> Markup {
    let r = recap(c, year);
    let link =
        |kind, name: &str, by: Option<&str>| entry_link(&c.q, kind, name, by).unwrap_or_default();
    let first_year = c
        .prepared
        .span()
        .is_some_and(|(first, _)| first.ymd().0 == year);
    html! {
        p.go { a href=(c.q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Your " (year) " in music" }
        (share_link(&c.q, Shareable::Recap(year)))
        @if r.total.streams == 0 { p { "No listening in " (year) "." } }
        @else {
            ol.story {
                li.finding {
                    p.kicker { "Time" }
                    p.headline { span data-stat="recap-hours" { (fmt_hours(r.total.ms_played)) } " of listening" }
                    p { span data-stat="recap-plays" { (plural(r.total.plays, "play")) } " on " (plural(r.days_listened as u64, "day")) " of " (year) "."
                        @if let Some(text) = year_comparison(year, r.total.ms_played, r.previous_year_ms_played) { " " (text) } }
                }
                @if let Some(top) = r.top_artists.first() {
                    li.finding {
                        p.kicker { "Artist of the year" }
                        p.headline data-finding="artist-of-the-year" { a href=(link(EntityKind::Artist, &top.name, None)) { (top.name) } }
                        p { (fmt_hours(top.ms_played)) ", " (plural(top.plays, "play"))
                            @if let Some(share) = r.top_artist_share { ": " (fmt_pct(share)) " of your music time" } "." }
                    }
                }
                @if let Some(t) = r.top_tracks.first() {
                    li.finding {
                        p.kicker { "Song of the year" }
                        p.headline { a href=(link(EntityKind::Track, &t.name, t.by.as_deref())) { (t.name) } }
                        p { @if let Some(b) = &t.by { "by " a href=(link(EntityKind::Artist, b, None)) { (b) } ", " } (plural(t.plays, "play")) "." }
                    }
                }
                @if r.new_artists > 0 && first_year {
                    li.finding {
                        p.kicker { "Where it starts" }
                        p.headline { (plural(r.new_artists, "artist")) }
                        p { "Your history here begins in " (year) ", so every one of them is new to it." }
                    }
                } @else if r.new_artists > 0 {
                    li.finding {
                        p.kicker { "Discoveries" }
                        p.headline { (plural(r.new_artists, "new artist")) }
                        @if let Some(n) = r.top_new_artists.first() {
                            p { "Heard for the first time ever in " (year) "; the one you played most: "
                                a href=(link(EntityKind::Artist, &n.name, None)) { (n.name) } " (" (fmt_hours(n.ms_played)) ")." }
                        }
                    }
                }
                @if let Some(s) = &r.longest_streak {
                    li.finding {
                        p.kicker { "Longest streak" }
                        p.headline { (plural(s.days.max(0) as u64, "day")) " in a row" }
                        p { "From " (s.first) " to " (s.last) "." }
                    }
                }
                @if r.busiest_month.is_some() || r.busiest_weekday.is_some() || r.busiest_hour.is_some() {
                    li.finding {
                        p.kicker { "When you listened" }
                        @if let Some(m) = &r.busiest_month { p.headline { "Most in " (month_name(&m.month)) } }
                        p {
                            @if let Some(m) = &r.busiest_month { (fmt_hours(m.ms_played)) " that month. " }
                            @if let Some(w) = &r.busiest_weekday { "Busiest day of the week: " (w.label) ". " }
                            @if let Some(h) = &r.busiest_hour { "Busiest hour: " (hour_span(h.label)) "." }
                        }
                    }
                }
                @if let Some(f) = &r.first_stream {
                    li.finding {
                        p.kicker { "First stream of the year" }
                        p.headline { (f.name.as_deref().unwrap_or("–")) }
                        p { @if let Some(b) = &f.by { "by " (b) ", " } (charts::fmt_instant(&f.at)) "." }
                    }
                }
            }
            h2 { "The year's top lists" }
            div.two {
                (ranked_bars(&c.q, EntityKind::Artist, ("recap-artists", "Top artists"), &r.top_artists, RankBy::Time))
                (ranked_bars(&c.q, EntityKind::Track, ("recap-tracks", "Top tracks"), &r.top_tracks, RankBy::Time))
                (ranked_bars(&c.q, EntityKind::Album, ("recap-albums", "Top albums"), &r.top_albums, RankBy::Time))
                @if !r.top_shows.is_empty() { (ranked_bars(&c.q, EntityKind::Show, ("recap-shows", "Top podcasts"), &r.top_shows, RankBy::Time)) }
            }
            @if !r.top_new_artists.is_empty() {
                h2 { "Discovered in " (year) }
                ol { @for e in &r.top_new_artists { li { a href=(link(EntityKind::Artist, &e.name, None)) { (e.name) } " " span.value { (fmt_hours(e.ms_played)) } } } }
            }
        }
    }
}

/// `GET /api/v1/dashboard/recap/{year}`.
#[utoipa::path(
    get,
    path = "/dashboard/recap/{year}",
    operation_id = "getDashboardRecap",
    tag = "dashboard",
    summary = "A year in review of a selection",
    description = "The year's totals, tops, busiest month, weekday and hour, streak, discoveries and change from the year before. `range` does not apply; a year without listening answers 200 with zeros.",
    params(
        crate::dashboards::query::YearParam,
        crate::dashboards::query::Selecting,
        crate::dashboards::query::ContentParam,
    ),
    responses(
        (status = 200, description = "The recap.", body = engine::panels::Recap),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_recap(
    State(state): State<AppState>,
    v: Visitor,
    Path(year): Path<i32>,
    RawQuery(raw): RawQuery,
) -> Result<Json<panels::Recap>, ApiError> {
    let year = check_year(year)?;
    let c = api_context(&state, &v, raw.as_deref()).await?;
    Ok(Json(recap(&c, year).as_ref().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    #[test]
    fn a_year_is_compared_with_the_one_before_in_sane_words() {
        assert_eq!(
            year_comparison(2024, 150 * HOUR, Some(100 * HOUR)).as_deref(),
            Some("150 h in 2024: up 50 % from 2023 (100 h).")
        );
        assert_eq!(
            year_comparison(2024, 75 * HOUR, Some(100 * HOUR)).as_deref(),
            Some("75 h in 2024: down 25 % from 2023 (100 h).")
        );
        // Against a near-empty year: the two amounts, no "up 1,080,439 %".
        assert_eq!(
            year_comparison(2024, 975 * HOUR, Some(60_000)).as_deref(),
            Some("975 h in 2024, against 1 min in 2023.")
        );
        assert_eq!(
            year_comparison(2024, 500 * HOUR, Some(20 * HOUR)).as_deref(),
            Some("500 h in 2024: 25 times your listening of 2023 (20 h).")
        );
        assert_eq!(year_comparison(2024, HOUR, None), None);
        assert_eq!(year_comparison(2024, HOUR, Some(0)), None);
    }

    #[test]
    fn months_and_hours_read_as_words() {
        assert_eq!(month_name("2024-03"), "March 2024");
        assert_eq!(hour_span("14"), "14:00–15:00");
        assert_eq!(hour_span("23"), "23:00–00:00");
    }
}
