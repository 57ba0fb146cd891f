//! The numbers a [`crate::Summary`] reports, found one of two ways:
//!
//! - [`Facts::of_stats`] reads them off [`Stats`], which an upload builds anyway for its
//!   dashboards;
//! - [`Facts::tally`] computes them straight from the plays, in parallel, for
//!   `backspin inspect`, which needs nothing else. It skips what only the dashboards read
//!   (each entity's cells per month, days and devices per month, start and end reasons), which
//!   is most of the work of [`Stats::build`].
//!
//! Both give equal facts for the same plays and settings (`tests/properties.rs` checks it on
//! random plays, `tests/generated.rs` on generated exports).

use std::collections::BTreeMap;

use foldhash::{HashMap, HashSet};

use crate::aggregate::{
    Cell, Day, Entity, EntityKind, Flag, RankBy, Settings, Stats, Streak, local_day_hour, rank,
    rank_kind, rank_years, session_count, split_by_local_hour, streaks_of,
};
use crate::model::{Country, Kind, Platform, Play, Strings, Sym};
use crate::time::EpochMs;

/// What a summary reports, before names are looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The settings the facts were computed with.
    pub settings: Settings,
    /// All streams together.
    pub total: Cell,
    /// Per content kind, indexed by `Kind as usize`.
    pub by_kind: [Cell; 4],
    /// Earliest and latest stream end.
    pub span: Option<(EpochMs, EpochMs)>,
    /// Per local year of stream end.
    pub by_year: BTreeMap<i32, Cell>,
    /// The top 10 artists, tracks, albums and shows by listening time.
    pub top_artists: Vec<(Entity, Cell)>,
    /// See `top_artists`.
    pub top_tracks: Vec<(Entity, Cell)>,
    /// See `top_artists`.
    pub top_albums: Vec<(Entity, Cell)>,
    /// See `top_artists`.
    pub top_shows: Vec<(Entity, Cell)>,
    /// The most listened artist of each year.
    pub year_top_artist: BTreeMap<i32, (Entity, Cell)>,
    /// The most listened track of each year.
    pub year_top_track: BTreeMap<i32, (Entity, Cell)>,
    /// Artists first heard per year.
    pub new_artists: BTreeMap<i32, u64>,
    /// Distinct artists.
    pub distinct_artists: usize,
    /// Distinct tracks, by artist and title (docs/DESIGN.md, "Identity").
    pub distinct_tracks: usize,
    /// Distinct Spotify track URIs (tracks of exports without URIs not counted): the figure
    /// other tools count, kept to compare with them.
    pub distinct_track_uris: usize,
    /// Distinct albums.
    pub distinct_albums: usize,
    /// Distinct shows.
    pub distinct_shows: usize,
    /// Distinct episodes.
    pub distinct_episodes: usize,
    /// Local days with any listening.
    pub days_listened: usize,
    /// The longest run of such days (the latest of equally long ones).
    pub longest_streak: Option<Streak>,
    /// Shuffle on.
    pub shuffle: Flag,
    /// Skipped.
    pub skipped: Flag,
    /// Offline.
    pub offline: Flag,
    /// Private session.
    pub incognito: Flag,
    /// Listening time per device family.
    pub platforms: BTreeMap<&'static str, u64>,
    /// Listening time per country code.
    pub countries: BTreeMap<String, u64>,
    /// `[weekday][hour]` listening time, Monday first, split across the hours covered.
    pub ms_by_weekday_hour: [[u64; 24]; 7],
    /// Listening sessions.
    pub sessions: usize,
}

const TOP: usize = 10;

/// The first entry of each year's ranking.
fn firsts(tops: BTreeMap<i32, Vec<(Entity, Cell)>>) -> BTreeMap<i32, (Entity, Cell)> {
    tops.into_iter()
        .filter_map(|(y, v)| v.first().map(|&first| (y, first)))
        .collect()
}

fn countries(cells: impl Iterator<Item = (Country, u64)>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (c, ms) in cells {
        *out.entry(c.as_str().to_string()).or_default() += ms;
    }
    out
}

