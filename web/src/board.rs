//! The dashboards: every view for any selection of uploads, range and content kind, as pages
//! (server-rendered SVG) and as their JSON twins under `/api/v1/dashboard`.
//!
//! A request finds the selection prepared in memory ([`crate::dash`]), takes the stats of its
//! range, computes the panels ([`engine::panels`]) and renders them ([`crate::charts`]); the
//! panels and the rendered sections are kept per question, so asking again costs a lookup.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use schema::aggregate::Day;
use schema::{EntityKind, RankBy};
use serde::Serialize;
use storage::uploads::Upload;
use storage::users::User;

use crate::AppState;
use crate::charts::{self, Bar, Chart, fmt_hours, fmt_int, fmt_pct, plural};
use crate::error::{ApiError, AppError, PageError};
use crate::pages::nav;
use crate::session::Visitor;
use crate::view;
use engine::panels;
use engine::{Content, DayRange, Prepared, RangeChoice};

/// Entries per page of the ranking.
pub const PER_PAGE: usize = 25;

/// What a dashboard request asks for.
#[derive(Debug, Clone)]
pub struct BoardQuery {
    /// Upload ids (none: every ready upload).
    pub uploads: Vec<String>,
    /// The range.
    pub range: RangeChoice,
    /// The content kind.
    pub content: Content,
    /// Rank by time or by plays.
    pub by: RankBy,
    /// Ranking: which entities.
    pub kind: EntityKind,
    /// Ranking: which page (from 1).
    pub page: usize,
    /// Artist drill-down: the artist's name; a track, album or show page: its name.
    pub name: Option<String>,
    /// A track or album page: the artist's name.
    pub artist: Option<String>,
    /// A comparison: the period to compare with (`vs_range`, `vs_from`, `vs_to`); the one
    /// just before the range when absent.
    pub vs: Option<RangeChoice>,
    /// A search: the words (`q`).
    pub search: Option<String>,
    /// A pause of at least this many minutes ends a listening session.
    pub gap_minutes: u32,
}

/// The default pause that ends a session, in minutes.
pub const DEFAULT_GAP_MINUTES: u32 = 30;

fn kind_param(k: EntityKind) -> &'static str {
    match k {
        EntityKind::Artist => "artists",
        EntityKind::Track => "tracks",
        EntityKind::Album => "albums",
        EntityKind::Show => "shows",
        EntityKind::Episode => "episodes",
        EntityKind::Audiobook => "audiobooks",
    }
}

impl BoardQuery {
    /// From the query string: `u` (repeated) or `uploads` (comma-separated), `range`, `from`,
    /// `to`, `content`, `by`, `kind`, `page`, `name`.
    pub fn parse(raw: Option<&str>) -> Result<BoardQuery, AppError> {
        let pairs: Vec<(String, String)> = match raw {
            Some(q) => serde_urlencoded::from_str(q)
                .map_err(|_| AppError::BadRequest("The address's query is malformed.".into()))?,
            None => Vec::new(),
        };
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let mut uploads: Vec<String> = Vec::new();
        for (k, v) in &pairs {
            match k.as_str() {
                "u" => uploads.push(v.clone()),
                "uploads" => uploads.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                ),
                _ => {}
            }
        }
        uploads.sort();
        uploads.dedup();
        let content = Content::parse(get("content").unwrap_or("")).ok_or_else(|| {
            AppError::BadRequest("“content” must be all, music, podcasts or audiobooks.".into())
        })?;
        let by = match get("by").unwrap_or("time") {
            "" | "time" => RankBy::Time,
            "plays" => RankBy::Plays,
            _ => return Err(AppError::BadRequest("“by” must be time or plays.".into())),
        };
        let kind = match get("kind").unwrap_or("artists") {
            "" | "artists" => EntityKind::Artist,
            "tracks" => EntityKind::Track,
            "albums" => EntityKind::Album,
            "shows" => EntityKind::Show,
            "episodes" => EntityKind::Episode,
            "audiobooks" => EntityKind::Audiobook,
            _ => {
                return Err(AppError::BadRequest(
                    "“kind” must be artists, tracks, albums, shows, episodes or audiobooks.".into(),
                ));
            }
        };
        let page = match get("page") {
            None | Some("") => 1,
            Some(p) => match p.parse::<usize>() {
                Ok(n) => n.max(1),
                // A number past usize is a page past the end, which is the last one.
                Err(_) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => usize::MAX,
                Err(_) => return Err(AppError::BadRequest("“page” must be a number.".into())),
            },
        };
        let gap_minutes = match get("gap") {
            None | Some("") => DEFAULT_GAP_MINUTES,
            Some(g) => match g.parse::<u32>() {
                Ok(m) if (1..=24 * 60).contains(&m) => m,
                _ => {
                    return Err(AppError::BadRequest(
                        "“gap” must be a number of minutes from 1 to 1440.".into(),
                    ));
                }
            },
        };
        Ok(BoardQuery {
            gap_minutes,
            uploads,
            range: RangeChoice::parse(get("range"), get("from"), get("to"))?,
            content,
            by,
            kind,
            page,
            name: get("name").map(str::to_string).filter(|n| !n.is_empty()),
            artist: get("artist").map(str::to_string).filter(|n| !n.is_empty()),
            search: get("q").map(str::to_string),
            vs: match (get("vs_range"), get("vs_from"), get("vs_to")) {
                (r, f, t)
                    if [r, f, t]
                        .iter()
                        .all(|v| v.is_none_or(|v| v.trim().is_empty())) =>
                {
                    None
                }
                (r, f, t) => Some(RangeChoice::parse(r, f, t).map_err(|e| {
                    AppError::BadRequest(format!("The period to compare with: {}", e.0))
                })?),
            },
        })
    }

    /// The query string for these choices with some changed (links of the controls).
    pub fn link(&self, path: &str, change: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .uploads
            .iter()
            .map(|u| ("u".to_string(), u.clone()))
            .collect();
        let mut set = |k: &str, v: String| {
            if let Some((_, nv)) = change.iter().find(|(ck, _)| *ck == k) {
                if !nv.is_empty() {
                    pairs.push((k.to_string(), (*nv).to_string()));
                }
            } else if !v.is_empty() {
                pairs.push((k.to_string(), v));
            }
        };
        let (from, to) = match self.range {
            RangeChoice::Custom(f, t) => (
                f.map(Day::label).unwrap_or_default(),
                t.map(Day::label).unwrap_or_default(),
            ),
            _ => (String::new(), String::new()),
        };
        set(
            "range",
            if self.range == RangeChoice::All {
                String::new()
            } else {
                self.range.param()
            },
        );
        set("from", from);
        set("to", to);
        set(
            "content",
            if self.content == Content::All {
                String::new()
            } else {
                self.content.as_str().into()
            },
        );
        set(
            "by",
            if self.by == RankBy::Time {
                String::new()
            } else {
                "plays".into()
            },
        );
        // What the page is about stays too: the ranking's kind, the artist, the session pause.
        set(
            "kind",
            if self.kind == EntityKind::Artist {
                String::new()
            } else {
                kind_param(self.kind).into()
            },
        );
        set("name", self.name.clone().unwrap_or_default());
        set("artist", self.artist.clone().unwrap_or_default());
        set(
            "gap",
            if self.gap_minutes == DEFAULT_GAP_MINUTES {
                String::new()
            } else {
                self.gap_minutes.to_string()
            },
        );
        for (k, v) in change {
            if ![
                "range", "from", "to", "content", "by", "gap", "kind", "name", "artist",
            ]
            .contains(k)
                && !v.is_empty()
            {
                pairs.push(((*k).to_string(), (*v).to_string()));
            }
        }
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    }

    fn key(&self, days: DayRange, what: &str) -> String {
        format!(
            "{what}|{}|{}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}",
            self.gap_minutes,
            self.content.as_str(),
            days.0.map(|d| d.0),
            days.1.map(|d| d.0),
            self.by,
            self.kind,
            self.page,
            self.name,
            self.artist,
            self.vs
        )
    }
}

