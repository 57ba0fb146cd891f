//! View models of the dashboard panels: pure functions from aggregated listening statistics
//! (and, for the artist drill-down and the loop finder, from one artist's or one range's plays)
//! to serialisable structs. No I/O, no HTML: the pages render these and the API returns them
//! as JSON.
//!
//! Conventions shared by every panel:
//! - `range` is [`Stats`] over the plays of the chosen uploads, date range and content kind;
//!   `all` is the same over all time (same kind, same settings, same [`Strings`]).
//! - Times are milliseconds (`ms_played`); `plays` are streams of at least the play threshold,
//!   `streams` are streams of any length, `skips` streams marked skipped.
//! - Shares and rates are in 0..1 and `None` (JSON `null`) when undefined (nothing to divide
//!   by), never NaN.
//! - Days, weeks, hours and months are local to the settings' time zone. Listening time on the
//!   day, hour and month views is split across the local hours a stream covered; counts go to
//!   the local time the stream ended (as in [`schema::aggregate`]).
//! - Rankings order by the chosen measure, then the other one, then by name (as
//!   [`Stats::top`]); ranks start at 1.
//! - Instants are RFC 3339 UTC (`2024-03-31T01:30:00Z`), days `YYYY-MM-DD`, months `YYYY-MM`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use schema::aggregate::{
    Day, FirstHeard, Month, Streak, local_day_hour, rank_kind, split_by_local_hour,
};
use schema::time::{days_from_civil, format_rfc3339};
use schema::{Cell, Country, Entity, EntityKind, Kind, Platform, Play, RankBy, Stats, Strings};
use schema::{Sym, Tz};
use serde::Serialize;

/// Weekday labels, Monday first (the row order of every weekday matrix).
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Hour labels, `00` … `23`.
pub const HOURS: [&str; 24] = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17", "18", "19", "20", "21", "22", "23",
];

/// The four six-hour blocks of the artist drill-down.
pub const BLOCKS: [&str; 4] = ["00–06", "06–12", "12–18", "18–24"];

/// Streams of one track in a row, within one session, that make a loop.
pub const LOOP_MIN_REPEATS: u64 = 5;

/// Artists in the skip-rate-by-artist list.
pub const SKIP_ARTISTS: usize = 10;

/// Streams an artist needs in the range to appear in the skip-rate-by-artist list.
pub const SKIP_ARTIST_MIN_STREAMS: u64 = 20;

/// Longest streaks listed.
pub const STREAKS_LISTED: usize = 5;

/// Longest sessions listed.
pub const SESSIONS_LISTED: usize = 10;

/// Entries of each top list of a recap, and of each year's top tracks of an artist.
pub const RECAP_TOP: usize = 5;

/// Entries of the "top new artists" list of the discoveries panel.
pub const NEW_ARTISTS_LISTED: usize = 10;

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// Time and counts of a bucket (the same shape as the overview's: one `Totals` schema in the
/// API description).
pub use crate::overview::Totals;

/// One point of a time series.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Point {
    /// `YYYY-MM-DD` for days and weeks (a week is labelled by its Monday), `YYYY-MM` for months.
    pub label: String,
    /// Milliseconds listened (split across days at local midnight).
    pub ms_played: u64,
    /// Plays (on the day the stream ended).
    pub plays: u64,
}

/// A run of consecutive days with listening.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct StreakView {
    /// Days in the run.
    #[schema(minimum = 1)]
    pub days: i32,
    /// First day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub first: String,
    /// Last day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub last: String,
}

impl From<Streak> for StreakView {
    fn from(s: Streak) -> Self {
        StreakView {
            days: s.days(),
            first: s.first.label(),
            last: s.last.label(),
        }
    }
}

/// One entry of a ranking.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RankedEntry {
    /// Position, from 1.
    #[schema(minimum = 1)]
    pub rank: usize,
    /// Name of the artist, track, album, show, episode or audiobook.
    pub name: String,
    /// The artist or show it belongs to (tracks, albums, episodes).
    #[schema(required = true)]
    pub by: Option<String>,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays (streams of at least the play threshold).
    pub plays: u64,
    /// Streams marked skipped.
    pub skips: u64,
}

fn add(into: &mut Cell, c: &Cell) {
    into.ms += c.ms;
    into.streams += c.streams;
    into.plays += c.plays;
    into.skips += c.skips;
}

/// `num / den`, `None` when `den` is 0.
fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn rank_by_label(by: RankBy) -> &'static str {
    match by {
        RankBy::Time => "time",
        RankBy::Plays => "plays",
    }
}

fn rank_key(by: RankBy, c: &Cell) -> (u64, u64) {
    match by {
        RankBy::Time => (c.ms, c.plays),
        RankBy::Plays => (c.plays, c.ms),
    }
}

/// The order of [`Stats::top`]: the measure, then the other one (both descending), then name
/// and owner.
fn rank_order(
    by: RankBy,
    strings: &Strings,
    (ea, a): &(Entity, Cell),
    (eb, b): &(Entity, Cell),
) -> Ordering {
    rank_key(by, b).cmp(&rank_key(by, a)).then_with(|| {
        (strings.get(ea.name), strings.get(ea.owner))
            .cmp(&(strings.get(eb.name), strings.get(eb.owner)))
    })
}

/// The first `n` of `v` in [`rank_order`]: linear selection, then sorting only those.
fn rank(
    mut v: Vec<(Entity, Cell)>,
    by: RankBy,
    strings: &Strings,
    n: usize,
) -> Vec<(Entity, Cell)> {
    if n == 0 {
        return Vec::new();
    }
    let order = |a: &(Entity, Cell), b: &(Entity, Cell)| rank_order(by, strings, a, b);
    if v.len() > n {
        v.select_nth_unstable_by(n - 1, order);
        v.truncate(n);
    }
    v.sort_by(order);
    v
}

fn entries(list: Vec<(Entity, Cell)>, strings: &Strings, first_rank: usize) -> Vec<RankedEntry> {
    list.into_iter()
        .enumerate()
        .map(|(i, (e, c))| RankedEntry {
            rank: first_rank + i,
            name: strings.get(e.name).to_string(),
            by: strings.opt(e.owner).map(str::to_string),
            ms_played: c.ms,
            plays: c.plays,
            skips: c.skips,
        })
        .collect()
}

/// Totals per entity of a kind over all months of `stats` that `keep` accepts.
fn entity_totals(
    stats: &Stats,
    kind: EntityKind,
    keep: impl Fn(Month) -> bool,
) -> HashMap<Entity, Cell> {
    let mut out: HashMap<Entity, Cell> = HashMap::new();
    for ((m, e), c) in &stats.monthly {
        if e.kind == kind && keep(*m) {
            add(out.entry(*e).or_default(), c);
        }
    }
    out
}

/// Whether `e`, first streamed in a period at `first_in_period`, was first streamed EVER
/// in that period: nothing of all time comes before.
fn is_new(first_ever: Option<i64>, first_in_period: i64) -> bool {
    first_ever.is_none_or(|first_ever| first_ever >= first_in_period)
}

/// First and last local day of `by_day`.
fn day_span(s: &Stats) -> Option<(Day, Day)> {
    Some((*s.by_day.keys().next()?, *s.by_day.keys().next_back()?))
}

fn monday(d: Day) -> Day {
    Day(d.0 - d.weekday() as i32)
}

fn days_in_month(m: Month) -> u32 {
    let start = days_from_civil(i64::from(m.year()), m.month(), 1);
    let next = Month(m.0 + 1);
    (days_from_civil(i64::from(next.year()), next.month(), 1) - start) as u32
}

