//! `GET /dashboard` and `GET /api/v1/dashboard`: every panel of the dashboard ([`Board`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use schema::aggregate::Day;
use schema::{EntityKind, RankBy};
use serde::Serialize;

use crate::dashboards::context::{Ctx, Meta, api_days_context, days_context, meta};
use crate::dashboards::finished::{finished, view_key};
use crate::dashboards::query::BoardQuery;
use crate::dashboards::search::search_form;
use crate::dashboards::shareable::{Shareable, share_link};
use crate::dashboards::widgets::{card, controls, hours, ranked_bars, reasons};
use crate::error::{ApiError, PageError};
use crate::session::{Visitor, nav};
use crate::state::AppState;
use crate::ui::charts::{self, Bar, Chart, fmt_hours, fmt_int, fmt_pct, plural};
use engine::{Content, RangeChoice, panels};

/// Every panel of the dashboard.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Board {
    /// The question.
    pub meta: Meta,
    /// Cards.
    pub overview: panels::Overview,
    /// Listening by day, week and month.
    pub over_time: panels::OverTime,
    /// Hour × weekday.
    pub hour_weekday: panels::HourWeekday,
    /// Top lists.
    pub tops: panels::Tops,
    /// First listens.
    pub discoveries: panels::Discoveries,
    /// Runs of days.
    pub streaks: panels::Streaks,
    /// Listening sessions.
    pub sessions: panels::Sessions,
    /// Up to 10 loops (one track five or more times in a row within a session), most repeats first.
    pub loops: Vec<panels::Loop>,
    /// Skips, shuffle, reasons.
    pub skips: panels::Skips,
    /// Device families over time.
    pub platforms: panels::Breakdown,
    /// Countries over time.
    pub countries: panels::Breakdown,
    /// Day of month, one ridge per month (the last 12 months of the range).
    pub ridgeline: panels::Ridgeline,
}

pub(crate) fn board(c: &Ctx) -> Arc<Board> {
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    let m = meta(c);
    c.prepared.memo(q.key(days, "board"), move || {
        let range = p.stats(q.content, days);
        let strings = &p.strings;
        // Two halves on two cores: the passes over the plays (loops, sessions), and the
        // panels read off the stats.
        let (session_part, mut board) = rayon::join(
            || {
                let plays: Vec<schema::Play> = p
                    .slice(days)
                    .iter()
                    .filter(|x| q.content.admits(x.kind))
                    .copied()
                    .collect();
                let gap_ms = i64::from(q.gap_minutes) * 60_000;
                let loops = panels::loops(&plays, strings, gap_ms);
                let session_list = schema::aggregate::sessions(&plays, gap_ms);
                (panels::sessions(&session_list, &loops), loops)
            },
            || {
                let first_heard = p.first_heard(q.content);
                // The ridgeline shows the last 12 months of the range (a ridge per month).
                let ridge_days = match range.by_day.keys().next_back() {
                    Some(last) => {
                        let (y, m, _) = last.ymd();
                        let first = schema::time::days_from_civil(i64::from(y) - 1, m, 1) as i32;
                        let from = days.0.map_or(first, |d| d.0.max(first));
                        (Some(Day(from)), days.1)
                    }
                    None => days,
                };
                let ridge_stats = p.stats(q.content, ridge_days);
                Board {
                    meta: m,
                    overview: panels::overview(&range),
                    over_time: panels::over_time(&range),
                    hour_weekday: panels::hour_weekday(&range),
                    tops: panels::tops(&range, strings, q.by, 10),
                    discoveries: panels::discoveries(&range, &first_heard, strings),
                    streaks: panels::streaks(&range),
                    sessions: panels::Sessions::default(),
                    loops: Vec::new(),
                    skips: panels::skips(&range, strings),
                    platforms: panels::platforms(&range),
                    countries: panels::countries(&range),
                    ridgeline: panels::ridgeline(&ridge_stats),
                }
            },
        );
        let (sessions, loops) = session_part;
        board.sessions = sessions;
        board.loops = loops.into_iter().take(10).collect();
        board
    })
}

