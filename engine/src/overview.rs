//! The overview of a selection in a range: totals, days, distinct artists and tracks, months
//! and top lists. `/api/v1/stats` returns it, and its numbers are the dashboard's own headline
//! numbers ([`crate::panels::overview`]), read off the same range stats: one code path.

use std::collections::BTreeMap;

use schema::aggregate::Month;
use schema::{Cell, EntityKind, RankBy, Settings, Stats, Strings};
use serde::Serialize;

use crate::selection::{Content, DayRange, Prepared};

/// Time and counts of a bucket.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Totals {
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Streams of any length.
    pub streams: u64,
    /// Streams of at least the play threshold.
    pub plays: u64,
    /// Streams marked skipped.
    pub skips: u64,
}

impl From<Cell> for Totals {
    fn from(c: Cell) -> Self {
        Totals {
            ms_played: c.ms,
            streams: c.streams,
            plays: c.plays,
            skips: c.skips,
        }
    }
}

/// One entry of a top list.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RankedView {
    /// Name of the artist, track, album or show.
    pub name: String,
    /// The artist or show it belongs to (tracks, albums, episodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub by: Option<String>,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
}

/// One month of the listening-over-time series.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MonthView {
    /// `YYYY-MM`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
}

/// The overview of a selection in a range.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct StatsView {
    /// The uploads merged.
    pub uploads: Vec<String>,
    /// First day shown (`YYYY-MM-DD`), when limited.
    #[schema(required = true, format = Date)]
    pub from: Option<String>,
    /// Last day shown, when limited.
    #[schema(required = true, format = Date)]
    pub to: Option<String>,
    /// Time zone of days and months.
    pub tz: String,
    /// Shortest stream counted as a play, in seconds.
    pub min_play_seconds: u64,
    /// Everything in the range (time split across days at midnight).
    pub total: Totals,
    /// Days with any listening in the range.
    pub days_listened: usize,
    /// Longest run of consecutive days with listening in the range.
    #[schema(minimum = 0)]
    pub longest_streak_days: i32,
    /// Distinct artists heard in the range.
    pub distinct_artists: usize,
    /// Distinct tracks heard in the range.
    pub distinct_tracks: usize,
    /// Earliest and latest local day with listening in the range.
    #[schema(required = true, format = Date)]
    pub first_day: Option<String>,
    /// Latest local day with listening in the range.
    #[schema(required = true, format = Date)]
    pub last_day: Option<String>,
    /// Listening per month.
    pub by_month: Vec<MonthView>,
    /// Top artists by listening time in the range.
    pub top_artists: Vec<RankedView>,
    /// Top tracks by listening time in the range.
    pub top_tracks: Vec<RankedView>,
}

impl StatsView {
    /// The overview of `range` (local days, both ends included) in `selection`, the uploads
    /// `uploads` of a user whose settings are `settings` (`tz` as they named it).
    pub fn of(
        uploads: Vec<String>,
        tz: &str,
        settings: Settings,
        selection: Option<&Prepared>,
        range: DayRange,
    ) -> StatsView {
        let mut view = StatsView {
            uploads,
            from: range.0.map(|d| d.label()),
            to: range.1.map(|d| d.label()),
            tz: tz.to_string(),
            min_play_seconds: u64::from(crate::selection::play_threshold_seconds(
                i64::try_from(settings.min_play_ms).unwrap_or(i64::MAX),
            )),
            total: Totals::default(),
            days_listened: 0,
            longest_streak_days: 0,
            distinct_artists: 0,
            distinct_tracks: 0,
            first_day: None,
            last_day: None,
            by_month: Vec::new(),
            top_artists: Vec::new(),
            top_tracks: Vec::new(),
        };
        if let Some(p) = selection {
            fill(&mut view, &p.stats(Content::All, range), &p.strings);
        }
        view
    }
}

/// The overview of the stats of a range (built from the streams that ended in it): the
/// dashboard's own headline numbers (`panels::overview`), its months and its top lists.
fn fill(view: &mut StatsView, s: &Stats, strings: &Strings) {
    let overview = crate::panels::overview(s);
    view.total = overview.total;
    view.days_listened = overview.days_listened;
    view.longest_streak_days = overview.longest_streak.map_or(0, |st| st.days);
    view.distinct_artists = overview.artists;
    view.distinct_tracks = overview.tracks;
    let mut months: BTreeMap<Month, Cell> = BTreeMap::new();
    for (&day, c) in &s.by_day {
        add(months.entry(day.month()).or_default(), c);
        if c.ms > 0 || c.streams > 0 {
            view.first_day.get_or_insert_with(|| day.label());
            view.last_day = Some(day.label());
        }
    }
    view.by_month = months
        .into_iter()
        .map(|(m, c)| MonthView {
            month: m.label(),
            ms_played: c.ms,
            plays: c.plays,
        })
        .collect();
    let ranked = |kind| {
        s.top(kind, RankBy::Time, None, strings, 10)
            .into_iter()
            .map(|(e, c)| RankedView {
                name: strings.get(e.name).to_string(),
                by: e.owner.is_some().then(|| strings.get(e.owner).to_string()),
                ms_played: c.ms,
                plays: c.plays,
            })
            .collect()
    };
    view.top_artists = ranked(EntityKind::Artist);
    view.top_tracks = ranked(EntityKind::Track);
}

fn add(into: &mut Cell, c: &Cell) {
    into.ms += c.ms;
    into.streams += c.streams;
    into.plays += c.plays;
    into.skips += c.skips;
}
