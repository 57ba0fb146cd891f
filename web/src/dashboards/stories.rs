//! The stories a history tells that top lists do not: its chapters (eras where the mix of
//! artists shifts, albums sat through from start to end) and its moments (trips abroad and
//! their soundtrack, this day in other years, milestones). Computed by the engine
//! ([`engine::chapters`], [`engine::moments`]) for the selection, range, content kind, time
//! zone and play threshold of the request, like every other view; pages and JSON twins.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use schema::EntityKind;
use serde::Serialize;

use crate::dashboards::context::{Ctx, api_view, context, meta};
use crate::dashboards::widgets::{controls, entry_link, month_name};
use crate::error::{ApiError, AppError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{self, Bar, Chart, fmt_hours, fmt_int, plural};
use engine::chapters::{self, Eras, Sittings};
use engine::moments::{self, Milestones, OnThisDay, Ranked, Trips};

/// `GET /api/v1/dashboard/chapters`: the eras of a range and its album sittings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Chapters {
    /// The range cut into chapters where the mix of artists shifts (music).
    pub eras: Eras,
    /// Albums played through in order (music).
    pub sittings: Sittings,
}

/// `GET /api/v1/dashboard/moments`: trips, a date in every year, milestones.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Moments {
    /// Runs of streams from a country other than the usual one, with their soundtrack.
    pub trips: Trips,
    /// The date asked for (`on`; today in the user's time zone by default) in every year.
    pub on_this_day: OnThisDay,
    /// Numbered plays reached in the range (counted from the first play of the selection),
    /// the first play of the range's top artist, tracks reaching their 100th play.
    pub milestones: Milestones,
}

fn chapters_of(c: &Ctx) -> std::sync::Arc<Chapters> {
    let p = c.prepared.clone();
    let days = c.days;
    c.prepared.memo(format!("chapters|{days:?}"), move || {
        let range = p.slice(days);
        Chapters {
            eras: chapters::eras(range, &p.strings, p.settings),
            sittings: chapters::sittings(range, &p.strings, p.settings),
        }
    })
}

/// The month and day of `on` (`MM-DD` or `YYYY-MM-DD`); today in the user's time zone when
/// absent.
fn on_date(c: &Ctx, on: Option<&str>) -> Result<(u32, u32), AppError> {
    let Some(on) = on.map(str::trim).filter(|s| !s.is_empty()) else {
        let today =
            schema::aggregate::local_day_hour(c.prepared.settings.tz, storage::db::now_ms()).0;
        let (_, m, d) = today.ymd();
        return Ok((m, d));
    };
    let md = match on.len() {
        10 => &on[5..],
        _ => on,
    };
    let bad = || {
        AppError::BadRequest(format!(
            "“on” must be a date as MM-DD or YYYY-MM-DD, not “{on}”."
        ))
    };
    let (m, d) = md.split_once('-').ok_or_else(bad)?;
    let (m, d) = (
        m.parse::<u32>().map_err(|_| bad())?,
        d.parse::<u32>().map_err(|_| bad())?,
    );
    if !(on.len() == 5 || on.len() == 10) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok((m, d))
}

fn moments_of(c: &Ctx, (month, day): (u32, u32)) -> std::sync::Arc<Moments> {
    let p = c.prepared.clone();
    let (days, content) = (c.days, c.q.content);
    c.prepared.memo(
        format!("moments|{days:?}|{content:?}|{month}|{day}"),
        move || {
            let range = p.slice(days);
            // Plays are numbered from the selection's first; a milestone counts in the range
            // it was reached in.
            let mut milestones =
                moments::milestones(p.slice((None, days.1)), &p.strings, p.settings, content);
            if let Some(from) = days.0.map(schema::aggregate::Day::label) {
                milestones.marks.retain(|m| m.day >= from);
                milestones.tracks.retain(|t| t.day >= from);
            }
            Moments {
                trips: moments::trips(range, &p.strings, p.settings, content),
                on_this_day: moments::on_this_day(
                    range, &p.strings, p.settings, content, month, day,
                ),
                milestones,
            }
        },
    )
}

fn artist_link(c: &Ctx, name: &str) -> Markup {
    match entry_link(&c.q, EntityKind::Artist, name, None) {
        Some(href) => html! { a href=(href) { (name) } },
        None => html! { (name) },
    }
}

fn ranked_list(c: &Ctx, list: &[Ranked]) -> Markup {
    html! {
        @for (i, r) in list.iter().enumerate() {
            @if i > 0 { ", " }
            @match &r.by {
                Some(by) => {
                    a href=(entry_link(&c.q, EntityKind::Track, &r.name, Some(by)).unwrap_or_default()) { (r.name) }
                    " (" (by) ")"
                }
                None => (artist_link(c, &r.name)),
            }
        }
    }
}

/// `2024-03` to `2025-01` in words.
fn months(from: &str, to: &str) -> String {
    if from == to {
        month_name(from)
    } else {
        format!("{} – {}", month_name(from), month_name(to))
    }
}

