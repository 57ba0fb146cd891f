//! A user's selection of uploads, prepared for the dashboards: every stream that counts for
//! the selection (each once, by the region rule of [`crate::regions`] as
//! [`schema::Artifact::select`] applies it), sorted by time, with each stream's local day; and
//! the [`Stats`] of any range and content kind, built on first use and kept. Also the ranges
//! the controls offer ([`RangeChoice`]) and the parsing of a day.
//!
//! Pure: the web tier reads the user's artifact and hands its streams here; the worker does the
//! same when it finishes views ahead of time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use schema::aggregate::{Day, FirstHeard};
use schema::{EntityKind, Kind, Play, Settings, Stats, Strings};

use crate::BadInput;

/// Which content a view counts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Content {
    /// Everything (time totals include rows without metadata).
    #[default]
    All,
    /// Music tracks.
    Music,
    /// Podcast episodes.
    Podcasts,
    /// Audiobook chapters.
    Audiobooks,
}

impl Content {
    /// Whether a play of `kind` belongs.
    pub fn admits(self, kind: Kind) -> bool {
        match self {
            Content::All => true,
            Content::Music => kind == Kind::Track,
            Content::Podcasts => kind == Kind::Episode,
            Content::Audiobooks => kind == Kind::Audiobook,
        }
    }

    /// Parses `all`, `music`, `podcasts`, `audiobooks`.
    pub fn parse(s: &str) -> Option<Content> {
        Some(match s {
            "" | "all" => Content::All,
            "music" => Content::Music,
            "podcasts" => Content::Podcasts,
            "audiobooks" => Content::Audiobooks,
            _ => return None,
        })
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Content::All => "all",
            Content::Music => "music",
            Content::Podcasts => "podcasts",
            Content::Audiobooks => "audiobooks",
        }
    }
}

/// Inclusive local days; `None` ends are open.
pub type DayRange = (Option<Day>, Option<Day>);

/// The streams of one selection, and the stats built from them so far.
#[derive(Debug)]
pub struct Prepared {
    /// Names the plays refer to.
    pub strings: Strings,
    /// Every stream counting for the selection, by end time.
    pub plays: Vec<Play>,
    /// The local day each play ended on (same order; never decreasing).
    pub days: Vec<i32>,
    /// Time zone, threshold and session gap in force.
    pub settings: Settings,
    stats: Mutex<HashMap<RangeKey, Arc<Stats>>>,
    first_heard: Mutex<HashMap<Content, Arc<FirstHeard>>>,
    memo: Mutex<HashMap<String, Arc<dyn std::any::Any + Send + Sync>>>,
    /// For a selection prepared for some days only ([`Prepared::window`]): those days, and the
    /// first and last day of the whole selection.
    window: Option<(Days, Option<Days>)>,
}

/// A first and a last local day.
type Days = (Day, Day);

/// A content kind and the local day numbers of a range's ends.
type RangeKey = (Content, Option<i32>, Option<i32>);

/// Ranges (and computed views) kept per selection before they are dropped: with rendered
/// dashboards of up to ~0.3 MB each, a selection's memo stays under ~25 MB.
const RANGES_KEPT: usize = 64;

impl Prepared {
    /// Prepares `plays` (any order) for `settings`.
    pub fn new(mut plays: Vec<Play>, strings: Strings, settings: Settings) -> Prepared {
        plays.sort_by_key(|p| p.end_ms);
        let mut clock = schema::aggregate::LocalClock::new(settings.tz);
        let days = plays.iter().map(|p| clock.day_hour(p.end_ms).0.0).collect();
        Prepared {
            strings,
            plays,
            days,
            settings,
            stats: Mutex::new(HashMap::new()),
            first_heard: Mutex::new(HashMap::new()),
            memo: Mutex::new(HashMap::new()),
            window: None,
        }
    }