fn platforms(cells: impl Iterator<Item = (Platform, u64)>) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    for (p, ms) in cells {
        *out.entry(p.label()).or_default() += ms;
    }
    out
}

fn distinct_track_uris(plays: &[Play]) -> usize {
    let mut uris = HashSet::default();
    for p in plays
        .iter()
        .filter(|p| p.kind == Kind::Track && p.uri.is_some())
    {
        uris.insert(p.uri);
    }
    uris.len()
}

impl Facts {
    /// Reads the facts off stats built over `plays` (on the string table `strings`).
    pub fn of_stats(stats: &Stats, plays: &[Play], strings: &Strings) -> Facts {
        // Two passes over the monthly cells for the six rankings.
        let totals = stats.entity_totals();
        let top = |kind| rank_kind(&totals, kind, RankBy::Time, strings, TOP);
        let years = stats.year_totals(&[EntityKind::Artist, EntityKind::Track]);
        let year_top = |kind| firsts(rank_years(&years, kind, RankBy::Time, strings, 1));
        let mut new_artists = BTreeMap::new();
        for (m, n) in stats.discoveries(EntityKind::Artist) {
            *new_artists.entry(m.year()).or_default() += n;
        }
        let mut by_kind = [Cell::default(); 4];
        for (k, c) in &stats.by_kind {
            by_kind[*k as usize] = *c;
        }
        Facts {
            settings: stats.settings,
            total: stats.total,
            by_kind,
            span: stats.span,
            by_year: stats.by_year(),
            top_artists: top(EntityKind::Artist),
            top_tracks: top(EntityKind::Track),
            top_albums: top(EntityKind::Album),
            top_shows: top(EntityKind::Show),
            year_top_artist: year_top(EntityKind::Artist),
            year_top_track: year_top(EntityKind::Track),
            new_artists,
            distinct_artists: stats.distinct(EntityKind::Artist),
            distinct_tracks: stats.distinct(EntityKind::Track),
            distinct_track_uris: distinct_track_uris(plays),
            distinct_albums: stats.distinct(EntityKind::Album),
            distinct_shows: stats.distinct(EntityKind::Show),
            distinct_episodes: stats.distinct(EntityKind::Episode),
            days_listened: stats.days_listened(),
            longest_streak: stats.streaks().first().copied(),
            shuffle: stats.shuffle,
            skipped: stats.skipped,
            offline: stats.offline,
            incognito: stats.incognito,
            platforms: platforms(stats.platforms.iter().map(|((_, p), c)| (*p, c.ms))),
            countries: countries(stats.countries.iter().map(|((_, c), cell)| (*c, cell.ms))),
            ms_by_weekday_hour: stats.hour_weekday.map(|row| row.map(|c| c.ms)),
            sessions: session_count(plays, stats.settings.session_gap_ms),
        }
    }

