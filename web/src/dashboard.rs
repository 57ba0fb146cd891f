//! The overview for a selection of uploads and a date range (`/api/v1/stats`), read off the
//! same prepared selection and range stats as the dashboards (`crate::dash`): the streams that
//! ended in the range, each once, so the two never disagree.

use std::collections::BTreeMap;

use schema::aggregate::{Day, Month};
use schema::{Cell, EntityKind, RankBy, Stats, Strings};
use serde::{Deserialize, Serialize};
use storage::users::User;

use crate::AppState;
use crate::error::AppError;

/// What to show: which uploads (all ready ones when empty) and which local days.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsQuery {
    /// Upload ids.
    #[serde(default)]
    pub uploads: Vec<String>,
    /// First day, `YYYY-MM-DD` in the user's time zone (inclusive).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
}

/// Time and counts of a bucket.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RankedView {
    /// Name of the artist, track, album or show.
    pub name: String,
    /// The artist or show it belongs to (tracks, albums, episodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
}

/// One month of the listening-over-time series.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MonthView {
    /// `YYYY-MM`.
    pub month: String,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
}

/// The overview of a selection in a range.
#[derive(Debug, Clone, Serialize)]
pub struct StatsView {
    /// The uploads merged.
    pub uploads: Vec<String>,
    /// First day shown (`YYYY-MM-DD`), when limited.
    pub from: Option<String>,
    /// Last day shown, when limited.
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
    pub longest_streak_days: i32,
    /// Distinct artists heard in the range.
    pub distinct_artists: usize,
    /// Distinct tracks heard in the range.
    pub distinct_tracks: usize,
    /// Earliest and latest local day with listening in the range.
    pub first_day: Option<String>,
    /// Latest local day with listening in the range.
    pub last_day: Option<String>,
    /// Listening per month.
    pub by_month: Vec<MonthView>,
    /// Top artists by listening time in the range.
    pub top_artists: Vec<RankedView>,
    /// Top tracks by listening time in the range.
    pub top_tracks: Vec<RankedView>,
}

/// A `YYYY-MM-DD` day: RFC 3339's full-date, which the API document calls `format: date`, so
/// any four-digit year (a range reaching far past the history simply holds nothing).
pub fn parse_day(s: &str, what: &str) -> Result<Day, AppError> {
    let bad = || {
        AppError::BadRequest(format!(
            "“{what}” must be a date like 2024-01-31, got “{s}”."
        ))
    };
    let digits = |part: &str, n: usize| -> Result<u32, AppError> {
        if part.len() == n && part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let mut it = s.trim().splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let (y, m, d) = (digits(y, 4)?, digits(m, 2)?, digits(d, 2)?);
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return Err(bad());
    }
    let day = Day(schema::time::days_from_civil(i64::from(y), m, d) as i32);
    if day.ymd() != (y as i32, m, d) {
        return Err(bad());
    }
    Ok(day)
}

/// Builds the overview of `query` for `user`.
pub async fn stats(
    state: &AppState,
    user: &User,
    query: &StatsQuery,
) -> Result<StatsView, AppError> {
    let chosen = crate::actions::selection(state, user, &query.uploads).await?;
    let from = query
        .from
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| parse_day(s, "from"))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| parse_day(s, "to"))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::BadRequest("“from” is after “to”.".into()));
    }
    let ids: Vec<String> = chosen.iter().map(|u| u.id.clone()).collect();
    let mut view = StatsView {
        uploads: ids.clone(),
        from: from.map(Day::label),
        to: to.map(Day::label),
        tz: user.tz.clone(),
        min_play_seconds: (user.min_play_ms.max(0) / 1000) as u64,
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
    if ids.is_empty() {
        return Ok(view);
    }
    // The same prepared selection and range stats the dashboards read: one code path.
    let prepared = state.dash().get(state, user, &ids).await?;
    let range = prepared.stats(crate::dash::Content::All, (from, to));
    fill(&mut view, &range, &prepared.strings);
    Ok(view)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_parsed_strictly_with_a_message_naming_the_parameter() {
        for good in ["2024-02-29", "0001-01-01", "5112-08-25", "9999-12-31"] {
            assert_eq!(parse_day(good, "from").unwrap().label(), good);
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01x",
            "yesterday",
            "2024-01",
            "24-01-01",
            "2024-1-05",
            "+2024-01-01",
            "12024-01-01",
        ] {
            let e = parse_day(bad, "from").unwrap_err().message();
            assert!(e.contains("“from”") && e.contains(bad), "{e}");
        }
    }
}