/// What the dashboard is about: the selection, the range, the settings.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// Upload ids merged.
    pub uploads: Vec<String>,
    /// Their file names.
    pub upload_names: Vec<String>,
    /// `all`, `4w`, `6m`, `year`, a year, or `custom`.
    pub range: String,
    /// First day shown (`YYYY-MM-DD`), when limited.
    pub from: Option<String>,
    /// Last day shown, when limited.
    pub to: Option<String>,
    /// Content kind.
    pub content: &'static str,
    /// `time` or `plays`.
    pub by: &'static str,
    /// Time zone of days and hours.
    pub tz: String,
    /// Shortest stream counted as a play, in seconds.
    pub min_play_seconds: u64,
    /// First and last day of listening in the selection.
    pub history_first_day: Option<String>,
    /// Last day of listening in the selection.
    pub history_last_day: Option<String>,
    /// Calendar years with listening, for the recap links.
    pub years: Vec<i32>,
    /// A pause of at least this many minutes ends a listening session.
    pub session_gap_minutes: u32,
    /// The selection holds the built-in sample history (the pages say so).
    #[serde(skip)]
    pub sample: bool,
}

/// Every panel of the dashboard.
#[derive(Debug, Clone, Serialize)]
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
    /// Repeated tracks.
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

/// A request's context: who, which uploads, which prepared selection, which days.
pub(crate) struct Ctx {
    pub(crate) user: User,
    pub(crate) q: BoardQuery,
    pub(crate) chosen: Vec<Upload>,
    pub(crate) prepared: Arc<Prepared>,
    pub(crate) days: DayRange,
}

pub(crate) async fn context(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
) -> Result<Ctx, AppError> {
    context_for(state, v.require_user()?.clone(), raw).await
}

async fn context_for(state: &AppState, user: User, raw: Option<&str>) -> Result<Ctx, AppError> {
    let q = BoardQuery::parse(raw)?;
    let chosen = crate::actions::selection(state, &user, &q.uploads).await?;
    let ids: Vec<String> = chosen.iter().map(|u| u.id.clone()).collect();
    let prepared = state.dash().get(state, &user, &ids).await?;
    let days = q.range.days(prepared.span());
    Ok(Ctx {
        user,
        q,
        chosen,
        prepared,
        days,
    })
}

pub(crate) fn meta(c: &Ctx) -> Meta {
    let p = &c.prepared;
    let years = match p.span() {
        Some((a, b)) => (a.ymd().0..=b.ymd().0).collect(),
        None => Vec::new(),
    };
    Meta {
        uploads: c.chosen.iter().map(|u| u.id.clone()).collect(),
        upload_names: c.chosen.iter().map(|u| u.original_name.clone()).collect(),
        sample: c.chosen.iter().any(|u| u.sample),
        range: c.q.range.param(),
        from: c.days.0.map(Day::label),
        to: c.days.1.map(Day::label),
        content: c.q.content.as_str(),
        by: if c.q.by == RankBy::Time {
            "time"
        } else {
            "plays"
        },
        tz: c.user.tz.clone(),
        min_play_seconds: u64::from(engine::selection::play_threshold_seconds(
            c.user.min_play_ms,
        )),
        history_first_day: p.span().map(|s| s.0.label()),
        history_last_day: p.span().map(|s| s.1.label()),
        years,
        session_gap_minutes: c.q.gap_minutes,
    }
}

fn board(c: &Ctx) -> Arc<Board> {
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
                let all = p.stats(q.content, (None, None));
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
                    discoveries: panels::discoveries(&range, &all, strings),
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

fn hours(ms: u64) -> f64 {
    ms as f64 / 3_600_000.0
}

// -------------------------------------------------------------------------------------------
// Pages

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
    let c = context(&state, &v, raw.as_deref()).await?;
    let b = board(&c);
    let body = c.prepared.memo(c.q.key(c.days, "board-html"), || {
        render_board(&c.q, &b).into_string()
    });
    Ok(view::layout(
        "Dashboard",
        &nav(&state, &v),
        PreEscaped(body.as_str().to_string()),
    )
    .into_response())
}

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

