//! Chapters of a history: its eras, where the mix of artists shifts, and its album sittings,
//! where an album was played through in order.
//!
//! # Eras
//!
//! Music only. A month is a local calendar month (the settings' time zone), and a stream
//! belongs to the month it ended in. The method, deterministic:
//!
//! 1. Each month with a music play gets the vector of its plays' time per artist (streams
//!    shorter than the play threshold are left out), scaled to length 1 so that every month
//!    weighs the same whatever its hours.
//! 2. The months are walked in order; the first opens a chapter, which is the sum of its
//!    months' vectors. Each following month is smoothed with the next month with listening
//!    (the sum of the two months' vectors; the last month stands alone) and compared with the
//!    chapter so far by cosine similarity, so that a month unlike both its chapter and the
//!    month after (a December of Christmas songs) does not open a chapter by itself.
//! 3. A month opens a new chapter when that similarity is below [`ERA_SIMILARITY`] and the
//!    chapter so far has at least [`MIN_ERA_MONTHS`] months with listening; otherwise it
//!    joins the chapter. The last chapter may be shorter: the history ends.
//!
//! A chapter's defining artists are those that take a larger share of its plays' time than of
//! the whole range's, ranked by `share × ln(share / share overall)` (their term in the
//! Kullback–Leibler divergence of the chapter from the whole), highest first, ties by name;
//! so the single chapter of a steady history has none.
//!
//! # Album sittings
//!
//! The export has no track numbers, so "played in order" is read from how the streams follow
//! one another. A sitting is a run of streams consecutive in order of end time (any other
//! stream in between ends it) where every stream
//!
//! - is a track of one album (the same artist and album name, both known),
//! - was played with shuffle recorded as off,
//! - ran to its end (`reason_end` of `trackdone`), whatever its length (albums have
//!   interludes shorter than the play threshold),
//! - after the first, began because the one before ended (`reason_start` of `trackdone`),
//!   at most [`SITTING_GAP_MS`] after it,
//! - and is a track not played before in the run (a repeat starts a new run),
//!
//! with at least [`MIN_SITTING_TRACKS`] tracks. A sitting's day is the local day its last
//! stream ended.

use std::collections::{BTreeMap, HashMap};

use schema::aggregate::{Day, Month, local_day_hour};
use schema::{Kind, Play, Settings, Strings, Sym};
use serde::Serialize;

/// Below this cosine similarity between a month (smoothed with the next) and the chapter so
/// far, the month opens a new chapter.
pub const ERA_SIMILARITY: f64 = 0.4;

/// Months with listening a chapter holds before a new one may start.
pub const MIN_ERA_MONTHS: usize = 3;

/// Defining artists listed per chapter.
pub const ERA_DEFINING: usize = 3;

/// Distinct tracks an album sitting needs.
pub const MIN_SITTING_TRACKS: usize = 5;

/// The longest pause between one track of a sitting and the next (5 minutes).
pub const SITTING_GAP_MS: i64 = 5 * 60_000;

/// Albums and sittings listed.
pub const SITTINGS_LISTED: usize = 20;

const DAY_MS: i64 = 86_400_000;

/// An artist's part in a chapter.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct EraArtist {
    /// The artist.
    pub name: String,
    /// Milliseconds of their plays in the chapter.
    pub ms_played: u64,
    /// Their share of the chapter's plays' time, 0–1.
    #[schema(minimum = 0, maximum = 1)]
    pub share: f64,
    /// Their share of the whole range's plays' time, 0–1.
    #[schema(minimum = 0, maximum = 1)]
    pub overall_share: f64,
}

/// One era: consecutive months with a steady mix of artists.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Chapter {
    /// Its first month, `YYYY-MM` (local).
    pub from: String,
    /// Its last month.
    pub to: String,
    /// Months with listening in it.
    pub months: usize,
    /// Milliseconds of the music streams that ended in its months (short streams included).
    pub ms_played: u64,
    /// Music plays in it.
    pub plays: u64,
    /// The artist with the most plays' time in it (ties: by name).
    #[schema(required = true)]
    pub top_artist: Option<EraArtist>,
    /// Up to [`ERA_DEFINING`] artists taking a larger share of it than of the whole range,
    /// the most distinctive first.
    pub defining: Vec<EraArtist>,
}