    /// Computes the facts straight from deduplicated plays, in four parts run in parallel (see
    /// the comment inside).
    ///
    /// # Panics
    /// If a play holds a symbol that is not in `strings`: the plays must be named there.
    pub fn tally(plays: &[Play], strings: &Strings, settings: Settings) -> Facts {
        // Four parts, on however many threads there are: tracks alone take about as long as
        // everything but the entities, and each of the other two parts less than half of that.
        let entities = |kinds: &[EntityKind]| {
            // Symbols run from 0 ("no value") to `strings.len()`.
            Entities::tally(plays, strings.len() + 1, settings, kinds).facts(strings, settings)
        };
        let ((tracks, others), (rest, names)) = rayon::join(
            || {
                rayon::join(
                    || entities(&[EntityKind::Track]),
                    || entities(&[EntityKind::Album, EntityKind::Episode]),
                )
            },
            || {
                rayon::join(
                    || Rest::tally(plays, settings),
                    || entities(&[EntityKind::Artist, EntityKind::Show]),
                )
            },
        );
        let entities = tracks.join(others).join(names);
        let Rest {
            total,
            by_kind,
            span,
            by_year,
            days,
            flags: [shuffle, skipped, offline, incognito],
            platforms: by_platform,
            countries: by_country,
            ms_by_weekday_hour,
            sessions,
            distinct_track_uris,
        } = rest;
        let EntityFacts {
            distinct:
                [
                    distinct_artists,
                    distinct_albums,
                    distinct_shows,
                    distinct_episodes,
                    distinct_tracks,
                ],
            tops: [top_artists, top_tracks, top_albums, top_shows],
            year_top_artist,
            year_top_track,
            new_artists,
        } = entities;
        Facts {
            settings,
            total,
            by_kind,
            span,
            by_year,
            distinct_artists,
            distinct_albums,
            distinct_shows,
            distinct_episodes,
            top_artists,
            top_tracks,
            top_albums,
            top_shows,
            year_top_artist,
            year_top_track,
            new_artists,
            distinct_tracks,
            distinct_track_uris,
            days_listened: days.len(),
            longest_streak: streaks_of(days.into_iter().map(Day)).first().copied(),
            shuffle,
            skipped,
            offline,
            incognito,
            platforms: platforms(
                Platform::ALL
                    .into_iter()
                    .zip(by_platform)
                    .filter_map(|(p, (streams, ms))| (streams > 0).then_some((p, ms))),
            ),
            countries: countries(by_country.into_iter()),
            ms_by_weekday_hour,
            sessions,
        }
    }
}

/// [`Cell`] in 24 bytes instead of 32, so that an entity's row (72 bytes) spans fewer cache
/// lines. Counts of one entity stay far below `u32::MAX`: a load reads at most 4 GiB of JSON,
/// some 16 million records.
#[derive(Clone, Copy, Default)]
struct Small {
    ms: u64,
    streams: u32,
    plays: u32,
    skips: u32,
}

impl Small {
    fn add(&mut self, p: &Play, settings: Settings) {
        self.ms += p.ms_played;
        self.streams += 1;
        self.plays += u32::from(p.ms_played >= settings.min_play_ms);
        self.skips += u32::from(p.skipped == Some(true));
    }
    fn merge(&mut self, o: &Small) {
        self.ms += o.ms;
        self.streams += o.streams;
        self.plays += o.plays;
        self.skips += o.skips;
    }
    fn cell(self) -> Cell {
        Cell {
            ms: self.ms,
            streams: self.streams.into(),
            plays: self.plays.into(),
            skips: self.skips.into(),
        }
    }
}

/// A year's numbers kept beside an entity's total: the year of its latest play so far. Other
/// years' numbers are moved out to a list as the year changes, so plays in rough time order
/// touch only the entity's own row.
#[derive(Clone, Copy, Default)]
struct Yearly {
    year: i32,
    this_year: Small,
}

/// One entity's numbers.
#[derive(Clone, Copy, Default)]
struct Row<T> {
    owner: Sym,
    name: Sym,
    total: Small,
    /// First stream end.
    first: EpochMs,
    extra: T,
}

/// How a [`Table`] finds a row.
enum Index {
    /// Entities with a name only (artists, shows): the name's symbol indexes a list, no
    /// hashing.
    ByName(Vec<u32>),
    /// Entities with an owner (tracks, albums, episodes): by both symbols, hashed.
    ByPair(HashMap<u64, u32>),
}

const NO_ROW: u32 = u32::MAX;

/// The entities of one kind.
struct Table<T> {
    kind: EntityKind,
    index: Index,
    rows: Vec<Row<T>>,
}

impl<T: Default> Table<T> {
    fn new(kind: EntityKind, symbols: usize) -> Table<T> {
        let index = match kind {
            EntityKind::Artist | EntityKind::Show | EntityKind::Audiobook => {
                Index::ByName(vec![NO_ROW; symbols])
            }
            EntityKind::Track | EntityKind::Album | EntityKind::Episode => {
                Index::ByPair(HashMap::default())
            }
        };
        Table {
            kind,
            index,
            rows: Vec::new(),
        }
    }

