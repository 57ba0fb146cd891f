//! The listening model, after `gen_history.py`: how many streams a day, sessions at
//! plausible hours, Zipf-popular artists whose ranking is redrawn every year, podcasts, and
//! how each stream started and ended.

use crate::Options;
use crate::catalog::Catalog;
use crate::rng::Rng;
use crate::time::{DAY, HOUR, MINUTE, SECOND, days_from_civil, weekday, year_of, year_start};

/// `reason_start` values; index 0 follows a track that played to its end, the others follow
/// a skip, a pause or a new session.
pub(crate) const REASONS_START: [&str; 7] = [
    "trackdone",
    "clickrow",
    "fwdbtn",
    "playbtn",
    "appload",
    "backbtn",
    "remote",
];

/// `reason_end` values, in the order of [`End`].
pub(crate) const REASONS_END: [&str; 10] = [
    "trackdone",
    "fwdbtn",
    "endplay",
    "logout",
    "backbtn",
    "unexpected-exit",
    "unexpected-exit-while-paused",
    "remote",
    "trackerror",
    "unknown",
];
const TRACKDONE: u8 = 0;
const FWDBTN: u8 = 1;
const ENDPLAY: u8 = 2;
const LOGOUT: u8 = 3;
const BACKBTN: u8 = 4;
const RARE_ENDS: u8 = 5;

/// Platform strings: verbose ones (written for streams before 2022-10-11), then short ones.
/// The first three of each are a listener's usual devices; the rest show up now and then.
pub(crate) const PLATFORMS: [&str; 16] = [
    "iOS 14.7.1 (iPhone10,3)",
    "Android OS 12 API 31 (samsung, SM-G781U)",
    "OS X 10.15.1 [x86 8]",
    "Windows 10 (10.0.18363; x64; AppX)",
    "web_player windows 10;chrome 95.0.4638.69;desktop",
    "Partner sonos_imx6 Sonos;One;;",
    "Partner google cast_tv;Chromecast;;",
    "Partner amazon_salmon Amazon;Echo_Dot;0f1e2d3c4b5a69788796a5b4c3d2e1f0;;tpapi",
    "android",
    "ios",
    "windows",
    "osx",
    "cast",
    "web_player",
    "playstation",
    "linux",
];
const VERBOSE: u8 = 0;
const SHORT: u8 = 8;
const KINDS_OF_PLATFORM: usize = 8;

const HOURS: [i64; 17] = [7, 8, 8, 9, 12, 13, 16, 17, 18, 19, 20, 21, 21, 22, 23, 0, 1];
const ABROAD: [[u8; 2]; 5] = [*b"FR", *b"IT", *b"GB", *b"NL", *b"ZZ"];
const HOMES: [[u8; 2]; 7] = [*b"PL", *b"US", *b"DE", *b"SE", *b"BR", *b"JP", *b"ES"];

/// What a stream played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum What {
    /// Index into [`Catalog::tracks`].
    Track(u32),
    /// Index into [`Catalog::episodes`].
    Episode(u32),
    /// A row Spotify exports without metadata (of a podcast session or not).
    Nothing { podcast: bool },
}

/// An address from the documentation ranges (RFC 5737, RFC 3849): never a real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ip {
    /// `192.0.2.n`
    V4(u8),
    /// `2001:db8::n` (hex)
    V6(u16),
}

impl Ip {
    pub(crate) fn text(self) -> String {
        match self {
            Ip::V4(n) => format!("192.0.2.{n}"),
            Ip::V6(n) => format!("2001:db8::{n:x}"),
        }
    }
}

/// One stream, as the extended history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Rec {
    /// End, to the millisecond (written truncated to the second).
    pub(crate) end_ms: i64,
    /// Start (written as `offline_timestamp`).
    pub(crate) start_ms: i64,
    pub(crate) ms_played: u32,
    pub(crate) what: What,
    /// Index into [`REASONS_START`].
    pub(crate) reason_start: u8,
    /// Index into [`REASONS_END`].
    pub(crate) reason_end: u8,
    pub(crate) shuffle: bool,
    pub(crate) skipped: bool,
    /// Exports up to mid-2023 leave `skipped` null for about 90 % of rows: this row would be
    /// one of them. Drawn for every generation so all generations describe the same streams.
    pub(crate) skipped_unrecorded: bool,
    pub(crate) offline: bool,
    pub(crate) incognito: bool,
    pub(crate) country: [u8; 2],
    pub(crate) ip: Ip,
    /// Index into [`PLATFORMS`].
    pub(crate) platform: u8,
}