/// The eras of a range, oldest first.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Eras {
    /// The chapters, in order; none without music plays.
    pub chapters: Vec<Chapter>,
}

/// A month's listening: its music time and plays, and its unit vector of plays' time per
/// artist (dense artist index, ascending).
struct MonthMix {
    month: Month,
    ms: u64,
    plays: u64,
    mix: Vec<(u32, f64)>,
    /// Plays' time per artist (same order as `mix`).
    raw: Vec<(u32, u64)>,
}

/// The local month of instants (by end time), reading the time zone only near a month's
/// start: an offset is under a day, so an instant whose UTC day and both neighbours lie in
/// one month is in that month locally too.
struct LocalMonths {
    settings: Settings,
    /// The UTC day last asked about, and its month when the zone cannot change it.
    day: i64,
    month: Option<Month>,
}

impl LocalMonths {
    fn new(settings: Settings) -> LocalMonths {
        LocalMonths {
            settings,
            day: i64::MIN,
            month: None,
        }
    }

    fn month(&mut self, utc_ms: i64) -> Month {
        let day = utc_ms.div_euclid(DAY_MS);
        if day != self.day {
            self.day = day;
            let month = |d: i64| Day(d as i32).month();
            let m = month(day);
            self.month = (month(day - 1) == m && month(day + 1) == m).then_some(m);
        }
        self.month
            .unwrap_or_else(|| local_day_hour(self.settings.tz, utc_ms).0.month())
    }
}

fn dot(a: &[(u32, f64)], b: &[(u32, f64)]) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// The eras of the music in `range` (by end time), as the module documentation describes.
pub fn eras(range: &[Play], strings: &Strings, settings: Settings) -> Eras {
    let (months, names) = month_mixes(range, strings, settings);
    let mut overall = vec![0u64; names.len()];
    for m in &months {
        for &(a, ms) in &m.raw {
            overall[a as usize] += ms;
        }
    }
    let grand: u64 = overall.iter().sum();
    let chapters = cut(&months, names.len())
        .into_iter()
        .map(|(from, to)| chapter_view(&months[from..to], &overall, grand, &names, strings))
        .collect();
    Eras { chapters }
}