/// Every day of the span of `by_day`, zeros included.
fn day_series(s: &Stats) -> Vec<Point> {
    let Some((first, last)) = day_span(s) else {
        return Vec::new();
    };
    (first.0..=last.0)
        .map(|d| {
            let c = s.by_day.get(&Day(d)).copied().unwrap_or_default();
            Point {
                label: Day(d).label(),
                ms_played: c.ms,
                plays: c.plays,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Overview

/// The headline numbers of a range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// Everything in the range.
    pub total: Totals,
    /// Distinct artists heard.
    pub artists: usize,
    /// Distinct tracks (artist + title).
    pub tracks: usize,
    /// Distinct albums (artist + album).
    pub albums: usize,
    /// Distinct podcast shows.
    pub shows: usize,
    /// Distinct podcast episodes.
    pub episodes: usize,
    /// Distinct audiobooks.
    pub audiobooks: usize,
    /// Local days with any listening.
    pub days_listened: usize,
    /// Longest run of consecutive days with listening.
    #[schema(required = true)]
    pub longest_streak: Option<StreakView>,
    /// End of the first stream in the range.
    #[schema(required = true, format = DateTime)]
    pub first_stream: Option<String>,
    /// End of the last stream in the range.
    #[schema(required = true, format = DateTime)]
    pub last_stream: Option<String>,
}

/// The headline numbers of `range`.
pub fn overview(range: &Stats) -> Overview {
    let mut distinct = [0usize; 6];
    for e in range.first_last.keys() {
        distinct[e.kind as usize] += 1;
    }
    let count = |k: EntityKind| distinct[k as usize];
    Overview {
        total: range.total.into(),
        artists: count(EntityKind::Artist),
        tracks: count(EntityKind::Track),
        albums: count(EntityKind::Album),
        shows: count(EntityKind::Show),
        episodes: count(EntityKind::Episode),
        audiobooks: count(EntityKind::Audiobook),
        days_listened: range.days_listened(),
        longest_streak: range.streaks().into_iter().next().map(StreakView::from),
        first_stream: range.span.map(|(a, _)| format_rfc3339(a)),
        last_stream: range.span.map(|(_, b)| format_rfc3339(b)),
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Over time, 3. calendar, 12. ridgeline

/// Listening over time at three resolutions. All three are sums of the same per-day numbers
/// (time split at local midnight, plays on the day a stream ended), so they agree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverTime {
    /// Every day from the first to the last day with listening, zeros included.
    pub days: Vec<Point>,
    /// Every week (Monday to Sunday) covering those days, labelled by its Monday.
    pub weeks: Vec<Point>,
    /// Every month covering those days.
    pub months: Vec<Point>,
}

/// Listening per day, week and month of `range`.
pub fn over_time(range: &Stats) -> OverTime {
    let Some((first, last)) = day_span(range) else {
        return OverTime {
            days: Vec::new(),
            weeks: Vec::new(),
            months: Vec::new(),
        };
    };
    let (w0, m0) = (monday(first), first.month());
    let mut weeks: Vec<Point> = (w0.0..=monday(last).0)
        .step_by(7)
        .map(|d| Point {
            label: Day(d).label(),
            ms_played: 0,
            plays: 0,
        })
        .collect();
    let mut months: Vec<Point> = (m0.0..=last.month().0)
        .map(|m| Point {
            label: Month(m).label(),
            ms_played: 0,
            plays: 0,
        })
        .collect();
    for (&day, c) in &range.by_day {
        for p in [
            &mut weeks[((monday(day).0 - w0.0) / 7) as usize],
            &mut months[(day.month().0 - m0.0) as usize],
        ] {
            p.ms_played += c.ms;
            p.plays += c.plays;
        }
    }
    OverTime {
        days: day_series(range),
        weeks,
        months,
    }
}

/// The calendar heat map: one value per day.
#[derive(Debug, Clone, Serialize)]
pub struct Calendar {
    /// Every day from the first to the last day with listening, zeros included.
    pub days: Vec<Point>,
    /// The largest daily listening time (the top of the colour scale).
    pub max_ms_played: u64,
}

/// The calendar of `range`.
pub fn calendar(range: &Stats) -> Calendar {
    let days = day_series(range);
    Calendar {
        max_ms_played: days.iter().map(|p| p.ms_played).max().unwrap_or(0),
        days,
    }
}

/// One month of the ridgeline: listening by day of month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ridge {
    /// `YYYY-MM`.
    pub month: String,
    /// Days the month has (entries past it are 0).
    #[schema(minimum = 28, maximum = 31)]
    pub days_in_month: u32,
    /// Milliseconds listened on day 1 … 31.
    #[schema(min_items = 31, max_items = 31)]
    pub ms_played: [u64; 31],
}

/// Listening by day of month, one ridge per month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ridgeline {
    /// Every month from the first to the last day with listening, oldest first.
    pub ridges: Vec<Ridge>,
    /// The largest daily listening time over all ridges.
    pub max_ms_played: u64,
}

/// The ridgeline of `range`.
pub fn ridgeline(range: &Stats) -> Ridgeline {
    let Some((first, last)) = day_span(range) else {
        return Ridgeline {
            ridges: Vec::new(),
            max_ms_played: 0,
        };
    };
    let m0 = first.month();
    let mut ridges: Vec<Ridge> = (m0.0..=last.month().0)
        .map(|m| Ridge {
            month: Month(m).label(),
            days_in_month: days_in_month(Month(m)),
            ms_played: [0; 31],
        })
        .collect();
    let mut max = 0;
    for (&day, c) in &range.by_day {
        let (_, _, d) = day.ymd();
        let v = &mut ridges[(day.month().0 - m0.0) as usize].ms_played[d as usize - 1];
        *v += c.ms;
        max = max.max(*v);
    }
    Ridgeline {
        ridges,
        max_ms_played: max,
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Hour × weekday

/// The busiest cell of the hour × weekday matrix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct BusiestCell {
    /// `Mon` … `Sun`.
    pub weekday: &'static str,
    /// Row, Monday = 0.
    #[schema(maximum = 6)]
    pub weekday_index: usize,
    /// Local hour, 0–23.
    #[schema(maximum = 23)]
    pub hour: usize,
    /// Milliseconds listened in it.
    pub ms_played: u64,
}

/// Listening by weekday and local hour.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HourWeekday {
    /// Row labels, Monday first.
    #[schema(value_type = Vec<String>, min_items = 7, max_items = 7)]
    pub weekdays: [&'static str; 7],
    /// Column labels.
    #[schema(value_type = Vec<String>, min_items = 24, max_items = 24)]
    pub hours: [&'static str; 24],
    /// `[weekday][hour]` milliseconds (a stream's time split across the hours it covered).
    #[schema(value_type = Vec<Vec<i64>>, min_items = 7, max_items = 7)]
    pub ms_played: [[u64; 24]; 7],
    /// `[weekday][hour]` plays (at the hour a stream ended).
    #[schema(value_type = Vec<Vec<i64>>, min_items = 7, max_items = 7)]
    pub plays: [[u64; 24]; 7],
    /// The cell with the most time (the earliest on ties); `None` without listening.
    #[schema(required = true)]
    pub busiest: Option<BusiestCell>,
}

/// The hour × weekday matrix of `range`.
pub fn hour_weekday(range: &Stats) -> HourWeekday {
    let mut ms_played = [[0u64; 24]; 7];
    let mut plays = [[0u64; 24]; 7];
    let mut busiest: Option<BusiestCell> = None;
    for (w, row) in range.hour_weekday.iter().enumerate() {
        for (h, c) in row.iter().enumerate() {
            ms_played[w][h] = c.ms;
            plays[w][h] = c.plays;
            if c.ms > busiest.as_ref().map_or(0, |b| b.ms_played) {
                busiest = Some(BusiestCell {
                    weekday: WEEKDAYS[w],
                    weekday_index: w,
                    hour: h,
                    ms_played: c.ms,
                });
            }
        }
    }
    HourWeekday {
        weekdays: WEEKDAYS,
        hours: HOURS,
        ms_played,
        plays,
        busiest,
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Tops and the paged ranking

/// The top lists of every kind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tops {
    /// `time` or `plays`.
    #[schema(value_type = RankOrder)]
    pub by: &'static str,
    /// Top artists.
    pub artists: Vec<RankedEntry>,
    /// Top tracks.
    pub tracks: Vec<RankedEntry>,
    /// Top albums.
    pub albums: Vec<RankedEntry>,
    /// Top podcast shows.
    pub shows: Vec<RankedEntry>,
    /// Top podcast episodes.
    pub episodes: Vec<RankedEntry>,
    /// Top audiobooks.
    pub audiobooks: Vec<RankedEntry>,
}

crate::names! {
    /// What a ranking ranks by: listening `time` or `plays`.
    RankOrder: ["time", "plays"]
}

/// The first `n` of each kind in `range` by `by`.
pub fn tops(range: &Stats, strings: &Strings, by: RankBy, n: usize) -> Tops {
    // One pass over the monthly cells for the six kinds.
    let totals = range.entity_totals();
    let top = |kind| entries(rank_kind(&totals, kind, by, strings, n), strings, 1);
    Tops {
        by: rank_by_label(by),
        artists: top(EntityKind::Artist),
        tracks: top(EntityKind::Track),
        albums: top(EntityKind::Album),
        shows: top(EntityKind::Show),
        episodes: top(EntityKind::Episode),
        audiobooks: top(EntityKind::Audiobook),
    }
}

/// One page of a full ranking.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    /// What is ranked.
    pub kind: EntityKind,
    /// `time` or `plays`.
    #[schema(value_type = RankOrder)]
    pub by: &'static str,
    /// The entries of this page, with their overall ranks.
    pub entries: Vec<RankedEntry>,
    /// This page, from 1 (a page past the end is clamped to the last).
    #[schema(minimum = 1)]
    pub page: usize,
    /// Pages (0 when nothing is ranked).
    pub pages: usize,
    /// Entries per page.
    #[schema(minimum = 1)]
    pub per_page: usize,
    /// Entities ranked.
    pub total: usize,
}

/// Page `page` (from 1) of the ranking of one kind in `range`, `per_page` (at least 1) a page.
pub fn ranking(
    range: &Stats,
    strings: &Strings,
    kind: EntityKind,
    by: RankBy,
    page: usize,
    per_page: usize,
) -> Ranking {
    let per_page = per_page.max(1);
    let total = range.distinct(kind);
    let pages = total.div_ceil(per_page);
    let page = page.clamp(1, pages.max(1));
    let skip = (page - 1) * per_page;
    let list = range.top(kind, by, None, strings, skip.saturating_add(per_page));
    Ranking {
        kind,
        by: rank_by_label(by),
        entries: entries(list.into_iter().skip(skip).collect(), strings, skip + 1),
        page,
        pages,
        per_page,
        total,
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Discoveries

/// Discoveries in one month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DiscoveryMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Artists first heard ever in this month.
    pub new_artists: u64,
    /// Tracks first heard ever in this month.
    pub new_tracks: u64,
}

/// What was heard for the first time ever in the range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Discoveries {
    /// Every month of the range, zeros included.
    pub months: Vec<DiscoveryMonth>,
    /// Artists first heard ever in the range.
    pub new_artists: u64,
    /// Tracks first heard ever in the range.
    pub new_tracks: u64,
    /// Time and counts of artists first heard in the range (all their streams in the range).
    pub new_artists_total: Totals,
    /// Time and counts of artists heard before the range.
    pub known_artists_total: Totals,
    /// Share of the range's artist listening time that went to new artists.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub new_share_of_time: Option<f64>,
    /// Share of the range's artist plays that went to new artists.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub new_share_of_plays: Option<f64>,
    /// The new artists with the most time in the range.
    pub top_new_artists: Vec<RankedEntry>,
}

/// Discoveries of `range`, judged against when each artist and track was first heard of all
/// time (`first_ever`, [`crate::Prepared::first_heard`]).
///
/// An entity is new in the range when its first stream of all time is in the range (its
/// first stream in `range` is its first ever), so an artist first heard before the range
/// starts counts as known, even when that was earlier in the range's first month. It is
/// counted in the local month (of the range's time zone) of that first stream.
pub fn discoveries(range: &Stats, first_ever: &FirstHeard, strings: &Strings) -> Discoveries {
    let tz = range.settings.tz;
    let span = range
        .by_month
        .keys()
        .next()
        .zip(range.by_month.keys().next_back())
        .map(|(a, b)| (*a, *b));
    let mut months: Vec<DiscoveryMonth> = span.map_or_else(Vec::new, |(a, b)| {
        (a.0..=b.0)
            .map(|m| DiscoveryMonth {
                month: Month(m).label(),
                new_artists: 0,
                new_tracks: 0,
            })
            .collect()
    });
    let (mut new_artists, mut new_tracks) = (0, 0);
    for (e, &(first, _)) in &range.first_last {
        if !matches!(e.kind, EntityKind::Artist | EntityKind::Track)
            || !is_new(first_ever.get(e).copied(), first)
        {
            continue;
        }
        let month = local_day_hour(tz, first).0.month();
        let slot = span
            .filter(|(a, b)| (a.0..=b.0).contains(&month.0))
            .map(|(a, _)| &mut months[(month.0 - a.0) as usize]);
        if e.kind == EntityKind::Artist {
            new_artists += 1;
            if let Some(s) = slot {
                s.new_artists += 1;
            }
        } else {
            new_tracks += 1;
            if let Some(s) = slot {
                s.new_tracks += 1;
            }
        }
    }
    let (mut new, mut known) = (Cell::default(), Cell::default());
    let mut fresh: Vec<(Entity, Cell)> = Vec::new();
    for (e, c) in entity_totals(range, EntityKind::Artist, |_| true) {
        let first = range.first_last.get(&e).map_or(i64::MIN, |fl| fl.0);
        if is_new(first_ever.get(&e).copied(), first) {
            add(&mut new, &c);
            fresh.push((e, c));
        } else {
            add(&mut known, &c);
        }
    }
    Discoveries {
        months,
        new_artists,
        new_tracks,
        new_artists_total: new.into(),
        known_artists_total: known.into(),
        new_share_of_time: ratio(new.ms, new.ms + known.ms),
        new_share_of_plays: ratio(new.plays, new.plays + known.plays),
        top_new_artists: entries(
            rank(fresh, RankBy::Time, strings, NEW_ARTISTS_LISTED),
            strings,
            1,
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Streaks, sessions, loops

/// The longest runs of days with listening.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Streaks {
    /// Up to [`STREAKS_LISTED`] streaks, longest first (ties: latest first).
    pub longest: Vec<StreakView>,
}

/// The longest streaks of `range`.
pub fn streaks(range: &Stats) -> Streaks {
    Streaks {
        longest: range
            .streaks()
            .into_iter()
            .take(STREAKS_LISTED)
            .map(StreakView::from)
            .collect(),
    }
}

/// A track played again and again: at least [`LOOP_MIN_REPEATS`] consecutive streams of the
/// same track within one session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Loop {
    /// Track title.
    pub track: String,
    /// Its artist.
    #[schema(required = true)]
    pub artist: Option<String>,
    /// Streams in a row.
    pub repeats: u64,
    /// Start of the first stream (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub start: String,
    /// End of the last stream.
    #[schema(format = DateTime)]
    pub end: String,
    /// Start of the first stream, epoch milliseconds.
    pub start_ms: i64,
    /// End of the last stream, epoch milliseconds.
    pub end_ms: i64,
    /// Time played in the loop.
    pub ms_played: u64,
}

/// Loops in `plays` (any order; the caller passes the range's plays).
///
/// The rule: plays are taken in order of start; a loop is a run of at least
/// [`LOOP_MIN_REPEATS`] consecutive music streams (of any length) with the same title and
/// artist, where no pause between one stream's end and the next one's start exceeds `gap_ms`
/// (the session gap, so the run stays inside one session). Any other stream in between ends
/// the run. Longest loops first (ties: earliest first).
pub fn loops(plays: &[Play], strings: &Strings, gap_ms: i64) -> Vec<Loop> {
    // By start, then end, then place: sorting the keys beside each play's index touches far
    // less memory than sorting references to the plays.
    let mut keys: Vec<(i64, i64, u32)> = plays
        .iter()
        .enumerate()
        .map(|(i, p)| (p.start_ms(), p.end_ms, i as u32))
        .collect();
    keys.sort_unstable();
    let order = keys.iter().map(|&(_, _, i)| &plays[i as usize]);
    struct Run {
        title: Sym,
        creator: Sym,
        repeats: u64,
        start_ms: i64,
        end_ms: i64,
        ms: u64,
    }
    let mut out = Vec::new();
    let mut close = |run: Option<Run>| {
        if let Some(r) = run.filter(|r| r.repeats >= LOOP_MIN_REPEATS) {
            out.push(Loop {
                track: strings.get(r.title).to_string(),
                artist: strings.opt(r.creator).map(str::to_string),
                repeats: r.repeats,
                start: format_rfc3339(r.start_ms),
                end: format_rfc3339(r.end_ms),
                start_ms: r.start_ms,
                end_ms: r.end_ms,
                ms_played: r.ms,
            });
        }
    };
    let mut run: Option<Run> = None;
    for p in order {
        let loopable = p.kind == Kind::Track && p.title.is_some();
        if let Some(r) = run.as_mut().filter(|r| {
            loopable
                && (r.title, r.creator) == (p.title, p.creator)
                && p.start_ms() - r.end_ms <= gap_ms
        }) {
            r.repeats += 1;
            r.end_ms = r.end_ms.max(p.end_ms);
            r.ms += p.ms_played;
            continue;
        }
        close(run.take());
        run = loopable.then(|| Run {
            title: p.title,
            creator: p.creator,
            repeats: 1,
            start_ms: p.start_ms(),
            end_ms: p.end_ms,
            ms: p.ms_played,
        });
    }
    close(run);
    out.sort_by(|a, b| b.repeats.cmp(&a.repeats).then(a.start_ms.cmp(&b.start_ms)));
    out
}

/// One listening session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ListeningSession {
    /// Start of the first stream (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub start: String,
    /// End of the last stream.
    #[schema(format = DateTime)]
    pub end: String,
    /// Wall-clock length, end − start.
    pub duration_ms: u64,
    /// Streams in it.
    pub streams: u64,
    /// Time played in it.
    pub ms_played: u64,
    /// A loop (see [`loops`]) lies inside it.
    #[serde(rename = "loop")]
    pub has_loop: bool,
}

/// Listening sessions of a range.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Sessions {
    /// Sessions in the range.
    pub count: usize,
    /// Mean time played per session.
    #[schema(required = true)]
    pub mean_ms_played: Option<u64>,
    /// Up to [`SESSIONS_LISTED`] sessions with the most time played, longest first (ties:
    /// earliest first).
    pub longest: Vec<ListeningSession>,
}

/// Listening sessions (`list`: from `schema::aggregate::sessions` over the range's plays with
/// the gap the viewer chose); `loops` (from [`loops`] over the same plays, or empty) flags the
/// sessions that contain one.
pub fn sessions(list: &[schema::aggregate::Session], loops: &[Loop]) -> Sessions {
    let mut longest: Vec<_> = list.iter().collect();
    longest.sort_by(|a, b| b.ms.cmp(&a.ms).then(a.start_ms.cmp(&b.start_ms)));
    longest.truncate(SESSIONS_LISTED);
    let total: u64 = list.iter().map(|s| s.ms).sum();
    let count = list.len();
    Sessions {
        count,
        mean_ms_played: (count > 0).then(|| total / count as u64),
        longest: longest
            .into_iter()
            .map(|s| ListeningSession {
                start: format_rfc3339(s.start_ms),
                end: format_rfc3339(s.end_ms),
                duration_ms: (s.end_ms - s.start_ms).max(0) as u64,
                streams: s.streams,
                ms_played: s.ms,
                has_loop: loops
                    .iter()
                    .any(|l| l.start_ms >= s.start_ms && l.end_ms <= s.end_ms),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Skips and habits

/// Counts of a recorded yes/no property of streams.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FlagView {
    /// Streams where it was true.
    pub yes: u64,
    /// Streams where it was false.
    pub no: u64,
    /// Streams where it was not recorded.
    pub unknown: u64,
    /// `yes / (yes + no)`; `None` when never recorded.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub share: Option<f64>,
}

impl From<schema::aggregate::Flag> for FlagView {
    fn from(f: schema::aggregate::Flag) -> Self {
        FlagView {
            yes: f.yes,
            no: f.no,
            unknown: f.unknown,
            share: f.rate(),
        }
    }
}

/// Skips of one group of streams.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SkipRow {
    /// Artist name, hour (`00`…`23`) or platform family.
    pub label: String,
    /// Streams.
    pub streams: u64,
    /// Plays (streams of at least the play threshold).
    pub plays: u64,
    /// Streams marked skipped.
    pub skips: u64,
    /// `skips / streams`; `None` without streams or when the range has no skip data at all.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub skip_rate: Option<f64>,
}

/// One bar of the "seconds before a skip" histogram.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SkipSecond {
    /// `0` … `59`, then `60+`.
    pub label: String,
    /// Skipped streams that played that many whole seconds.
    pub skips: u64,
}

/// Streams per start or end reason.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ReasonCount {
    /// Spotify's reason (`trackdone`, `fwdbtn`, …); `None` when not recorded.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// Streams.
    pub streams: u64,
    /// Share of all streams.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub share: Option<f64>,
}

/// Skipping and listening habits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Skips {
    /// Skipped streams; `share` is the overall skip rate among streams where it was recorded.
    pub skipped: FlagView,
    /// The [`SKIP_ARTISTS`] most skipped artists (highest share of their streams skipped,
    /// then most skips) among those with at least [`SKIP_ARTIST_MIN_STREAMS`] streams.
    pub by_artist: Vec<SkipRow>,
    /// Every local hour (of the stream's end).
    pub by_hour: Vec<SkipRow>,
    /// Device families with streams, highest skip rate first.
    pub by_platform: Vec<SkipRow>,
    /// Skipped streams by whole seconds played, `0`–`59` and `60+`.
    pub seconds_before_skip: Vec<SkipSecond>,
    /// Shuffle on.
    pub shuffle: FlagView,
    /// Played offline.
    pub offline: FlagView,
    /// In a private session.
    pub private_session: FlagView,
    /// Start reasons, most streams first.
    pub reasons_start: Vec<ReasonCount>,
    /// End reasons, most streams first.
    pub reasons_end: Vec<ReasonCount>,
}

/// Skips and habits of `range`.
///
/// Per-group skip rates are `skips / streams` over all streams of the group: streams whose
/// skip state was not recorded count as not skipped, so in ranges mixing old (unrecorded) and
/// recent data they are lower bounds. When no stream of the range has a recorded skip state,
/// every rate is `None`.
pub fn skips(range: &Stats, strings: &Strings) -> Skips {
    let recorded = range.skipped.yes + range.skipped.no > 0;
    let row = |label: String, c: &Cell| SkipRow {
        label,
        streams: c.streams,
        plays: c.plays,
        skips: c.skips,
        skip_rate: ratio(c.skips, c.streams).filter(|_| recorded),
    };
    let artists: Vec<(Entity, Cell)> = entity_totals(range, EntityKind::Artist, |_| true)
        .into_iter()
        .filter(|(_, c)| c.streams >= SKIP_ARTIST_MIN_STREAMS)
        .collect();
    // Most skipped first (by rate, then by skips, then by name), as the list is titled.
    let mut by_artist: Vec<SkipRow> = artists
        .iter()
        .map(|(e, c)| row(strings.get(e.name).to_string(), c))
        .collect();
    by_artist.sort_by(|a, b| {
        let rate = |r: &SkipRow| r.skips as f64 / r.streams.max(1) as f64;
        rate(b)
            .total_cmp(&rate(a))
            .then(b.skips.cmp(&a.skips))
            .then_with(|| a.label.cmp(&b.label))
    });
    by_artist.truncate(SKIP_ARTISTS);
    let by_hour = (0..24)
        .map(|h| {
            let mut c = Cell::default();
            for day in &range.hour_weekday {
                add(&mut c, &day[h]);
            }
            row(HOURS[h].to_string(), &c)
        })
        .collect();
    let mut platforms: BTreeMap<Platform, Cell> = BTreeMap::new();
    for ((_, p), c) in &range.platforms {
        add(platforms.entry(*p).or_default(), c);
    }
    // Highest skip rate first, as a list of rates reads.
    let mut by_platform: Vec<SkipRow> = Platform::ALL
        .iter()
        .filter_map(|p| platforms.get(p).map(|c| (p, c)))
        .filter(|(_, c)| c.streams > 0)
        .map(|(p, c)| row(p.label().to_string(), c))
        .collect();
    by_platform.sort_by(|a, b| {
        let rate = |r: &SkipRow| r.skips as f64 / r.streams.max(1) as f64;
        rate(b)
            .total_cmp(&rate(a))
            .then_with(|| a.label.cmp(&b.label))
    });
    let seconds_before_skip = range
        .skip_seconds
        .iter()
        .enumerate()
        .map(|(s, &n)| SkipSecond {
            label: if s == 60 {
                "60+".to_string()
            } else {
                s.to_string()
            },
            skips: n,
        })
        .collect();
    Skips {
        skipped: range.skipped.into(),
        by_artist,
        by_hour,
        by_platform,
        seconds_before_skip,
        shuffle: range.shuffle.into(),
        offline: range.offline.into(),
        private_session: range.incognito.into(),
        reasons_start: reasons(&range.reason_start, strings, range.total.streams),
        reasons_end: reasons(&range.reason_end, strings, range.total.streams),
    }
}

/// Reasons with their streams, most first (ties by name, unrecorded first).
fn reasons<'a>(
    counts: impl IntoIterator<Item = (&'a Sym, &'a u64)>,
    strings: &Strings,
    streams: u64,
) -> Vec<ReasonCount> {
    let mut v: Vec<ReasonCount> = counts
        .into_iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, &n)| ReasonCount {
            reason: strings.opt(*k).map(str::to_string),
            streams: n,
            share: ratio(n, streams),
        })
        .collect();
    v.sort_by(|a, b| {
        b.streams
            .cmp(&a.streams)
            .then_with(|| a.reason.cmp(&b.reason))
    });
    v
}

