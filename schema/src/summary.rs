//! The summary of an export that `backspin inspect` prints and an upload keeps: per file what
//! was found, then the merged numbers. Its JSON keys are documented in `docs/inspect.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aggregate::{Cell, Entity, Settings, Stats};
use crate::dedupe::DedupeReport;
use crate::facts::Facts;
use crate::formats::{Format, Style};
use crate::load::{Library, Status};
use crate::model::{Kind, Strings};
use crate::time::format_rfc3339;

/// One input file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    /// Path, or zip path and entry.
    pub name: String,
    /// `used`, `ignored` or `failed`.
    pub status: Status,
    /// `extended`, `account` or null.
    pub format: Option<&'static str>,
    /// `G1`–`G5` for extended history; `music`, `podcast`, `audiobook` for account data.
    pub variant: Option<String>,
    /// Serialisation of used files.
    pub style: Option<Style>,
    /// Records in the file.
    pub records: usize,
    /// Records rejected for bad values.
    pub rejected: usize,
    /// Why it was ignored or failed; null for used files.
    pub error: Option<String>,
    /// The first problems with single records.
    pub problems: Vec<String>,
    /// Bytes (uncompressed).
    pub bytes: u64,
}

/// A ranked artist, show or album.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranked {
    /// Its name.
    pub name: String,
    /// Artist of a track or album, show of an episode; absent for artists and shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// Listening time.
    pub ms_played: u64,
    /// Plays (streams of at least the threshold).
    pub plays: u64,
}

/// The longest run of days with listening.
#[derive(Debug, Clone, Serialize)]
pub struct StreakSummary {
    /// Days in a row.
    pub days: i32,
    /// First day (local).
    pub first: String,
    /// Last day (local).
    pub last: String,
}

/// One year at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct YearSummary {
    /// Calendar year (local).
    pub year: i32,
    /// Listening time.
    pub ms_played: u64,
    /// Plays.
    pub plays: u64,
    /// Most-listened artist by time.
    pub top_artist: Option<String>,
    /// Most-listened track by time.
    pub top_track: Option<Ranked>,
    /// Artists first heard that year.
    pub new_artists: u64,
}

/// The merged summary of everything read.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Per input file.
    pub files: Vec<FileSummary>,
    /// Records in all used files.
    pub records: usize,
    /// Streams left after rejecting bad records and removing duplicates.
    pub unique_records: usize,
    /// Exact duplicates removed.
    pub duplicates_dropped: usize,
    /// Account-data rows removed because extended history covers their period.
    pub account_rows_covered_by_extended: usize,
    /// Records rejected for bad values.
    pub records_rejected: usize,
    /// Streams with no track, episode or audiobook (counted in time totals only).
    pub rows_without_metadata: u64,
    /// All listening time.
    pub total_ms_played: u64,
    /// Listening time of music tracks.
    pub music_ms_played: u64,
    /// Listening time of podcast episodes.
    pub episode_ms_played: u64,
    /// Listening time of audiobooks.
    pub audiobook_ms_played: u64,
    /// Streams of at least `min_play_ms`.
    pub plays: u64,
    /// The play threshold used.
    pub min_play_ms: u64,
    /// Time zone used for days, hours and years.
    pub time_zone: String,
    /// Distinct artists (by name).
    pub distinct_artists: usize,
    /// Distinct tracks, by artist and title (docs/DESIGN.md, "Identity").
    pub distinct_tracks: usize,
    /// Distinct Spotify track URIs, as other tools count tracks (none for 2020 exports).
    pub distinct_track_uris: usize,
    /// Distinct albums.
    pub distinct_albums: usize,
    /// Distinct podcast shows.
    pub distinct_shows: usize,
    /// Distinct episodes.
    pub distinct_episodes: usize,
    /// First stream end, RFC 3339 UTC.
    pub first_ts: Option<String>,
    /// Last stream end, RFC 3339 UTC.
    pub last_ts: Option<String>,
    /// The day the export was made, as its zip records it (`YYYY-MM-DD`; absent for plain
    /// files and zips without dates). Spotify's exports end a few days before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported: Option<String>,
    /// Listening time per year of stream end.
    pub ms_played_by_year: BTreeMap<String, u64>,
    /// Top 10 artists by listening time.
    pub top_artists: Vec<Ranked>,
    /// Top 10 tracks by listening time.
    pub top_tracks: Vec<Ranked>,
    /// Top 10 albums by listening time.
    pub top_albums: Vec<Ranked>,
    /// Top 10 shows by listening time.
    pub top_shows: Vec<Ranked>,
    /// Days with any listening.
    pub days_listened: usize,
    /// Longest run of days with listening.
    pub longest_streak: Option<StreakSummary>,
    /// Share of streams marked skipped, among those where it was recorded.
    pub skip_rate: Option<f64>,
    /// Share with shuffle on.
    pub shuffle_rate: Option<f64>,
    /// Share played offline.
    pub offline_rate: Option<f64>,
    /// Share in a private session.
    pub incognito_rate: Option<f64>,
    /// Listening time per device family.
    pub platforms: BTreeMap<&'static str, u64>,
    /// Listening time per country.
    pub countries: BTreeMap<String, u64>,
    /// Listening time per weekday (Monday first) and hour, split across the hours covered.
    pub ms_by_weekday_hour: Vec<Vec<u64>>,
    /// Listening sessions (pauses under 30 minutes).
    pub sessions: usize,
    /// Each year at a glance.
    pub years: Vec<YearSummary>,
}