/// `GET /dashboard/chapters`: eras and album sittings.
pub async fn chapters_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let ch = chapters_of(&c);
    let m = meta(&c);
    let q = &c.q;
    let (eras, sit) = (&ch.eras, &ch.sittings);
    let era_bars: Vec<Bar> = eras
        .chapters
        .iter()
        .map(|e| {
            Bar::new(months(&e.from, &e.to), e.ms_played as f64 / 3_600_000.0).with_tooltip(
                format!(
                    "{}: {}, {}",
                    months(&e.from, &e.to),
                    fmt_hours(e.ms_played),
                    plural(e.plays, "play")
                ),
            )
        })
        .collect();
    let album_bars: Vec<Bar> = sit
        .albums
        .iter()
        .take(10)
        .map(|a| {
            let bar = Bar::new(format!("{} — {}", a.album, a.artist), a.sittings as f64);
            match entry_link(q, EntityKind::Album, &a.album, Some(&a.artist)) {
                Some(href) => bar.with_link(href),
                None => bar,
            }
        })
        .collect();
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Your chapters" }
        (controls(q, &m, "/dashboard/chapters"))
        section id="eras" {
            h2 { "Eras" }
            p.hint { "Your music cut where the mix of artists you play shifts: a month unlike its chapter (and the month after it) starts a new one once the chapter has "
                (chapters::MIN_ERA_MONTHS) " months. Each chapter is named by the artists it holds far more of than the rest of the range does." }
            @if eras.chapters.is_empty() {
                p { "No music in this range." }
            } @else {
                div.two {
                (charts::hbars(&Chart::new("era-hours", "Hours per chapter").with_label_name("Chapter"), &era_bars, "h"))
                ol.story.eras {
                    @for e in &eras.chapters {
                        li.finding {
                            p.kicker { (months(&e.from, &e.to)) }
                            p.headline {
                                @if e.defining.is_empty() {
                                    @if let Some(top) = &e.top_artist { (artist_link(&c, &top.name)) }
                                } @else {
                                    @for (i, a) in e.defining.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        (artist_link(&c, &a.name))
                                    }
                                }
                            }
                            p { (plural(e.months as u64, "month")) ", " (fmt_hours(e.ms_played)) ", " (plural(e.plays, "play")) "."
                                @if let Some(top) = &e.top_artist { " Most played: " (artist_link(&c, &top.name)) " (" (fmt_hours(top.ms_played)) ")." } }
                        }
                    }
                }
                }
            }
        }
        section id="sittings" {
            h2 { "Albums from start to end" }
            p.hint { "A sitting is at least " (chapters::MIN_SITTING_TRACKS) " tracks of one album in a row, shuffle off, each starting when the one before ended, none repeated." }
            @if sit.sittings == 0 {
                p { "No album sitting in this range." }
            } @else {
                p.lead { (plural(sit.sittings, "sitting")) ", " (fmt_hours(sit.ms_played)) "." }
                div.two {
                (charts::hbars(&Chart::new("sitting-albums", "Albums sat through most").with_label_name("Album"), &album_bars, "sittings"))
                section {
                h3 { "Latest sittings" }
                table.sittings {
                    thead { tr { th scope="col" { "Day" } th scope="col" { "Album" } th scope="col" { "Tracks" } th scope="col" { "Time" } } }
                    tbody {
                        @for s in &sit.latest {
                            tr {
                                td { (s.day) }
                                th scope="row" { a href=(entry_link(q, EntityKind::Album, &s.album, Some(&s.artist)).unwrap_or_default()) { (s.album) }
                                    " — " (artist_link(&c, &s.artist)) }
                                td { (s.tracks) }
                                td { (fmt_hours(s.ms_played)) }
                            }
                        }
                    }
                }
                }
                }
            }
        }
    };
    Ok(crate::ui::layout("Your chapters", &nav(&state, &v), body).into_response())
}

/// `GET /api/v1/dashboard/chapters`.
#[utoipa::path(
    get,
    path = "/dashboard/chapters",
    operation_id = "getDashboardChapters",
    tag = "dashboard",
    summary = "Chapters: the range cut into eras where the mix of artists shifts, and the albums sat through from start to end",
    description = "Music plays of the range. Eras: months compared by their mix of artists (cosine similarity of each month, smoothed with the next, against the chapter so far, below 0.4 after at least 3 months starts a new chapter). A sitting: at least 5 tracks of one album in a row, shuffle off, each starting when the one before ended, none repeated, the last played to its end.",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
    ),
    responses(
        (status = 200, description = "The chapters.", body = Chapters),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_chapters(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<Chapters>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(chapters_of(c).as_ref().clone())
    })
    .await
}