/// `GET /dashboard`.
pub async fn page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    // The view as the worker finished it, when it did: no instance needs the user's plays.
    if let Some(r) = finished(&state, &v, "/dashboard", raw.as_deref()).await? {
        return Ok(r);
    }
    let c = days_context(&state, &v, raw.as_deref()).await?;
    let b = board(&c);
    let body = c.prepared.memo(c.q.key(c.days, "board-html"), || {
        render_board(&c.q, &b).into_string()
    });
    Ok(crate::ui::layout(
        "Dashboard",
        &nav(&state, &v),
        PreEscaped(body.as_str().to_string()),
    )
    .into_response())
}

pub(crate) fn render_board(q: &BoardQuery, b: &Board) -> Markup {
    let m = &b.meta;
    let o = &b.overview;
    let hw = &b.hour_weekday;
    html! {
        h1 { "Your listening" }
        @if m.sample {
            p.info.sample role="note" { strong { "Sample data. " } "A generated listening history, to show what Backspin does; "
                a href="/uploads" { "upload your own export" } " to see yours." }
        }
        (controls(q, m, "/dashboard"))
        (search_form(q, ""))
        @if q.range != RangeChoice::All {
            p.go { a href=(q.link("/dashboard/compare", &[])) { "Compare this period with the one before →" } }
        }
        (share_link(q, Shareable::Dashboard))
        section.cards aria-label="Overview" {
            (card("Listening time", "hours", fmt_hours(o.total.ms_played)))
            (card("Plays", "plays", fmt_int(o.total.plays)))
            // Only what the content holds: no "Artists 0" under the podcasts filter.
            @for (title, stat, n) in [("Artists", "artists", o.artists), ("Tracks", "tracks", o.tracks), ("Albums", "albums", o.albums), ("Podcasts", "shows", o.shows), ("Episodes", "episodes", o.episodes), ("Audiobooks", "audiobooks", o.audiobooks)] {
                @if n > 0 || (stat == "artists" && q.content == Content::All) { (card(title, stat, fmt_int(n as u64))) }
            }
            (card("Days listened", "days", fmt_int(o.days_listened as u64)))
            (card("Longest streak", "streak", o.longest_streak.as_ref().map_or("–".into(), |s| plural(s.days.max(0) as u64, "day"))))
        }
        section id="over-time" {
            h2 { "Listening over time" }
            @if b.over_time.days.len() <= SHORT_RANGE_DAYS {
                // A short range: a bar a day says more than one or two monthly bars.
                (charts::bars(&Chart::new("per-day", "Hours per day").with_label_name("Day"),
                    &b.over_time.days.iter().map(|p| Bar::new(p.label.clone(), hours(p.ms_played)).with_tooltip(format!("{}: {} · {}", p.label, fmt_hours(p.ms_played), plural(p.plays, "play")))).collect::<Vec<_>>(), "h"))
            } @else {
                div.two {
                    (charts::bars(&Chart::new("per-month", "Hours per month").with_label_name("Month"),
                        &b.over_time.months.iter().map(|p| Bar::new(p.label.clone(), hours(p.ms_played)).with_tooltip(format!("{}: {} · {}", p.label, fmt_hours(p.ms_played), plural(p.plays, "play")))).collect::<Vec<_>>(), "h"))
                    (charts::line(&Chart::new("per-week", "Hours per week").with_label_name("Week of").with_table(false),
                        &b.over_time.weeks.iter().map(|p| (p.label.clone(), hours(p.ms_played))).collect::<Vec<_>>(), "h"))
                }
                (charts::line(&Chart::new("per-day", "Hours per day").with_label_name("Day").with_table(false),
                    &b.over_time.days.iter().map(|p| (p.label.clone(), hours(p.ms_played))).collect::<Vec<_>>(), "h"))
            }
            @let cal = calendar_days(b);
            (charts::calendar(&Chart::new("calendar", "Calendar of the range's last 12 months").with_table(false), &cal, "h"))
            @if m.years.len() > 1 {
                p.hint.go { "Each year's calendar: "
                    @for (i, y) in m.years.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href={ (q.link("/dashboard", &[("range", &y.to_string()), ("from", ""), ("to", "")])) "#calendar" } { (y) }
                    }
                }
            }
        }
        div.two.sections {
        section id="hour-weekday" {
            h2 { "When in the day and week" }
            @if let Some(busy) = &hw.busiest { p { "Busiest: " (busy.weekday) " " (format!("{:02}:00", busy.hour)) ", " (fmt_hours(busy.ms_played)) "." } }
            (charts::heatmap(&Chart::new("hour-weekday", "Hours by weekday and hour of day").with_label_name("Weekday"),
                &hw.weekdays.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &hw.hours.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &hw.ms_played.iter().map(|r| r.iter().map(|&ms| hours(ms)).collect()).collect::<Vec<Vec<f64>>>(),
                &[], "h"))
        }
        section id="discoveries" {
            h2 { "Discoveries" }
            p { (fmt_int(b.discoveries.new_artists)) " artists and " (fmt_int(b.discoveries.new_tracks)) " tracks heard for the first time in this range." }
            @if let (Some(share), false) = (b.discoveries.new_share_of_time, q.range == RangeChoice::All) {
                (charts::share_bar(&Chart::new("new-known", "Music time: new artists against known ones"),
                    &[("First heard in this range".to_string(), share * 100.0), ("Known before".to_string(), (1.0 - share) * 100.0)], "%"))
            }
            (charts::bars(&Chart::new("discoveries", "New artists per month").with_label_name("Month"),
                &b.discoveries.months.iter().map(|d| Bar::new(d.month.clone(), d.new_artists as f64)).collect::<Vec<_>>(), "artists"))
        }
        }
        section id="tops" {
            h2 { "Top " (if q.by == RankBy::Time { "by listening time" } else { "by plays" }) }
            div.two {
                div { (ranked_bars(q, EntityKind::Artist, ("top-artists", "Top artists"), &b.tops.artists, q.by))
                      p.go { a href=(q.link("/dashboard/ranking", &[("kind", "artists")])) { "All artists, ranked →" } } }
                div { (ranked_bars(q, EntityKind::Track, ("top-tracks", "Top tracks"), &b.tops.tracks, q.by))
                      p.go { a href=(q.link("/dashboard/ranking", &[("kind", "tracks")])) { "All tracks, ranked →" } } }
                div { (ranked_bars(q, EntityKind::Album, ("top-albums", "Top albums"), &b.tops.albums, q.by)) }
                @if !b.tops.shows.is_empty() { div { (ranked_bars(q, EntityKind::Show, ("top-shows", "Top podcasts"), &b.tops.shows, q.by)) } }
                @if !b.tops.episodes.is_empty() { div { (ranked_bars(q, EntityKind::Episode, ("top-episodes", "Top episodes"), &b.tops.episodes, q.by)) } }
                @if !b.tops.audiobooks.is_empty() { div { (ranked_bars(q, EntityKind::Audiobook, ("top-audiobooks", "Top audiobooks"), &b.tops.audiobooks, q.by)) } }
            }
        }
        section id="streaks" {
            h2 { "Streaks and sessions" }
            div.two {
                div {
                    h3 { "Longest streaks" }
                    @if b.streaks.longest.is_empty() { p { "None." } }
                    ol { @for s in &b.streaks.longest { li { (plural(s.days.max(0) as u64, "day")) ": " (s.first) " to " (s.last) } } }
                }
                div {
                    h3 { "Longest sessions, by time listened" }
                    p.hint { (fmt_int(b.sessions.count as u64)) " sessions; a pause longer than " (m.session_gap_minutes) " minutes ends one." }
                    form.range method="get" action="/dashboard" {
                        @for id in &q.uploads { input type="hidden" name="u" value=(id); }
                        @if q.range != RangeChoice::All { input type="hidden" name="range" value=(q.range.param()); }
                        @if let RangeChoice::Custom(f, t) = q.range {
                            @if let Some(f) = f { input type="hidden" name="from" value=(f.label()); }
                            @if let Some(t) = t { input type="hidden" name="to" value=(t.label()); }
                        }
                        @if q.content != Content::All { input type="hidden" name="content" value=(q.content.as_str()); }
                        @if q.by == RankBy::Plays { input type="hidden" name="by" value="plays"; }
                        label for="gap" { "Pause that ends a session (minutes)" }
                        input id="gap" name="gap" type="number" min="1" max="1440" value=(m.session_gap_minutes);
                        button type="submit" { "Apply" }
                    }
                    ol { @for s in &b.sessions.longest {
                        li { strong { (fmt_hours(s.ms_played)) } " listened over " (fmt_hours(s.duration_ms)) ", " (plural(s.streams, "stream")) ", from " (charts::fmt_instant(&s.start))
                            @if s.has_loop { " " span.badge title="The same track five or more times in a row" { "loop" } } }
                    } }
                }
            }
            @if !b.loops.is_empty() {
                h3 { "Loops: one track, again and again" }
                ol { @for l in &b.loops { li { (l.track) @if let Some(a) = &l.artist { " — " (a) } ": " (l.repeats) " times in a row, " (l.start.get(..10).unwrap_or("")) } } }
            }
        }
        section id="skips" {
            h2 { "Skips, shuffle and why streams start and end" }
            p.go { a href=(q.link("/dashboard/skips", &[])) { "Your skips in depth: where in a track, on what, the tracks you play and skip →" } }
            div.cards {
                (card("Skipped", "skip-rate", b.skips.skipped.share.map_or("–".into(), fmt_pct)))
                (card("Shuffle on", "shuffle", b.skips.shuffle.share.map_or("–".into(), fmt_pct)))
                (card("Offline", "offline", b.skips.offline.share.map_or("–".into(), fmt_pct)))
                (card("Private session", "private", b.skips.private_session.share.map_or("–".into(), fmt_pct)))
            }
            div.two {
                (charts::hbars(&Chart::new("skips-artist", "Most skipped artists (share of their streams)").with_label_name("Artist"),
                    &b.skips.by_artist.iter().map(|r| Bar::new(r.label.clone(), r.skip_rate.unwrap_or(0.0) * 100.0)).collect::<Vec<_>>(), "%"))
                (charts::bars(&Chart::new("skips-hour", "Skip rate by hour of day").with_label_name("Hour"),
                    &b.skips.by_hour.iter().map(|r| Bar::new(r.label.clone(), r.skip_rate.unwrap_or(0.0) * 100.0)).collect::<Vec<_>>(), "%"))
                (charts::hbars(&Chart::new("skips-platform", "Skip rate by device, highest first").with_label_name("Device"),
                    &b.skips.by_platform.iter().map(|r| Bar::new(crate::ui::words::platform(&r.label), r.skip_rate.unwrap_or(0.0) * 100.0)).collect::<Vec<_>>(), "%"))
                (charts::bars(&Chart::new("skip-seconds", "Seconds played before a skip").with_label_name("Seconds"),
                    &b.skips.seconds_before_skip.iter().map(|r| Bar::new(r.label.clone(), r.skips as f64)).collect::<Vec<_>>(), "skips"))
            }
            div.two {
                (reasons("Why streams started", &b.skips.reasons_start, true))
                (reasons("Why streams ended", &b.skips.reasons_end, false))
            }
        }
        section id="platforms" {
            h2 { "Devices and countries" }
            p.go { a href=(q.link("/dashboard/overlaps", &[])) { "Listening on two devices at once, and your time with overlaps counted once →" } }
            div.two {
                div { (breakdown("platforms", "Listening by device family", &b.platforms, crate::ui::words::platform)) }
                div { (breakdown("countries", "Listening by country", &b.countries, |n| crate::ui::words::country(n).to_string())) }
            }
        }
        section id="ridgeline" {
            h2 { "Day of the month" }
            (charts::ridgeline(&Chart::new("ridgeline", "Hours by day of month, one ridge per month").with_table(false),
                &b.ridgeline.ridges.iter().map(|r| (r.month.clone(), r.ms_played[..r.days_in_month as usize].iter().map(|&ms| hours(ms)).collect())).collect::<Vec<_>>(),
                &(1..=31).map(|d: u32| d.to_string()).collect::<Vec<_>>(), "h"))
        }
        section.go id="stories" {
            h2 { "Stories" }
            p { a href=(q.link("/dashboard/chapters", &[])) { "Your chapters: eras and the albums you sat through →" } }
            p { a href=(q.link("/dashboard/moments", &[])) { "Your moments: this day in other years, trips and their soundtrack, milestones →" } }
            p { a href=(q.link("/dashboard/ledger", &[])) { "Where every record of your uploads went: the import ledger →" } }
        }
        section.go id="recaps" {
            h2 { "Year recaps" }
            ul.presets { @for y in m.years.iter().rev() { li { a href=(q.link(&format!("/dashboard/recap/{y}"), &[("range", ""), ("from", ""), ("to", "")])) { (y) } } } }
        }
    }
}