    /// Every upload's streams prepared for the local days `days` only, from the streams of an
    /// artifact that ended around them ([`schema::artifact::Window`], which must reach a day
    /// past each end, so that every stream ending on those days in any time zone is in it):
    /// what a view of those days reads, without the rest of the history.
    ///
    /// Only for the selection of every upload of the artifact with nothing hidden: the
    /// window's first-ever bits and span are of that selection. What a view of the days needs
    /// of all time comes from them: when each artist and track was first heard (an artist or
    /// track of the window whose first stream ever is not in it was first heard before it),
    /// and the first and last day of the whole selection ([`Prepared::span`]).
    pub fn window(w: schema::artifact::Window, days: (Day, Day), settings: Settings) -> Prepared {
        let all = w.uploads();
        let counts: Vec<bool> = w
            .regions
            .iter()
            .map(|r| schema::artifact::region_counts_for(r, &all))
            .collect();
        let mut first = FirstHeard::default();
        let mut plays = Vec::with_capacity(w.plays.len());
        for ((p, &r), &bits) in w.plays.iter().zip(&w.regions_of).zip(&w.firsts) {
            if !counts[r as usize] {
                continue;
            }
            schema::Entity::of(p, |e| {
                let first_here = match e.kind {
                    EntityKind::Artist => bits & schema::artifact::FIRST_ARTIST != 0,
                    EntityKind::Track => bits & schema::artifact::FIRST_TRACK != 0,
                    _ => return,
                };
                let when = first.entry(e).or_insert(i64::MIN);
                if first_here {
                    *when = p.end_ms;
                }
            });
            plays.push(*p);
        }
        let mut clock = schema::aggregate::LocalClock::new(settings.tz);
        let span = w
            .span
            .map(|(a, b)| (clock.day_hour(a).0, clock.day_hour(b).0));
        let mut prepared = Prepared::new(plays, w.strings, settings);
        prepared.window = Some((days, span));
        let first = Arc::new(first);
        let mut kept = prepared.first_heard.lock().expect("first heard lock");
        for c in [
            Content::All,
            Content::Music,
            Content::Podcasts,
            Content::Audiobooks,
        ] {
            kept.insert(c, first.clone());
        }
        drop(kept);
        prepared
    }

    /// Whether the selection can answer for `range`: always, but for one prepared for some
    /// days only ([`Prepared::window`]), which answers for a range within them.
    pub fn covers(&self, range: DayRange) -> bool {
        match self.window {
            None => true,
            Some(((a, b), _)) => range.0.is_some_and(|f| f >= a) && range.1.is_some_and(|t| t <= b),
        }
    }

    /// About how many bytes the selection holds: its plays, days and names, and an allowance
    /// for the stats and views it keeps (stats are tables keyed by the names they count, so
    /// twice the names; the views are rendered pages, a few MB in all, or for a selection
    /// prepared for some days only, which serves the dashboard of those days, one).
    pub fn bytes(&self) -> usize {
        self.plays.capacity() * std::mem::size_of::<Play>()
            + self.days.capacity() * 4
            + 3 * self.strings.bytes()
            + if self.window.is_some() {
                1 << 20
            } else {
                4 << 20
            }
    }

    /// The plays that ended on the local days of `range` (which, for a selection prepared for
    /// some days only, lie within them: [`Prepared::covers`]).
    pub fn slice(&self, range: DayRange) -> &[Play] {
        debug_assert!(
            self.covers(range),
            "a range the prepared window does not cover"
        );
        let lo = range
            .0
            .map_or(0, |d| self.days.partition_point(|&x| x < d.0));
        let hi = range.1.map_or(self.days.len(), |d| {
            self.days.partition_point(|&x| x <= d.0)
        });
        &self.plays[lo..hi.max(lo)]
    }

    /// The first and last local day with a stream (of the whole selection, also when it was
    /// prepared for some days only).
    pub fn span(&self) -> Option<(Day, Day)> {
        if let Some((_, span)) = self.window {
            return span;
        }
        Some((Day(*self.days.first()?), Day(*self.days.last()?)))
    }