/// The months of `range` with a music play, in order, and the artists their vectors index
/// (in order of first play, so deterministic for a given range).
fn month_mixes(range: &[Play], strings: &Strings, settings: Settings) -> (Vec<MonthMix>, Vec<Sym>) {
    // Artists by dense index, found through a table by symbol: no hashing per stream.
    let mut index: Vec<u32> = vec![u32::MAX; strings.len() + 2];
    let mut names: Vec<Sym> = Vec::new();
    // Plays' time per (month, artist), and music time and plays per month. The streams come
    // by month, so the month being read is summed in a dense table and written out when the
    // next begins (a month met again, as a daylight-saving hour stepping back over its start
    // can do, is written out twice and merged below).
    let mut cells: Vec<((Month, u32), u64)> = Vec::new();
    let mut totals: Vec<(Month, (u64, u64))> = Vec::new();
    let mut time: Vec<u64> = Vec::new();
    let mut touched: Vec<u32> = Vec::new();
    let mut months_of = LocalMonths::new(settings);
    let flush = |month, time: &mut [u64], touched: &mut Vec<u32>, cells: &mut Vec<_>| {
        for a in touched.drain(..) {
            cells.push(((month, a), std::mem::take(&mut time[a as usize])));
        }
    };
    for p in range.iter().filter(|p| p.kind == Kind::Track) {
        let month = months_of.month(p.end_ms);
        if totals.last().is_none_or(|t| t.0 != month) {
            if let Some(&(m, _)) = totals.last() {
                flush(m, &mut time, &mut touched, &mut cells);
            }
            totals.push((month, (0, 0)));
        }
        let t = &mut totals.last_mut().expect("pushed").1;
        t.0 += p.ms_played;
        if p.ms_played < settings.min_play_ms {
            continue;
        }
        t.1 += 1;
        if p.creator.is_some() && p.ms_played > 0 {
            let at = p.creator.0 as usize;
            if at >= index.len() {
                index.resize(at + 1, u32::MAX);
            }
            if index[at] == u32::MAX {
                index[at] = names.len() as u32;
                names.push(p.creator);
                time.push(0);
            }
            let a = index[at] as usize;
            if time[a] == 0 {
                touched.push(a as u32);
            }
            time[a] += p.ms_played;
        }
    }
    if let Some(&(m, _)) = totals.last() {
        flush(m, &mut time, &mut touched, &mut cells);
    }
    cells.sort_unstable_by_key(|&(key, _)| key);
    cells.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    let mut month_totals: BTreeMap<Month, (u64, u64)> = BTreeMap::new();
    for (m, (ms, plays)) in totals {
        let t = month_totals.entry(m).or_default();
        t.0 += ms;
        t.1 += plays;
    }
    let mut months: Vec<MonthMix> = Vec::new();
    for ((month, a), ms) in cells {
        if months.last().is_none_or(|m| m.month != month) {
            let (ms, plays) = month_totals.get(&month).copied().unwrap_or_default();
            months.push(MonthMix {
                month,
                ms,
                plays,
                mix: Vec::new(),
                raw: Vec::new(),
            });
        }
        months.last_mut().expect("pushed").raw.push((a, ms));
    }
    for m in &mut months {
        let norm = m
            .raw
            .iter()
            .map(|&(_, ms)| (ms as f64) * (ms as f64))
            .sum::<f64>()
            .sqrt();
        m.mix = m.raw.iter().map(|&(a, ms)| (a, ms as f64 / norm)).collect();
    }
    (months, names)
}

/// Where the chapters of `months` begin and end (`start..end` indices), over vectors of
/// `artists` dimensions.
fn cut(months: &[MonthMix], artists: usize) -> Vec<(usize, usize)> {
    // `chapter` is the sum of the current chapter's unit vectors (dense), `norm2` its squared
    // length, kept as months are added.
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    let mut chapter = vec![0.0f64; artists];
    let mut norm2 = 0.0f64;
    let mut start = 0;
    let into = |chapter: &mut Vec<f64>, norm2: &mut f64, mix: &[(u32, f64)]| {
        let across: f64 = mix.iter().map(|&(a, x)| chapter[a as usize] * x).sum();
        *norm2 += 2.0 * across + 1.0;
        for &(a, x) in mix {
            chapter[a as usize] += x;
        }
    };
    for i in 0..months.len() {
        if i > start && i - start >= MIN_ERA_MONTHS {
            let at = |mix: &[(u32, f64)]| -> f64 {
                mix.iter().map(|&(a, x)| chapter[a as usize] * x).sum()
            };
            let (towards, probe_norm) = match months.get(i + 1) {
                Some(next) => (
                    at(&months[i].mix) + at(&next.mix),
                    (2.0 + 2.0 * dot(&months[i].mix, &next.mix)).sqrt(),
                ),
                None => (at(&months[i].mix), 1.0),
            };
            let similarity = towards / (norm2.sqrt() * probe_norm);
            if similarity < ERA_SIMILARITY {
                bounds.push((start, i));
                chapter.iter_mut().for_each(|x| *x = 0.0);
                norm2 = 0.0;
                start = i;
            }
        }
        into(&mut chapter, &mut norm2, &months[i].mix);
    }
    if !months.is_empty() {
        bounds.push((start, months.len()));
    }
    bounds
}