// ---------------------------------------------------------------------------------------------
// 9. Platforms and countries over time

/// A group's share of the period.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Share {
    /// Platform family or country code.
    pub name: String,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays (streams of at least the play threshold).
    pub plays: u64,
    /// Share of the period's listening time.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub share: Option<f64>,
}

/// One group's listening per month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct NamedSeries {
    /// Platform family or country code.
    pub name: String,
    /// Milliseconds per month, aligned with [`Breakdown::months`].
    pub ms_played: Vec<u64>,
}

/// Listening split by a property (device family, country) per month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Breakdown {
    /// Every month from the first to the last with listening (`YYYY-MM`).
    pub months: Vec<String>,
    /// Each group over the whole period, most time first (ties by name).
    pub totals: Vec<Share>,
    /// Each group per month, in the order of `totals`.
    pub series: Vec<NamedSeries>,
}

fn breakdown<K: Ord + Copy>(
    map: &BTreeMap<(Month, K), Cell>,
    name: impl Fn(K) -> String,
) -> Breakdown {
    let Some((lo, hi)) = map
        .keys()
        .map(|(m, _)| m.0)
        .fold(None, |acc: Option<(i32, i32)>, m| {
            Some(acc.map_or((m, m), |(a, b)| (a.min(m), b.max(m))))
        })
    else {
        return Breakdown {
            months: Vec::new(),
            totals: Vec::new(),
            series: Vec::new(),
        };
    };
    let width = (hi - lo + 1) as usize;
    let mut groups: BTreeMap<K, (Cell, Vec<u64>)> = BTreeMap::new();
    for ((m, k), c) in map {
        let g = groups
            .entry(*k)
            .or_insert_with(|| (Cell::default(), vec![0; width]));
        add(&mut g.0, c);
        g.1[(m.0 - lo) as usize] += c.ms;
    }
    let all_ms: u64 = groups.values().map(|(c, _)| c.ms).sum();
    let mut named: Vec<(String, Cell, Vec<u64>)> = groups
        .into_iter()
        .map(|(k, (c, v))| (name(k), c, v))
        .collect();
    named.sort_by(|a, b| b.1.ms.cmp(&a.1.ms).then_with(|| a.0.cmp(&b.0)));
    Breakdown {
        months: (lo..=hi).map(|m| Month(m).label()).collect(),
        totals: named
            .iter()
            .map(|(n, c, _)| Share {
                name: n.clone(),
                ms_played: c.ms,
                plays: c.plays,
                share: ratio(c.ms, all_ms),
            })
            .collect(),
        series: named
            .into_iter()
            .map(|(name, _, ms_played)| NamedSeries { name, ms_played })
            .collect(),
    }
}