    /// What `f` computes from this selection, computed once per `key` and kept (views and
    /// rendered pages: the same question asked again is answered from memory).
    pub fn memo<T: Send + Sync + 'static>(&self, key: String, f: impl FnOnce() -> T) -> Arc<T> {
        if let Some(v) = self.memo.lock().expect("memo lock").get(&key)
            && let Ok(v) = v.clone().downcast::<T>()
        {
            return v;
        }
        let v = Arc::new(f());
        let mut kept = self.memo.lock().expect("memo lock");
        if kept.len() >= RANGES_KEPT {
            kept.clear();
        }
        kept.insert(key, v.clone());
        v
    }

    /// When each artist and track of one content kind was first heard in the whole selection
    /// (what a range's discoveries judge against), built once and kept: one pass over the
    /// streams, where the all-time stats would cost a view of another range several times more.
    pub fn first_heard(&self, content: Content) -> Arc<FirstHeard> {
        if let Some(f) = self
            .first_heard
            .lock()
            .expect("first heard lock")
            .get(&content)
        {
            return f.clone();
        }
        let built = Arc::new(schema::aggregate::first_heard(
            self.plays.iter().filter(|p| content.admits(p.kind)),
        ));
        self.first_heard
            .lock()
            .expect("first heard lock")
            .insert(content, built.clone());
        built
    }

    /// The stats of one content kind over a range, built once and kept.
    pub fn stats(&self, content: Content, range: DayRange) -> Arc<Stats> {
        let key = (content, range.0.map(|d| d.0), range.1.map(|d| d.0));
        if let Some(s) = self.stats.lock().expect("stats lock").get(&key) {
            return s.clone();
        }
        let slice = self.slice(range);
        let mut stats = if content == Content::All {
            Stats::build_parallel(slice, self.settings)
        } else {
            let chosen: Vec<Play> = slice
                .iter()
                .filter(|p| content.admits(p.kind))
                .copied()
                .collect();
            Stats::build_parallel(&chosen, self.settings)
        };
        // A stream counts in a range when it ended in it; its time before the first day (it
        // started the evening before) stays in the totals but puts no day before the range on
        // the day series, the days listened or the streaks.
        if let Some(from) = range.0 {
            stats.by_day.retain(|d, _| *d >= from);
        }
        if let Some(to) = range.1 {
            stats.by_day.retain(|d, _| *d <= to);
        }
        let built = Arc::new(stats);
        let mut kept = self.stats.lock().expect("stats lock");
        if kept.len() >= RANGES_KEPT {
            // Keep all-time views; drop the rest (ranges are cheap to rebuild).
            kept.retain(|(_, lo, hi), _| lo.is_none() && hi.is_none());
        }
        kept.insert(key, built.clone());
        built
    }
}