fn card(title: &str, stat: &str, value: String) -> Markup {
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

fn ranked_bars(
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

fn render_board(q: &BoardQuery, b: &Board) -> Markup {
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
                    &b.skips.by_platform.iter().map(|r| Bar::new(crate::words::platform(&r.label), r.skip_rate.unwrap_or(0.0) * 100.0)).collect::<Vec<_>>(), "%"))
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
                div { (breakdown("platforms", "Listening by device family", &b.platforms, crate::words::platform)) }
                div { (breakdown("countries", "Listening by country", &b.countries, |n| crate::words::country(n).to_string())) }
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

fn reasons(title: &str, list: &[panels::ReasonCount], start: bool) -> Markup {
    html! {
        div {
            h3 { (title) }
            table {
                thead { tr { th scope="col" { "Reason" } th scope="col" { "Streams" } th scope="col" { "Share" } } }
                tbody { @for r in list.iter().take(8) {
                    tr { th scope="row" { (crate::words::reason(r.reason.as_deref().unwrap_or(""), start)) } td { (fmt_int(r.streams)) } td { (r.share.map_or("–".into(), fmt_pct)) } }
                } }
            }
        }
    }
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

/// `GET /dashboard/ranking`: every artist (or track, album…) ranked, a page at a time; ↑ and ↓
/// move through the list and on to the next or previous page, Enter opens an artist.
pub async fn ranking_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if let Some(r) = finished(&state, &v, "/dashboard/ranking", raw.as_deref()).await? {
        return Ok(r);
    }
    let c = context(&state, &v, raw.as_deref()).await?;
    Ok(view::layout("Ranking", &nav(&state, &v), ranking_body(&c)).into_response())
}

/// The ranking page's content.
fn ranking_body(c: &Ctx) -> Markup {
    let r = ranking(c);
    let m = meta(c);
    let q = &c.q;
    let page_link = |p: usize, focus: &str| {
        q.link(
            "/dashboard/ranking",
            &[
                ("kind", kind_param(q.kind)),
                ("page", &p.to_string()),
                ("focus", focus),
            ],
        )
    };
    html! {
        h1 { "Ranking: " (kind_param(q.kind)) }
        nav.controls aria-label="What to rank" {
            ul.presets {
                @for (kind, label) in [(EntityKind::Artist, "Artists"), (EntityKind::Track, "Tracks"), (EntityKind::Album, "Albums"), (EntityKind::Show, "Podcasts"), (EntityKind::Episode, "Episodes")] {
                    li { a href=(q.link("/dashboard/ranking", &[("kind", kind_param(kind)), ("page", "")]))
                        aria-current=[(q.kind == kind).then_some("true")] { (label) } }
                }
            }
        }
        (controls(q, &m, "/dashboard/ranking"))
        p.hint { "Use ↑ and ↓ to move through the list (past either end to the next or previous page); Enter opens an artist." }
        ol.ranking-list data-ranking start=(r.entries.first().map_or(1, |e| e.rank)) {
            @for e in &r.entries {
                li {
                    @match entry_link(q, q.kind, &e.name, e.by.as_deref()) {
                        Some(href) => { a.rank-link href=(href) { (e.name) } }
                        None => { span.rank-name { (e.name) } }
                    }
                    @if let Some(by) = &e.by {
                        " — "
                        @match entry_link(q, if q.kind == EntityKind::Episode { EntityKind::Show } else { EntityKind::Artist }, by, None) {
                            Some(href) => { a href=(href) { (by) } }
                            None => { (by) }
                        }
                    }
                    span.value { (fmt_hours(e.ms_played)) " · " (fmt_int(e.plays)) (if e.plays == 1 { " play" } else { " plays" }) }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if r.page > 1 { a rel="prev" data-pager="prev" href=(page_link(r.page - 1, "last")) { "↑ Previous page" } }
            " Page " (r.page) " of " (r.pages.max(1)) " (" (fmt_int(r.total as u64)) " in all) "
            @if r.page < r.pages { a rel="next" data-pager="next" href=(page_link(r.page + 1, "first")) { "Next page ↓" } }
        }
    }
}

fn ranking(c: &Ctx) -> Arc<panels::Ranking> {
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    c.prepared.memo(q.key(days, "ranking"), move || {
        let range = p.stats(q.content, days);
        panels::ranking(&range, &p.strings, q.kind, q.by, q.page, PER_PAGE)
    })
}

fn artist(c: &Ctx) -> Result<Arc<panels::ArtistView>, AppError> {
    let name =
        c.q.name
            .clone()
            .ok_or_else(|| AppError::BadRequest("Which artist? Give “name”.".into()))?;
    if c.prepared.strings.lookup(&name).is_none() {
        return Err(AppError::NotFound);
    }
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    Ok(c.prepared.memo(q.key(days, "artist"), move || {
        let all = p.stats(Content::Music, (None, None));
        panels::artist(
            &name,
            p.slice(days),
            &p.plays,
            &all,
            &p.strings,
            p.settings.tz,
        )
    }))
}

/// `GET /dashboard/artist?name=…`: one artist, the original app's drill-down.
pub async fn artist_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    if let Some(r) = finished(&state, &v, "/dashboard/artist", raw.as_deref()).await? {
        return Ok(r);
    }
    let c = context(&state, &v, raw.as_deref()).await?;
    let (title, body) = artist_body(&c)?;
    Ok(view::layout(&title, &nav(&state, &v), body).into_response())
}

/// The artist page's title and content.
fn artist_body(c: &Ctx) -> Result<(String, Markup), AppError> {
    let a = artist(c)?;
    let m = meta(c);
    let grid = |g: &panels::BlockGrid| -> Vec<Vec<f64>> {
        g.share
            .iter()
            .map(|r| r.iter().map(|s| s.unwrap_or(0.0) * 100.0).collect())
            .collect()
    };
    let tips: Vec<Vec<String>> = a
        .range_block_tracks
        .iter()
        .enumerate()
        .map(|(w, row)| {
            row.iter()
                .enumerate()
                .map(|(b, t)| {
                    let share = a.range_blocks.share[w][b].map_or("–".into(), fmt_pct);
                    match t {
                        Some(t) => format!(
                            "{} {}: {share} of the range; most played: {} ({} plays)",
                            a.weekdays[w], a.blocks[b], t.name, t.plays
                        ),
                        None => format!("{} {}: {share}", a.weekdays[w], a.blocks[b]),
                    }
                })
                .collect()
        })
        .collect();
    let rows: Vec<String> = a.weekdays.iter().map(|s| s.to_string()).collect();
    let cols: Vec<String> = a.blocks.iter().map(|s| s.to_string()).collect();
    let body = html! {
        p.go { a href=(c.q.link("/dashboard/ranking", &[("kind", "artists"), ("name", "")])) { "← Ranking" } }
        h1 { (a.name) }
        (share_link(&c.q, Shareable::Artist))
        (crate::hiding::hide_link(engine::selection::HiddenKind::Artist, &a.name, None))
        (controls(&c.q, &m, "/dashboard/artist"))
        section.cards {
            (card("In this range", "artist-hours", fmt_hours(a.range.ms_played)))
            (card("Plays in this range", "artist-plays", fmt_int(a.range.plays)))
            (card("All time", "artist-all-hours", fmt_hours(a.all_time.ms_played)))
            (card("First listen", "first", a.first_listen.as_deref().map_or("–".into(), |s| s.get(..10).unwrap_or(s).to_string())))
            (card("Last listen", "last", a.last_listen.as_deref().map_or("–".into(), |s| s.get(..10).unwrap_or(s).to_string())))
        }
        div.two {
            div {
                h2 { "This range" }
                p.hint { "Share of the artist's listening by weekday and time of day; hover or focus a block for its most played track." }
                (charts::heatmap(&Chart::new("artist-range", "This range: share of listening by weekday and time of day").with_label_name("Weekday"), &rows, &cols, &grid(&a.range_blocks), &tips, "%"))
            }
            div {
                h2 { "All time" }
                p.hint { "The same, over the artist's whole history, to compare." }
                (charts::heatmap(&Chart::new("artist-all", "All time: share of listening by weekday and time of day").with_label_name("Weekday"), &rows, &cols, &grid(&a.all_time_blocks), &[], "%"))
            }
        }
        section {
            h2 { "Rank among artists, year by year" }
            table.ranks {
                thead { tr { th scope="col" { "Year" } th scope="col" { "Rank" } th scope="col" { "Listening time" } th scope="col" { "Plays" } } }
                tbody { @for r in &a.year_ranks {
                    tr { th scope="row" { (r.year) } td { "#" (r.rank) " of " (fmt_int(r.of as u64)) } td { (fmt_hours(r.ms_played)) } td { (fmt_int(r.plays)) } }
                } }
            }
        }
        div.two {
            section { (ranked_bars(&c.q, EntityKind::Track, ("artist-tracks", "Top tracks in this range"), &a.top_tracks, RankBy::Time)) }
            section {
                h2 { "Top tracks, year by year" }
                @for y in a.top_tracks_by_year.iter().rev() {
                    h3 { (y.year) }
                    ol { @for t in &y.tracks { li { a href=(entry_link(&c.q, EntityKind::Track, &t.name, Some(&a.name)).unwrap_or_default()) { (t.name) } " " span.value { (fmt_hours(t.ms_played)) } } } }
                }
            }
        }
    };
    Ok((a.name.clone(), body))
}

fn item(c: &Ctx, kind: panels::ItemKind) -> Result<Arc<panels::ItemView>, AppError> {
    let name =
        c.q.name.clone().ok_or_else(|| {
            AppError::BadRequest(format!("Which {}? Give “name”.", kind.as_str()))
        })?;
    let artist = c.q.artist.clone();
    if kind != panels::ItemKind::Show && artist.is_none() {
        return Err(AppError::BadRequest(format!(
            "Whose {}? Give “artist”.",
            kind.as_str()
        )));
    }
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    let view = c.prepared.memo(q.key(days, kind.as_str()), move || {
        panels::item(
            kind,
            artist.as_deref(),
            &name,
            p.slice(days),
            &p.plays,
            &p.strings,
            p.settings,
        )
    });
    view.as_ref()
        .clone()
        .map(Arc::new)
        .ok_or(AppError::NotFound)
}

/// `GET /dashboard/track?artist=…&name=…`, `/dashboard/album?artist=…&name=…` and
/// `/dashboard/show?name=…`: one track, album or podcast, its parts and its history.
pub async fn item_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
    kind: panels::ItemKind,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let (title, body) = item_body(&c, kind)?;
    Ok(view::layout(&title, &nav(&state, &v), body).into_response())
}

/// A track, album or show page's title and content.
fn item_body(c: &Ctx, kind: panels::ItemKind) -> Result<(String, Markup), AppError> {
    let it = item(c, kind)?;
    let m = meta(c);
    let path = format!("/dashboard/{}", kind.as_str());
    let day = |s: &Option<String>| {
        s.as_deref()
            .map_or("–".into(), |s| s.get(..10).unwrap_or(s).to_string())
    };
    let part_kind = match kind {
        panels::ItemKind::Track => EntityKind::Album,
        panels::ItemKind::Album => EntityKind::Track,
        panels::ItemKind::Show => EntityKind::Episode,
    };
    let (noun, parts_title) = match kind {
        panels::ItemKind::Track => ("Track", "Played from these albums"),
        panels::ItemKind::Album => ("Album", "Its tracks in this range"),
        panels::ItemKind::Show => ("Podcast", "Its episodes in this range"),
    };
    let body = html! {
        p.go { a href=(c.q.link("/dashboard", &[("name", ""), ("artist", "")])) { "← Dashboard" } }
        p.kicker { (noun) }
        h1 { (it.name) }
        @if let Some(by) = &it.by {
            p.lead { "by " a href=(entry_link(&c.q, EntityKind::Artist, by, None).unwrap_or_default()) { (by) } }
        }
        @match kind {
            panels::ItemKind::Track => (crate::hiding::hide_link(engine::selection::HiddenKind::Track, &it.name, it.by.as_deref())),
            panels::ItemKind::Show => (crate::hiding::hide_link(engine::selection::HiddenKind::Show, &it.name, None)),
            panels::ItemKind::Album => {},
        }
        (controls(&c.q, &m, &path))
        section.cards aria-label="In numbers" {
            (card("In this range", "item-hours", fmt_hours(it.range.ms_played)))
            (card("Plays in this range", "item-plays", fmt_int(it.range.plays)))
            (card("Days heard in this range", "item-days", fmt_int(it.days_listened as u64)))
            (card("All time", "item-all-hours", fmt_hours(it.all_time.ms_played)))
            (card("First heard", "first", day(&it.first_listen)))
            (card("Last heard", "last", day(&it.last_listen)))
        }
        div.two {
            section {
                (charts::bars(&Chart::new("item-months", "Hours per month in this range").with_label_name("Month"),
                    &it.months.iter().map(|p| Bar::new(p.label.clone(), hours(p.ms_played)).with_tooltip(format!("{}: {} · {}", p.label, fmt_hours(p.ms_played), plural(p.plays, "play")))).collect::<Vec<_>>(), "h"))
            }
            section {
                (ranked_bars(&c.q, part_kind, ("item-parts", parts_title), &it.parts, RankBy::Time))
            }
        }
    };
    let title = match &it.by {
        Some(by) => format!("{} — {by}", it.name),
        None => it.name.clone(),
    };
    Ok((title, body))
}

fn anatomy(c: &Ctx) -> Arc<engine::anatomy::SkipAnatomy> {
    let p = c.prepared.clone();
    let days = c.days;
    c.prepared.memo(c.q.key(days, "anatomy"), move || {
        engine::anatomy::skip_anatomy(p.slice(days), &p.plays, &p.strings, p.settings)
    })
}

/// `GET /dashboard/skips`: where in a track you skip, when and on what, the tracks played
/// and skipped a lot, how much of the listening was chosen.
pub async fn anatomy_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let a = anatomy(&c);
    let m = meta(&c);
    let q = &c.q;
    let rates = |list: &[engine::anatomy::Rate], words: &dyn Fn(&str) -> String| -> Vec<Bar> {
        list.iter()
            .map(|r| {
                Bar::new(words(&r.label), r.rate.unwrap_or(0.0) * 100.0).with_tooltip(format!(
                    "{}: {} of {} skipped",
                    words(&r.label),
                    fmt_int(r.skips),
                    plural(r.streams, "stream")
                ))
            })
            .collect()
    };
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Your skips" }
        (controls(q, &m, "/dashboard/skips"))
        @if a.streams == 0 {
            p { "No music in this range." }
        } @else {
            p.lead { (fmt_int(a.skips)) " of " (plural(a.streams, "music stream")) " skipped"
                @if a.streams > 0 { " (" (fmt_pct(a.skips as f64 / a.streams as f64)) ")" } "." }
            div.two {
                section {
                    h2 { "Where in a track you skip" }
                    p.hint { "Each skip at its share of the track's length, known for " (fmt_int(a.placed)) " of them (the track played to its end at least once)." }
                    (charts::bars(&Chart::new("skip-position", "Skips by how far into the track").with_label_name("Share of the track"),
                        &a.position.iter().enumerate().map(|(i, n)| Bar::new(format!("{}–{} %", i * 10, i * 10 + 10), *n as f64)).collect::<Vec<_>>(), "skips"))
                }
                section {
                    h2 { "How your listening begins" }
                    table {
                        thead { tr { th scope="col" { "Began" } th scope="col" { "Streams" } th scope="col" { "Time" } th scope="col" { "Share" } } }
                        tbody { @for o in &a.origins {
                            tr { th scope="row" { (origin_words(o.label)) } td { (fmt_int(o.streams)) } td { (fmt_hours(o.ms_played)) } td { (o.share.map_or("–".into(), fmt_pct)) } }
                        } }
                    }
                }
            }
            div.two {
                (charts::hbars(&Chart::new("skip-shuffle", "Skip rate with shuffle on and off").with_label_name("Shuffle"),
                    &rates(&a.shuffle, &|l| format!("Shuffle {l}")), "%"))
                (charts::hbars(&Chart::new("skip-device", "Skip rate by device, highest first").with_label_name("Device"),
                    &rates(&a.by_device, &|l| crate::words::platform(l)), "%"))
            }
            (charts::bars(&Chart::new("skip-hour", "Skip rate by hour of day").with_label_name("Hour"),
                &rates(&a.by_hour, &|l| l.to_string()), "%"))
            section {
                h2 { "Played and skipped a lot" }
                @if a.love_hate.is_empty() {
                    p.hint { "No track with " (engine::anatomy::LOVE_HATE_MIN) " plays and as many skips in this range." }
                } @else {
                    ol { @for t in &a.love_hate {
                        li { a href=(entry_link(q, EntityKind::Track, &t.name, t.by.as_deref()).unwrap_or_default()) { (t.name) }
                            @if let Some(by) = &t.by { " — " (by) }
                            " " span.value { (plural(t.plays, "play")) ", " (plural(t.skips, "skip")) } }
                    } }
                }
            }
        }
    };
    Ok(view::layout("Your skips", &nav(&state, &v), body).into_response())
}