/// Listening per device family ([`Platform::label`]) per month of `range`.
pub fn platforms(range: &Stats) -> Breakdown {
    breakdown(&range.platforms, |p: Platform| p.label().to_string())
}

/// Listening per country code (`ZZ` = unknown) per month of `range`.
pub fn countries(range: &Stats) -> Breakdown {
    breakdown(&range.countries, |c: Country| c.as_str().to_string())
}

// ---------------------------------------------------------------------------------------------
// 10. Recap of a year

/// A month and its listening.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MonthAmount {
    /// `YYYY-MM`.
    pub month: String,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays (streams of at least the play threshold).
    pub plays: u64,
}

/// A weekday or hour and its listening.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SlotAmount {
    /// `Mon` … `Sun` or `00` … `23`.
    pub label: &'static str,
    /// Milliseconds listened.
    pub ms_played: u64,
}

/// The first stream of a period.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FirstStream {
    /// When it ended (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub at: String,
    /// What it was (track, episode or audiobook), when known.
    #[schema(required = true)]
    pub name: Option<String>,
    /// Its artist or show.
    #[schema(required = true)]
    pub by: Option<String>,
}

/// A year in review.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recap {
    /// The calendar year (local).
    pub year: i32,
    /// Everything in the year.
    pub total: Totals,
    /// Days with listening in the year.
    pub days_listened: usize,
    /// Top artists by time.
    pub top_artists: Vec<RankedEntry>,
    /// Top tracks by time.
    pub top_tracks: Vec<RankedEntry>,
    /// Top albums by time.
    pub top_albums: Vec<RankedEntry>,
    /// Top shows by time.
    pub top_shows: Vec<RankedEntry>,
    /// The top artist's share of the time of all artists (music) in the year.
    #[schema(required = true, minimum = 0, maximum = 1)]
    pub top_artist_share: Option<f64>,
    /// The month with the most time.
    #[schema(required = true)]
    pub busiest_month: Option<MonthAmount>,
    /// The weekday with the most time.
    #[schema(required = true)]
    pub busiest_weekday: Option<SlotAmount>,
    /// The local hour with the most time.
    #[schema(required = true)]
    pub busiest_hour: Option<SlotAmount>,
    /// The longest streak within the year.
    #[schema(required = true)]
    pub longest_streak: Option<StreakView>,
    /// Artists first heard ever in the year.
    pub new_artists: u64,
    /// The new artists with the most time in the year.
    pub top_new_artists: Vec<RankedEntry>,
    /// The year's first stream.
    #[schema(required = true)]
    pub first_stream: Option<FirstStream>,
    /// Time listened in the previous year (from `all`), when there was any.
    #[schema(required = true)]
    pub previous_year_ms_played: Option<u64>,
    /// `this year / previous year − 1` in time (0.25 = a quarter more).
    #[schema(required = true, minimum = -1)]
    pub change_from_previous_year: Option<f64>,
}