/// A `YYYY-MM-DD` day: RFC 3339's full-date, which the API document calls `format: date`, so
/// any four-digit year (a range reaching far past the history simply holds nothing). `what`
/// names the parameter in the message.
pub fn parse_day(s: &str, what: &str) -> Result<Day, BadInput> {
    let bad = || {
        BadInput(format!(
            "“{what}” must be a date like 2024-01-31, got “{s}”."
        ))
    };
    let digits = |part: &str, n: usize| -> Result<u32, BadInput> {
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

/// The shortest stream that counts as a play, in whole seconds as the pages and the API show
/// it, from the stored milliseconds (never negative).
pub fn play_threshold_seconds(min_play_ms: i64) -> u32 {
    (min_play_ms.max(0) / 1000).min(i64::from(u32::MAX)) as u32
}

/// The settings a user's views are computed under, from what their account stores: the time
/// zone's name (UTC when unknown) and the shortest stream that counts as a play, in ms.
pub fn settings(tz: &str, min_play_ms: i64) -> Settings {
    Settings {
        tz: tz.parse().unwrap_or(schema::Tz::UTC),
        min_play_ms: min_play_ms.max(0) as u64,
        ..Settings::default()
    }
}

/// The period just before `days`, as long as it (the calendar year before a calendar year);
/// `None` when `days` is open at either end (all time has nothing before it).
pub fn period_before(days: DayRange) -> Option<DayRange> {
    let (Some(from), Some(to)) = days else {
        return None;
    };
    let ((fy, fm, fd), (ty, tm, td)) = (from.ymd(), to.ymd());
    if fy == ty && (fm, fd) == (1, 1) && (tm, td) == (12, 31) {
        return Some(RangeChoice::Year(fy - 1).days(None));
    }
    let len = to.0 - from.0 + 1;
    Some((Some(Day(from.0 - len)), Some(Day(from.0 - 1))))
}

/// What a period is called: `2024` for a calendar year, `2024-01-01 to 2024-03-31`, `until
/// 2024-03-31`, `from 2024-01-01`, or `all time`.
pub fn period_label(days: DayRange) -> String {
    match days {
        (Some(f), Some(t)) => {
            let ((fy, fm, fd), (ty, tm, td)) = (f.ymd(), t.ymd());
            if fy == ty && (fm, fd) == (1, 1) && (tm, td) == (12, 31) {
                fy.to_string()
            } else {
                format!("{} to {}", f.label(), t.label())
            }
        }
        (Some(f), None) => format!("from {}", f.label()),
        (None, Some(t)) => format!("until {}", t.label()),
        (None, None) => "all time".to_string(),
    }
}

/// A preset or custom date range, as the controls offer it. Presets are anchored on the last
/// day of listening in the selection (an export is often months old: "the last 4 weeks" means
/// the last 4 weeks of the history, not of the calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeChoice {
    /// Everything.
    All,
    /// The 28 days ending on the last day of listening.
    Last4Weeks,
    /// The 6 months ending on the last day of listening.
    Last6Months,
    /// The calendar year of the last day of listening.
    LatestYear,
    /// One calendar year.
    Year(i32),
    /// From and to, both included; either may be open.
    Custom(Option<Day>, Option<Day>),
}

impl RangeChoice {
    /// From the `range`, `from` and `to` parameters.
    pub fn parse(
        range: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<RangeChoice, BadInput> {
        let day = |s: Option<&str>, what: &str| -> Result<Option<Day>, BadInput> {
            match s.map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => parse_day(s, what).map(Some),
            }
        };
        let (from, to) = (day(from, "from")?, day(to, "to")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(BadInput("“from” is after “to”.".into()));
        }
        Ok(match range.map(str::trim).unwrap_or("") {
            "" if from.is_some() || to.is_some() => RangeChoice::Custom(from, to),
            "" | "all" => RangeChoice::All,
            "custom" => RangeChoice::Custom(from, to),
            "4w" => RangeChoice::Last4Weeks,
            "6m" => RangeChoice::Last6Months,
            "year" => RangeChoice::LatestYear,
            y if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => {
                RangeChoice::Year(y.parse().expect("four digits"))
            }
            other => {
                return Err(BadInput(format!(
                    "Unknown range “{other}”: use all, 4w, 6m, year, a year like 2021, or custom with from and to."
                )));
            }
        })
    }

    /// The `range` parameter's value.
    pub fn param(&self) -> String {
        match self {
            RangeChoice::All => "all".into(),
            RangeChoice::Last4Weeks => "4w".into(),
            RangeChoice::Last6Months => "6m".into(),
            RangeChoice::LatestYear => "year".into(),
            RangeChoice::Year(y) => y.to_string(),
            RangeChoice::Custom(..) => "custom".into(),
        }
    }

    /// The days it covers for a history spanning `span`.
    pub fn days(&self, span: Option<(Day, Day)>) -> DayRange {
        let year = |y: i32| {
            (
                Some(Day(schema::time::days_from_civil(i64::from(y), 1, 1) as i32)),
                Some(Day(
                    schema::time::days_from_civil(i64::from(y), 12, 31) as i32
                )),
            )
        };
        let last = span.map(|(_, l)| l);
        match *self {
            RangeChoice::All => (None, None),
            RangeChoice::Last4Weeks => (last.map(|l| Day(l.0 - 27)), last),
            RangeChoice::Last6Months => (
                last.map(|l| {
                    let (y, m, d) = l.ymd();
                    let months = y * 12 + m as i32 - 1 - 6;
                    // The same day six months back, or that month's last day when it is
                    // shorter (31 March → 30 September); the range starts the day after.
                    let first_of = |months: i32| {
                        let (y2, m2) = (months.div_euclid(12), months.rem_euclid(12) as u32 + 1);
                        schema::time::days_from_civil(i64::from(y2), m2, 1) as i32
                    };
                    let (first, next) = (first_of(months), first_of(months + 1));
                    let start = first + (d as i32 - 1).min(next - first - 1);
                    Day(start + 1)
                }),
                last,
            ),
            RangeChoice::LatestYear => match last {
                Some(l) => year(l.ymd().0),
                None => (None, None),
            },
            RangeChoice::Year(y) => year(y),
            RangeChoice::Custom(f, t) => (f, t),
        }
    }
}

crate::names! {
    /// Which content counts: everything, music, podcasts or audiobooks.
    ContentKind: ["all", "music", "podcasts", "audiobooks"]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        parse_day(s, "test").unwrap()
    }

    #[test]
    fn the_period_before_is_as_long_and_a_year_before_a_year_is_a_year() {
        let year = RangeChoice::Year(2024).days(None);
        assert_eq!(
            period_before(year),
            Some(RangeChoice::Year(2023).days(None))
        );
        assert_eq!(period_label(year), "2024");
        let weeks = (Some(day("2024-02-12")), Some(day("2024-03-10")));
        assert_eq!(
            period_before(weeks),
            Some((Some(day("2024-01-15")), Some(day("2024-02-11"))))
        );
        assert_eq!(period_label(weeks), "2024-02-12 to 2024-03-10");
        assert_eq!(period_before((None, Some(day("2024-01-01")))), None);
        assert_eq!(period_label((None, None)), "all time");
    }

    #[test]
    fn presets_are_anchored_on_the_last_day_of_listening() {
        let span = Some((day("2014-05-02"), day("2024-03-10")));
        let r = |p: &str| RangeChoice::parse(Some(p), None, None).unwrap().days(span);
        assert_eq!(r("all"), (None, None));
        assert_eq!(
            r("4w"),
            (Some(day("2024-02-12")), Some(day("2024-03-10"))),
            "28 days"
        );
        assert_eq!(r("6m"), (Some(day("2023-09-11")), Some(day("2024-03-10"))));
        assert_eq!(
            r("year"),
            (Some(day("2024-01-01")), Some(day("2024-12-31")))
        );
        assert_eq!(
            r("2019"),
            (Some(day("2019-01-01")), Some(day("2019-12-31")))
        );
        let custom = RangeChoice::parse(None, Some("2020-02-01"), None).unwrap();
        assert_eq!(custom.days(span), (Some(day("2020-02-01")), None));
        assert!(RangeChoice::parse(Some("fortnight"), None, None).is_err());
        assert!(RangeChoice::parse(None, Some("2020-02-02"), Some("2020-02-01")).is_err());
    }

    #[test]
    fn a_slice_holds_the_plays_of_the_days_asked_for() {
        let mut s = Strings::default();
        let t = s.intern("t");
        let play = |end_ms: i64| Play {
            end_ms,
            ms_played: 60_000,
            kind: Kind::Track,
            source: schema::Source::Extended,
            title: t,
            creator: t,
            collection: schema::Sym::NONE,
            uri: schema::Sym::NONE,
            reason_start: schema::Sym::NONE,
            reason_end: schema::Sym::NONE,
            shuffle: None,
            skipped: None,
            offline: None,
            incognito: None,
            platform: schema::Platform::Other,
            country: schema::Country::UNKNOWN,
        };
        let day_ms = 86_400_000;
        let plays = vec![
            play(10 * day_ms + 5),
            play(12 * day_ms + 5),
            play(11 * day_ms + 5),
        ];
        let p = Prepared::new(plays, s, Settings::default());
        assert_eq!(p.slice((Some(Day(11)), Some(Day(11)))).len(), 1);
        assert_eq!(p.slice((Some(Day(11)), None)).len(), 2);
        assert_eq!(p.slice((None, Some(Day(10)))).len(), 1);
        assert_eq!(p.slice((Some(Day(13)), None)).len(), 0);
        assert_eq!(
            p.stats(Content::All, (Some(Day(11)), None)).total.ms,
            120_000
        );
        assert_eq!(p.stats(Content::Podcasts, (None, None)).total.ms, 0);
        assert_eq!(p.span(), Some((Day(10), Day(12))));
    }

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
            let e = parse_day(bad, "from").unwrap_err().0;
            assert!(e.contains("“from”") && e.contains(bad), "{e}");
        }
    }
}