/// How a stream began, in words.
fn origin_words(label: &str) -> &'static str {
    match label {
        "chosen" => "You chose it",
        "continued" => "The queue went on",
        "resumed" => "Playback resumed",
        _ => "Not recorded",
    }
}

/// `GET /api/v1/dashboard/skips`.
pub async fn api_anatomy(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<engine::anatomy::SkipAnatomy>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(anatomy(c).as_ref().clone())
    })
    .await
}

fn overlaps(c: &Ctx) -> Arc<engine::overlaps::Overlaps> {
    let p = c.prepared.clone();
    let (q, days) = (c.q.clone(), c.days);
    c.prepared.memo(q.key(days, "overlaps"), move || {
        let plays: Vec<schema::Play> = p
            .slice(days)
            .iter()
            .filter(|x| q.content.admits(x.kind))
            .copied()
            .collect();
        engine::overlaps::overlaps(&plays, p.settings)
    })
}

/// `GET /dashboard/overlaps`: listening on two devices at once, and the listening time with
/// every overlap counted once.
pub async fn overlaps_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let o = overlaps(&c);
    let m = meta(&c);
    let q = &c.q;
    let device = crate::words::platform;
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Listening on two devices at once" }
        (controls(q, &m, "/dashboard/overlaps"))
        p.lead {
            "Every other view adds up each stream's time. Streams that played at the same time (a phone left playing beside the computer) count twice there; here they count once."
        }
        section.cards aria-label="In numbers" {
            (card("Streams' time added up", "overlap-sum", fmt_hours(o.ms_played)))
            (card("Counted once", "overlap-once", fmt_hours(o.counted_once_ms)))
            (card("Counted twice", "overlap-twice", fmt_hours(o.overlap_ms)))
            (card("On two devices at once", "overlap-devices", fmt_hours(o.across_devices_ms)))
        }
        div.two {
            section {
                h2 { "Which devices played together" }
                @if o.pairs.is_empty() { p.hint { "Never two devices at once in this range." } }
                @else { ol { @for pair in &o.pairs { li { (device(pair.a)) " and " (device(pair.b)) " " span.value { (fmt_hours(pair.ms)) } } } } }
            }
            section {
                h2 { "The longest stretches" }
                @if o.episodes.is_empty() { p.hint { "None." } }
                @else { ol { @for e in &o.episodes {
                    li { (charts::fmt_instant(&e.start)) ", " (fmt_hours(e.ms)) " on " (e.devices.iter().map(|d| device(d)).collect::<Vec<_>>().join(" and ")) }
                } } }
            }
        }
        div.two {
            (charts::bars(&Chart::new("overlap-months", "Hours per month, overlaps counted once").with_label_name("Month"),
                &o.months.iter().map(|mo| Bar::new(mo.month.clone(), hours(mo.counted_once_ms)).with_tooltip(format!("{}: {} counted once, {} added up", mo.month, fmt_hours(mo.counted_once_ms), fmt_hours(mo.ms_played)))).collect::<Vec<_>>(), "h"))
            (charts::heatmap(&Chart::new("overlap-hours", "Hours by weekday and hour of day, counted once").with_label_name("Weekday"),
                &o.weekdays.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &o.hours.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &o.counted_once_by_hour.iter().map(|r| r.iter().map(|&ms| hours(ms)).collect()).collect::<Vec<Vec<f64>>>(),
                &[], "h"))
        }
    };
    Ok(view::layout("Two devices at once", &nav(&state, &v), body).into_response())
}