/// The recap of `year` from `year_stats` (stats over the plays that ended in the year), judged
/// against `all` for what is new and for the previous year.
///
/// Only the year's months and days of `year_stats` are read, so stats of a wider period give
/// the same answer (except the hour and weekday, which have no date).
pub fn recap(year_stats: &Stats, all: &Stats, strings: &Strings, year: i32) -> Recap {
    let months = (Month(year * 12), Month(year * 12 + 11));
    let in_year = |m: Month| m.year() == year;
    let top = |kind| {
        entries(
            year_stats.top(kind, RankBy::Time, Some(months), strings, RECAP_TOP),
            strings,
            1,
        )
    };
    let artists = entity_totals(year_stats, EntityKind::Artist, in_year);
    let artist_ms: u64 = artists.values().map(|c| c.ms).sum();
    let top_artists = top(EntityKind::Artist);
    let top_artist_share = top_artists
        .first()
        .and_then(|a| ratio(a.ms_played, artist_ms));

    let mut total = Cell::default();
    let mut busiest_month: Option<MonthAmount> = None;
    for (m, c) in year_stats.by_month.range(months.0..=months.1) {
        add(&mut total, c);
        if c.ms > busiest_month.as_ref().map_or(0, |b| b.ms_played) {
            busiest_month = Some(MonthAmount {
                month: m.label(),
                ms_played: c.ms,
                plays: c.plays,
            });
        }
    }
    let (mut weekdays, mut hours) = ([0u64; 7], [0u64; 24]);
    for (w, row) in year_stats.hour_weekday.iter().enumerate() {
        for (h, c) in row.iter().enumerate() {
            weekdays[w] += c.ms;
            hours[h] += c.ms;
        }
    }
    let busiest = |v: &[u64], labels: &[&'static str]| {
        let (i, &ms) = v.iter().enumerate().rev().max_by_key(|(_, ms)| **ms)?;
        (ms > 0).then(|| SlotAmount {
            label: labels[i],
            ms_played: ms,
        })
    };

    let year_days = |d: &Day| d.ymd().0 == year;
    let days_listened = year_stats
        .by_day
        .iter()
        .filter(|(d, c)| year_days(d) && (c.ms > 0 || c.streams > 0))
        .count();
    let (y0, y1) = (
        Day(days_from_civil(i64::from(year), 1, 1) as i32),
        Day(days_from_civil(i64::from(year), 12, 31) as i32),
    );
    let longest_streak = year_stats
        .streaks()
        .into_iter()
        .filter_map(|s| {
            let clipped = Streak {
                first: s.first.max(y0),
                last: s.last.min(y1),
            };
            (clipped.first <= clipped.last).then_some(clipped)
        })
        .min_by(|a, b| b.days().cmp(&a.days()).then(b.first.cmp(&a.first)))
        .map(StreakView::from);

    let tz = year_stats.settings.tz;
    let mut new_artists = 0;
    let mut fresh: Vec<(Entity, Cell)> = Vec::new();
    for (e, c) in artists {
        let Some(&(first, _)) = year_stats.first_last.get(&e) else {
            continue;
        };
        if local_day_hour(tz, first).0.month().year() == year
            && is_new(all.first_last.get(&e).map(|fl| fl.0), first)
        {
            new_artists += 1;
            fresh.push((e, c));
        }
    }

    let first_stream = year_stats.span.map(|(at, _)| {
        let what = year_stats
            .first_last
            .iter()
            .filter(|(e, fl)| {
                fl.0 == at
                    && matches!(
                        e.kind,
                        EntityKind::Track | EntityKind::Episode | EntityKind::Audiobook
                    )
            })
            .map(|(e, _)| (strings.get(e.name), strings.opt(e.owner)))
            .min();
        FirstStream {
            at: format_rfc3339(at),
            name: what.map(|(n, _)| n.to_string()),
            by: what.and_then(|(_, o)| o.map(str::to_string)),
        }
    });
    let previous = all
        .by_year()
        .get(&(year - 1))
        .map(|c| c.ms)
        .filter(|&ms| ms > 0);
    Recap {
        year,
        total: total.into(),
        days_listened,
        top_tracks: top(EntityKind::Track),
        top_albums: top(EntityKind::Album),
        top_shows: top(EntityKind::Show),
        top_artists,
        top_artist_share,
        busiest_month,
        busiest_weekday: busiest(&weekdays, &WEEKDAYS),
        busiest_hour: busiest(&hours, &HOURS),
        longest_streak,
        new_artists,
        top_new_artists: entries(rank(fresh, RankBy::Time, strings, RECAP_TOP), strings, 1),
        first_stream,
        previous_year_ms_played: previous,
        change_from_previous_year: previous.and_then(|p| ratio(total.ms, p)).map(|r| r - 1.0),
    }
}

// ---------------------------------------------------------------------------------------------
// 11b. A track, an album or a show in depth

/// What an item page is about: a track or an album (of an artist), or a podcast show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A track: the artist's name and the title.
    Track,
    /// An album: the artist's name and the album's.
    Album,
    /// A podcast show: its name.
    Show,
}

impl ItemKind {
    /// `track`, `album`, `show`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Track => "track",
            ItemKind::Album => "album",
            ItemKind::Show => "show",
        }
    }

    /// What its parts are called: an album's tracks, a show's episodes, the albums a track
    /// appeared on.
    pub fn parts(self) -> &'static str {
        match self {
            ItemKind::Track => "albums",
            ItemKind::Album => "tracks",
            ItemKind::Show => "episodes",
        }
    }
}

/// One track, album or show in depth.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// Track, album or show.
    pub kind: ItemKind,
    /// Its name.
    pub name: String,
    /// The artist (tracks and albums).
    pub by: Option<String>,
    /// Its streams in the range.
    pub range: Totals,
    /// Its streams over all time.
    pub all_time: Totals,
    /// End of its first stream ever (RFC 3339 UTC).
    pub first_listen: Option<String>,
    /// End of its latest stream.
    pub last_listen: Option<String>,
    /// Its listening per month in the range (time split across local days).
    pub months: Vec<Point>,
    /// Its parts in the range, by time: an album's tracks, a show's episodes, the albums a
    /// track was played from.
    pub parts: Vec<RankedEntry>,
    /// Local days in the range it was heard on.
    pub days_listened: usize,
}

/// Entries of [`ItemView::parts`].
pub const ITEM_PARTS: usize = 50;

/// Whether `p` is a stream of the item (`owner` is the artist for tracks and albums, none for
/// shows; docs/DESIGN.md's identity).
fn is_of(p: &Play, kind: ItemKind, owner: Sym, name: Sym) -> bool {
    match kind {
        ItemKind::Track => p.kind == Kind::Track && p.creator == owner && p.title == name,
        ItemKind::Album => p.kind == Kind::Track && p.creator == owner && p.collection == name,
        ItemKind::Show => p.kind == Kind::Episode && p.creator == name,
    }
}

/// The page of one track, album or show; `None` when no stream of it is among `all_plays`.
/// `range_plays` and `all_plays` are the selection's plays in the range and over all time.
pub fn item(
    kind: ItemKind,
    owner: Option<&str>,
    name: &str,
    range_plays: &[Play],
    all_plays: &[Play],
    strings: &Strings,
    settings: schema::Settings,
) -> Option<ItemView> {
    let name_sym = strings.lookup(name)?;
    let owner_sym = match (kind, owner) {
        (ItemKind::Show, _) => Sym::NONE,
        (_, Some(o)) => strings.lookup(o)?,
        (_, None) => return None,
    };
    let of = |plays: &[Play]| -> Vec<Play> {
        plays
            .iter()
            .filter(|p| is_of(p, kind, owner_sym, name_sym))
            .copied()
            .collect()
    };
    let ever = of(all_plays);
    let first = ever.first()?;
    let last = ever.last().unwrap_or(first);
    let in_range = of(range_plays);
    let all_stats = Stats::build_parallel(&ever, settings);
    let stats = Stats::build_parallel(&in_range, settings);
    let part_kind = match kind {
        ItemKind::Track => EntityKind::Album,
        ItemKind::Album => EntityKind::Track,
        ItemKind::Show => EntityKind::Episode,
    };
    let parts = stats.top(part_kind, RankBy::Time, None, strings, ITEM_PARTS);
    Some(ItemView {
        kind,
        name: name.to_string(),
        by: (kind != ItemKind::Show).then(|| strings.get(owner_sym).to_string()),
        range: stats.total.into(),
        all_time: all_stats.total.into(),
        first_listen: Some(format_rfc3339(first.end_ms)),
        last_listen: Some(format_rfc3339(last.end_ms)),
        months: over_time(&stats).months,
        parts: entries(parts, strings, 1),
        days_listened: stats.days_listened(),
    })
}

// ---------------------------------------------------------------------------------------------
// 11. Artist drill-down

/// The most-played track of one weekday × block cell.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct BlockTrack {
    /// Track title.
    pub name: String,
    /// Its plays that ended in the cell.
    pub plays: u64,
    /// Its time within the cell.
    pub ms_played: u64,
}

/// Listening by weekday × six-hour block ([`BLOCKS`]).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct BlockGrid {
    /// `[weekday][block]` milliseconds: a stream's time is split across the local hours (and
    /// so blocks and days) it covered.
    #[schema(value_type = Vec<Vec<i64>>, min_items = 7, max_items = 7)]
    pub ms_played: [[u64; 4]; 7],
    /// `[weekday][block]` plays, at the local time each stream ended.
    #[schema(value_type = Vec<Vec<i64>>, min_items = 7, max_items = 7)]
    pub plays: [[u64; 4]; 7],
    /// `[weekday][block]` share of the period's time for the artist; the cells sum to 1 (all
    /// `None` without listening).
    #[schema(min_items = 7, max_items = 7)]
    pub share: [[Option<f64>; 4]; 7],
}

/// The artist's rank among all artists in one year.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct YearRank {
    /// Calendar year (local).
    pub year: i32,
    /// Position by listening time, from 1 (as [`Stats::top`] orders).
    #[schema(minimum = 1)]
    pub rank: usize,
    /// Artists heard that year.
    pub of: usize,
    /// The artist's time that year.
    pub ms_played: u64,
    /// The artist's plays that year.
    pub plays: u64,
}

/// The artist's top tracks of one year.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearTracks {
    /// Calendar year (local).
    pub year: i32,
    /// Up to [`RECAP_TOP`] tracks by time.
    pub tracks: Vec<RankedEntry>,
}