/// What a user can hide from every view.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum HiddenKind {
    /// An artist: their tracks.
    Artist,
    /// A podcast show: its episodes.
    Show,
    /// One track, by its artist's name and its title.
    Track,
}

impl HiddenKind {
    /// `artist`, `show`, `track`.
    pub fn as_str(self) -> &'static str {
        match self {
            HiddenKind::Artist => "artist",
            HiddenKind::Show => "show",
            HiddenKind::Track => "track",
        }
    }

    /// Parses [`HiddenKind::as_str`].
    pub fn parse(s: &str) -> Option<HiddenKind> {
        Some(match s {
            "artist" => HiddenKind::Artist,
            "show" => HiddenKind::Show,
            "track" => HiddenKind::Track,
            _ => return None,
        })
    }
}

/// `plays` without what is hidden: the tracks of a hidden artist, the episodes of a hidden
/// show, the streams of a hidden track (its artist and title, docs/DESIGN.md "Identity").
/// Each entry is a kind, a name and, for a track, its artist.
pub fn without_hidden(
    mut plays: Vec<Play>,
    strings: &Strings,
    hidden: &[(HiddenKind, String, String)],
) -> Vec<Play> {
    let mut artists = std::collections::HashSet::new();
    let mut shows = std::collections::HashSet::new();
    let mut tracks = std::collections::HashSet::new();
    for (kind, name, by) in hidden {
        let Some(n) = strings.lookup(name) else {
            continue;
        };
        match kind {
            HiddenKind::Artist => {
                artists.insert(n);
            }
            HiddenKind::Show => {
                shows.insert(n);
            }
            HiddenKind::Track => {
                if let Some(b) = strings.lookup(by) {
                    tracks.insert((b, n));
                }
            }
        }
    }
    if artists.is_empty() && shows.is_empty() && tracks.is_empty() {
        return plays;
    }
    plays.retain(|p| match p.kind {
        Kind::Track => !artists.contains(&p.creator) && !tracks.contains(&(p.creator, p.title)),
        Kind::Episode => !shows.contains(&p.creator),
        _ => true,
    });
    plays
}