/// `GET /api/v1/dashboard/overlaps`.
pub async fn api_overlaps(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<engine::overlaps::Overlaps>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(overlaps(c).as_ref().clone())
    })
    .await
}

/// What the search words find in the selection (all time, all content).
fn search(c: &Ctx) -> engine::search::SearchResults {
    let p = c.prepared.clone();
    let index = c.prepared.memo("search-index".into(), move || {
        engine::search::SearchIndex::new(&p.stats(Content::All, (None, None)), &p.strings)
    });
    index.search(c.q.search.as_deref().unwrap_or(""), &c.prepared.strings)
}

/// The search form: GET, so that it works in a finished view and without JavaScript.
fn search_form(q: &BoardQuery, value: &str) -> Markup {
    html! {
        form.search method="get" action="/dashboard/search" role="search" {
            @for id in &q.uploads { input type="hidden" name="u" value=(id); }
            label for="search-q" { "Search your history" }
            input id="search-q" name="q" type="search" value=(value) maxlength="100"
                placeholder="An artist, a track, an album, a podcast";
            button type="submit" { "Search" }
        }
    }
}

/// `GET /dashboard/search?q=…`: the artists, tracks, albums, podcasts and episodes of the
/// visitor's history whose names hold the words, each a link to its page.
pub async fn search_page(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let c = context(&state, &v, raw.as_deref()).await?;
    let r = search(&c);
    let q = &c.q;
    let kind_of = |k: &str| match k {
        "artist" => EntityKind::Artist,
        "track" => EntityKind::Track,
        "album" => EntityKind::Album,
        "show" => EntityKind::Show,
        _ => EntityKind::Episode,
    };
    let heading = |k: &str| match k {
        "artist" => "Artists",
        "track" => "Tracks",
        "album" => "Albums",
        "show" => "Podcasts",
        _ => "Episodes",
    };
    let body = html! {
        p.go { a href=(q.link("/dashboard", &[])) { "← Dashboard" } }
        h1 { "Search" }
        (search_form(q, &r.query))
        @if r.query.is_empty() {
            p.hint { "Type a few letters of a name: every word must appear, in any order, in any case." }
        } @else if r.hits.is_empty() {
            p role="status" { "Nothing in your history matches “" (r.query) "”." }
        } @else {
            p role="status" { (fmt_int(r.total as u64)) (if r.total == 1 { " match" } else { " matches" }) " for “" (r.query) "”, most listened first." }
            @for kind in ["artist", "track", "album", "show", "episode"] {
                @let hits: Vec<&engine::search::SearchHit> = r.hits.iter().filter(|h| h.kind == kind).collect();
                @if !hits.is_empty() {
                    section.results {
                        h2 { (heading(kind)) }
                        ol { @for h in hits {
                            li {
                                @match entry_link(q, kind_of(kind), &h.name, h.by.as_deref()) {
                                    Some(href) => { a href=(href) { (h.name) } }
                                    None => { (h.name) }
                                }
                                @if let Some(by) = &h.by { " — " (by) }
                                " " span.value { (fmt_hours(h.ms_played)) " · " (plural(h.plays, "play")) }
                            }
                        } }
                    }
                }
            }
        }
    };
    Ok(view::layout("Search", &nav(&state, &v), body).into_response())
}