fn to_ranked(strings: &Strings, (e, c): (Entity, Cell)) -> Ranked {
    Ranked {
        name: strings.get(e.name).to_string(),
        artist: strings.opt(e.owner).map(str::to_string),
        ms_played: c.ms,
        plays: c.plays,
    }
}

impl Summary {
    /// Summarises a library whose plays have been deduplicated (with `report`) and aggregated
    /// (into `stats`).
    pub fn new(lib: &Library, report: &DedupeReport, stats: &Stats) -> Summary {
        Summary::with_names(lib, report, stats, &lib.strings)
    }

    /// [`Summary::new`] with `stats` built on another table of names, `names` (the same
    /// plays, named by `names`' symbols: the worker's first dashboard, built from the artifact,
    /// serves a first upload's summary too).
    pub fn with_names(
        lib: &Library,
        report: &DedupeReport,
        stats: &Stats,
        names: &Strings,
    ) -> Summary {
        Summary::of_facts(
            lib,
            report,
            &Facts::of_stats(stats, &lib.plays, names),
            names,
        )
    }

    /// Summarises a library whose plays have been deduplicated (with `report`), computing only
    /// what the summary shows ([`Facts::tally`]): what `backspin inspect` does. Equal to
    /// [`Summary::new`] over [`Stats::build`] with the same settings.
    pub fn tally(lib: &Library, report: &DedupeReport, settings: Settings) -> Summary {
        Summary::of_facts(
            lib,
            report,
            &Facts::tally(&lib.plays, &lib.strings, settings),
            &lib.strings,
        )
    }

    fn of_facts(lib: &Library, report: &DedupeReport, facts: &Facts, s: &Strings) -> Summary {
        let ranked = |v: &[(Entity, Cell)]| v.iter().map(|&ec| to_ranked(s, ec)).collect();
        let kind_ms = |k: Kind| facts.by_kind[k as usize].ms;
        let years: Vec<YearSummary> = facts
            .by_year
            .iter()
            .map(|(&year, cell)| YearSummary {
                year,
                ms_played: cell.ms,
                plays: cell.plays,
                top_artist: facts
                    .year_top_artist
                    .get(&year)
                    .map(|(e, _)| s.get(e.name).to_string()),
                top_track: facts.year_top_track.get(&year).map(|&ec| to_ranked(s, ec)),
                new_artists: facts.new_artists.get(&year).copied().unwrap_or(0),
            })
            .collect();
        let settings = &facts.settings;
        Summary {
            files: lib
                .files
                .iter()
                .map(|f| FileSummary {
                    name: f.name.clone(),
                    status: f.status,
                    format: f.format.as_ref().map(Format::package),
                    variant: f.format.map(|fmt| match fmt {
                        Format::Extended(g) => format!("{g:?}"),
                        Format::Account(v) => account_label(v).to_string(),
                    }),
                    style: f.style,
                    records: f.records,
                    rejected: f.rejected,
                    error: f.message.clone(),
                    problems: f.problems.clone(),
                    bytes: f.bytes,
                })
                .collect(),
            records: lib.records(),
            exported: lib.exported.clone(),
            unique_records: lib.plays.len(),
            duplicates_dropped: report.exact_duplicates,
            account_rows_covered_by_extended: report.account_rows_covered_by_extended,
            records_rejected: lib.files.iter().map(|f| f.rejected).sum(),
            rows_without_metadata: facts.by_kind[Kind::Unknown as usize].streams,
            total_ms_played: facts.total.ms,
            music_ms_played: kind_ms(Kind::Track),
            episode_ms_played: kind_ms(Kind::Episode),
            audiobook_ms_played: kind_ms(Kind::Audiobook),
            plays: facts.total.plays,
            min_play_ms: settings.min_play_ms,
            time_zone: settings.tz.name().to_string(),
            distinct_artists: facts.distinct_artists,
            distinct_tracks: facts.distinct_tracks,
            distinct_track_uris: facts.distinct_track_uris,
            distinct_albums: facts.distinct_albums,
            distinct_shows: facts.distinct_shows,
            distinct_episodes: facts.distinct_episodes,
            first_ts: facts.span.map(|(a, _)| format_rfc3339(a)),
            last_ts: facts.span.map(|(_, b)| format_rfc3339(b)),
            ms_played_by_year: facts
                .by_year
                .iter()
                .map(|(y, c)| (y.to_string(), c.ms))
                .collect(),
            top_artists: ranked(&facts.top_artists),
            top_tracks: ranked(&facts.top_tracks),
            top_albums: ranked(&facts.top_albums),
            top_shows: ranked(&facts.top_shows),
            days_listened: facts.days_listened,
            longest_streak: facts.longest_streak.map(|k| StreakSummary {
                days: k.days(),
                first: k.first.label(),
                last: k.last.label(),
            }),
            skip_rate: facts.skipped.rate(),
            shuffle_rate: facts.shuffle.rate(),
            offline_rate: facts.offline.rate(),
            incognito_rate: facts.incognito.rate(),
            platforms: facts.platforms.clone(),
            countries: facts.countries.clone(),
            ms_by_weekday_hour: facts
                .ms_by_weekday_hour
                .iter()
                .map(|r| r.to_vec())
                .collect(),
            sessions: facts.sessions,
            years,
        }
    }
}

fn account_label(v: crate::formats::AccountVariant) -> &'static str {
    use crate::formats::AccountVariant as V;
    match v {
        V::Music => "music",
        V::Podcast => "podcast",
        V::Audiobook => "audiobook",
    }
}