    /// The row of `(owner, name)`, added at `p` if new, with `p` counted in its total.
    fn count(&mut self, owner: Sym, name: Sym, p: &Play, settings: Settings) -> (u32, &mut Row<T>) {
        let slot = match &mut self.index {
            Index::ByName(rows) => &mut rows[name.0 as usize],
            Index::ByPair(rows) => rows
                .entry(u64::from(owner.0) << 32 | u64::from(name.0))
                .or_insert(NO_ROW),
        };
        if *slot == NO_ROW {
            *slot = self.rows.len() as u32;
            self.rows.push(Row {
                owner,
                name,
                total: Small::default(),
                first: p.end_ms,
                extra: T::default(),
            });
        }
        let at = *slot;
        let row = &mut self.rows[at as usize];
        row.total.add(p, settings);
        row.first = row.first.min(p.end_ms);
        (at, row)
    }

    fn entity(&self, row: &Row<T>) -> Entity {
        Entity {
            kind: self.kind,
            owner: row.owner,
            name: row.name,
        }
    }

    fn totals(&self) -> Vec<(Entity, Cell)> {
        self.rows
            .iter()
            .map(|r| (self.entity(r), r.total.cell()))
            .collect()
    }
}

impl Table<Yearly> {
    /// Counts `p` in the year of row `at`, moving the row's previous year to `spilled`.
    fn count_year(
        row: &mut Row<Yearly>,
        at: u32,
        year: i32,
        p: &Play,
        settings: Settings,
        spilled: &mut Vec<(u32, i32, Small)>,
    ) {
        let y = &mut row.extra;
        if y.year != year {
            if y.this_year.streams > 0 {
                spilled.push((at, y.year, y.this_year));
            }
            *y = Yearly {
                year,
                this_year: Small::default(),
            };
        }
        y.this_year.add(p, settings);
    }

    /// Each year's entities with their numbers that year.
    fn by_year(&self, spilled: Vec<(u32, i32, Small)>) -> BTreeMap<i32, Vec<(Entity, Cell)>> {
        // The pieces of each year (a row's numbers in one year can come in several pieces when
        // plays go back and forth between years), then each year's pieces summed per row in a
        // list indexed by row: no hashing, and the list is reused from year to year.
        let mut years: BTreeMap<i32, Vec<(u32, Small)>> = BTreeMap::new();
        let current = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u32, r.extra.year, r.extra.this_year));
        for (at, year, piece) in spilled.into_iter().chain(current) {
            if piece.streams > 0 {
                years.entry(year).or_default().push((at, piece));
            }
        }
        let mut sums = vec![Small::default(); self.rows.len()];
        let mut out = BTreeMap::new();
        for (year, pieces) in years {
            let mut seen = Vec::with_capacity(pieces.len());
            for &(at, piece) in &pieces {
                let sum = &mut sums[at as usize];
                if sum.streams == 0 {
                    seen.push(at);
                }
                sum.merge(&piece);
            }
            let cells = seen
                .into_iter()
                .map(|at| {
                    let cell = std::mem::take(&mut sums[at as usize]).cell();
                    (self.entity(&self.rows[at as usize]), cell)
                })
                .collect();
            out.insert(year, cells);
        }
        out
    }
}

/// The per-entity half of [`Facts::tally`].
struct Entities {
    artists: Table<Yearly>,
    tracks: Table<Yearly>,
    albums: Table<()>,
    shows: Table<()>,
    episodes: Table<()>,
    artist_years: Vec<(u32, i32, Small)>,
    track_years: Vec<(u32, i32, Small)>,
}

/// What [`Facts`] takes from the entities.
struct EntityFacts {
    /// Artists, albums, shows, episodes, tracks.
    distinct: [usize; 5],
    /// Artists, tracks, albums, shows.
    tops: [Vec<(Entity, Cell)>; 4],
    year_top_artist: BTreeMap<i32, (Entity, Cell)>,
    year_top_track: BTreeMap<i32, (Entity, Cell)>,
    new_artists: BTreeMap<i32, u64>,
}