fn chapter_view(
    months: &[MonthMix],
    overall: &[u64],
    grand: u64,
    names: &[Sym],
    strings: &Strings,
) -> Chapter {
    let mut time: HashMap<u32, u64> = HashMap::new();
    for m in months {
        for &(a, ms) in &m.raw {
            *time.entry(a).or_default() += ms;
        }
    }
    let total: u64 = time.values().sum();
    let view = |a: u32, ms: u64| EraArtist {
        name: strings.get(names[a as usize]).to_string(),
        ms_played: ms,
        share: ms as f64 / total as f64,
        overall_share: overall[a as usize] as f64 / grand as f64,
    };
    let mut artists: Vec<EraArtist> = time.into_iter().map(|(a, ms)| view(a, ms)).collect();
    let top_artist = artists
        .iter()
        .min_by(|x, y| {
            y.ms_played
                .cmp(&x.ms_played)
                .then_with(|| x.name.cmp(&y.name))
        })
        .cloned();
    let score = |a: &EraArtist| a.share * (a.share / a.overall_share).ln();
    artists.retain(|a| a.share > a.overall_share);
    artists.sort_by(|x, y| {
        score(y)
            .total_cmp(&score(x))
            .then_with(|| x.name.cmp(&y.name))
    });
    artists.truncate(ERA_DEFINING);
    Chapter {
        from: months.first().map(|m| m.month.label()).unwrap_or_default(),
        to: months.last().map(|m| m.month.label()).unwrap_or_default(),
        months: months.len(),
        ms_played: months.iter().map(|m| m.ms).sum(),
        plays: months.iter().map(|m| m.plays).sum(),
        top_artist,
        defining: artists,
    }
}

/// An album sat through, and how often.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SatAlbum {
    /// The album.
    pub album: String,
    /// Its artist.
    pub artist: String,
    /// Sittings of it.
    pub sittings: u64,
    /// Milliseconds played in them.
    pub ms_played: u64,
}

/// One album sitting.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Sitting {
    /// The album.
    pub album: String,
    /// Its artist.
    pub artist: String,
    /// The local day it ended, `YYYY-MM-DD`.
    pub day: String,
    /// Tracks played.
    pub tracks: usize,
    /// Milliseconds played.
    pub ms_played: u64,
}

/// The album sittings of a range.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Sittings {
    /// Sittings in the range.
    pub sittings: u64,
    /// Milliseconds played in them.
    pub ms_played: u64,
    /// Up to [`SITTINGS_LISTED`] albums, the most sat through first (ties: by album, then
    /// artist).
    pub albums: Vec<SatAlbum>,
    /// Up to [`SITTINGS_LISTED`] sittings, the latest first.
    pub latest: Vec<Sitting>,
}

/// The run of one album being walked (its titles are kept beside it).
struct Run {
    album: (Sym, Sym),
    ms: u64,
    end_ms: i64,
    /// Whether its last stream ran to its end.
    ended: bool,
}

/// A sitting found: artist, album, tracks, milliseconds, end.
type Found = (Sym, Sym, usize, u64, i64);