/// `GET /dashboard/moments`: trips, this day in other years, milestones.
pub async fn moments_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let on = on_date(
        &c,
        crate::dashboards::query::query_value(raw.as_deref(), "on").as_deref(),
    )?;
    let mo = moments_of(&c, on);
    let m = meta(&c);
    let q = &c.q;
    let (trips, day, miles) = (&mo.trips, &mo.on_this_day, &mo.milestones);
    let date_words = format!(
        "{} {}",
        day.day,
        month_name(&format!("2000-{:02}", day.month)).trim_end_matches(" 2000")
    );
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Your moments" }
        (controls(q, &m, "/dashboard/moments"))
        section id="on-this-day" {
            h2 { "On " (date_words) }
            form.range method="get" action="/dashboard/moments" aria-label="Another date" {
                @for id in &q.uploads { input type="hidden" name="u" value=(id); }
                @if let Some(f) = &m.from { input type="hidden" name="from" value=(f); }
                @if let Some(t) = &m.to { input type="hidden" name="to" value=(t); }
                @if m.range != "all" { input type="hidden" name="range" value=(m.range); }
                label for="on" { "Another date" }
                input id="on" name="on" type="date";
                button type="submit" { "Show" }
            }
            @if day.years.is_empty() {
                p { "No listening on " (date_words) " in this range." }
            } @else {
                ol.story {
                    @for y in &day.years {
                        li.finding {
                            p.kicker { (y.year) }
                            p.headline { (fmt_hours(y.ms_played)) }
                            p { (plural(y.plays, "play")) "."
                                @if !y.artists.is_empty() { " Artists: " (ranked_list(&c, &y.artists)) "." }
                                @if !y.tracks.is_empty() { " Tracks: " (ranked_list(&c, &y.tracks)) "." } }
                        }
                    }
                }
            }
        }
        section id="trips" {
            h2 { "Trips" }
            @match &trips.home {
                None => p { "No stream in this range says where it was played." },
                Some(home) => {
                    p.hint { "Home is " (crate::ui::words::country(home)) ", where most of your listening was. A trip is at least "
                        (moments::MIN_TRIP_PLAYS) " plays from one other country, with no pause of more than three days." }
                    @if trips.trips.is_empty() {
                        p { "No trip in this range." }
                    } @else {
                        p.lead { (plural(trips.total as u64, "trip")) "." }
                        ol.story {
                            @for t in &trips.trips {
                                li.finding {
                                    p.kicker { (t.from) @if t.to != t.from { " to " (t.to) } " · " (plural(u64::from(t.days), "day")) }
                                    p.headline { (crate::ui::words::country(&t.country)) }
                                    p { (fmt_hours(t.ms_played)) ", " (plural(t.plays, "play")) "."
                                        @if !t.tracks.is_empty() { " Soundtrack: " (ranked_list(&c, &t.tracks)) "." } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section id="milestones" {
            h2 { "Milestones" }
            @if miles.marks.is_empty() && miles.top_artist.is_none() && miles.tracks.is_empty() {
                p { "No milestone in this range." }
            } @else {
                ul.milestones {
                    @for mk in &miles.marks {
                        li { strong { "Play " (fmt_int(mk.play)) } ", " (mk.day) ": "
                            @match (&mk.title, &mk.by) {
                                (Some(t), Some(by)) => { a href=(entry_link(q, EntityKind::Track, t, Some(by)).unwrap_or_default()) { (t) } " by " (artist_link(&c, by)) }
                                (Some(t), None) => { (t) }
                                _ => { "a stream without its name" }
                            } }
                    }
                    @if let Some(top) = &miles.top_artist {
                        li { strong { "Your first play of " (artist_link(&c, &top.artist)) } ", " (top.day)
                            @if let Some(t) = &top.track { ": " a href=(entry_link(q, EntityKind::Track, t, Some(&top.artist)).unwrap_or_default()) { (t) } }
                            " (your top artist here: " (fmt_hours(top.ms_played)) ")" }
                    }
                }
                @if !miles.tracks.is_empty() {
                    h3 { "Tracks that reached " (moments::TRACK_MILESTONE) " plays (" (fmt_int(miles.tracks.len() as u64)) ")" }
                    table.milestones {
                        thead { tr { th scope="col" { "Day" } th scope="col" { "Track" } } }
                        tbody { @for t in &miles.tracks {
                            tr { td { (t.day) } th scope="row" {
                                a href=(entry_link(q, EntityKind::Track, &t.track, t.artist.as_deref()).unwrap_or_default()) { (t.track) }
                                @if let Some(a) = &t.artist { " — " (artist_link(&c, a)) } } }
                        } }
                    }
                }
            }
        }
    };
    Ok(crate::ui::layout("Your moments", &nav(&state, &v), body).into_response())
}

/// `GET /api/v1/dashboard/moments`.
#[utoipa::path(
    get,
    path = "/dashboard/moments",
    operation_id = "getDashboardMoments",
    tag = "dashboard",
    summary = "Moments: trips abroad and their soundtrack, a date in every year, milestones",
    description = "Trips: runs of at least 5 plays from one country other than the usual one, no pause over three days. Milestones are numbered from the selection's first play and listed in the range they were reached in.",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
        crate::dashboards::query::ContentParam,
        crate::dashboards::query::OnParam,
    ),
    responses(
        (status = 200, description = "The moments.", body = Moments),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_moments(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<Moments>, ApiError> {
    let on = crate::dashboards::query::query_value(raw.as_deref(), "on");
    api_view(&state, &v, raw.as_deref(), |c| {
        let date = on_date(c, on.as_deref())?;
        Ok(moments_of(c, date).as_ref().clone())
    })
    .await
}