/// One artist in depth.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArtistView {
    /// The artist.
    pub name: String,
    /// The artist's streams in the range.
    pub range: Totals,
    /// The artist's streams over all time.
    pub all_time: Totals,
    /// Block labels (columns of the grids).
    #[schema(value_type = Vec<String>, min_items = 4, max_items = 4)]
    pub blocks: [&'static str; 4],
    /// Weekday labels (rows of the grids).
    #[schema(value_type = Vec<String>, min_items = 7, max_items = 7)]
    pub weekdays: [&'static str; 7],
    /// When the artist is listened to in the range.
    pub range_blocks: BlockGrid,
    /// When the artist is listened to over all time.
    pub all_time_blocks: BlockGrid,
    /// `[weekday][block]` the most-played track in the range (by plays, then time, then
    /// title).
    #[schema(min_items = 7, max_items = 7)]
    pub range_block_tracks: [[Option<BlockTrack>; 4]; 7],
    /// The artist's top tracks in the range, by time.
    pub top_tracks: Vec<RankedEntry>,
    /// End of the first stream ever (RFC 3339 UTC).
    #[schema(required = true, format = DateTime)]
    pub first_listen: Option<String>,
    /// End of the latest stream.
    #[schema(required = true, format = DateTime)]
    pub last_listen: Option<String>,
    /// Rank among all artists, each year the artist was heard.
    pub year_ranks: Vec<YearRank>,
    /// Top tracks of each year the artist was heard.
    pub top_tracks_by_year: Vec<YearTracks>,
}

/// Entries of [`ArtistView::top_tracks`].
pub const ARTIST_TOP_TRACKS: usize = 10;

struct Grid {
    ms: [[u64; 4]; 7],
    plays: [[u64; 4]; 7],
}

fn block_grid(
    plays: &[&Play],
    tz: Tz,
    min_play_ms: u64,
    mut per_track: impl FnMut(Sym, usize, usize, u64, u64),
) -> (BlockGrid, Totals) {
    let mut g = Grid {
        ms: [[0; 4]; 7],
        plays: [[0; 4]; 7],
    };
    let mut total = Cell::default();
    for p in plays {
        let is_play = p.ms_played >= min_play_ms;
        add(
            &mut total,
            &Cell {
                ms: p.ms_played,
                streams: 1,
                plays: u64::from(is_play),
                skips: u64::from(p.skipped == Some(true)),
            },
        );
        split_by_local_hour(tz, p.start_ms(), p.end_ms, |day, hour, ms| {
            g.ms[day.weekday()][hour / 6] += ms;
            per_track(p.title, day.weekday(), hour / 6, 0, ms);
        });
        if is_play {
            let (day, hour) = local_day_hour(tz, p.end_ms);
            g.plays[day.weekday()][hour / 6] += 1;
            per_track(p.title, day.weekday(), hour / 6, 1, 0);
        }
    }
    let sum: u64 = g.ms.iter().flatten().sum();
    let share = g.ms.map(|row| row.map(|ms| ratio(ms, sum)));
    (
        BlockGrid {
            ms_played: g.ms,
            plays: g.plays,
            share,
        },
        total.into(),
    )
}

/// The drill-down of the artist `name`: `range_plays` and `all_plays` are the artist's plays
/// in the range and over all time (other plays are ignored), `all` the stats over all time,
/// `tz` the viewer's time zone.
///
/// Weekday × block grids split each stream's time across the local hours it covered (with
/// [`split_by_local_hour`]) and count its play in the block where it ended, like the hour ×
/// weekday matrix. Yearly ranks order by time like [`Stats::top_per_year`], computed by
/// counting the artists ahead instead of sorting every year.
pub fn artist(
    name: &str,
    range_plays: &[Play],
    all_plays: &[Play],
    all: &Stats,
    strings: &Strings,
    tz: Tz,
) -> ArtistView {
    let sym = strings.lookup(name).unwrap_or(Sym::NONE);
    fn theirs(plays: &[Play], sym: Sym) -> Vec<&Play> {
        plays
            .iter()
            .filter(|p| sym.is_some() && p.kind == Kind::Track && p.creator == sym)
            .collect()
    }
    let (in_range, ever) = (theirs(range_plays, sym), theirs(all_plays, sym));
    let min_play_ms = all.settings.min_play_ms;

    let mut cells: HashMap<(Sym, usize, usize), (u64, u64)> = HashMap::new();
    let (range_blocks, range_totals) = block_grid(&in_range, tz, min_play_ms, |t, w, b, n, ms| {
        if t.is_some() {
            let c = cells.entry((t, w, b)).or_default();
            c.0 += n;
            c.1 += ms;
        }
    });
    let (all_time_blocks, all_totals) = block_grid(&ever, tz, min_play_ms, |_, _, _, _, _| {});
    let mut best: [[Option<(Sym, u64, u64)>; 4]; 7] = [[None; 4]; 7];
    for (&(t, w, b), &(n, ms)) in &cells {
        let better = best[w][b].is_none_or(|(bt, bn, bms)| {
            (n, ms)
                .cmp(&(bn, bms))
                .then_with(|| strings.get(bt).cmp(strings.get(t)))
                .is_gt()
        });
        if better {
            best[w][b] = Some((t, n, ms));
        }
    }
    let range_block_tracks = best.map(|row| {
        row.map(|cell| {
            cell.map(|(t, plays, ms_played)| BlockTrack {
                name: strings.get(t).to_string(),
                plays,
                ms_played,
            })
        })
    });

    let mut tracks: HashMap<Sym, Cell> = HashMap::new();
    for p in &in_range {
        if p.title.is_some() {
            let c = tracks.entry(p.title).or_default();
            add(
                c,
                &Cell {
                    ms: p.ms_played,
                    streams: 1,
                    plays: u64::from(p.ms_played >= min_play_ms),
                    skips: u64::from(p.skipped == Some(true)),
                },
            );
        }
    }
    let track = |t: Sym| Entity {
        kind: EntityKind::Track,
        owner: sym,
        name: t,
    };
    let top_tracks = entries(
        rank(
            tracks.into_iter().map(|(t, c)| (track(t), c)).collect(),
            RankBy::Time,
            strings,
            ARTIST_TOP_TRACKS,
        ),
        strings,
        1,
    );

    let me = Entity {
        kind: EntityKind::Artist,
        owner: Sym::NONE,
        name: sym,
    };
    let (year_ranks, top_tracks_by_year) = if sym.is_some() {
        artist_years(all, strings, me)
    } else {
        (Vec::new(), Vec::new())
    };
    let first_last = all.first_last.get(&me).filter(|_| sym.is_some());
    ArtistView {
        name: name.to_string(),
        range: range_totals,
        all_time: all_totals,
        blocks: BLOCKS,
        weekdays: WEEKDAYS,
        range_blocks,
        all_time_blocks,
        range_block_tracks,
        top_tracks,
        first_listen: first_last.map(|fl| format_rfc3339(fl.0)),
        last_listen: first_last.map(|fl| format_rfc3339(fl.1)),
        year_ranks,
        top_tracks_by_year,
    }
}

/// One pass over `all.monthly`: the artist's rank each year and its top tracks each year.
fn artist_years(all: &Stats, strings: &Strings, me: Entity) -> (Vec<YearRank>, Vec<YearTracks>) {
    let mut artists: HashMap<(i32, Entity), Cell> = HashMap::new();
    let mut tracks: HashMap<(i32, Entity), Cell> = HashMap::new();
    for ((m, e), c) in &all.monthly {
        match e.kind {
            EntityKind::Artist => add(artists.entry((m.year(), *e)).or_default(), c),
            EntityKind::Track if e.owner == me.name => {
                add(tracks.entry((m.year(), *e)).or_default(), c);
            }
            _ => {}
        }
    }
    let mut mine: BTreeMap<i32, (Cell, usize, usize)> = artists
        .iter()
        .filter(|((_, e), _)| *e == me)
        .map(|((y, _), c)| (*y, (*c, 1, 0)))
        .collect();
    for ((y, e), c) in &artists {
        if let Some((my, ahead, of)) = mine.get_mut(y) {
            *of += 1;
            if rank_order(RankBy::Time, strings, &(*e, *c), &(me, *my)).is_lt() {
                *ahead += 1;
            }
        }
    }
    let ranks = mine
        .into_iter()
        .map(|(year, (c, rank, of))| YearRank {
            year,
            rank,
            of,
            ms_played: c.ms,
            plays: c.plays,
        })
        .collect();
    let mut per_year: BTreeMap<i32, Vec<(Entity, Cell)>> = BTreeMap::new();
    for ((y, e), c) in tracks {
        per_year.entry(y).or_default().push((e, c));
    }
    let top = per_year
        .into_iter()
        .map(|(year, v)| YearTracks {
            year,
            tracks: entries(rank(v, RankBy::Time, strings, RECAP_TOP), strings, 1),
        })
        .collect();
    (ranks, top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::Settings;
    use schema::time::parse_spotify_ts;

    const MIN: u64 = 60_000;

    fn at(s: &str) -> i64 {
        parse_spotify_ts(s).unwrap()
    }

    fn play(s: &mut Strings, end: &str, ms: u64, artist: &str, track: &str) -> Play {
        schema::testing::track(s, at(end), ms, artist, track)
    }

    fn berlin() -> Settings {
        Settings {
            tz: "Europe/Berlin".parse().unwrap(),
            ..Settings::default()
        }
    }

    fn labels(v: &[Point]) -> Vec<&str> {
        v.iter().map(|p| p.label.as_str()).collect()
    }

    #[test]
    fn a_stream_across_local_midnight_splits_its_time_over_two_days() {
        let mut s = Strings::default();
        // 22:30–23:30 UTC on 5 March is 23:30–00:30 in Berlin (CET).
        let plays = [
            play(&mut s, "2024-03-05T23:30:00Z", 60 * MIN, "A", "t"),
            play(&mut s, "2024-03-08T12:00:00Z", 10 * MIN, "A", "t"),
        ];
        let ot = over_time(&Stats::build(&plays, berlin()));
        assert_eq!(
            labels(&ot.days),
            ["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
        );
        let ms: Vec<u64> = ot.days.iter().map(|p| p.ms_played).collect();
        assert_eq!(ms, [30 * MIN, 30 * MIN, 0, 10 * MIN]);
        let n: Vec<u64> = ot.days.iter().map(|p| p.plays).collect();
        assert_eq!(n, [0, 1, 0, 1], "a play counts on the day it ended");
        assert_eq!(labels(&ot.months), ["2024-03"]);
        assert_eq!((ot.months[0].ms_played, ot.months[0].plays), (70 * MIN, 2));
        let cal = calendar(&Stats::build(&plays, berlin()));
        assert_eq!((cal.days.len(), cal.max_ms_played), (4, 30 * MIN));
    }

    #[test]
    fn a_stream_across_the_spring_change_keeps_all_its_time_in_the_matrix() {
        let mut s = Strings::default();
        // 00:30–01:30 UTC on 31 March 2024 is 01:30 CET → 03:30 CEST in Berlin (a Sunday).
        let p = play(&mut s, "2024-03-31T01:30:00Z", 60 * MIN, "A", "t");
        let hw = hour_weekday(&Stats::build(&[p], berlin()));
        assert_eq!(hw.ms_played.iter().flatten().sum::<u64>(), 60 * MIN);
        assert_eq!(
            (hw.ms_played[6][1], hw.ms_played[6][2], hw.ms_played[6][3]),
            (30 * MIN, 0, 30 * MIN)
        );
        assert_eq!(hw.plays[6][3], 1);
        let busiest = hw.busiest.unwrap();
        assert_eq!(
            (busiest.weekday, busiest.hour),
            ("Sun", 1),
            "earliest on ties"
        );
        assert_eq!((hw.weekdays[0], hw.hours[23]), ("Mon", "23"));
    }

    #[test]
    fn weeks_start_on_monday_and_are_labelled_by_it() {
        let mut s = Strings::default();
        let plays = [
            play(&mut s, "2024-03-03T10:00:00Z", MIN, "A", "t"), // Sunday
            play(&mut s, "2024-03-04T10:00:00Z", MIN, "A", "t"), // Monday
            play(&mut s, "2024-03-10T10:00:00Z", MIN, "A", "t"), // Sunday
        ];
        let ot = over_time(&Stats::build(&plays, Settings::default()));
        assert_eq!(labels(&ot.weeks), ["2024-02-26", "2024-03-04"]);
        let n: Vec<u64> = ot.weeks.iter().map(|p| p.plays).collect();
        assert_eq!(n, [1, 2]);
        assert_eq!(ot.days.len(), 8);
    }

    #[test]
    fn ranking_pages_carry_overall_ranks_and_the_last_page_is_partial() {
        let mut s = Strings::default();
        let plays: Vec<Play> = (0..25u64)
            .map(|i| {
                let end = format!("2024-01-{:02}T10:00:00Z", i + 1);
                play(&mut s, &end, (i + 1) * MIN, &format!("a{i:02}"), "t")
            })
            .collect();
        let st = Stats::build(&plays, Settings::default());
        let r = ranking(&st, &s, EntityKind::Artist, RankBy::Time, 2, 10);
        assert_eq!((r.page, r.pages, r.total, r.entries.len()), (2, 3, 25, 10));
        let ranks: Vec<usize> = r.entries.iter().map(|e| e.rank).collect();
        assert_eq!(ranks, (11..=20).collect::<Vec<_>>());
        assert_eq!(r.entries[0].name, "a14");
        assert_eq!(r.entries[0].ms_played, 15 * MIN);
        let last = ranking(&st, &s, EntityKind::Artist, RankBy::Time, 3, 10);
        assert_eq!(last.entries.len(), 5);
        assert_eq!(
            (
                last.entries[0].rank,
                last.entries[4].rank,
                &*last.entries[4].name
            ),
            (21, 25, "a00")
        );
        let past = ranking(&st, &s, EntityKind::Artist, RankBy::Time, 9, 10);
        assert_eq!((past.page, past.entries[0].rank), (3, 21));
        let first = ranking(&st, &s, EntityKind::Artist, RankBy::Plays, 0, 0);
        assert_eq!((first.page, first.per_page, first.pages), (1, 1, 25));
        let empty = ranking(
            &Stats::build(&[], Settings::default()),
            &s,
            EntityKind::Artist,
            RankBy::Time,
            2,
            10,
        );
        assert_eq!((empty.page, empty.pages, empty.total), (1, 0, 0));
        assert!(empty.entries.is_empty());
    }

    #[test]
    fn discoveries_count_only_first_ever_listens_inside_the_range() {
        let mut s = Strings::default();
        let all_plays = [
            play(&mut s, "2024-01-05T10:00:00Z", 5 * MIN, "A", "a1"),
            play(&mut s, "2024-02-03T10:00:00Z", 5 * MIN, "D", "d1"),
            // The range starts on 10 February.
            play(&mut s, "2024-02-12T10:00:00Z", 5 * MIN, "A", "a1"),
            play(&mut s, "2024-02-15T10:00:00Z", 10 * MIN, "B", "b1"),
            play(&mut s, "2024-02-20T10:00:00Z", 5 * MIN, "D", "d1"),
            play(&mut s, "2024-03-02T10:00:00Z", 20 * MIN, "C", "c1"),
        ];
        let all = Stats::build(&all_plays, berlin());
        let range = Stats::build(&all_plays[2..], berlin());
        let d = discoveries(&range, &schema::aggregate::first_heard(&all_plays), &s);
        let months: Vec<(&str, u64, u64)> = d
            .months
            .iter()
            .map(|m| (m.month.as_str(), m.new_artists, m.new_tracks))
            .collect();
        // D was first heard on 3 February, before the range: known, though in its first month.
        assert_eq!(months, [("2024-02", 1, 1), ("2024-03", 1, 1)]);
        assert_eq!(
            all.discoveries(EntityKind::Artist)[&Month(2024 * 12 + 1)],
            2
        );
        assert_eq!((d.new_artists, d.new_tracks), (2, 2));
        assert_eq!(d.new_artists_total.ms_played, 30 * MIN);
        assert_eq!(d.known_artists_total.ms_played, 10 * MIN);
        assert_eq!(d.new_share_of_time, Some(0.75));
        assert_eq!(d.new_share_of_plays, Some(0.5));
        let top: Vec<&str> = d.top_new_artists.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(top, ["C", "B"]);
    }

    #[test]
    fn skip_rates_by_hour_artist_and_seconds() {
        let mut s = Strings::default();
        let mut plays = Vec::new();
        for (i, skipped) in [true, false, false, false].into_iter().enumerate() {
            let mut p = play(
                &mut s,
                &format!("2024-01-01T10:{:02}:00Z", i * 10 + 5),
                MIN,
                "A",
                "t",
            );
            p.skipped = Some(skipped);
            if skipped {
                p.ms_played = 5_500;
            }
            plays.push(p);
        }
        let mut late = play(&mut s, "2024-01-01T22:00:00Z", 90 * MIN, "B", "u");
        late.skipped = Some(true);
        plays.push(late);
        let mut unknown = play(&mut s, "2024-01-02T22:00:00Z", MIN, "B", "u");
        unknown.skipped = None;
        plays.push(unknown);
        let sk = skips(&Stats::build(&plays, Settings::default()), &s);
        assert_eq!(sk.by_hour.len(), 24);
        assert_eq!(sk.by_hour[10].skip_rate, Some(0.25));
        assert_eq!(
            (sk.by_hour[22].streams, sk.by_hour[22].skips),
            (2, 1),
            "the unrecorded stream counts as not skipped"
        );
        assert_eq!(sk.by_hour[3].skip_rate, None);
        assert_eq!(sk.skipped.share, Some(2.0 / 5.0));
        assert_eq!(sk.skipped.unknown, 1);
        assert_eq!(sk.seconds_before_skip.len(), 61);
        assert_eq!(sk.seconds_before_skip[5].skips, 1);
        assert_eq!(
            (
                &*sk.seconds_before_skip[60].label,
                sk.seconds_before_skip[60].skips
            ),
            ("60+", 1)
        );
        assert_eq!(sk.shuffle.share, Some(1.0));
        assert_eq!(sk.offline.share, None);
        assert_eq!(sk.by_platform.len(), 1);
        assert_eq!(sk.by_platform[0].label, "phone");
        assert!(sk.by_artist.is_empty(), "nobody has 20 streams");
        assert_eq!(sk.reasons_start[0].reason, None);
        assert_eq!(sk.reasons_start[0].share, Some(1.0));

        // Twenty streams with four skips qualify; nineteen do not.
        let mut many = Vec::new();
        for i in 0..39 {
            let (artist, n) = if i < 20 { ("A", i) } else { ("B", i - 20) };
            let mut p = play(
                &mut s,
                &format!("2024-02-01T{:02}:00:00Z", n),
                MIN,
                artist,
                "t",
            );
            p.skipped = Some(artist == "A" && n < 4);
            many.push(p);
        }
        let sk = skips(&Stats::build(&many, Settings::default()), &s);
        assert_eq!(sk.by_artist.len(), 1);
        assert_eq!(
            (&*sk.by_artist[0].label, sk.by_artist[0].skip_rate),
            ("A", Some(0.2))
        );

        // Most skipped first: B, with 20 streams, all skipped, goes ahead of A's 20 %.
        for i in 0..20 {
            let mut p = play(&mut s, &format!("2024-02-02T{i:02}:00:00Z"), MIN, "B", "t");
            p.skipped = Some(true);
            many.push(p);
        }
        let sk = skips(&Stats::build(&many, Settings::default()), &s);
        let order: Vec<&str> = sk.by_artist.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(order, ["B", "A"], "sorted by the rate shown");
        many.truncate(39);

        // Without any recorded skip state, no rate is claimed.
        for p in &mut many {
            p.skipped = None;
        }
        let sk = skips(&Stats::build(&many, Settings::default()), &s);
        assert_eq!(sk.by_artist[0].skip_rate, None);
        assert!(sk.by_hour.iter().all(|r| r.skip_rate.is_none()));
    }

    #[test]
    fn six_repeats_are_a_loop_and_four_are_not() {
        let mut s = Strings::default();
        let mut plays = Vec::new();
        let mut t = at("2024-05-01T10:00:00Z");
        let mut next = |s: &mut Strings, artist: &str, track: &str, pause: i64| {
            t += pause + 3 * MIN as i64;
            let mut p = play(s, "2024-05-01T10:00:00Z", 3 * MIN, artist, track);
            p.end_ms = t;
            p
        };
        for _ in 0..6 {
            plays.push(next(&mut s, "A", "again", 0));
        }
        plays.push(next(&mut s, "A", "other", 0));
        for _ in 0..4 {
            plays.push(next(&mut s, "B", "four", 0));
        }
        // Five, but a two-hour pause splits them into two sessions.
        for i in 0..5 {
            let pause = if i == 2 { 120 * MIN as i64 } else { 0 };
            plays.push(next(&mut s, "C", "split", pause));
        }
        // Same title by another artist does not continue a loop.
        for artist in ["D", "E", "D", "E", "D"] {
            plays.push(next(&mut s, artist, "same", 0));
        }
        plays.reverse(); // any order
        let gap = Settings::default().session_gap_ms;
        let found = loops(&plays, &s, gap);
        assert_eq!(found.len(), 1, "{found:?}");
        let l = &found[0];
        assert_eq!(
            (&*l.track, l.artist.as_deref(), l.repeats, l.ms_played),
            ("again", Some("A"), 6, 18 * MIN)
        );
        assert_eq!(
            (&*l.start, &*l.end),
            ("2024-05-01T10:00:00Z", "2024-05-01T10:18:00Z")
        );
        let list = schema::aggregate::sessions(&plays, gap);
        let sessions = sessions(&list, &found);
        assert_eq!(sessions.count, 2);
        assert!(sessions.longest[0].has_loop);
        assert!(!sessions.longest[1].has_loop);
        let json = serde_json::to_value(&sessions.longest[0]).unwrap();
        assert_eq!(json["loop"], true);
    }

    #[test]
    fn the_recap_names_the_top_artist_and_the_new_ones() {
        let mut s = Strings::default();
        let all_plays = [
            play(&mut s, "2022-06-01T10:00:00Z", 10 * MIN, "A", "a0"),
            play(&mut s, "2023-02-01T10:00:00Z", 30 * MIN, "A", "a1"),
            play(&mut s, "2023-03-01T10:00:00Z", 20 * MIN, "A", "a2"),
            play(&mut s, "2023-05-01T10:00:00Z", 15 * MIN, "B", "b1"),
            play(&mut s, "2023-05-02T10:00:00Z", 5 * MIN, "C", "c1"),
        ];
        let all = Stats::build(&all_plays, berlin());
        let year = Stats::build(&all_plays[1..], berlin());
        let r = recap(&year, &all, &s, 2023);
        assert_eq!(r.total.ms_played, 70 * MIN);
        assert_eq!((r.top_artists[0].name.as_str(), r.days_listened), ("A", 4));
        assert_eq!(r.top_artist_share, Some(50.0 / 70.0));
        assert_eq!(r.new_artists, 2);
        let new: Vec<&str> = r.top_new_artists.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(new, ["B", "C"]);
        assert_eq!(r.busiest_month.as_ref().unwrap().month, "2023-02");
        assert_eq!(r.busiest_weekday.as_ref().unwrap().label, "Wed"); // 1 February 2023
        assert_eq!(r.busiest_hour.as_ref().unwrap().label, "10"); // 09:30–11:00 local
        assert_eq!(r.longest_streak.as_ref().unwrap().days, 2);
        let first = r.first_stream.as_ref().unwrap();
        assert_eq!(
            (&*first.at, first.name.as_deref(), first.by.as_deref()),
            ("2023-02-01T10:00:00Z", Some("a1"), Some("A"))
        );
        assert_eq!(r.previous_year_ms_played, Some(10 * MIN));
        assert_eq!(r.change_from_previous_year, Some(6.0));
        assert_eq!(r.top_tracks.len(), 4);
        assert!(r.top_shows.is_empty());
    }

    #[test]
    fn the_artist_drill_down_shares_sum_to_one_and_names_each_blocks_track() {
        let mut s = Strings::default();
        let range_plays = [
            play(&mut s, "2024-03-04T08:00:00Z", 3 * MIN, "X", "x1"), // Monday
            play(&mut s, "2024-03-04T09:00:00Z", 3 * MIN, "X", "x1"),
            play(&mut s, "2024-03-04T10:00:00Z", 4 * MIN, "X", "x2"),
            play(&mut s, "2024-03-04T20:00:00Z", 3 * MIN, "X", "x2"),
            // Tuesday 11:58–12:02: two minutes in each block, the play in the afternoon.
            play(&mut s, "2024-03-05T12:02:00Z", 4 * MIN, "X", "x3"),
            play(&mut s, "2024-03-05T18:00:00Z", 100 * MIN, "Y", "y1"),
        ];
        let mut all_plays = vec![
            play(&mut s, "2023-06-01T10:00:00Z", 5 * MIN, "X", "x1"),
            play(&mut s, "2023-06-02T10:00:00Z", 2 * MIN, "Z", "z1"),
        ];
        all_plays.extend(range_plays);
        let all = Stats::build(&all_plays, Settings::default());
        let v = artist("X", &range_plays, &all_plays, &all, &s, Tz::UTC);
        assert_eq!((v.range.ms_played, v.range.plays), (17 * MIN, 5));
        assert_eq!((v.all_time.ms_played, v.all_time.plays), (22 * MIN, 6));
        for grid in [&v.range_blocks, &v.all_time_blocks] {
            let sum: f64 = grid.share.iter().flatten().map(|x| x.unwrap()).sum();
            assert!((sum - 1.0).abs() < 1e-12, "{sum}");
        }
        assert_eq!(v.range_blocks.ms_played[1][1], 2 * MIN);
        assert_eq!(v.range_blocks.ms_played[1][2], 2 * MIN);
        assert_eq!(
            (v.range_blocks.plays[1][1], v.range_blocks.plays[1][2]),
            (0, 1)
        );
        let top = |w: usize, b: usize| v.range_block_tracks[w][b].as_ref().map(|t| t.name.as_str());
        assert_eq!(top(0, 1), Some("x1"), "two plays beat one longer play");
        assert_eq!(top(0, 3), Some("x2"));
        assert_eq!((top(1, 1), top(1, 2)), (Some("x3"), Some("x3")));
        assert_eq!(top(2, 0), None);
        assert_eq!(v.range_block_tracks[0][1].as_ref().unwrap().plays, 2);
        assert_eq!(v.top_tracks[0].name, "x2");
        assert_eq!(v.first_listen.as_deref(), Some("2023-06-01T10:00:00Z"));
        assert_eq!(v.last_listen.as_deref(), Some("2024-03-05T12:02:00Z"));
        let ranks: Vec<(i32, usize, usize)> = v
            .year_ranks
            .iter()
            .map(|r| (r.year, r.rank, r.of))
            .collect();
        assert_eq!(ranks, [(2023, 1, 2), (2024, 2, 2)]);
        // The same positions as the full yearly rankings.
        let per_year = all.top_per_year(EntityKind::Artist, RankBy::Time, &s, usize::MAX);
        for r in &v.year_ranks {
            let pos = per_year[&r.year]
                .iter()
                .position(|(e, _)| s.get(e.name) == "X")
                .unwrap();
            assert_eq!(pos + 1, r.rank);
        }
        let by_year: Vec<(i32, Vec<&str>)> = v
            .top_tracks_by_year
            .iter()
            .map(|y| (y.year, y.tracks.iter().map(|t| t.name.as_str()).collect()))
            .collect();
        assert_eq!(
            by_year,
            [(2023, vec!["x1"]), (2024, vec!["x2", "x1", "x3"])]
        );

        let nobody = artist("Nobody", &range_plays, &all_plays, &all, &s, Tz::UTC);
        assert_eq!(nobody.all_time, Totals::default());
        assert!(
            nobody
                .range_blocks
                .share
                .iter()
                .flatten()
                .all(Option::is_none)
        );
        assert!(nobody.year_ranks.is_empty() && nobody.first_listen.is_none());
    }

    #[test]
    fn platforms_countries_and_ridges_cover_every_month() {
        let mut s = Strings::default();
        let mut a = play(&mut s, "2024-01-31T10:00:00Z", 30 * MIN, "A", "t");
        a.platform = Platform::Desktop;
        let mut b = play(&mut s, "2024-03-02T10:00:00Z", 10 * MIN, "A", "t");
        b.country = Country::parse("de");
        let st = Stats::build(&[a, b], Settings::default());
        let p = platforms(&st);
        assert_eq!(p.months, ["2024-01", "2024-02", "2024-03"]);
        let names: Vec<&str> = p.totals.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["desktop", "phone"]);
        assert_eq!(p.totals[0].share, Some(0.75));
        assert_eq!(p.series[1].ms_played, [0, 0, 10 * MIN]);
        let c = countries(&st);
        let names: Vec<&str> = c.totals.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["SE", "DE"]);
        let r = ridgeline(&st);
        let months: Vec<(&str, u32)> = r
            .ridges
            .iter()
            .map(|r| (r.month.as_str(), r.days_in_month))
            .collect();
        assert_eq!(months, [("2024-01", 31), ("2024-02", 29), ("2024-03", 31)]);
        assert_eq!(
            (r.ridges[0].ms_played[30], r.ridges[2].ms_played[1]),
            (30 * MIN, 10 * MIN)
        );
        assert_eq!(r.max_ms_played, 30 * MIN);
    }

    #[test]
    fn an_empty_range_gives_zeros_and_nulls_never_nan() {
        let s = Strings::default();
        let empty = Stats::build(&[], berlin());
        let o = overview(&empty);
        assert_eq!(
            (o.total, o.artists, o.days_listened),
            (Totals::default(), 0, 0)
        );
        assert!(o.longest_streak.is_none() && o.first_stream.is_none());
        let d = discoveries(&empty, &FirstHeard::default(), &s);
        assert!(d.months.is_empty());
        assert_eq!((d.new_share_of_time, d.new_share_of_plays), (None, None));
        let sk = skips(&empty, &s);
        assert_eq!(sk.skipped.share, None);
        assert!(sk.by_hour.iter().all(|r| r.skip_rate.is_none()));
        let r = recap(&empty, &empty, &s, 2024);
        assert!(r.busiest_hour.is_none() && r.top_artist_share.is_none());
        assert!(hour_weekday(&empty).busiest.is_none());
        assert!(sessions(&[], &[]).mean_ms_played.is_none());
        let json = serde_json::json!({
            "overview": o,
            "over_time": over_time(&empty),
            "calendar": calendar(&empty),
            "hour_weekday": hour_weekday(&empty),
            "tops": tops(&empty, &s, RankBy::Plays, 10),
            "discoveries": d,
            "streaks": streaks(&empty),
            "sessions": sessions(&[], &loops(&[], &s, 1)),
            "skips": sk,
            "platforms": platforms(&empty),
            "countries": countries(&empty),
            "recap": r,
            "artist": artist("x", &[], &[], &empty, &s, Tz::UTC),
            "ridgeline": ridgeline(&empty),
        });
        let text = json.to_string();
        assert!(!text.contains("NaN"), "{text}");
        assert_eq!(
            json["discoveries"]["new_share_of_time"],
            serde_json::Value::Null
        );
        assert_eq!(json["tops"]["by"], "plays");
    }
}