/// Ranges of at most this many days show their listening a bar a day (not by month and week).
const SHORT_RANGE_DAYS: usize = 62;

fn calendar_days(b: &Board) -> Vec<(i32, u32, u32, f64)> {
    let days = &b.over_time.days;
    days.iter()
        .skip(days.len().saturating_sub(366))
        .filter_map(|p| {
            let mut it = p.label.splitn(3, '-');
            Some((
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
                hours(p.ms_played),
            ))
        })
        .collect()
}

/// `name` turns a series' name (a code) into words.
fn breakdown(
    id: &str,
    title: &str,
    b: &panels::Breakdown,
    name: impl Fn(&str) -> String,
) -> Markup {
    // Years instead of months when the range is long, so the bars stay readable.
    let by_year = b.months.len() > 36;
    let mut periods: Vec<(String, Vec<f64>)> = Vec::new();
    let shown: Vec<&panels::NamedSeries> = b.series.iter().take(7).collect();
    for (i, month) in b.months.iter().enumerate() {
        let label = if by_year {
            month.get(..4).unwrap_or(month).to_string()
        } else {
            month.clone()
        };
        let values: Vec<f64> = shown
            .iter()
            .map(|s| hours(s.ms_played.get(i).copied().unwrap_or(0)))
            .collect();
        match periods.last_mut() {
            Some((l, v)) if *l == label => v.iter_mut().zip(values).for_each(|(a, b)| *a += b),
            _ => periods.push((label, values)),
        }
    }
    // A period with almost no listening would show as a full bar of one device or country.
    let before = periods.len();
    periods.retain(|(_, v)| v.iter().sum::<f64>() >= 1.0);
    let left_out = before - periods.len();
    let names: Vec<String> = shown.iter().map(|s| name(&s.name)).collect();
    html! {
        (charts::stacked_share(&Chart::new(id, title).with_label_name(if by_year { "Year" } else { "Month" }), &names, &periods, "h"))
        @if left_out > 0 { p.hint { (plural(left_out as u64, if by_year { "year" } else { "month" })) " with less than an hour of listening left out." } }
    }
}

