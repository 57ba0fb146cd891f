//! The overview of `/api/v1/stats`, the dashboard's headline numbers (`/api/v1/dashboard`) and
//! `backspin inspect`'s facts agree, for any selection of uploads and any range: each is held
//! here against an independent count written straight from the rules in docs/DESIGN.md (which
//! uploads' streams count, a stream once, its time split across local days, identity by name).
//!
//! Random uploads share streams (the same stream in several exports), mix extended history and
//! account data (extended history shadows account rows across uploads), and random ranges end
//! mid-month, across both daylight-saving changes of 2024, in four time zones.

use std::collections::{BTreeMap, BTreeSet, HashMap};

// The property tests' fixed-seed configuration, shared with schema's.
#[path = "../../schema/tests/common/mod.rs"]
mod common;

use chrono::{NaiveDate, TimeZone};
use engine::overview::StatsView;
use engine::{Content, Prepared};
use proptest::prelude::*;
use schema::aggregate::Day;
use schema::facts::Facts;
use schema::{Artifact, Country, Kind, Platform, Play, Settings, Source, Strings, Sym, Tz};

/// 2024-03-05T00:00:00Z: the streams end in the five weeks after it (a month end, the US and
/// the EU clock changes).
const START_MS: i64 = 1_709_596_800_000;
const SPAN_MS: i64 = 35 * 86_400_000;
const ZONES: [&str; 4] = [
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Kolkata",
];
const ARTISTS: [&str; 4] = ["Aurora", "Bonobo", "Caribou", "Daft Punk"];
const TITLES: [&str; 5] = ["Runaway", "Kerala", "Odessa", "One", "Intro"];

/// One stream of the pool the uploads draw from.
#[derive(Debug, Clone)]
struct Stream {
    end_ms: i64,
    ms_played: u64,
    kind: Kind,
    source: Source,
    artist: usize,
    title: usize,
    skipped: Option<bool>,
}

fn stream() -> impl Strategy<Value = Stream> {
    (
        0..SPAN_MS,
        prop_oneof![Just(0u64), 0..40_000u64, 0..3 * 3_600_000u64],
        prop_oneof![
            6 => Just(Kind::Track),
            1 => Just(Kind::Episode),
            1 => Just(Kind::Unknown)
        ],
        prop_oneof![3 => Just(Source::Extended), 1 => Just(Source::Account)],
        0..ARTISTS.len(),
        0..TITLES.len(),
        prop_oneof![Just(None), Just(Some(false)), Just(Some(true))],
    )
        .prop_map(|(at, ms_played, kind, source, artist, title, skipped)| {
            let mut end_ms = START_MS + at;
            if source == Source::Account {
                // Account data's endTime is minute-truncated.
                end_ms -= end_ms.rem_euclid(60_000);
            }
            Stream {
                end_ms,
                ms_played,
                kind,
                source,
                artist,
                title,
                skipped: if source == Source::Account {
                    None
                } else {
                    skipped
                },
            }
        })
}