/// Who listened: the username and home country.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) username: String,
    pub(crate) home: [u8; 2],
}

impl Listener {
    pub(crate) fn new(rng: &mut Rng) -> Listener {
        let home = *rng.pick(&HOMES);
        let username = (0..11)
            .map(|_| char::from(b'0' + rng.index(10) as u8))
            .collect();
        Listener { username, home }
    }
}

/// Streams per day: gamma-distributed around the target, more at weekends, none on 4 % of
/// days (holidays, a lost phone), then nudged on random listening days so the total is
/// exactly `plays`.
fn streams_per_day(o: &Options, rng: &mut Rng, start: i64, n_days: usize) -> Vec<u32> {
    let per_day = o.plays as f64 / n_days as f64;
    let mut counts = vec![0u32; n_days];
    let mut on = Vec::with_capacity(n_days);
    for (d, count) in counts.iter_mut().enumerate() {
        let weekend = weekday(start + d as i64 * DAY) >= 5;
        let mean = per_day * if weekend { 1.3 } else { 0.9 } / (0.96 * 1.014);
        let x = rng.gamma2(mean / 2.0);
        let n = x as u32 + u32::from(rng.chance(x.fract()));
        if rng.chance(0.04) {
            continue;
        }
        *count = n;
        on.push(d);
    }
    if on.is_empty() {
        on = (0..n_days).collect();
    }
    let mut total: usize = counts.iter().map(|&c| c as usize).sum();
    while total < o.plays {
        counts[*rng.pick(&on)] += 1;
        total += 1;
    }
    while total > o.plays {
        let d = *rng.pick(&on);
        if counts[d] > 0 {
            counts[d] -= 1;
            total -= 1;
        }
    }
    counts
}

/// Cumulative Zipf weights (exponent 1.1) over the artists in a random order: one year's
/// taste.
fn era_weights(rng: &mut Rng, n_artists: usize) -> Vec<f64> {
    let mut order: Vec<u32> = (0..n_artists as u32).collect();
    rng.shuffle(&mut order);
    let mut w = vec![0.0; n_artists];
    for (rank, &a) in order.iter().enumerate() {
        w[a as usize] = 1.0 / ((rank + 1) as f64).powf(1.1);
    }
    let mut acc = 0.0;
    for x in &mut w {
        acc += *x;
        *x = acc;
    }
    w
}