impl EntityFacts {
    /// The facts of two disjoint sets of entity kinds together.
    fn join(self, o: EntityFacts) -> EntityFacts {
        let mut tops = self.tops;
        for (mine, theirs) in tops.iter_mut().zip(o.tops) {
            mine.extend(theirs);
        }
        let mut joined = EntityFacts {
            distinct: std::array::from_fn(|i| self.distinct[i] + o.distinct[i]),
            tops,
            ..self
        };
        joined.year_top_artist.extend(o.year_top_artist);
        joined.year_top_track.extend(o.year_top_track);
        joined.new_artists.extend(o.new_artists);
        joined
    }
}

impl Entities {
    fn facts(self, strings: &Strings, settings: Settings) -> EntityFacts {
        let mut new_artists = BTreeMap::new();
        for a in &self.artists.rows {
            let (day, _) = local_day_hour(settings.tz, a.first);
            *new_artists.entry(day.month().year()).or_default() += 1;
        }
        let year_top = |tops: BTreeMap<i32, Vec<(Entity, Cell)>>| {
            firsts(
                tops.into_iter()
                    .map(|(y, v)| (y, rank(v, RankBy::Time, strings, 1)))
                    .collect(),
            )
        };
        let top = |table: Vec<(Entity, Cell)>| rank(table, RankBy::Time, strings, TOP);
        EntityFacts {
            distinct: [
                self.artists.rows.len(),
                self.albums.rows.len(),
                self.shows.rows.len(),
                self.episodes.rows.len(),
                self.tracks.rows.len(),
            ],
            tops: [
                top(self.artists.totals()),
                top(self.tracks.totals()),
                top(self.albums.totals()),
                top(self.shows.totals()),
            ],
            year_top_artist: year_top(self.artists.by_year(self.artist_years)),
            year_top_track: year_top(self.tracks.by_year(self.track_years)),
            new_artists,
        }
    }

    /// Counts the entities of the given kinds; the other kinds' tables stay empty.
    fn tally(plays: &[Play], symbols: usize, settings: Settings, kinds: &[EntityKind]) -> Entities {
        // A table indexed by symbol is only allocated for a kind that is counted.
        let size = |kind| if kinds.contains(&kind) { symbols } else { 0 };
        let mut t = Entities {
            artists: Table::new(EntityKind::Artist, size(EntityKind::Artist)),
            tracks: Table::new(EntityKind::Track, size(EntityKind::Track)),
            albums: Table::new(EntityKind::Album, size(EntityKind::Album)),
            shows: Table::new(EntityKind::Show, size(EntityKind::Show)),
            episodes: Table::new(EntityKind::Episode, size(EntityKind::Episode)),
            artist_years: Vec::new(),
            track_years: Vec::new(),
        };
        let mut year_of = YearOf::default();
        for p in plays {
            let year = year_of.get(local_day_hour(settings.tz, p.end_ms).0);
            Entity::of(p, |e| match e.kind {
                _ if !kinds.contains(&e.kind) => {}
                EntityKind::Artist => {
                    let (at, row) = t.artists.count(e.owner, e.name, p, settings);
                    Table::count_year(row, at, year, p, settings, &mut t.artist_years);
                }
                EntityKind::Track => {
                    let (at, row) = t.tracks.count(e.owner, e.name, p, settings);
                    Table::count_year(row, at, year, p, settings, &mut t.track_years);
                }
                EntityKind::Album => {
                    t.albums.count(e.owner, e.name, p, settings);
                }
                EntityKind::Show => {
                    t.shows.count(e.owner, e.name, p, settings);
                }
                EntityKind::Episode => {
                    t.episodes.count(e.owner, e.name, p, settings);
                }
                // Audiobooks are not in the summary.
                EntityKind::Audiobook => {}
            });
        }
        t
    }
}

/// The year of a local day, kept for the last day asked: plays come roughly in time order, so
/// most follow one on the same day, and the calendar arithmetic is done about once a day.
#[derive(Default)]
struct YearOf(Option<(Day, i32)>);

impl YearOf {
    fn get(&mut self, day: Day) -> i32 {
        match self.0 {
            Some((d, y)) if d == day => y,
            _ => {
                let y = day.month().year();
                self.0 = Some((day, y));
                y
            }
        }
    }
}