/// `GET /api/v1/dashboard`: every panel, as the page shows them.
#[utoipa::path(
    get,
    path = "/dashboard",
    operation_id = "getDashboard",
    tag = "dashboard",
    summary = "Every panel of the dashboard for a selection, range and content kind",
    description = "What `/dashboard` shows, as JSON. Days, weeks, months and hours are local to the settings' time zone; a stream's time is split across the local hours (and days) it covered, counts go to the local time it ended. Streams present in several selected uploads count once. Without ready uploads the answer is 200 with empty panels. A bad parameter gives 400 naming it; an upload id that is not the visitor's gives 404.",
    params(
        crate::dashboards::query::Selecting,
        crate::dashboards::query::Ranging,
        crate::dashboards::query::ContentParam,
        crate::dashboards::query::ByParam,
        crate::dashboards::query::GapParam,
    ),
    responses(
        (status = 200, description = "The panels.", body = Board),
        crate::error::ReadErrors,
    ),
)]
pub async fn api_board(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let user = v.require_user()?;
    if let Some(body) = state
        .finished()
        .get(
            state.db(),
            user,
            &view_key("/api/v1/dashboard", raw.as_deref()),
        )
        .await?
    {
        return Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            body.to_string(),
        )
            .into_response());
    }
    let c = api_days_context(&state, &v, raw.as_deref()).await?;
    Ok(Json(board(&c).as_ref().clone()).into_response())
}