/// Every stream of the listener's life, in the order they happened.
pub(crate) fn listen(o: &Options, cat: &Catalog, home: [u8; 2], rng: &mut Rng) -> Vec<Rec> {
    let start = year_start(o.first_year);
    let n_days = ((year_start(o.last_year + 1) - start) / DAY) as usize;
    let counts = streams_per_day(o, rng, start, n_days);
    let switch = days_from_civil(2022, 10, 11) * DAY;

    let mut recs = Vec::with_capacity(o.plays + (o.plays as f64 * o.dupes) as usize + 1);
    let mut cum: Vec<f64> = Vec::new();
    let mut era_year = None;
    for (d, &count) in counts.iter().enumerate() {
        let day = start + d as i64 * DAY;
        let year = year_of(day);
        if era_year != Some(year) {
            cum = era_weights(rng, cat.artists.len());
            era_year = Some(year);
        }
        let mut n_today = count as usize;
        while n_today > 0 {
            let mut t = day
                + rng.pick(&HOURS) * HOUR
                + rng.range(0, 59) as i64 * MINUTE
                + rng.range(0, 59) as i64 * SECOND;
            let podcast = rng.chance(0.06);
            let wanted = if podcast {
                rng.range(1, 2) as usize
            } else {
                (rng.exp(12.0) as usize).max(1)
            };
            let session = wanted.min(n_today);
            let shuffle = rng.chance(0.45);
            let wide = rng.chance(0.1);
            let kinds = if wide { KINDS_OF_PLATFORM } else { 3 };
            let platform_verbose = VERBOSE + rng.index(kinds) as u8;
            let platform_short = SHORT + rng.index(kinds) as u8;
            let country = if rng.chance(0.97) {
                home
            } else {
                *rng.pick(&ABROAD)
            };
            let ip = if rng.chance(0.8) {
                Ip::V4(rng.range(1, 254) as u8)
            } else {
                Ip::V6(rng.range(1, 9999) as u16)
            };
            let offline = rng.chance(0.05);
            let incognito = rng.chance(0.01);
            let mut prev_done = false;
            for _ in 0..session {
                let (mut what, mut played) = if podcast {
                    let show = &cat.shows[rng.index(cat.shows.len())];
                    let ep = show.episodes.start + rng.index(show.episodes.len()) as u32;
                    let dur = cat.episodes[ep as usize].duration_ms;
                    let played = if rng.chance(0.5) {
                        dur
                    } else {
                        rng.range(0, u64::from(dur)) as u32
                    };
                    (What::Episode(ep), played)
                } else {
                    let x = rng.f64() * cum.last().copied().unwrap_or(0.0);
                    let a = cum.partition_point(|&c| c <= x).min(cum.len() - 1);
                    let tracks = &cat.artists[a].tracks;
                    let track = tracks.start + rng.index(tracks.len()) as u32;
                    (What::Track(track), cat.tracks[track as usize].duration_ms)
                };
                let r = rng.f64();
                let reason_end = if r < 0.62 {
                    TRACKDONE
                } else if r < 0.82 {
                    played = played.min(rng.exp(14_000.0) as u32);
                    FWDBTN
                } else if r < 0.90 {
                    played = rng.range(0, u64::from(played)) as u32;
                    ENDPLAY
                } else if r < 0.95 {
                    played = rng.range(0, u64::from(played)) as u32;
                    LOGOUT
                } else if r < 0.98 {
                    played = played.min(rng.exp(8_000.0) as u32);
                    BACKBTN
                } else {
                    let e = RARE_ENDS + rng.index(REASONS_END.len() - RARE_ENDS as usize) as u8;
                    played = rng.range(0, u64::from(played)) as u32;
                    e
                };
                if rng.chance(0.003) {
                    what = What::Nothing { podcast };
                }
                let begin = t;
                t += i64::from(played);
                let reason_start = if prev_done {
                    0
                } else {
                    1 + rng.index(REASONS_START.len() - 1) as u8
                };
                let skipped = matches!(reason_end, FWDBTN | BACKBTN)
                    || (reason_end == ENDPLAY && rng.chance(0.5));
                recs.push(Rec {
                    end_ms: t,
                    start_ms: begin,
                    ms_played: played,
                    what,
                    reason_start,
                    reason_end,
                    shuffle,
                    skipped,
                    skipped_unrecorded: rng.chance(0.9),
                    offline,
                    incognito,
                    country,
                    ip,
                    platform: if t < switch {
                        platform_verbose
                    } else {
                        platform_short
                    },
                });
                prev_done = reason_end == TRACKDONE;
                t += rng.range(0, 3) as i64 * SECOND;
                n_today -= 1;
            }
        }
    }
    recs
}

/// Adds exact duplicates, sorts by end time, and swaps neighbours when the file should be
/// unsorted, as real files are.
pub(crate) fn disorder(recs: &mut Vec<Rec>, o: &Options, rng: &mut Rng) {
    if !recs.is_empty() {
        for _ in 0..(recs.len() as f64 * o.dupes) as usize {
            let copy = recs[rng.index(recs.len())];
            recs.push(copy);
        }
    }
    recs.sort_by_key(|r| r.end_ms);
    if o.unsorted {
        for i in (0..recs.len().saturating_sub(1)).step_by(2) {
            if rng.chance(0.3) {
                recs.swap(i, i + 1);
            }
        }
    }
}