/// `GET /api/v1/dashboard/search?q=…`.
pub async fn api_search(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<engine::search::SearchResults>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| Ok(search(c))).await
}

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

fn comparison(c: &Ctx) -> Arc<engine::compare::Comparison> {
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
    Ok(view::layout(&title, &nav(&state, &v), body).into_response())
}

/// A comparison's title and content.
fn compare_body(c: &Ctx) -> Result<(String, Markup), AppError> {
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

fn recap(c: &Ctx, year: i32) -> Arc<panels::Recap> {
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

fn check_year(year: i32) -> Result<i32, AppError> {
    if (1990..=2200).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::NotFound)
    }
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
    Ok(view::layout(&format!("{year} recap"), &nav(&state, &v), body).into_response())
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
fn recap_body(c: &Ctx, year: i32) -> Markup {
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

/// The dashboards' parameters that have a type (a date, a choice, a number).
const TYPED: &[&str] = &[
    "range", "from", "to", "content", "by", "kind", "page", "gap", "vs_range", "vs_from", "vs_to",
    "on",
];

/// The last value of `key` in a query (as the pages' forms and links send it), if any.
pub fn query_value(raw: Option<&str>, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).ok()?;
    pairs
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The API refuses a typed parameter given empty (`to=`), naming it, as it refuses any other
/// value that is not of its type. The pages take it as absent: their forms send empty fields
/// for what was not chosen.
pub fn refuse_blank(raw: Option<&str>, typed: &[&str]) -> Result<(), AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| AppError::BadRequest("The address's query is malformed.".into()))?;
    match pairs
        .iter()
        .find(|(k, v)| typed.contains(&k.as_str()) && v.trim().is_empty())
    {
        Some((k, _)) => Err(AppError::BadRequest(format!(
            "“{k}” is empty: give it a value or leave it out."
        ))),
        None => Ok(()),
    }
}

async fn api_context(state: &AppState, v: &Visitor, raw: Option<&str>) -> Result<Ctx, AppError> {
    // Like any other bad value, after the sign-in check.
    v.require_user()?;
    refuse_blank(raw, TYPED)?;
    context(state, v, raw).await
}

/// A JSON twin: the view `f` computes for the request's selection, range and choices.
pub(crate) async fn api_view<T: Serialize>(
    state: &AppState,
    v: &Visitor,
    raw: Option<&str>,
    f: impl FnOnce(&Ctx) -> Result<T, AppError>,
) -> Result<Json<T>, ApiError> {
    let c = api_context(state, v, raw).await?;
    Ok(Json(f(&c)?))
}

/// `GET /api/v1/dashboard`: every panel, as the page shows them.
pub async fn api_board(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let user = v.require_user()?;
    if let Some(body) = state
        .finished()
        .get(&state, user, &view_key("/api/v1/dashboard", raw.as_deref()))
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
    let c = api_context(&state, &v, raw.as_deref()).await?;
    Ok(Json(board(&c).as_ref().clone()).into_response())
}

/// The sources that decide what a finished view shows: the pages, the charts, the engine's
/// panels and overview, the aggregates.
const RENDERING: [&str; 6] = [
    include_str!("board.rs"),
    include_str!("charts.rs"),
    include_str!("../../engine/src/panels.rs"),
    include_str!("../../engine/src/overview.rs"),
    include_str!("../../engine/src/selection.rs"),
    include_str!("../../schema/src/aggregate.rs"),
];

/// The version of the code that renders views: a hash (FNV-1a) of the sources that decide
/// what a view shows (the pages, the charts, the engine, the aggregates). Finished
/// views are stored under it, so a release that changes a page or a number never serves a
/// view the code before it rendered (instances of one release agree on it; a rolling deploy's
/// two releases each read their own).
pub fn render_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in RENDERING.iter().flat_map(|s| s.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    })
}

/// The name a finished view is stored under: the [`render_version`], then the address it
/// answers, path and query as the pages' own links write it (`/dashboard/ranking?kind=tracks`),
/// the query decoded and encoded again so that `name=a%20b` and `name=a+b` are one address.
pub fn view_key(path: &str, raw: Option<&str>) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let version = render_version();
    match serde_urlencoded::to_string(&pairs) {
        Ok(q) if !q.is_empty() => format!("{version}:{path}?{q}"),
        _ => format!("{version}:{path}"),
    }
}

/// A page the worker finished for this address and the visitor's current data and settings,
/// in the site's layout; `None` when there is none (the page is computed as usual).
async fn finished(
    state: &AppState,
    v: &Visitor,
    path: &str,
    raw: Option<&str>,
) -> Result<Option<Response>, AppError> {
    let user = v.require_user()?;
    let Some(stored) = state
        .finished()
        .get(state, user, &view_key(path, raw))
        .await?
    else {
        return Ok(None);
    };
    let (title, body): (String, String) = serde_json::from_str(&stored)
        .map_err(|e| AppError::Internal(format!("a finished view: {e}")))?;
    Ok(Some(
        view::layout(&title, &nav(state, v), PreEscaped(body)).into_response(),
    ))
}

/// The [`view_key`] of a link the pages write (`path?query`).
fn key_of(link: &str) -> String {
    match link.split_once('?') {
        Some((path, raw)) => view_key(path, Some(raw)),
        None => view_key(link, None),
    }
}

/// Artists whose pages are finished in advance: the first ten of the dashboard's top list.
const FINISHED_ARTISTS: usize = 10;

/// A user's default selection as [`first_views`] prepared it, for [`precompute`] to go on
/// from instead of preparing it again.
#[derive(Debug, Clone)]
pub struct Ready {
    user: User,
    ids: Vec<String>,
    prepared: Arc<Prepared>,
}

impl Ready {
    /// This one, if it is `user`'s selection `ids` in their current data and settings.
    fn fits(self, user: &User, ids: &[String]) -> Option<Arc<Prepared>> {
        let same = self.user.id == user.id
            && self.user.stats_version == user.stats_version
            && self.user.tz == user.tz
            && self.user.min_play_ms == user.min_play_ms
            && self.ids == ids;
        same.then_some(self.prepared)
    }
}