/// A play's contribution to a [`Cell`].
fn counted(p: &Play, settings: Settings) -> Cell {
    Cell {
        ms: p.ms_played,
        streams: 1,
        plays: u64::from(p.ms_played >= settings.min_play_ms),
        skips: u64::from(p.skipped == Some(true)),
    }
}

/// Everything but the entities, for [`Facts::tally`].
struct Rest {
    total: Cell,
    by_kind: [Cell; 4],
    span: Option<(EpochMs, EpochMs)>,
    by_year: BTreeMap<i32, Cell>,
    /// Local days with listening, sorted, each once.
    days: Vec<i32>,
    flags: [Flag; 4],
    /// Streams and listening time per device family, indexed by `Platform as usize`.
    platforms: [(u64, u64); Platform::ALL.len()],
    countries: HashMap<Country, u64>,
    ms_by_weekday_hour: [[u64; 24]; 7],
    sessions: usize,
    distinct_track_uris: usize,
}

impl Rest {
    fn tally(plays: &[Play], settings: Settings) -> Rest {
        let mut r = Rest {
            total: Cell::default(),
            by_kind: [Cell::default(); 4],
            span: None,
            by_year: BTreeMap::new(),
            days: Vec::with_capacity(plays.len()),
            flags: [Flag::default(); 4],
            platforms: [(0, 0); Platform::ALL.len()],
            countries: HashMap::default(),
            ms_by_weekday_hour: [[0; 24]; 7],
            sessions: 0,
            distinct_track_uris: distinct_track_uris(plays),
        };
        // Plays come roughly in time order: the year of the last one is usually this one's.
        let mut year: Option<(i32, Cell)> = None;
        let mut year_of = YearOf::default();
        for p in plays {
            let c = counted(p, settings);
            r.total.add(&c);
            r.by_kind[p.kind as usize].add(&c);
            r.span = Some(r.span.map_or((p.end_ms, p.end_ms), |(a, b)| {
                (a.min(p.end_ms), b.max(p.end_ms))
            }));
            let (end_day, _) = local_day_hour(settings.tz, p.end_ms);
            if r.days.last() != Some(&end_day.0) {
                r.days.push(end_day.0);
            }
            let y = year_of.get(end_day);
            match &mut year {
                Some((at, cell)) if *at == y => cell.add(&c),
                _ => {
                    if let Some((at, cell)) = year.replace((y, c)) {
                        r.by_year.entry(at).or_default().add(&cell);
                    }
                }
            }
            split_by_local_hour(settings.tz, p.start_ms(), p.end_ms, |day, hour, ms| {
                if r.days.last() != Some(&day.0) {
                    r.days.push(day.0);
                }
                r.ms_by_weekday_hour[day.weekday()][hour] += ms;
            });
            for (flag, v) in r
                .flags
                .iter_mut()
                .zip([p.shuffle, p.skipped, p.offline, p.incognito])
            {
                flag.count(v);
            }
            let device = &mut r.platforms[p.platform as usize];
            device.0 += 1;
            device.1 += p.ms_played;
            *r.countries.entry(p.country).or_default() += p.ms_played;
        }
        if let Some((at, cell)) = year {
            r.by_year.entry(at).or_default().add(&cell);
        }
        r.days.sort_unstable();
        r.days.dedup();
        r.sessions = session_count(plays, settings.session_gap_ms);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Source, tests::track};

    #[test]
    fn an_artist_named_by_the_last_symbol_of_the_table_is_counted() {
        // The table indexed by symbol must reach the last one: names are numbered from 1.
        let mut strings = Strings::default();
        let mut play = track(&mut strings, Source::Account, 1_700_000_000_000, "A Song");
        play.ms_played = 200_000;
        let artist = strings.lookup("A").unwrap();
        assert_eq!(
            artist.0 as usize,
            strings.len(),
            "the artist is the last name"
        );
        let facts = Facts::tally(&[play], &strings, Settings::default());
        assert_eq!(facts.distinct_artists, 1);
        assert_eq!(facts.top_artists[0].0.name, artist);
        assert_eq!(facts.top_artists[0].1.ms, 200_000);
    }
}