/// A case: the pool, each upload's streams (indices into the pool), the selection (a bit per
/// upload, never empty), the range (day offsets from the pool's first day) and the settings.
#[derive(Debug, Clone)]
struct Case {
    pool: Vec<Stream>,
    uploads: Vec<Vec<usize>>,
    selection: u8,
    from: Option<i64>,
    to: Option<i64>,
    zone: usize,
    min_play_ms: u64,
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(stream(), 1..40)
        .prop_flat_map(|pool| {
            let n = pool.len();
            (
                Just(pool),
                prop::collection::vec(prop::collection::vec(0..n, 0..30), 1..4),
                1u8..8,
                prop::option::of(-2i64..38),
                prop::option::of(-2i64..38),
                0..ZONES.len(),
                prop_oneof![Just(0u64), Just(30_000u64)],
            )
        })
        .prop_map(|(pool, uploads, selection, a, b, zone, min_play_ms)| {
            let (from, to) = match (a, b) {
                (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                other => other,
            };
            Case {
                selection: selection & ((1u8 << uploads.len()) - 1),
                pool,
                uploads,
                from,
                to,
                zone,
                min_play_ms,
            }
        })
        .prop_filter("the selection holds an upload", |c| c.selection != 0)
}

/// The names and plays of a pool: one string table, one play per stream.
fn plays_of(pool: &[Stream]) -> (Strings, Vec<Play>) {
    let mut strings = Strings::default();
    let plays = pool
        .iter()
        .map(|s| {
            let (title, creator, collection) = match s.kind {
                Kind::Unknown => (Sym::NONE, Sym::NONE, Sym::NONE),
                _ => (
                    strings.intern(TITLES[s.title]),
                    strings.intern(ARTISTS[s.artist]),
                    strings.intern("Album"),
                ),
            };
            let mut p = Play::bare(
                s.end_ms,
                s.ms_played,
                s.kind,
                s.source,
                [title, creator, collection],
            );
            p.skipped = s.skipped;
            p.platform = Platform::Other;
            p.country = Country::UNKNOWN;
            p
        })
        .collect();
    (strings, plays)
}

/// What the engine computes for a case: the `/api/v1/stats` overview, and the selection the
/// dashboards read (to ask it for more).
fn engine_view(c: &Case, tz: &str, settings: Settings) -> (StatsView, Prepared) {
    let ids: Vec<String> = (0..c.uploads.len()).map(|i| format!("u{i}")).collect();
    let artifact = Artifact::decode(&artifact_of(c).encode()).expect("the artifact reads back");
    let chosen: Vec<&str> = (0..c.uploads.len())
        .filter(|i| c.selection & (1 << i) != 0)
        .map(|i| ids[i].as_str())
        .collect();
    let plays = artifact.select(&chosen);
    let prepared = Prepared::new(plays, artifact.strings, settings);
    let range = (c.from.map(day_at), c.to.map(day_at));
    let chosen_ids = chosen.iter().map(|s| s.to_string()).collect();
    let view = StatsView::of(chosen_ids, tz, settings, Some(&prepared), range);
    (view, prepared)
}

/// The local day `offset` days after the pool's first.
fn day_at(offset: i64) -> Day {
    let date = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap() + chrono::Days::new(0);
    let date = date
        .checked_add_signed(chrono::Duration::days(offset))
        .unwrap();
    engine::selection::parse_day(&date.format("%Y-%m-%d").to_string(), "day").unwrap()
}

fn local_date(tz: Tz, ms: i64) -> NaiveDate {
    tz.timestamp_millis_opt(ms).unwrap().date_naive()
}

/// The instant a local day starts (the first instant of that date in `tz`).
fn midnight(tz: Tz, d: NaiveDate) -> i64 {
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap_or_else(|| {
            // A zone whose clocks skip midnight: the day starts an hour later.
            tz.from_local_datetime(&d.and_hms_opt(1, 0, 0).unwrap())
                .earliest()
                .unwrap()
        })
        .timestamp_millis()
}

/// The independent count: the numbers the rules give, from the pool.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    ms: u64,
    streams: u64,
    plays: u64,
    skips: u64,
    artists: usize,
    tracks: usize,
    days: BTreeSet<NaiveDate>,
    ms_by_month: BTreeMap<String, u64>,
    plays_by_month: BTreeMap<String, u64>,
    artist_totals: HashMap<String, (u64, u64)>,
    track_totals: HashMap<(String, String), (u64, u64)>,
}

