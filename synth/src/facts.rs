//! The facts any correct ingestion of an export reproduces, computed straight from the
//! generated streams (not from the files), with the keys of `gen_history.py`'s
//! `expected.json`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::history::{Rec, What};
use crate::time::{text, ts_text, year_of};

/// A stream of at least this long is a play.
pub const MIN_PLAY_MS: u32 = 30_000;

/// What the extended-history audio files hold once exact duplicates are dropped.
///
/// The video file (a few episodes again, at ms_played 0) and the account-data package (the
/// last year again, at minute resolution) change none of these numbers except `files` and
/// `bytes`, which cover every file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// Records in the audio files, duplicates included.
    pub records: usize,
    /// Records left after dropping exact duplicates.
    pub unique_records: usize,
    /// Exact duplicates (`records - unique_records`).
    pub exact_duplicates: usize,
    /// All listening time.
    pub total_ms_played: u64,
    /// Listening time of music tracks (rows with an artist).
    pub music_ms_played: u64,
    /// Listening time of podcast episodes.
    pub episode_ms_played: u64,
    /// Streams of at least 30 s, of any kind.
    pub plays_at_least_30s: u64,
    /// Distinct artists, by name.
    pub distinct_artists: usize,
    /// Distinct tracks, by URI (G1 files carry no URIs: an ingestion of those can only tell
    /// tracks apart by artist and title, and may count fewer).
    pub distinct_tracks: usize,
    /// End of the earliest stream, `YYYY-MM-DDTHH:MM:SSZ`; null without streams.
    pub first_ts: Option<String>,
    /// End of the latest stream.
    pub last_ts: Option<String>,
    /// Listening time per calendar year (UTC) of the stream's end.
    pub ms_played_by_year: BTreeMap<String, u64>,
    /// Top 10 `[artist, ms]` by listening time (ties: more plays first, then by name).
    pub top_artists_by_ms: Vec<(String, u64)>,
    /// Top 10 `[artist, plays]` by streams of at least 30 s (ties: more time, then by name).
    pub top_artists_by_plays_30s: Vec<(String, u64)>,
    /// Top 10 `[artist, track, ms]` by listening time, tracks named by artist and title
    /// (ties: more plays, then by title and artist).
    pub top_tracks_by_ms: Vec<(String, String, u64)>,
    /// Every file of the export, by its path inside the export.
    pub files: Vec<String>,
    /// Their total size.
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    ms: u64,
    plays: u64,
    seen: bool,
}

impl Tally {
    fn add(&mut self, ms: u32) {
        self.ms += u64::from(ms);
        self.plays += u64::from(ms >= MIN_PLAY_MS);
        self.seen = true;
    }
}

/// The ten best of `tallies` by `key`, descending, ties by `name` ascending.
fn top<K: Ord, N: Ord>(
    tallies: &[Tally],
    key: impl Fn(&Tally) -> K,
    name: impl Fn(usize) -> N,
) -> Vec<usize> {
    let mut ids: Vec<usize> = (0..tallies.len()).filter(|&i| tallies[i].seen).collect();
    ids.sort_by_cached_key(|&i| (Reverse(key(&tallies[i])), name(i)));
    ids.truncate(10);
    ids
}

pub(crate) fn compute(recs: &[Rec], cat: &Catalog) -> Facts {
    let mut seen = HashSet::with_capacity(recs.len());
    let mut unique = 0;
    let (mut total, mut music, mut episodes, mut plays) = (0u64, 0u64, 0u64, 0u64);
    let mut by_year: BTreeMap<i32, u64> = BTreeMap::new();
    let mut artists = vec![Tally::default(); cat.artist_names.len()];
    let mut named_tracks = vec![Tally::default(); cat.named_tracks.len()];
    let mut tracks = vec![false; cat.tracks.len()];
    let mut span: Option<(i64, i64)> = None;
    for r in recs {
        if !seen.insert(r) {
            continue;
        }
        unique += 1;
        let ms = u64::from(r.ms_played);
        total += ms;
        plays += u64::from(r.ms_played >= MIN_PLAY_MS);
        *by_year.entry(year_of(r.end_ms)).or_default() += ms;
        span = Some(span.map_or((r.end_ms, r.end_ms), |(a, b)| {
            (a.min(r.end_ms), b.max(r.end_ms))
        }));
        match r.what {
            What::Track(t) => {
                music += ms;
                artists[cat.artist_name_id(t) as usize].add(r.ms_played);
                named_tracks[cat.tracks[t as usize].named as usize].add(r.ms_played);
                tracks[t as usize] = true;
            }
            What::Episode(_) => episodes += ms,
            What::Nothing { .. } => {}
        }
    }
    let artist = |i: usize| cat.artist_names[i].clone();
    let track_names = |i: usize| {
        let (name, t) = cat.named_tracks[i];
        (
            cat.tracks[t as usize].title.clone(),
            cat.artist_names[name as usize].clone(),
        )
    };
    let ts = |ms: i64| text(&ts_text(ms)).to_string();
    Facts {
        records: recs.len(),
        unique_records: unique,
        exact_duplicates: recs.len() - unique,
        total_ms_played: total,
        music_ms_played: music,
        episode_ms_played: episodes,
        plays_at_least_30s: plays,
        distinct_artists: artists.iter().filter(|a| a.seen).count(),
        distinct_tracks: tracks.iter().filter(|&&t| t).count(),
        first_ts: span.map(|(a, _)| ts(a)),
        last_ts: span.map(|(_, b)| ts(b)),
        ms_played_by_year: by_year
            .into_iter()
            .map(|(y, ms)| (y.to_string(), ms))
            .collect(),
        top_artists_by_ms: top(&artists, |t| (t.ms, t.plays), artist)
            .into_iter()
            .map(|i| (artist(i), artists[i].ms))
            .collect(),
        top_artists_by_plays_30s: top(&artists, |t| (t.plays, t.ms), artist)
            .into_iter()
            .map(|i| (artist(i), artists[i].plays))
            .collect(),
        top_tracks_by_ms: top(&named_tracks, |t| (t.ms, t.plays), track_names)
            .into_iter()
            .map(|i| {
                let (title, artist) = track_names(i);
                (artist, title, named_tracks[i].ms)
            })
            .collect(),
        files: Vec::new(),
        bytes: 0,
    }
}
