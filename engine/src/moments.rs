//! Moments of a history: trips (listening from a country other than home), this day in other
//! years, and milestones (the 1st, 100th, 1,000th … play, the first play of the top artist,
//! the tracks that reached their 100th play).
//!
//! Every function takes the streams of a range in order of end time and the content to
//! count: streams of other kinds are left out before anything else. A stream belongs to the
//! local day (the settings' time zone) it ended on; days are `YYYY-MM-DD`. Listening time is
//! every stream's time; counts and rankings take plays only (streams of at least the play
//! threshold), rankings by the plays' time, ties by name. Top artists and tracks are music.
//!
//! # Trips
//!
//! Home is the country with the most listening time among the streams whose country is known
//! (ties: the first code alphabetically). Walking the streams with a known country in order, a
//! trip is a maximal run of streams in one country other than home in which no pause from one
//! stream's end to the next one's start exceeds [`TRIP_GAP_MS`]. A stream at home or in
//! another foreign country ends the run; streams of unknown country are passed over (they
//! neither end a trip nor count in it). Runs of fewer than [`MIN_TRIP_PLAYS`] plays are
//! not trips (a VPN, a mislabelled stream, a few seconds of a phone abroad).
//!
//! # Milestones
//!
//! Plays are numbered in order of end time from the first stream given (pass all time for a
//! lifetime's milestones). Plays without metadata are numbered too, so the numbers agree with
//! the play counts of the other views; such a milestone has no names.

use std::collections::{BTreeMap, HashMap};

use schema::aggregate::{Day, local_day_hour};
use schema::{Country, Kind, Play, Settings, Strings, Sym};
use serde::Serialize;

use crate::Content;

const DAY_MS: i64 = 86_400_000;

/// The longest pause between two streams of one trip (3 days).
pub const TRIP_GAP_MS: i64 = 3 * DAY_MS;

/// Plays (streams of at least the play threshold) a trip needs.
pub const MIN_TRIP_PLAYS: u64 = 5;

/// Trips listed, the newest first.
pub const TRIPS_LISTED: usize = 100;

/// Tracks of a trip's soundtrack.
pub const TRIP_TRACKS: usize = 5;

/// Artists of a trip's soundtrack.
pub const TRIP_ARTISTS: usize = 3;

/// Artists and tracks listed for a day.
pub const DAY_TOP: usize = 3;

/// The play numbers that are milestones.
pub const MILESTONES: [u64; 6] = [1, 100, 1_000, 10_000, 100_000, 1_000_000];

/// The play of a track that is celebrated.
pub const TRACK_MILESTONE: u32 = 100;

/// Tracks listed as reaching [`TRACK_MILESTONE`] plays, the earliest first.
pub const TRACK_MILESTONES_LISTED: usize = 50;

/// An artist or a track, with its plays' time.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Ranked {
    /// The artist, or the track's title.
    pub name: String,
    /// The track's artist; `None` for an artist.
    #[schema(required = true)]
    pub by: Option<String>,
    /// Milliseconds of its plays.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
}

/// Plays' time and count per (name, by): artists are `(creator, NONE)`, tracks `(title,
/// creator)`.
type Tally = HashMap<(Sym, Sym), (u64, u64)>;

/// Counts a music play in the artist and track tallies.
fn tally(artists: &mut Tally, tracks: &mut Tally, p: &Play) {
    if p.kind != Kind::Track {
        return;
    }
    let add = |into: &mut Tally, key| {
        let t = into.entry(key).or_default();
        t.0 += p.ms_played;
        t.1 += 1;
    };
    if p.creator.is_some() {
        add(artists, (p.creator, Sym::NONE));
    }
    if p.title.is_some() {
        add(tracks, (p.title, p.creator));
    }
}

/// The `n` first of a tally: most time first, ties by name, then by artist.
fn top(tally: Tally, strings: &Strings, n: usize) -> Vec<Ranked> {
    let mut all: Vec<Ranked> = tally
        .into_iter()
        .map(|((name, by), (ms, plays))| Ranked {
            name: strings.get(name).to_string(),
            by: strings.opt(by).map(str::to_string),
            ms_played: ms,
            plays,
        })
        .collect();
    all.sort_by(|x, y| {
        y.ms_played
            .cmp(&x.ms_played)
            .then_with(|| x.name.cmp(&y.name))
            .then_with(|| x.by.cmp(&y.by))
    });
    all.truncate(n);
    all
}