/// The views a user opens first, the default dashboard and its JSON twin, computed from their
/// artifact in memory while an ingest writes it (the worker stores them with the upload's
/// readiness; when the selection is the upload alone, it reads the upload's summary off it),
/// and the selection they were computed from, for [`precompute`].
pub async fn first_views(
    state: &AppState,
    first: ingest_worker::FirstViews,
) -> Result<(ingest_worker::FirstViewsDone, Option<Ready>), AppError> {
    let chosen = crate::actions::everything(first.uploads);
    if chosen.is_empty() {
        return Ok((Default::default(), None));
    }
    let streams = first.streams.len();
    let mut ids: Vec<String> = chosen.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    let user = first.user;
    let started = std::time::Instant::now();
    let Some(prepared) = crate::dash::build_from(
        state,
        &user,
        ids.clone(),
        first.streams,
        first.upload.clone(),
    )
    .await?
    else {
        // The upload's plays, while the owner has other uploads after all: the views are
        // computed once the data is committed instead.
        return Ok((Default::default(), None));
    };
    let prepare_ms = started.elapsed().as_millis() as u64;
    // Exactly the ingested upload's streams (its owner's only upload, nothing hidden): the
    // worker reads the upload's summary off it while the views are drawn.
    if let Some(to) = first.upload_alone
        && ids == [first.upload.as_str()]
        && prepared.plays.len() == streams
    {
        let _ = to.send(prepared.clone());
    }
    let ready = Ready {
        user: user.clone(),
        ids,
        prepared: prepared.clone(),
    };
    let c = user_view_ctx(user, chosen, prepared)?;
    let views = tokio::task::spawn_blocking(move || dashboard_views(&c))
        .await
        .map_err(|e| AppError::Internal(format!("finishing the dashboard: {e}")))??;
    tracing::info!(
        user = %ready.user.id,
        prepare_ms,
        views_ms = started.elapsed().as_millis() as u64 - prepare_ms,
        "first views computed"
    );
    Ok((ingest_worker::FirstViewsDone { views }, Some(ready)))
}