fn expected(c: &Case, tz: Tz, settings: Settings) -> Expected {
    let (strings, plays) = plays_of(&c.pool);
    // The identity of a stream: the digest the worker uses (DESIGN.md's list of fields).
    let digest = |k: usize| schema::dedupe::stream_digest(&plays[k], &strings);
    let mut holders: BTreeMap<[u8; 16], (usize, BTreeSet<usize>)> = BTreeMap::new();
    for (u, held) in c.uploads.iter().enumerate() {
        for &k in held {
            holders
                .entry(digest(k))
                .or_insert((k, BTreeSet::new()))
                .1
                .insert(u);
        }
    }
    let selected = |u: usize| c.selection & (1 << u) != 0;
    let minute = |ms: i64| ms - ms.rem_euclid(60_000);
    // Each upload's extended history, first to last record, to the minute.
    let spans: Vec<Option<(i64, i64)>> = c
        .uploads
        .iter()
        .map(|held| {
            let ext = held
                .iter()
                .filter(|&&k| c.pool[k].source == Source::Extended)
                .map(|&k| minute(c.pool[k].end_ms));
            ext.clone().min().zip(ext.max())
        })
        .collect();
    let from = c.from.map(local_of_offset);
    let to = c.to.map(local_of_offset);
    let mut e = Expected::default();
    let mut artists = BTreeSet::new();
    let mut tracks = BTreeSet::new();
    for (k, held) in holders.values() {
        let s = &c.pool[*k];
        if !held.iter().any(|&u| selected(u)) {
            continue;
        }
        // Extended history of a chosen upload that does not hold an account row, and covers
        // its minute, shadows it.
        let shadowed = s.source == Source::Account
            && (0..c.uploads.len()).any(|u| {
                selected(u)
                    && !held.contains(&u)
                    && spans[u].is_some_and(|(lo, hi)| (lo..=hi).contains(&minute(s.end_ms)))
            });
        let end_day = local_date(tz, s.end_ms);
        if shadowed || from.is_some_and(|f| end_day < f) || to.is_some_and(|t| end_day > t) {
            continue;
        }
        let is_play = s.ms_played >= settings.min_play_ms;
        e.ms += s.ms_played;
        e.streams += 1;
        e.plays += u64::from(is_play);
        e.skips += u64::from(s.skipped == Some(true));
        let month = |d: NaiveDate| d.format("%Y-%m").to_string();
        *e.plays_by_month.entry(month(end_day)).or_default() += u64::from(is_play);
        // Time goes to each local day the stream covered; days before the range are left out
        // of the days and months (the totals keep it).
        let start = s.end_ms - s.ms_played as i64;
        let mut d = local_date(tz, start);
        while d <= end_day {
            let lo = midnight(tz, d).max(start);
            let hi = midnight(tz, d.succ_opt().unwrap()).min(s.end_ms);
            let ms = (hi - lo).max(0) as u64;
            if from.is_none_or(|f| d >= f) && (ms > 0 || d == end_day) {
                e.days.insert(d);
                *e.ms_by_month.entry(month(d)).or_default() += ms;
                e.plays_by_month.entry(month(d)).or_default();
            }
            d = d.succ_opt().unwrap();
        }
        if s.kind == Kind::Track {
            let (a, t) = (ARTISTS[s.artist].to_string(), TITLES[s.title].to_string());
            artists.insert(a.clone());
            tracks.insert((a.clone(), t.clone()));
            let add = |cell: &mut (u64, u64)| {
                cell.0 += s.ms_played;
                cell.1 += u64::from(is_play);
            };
            add(e.artist_totals.entry(a.clone()).or_default());
            add(e.track_totals.entry((a, t)).or_default());
        }
    }
    e.artists = artists.len();
    e.tracks = tracks.len();
    e
}

fn local_of_offset(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 5)
        .unwrap()
        .checked_add_signed(chrono::Duration::days(offset))
        .unwrap()
}

fn longest_run(days: &BTreeSet<NaiveDate>) -> i32 {
    let (mut best, mut run, mut last): (i32, i32, Option<NaiveDate>) = (0, 0, None);
    for &d in days {
        run = if last.and_then(|l| l.succ_opt()) == Some(d) {
            run + 1
        } else {
            1
        };
        best = best.max(run);
        last = Some(d);
    }
    best
}

proptest! {
    #![proptest_config(common::cases(400, 20))]

    #[test]
    fn the_overview_the_dashboard_and_inspect_count_the_same_streams(c in case()) {
        let tz_name = ZONES[c.zone];
        let settings = engine::selection::settings(tz_name, c.min_play_ms as i64);
        let (view, prepared) = engine_view(&c, tz_name, settings);
        let want = expected(&c, settings.tz, settings);

        // `/api/v1/stats` against the rules.
        prop_assert_eq!(view.total.ms_played, want.ms);
        prop_assert_eq!(view.total.streams, want.streams);
        prop_assert_eq!(view.total.plays, want.plays);
        prop_assert_eq!(view.total.skips, want.skips);
        prop_assert_eq!(view.distinct_artists, want.artists);
        prop_assert_eq!(view.distinct_tracks, want.tracks);
        prop_assert_eq!(view.days_listened, want.days.len());
        prop_assert_eq!(view.longest_streak_days, longest_run(&want.days));
        let label = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
        prop_assert_eq!(view.first_day.clone(), want.days.first().map(label));
        prop_assert_eq!(view.last_day.clone(), want.days.last().map(label));
        let months: BTreeMap<String, (u64, u64)> = view
            .by_month
            .iter()
            .map(|m| (m.month.clone(), (m.ms_played, m.plays)))
            .collect();
        let want_months: BTreeMap<String, (u64, u64)> = want
            .ms_by_month
            .iter()
            .map(|(m, ms)| (m.clone(), (*ms, want.plays_by_month[m])))
            .collect();
        prop_assert_eq!(months, want_months);
        // Top lists: each entry's numbers are the name's own, in order of time, as many as
        // there are (up to ten).
        prop_assert_eq!(view.top_artists.len(), want.artist_totals.len().min(10));
        prop_assert_eq!(view.top_tracks.len(), want.track_totals.len().min(10));
        for w in view.top_artists.windows(2).chain(view.top_tracks.windows(2)) {
            prop_assert!(w[0].ms_played >= w[1].ms_played);
        }
        for a in &view.top_artists {
            prop_assert_eq!(want.artist_totals[&a.name], (a.ms_played, a.plays));
        }
        for t in &view.top_tracks {
            let key = (t.by.clone().unwrap_or_default(), t.name.clone());
            prop_assert_eq!(want.track_totals[&key], (t.ms_played, t.plays));
        }

        // The dashboard's headline numbers (`/api/v1/dashboard`) are the same stats' overview.
        let range = (c.from.map(day_at), c.to.map(day_at));
        let o = engine::panels::overview(&prepared.stats(Content::All, range));
        prop_assert_eq!(o.total, view.total);
        prop_assert_eq!(o.artists, view.distinct_artists);
        prop_assert_eq!(o.tracks, view.distinct_tracks);
        prop_assert_eq!(o.days_listened, view.days_listened);

        // `backspin inspect`'s facts (computed straight from the plays, another code) on the
        // streams of the range agree with the overview.
        let in_range = prepared.slice(range);
        let facts = Facts::tally(in_range, &prepared.strings, settings);
        prop_assert_eq!(facts.total.ms, want.ms);
        prop_assert_eq!(facts.total.streams, want.streams);
        prop_assert_eq!(facts.total.plays, want.plays);
        prop_assert_eq!(facts.distinct_artists, want.artists);
        prop_assert_eq!(facts.distinct_tracks, want.tracks);
        if c.from.is_none() {
            // Days before the range's first day are not the range's (inspect has no range).
            prop_assert_eq!(facts.days_listened, want.days.len());
        }
    }
}