/// The album sittings in `range` (by end time), as the module documentation describes.
pub fn sittings(range: &[Play], strings: &Strings, settings: Settings) -> Sittings {
    let mut found: Vec<Found> = Vec::new();
    if let Some(done) = strings.lookup("trackdone") {
        let close = |run: Option<Run>, titles: &[Sym], found: &mut Vec<Found>| {
            if let Some(r) = run.filter(|r| r.ended && titles.len() >= MIN_SITTING_TRACKS) {
                found.push((r.album.0, r.album.1, titles.len(), r.ms, r.end_ms));
            }
        };
        let mut run: Option<Run> = None;
        // The current run's titles: one buffer for every run, no allocation per stream.
        let mut titles: Vec<Sym> = Vec::new();
        for p in range {
            let album_track = p.kind == Kind::Track
                && p.creator.is_some()
                && p.collection.is_some()
                && p.title.is_some()
                && p.shuffle == Some(false);
            let ended = p.reason_end == done;
            if let Some(r) = run.as_mut().filter(|r| {
                album_track
                    && r.ended
                    && r.album == (p.creator, p.collection)
                    && p.reason_start == done
                    && p.start_ms() - r.end_ms <= SITTING_GAP_MS
                    && !titles.contains(&p.title)
            }) {
                titles.push(p.title);
                r.ms += p.ms_played;
                r.end_ms = p.end_ms;
                r.ended = ended;
                continue;
            }
            close(run.take(), &titles, &mut found);
            titles.clear();
            if album_track {
                titles.push(p.title);
                run = Some(Run {
                    album: (p.creator, p.collection),
                    ms: p.ms_played,
                    end_ms: p.end_ms,
                    ended,
                });
            }
        }
        close(run, &titles, &mut found);
    }

    let mut albums: HashMap<(Sym, Sym), (u64, u64)> = HashMap::new();
    for &(artist, album, _, ms, _) in &found {
        let a = albums.entry((artist, album)).or_default();
        a.0 += 1;
        a.1 += ms;
    }
    let mut albums: Vec<SatAlbum> = albums
        .into_iter()
        .map(|((artist, album), (n, ms))| SatAlbum {
            album: strings.get(album).to_string(),
            artist: strings.get(artist).to_string(),
            sittings: n,
            ms_played: ms,
        })
        .collect();
    albums.sort_by(|x, y| {
        y.sittings
            .cmp(&x.sittings)
            .then_with(|| x.album.cmp(&y.album))
            .then_with(|| x.artist.cmp(&y.artist))
    });
    albums.truncate(SITTINGS_LISTED);
    Sittings {
        sittings: found.len() as u64,
        ms_played: found.iter().map(|f| f.3).sum(),
        albums,
        latest: found
            .iter()
            .rev()
            .take(SITTINGS_LISTED)
            .map(|&(artist, album, tracks, ms, end_ms)| Sitting {
                album: strings.get(album).to_string(),
                artist: strings.get(artist).to_string(),
                day: local_day_hour(settings.tz, end_ms).0.label(),
                tracks,
                ms_played: ms,
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

    /// Milliseconds at a UTC date and time.
    fn at(y: i64, m: u32, d: u32, h: i64, min: i64) -> i64 {
        days_from_civil(y, m, d) * 86_400_000 + h * 3_600_000 + min * 60_000
    }

    fn track(s: &mut Strings, end_ms: i64, ms: u64, artist: &str, title: &str) -> Play {
        let names = [s.intern(title), s.intern(artist), s.intern("Album")];
        Play::bare(end_ms, ms, Kind::Track, Source::Extended, names)
    }

    fn berlin() -> Settings {
        Settings {
            tz: "Europe/Berlin".parse::<Tz>().unwrap(),
            ..Settings::default()
        }
    }

    fn spans(e: &Eras) -> Vec<(&str, &str, usize)> {
        e.chapters
            .iter()
            .map(|c| (c.from.as_str(), c.to.as_str(), c.months))
            .collect()
    }

    #[test]
    fn a_new_chapter_starts_where_the_mix_of_artists_shifts_but_not_at_a_one_off_month() {
        let mut s = Strings::default();
        // One 10-minute play a month: Ada for three months, Bo once (a one-off April), Ada
        // again, then Cy for three months.
        let artists = ["Ada", "Ada", "Ada", "Bo", "Ada", "Cy", "Cy", "Cy"];
        let mut plays: Vec<Play> = artists
            .iter()
            .enumerate()
            .map(|(i, a)| track(&mut s, at(2020, i as u32 + 1, 15, 12, 0), 10 * MIN, a, "t"))
            .collect();
        // In February a skipped stream of Cy (10 s: time, not a play) and a podcast: neither
        // counts in the mix.
        plays.push(track(&mut s, at(2020, 2, 20, 12, 0), 10_000, "Cy", "t"));
        let show = [s.intern("Ep"), s.intern("Show"), Sym::NONE];
        plays.push(Play::bare(
            at(2020, 2, 21, 12, 0),
            60 * MIN,
            Kind::Episode,
            Source::Extended,
            show,
        ));
        plays.sort_by_key(|p| p.end_ms);
        let e = eras(&plays, &s, Settings::default());
        // April against January–March smoothed with May: 3 / (3 × √2) ≈ 0.71, stays; June
        // smoothed with July shares nothing with the chapter: 0, a new one.
        assert_eq!(
            spans(&e),
            [("2020-01", "2020-05", 5), ("2020-06", "2020-08", 3)]
        );
        let first = &e.chapters[0];
        assert_eq!((first.ms_played, first.plays), (50 * MIN + 10_000, 5));
        let top = first.top_artist.as_ref().unwrap();
        assert_eq!((top.name.as_str(), top.ms_played), ("Ada", 40 * MIN));
        // Ada: 40 of the chapter's 50 minutes (0.8) against 40 of 80 overall (0.5): 0.8 ×
        // ln 1.6 ≈ 0.376; Bo: 0.2 against 0.125, 0.2 × ln 1.6 ≈ 0.094.
        let defining: Vec<(&str, f64, f64)> = first
            .defining
            .iter()
            .map(|a| (a.name.as_str(), a.share, a.overall_share))
            .collect();
        assert_eq!(defining, [("Ada", 0.8, 0.5), ("Bo", 0.2, 0.125)]);
        let second = &e.chapters[1];
        assert_eq!((second.ms_played, second.plays), (30 * MIN, 3));
        let names: Vec<&str> = second.defining.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Cy"]);
    }

    #[test]
    fn a_chapter_is_at_least_three_months_and_one_chapter_has_no_defining_artists() {
        let mut s = Strings::default();
        // Ada in the last hour of 2019 (UTC), then Bo from February: February is unlike
        // January, but the chapter is one month long and goes on.
        let plays = vec![
            track(&mut s, at(2019, 12, 31, 23, 30), 10 * MIN, "Ada", "t"),
            track(&mut s, at(2020, 2, 10, 12, 0), 10 * MIN, "Bo", "t"),
            track(&mut s, at(2020, 3, 10, 12, 0), 10 * MIN, "Bo", "t"),
            track(&mut s, at(2020, 4, 10, 12, 0), 10 * MIN, "Bo", "t"),
        ];
        let e = eras(&plays, &s, Settings::default());
        assert_eq!(spans(&e), [("2019-12", "2020-04", 4)]);
        assert!(
            e.chapters[0].defining.is_empty(),
            "the chapter is the whole"
        );
        assert_eq!(e.chapters[0].top_artist.as_ref().unwrap().name, "Bo");
        // In Berlin the first play ended at 00:30 on 1 January.
        let e = eras(&plays, &s, berlin());
        assert_eq!(spans(&e), [("2020-01", "2020-04", 4)]);
        assert!(eras(&[], &s, Settings::default()).chapters.is_empty());
    }

    /// An album's tracks played in a row from `start`, shuffle off, each to its end and each
    /// after the first because the one before ended.
    fn side(s: &mut Strings, album: &str, tracks: &[(&str, u64)], start: i64) -> Vec<Play> {
        let mut end = start;
        tracks
            .iter()
            .enumerate()
            .map(|(i, &(title, ms))| {
                end += ms as i64;
                let names = [s.intern(title), s.intern("Joni"), s.intern(album)];
                let mut p = Play::bare(end, ms, Kind::Track, Source::Extended, names);
                p.shuffle = Some(false);
                p.reason_start = s.intern(if i == 0 { "clickrow" } else { "trackdone" });
                p.reason_end = s.intern("trackdone");
                p
            })
            .collect()
    }

    fn four_minutes(titles: &[&'static str]) -> Vec<(&'static str, u64)> {
        titles.iter().map(|t| (*t, 4 * MIN)).collect()
    }

    #[test]
    fn albums_played_through_in_order_are_sittings() {
        let mut s = Strings::default();
        let five = four_minutes(&["a", "b", "c", "d", "e"]);
        let mut plays = side(&mut s, "Blue", &five, at(2021, 3, 5, 20, 0));
        // Another album's single right after: no sitting, and it ends Blue's run.
        plays.extend(side(&mut s, "Radio", &five[..1], at(2021, 3, 5, 20, 20)));
        plays.extend(side(&mut s, "Ariel", &five, at(2021, 3, 6, 10, 0)));
        // Blue again, with a 20-second interlude (it ran to its end: it counts), ending at
        // 23:24:20 UTC, 01:24 on 2 April in Berlin.
        let mut six = four_minutes(&["a", "b", "c", "d", "e"]);
        six.insert(2, ("interlude", 20_000));
        plays.extend(side(&mut s, "Blue", &six, at(2021, 4, 1, 23, 4)));
        plays.extend(side(&mut s, "Hejira", &five, at(2021, 5, 1, 12, 0)));

        let found = sittings(&plays, &s, berlin());
        assert_eq!(found.sittings, 4);
        assert_eq!(found.ms_played, 80 * MIN + 20_000);
        let albums: Vec<(&str, &str, u64, u64)> = found
            .albums
            .iter()
            .map(|a| (a.album.as_str(), a.artist.as_str(), a.sittings, a.ms_played))
            .collect();
        assert_eq!(
            albums,
            [
                ("Blue", "Joni", 2, 40 * MIN + 20_000),
                ("Ariel", "Joni", 1, 20 * MIN),
                ("Hejira", "Joni", 1, 20 * MIN),
            ]
        );
        let latest: Vec<(&str, &str, usize)> = found
            .latest
            .iter()
            .map(|x| (x.album.as_str(), x.day.as_str(), x.tracks))
            .collect();
        assert_eq!(
            latest,
            [
                ("Hejira", "2021-05-01", 5),
                ("Blue", "2021-04-02", 6),
                ("Ariel", "2021-03-06", 5),
                ("Blue", "2021-03-05", 5),
            ]
        );
        let utc = sittings(&plays, &s, Settings::default());
        assert_eq!(utc.latest[1].day, "2021-04-01");
    }

    #[test]
    fn a_sitting_is_broken_by_shuffle_a_repeat_a_gap_a_stop_or_another_stream() {
        let mut s = Strings::default();
        let six = four_minutes(&["a", "b", "c", "d", "e", "f"]);
        let base = side(&mut s, "Blue", &six, at(2021, 3, 5, 20, 0));
        let count = |plays: &[Play], s: &Strings| sittings(plays, s, Settings::default()).sittings;
        assert_eq!(count(&base, &s), 1, "six tracks in order are one sitting");

        // Shuffle on for the fourth: runs of three and two.
        let mut shuffled = base.clone();
        shuffled[3].shuffle = Some(true);
        assert_eq!(count(&shuffled, &s), 0);
        // Shuffle not recorded (account data) is not "off".
        let mut unknown = base.clone();
        unknown.iter_mut().for_each(|p| p.shuffle = None);
        assert_eq!(count(&unknown, &s), 0);

        // a b c a d e: six streams of five tracks, but the repeat of "a" starts a new run.
        let repeated = side(
            &mut s,
            "Blue",
            &four_minutes(&["a", "b", "c", "a", "d", "e"]),
            at(2021, 3, 5, 20, 0),
        );
        assert_eq!(count(&repeated, &s), 0);

        // Ten minutes between the third and the fourth.
        let mut gap = base.clone();
        gap[3..]
            .iter_mut()
            .for_each(|p| p.end_ms += 10 * MIN as i64);
        assert_eq!(count(&gap, &s), 0);

        // The last track stopped before its end.
        let mut stopped = base.clone();
        stopped[5].reason_end = s.intern("endplay");
        assert_eq!(count(&stopped, &s), 0);

        // Another stream between the third and the fourth.
        let mut interrupted = base.clone();
        let mut other = base[2];
        other.collection = s.intern("Court");
        other.end_ms += 1;
        interrupted.insert(3, other);
        assert_eq!(count(&interrupted, &s), 0);

        assert_eq!(count(&[], &s), 0);
        assert_eq!(count(&base, &Strings::default()), 0, "no trackdone at all");
    }
}