#[cfg(test)]
mod hiding_tests {
    use super::*;
    use schema::{Source, Sym};

    #[test]
    fn hidden_artists_shows_and_tracks_leave_every_other_stream() {
        let mut s = Strings::default();
        let mut play = |kind, title: &str, creator: &str, end| {
            Play::bare(
                end,
                60_000,
                kind,
                Source::Extended,
                [s.intern(title), s.intern(creator), Sym::NONE],
            )
        };
        let plays = vec![
            play(Kind::Track, "Lullaby", "Kids Choir", 1),
            play(Kind::Track, "Lullaby", "Ada", 2),
            play(Kind::Track, "Storm", "Ada", 3),
            play(Kind::Episode, "Rain 8 h", "Sleep Sounds", 4),
            play(Kind::Episode, "Kids Choir", "News", 5),
            play(Kind::Track, "Rain 8 h", "Bo", 6),
        ];
        let hidden = vec![
            (HiddenKind::Artist, "Kids Choir".to_string(), String::new()),
            (HiddenKind::Show, "Sleep Sounds".to_string(), String::new()),
            (HiddenKind::Track, "Storm".to_string(), "Ada".to_string()),
            (
                HiddenKind::Artist,
                "Nobody Heard".to_string(),
                String::new(),
            ),
        ];
        let kept: Vec<i64> = without_hidden(plays.clone(), &s, &hidden)
            .iter()
            .map(|p| p.end_ms)
            .collect();
        // Ada's other track, the show named like the artist, Bo's track named like the
        // episode stay.
        assert_eq!(kept, vec![2, 5, 6]);
        assert_eq!(without_hidden(plays.clone(), &s, &[]), plays);
    }
}