fn day_of(settings: Settings, end_ms: i64) -> Day {
    local_day_hour(settings.tz, end_ms).0
}

/// A stay abroad, seen in the streams.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Trip {
    /// The country, ISO 3166 alpha-2, uppercase.
    pub country: String,
    /// The local day of its first stream, `YYYY-MM-DD`.
    pub from: String,
    /// The local day of its last stream.
    pub to: String,
    /// Calendar days from the first to the last, both counted.
    pub days: u32,
    /// Streams in it.
    pub streams: u64,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
    /// Its soundtrack: up to [`TRIP_TRACKS`] tracks, the most played first.
    pub tracks: Vec<Ranked>,
    /// Up to [`TRIP_ARTISTS`] artists, the most played first.
    pub artists: Vec<Ranked>,
}

/// The trips of a range.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Trips {
    /// The home country's code; `None` when no stream's country is known.
    #[schema(required = true)]
    pub home: Option<String>,
    /// Trips found.
    pub total: usize,
    /// Up to [`TRIPS_LISTED`] of them, the newest first.
    pub trips: Vec<Trip>,
}

/// The index of a country in a table of every two-letter code.
fn slot(c: Country) -> Option<usize> {
    let [a, b] = c.0;
    (c != Country::UNKNOWN && a.is_ascii_uppercase() && b.is_ascii_uppercase())
        .then(|| usize::from(a - b'A') * 26 + usize::from(b - b'A'))
}

/// The trips in `range` (by end time), as the module documentation describes.
pub fn trips(range: &[Play], strings: &Strings, settings: Settings, content: Content) -> Trips {
    let counted = |p: &&Play| content.admits(p.kind) && slot(p.country).is_some();
    // Streams and time per country.
    let mut by_country = [(0u64, 0u64); 26 * 26];
    for p in range.iter().filter(counted) {
        let c = &mut by_country[slot(p.country).expect("known")];
        c.0 += 1;
        c.1 += p.ms_played;
    }
    // The most time, the first code on ties; no home without a known country.
    let home = (0..by_country.len())
        .filter(|&i| by_country[i].0 > 0)
        .min_by_key(|&i| (std::cmp::Reverse(by_country[i].1), i))
        .map(|i| Country([b'A' + (i / 26) as u8, b'A' + (i % 26) as u8]));

    /// A run abroad: its country, first and last stream's index, last end, streams.
    struct Run {
        country: Country,
        first: usize,
        last: usize,
        end_ms: i64,
        streams: u64,
        plays: u64,
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut close = |run: Option<Run>| {
        runs.extend(run.filter(|r| r.plays >= MIN_TRIP_PLAYS));
    };
    let mut open: Option<Run> = None;
    for (i, p) in range.iter().enumerate().filter(|(_, p)| counted(p)) {
        if Some(p.country) == home {
            close(open.take());
            continue;
        }
        if let Some(r) = open
            .as_mut()
            .filter(|r| r.country == p.country && p.start_ms() - r.end_ms <= TRIP_GAP_MS)
        {
            r.last = i;
            r.end_ms = r.end_ms.max(p.end_ms);
            r.streams += 1;
            r.plays += u64::from(p.ms_played >= settings.min_play_ms);
            continue;
        }
        close(open.take());
        open = Some(Run {
            country: p.country,
            first: i,
            last: i,
            end_ms: p.end_ms,
            streams: 1,
            plays: u64::from(p.ms_played >= settings.min_play_ms),
        });
    }
    close(open);

    let trips = runs
        .iter()
        .rev()
        .take(TRIPS_LISTED)
        .map(|r| {
            // Between its first and last stream, a trip's streams are those of its country.
            let (mut ms, mut plays) = (0, 0);
            let (mut artists, mut tracks) = (Tally::new(), Tally::new());
            for p in range[r.first..=r.last]
                .iter()
                .filter(|p| p.country == r.country && content.admits(p.kind))
            {
                ms += p.ms_played;
                if p.ms_played >= settings.min_play_ms {
                    plays += 1;
                    tally(&mut artists, &mut tracks, p);
                }
            }
            let (from, to) = (
                day_of(settings, range[r.first].end_ms),
                day_of(settings, range[r.last].end_ms),
            );
            Trip {
                country: r.country.as_str().to_string(),
                from: from.label(),
                to: to.label(),
                days: (to.0 - from.0 + 1).max(1) as u32,
                streams: r.streams,
                ms_played: ms,
                plays,
                tracks: top(tracks, strings, TRIP_TRACKS),
                artists: top(artists, strings, TRIP_ARTISTS),
            }
        })
        .collect();
    Trips {
        home: home.map(|c| c.as_str().to_string()),
        total: runs.len(),
        trips,
    }
}

/// One year's listening on a date.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct YearOnDay {
    /// The year.
    pub year: i32,
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Streams that ended on it.
    pub streams: u64,
    /// Milliseconds listened.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
    /// Up to [`DAY_TOP`] artists, the most played first.
    pub artists: Vec<Ranked>,
    /// Up to [`DAY_TOP`] tracks, the most played first.
    pub tracks: Vec<Ranked>,
}