proptest! {
    #![proptest_config(common::cases(300, 20))]

    /// A range's dashboard read from a selection prepared for its days only (the streams of
    /// the artifact's window, with their first-ever bits) is the dashboard of the whole
    /// selection: the same numbers, top lists and discoveries (what needs all time: an artist
    /// heard before the range is not new), the same history span.
    #[test]
    fn a_range_prepared_for_its_days_only_gives_the_whole_selections_dashboard(c in case()) {
        let (from, to) = (c.from.unwrap_or(3), c.to.unwrap_or(20));
        let (from, to) = (from.min(to), from.max(to));
        let settings = engine::selection::settings(ZONES[c.zone], c.min_play_ms as i64);
        let every = Case { selection: (1u8 << c.uploads.len()) - 1, ..c.clone() };
        let (_, whole) = engine_view(&every, ZONES[c.zone], settings);
        let bytes = artifact_of(&every).encode();
        let days = (day_at(from), day_at(to));
        let day_ms = 86_400_000i64;
        let window = Artifact::decode_window(
            &bytes,
            i64::from(days.0.0 - 1) * day_ms,
            i64::from(days.1.0 + 2) * day_ms - 1,
        )
        .expect("the window reads")
        .expect("format 2 has windows");
        let part = Prepared::window(window, days, settings);
        let range = (Some(days.0), Some(days.1));
        prop_assert!(part.covers(range));
        prop_assert!(!part.covers((Some(days.0), None)));
        prop_assert_eq!(part.span(), whole.span());
        prop_assert_eq!(part.slice(range).len(), whole.slice(range).len());
        for content in [Content::All, Content::Music, Content::Podcasts] {
            let json = |p: &Prepared| {
                let stats = p.stats(content, range);
                serde_json::json!({
                    "overview": engine::panels::overview(&stats),
                    "tops": engine::panels::tops(&stats, &p.strings, schema::RankBy::Time, 10),
                    "discoveries": engine::panels::discoveries(&stats, &p.first_heard(content), &p.strings),
                    "ridgeline": engine::panels::ridgeline(&stats),
                })
            };
            prop_assert_eq!(json(&part), json(&whole), "{:?}", content);
        }
    }
}

/// The artifact the worker writes for a case's uploads: each upload's streams once (the
/// upload's own dedupe), with the stream's digest, then every stream of the user once with its
/// region.
fn artifact_of(c: &Case) -> Artifact {
    let (strings, plays) = plays_of(&c.pool);
    let mut members = Vec::new();
    for (i, held) in c.uploads.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for &k in held {
            let digest = schema::dedupe::stream_digest(&plays[k], &strings);
            if seen.insert(digest) {
                members.push((format!("u{i}"), digest, plays[k]));
            }
        }
    }
    let (regions, streams) =
        engine::regions::streams_by_region(members.iter().map(|(u, d, p)| (u.as_str(), *d, *p)));
    Artifact::build(regions, streams, &strings)
}