/// Computes the views a user is likely to open first, by the pages' own code, and stores them
/// finished for their current data version and settings: the default dashboard and its JSON
/// twin, its range presets (last 4 weeks, 6 months, latest year), the rankings it links to,
/// the recap of every year, the pages of its top artists. `ready` is the selection
/// [`first_views`] prepared, used when it is still the user's.
/// Returns how many it stored (none for a user without a ready upload).
pub async fn precompute(
    state: &AppState,
    user_id: &str,
    ready: Option<Ready>,
) -> Result<usize, AppError> {
    let Some(user) = storage::users::by_id(state.db(), user_id).await? else {
        return Ok(0);
    };
    let chosen = crate::actions::selection(state, &user, &[]).await?;
    if chosen.is_empty() {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let mut ids: Vec<String> = chosen.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    let prepared = match ready.and_then(|r| r.fits(&user, &ids)) {
        Some(p) => p,
        None => crate::dash::build(state, &user, ids).await?,
    };
    let c = user_view_ctx(user, chosen, prepared)?;
    let views = tokio::task::spawn_blocking(move || finish_views(c))
        .await
        .map_err(|e| AppError::Internal(format!("finishing the views: {e}")))??;
    let user = &views.0;
    for (name, body) in &views.1 {
        storage::views::put(state.db(), user, user.stats_version, name, body).await?;
    }
    tracing::info!(
        user = %user.id,
        version = user.stats_version,
        views = views.1.len(),
        ms = started.elapsed().as_millis() as u64,
        "finished views stored"
    );
    Ok(views.1.len())
}

/// The default question over a prepared selection.
fn user_view_ctx(
    user: User,
    chosen: Vec<Upload>,
    prepared: Arc<Prepared>,
) -> Result<Ctx, AppError> {
    let q = BoardQuery::parse(None)?;
    let days = q.range.days(prepared.span());
    Ok(Ctx {
        user,
        q,
        chosen,
        prepared,
        days,
    })
}

/// A page's title and content as a finished view stores them.
fn finished_page(title: &str, body: Markup) -> Result<String, AppError> {
    serde_json::to_string(&(title, body.into_string()))
        .map_err(|e| AppError::Internal(format!("a finished view: {e}")))
}

/// The default dashboard, as its JSON twin and as the page, each as (name, stored text).
fn dashboard_views(c: &Ctx) -> Result<Vec<(String, String)>, AppError> {
    let b = board(c);
    Ok(vec![
        (
            view_key("/api/v1/dashboard", None),
            serde_json::to_string(b.as_ref())
                .map_err(|e| AppError::Internal(format!("the dashboard as JSON: {e}")))?,
        ),
        (
            view_key("/dashboard", None),
            finished_page("Dashboard", render_board(&c.q, &b))?,
        ),
    ])
}

/// The finished views of [`precompute`], each as (name, stored text): a page's title and
/// content as JSON, or the JSON twin itself.
#[allow(clippy::type_complexity)]
fn finish_views(c: Ctx) -> Result<(User, Vec<(String, String)>), AppError> {
    let page = finished_page;
    let mut out = dashboard_views(&c)?;
    let b = board(&c);
    // Every address below is the link the dashboard itself shows: first its range presets.
    let at = |link: String| -> Result<Ctx, AppError> {
        let raw = link.split_once('?').map_or("", |(_, q)| q);
        let q = BoardQuery::parse(Some(raw))?;
        let days = q.range.days(c.prepared.span());
        Ok(Ctx {
            user: c.user.clone(),
            q,
            chosen: c.chosen.clone(),
            prepared: c.prepared.clone(),
            days,
        })
    };
    for range in ["4w", "6m", "year"] {
        let link = c.q.link("/dashboard", &[("range", range)]);
        let ctx = at(link.clone())?;
        let preset = board(&ctx);
        out.push((
            key_of(&link),
            page("Dashboard", render_board(&ctx.q, &preset))?,
        ));
    }
    for kind in ["artists", "tracks"] {
        let link = c.q.link("/dashboard/ranking", &[("kind", kind)]);
        let ctx = at(link.clone())?;
        out.push((key_of(&link), page("Ranking", ranking_body(&ctx))?));
    }
    let plain = at("/dashboard/ranking".into())?;
    out.push((
        view_key("/dashboard/ranking", None),
        page("Ranking", ranking_body(&plain))?,
    ));
    for year in meta(&c).years {
        let link = c.q.link(
            &format!("/dashboard/recap/{year}"),
            &[("range", ""), ("from", ""), ("to", "")],
        );
        let ctx = at(link.clone())?;
        out.push((
            key_of(&link),
            page(&format!("{year} recap"), recap_body(&ctx, year))?,
        ));
    }
    for entry in b.tops.artists.iter().take(FINISHED_ARTISTS) {
        let link = c.q.link("/dashboard/artist", &[("name", &entry.name)]);
        let ctx = at(link.clone())?;
        let (title, body) = artist_body(&ctx)?;
        out.push((key_of(&link), page(&title, body)?));
    }
    Ok((c.user, out))
}

/// `GET /api/v1/dashboard/ranking`.
pub async fn api_ranking(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<panels::Ranking>, ApiError> {
    let c = api_context(&state, &v, raw.as_deref()).await?;
    Ok(Json(ranking(&c).as_ref().clone()))
}

/// `GET /api/v1/dashboard/artist?name=…`.
pub async fn api_artist(
    State(state): State<AppState>,
    v: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Json<panels::ArtistView>, ApiError> {
    api_view(&state, &v, raw.as_deref(), |c| {
        Ok(artist(c)?.as_ref().clone())
    })
    .await
}

/// `GET /api/v1/dashboard/recap/{year}`.
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

    #[test]
    fn the_render_version_names_the_code_and_prefixes_every_finished_view() {
        let v = render_version();
        assert_eq!(v.len(), 16);
        assert_eq!(view_key("/dashboard", None), format!("{v}:/dashboard"));
        assert_eq!(
            view_key("/dashboard/ranking", Some("kind=tracks&name=a%20b")),
            format!("{v}:/dashboard/ranking?kind=tracks&name=a+b")
        );
    }
}

// -------------------------------------------------------------------------------------------
// Shared views

/// A view a share link can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shareable {
    /// The dashboard, with its range and content kind.
    Dashboard,
    /// A year's recap.
    Recap(i32),
    /// A comparison of two periods.
    Compare,
    /// An artist's page.
    Artist,
}

impl Shareable {
    /// From its stored name: `dashboard`, `recap/2024`, `compare`, `artist`.
    pub fn parse(s: &str) -> Option<Shareable> {
        Some(match s {
            "dashboard" => Shareable::Dashboard,
            "compare" => Shareable::Compare,
            "artist" => Shareable::Artist,
            _ => Shareable::Recap(check_year(s.strip_prefix("recap/")?.parse().ok()?).ok()?),
        })
    }

    /// Its stored name.
    pub fn name(self) -> String {
        match self {
            Shareable::Dashboard => "dashboard".into(),
            Shareable::Recap(y) => format!("recap/{y}"),
            Shareable::Compare => "compare".into(),
            Shareable::Artist => "artist".into(),
        }
    }

    /// The owner's own page of it (`path?query`, the query as [`shared_query`] keeps it).
    pub fn page(self, query: &str) -> String {
        let path = match self {
            Shareable::Dashboard => "/dashboard".to_string(),
            Shareable::Recap(y) => format!("/dashboard/recap/{y}"),
            Shareable::Compare => "/dashboard/compare".into(),
            Shareable::Artist => "/dashboard/artist".into(),
        };
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    }
}

/// The link to the form that shares this view (it names the view's uploads, which the form
/// freezes); a page a share shows drops it with every other way out.
fn share_link(q: &BoardQuery, view: Shareable) -> Markup {
    let query = query_with_vs(q);
    let sep = if query.is_empty() { "" } else { "&" };
    let href = format!("/shares/new?view={}{sep}{query}", view.name());
    html! { p.go.share { a href=(href) { "Share this view →" } } }
}

/// What a view of `raw` is about, as a share link keeps it: the range, content kind, ranking
/// order, session pause, artist and compared period; never the uploads (a link keeps the ids
/// they stood for when it was made), a ranking page or a search.
pub fn shared_query(raw: Option<&str>) -> Result<String, AppError> {
    let mut q = BoardQuery::parse(raw)?;
    q.uploads.clear();
    q.kind = EntityKind::Artist;
    q.artist = None;
    Ok(query_with_vs(&q))
}

/// The query of `q`'s links with the compared period (`vs_range`, `vs_from`, `vs_to`) kept.
fn query_with_vs(q: &BoardQuery) -> String {
    let vs: Vec<(&str, String)> = match q.vs {
        Some(RangeChoice::Custom(f, t)) => vec![
            ("vs_range", "custom".into()),
            ("vs_from", f.map(Day::label).unwrap_or_default()),
            ("vs_to", t.map(Day::label).unwrap_or_default()),
        ],
        Some(r) => vec![("vs_range", r.param())],
        None => Vec::new(),
    };
    let change: Vec<(&str, &str)> = vs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    q.link("", &change).trim_start_matches('?').to_string()
}

/// What a share card shows: a title, the period, three figures, and one of the page's charts.
#[derive(Debug, Clone)]
pub struct CardFacts {
    /// What the view is (`Listening`, `2024 in music`, …).
    pub title: String,
    /// The period it covers, in words.
    pub period: String,
    /// Up to three figures: what, how much.
    pub figures: Vec<(String, String)>,
    /// The chart, as the page draws it.
    pub chart: Markup,
}

/// A shared view of `owner`'s `uploads`: the page's title and content (as the owner sees it),
/// and its card. Not found when an upload is gone or not ready.
pub async fn shared_view(
    state: &AppState,
    owner: &User,
    view: Shareable,
    query: &str,
    uploads: &[String],
) -> Result<(String, Markup, CardFacts), AppError> {
    if uploads.is_empty() {
        return Err(AppError::NotFound);
    }
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.retain(|(k, _)| k != "u" && k != "uploads");
    pairs.extend(uploads.iter().map(|u| ("u".to_string(), u.clone())));
    let raw = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let c = context_for(state, owner.clone(), Some(&raw)).await?;
    if c.chosen
        .iter()
        .any(|u| u.state != storage::uploads::State::Ready)
    {
        return Err(AppError::NotFound);
    }
    let period = engine::selection::period_label(c.days);
    let top5 = |id: &str, title: &str, list: &[panels::RankedEntry]| {
        ranked_bars(
            &c.q,
            EntityKind::Artist,
            (id, title),
            &list[..list.len().min(5)],
            RankBy::Time,
        )
    };
    Ok(match view {
        Shareable::Dashboard => {
            let b = board(&c);
            let o = &b.overview;
            let card = CardFacts {
                title: "Listening".into(),
                period,
                figures: vec![
                    ("Listening time".into(), fmt_hours(o.total.ms_played)),
                    ("Plays".into(), fmt_int(o.total.plays)),
                    ("Artists".into(), fmt_int(o.artists as u64)),
                ],
                chart: top5("card-artists", "Top artists", &b.tops.artists),
            };
            ("Dashboard".into(), render_board(&c.q, &b), card)
        }
        Shareable::Recap(year) => {
            let r = recap(&c, year);
            let card = CardFacts {
                title: format!("{year} in music"),
                period: format!(
                    "{} of listening in {year}",
                    plural(r.days_listened as u64, "day")
                ),
                figures: vec![
                    ("Listening time".into(), fmt_hours(r.total.ms_played)),
                    ("Plays".into(), fmt_int(r.total.plays)),
                    (
                        "Artist of the year".into(),
                        r.top_artists.first().map_or("–".into(), |a| a.name.clone()),
                    ),
                ],
                chart: top5("card-artists", "Top artists", &r.top_artists),
            };
            (format!("{year} recap"), recap_body(&c, year), card)
        }
        Shareable::Compare => {
            let cmp = comparison(&c);
            let (title, body) = compare_body(&c)?;
            let bars = [&cmp.a, &cmp.b]
                .iter()
                .map(|p| Bar::new(p.label.clone(), hours(p.total.ms_played)))
                .collect::<Vec<_>>();
            let card = CardFacts {
                title: "Two periods".into(),
                period: format!("{} against {}", cmp.a.label, cmp.b.label),
                figures: vec![
                    (cmp.a.label.clone(), fmt_hours(cmp.a.total.ms_played)),
                    (cmp.b.label.clone(), fmt_hours(cmp.b.total.ms_played)),
                ],
                chart: charts::hbars(&Chart::new("card-periods", "Listening time"), &bars, "h"),
            };
            (title, body, card)
        }
        Shareable::Artist => {
            let a = artist(&c)?;
            let (title, body) = artist_body(&c)?;
            let card = CardFacts {
                title: a.name.clone(),
                period,
                figures: vec![
                    ("Listening time".into(), fmt_hours(a.range.ms_played)),
                    ("Plays".into(), fmt_int(a.range.plays)),
                    (
                        "First heard".into(),
                        a.first_listen.clone().unwrap_or_else(|| "–".into()),
                    ),
                ],
                chart: top5("card-tracks", "Top tracks", &a.top_tracks),
            };
            (title, body, card)
        }
    })
}