/// A date of the calendar in every year of a range.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OnThisDay {
    /// The month asked for, 1–12.
    pub month: u32,
    /// The day of the month.
    pub day: u32,
    /// Every year with a stream on that date, the newest first. 29 February is found in leap
    /// years only.
    pub years: Vec<YearOnDay>,
}

/// What was listened to on `month`/`day` (local) in each year of `range` (by end time).
pub fn on_this_day(
    range: &[Play],
    strings: &Strings,
    settings: Settings,
    content: Content,
    month: u32,
    day: u32,
) -> OnThisDay {
    struct Year {
        date: Day,
        streams: u64,
        ms: u64,
        plays: u64,
        artists: Tally,
        tracks: Tally,
    }
    let mut years: BTreeMap<i32, Year> = BTreeMap::new();
    let is_date = |d: Day| {
        let (_, m, dd) = d.ymd();
        (m, dd) == (month, day)
    };
    // A zone's offset is under a day: a stream whose UTC day and both neighbours are other
    // dates is passed over without reading the zone. Streams come by day, so each UTC day
    // and each local day is looked at once.
    let mut near: Option<(i64, bool)> = None;
    let mut seen: Option<(Day, Option<i32>)> = None;
    for p in range.iter().filter(|p| content.admits(p.kind)) {
        let utc = p.end_ms.div_euclid(DAY_MS);
        let close = match near {
            Some((at, close)) if at == utc => close,
            _ => {
                let close = (utc - 1..=utc + 1).any(|d| is_date(Day(d as i32)));
                near = Some((utc, close));
                close
            }
        };
        if !close {
            continue;
        }
        let d = day_of(settings, p.end_ms);
        let year = match seen {
            Some((at, year)) if at == d => year,
            _ => {
                let year = is_date(d).then_some(d.ymd().0);
                seen = Some((d, year));
                year
            }
        };
        let Some(year) = year else { continue };
        let y = years.entry(year).or_insert_with(|| Year {
            date: d,
            streams: 0,
            ms: 0,
            plays: 0,
            artists: Tally::new(),
            tracks: Tally::new(),
        });
        y.streams += 1;
        y.ms += p.ms_played;
        if p.ms_played >= settings.min_play_ms {
            y.plays += 1;
            tally(&mut y.artists, &mut y.tracks, p);
        }
    }
    OnThisDay {
        month,
        day,
        years: years
            .into_iter()
            .rev()
            .map(|(year, y)| YearOnDay {
                year,
                date: y.date.label(),
                streams: y.streams,
                ms_played: y.ms,
                plays: y.plays,
                artists: top(y.artists, strings, DAY_TOP),
                tracks: top(y.tracks, strings, DAY_TOP),
            })
            .collect(),
    }
}

/// A numbered play.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Milestone {
    /// Its number: 1, 100, 1,000 …
    pub play: u64,
    /// The local day it ended, `YYYY-MM-DD`.
    pub day: String,
    /// Track, episode or chapter title; `None` for a stream without metadata.
    #[schema(required = true)]
    pub title: Option<String>,
    /// Its artist or show.
    #[schema(required = true)]
    pub by: Option<String>,
}

/// The first play of the top artist.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TopArtistFirst {
    /// The artist with the most plays' time in the range (ties: by name).
    pub artist: String,
    /// Milliseconds of their plays.
    pub ms_played: u64,
    /// Their plays.
    pub plays: u64,
    /// The local day of their first play.
    pub day: String,
    /// Its track.
    #[schema(required = true)]
    pub track: Option<String>,
}

/// A track reaching its [`TRACK_MILESTONE`]th play.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TrackMilestone {
    /// Title.
    pub track: String,
    /// Artist.
    #[schema(required = true)]
    pub artist: Option<String>,
    /// The local day of that play.
    pub day: String,
}

/// The milestones of a range.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Milestones {
    /// Plays in the range.
    pub plays: u64,
    /// The plays numbered in [`MILESTONES`] that there are.
    pub marks: Vec<Milestone>,
    /// The first play of the top artist (music); `None` without music plays.
    #[schema(required = true)]
    pub top_artist: Option<TopArtistFirst>,
    /// Tracks that reached [`TRACK_MILESTONE`] plays.
    pub tracks_total: usize,
    /// Up to [`TRACK_MILESTONES_LISTED`] of them, the earliest first.
    pub tracks: Vec<TrackMilestone>,
}

/// The milestones of `range` (by end time), as the module documentation describes.
pub fn milestones(
    range: &[Play],
    strings: &Strings,
    settings: Settings,
    content: Content,
) -> Milestones {
    let mut n = 0u64;
    let mut marks: Vec<(u64, usize)> = Vec::new();
    // Per artist: plays' time, plays, the index of the first play.
    let mut artists: HashMap<Sym, (u64, u64, usize)> = HashMap::new();
    let mut track_plays: HashMap<(Sym, Sym), u32> = HashMap::new();
    let mut reached: Vec<usize> = Vec::new();
    let plays = range
        .iter()
        .enumerate()
        .filter(|(_, p)| content.admits(p.kind) && p.ms_played >= settings.min_play_ms);
    for (i, p) in plays {
        n += 1;
        if MILESTONES.get(marks.len()) == Some(&n) {
            marks.push((n, i));
        }
        if p.kind != Kind::Track {
            continue;
        }
        if p.creator.is_some() {
            let a = artists.entry(p.creator).or_insert((0, 0, i));
            a.0 += p.ms_played;
            a.1 += 1;
        }
        if p.title.is_some() {
            let t = track_plays.entry((p.title, p.creator)).or_default();
            *t += 1;
            if *t == TRACK_MILESTONE {
                reached.push(i);
            }
        }
    }
    let day = |i: usize| day_of(settings, range[i].end_ms).label();
    let top_artist = artists
        .into_iter()
        .map(|(a, (ms, plays, first))| (strings.get(a), ms, plays, first))
        .min_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(y.0)))
        .map(|(name, ms, plays, first)| TopArtistFirst {
            artist: name.to_string(),
            ms_played: ms,
            plays,
            day: day(first),
            track: strings.opt(range[first].title).map(str::to_string),
        });
    Milestones {
        plays: n,
        marks: marks
            .into_iter()
            .map(|(n, i)| Milestone {
                play: n,
                day: day(i),
                title: strings.opt(range[i].title).map(str::to_string),
                by: strings.opt(range[i].creator).map(str::to_string),
            })
            .collect(),
        top_artist,
        tracks_total: reached.len(),
        tracks: reached
            .into_iter()
            .take(TRACK_MILESTONES_LISTED)
            .map(|i| TrackMilestone {
                track: strings.get(range[i].title).to_string(),
                artist: strings.opt(range[i].creator).map(str::to_string),
                day: day(i),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::time::days_from_civil;
    use schema::{Source, Tz};

    const MIN: u64 = 60_000;
    const HOUR: i64 = 3_600_000;

    /// Milliseconds at a UTC date and time.
    fn at(y: i64, m: u32, d: u32, h: i64, min: i64) -> i64 {
        days_from_civil(y, m, d) * 86_400_000 + h * HOUR + min * 60_000
    }

    fn track(s: &mut Strings, end_ms: i64, ms: u64, artist: &str, title: &str) -> Play {
        let names = [s.intern(title), s.intern(artist), s.intern("Album")];
        Play::bare(end_ms, ms, Kind::Track, Source::Extended, names)
    }

    fn abroad(s: &mut Strings, country: &str, end_ms: i64, ms: u64, artist: &str) -> Play {
        let mut p = track(s, end_ms, ms, artist, &format!("{artist} song"));
        p.country = Country::parse(country);
        p
    }

    fn zone(name: &str) -> Settings {
        Settings {
            tz: name.parse::<Tz>().unwrap(),
            ..Settings::default()
        }
    }

    fn names(r: &[Ranked]) -> Vec<(&str, u64)> {
        r.iter().map(|x| (x.name.as_str(), x.ms_played)).collect()
    }

    fn trip_history(s: &mut Strings) -> Vec<Play> {
        let mut plays = Vec::new();
        // Home: 100 minutes in Germany.
        for i in 0..10 {
            plays.push(abroad(s, "DE", at(2022, 5, 1, 8, 10 * i), 10 * MIN, "Heim"));
        }
        // France, 10 to 12 June: six streams (one of 10 s: time, not a play), and one of
        // unknown country in between, passed over.
        let mut tour = |s: &mut Strings, end, ms, title: &str, artist: &str| {
            let mut p = track(s, end, ms, artist, title);
            p.country = Country::parse("FR");
            plays.push(p);
        };
        tour(s, at(2022, 6, 10, 2, 0), 4 * MIN, "Tour", "Ada");
        tour(s, at(2022, 6, 10, 12, 0), 3 * MIN, "Gare", "Bo");
        tour(s, at(2022, 6, 11, 10, 0), 4 * MIN, "Tour", "Ada");
        tour(s, at(2022, 6, 11, 11, 0), 10_000, "Gare", "Bo");
        tour(s, at(2022, 6, 12, 20, 0), 3 * MIN, "Gare", "Bo");
        tour(s, at(2022, 6, 12, 23, 30), 4 * MIN, "Tour", "Ada");
        plays.push(abroad(s, "ZZ", at(2022, 6, 11, 9, 0), 30 * MIN, "Heim"));
        // France again after eight days: another trip.
        for h in 12..17 {
            plays.push(abroad(s, "FR", at(2022, 6, 20, h, 0), 4 * MIN, "Cy"));
        }
        // Italy, four streams: too few.
        for h in 12..16 {
            plays.push(abroad(s, "IT", at(2022, 7, 1, h, 0), 4 * MIN, "Cy"));
        }
        // Portugal, five streams of 10 s: not one play among them, so no trip.
        for h in 12..17 {
            plays.push(abroad(s, "PT", at(2022, 7, 10, h, 0), 10_000, "Cy"));
        }
        // France three, Spain one, France three: Spain ends each run.
        for (h, c) in ["FR", "FR", "FR", "ES", "FR", "FR", "FR"]
            .iter()
            .enumerate()
        {
            plays.push(abroad(
                s,
                c,
                at(2022, 8, 1, 10 + h as i64, 0),
                4 * MIN,
                "Cy",
            ));
        }
        // Home again.
        plays.push(abroad(s, "DE", at(2022, 9, 1, 8, 0), 10 * MIN, "Heim"));
        plays.push(abroad(s, "DE", at(2022, 9, 1, 9, 0), 10 * MIN, "Heim"));
        plays.sort_by_key(|p| p.end_ms);
        plays
    }

    #[test]
    fn trips_are_runs_abroad_split_by_a_long_gap_or_another_country() {
        let mut s = Strings::default();
        let plays = trip_history(&mut s);
        let t = trips(&plays, &s, Settings::default(), Content::All);
        assert_eq!(t.home.as_deref(), Some("DE"));
        assert_eq!(t.total, 2);
        let spans: Vec<(&str, &str, &str, u32, u64)> = t
            .trips
            .iter()
            .map(|x| {
                (
                    x.country.as_str(),
                    x.from.as_str(),
                    x.to.as_str(),
                    x.days,
                    x.streams,
                )
            })
            .collect();
        assert_eq!(
            spans,
            [
                ("FR", "2022-06-20", "2022-06-20", 1, 5),
                ("FR", "2022-06-10", "2022-06-12", 3, 6),
            ]
        );
        let june = &t.trips[1];
        assert_eq!((june.ms_played, june.plays), (18 * MIN + 10_000, 5));
        assert_eq!(names(&june.tracks), [("Tour", 12 * MIN), ("Gare", 6 * MIN)]);
        assert_eq!(june.tracks[0].by.as_deref(), Some("Ada"));
        assert_eq!(names(&june.artists), [("Ada", 12 * MIN), ("Bo", 6 * MIN)]);
        assert_eq!(names(&t.trips[0].artists), [("Cy", 20 * MIN)]);

        // In New York the first stream ended at 22:00 on 9 June (EDT).
        let ny = trips(&plays, &s, zone("America/New_York"), Content::All);
        assert_eq!(
            (
                ny.trips[1].from.as_str(),
                ny.trips[1].to.as_str(),
                ny.trips[1].days
            ),
            ("2022-06-09", "2022-06-12", 4)
        );

        let none = trips(&plays, &s, Settings::default(), Content::Podcasts);
        assert_eq!((none.home, none.total), (None, 0));
        assert_eq!(trips(&[], &s, Settings::default(), Content::All).home, None);
    }

    fn calendar(s: &mut Strings) -> Vec<Play> {
        let mut plays = vec![
            track(s, at(2019, 2, 28, 12, 0), 3 * MIN, "Fa", "f1"),
            track(s, at(2019, 2, 28, 13, 0), 20_000, "Go", "g1"),
            track(s, at(2020, 2, 28, 9, 0), 5 * MIN, "Hu", "h"),
            track(s, at(2020, 2, 29, 10, 0), 5 * MIN, "Ada", "x"),
            track(s, at(2021, 2, 28, 10, 0), 5 * MIN, "Ada", "x"),
            track(s, at(2021, 2, 28, 11, 0), 5 * MIN, "Ada", "x"),
            track(s, at(2021, 2, 28, 12, 0), 8 * MIN, "Bo", "y"),
            track(s, at(2021, 2, 28, 13, 0), 2 * MIN, "Cy", "z"),
            track(s, at(2021, 2, 28, 14, 0), MIN, "Di", "w"),
            track(s, at(2021, 2, 28, 15, 0), MIN, "Ada", "x2"),
            // 00:30 on 1 March in Berlin.
            track(s, at(2021, 2, 28, 23, 30), 4 * MIN, "Ed", "e"),
            track(s, at(2021, 3, 1, 12, 0), 2 * MIN, "Cy", "z"),
            track(s, at(2024, 2, 29, 8, 0), 8 * MIN, "Bo", "y"),
        ];
        plays.sort_by_key(|p| p.end_ms);
        plays
    }

    #[test]
    fn this_day_in_other_years_newest_first_with_its_top_artists_and_tracks() {
        let mut s = Strings::default();
        let plays = calendar(&mut s);
        let utc = Settings::default();
        let d = on_this_day(&plays, &s, utc, Content::All, 2, 28);
        let years: Vec<(i32, &str, u64, u64, u64)> = d
            .years
            .iter()
            .map(|y| (y.year, y.date.as_str(), y.streams, y.ms_played, y.plays))
            .collect();
        assert_eq!(
            years,
            [
                (2021, "2021-02-28", 7, 26 * MIN, 7),
                (2020, "2020-02-28", 1, 5 * MIN, 1),
                (2019, "2019-02-28", 2, 3 * MIN + 20_000, 1),
            ]
        );
        assert_eq!(
            names(&d.years[0].artists),
            [("Ada", 11 * MIN), ("Bo", 8 * MIN), ("Ed", 4 * MIN)]
        );
        assert_eq!(
            names(&d.years[0].tracks),
            [("x", 10 * MIN), ("y", 8 * MIN), ("e", 4 * MIN)]
        );
        // Go's 20 seconds are time, not a play: not among the artists.
        assert_eq!(names(&d.years[2].artists), [("Fa", 3 * MIN)]);

        // 29 February: leap years only, never 28 February or 1 March.
        let leap = on_this_day(&plays, &s, utc, Content::All, 2, 29);
        let years: Vec<i32> = leap.years.iter().map(|y| y.year).collect();
        assert_eq!(years, [2024, 2020]);

        // In Berlin Ed's stream ended on 1 March.
        let berlin = zone("Europe/Berlin");
        let march = on_this_day(&plays, &s, berlin, Content::All, 3, 1);
        assert_eq!(march.years.len(), 1);
        assert_eq!(
            (march.years[0].streams, march.years[0].ms_played),
            (2, 6 * MIN)
        );
        let feb = on_this_day(&plays, &s, berlin, Content::All, 2, 28);
        assert_eq!(feb.years[0].ms_played, 22 * MIN);
        assert_eq!(
            on_this_day(&plays, &s, utc, Content::All, 3, 1).years[0].ms_played,
            2 * MIN
        );

        assert!(
            on_this_day(&plays, &s, utc, Content::Podcasts, 2, 28)
                .years
                .is_empty()
        );
        assert!(
            on_this_day(&[], &s, utc, Content::All, 2, 28)
                .years
                .is_empty()
        );
    }

    fn numbered(s: &mut Strings) -> Vec<Play> {
        let show = [s.intern("Ep"), s.intern("Show"), Sym::NONE];
        let mut plays = vec![Play::bare(
            at(2019, 12, 31, 12, 0),
            20 * MIN,
            Kind::Episode,
            Source::Extended,
            show,
        )];
        // Every 12 hours from 00:03 on 1 January 2020: "Loop", but every tenth stream a
        // 10-second skip of another artist (not a play).
        for i in 0..113 {
            let end = at(2020, 1, 1, 0, 3) + i * 12 * HOUR;
            plays.push(if i % 10 == 9 {
                track(s, end, 10_000, "Bo", "Short")
            } else {
                track(s, end, 3 * MIN, "Ada", "Loop")
            });
        }
        plays.push(track(s, at(2020, 3, 1, 12, 0), 10 * MIN, "Cy", "Other"));
        plays
    }

    fn marks(m: &Milestones) -> Vec<(u64, &str, Option<&str>)> {
        m.marks
            .iter()
            .map(|x| (x.play, x.day.as_str(), x.title.as_deref()))
            .collect()
    }

    #[test]
    fn milestones_number_the_plays_in_order() {
        let mut s = Strings::default();
        let plays = numbered(&mut s);
        let utc = Settings::default();

        // Music: 102 plays of Loop (stream 110 is the 100th: 11 tens hold 99) and Cy's.
        let m = milestones(&plays, &s, utc, Content::Music);
        assert_eq!(m.plays, 103);
        assert_eq!(
            marks(&m),
            [
                (1, "2020-01-01", Some("Loop")),
                (100, "2020-02-25", Some("Loop"))
            ]
        );
        let top = m.top_artist.as_ref().unwrap();
        assert_eq!(
            (top.artist.as_str(), top.ms_played, top.plays),
            ("Ada", 306 * MIN, 102)
        );
        assert_eq!(
            (top.day.as_str(), top.track.as_deref()),
            ("2020-01-01", Some("Loop"))
        );
        assert_eq!(m.tracks_total, 1);
        assert_eq!(
            (m.tracks[0].track.as_str(), m.tracks[0].day.as_str()),
            ("Loop", "2020-02-25")
        );

        // Everything: the episode is the first play, and Loop's 99th the 100th.
        let m = milestones(&plays, &s, utc, Content::All);
        assert_eq!(m.plays, 104);
        assert_eq!(
            marks(&m),
            [
                (1, "2019-12-31", Some("Ep")),
                (100, "2020-02-24", Some("Loop"))
            ]
        );
        assert_eq!(m.marks[0].by.as_deref(), Some("Show"));
        assert_eq!(m.tracks[0].day, "2020-02-25", "a track's plays are its own");

        // In New York Ada's first play ended on 31 December, Loop's 100th on 24 February.
        let ny = milestones(&plays, &s, zone("America/New_York"), Content::Music);
        assert_eq!(ny.top_artist.unwrap().day, "2019-12-31");
        assert_eq!(ny.tracks[0].day, "2020-02-24");

        let podcasts = milestones(&plays, &s, utc, Content::Podcasts);
        assert_eq!((podcasts.plays, podcasts.marks.len()), (1, 1));
        assert_eq!((podcasts.top_artist, podcasts.tracks_total), (None, 0));
        let empty = milestones(&[], &s, utc, Content::All);
        assert_eq!(
            (empty.plays, empty.marks.len(), empty.top_artist),
            (0, 0, None)
        );
    }
}
